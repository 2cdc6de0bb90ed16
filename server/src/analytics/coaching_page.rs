//! `GET /reports/coaching`: the coaching effects and each technician's biggest opportunities,
//! server-rendered like `/reports` (ADR 0050), over the same range and filters.

use super::{
    coaching::{load, Coaching, BEHAVIOURS},
    page::{document, manager_or_sent_on},
    routes::ReportQuery,
};
use crate::{auth::CurrentUser, error::ApiError, state::AppState};
use axum::{
    extract::{Query, State},
    response::{Html, IntoResponse, Response},
};
use maud::{html, Markup};

fn points(v: Option<f64>) -> String {
    v.map(|v| format!("{:+.0}", v * 100.0)).unwrap_or_else(|| "—".into())
}

fn share(closed: u64, n: u64) -> String {
    if n == 0 {
        return "—".into();
    }
    format!("{:.0}% of {n}", closed as f64 / n as f64 * 100.0)
}

fn effects(c: &Coaching) -> Markup {
    html! {
        section aria-labelledby="h-effects" data-testid="effects" {
            h2 #h-effects { "What goes with closing" }
            p.muted { (c.from) " to " (c.to) ". " (c.note) }
            div.scroll { table {
                thead { tr {
                    th scope="col" { "Behaviour" } th scope="col" { "Closed with it" } th scope="col" { "Without it" }
                    th scope="col" { "Difference, points (95% interval)" } th scope="col" { "Verdict" }
                } }
                tbody {
                    @for e in &c.effects {
                        tr {
                            th scope="row" { (e.behaviour) }
                            td { (share(e.with_closed, e.with_n)) }
                            td { (share(e.without_closed, e.without_n)) }
                            td { (points(e.difference)) " (" (points(e.low)) " to " (points(e.high)) ")" }
                            td { @if e.flagged { strong { "Real" } } @else { "Could be chance" } }
                        }
                    }
                }
            } }
        }
    }
}

fn technicians(c: &Coaching) -> Markup {
    html! {
        section aria-labelledby="h-people" data-testid="technicians" {
            h2 #h-people { "Each technician's biggest opportunities" }
            @for t in &c.technicians {
                article {
                    h3 { (t.technician) " · " (t.held) " visits" }
                    p.muted {
                        @for (i, (name, s)) in BEHAVIOURS.iter().zip(&t.shares).enumerate() {
                            @if i > 0 { " · " }
                            (name) ": " (format!("{:.0}%", s * 100.0))
                        }
                    }
                    @if t.opportunities.is_empty() {
                        p { "Nothing stands out: no behaviour found to close more that they do less often than the company." }
                    } @else {
                        ul { @for o in &t.opportunities { li { (o) } } }
                    }
                }
            }
        }
    }
}

/// `GET /reports/coaching`
pub async fn page(
    State(state): State<AppState>,
    user: Option<CurrentUser>,
    Query(q): Query<ReportQuery>,
) -> Result<Response, ApiError> {
    let user = match manager_or_sent_on(user) {
        Ok(user) => user,
        Err(elsewhere) => return Ok(elsewhere.into_response()),
    };
    let c = load(&state, &user, &q).await?;
    let main = html! { (effects(&c)) (technicians(&c)) };
    let page = document("Coaching", &user.0.company_name, ("/reports", "Back to reports"), false, main);
    Ok(Html(page.into_string()).into_response())
}
