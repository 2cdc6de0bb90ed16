//! `GET /api/analytics/close-model`: the model's card (is it used, and the held-out evidence)
//! and the open quotes by expected value. Managers only, the caller's company only.

use super::{days_open, CloseModel, Examples, Factor, ModelCard};
use crate::{
    analytics::{
        facts::{secs, Kind, Outcome, Secs, DAY},
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

/// A company's model is trained again when its facts moved on and it is older than this.
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

/// The card and the open quotes scored, for the JSON route and the page (`super::page`).
pub async fn close_model_page(state: &AppState, user: &CurrentUser) -> Result<CloseModelPage, ApiError> {
    user.require(Role::Manager, "Only managers can see the company's numbers.")?;
    let company = user.company_id();
    let settings = load_settings(&state.pool, company).await?;
    let people = names(&state.pool, company).await?;
    let mut guard = state.analytics.fresh(&state.pool, &state.clock, company).await?;
    // On the blocking pool: training over a large company is seconds of CPU.
    let page = tokio::task::spawn_blocking(move || {
        let slot = guard.as_mut().expect("fresh fills the slot");
        let facts = &slot.facts;
        let stale = Secs::from(settings.stale_days) * DAY;
        let model = match &slot.model {
            Some(kept) if kept.version == facts.version || kept.trained.elapsed() < RETRAIN_AFTER => {
                kept.model.clone()
            }
            _ => {
                let model = Arc::new(CloseModel::train(&Examples { deals: &facts.deals, dict: &facts.dict }));
                slot.model = Some(Kept {
                    model: model.clone(),
                    version: facts.version,
                    trained: std::time::Instant::now(),
                });
                model
            }
        };
        let facts = &slot.facts;
        let now = secs(Utc::now());
        let name = |id: u32| {
            let key = facts.dict.name(id);
            people.get(key).cloned().unwrap_or_else(|| key.to_string())
        };
        let ids = facts.ids(Kind::Deals);
        let mut scored: Vec<ScoredQuote> = facts
            .deals
            .iter()
            .zip(ids)
            .filter(|(d, _)| {
                !d.dead
                    && d.outcome == Outcome::Open
                    && (d.held.is_some() || d.presented.is_some())
                    && now - d.last_activity <= stale
            })
            .map(|(d, id)| {
                let (probability, factors) = model.score(d, &name);
                ScoredQuote {
                    consultation_id: id,
                    probability,
                    quoted_cents: d.quoted_cents,
                    expected_cents: (probability * d.quoted_cents as f64).round() as i64,
                    days_open: days_open(d, now),
                    technician: name(d.technician),
                    factors,
                }
            })
            .collect();
        // Expected value first; between equals, the older quote (it has waited longer).
        scored.sort_by(|a, b| b.expected_cents.cmp(&a.expected_cents).then(b.days_open.cmp(&a.days_open)));
        let pipeline_cents = scored.iter().map(|q| q.expected_cents).sum();
        let open_quotes = scored.len() as u64;
        scored.truncate(LISTED);
        CloseModelPage { card: model.card.clone(), open_quotes, pipeline_cents, top: scored }
    })
    .await
    .map_err(ApiError::internal)?;
    Ok(page)
}
