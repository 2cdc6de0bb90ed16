//! Weekly lead cohorts and how they close (docs/metrics.md).

use super::*;

#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct CohortRow {
    /// First day of the month of consultation.
    pub month: NaiveDate,
    pub held: u64,
    /// Share won by the end of week 1, 2, ... since the consultation; None where the cohort is
    /// not that old yet (immature).
    pub closed_by_week: Vec<Option<f64>>,
}

pub const COHORT_WEEKS: usize = 8;

/// Month of consultation × share closed (as a sale) by week since.
#[derive(Clone)]
pub struct CohortAcc {
    span: InstantRange,
    months: Vec<DateRange>,
    /// Month starts as instants: converting each consultation's time to a local date would
    /// cost a time-zone lookup per consultation.
    slots: std::sync::Arc<Slots>,
    /// Per month: held, and won by the end of each week since.
    by: Vec<(u64, [u64; COHORT_WEEKS])>,
}

impl CohortAcc {
    pub fn new(cx: &Context, range: DateRange) -> Self {
        let months = periods(range, Period::Month);
        let span = InstantRange::of(cx, range);
        let slots = Slots::new(months.iter().map(|m| midnight(cx.tz, m.from)).collect(), span.to).into();
        let by = vec![(0, [0; COHORT_WEEKS]); months.len()];
        CohortAcc { span, months, slots, by }
    }

    pub fn add(&mut self, s: &DealStanding) {
        let Some(h) = s.d.held.filter(|&h| self.span.holds(h)) else { return };
        let Some(i) = self.slots.of(h) else { return };
        let e = &mut self.by[i];
        e.0 += 1;
        if let (Outcome::Won, Some(at), true) = (s.outcome, s.at, s.sale) {
            let week = ((at - h).max(0) / (7 * DAY)) as usize;
            for w in e.1.iter_mut().skip(week) {
                *w += 1;
            }
        }
    }

    pub fn merge(&mut self, o: &CohortAcc) {
        for (a, b) in self.by.iter_mut().zip(&o.by) {
            a.0 += b.0;
            a.1.iter_mut().zip(&b.1).for_each(|(x, y)| *x += y);
        }
    }

    pub fn finish(self, cx: &Context) -> Vec<CohortRow> {
        self.months
            .iter()
            .zip(self.by)
            .filter(|(_, (held, _))| *held > 0)
            .map(|(m, (held, won))| {
                let month = Period::Month.start(m.from);
                // Mature for week w when the month's last day is w weeks old.
                let month_end = midnight(cx.tz, Period::Month.next(month));
                CohortRow {
                    month,
                    held,
                    closed_by_week: (0..COHORT_WEEKS)
                        .map(|w| {
                            (month_end + (w as Secs + 1) * 7 * DAY <= cx.now)
                                .then(|| won[w] as f64 / held as f64)
                        })
                        .collect(),
                }
            })
            .collect()
    }
}

#[cfg(test)]
pub fn cohorts(cx: &Context, range: DateRange) -> Vec<CohortRow> {
    let mut acc = CohortAcc::new(cx, range);
    cx.deals().for_each(|s| acc.add(&s));
    acc.finish(cx)
}
