//! Before and after a change on a date (docs/metrics.md).

use super::*;

#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct BeforeAfter {
    pub change: String,
    pub changed_on: NaiveDate,
    pub days: u32,
    /// Both periods' close-rate windows have passed: the comparison is final.
    pub mature: bool,
    pub close_rate: Comparison,
    pub win_rate: Comparison,
    pub lead_to_consultation: Comparison,
}

/// Two equal periods of `days` before and from the change date.
#[derive(Clone)]
pub struct BeforeAfterAcc {
    change: String,
    on: NaiveDate,
    days: u32,
    mature: bool,
    close: [CloseAcc; 2],
    win: [WinAcc; 2],
    l2c: [LeadToConsultationAcc; 2],
}

impl BeforeAfterAcc {
    pub fn new(cx: &Context, change: &str, on: NaiveDate, days: u32) -> Self {
        let before = DateRange { from: on - Duration::days(days as i64), to: on - Duration::days(1) };
        let after = DateRange { from: on, to: on + Duration::days(days as i64 - 1) };
        let settle = cx.settings.close_window_days.max(cx.settings.lead_to_consultation_days) as Secs * DAY;
        BeforeAfterAcc {
            change: change.to_string(),
            on,
            days,
            mature: cx.bounds(after).1 + settle <= cx.now,
            close: [before, after].map(|r| CloseAcc::new(cx, r)),
            win: [before, after].map(|r| WinAcc::new(cx, r)),
            l2c: [before, after].map(|r| LeadToConsultationAcc::new(cx, r)),
        }
    }

    /// The earliest instant it looks at.
    pub fn since(&self) -> Secs {
        self.close[0].rule.span.from
    }

    pub fn add_lead(&mut self, l: &LeadFact) {
        self.l2c.iter_mut().for_each(|a| a.add(l));
    }

    pub fn add_deal(&mut self, s: &DealStanding) {
        self.close.iter_mut().for_each(|a| a.add(s));
        self.win.iter_mut().for_each(|a| a.add(s));
    }

    pub fn merge(&mut self, o: &BeforeAfterAcc) {
        for k in 0..2 {
            self.close[k].merge(&o.close[k]);
            self.win[k].merge(&o.win[k]);
            self.l2c[k].merge(&o.l2c[k]);
        }
    }

    pub fn finish(self) -> BeforeAfter {
        let [c0, c1] = self.close;
        let [w0, w1] = self.win;
        let [l0, l1] = self.l2c;
        BeforeAfter {
            change: self.change,
            changed_on: self.on,
            days: self.days,
            mature: self.mature,
            close_rate: compare(c0.finish().all, c1.finish().all),
            win_rate: compare(w0.finish().count, w1.finish().count),
            lead_to_consultation: compare(l0.finish(), l1.finish()),
        }
    }
}

#[cfg(test)]
pub fn before_after(cx: &Context, change: &str, on: NaiveDate, days: u32) -> BeforeAfter {
    let mut acc = BeforeAfterAcc::new(cx, change, on, days);
    cx.leads().for_each(|l| acc.add_lead(l));
    cx.deals().for_each(|s| acc.add_deal(&s));
    acc.finish()
}
