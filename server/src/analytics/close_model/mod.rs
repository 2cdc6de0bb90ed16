//! Close probability for open quotes (docs/metrics.md, "Close probability"; issue 24): a
//! per-company logistic regression over what the company's decided consultations show: lead
//! source, service type, technician, options presented, ticket size, days from lead to visit,
//! financing offered, first visit or return, and checklist steps done. Not the days since the
//! visit nor the contacts so far: a decided quote's age and contacts are fixed by its decision (a
//! yes on the spot is young and was never called back), so an open quote's would be read against
//! the answers' and a quote not yet called would look like a sale on the spot.
//!
//! It earns its place or steps aside: it is fitted on the oldest 80% of decided consultations
//! by decision date and judged on the newest 20% (never a random split, which would let it see
//! the future), and it is used only when that held-out set shows it ranks quotes better than
//! chance (AUC above 0.5 by two standard errors) and predicts better than the base rate (a lower
//! Brier score). Otherwise, and below [`MIN_DECIDED`] decisions, every quote gets the base rate,
//! and the card says why. Each score comes with its main factors in plain words.

pub mod evaluate;
pub mod logistic;
pub mod page;
pub mod route;

use super::facts::{DealFact, Dictionary, Outcome, Secs, DAY};
use evaluate::{auc, auc_se, brier, calibration, Decile};
use logistic::{fit, sigmoid, Rows};
use serde::Serialize;
use std::collections::HashMap;

/// Fewer decided consultations than this: the base rate, not a model.
pub const MIN_DECIDED: usize = 300;
/// A source, service or technician with fewer decided consultations than this in the training
/// set gets no weight of its own (it counts as "other").
const MIN_LEVEL: usize = 30;
/// The L2 penalty: enough to keep a technician with 30 quotes from a wild weight.
const LAMBDA: f64 = 2.0;

/// What a model is built from: the company's consultations as facts, with the dictionary that
/// names their sources, services and people.
pub struct Examples<'a> {
    pub deals: &'a [DealFact],
    pub dict: &'a Dictionary,
}

/// The held-out check of the model.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct HeldOut {
    /// Decided consultations held out (the newest 20% by decision date).
    pub n: u64,
    pub won: u64,
    pub auc: f64,
    pub auc_se: f64,
    pub brier: f64,
    /// The Brier score of giving every quote the training set's base rate.
    pub base_brier: f64,
}

/// What a manager is shown about the model: whether it is used, and the evidence.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct ModelCard {
    /// True when scores come from the model; false when every quote gets the base rate.
    pub uses_model: bool,
    /// Why the base rate is used (None when the model is).
    pub reason: Option<String>,
    /// Decided consultations (won or lost) the model had to learn from.
    pub decided: u64,
    /// The share of them that were won.
    pub base_rate: f64,
    pub held_out: Option<HeldOut>,
    pub calibration: Vec<Decile>,
}

/// A reason a quote's probability is above or below the average one, in probability points.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Factor {
    pub label: String,
    pub points: i32,
}

/// The trained model of one company (or its base rate).
pub struct CloseModel {
    pub card: ModelCard,
    fitted: Option<Fitted>,
}

struct Fitted {
    encoder: Encoder,
    weights: Vec<f64>,
    /// Each family's part of the average training quote's log-odds (Σ weight × mean value over
    /// its features): factors are measured from the average quote.
    baseline: Vec<(Family, f64)>,
}

/// The groups of features a factor speaks of.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Family {
    Intercept,
    Source,
    Service,
    Technician,
    Options,
    Ticket,
    DaysToVisit,
    NoVisit,
    Financing,
    ReturnVisit,
    Checklist,
}

/// Turns a consultation's facts into a sparse row of features.
struct Encoder {
    families: Vec<Family>,
    source: HashMap<u32, u32>,
    service: HashMap<u32, u32>,
    technician: HashMap<u32, u32>,
    /// First of four: no option presented, one, two, three or more.
    options: u32,
    ticket: (u32, f64, f64),
    days: (u32, f64, f64),
    no_visit: u32,
    financing: u32,
    return_visit: u32,
    checklist: (u32, f64, f64),
}

fn checklist_done(d: &DealFact) -> f64 {
    f64::from(d.checklist.count_ones())
}

fn ticket(d: &DealFact) -> f64 {
    (1.0 + d.quoted_cents.max(0) as f64 / 100.0).ln()
}

/// Days from the lead to the visit, log-scaled; None without a recorded visit.
fn days_to_visit(d: &DealFact) -> Option<f64> {
    d.held.map(|h| (1.0 + (h - d.lead_created).max(0) as f64 / DAY as f64).ln())
}

fn mean_sd(values: impl Iterator<Item = f64>) -> (f64, f64) {
    let (mut n, mut sum, mut sq) = (0.0, 0.0, 0.0);
    for v in values {
        n += 1.0;
        sum += v;
        sq += v * v;
    }
    if n == 0.0 {
        return (0.0, 1.0);
    }
    let mean = sum / n;
    let sd = (sq / n - mean * mean).max(0.0).sqrt();
    (mean, if sd > 1e-9 { sd } else { 1.0 })
}

impl Encoder {
    fn new(train: &[&DealFact]) -> Encoder {
        let mut families = vec![Family::Intercept];
        let mut levels = |family: Family, key: fn(&DealFact) -> u32| {
            let mut counts: HashMap<u32, usize> = HashMap::new();
            for d in train {
                *counts.entry(key(d)).or_default() += 1;
            }
            let mut kept: Vec<u32> =
                counts.into_iter().filter(|&(_, n)| n >= MIN_LEVEL).map(|(k, _)| k).collect();
            kept.sort_unstable();
            kept.into_iter()
                .map(|k| {
                    families.push(family);
                    (k, families.len() as u32 - 1)
                })
                .collect::<HashMap<u32, u32>>()
        };
        let source = levels(Family::Source, |d| d.source);
        let service = levels(Family::Service, |d| d.service);
        let technician = levels(Family::Technician, |d| d.technician);
        let options = families.len() as u32;
        families.extend([Family::Options; 4]);
        let (tm, ts) = mean_sd(train.iter().map(|d| ticket(d)));
        families.push(Family::Ticket);
        let ticket = (families.len() as u32 - 1, tm, ts);
        let (dm, ds) = mean_sd(train.iter().filter_map(|d| days_to_visit(d)));
        families.push(Family::DaysToVisit);
        let days = (families.len() as u32 - 1, dm, ds);
        families.push(Family::NoVisit);
        let no_visit = families.len() as u32 - 1;
        families.push(Family::Financing);
        let financing = families.len() as u32 - 1;
        families.push(Family::ReturnVisit);
        let return_visit = families.len() as u32 - 1;
        let (cm, cs) = mean_sd(train.iter().map(|d| checklist_done(d)));
        families.push(Family::Checklist);
        let checklist = (families.len() as u32 - 1, cm, cs);
        Encoder {
            families,
            source,
            service,
            technician,
            options,
            ticket,
            days,
            no_visit,
            financing,
            return_visit,
            checklist,
        }
    }

    fn width(&self) -> usize {
        self.families.len()
    }

    fn row(&self, d: &DealFact) -> Vec<(u32, f64)> {
        let mut row = vec![(0, 1.0)];
        for (map, key) in
            [(&self.source, d.source), (&self.service, d.service), (&self.technician, d.technician)]
        {
            if let Some(&i) = map.get(&key) {
                row.push((i, 1.0));
            }
        }
        row.push((self.options + u32::from(d.options_presented.min(3)), 1.0));
        row.push((self.ticket.0, (ticket(d) - self.ticket.1) / self.ticket.2));
        match days_to_visit(d) {
            Some(v) => row.push((self.days.0, (v - self.days.1) / self.days.2)),
            None => row.push((self.no_visit, 1.0)),
        }
        if d.financing {
            row.push((self.financing, 1.0));
        }
        if d.held.is_some() && !d.first_visit {
            row.push((self.return_visit, 1.0));
        }
        row.push((self.checklist.0, (checklist_done(d) - self.checklist.1) / self.checklist.2));
        row
    }
}

/// Decided consultations (won or lost, with a decision date), oldest decision first.
fn decided(deals: &[DealFact]) -> Vec<&DealFact> {
    let mut decided: Vec<&DealFact> = deals
        .iter()
        .filter(|d| !d.dead && matches!(d.outcome, Outcome::Won | Outcome::Lost) && d.decided.is_some())
        .collect();
    decided.sort_by_key(|d| d.decided);
    decided
}

fn rows_of(encoder: &Encoder, deals: &[&DealFact]) -> Rows {
    let mut rows = Rows::new(encoder.width());
    for d in deals {
        rows.push(&encoder.row(d), d.outcome == Outcome::Won);
    }
    rows
}

fn fitted(deals: &[&DealFact]) -> Fitted {
    let encoder = Encoder::new(deals);
    let rows = rows_of(&encoder, deals);
    let weights = fit(&rows, LAMBDA);
    let mut means = vec![0.0; encoder.width()];
    for i in 0..rows.len() {
        for (j, v) in rows.row(i) {
            means[j] += v;
        }
    }
    means.iter_mut().for_each(|m| *m /= rows.len().max(1) as f64);
    let mut baseline: Vec<(Family, f64)> = vec![];
    for (j, &family) in encoder.families.iter().enumerate().skip(1) {
        let c = weights[j] * means[j];
        match baseline.iter_mut().find(|(f, _)| *f == family) {
            Some(part) => part.1 += c,
            None => baseline.push((family, c)),
        }
    }
    Fitted { encoder, weights, baseline }
}

impl Fitted {
    fn logit(&self, row: &[(u32, f64)]) -> f64 {
        row.iter().map(|&(j, v)| self.weights[j as usize] * v).sum()
    }
}

impl CloseModel {
    /// Trains on the company's decided consultations and decides whether the model is used.
    pub fn train(examples: &Examples) -> CloseModel {
        let decided = decided(examples.deals);
        let won = decided.iter().filter(|d| d.outcome == Outcome::Won).count();
        let base_rate = if decided.is_empty() { 0.0 } else { won as f64 / decided.len() as f64 };
        let mut card = ModelCard {
            uses_model: false,
            reason: None,
            decided: decided.len() as u64,
            base_rate,
            held_out: None,
            calibration: vec![],
        };
        if decided.len() < MIN_DECIDED {
            card.reason = Some(format!(
                "{} decided consultations so far; the model needs {MIN_DECIDED} to learn from",
                decided.len()
            ));
            return CloseModel { card, fitted: None };
        }
        let cut = decided.len() * 4 / 5;
        let (train, test) = decided.split_at(cut);
        let model = fitted(train);
        let train_base =
            train.iter().filter(|d| d.outcome == Outcome::Won).count() as f64 / train.len() as f64;
        let scored: Vec<(f64, bool)> = test
            .iter()
            .map(|d| (sigmoid(model.logit(&model.encoder.row(d))), d.outcome == Outcome::Won))
            .collect();
        let test_won = scored.iter().filter(|s| s.1).count();
        let base: Vec<(f64, bool)> = scored.iter().map(|&(_, y)| (train_base, y)).collect();
        card.calibration = calibration(&scored);
        let (model_brier, base_brier) = (brier(&scored), brier(&base));
        let Some(area) = auc(&scored) else {
            card.reason =
                Some("the newest decisions were all won or all lost: nothing to judge a model on".into());
            return CloseModel { card, fitted: None };
        };
        let se = auc_se(area, test_won, scored.len() - test_won);
        card.held_out = Some(HeldOut {
            n: scored.len() as u64,
            won: test_won as u64,
            auc: area,
            auc_se: se,
            brier: model_brier,
            base_brier,
        });
        if area - 2.0 * se <= 0.5 || model_brier >= base_brier {
            card.reason = Some(format!(
                "on the newest {} decisions the model was no better than the base rate \
                 (AUC {area:.3} ± {:.3}, Brier {model_brier:.4} against {base_brier:.4})",
                scored.len(),
                2.0 * se
            ));
            return CloseModel { card, fitted: None };
        }
        card.uses_model = true;
        // Judged on the newest fifth; used as fitted on every decision.
        CloseModel { card, fitted: Some(fitted(&decided)) }
    }

    /// The probability that this quote is won: the model's, or the base rate.
    pub fn probability(&self, d: &DealFact) -> f64 {
        match &self.fitted {
            Some(m) => sigmoid(m.logit(&m.encoder.row(d))),
            None => self.card.base_rate,
        }
    }

    /// Why this quote's probability differs from the average quote's: up to three factors (the
    /// largest, at least one point each); none on the base rate. `name` gives a dictionary id's
    /// display name.
    pub fn explain(&self, d: &DealFact, name: &dyn Fn(u32) -> String) -> Vec<Factor> {
        let Some(m) = &self.fitted else { return vec![] };
        let row = m.encoder.row(d);
        let z = m.logit(&row);
        let p = sigmoid(z);
        // Each family's part of the log-odds, measured from the average training quote:
        // Σ weight × value over its features in this row, less its part of the average.
        let mut parts = m.baseline.clone();
        parts.iter_mut().for_each(|(_, c)| *c = -*c);
        for &(j, v) in &row {
            let family = m.encoder.families[j as usize];
            if let Some(part) = parts.iter_mut().find(|(f, _)| *f == family) {
                part.1 += m.weights[j as usize] * v;
            }
        }
        let mut factors: Vec<Factor> = parts
            .into_iter()
            .map(|(family, c)| (family, (100.0 * (p - sigmoid(z - c))).round() as i32))
            .filter(|&(_, points)| points != 0)
            .map(|(family, points)| Factor { label: label(family, d, name), points })
            .collect();
        factors.sort_by_key(|f| std::cmp::Reverse(f.points.abs()));
        factors.truncate(3);
        factors
    }

    /// The probability and its factors (see [`CloseModel::explain`]).
    pub fn score(&self, d: &DealFact, name: &dyn Fn(u32) -> String) -> (f64, Vec<Factor>) {
        (self.probability(d), self.explain(d, name))
    }
}

/// A factor in words: what about this quote the points are for.
fn label(family: Family, d: &DealFact, name: &dyn Fn(u32) -> String) -> String {
    match family {
        Family::Intercept => "the company's base rate".into(),
        Family::Source => format!("Lead source {}", name(d.source)),
        Family::Service => format!("Service {}", name(d.service)),
        Family::Technician => format!("Technician {}", name(d.technician)),
        Family::Options => match d.options_presented {
            0 => "No options presented".into(),
            1 => "1 option presented".into(),
            n => format!("{n} options presented"),
        },
        Family::Ticket => format!("Quoted ${}", d.quoted_cents / 100),
        Family::DaysToVisit => match d.held.map(|h| (h - d.lead_created).max(0) / DAY) {
            Some(0) => "Visited the day the lead came in".into(),
            Some(1) => "Visited 1 day after the lead".into(),
            Some(n) => format!("Visited {n} days after the lead"),
            None => "No visit recorded".into(),
        },
        Family::Financing => "Financing offered".into(),
        Family::ReturnVisit => "A return visit".into(),
        Family::Checklist => match d.checklist.count_ones() {
            1 => "1 checklist step done".into(),
            n => format!("{n} checklist steps done"),
        },
        Family::NoVisit => "No visit recorded".into(),
    }
}

/// Days a quote has been open: since its presentation, else its visit, else its lead.
pub fn days_open(d: &DealFact, now: Secs) -> i64 {
    (now - d.presented.or(d.held).unwrap_or(d.lead_created)).max(0) / DAY
}

#[cfg(test)]
mod tests;
