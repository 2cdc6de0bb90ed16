//! How good a set of probabilities is against what happened (docs/metrics.md, "Close
//! probability"): the area under the ROC curve with its standard error, the Brier score, and a
//! calibration table by deciles of predicted probability.

use serde::Serialize;

/// The AUC: the chance that a random won quote scored above a random lost one (ties count half),
/// by ranks (Mann–Whitney). None without both outcomes.
pub fn auc(scored: &[(f64, bool)]) -> Option<f64> {
    let won = scored.iter().filter(|s| s.1).count();
    let lost = scored.len() - won;
    if won == 0 || lost == 0 {
        return None;
    }
    let mut sorted: Vec<(f64, bool)> = scored.to_vec();
    sorted.sort_by(|a, b| a.0.total_cmp(&b.0));
    // Sum of the won quotes' ranks (1-based, ties at their mean rank).
    let mut rank_sum = 0.0;
    let mut i = 0;
    while i < sorted.len() {
        let mut j = i;
        while j < sorted.len() && sorted[j].0 == sorted[i].0 {
            j += 1;
        }
        let mean_rank = (i + 1 + j) as f64 / 2.0;
        rank_sum += mean_rank * sorted[i..j].iter().filter(|s| s.1).count() as f64;
        i = j;
    }
    let (won, lost) = (won as f64, lost as f64);
    Some((rank_sum - won * (won + 1.0) / 2.0) / (won * lost))
}

/// The AUC's standard error (Hanley and McNeil, 1982).
pub fn auc_se(auc: f64, won: usize, lost: usize) -> f64 {
    let (n1, n0) = (won as f64, lost as f64);
    let q1 = auc / (2.0 - auc);
    let q2 = 2.0 * auc * auc / (1.0 + auc);
    ((auc * (1.0 - auc) + (n1 - 1.0) * (q1 - auc * auc) + (n0 - 1.0) * (q2 - auc * auc)) / (n1 * n0))
        .max(0.0)
        .sqrt()
}

/// The mean squared difference between probability and outcome (0 is perfect).
pub fn brier(scored: &[(f64, bool)]) -> f64 {
    if scored.is_empty() {
        return 0.0;
    }
    scored.iter().map(|&(p, y)| (p - f64::from(u8::from(y))).powi(2)).sum::<f64>() / scored.len() as f64
}

/// One tenth of the held-out quotes, by predicted probability.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Decile {
    pub n: u64,
    /// The mean predicted probability.
    pub predicted: f64,
    /// The share that was won.
    pub observed: f64,
}

/// Ten groups of (nearly) equal size in order of predicted probability.
pub fn calibration(scored: &[(f64, bool)]) -> Vec<Decile> {
    let mut sorted: Vec<(f64, bool)> = scored.to_vec();
    sorted.sort_by(|a, b| a.0.total_cmp(&b.0));
    let n = sorted.len();
    (0..10)
        .map(|k| &sorted[k * n / 10..(k + 1) * n / 10])
        .filter(|group| !group.is_empty())
        .map(|group| Decile {
            n: group.len() as u64,
            predicted: group.iter().map(|s| s.0).sum::<f64>() / group.len() as f64,
            observed: group.iter().filter(|s| s.1).count() as f64 / group.len() as f64,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auc_is_one_for_a_perfect_order_a_half_for_ties_and_counts_ties_half() {
        assert_eq!(auc(&[(0.1, false), (0.2, false), (0.8, true), (0.9, true)]), Some(1.0));
        assert_eq!(auc(&[(0.5, false), (0.5, true)]), Some(0.5));
        // Won at 0.6 beats lost 0.2 and ties lost 0.6: (1 + 0.5) / 2.
        assert_eq!(auc(&[(0.2, false), (0.6, false), (0.6, true)]), Some(0.75));
        assert_eq!(auc(&[(0.2, true)]), None);
    }

    #[test]
    fn brier_and_deciles() {
        assert_eq!(brier(&[(1.0, true), (0.0, false)]), 0.0);
        assert!((brier(&[(0.5, true), (0.5, false)]) - 0.25).abs() < 1e-12);
        let scored: Vec<(f64, bool)> = (0..100).map(|i| (i as f64 / 100.0, i % 2 == 0)).collect();
        let table = calibration(&scored);
        assert_eq!(table.len(), 10);
        assert!(table.iter().all(|d| d.n == 10 && d.observed == 0.5));
        assert!((table[9].predicted - 0.945).abs() < 1e-9);
        assert!(auc_se(0.8, 50, 50) > 0.0);
    }
}
