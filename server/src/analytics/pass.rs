//! The dashboard's pass over a company's facts, and the part of it that is kept.
//!
//! Every report is an accumulator (`report`), and every accumulator merges another fed with
//! other facts over the same range. So the pass works chunk by chunk (leads, deals and time
//! entries, `facts::CHUNK` of each), the two cores taking every other chunk, and merges. A chunk
//! whose part can no longer change — nothing in it was touched since, and everything in it is
//! older than the longest window a report applies (a quote's stale window, the close window,
//! ...) so that no later `now` moves any of it — has its part kept, per query. The next
//! dashboard over the same range merges the kept parts and reads only the chunks that changed
//! or are still live: at a million consultations over five years, the last two months'.
//!
//! Exact, not approximate: a kept part is the very accumulators the chunk would feed again, and
//! percentiles merge as sorted runs of the same values (`stats::Sample`). The property test
//! holds a dashboard built from kept parts equal to one recomputed from the raw events.

use super::{
    facts::{DealChunk, DealFact, Kind, LeadFact, Secs, TimeFact, DAY},
    report::{self, Context, DateRange, Dimension, Period, Report, Resolved},
    settings::Settings,
    ProcessChange, TrendAcc,
};
use chrono_tz::Tz;
use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
};

/// What a dashboard asks for; with the settings, filter and zone, what a kept part is for.
pub struct Query<'q> {
    pub range: DateRange,
    pub period: Period,
    pub changes: &'q [ProcessChange],
    pub dims: &'q [Dimension],
}

/// Declares the accumulators a dashboard feeds, and feeds, merges and seals every one of them
/// through [`Report`]: a report added here is fed every kind of fact, never forgotten in one.
macro_rules! dashboard_reports {
    ($($field:ident: $ty:ty,)*) => {
        /// Every accumulator a dashboard feeds.
        #[derive(Clone)]
        pub struct DashboardReports {
            $(pub $field: $ty,)*
        }

        impl DashboardReports {
            fn add_lead(&mut self, lead: &LeadFact) {
                $(Report::add_lead(&mut self.$field, lead);)*
            }

            fn add_deal(&mut self, deal: &report::DealStanding) {
                $(Report::add_deal(&mut self.$field, deal);)*
            }

            fn add_time(&mut self, entry: &TimeFact) {
                $(Report::add_time(&mut self.$field, entry);)*
            }

            fn add_skipped(&mut self, chunk: &DealChunk) {
                $(Report::add_skipped(&mut self.$field, chunk);)*
            }

            pub fn merge(&mut self, other: &DashboardReports) {
                $(Report::merge(&mut self.$field, &other.$field);)*
            }

            /// Readies a chunk's part to be kept: values sorted once, lookup tables dropped.
            fn seal(&mut self) {
                $(Report::seal(&mut self.$field);)*
            }
        }
    };
}

dashboard_reports! {
    speed: report::SpeedAcc,
    l2c: report::LeadToConsultationAcc,
    close: report::CloseAcc,
    win: report::WinAcc,
    cycle: report::CycleAcc,
    revenue: report::RevenueAcc,
    funnel: report::FunnelAcc,
    lost: report::LostAcc,
    tiers: report::BreakdownAcc,
    cohorts: report::CohortAcc,
    breakdowns: Vec<report::BreakdownAcc>,
    trends: TrendAcc,
    before_after: Vec<report::BeforeAfterAcc>,
    non_selling: report::NonSellingAcc,
}

impl DashboardReports {
    pub fn new(cx: &Context, q: &Query) -> DashboardReports {
        let range = q.range;
        DashboardReports {
            speed: report::SpeedAcc::new(cx, range),
            l2c: report::LeadToConsultationAcc::new(cx, range),
            close: report::CloseAcc::new(cx, range),
            win: report::WinAcc::new(cx, range),
            cycle: report::CycleAcc::new(cx, range),
            revenue: report::RevenueAcc::new(cx, range),
            funnel: report::FunnelAcc::new(cx, range),
            lost: report::LostAcc::new(cx, range),
            tiers: report::BreakdownAcc::new(cx, range, Dimension::Tier),
            cohorts: report::CohortAcc::new(cx, range),
            breakdowns: q.dims.iter().map(|&dim| report::BreakdownAcc::new(cx, range, dim)).collect(),
            trends: TrendAcc::new(cx, range, q.period),
            before_after: q
                .changes
                .iter()
                .map(|c| report::BeforeAfterAcc::new(cx, &c.name, c.changed_on, super::COMPARISON_DAYS))
                .collect(),
            non_selling: report::NonSellingAcc::new(cx, range),
        }
    }

    fn feed(&mut self, cx: &Context, piece: &FactChunk) {
        match *piece {
            FactChunk::Leads(leads) => cx.leads_in(leads).for_each(|l| self.add_lead(l)),
            FactChunk::Deals(deals) => cx.deals_in(deals).for_each(|s| self.add_deal(&s)),
            FactChunk::Skip(chunk) => self.add_skipped(chunk),
            FactChunk::Time(time) => cx.time_in(time).for_each(|t| self.add_time(t)),
        }
    }

    /// The earliest instant any of its reports looks at.
    fn since(&self, cx: &Context, range: DateRange) -> Secs {
        self.before_after.iter().map(|b| b.since()).fold(cx.bounds(range).0, Secs::min)
    }
}

/// One chunk of facts as the pass meets it.
enum FactChunk<'a> {
    Leads(&'a [LeadFact]),
    Deals(&'a [DealFact]),
    /// Deals settled before anything the dashboard looks at: only their summary counts
    /// (`Context::settled`).
    Skip(&'a DealChunk),
    Time(&'a [TimeFact]),
}

struct Work<'a> {
    piece: FactChunk<'a>,
    /// The chunk it is, where its part may be kept.
    chunk: Option<(Kind, usize)>,
    /// No later `now` changes its part.
    settled: bool,
}

/// The chunks a dashboard about instants from `since` on reads, in order: leads, deals, time.
fn pieces<'a>(cx: &Context<'a>, since: Secs) -> Vec<Work<'a>> {
    let s = cx.settings;
    // The longest a fact's standing can change after the last instant it mentions: a lead is
    // contacted late or not (speed thresholds), gets its consultation (lead → consultation
    // window), a quote goes stale or is won in time (stale and close windows).
    let days = s.stale_days.max(s.close_window_days).max(s.lead_to_consultation_days) as Secs;
    let minutes = s.speed_thresholds_minutes.into_iter().max().unwrap_or(0) as Secs;
    // A lead never answered passes the business-time threshold only once the company has been
    // open long enough after it: past the longest the clock can stand still.
    let business_days = cx.hours.days_to_pass(minutes * 60);
    let settled = |latest: Secs| latest.saturating_add(days.max(business_days) * DAY + minutes * 60) < cx.now;
    let facts = cx.facts;
    let mut work = vec![];
    match facts.lead_chunks() {
        Some(chunks) => {
            for (k, (c, leads)) in chunks.enumerate().filter(|(_, (c, _))| c.latest_created >= since) {
                work.push(Work {
                    piece: FactChunk::Leads(leads),
                    chunk: Some((Kind::Leads, k)),
                    settled: settled(c.latest),
                });
            }
        }
        None => work.push(Work { piece: FactChunk::Leads(&facts.leads), chunk: None, settled: false }),
    }
    match facts.deal_chunks() {
        Some(chunks) => {
            for (k, (c, deals)) in chunks.enumerate() {
                work.push(match cx.settled(c, since) {
                    true => Work { piece: FactChunk::Skip(c), chunk: None, settled: false },
                    false => Work {
                        piece: FactChunk::Deals(deals),
                        chunk: Some((Kind::Deals, k)),
                        settled: settled(c.latest),
                    },
                });
            }
        }
        None => work.push(Work { piece: FactChunk::Deals(&facts.deals), chunk: None, settled: false }),
    }
    // Time entries never depend on `now`.
    for (k, time) in facts.time.chunks(super::facts::CHUNK).enumerate() {
        work.push(Work { piece: FactChunk::Time(time), chunk: Some((Kind::Time, k)), settled: true });
    }
    work
}

/// Runs every accumulator of `q` over the facts: kept parts merged, the rest read on two
/// threads, and the parts of newly settled chunks kept.
pub fn run(cx: &Context, q: &Query) -> DashboardReports {
    let template = DashboardReports::new(cx, q);
    let work = pieces(cx, template.since(cx, q.range));
    let key = Key::of(cx, q);
    let kept = cx.facts.partials.find(&key, cx, &work);
    // Each thread takes every other chunk: the live ones (the most recent) are spread evenly.
    let half = |parity: usize| {
        let mut acc = template.clone();
        let mut made = vec![];
        for (w, kept) in work.iter().zip(&kept).skip(parity).step_by(2) {
            match (kept, w.chunk) {
                (Some(part), _) => acc.merge(part),
                (None, Some(chunk)) if w.settled => {
                    let mut part = template.clone();
                    part.feed(cx, &w.piece);
                    part.seal();
                    acc.merge(&part);
                    made.push((chunk, Arc::new(part)));
                }
                (None, _) => acc.feed(cx, &w.piece),
            }
        }
        (acc, made)
    };
    let ((mut acc, mut made), (other, more)) = std::thread::scope(|threads| {
        let other = threads.spawn(|| half(1));
        let mine = half(0);
        (mine, other.join().expect("the dashboard's second thread"))
    });
    acc.merge(&other);
    made.extend(more);
    cx.facts.partials.keep(key, cx, made);
    acc
}

/// What kept parts are for: the same query, settings, filter and zone, and the same dictionary
/// (reports index their vectors by its ids).
#[derive(PartialEq)]
struct Key {
    range: DateRange,
    period: Period,
    changes: Vec<ProcessChange>,
    dims: Vec<Dimension>,
    settings: Settings,
    filter: Resolved,
    tz: Tz,
    dict_len: usize,
}

impl Key {
    fn of(cx: &Context, q: &Query) -> Key {
        Key {
            range: q.range,
            period: q.period,
            changes: q.changes.to_vec(),
            dims: q.dims.to_vec(),
            settings: cx.settings.clone(),
            filter: cx.filter(),
            tz: cx.tz,
            dict_len: cx.facts.dict.len(),
        }
    }
}

/// Queries whose parts are kept per company: the dashboard, the reports page (which adds the
/// breakdowns) and a couple of ranges a manager moves between. The least recently used goes.
const QUERIES: usize = 4;

/// The kept parts of a company's recent dashboards. Shared by concurrent reports (behind a
/// lock taken twice per dashboard, never while reading facts).
#[derive(Default)]
pub struct Partials(Mutex<Kept>);

#[derive(Default)]
struct Kept {
    clock: u64,
    queries: Vec<Entry>,
}

struct Entry {
    key: Key,
    used: u64,
    parts: HashMap<(Kind, usize), Part>,
}

struct Part {
    /// The chunk's generation it was made from.
    generation: u64,
    /// The `now` it was made at: it holds for that `now` and every later one.
    made_at: Secs,
    accs: Arc<DashboardReports>,
}

impl Clone for Partials {
    /// A copy of the facts starts with nothing kept.
    fn clone(&self) -> Self {
        Partials::default()
    }
}

impl std::fmt::Debug for Partials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let kept = self.0.lock().expect("partials lock");
        let parts: usize = kept.queries.iter().map(|e| e.parts.len()).sum();
        write!(f, "Partials {{ queries: {}, parts: {parts} }}", kept.queries.len())
    }
}

impl Partials {
    /// The kept part of each piece of `work` that is still good.
    fn find(&self, key: &Key, cx: &Context, work: &[Work]) -> Vec<Option<Arc<DashboardReports>>> {
        let mut kept = self.0.lock().expect("partials lock");
        kept.clock += 1;
        let clock = kept.clock;
        let Some(entry) = kept.queries.iter_mut().find(|e| e.key == *key) else {
            return work.iter().map(|_| None).collect();
        };
        entry.used = clock;
        work.iter()
            .map(|w| {
                let (kind, k) = w.chunk?;
                let part = entry.parts.get(&(kind, k))?;
                (part.generation == cx.facts.generation(kind, k) && part.made_at <= cx.now)
                    .then(|| part.accs.clone())
            })
            .collect()
    }

    fn keep(&self, key: Key, cx: &Context, made: Vec<((Kind, usize), Arc<DashboardReports>)>) {
        if made.is_empty() {
            return;
        }
        let mut kept = self.0.lock().expect("partials lock");
        kept.clock += 1;
        let clock = kept.clock;
        let i = match kept.queries.iter().position(|e| e.key == key) {
            Some(i) => i,
            None => {
                if kept.queries.len() >= QUERIES {
                    let oldest = (0..kept.queries.len()).min_by_key(|&i| kept.queries[i].used).expect("full");
                    kept.queries.swap_remove(oldest);
                }
                kept.queries.push(Entry { key, used: clock, parts: HashMap::new() });
                kept.queries.len() - 1
            }
        };
        let entry = &mut kept.queries[i];
        entry.used = clock;
        for ((kind, k), accs) in made {
            let generation = cx.facts.generation(kind, k);
            entry.parts.insert((kind, k), Part { generation, made_at: cx.now, accs });
        }
    }

    /// How many parts of chunks of `kind` are kept, over all queries (for tests and the bench).
    pub fn count(&self, kind: Kind) -> usize {
        let kept = self.0.lock().expect("partials lock");
        kept.queries.iter().flat_map(|e| e.parts.keys()).filter(|(k, _)| *k == kind).count()
    }
}
