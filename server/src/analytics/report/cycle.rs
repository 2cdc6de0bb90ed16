//! Sales cycle: from consultation to decision (docs/metrics.md).

use super::*;

#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct SalesCycle {
    /// Won deals closed in the range: close − lead created, in seconds.
    pub from_lead: Spread,
    /// Close − consultation held, in seconds.
    pub from_consultation: Spread,
    /// Cohort view: share of consultations held in the range closed by day d (Kaplan–Meier; open
    /// ones censored, lost ones never close).
    pub curve: Vec<CurvePoint>,
}

#[derive(Clone)]
pub struct CycleAcc {
    span: InstantRange,
    now: Secs,
    from_lead: Sample,
    from_held: Sample,
    curve: Survival,
}

impl CycleAcc {
    pub fn new(cx: &Context, range: DateRange) -> Self {
        CycleAcc {
            span: InstantRange::of(cx, range),
            now: cx.now,
            from_lead: Sample::default(),
            from_held: Sample::default(),
            curve: Survival::new(cx.settings.close_window_days),
        }
    }

    pub fn add(&mut self, s: &DealStanding) {
        if let (Outcome::Won, Some(at)) = (s.outcome, s.at) {
            if self.span.holds(at) && s.sale {
                self.from_lead.push(at - s.d.lead_created);
                if let Some(h) = s.d.held {
                    self.from_held.push(at - h);
                }
            }
        }
        if let Some(h) = s.d.held.filter(|&h| self.span.holds(h)) {
            let days = |secs: Secs| (secs.max(0) / DAY) as u32;
            match (s.outcome, s.at) {
                (Outcome::Won, Some(at)) if s.sale => self.curve.add(days(at - h), true),
                (Outcome::Open, _) => self.curve.add(days(self.now - h), false),
                _ => self.curve.add(u32::MAX, false),
            }
        }
    }

    pub fn merge(&mut self, o: &CycleAcc) {
        self.from_lead.merge(&o.from_lead);
        self.from_held.merge(&o.from_held);
        self.curve.merge(&o.curve);
    }

    pub fn seal(&mut self) {
        self.from_lead.seal();
        self.from_held.seal();
    }

    pub fn finish(self) -> SalesCycle {
        SalesCycle {
            from_lead: self.from_lead.spread(),
            from_consultation: self.from_held.spread(),
            curve: self.curve.finish(),
        }
    }
}

#[cfg(test)]
pub fn sales_cycle(cx: &Context, range: DateRange) -> SalesCycle {
    let mut acc = CycleAcc::new(cx, range);
    cx.deals().for_each(|s| acc.add(&s));
    acc.finish()
}
