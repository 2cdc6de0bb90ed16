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
    /// Leads of the range nobody has contacted yet ÷ leads of the range: beside the median, so
    /// a team cannot improve it by leaving hard leads alone.
    pub never_contacted: Rate,
    /// The same measures with the clock stopped outside opening hours and on holidays.
    pub business: BusinessSpeed,
}

/// Speed to lead in business time: a lead at 02:00 starts counting at opening.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct BusinessSpeed {
    /// Median business seconds from lead to first contact, over contacted leads.
    pub median_seconds: Option<i64>,
    pub within_first: Rate,
    pub within_second: Rate,
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
    hours: std::sync::Arc<crate::analytics::business::Hours>,
    business_delays: Sample,
    business_hits: [u64; 2],
    business_n: [u64; 2],
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
            hours: cx.hours.clone(),
            business_delays: Sample::default(),
            business_hits: [0; 2],
            business_n: [0; 2],
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
        // Business time: the same rules on the clock that runs only while the company is open.
        let longest = self.thresholds[0].max(self.thresholds[1]);
        let business = match l.first_contact {
            Some(fc) => Some(self.hours.elapsed(l.created, fc, Secs::MAX)),
            None => None,
        };
        let waited = business.unwrap_or_else(|| self.hours.elapsed(l.created, self.now, longest + 1));
        for k in 0..2 {
            match business {
                Some(b) => {
                    self.business_n[k] += 1;
                    self.business_hits[k] += (b <= self.thresholds[k]) as u64;
                }
                None => self.business_n[k] += (waited > self.thresholds[k]) as u64,
            }
        }
        if let Some(b) = business {
            self.business_delays.push(b);
        }
    }

    /// Every accumulator merges another fed with other facts over the same range, as if it had
    /// been fed them itself: the dashboard keeps one per chunk of settled facts and merges them.
    pub fn merge(&mut self, other: &SpeedAcc) {
        self.leads += other.leads;
        self.delays.merge(&other.delays);
        self.business_delays.merge(&other.business_delays);
        for k in 0..2 {
            self.hits[k] += other.hits[k];
            self.n[k] += other.n[k];
            self.business_hits[k] += other.business_hits[k];
            self.business_n[k] += other.business_n[k];
        }
    }

    /// Readies it to be kept and merged many times (values sorted once, here).
    pub fn seal(&mut self) {
        self.delays.seal();
        self.business_delays.seal();
    }

    pub fn finish(mut self, cx: &Context) -> SpeedToLead {
        let [median] = self.delays.percentiles([0.5]);
        let [business_median] = self.business_delays.percentiles([0.5]);
        let contacted = self.delays.len() as u64;
        SpeedToLead {
            leads: self.leads,
            contacted,
            median_seconds: median,
            within_first: Rate::new(self.hits[0], self.n[0]),
            within_second: Rate::new(self.hits[1], self.n[1]),
            thresholds_minutes: cx.settings.speed_thresholds_minutes,
            never_contacted: Rate::new(self.leads - contacted, self.leads),
            business: BusinessSpeed {
                median_seconds: business_median,
                within_first: Rate::new(self.business_hits[0], self.business_n[0]),
                within_second: Rate::new(self.business_hits[1], self.business_n[1]),
            },
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
