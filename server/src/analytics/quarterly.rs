//! `GET /reports/quarterly`: the quarterly review the source article asks for, one printable
//! page: the quarter's headline KPIs against the previous quarter and the targets, its process
//! map and bottleneck, the before/after of recorded process changes, and coaching per person.
//! Company-wide (no filters): it is the whole team's review.

use super::{
    coaching::Coaching,
    coaching_page,
    page::{before_after, document, kpi_target, kpi_value, manager_or_sent_on, value_in},
    process_map::process_map,
    process_map_page::{self, label},
    report::{DateRange, Period},
    routes::{with_context, ReportQuery},
    Dashboard, Kpi,
};
use crate::{auth::CurrentUser, error::ApiError, state::AppState};
use axum::{
    extract::{Query, State},
    response::{Html, IntoResponse, Response},
};
use chrono::{Datelike, NaiveDate};
use maud::{html, Markup};
use serde::Deserialize;

/// A calendar quarter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Quarter {
    pub year: i32,
    /// 1 to 4.
    pub number: u32,
}

impl Quarter {
    /// "2026-Q3" (or "2026-q3").
    pub fn parse(s: &str) -> Result<Quarter, ApiError> {
        let bad = || ApiError::BadRequest(format!("quarter: expected a quarter like 2026-Q3, got {s:?}"));
        let (year, q) = s.trim().split_once(['-', ' ']).ok_or_else(bad)?;
        let year: i32 = year.parse().map_err(|_| bad())?;
        let number: u32 = q.strip_prefix(['Q', 'q']).and_then(|n| n.parse().ok()).ok_or_else(bad)?;
        if !(1..=4).contains(&number) || !(2000..=2100).contains(&year) {
            return Err(bad());
        }
        Ok(Quarter { year, number })
    }

    pub fn of(day: NaiveDate) -> Quarter {
        Quarter { year: day.year(), number: day.month0() / 3 + 1 }
    }

    pub fn previous(self) -> Quarter {
        match self.number {
            1 => Quarter { year: self.year - 1, number: 4 },
            n => Quarter { year: self.year, number: n - 1 },
        }
    }

    /// Its first to its last day.
    pub fn range(self) -> DateRange {
        let first =
            |q: Quarter| NaiveDate::from_ymd_opt(q.year, (q.number - 1) * 3 + 1, 1).expect("a valid quarter");
        let next = match self.number {
            4 => Quarter { year: self.year + 1, number: 1 },
            n => Quarter { year: self.year, number: n + 1 },
        };
        DateRange { from: first(self), to: first(next).pred_opt().expect("after 2000") }
    }

    pub fn name(self) -> String {
        format!("Q{} {}", self.number, self.year)
    }
}

#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct QuarterQuery {
    /// The quarter to review, e.g. 2026-Q3 (default: the last one that has ended, company-local).
    pub quarter: Option<String>,
}

/// "better", "worse" or "same" for a KPI that moved from `before` to `now`.
fn direction(k: &Kpi, before: Option<f64>) -> &'static str {
    match (k.value, before) {
        (Some(now), Some(before)) if (now - before).abs() < 1e-9 => "same",
        (Some(now), Some(before)) if (now < before) == k.lower_is_better => "better",
        (Some(_), Some(_)) => "worse",
        _ => "—",
    }
}

fn headline(now: &Dashboard, before: &Dashboard, q: Quarter) -> Markup {
    html! {
        section aria-labelledby="h-headline" data-testid="quarter-headline" {
            h2 #h-headline { "Headline KPIs" }
            div.scroll { table {
                thead { tr {
                    th scope="col" { "KPI" } th scope="col" { (q.name()) } th scope="col" { (q.previous().name()) }
                    th scope="col" { "Change" } th scope="col" { "Target" } th scope="col" { "On target" }
                } }
                tbody {
                    @for k in &now.headline {
                        @let prev = before.headline.iter().find(|p| p.key == k.key).and_then(|p| p.value);
                        tr {
                            th scope="row" { (k.label) }
                            td { (kpi_value(k)) " " span.muted { "n=" (k.n) } }
                            td { (value_in(k.unit, prev)) }
                            td { (direction(k, prev)) }
                            td { (kpi_target(k)) }
                            td { @match k.met { Some(true) => "yes", Some(false) => strong { "no" }, None => "—" } }
                        }
                    }
                }
            } }
        }
    }
}

/// `GET /reports/quarterly`
pub async fn page(
    State(state): State<AppState>,
    user: Option<CurrentUser>,
    Query(q): Query<QuarterQuery>,
) -> Result<Response, ApiError> {
    let user = match manager_or_sent_on(user) {
        Ok(user) => user,
        Err(elsewhere) => return Ok(elsewhere.into_response()),
    };
    let asked = q.quarter.as_deref().filter(|s| !s.trim().is_empty()).map(Quarter::parse).transpose()?;
    let labels = super::coaching::step_labels(&state.pool, user.company_id()).await?;
    let (quarter, now, before, map, mut coached) =
        with_context(&state, &user, &ReportQuery::default(), move |cx, r, changes| {
            // `r.range` ends today, company-local: the quarter before today's is the last ended.
            let quarter = asked.unwrap_or_else(|| Quarter::of(r.range.to).previous());
            let (this, last) = (quarter.range(), quarter.previous().range());
            let now = super::dashboard(cx, this, Period::Month, changes);
            let before = super::dashboard(cx, last, Period::Month, changes);
            let map = process_map(cx, this, &now.funnel);
            let note =
                "An effect is an association in this company's own consultations, not proof of a cause.";
            (quarter, now, before, map, Coaching::of(cx, this, &labels, note))
        })
        .await?;
    coached.name_people(&super::routes::names(&state.pool, user.company_id()).await?);
    let g = &map.graph;
    let main = html! {
        form.filters method="get" action="/reports/quarterly" {
            label { "Quarter " input name="quarter" value=(format!("{}-Q{}", quarter.year, quarter.number)) pattern="[0-9]{4}-[Qq][1-4]" required; }
            button type="submit" { "Show" }
        }
        p.muted {
            (now.from) " to " (now.to) ", against " (before.from) " to " (before.to)
            ". To keep it, print this page or save it as a PDF from the browser's print menu."
        }
        (headline(&now, &before, quarter))
        section aria-labelledby="h-map" data-testid="quarter-map" {
            h2 #h-map { "The process as it ran" }
            @if g.leads == 0 { p { "No leads were created in " (quarter.name()) "." } }
            @else {
                p.muted { (g.leads) " leads. Main path: " (g.main_path.iter().map(|k| label(k)).collect::<Vec<_>>().join(" → ")) "." }
                figure { (process_map_page::svg(&map)) }
            }
        }
        (process_map_page::leaks(&map))
        (before_after(&now, false))
        (coaching_page::effects(&coached))
        (coaching_page::technicians(&coached))
    };
    let title = format!("Quarterly review, {}", quarter.name());
    let page = document(&title, &user.0.company_name, ("/reports", "Back to reports"), false, main);
    Ok(Html(page.into_string()).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quarters_parse_run_over_their_months_and_step_back_across_a_year() {
        let q = Quarter::parse("2026-Q1").unwrap();
        assert_eq!(q, Quarter { year: 2026, number: 1 });
        assert_eq!(
            Quarter::parse(" 2026-q4 ").unwrap().range().to,
            NaiveDate::from_ymd_opt(2026, 12, 31).unwrap()
        );
        let r = q.range();
        assert_eq!(
            (r.from, r.to),
            (NaiveDate::from_ymd_opt(2026, 1, 1).unwrap(), NaiveDate::from_ymd_opt(2026, 3, 31).unwrap())
        );
        assert_eq!(q.previous(), Quarter { year: 2025, number: 4 });
        assert_eq!(Quarter::of(NaiveDate::from_ymd_opt(2026, 9, 30).unwrap()).name(), "Q3 2026");
        for bad in ["2026", "2026-Q5", "2026-Q0", "Q3-2026", "1999-Q1", "2026-Qx"] {
            assert!(Quarter::parse(bad).is_err(), "{bad}");
        }
    }
}
