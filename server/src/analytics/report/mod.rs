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

mod before_after;
mod breakdown;
mod close;
mod cohort;
mod cycle;
mod funnel;
mod lead_to_consultation;
mod lost;
mod marketing;
mod non_selling;
mod revenue;
mod speed;
mod tiers;
mod win;

pub use before_after::*;
pub use breakdown::*;
pub use close::*;
pub use cohort::*;
pub use cycle::*;
pub use funnel::*;
pub use lead_to_consultation::*;
pub use lost::*;
pub use marketing::*;
pub use non_selling::*;
pub use revenue::*;
pub use speed::*;
pub use tiers::*;
pub use win::*;

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
    /// The company's opening hours, for speed to lead in business time.
    pub hours: std::sync::Arc<super::business::Hours>,
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
            hours: std::sync::Arc::new(super::business::Hours::new(tz, settings)),
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

/// Every report is an accumulator — `new` for a range, `add` one lead or deal at a time,
/// `finish` — so the dashboard can feed all of them in one pass over the facts while each
/// report on its own is the same code folded over the same facts; one file per report.
///
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
