//! Non-selling time: the share of working time not spent selling (docs/metrics.md).

use super::*;

#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct NonSelling {
    pub logged_hours: f64,
    pub non_selling_hours: f64,
    pub share: Option<f64>,
    pub entries: u64,
}

/// Non-selling hours ÷ logged hours of entries started in the range (breaks are neither).
#[derive(Clone)]
pub struct NonSellingAcc {
    span: InstantRange,
    logged: i64,
    non: i64,
    entries: u64,
}

impl NonSellingAcc {
    pub fn new(cx: &Context, range: DateRange) -> Self {
        NonSellingAcc { span: InstantRange::of(cx, range), logged: 0, non: 0, entries: 0 }
    }

    pub fn add(&mut self, t: &TimeFact) {
        if !self.span.holds(t.start) {
            return;
        }
        self.entries += 1;
        self.logged += t.seconds;
        if !t.selling {
            self.non += t.seconds;
        }
    }

    pub fn merge(&mut self, o: &NonSellingAcc) {
        self.logged += o.logged;
        self.non += o.non;
        self.entries += o.entries;
    }

    pub fn finish(self) -> NonSelling {
        let (logged, non) = (self.logged, self.non);
        NonSelling {
            logged_hours: logged as f64 / 3600.0,
            non_selling_hours: non as f64 / 3600.0,
            share: (logged > 0).then(|| non as f64 / logged as f64),
            entries: self.entries,
        }
    }
}

#[cfg(test)]
pub fn non_selling(cx: &Context, range: DateRange) -> NonSelling {
    let mut acc = NonSellingAcc::new(cx, range);
    cx.time().for_each(|t| acc.add(t));
    acc.finish()
}
