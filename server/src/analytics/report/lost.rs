//! Why quotes are lost (docs/metrics.md).

use super::*;

#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct LostReason {
    pub reason: String,
    pub count: u64,
    pub value_cents: i64,
    pub share: f64,
}

/// Losses dated in the range by structured reason; stale quotes count as "no_decision".
#[derive(Clone)]
pub struct LostAcc {
    span: InstantRange,
    dict_len: usize,
    /// Where stale quotes count: the "no_decision" reason's slot, else one past NONE's.
    no_decision: usize,
    /// (count, value) per reason slot.
    by: Vec<(u64, i64)>,
    total: u64,
}

impl LostAcc {
    pub fn new(cx: &Context, range: DateRange) -> Self {
        let dict_len = cx.facts.dict.len();
        let no_decision = cx.facts.dict.get("no_decision").map_or(dict_len + 1, |id| id as usize);
        LostAcc {
            span: InstantRange::of(cx, range),
            dict_len,
            no_decision,
            by: vec![(0, 0); dict_len + 2],
            total: 0,
        }
    }

    pub fn add(&mut self, s: &DealStanding) {
        if s.outcome != Outcome::Lost || !self.span.holds_some(s.at) {
            return;
        }
        let i = if s.stale { self.no_decision } else { slot(self.dict_len, s.d.reason) };
        self.by[i].0 += 1;
        self.by[i].1 += if s.stale { s.d.quoted_cents } else { s.d.amount_cents };
        self.total += 1;
    }

    pub fn merge(&mut self, o: &LostAcc) {
        for (a, b) in self.by.iter_mut().zip(&o.by) {
            a.0 += b.0;
            a.1 += b.1;
        }
        self.total += o.total;
    }

    pub fn finish(self, cx: &Context) -> Vec<LostReason> {
        let (dict_len, total) = (self.dict_len, self.total);
        let mut rows: Vec<LostReason> = self
            .by
            .into_iter()
            .enumerate()
            .filter(|(_, (count, _))| *count > 0)
            .map(|(i, (count, value))| LostReason {
                reason: match i {
                    i if i < dict_len => cx.facts.dict.name(i as u32).to_string(),
                    i if i == dict_len => "other".into(),
                    _ => "no_decision".into(),
                },
                count,
                value_cents: value,
                share: count as f64 / total as f64,
            })
            .collect();
        rows.sort_by(|a, b| b.count.cmp(&a.count).then(a.reason.cmp(&b.reason)));
        rows
    }
}

#[cfg(test)]
pub fn lost_reasons(cx: &Context, range: DateRange) -> Vec<LostReason> {
    let mut acc = LostAcc::new(cx, range);
    cx.deals().for_each(|s| acc.add(&s));
    acc.finish(cx)
}
