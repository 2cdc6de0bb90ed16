//! Manager analytics: every KPI of METRICS.md (docs/metrics.md says how each is computed).
//!
//! Stage events and rows are folded into one compact fact per lead and per consultation
//! ([`facts`]), kept in memory per company and refreshed by company version ([`load`]); the
//! reports are pure functions of those facts ([`report`], [`stats`]). The HTTP side is
//! [`routes`] (JSON, CSV, settings, process changes, import) and [`page`] (the dashboard).

pub mod csv;
pub mod facts;
pub mod import;
pub mod load;
pub mod page;
pub mod report;
pub mod routes;
pub mod settings;
pub mod stats;

#[cfg(test)]
mod fixtures;
#[cfg(test)]
mod naive;

use facts::{local_day, Outcome, Secs, DAY};
use report::{Context, DateRange, Period};
use serde::Serialize;
use stats::{Rate, Spread};

/// One headline number against its target, with its trend and definition.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Kpi {
    pub key: &'static str,
    pub label: &'static str,
    /// METRICS.md's definition, shown beside the number.
    pub definition: &'static str,
    /// "share", "minutes" or "days".
    pub unit: &'static str,
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
    let speed = report::speed_to_lead(cx, range);
    let l2c = report::lead_to_consultation(cx, range);
    let close = report::close_rate(cx, range);
    let win = report::win_rate(cx, range);
    let cycle = report::sales_cycle(cx, range);
    let non = report::non_selling(cx, range);
    let t = &cx.settings.targets;
    let trends = trend(cx, range, period);
    let pick = |f: fn(&TrendPoint) -> Option<f64>| trends.iter().map(f).collect::<Vec<_>>();
    let kpi = |key,
               label,
               definition,
               unit,
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
            "minutes",
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
            "share",
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
            "share",
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
            "days",
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
            "share",
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
            "share",
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
    Dashboard {
        from: range.from,
        to: range.to,
        period,
        periods: trends.iter().map(|p| p.start).collect(),
        headline,
        speed_to_lead: speed,
        lead_to_consultation: l2c,
        close_rate: close,
        win_rate: win,
        sales_cycle: cycle,
        non_selling: non,
        revenue: report::revenue(cx, range),
        funnel: report::funnel(cx, range),
        lost_reasons: report::lost_reasons(cx, range),
        tiers: report::tiers(cx, range),
        cohorts: report::cohorts(cx, range),
        before_after: changes
            .iter()
            .map(|c| report::before_after(cx, &c.name, c.changed_on, COMPARISON_DAYS))
            .collect(),
    }
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
    let spans = report::periods(range, period);
    let starts: Vec<Secs> = spans.iter().map(|p| report::midnight(cx.tz, p.from)).collect();
    let end = cx.bounds(range).1;
    let slot = |t: Secs| -> Option<usize> {
        if t < *starts.first()? || t >= end {
            return None;
        }
        Some(starts.partition_point(|&s| s <= t) - 1)
    };
    let k = spans.len();
    let mut delays: Vec<Vec<i64>> = vec![vec![]; k];
    let mut l2c = vec![(0u64, 0u64); k];
    let mut close = vec![(0u64, 0u64); k];
    let mut win = vec![(0u64, 0u64); k];
    let mut cycle: Vec<Vec<i64>> = vec![vec![]; k];
    let mut time = vec![(0i64, 0i64); k];
    let s = cx.settings;
    let (l2c_window, close_window) =
        (s.lead_to_consultation_days as Secs * DAY, s.close_window_days as Secs * DAY);
    for l in cx.facts.leads.iter().filter(|l| cx.lead_matches(l)) {
        let Some(i) = slot(l.created) else { continue };
        if let Some(fc) = l.first_contact {
            delays[i].push((fc - l.created).max(0));
        }
        l2c[i].1 += 1;
        l2c[i].0 += l.first_held.is_some_and(|h| h - l.created <= l2c_window) as u64;
    }
    for d in cx.facts.deals.iter().filter(|d| cx.deal_matches(d)) {
        let (outcome, at, _) = cx.effective(d);
        if let Some(i) = d.held.and_then(slot) {
            close[i].1 += 1;
            let held = d.held.unwrap_or_default();
            close[i].0 += (outcome == Outcome::Won
                && at.is_some_and(|at| at - held <= close_window)
                && cx.is_sale(d)) as u64;
        }
        if let Some(i) = at.and_then(slot) {
            match outcome {
                Outcome::Won if cx.is_sale(d) => {
                    win[i].0 += 1;
                    win[i].1 += 1;
                    cycle[i].push(at.unwrap_or_default() - d.lead_created);
                }
                Outcome::Lost => win[i].1 += 1,
                _ => {}
            }
        }
    }
    let person = cx.person_filter();
    for t in cx.facts.time.iter().filter(|t| !t.dead && person.is_none_or(|p| p == t.person)) {
        let Some(i) = slot(t.start) else { continue };
        time[i].0 += t.seconds;
        if !t.selling {
            time[i].1 += t.seconds;
        }
    }
    let share = |(hits, n): (u64, u64)| (n > 0).then(|| hits as f64 / n as f64);
    (0..k)
        .map(|i| TrendPoint {
            start: spans[i].from,
            speed_minutes: stats::percentile(&mut delays[i], 0.5).map(|s| s as f64 / 60.0),
            lead_to_consultation: share(l2c[i]),
            close_rate: share(close[i]),
            cycle_days: Spread::of(std::mem::take(&mut cycle[i])).median.map(|s| s as f64 / DAY as f64),
            win_rate: share(win[i]),
            non_selling: (time[i].0 > 0).then(|| time[i].1 as f64 / time[i].0 as f64),
        })
        .collect()
}

/// The range a request names, or the default: the last 365 days up to today (company time).
pub fn default_range(tz: chrono_tz::Tz, now: Secs) -> DateRange {
    let today = local_day(tz, now);
    DateRange { from: today - chrono::Duration::days(364), to: today }
}
