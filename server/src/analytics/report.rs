//! Every KPI of METRICS.md, computed from folded facts for a date range and a filter. Pure: the
//! same facts, settings, filter and `now` give the same numbers, which is what the fixtures and
//! the property test pin down.

use super::{
    facts::{CompanyFacts, DealFact, LeadFact, Outcome, Secs, DAY, NONE},
    settings::Settings,
    stats::{compare, kaplan_meier, Comparison, CurvePoint, Rate, Spread},
};
use chrono::{Datelike, Duration, NaiveDate, TimeZone};
use chrono_tz::Tz;
use serde::Serialize;
use std::collections::HashMap;

/// A range of company-local dates, `to` included.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DateRange {
    pub from: NaiveDate,
    pub to: NaiveDate,
}

/// Which records a report looks at, by name as people pick them.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Filter {
    pub technician: Option<String>,
    pub rep: Option<String>,
    pub source: Option<String>,
    pub service: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Period {
    Week,
    Month,
    Quarter,
    Year,
}

impl Period {
    pub fn parse(s: &str) -> Option<Period> {
        Some(match s {
            "week" => Period::Week,
            "month" => Period::Month,
            "quarter" => Period::Quarter,
            "year" => Period::Year,
            _ => return None,
        })
    }

    /// The first day of the period holding `d` (weeks start on Monday).
    pub fn start(self, d: NaiveDate) -> NaiveDate {
        match self {
            Period::Week => d - Duration::days(d.weekday().num_days_from_monday() as i64),
            Period::Month => d.with_day(1).unwrap(),
            Period::Quarter => NaiveDate::from_ymd_opt(d.year(), (d.month0() / 3) * 3 + 1, 1).unwrap(),
            Period::Year => NaiveDate::from_ymd_opt(d.year(), 1, 1).unwrap(),
        }
    }

    pub fn next(self, d: NaiveDate) -> NaiveDate {
        match self {
            Period::Week => d + Duration::days(7),
            Period::Month => d.checked_add_months(chrono::Months::new(1)).unwrap(),
            Period::Quarter => d.checked_add_months(chrono::Months::new(3)).unwrap(),
            Period::Year => d.checked_add_months(chrono::Months::new(12)).unwrap(),
        }
    }
}

/// Local midnight of `d` as an instant (the first valid instant of that day).
pub fn midnight(tz: Tz, d: NaiveDate) -> Secs {
    let naive = d.and_hms_opt(0, 0, 0).unwrap();
    match tz.from_local_datetime(&naive) {
        chrono::LocalResult::Single(t) | chrono::LocalResult::Ambiguous(t, _) => t.timestamp(),
        // Midnight skipped by a DST change: the day starts an hour later.
        chrono::LocalResult::None => {
            tz.from_local_datetime(&(naive + Duration::hours(1))).earliest().unwrap().timestamp()
        }
    }
}

/// A range as instants: local midnight of `from` up to (not including) local midnight after `to`.
pub fn bounds(tz: Tz, r: DateRange) -> (Secs, Secs) {
    (midnight(tz, r.from), midnight(tz, r.to + Duration::days(1)))
}

/// The filter resolved against the company's dictionary; a name it has never seen matches nothing.
#[derive(Debug, Clone, Copy)]
struct Resolved {
    technician: Option<u32>,
    rep: Option<u32>,
    source: Option<u32>,
    service: Option<u32>,
}

const UNKNOWN: u32 = NONE - 1;

impl Resolved {
    fn new(facts: &CompanyFacts, f: &Filter) -> Resolved {
        let id = |n: &Option<String>| n.as_ref().map(|n| facts.dict.get(n).unwrap_or(UNKNOWN));
        Resolved {
            technician: id(&f.technician),
            rep: id(&f.rep),
            source: id(&f.source),
            service: id(&f.service),
        }
    }
    fn deal(&self, d: &DealFact) -> bool {
        !d.dead
            && self.technician.is_none_or(|t| d.technician == t)
            && self.rep.is_none_or(|r| d.closer == r)
            && self.source.is_none_or(|s| d.source == s)
            && self.service.is_none_or(|s| d.service == s)
    }
    fn lead(&self, l: &LeadFact) -> bool {
        !l.dead
            && self.technician.is_none_or(|t| l.contacted_by == t)
            && self.rep.is_none()
            && self.source.is_none_or(|s| l.source == s)
            && self.service.is_none_or(|s| l.service == s)
    }
    fn person(&self) -> Option<u32> {
        self.technician.or(self.rep)
    }
}

/// What a report needs besides the facts.
pub struct Context<'a> {
    pub facts: &'a CompanyFacts,
    pub settings: &'a Settings,
    pub tz: Tz,
    pub now: Secs,
    /// Sold threshold per service dictionary id.
    thresholds: HashMap<u32, i64>,
    filter: Resolved,
    stale: Secs,
}

impl<'a> Context<'a> {
    pub fn new(facts: &'a CompanyFacts, settings: &'a Settings, tz: Tz, now: Secs, filter: &Filter) -> Self {
        let thresholds = settings
            .sold_threshold_cents
            .iter()
            .filter_map(|(service, cents)| facts.dict.get(service).map(|id| (id, *cents)))
            .collect();
        Context {
            facts,
            settings,
            tz,
            now,
            thresholds,
            filter: Resolved::new(facts, filter),
            stale: settings.stale_days as Secs * DAY,
        }
    }

    pub fn bounds(&self, r: DateRange) -> (Secs, Secs) {
        bounds(self.tz, r)
    }

    fn deals(&self) -> impl Iterator<Item = &'a DealFact> + '_ {
        self.facts.deals.iter().filter(|d| self.filter.deal(d))
    }

    fn leads(&self) -> impl Iterator<Item = &'a LeadFact> + '_ {
        self.facts.leads.iter().filter(|l| self.filter.lead(l))
    }

    /// Where a deal stands for the metrics: a quote idle past the stale window is lost
    /// ("no decision") at the moment it went stale, whether or not anyone recorded it.
    pub fn effective(&self, d: &DealFact) -> (Outcome, Option<Secs>, bool) {
        if d.outcome == Outcome::Open
            && (d.held.is_some() || d.presented.is_some())
            && self.now - d.last_activity > self.stale
        {
            return (Outcome::Lost, Some(d.last_activity + self.stale), true);
        }
        (d.outcome, d.decided, false)
    }

    pub fn deal_matches(&self, d: &DealFact) -> bool {
        self.filter.deal(d)
    }

    pub fn lead_matches(&self, l: &LeadFact) -> bool {
        self.filter.lead(l)
    }

    /// The person a technician or rep filter names, for time entries.
    pub fn person_filter(&self) -> Option<u32> {
        self.filter.person()
    }

    /// A win that counts as a sale: at or above the service type's sold threshold.
    pub fn is_sale(&self, d: &DealFact) -> bool {
        d.amount_cents >= self.thresholds.get(&d.service).copied().unwrap_or(0)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct SpeedToLead {
    /// Leads created in the range.
    pub leads: u64,
    pub contacted: u64,
    /// Median seconds from lead to first contact, over contacted leads.
    pub median_seconds: Option<i64>,
    /// Contacted within the first threshold (5 min by default); a lead not yet contacted counts
    /// as a miss once the threshold has passed and is left out before that.
    pub within_first: Rate,
    pub within_second: Rate,
    pub thresholds_minutes: [u32; 2],
}

pub fn speed_to_lead(cx: &Context, range: DateRange) -> SpeedToLead {
    let (from, to) = cx.bounds(range);
    let [t1, t2] = cx.settings.speed_thresholds_minutes.map(|m| m as Secs * 60);
    let (mut leads, mut delays) = (0, vec![]);
    let (mut hit1, mut n1, mut hit2, mut n2) = (0, 0, 0, 0);
    for l in cx.leads().filter(|l| l.created >= from && l.created < to) {
        leads += 1;
        match l.first_contact {
            Some(fc) => {
                let delay = (fc - l.created).max(0);
                delays.push(delay);
                n1 += 1;
                n2 += 1;
                hit1 += (delay <= t1) as u64;
                hit2 += (delay <= t2) as u64;
            }
            None => {
                n1 += (cx.now - l.created > t1) as u64;
                n2 += (cx.now - l.created > t2) as u64;
            }
        }
    }
    let contacted = delays.len() as u64;
    SpeedToLead {
        leads,
        contacted,
        median_seconds: super::stats::percentile(&mut delays, 0.5),
        within_first: Rate::new(hit1, n1),
        within_second: Rate::new(hit2, n2),
        thresholds_minutes: cx.settings.speed_thresholds_minutes,
    }
}

/// Leads of the cohort with a consultation held within the window ÷ leads of the cohort; leads
/// still inside the window stay in the denominator and are reported as still open.
pub fn lead_to_consultation(cx: &Context, range: DateRange) -> Rate {
    let (from, to) = cx.bounds(range);
    let window = cx.settings.lead_to_consultation_days as Secs * DAY;
    let (mut hits, mut n, mut open) = (0, 0, 0);
    for l in cx.leads().filter(|l| l.created >= from && l.created < to) {
        n += 1;
        match l.first_held {
            Some(h) if h - l.created <= window => hits += 1,
            _ if cx.now - l.created <= window => open += 1,
            _ => {}
        }
    }
    Rate::with_open(hits, n, open)
}

#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct CloseRate {
    pub all: Rate,
    /// Won on the local day of the consultation ("sold on the spot").
    pub first_visit: Rate,
    /// Won on a later day, within the window.
    pub follow_up: Rate,
}

/// Consultations held in the range that were won (as a sale) within the close window ÷
/// consultations held in the range, no-sales included.
pub fn close_rate(cx: &Context, range: DateRange) -> CloseRate {
    let (from, to) = cx.bounds(range);
    close_rate_of(cx, cx.deals().filter(|d| d.held.is_some_and(|h| h >= from && h < to)))
}

fn close_rate_of<'a>(cx: &Context, deals: impl Iterator<Item = &'a DealFact>) -> CloseRate {
    let window = cx.settings.close_window_days as Secs * DAY;
    let (mut n, mut first, mut later, mut open) = (0, 0, 0, 0);
    for d in deals {
        let held = d.held.expect("held deals only");
        n += 1;
        let (outcome, decided, _) = cx.effective(d);
        match (outcome, decided) {
            (Outcome::Won, Some(at)) if at - held <= window && cx.is_sale(d) => {
                if d.same_day {
                    first += 1
                } else {
                    later += 1
                }
            }
            (Outcome::Open, _) if cx.now - held <= window => open += 1,
            _ => {}
        }
    }
    CloseRate {
        all: Rate::with_open(first + later, n, open),
        first_visit: Rate::with_open(first, n, open),
        follow_up: Rate::with_open(later, n, open),
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct WinRate {
    /// Won ÷ (won + lost) by count, among decisions dated in the range.
    pub count: Rate,
    pub won_cents: i64,
    pub lost_cents: i64,
    /// Won value ÷ (won + lost value).
    pub value_share: Option<f64>,
    /// Of the losses, how many were quotes gone stale ("lost – no decision").
    pub stale: u64,
}

/// Decisions dated in the range; wins below the sold threshold are not sales and count on
/// neither side.
pub fn win_rate(cx: &Context, range: DateRange) -> WinRate {
    let (from, to) = cx.bounds(range);
    let (mut won, mut lost, mut won_cents, mut lost_cents, mut stale) = (0, 0, 0, 0, 0);
    for d in cx.deals() {
        let (outcome, decided, went_stale) = cx.effective(d);
        if !decided.is_some_and(|at| at >= from && at < to) {
            continue;
        }
        match outcome {
            Outcome::Won if cx.is_sale(d) => {
                won += 1;
                won_cents += d.amount_cents;
            }
            Outcome::Lost => {
                lost += 1;
                lost_cents += if went_stale { d.quoted_cents } else { d.amount_cents };
                stale += went_stale as u64;
            }
            _ => {}
        }
    }
    let total = won_cents + lost_cents;
    WinRate {
        count: Rate::new(won, won + lost),
        won_cents,
        lost_cents,
        value_share: (total > 0).then(|| won_cents as f64 / total as f64),
        stale,
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct SalesCycle {
    /// Won deals closed in the range: close − lead created, in seconds.
    pub from_lead: Spread,
    /// Close − consultation held, in seconds.
    pub from_consultation: Spread,
    /// Cohort view: share of consultations held in the range closed by day d (Kaplan–Meier; open
    /// ones censored, lost ones never close).
    pub curve: Vec<CurvePoint>,
}

pub fn sales_cycle(cx: &Context, range: DateRange) -> SalesCycle {
    let (from, to) = cx.bounds(range);
    let (mut from_lead, mut from_held, mut observations) = (vec![], vec![], vec![]);
    let horizon = cx.settings.close_window_days;
    for d in cx.deals() {
        let (outcome, decided, _) = cx.effective(d);
        if let (Outcome::Won, Some(at)) = (outcome, decided) {
            if at >= from && at < to && cx.is_sale(d) {
                from_lead.push(at - d.lead_created);
                if let Some(h) = d.held {
                    from_held.push(at - h);
                }
            }
        }
        if let Some(h) = d.held.filter(|&h| h >= from && h < to) {
            let days = |s: Secs| (s.max(0) / DAY) as u32;
            observations.push(match (outcome, decided) {
                (Outcome::Won, Some(at)) if cx.is_sale(d) => (days(at - h), true),
                (Outcome::Open, _) => (days(cx.now - h), false),
                _ => (horizon + 1, false),
            });
        }
    }
    SalesCycle {
        from_lead: Spread::of(from_lead),
        from_consultation: Spread::of(from_held),
        curve: kaplan_meier(&mut observations, horizon),
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct NonSelling {
    pub logged_hours: f64,
    pub non_selling_hours: f64,
    pub share: Option<f64>,
    pub entries: u64,
}

/// Non-selling hours ÷ logged hours of entries started in the range (breaks are neither).
pub fn non_selling(cx: &Context, range: DateRange) -> NonSelling {
    let (from, to) = cx.bounds(range);
    let person = cx.filter.person();
    let (mut logged, mut non, mut entries) = (0i64, 0i64, 0u64);
    for t in cx.facts.time.iter().filter(|t| !t.dead && t.start >= from && t.start < to) {
        if person.is_some_and(|p| p != t.person) {
            continue;
        }
        entries += 1;
        logged += t.seconds;
        if !t.selling {
            non += t.seconds;
        }
    }
    NonSelling {
        logged_hours: logged as f64 / 3600.0,
        non_selling_hours: non as f64 / 3600.0,
        share: (logged > 0).then(|| non as f64 / logged as f64),
        entries,
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Revenue {
    /// Wins dated in the range (every win is money, sold threshold or not).
    pub won: u64,
    pub revenue_cents: i64,
    pub average_ticket_cents: Option<i64>,
    /// Open quotes now × the company's base win rate for their service type.
    pub pipeline_cents: i64,
    pub open_quotes: u64,
}

pub fn revenue(cx: &Context, range: DateRange) -> Revenue {
    let (from, to) = cx.bounds(range);
    let (mut won, mut cents) = (0u64, 0i64);
    // Base rates per service over every decision so far (the fallback the close-probability
    // model of issue 5 starts from).
    let mut decided: HashMap<u32, (u64, u64)> = HashMap::new();
    let mut open: Vec<&DealFact> = vec![];
    for d in cx.deals() {
        let (outcome, at, _) = cx.effective(d);
        match outcome {
            Outcome::Won => {
                if at.is_some_and(|at| at >= from && at < to) {
                    won += 1;
                    cents += d.amount_cents;
                }
                decided.entry(d.service).or_default().0 += 1;
            }
            Outcome::Lost => decided.entry(d.service).or_default().1 += 1,
            Outcome::Open if d.held.is_some() || d.presented.is_some() => open.push(d),
            Outcome::Open => {}
        }
    }
    let pipeline: f64 = open
        .iter()
        .map(|d| {
            let (w, l) = decided.get(&d.service).copied().unwrap_or_default();
            let p = if w + l > 0 { w as f64 / (w + l) as f64 } else { 0.0 };
            d.quoted_cents as f64 * p
        })
        .sum();
    Revenue {
        won,
        revenue_cents: cents,
        average_ticket_cents: (won > 0).then(|| cents / won as i64),
        pipeline_cents: pipeline.round() as i64,
        open_quotes: open.len() as u64,
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Stage {
    pub name: &'static str,
    pub entries: u64,
    pub advanced: u64,
    pub lost: u64,
    pub moved_back: u64,
    pub still_in: u64,
    /// advanced ÷ (advanced + lost)
    pub conversion: Rate,
    pub target: f64,
    /// lost × the segment's average won value.
    pub leak_cents: i64,
    pub bottleneck: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Funnel {
    pub stages: Vec<Stage>,
    pub average_won_cents: Option<i64>,
}

pub const STAGE_NAMES: [&str; 4] =
    ["Lead → contacted", "Contacted → consultation held", "Held → options presented", "Presented → won"];
/// Stage targets: the middle two come from the KPI targets (lead → consultation, close rate).
pub fn stage_targets(s: &Settings) -> [f64; 4] {
    [0.9, s.targets.lead_to_consultation, 0.95, s.targets.close_rate]
}

/// The funnel of leads created in the range. Each item is counted in exactly one of advanced,
/// lost, moved back or still in, at each stage it entered.
pub fn funnel(cx: &Context, range: DateRange) -> Funnel {
    let (from, to) = cx.bounds(range);
    let mut counts = [[0u64; 5]; 4]; // entries, advanced, lost, moved back, still in
    let mut bump = |stage: usize, bucket: usize| {
        counts[stage][0] += 1;
        counts[stage][bucket] += 1;
    };
    const ADVANCED: usize = 1;
    const LOST: usize = 2;
    const BACK: usize = 3;
    const STILL: usize = 4;
    // Lead-level stages: a lead not moving on within the stale window is lost there.
    for l in cx.leads().filter(|l| l.created >= from && l.created < to) {
        let idle_since = l.first_contact.unwrap_or(l.created);
        let stale = cx.now - idle_since > cx.stale;
        if l.first_contact.is_some() || l.first_held.is_some() {
            bump(0, ADVANCED);
            if l.first_held.is_some() {
                bump(1, ADVANCED);
            } else {
                bump(1, if stale { LOST } else { STILL });
            }
        } else {
            bump(0, if stale { LOST } else { STILL });
        }
    }
    let (mut won_n, mut won_cents) = (0i64, 0i64);
    for d in cx.deals().filter(|d| d.lead_created >= from && d.lead_created < to && d.held.is_some()) {
        let (outcome, _, _) = cx.effective(d);
        if d.presented.is_some() || d.options_presented > 0 {
            bump(2, ADVANCED);
            let bucket = match outcome {
                Outcome::Won => ADVANCED,
                Outcome::Lost => LOST,
                Outcome::Open if d.reopened => BACK,
                Outcome::Open => STILL,
            };
            bump(3, bucket);
        } else {
            bump(
                2,
                match outcome {
                    Outcome::Lost => LOST,
                    Outcome::Open if d.reopened => BACK,
                    Outcome::Won => ADVANCED, // won without a recorded presentation: it got past it
                    Outcome::Open => STILL,
                },
            );
        }
        if outcome == Outcome::Won {
            won_n += 1;
            won_cents += d.amount_cents;
        }
    }
    let average = (won_n > 0).then(|| won_cents / won_n);
    let targets = stage_targets(cx.settings);
    let mut stages: Vec<Stage> = (0..4)
        .map(|i| {
            let [entries, advanced, lost, moved_back, still_in] = counts[i];
            debug_assert_eq!(entries, advanced + lost + moved_back + still_in);
            Stage {
                name: STAGE_NAMES[i],
                entries,
                advanced,
                lost,
                moved_back,
                still_in,
                conversion: Rate::with_open(advanced, advanced + lost, 0),
                target: targets[i],
                leak_cents: lost as i64 * average.unwrap_or(0),
                bottleneck: false,
            }
        })
        .collect();
    // The bottleneck: largest (target − actual) × entries × value, only where the target lies
    // above the whole 95% interval (a gap chance cannot explain).
    let value = average.unwrap_or(1).max(1) as f64;
    let worst = stages
        .iter()
        .enumerate()
        .filter_map(|(i, s)| {
            let (actual, high) = (s.conversion.value?, s.conversion.high?);
            (s.target > high).then_some((i, (s.target - actual) * s.entries as f64 * value))
        })
        .max_by(|a, b| a.1.total_cmp(&b.1));
    if let Some((i, _)) = worst {
        stages[i].bottleneck = true;
    }
    Funnel { stages, average_won_cents: average }
}

#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct BreakdownRow {
    pub key: String,
    pub held: u64,
    pub close_rate: Rate,
    pub win_rate: Rate,
    pub won: u64,
    pub revenue_cents: i64,
    pub average_ticket_cents: Option<i64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Dimension {
    Technician,
    Rep,
    Source,
    Service,
    Tier,
}

impl Dimension {
    pub const ALL: [Dimension; 5] =
        [Dimension::Technician, Dimension::Rep, Dimension::Source, Dimension::Service, Dimension::Tier];
    pub fn parse(s: &str) -> Option<Dimension> {
        Some(match s {
            "technician" => Dimension::Technician,
            "rep" => Dimension::Rep,
            "source" => Dimension::Source,
            "service" => Dimension::Service,
            "tier" => Dimension::Tier,
            _ => return None,
        })
    }
    pub fn as_str(self) -> &'static str {
        match self {
            Dimension::Technician => "technician",
            Dimension::Rep => "rep",
            Dimension::Source => "source",
            Dimension::Service => "service",
            Dimension::Tier => "tier",
        }
    }
    fn key(self, d: &DealFact) -> u32 {
        match self {
            Dimension::Technician => d.technician,
            Dimension::Rep => d.closer,
            Dimension::Source => d.source,
            Dimension::Service => d.service,
            Dimension::Tier => d.tier,
        }
    }
}

/// Close rate (held in the range), win rate and revenue (decided in the range) per group. People
/// come back as their ids; the caller names them.
pub fn breakdown(cx: &Context, range: DateRange, dim: Dimension) -> Vec<BreakdownRow> {
    let (from, to) = cx.bounds(range);
    #[derive(Default)]
    struct Acc {
        held: Vec<usize>,
        won: u64,
        lost: u64,
        sales: u64,
        cents: i64,
    }
    let mut groups: HashMap<u32, Acc> = HashMap::new();
    let deals = &cx.facts.deals;
    for (i, d) in deals.iter().enumerate().filter(|(_, d)| cx.filter.deal(d)) {
        let key = dim.key(d);
        // Reps do not hold consultations: grouping held ones by who decided them would make
        // every rep's close rate 100%. Their rows carry win rate and revenue only.
        if dim != Dimension::Rep && d.held.is_some_and(|h| h >= from && h < to) {
            groups.entry(key).or_default().held.push(i);
        }
        let (outcome, at, _) = cx.effective(d);
        if at.is_some_and(|at| at >= from && at < to) {
            let g = groups.entry(key).or_default();
            match outcome {
                Outcome::Won => {
                    g.sales += 1;
                    g.cents += d.amount_cents;
                    g.won += cx.is_sale(d) as u64;
                }
                Outcome::Lost => g.lost += 1,
                Outcome::Open => {}
            }
        }
    }
    let mut rows: Vec<BreakdownRow> = groups
        .into_iter()
        .map(|(key, g)| BreakdownRow {
            key: if key == NONE { "(none)".into() } else { cx.facts.dict.name(key).to_string() },
            held: g.held.len() as u64,
            close_rate: close_rate_of(cx, g.held.iter().map(|&i| &deals[i])).all,
            win_rate: Rate::new(g.won, g.won + g.lost),
            won: g.sales,
            revenue_cents: g.cents,
            average_ticket_cents: (g.sales > 0).then(|| g.cents / g.sales as i64),
        })
        .collect();
    rows.sort_by(|a, b| {
        b.revenue_cents.cmp(&a.revenue_cents).then(b.held.cmp(&a.held)).then(a.key.cmp(&b.key))
    });
    rows
}

#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct LostReason {
    pub reason: String,
    pub count: u64,
    pub value_cents: i64,
    pub share: f64,
}

/// Losses dated in the range by structured reason; stale quotes count as "no_decision".
pub fn lost_reasons(cx: &Context, range: DateRange) -> Vec<LostReason> {
    let (from, to) = cx.bounds(range);
    let no_decision = cx.facts.dict.get("no_decision");
    let mut by: HashMap<Option<u32>, (u64, i64)> = HashMap::new();
    let mut total = 0;
    for d in cx.deals() {
        let (outcome, at, stale) = cx.effective(d);
        if outcome != Outcome::Lost || !at.is_some_and(|at| at >= from && at < to) {
            continue;
        }
        let key = if stale { no_decision.or(Some(UNKNOWN)) } else { Some(d.reason) };
        let e = by.entry(key).or_default();
        e.0 += 1;
        e.1 += if stale { d.quoted_cents } else { d.amount_cents };
        total += 1;
    }
    let mut rows: Vec<LostReason> = by
        .into_iter()
        .map(|(k, (count, value))| LostReason {
            reason: match k {
                Some(UNKNOWN) => "no_decision".into(),
                Some(k) if k != NONE => cx.facts.dict.name(k).to_string(),
                _ => "other".into(),
            },
            count,
            value_cents: value,
            share: count as f64 / total as f64,
        })
        .collect();
    rows.sort_by(|a, b| b.count.cmp(&a.count).then(a.reason.cmp(&b.reason)));
    rows
}

#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct CohortRow {
    /// First day of the month of consultation.
    pub month: NaiveDate,
    pub held: u64,
    /// Share won by the end of week 1, 2, ... since the consultation; None where the cohort is
    /// not that old yet (immature).
    pub closed_by_week: Vec<Option<f64>>,
}

pub const COHORT_WEEKS: usize = 8;

/// Month of consultation × share closed (as a sale) by week since.
pub fn cohorts(cx: &Context, range: DateRange) -> Vec<CohortRow> {
    let (from, to) = cx.bounds(range);
    // Month starts as instants, found by binary search: converting each consultation's time to
    // a local date would cost a time-zone lookup per consultation.
    let months = periods(range, Period::Month);
    let starts: Vec<Secs> = months.iter().map(|m| midnight(cx.tz, m.from)).collect();
    let mut by: HashMap<NaiveDate, (u64, [u64; COHORT_WEEKS])> = HashMap::new();
    for d in cx.deals() {
        let Some(h) = d.held.filter(|&h| h >= from && h < to) else { continue };
        let i = starts.partition_point(|&s| s <= h).saturating_sub(1);
        let month = Period::Month.start(months[i].from);
        let e = by.entry(month).or_insert_with(|| (0, [0; COHORT_WEEKS]));
        e.0 += 1;
        let (outcome, at, _) = cx.effective(d);
        if let (Outcome::Won, Some(at)) = (outcome, at) {
            if cx.is_sale(d) {
                let week = ((at - h).max(0) / (7 * DAY)) as usize;
                for w in week..COHORT_WEEKS {
                    e.1[w] += 1;
                }
            }
        }
    }
    let mut rows: Vec<CohortRow> = by
        .into_iter()
        .map(|(month, (held, won))| {
            // Mature for week w when the month's last day is w weeks old.
            let month_end = midnight(cx.tz, Period::Month.next(month));
            CohortRow {
                month,
                held,
                closed_by_week: (0..COHORT_WEEKS)
                    .map(|w| {
                        (month_end + (w as Secs + 1) * 7 * DAY <= cx.now).then(|| won[w] as f64 / held as f64)
                    })
                    .collect(),
            }
        })
        .collect();
    rows.sort_by_key(|r| r.month);
    rows
}

#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct TierRow {
    pub tier: String,
    pub won: u64,
    pub share_of_wins: f64,
    pub average_ticket_cents: i64,
}

/// Which tier sells, at what ticket: wins dated in the range by the chosen option's tier.
pub fn tiers(cx: &Context, range: DateRange) -> Vec<TierRow> {
    let rows = breakdown(cx, range, Dimension::Tier);
    let total: u64 = rows.iter().map(|r| r.won).sum();
    rows.into_iter()
        .filter(|r| r.won > 0)
        .map(|r| TierRow {
            share_of_wins: r.won as f64 / total as f64,
            average_ticket_cents: r.average_ticket_cents.unwrap_or(0),
            tier: r.key,
            won: r.won,
        })
        .collect()
}

#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct BeforeAfter {
    pub change: String,
    pub changed_on: NaiveDate,
    pub days: u32,
    /// Both periods' close-rate windows have passed: the comparison is final.
    pub mature: bool,
    pub close_rate: Comparison,
    pub win_rate: Comparison,
    pub lead_to_consultation: Comparison,
}

/// Two equal periods of `days` before and from the change date.
pub fn before_after(cx: &Context, change: &str, on: NaiveDate, days: u32) -> BeforeAfter {
    let before = DateRange { from: on - Duration::days(days as i64), to: on - Duration::days(1) };
    let after = DateRange { from: on, to: on + Duration::days(days as i64 - 1) };
    let settle = cx.settings.close_window_days.max(cx.settings.lead_to_consultation_days) as Secs * DAY;
    BeforeAfter {
        change: change.to_string(),
        changed_on: on,
        days,
        mature: cx.bounds(after).1 + settle <= cx.now,
        close_rate: compare(close_rate(cx, before).all, close_rate(cx, after).all),
        win_rate: compare(win_rate(cx, before).count, win_rate(cx, after).count),
        lead_to_consultation: compare(lead_to_consultation(cx, before), lead_to_consultation(cx, after)),
    }
}

/// The period starts covering a range, for trends.
pub fn periods(range: DateRange, period: Period) -> Vec<DateRange> {
    let mut out = vec![];
    let mut start = period.start(range.from);
    while start <= range.to {
        let next = period.next(start);
        out.push(DateRange { from: start.max(range.from), to: (next - Duration::days(1)).min(range.to) });
        start = next;
    }
    out
}
