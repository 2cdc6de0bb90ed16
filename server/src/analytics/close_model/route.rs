//! `GET /api/analytics/close-model`: the model's card (is it used, and the held-out evidence)
//! and the open quotes by expected value. Managers only, the caller's company only.

use super::{days_open, CloseModel, Examples, Factor, ModelCard};
use crate::{
    analytics::{
        facts::{secs, DealFact, Kind, Outcome},
        load::Slot,
        report::{Context, Filter},
        routes::{load_settings, names},
    },
    auth::CurrentUser,
    error::{ApiError, ApiJson},
    state::AppState,
};
use app::domain::Role;
use axum::extract::State;
use chrono::Utc;
use serde::Serialize;
use std::{sync::Arc, time::Duration};
use uuid::Uuid;

/// A company's model is trained again (in the background, the kept one serving meanwhile) when
/// its facts moved on and it is older than this.
pub const RETRAIN_AFTER: Duration = Duration::from_secs(3600);

/// How many of the open quotes the page lists (all of them count in the pipeline).
const LISTED: usize = 100;

/// An open quote as the model sees it.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct ScoredQuote {
    pub consultation_id: Uuid,
    /// The chance it is won, 0 to 1.
    pub probability: f64,
    pub quoted_cents: i64,
    /// probability × quoted.
    pub expected_cents: i64,
    pub days_open: i64,
    /// The technician who ran the consultation.
    pub technician: String,
    /// Why its probability is above or below the average quote's (empty on the base rate).
    pub factors: Vec<Factor>,
}

#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct CloseModelPage {
    pub card: ModelCard,
    /// Which model produced the scores (see [`Kept::label`]).
    pub model_version: String,
    /// Open quotes (held or presented, undecided, not yet stale).
    pub open_quotes: u64,
    /// Σ probability × quoted over every open quote.
    pub pipeline_cents: i64,
    /// The open quotes with the largest expected value first (at most 100).
    pub top: Vec<ScoredQuote>,
}

/// A model kept with the facts it was trained on.
pub struct Kept {
    pub model: Arc<CloseModel>,
    version: i64,
    trained: std::time::Instant,
    trained_at: chrono::DateTime<Utc>,
    /// A newer one is being trained in the background.
    retraining: bool,
}

impl Kept {
    fn new(model: CloseModel, version: i64) -> Kept {
        Kept {
            model: Arc::new(model),
            version,
            trained: std::time::Instant::now(),
            trained_at: Utc::now(),
            retraining: false,
        }
    }

    /// What the pages and the rep's queue name the scores by: when it was trained, from which
    /// facts (the company version), and whether it is the model or the base rate.
    pub fn label(&self) -> String {
        let what = if self.model.card.uses_model { "close model" } else { "base rate" };
        format!("{what} of {} UTC (v{})", self.trained_at.format("%Y-%m-%d %H:%M"), self.version)
    }

    /// The facts moved on since it was trained, an hour ago or more, and no retraining is under way.
    fn due(&self, version: i64) -> bool {
        !self.retraining && self.version != version && self.trained.elapsed() >= RETRAIN_AFTER
    }
}

/// Trains the company's model again from a copy of its facts, off the request path (on the
/// blocking pool, with the facts unlocked), and keeps it if the facts it came from are still
/// the ones held.
fn retrain(state: &AppState, company: Uuid, slot: &mut Slot) {
    let Some(held) = state.analytics.slot(company) else { return };
    if let Some(kept) = &mut slot.model {
        kept.retraining = true;
    }
    let (deals, dict, version, instance) =
        (slot.facts.deals.clone(), slot.facts.dict.clone(), slot.facts.version, slot.instance);
    tokio::spawn(async move {
        let trained =
            tokio::task::spawn_blocking(move || CloseModel::train(&Examples { deals: &deals, dict: &dict }));
        let model = trained.await;
        let mut guard = held.lock().await;
        let Some(slot) = guard.as_mut().filter(|s| s.instance == instance) else { return };
        match model {
            Ok(model) => slot.model = Some(Kept::new(model, version)),
            Err(error) => {
                tracing::warn!(%company, %error, "close model retraining failed; the kept model stays");
                if let Some(kept) = &mut slot.model {
                    kept.retraining = false;
                }
            }
        }
    });
}

/// `GET /api/analytics/close-model`
#[utoipa::path(get, path = "/analytics/close-model", tag = "analytics",
    responses((status = 200, body = CloseModelPage), (status = 403, body = app::api::ErrorBody)))]
pub async fn get_close_model(
    State(state): State<AppState>,
    user: CurrentUser,
) -> Result<ApiJson<CloseModelPage>, ApiError> {
    Ok(ApiJson(close_model_page(&state, &user).await?))
}

/// Runs `f` over the company's facts and its kept model (trained first if there is none; retrained
/// in the background when due), on the blocking pool: a first training over a large company is
/// seconds of CPU.
async fn with_model<T: Send + 'static>(
    state: &AppState,
    company: Uuid,
    f: impl FnOnce(&Context, &Kept) -> T + Send + 'static,
) -> Result<T, ApiError> {
    let settings = load_settings(&state.pool, company).await?;
    let mut guard = state.analytics.fresh(&state.pool, &state.clock, company).await?;
    {
        let slot = guard.as_mut().expect("fresh fills the slot");
        if slot.model.as_ref().is_some_and(|kept| kept.due(slot.facts.version)) {
            // This request uses the kept model; the next ones get the new one.
            retrain(state, company, slot);
        }
    }
    tokio::task::spawn_blocking(move || {
        let slot = guard.as_mut().expect("fresh fills the slot");
        if slot.model.is_none() {
            let facts = &slot.facts;
            let model = CloseModel::train(&Examples { deals: &facts.deals, dict: &facts.dict });
            slot.model = Some(Kept::new(model, facts.version));
        }
        let kept = slot.model.as_ref().expect("just trained");
        // Whether a quote has gone stale (and so counts as lost) is the reports' rule.
        let cx = Context::new(&slot.facts, &settings, slot.tz, secs(Utc::now()), &Filter::default());
        f(&cx, kept)
    })
    .await
    .map_err(ApiError::internal)
}

/// An open quote: held or presented, undecided, not stale (the reports' rule).
fn is_open(cx: &Context, d: &DealFact) -> bool {
    !d.dead && (d.held.is_some() || d.presented.is_some()) && cx.see(d).outcome == Outcome::Open
}

/// The open quotes, with their positions.
fn open_quotes<'a>(cx: &'a Context<'a>) -> impl Iterator<Item = (usize, &'a DealFact)> + 'a {
    cx.facts.deals.iter().enumerate().filter(move |(_, d)| is_open(cx, d))
}

/// The card and the open quotes scored, for the JSON route and the page (`super::page`).
pub async fn close_model_page(state: &AppState, user: &CurrentUser) -> Result<CloseModelPage, ApiError> {
    user.require(Role::Manager, "Only managers can see the company's numbers.")?;
    let company = user.company_id();
    let people = names(&state.pool, company).await?;
    with_model(state, company, move |cx, kept| {
        let (facts, model, now) = (cx.facts, &kept.model, cx.now);
        let name = |id: u32| {
            let key = facts.dict.name(id);
            people.get(key).cloned().unwrap_or_else(|| key.to_string())
        };
        let ids = facts.ids(Kind::Deals);
        let mut scored: Vec<(ScoredQuote, &DealFact)> = open_quotes(cx)
            .map(|(i, d)| {
                let probability = model.probability(d);
                let quote = ScoredQuote {
                    consultation_id: ids[i],
                    probability,
                    quoted_cents: d.quoted_cents,
                    expected_cents: (probability * d.quoted_cents as f64).round() as i64,
                    days_open: days_open(d, now),
                    technician: String::new(),
                    factors: vec![],
                };
                (quote, d)
            })
            .collect();
        // Expected value first; between equals, the older quote (it has waited longer).
        scored.sort_by(|(a, _), (b, _)| {
            b.expected_cents.cmp(&a.expected_cents).then(b.days_open.cmp(&a.days_open))
        });
        let pipeline_cents = scored.iter().map(|(q, _)| q.expected_cents).sum();
        let open_quotes = scored.len() as u64;
        scored.truncate(LISTED);
        // Words only for the quotes listed.
        let scored: Vec<ScoredQuote> = scored
            .into_iter()
            .map(|(q, d)| ScoredQuote {
                technician: name(d.technician),
                factors: model.explain(d, &name),
                ..q
            })
            .collect();
        CloseModelPage {
            card: model.card.clone(),
            model_version: kept.label(),
            open_quotes,
            pipeline_cents,
            top: scored,
        }
    })
    .await
}

/// The pipeline as the model values it: Σ probability × quoted over the open quotes, their count,
/// and the model's label (the reports page shows it beside the base rate's).
pub async fn pipeline(state: &AppState, company: Uuid) -> Result<(i64, u64, String), ApiError> {
    with_model(state, company, |cx, kept| {
        let (mut cents, mut n) = (0, 0);
        for (_, d) in open_quotes(cx) {
            cents += (kept.model.probability(d) * d.quoted_cents as f64).round() as i64;
            n += 1;
        }
        (cents, n, kept.label())
    })
    .await
}

/// `GET /api/quote-scores` — each open quote the caller may see (a manager: the company's; anyone
/// else: the ones synced to them) with its chance of being won, and which model gave it. The
/// rep's queue orders by probability × amount with it while online (its own close rates
/// otherwise).
#[utoipa::path(get, path = "/quote-scores", tag = "quotes",
    responses((status = 200, body = app::api::QuoteScores), (status = 401, body = app::api::ErrorBody)))]
pub async fn get_quote_scores(
    State(state): State<AppState>,
    user: CurrentUser,
) -> Result<ApiJson<app::api::QuoteScores>, ApiError> {
    let company = user.company_id();
    // The quotes a non-manager's device holds: the scope sync gives them.
    let visible: Option<Vec<Uuid>> = if user.role() == Role::Manager {
        None
    } else {
        let rows = sqlx::query_scalar!(
            "select id from consultations where company_id = $1 and $2 = any(scope_users) and not deleted",
            company,
            user.user_id()
        )
        .fetch_all(&state.pool)
        .await?;
        Some(rows)
    };
    let scores = with_model(&state, company, move |cx, kept| {
        let score = |id: Uuid, d: &DealFact| app::api::QuoteScore {
            consultation_id: id,
            probability: kept.model.probability(d),
        };
        let mut scores: Vec<app::api::QuoteScore> = match visible {
            // A person's few quotes, found by id: a rep's queue never walks the company's facts.
            Some(visible) => visible
                .into_iter()
                .filter_map(|id| Some((id, &cx.facts.deals[cx.facts.deal_position(&id)?])))
                .filter(|(_, d)| is_open(cx, d))
                .map(|(id, d)| score(id, d))
                .collect(),
            None => {
                let ids = cx.facts.ids(Kind::Deals);
                open_quotes(cx).map(|(i, d)| score(ids[i], d)).collect()
            }
        };
        scores.sort_by_key(|s| s.consultation_id);
        app::api::QuoteScores {
            model_version: kept.label(),
            uses_model: kept.model.card.uses_model,
            base_rate: kept.model.card.base_rate,
            scores,
        }
    })
    .await?;
    Ok(ApiJson(scores))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_kept_model_is_retrained_once_the_facts_moved_on_and_it_is_an_hour_old() {
        let model = || CloseModel::train(&Examples { deals: &[], dict: &Default::default() });
        let young = Kept::new(model(), 7);
        assert!(!young.due(7) && !young.due(8), "an hour has not passed");
        let Some(an_hour_ago) = std::time::Instant::now().checked_sub(RETRAIN_AFTER * 2) else { return };
        let mut old = Kept { trained: an_hour_ago, ..Kept::new(model(), 7) };
        assert!(!old.due(7), "the facts have not moved on");
        assert!(old.due(8));
        old.retraining = true;
        assert!(!old.due(8), "one retraining at a time");
    }
}
