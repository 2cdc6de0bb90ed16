//! Every KPI of METRICS.md, computed from folded facts for a date range and a filter. Pure: the
//! same facts, settings, filter and `now` give the same numbers, which is what the fixtures and
//! the property test pin down.

use super::{
    facts::{CompanyFacts, DealChunk, DealFact, LeadFact, Outcome, Secs, TimeFact, DAY, NONE},
    settings::Settings,
    stats::{compare, Comparison, CurvePoint, Rate, Sample, Spread, Survival},
};
use chrono::{Datelike, Duration, NaiveDate, TimeZone};
use chrono_tz::Tz;
use serde::Serialize;

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
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Resolved {
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
    fn is_empty(&self) -> bool {
        self.technician.is_none() && self.rep.is_none() && self.source.is_none() && self.service.is_none()
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
    /// Sold threshold by service dictionary id (0 where none is set): a vector, not a map,
    /// because every deal of every pass asks.
    thresholds: Vec<i64>,
    filter: Resolved,
    stale: Secs,
}

/// A deal as every report sees it, worked out once per deal per pass: where it stands for the
/// metrics (a quote idle past the stale window is lost "no decision" at the moment it went
/// stale, whether or not anyone recorded it) and whether a win counts as a sale.
#[derive(Debug, Clone, Copy)]
pub struct DealStanding<'a> {
    pub d: &'a DealFact,
    pub outcome: Outcome,
    /// When the current outcome was reached.
    pub at: Option<Secs>,
    /// Lost because it went stale.
    pub stale: bool,
    /// At or above the service type's sold threshold (meaningful for wins).
    pub sale: bool,
}

/// A half-open span of instants `[from, to)`: a date range in company time.
#[derive(Debug, Clone, Copy)]
pub struct InstantRange {
    pub from: Secs,
    pub to: Secs,
}

impl InstantRange {
    pub fn of(cx: &Context, r: DateRange) -> InstantRange {
        let (from, to) = cx.bounds(r);
        InstantRange { from, to }
    }
    pub fn holds(self, t: Secs) -> bool {
        t >= self.from && t < self.to
    }
    pub fn holds_some(self, t: Option<Secs>) -> bool {
        t.is_some_and(|t| self.holds(t))
    }
}

/// Which of consecutive periods an instant falls in, in constant time (every lead and deal of a
/// dashboard asks, for trends and cohorts; a binary search each was a fifth of the pass). A table
/// by hour since the first start gives the period at the start of that hour, and one comparison
/// settles an instant past a boundary inside the hour: periods are at least a day long, so an hour
/// holds at most one boundary, whatever the zone's offsets.
#[derive(Debug, Clone)]
pub struct Slots {
    starts: Vec<Secs>,
    end: Secs,
    by_hour: Vec<u32>,
}

impl Slots {
    /// Periods starting at `starts` (ascending), the last one ending at `end`.
    pub fn new(starts: Vec<Secs>, end: Secs) -> Slots {
        let first = starts.first().copied().unwrap_or(end);
        let hours = ((end - first).max(0) / 3600 + 1) as usize;
        let mut by_hour = Vec::with_capacity(hours);
        let mut i = 0;
        for h in 0..hours {
            let t = first + h as Secs * 3600;
            while i + 1 < starts.len() && starts[i + 1] <= t {
                i += 1;
            }
            by_hour.push(i as u32);
        }
        Slots { starts, end, by_hour }
    }

    pub fn of(&self, t: Secs) -> Option<usize> {
        let first = *self.starts.first()?;
        if t < first || t >= self.end {
            return None;
        }
        let mut i = self.by_hour[((t - first) / 3600) as usize] as usize;
        if i + 1 < self.starts.len() && t >= self.starts[i + 1] {
            i += 1;
        }
        Some(i)
    }
}

impl<'a> Context<'a> {
    pub fn new(facts: &'a CompanyFacts, settings: &'a Settings, tz: Tz, now: Secs, filter: &Filter) -> Self {
        let mut thresholds = vec![0; facts.dict.len()];
        for (service, cents) in &settings.sold_threshold_cents {
            if let Some(id) = facts.dict.get(service) {
                thresholds[id as usize] = *cents;
            }
        }
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

    /// The filter, as the facts' dictionary resolves it.
    pub fn filter(&self) -> Resolved {
        self.filter
    }

    /// The deals the filter lets through, each seen once.
    pub fn deals(&self) -> impl Iterator<Item = DealStanding<'a>> + '_ {
        self.deals_in(&self.facts.deals)
    }

    pub fn leads(&self) -> impl Iterator<Item = &'a LeadFact> + '_ {
        self.leads_in(&self.facts.leads)
    }

    /// The leads of `leads` the filter lets through.
    pub fn leads_in(&self, leads: &'a [LeadFact]) -> impl Iterator<Item = &'a LeadFact> + '_ {
        leads.iter().filter(|l| self.filter.lead(l))
    }

    /// The deals of `deals` the filter lets through, each seen once.
    pub fn deals_in(&self, deals: &'a [DealFact]) -> impl Iterator<Item = DealStanding<'a>> + '_ {
        deals.iter().filter(|d| self.filter.deal(d)).map(|d| self.see(d))
    }

    /// A chunk of deals that a report about instants from `since` on may skip: it mentions
    /// nothing from `since` on and its open quotes had all gone stale before, so it counts only
    /// towards the pipeline's base rates (decisions, and stale quotes as losses), which its
    /// summary carries. Never with a filter, which a summary cannot apply.
    pub fn settled(&self, c: &DealChunk, since: Secs) -> bool {
        self.filter.is_empty()
            && c.latest < since
            && since <= self.now
            && (c.open_quotes.is_empty() || c.latest_open_activity + self.stale < since)
    }

    /// The time entries of `time` the filter lets through.
    pub fn time_in(&self, time: &'a [TimeFact]) -> impl Iterator<Item = &'a TimeFact> + '_ {
        let person = self.filter.person();
        time.iter().filter(move |t| !t.dead && person.is_none_or(|p| p == t.person))
    }

    /// The time entries of the person a technician or rep filter names (everyone's otherwise).
    pub fn time(&self) -> impl Iterator<Item = &'a TimeFact> + '_ {
        self.time_in(&self.facts.time)
    }

    pub fn see(&self, d: &'a DealFact) -> DealStanding<'a> {
        let sale = d.amount_cents >= self.thresholds.get(d.service as usize).copied().unwrap_or(0);
        if d.outcome == Outcome::Open
            && (d.held.is_some() || d.presented.is_some())
            && self.now - d.last_activity > self.stale
        {
            return DealStanding {
                d,
                outcome: Outcome::Lost,
                at: Some(d.last_activity + self.stale),
                stale: true,
                sale,
            };
        }
        DealStanding { d, outcome: d.outcome, at: d.decided, stale: false, sale }
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

/// What every report's accumulator does in the dashboard's one pass (`pass.rs`): it is fed the
/// facts of its range one at a time, merges another fed with other facts of the same range, and
/// is sealed before a chunk's part is kept. A report ignores the kinds of facts it does not
/// count (the defaults). Making one (`new`, for a range) and reading it (`finish`) differ per
/// report, so they are each report's own.
pub trait Report: Clone {
    fn add_lead(&mut self, _lead: &LeadFact) {}
    fn add_deal(&mut self, _deal: &DealStanding) {}
    fn add_time(&mut self, _entry: &TimeFact) {}
    /// A chunk of deals settled before anything the dashboard looks at: only its summary counts.
    fn add_skipped(&mut self, _chunk: &DealChunk) {}
    fn merge(&mut self, other: &Self);
    /// Readies a kept part: values sorted once, lookup tables dropped.
    fn seal(&mut self) {}
}

/// Several reports of one kind (a breakdown per dimension, a before/after per change), fed alike.
impl<R: Report> Report for Vec<R> {
    fn add_lead(&mut self, lead: &LeadFact) {
        self.iter_mut().for_each(|r| r.add_lead(lead));
    }
    fn add_deal(&mut self, deal: &DealStanding) {
        self.iter_mut().for_each(|r| r.add_deal(deal));
    }
    fn add_time(&mut self, entry: &TimeFact) {
        self.iter_mut().for_each(|r| r.add_time(entry));
    }
    fn add_skipped(&mut self, chunk: &DealChunk) {
        self.iter_mut().for_each(|r| r.add_skipped(chunk));
    }
    fn merge(&mut self, other: &Self) {
        self.iter_mut().zip(other).for_each(|(a, b)| a.merge(b));
    }
    fn seal(&mut self) {
        self.iter_mut().for_each(R::seal);
    }
}

/// Implements [`Report`] for an accumulator from its own methods: which kind of fact each
/// `add` takes, and whether it has a `seal` or an `add_skipped`.
macro_rules! report {
    ($acc:ty { $($kind:ident => $method:ident),* $(,)? }) => {
        impl Report for $acc {
            $(report!(@one $acc, $kind, $method);)*
            fn merge(&mut self, other: &Self) {
                <$acc>::merge(self, other)
            }
        }
    };
    (@one $acc:ty, lead, $m:ident) => { fn add_lead(&mut self, lead: &LeadFact) { <$acc>::$m(self, lead) } };
    (@one $acc:ty, deal, $m:ident) => { fn add_deal(&mut self, deal: &DealStanding) { <$acc>::$m(self, deal) } };
    (@one $acc:ty, time, $m:ident) => { fn add_time(&mut self, entry: &TimeFact) { <$acc>::$m(self, entry) } };
    (@one $acc:ty, skipped, $m:ident) => { fn add_skipped(&mut self, chunk: &DealChunk) { <$acc>::$m(self, chunk) } };
    (@one $acc:ty, seal, $m:ident) => { fn seal(&mut self) { <$acc>::$m(self) } };
}

report!(SpeedAcc { lead => add, seal => seal });
report!(LeadToConsultationAcc { lead => add });
report!(CloseAcc { deal => add });
report!(WinAcc { deal => add });
report!(CycleAcc { deal => add, seal => seal });
report!(NonSellingAcc { time => add });
report!(RevenueAcc { deal => add, skipped => add_skipped });
report!(FunnelAcc { lead => add_lead, deal => add_deal });
report!(BreakdownAcc { deal => add, seal => seal });
report!(LostAcc { deal => add });
report!(CohortAcc { deal => add });
report!(BeforeAfterAcc { lead => add_lead, deal => add_deal });
report!(super::TrendAcc { lead => add_lead, deal => add_deal, time => add_time, seal => seal });

/// Every report below is an accumulator — `new` for a range, `add` one lead or deal at a time,
/// `finish` — so the dashboard can feed all of them in one pass over the facts while each
/// report on its own is the same code folded over the same facts ([`Report`]).
#[derive(Clone)]
pub struct SpeedAcc {
    span: InstantRange,
    now: Secs,
    thresholds: [Secs; 2],
    leads: u64,
    delays: Sample,
    hits: [u64; 2],
    n: [u64; 2],
}

impl SpeedAcc {
    pub fn new(cx: &Context, range: DateRange) -> Self {
        SpeedAcc {
            span: InstantRange::of(cx, range),
            now: cx.now,
            thresholds: cx.settings.speed_thresholds_minutes.map(|m| m as Secs * 60),
            leads: 0,
            delays: Sample::default(),
            hits: [0; 2],
            n: [0; 2],
        }
    }

    pub fn add(&mut self, l: &LeadFact) {
        if !self.span.holds(l.created) {
            return;
        }
        self.leads += 1;
        for k in 0..2 {
            match l.first_contact {
                Some(fc) => {
                    self.n[k] += 1;
                    self.hits[k] += ((fc - l.created).max(0) <= self.thresholds[k]) as u64;
                }
                None => self.n[k] += (self.now - l.created > self.thresholds[k]) as u64,
            }
        }
        if let Some(fc) = l.first_contact {
            self.delays.push((fc - l.created).max(0));
        }
    }

    /// Every accumulator merges another fed with other facts over the same range, as if it had
    /// been fed them itself: the dashboard keeps one per chunk of settled facts and merges them.
    pub fn merge(&mut self, other: &SpeedAcc) {
        self.leads += other.leads;
        self.delays.merge(&other.delays);
        for k in 0..2 {
            self.hits[k] += other.hits[k];
            self.n[k] += other.n[k];
        }
    }

    /// Readies it to be kept and merged many times (values sorted once, here).
    pub fn seal(&mut self) {
        self.delays.seal();
    }

    pub fn finish(mut self, cx: &Context) -> SpeedToLead {
        let [median] = self.delays.percentiles([0.5]);
        SpeedToLead {
            leads: self.leads,
            contacted: self.delays.len() as u64,
            median_seconds: median,
            within_first: Rate::new(self.hits[0], self.n[0]),
            within_second: Rate::new(self.hits[1], self.n[1]),
            thresholds_minutes: cx.settings.speed_thresholds_minutes,
        }
    }
}

/// Each report run alone over every fact. The server computes them all in one pass instead
/// (`pass.rs`); the tests hold that pass equal to these and to a naive recomputation.
#[cfg(test)]
pub fn speed_to_lead(cx: &Context, range: DateRange) -> SpeedToLead {
    let mut acc = SpeedAcc::new(cx, range);
    cx.leads().for_each(|l| acc.add(l));
    acc.finish(cx)
}

/// Leads of the cohort with a consultation held within the window ÷ leads of the cohort; leads
/// still inside the window stay in the denominator and are reported as still open.
#[derive(Clone)]
pub struct LeadToConsultationAcc {
    span: InstantRange,
    now: Secs,
    window: Secs,
    hits: u64,
    n: u64,
    open: u64,
}

impl LeadToConsultationAcc {
    pub fn new(cx: &Context, range: DateRange) -> Self {
        let window = cx.settings.lead_to_consultation_days as Secs * DAY;
        LeadToConsultationAcc {
            span: InstantRange::of(cx, range),
            now: cx.now,
            window,
            hits: 0,
            n: 0,
            open: 0,
        }
    }

    pub fn add(&mut self, l: &LeadFact) {
        if !self.span.holds(l.created) {
            return;
        }
        self.n += 1;
        match l.first_held {
            Some(h) if h - l.created <= self.window => self.hits += 1,
            _ if self.now - l.created <= self.window => self.open += 1,
            _ => {}
        }
    }

    pub fn merge(&mut self, other: &LeadToConsultationAcc) {
        self.hits += other.hits;
        self.n += other.n;
        self.open += other.open;
    }

    pub fn finish(self) -> Rate {
        Rate::with_open(self.hits, self.n, self.open)
    }
}

#[cfg(test)]
pub fn lead_to_consultation(cx: &Context, range: DateRange) -> Rate {
    let mut acc = LeadToConsultationAcc::new(cx, range);
    cx.leads().for_each(|l| acc.add(l));
    acc.finish()
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
#[derive(Clone)]
pub struct CloseAcc {
    rule: CloseRule,
    counts: CloseCounts,
}

/// What decides a held consultation's place in the close rate.
#[derive(Debug, Clone, Copy)]
struct CloseRule {
    span: InstantRange,
    now: Secs,
    window: Secs,
}

/// The close rate's counts, kept apart from the rule so a breakdown's many groups share one.
#[derive(Debug, Clone, Copy, Default)]
struct CloseCounts {
    n: u64,
    first: u64,
    later: u64,
    open: u64,
}

impl CloseRule {
    fn of(cx: &Context, span: InstantRange) -> Self {
        CloseRule { span, now: cx.now, window: cx.settings.close_window_days as Secs * DAY }
    }

    fn add(&self, c: &mut CloseCounts, s: &DealStanding) {
        let Some(held) = s.d.held.filter(|&h| self.span.holds(h)) else { return };
        c.n += 1;
        match (s.outcome, s.at) {
            (Outcome::Won, Some(at)) if at - held <= self.window && s.sale => {
                if s.d.same_day {
                    c.first += 1
                } else {
                    c.later += 1
                }
            }
            (Outcome::Open, _) if self.now - held <= self.window => c.open += 1,
            _ => {}
        }
    }
}

impl CloseCounts {
    fn merge(&mut self, o: &CloseCounts) {
        self.n += o.n;
        self.first += o.first;
        self.later += o.later;
        self.open += o.open;
    }

    fn finish(self) -> CloseRate {
        CloseRate {
            all: Rate::with_open(self.first + self.later, self.n, self.open),
            first_visit: Rate::with_open(self.first, self.n, self.open),
            follow_up: Rate::with_open(self.later, self.n, self.open),
        }
    }
}

impl CloseAcc {
    pub fn new(cx: &Context, range: DateRange) -> Self {
        CloseAcc { rule: CloseRule::of(cx, InstantRange::of(cx, range)), counts: CloseCounts::default() }
    }

    pub fn add(&mut self, s: &DealStanding) {
        self.rule.add(&mut self.counts, s);
    }

    pub fn merge(&mut self, other: &CloseAcc) {
        self.counts.merge(&other.counts);
    }

    pub fn finish(self) -> CloseRate {
        self.counts.finish()
    }
}

#[cfg(test)]
pub fn close_rate(cx: &Context, range: DateRange) -> CloseRate {
    let mut acc = CloseAcc::new(cx, range);
    cx.deals().for_each(|s| acc.add(&s));
    acc.finish()
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
#[derive(Clone)]
pub struct WinAcc {
    span: InstantRange,
    won: u64,
    lost: u64,
    won_cents: i64,
    lost_cents: i64,
    stale: u64,
}

impl WinAcc {
    pub fn new(cx: &Context, range: DateRange) -> Self {
        WinAcc { span: InstantRange::of(cx, range), won: 0, lost: 0, won_cents: 0, lost_cents: 0, stale: 0 }
    }

    pub fn add(&mut self, s: &DealStanding) {
        if !self.span.holds_some(s.at) {
            return;
        }
        match s.outcome {
            Outcome::Won if s.sale => {
                self.won += 1;
                self.won_cents += s.d.amount_cents;
            }
            Outcome::Lost => {
                self.lost += 1;
                self.lost_cents += if s.stale { s.d.quoted_cents } else { s.d.amount_cents };
                self.stale += s.stale as u64;
            }
            _ => {}
        }
    }

    pub fn merge(&mut self, o: &WinAcc) {
        self.won += o.won;
        self.lost += o.lost;
        self.won_cents += o.won_cents;
        self.lost_cents += o.lost_cents;
        self.stale += o.stale;
    }

    pub fn finish(self) -> WinRate {
        let total = self.won_cents + self.lost_cents;
        WinRate {
            count: Rate::new(self.won, self.won + self.lost),
            won_cents: self.won_cents,
            lost_cents: self.lost_cents,
            value_share: (total > 0).then(|| self.won_cents as f64 / total as f64),
            stale: self.stale,
        }
    }
}

#[cfg(test)]
pub fn win_rate(cx: &Context, range: DateRange) -> WinRate {
    let mut acc = WinAcc::new(cx, range);
    cx.deals().for_each(|s| acc.add(&s));
    acc.finish()
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

#[derive(Clone)]
pub struct CycleAcc {
    span: InstantRange,
    now: Secs,
    from_lead: Sample,
    from_held: Sample,
    curve: Survival,
}

impl CycleAcc {
    pub fn new(cx: &Context, range: DateRange) -> Self {
        CycleAcc {
            span: InstantRange::of(cx, range),
            now: cx.now,
            from_lead: Sample::default(),
            from_held: Sample::default(),
            curve: Survival::new(cx.settings.close_window_days),
        }
    }

    pub fn add(&mut self, s: &DealStanding) {
        if let (Outcome::Won, Some(at)) = (s.outcome, s.at) {
            if self.span.holds(at) && s.sale {
                self.from_lead.push(at - s.d.lead_created);
                if let Some(h) = s.d.held {
                    self.from_held.push(at - h);
                }
            }
        }
        if let Some(h) = s.d.held.filter(|&h| self.span.holds(h)) {
            let days = |secs: Secs| (secs.max(0) / DAY) as u32;
            match (s.outcome, s.at) {
                (Outcome::Won, Some(at)) if s.sale => self.curve.add(days(at - h), true),
                (Outcome::Open, _) => self.curve.add(days(self.now - h), false),
                _ => self.curve.add(u32::MAX, false),
            }
        }
    }

    pub fn merge(&mut self, o: &CycleAcc) {
        self.from_lead.merge(&o.from_lead);
        self.from_held.merge(&o.from_held);
        self.curve.merge(&o.curve);
    }

    pub fn seal(&mut self) {
        self.from_lead.seal();
        self.from_held.seal();
    }

    pub fn finish(self) -> SalesCycle {
        SalesCycle {
            from_lead: self.from_lead.spread(),
            from_consultation: self.from_held.spread(),
            curve: self.curve.finish(),
        }
    }
}

#[cfg(test)]
pub fn sales_cycle(cx: &Context, range: DateRange) -> SalesCycle {
    let mut acc = CycleAcc::new(cx, range);
    cx.deals().for_each(|s| acc.add(&s));
    acc.finish()
}

#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct NonSelling {
    pub logged_hours: f64,
    pub non_selling_hours: f64,
    pub share: Option<f64>,
    pub entries: u64,
}

/// Non-selling hours ÷ logged hours of entries started in the range (breaks are neither).
#[derive(Clone)]
pub struct NonSellingAcc {
    span: InstantRange,
    logged: i64,
    non: i64,
    entries: u64,
}

impl NonSellingAcc {
    pub fn new(cx: &Context, range: DateRange) -> Self {
        NonSellingAcc { span: InstantRange::of(cx, range), logged: 0, non: 0, entries: 0 }
    }

    pub fn add(&mut self, t: &TimeFact) {
        if !self.span.holds(t.start) {
            return;
        }
        self.entries += 1;
        self.logged += t.seconds;
        if !t.selling {
            self.non += t.seconds;
        }
    }

    pub fn merge(&mut self, o: &NonSellingAcc) {
        self.logged += o.logged;
        self.non += o.non;
        self.entries += o.entries;
    }

    pub fn finish(self) -> NonSelling {
        let (logged, non) = (self.logged, self.non);
        NonSelling {
            logged_hours: logged as f64 / 3600.0,
            non_selling_hours: non as f64 / 3600.0,
            share: (logged > 0).then(|| non as f64 / logged as f64),
            entries: self.entries,
        }
    }
}

#[cfg(test)]
pub fn non_selling(cx: &Context, range: DateRange) -> NonSelling {
    let mut acc = NonSellingAcc::new(cx, range);
    cx.time().for_each(|t| acc.add(t));
    acc.finish()
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

#[derive(Clone)]
pub struct RevenueAcc {
    span: InstantRange,
    won: u64,
    cents: i64,
    /// Base rates per service (by dictionary id) over every decision so far: the fallback the
    /// close-probability model of issue 5 starts from.
    decided: Vec<(u64, u64)>,
    /// Open quotes per service: how many, and their quoted cents (sums: the pipeline does not
    /// depend on the order quotes were met in).
    open: Vec<(u64, i64)>,
}

impl RevenueAcc {
    pub fn new(cx: &Context, range: DateRange) -> Self {
        RevenueAcc {
            span: InstantRange::of(cx, range),
            won: 0,
            cents: 0,
            decided: vec![(0, 0); cx.facts.dict.len()],
            open: vec![(0, 0); cx.facts.dict.len()],
        }
    }

    pub fn add(&mut self, s: &DealStanding) {
        let service = s.d.service as usize;
        match s.outcome {
            Outcome::Won => {
                if self.span.holds_some(s.at) {
                    self.won += 1;
                    self.cents += s.d.amount_cents;
                }
                self.decided[service].0 += 1;
            }
            Outcome::Lost => self.decided[service].1 += 1,
            Outcome::Open if s.d.held.is_some() || s.d.presented.is_some() => {
                self.open[service].0 += 1;
                self.open[service].1 += s.d.quoted_cents;
            }
            Outcome::Open => {}
        }
    }

    /// A skipped chunk: its decisions, and its quotes gone stale as losses, still count
    /// towards the base rates.
    pub fn add_skipped(&mut self, chunk: &DealChunk) {
        for &(service, won, lost) in &chunk.decided {
            self.decided[service as usize].0 += won;
            self.decided[service as usize].1 += lost;
        }
        for &(service, stale) in &chunk.open_quotes {
            self.decided[service as usize].1 += stale;
        }
    }

    pub fn merge(&mut self, o: &RevenueAcc) {
        self.won += o.won;
        self.cents += o.cents;
        for (a, b) in self.decided.iter_mut().zip(&o.decided) {
            a.0 += b.0;
            a.1 += b.1;
        }
        for (a, b) in self.open.iter_mut().zip(&o.open) {
            a.0 += b.0;
            a.1 += b.1;
        }
    }

    pub fn finish(self) -> Revenue {
        let pipeline: f64 = self
            .open
            .iter()
            .zip(&self.decided)
            .map(|(&(_, quoted), &(w, l))| {
                let p = if w + l > 0 { w as f64 / (w + l) as f64 } else { 0.0 };
                quoted as f64 * p
            })
            .sum();
        Revenue {
            won: self.won,
            revenue_cents: self.cents,
            average_ticket_cents: (self.won > 0).then(|| self.cents / self.won as i64),
            pipeline_cents: pipeline.round() as i64,
            open_quotes: self.open.iter().map(|&(n, _)| n).sum(),
        }
    }
}

#[cfg(test)]
pub fn revenue(cx: &Context, range: DateRange) -> Revenue {
    let mut acc = RevenueAcc::new(cx, range);
    cx.deals().for_each(|s| acc.add(&s));
    acc.finish()
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
#[derive(Clone)]
pub struct FunnelAcc {
    span: InstantRange,
    now: Secs,
    stale: Secs,
    /// Per stage: entries, advanced, lost, moved back, still in.
    counts: [[u64; 5]; 4],
    won_n: i64,
    won_cents: i64,
}

const ADVANCED: usize = 1;
const LOST: usize = 2;
const BACK: usize = 3;
const STILL: usize = 4;

impl FunnelAcc {
    pub fn new(cx: &Context, range: DateRange) -> Self {
        FunnelAcc {
            span: InstantRange::of(cx, range),
            now: cx.now,
            stale: cx.stale,
            counts: [[0; 5]; 4],
            won_n: 0,
            won_cents: 0,
        }
    }

    fn bump(&mut self, stage: usize, bucket: usize) {
        self.counts[stage][0] += 1;
        self.counts[stage][bucket] += 1;
    }

    /// Lead-level stages: a lead not moving on within the stale window is lost there.
    pub fn add_lead(&mut self, l: &LeadFact) {
        if !self.span.holds(l.created) {
            return;
        }
        let idle_since = l.first_contact.unwrap_or(l.created);
        let stale = self.now - idle_since > self.stale;
        if l.first_contact.is_some() || l.first_held.is_some() {
            self.bump(0, ADVANCED);
            if l.first_held.is_some() {
                self.bump(1, ADVANCED);
            } else {
                self.bump(1, if stale { LOST } else { STILL });
            }
        } else {
            self.bump(0, if stale { LOST } else { STILL });
        }
    }

    pub fn add_deal(&mut self, s: &DealStanding) {
        let d = s.d;
        if !self.span.holds(d.lead_created) || d.held.is_none() {
            return;
        }
        if d.presented.is_some() || d.options_presented > 0 {
            self.bump(2, ADVANCED);
            let bucket = match s.outcome {
                Outcome::Won => ADVANCED,
                Outcome::Lost => LOST,
                Outcome::Open if d.reopened => BACK,
                Outcome::Open => STILL,
            };
            self.bump(3, bucket);
        } else {
            let bucket = match s.outcome {
                Outcome::Lost => LOST,
                Outcome::Open if d.reopened => BACK,
                Outcome::Won => ADVANCED, // won without a recorded presentation: it got past it
                Outcome::Open => STILL,
            };
            self.bump(2, bucket);
        }
        if s.outcome == Outcome::Won {
            self.won_n += 1;
            self.won_cents += d.amount_cents;
        }
    }

    pub fn merge(&mut self, o: &FunnelAcc) {
        for (a, b) in self.counts.iter_mut().flatten().zip(o.counts.iter().flatten()) {
            *a += b;
        }
        self.won_n += o.won_n;
        self.won_cents += o.won_cents;
    }

    pub fn finish(self, cx: &Context) -> Funnel {
        let average = (self.won_n > 0).then(|| self.won_cents / self.won_n);
        let targets = stage_targets(cx.settings);
        let mut stages: Vec<Stage> = (0..4)
            .map(|i| {
                let [entries, advanced, lost, moved_back, still_in] = self.counts[i];
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
}

#[cfg(test)]
pub fn funnel(cx: &Context, range: DateRange) -> Funnel {
    let mut acc = FunnelAcc::new(cx, range);
    cx.leads().for_each(|l| acc.add_lead(l));
    cx.deals().for_each(|s| acc.add_deal(&s));
    acc.finish(cx)
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

/// A dictionary id, or NONE (the last slot), as an index into a per-group vector.
fn slot(dict_len: usize, key: u32) -> usize {
    if key == NONE {
        dict_len
    } else {
        key as usize
    }
}

/// Close rate (held in the range), win rate and revenue (decided in the range) per group. People
/// come back as their ids; the caller names them.
#[derive(Clone)]
pub struct BreakdownAcc {
    dim: Dimension,
    span: InstantRange,
    close: CloseRule,
    dict_len: usize,
    /// The groups met so far (a slot is a dictionary id, NONE last) — a chunk meets a few of
    /// the company's people, so a kept chunk holds only those.
    slots: Vec<u32>,
    groups: Vec<Group>,
    /// Slot → position in `groups` (u32::MAX: not met yet); built on first use, dropped by
    /// [`BreakdownAcc::seal`].
    index: Vec<u32>,
}

/// One group's close rate of held ones, won sales, losses, wins and cents.
#[derive(Clone, Copy, Default)]
struct Group {
    close: CloseCounts,
    won: u64,
    lost: u64,
    sales: u64,
    cents: i64,
}

impl BreakdownAcc {
    pub fn new(cx: &Context, range: DateRange, dim: Dimension) -> Self {
        let span = InstantRange::of(cx, range);
        BreakdownAcc {
            dim,
            span,
            close: CloseRule::of(cx, span),
            dict_len: cx.facts.dict.len(),
            slots: vec![],
            groups: vec![],
            index: vec![],
        }
    }

    fn group(&mut self, slot: usize) -> &mut Group {
        if self.index.is_empty() {
            self.index = vec![u32::MAX; self.dict_len + 1];
            for (i, &s) in self.slots.iter().enumerate() {
                self.index[s as usize] = i as u32;
            }
        }
        if self.index[slot] == u32::MAX {
            self.index[slot] = self.groups.len() as u32;
            self.slots.push(slot as u32);
            self.groups.push(Group::default());
        }
        &mut self.groups[self.index[slot] as usize]
    }

    pub fn add(&mut self, s: &DealStanding) {
        let slot = slot(self.dict_len, self.dim.key(s.d));
        // Reps do not hold consultations: grouping held ones by who decided them would make
        // every rep's close rate 100%. Their rows carry win rate and revenue only.
        if self.dim != Dimension::Rep && self.span.holds_some(s.d.held) {
            let rule = self.close;
            rule.add(&mut self.group(slot).close, s);
        }
        if self.span.holds_some(s.at) {
            let g = self.group(slot);
            match s.outcome {
                Outcome::Won => {
                    g.sales += 1;
                    g.cents += s.d.amount_cents;
                    g.won += s.sale as u64;
                }
                Outcome::Lost => g.lost += 1,
                Outcome::Open => {}
            }
        }
    }

    pub fn merge(&mut self, o: &BreakdownAcc) {
        for (&slot, b) in o.slots.iter().zip(&o.groups) {
            let a = self.group(slot as usize);
            a.close.merge(&b.close);
            a.won += b.won;
            a.lost += b.lost;
            a.sales += b.sales;
            a.cents += b.cents;
        }
    }

    pub fn seal(&mut self) {
        self.index = vec![];
    }

    pub fn finish(self, cx: &Context) -> Vec<BreakdownRow> {
        let dict_len = self.dict_len;
        let mut rows: Vec<BreakdownRow> = self
            .slots
            .into_iter()
            .map(|i| i as usize)
            .zip(self.groups)
            .map(|(i, g)| BreakdownRow {
                key: if i == dict_len { "(none)".into() } else { cx.facts.dict.name(i as u32).to_string() },
                held: g.close.n,
                close_rate: g.close.finish().all,
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
}

pub fn breakdown(cx: &Context, range: DateRange, dim: Dimension) -> Vec<BreakdownRow> {
    let mut acc = BreakdownAcc::new(cx, range, dim);
    cx.deals().for_each(|s| acc.add(&s));
    acc.finish(cx)
}

#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct LostReason {
    pub reason: String,
    pub count: u64,
    pub value_cents: i64,
    pub share: f64,
}

/// Losses dated in the range by structured reason; stale quotes count as "no_decision".
#[derive(Clone)]
pub struct LostAcc {
    span: InstantRange,
    dict_len: usize,
    /// Where stale quotes count: the "no_decision" reason's slot, else one past NONE's.
    no_decision: usize,
    /// (count, value) per reason slot.
    by: Vec<(u64, i64)>,
    total: u64,
}

impl LostAcc {
    pub fn new(cx: &Context, range: DateRange) -> Self {
        let dict_len = cx.facts.dict.len();
        let no_decision = cx.facts.dict.get("no_decision").map_or(dict_len + 1, |id| id as usize);
        LostAcc {
            span: InstantRange::of(cx, range),
            dict_len,
            no_decision,
            by: vec![(0, 0); dict_len + 2],
            total: 0,
        }
    }

    pub fn add(&mut self, s: &DealStanding) {
        if s.outcome != Outcome::Lost || !self.span.holds_some(s.at) {
            return;
        }
        let i = if s.stale { self.no_decision } else { slot(self.dict_len, s.d.reason) };
        self.by[i].0 += 1;
        self.by[i].1 += if s.stale { s.d.quoted_cents } else { s.d.amount_cents };
        self.total += 1;
    }

    pub fn merge(&mut self, o: &LostAcc) {
        for (a, b) in self.by.iter_mut().zip(&o.by) {
            a.0 += b.0;
            a.1 += b.1;
        }
        self.total += o.total;
    }

    pub fn finish(self, cx: &Context) -> Vec<LostReason> {
        let (dict_len, total) = (self.dict_len, self.total);
        let mut rows: Vec<LostReason> = self
            .by
            .into_iter()
            .enumerate()
            .filter(|(_, (count, _))| *count > 0)
            .map(|(i, (count, value))| LostReason {
                reason: match i {
                    i if i < dict_len => cx.facts.dict.name(i as u32).to_string(),
                    i if i == dict_len => "other".into(),
                    _ => "no_decision".into(),
                },
                count,
                value_cents: value,
                share: count as f64 / total as f64,
            })
            .collect();
        rows.sort_by(|a, b| b.count.cmp(&a.count).then(a.reason.cmp(&b.reason)));
        rows
    }
}

#[cfg(test)]
pub fn lost_reasons(cx: &Context, range: DateRange) -> Vec<LostReason> {
    let mut acc = LostAcc::new(cx, range);
    cx.deals().for_each(|s| acc.add(&s));
    acc.finish(cx)
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
#[derive(Clone)]
pub struct CohortAcc {
    span: InstantRange,
    months: Vec<DateRange>,
    /// Month starts as instants: converting each consultation's time to a local date would
    /// cost a time-zone lookup per consultation.
    slots: std::sync::Arc<Slots>,
    /// Per month: held, and won by the end of each week since.
    by: Vec<(u64, [u64; COHORT_WEEKS])>,
}

impl CohortAcc {
    pub fn new(cx: &Context, range: DateRange) -> Self {
        let months = periods(range, Period::Month);
        let span = InstantRange::of(cx, range);
        let slots = Slots::new(months.iter().map(|m| midnight(cx.tz, m.from)).collect(), span.to).into();
        let by = vec![(0, [0; COHORT_WEEKS]); months.len()];
        CohortAcc { span, months, slots, by }
    }

    pub fn add(&mut self, s: &DealStanding) {
        let Some(h) = s.d.held.filter(|&h| self.span.holds(h)) else { return };
        let Some(i) = self.slots.of(h) else { return };
        let e = &mut self.by[i];
        e.0 += 1;
        if let (Outcome::Won, Some(at), true) = (s.outcome, s.at, s.sale) {
            let week = ((at - h).max(0) / (7 * DAY)) as usize;
            for w in e.1.iter_mut().skip(week) {
                *w += 1;
            }
        }
    }

    pub fn merge(&mut self, o: &CohortAcc) {
        for (a, b) in self.by.iter_mut().zip(&o.by) {
            a.0 += b.0;
            a.1.iter_mut().zip(&b.1).for_each(|(x, y)| *x += y);
        }
    }

    pub fn finish(self, cx: &Context) -> Vec<CohortRow> {
        self.months
            .iter()
            .zip(self.by)
            .filter(|(_, (held, _))| *held > 0)
            .map(|(m, (held, won))| {
                let month = Period::Month.start(m.from);
                // Mature for week w when the month's last day is w weeks old.
                let month_end = midnight(cx.tz, Period::Month.next(month));
                CohortRow {
                    month,
                    held,
                    closed_by_week: (0..COHORT_WEEKS)
                        .map(|w| {
                            (month_end + (w as Secs + 1) * 7 * DAY <= cx.now)
                                .then(|| won[w] as f64 / held as f64)
                        })
                        .collect(),
                }
            })
            .collect()
    }
}

#[cfg(test)]
pub fn cohorts(cx: &Context, range: DateRange) -> Vec<CohortRow> {
    let mut acc = CohortAcc::new(cx, range);
    cx.deals().for_each(|s| acc.add(&s));
    acc.finish(cx)
}

#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct TierRow {
    pub tier: String,
    pub won: u64,
    pub share_of_wins: f64,
    pub average_ticket_cents: i64,
}

/// Which tier sells, at what ticket: wins dated in the range by the chosen option's tier.
pub fn tiers_of(rows: Vec<BreakdownRow>) -> Vec<TierRow> {
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

#[cfg(test)]
pub fn tiers(cx: &Context, range: DateRange) -> Vec<TierRow> {
    tiers_of(breakdown(cx, range, Dimension::Tier))
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
#[derive(Clone)]
pub struct BeforeAfterAcc {
    change: String,
    on: NaiveDate,
    days: u32,
    mature: bool,
    close: [CloseAcc; 2],
    win: [WinAcc; 2],
    l2c: [LeadToConsultationAcc; 2],
}

impl BeforeAfterAcc {
    pub fn new(cx: &Context, change: &str, on: NaiveDate, days: u32) -> Self {
        let before = DateRange { from: on - Duration::days(days as i64), to: on - Duration::days(1) };
        let after = DateRange { from: on, to: on + Duration::days(days as i64 - 1) };
        let settle = cx.settings.close_window_days.max(cx.settings.lead_to_consultation_days) as Secs * DAY;
        BeforeAfterAcc {
            change: change.to_string(),
            on,
            days,
            mature: cx.bounds(after).1 + settle <= cx.now,
            close: [before, after].map(|r| CloseAcc::new(cx, r)),
            win: [before, after].map(|r| WinAcc::new(cx, r)),
            l2c: [before, after].map(|r| LeadToConsultationAcc::new(cx, r)),
        }
    }

    /// The earliest instant it looks at.
    pub fn since(&self) -> Secs {
        self.close[0].rule.span.from
    }

    pub fn add_lead(&mut self, l: &LeadFact) {
        self.l2c.iter_mut().for_each(|a| a.add(l));
    }

    pub fn add_deal(&mut self, s: &DealStanding) {
        self.close.iter_mut().for_each(|a| a.add(s));
        self.win.iter_mut().for_each(|a| a.add(s));
    }

    pub fn merge(&mut self, o: &BeforeAfterAcc) {
        for k in 0..2 {
            self.close[k].merge(&o.close[k]);
            self.win[k].merge(&o.win[k]);
            self.l2c[k].merge(&o.l2c[k]);
        }
    }

    pub fn finish(self) -> BeforeAfter {
        let [c0, c1] = self.close;
        let [w0, w1] = self.win;
        let [l0, l1] = self.l2c;
        BeforeAfter {
            change: self.change,
            changed_on: self.on,
            days: self.days,
            mature: self.mature,
            close_rate: compare(c0.finish().all, c1.finish().all),
            win_rate: compare(w0.finish().count, w1.finish().count),
            lead_to_consultation: compare(l0.finish(), l1.finish()),
        }
    }
}

#[cfg(test)]
pub fn before_after(cx: &Context, change: &str, on: NaiveDate, days: u32) -> BeforeAfter {
    let mut acc = BeforeAfterAcc::new(cx, change, on, days);
    cx.leads().for_each(|l| acc.add_lead(l));
    cx.deals().for_each(|s| acc.add_deal(&s));
    acc.finish()
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slots_agree_with_a_binary_search_across_daylight_saving_changes() {
        // Weeks and months in zones with 1-hour, 30-minute and no DST changes.
        for tz in [chrono_tz::America::Chicago, chrono_tz::Australia::Lord_Howe, chrono_tz::UTC] {
            for period in [Period::Week, Period::Month, Period::Quarter] {
                let range = DateRange {
                    from: NaiveDate::from_ymd_opt(2024, 1, 3).unwrap(),
                    to: NaiveDate::from_ymd_opt(2026, 2, 10).unwrap(),
                };
                let starts: Vec<Secs> = periods(range, period).iter().map(|p| midnight(tz, p.from)).collect();
                let end = bounds(tz, range).1;
                let slots = Slots::new(starts.clone(), end);
                let search =
                    |t: Secs| (t >= starts[0] && t < end).then(|| starts.partition_point(|&s| s <= t) - 1);
                // Every boundary, a second either side, and a sweep at an odd stride.
                let mut probes: Vec<Secs> = starts.iter().flat_map(|&s| [s - 1, s, s + 1]).collect();
                probes.extend([end - 1, end, end + 1]);
                probes.extend((starts[0] - DAY..end + DAY).step_by(4_099));
                for t in probes {
                    assert_eq!(slots.of(t), search(t), "{tz} {period:?} at {t}");
                }
            }
        }
    }
}
