//! Each company's folded facts, stored in Postgres (ADR 0065), so that a process that starts,
//! or that forgot a company over its memory budget, reads them back instead of folding every
//! lead again: the stored facts are exact at a company version, and `load::refresh` then
//! re-folds only the leads changed since, as it does for facts kept in memory.
//!
//! The facts are stored in the chunks the reports already summarise (`facts::CHUNK` facts each),
//! so a write replaces only the chunks that changed since the last one. A write is made off the
//! request path, at most once a minute per company and process (`load::FactsCache`).
//!
//! Several processes fold the same company each in its own way: the names behind the facts'
//! small integers are numbered in the order each process met them. So a process adds chunks
//! only to the snapshot its own facts came from (the `token` it loaded or last wrote); any other
//! process replaces the whole snapshot, and only once the stored one is older than
//! [`TAKE_OVER_AFTER`] (a process that keeps the snapshot up to date is left to it).
//!
//! The codec is our own: a few varints a fact, times relative to the chunk's first fact, ids as
//! their 16 bytes. Reading it checks every name id against the dictionary, so a damaged row is
//! refused (and the facts folded from the rows again), never a report that indexes past a table.

use super::facts::{
    CompanyFacts, DealFact, Dictionary, Kind, LeadFact, Outcome, PathRef, Secs, Step, TimeFact, CHUNK, NONE,
};
use super::load::Slot;
use chrono_tz::Tz;
use futures_util::TryStreamExt;
use sqlx::PgPool;
use std::{sync::Arc, time::Duration};
use tokio::sync::Mutex;
use uuid::Uuid;

/// The codec's version: a snapshot written in another is not read (the facts are folded again
/// and the snapshot replaced).
pub const FORMAT: i32 = 2;

/// Another process's snapshot is replaced once it is this old (its writer stopped writing).
pub const TAKE_OVER_AFTER: Duration = Duration::from_secs(600);

/// Why stored bytes could not be read back as facts.
#[derive(Debug, thiserror::Error)]
#[error("the stored analytics snapshot is unreadable: {0}")]
pub struct Corrupt(&'static str);

const KINDS: [Kind; 3] = [Kind::Leads, Kind::Deals, Kind::Time];

fn kind_of(n: i16) -> Option<Kind> {
    KINDS.get(usize::try_from(n).ok()?).copied()
}

/// The facts of one company as stored: read from the rows, or made to be written.
#[derive(Debug, Clone, PartialEq)]
pub struct Stored {
    pub version: i64,
    pub dictionary: Vec<u8>,
    /// (kind, chunk number, its generation in the facts it was encoded from, its bytes).
    pub chunks: Vec<(Kind, usize, u64, Vec<u8>)>,
}

/// Encodes `facts`: every chunk when `whole`, else only those the stored snapshot lacks.
pub fn encode(facts: &CompanyFacts, whole: bool) -> Stored {
    let mut chunks = vec![];
    for kind in KINDS {
        let todo: Vec<(usize, u64)> = if whole {
            (0..facts.count(kind).div_ceil(CHUNK)).map(|k| (k, facts.generation(kind, k))).collect()
        } else {
            facts.unpersisted(kind)
        };
        if todo.is_empty() {
            continue;
        }
        let ids = facts.ids(kind);
        for (k, generation) in todo {
            let range = k * CHUNK..((k + 1) * CHUNK).min(ids.len());
            let bytes = match kind {
                Kind::Leads => encode_leads(&ids[range.clone()], &facts.leads[range], facts),
                Kind::Deals => encode_deals(&ids[range.clone()], &facts.deals[range]),
                Kind::Time => encode_time(&ids[range.clone()], &facts.time[range]),
            };
            chunks.push((kind, k, generation, bytes));
        }
    }
    Stored { version: facts.version, dictionary: encode_dictionary(&facts.dict), chunks }
}

/// The facts a whole stored snapshot holds (every chunk of every kind, in order).
pub fn decode(stored: &Stored, token: Uuid) -> Result<CompanyFacts, Corrupt> {
    let dict = decode_dictionary(&stored.dictionary)?;
    let mut parts = Parts::new(dict.len());
    for (kind, k, _, bytes) in &stored.chunks {
        parts.add(*kind, *k, bytes)?;
    }
    parts.finish(stored.version, dict, token)
}

/// Facts being read back chunk by chunk (chunks of a kind in order, from 0, each but the last
/// full).
struct Parts {
    names: usize,
    leads: (Vec<Uuid>, Vec<LeadFact>, Vec<Step>),
    deals: (Vec<Uuid>, Vec<DealFact>),
    time: (Vec<Uuid>, Vec<TimeFact>),
}

impl Parts {
    fn new(names: usize) -> Self {
        Parts { names, leads: Default::default(), deals: Default::default(), time: Default::default() }
    }

    fn add(&mut self, kind: Kind, k: usize, bytes: &[u8]) -> Result<(), Corrupt> {
        let had = match kind {
            Kind::Leads => self.leads.1.len(),
            Kind::Deals => self.deals.1.len(),
            Kind::Time => self.time.1.len(),
        };
        if had != k * CHUNK {
            return Err(Corrupt("a chunk is missing or one before it is not full"));
        }
        let mut r = Reader { b: bytes, names: self.names };
        match kind {
            Kind::Leads => decode_leads(&mut r, &mut self.leads)?,
            Kind::Deals => decode_deals(&mut r, &mut self.deals.0, &mut self.deals.1)?,
            Kind::Time => decode_time(&mut r, &mut self.time.0, &mut self.time.1)?,
        }
        if !r.b.is_empty() {
            return Err(Corrupt("bytes left over after a chunk"));
        }
        Ok(())
    }

    fn finish(self, version: i64, dict: Dictionary, token: Uuid) -> Result<CompanyFacts, Corrupt> {
        Ok(CompanyFacts::restore(version, dict, self.leads, self.deals, self.time, token))
    }
}

/// What the stored snapshot of a company is, without its facts.
struct Header {
    token: Uuid,
    version: i64,
    /// In this codec and zone: these facts can build on it.
    readable: bool,
    /// Older than [`TAKE_OVER_AFTER`].
    stale: bool,
}

async fn header(pool: &PgPool, company: Uuid, tz: Tz) -> Result<Option<Header>, sqlx::Error> {
    let row = sqlx::query!(
        r#"select token, version, format = $2 and zone = $3 as "readable!",
                  written_at < now() - make_interval(secs => $4) as "stale!"
           from analytics_snapshots where company_id = $1"#,
        company,
        FORMAT,
        tz.name(),
        TAKE_OVER_AFTER.as_secs_f64()
    )
    .fetch_optional(pool)
    .await?;
    Ok(row.map(|r| Header { token: r.token, version: r.version, readable: r.readable, stale: r.stale }))
}

/// The company's stored facts, if there are any in this codec and zone; None for none, or for a
/// snapshot that cannot be read (logged: the facts are folded again and it is replaced).
pub async fn load(pool: &PgPool, company: Uuid, tz: Tz) -> Result<Option<CompanyFacts>, sqlx::Error> {
    // One snapshot of the database: the header and the chunks as one write left them.
    let mut tx = pool.begin().await?;
    sqlx::query!("set transaction isolation level repeatable read, read only").execute(&mut *tx).await?;
    let Some(head) = sqlx::query!(
        "select version, token, dictionary from analytics_snapshots
         where company_id = $1 and format = $2 and zone = $3",
        company,
        FORMAT,
        tz.name()
    )
    .fetch_optional(&mut *tx)
    .await?
    else {
        return Ok(None);
    };
    let dict = match decode_dictionary(&head.dictionary) {
        Ok(dict) => dict,
        Err(error) => {
            tracing::warn!(%company, %error, "analytics snapshot ignored");
            return Ok(None);
        }
    };
    let mut parts = Parts::new(dict.len());
    let mut rows = sqlx::query!(
        "select kind, chunk, bytes from analytics_snapshot_chunks where company_id = $1 order by kind, chunk",
        company
    )
    .fetch(&mut *tx);
    let mut broken = None;
    while let Some(row) = rows.try_next().await? {
        let added = match (kind_of(row.kind), usize::try_from(row.chunk)) {
            (Some(kind), Ok(k)) => parts.add(kind, k, &row.bytes),
            _ => Err(Corrupt("a chunk of no known kind")),
        };
        if let Err(error) = added {
            broken = Some(error);
            break;
        }
    }
    drop(rows);
    tx.commit().await?;
    let facts = match broken {
        None => parts.finish(head.version, dict, head.token),
        Some(error) => Err(error),
    };
    match facts {
        Ok(facts) => Ok(Some(facts)),
        Err(error) => {
            tracing::warn!(%company, %error, "analytics snapshot ignored");
            Ok(None)
        }
    }
}

/// Writes the facts in `slot` (if it still holds the facts `instance`, folded in `tz`) to the
/// company's stored snapshot: the chunks changed since, when the stored snapshot is the one these
/// facts came from; the whole facts when there is none, or it is in another codec or zone, or another
/// process stopped keeping it up to date; else nothing. Runs off the request path: the slot is
/// locked only while the chunks are encoded.
pub async fn persist(
    pool: &PgPool,
    company: Uuid,
    slot: &Arc<Mutex<Option<Slot>>>,
    instance: Uuid,
    tz: Tz,
) -> Result<(), sqlx::Error> {
    let before = header(pool, company, tz).await?;
    let (whole, stored) = {
        let guard = slot.lock().await;
        let Some(s) = guard.as_ref().filter(|s| s.instance == instance) else { return Ok(()) };
        let facts = &s.facts;
        let whole = match &before {
            None => true,
            Some(h) if h.readable && Some(h.token) == facts.persisted.token => false,
            Some(h) if !h.readable || (h.stale && h.version < facts.version) => true,
            // Another process's snapshot, kept up to date by it.
            Some(_) => return Ok(()),
        };
        let stored = encode(facts, whole);
        if !whole && stored.chunks.is_empty() && before.as_ref().is_some_and(|h| h.version == facts.version) {
            return Ok(());
        }
        (whole, stored)
    };
    let token = Uuid::now_v7();
    let mut tx = pool.begin().await?;
    let now: Option<Uuid> = sqlx::query_scalar!(
        "select token from analytics_snapshots where company_id = $1 for update",
        company
    )
    .fetch_optional(&mut *tx)
    .await?;
    if now != before.as_ref().map(|h| h.token) {
        // Another process wrote meanwhile: its snapshot stands; the next turn decides again.
        return Ok(());
    }
    sqlx::query!(
        "insert into analytics_snapshots (company_id, format, zone, version, token, dictionary, written_at)
         values ($1, $2, $3, $4, $5, $6, now())
         on conflict (company_id) do update set format = excluded.format, zone = excluded.zone,
             version = excluded.version, token = excluded.token, dictionary = excluded.dictionary,
             written_at = excluded.written_at",
        company,
        FORMAT,
        tz.name(),
        stored.version,
        token,
        stored.dictionary
    )
    .execute(&mut *tx)
    .await?;
    if whole {
        sqlx::query!("delete from analytics_snapshot_chunks where company_id = $1", company)
            .execute(&mut *tx)
            .await?;
    }
    // A few megabytes a statement: a whole snapshot of a large company in a few round trips.
    for batch in stored.chunks.chunks(64) {
        let kinds: Vec<i16> = batch.iter().map(|c| c.0 as i16).collect();
        let numbers: Vec<i32> = batch.iter().map(|c| c.1 as i32).collect();
        let bytes: Vec<&[u8]> = batch.iter().map(|c| c.3.as_slice()).collect();
        sqlx::query!(
            "insert into analytics_snapshot_chunks (company_id, kind, chunk, bytes)
             select $1, * from unnest($2::smallint[], $3::int[], $4::bytea[])
             on conflict (company_id, kind, chunk) do update set bytes = excluded.bytes",
            company,
            &kinds,
            &numbers,
            &bytes as &[&[u8]]
        )
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await?;
    let written: Vec<(Kind, Vec<(usize, u64)>)> = KINDS
        .iter()
        .map(|&kind| (kind, stored.chunks.iter().filter(|c| c.0 == kind).map(|c| (c.1, c.2)).collect()))
        .collect();
    if let Some(s) = slot.lock().await.as_mut().filter(|s| s.instance == instance) {
        s.facts.mark_persisted(token, whole, &written);
    }
    tracing::debug!(%company, whole, chunks = stored.chunks.len(), "analytics snapshot written");
    Ok(())
}

// The codec. Name ids travel as id + 1, so NONE (u32::MAX) is 0 and takes one byte.

struct Writer(Vec<u8>);

impl Writer {
    fn u(&mut self, mut v: u64) {
        while v >= 0x80 {
            self.0.push(v as u8 | 0x80);
            v >>= 7;
        }
        self.0.push(v as u8);
    }
    fn i(&mut self, v: i64) {
        self.u(((v << 1) ^ (v >> 63)) as u64);
    }
    fn name(&mut self, id: u32) {
        self.u(u64::from(id.wrapping_add(1)));
    }
    fn uuid(&mut self, id: &Uuid) {
        self.0.extend_from_slice(id.as_bytes());
    }
    fn time(&mut self, t: Option<Secs>, base: Secs) {
        if let Some(t) = t {
            self.i(t.wrapping_sub(base));
        }
    }
}

struct Reader<'a> {
    b: &'a [u8],
    /// How many names the dictionary has: every name id read must be one of them (or NONE).
    names: usize,
}

impl Reader<'_> {
    fn u(&mut self) -> Result<u64, Corrupt> {
        let mut v = 0u64;
        for shift in (0..64).step_by(7) {
            let (&byte, rest) = self.b.split_first().ok_or(Corrupt("cut short"))?;
            self.b = rest;
            v |= u64::from(byte & 0x7f) << shift;
            if byte & 0x80 == 0 {
                return Ok(v);
            }
        }
        Err(Corrupt("a number too long"))
    }
    fn i(&mut self) -> Result<i64, Corrupt> {
        let v = self.u()?;
        Ok((v >> 1) as i64 ^ -((v & 1) as i64))
    }
    fn byte(&mut self) -> Result<u8, Corrupt> {
        let v = self.u()?;
        u8::try_from(v).map_err(|_| Corrupt("a flag byte out of range"))
    }
    /// A name id that must be in the dictionary.
    fn name(&mut self) -> Result<u32, Corrupt> {
        let id = self.any_name()?;
        if id == NONE {
            return Err(Corrupt("a name missing where one is required"));
        }
        Ok(id)
    }
    /// A name id in the dictionary, or NONE.
    fn any_name(&mut self) -> Result<u32, Corrupt> {
        let v = self.u()?;
        if v == 0 {
            return Ok(NONE);
        }
        match usize::try_from(v - 1) {
            Ok(id) if id < self.names => Ok(id as u32),
            _ => Err(Corrupt("a name id not in the dictionary")),
        }
    }
    fn uuid(&mut self) -> Result<Uuid, Corrupt> {
        if self.b.len() < 16 {
            return Err(Corrupt("cut short"));
        }
        let (id, rest) = self.b.split_at(16);
        self.b = rest;
        Uuid::from_slice(id).map_err(|_| Corrupt("an id"))
    }
    fn time(&mut self, base: Secs) -> Result<Secs, Corrupt> {
        Ok(base.wrapping_add(self.i()?))
    }
    fn time_if(&mut self, present: bool, base: Secs) -> Result<Option<Secs>, Corrupt> {
        present.then(|| self.time(base)).transpose()
    }
    /// A lead's path: its length, then each step's word, appended to `steps`.
    fn path(&mut self, steps: &mut Vec<Step>) -> Result<PathRef, Corrupt> {
        let n = usize::try_from(self.u()?).map_err(|_| Corrupt("a count"))?;
        // Each step is at least a byte: a longer count is damage, not a reason to allocate.
        if n > self.b.len() {
            return Err(Corrupt("cut short"));
        }
        let start = steps.len();
        for _ in 0..n {
            let bits = u32::try_from(self.u()?).map_err(|_| Corrupt("a step"))?;
            steps.push(Step::from_bits(bits).ok_or(Corrupt("a step of no known kind"))?);
        }
        PathRef::new(start, n).ok_or(Corrupt("more steps than a company can hold"))
    }
    /// A chunk's count and base time.
    fn start(&mut self) -> Result<(usize, Secs), Corrupt> {
        let n = usize::try_from(self.u()?).map_err(|_| Corrupt("a count"))?;
        if n == 0 || n > CHUNK {
            return Err(Corrupt("a chunk of no facts or too many"));
        }
        Ok((n, self.i()?))
    }
}

fn bit(flags: u8, n: u8) -> bool {
    flags & (1 << n) != 0
}

fn encode_dictionary(dict: &Dictionary) -> Vec<u8> {
    let mut w = Writer(Vec::new());
    w.u(dict.len() as u64);
    for name in dict.names() {
        w.u(name.len() as u64);
        w.0.extend_from_slice(name.as_bytes());
    }
    w.0
}

fn decode_dictionary(bytes: &[u8]) -> Result<Dictionary, Corrupt> {
    let mut r = Reader { b: bytes, names: 0 };
    let n = usize::try_from(r.u()?).map_err(|_| Corrupt("a count"))?;
    let mut names = Vec::with_capacity(n.min(bytes.len()));
    for _ in 0..n {
        let len = usize::try_from(r.u()?).map_err(|_| Corrupt("a length"))?;
        if r.b.len() < len {
            return Err(Corrupt("cut short"));
        }
        let (name, rest) = r.b.split_at(len);
        r.b = rest;
        names.push(String::from_utf8(name.to_vec()).map_err(|_| Corrupt("a name that is not UTF-8"))?);
    }
    if !r.b.is_empty() {
        return Err(Corrupt("bytes left over after the dictionary"));
    }
    let dict = Dictionary::from_names(names);
    if dict.len() != n {
        return Err(Corrupt("a name twice in the dictionary"));
    }
    Ok(dict)
}

fn encode_leads(ids: &[Uuid], leads: &[LeadFact], facts: &CompanyFacts) -> Vec<u8> {
    let mut w = Writer(Vec::with_capacity(leads.len() * 40));
    let base = leads.first().map_or(0, |l| l.created);
    w.u(leads.len() as u64);
    w.i(base);
    for (id, l) in ids.iter().zip(leads) {
        w.uuid(id);
        let flags = u8::from(l.first_contact.is_some())
            | u8::from(l.first_held.is_some()) << 1
            | u8::from(l.disqualified.is_some()) << 2
            | u8::from(l.dead) << 3;
        w.u(u64::from(flags));
        w.i(l.created.wrapping_sub(base));
        w.name(l.source);
        w.name(l.campaign);
        w.name(l.service);
        w.name(l.contacted_by);
        w.time(l.first_contact, l.created);
        w.time(l.first_held, l.created);
        if let Some(reason) = l.disqualified {
            w.name(reason);
        }
        let path = facts.path(l);
        w.u(path.len() as u64);
        for step in path {
            w.u(u64::from(step.bits()));
        }
    }
    w.0
}

/// Appends a chunk's leads: ids, facts, and their paths to the steps.
fn decode_leads(
    r: &mut Reader,
    (ids, out, steps): &mut (Vec<Uuid>, Vec<LeadFact>, Vec<Step>),
) -> Result<(), Corrupt> {
    let (n, base) = r.start()?;
    for _ in 0..n {
        ids.push(r.uuid()?);
        let flags = r.byte()?;
        let created = r.time(base)?;
        out.push(LeadFact {
            created,
            source: r.name()?,
            campaign: r.any_name()?,
            service: r.name()?,
            contacted_by: r.any_name()?,
            first_contact: r.time_if(bit(flags, 0), created)?,
            first_held: r.time_if(bit(flags, 1), created)?,
            disqualified: if bit(flags, 2) { Some(r.name()?) } else { None },
            path: r.path(steps)?,
            dead: bit(flags, 3),
        });
    }
    Ok(())
}

fn encode_deals(ids: &[Uuid], deals: &[DealFact]) -> Vec<u8> {
    let mut w = Writer(Vec::with_capacity(deals.len() * 60));
    let base = deals.first().map_or(0, |d| d.lead_created);
    w.u(deals.len() as u64);
    w.i(base);
    for (id, d) in ids.iter().zip(deals) {
        w.uuid(id);
        let outcome = match d.outcome {
            Outcome::Open => 0u8,
            Outcome::Won => 1,
            Outcome::Lost => 2,
        };
        let flags = u8::from(d.held.is_some())
            | u8::from(d.presented.is_some()) << 1
            | u8::from(d.decided.is_some()) << 2
            | u8::from(d.same_day) << 3
            | u8::from(d.reopened) << 4
            | u8::from(d.dead) << 5
            | outcome << 6;
        w.u(u64::from(flags));
        w.i(d.lead_created.wrapping_sub(base));
        w.name(d.source);
        w.name(d.campaign);
        w.name(d.service);
        w.name(d.technician);
        w.time(d.held, d.lead_created);
        w.time(d.presented, d.lead_created);
        w.time(d.decided, d.lead_created);
        w.u(u64::from(d.options_presented));
        w.i(d.quoted_cents);
        w.i(d.amount_cents);
        w.name(d.closer);
        w.name(d.tier);
        w.name(d.reason);
        w.i(d.last_activity.wrapping_sub(d.lead_created));
        w.u(u64::from(u8::from(d.financing) | u8::from(d.first_visit) << 1));
        w.u(u64::from(d.checklist));
    }
    w.0
}

fn decode_deals(r: &mut Reader, ids: &mut Vec<Uuid>, out: &mut Vec<DealFact>) -> Result<(), Corrupt> {
    let (n, base) = r.start()?;
    for _ in 0..n {
        ids.push(r.uuid()?);
        let flags = r.byte()?;
        let lead_created = r.time(base)?;
        let outcome = match flags >> 6 {
            0 => Outcome::Open,
            1 => Outcome::Won,
            2 => Outcome::Lost,
            _ => return Err(Corrupt("an outcome of no known kind")),
        };
        out.push(DealFact {
            lead_created,
            source: r.name()?,
            campaign: r.any_name()?,
            service: r.name()?,
            technician: r.name()?,
            held: r.time_if(bit(flags, 0), lead_created)?,
            presented: r.time_if(bit(flags, 1), lead_created)?,
            decided: r.time_if(bit(flags, 2), lead_created)?,
            options_presented: r.byte()?,
            quoted_cents: r.i()?,
            amount_cents: r.i()?,
            outcome,
            closer: r.any_name()?,
            tier: r.any_name()?,
            reason: r.any_name()?,
            same_day: bit(flags, 3),
            reopened: bit(flags, 4),
            last_activity: r.time(lead_created)?,
            dead: bit(flags, 5),
            financing: false,
            first_visit: false,
            checklist: 0,
        });
        let more = r.byte()?;
        let d = out.last_mut().expect("just pushed");
        (d.financing, d.first_visit) = (bit(more, 0), bit(more, 1));
        d.checklist = u32::try_from(r.u()?).map_err(|_| Corrupt("checklist bits out of range"))?;
    }
    Ok(())
}

fn encode_time(ids: &[Uuid], time: &[TimeFact]) -> Vec<u8> {
    let mut w = Writer(Vec::with_capacity(time.len() * 28));
    let base = time.first().map_or(0, |t| t.start);
    w.u(time.len() as u64);
    w.i(base);
    for (id, t) in ids.iter().zip(time) {
        w.uuid(id);
        w.u(u64::from(u8::from(t.selling) | u8::from(t.dead) << 1));
        w.name(t.person);
        w.i(t.start.wrapping_sub(base));
        w.i(t.seconds);
    }
    w.0
}

fn decode_time(r: &mut Reader, ids: &mut Vec<Uuid>, out: &mut Vec<TimeFact>) -> Result<(), Corrupt> {
    let (n, base) = r.start()?;
    for _ in 0..n {
        ids.push(r.uuid()?);
        let flags = r.byte()?;
        out.push(TimeFact {
            person: r.name()?,
            start: r.time(base)?,
            seconds: r.i()?,
            selling: bit(flags, 0),
            dead: bit(flags, 1),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analytics::naive::random_facts;

    #[test]
    fn facts_read_back_from_a_whole_snapshot_are_the_facts_written() {
        for seed in 0..20 {
            let facts = random_facts(seed);
            let stored = encode(&facts, true);
            let token = Uuid::now_v7();
            let back = decode(&stored, token).expect("readable");
            assert_eq!(back.version, facts.version);
            assert_eq!(back.dict.names(), facts.dict.names());
            // Paths compared by their steps: a read-back company's steps hold no dead paths.
            let with_paths = |f: &CompanyFacts| -> Vec<(LeadFact, Vec<Step>)> {
                f.leads
                    .iter()
                    .map(|l| (LeadFact { path: PathRef::default(), ..l.clone() }, f.path(l).to_vec()))
                    .collect()
            };
            assert_eq!(with_paths(&back), with_paths(&facts), "seed {seed}");
            assert_eq!(back.deals, facts.deals, "seed {seed}");
            assert_eq!(back.time, facts.time, "seed {seed}");
            for kind in KINDS {
                assert_eq!(back.ids(kind), facts.ids(kind));
            }
            // Read back, nothing is waiting to be written, and the chunk summaries are made.
            assert!(KINDS.iter().all(|&k| back.unpersisted(k).is_empty()));
            assert_eq!(back.persisted.token, Some(token));
            assert!(back.deal_chunks().is_some() && back.lead_chunks().is_some());
        }
    }

    #[test]
    fn only_changed_chunks_are_written_after_a_snapshot() {
        let mut facts = random_facts(3);
        let stored = encode(&facts, true);
        let token = Uuid::now_v7();
        let written: Vec<_> = KINDS
            .iter()
            .map(|&k| (k, stored.chunks.iter().filter(|c| c.0 == k).map(|c| (c.1, c.2)).collect()))
            .collect();
        facts.mark_persisted(token, true, &written);
        assert!(encode(&facts, false).chunks.is_empty());
        // A change to the first lead: its chunk (and its deals' chunk) is all a write carries.
        let id = facts.ids(Kind::Leads)[0];
        let mut lead = facts.leads[0].clone();
        lead.first_contact = Some(lead.created + 60);
        let path = facts.path(&lead).to_vec();
        facts.put_lead(id, crate::analytics::facts::Folded { lead, path, deals: vec![] });
        let next = encode(&facts, false);
        assert_eq!(next.chunks.iter().map(|c| (c.0, c.1)).collect::<Vec<_>>(), vec![(Kind::Leads, 0)]);
    }

    #[test]
    fn damaged_bytes_are_refused_never_a_panic_or_a_name_past_the_dictionary() {
        let facts = random_facts(7);
        let stored = encode(&facts, true);
        let token = Uuid::now_v7();
        // Every truncation of every chunk, and every single byte flipped in the first chunk.
        for c in 0..stored.chunks.len() {
            for cut in 0..stored.chunks[c].3.len() {
                let mut broken = stored.clone();
                broken.chunks[c].3.truncate(cut);
                assert!(decode(&broken, token).is_err(), "chunk {c} cut at {cut}");
            }
        }
        for at in 0..stored.chunks[0].3.len() {
            let mut broken = stored.clone();
            broken.chunks[0].3[at] ^= 0xff;
            if let Ok(back) = decode(&broken, token) {
                let names = back.dict.len() as u32;
                assert!(back.leads.iter().all(|l| l.source < names && l.service < names));
            }
        }
        // A chunk missing from the middle.
        let mut gap = stored.clone();
        if let Some(i) = gap.chunks.iter().position(|c| c.0 == Kind::Deals && c.1 == 0) {
            if gap.chunks.iter().any(|c| c.0 == Kind::Deals && c.1 == 1) {
                gap.chunks.remove(i);
                assert!(decode(&gap, token).is_err());
            }
        }
        assert!(decode_dictionary(&[5, 1]).is_err());
    }
}
