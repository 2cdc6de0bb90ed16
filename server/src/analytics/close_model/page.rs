//! `GET /reports/close-model`: the model's page, server-rendered like `/reports` (ADR 0050):
//! whether scores come from the model or the base rate and why, the held-out evidence, the
//! calibration table, and the open quotes by expected value with their factors.

use super::route::{close_model_page, CloseModelPage};
use crate::{
    analytics::page::{document, manager_or_sent_on, money},
    auth::CurrentUser,
    error::ApiError,
    state::AppState,
};
use axum::{
    extract::State,
    response::{Html, IntoResponse, Response},
};
use maud::{html, Markup};

fn pct(v: f64) -> String {
    format!("{:.1}%", v * 100.0)
}

fn evidence(p: &CloseModelPage) -> Markup {
    let card = &p.card;
    html! {
        section aria-labelledby="h-model" data-testid="model-card" {
            h2 #h-model { "Is the model used?" }
            @if card.uses_model {
                p.verdict { "Yes: scores come from the model, trained on " (card.decided)
                    " decided consultations (" (pct(card.base_rate)) " of them won)." }
            } @else {
                p.verdict { "No: every open quote gets the base rate, " (pct(card.base_rate)) ": "
                    (card.reason.clone().unwrap_or_default()) "." }
            }
            p.muted data-testid="model-version" { "Scores below, the pipeline and the reps' queues come from the "
                (p.model_version) "." }
            @if let Some(h) = &card.held_out {
                p.muted { "Checked on the newest " (h.n) " decisions (" (h.won) " won), which the model did not see while it \
                    learned. AUC: how often a won quote scored above a lost one (0.5 is chance, 1 is a perfect \
                    ranking). Brier score: the mean squared miss (lower is better)." }
                div.scroll { table {
                    thead { tr { th scope="col" { "Measure" } th scope="col" { "Model" } th scope="col" { "Base rate" } } }
                    tbody {
                        tr { th scope="row" { "AUC" }
                             td { (format!("{:.3} ± {:.3}", h.auc, 2.0 * h.auc_se)) } td { "0.500" } }
                        tr { th scope="row" { "Brier score" }
                             td { (format!("{:.4}", h.brier)) } td { (format!("{:.4}", h.base_brier)) } }
                    }
                } }
            }
            @if !card.calibration.is_empty() {
                h3 { "Calibration: predicted against what happened" }
                table data-testid="calibration" {
                    thead { tr { th scope="col" { "Tenth" } th scope="col" { "Quotes" } th scope="col" { "Predicted" } th scope="col" { "Won" } } }
                    tbody {
                        @for (k, d) in card.calibration.iter().enumerate() {
                            tr { th scope="row" { (k + 1) } td { (d.n) } td { (pct(d.predicted)) } td { (pct(d.observed)) } }
                        }
                    }
                }
            }
        }
    }
}

fn quotes(p: &CloseModelPage) -> Markup {
    html! {
        section aria-labelledby="h-open" data-testid="open-quotes" {
            h2 #h-open { "Open quotes by expected value" }
            p.muted { (p.open_quotes) " open quotes, worth " (money(p.pipeline_cents))
                " by their probabilities. A factor is what past quotes like this one did, not a cause." }
            div.scroll {
                table {
                    thead { tr {
                        th scope="col" { "Technician" } th scope="col" { "Days open" } th scope="col" { "Quoted" }
                        th scope="col" { "Chance" } th scope="col" { "Expected" } th scope="col" { "Why" }
                    } }
                    tbody {
                        @for q in &p.top {
                            tr {
                                th scope="row" { (q.technician) }
                                td { (q.days_open) }
                                td { (money(q.quoted_cents)) }
                                td { (pct(q.probability)) }
                                td { (money(q.expected_cents)) }
                                td {
                                    @if q.factors.is_empty() { "the base rate" }
                                    @for (i, f) in q.factors.iter().enumerate() {
                                        @if i > 0 { "; " }
                                        (f.label) ": " (format!("{:+}", f.points)) " points"
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// `GET /reports/close-model`
pub async fn page(State(state): State<AppState>, user: Option<CurrentUser>) -> Result<Response, ApiError> {
    let user = match manager_or_sent_on(user) {
        Ok(user) => user,
        Err(elsewhere) => return Ok(elsewhere.into_response()),
    };
    let p = close_model_page(&state, &user).await?;
    let main = html! { (evidence(&p)) (quotes(&p)) };
    let page =
        document("Close probability", &user.0.company_name, ("/reports", "Back to reports"), false, main);
    Ok(Html(page.into_string()).into_response())
}
