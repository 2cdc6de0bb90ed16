//! Win rate: decided quotes that sold (docs/metrics.md).

use super::*;

#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct WinRate {
    /// Won ÷ (won + lost) by count, among decisions dated in the range.
    pub count: Rate,
    pub won_cents: i64,
    pub lost_cents: i64,
    /// Won value ÷ (won + lost value).
    pub value_share: Option<f64>,
    /// Of the losses, how many were quotes gone stale ("lost – no decision").
    pub stale: u64,
}

/// Decisions dated in the range; wins below the sold threshold are not sales and count on
/// neither side.
#[derive(Clone)]
pub struct WinAcc {
    span: InstantRange,
    won: u64,
    lost: u64,
    won_cents: i64,
    lost_cents: i64,
    stale: u64,
}

impl WinAcc {
    pub fn new(cx: &Context, range: DateRange) -> Self {
        WinAcc { span: InstantRange::of(cx, range), won: 0, lost: 0, won_cents: 0, lost_cents: 0, stale: 0 }
    }

    pub fn add(&mut self, s: &DealStanding) {
        if !self.span.holds_some(s.at) {
            return;
        }
        match s.outcome {
            Outcome::Won if s.sale => {
                self.won += 1;
                self.won_cents += s.d.amount_cents;
            }
            Outcome::Lost => {
                self.lost += 1;
                self.lost_cents += if s.stale { s.d.quoted_cents } else { s.d.amount_cents };
                self.stale += s.stale as u64;
            }
            _ => {}
        }
    }

    pub fn merge(&mut self, o: &WinAcc) {
        self.won += o.won;
        self.lost += o.lost;
        self.won_cents += o.won_cents;
        self.lost_cents += o.lost_cents;
        self.stale += o.stale;
    }

    pub fn finish(self) -> WinRate {
        let total = self.won_cents + self.lost_cents;
        WinRate {
            count: Rate::new(self.won, self.won + self.lost),
            won_cents: self.won_cents,
            lost_cents: self.lost_cents,
            value_share: (total > 0).then(|| self.won_cents as f64 / total as f64),
            stale: self.stale,
        }
    }
}

#[cfg(test)]
pub fn win_rate(cx: &Context, range: DateRange) -> WinRate {
    let mut acc = WinAcc::new(cx, range);
    cx.deals().for_each(|s| acc.add(&s));
    acc.finish()
}
