//! `GET /reports`: the manager dashboard, rendered on the server as one HTML page with inline SVG
//! charts. No wasm: it is read on tablets and desktops, often on a slow connection, and every
//! number is on the page when it arrives. `maud` writes the HTML and escapes every value, so a
//! customer's name or a lead source can never become markup. The style and a few lines of script
//! (sortable tables, recording a process change) are files, `public/reports.css` and
//! `public/reports.js`; without script everything still reads.

use super::{
    dashboard_with_breakdowns,
    report::{self, BreakdownRow, Dimension},
    routes::{with_context, ReportQuery},
    stats::Rate,
    Dashboard, Kpi, Unit,
};
use crate::{auth::CurrentUser, error::ApiError, state::AppState};
use app::domain::Role;
use axum::{
    extract::{Query, State},
    response::{Html, IntoResponse, Redirect, Response},
};
use maud::{html, Markup, DOCTYPE};
use std::{collections::HashMap, fmt::Write};

pub fn money(cents: i64) -> String {
    let dollars = (cents as f64 / 100.0).round() as i64;
    let digits = dollars.abs().to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    format!("{}${out}", if dollars < 0 { "−" } else { "" })
}

fn pct(v: Option<f64>) -> String {
    v.map(|v| format!("{:.1}%", v * 100.0)).unwrap_or_else(|| "—".into())
}

pub fn kpi_value(k: &Kpi) -> String {
    value_in(k.unit, k.value)
}

pub fn value_in(unit: Unit, value: Option<f64>) -> String {
    match (unit, value) {
        (_, None) => "—".into(),
        (Unit::Share, Some(v)) => pct(Some(v)),
        (Unit::Minutes, Some(v)) if v >= 120.0 => format!("{:.1} h", v / 60.0),
        (Unit::Minutes, Some(v)) => format!("{v:.0} min"),
        (Unit::Days, Some(v)) => format!("{v:.1} days"),
    }
}

pub fn kpi_target(k: &Kpi) -> String {
    match k.unit {
        Unit::Share => pct(Some(k.target)),
        Unit::Minutes => format!("{:.0} min", k.target),
        Unit::Days => format!("{:.0} days", k.target),
    }
}

fn rate_note(r: &Rate) -> String {
    let mut s = format!("n = {}", r.n);
    if let (Some(l), Some(h)) = (r.low, r.high) {
        let _ = write!(s, " · 95% {}–{}", pct(Some(l)), pct(Some(h)));
    }
    if let Some(o) = r.still_open.filter(|o| *o > 0.0) {
        let _ = write!(s, " · {} still open", pct(Some(o)));
    }
    s
}

fn or_dash(v: Option<String>) -> String {
    v.unwrap_or_else(|| "—".into())
}

/// A KPI's value in its unit, as the cards print it.
fn unit_value(unit: Unit, v: f64) -> String {
    value_in(unit, Some(v))
}

/// A point a person can tap (or focus) to read its value in the chart's caption (reports.js).
fn tap_point(x: f64, y: f64, label: &str) -> Markup {
    html! {
        circle.tap cx=(format!("{x:.1}")) cy=(format!("{y:.1}")) r="7" tabindex="0" data-label=(label) {
            title { (label) }
        }
    }
}

/// A KPI's trend over the periods (gaps where a period has no value), scaled to its own range,
/// with its range and first and last period on the axes and each value a tap away.
fn trend_chart(k: &Kpi, periods: &[chrono::NaiveDate]) -> Markup {
    let (w, h, left, bottom) = (150.0, 44.0, 34.0, 12.0);
    let values = &k.trend;
    let present: Vec<f64> = values.iter().flatten().copied().collect();
    if present.len() < 2 {
        return html! {};
    }
    let (lo, hi) = present.iter().fold((f64::MAX, f64::MIN), |(a, b), &v| (a.min(v), b.max(v)));
    let span = if hi > lo { hi - lo } else { 1.0 };
    let step = (w - left - 4.0) / (values.len().max(2) - 1) as f64;
    let plot_h = h - bottom - 4.0;
    let period_label = |i: usize| periods.get(i).map(|p| p.format("%b %-d").to_string()).unwrap_or_default();
    let mut path = String::new();
    let mut points = vec![];
    let mut pen_down = false;
    for (i, v) in values.iter().enumerate() {
        match v {
            Some(v) => {
                let (x, y) = (left + i as f64 * step, 2.0 + plot_h - (v - lo) / span * plot_h);
                let _ = write!(path, "{}{x:.1},{y:.1} ", if pen_down { "L" } else { "M" });
                pen_down = true;
                points.push((x, y, format!("{}: {}", period_label(i), unit_value(k.unit, *v))));
            }
            None => pen_down = false,
        }
    }
    let latest = points.last().map(|p| p.2.clone()).unwrap_or_default();
    html! {
        figure.trend {
            svg.spark viewBox=(format!("0 0 {w} {h}")) role="img"
                aria-label=(format!("{} by period, from {} to {}", k.label, unit_value(k.unit, lo), unit_value(k.unit, hi))) {
                text.tick x=(left - 3.0) y="8" text-anchor="end" { (unit_value(k.unit, hi)) }
                text.tick x=(left - 3.0) y=(format!("{:.1}", 2.0 + plot_h)) text-anchor="end" { (unit_value(k.unit, lo)) }
                line.axis x1=(left) y1=(format!("{:.1}", 2.0 + plot_h)) x2=(w - 2.0) y2=(format!("{:.1}", 2.0 + plot_h)) {}
                text.tick x=(left) y=(h - 1.0) { (period_label(0)) }
                text.tick x=(w - 2.0) y=(h - 1.0) text-anchor="end" { (period_label(values.len() - 1)) }
                path d=(path) fill="none" stroke="currentColor" stroke-width="1.5" {}
                @for (x, y, label) in &points { (tap_point(*x, *y, label)) }
            }
            figcaption.tap-value aria-live="polite" { "Latest: " (latest) " · tap a point" }
        }
    }
}

fn headline(d: &Dashboard) -> Markup {
    html! {
        section aria-labelledby="h-kpis" {
            h2 #h-kpis { "Headline, against target" }
            div.cards {
                @for k in &d.headline {
                    @let small = k.rate.is_some_and(|r| r.too_small) || k.n < super::stats::MIN_N;
                    @let note = k.rate.as_ref().map(rate_note).unwrap_or_else(|| format!("n = {}", k.n));
                    article.card.small[small] {
                        h3 { (k.label) }
                        p.big { (kpi_value(k)) }
                        p {
                            "target " (kpi_target(k)) " · "
                            @match k.met {
                                Some(true) => span.ok { "✓ on target" },
                                Some(false) => span.off { "✗ off target" },
                                None if k.key == "non_selling" => span.muted { "no time logged" },
                                None => span.muted { "no data" },
                            }
                        }
                        p.muted { (note) @if small { " · too few to judge" } }
                        (trend_chart(k, &d.periods))
                        details { summary { "Definition" } p { (k.definition) } }
                    }
                }
            }
        }
    }
}

fn duration(seconds: Option<i64>) -> String {
    match seconds {
        None => "—".into(),
        Some(s) if s >= 7200 => format!("{:.1} h", s as f64 / 3600.0),
        Some(s) => format!("{} min", (s as f64 / 60.0).round()),
    }
}

/// Speed to lead on the clock and in business time, side by side, each with its definition,
/// and always the share never contacted beside the median.
fn speed(d: &Dashboard) -> Markup {
    let s = &d.speed_to_lead;
    let b = &s.business;
    let [first, second] = s.thresholds_minutes;
    html! {
        section aria-labelledby="h-speed" {
            h2 #h-speed { "Speed to lead" }
            table.speed {
                thead { tr { th { "" } th { "Clock time" } th { "Business time" } } }
                tbody {
                    tr { th { "Median (contacted leads)" } td { (duration(s.median_seconds)) } td { (duration(b.median_seconds)) } }
                    tr { th { (format!("Contacted within {first} min")) } td { (pct(s.within_first.value)) } td { (pct(b.within_first.value)) } }
                    tr { th { (format!("Contacted within {second} min")) } td { (pct(s.within_second.value)) } td { (pct(b.within_second.value)) } }
                    tr { th { "Never contacted" } td colspan="2" { (pct(s.never_contacted.value)) " of " (s.leads) " leads" } }
                }
            }
            @if !d.disqualified_leads.is_empty() {
                p {
                    "Disqualified, and so out of lead → consultation: "
                    @for (i, q) in d.disqualified_leads.iter().enumerate() {
                        @if i > 0 { " · " }
                        (q.reason.replace('_', " ")) " " (q.leads)
                    }
                }
            }
            details {
                summary { "Definitions" }
                p { "Clock time: from the lead's creation to its first human contact, every minute counted." }
                p {
                    "Business time: the same, with the clock stopped outside the company's opening hours and on its                      holidays (Settings): a lead at 02:00 starts counting at opening."
                }
                p {
                    "The median is over contacted leads. A lead not yet contacted counts as a miss once the threshold                      has passed (in that clock), and is left out before that."
                }
            }
        }
    }
}

/// "$1,200" and, when the rate behind it has an interval, "($950–$2,400)".
fn cost(c: &report::Cost) -> Markup {
    html! {
        (or_dash(c.cents.map(money)))
        @if c.cents.is_some() {
            br;
            small.muted { "95% " (or_dash(c.low_cents.map(money))) "–" (c.high_cents.map(money).unwrap_or_else(|| "no bound".into())) }
        }
    }
}

fn marketing_row(r: &report::MarketingRow) -> Markup {
    html! {
        tr {
            @if let Some(m) = &r.month { td { (m) } }
            th scope="row" {
                @match &r.campaign { Some(c) => { span.muted { "↳ " } (c) }, None => (r.source.replace('_', " ")) }
            }
            td { (money(r.spend_cents)) }
            td { (r.leads) }
            td { (or_dash(r.cost_per_lead_cents.map(money))) }
            td class=[r.consultation.too_small.then_some("small")] title=(rate_note(&r.consultation)) {
                (r.consultation.hits) " (" (pct(r.consultation.value)) ")"
            }
            td { (cost(&r.cost_per_consultation)) }
            td class=[r.sale.too_small.then_some("small")] title=(rate_note(&r.sale)) { (r.sale.hits) }
            td { (cost(&r.cost_per_sale)) }
            td { (money(r.revenue_cents)) }
            td { (r.return_on_spend.map(|x| format!("{x:.1}×")).unwrap_or_else(|| "—".into())) }
            td { (pct(r.still_open)) }
        }
    }
}

/// Spend against what it bought, per source and campaign (docs/metrics.md, "Marketing spend").
fn marketing(m: &report::Marketing) -> Markup {
    let head = |with_month: bool| {
        html! {
            thead { tr {
                @if with_month { th { "Month" } }
                th { "Source / campaign" } th { "Spend" } th { "Leads" } th { "Per lead" }
                th { "Consultations" } th { "Per consultation" } th { "Sales" } th { "Per sale" }
                th { "Revenue" } th { "Return" } th { "Still open" }
            } }
        }
    };
    let totals: Vec<_> = m.rows.iter().filter(|r| r.month.is_none()).collect();
    let months: Vec<_> = m.rows.iter().filter(|r| r.month.is_some()).collect();
    let any_spend = totals.iter().any(|r| r.spend_cents > 0);
    html! {
        section aria-labelledby="h-marketing" {
            h2 #h-marketing { "Marketing spend" }
            @if !any_spend {
                p.muted { "No marketing spend entered for " (m.from_month) " to " (m.to_month) ". Enter or import it in "
                    a href="/settings#marketing-spend" { "Settings" } " to see cost per lead, per consultation and per sale." }
            } @else {
                p.muted { "Cohorts " (m.from_month) " to " (m.to_month) ", by the month each lead came in. "
                    a href="/settings#marketing-spend" { "Enter spend" } }
                div.scroll { table.marketing data-testid="marketing" {
                    (head(false))
                    tbody { @for r in &totals { (marketing_row(r)) } }
                } }
                details {
                    summary { "By month" }
                    div.scroll { table.marketing {
                        (head(true))
                        tbody { @for r in &months { (marketing_row(r)) } }
                    } }
                }
                details {
                    summary { "Definitions" }
                    p { "Cost per lead: the month's spend ÷ the leads created that month (disqualified ones too: the spend bought them)." }
                    p { "Cost per consultation and per sale: the same spend ÷ that month's leads that had a consultation held within "
                        (m.lead_to_consultation_days) " days, or were sold (a win at or above the service's sold threshold). The 95% range comes from the "
                        "Wilson interval of the rate behind it (consultations or sales per qualified lead); with no sale yet there is no upper bound." }
                    p { "Return: revenue closed from the month's leads so far ÷ spend. Still open: qualified leads still waiting for a consultation "
                        "within the window plus open quotes, as a share of the qualified leads: a young cohort's return is still growing." }
                    p { "A campaign's row counts the leads that came with that campaign (utm_campaign) and the spend entered for it; the "
                        "source's row counts all of them, and spend entered for the source as a whole." }
                }
            }
        }
    }
}

fn funnel(d: &Dashboard) -> Markup {
    let f = &d.funnel;
    let max = f.stages.iter().map(|s| s.entries).max().unwrap_or(1).max(1) as f64;
    let (w, row) = (320.0, 34.0);
    html! {
        section aria-labelledby="h-funnel" {
            h2 #h-funnel { "Funnel and leaks" }
            svg.chart viewBox=(format!("0 0 {w} {}", row * f.stages.len() as f64)) role="img"
                aria-label="funnel: entries and advanced per stage" {
                @for (i, s) in f.stages.iter().enumerate() {
                    @let y = i as f64 * row;
                    rect x="0" y=(y) width=(format!("{:.1}", s.entries as f64 / max * w)) height="14" class="bar-in" {}
                    rect x="0" y=(format!("{:.1}", y + 2.0)) width=(format!("{:.1}", s.advanced as f64 / max * w)) height="10" class="bar-adv" {}
                    text x="2" y=(format!("{:.1}", y + 28.0)) class="lbl" {
                        (s.name) " " @if s.bottleneck { "⚠ bottleneck" }
                    }
                }
            }
            div.scroll { table {
                thead { tr {
                    th { "Stage" } th { "Entries" } th { "Advanced" } th { "Lost" } th { "Moved back" }
                    th { "Still in" } th { "Conversion" } th { "Target" } th { "Leak" }
                } }
                tbody {
                    @for s in &f.stages {
                        tr.flag[s.bottleneck] {
                            td { (s.name) @if s.bottleneck { " ⚠ bottleneck" } }
                            td { (s.entries) } td { (s.advanced) } td { (s.lost) } td { (s.moved_back) } td { (s.still_in) }
                            td title=(rate_note(&s.conversion)) { (pct(s.conversion.value)) }
                            td { (pct(Some(s.target))) }
                            td { (money(s.leak_cents)) }
                        }
                    }
                }
            } }
            p.muted {
                "Entries = advanced + lost + moved back + still in. Conversion = advanced ÷ (advanced + lost). \
                 Leak = lost × average won value (" (or_dash(f.average_won_cents.map(money))) "). The bottleneck is the \
                 stage with the largest (target − actual) × entries × value, flagged only when the target lies above \
                 the 95% interval."
            }
        }
    }
}

/// A breakdown as a table, with only the columns that mean something for its dimension: reps
/// hold no consultations (no held, no close rate), and only sold consultations have a tier (a
/// tier's close and win rates would be 100% by construction). A row with nothing in it (a rep
/// who decided nothing in the range) is left out.
fn breakdown_table(title: &str, dim: Dimension, rows: &[BreakdownRow], query: &str) -> Markup {
    let (held, rates) = match dim {
        Dimension::Rep => (false, true),
        Dimension::Tier => (false, false),
        _ => (true, true),
    };
    let rows: Vec<&BreakdownRow> = rows
        .iter()
        .filter(|r| !(dim == Dimension::Rep && r.held == 0 && r.won == 0 && r.win_rate.n == 0))
        .collect();
    html! {
        section {
            h3 { "By " (title) }
            @if rows.is_empty() {
                p.muted { "Nothing in this range." }
            } @else {
            div.scroll { table.sortable {
                thead { tr {
                    th { button type="button" { (title) } }
                    @if held { th { button type="button" { "Held" } } th { button type="button" { "Close rate" } } }
                    @if rates { th { button type="button" { "Win rate" } } }
                    @for column in ["Won", "Revenue", "Avg ticket"] { th { button type="button" { (column) } } }
                } }
                tbody {
                    @for r in &rows {
                        tr {
                            td { (r.key) }
                            @if held {
                                td data-v=(r.held) { (r.held) }
                                td data-v=(r.close_rate.value.unwrap_or(-1.0)) title=(rate_note(&r.close_rate))
                                    class=[r.close_rate.too_small.then_some("small")] { (pct(r.close_rate.value)) }
                            }
                            @if rates {
                                td data-v=(r.win_rate.value.unwrap_or(-1.0)) title=(rate_note(&r.win_rate)) { (pct(r.win_rate.value)) }
                            }
                            td data-v=(r.won) { (r.won) }
                            td data-v=(r.revenue_cents) { (money(r.revenue_cents)) }
                            td data-v=(r.average_ticket_cents.unwrap_or(0)) { (or_dash(r.average_ticket_cents.map(money))) }
                        }
                    }
                }
            } }
            }
            p { a href=(format!("/api/analytics/export/breakdown-{}?{query}", dim.as_str())) { "Download CSV" } }
        }
    }
}

fn days(s: Option<i64>) -> String {
    or_dash(s.map(|s| format!("{:.1} days", s as f64 / 86_400.0)))
}

fn curve(d: &Dashboard) -> Markup {
    let points = &d.sales_cycle.curve;
    let (w, h) = (320.0, 140.0);
    let horizon = points.last().map(|p| p.day).unwrap_or(1).max(1) as f64;
    let mut path = format!("M0,{h}");
    let mut last_y = h;
    for p in points {
        let (x, y) = (p.day as f64 / horizon * w, h - p.closed * h);
        let _ = write!(path, " L{x:.1},{last_y:.1} L{x:.1},{y:.1}");
        last_y = y;
    }
    let by_then = format!("{} by day {horizon}", pct(points.last().map(|p| p.closed)));
    let cycle = &d.sales_cycle.from_lead;
    html! {
        section aria-labelledby="h-curve" {
            h2 #h-curve { "Time to close" }
            figure {
            svg.chart viewBox=(format!("-36 -8 {} {}", w + 44.0, h + 28.0)) role="img"
                aria-label=(format!("share of consultations closed by day since the visit; {by_then}")) {
                text.tick x="-4" y="4" text-anchor="end" { "100%" }
                text.tick x="-4" y=(format!("{:.1}", h / 2.0 + 4.0)) text-anchor="end" { "50%" }
                text.tick x="-4" y=(h) text-anchor="end" { "0%" }
                line x1="0" y1="0" x2="0" y2=(h) class="axis" {}
                line x1="0" y1=(h) x2=(w) y2=(h) class="axis" {}
                text.tick x="0" y=(h + 14.0) { "day 0" }
                text.tick x=(w) y=(h + 14.0) text-anchor="end" { "day " (horizon) }
                path d=(path) fill="none" stroke="currentColor" stroke-width="2" {}
                @for p in points {
                    (tap_point(p.day as f64 / horizon * w, h - p.closed * h,
                        &format!("Day {}: {} closed", p.day, pct(Some(p.closed)))))
                }
            }
            figcaption.tap-value aria-live="polite" { (by_then) " · tap a point" }
            }
            p.muted {
                "Kaplan–Meier: share of consultations held in the range that closed by each day since the visit; \
                 open ones are censored, lost ones never close. " (by_then) ". Sales cycle (won in range): median "
                (days(cycle.median)) ", P75 " (days(cycle.p75)) ", P90 " (days(cycle.p90)) " from lead."
            }
            p { a href="/api/analytics/export/time-to-close" { "Download CSV" } }
        }
    }
}

fn cohorts(d: &Dashboard, query: &str) -> Markup {
    html! {
        section aria-labelledby="h-cohorts" {
            h2 #h-cohorts { "Cohorts: share closed by week since the consultation" }
            div.scroll { table {
                thead { tr {
                    th { "Month held" } th { "Held" }
                    @for w in 1..=report::COHORT_WEEKS { th { "Wk " (w) } }
                } }
                tbody {
                    @for c in &d.cohorts {
                        tr {
                            td { (c.month.format("%b %Y")) } td { (c.held) }
                            @for v in &c.closed_by_week {
                                @match v {
                                    Some(v) => td { (pct(Some(*v))) },
                                    None => td.muted title="not mature yet" { "…" },
                                }
                            }
                        }
                    }
                }
            } }
            p { a href=(format!("/api/analytics/export/cohorts?{query}")) { "Download CSV" } }
        }
    }
}

fn lost_and_tiers(d: &Dashboard, query: &str) -> Markup {
    html! {
        section aria-labelledby="h-lost" {
            h2 #h-lost { "Lost reasons" }
            div.scroll { table {
                thead { tr { th { "Reason" } th { "Count" } th { "Share" } th { "Value" } } }
                tbody {
                    @for r in &d.lost_reasons {
                        tr {
                            td { (r.reason.replace('_', " ")) } td { (r.count) }
                            td { (pct(Some(r.share))) } td { (money(r.value_cents)) }
                        }
                    }
                }
            } }
            p { a href=(format!("/api/analytics/export/lost-reasons?{query}")) { "Download CSV" } }
        }
        section aria-labelledby="h-tiers" {
            h2 #h-tiers { "Which tier sells" }
            div.scroll { table {
                thead { tr { th { "Tier" } th { "Won" } th { "Share of wins" } th { "Avg ticket" } } }
                tbody {
                    @for t in &d.tiers {
                        tr {
                            td { (t.tier) } td { (t.won) }
                            td { (pct(Some(t.share_of_wins))) } td { (money(t.average_ticket_cents)) }
                        }
                    }
                }
            } }
            p { a href=(format!("/api/analytics/export/tiers?{query}")) { "Download CSV" } }
        }
    }
}

/// Before/after each recorded process change; `form`: with the form that records one.
pub fn before_after(d: &Dashboard, form: bool) -> Markup {
    html! {
        section aria-labelledby="h-ba" {
            h2 #h-ba { "Before / after a process change" }
            @if d.before_after.is_empty() { p.muted { "No process change recorded yet." } }
            @for b in &d.before_after {
                h3 { (b.change) " — " (b.changed_on) }
                p.muted {
                    (b.days) " days before vs " (b.days) " days from the change"
                    @if !b.mature { " · not mature yet: outcomes are still coming in" } "."
                }
                div.scroll { table {
                    thead { tr { th { "KPI" } th { "Before" } th { "After" } th { "Difference" } th { "Real?" } } }
                    tbody {
                        @for (name, c) in [("Close rate", &b.close_rate), ("Win rate", &b.win_rate), ("Lead → consultation", &b.lead_to_consultation)] {
                            tr {
                                td { (name) }
                                td { (pct(c.before.value)) " " span.muted { "n=" (c.before.n) } }
                                td { (pct(c.after.value)) " " span.muted { "n=" (c.after.n) } }
                                td { (or_dash(c.difference.map(|d| format!("{:+.1} pts", d * 100.0)))) }
                                td {
                                    @match c.p_value {
                                        Some(p) if c.significant => { "yes (p = " (format!("{p:.3}")) ")" },
                                        Some(p) => { "not shown (p = " (format!("{p:.2}")) ")" },
                                        None => "—",
                                    }
                                }
                            }
                        }
                    }
                } }
            }
            @if form { form #change-form.inline {
                label { "What changed " input name="name" required maxlength="200" placeholder="New price book"; }
                label { "On " input name="changed_on" type="date" required; }
                button type="submit" { "Record change" }
                output #change-msg role="status" {}
            } }
        }
    }
}

/// A person the filters offer.
pub struct Person {
    id: String,
    name: String,
    role: Role,
}

/// The dashboard's filters, as a form that sends them to `action` (each report page keeps them);
/// the options list the company's people, sources and services.
pub fn filters(
    action: &str,
    q: &ReportQuery,
    from: chrono::NaiveDate,
    to: chrono::NaiveDate,
    people: &[Person],
    sources: &[String],
    services: &[String],
) -> Markup {
    let is = |v: &Option<String>, x: &str| v.as_deref() == Some(x);
    html! {
        form.filters method="get" action=(action) {
            label { "From " input type="date" name="from" value=(from); }
            label { "To " input type="date" name="to" value=(to); }
            label { "Trend by " select name="period" {
                @for p in ["week", "month", "quarter", "year"] {
                    option value=(p) selected[q.period.as_deref().unwrap_or("month") == p] { (p) }
                }
            } }
            label { "Technician " select name="technician" {
                option value="" { "All" }
                @for p in people.iter().filter(|p| p.role != Role::SalesRep) {
                    option value=(p.id) selected[is(&q.technician, &p.id)] {
                        (p.name) @if p.role == Role::Manager { " (manager)" }
                    }
                }
            } }
            label { "Sales rep " select name="rep" {
                option value="" { "All" }
                @for p in people.iter().filter(|p| p.role != Role::Technician) {
                    option value=(p.id) selected[is(&q.rep, &p.id)] { (p.name) }
                }
            } }
            label { "Source " select name="source" {
                option value="" { "All" }
                @for s in sources { option selected[is(&q.source, s)] { (s) } }
            } }
            label { "Service " select name="service" {
                option value="" { "All" }
                @for s in services { option selected[is(&q.service, s)] { (s) } }
            } }
            button type="submit" { "Apply" }
        }
    }
}

/// The keys of `dim`'s breakdown rows: the sources or services the filter form offers.
pub fn keys(breakdowns: &[(Dimension, Vec<BreakdownRow>)], dim: Dimension) -> Vec<String> {
    let rows = breakdowns.iter().find(|b| b.0 == dim).map(|b| &b.1[..]).unwrap_or_default();
    rows.iter().map(|row| row.key.clone()).collect()
}

/// Everyone's name by id (breakdown rows name people who have since left), and the active
/// people the filters offer.
pub async fn people(
    pool: &sqlx::PgPool,
    company: uuid::Uuid,
) -> Result<(HashMap<String, String>, Vec<Person>), ApiError> {
    let everyone = sqlx::query!(
        r#"select id, name, role as "role: Role", active from users where company_id = $1 order by name"#,
        company
    )
    .fetch_all(pool)
    .await?;
    let names = everyone.iter().map(|p| (p.id.to_string(), p.name.clone())).collect();
    let active = everyone
        .into_iter()
        .filter(|p| p.active)
        .map(|p| Person { id: p.id.to_string(), name: p.name, role: p.role })
        .collect();
    Ok((names, active))
}

/// A server-rendered report page: `title` (and the company's name) in its heading, a link back,
/// `main` as its content; `/reports.js` when its charts and sortable tables need it.
pub fn document(title: &str, company: &str, back: (&str, &str), script: bool, main: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " · Fieldclose" }
                meta name="theme-color" content="#0b2f55";
                link rel="icon" href="/favicon.ico";
                link rel="manifest" href="/manifest.webmanifest";
                link rel="stylesheet" href="/reports.css";
                @if script { script src="/reports.js" defer {} }
            }
            body {
                header { h1 { (title) " · " (company) } a href=(back.0) { (back.1) } }
                main { (main) }
            }
        }
    }
}

/// The manager a report page is for; anyone else is sent on: to sign in, or to the app.
pub fn manager_or_sent_on(user: Option<CurrentUser>) -> Result<CurrentUser, Redirect> {
    match user {
        None => Err(Redirect::to("/login")),
        Some(user) if user.role() != Role::Manager => Err(Redirect::to("/")),
        Some(user) => Ok(user),
    }
}

/// `GET /reports`
pub async fn reports(
    State(state): State<AppState>,
    user: Option<CurrentUser>,
    Query(q): Query<ReportQuery>,
) -> Result<Response, ApiError> {
    let user = match manager_or_sent_on(user) {
        Ok(user) => user,
        Err(elsewhere) => return Ok(elsewhere.into_response()),
    };
    let query = serde_urlencoded::to_string([
        ("from", q.from.clone().unwrap_or_default()),
        ("to", q.to.clone().unwrap_or_default()),
        ("technician", q.technician.clone().unwrap_or_default()),
        ("rep", q.rep.clone().unwrap_or_default()),
        ("source", q.source.clone().unwrap_or_default()),
        ("service", q.service.clone().unwrap_or_default()),
    ])
    .unwrap_or_default();
    let spend = super::spend::load(&state.pool, user.company_id()).await?;
    let (d, breakdowns, sources, services, marketing_report) =
        with_context(&state, &user, &q, move |cx, r, changes| {
            let (d, b) = dashboard_with_breakdowns(cx, r.range, r.period, changes, &Dimension::ALL);
            let m = report::marketing(cx, r.range, &spend);
            let (sources, services) = (keys(&b, Dimension::Source), keys(&b, Dimension::Service));
            (d, b, sources, services, m)
        })
        .await?;
    let (people_names, people) = people(&state.pool, user.company_id()).await?;
    let model_pipeline = super::close_model::route::pipeline(&state, user.company_id()).await?;
    let breakdowns = breakdowns.into_iter().map(|(dim, mut rows)| {
        if matches!(dim, Dimension::Technician | Dimension::Rep) {
            for r in &mut rows {
                if let Some(n) = people_names.get(&r.key) {
                    r.key = n.clone();
                }
            }
        }
        let title = match dim {
            Dimension::Technician => "technician",
            Dimension::Rep => "sales rep (closed by)",
            Dimension::Source => "lead source",
            Dimension::Service => "service type",
            Dimension::Tier => "option tier",
        };
        breakdown_table(title, dim, &rows, &query)
    });

    let main = html! {
        (filters("/reports", &q, d.from, d.to, &people, &sources, &services))
        p.muted {
            (d.from) " to " (d.to) " · revenue closed " (money(d.revenue.revenue_cents))
            " (" (d.revenue.won) " won, average ticket " (or_dash(d.revenue.average_ticket_cents.map(money)))
            ") · pipeline " (money(d.revenue.pipeline_cents)) " across " (d.revenue.open_quotes)
            " open quotes at the base rate by service; company-wide by the "
            span data-testid="pipeline-model" { (model_pipeline.2) } ", " (money(model_pipeline.0)) " across "
            (model_pipeline.1) " ("
            a href="/reports/close-model" { "close probability" } ", "
            a href=(format!("/reports/coaching?{query}")) { "coaching" } ", "
            a href=(format!("/reports/process-map?{query}")) { "process map" } ", "
            a href="/reports/quarterly" { "quarterly review" } ") · "
            a href=(format!("/api/analytics/export/headline?{query}")) { "CSV" }
            " · raw " a href=(format!("/api/analytics/export/consultations?{query}")) { "consultations" }
            ", " a href=(format!("/api/analytics/export/events?{query}")) { "events" }
        }
        (headline(&d))
        (speed(&d))
        (funnel(&d))
        (marketing(&marketing_report))
        h2 { "Breakdowns" }
        p.muted {
            "Close rate by the month held, win rate and revenue by the decision date. Tap a column to \
             sort. Grey: fewer than 20, too few to judge."
        }
        @for table in breakdowns { (table) }
        (curve(&d))
        (cohorts(&d, &query))
        (lost_and_tiers(&d, &query))
        (before_after(&d, true))
    };
    let page = document("Reports", &user.0.company_name, ("/dashboard", "Back to the app"), true, main);
    Ok(Html(page.into_string()).into_response())
}
