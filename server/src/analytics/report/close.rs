//! Close rate: consultations held that sold (docs/metrics.md).

use super::*;

#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct CloseRate {
    pub all: Rate,
    /// Won on the local day of the consultation ("sold on the spot").
    pub first_visit: Rate,
    /// Won on a later day, within the window.
    pub follow_up: Rate,
}

/// Consultations held in the range that were won (as a sale) within the close window ÷
/// consultations held in the range, no-sales included.
#[derive(Clone)]
pub struct CloseAcc {
    pub(super) rule: CloseRule,
    counts: CloseCounts,
}

/// What decides a held consultation's place in the close rate.
#[derive(Debug, Clone, Copy)]
pub(super) struct CloseRule {
    pub(super) span: InstantRange,
    pub(super) now: Secs,
    pub(super) window: Secs,
}

/// The close rate's counts, kept apart from the rule so a breakdown's many groups share one.
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct CloseCounts {
    pub(super) n: u64,
    pub(super) first: u64,
    pub(super) later: u64,
    pub(super) open: u64,
}

impl CloseRule {
    pub(super) fn of(cx: &Context, span: InstantRange) -> Self {
        CloseRule { span, now: cx.now, window: cx.settings.close_window_days as Secs * DAY }
    }

    pub(super) fn add(&self, c: &mut CloseCounts, s: &DealStanding) {
        let Some(held) = s.d.held.filter(|&h| self.span.holds(h)) else { return };
        c.n += 1;
        match (s.outcome, s.at) {
            (Outcome::Won, Some(at)) if at - held <= self.window && s.sale => {
                if s.d.same_day {
                    c.first += 1
                } else {
                    c.later += 1
                }
            }
            (Outcome::Open, _) if self.now - held <= self.window => c.open += 1,
            _ => {}
        }
    }
}

impl CloseCounts {
    pub(super) fn merge(&mut self, o: &CloseCounts) {
        self.n += o.n;
        self.first += o.first;
        self.later += o.later;
        self.open += o.open;
    }

    pub(super) fn finish(self) -> CloseRate {
        CloseRate {
            all: Rate::with_open(self.first + self.later, self.n, self.open),
            first_visit: Rate::with_open(self.first, self.n, self.open),
            follow_up: Rate::with_open(self.later, self.n, self.open),
        }
    }
}

impl CloseAcc {
    pub fn new(cx: &Context, range: DateRange) -> Self {
        CloseAcc { rule: CloseRule::of(cx, InstantRange::of(cx, range)), counts: CloseCounts::default() }
    }

    pub fn add(&mut self, s: &DealStanding) {
        self.rule.add(&mut self.counts, s);
    }

    pub fn merge(&mut self, other: &CloseAcc) {
        self.counts.merge(&other.counts);
    }

    pub fn finish(self) -> CloseRate {
        self.counts.finish()
    }
}

#[cfg(test)]
pub fn close_rate(cx: &Context, range: DateRange) -> CloseRate {
    let mut acc = CloseAcc::new(cx, range);
    cx.deals().for_each(|s| acc.add(&s));
    acc.finish()
}
