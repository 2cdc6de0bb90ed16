//! `GET /reports`: the manager dashboard, rendered on the server as one HTML page with inline SVG
//! charts. No wasm: it is read on tablets and desktops, often on a slow connection, and every
//! number is on the page when it arrives. A few lines of script sort tables and record process
//! changes; without script everything still reads.

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
use std::{collections::HashMap, fmt::Write};

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

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

fn kpi_value(k: &Kpi) -> String {
    match (k.unit, k.value) {
        (_, None) => "—".into(),
        (Unit::Share, Some(v)) => pct(Some(v)),
        (Unit::Minutes, Some(v)) if v >= 120.0 => format!("{:.1} h", v / 60.0),
        (Unit::Minutes, Some(v)) => format!("{v:.0} min"),
        (Unit::Days, Some(v)) => format!("{v:.1} days"),
    }
}

fn kpi_target(k: &Kpi) -> String {
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

/// A sparkline of a series (gaps where a period has no value), scaled to its own range.
fn sparkline(values: &[Option<f64>]) -> String {
    let (w, h) = (120.0, 28.0);
    let present: Vec<f64> = values.iter().flatten().copied().collect();
    if present.len() < 2 {
        return String::new();
    }
    let (lo, hi) = present.iter().fold((f64::MAX, f64::MIN), |(a, b), &v| (a.min(v), b.max(v)));
    let span = if hi > lo { hi - lo } else { 1.0 };
    let step = w / (values.len().max(2) - 1) as f64;
    let mut path = String::new();
    let mut pen_down = false;
    for (i, v) in values.iter().enumerate() {
        match v {
            Some(v) => {
                let (x, y) = (i as f64 * step, h - 2.0 - (v - lo) / span * (h - 4.0));
                let _ = write!(path, "{}{x:.1},{y:.1} ", if pen_down { "L" } else { "M" });
                pen_down = true;
            }
            None => pen_down = false,
        }
    }
    format!(
        r#"<svg class="spark" viewBox="0 0 {w} {h}" width="{w}" height="{h}" role="img" aria-label="trend over the periods"><path d="{path}" fill="none" stroke="currentColor" stroke-width="1.5"/></svg>"#
    )
}

fn headline(out: &mut String, d: &Dashboard) {
    out.push_str(r#"<section aria-labelledby="h-kpis"><h2 id="h-kpis">Headline, against target</h2><div class="cards">"#);
    for k in &d.headline {
        let small = k.rate.is_some_and(|r| r.too_small) || k.n < super::stats::MIN_N;
        let verdict = match k.met {
            Some(true) => r#"<span class="ok">✓ on target</span>"#,
            Some(false) => r#"<span class="off">✗ off target</span>"#,
            None => r#"<span class="muted">no data</span>"#,
        };
        let note = k.rate.as_ref().map(rate_note).unwrap_or_else(|| format!("n = {}", k.n));
        let _ = write!(
            out,
            r#"<article class="card{small}"><h3>{label}</h3><p class="big">{value}</p><p>target {target} · {verdict}</p><p class="muted">{note}{too}</p>{spark}<details><summary>Definition</summary><p>{def}</p></details></article>"#,
            small = if small { " small" } else { "" },
            label = esc(k.label),
            value = kpi_value(k),
            target = kpi_target(k),
            note = esc(&note),
            too = if small { " · too few to judge" } else { "" },
            spark = sparkline(&k.trend),
            def = esc(k.definition),
        );
    }
    out.push_str("</div></section>");
}

fn funnel(out: &mut String, d: &Dashboard) {
    let f = &d.funnel;
    let max = f.stages.iter().map(|s| s.entries).max().unwrap_or(1).max(1) as f64;
    out.push_str(r#"<section aria-labelledby="h-funnel"><h2 id="h-funnel">Funnel and leaks</h2>"#);
    let (w, row) = (320.0, 34.0);
    let _ = write!(
        out,
        r#"<svg class="chart" viewBox="0 0 {w} {}" role="img" aria-label="funnel: entries and advanced per stage">"#,
        row * f.stages.len() as f64
    );
    for (i, s) in f.stages.iter().enumerate() {
        let y = i as f64 * row;
        let (we, wa) = (s.entries as f64 / max * w, s.advanced as f64 / max * w);
        let _ = write!(
            out,
            r#"<rect x="0" y="{y}" width="{we:.1}" height="14" class="bar-in"/><rect x="0" y="{:.1}" width="{wa:.1}" height="10" class="bar-adv"/><text x="2" y="{:.1}" class="lbl">{} {}</text>"#,
            y + 2.0,
            y + 28.0,
            esc(s.name),
            if s.bottleneck { "⚠ bottleneck" } else { "" }
        );
    }
    out.push_str("</svg>");
    out.push_str(r#"<div class="scroll"><table><thead><tr><th>Stage</th><th>Entries</th><th>Advanced</th><th>Lost</th><th>Moved back</th><th>Still in</th><th>Conversion</th><th>Target</th><th>Leak</th></tr></thead><tbody>"#);
    for s in &f.stages {
        let _ = write!(
            out,
            r#"<tr{}><td>{}{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td title="{}">{}</td><td>{}</td><td>{}</td></tr>"#,
            if s.bottleneck { r#" class="flag""# } else { "" },
            esc(s.name),
            if s.bottleneck { " ⚠ bottleneck" } else { "" },
            s.entries,
            s.advanced,
            s.lost,
            s.moved_back,
            s.still_in,
            esc(&rate_note(&s.conversion)),
            pct(s.conversion.value),
            pct(Some(s.target)),
            money(s.leak_cents),
        );
    }
    let _ = write!(
        out,
        "</tbody></table></div><p class=\"muted\">Entries = advanced + lost + moved back + still in. Conversion = advanced ÷ (advanced + lost). Leak = lost × average won value ({}). The bottleneck is the stage with the largest (target − actual) × entries × value, flagged only when the target lies above the 95% interval.</p></section>",
        f.average_won_cents.map(money).unwrap_or_else(|| "—".into())
    );
}

fn breakdown_table(out: &mut String, title: &str, dim: Dimension, rows: &[BreakdownRow], query: &str) {
    let _ = write!(
        out,
        r#"<section><h3>By {title}</h3><div class="scroll"><table class="sortable"><thead><tr><th><button type="button">{title}</button></th><th><button type="button">Held</button></th><th><button type="button">Close rate</button></th><th><button type="button">Win rate</button></th><th><button type="button">Won</button></th><th><button type="button">Revenue</button></th><th><button type="button">Avg ticket</button></th></tr></thead><tbody>"#
    );
    for r in rows {
        let _ = write!(
            out,
            r#"<tr><td>{}</td><td data-v="{}">{}</td><td data-v="{}" title="{}" class="{}">{}</td><td data-v="{}" title="{}">{}</td><td data-v="{}">{}</td><td data-v="{}">{}</td><td data-v="{}">{}</td></tr>"#,
            esc(&r.key),
            r.held,
            r.held,
            r.close_rate.value.unwrap_or(-1.0),
            esc(&rate_note(&r.close_rate)),
            if r.close_rate.too_small { "small" } else { "" },
            pct(r.close_rate.value),
            r.win_rate.value.unwrap_or(-1.0),
            esc(&rate_note(&r.win_rate)),
            pct(r.win_rate.value),
            r.won,
            r.won,
            r.revenue_cents,
            money(r.revenue_cents),
            r.average_ticket_cents.unwrap_or(0),
            r.average_ticket_cents.map(money).unwrap_or_else(|| "—".into()),
        );
    }
    let _ = write!(
        out,
        r#"</tbody></table></div><p><a href="/api/analytics/export/breakdown-{}?{}">Download CSV</a></p></section>"#,
        dim.as_str(),
        esc(query)
    );
}

fn curve(out: &mut String, d: &Dashboard) {
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
    let final_share = points.last().map(|p| p.closed);
    let _ = write!(
        out,
        r#"<section aria-labelledby="h-curve"><h2 id="h-curve">Time to close</h2><svg class="chart" viewBox="-2 -2 {} {}" role="img" aria-label="share of consultations closed by day since the visit; {} by day {}"><path d="{path}" fill="none" stroke="currentColor" stroke-width="2"/><line x1="0" y1="{h}" x2="{w}" y2="{h}" class="axis"/></svg><p class="muted">Kaplan–Meier: share of consultations held in the range that closed by each day since the visit; open ones are censored, lost ones never close. {} by day {}. Sales cycle (won in range): median {}, P75 {}, P90 {} from lead.</p><p><a href="/api/analytics/export/time-to-close">Download CSV</a></p></section>"#,
        w + 4.0,
        h + 4.0,
        pct(final_share),
        horizon,
        pct(final_share),
        horizon,
        days(d.sales_cycle.from_lead.median),
        days(d.sales_cycle.from_lead.p75),
        days(d.sales_cycle.from_lead.p90),
    );
}

fn days(s: Option<i64>) -> String {
    s.map(|s| format!("{:.1} days", s as f64 / 86_400.0)).unwrap_or_else(|| "—".into())
}

fn cohorts(out: &mut String, d: &Dashboard, query: &str) {
    out.push_str(r#"<section aria-labelledby="h-cohorts"><h2 id="h-cohorts">Cohorts: share closed by week since the consultation</h2><div class="scroll"><table><thead><tr><th>Month held</th><th>Held</th>"#);
    for w in 1..=report::COHORT_WEEKS {
        let _ = write!(out, "<th>Wk {w}</th>");
    }
    out.push_str("</tr></thead><tbody>");
    for c in &d.cohorts {
        let _ = write!(out, "<tr><td>{}</td><td>{}</td>", c.month.format("%b %Y"), c.held);
        for v in &c.closed_by_week {
            match v {
                Some(v) => {
                    let _ = write!(out, "<td>{}</td>", pct(Some(*v)));
                }
                None => out.push_str(r#"<td class="muted" title="not mature yet">…</td>"#),
            }
        }
        out.push_str("</tr>");
    }
    let _ = write!(
        out,
        r#"</tbody></table></div><p><a href="/api/analytics/export/cohorts?{}">Download CSV</a></p></section>"#,
        esc(query)
    );
}

fn lost_and_tiers(out: &mut String, d: &Dashboard, query: &str) {
    out.push_str(r#"<section aria-labelledby="h-lost"><h2 id="h-lost">Lost reasons</h2><div class="scroll"><table><thead><tr><th>Reason</th><th>Count</th><th>Share</th><th>Value</th></tr></thead><tbody>"#);
    for r in &d.lost_reasons {
        let _ = write!(
            out,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            esc(&r.reason.replace('_', " ")),
            r.count,
            pct(Some(r.share)),
            money(r.value_cents)
        );
    }
    let _ = write!(
        out,
        r#"</tbody></table></div><p><a href="/api/analytics/export/lost-reasons?{}">Download CSV</a></p></section>"#,
        esc(query)
    );
    out.push_str(r#"<section aria-labelledby="h-tiers"><h2 id="h-tiers">Which tier sells</h2><div class="scroll"><table><thead><tr><th>Tier</th><th>Won</th><th>Share of wins</th><th>Avg ticket</th></tr></thead><tbody>"#);
    for t in &d.tiers {
        let _ = write!(
            out,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            esc(&t.tier),
            t.won,
            pct(Some(t.share_of_wins)),
            money(t.average_ticket_cents)
        );
    }
    let _ = write!(
        out,
        r#"</tbody></table></div><p><a href="/api/analytics/export/tiers?{}">Download CSV</a></p></section>"#,
        esc(query)
    );
}

fn before_after(out: &mut String, d: &Dashboard) {
    out.push_str(r#"<section aria-labelledby="h-ba"><h2 id="h-ba">Before / after a process change</h2>"#);
    if d.before_after.is_empty() {
        out.push_str(r#"<p class="muted">No process change recorded yet.</p>"#);
    }
    for b in &d.before_after {
        let _ = write!(
            out,
            r#"<h3>{} — {}</h3><p class="muted">{} days before vs {} days from the change{}.</p><div class="scroll"><table><thead><tr><th>KPI</th><th>Before</th><th>After</th><th>Difference</th><th>Real?</th></tr></thead><tbody>"#,
            esc(&b.change),
            b.changed_on,
            b.days,
            b.days,
            if b.mature { "" } else { " · not mature yet: outcomes are still coming in" }
        );
        for (name, c) in [
            ("Close rate", &b.close_rate),
            ("Win rate", &b.win_rate),
            ("Lead → consultation", &b.lead_to_consultation),
        ] {
            let _ = write!(
                out,
                "<tr><td>{name}</td><td>{} <span class=\"muted\">n={}</span></td><td>{} <span class=\"muted\">n={}</span></td><td>{}</td><td>{}</td></tr>",
                pct(c.before.value),
                c.before.n,
                pct(c.after.value),
                c.after.n,
                c.difference.map(|d| format!("{:+.1} pts", d * 100.0)).unwrap_or_else(|| "—".into()),
                match c.p_value {
                    Some(p) if c.significant => format!("yes (p = {p:.3})"),
                    Some(p) => format!("not shown (p = {p:.2})"),
                    None => "—".into(),
                }
            );
        }
        out.push_str("</tbody></table></div>");
    }
    out.push_str(r#"<form id="change-form" class="inline"><label>What changed <input name="name" required maxlength="200" placeholder="New price book"></label><label>On <input name="changed_on" type="date" required></label><button type="submit">Record change</button><output id="change-msg" role="status"></output></form></section>"#);
}

/// The filter form; the options list the company's people, sources and services.
fn filters(
    out: &mut String,
    q: &ReportQuery,
    d: &Dashboard,
    people: &[(String, String, String)],
    sources: &[String],
    services: &[String],
) {
    let sel = |v: &Option<String>, x: &str| if v.as_deref() == Some(x) { " selected" } else { "" };
    let _ = write!(
        out,
        r#"<form method="get" action="/reports" class="filters"><label>From <input type="date" name="from" value="{}"></label><label>To <input type="date" name="to" value="{}"></label><label>Trend by <select name="period">"#,
        d.from, d.to
    );
    for p in ["week", "month", "quarter", "year"] {
        let on = q.period.as_deref().unwrap_or("month") == p;
        let _ = write!(out, r#"<option value="{p}"{}>{p}</option>"#, if on { " selected" } else { "" });
    }
    out.push_str(
        r#"</select></label><label>Technician <select name="technician"><option value="">All</option>"#,
    );
    for (id, name, role) in people.iter().filter(|p| p.2 != "sales_rep") {
        let _ = write!(
            out,
            r#"<option value="{id}"{}>{}{}</option>"#,
            sel(&q.technician, id),
            esc(name),
            if role == "manager" { " (manager)" } else { "" }
        );
    }
    out.push_str(r#"</select></label><label>Sales rep <select name="rep"><option value="">All</option>"#);
    for (id, name, _) in people.iter().filter(|p| p.2 != "technician") {
        let _ = write!(out, r#"<option value="{id}"{}>{}</option>"#, sel(&q.rep, id), esc(name));
    }
    out.push_str(r#"</select></label><label>Source <select name="source"><option value="">All</option>"#);
    for s in sources {
        let _ = write!(out, r#"<option{}>{}</option>"#, sel(&q.source, s), esc(s));
    }
    out.push_str(r#"</select></label><label>Service <select name="service"><option value="">All</option>"#);
    for s in services {
        let _ = write!(out, r#"<option{}>{}</option>"#, sel(&q.service, s), esc(s));
    }
    out.push_str(r#"</select></label><button type="submit">Apply</button></form>"#);
}

const STYLE: &str = r#"
:root{--fg:#111;--bg:#fff;--muted:#555;--line:#ccc;--accent:#0b5cad;--ok:#0a6b2d;--off:#a4161a}
*{box-sizing:border-box}body{margin:0;font:16px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:var(--fg);background:var(--bg)}
header{display:flex;gap:1rem;align-items:center;justify-content:space-between;padding:.75rem 1rem;background:#0b2f55;color:#fff}
header a{color:#fff;min-height:44px;display:inline-flex;align-items:center}
main{padding:1rem;max-width:1200px;margin:0 auto}h1{font-size:1.4rem;margin:0}h2{font-size:1.2rem;margin:1.5rem 0 .5rem}h3{font-size:1rem;margin:.25rem 0}
.filters,.inline{display:flex;flex-wrap:wrap;gap:.5rem;align-items:flex-end}.filters label,.inline label{display:flex;flex-direction:column;font-size:.85rem}
input,select,button{font:inherit;min-height:44px;padding:.25rem .5rem}button{background:var(--accent);color:#fff;border:0;border-radius:6px;padding:0 1rem}
.cards{display:grid;grid-template-columns:repeat(auto-fill,minmax(220px,1fr));gap:.75rem}
.card{border:1px solid var(--line);border-radius:8px;padding:.75rem}.card p{margin:.2rem 0}.big{font-size:1.8rem;font-weight:700}
.small .big,.small{color:var(--muted)}.muted{color:var(--muted);font-size:.9rem}.ok{color:var(--ok);font-weight:600}.off{color:var(--off);font-weight:600}
.scroll{overflow-x:auto}table{border-collapse:collapse;width:100%;font-size:.95rem}th,td{text-align:left;padding:.4rem .5rem;border-bottom:1px solid var(--line);white-space:nowrap}
th button{background:none;color:inherit;padding:0;font-weight:700;min-height:44px}td.small{color:var(--muted)}tr.flag td{font-weight:700}
.chart{width:100%;max-width:640px;height:auto}.bar-in{fill:#c9d8ea}.bar-adv{fill:#0b5cad}.lbl{font-size:11px;fill:#111}.axis{stroke:#888}
.spark{color:var(--accent);display:block}a{color:var(--accent)}
"#;

const SCRIPT: &str = r#"
document.querySelectorAll('table.sortable').forEach(function(t){t.querySelectorAll('th button').forEach(function(b,i){b.addEventListener('click',function(){var body=t.tBodies[0],rows=Array.from(body.rows),dir=b.dataset.dir==='d'?1:-1;b.dataset.dir=dir===1?'a':'d';rows.sort(function(x,y){var a=x.cells[i],c=y.cells[i],av=a.dataset.v,cv=c.dataset.v;if(av!==undefined&&cv!==undefined){return dir*(parseFloat(av)-parseFloat(cv))}return dir*a.textContent.localeCompare(c.textContent)});rows.forEach(function(r){body.appendChild(r)})})})});
var f=document.getElementById('change-form');if(f){f.addEventListener('submit',function(e){e.preventDefault();var m=document.getElementById('change-msg');fetch('/api/analytics/changes',{method:'POST',headers:{'content-type':'application/json'},body:JSON.stringify({name:f.name.value,changed_on:f.changed_on.value})}).then(function(r){return r.json().then(function(b){if(r.ok){location.reload()}else{m.textContent=b.error.message}})}).catch(function(){m.textContent='Could not reach the server; try again when online.'})})}
"#;

/// `GET /reports`
pub async fn reports(
    State(state): State<AppState>,
    user: Option<CurrentUser>,
    Query(q): Query<ReportQuery>,
) -> Result<Response, ApiError> {
    let Some(user) = user else { return Ok(Redirect::to("/login").into_response()) };
    if user.role() != Role::Manager {
        return Ok(Redirect::to("/").into_response());
    }
    let query = serde_urlencoded::to_string([
        ("from", q.from.clone().unwrap_or_default()),
        ("to", q.to.clone().unwrap_or_default()),
        ("technician", q.technician.clone().unwrap_or_default()),
        ("rep", q.rep.clone().unwrap_or_default()),
        ("source", q.source.clone().unwrap_or_default()),
        ("service", q.service.clone().unwrap_or_default()),
    ])
    .unwrap_or_default();
    let (d, breakdowns, sources, services) = with_context(&state, &user, &q, |cx, r, changes| {
        let (d, b) = dashboard_with_breakdowns(cx, r.range, r.period, changes, &Dimension::ALL);
        let mut sources = vec![];
        let mut services = vec![];
        for row in &b {
            match row.0 {
                Dimension::Source => sources = row.1.iter().map(|r| r.key.clone()).collect(),
                Dimension::Service => services = row.1.iter().map(|r| r.key.clone()).collect(),
                _ => {}
            }
        }
        (d, b, sources, services)
    })
    .await?;
    // Everyone, once: breakdown rows name people who have since left; the filters offer only
    // the active ones.
    let everyone = sqlx::query!(
        r#"select id, name, role as "role: Role", active from users where company_id = $1 order by name"#,
        user.company_id()
    )
    .fetch_all(&state.pool)
    .await?;
    let people_names: HashMap<String, String> =
        everyone.iter().map(|p| (p.id.to_string(), p.name.clone())).collect();
    let people: Vec<(String, String, String)> = everyone
        .into_iter()
        .filter(|p| p.active)
        .map(|p| (p.id.to_string(), p.name, p.role.as_str().to_string()))
        .collect();

    let mut out = String::with_capacity(64 * 1024);
    let _ = write!(
        out,
        r##"<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>Reports · Fieldclose</title><meta name="theme-color" content="#0b2f55"><link rel="icon" href="/favicon.ico"><style>{STYLE}</style></head><body><header><h1>Reports · {}</h1><a href="/dashboard">Back to the app</a></header><main>"##,
        esc(&user.0.company_name)
    );
    filters(&mut out, &q, &d, &people, &sources, &services);
    let _ = write!(
        out,
        r#"<p class="muted">{} to {} · revenue closed {} ({} won, average ticket {}) · pipeline {} across {} open quotes · <a href="/api/analytics/export/headline?{q}">CSV</a> · raw <a href="/api/analytics/export/consultations?{q}">consultations</a>, <a href="/api/analytics/export/events?{q}">events</a></p>"#,
        d.from,
        d.to,
        money(d.revenue.revenue_cents),
        d.revenue.won,
        d.revenue.average_ticket_cents.map(money).unwrap_or_else(|| "—".into()),
        money(d.revenue.pipeline_cents),
        d.revenue.open_quotes,
        q = esc(&query),
    );
    headline(&mut out, &d);
    funnel(&mut out, &d);
    out.push_str(r#"<h2>Breakdowns</h2><p class="muted">Close rate by the month held, win rate and revenue by the decision date. Tap a column to sort. Grey: fewer than 20, too few to judge.</p>"#);
    for (dim, mut rows) in breakdowns {
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
        breakdown_table(&mut out, title, dim, &rows, &query);
    }
    curve(&mut out, &d);
    cohorts(&mut out, &d, &query);
    lost_and_tiers(&mut out, &d, &query);
    before_after(&mut out, &d);
    let _ = write!(out, "</main><script>{SCRIPT}</script></body></html>");
    Ok(Html(out).into_response())
}
