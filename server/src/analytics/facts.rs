//! From raw stage events to one compact fact per lead and per consultation. The fold is the
//! single place where METRICS.md's "current status is derived from events" happens; every KPI
//! reads these facts, and the property test checks them against a recomputation from the raw
//! events that shares none of this code.

use super::id_index::IdIndex;
use chrono::{DateTime, TimeZone, Utc};
use chrono_tz::Tz;
use std::collections::HashMap;
use uuid::Uuid;

/// Seconds since the Unix epoch: facts are compared and subtracted millions of times a report.
pub type Secs = i64;

pub const DAY: Secs = 86_400;

pub fn secs(t: DateTime<Utc>) -> Secs {
    t.timestamp()
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[repr(u8)]
pub enum EventKind {
    LeadCreated,
    FirstContact,
    ConsultationScheduled,
    ConsultationHeld,
    OptionsPresented,
    FollowUp,
    Won,
    Lost,
    Reopened,
    /// The office's judgement of a lead; the latest one stands.
    Qualified,
    Disqualified,
}

impl EventKind {
    /// Every kind, by its number (`kind as u8`).
    pub const ALL: [EventKind; 11] = [
        EventKind::LeadCreated,
        EventKind::FirstContact,
        EventKind::ConsultationScheduled,
        EventKind::ConsultationHeld,
        EventKind::OptionsPresented,
        EventKind::FollowUp,
        EventKind::Won,
        EventKind::Lost,
        EventKind::Reopened,
        EventKind::Qualified,
        EventKind::Disqualified,
    ];

    pub fn parse(s: &str) -> Option<EventKind> {
        Some(match s {
            "lead_created" => EventKind::LeadCreated,
            "first_contact" => EventKind::FirstContact,
            "consultation_scheduled" => EventKind::ConsultationScheduled,
            "consultation_held" => EventKind::ConsultationHeld,
            "options_presented" => EventKind::OptionsPresented,
            "follow_up" => EventKind::FollowUp,
            "won" => EventKind::Won,
            "lost" => EventKind::Lost,
            "reopened" => EventKind::Reopened,
            "qualified" => EventKind::Qualified,
            "disqualified" => EventKind::Disqualified,
            _ => return None,
        })
    }
}

/// One step of a lead's path through the process (the process map reads them): its event's kind
/// and the seconds since the lead's previous event, in one word, since a million leads carry
/// four million of them. Gaps longer than [`Step::MAX_GAP`] (8.5 years) are kept as that.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Step(u32);

impl Step {
    pub const MAX_GAP: Secs = (1 << 28) - 1;

    pub fn new(kind: EventKind, gap: Secs) -> Step {
        Step((gap.clamp(0, Step::MAX_GAP) as u32) << 4 | kind as u32)
    }
    pub fn kind(self) -> EventKind {
        EventKind::ALL[(self.0 & 0xF) as usize]
    }
    pub fn gap(self) -> Secs {
        Secs::from(self.0 >> 4)
    }
    /// The word as stored in a snapshot.
    pub fn bits(self) -> u32 {
        self.0
    }
    /// A stored word, or None when its kind is not one.
    pub fn from_bits(bits: u32) -> Option<Step> {
        ((bits & 0xF) < EventKind::ALL.len() as u32).then_some(Step(bits))
    }
}

/// Where a lead's path lies in its company's steps ([`CompanyFacts::path`]): one vector of steps
/// per company instead of an allocation per lead. Six bytes, packed, so that a lead's fact stays
/// the size it had before it carried a path (its padding holds it); a path keeps at most 65,535
/// events.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[repr(C, packed(2))]
pub struct PathRef {
    start: u32,
    len: u16,
}

impl PathRef {
    /// Steps `start..start + len` of a company's steps, when they fit its 32-bit offsets.
    pub fn new(start: usize, len: usize) -> Option<PathRef> {
        let (start, len) = (u32::try_from(start).ok()?, u16::try_from(len).ok()?);
        start.checked_add(u32::from(len))?;
        Some(PathRef { start, len })
    }
    pub fn len(self) -> usize {
        self.len as usize
    }
    pub fn is_empty(self) -> bool {
        self.len() == 0
    }
    fn range(self) -> std::ops::Range<usize> {
        let (start, len) = (self.start as usize, self.len as usize);
        start..start + len
    }
}

/// A lead's events as steps, in the order given (time order).
pub fn path(events: impl IntoIterator<Item = (EventKind, Secs)>) -> Vec<Step> {
    let mut last = None;
    events
        .into_iter()
        .map(|(kind, at)| {
            let step = Step::new(kind, last.map_or(0, |l| at - l));
            last = Some(at);
            step
        })
        .collect()
}

/// One stage event as stored, with the few details the metrics read.
#[derive(Debug, Clone)]
pub struct Event {
    pub consultation: Option<Uuid>,
    pub kind: EventKind,
    pub at: Secs,
    pub actor: Uuid,
    /// `won`: the signed amount.
    pub amount_cents: Option<i64>,
    /// `won`: the chosen option.
    pub option: Option<Uuid>,
    /// `lost`: the structured reason.
    pub reason: Option<String>,
}

/// What the lead row says (its source is fixed at creation).
#[derive(Debug, Clone)]
pub struct LeadRow {
    pub id: Uuid,
    pub source: String,
    pub service_type: String,
    pub created_at: Secs,
    /// The `utm_campaign` it came with (marketing spend is per source and campaign).
    pub campaign: Option<String>,
}

#[derive(Debug, Clone)]
pub struct OptionRow {
    pub id: Uuid,
    pub tier: String,
    pub price_cents: i64,
    pub presented: bool,
    /// It came with a financing plan (a monthly payment).
    pub financing: bool,
}

#[derive(Debug, Clone)]
pub struct ConsultationRow {
    pub id: Uuid,
    pub technician: Uuid,
    pub options: Vec<OptionRow>,
    /// The keys of the checklist steps marked done.
    pub checklist_done: Vec<String>,
}

/// Small integer names for the strings and people facts group by, so a fact is a few words and
/// a report a tight loop.
#[derive(Debug, Default, Clone)]
pub struct Dictionary {
    names: Vec<String>,
    index: HashMap<String, u32>,
    /// The ids of checklist step names ([`CHECKLIST_PREFIX`]), in id order: a step's slot (its bit
    /// in [`DealFact::checklist`]) is its position here, so it follows from the names alone and a
    /// stored dictionary gives back the same slots.
    checklist: Vec<u32>,
}

/// What a checklist step's key is named by in the dictionary.
pub const CHECKLIST_PREFIX: &str = "checklist:";

/// Checklist steps beyond this many (in the order first seen) are not carried: a bit each in a
/// `u32`, which keeps a deal's fact the size it was before it carried them.
pub const CHECKLIST_SLOTS: usize = 32;

impl Dictionary {
    pub fn id(&mut self, name: &str) -> u32 {
        if let Some(&i) = self.index.get(name) {
            return i;
        }
        let i = self.names.len() as u32;
        self.names.push(name.to_string());
        self.index.insert(name.to_string(), i);
        if name.starts_with(CHECKLIST_PREFIX) {
            self.checklist.push(i);
        }
        i
    }

    /// The bit of checklist step `key` (None past [`CHECKLIST_SLOTS`] steps).
    pub fn checklist_slot(&mut self, key: &str) -> Option<u32> {
        let id = self.id(&format!("{CHECKLIST_PREFIX}{key}"));
        let slot = self.checklist.iter().position(|&c| c == id)?;
        (slot < CHECKLIST_SLOTS).then_some(slot as u32)
    }

    /// The checklist steps' keys, by slot.
    pub fn checklist_keys(&self) -> impl Iterator<Item = &str> + '_ {
        self.checklist
            .iter()
            .take(CHECKLIST_SLOTS)
            .map(|&id| self.names[id as usize].strip_prefix(CHECKLIST_PREFIX).unwrap_or_default())
    }
    pub fn get(&self, name: &str) -> Option<u32> {
        self.index.get(name).copied()
    }
    pub fn name(&self, id: u32) -> &str {
        &self.names[id as usize]
    }
    /// Ids run from 0 to `len() - 1`: reports index vectors by them.
    pub fn len(&self) -> usize {
        self.names.len()
    }
    pub fn is_empty(&self) -> bool {
        self.names.is_empty()
    }
    /// Every name, by id.
    pub fn names(&self) -> &[String] {
        &self.names
    }
    /// The dictionary whose ids are `names`' positions (as [`Dictionary::names`] gave them).
    pub fn from_names(names: Vec<String>) -> Dictionary {
        let index = names.iter().enumerate().map(|(i, n)| (n.clone(), i as u32)).collect();
        let checklist =
            (0..names.len() as u32).filter(|&i| names[i as usize].starts_with(CHECKLIST_PREFIX)).collect();
        Dictionary { names, index, checklist }
    }
}

pub const NONE: u32 = u32::MAX;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Open,
    Won,
    Lost,
}

/// A lead, folded.
#[derive(Debug, Clone, PartialEq)]
pub struct LeadFact {
    pub created: Secs,
    pub source: u32,
    /// Its campaign (a dictionary id), NONE without one.
    pub campaign: u32,
    pub service: u32,
    pub first_contact: Option<Secs>,
    /// Who made the first contact (people are dictionary ids of their uuid).
    pub contacted_by: u32,
    /// The earliest `consultation_held` of any of its consultations.
    pub first_held: Option<Secs>,
    /// Judged not a lead (the latest judgement, as a dictionary id of its reason): out of the
    /// lead → consultation denominator.
    pub disqualified: Option<u32>,
    /// Every event of the lead, in time order: its path through the process (the process map),
    /// kept in the company's steps.
    pub path: PathRef,
    pub dead: bool,
}

/// A consultation, folded: where it stands now and when it got there.
#[derive(Debug, Clone, PartialEq)]
pub struct DealFact {
    pub lead_created: Secs,
    pub source: u32,
    /// Its lead's campaign (NONE without one).
    pub campaign: u32,
    pub service: u32,
    pub technician: u32,
    pub held: Option<Secs>,
    pub presented: Option<Secs>,
    pub options_presented: u8,
    /// The largest presented price (else the largest price): what a lost quote was worth.
    pub quoted_cents: i64,
    pub outcome: Outcome,
    /// When the current outcome was reached (won or lost).
    pub decided: Option<Secs>,
    /// Won: the signed amount. Lost: the quoted amount.
    pub amount_cents: i64,
    /// Who decided it: the actor of the final `won` (who closed it) or `lost`; NONE while open.
    pub closer: u32,
    /// Won: the chosen option's tier, when the option is known.
    pub tier: u32,
    /// Lost: the reason.
    pub reason: u32,
    /// Won on the company's local day the consultation was held: "sold on the spot".
    pub same_day: bool,
    /// It was decided and then reopened at least once (a move back in the funnel).
    pub reopened: bool,
    /// The latest event of any kind: a quote idle past the stale window counts as lost.
    pub last_activity: Secs,
    /// Financing was offered: a presented option (any option, when none is marked presented)
    /// came with a plan.
    pub financing: bool,
    /// It is the lead's first visit (the earliest held of its consultations), not a return.
    pub first_visit: bool,
    /// The checklist steps done, a bit per slot ([`Dictionary::checklist_slot`]).
    pub checklist: u32,
    pub dead: bool,
}

/// A lead folded: its fact, its path (stored by [`CompanyFacts::put_lead`]), its consultations'.
#[derive(Debug, Clone, PartialEq)]
pub struct Folded {
    pub lead: LeadFact,
    pub path: Vec<Step>,
    pub deals: Vec<(Uuid, DealFact)>,
}

/// Folds one lead's row, consultations and events (any order) into facts.
pub fn fold(
    dict: &mut Dictionary,
    tz: Tz,
    lead: &LeadRow,
    consultations: &[ConsultationRow],
    events: &[Event],
) -> Folded {
    let mut events: Vec<&Event> = events.iter().collect();
    // Time order; at equal times, the order they were recorded in (stable sort).
    events.sort_by_key(|e| e.at);
    let source = dict.id(&lead.source);
    let service = dict.id(&lead.service_type);
    let campaign = lead.campaign.as_deref().map_or(NONE, |c| dict.id(c));
    let created =
        events.iter().find(|e| e.kind == EventKind::LeadCreated).map(|e| e.at).unwrap_or(lead.created_at);
    let first = events.iter().find(|e| e.kind == EventKind::FirstContact);
    let mut lead_fact = LeadFact {
        created,
        source,
        campaign,
        service,
        first_contact: first.map(|e| e.at),
        contacted_by: first.map(|e| dict.id(&e.actor.to_string())).unwrap_or(NONE),
        first_held: None,
        disqualified: None,
        path: PathRef::default(),
        dead: false,
    };
    for e in &events {
        match e.kind {
            EventKind::Disqualified => {
                lead_fact.disqualified = Some(dict.id(e.reason.as_deref().unwrap_or("other")))
            }
            EventKind::Qualified => lead_fact.disqualified = None,
            _ => {}
        }
    }
    let mut deals = Vec::with_capacity(consultations.len());
    for c in consultations {
        let mut d = DealFact {
            lead_created: created,
            source,
            campaign,
            service,
            technician: dict.id(&c.technician.to_string()),
            held: None,
            presented: None,
            options_presented: c.options.iter().filter(|o| o.presented).count().min(255) as u8,
            quoted_cents: c
                .options
                .iter()
                .filter(|o| o.presented)
                .map(|o| o.price_cents)
                .max()
                .or_else(|| c.options.iter().map(|o| o.price_cents).max())
                .unwrap_or(0),
            outcome: Outcome::Open,
            decided: None,
            amount_cents: 0,
            closer: NONE,
            tier: NONE,
            reason: NONE,
            same_day: false,
            reopened: false,
            last_activity: created,
            financing: {
                let presented = c.options.iter().any(|o| o.presented);
                c.options.iter().any(|o| o.financing && (o.presented || !presented))
            },
            first_visit: false,
            checklist: c
                .checklist_done
                .iter()
                .filter_map(|k| dict.checklist_slot(k))
                .fold(0, |bits, slot| bits | 1 << slot),
            dead: false,
        };
        for e in events.iter().filter(|e| e.consultation == Some(c.id)) {
            d.last_activity = d.last_activity.max(e.at);
            match e.kind {
                EventKind::ConsultationHeld => d.held = Some(d.held.map_or(e.at, |h| h.min(e.at))),
                EventKind::OptionsPresented => d.presented = Some(d.presented.map_or(e.at, |p| p.min(e.at))),
                EventKind::Won => {
                    d.outcome = Outcome::Won;
                    d.decided = Some(e.at);
                    d.amount_cents = e.amount_cents.unwrap_or(0);
                    d.closer = dict.id(&e.actor.to_string());
                    d.reason = NONE;
                    d.tier = e
                        .option
                        .and_then(|o| c.options.iter().find(|x| x.id == o))
                        .map(|o| dict.id(&o.tier))
                        .unwrap_or(NONE);
                }
                EventKind::Lost => {
                    d.outcome = Outcome::Lost;
                    d.decided = Some(e.at);
                    d.amount_cents = d.quoted_cents;
                    d.closer = dict.id(&e.actor.to_string());
                    d.tier = NONE;
                    d.reason = dict.id(e.reason.as_deref().unwrap_or("other"));
                }
                EventKind::Reopened => {
                    d.outcome = Outcome::Open;
                    d.decided = None;
                    d.amount_cents = 0;
                    d.closer = NONE;
                    d.tier = NONE;
                    d.reason = NONE;
                    d.reopened = true;
                }
                _ => {}
            }
        }
        if let (Outcome::Won, Some(won), Some(held)) = (d.outcome, d.decided, d.held) {
            d.same_day = local_day(tz, won) == local_day(tz, held);
        }

        if let Some(h) = d.held {
            lead_fact.first_held = Some(lead_fact.first_held.map_or(h, |f| f.min(h)));
        }
        deals.push((c.id, d));
    }
    for (_, d) in &mut deals {
        d.first_visit = d.held.is_some() && d.held == lead_fact.first_held;
    }
    Folded { lead: lead_fact, path: path(events.iter().map(|e| (e.kind, e.at))), deals }
}

/// The company-local calendar date of an instant.
pub fn local_day(tz: Tz, t: Secs) -> chrono::NaiveDate {
    tz.timestamp_opt(t, 0).single().map(|d| d.date_naive()).unwrap_or_default()
}

/// A time entry, folded to what non-selling time needs.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TimeFact {
    pub person: u32,
    pub start: Secs,
    pub seconds: i64,
    pub selling: bool,
    pub dead: bool,
}

/// Selling per METRICS.md: on-site consultation, follow-up contact, proposal prep. Breaks are
/// not work and count in neither selling nor logged hours.
pub fn time_category(category: &str) -> Option<bool> {
    match category {
        "on_site" | "follow_up_contact" | "proposal_prep" => Some(true),
        "driving" | "admin" | "waiting" | "other" => Some(false),
        _ => None,
    }
}

/// Leads and deals are summarised in chunks of this many (they load, and mostly arrive, in the
/// order they were created), so a report over a recent range skips whole chunks of old, settled
/// history instead of reading every fact.
/// Small under test, so the property test's small worlds span many chunks.
#[cfg(not(test))]
pub const CHUNK: usize = 4096;
#[cfg(test)]
pub const CHUNK: usize = 8;

/// What a report must know of a chunk of deals to skip it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DealChunk {
    /// The latest instant any of its live deals mentions (lead created, held, presented,
    /// decided, last activity).
    pub latest: Secs,
    /// Its won and lost deals by service id: the base rates the pipeline value takes from
    /// every decision ever made.
    pub decided: Vec<(u32, u64, u64)>,
    /// Its open quotes (held or presented, undecided) by service id, and their latest
    /// activity: once that is past the stale window they all count as lost (their standing is
    /// fixed from then on), before that they are live and the chunk must be read.
    pub open_quotes: Vec<(u32, u64)>,
    pub latest_open_activity: Secs,
}

impl DealChunk {
    fn of(deals: &[DealFact]) -> DealChunk {
        let mut chunk =
            DealChunk { latest: Secs::MIN, latest_open_activity: Secs::MIN, ..DealChunk::default() };
        for d in deals.iter().filter(|d| !d.dead) {
            let times = [Some(d.lead_created), d.held, d.presented, d.decided, Some(d.last_activity)];
            chunk.latest = times.into_iter().flatten().fold(chunk.latest, Secs::max);
            let (won, lost) = match d.outcome {
                Outcome::Open if d.held.is_some() || d.presented.is_some() => {
                    chunk.latest_open_activity = chunk.latest_open_activity.max(d.last_activity);
                    match chunk.open_quotes.iter_mut().find(|(service, _)| *service == d.service) {
                        Some(e) => e.1 += 1,
                        None => chunk.open_quotes.push((d.service, 1)),
                    }
                    continue;
                }
                // Never held nor presented: it counts nowhere outside its own dates.
                Outcome::Open => continue,
                Outcome::Won => (1, 0),
                Outcome::Lost => (0, 1),
            };
            match chunk.decided.iter_mut().find(|(service, _, _)| *service == d.service) {
                Some(e) => {
                    e.1 += won;
                    e.2 += lost;
                }
                None => chunk.decided.push((d.service, won, lost)),
            }
        }
        chunk
    }
}

/// What a report must know of a chunk of leads: to skip it, and whether its part of a report
/// can still change as time passes.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LeadChunk {
    /// The latest creation time of a live lead.
    pub latest_created: Secs,
    /// The latest instant any live lead mentions (created, first contact, first held).
    pub latest: Secs,
}

impl LeadChunk {
    fn of(leads: &[LeadFact]) -> LeadChunk {
        let mut chunk = LeadChunk { latest_created: Secs::MIN, latest: Secs::MIN };
        for l in leads.iter().filter(|l| !l.dead) {
            chunk.latest_created = chunk.latest_created.max(l.created);
            let times = [Some(l.created), l.first_contact, l.first_held];
            chunk.latest = times.into_iter().flatten().fold(chunk.latest, Secs::max);
        }
        chunk
    }
}

/// Which kind of facts a chunk holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    Leads,
    Deals,
    Time,
}

/// Every fact of one company, kept in memory and brought up to date by company version.
#[derive(Debug, Default, Clone)]
pub struct CompanyFacts {
    pub version: i64,
    pub dict: Dictionary,
    pub leads: Vec<LeadFact>,
    pub deals: Vec<DealFact>,
    pub time: Vec<TimeFact>,
    lead_index: IdIndex,
    deal_index: IdIndex,
    time_index: IdIndex,
    /// Per chunk of `leads`; None until [`settle`] after a change.
    ///
    /// [`settle`]: CompanyFacts::settle
    lead_summaries: Vec<Option<LeadChunk>>,
    /// Per chunk of `deals`; None until [`CompanyFacts::settle`] after a change.
    deal_summaries: Vec<Option<DealChunk>>,
    /// Per chunk of each kind, a number that changes whenever anything in the chunk does (from
    /// one counter, so a number is never reused): what the dashboard's kept partial results
    /// are checked against.
    generations: [Vec<u64>; 3],
    changes: u64,
    /// Every lead's path, each where its [`PathRef`] says; a lead folded again appends its new
    /// path and leaves the old one dead until [`CompanyFacts::compact_paths`].
    steps: Vec<Step>,
    dead_steps: usize,
    /// What of these facts is in the company's stored snapshot (`super::snapshot`).
    pub persisted: Persisted,
    /// The dashboard's partial results per chunk (`super::pass`).
    pub partials: super::pass::Partials,
}

/// Which chunks the stored snapshot holds as they are now: the snapshot these facts were loaded
/// from or last written to (its token), and each chunk's generation when it was.
#[derive(Debug, Default, Clone)]
pub struct Persisted {
    pub token: Option<Uuid>,
    pub generations: [Vec<u64>; 3],
}

impl CompanyFacts {
    /// Replaces (or adds) a lead and its consultations. Consultations the lead no longer has
    /// (deleted) are marked dead and skipped by every report.
    pub fn put_lead(&mut self, id: Uuid, folded: Folded) {
        let Folded { mut lead, path, deals } = folded;
        lead.path = self.store_path(&path);
        let i = match self.lead_index.get(&id) {
            Some(i) => {
                self.dead_steps += self.leads[i].path.len();
                self.leads[i] = lead;
                i
            }
            None => {
                self.lead_index.insert(id, self.leads.len());
                self.leads.push(lead);
                self.leads.len() - 1
            }
        };
        unsettle(&mut self.lead_summaries, i);
        self.changed(Kind::Leads, i);
        // Re-folds leave dead paths behind: copy the live ones once they are the minority.
        if self.dead_steps > 4096 && self.dead_steps * 2 > self.steps.len() {
            self.compact_paths();
        }
        for (cid, deal) in deals {
            let i = match self.deal_index.get(&cid) {
                Some(i) => {
                    self.deals[i] = deal;
                    i
                }
                None => {
                    self.deal_index.insert(cid, self.deals.len());
                    self.deals.push(deal);
                    self.deals.len() - 1
                }
            };
            unsettle(&mut self.deal_summaries, i);
            self.changed(Kind::Deals, i);
        }
    }

    /// Appends a path to the steps; past the limits ([`PathRef`]) only its first 65,535 steps,
    /// or none past 4 billion steps in a company.
    fn store_path(&mut self, path: &[Step]) -> PathRef {
        let path = &path[..path.len().min(usize::from(u16::MAX))];
        let Some(at) = PathRef::new(self.steps.len(), path.len()) else { return PathRef::default() };
        self.steps.extend_from_slice(path);
        at
    }

    /// A lead's path: its events' kinds and gaps, in time order.
    pub fn path(&self, lead: &LeadFact) -> &[Step] {
        self.steps.get(lead.path.range()).unwrap_or_default()
    }

    /// Rewrites the steps with only the live paths, in lead order.
    fn compact_paths(&mut self) {
        let mut steps = Vec::with_capacity(self.steps.len() - self.dead_steps);
        for lead in &mut self.leads {
            let range = lead.path.range();
            lead.path.start = steps.len() as u32;
            steps.extend_from_slice(self.steps.get(range).unwrap_or_default());
        }
        self.steps = steps;
        self.dead_steps = 0;
    }

    /// Item `i` of `kind` changed: its chunk's generation moves on.
    fn changed(&mut self, kind: Kind, i: usize) {
        self.changes += 1;
        let gens = &mut self.generations[kind as usize];
        let k = i / CHUNK;
        if gens.len() <= k {
            gens.resize(k + 1, 0);
        }
        gens[k] = self.changes;
    }

    /// The generation of chunk `k` of `kind` (see [`CompanyFacts::changed`]).
    pub fn generation(&self, kind: Kind, k: usize) -> u64 {
        self.generations[kind as usize].get(k).copied().unwrap_or(0)
    }

    pub fn kill_lead(&mut self, id: Uuid) {
        if let Some(i) = self.lead_index.get(&id) {
            self.leads[i].dead = true;
            unsettle(&mut self.lead_summaries, i);
            self.changed(Kind::Leads, i);
        }
    }

    pub fn kill_deal(&mut self, id: Uuid) {
        if let Some(i) = self.deal_index.get(&id) {
            self.deals[i].dead = true;
            unsettle(&mut self.deal_summaries, i);
            self.changed(Kind::Deals, i);
        }
    }

    /// Brings the chunk summaries of changed chunks up to date (after a load or refresh).
    pub fn settle(&mut self) {
        for (k, chunk) in self.lead_summaries.iter_mut().enumerate().filter(|(_, c)| c.is_none()) {
            let leads = &self.leads[k * CHUNK..((k + 1) * CHUNK).min(self.leads.len())];
            *chunk = Some(LeadChunk::of(leads));
        }
        for (k, chunk) in self.deal_summaries.iter_mut().enumerate().filter(|(_, c)| c.is_none()) {
            let deals = &self.deals[k * CHUNK..((k + 1) * CHUNK).min(self.deals.len())];
            *chunk = Some(DealChunk::of(deals));
        }
    }

    /// The leads in chunks, each with its summary; None when not settled since the last change.
    pub fn lead_chunks(&self) -> Option<impl Iterator<Item = (&LeadChunk, &[LeadFact])> + '_> {
        if self.lead_summaries.iter().any(Option::is_none) {
            return None;
        }
        Some(self.lead_summaries.iter().flatten().zip(self.leads.chunks(CHUNK)))
    }

    /// The deals in chunks, each with its summary; None when not settled since the last change.
    pub fn deal_chunks(&self) -> Option<impl Iterator<Item = (&DealChunk, &[DealFact])> + '_> {
        if self.deal_summaries.iter().any(Option::is_none) {
            return None;
        }
        Some(self.deal_summaries.iter().flatten().zip(self.deals.chunks(CHUNK)))
    }

    /// About how many bytes these facts hold (what the analytics memory budget counts): the
    /// fact vectors and their id indexes, the dictionary and the chunk bookkeeping. The kept
    /// dashboard parts are bounded per company (`pass::QUERIES`) and not counted.
    pub fn approx_bytes(&self) -> usize {
        use std::mem::size_of;
        // A hash map entry, with its control byte, at the map's 7/8 load.
        fn map<K, V>(m: &HashMap<K, V>) -> usize {
            m.capacity() * (size_of::<(K, V)>() + 1) * 8 / 7
        }
        let names: usize = self.dict.names.iter().map(|n| 2 * (n.capacity() + size_of::<String>())).sum();
        self.leads.capacity() * size_of::<LeadFact>()
            + self.steps.capacity() * size_of::<Step>()
            + self.deals.capacity() * size_of::<DealFact>()
            + self.time.capacity() * size_of::<TimeFact>()
            + self.lead_index.approx_bytes()
            + self.deal_index.approx_bytes()
            + self.time_index.approx_bytes()
            + map(&self.dict.index)
            + names
            + self.lead_summaries.capacity() * size_of::<Option<LeadChunk>>()
            + self
                .deal_summaries
                .iter()
                .flatten()
                .map(|c| size_of::<DealChunk>() + 24 * c.decided.len())
                .sum::<usize>()
            + self.generations.iter().map(|g| g.capacity() * size_of::<u64>()).sum::<usize>()
    }

    /// After a full fold: the id indexes merged and every vector no larger than it needs to be
    /// (a vector grown by doubling can hold twice what it has).
    pub fn compact(&mut self) {
        self.lead_index.merge();
        self.deal_index.merge();
        self.time_index.merge();
        if self.dead_steps > 0 {
            self.compact_paths();
        }
        self.steps.shrink_to_fit();
        self.leads.shrink_to_fit();
        self.deals.shrink_to_fit();
        self.time.shrink_to_fit();
    }

    /// Facts as a stored snapshot held them (`super::snapshot`), each kind's ids by position:
    /// every chunk as the snapshot `token` has it.
    pub fn restore(
        version: i64,
        dict: Dictionary,
        leads: (Vec<Uuid>, Vec<LeadFact>, Vec<Step>),
        deals: (Vec<Uuid>, Vec<DealFact>),
        time: (Vec<Uuid>, Vec<TimeFact>),
        token: Uuid,
    ) -> CompanyFacts {
        let chunks = |n: usize| n.div_ceil(CHUNK);
        let generations =
            [vec![0; chunks(leads.1.len())], vec![0; chunks(deals.1.len())], vec![0; chunks(time.1.len())]];
        let mut facts = CompanyFacts {
            version,
            steps: leads.2,
            dict,
            lead_index: IdIndex::from_positions(&leads.0),
            deal_index: IdIndex::from_positions(&deals.0),
            time_index: IdIndex::from_positions(&time.0),
            lead_summaries: vec![None; chunks(leads.1.len())],
            deal_summaries: vec![None; chunks(deals.1.len())],
            leads: leads.1,
            deals: deals.1,
            time: time.1,
            persisted: Persisted { token: Some(token), generations: generations.clone() },
            generations,
            ..CompanyFacts::default()
        };
        facts.settle();
        facts
    }

    /// The ids of `kind`'s facts, by position.
    pub fn ids(&self, kind: Kind) -> Vec<Uuid> {
        match kind {
            Kind::Leads => self.lead_index.by_position(self.leads.len()),
            Kind::Deals => self.deal_index.by_position(self.deals.len()),
            Kind::Time => self.time_index.by_position(self.time.len()),
        }
    }

    /// Where consultation `id`'s fact sits in `deals`.
    pub fn deal_position(&self, id: &Uuid) -> Option<usize> {
        self.deal_index.get(id)
    }

    /// How many facts of `kind` there are.
    pub fn count(&self, kind: Kind) -> usize {
        match kind {
            Kind::Leads => self.leads.len(),
            Kind::Deals => self.deals.len(),
            Kind::Time => self.time.len(),
        }
    }

    /// The chunks of `kind` the stored snapshot does not hold as they are now (all of them when
    /// there is no snapshot of these facts), with their generations.
    pub fn unpersisted(&self, kind: Kind) -> Vec<(usize, u64)> {
        let stored = &self.persisted.generations[kind as usize];
        (0..self.count(kind).div_ceil(CHUNK))
            .map(|k| (k, self.generation(kind, k)))
            .filter(|&(k, g)| self.persisted.token.is_none() || stored.get(k) != Some(&g))
            .collect()
    }

    /// The snapshot `token` now holds these chunks at these generations (what was written: every
    /// chunk when `whole`, else the ones changed since the snapshot these facts knew).
    pub fn mark_persisted(&mut self, token: Uuid, whole: bool, written: &[(Kind, Vec<(usize, u64)>)]) {
        if whole {
            self.persisted.generations = Default::default();
        }
        self.persisted.token = Some(token);
        for (kind, chunks) in written {
            let stored = &mut self.persisted.generations[*kind as usize];
            for &(k, g) in chunks {
                if stored.len() <= k {
                    stored.resize(k + 1, u64::MAX);
                }
                stored[k] = g;
            }
        }
    }

    pub fn put_time(&mut self, id: Uuid, fact: TimeFact) {
        let i = match self.time_index.get(&id) {
            Some(i) => {
                self.time[i] = fact;
                i
            }
            None => {
                self.time_index.insert(id, self.time.len());
                self.time.push(fact);
                self.time.len() - 1
            }
        };
        self.changed(Kind::Time, i);
    }
}

/// Marks the chunk holding item `i` as changed.
fn unsettle<T>(chunks: &mut Vec<Option<T>>, i: usize) {
    let k = i / CHUNK;
    if chunks.len() <= k {
        chunks.resize_with(k + 1, || None);
    }
    chunks[k] = None;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(c: Option<Uuid>, kind: EventKind, at: Secs) -> Event {
        Event {
            consultation: c,
            kind,
            at,
            actor: Uuid::nil(),
            amount_cents: None,
            option: None,
            reason: None,
        }
    }

    #[test]
    fn the_last_decision_in_time_wins_and_a_reopen_is_a_move_back() {
        let mut dict = Dictionary::default();
        let (l, c) = (Uuid::now_v7(), Uuid::now_v7());
        let lead = LeadRow {
            id: l,
            source: "web".into(),
            service_type: "hvac".into(),
            created_at: 0,
            campaign: None,
        };
        let option = OptionRow {
            id: Uuid::now_v7(),
            tier: "Best".into(),
            price_cents: 900_000,
            presented: true,
            financing: true,
        };
        let cons = ConsultationRow {
            id: c,
            technician: Uuid::nil(),
            options: vec![option.clone()],
            checklist_done: vec!["measure".into(), "photos".into()],
        };
        let won = Event {
            amount_cents: Some(850_000),
            option: Some(option.id),
            ..ev(Some(c), EventKind::Won, 300)
        };
        // Recorded out of time order: the device that reopened synced first.
        let events = vec![
            ev(Some(c), EventKind::Reopened, 400),
            ev(None, EventKind::LeadCreated, 0),
            ev(Some(c), EventKind::ConsultationHeld, 100),
            won,
            Event { reason: Some("price".into()), ..ev(Some(c), EventKind::Lost, 200) },
        ];
        let Folded { lead: lf, deals, .. } = fold(&mut dict, chrono_tz::UTC, &lead, &[cons], &events);
        assert_eq!(lf.first_held, Some(100));
        let d = &deals[0].1;
        assert_eq!(d.outcome, Outcome::Open);
        assert!(d.reopened);
        assert_eq!(d.last_activity, 400);
        assert_eq!(d.quoted_cents, 900_000);
        assert!(d.financing && d.first_visit);
        assert_eq!(d.checklist, 0b11);
        let keys: Vec<&str> = dict.checklist_keys().collect();
        assert_eq!(keys, ["measure", "photos"]);
        // The slots follow from the names alone: a stored dictionary gives back the same.
        let mut stored = Dictionary::from_names(dict.names().to_vec());
        assert_eq!(stored.checklist_slot("photos"), Some(1));
        assert_eq!(stored.checklist_slot("new step"), Some(2));
    }

    #[test]
    fn a_lead_folded_again_keeps_its_own_path_and_dead_paths_are_copied_away() {
        let mut dict = Dictionary::default();
        let mut facts = CompanyFacts::default();
        let row = |id| LeadRow {
            id,
            source: "web".into(),
            service_type: "hvac".into(),
            created_at: 0,
            campaign: None,
        };
        let events = |n: i64| -> Vec<Event> {
            std::iter::once(ev(None, EventKind::LeadCreated, 0))
                .chain((1..n).map(|i| ev(None, EventKind::FollowUp, i * 60)))
                .collect()
        };
        let (a, b) = (Uuid::now_v7(), Uuid::now_v7());
        facts.put_lead(b, fold(&mut dict, chrono_tz::UTC, &row(b), &[], &events(2)));
        // Folded again and again, each time longer: thousands of dead steps, copied away.
        for n in 1..=200 {
            facts.put_lead(a, fold(&mut dict, chrono_tz::UTC, &row(a), &[], &events(n)));
            let path = facts.path(&facts.leads[1]);
            assert_eq!(path.len(), n as usize);
            assert!(path[1..].iter().all(|s| s.kind() == EventKind::FollowUp && s.gap() == 60));
            assert!(facts.dead_steps <= 4096 || facts.dead_steps * 2 <= facts.steps.len());
        }
        assert!(facts.steps.len() < 200 * 201 / 2, "dead paths were dropped");
        assert_eq!(facts.path(&facts.leads[0]).len(), 2, "the other lead's path moved with it");
        facts.compact();
        assert_eq!((facts.steps.len(), facts.dead_steps), (202, 0));
        assert_eq!(facts.path(&facts.leads[1]).len(), 200);
    }

    /// A million of each are held per big company: the path and the new deal fields live in what
    /// was padding (ADR 0067).
    #[test]
    fn facts_stay_the_size_they_were() {
        assert_eq!(std::mem::size_of::<LeadFact>(), 72);
        assert_eq!(std::mem::size_of::<DealFact>(), 120);
    }

    #[test]
    fn a_return_visit_is_not_the_first() {
        let mut dict = Dictionary::default();
        let (first, second) = (Uuid::now_v7(), Uuid::now_v7());
        let lead = LeadRow {
            id: Uuid::now_v7(),
            source: "web".into(),
            service_type: "hvac".into(),
            created_at: 0,
            campaign: None,
        };
        let cons =
            |id| ConsultationRow { id, technician: Uuid::nil(), options: vec![], checklist_done: vec![] };
        let events = vec![
            ev(Some(first), EventKind::ConsultationHeld, 100),
            ev(Some(first), EventKind::Lost, 400),
            ev(Some(second), EventKind::ConsultationHeld, 600),
        ];
        let deals = fold(&mut dict, chrono_tz::UTC, &lead, &[cons(first), cons(second)], &events).deals;
        assert!(deals[0].1.first_visit && !deals[1].1.first_visit);
        assert!(!deals[0].1.financing);
    }
}
