//! The funnel: lead → consultation → quote → sold, with its leaks against targets (docs/metrics.md).

use super::*;

#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Stage {
    pub name: &'static str,
    pub entries: u64,
    pub advanced: u64,
    pub lost: u64,
    pub moved_back: u64,
    pub still_in: u64,
    /// advanced ÷ (advanced + lost)
    pub conversion: Rate,
    pub target: f64,
    /// lost × the segment's average won value.
    pub leak_cents: i64,
    pub bottleneck: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Funnel {
    pub stages: Vec<Stage>,
    pub average_won_cents: Option<i64>,
}

pub const STAGE_NAMES: [&str; 4] =
    ["Lead → contacted", "Contacted → consultation held", "Held → options presented", "Presented → won"];
/// Stage targets: the middle two come from the KPI targets (lead → consultation, close rate).
pub fn stage_targets(s: &Settings) -> [f64; 4] {
    [0.9, s.targets.lead_to_consultation, 0.95, s.targets.close_rate]
}

/// The funnel of leads created in the range. Each item is counted in exactly one of advanced,
/// lost, moved back or still in, at each stage it entered.
#[derive(Clone)]
pub struct FunnelAcc {
    span: InstantRange,
    now: Secs,
    stale: Secs,
    /// Per stage: entries, advanced, lost, moved back, still in.
    counts: [[u64; 5]; 4],
    won_n: i64,
    won_cents: i64,
}

const ADVANCED: usize = 1;
const LOST: usize = 2;
const BACK: usize = 3;
const STILL: usize = 4;

impl FunnelAcc {
    pub fn new(cx: &Context, range: DateRange) -> Self {
        FunnelAcc {
            span: InstantRange::of(cx, range),
            now: cx.now,
            stale: cx.stale,
            counts: [[0; 5]; 4],
            won_n: 0,
            won_cents: 0,
        }
    }

    fn bump(&mut self, stage: usize, bucket: usize) {
        self.counts[stage][0] += 1;
        self.counts[stage][bucket] += 1;
    }

    /// Lead-level stages: a lead not moving on within the stale window is lost there.
    pub fn add_lead(&mut self, l: &LeadFact) {
        if !self.span.holds(l.created) {
            return;
        }
        let idle_since = l.first_contact.unwrap_or(l.created);
        let stale = self.now - idle_since > self.stale;
        if l.first_contact.is_some() || l.first_held.is_some() {
            self.bump(0, ADVANCED);
            if l.first_held.is_some() {
                self.bump(1, ADVANCED);
            } else {
                self.bump(1, if stale { LOST } else { STILL });
            }
        } else {
            self.bump(0, if stale { LOST } else { STILL });
        }
    }

    pub fn add_deal(&mut self, s: &DealStanding) {
        let d = s.d;
        if !self.span.holds(d.lead_created) || d.held.is_none() {
            return;
        }
        if d.presented.is_some() || d.options_presented > 0 {
            self.bump(2, ADVANCED);
            let bucket = match s.outcome {
                Outcome::Won => ADVANCED,
                Outcome::Lost => LOST,
                Outcome::Open if d.reopened => BACK,
                Outcome::Open => STILL,
            };
            self.bump(3, bucket);
        } else {
            let bucket = match s.outcome {
                Outcome::Lost => LOST,
                Outcome::Open if d.reopened => BACK,
                Outcome::Won => ADVANCED, // won without a recorded presentation: it got past it
                Outcome::Open => STILL,
            };
            self.bump(2, bucket);
        }
        if s.outcome == Outcome::Won {
            self.won_n += 1;
            self.won_cents += d.amount_cents;
        }
    }

    pub fn merge(&mut self, o: &FunnelAcc) {
        for (a, b) in self.counts.iter_mut().flatten().zip(o.counts.iter().flatten()) {
            *a += b;
        }
        self.won_n += o.won_n;
        self.won_cents += o.won_cents;
    }

    pub fn finish(self, cx: &Context) -> Funnel {
        let average = (self.won_n > 0).then(|| self.won_cents / self.won_n);
        let targets = stage_targets(cx.settings);
        let mut stages: Vec<Stage> = (0..4)
            .map(|i| {
                let [entries, advanced, lost, moved_back, still_in] = self.counts[i];
                debug_assert_eq!(entries, advanced + lost + moved_back + still_in);
                Stage {
                    name: STAGE_NAMES[i],
                    entries,
                    advanced,
                    lost,
                    moved_back,
                    still_in,
                    conversion: Rate::with_open(advanced, advanced + lost, 0),
                    target: targets[i],
                    leak_cents: lost as i64 * average.unwrap_or(0),
                    bottleneck: false,
                }
            })
            .collect();
        // The bottleneck: largest (target − actual) × entries × value, only where the target lies
        // above the whole 95% interval (a gap chance cannot explain).
        let value = average.unwrap_or(1).max(1) as f64;
        let worst = stages
            .iter()
            .enumerate()
            .filter_map(|(i, s)| {
                let (actual, high) = (s.conversion.value?, s.conversion.high?);
                (s.target > high).then_some((i, (s.target - actual) * s.entries as f64 * value))
            })
            .max_by(|a, b| a.1.total_cmp(&b.1));
        if let Some((i, _)) = worst {
            stages[i].bottleneck = true;
        }
        Funnel { stages, average_won_cents: average }
    }
}

#[cfg(test)]
pub fn funnel(cx: &Context, range: DateRange) -> Funnel {
    let mut acc = FunnelAcc::new(cx, range);
    cx.leads().for_each(|l| acc.add_lead(l));
    cx.deals().for_each(|s| acc.add_deal(&s));
    acc.finish(cx)
}
