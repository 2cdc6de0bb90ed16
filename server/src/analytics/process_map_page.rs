//! `GET /reports/process-map`: the process map as an SVG flowchart, server-rendered like
//! `/reports` (ADR 0050), with the dashboard's filters. It reads without colour: the main path is
//! drawn thick, other steps thin, rework dashed; the funnel's leaks are written beside their
//! step and the bottleneck is named in words. Every edge is also in the table under it.

use super::{
    page::{document, filters, keys, manager_or_sent_on, money, people},
    process_map::{Edge, Leak, ProcessMap},
    report::Dimension,
    routes::{with_context, ReportQuery},
};
use crate::{auth::CurrentUser, error::ApiError, state::AppState};
use axum::{
    extract::{Query, State},
    response::{Html, IntoResponse, Response},
};
use maud::{html, Markup};
use std::fmt::Write;

/// Where each kind is drawn: its row (stage, top to bottom) and column (0 left, 1 centre, 2
/// right), and its name in words.
fn place(kind: &str) -> (usize, usize, &'static str) {
    match kind {
        "lead_created" => (0, 1, "Lead created"),
        "qualified" => (1, 0, "Qualified"),
        "disqualified" => (1, 2, "Disqualified"),
        "first_contact" => (2, 1, "First contact"),
        "consultation_scheduled" => (3, 1, "Visit booked"),
        "consultation_held" => (4, 1, "Visit held"),
        "options_presented" => (5, 1, "Options presented"),
        "follow_up" => (6, 0, "Follow-up"),
        "reopened" => (6, 2, "Reopened"),
        "won" => (7, 0, "Won"),
        "lost" => (7, 2, "Lost"),
        _ => (7, 1, "Other"),
    }
}

pub fn label(kind: &str) -> &'static str {
    place(kind).2
}

const W: f64 = 380.0;
const ROW: f64 = 84.0;
const BOX_W: f64 = 124.0;
const BOX_H: f64 = 40.0;
const TOP: f64 = 8.0;
/// Edges drawn: the most frequent, so the picture stays readable; the table lists every one.
const DRAWN: usize = 16;

/// The drawing's rows: the stages some lead reached, top to bottom (a company that never
/// qualifies leads gets no empty row for it).
struct Layout {
    rows: Vec<usize>,
}

impl Layout {
    fn of(map: &ProcessMap) -> Layout {
        let mut rows: Vec<usize> = map.graph.nodes.iter().map(|n| place(n.kind).0).collect();
        rows.sort_unstable();
        rows.dedup();
        Layout { rows }
    }

    fn height(&self) -> f64 {
        TOP * 2.0 + self.rows.len().max(1) as f64 * ROW - (ROW - BOX_H)
    }

    fn centre(&self, kind: &str) -> (f64, f64) {
        let (row, col, _) = place(kind);
        let row = self.rows.iter().position(|&r| r == row).unwrap_or(0);
        (W / 2.0 + (col as f64 - 1.0) * 128.0, TOP + row as f64 * ROW + BOX_H / 2.0)
    }
}

fn duration(seconds: Option<i64>) -> String {
    match seconds {
        None => "—".into(),
        Some(s) if s >= 2 * 86_400 => format!("{:.1} d", s as f64 / 86_400.0),
        Some(s) if s >= 2 * 3600 => format!("{:.1} h", s as f64 / 3600.0),
        Some(s) => format!("{} min", (s as f64 / 60.0).round()),
    }
}

fn pct(v: f64) -> String {
    format!("{:.0}%", v * 100.0)
}

/// One edge's path: straight down between neighbours in a column, a curve otherwise; rework
/// (upwards) and loops bend out to the right, skips down the left, so they do not cross the
/// main column's boxes.
fn edge_path(layout: &Layout, e: &Edge) -> (String, (f64, f64)) {
    let ((x1, y1), (x2, y2)) = (layout.centre(e.from), layout.centre(e.to));
    let mut d = String::new();
    let mid;
    if e.from == e.to {
        let (x, y) = (x1 + BOX_W / 2.0, y1);
        let _ = write!(
            d,
            "M{x:.1},{:.1} C{:.1},{:.1} {:.1},{:.1} {x:.1},{:.1}",
            y - 8.0,
            x + 34.0,
            y - 26.0,
            x + 34.0,
            y + 26.0,
            y + 8.0
        );
        mid = (x + 28.0, y);
    } else if y2 > y1 {
        let (sy, ey) = (y1 + BOX_H / 2.0, y2 - BOX_H / 2.0);
        if (x1 - x2).abs() < 1.0 && y2 - y1 <= ROW + 1.0 {
            let _ = write!(d, "M{x1:.1},{sy:.1} L{x2:.1},{ey:.1}");
            mid = (x1, (sy + ey) / 2.0);
        } else {
            // A skip bends left in proportion to how far it goes.
            let bend = if (x1 - x2).abs() < 1.0 {
                x1 - BOX_W / 2.0 - 10.0 * ((y2 - y1) / ROW)
            } else {
                (x1 + x2) / 2.0
            };
            let _ = write!(
                d,
                "M{x1:.1},{sy:.1} C{x1:.1},{:.1} {bend:.1},{:.1} {x2:.1},{ey:.1}",
                sy + 30.0,
                ey - 30.0
            );
            mid = ((x1 + x2) / 2.0 * 0.5 + bend * 0.5, (sy + ey) / 2.0);
        }
    } else {
        // Back up (or across a row): out of the right side of both boxes.
        let (sx, ex) = (x1 + BOX_W / 2.0, x2 + BOX_W / 2.0);
        let bend = sx.max(ex) + 18.0 + (y1 - y2) / ROW * 6.0;
        let _ = write!(d, "M{sx:.1},{y1:.1} C{bend:.1},{y1:.1} {bend:.1},{y2:.1} {ex:.1},{y2:.1}");
        mid = (bend - 4.0, (y1 + y2) / 2.0);
    }
    (d, mid)
}

fn on_main_path(map: &ProcessMap, e: &Edge) -> bool {
    map.graph.main_path.windows(2).any(|w| w[0] == e.from && w[1] == e.to)
}

pub fn svg(map: &ProcessMap) -> Markup {
    let g = &map.graph;
    let layout = Layout::of(map);
    let height = layout.height();
    let drawn: Vec<&Edge> = g.edges.iter().take(DRAWN).collect();
    let max = drawn.first().map_or(1, |e| e.count).max(1) as f64;
    let leak_of = |kind: &str| map.leaks.iter().find(|l| l.from == kind && l.lost > 0);
    let described = format!(
        "Process map of {} leads: {}. Main path: {}.",
        g.leads,
        g.nodes.iter().map(|n| format!("{} {}", label(n.kind), n.leads)).collect::<Vec<_>>().join(", "),
        g.main_path.iter().map(|k| label(k)).collect::<Vec<_>>().join(" → ")
    );
    html! {
        svg.chart.process viewBox=(format!("0 0 {W} {height}")) role="img" aria-label=(described) {
            defs {
                marker #arrow viewBox="0 0 10 10" refX="9" refY="5" markerWidth="8" markerHeight="8"
                    markerUnits="userSpaceOnUse" orient="auto-start-reverse" {
                    path d="M0,0 L10,5 L0,10 z" fill="#333" {}
                }
            }
            @for e in drawn.iter().rev() {
                @let (d, (mx, my)) = edge_path(&layout, e);
                @let width = 1.0 + 5.0 * e.count as f64 / max;
                @let class = if e.rework { "edge rework" } else if on_main_path(map, e) { "edge main" } else { "edge" };
                g {
                    title { (label(e.from)) " → " (label(e.to)) ": " (e.count) " (" (pct(e.share)) "), median " (duration(e.median_seconds)) }
                    path class=(class) d=(d) stroke-width=(format!("{width:.1}")) marker-end="url(#arrow)"
                        stroke-dasharray=[e.rework.then_some("5 4")] {}
                    text.edge-count x=(format!("{:.1}", mx + 4.0)) y=(format!("{:.1}", my + 4.0)) { (e.count) }
                }
            }
            @for n in &g.nodes {
                @let (x, y) = layout.centre(n.kind);
                @let leak = leak_of(n.kind);
                @let bottleneck = map.leaks.iter().any(|l| l.bottleneck && l.from == n.kind);
                g.node.bottleneck[bottleneck] {
                    rect x=(format!("{:.1}", x - BOX_W / 2.0)) y=(format!("{:.1}", y - BOX_H / 2.0)) width=(BOX_W) height=(BOX_H) rx="6"
                        stroke-width=(if bottleneck { "3" } else { "1" }) {}
                    text.node-name x=(format!("{x:.1}")) y=(format!("{:.1}", y - 3.0)) text-anchor="middle" { (label(n.kind)) }
                    text.node-count x=(format!("{x:.1}")) y=(format!("{:.1}", y + 13.0)) text-anchor="middle" { (n.leads) " leads" }
                    @if let Some(l) = leak {
                        text.leak x=(format!("{:.1}", x - BOX_W / 2.0 - 4.0)) y=(format!("{:.1}", y + BOX_H / 2.0 + 12.0)) text-anchor="end" {
                            @if bottleneck { "Bottleneck · " } "lost " (l.lost)
                        }
                    }
                }
            }
        }
    }
}

pub fn leaks(map: &ProcessMap) -> Markup {
    let bottleneck = map.leaks.iter().find(|l| l.bottleneck);
    html! {
        section aria-labelledby="h-leaks" data-testid="leaks" {
            h2 #h-leaks { "Leaks" }
            @match bottleneck {
                Some(l) => p data-testid="bottleneck" { strong { "Bottleneck: " (l.stage) } " — "
                    (l.lost) " lost, " (money(l.leak_cents)) " at the average won ticket; conversion "
                    (l.conversion.map(pct).unwrap_or_else(|| "—".into())) " against a target of " (pct(l.target)) "." },
                None => p data-testid="bottleneck" { "No bottleneck: no stage falls below its target by more than chance explains." },
            }
            div.scroll { table {
                thead { tr { th scope="col" { "Stage" } th scope="col" { "Entered" } th scope="col" { "Lost" }
                    th scope="col" { "Conversion (target)" } th scope="col" { "Leak" } } }
                tbody { @for l in &map.leaks { (leak_row(l)) } }
            } }
        }
    }
}

fn leak_row(l: &Leak) -> Markup {
    html! {
        tr.flag[l.bottleneck] {
            th scope="row" { (l.stage) @if l.bottleneck { " (bottleneck)" } }
            td { (l.entries) } td { (l.lost) }
            td { (l.conversion.map(pct).unwrap_or_else(|| "—".into())) " (" (pct(l.target)) ")" }
            td { (money(l.leak_cents)) }
        }
    }
}

fn edges(map: &ProcessMap) -> Markup {
    html! {
        section aria-labelledby="h-edges" data-testid="edges" {
            h2 #h-edges { "Every step" }
            div.scroll { table {
                thead { tr {
                    th scope="col" { "From" } th scope="col" { "To" } th scope="col" { "Leads" }
                    th scope="col" { "Share of exits" } th scope="col" { "Median" } th scope="col" { "P90" } th scope="col" { "Kind" }
                } }
                tbody {
                    @for e in &map.graph.edges {
                        tr {
                            th scope="row" { (label(e.from)) } td { (label(e.to)) } td { (e.count) }
                            td { (pct(e.share)) } td { (duration(e.median_seconds)) } td { (duration(e.p90_seconds)) }
                            td { @if e.rework { "Rework (back)" } @else if on_main_path(map, e) { "Main path" } @else { "Side path" } }
                        }
                    }
                }
            } }
        }
    }
}

/// `GET /reports/process-map`
pub async fn page(
    State(state): State<AppState>,
    user: Option<CurrentUser>,
    Query(q): Query<ReportQuery>,
) -> Result<Response, ApiError> {
    let user = match manager_or_sent_on(user) {
        Ok(user) => user,
        Err(elsewhere) => return Ok(elsewhere.into_response()),
    };
    let (map, sources, services) = with_context(&state, &user, &q, |cx, r, changes| {
        let dims = [Dimension::Source, Dimension::Service];
        let (d, breakdowns) = super::dashboard_with_breakdowns(cx, r.range, r.period, changes, &dims);
        (
            super::process_map::process_map(cx, r.range, &d.funnel),
            keys(&breakdowns, Dimension::Source),
            keys(&breakdowns, Dimension::Service),
        )
    })
    .await?;
    let (_, active) = people(&state.pool, user.company_id()).await?;
    let g = &map.graph;
    let main = html! {
        (filters("/reports/process-map", &q, map.from, map.to, &active, &sources, &services))
        @if g.leads == 0 {
            p data-testid="empty" { "No leads were created from " (map.from) " to " (map.to) " with these filters." }
        } @else {
            p.muted data-testid="main-path" {
                (g.leads) " leads created " (map.from) " to " (map.to) ". Main path: "
                strong { (g.main_path.iter().map(|k| label(k)).collect::<Vec<_>>().join(" → ")) }
                ", followed exactly by " (g.main_path_share.map(pct).unwrap_or_default()) " of leads; "
                (g.main_path_share.map(|s| pct(1.0 - s)).unwrap_or_default()) " leave it somewhere."
            }
            figure {
                (svg(&map))
                figcaption.muted { "Thick: the main path. Thin: other steps. Dashed: rework, back to an earlier stage. \
                    The number on a line is how many times a lead took that step; the "
                    (DRAWN) " most frequent steps are drawn, all are in the table." }
            }
            (leaks(&map))
            (edges(&map))
        }
    };
    let page = document("Process map", &user.0.company_name, ("/reports", "Back to reports"), false, main);
    Ok(Html(page.into_string()).into_response())
}
