//! The statistics the reports stand on, exact and small: Wilson intervals for rates, exact
//! percentiles (nearest rank), a two-proportion z-test for before/after, and the Kaplan–Meier
//! time-to-close curve where open items are censored, not dropped.

use serde::Serialize;
use std::sync::Arc;

/// z for a two-sided 95% interval.
const Z95: f64 = 1.959_963_984_540_054;

/// A rate with its sample size and 95% Wilson interval. `n` below 20 is "too small to judge".
#[derive(Debug, Clone, Copy, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Rate {
    pub hits: u64,
    pub n: u64,
    /// hits / n, or None when n is 0 (a rate of nothing is not 0%).
    pub value: Option<f64>,
    pub low: Option<f64>,
    pub high: Option<f64>,
    /// Share of the cohort whose outcome is not known yet (still inside the window).
    pub still_open: Option<f64>,
    pub too_small: bool,
}

pub const MIN_N: u64 = 20;

impl Rate {
    pub fn new(hits: u64, n: u64) -> Rate {
        Rate::with_open(hits, n, 0)
    }

    /// `open` of the `n` are still pending: they stay in the denominator, as METRICS.md says.
    pub fn with_open(hits: u64, n: u64, open: u64) -> Rate {
        debug_assert!(hits <= n && open <= n);
        let (low, high) = match wilson(hits, n) {
            Some((l, h)) => (Some(l), Some(h)),
            None => (None, None),
        };
        Rate {
            hits,
            n,
            value: (n > 0).then(|| hits as f64 / n as f64),
            low,
            high,
            still_open: (n > 0).then(|| open as f64 / n as f64),
            too_small: n < MIN_N,
        }
    }
}

/// The 95% Wilson score interval of hits/n; None when n is 0.
pub fn wilson(hits: u64, n: u64) -> Option<(f64, f64)> {
    if n == 0 {
        return None;
    }
    let (n, p) = (n as f64, hits as f64 / n as f64);
    let z2 = Z95 * Z95;
    let centre = (p + z2 / (2.0 * n)) / (1.0 + z2 / n);
    let half = Z95 / (1.0 + z2 / n) * (p * (1.0 - p) / n + z2 / (4.0 * n * n)).sqrt();
    Some(((centre - half).max(0.0), (centre + half).min(1.0)))
}

/// The nearest-rank percentile (`p` in 0..=1) of values, which it sorts; exact, never
/// interpolated, so every reported figure is one that happened.
pub fn percentile(values: &mut [i64], p: f64) -> Option<i64> {
    if values.is_empty() {
        return None;
    }
    let rank = ((p * values.len() as f64).ceil() as usize).clamp(1, values.len());
    let (_, v, _) = values.select_nth_unstable(rank - 1);
    Some(*v)
}

/// [`percentile`] at several ascending `ps`: each is selected among the values above the one
/// before (they are all at or past its rank), so three cost less than two selections of all.
pub fn percentiles<const N: usize>(values: &mut [i64], ps: [f64; N]) -> [Option<i64>; N] {
    let mut out = [None; N];
    if values.is_empty() {
        return out;
    }
    let mut start = 0;
    for (slot, p) in out.iter_mut().zip(ps) {
        let rank = ((p * values.len() as f64).ceil() as usize).clamp(1, values.len()) - 1;
        assert!(rank >= start, "percentiles: ps must ascend");
        let (_, v, _) = values[start..].select_nth_unstable(rank - start);
        *slot = Some(*v);
        start = rank;
    }
    out
}

/// Median, P75, P90 and mean of durations in seconds.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Spread {
    pub n: u64,
    pub median: Option<i64>,
    pub p75: Option<i64>,
    pub p90: Option<i64>,
    pub mean: Option<f64>,
}

impl Spread {
    pub fn of(values: Vec<i64>) -> Spread {
        Sample::from(values).spread()
    }
}

/// Values kept for percentiles that merge without copying or sorting them again: a cached
/// chunk's values are one sorted run shared by every dashboard that merges it, and a percentile
/// over many runs is found by searching the value axis (a count per run by binary search), not
/// by gathering a million values into one array. Exact: the same nearest rank as [`percentile`].
#[derive(Debug, Clone, Default)]
pub struct Sample {
    /// Values added since the last [`Sample::seal`], in no order.
    loose: Vec<i64>,
    /// Sorted runs.
    runs: Vec<Arc<[i64]>>,
    len: usize,
    /// Exact, so a mean does not depend on the order values were merged in.
    sum: i128,
}

impl From<Vec<i64>> for Sample {
    fn from(loose: Vec<i64>) -> Sample {
        let sum = loose.iter().map(|&v| v as i128).sum();
        Sample { len: loose.len(), loose, runs: vec![], sum }
    }
}

impl Sample {
    pub fn push(&mut self, v: i64) {
        self.loose.push(v);
        self.len += 1;
        self.sum += v as i128;
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Sorts the loose values into a run of their own, to be shared by later merges.
    pub fn seal(&mut self) {
        if !self.loose.is_empty() {
            let mut run = std::mem::take(&mut self.loose);
            run.sort_unstable();
            self.runs.push(run.into());
        }
    }

    /// Adds `other`'s values: its runs are shared, its loose values copied.
    pub fn merge(&mut self, other: &Sample) {
        self.loose.extend_from_slice(&other.loose);
        self.runs.extend(other.runs.iter().cloned());
        self.len += other.len;
        self.sum += other.sum;
    }

    /// Nearest-rank percentiles at ascending `ps`, as [`percentiles`] gives them.
    pub fn percentiles<const N: usize>(&mut self, ps: [f64; N]) -> [Option<i64>; N] {
        if self.runs.is_empty() {
            return percentiles(&mut self.loose, ps);
        }
        self.seal();
        let runs = &self.runs;
        let low = runs.iter().map(|r| r[0]).min().expect("runs are never empty");
        let high = runs.iter().map(|r| r[r.len() - 1]).max().expect("runs are never empty");
        ps.map(|p| {
            let rank = ((p * self.len as f64).ceil() as usize).clamp(1, self.len);
            // The least value with at least `rank` values at or below it.
            let (mut lo, mut hi) = (low, high);
            while lo < hi {
                // lo + (hi - lo) / 2 without overflow (i64::midpoint is past the MSRV).
                let mid = ((lo as i128 + hi as i128).div_euclid(2)) as i64;
                let at_or_below: usize = runs.iter().map(|r| r.partition_point(|&x| x <= mid)).sum();
                if at_or_below >= rank {
                    hi = mid;
                } else {
                    lo = mid + 1;
                }
            }
            Some(lo)
        })
    }

    pub fn spread(mut self) -> Spread {
        let n = self.len as u64;
        let mean = (n > 0).then(|| self.sum as f64 / n as f64);
        let [median, p75, p90] = self.percentiles([0.5, 0.75, 0.9]);
        Spread { n, median, p75, p90, mean }
    }
}

/// Before/after: the difference of two proportions and whether it is beyond chance
/// (two-sided z-test with a pooled proportion, p < 0.05).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Comparison {
    pub before: Rate,
    pub after: Rate,
    pub difference: Option<f64>,
    pub z: Option<f64>,
    pub p_value: Option<f64>,
    pub significant: bool,
}

pub fn compare(before: Rate, after: Rate) -> Comparison {
    let (n1, n2) = (before.n as f64, after.n as f64);
    let (mut z, mut p_value, mut difference) = (None, None, None);
    if before.n > 0 && after.n > 0 {
        let (p1, p2) = (before.hits as f64 / n1, after.hits as f64 / n2);
        difference = Some(p2 - p1);
        let pooled = (before.hits + after.hits) as f64 / (n1 + n2);
        let se = (pooled * (1.0 - pooled) * (1.0 / n1 + 1.0 / n2)).sqrt();
        if se > 0.0 {
            let zz = (p2 - p1) / se;
            z = Some(zz);
            p_value = Some(2.0 * (1.0 - normal_cdf(zz.abs())));
        }
    }
    Comparison { before, after, difference, z, p_value, significant: p_value.is_some_and(|p| p < 0.05) }
}

/// Φ(x) by the Abramowitz–Stegun 7.1.26 erf approximation (error < 1.5e-7): enough for a p-value.
pub fn normal_cdf(x: f64) -> f64 {
    let t = 1.0 / (1.0 + 0.327_591_1 * x.abs() / std::f64::consts::SQRT_2);
    let poly = t
        * (0.254_829_592
            + t * (-0.284_496_736 + t * (1.421_413_741 + t * (-1.453_152_027 + t * 1.061_405_429))));
    let erf = 1.0 - poly * (-(x * x) / 2.0).exp();
    if x >= 0.0 {
        0.5 * (1.0 + erf)
    } else {
        0.5 * (1.0 - erf)
    }
}

/// One step of a Kaplan–Meier curve: by `day` days after the start, `closed` of the cohort has
/// closed (1 − survival).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, utoipa::ToSchema)]
pub struct CurvePoint {
    pub day: u32,
    pub closed: f64,
    pub at_risk: u64,
}

/// Kaplan–Meier on (days, closed?) observations: an item that closed on day d is an event at d;
/// an item still open after d days is censored at d (it leaves the risk set without closing).
/// Items that were lost never close: pass them censored at the horizon.
pub fn kaplan_meier(observations: &[(u32, bool)], horizon: u32) -> Vec<CurvePoint> {
    let mut curve = Survival::new(horizon);
    for &(day, closed) in observations {
        curve.add(day, closed);
    }
    curve.finish()
}

/// [`kaplan_meier`] as it accumulates: days are whole and bounded by the horizon, so counting
/// per day replaces sorting the observations (a sort of a million was most of a report).
#[derive(Debug, Clone)]
pub struct Survival {
    horizon: u32,
    /// Per day 0..=horizon: closed on that day, and left the risk set on that day.
    events: Vec<u64>,
    leaving: Vec<u64>,
    total: u64,
}

impl Survival {
    pub fn new(horizon: u32) -> Self {
        let days = horizon as usize + 1;
        Survival { horizon, events: vec![0; days], leaving: vec![0; days], total: 0 }
    }

    /// One item: closed on `day`, or censored there (beyond the horizon: never closes in view).
    pub fn add(&mut self, day: u32, closed: bool) {
        self.total += 1;
        if day <= self.horizon {
            self.leaving[day as usize] += 1;
            self.events[day as usize] += closed as u64;
        }
    }

    pub fn merge(&mut self, other: &Survival) {
        debug_assert_eq!(self.horizon, other.horizon);
        self.events.iter_mut().zip(&other.events).for_each(|(a, b)| *a += b);
        self.leaving.iter_mut().zip(&other.leaving).for_each(|(a, b)| *a += b);
        self.total += other.total;
    }

    pub fn finish(self) -> Vec<CurvePoint> {
        let mut at_risk = self.total;
        let mut survival = 1.0;
        let mut points = vec![CurvePoint { day: 0, closed: 0.0, at_risk }];
        for day in 0..=self.horizon {
            let (events, leaving) = (self.events[day as usize], self.leaving[day as usize]);
            if events > 0 && at_risk > 0 {
                survival *= 1.0 - events as f64 / at_risk as f64;
                points.push(CurvePoint { day, closed: 1.0 - survival, at_risk });
            }
            at_risk -= leaving;
        }
        points
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wilson_matches_the_textbook_values() {
        // 10 of 20: 0.2993 .. 0.7007 (Wilson 1927, as in every table of it).
        let (l, h) = wilson(10, 20).unwrap();
        assert!((l - 0.2993).abs() < 1e-4 && (h - 0.7007).abs() < 1e-4, "{l} {h}");
        // 0 of 10: 0 .. 0.2775
        let (l, h) = wilson(0, 10).unwrap();
        assert_eq!(l, 0.0);
        assert!((h - 0.2775).abs() < 1e-4, "{h}");
        assert_eq!(wilson(0, 0), None);
    }

    #[test]
    fn rates_of_nothing_are_unknown_not_zero() {
        let r = Rate::new(0, 0);
        assert_eq!(r.value, None);
        assert!(r.too_small);
        let r = Rate::with_open(5, 40, 10);
        assert_eq!(r.value, Some(0.125));
        assert_eq!(r.still_open, Some(0.25));
        assert!(!r.too_small);
    }

    #[test]
    fn percentiles_are_nearest_rank() {
        let mut v = vec![50, 10, 40, 20, 30];
        assert_eq!(percentile(&mut v, 0.5), Some(30));
        assert_eq!(percentile(&mut v, 0.75), Some(40));
        assert_eq!(percentile(&mut v, 0.9), Some(50));
        assert_eq!(percentile(&mut v, 0.0), Some(10));
        let mut four = vec![1, 2, 3, 4];
        assert_eq!(percentile(&mut four, 0.5), Some(2));
        assert_eq!(percentile(&mut [], 0.5), None);
    }

    #[test]
    fn two_proportions() {
        // 40/100 vs 60/100: z = 2.828, p = 0.0047.
        let c = compare(Rate::new(40, 100), Rate::new(60, 100));
        assert!((c.z.unwrap() - 2.8284).abs() < 1e-3);
        assert!((c.p_value.unwrap() - 0.00468).abs() < 1e-4);
        assert!(c.significant);
        let same = compare(Rate::new(10, 20), Rate::new(11, 20));
        assert!(!same.significant);
        assert_eq!(compare(Rate::new(0, 0), Rate::new(1, 2)).difference, None);
    }

    #[test]
    fn several_percentiles_at_once_equal_one_at_a_time() {
        let mut values: Vec<i64> = (0..1_001).map(|i| (i * 7_919) % 1_009).collect();
        let one_at_a_time = [0.5, 0.75, 0.9].map(|p| percentile(&mut values.clone(), p));
        assert_eq!(percentiles(&mut values, [0.5, 0.75, 0.9]), one_at_a_time);
        assert_eq!(percentiles(&mut [], [0.5, 0.9]), [None, None]);
        assert_eq!(percentiles(&mut [4], [0.5, 0.9]), [Some(4), Some(4)]);
    }

    #[test]
    fn a_sample_merged_from_sorted_runs_gives_the_percentiles_of_all_its_values() {
        let values: Vec<i64> = (0..5_000).map(|i| (i * 7_919) % 4_001 - 2_000).collect();
        let ps = [0.0, 0.1, 0.5, 0.75, 0.9, 1.0];
        let expected = ps.map(|p| percentile(&mut values.clone(), p));
        // Runs of uneven sizes (one of a single value), some sealed and some loose.
        let mut whole = Sample::default();
        for (k, part) in
            [&values[..1], &values[1..1_700], &values[1_700..1_701], &values[1_701..]].iter().enumerate()
        {
            let mut piece = Sample::default();
            part.iter().for_each(|&v| piece.push(v));
            if k != 2 {
                piece.seal();
            }
            whole.merge(&piece);
        }
        assert_eq!(whole.len(), values.len());
        assert_eq!(whole.clone().percentiles(ps), expected);
        let spread = whole.spread();
        assert_eq!(spread, Spread::of(values.clone()));
        assert_eq!(spread.mean, Some(values.iter().sum::<i64>() as f64 / values.len() as f64));
        assert_eq!(Sample::default().percentiles([0.5]), [None]);
    }

    #[test]
    fn kaplan_meier_censors_open_items() {
        // 4 items: closed day 1, open (censored) day 2, closed day 3, lost (censored at horizon).
        let obs = vec![(1, true), (2, false), (3, true), (60, false)];
        let curve = kaplan_meier(&obs, 60);
        // day 1: 1 of 4 at risk closes -> 0.25; day 3: 1 of 2 at risk closes -> 1 - 0.75*0.5.
        assert_eq!(curve[1], CurvePoint { day: 1, closed: 0.25, at_risk: 4 });
        assert_eq!(curve[2], CurvePoint { day: 3, closed: 0.625, at_risk: 2 });
        assert_eq!(curve.len(), 3);
    }
}
