//! The model against data whose true probabilities are known (issue 24's correctness bar).

use super::*;
use crate::analytics::facts::NONE;
use rand::{rngs::StdRng, Rng, SeedableRng};

/// `n` decided consultations, decided in index order, each won with a known probability: a
/// logistic function of the same kinds of facts the model reads (`signal` scales every effect;
/// 0 makes the outcome a coin with a 40% chance, whatever the facts).
fn world(n: usize, signal: f64, seed: u64) -> (Vec<DealFact>, Vec<f64>, Dictionary) {
    let mut rng = StdRng::seed_from_u64(seed);
    let names: Vec<String> = ["website", "referral", "google", "yard_sign", "hvac", "plumbing"]
        .iter()
        .map(|s| s.to_string())
        .chain((0..20).map(|t| format!("tech-{t}")))
        .collect();
    let dict = Dictionary::from_names(names);
    let source_effect = [0.0, 0.8, -0.3, -0.6];
    let service_effect = [0.2, -0.2];
    let tech_effect: Vec<f64> = (0..20).map(|_| rng.gen_range(-0.6..0.6)).collect();
    let option_effect = [-1.0, -0.2, 0.3, 0.7];
    let mut deals = vec![];
    let mut truth = vec![];
    for i in 0..n {
        let (source, service, tech) =
            (rng.gen_range(0..4usize), rng.gen_range(0..2usize), rng.gen_range(0..20usize));
        let options = rng.gen_range(0..4u8);
        let dollars: f64 = (rng.gen_range(7.6f64..10.0)).exp(); // about $2,000 to $22,000
        let days = rng.gen_range(0..20i64);
        let created = 1_700_000_000 + i as i64 * 600;
        let held = created + days * DAY + 3600;
        let logit = -0.4
            + signal
                * (source_effect[source]
                    + service_effect[service]
                    + tech_effect[tech]
                    + option_effect[options as usize]
                    - 0.5 * ((1.0 + dollars).ln() - 8.8)
                    - 0.4 * ((1.0 + (held - created) as f64 / DAY as f64).ln() - 2.0));
        let p = sigmoid(logit);
        let won = rng.gen_bool(p);
        truth.push(p);
        deals.push(DealFact {
            lead_created: created,
            source: source as u32,
            campaign: NONE,
            service: 4 + service as u32,
            technician: 6 + tech as u32,
            held: Some(held),
            presented: Some(held + 1800),
            options_presented: options,
            quoted_cents: (dollars * 100.0) as i64,
            outcome: if won { Outcome::Won } else { Outcome::Lost },
            decided: Some(1_800_000_000 + i as i64 * 60),
            amount_cents: (dollars * 100.0) as i64,
            closer: 6,
            tier: NONE,
            reason: NONE,
            same_day: false,
            reopened: false,
            last_activity: held + 7200,
            financing: false,
            first_visit: true,
            checklist: 0,
            dead: false,
        });
    }
    (deals, truth, dict)
}

#[test]
fn on_data_with_known_probabilities_it_ranks_as_well_as_the_truth_and_is_calibrated() {
    let n = 200_000;
    let (deals, truth, dict) = world(n, 1.0, 7);
    let model = CloseModel::train(&Examples { deals: &deals, dict: &dict });
    let card = &model.card;
    assert!(card.uses_model, "{:?}", card.reason);
    let held = card.held_out.as_ref().unwrap();
    // The newest fifth, as the model was judged on: the true probabilities' AUC there.
    let cut = n * 4 / 5;
    let true_scored: Vec<(f64, bool)> =
        (cut..n).map(|i| (truth[i], deals[i].outcome == Outcome::Won)).collect();
    let true_auc = auc(&true_scored).unwrap();
    assert!((held.auc - true_auc).abs() <= 0.02, "model AUC {:.4}, truth {true_auc:.4}", held.auc);
    assert!(held.brier < held.base_brier);
    assert_eq!(card.calibration.len(), 10);
    for (k, d) in card.calibration.iter().enumerate() {
        assert!(d.n >= 100);
        assert!(
            (d.predicted - d.observed).abs() <= 0.03,
            "decile {k}: predicted {:.3}, observed {:.3} (n {})",
            d.predicted,
            d.observed,
            d.n
        );
    }
}

#[test]
fn on_pure_noise_it_falls_back_to_the_base_rate_and_says_why() {
    let (deals, _, dict) = world(20_000, 0.0, 11);
    let model = CloseModel::train(&Examples { deals: &deals, dict: &dict });
    assert!(!model.card.uses_model);
    assert!(
        model.card.reason.as_deref().unwrap().contains("no better than the base rate"),
        "{:?}",
        model.card.reason
    );
    let (p, factors) = model.score(&deals[0], &|_| String::new());
    assert_eq!(p, model.card.base_rate);
    assert!(factors.is_empty());
    assert!((model.card.base_rate - 0.4).abs() < 0.02);
}

#[test]
fn too_few_decisions_get_the_base_rate() {
    let (deals, _, dict) = world(MIN_DECIDED - 1, 1.0, 3);
    let model = CloseModel::train(&Examples { deals: &deals, dict: &dict });
    assert!(!model.card.uses_model);
    assert!(model.card.reason.as_deref().unwrap().contains(&format!("needs {MIN_DECIDED}")));
    assert!(model.card.held_out.is_none());
}

#[test]
fn a_score_explains_itself_in_words_with_the_biggest_factors_first() {
    let (deals, _, dict) = world(20_000, 1.0, 5);
    let model = CloseModel::train(&Examples { deals: &deals, dict: &dict });
    assert!(model.card.uses_model, "{:?}", model.card.reason);
    let name = |id: u32| dict.name(id).to_string();
    // A referral (the best source) with 3 options presented, against one with none.
    let mut good = deals[0].clone();
    (good.source, good.options_presented) = (1, 3);
    let mut bad = good.clone();
    (bad.source, bad.options_presented) = (3, 0);
    let (p_good, factors) = model.score(&good, &name);
    let (p_bad, bad_factors) = model.score(&bad, &name);
    assert!(p_good > p_bad + 0.2, "{p_good} against {p_bad}");
    assert!(factors.len() <= 3 && !factors.is_empty());
    assert!(factors.windows(2).all(|w| w[0].points.abs() >= w[1].points.abs()));
    assert!(factors.iter().any(|f| f.label == "Lead source referral" && f.points > 0), "{factors:?}");
    assert!(bad_factors.iter().any(|f| f.label == "No options presented" && f.points < 0), "{bad_factors:?}");
}
