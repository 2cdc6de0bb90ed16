//! Revenue, average ticket and pipeline (docs/metrics.md).

use super::*;

#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Revenue {
    /// Wins dated in the range (every win is money, sold threshold or not).
    pub won: u64,
    pub revenue_cents: i64,
    pub average_ticket_cents: Option<i64>,
    /// Open quotes now × the company's base win rate for their service type.
    pub pipeline_cents: i64,
    pub open_quotes: u64,
}

#[derive(Clone)]
pub struct RevenueAcc {
    span: InstantRange,
    won: u64,
    cents: i64,
    /// Base rates per service (by dictionary id) over every decision so far: the fallback the
    /// close-probability model of issue 5 starts from.
    decided: Vec<(u64, u64)>,
    /// Open quotes per service: how many, and their quoted cents (sums: the pipeline does not
    /// depend on the order quotes were met in).
    open: Vec<(u64, i64)>,
}

impl RevenueAcc {
    pub fn new(cx: &Context, range: DateRange) -> Self {
        RevenueAcc {
            span: InstantRange::of(cx, range),
            won: 0,
            cents: 0,
            decided: vec![(0, 0); cx.facts.dict.len()],
            open: vec![(0, 0); cx.facts.dict.len()],
        }
    }

    pub fn add(&mut self, s: &DealStanding) {
        let service = s.d.service as usize;
        match s.outcome {
            Outcome::Won => {
                if self.span.holds_some(s.at) {
                    self.won += 1;
                    self.cents += s.d.amount_cents;
                }
                self.decided[service].0 += 1;
            }
            Outcome::Lost => self.decided[service].1 += 1,
            Outcome::Open if s.d.held.is_some() || s.d.presented.is_some() => {
                self.open[service].0 += 1;
                self.open[service].1 += s.d.quoted_cents;
            }
            Outcome::Open => {}
        }
    }

    /// A skipped chunk: its decisions, and its quotes gone stale as losses, still count
    /// towards the base rates.
    pub fn add_skipped(&mut self, chunk: &DealChunk) {
        for &(service, won, lost) in &chunk.decided {
            self.decided[service as usize].0 += won;
            self.decided[service as usize].1 += lost;
        }
        for &(service, stale) in &chunk.open_quotes {
            self.decided[service as usize].1 += stale;
        }
    }

    pub fn merge(&mut self, o: &RevenueAcc) {
        self.won += o.won;
        self.cents += o.cents;
        for (a, b) in self.decided.iter_mut().zip(&o.decided) {
            a.0 += b.0;
            a.1 += b.1;
        }
        for (a, b) in self.open.iter_mut().zip(&o.open) {
            a.0 += b.0;
            a.1 += b.1;
        }
    }

    pub fn finish(self) -> Revenue {
        let pipeline: f64 = self
            .open
            .iter()
            .zip(&self.decided)
            .map(|(&(_, quoted), &(w, l))| {
                let p = if w + l > 0 { w as f64 / (w + l) as f64 } else { 0.0 };
                quoted as f64 * p
            })
            .sum();
        Revenue {
            won: self.won,
            revenue_cents: self.cents,
            average_ticket_cents: (self.won > 0).then(|| self.cents / self.won as i64),
            pipeline_cents: pipeline.round() as i64,
            open_quotes: self.open.iter().map(|&(n, _)| n).sum(),
        }
    }
}

#[cfg(test)]
pub fn revenue(cx: &Context, range: DateRange) -> Revenue {
    let mut acc = RevenueAcc::new(cx, range);
    cx.deals().for_each(|s| acc.add(&s));
    acc.finish()
}
