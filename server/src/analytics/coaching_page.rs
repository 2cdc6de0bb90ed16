//! `GET /reports/coaching`: the coaching effects and each technician's biggest opportunities,
//! server-rendered like `/reports` (ADR 0050), over the same range and filters.

use super::{
    coaching::{load, step_labels, Coaching, TechnicianCoaching},
    page::{document, manager_or_sent_on},
    routes::{with_company_context, ReportQuery},
};
use crate::{auth::CurrentUser, error::ApiError, state::AppState};
use axum::response::Redirect;
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

pub fn effects(c: &Coaching) -> Markup {
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

/// How often a technician does each behaviour, in the effects' order.
fn shares(c: &Coaching, t: &TechnicianCoaching) -> Markup {
    html! {
        @for (i, (e, s)) in c.effects.iter().zip(&t.shares).enumerate() {
            @if i > 0 { " · " }
            (e.behaviour) ": " (format!("{:.0}%", s * 100.0))
        }
    }
}

pub fn technicians(c: &Coaching) -> Markup {
    html! {
        section aria-labelledby="h-people" data-testid="technicians" {
            h2 #h-people { "Each technician's biggest opportunities" }
            @for t in &c.technicians {
                article {
                    h3 { (t.technician) " · " (t.held) " visits" }
                    p.muted { (shares(c, t)) }
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

/// `GET /me/coaching`: a person's own coaching (issue 24: "a technician's own page shows their
/// three biggest opportunities in plain words"), beside the company's effects. Only the range is
/// taken from the query: the filters would let one person read another's figures.
pub async fn mine(
    State(state): State<AppState>,
    user: Option<CurrentUser>,
    Query(q): Query<ReportQuery>,
) -> Result<Response, ApiError> {
    let Some(user) = user else { return Ok(Redirect::to("/login").into_response()) };
    let me = user.user_id().to_string();
    let range = ReportQuery { from: q.from, to: q.to, ..ReportQuery::default() };
    let labels = step_labels(&state.pool, user.company_id()).await?;
    let (c, mine) = with_company_context(&state, user.company_id(), &range, move |cx, r, _| {
        let note = "An effect is an association in the company's own consultations, not proof of a cause.";
        let mut c = Coaching::of(cx, r.range, &labels, note);
        // Only their own: the others' figures never reach the page.
        let mine = std::mem::take(&mut c.technicians).into_iter().find(|t| t.technician == me);
        (c, mine)
    })
    .await?;
    let main = html! {
        section aria-labelledby="h-mine" data-testid="my-opportunities" {
            h2 #h-mine { "Your biggest opportunities" }
            @match &mine {
                None => p { "No visits of yours were held from " (c.from) " to " (c.to) " yet: nothing to compare." },
                Some(t) => {
                    p.muted { (t.held) @if t.held == 1 { " visit" } @else { " visits" } " held, " (c.from) " to " (c.to) ". "
                        (shares(&c, t)) }
                    @if t.opportunities.is_empty() {
                        p { "Nothing stands out: no behaviour found to close more that you do less often than the company." }
                    } @else {
                        ol { @for o in &t.opportunities { li { (o) } } }
                    }
                }
            }
        }
        (effects(&c))
    };
    let page = document("Your coaching", &user.0.company_name, ("/", "Back to the app"), false, main);
    Ok(Html(page.into_string()).into_response())
}
