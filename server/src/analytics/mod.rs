//! Manager analytics: every KPI of METRICS.md (docs/metrics.md says how each is computed).
//!
//! Stage events and rows are folded into one compact fact per lead and per consultation
//! ([`facts`]), kept in memory per company and refreshed by company version ([`load`]); the
//! reports are pure functions of those facts ([`report`], [`stats`]). The HTTP side is
//! [`routes`] (JSON, CSV, settings, process changes, import) and [`page`] (the dashboard).

pub mod business;
pub mod close_model;
pub mod coaching;
pub mod coaching_page;
pub mod csv;
pub mod facts;
pub mod id_index;
pub mod import;
pub mod load;
pub mod page;
pub mod pass;
pub mod process_map;
pub mod process_map_page;
pub mod quarterly;
pub mod report;
pub mod routes;
pub mod settings;
pub mod snapshot;
pub mod spend;
pub mod stats;

#[cfg(test)]
mod fixtures;
#[cfg(test)]
mod naive;

use crate::state::AppState;
use facts::{local_day, Outcome, Secs, DAY};
use report::{Context, DateRange, Period};
use serde::Serialize;
use stats::{Rate, Sample};

/// `/analytics/*`: the reports as JSON and CSV, settings, process changes, and the history
/// import (which alone takes bodies up to [`import::MAX_BYTES`]).
pub fn router() -> utoipa_axum::router::OpenApiRouter<AppState> {
    use utoipa_axum::{router::OpenApiRouter, routes};
    let import = OpenApiRouter::new()
        .routes(routes!(import::import))
        .layer(axum::extract::DefaultBodyLimit::max(import::MAX_BYTES));
    let spend_import = OpenApiRouter::new()
        .routes(routes!(spend::import))
        .layer(axum::extract::DefaultBodyLimit::max(spend::MAX_BYTES));
    OpenApiRouter::new()
        .routes(routes!(routes::get_dashboard))
        .routes(routes!(close_model::route::get_close_model))
        .routes(routes!(close_model::route::get_quote_scores))
        .routes(routes!(coaching::get_coaching))
        .routes(routes!(process_map::get_process_map))
        .routes(routes!(spend::report))
        .routes(routes!(spend::list, spend::put, spend::delete))
        .merge(spend_import)
        .routes(routes!(routes::get_breakdown))
        .routes(routes!(routes::export))
        .routes(routes!(routes::get_settings, routes::put_settings))
        .routes(routes!(routes::list_changes, routes::create_change))
        .merge(import)
}

/// What a headline number counts, which decides how it is shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Unit {
    /// A fraction, 0 to 1 (shown as a percentage).
    Share,
    Minutes,
    Days,
}

impl Unit {
    /// The name in JSON and CSV.
    pub fn as_str(self) -> &'static str {
        match self {
            Unit::Share => "share",
            Unit::Minutes => "minutes",
            Unit::Days => "days",
        }
    }
}

/// One headline number against its target, with its trend and definition.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Kpi {
    pub key: &'static str,
    pub label: &'static str,
    /// METRICS.md's definition, shown beside the number.
    pub definition: &'static str,
    pub unit: Unit,
    pub value: Option<f64>,
    pub target: f64,
    /// Lower is better (speed, cycle, non-selling time).
    pub lower_is_better: bool,
    pub met: Option<bool>,
    /// The rate behind the value (n, interval, still open), where it is a rate.
    pub rate: Option<Rate>,
    pub n: u64,
    /// One value per period of the range, oldest first.
    pub trend: Vec<Option<f64>>,
}

#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Dashboard {
    pub from: chrono::NaiveDate,
    pub to: chrono::NaiveDate,
    pub period: Period,
    pub periods: Vec<chrono::NaiveDate>,
    pub headline: Vec<Kpi>,
    pub speed_to_lead: report::SpeedToLead,
    pub lead_to_consultation: Rate,
    /// Leads of the range out of the lead → consultation denominator, by reason.
    pub disqualified_leads: Vec<report::DisqualifiedLeads>,
    pub close_rate: report::CloseRate,
    pub win_rate: report::WinRate,
    pub sales_cycle: report::SalesCycle,
    pub non_selling: report::NonSelling,
    pub revenue: report::Revenue,
    pub funnel: report::Funnel,
    pub lost_reasons: Vec<report::LostReason>,
    pub tiers: Vec<report::TierRow>,
    pub cohorts: Vec<report::CohortRow>,
    pub before_after: Vec<report::BeforeAfter>,
}

/// A dated, named process change a manager recorded.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct ProcessChange {
    pub id: uuid::Uuid,
    pub name: String,
    pub changed_on: chrono::NaiveDate,
}

/// Days of each before/after period.
pub const COMPARISON_DAYS: u32 = 90;

pub fn dashboard(cx: &Context, range: DateRange, period: Period, changes: &[ProcessChange]) -> Dashboard {
    dashboard_with_breakdowns(cx, range, period, changes, &[]).0
}

/// The dashboard and, in the same pass, the breakdown tables by `dims` (the HTML page shows
/// them all).
pub fn dashboard_with_breakdowns(
    cx: &Context,
    range: DateRange,
    period: Period,
    changes: &[ProcessChange],
    dims: &[report::Dimension],
) -> (Dashboard, Vec<(report::Dimension, Vec<report::BreakdownRow>)>) {
    // Every report is an accumulator; the pass feeds them all, chunk by chunk, and keeps each
    // settled chunk's part for the next dashboard over the same range (`pass`).
    let query = pass::Query { range, period, changes, dims };
    let pass::DashboardReports {
        speed,
        l2c,
        close,
        win,
        cycle,
        revenue,
        funnel,
        lost,
        tiers,
        cohorts,
        breakdowns,
        trends,
        before_after,
        non_selling,
    } = pass::run(cx, &query);
    let breakdowns: Vec<_> = dims.iter().zip(breakdowns).map(|(&dim, b)| (dim, b.finish(cx))).collect();
    let speed = speed.finish(cx);
    let disqualified = l2c.disqualified(cx);
    let l2c = l2c.finish();
    let close = close.finish();
    let win = win.finish();
    let cycle = cycle.finish();
    let revenue = revenue.finish();
    let non = non_selling.finish();
    let t = &cx.settings.targets;
    let trends = trends.finish();
    let pick = |f: fn(&TrendPoint) -> Option<f64>| trends.iter().map(f).collect::<Vec<_>>();
    let kpi = |key,
               label,
               definition,
               unit: Unit,
               value: Option<f64>,
               target: f64,
               lower: bool,
               rate: Option<Rate>,
               n| Kpi {
        key,
        label,
        definition,
        unit,
        value,
        target,
        lower_is_better: lower,
        met: value.map(|v| if lower { v <= target } else { v >= target }),
        rate,
        n,
        trend: vec![],
    };
    let mut headline = vec![
        kpi(
            "speed_to_lead",
            "Speed to lead",
            "Median minutes from lead created to first human contact, leads created in the range.",
            Unit::Minutes,
            speed.median_seconds.map(|s| s as f64 / 60.0),
            t.speed_to_lead_minutes,
            true,
            None,
            speed.contacted,
        ),
        kpi(
            "lead_to_consultation",
            "Lead → consultation",
            "Leads created in the range with a consultation held within the window ÷ those leads (open ones stay in).",
            Unit::Share,
            l2c.value,
            t.lead_to_consultation,
            false,
            Some(l2c),
            l2c.n,
        ),
        kpi(
            "close_rate",
            "Close rate",
            "Consultations held in the range won (at or above the sold threshold) within the window ÷ consultations held.",
            Unit::Share,
            close.all.value,
            t.close_rate,
            false,
            Some(close.all),
            close.all.n,
        ),
        kpi(
            "sales_cycle",
            "Sales cycle",
            "Median days from lead created to close, deals won in the range.",
            Unit::Days,
            cycle.from_lead.median.map(|s| s as f64 / DAY as f64),
            t.sales_cycle_days,
            true,
            None,
            cycle.from_lead.n,
        ),
        kpi(
            "win_rate",
            "Win rate",
            "Won ÷ (won + lost) of decisions dated in the range; quotes idle past the stale window count as lost.",
            Unit::Share,
            win.count.value,
            t.win_rate,
            false,
            Some(win.count),
            win.count.n,
        ),
        kpi(
            "non_selling",
            "Non-selling time",
            "Non-selling hours (driving, admin, waiting, other) ÷ logged hours, entries started in the range.",
            Unit::Share,
            non.share,
            t.non_selling_share,
            true,
            None,
            non.entries,
        ),
    ];
    let series = [
        pick(|p| p.speed_minutes),
        pick(|p| p.lead_to_consultation),
        pick(|p| p.close_rate),
        pick(|p| p.cycle_days),
        pick(|p| p.win_rate),
        pick(|p| p.non_selling),
    ];
    for (k, s) in headline.iter_mut().zip(series) {
        k.trend = s;
    }
    let dashboard = Dashboard {
        from: range.from,
        to: range.to,
        period,
        periods: trends.iter().map(|p| p.start).collect(),
        headline,
        speed_to_lead: speed,
        lead_to_consultation: l2c,
        disqualified_leads: disqualified,
        close_rate: close,
        win_rate: win,
        sales_cycle: cycle,
        non_selling: non,
        revenue,
        funnel: funnel.finish(cx),
        lost_reasons: lost.finish(cx),
        tiers: report::tiers_of(tiers.finish(cx)),
        cohorts: cohorts.finish(cx),
        before_after: before_after.into_iter().map(|b| b.finish()).collect(),
    };
    (dashboard, breakdowns)
}

/// One period's headline values.
#[derive(Debug, Clone, PartialEq)]
pub struct TrendPoint {
    pub start: chrono::NaiveDate,
    pub speed_minutes: Option<f64>,
    pub lead_to_consultation: Option<f64>,
    pub close_rate: Option<f64>,
    pub cycle_days: Option<f64>,
    pub win_rate: Option<f64>,
    pub non_selling: Option<f64>,
}

/// Every headline KPI per period in one pass over the facts (a report per period would scan
/// them once per period). Same definitions as the report functions; the tests hold them equal.
pub fn trend(cx: &Context, range: DateRange, period: Period) -> Vec<TrendPoint> {
    let mut acc = TrendAcc::new(cx, range, period);
    cx.leads().for_each(|l| acc.add_lead(l));
    cx.deals().for_each(|s| acc.add_deal(&s));
    cx.time().for_each(|t| acc.add_time(t));
    acc.finish()
}

#[derive(Clone)]
pub struct TrendAcc {
    spans: Vec<DateRange>,
    slots: std::sync::Arc<report::Slots>,
    l2c_window: Secs,
    close_window: Secs,
    delays: Vec<Sample>,
    l2c: Vec<(u64, u64)>,
    close: Vec<(u64, u64)>,
    win: Vec<(u64, u64)>,
    cycle: Vec<Sample>,
    time: Vec<(i64, i64)>,
}

impl TrendAcc {
    pub fn new(cx: &Context, range: DateRange, period: Period) -> Self {
        let spans = report::periods(range, period);
        let starts: Vec<Secs> = spans.iter().map(|p| report::midnight(cx.tz, p.from)).collect();
        let k = spans.len();
        let s = cx.settings;
        TrendAcc {
            spans,
            slots: report::Slots::new(starts, cx.bounds(range).1).into(),
            l2c_window: s.lead_to_consultation_days as Secs * DAY,
            close_window: s.close_window_days as Secs * DAY,
            delays: vec![Sample::default(); k],
            l2c: vec![(0, 0); k],
            close: vec![(0, 0); k],
            win: vec![(0, 0); k],
            cycle: vec![Sample::default(); k],
            time: vec![(0, 0); k],
        }
    }

    pub fn add_lead(&mut self, l: &facts::LeadFact) {
        let Some(i) = self.slots.of(l.created) else { return };
        if let Some(fc) = l.first_contact {
            self.delays[i].push((fc - l.created).max(0));
        }
        if l.disqualified.is_some() {
            // Out of the lead → consultation denominator, as in `LeadToConsultationAcc`.
            return;
        }
        self.l2c[i].1 += 1;
        self.l2c[i].0 += l.first_held.is_some_and(|h| h - l.created <= self.l2c_window) as u64;
    }

    pub fn add_deal(&mut self, s: &report::DealStanding) {
        if let Some(held) = s.d.held {
            if let Some(i) = self.slots.of(held) {
                self.close[i].1 += 1;
                self.close[i].0 += (s.outcome == Outcome::Won
                    && s.at.is_some_and(|at| at - held <= self.close_window)
                    && s.sale) as u64;
            }
        }
        if let Some(i) = s.at.and_then(|at| self.slots.of(at)) {
            match s.outcome {
                Outcome::Won if s.sale => {
                    self.win[i].0 += 1;
                    self.win[i].1 += 1;
                    self.cycle[i].push(s.at.unwrap_or_default() - s.d.lead_created);
                }
                Outcome::Lost => self.win[i].1 += 1,
                _ => {}
            }
        }
    }

    pub fn add_time(&mut self, t: &facts::TimeFact) {
        let Some(i) = self.slots.of(t.start) else { return };
        self.time[i].0 += t.seconds;
        if !t.selling {
            self.time[i].1 += t.seconds;
        }
    }

    pub fn merge(&mut self, o: &TrendAcc) {
        fn add(a: &mut [(u64, u64)], b: &[(u64, u64)]) {
            a.iter_mut().zip(b).for_each(|(x, y)| *x = (x.0 + y.0, x.1 + y.1));
        }
        for (a, b) in self.delays.iter_mut().zip(&o.delays).filter(|(_, b)| !b.is_empty()) {
            a.merge(b);
        }
        for (a, b) in self.cycle.iter_mut().zip(&o.cycle).filter(|(_, b)| !b.is_empty()) {
            a.merge(b);
        }
        add(&mut self.l2c, &o.l2c);
        add(&mut self.close, &o.close);
        add(&mut self.win, &o.win);
        self.time.iter_mut().zip(&o.time).for_each(|(x, y)| *x = (x.0 + y.0, x.1 + y.1));
    }

    pub fn seal(&mut self) {
        self.delays.iter_mut().chain(&mut self.cycle).for_each(Sample::seal);
    }

    pub fn finish(mut self) -> Vec<TrendPoint> {
        let share = |(hits, n): (u64, u64)| (n > 0).then(|| hits as f64 / n as f64);
        (0..self.spans.len())
            .map(|i| TrendPoint {
                start: self.spans[i].from,
                speed_minutes: self.delays[i].percentiles([0.5])[0].map(|s| s as f64 / 60.0),
                lead_to_consultation: share(self.l2c[i]),
                close_rate: share(self.close[i]),
                cycle_days: std::mem::take(&mut self.cycle[i]).spread().median.map(|s| s as f64 / DAY as f64),
                win_rate: share(self.win[i]),
                non_selling: (self.time[i].0 > 0).then(|| self.time[i].1 as f64 / self.time[i].0 as f64),
            })
            .collect()
    }
}

/// The range a request names, or the default: the last 365 days up to today (company time).
pub fn default_range(tz: chrono_tz::Tz, now: Secs) -> DateRange {
    let today = local_day(tz, now);
    DateRange { from: today - chrono::Duration::days(364), to: today }
}
