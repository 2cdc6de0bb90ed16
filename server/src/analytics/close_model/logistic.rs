//! L2-regularised logistic regression on sparse rows, fitted by Newton's method (iteratively
//! reweighted least squares). A quote's row has a handful of non-zero features (an intercept, its
//! source, service, technician, option count, ticket size, days to the visit), so one pass over
//! a million rows builds the Hessian in a few dozen multiply-adds a row, and the model has a few
//! hundred weights at most: a dense Cholesky solve per step is cheap. No crate is used: the
//! candidates (linfa) bring ndarray and a BLAS choice for a few hundred lines' worth.

/// Training rows: row `i` is `idx[start[i]..start[i + 1]]` with `val[..]` alongside.
#[derive(Debug, Default, Clone)]
pub struct Rows {
    pub width: usize,
    start: Vec<usize>,
    idx: Vec<u32>,
    val: Vec<f64>,
    pub y: Vec<bool>,
}

impl Rows {
    pub fn new(width: usize) -> Self {
        Rows { width, start: vec![0], ..Rows::default() }
    }

    /// Adds a row: its non-zero features (each index below `width`, none twice) and its outcome.
    pub fn push(&mut self, features: &[(u32, f64)], won: bool) {
        for &(i, v) in features {
            debug_assert!((i as usize) < self.width);
            self.idx.push(i);
            self.val.push(v);
        }
        self.start.push(self.idx.len());
        self.y.push(won);
    }

    pub fn len(&self) -> usize {
        self.y.len()
    }

    pub fn is_empty(&self) -> bool {
        self.y.is_empty()
    }

    pub fn row(&self, i: usize) -> impl Iterator<Item = (usize, f64)> + '_ {
        let (a, b) = (self.start[i], self.start[i + 1]);
        self.idx[a..b].iter().map(|&j| j as usize).zip(self.val[a..b].iter().copied())
    }

    /// Rows `range` as their own set (the time-ordered split into training and held-out).
    pub fn slice(&self, range: std::ops::Range<usize>) -> Rows {
        let mut out = Rows::new(self.width);
        for i in range {
            let row: Vec<(u32, f64)> = self.row(i).map(|(j, v)| (j as u32, v)).collect();
            out.push(&row, self.y[i]);
        }
        out
    }
}

pub fn sigmoid(z: f64) -> f64 {
    1.0 / (1.0 + (-z).exp())
}

/// The weights that minimise the log loss plus `lambda / 2 · |w|²` (feature 0, the intercept,
/// is not penalised).
pub fn fit(rows: &Rows, lambda: f64) -> Vec<f64> {
    let p = rows.width;
    let mut w = vec![0.0; p];
    // Start the intercept at the base rate's log-odds: fewer steps, and a sure first step.
    let won = rows.y.iter().filter(|&&y| y).count() as f64;
    let n = rows.len() as f64;
    if n > 0.0 && won > 0.0 && won < n {
        w[0] = (won / (n - won)).ln();
    }
    for _ in 0..30 {
        let mut grad = vec![0.0; p];
        let mut hess = vec![0.0; p * p];
        for i in 0..rows.len() {
            let z: f64 = rows.row(i).map(|(j, v)| w[j] * v).sum();
            let prob = sigmoid(z);
            let r = prob - f64::from(u8::from(rows.y[i]));
            let weight = (prob * (1.0 - prob)).max(1e-12);
            for (a, va) in rows.row(i) {
                grad[a] += r * va;
                for (b, vb) in rows.row(i) {
                    hess[a * p + b] += weight * va * vb;
                }
            }
        }
        for j in 1..p {
            grad[j] += lambda * w[j];
            hess[j * p + j] += lambda;
        }
        // A feature no row has would leave a zero on the diagonal of an unpenalised fit.
        hess[0] += 1e-9;
        let Some(step) = solve(&mut hess, &grad, p) else { break };
        let mut largest: f64 = 0.0;
        for j in 0..p {
            w[j] -= step[j];
            largest = largest.max(step[j].abs());
        }
        if largest < 1e-7 {
            break;
        }
    }
    w
}

/// Solves `a · x = b` for a symmetric positive definite `a` (n × n, overwritten) by Cholesky;
/// None when it is not positive definite.
fn solve(a: &mut [f64], b: &[f64], n: usize) -> Option<Vec<f64>> {
    for j in 0..n {
        let mut d = a[j * n + j];
        for k in 0..j {
            d -= a[j * n + k] * a[j * n + k];
        }
        if d <= 0.0 || !d.is_finite() {
            return None;
        }
        let d = d.sqrt();
        a[j * n + j] = d;
        for i in j + 1..n {
            let mut s = a[i * n + j];
            for k in 0..j {
                s -= a[i * n + k] * a[j * n + k];
            }
            a[i * n + j] = s / d;
        }
    }
    let mut y = vec![0.0; n];
    for i in 0..n {
        let mut s = b[i];
        for k in 0..i {
            s -= a[i * n + k] * y[k];
        }
        y[i] = s / a[i * n + i];
    }
    let mut x = vec![0.0; n];
    for i in (0..n).rev() {
        let mut s = y[i];
        for k in i + 1..n {
            s -= a[k * n + i] * x[k];
        }
        x[i] = s / a[i * n + i];
    }
    Some(x)
}

/// The model's probability for row `i` of `rows`.
pub fn predict(w: &[f64], rows: &Rows, i: usize) -> f64 {
    sigmoid(rows.row(i).map(|(j, v)| w[j] * v).sum())
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{rngs::StdRng, Rng, SeedableRng};

    #[test]
    fn recovers_the_weights_that_made_the_data() {
        let truth = [-0.5, 1.2, -0.8];
        let mut rng = StdRng::seed_from_u64(1);
        let mut rows = Rows::new(3);
        for _ in 0..50_000 {
            let (a, b) = (rng.gen_range(-1.0..1.0), f64::from(u8::from(rng.gen_bool(0.5))));
            let p = sigmoid(truth[0] + truth[1] * a + truth[2] * b);
            rows.push(&[(0, 1.0), (1, a), (2, b)], rng.gen_bool(p));
        }
        let w = fit(&rows, 1e-6);
        for (got, want) in w.iter().zip(truth) {
            assert!((got - want).abs() < 0.06, "{w:?} against {truth:?}");
        }
    }

    #[test]
    fn the_penalty_pulls_weights_towards_zero_and_keeps_a_feature_no_row_has_at_zero() {
        let mut rows = Rows::new(3);
        for i in 0..200 {
            rows.push(&[(0, 1.0), (1, 1.0)], i % 4 == 0);
            rows.push(&[(0, 1.0)], i % 2 == 0);
        }
        let loose = fit(&rows, 1e-6);
        let tight = fit(&rows, 100.0);
        assert!(loose[1] < -0.5, "{loose:?}");
        assert!(tight[1].abs() < loose[1].abs());
        assert_eq!(loose[2], 0.0);
    }

    #[test]
    fn cholesky_solves_a_small_system() {
        let mut a = vec![4.0, 2.0, 2.0, 3.0];
        let x = solve(&mut a, &[2.0, 1.0], 2).unwrap();
        assert!((x[0] - 0.5).abs() < 1e-12 && x[1].abs() < 1e-12, "{x:?}");
        assert!(solve(&mut [0.0], &[1.0], 1).is_none());
    }
}
