//! Lead to consultation: the share of leads that get a consultation (docs/metrics.md).

use super::*;

/// Leads of the cohort with a consultation held within the window ÷ leads of the cohort; leads
/// still inside the window stay in the denominator and are reported as still open. A lead the
/// office disqualified (with its reason) is not in the denominator at all (METRICS.md).
#[derive(Clone)]
pub struct LeadToConsultationAcc {
    span: InstantRange,
    now: Secs,
    window: Secs,
    hits: u64,
    n: u64,
    open: u64,
    /// Leads of the cohort left out as disqualified, by reason (dictionary id).
    disqualified: std::collections::BTreeMap<u32, u64>,
}

/// How many leads of the range were disqualified for one reason (reported beside the rate, as
/// METRICS.md asks).
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct DisqualifiedLeads {
    pub reason: String,
    pub leads: u64,
}

impl LeadToConsultationAcc {
    pub fn new(cx: &Context, range: DateRange) -> Self {
        let window = cx.settings.lead_to_consultation_days as Secs * DAY;
        LeadToConsultationAcc {
            span: InstantRange::of(cx, range),
            now: cx.now,
            window,
            hits: 0,
            n: 0,
            open: 0,
            disqualified: Default::default(),
        }
    }

    pub fn add(&mut self, l: &LeadFact) {
        if !self.span.holds(l.created) {
            return;
        }
        if let Some(reason) = l.disqualified {
            *self.disqualified.entry(reason).or_default() += 1;
            return;
        }
        self.n += 1;
        match l.first_held {
            Some(h) if h - l.created <= self.window => self.hits += 1,
            _ if self.now - l.created <= self.window => self.open += 1,
            _ => {}
        }
    }

    pub fn merge(&mut self, other: &LeadToConsultationAcc) {
        self.hits += other.hits;
        self.n += other.n;
        self.open += other.open;
        for (reason, n) in &other.disqualified {
            *self.disqualified.entry(*reason).or_default() += n;
        }
    }

    /// The disqualified leads of the range by reason, most first.
    pub fn disqualified(&self, cx: &Context) -> Vec<DisqualifiedLeads> {
        let mut rows: Vec<DisqualifiedLeads> = self
            .disqualified
            .iter()
            .map(|(reason, n)| DisqualifiedLeads {
                reason: cx.facts.dict.name(*reason).to_string(),
                leads: *n,
            })
            .collect();
        rows.sort_by(|a, b| b.leads.cmp(&a.leads).then_with(|| a.reason.cmp(&b.reason)));
        rows
    }

    pub fn finish(self) -> Rate {
        Rate::with_open(self.hits, self.n, self.open)
    }
}

#[cfg(test)]
pub fn lead_to_consultation(cx: &Context, range: DateRange) -> Rate {
    let mut acc = LeadToConsultationAcc::new(cx, range);
    cx.leads().for_each(|l| acc.add(l));
    acc.finish()
}
