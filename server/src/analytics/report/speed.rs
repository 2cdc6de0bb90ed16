//! Speed to lead: how soon a new lead hears from us (docs/metrics.md).

use super::*;

#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct SpeedToLead {
    /// Leads created in the range.
    pub leads: u64,
    pub contacted: u64,
    /// Median seconds from lead to first contact, over contacted leads.
    pub median_seconds: Option<i64>,
    /// Contacted within the first threshold (5 min by default); a lead not yet contacted counts
    /// as a miss once the threshold has passed and is left out before that.
    pub within_first: Rate,
    pub within_second: Rate,
    pub thresholds_minutes: [u32; 2],
}

/// The accumulator of [`SpeedToLead`].
#[derive(Clone)]
pub struct SpeedAcc {
    span: InstantRange,
    now: Secs,
    thresholds: [Secs; 2],
    leads: u64,
    delays: Sample,
    hits: [u64; 2],
    n: [u64; 2],
}

impl SpeedAcc {
    pub fn new(cx: &Context, range: DateRange) -> Self {
        SpeedAcc {
            span: InstantRange::of(cx, range),
            now: cx.now,
            thresholds: cx.settings.speed_thresholds_minutes.map(|m| m as Secs * 60),
            leads: 0,
            delays: Sample::default(),
            hits: [0; 2],
            n: [0; 2],
        }
    }

    pub fn add(&mut self, l: &LeadFact) {
        if !self.span.holds(l.created) {
            return;
        }
        self.leads += 1;
        for k in 0..2 {
            match l.first_contact {
                Some(fc) => {
                    self.n[k] += 1;
                    self.hits[k] += ((fc - l.created).max(0) <= self.thresholds[k]) as u64;
                }
                None => self.n[k] += (self.now - l.created > self.thresholds[k]) as u64,
            }
        }
        if let Some(fc) = l.first_contact {
            self.delays.push((fc - l.created).max(0));
        }
    }

    /// Every accumulator merges another fed with other facts over the same range, as if it had
    /// been fed them itself: the dashboard keeps one per chunk of settled facts and merges them.
    pub fn merge(&mut self, other: &SpeedAcc) {
        self.leads += other.leads;
        self.delays.merge(&other.delays);
        for k in 0..2 {
            self.hits[k] += other.hits[k];
            self.n[k] += other.n[k];
        }
    }

    /// Readies it to be kept and merged many times (values sorted once, here).
    pub fn seal(&mut self) {
        self.delays.seal();
    }

    pub fn finish(mut self, cx: &Context) -> SpeedToLead {
        let [median] = self.delays.percentiles([0.5]);
        SpeedToLead {
            leads: self.leads,
            contacted: self.delays.len() as u64,
            median_seconds: median,
            within_first: Rate::new(self.hits[0], self.n[0]),
            within_second: Rate::new(self.hits[1], self.n[1]),
            thresholds_minutes: cx.settings.speed_thresholds_minutes,
        }
    }
}

/// Each report run alone over every fact. The server computes them all in one pass instead
/// (`pass.rs`); the tests hold that pass equal to these and to a naive recomputation.
#[cfg(test)]
pub fn speed_to_lead(cx: &Context, range: DateRange) -> SpeedToLead {
    let mut acc = SpeedAcc::new(cx, range);
    cx.leads().for_each(|l| acc.add(l));
    acc.finish(cx)
}
