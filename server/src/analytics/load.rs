//! Keeps each company's facts in memory, up to date by company version: the first report reads
//! the company's stored snapshot (`super::snapshot`), or without one loads every lead page by
//! page; each later one re-folds only the leads whose rows or events changed since the version
//! the facts were built at (the same commit-ordered version pulls use, so nothing committed is
//! skipped). Pushes pay nothing for it. After a refresh the changed chunks are written to the
//! snapshot, off the request path.

use super::facts::{
    fold, secs, time_category, CompanyFacts, ConsultationRow, Event, EventKind, Kind, LeadRow, OptionRow,
    TimeFact,
};
use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use sqlx::{PgConnection, PgPool};
use std::{
    collections::HashMap,
    sync::Arc,
    time::{Duration, Instant},
};
use tokio::sync::Mutex;
use uuid::Uuid;

use crate::sync::clock::VersionClock;

/// Leads folded per round trip when loading.
const PAGE: i64 = 20_000;

/// One company's facts and the zone they were folded in.
pub struct Slot {
    pub facts: CompanyFacts,
    pub tz: Tz,
    /// Names these facts (a new slot, or a slot whose zone changed, gets another): a snapshot
    /// write that outlived them marks nothing on their successor.
    pub instance: Uuid,
    /// When a snapshot write of these facts was last started (`super::snapshot::persist`).
    persist_started: Option<Instant>,
    /// The company's close-probability model, trained on these facts (`super::close_model`).
    pub model: Option<super::close_model::route::Kept>,
}

impl Slot {
    fn new(tz: Tz) -> Slot {
        Slot {
            facts: CompanyFacts::default(),
            tz,
            instance: Uuid::now_v7(),
            persist_started: None,
            model: None,
        }
    }

    /// A snapshot write is due: the facts have something the stored snapshot lacks (or there is
    /// none of them yet) and no write was started in the last [`PERSIST_EVERY`].
    fn persist_due(&self) -> bool {
        let facts = &self.facts;
        facts.version > 0
            && self.persist_started.is_none_or(|t| t.elapsed() >= PERSIST_EVERY)
            && (facts.persisted.token.is_none()
                || [Kind::Leads, Kind::Deals, Kind::Time]
                    .into_iter()
                    .any(|k| !facts.unpersisted(k).is_empty()))
    }
}

/// A company's facts are written to its stored snapshot at most this often by one process.
const PERSIST_EVERY: Duration = Duration::from_secs(60);

/// Facts per company, each behind its own lock (one company's refresh never waits on another's),
/// within a memory budget: past it, the companies used least recently are forgotten (their next
/// report folds them again). A company larger than the whole budget still gets its reports; its
/// facts are forgotten as soon as they are handed out, so each report folds them anew.
pub struct FactsCache {
    companies: std::sync::Mutex<Companies>,
    budget_bytes: usize,
}

#[derive(Default)]
struct Companies {
    held: HashMap<Uuid, Held>,
    /// Moves on with every use: the least recently used company has the lowest.
    clock: u64,
}

struct Held {
    slot: Arc<Mutex<Option<Slot>>>,
    /// The facts' size when last brought up to date ([`CompanyFacts::approx_bytes`]).
    bytes: usize,
    used: u64,
}

impl Default for FactsCache {
    fn default() -> Self {
        Self::with_budget(usize::MAX)
    }
}

impl FactsCache {
    /// A cache that keeps at most about `budget_bytes` of facts (FIELDCLOSE_ANALYTICS_MEMORY_MB).
    pub fn with_budget(budget_bytes: usize) -> Self {
        Self { companies: Default::default(), budget_bytes }
    }

    /// The companies whose facts are kept, and their bytes in all.
    pub fn held(&self) -> (usize, usize) {
        let companies = self.lock();
        (companies.held.len(), companies.held.values().map(|h| h.bytes).sum())
    }

    /// The company's slot, while its facts are kept: for work that finishes after the request
    /// that started it (a model retrained in the background).
    pub fn slot(&self, company: Uuid) -> Option<Arc<Mutex<Option<Slot>>>> {
        self.lock().held.get(&company).map(|h| h.slot.clone())
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Companies> {
        // A panic while holding the lock leaves the map whole: keep using it.
        self.companies.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Records `company`'s size after a refresh, and forgets the least recently used companies
    /// until the rest fit the budget (this one last of all: when it alone is over the budget it
    /// is forgotten too, and the report at hand keeps its facts until it is done).
    fn account(&self, company: Uuid, bytes: usize) {
        let mut companies = self.lock();
        let Some(held) = companies.held.get_mut(&company) else { return };
        held.bytes = bytes;
        let mut total: usize = companies.held.values().map(|h| h.bytes).sum();
        while total > self.budget_bytes {
            let victim = companies
                .held
                .iter()
                .min_by_key(|(id, h)| (**id == company, h.used))
                .map(|(id, _)| *id)
                .expect("over budget, so something is held");
            let gone = companies.held.remove(&victim).expect("just found");
            total -= gone.bytes;
            tracing::info!(company = %victim, bytes = gone.bytes, "analytics facts forgotten: over the memory budget");
        }
    }

    /// The company's facts, brought up to date; the guard holds them while a report is computed.
    pub async fn fresh(
        &self,
        pool: &PgPool,
        clock: &Arc<VersionClock>,
        company: Uuid,
    ) -> Result<tokio::sync::OwnedMutexGuard<Option<Slot>>, sqlx::Error> {
        let slot = {
            let mut companies = self.lock();
            companies.clock += 1;
            let used = companies.clock;
            let held = companies.held.entry(company).or_insert_with(|| Held {
                slot: Arc::default(),
                bytes: 0,
                used,
            });
            held.used = used;
            held.slot.clone()
        };
        let mut guard = slot.clone().lock_owned().await;
        let tz = super::settings::load_zone(pool, company).await?;
        if guard.as_ref().is_none_or(|s| s.tz != tz) {
            // First use, or the company moved zones: "same local day" facts must be re-folded.
            *guard = Some(Slot::new(tz));
        }
        // Detached: a first load of a big company can outlast the request (and its timeout); a
        // cancelled load would leave the facts half-built to be started over by every request.
        let (pool, clock) = (pool.clone(), clock.clone());
        let guard = tokio::spawn(async move {
            let current = guard.as_mut().expect("just set");
            if current.facts.version == 0 {
                // Nothing in memory: start from the stored snapshot, when there is one.
                if let Some(stored) = super::snapshot::load(&pool, company, tz).await? {
                    current.facts = stored;
                }
            }
            refresh(&pool, &clock, company, tz, &mut current.facts).await?;
            if current.persist_due() {
                current.persist_started = Some(Instant::now());
                let instance = current.instance;
                let pool = pool.clone();
                tokio::spawn(async move {
                    if let Err(error) = super::snapshot::persist(&pool, company, &slot, instance, tz).await {
                        tracing::warn!(%company, %error, "analytics snapshot not written; the next refresh tries again");
                    }
                });
            }
            Ok::<_, sqlx::Error>(guard)
        })
        .await
        .map_err(|e| sqlx::Error::Io(std::io::Error::other(e)))??;
        let bytes = guard.as_ref().map_or(0, |slot| slot.facts.approx_bytes());
        self.account(company, bytes);
        Ok(guard)
    }
}

/// Folds every company's facts in the background after start-up, so that a manager's first
/// report after a restart neither waits for the fold nor times out on it (about a minute at a
/// million consultations). One company after another, through the same [`FactsCache::fresh`]
/// as a request: a request for a company being warmed waits for that fold instead of starting
/// its own.
pub fn warm(cache: Arc<FactsCache>, pool: PgPool, clock: Arc<VersionClock>) {
    tokio::spawn(async move {
        let companies = match sqlx::query_scalar!("select id from companies order by id")
            .fetch_all(&pool)
            .await
        {
            Ok(companies) => companies,
            Err(error) => return tracing::warn!(%error, "analytics warm-up: could not list the companies"),
        };
        for company in companies {
            if pool.is_closed() {
                return;
            }
            if let Err(error) = cache.fresh(&pool, &clock, company).await {
                tracing::warn!(%company, %error, "analytics warm-up failed; the first report will fold instead");
            }
        }
    });
}

/// Brings `facts` from its version to the company's current one.
pub async fn refresh(
    pool: &PgPool,
    clock: &VersionClock,
    company: Uuid,
    tz: Tz,
    facts: &mut CompanyFacts,
) -> Result<(), sqlx::Error> {
    // Read before the snapshot, as a pull does: everything up to it is in the snapshot.
    let version = clock.watermark(company).await?;
    let mut tx = pool.begin().await?;
    sqlx::query!("set transaction isolation level repeatable read, read only").execute(&mut *tx).await?;
    if version == facts.version && facts.version > 0 {
        return Ok(());
    }
    let since = facts.version;
    if since == 0 {
        // In the order the leads were created, whatever their ids: the facts then lie in time
        // order, and a report over a recent range skips the chunks of older history.
        let ids = sqlx::query_scalar!(
            "select id from leads where company_id = $1 order by lead_created_at, id",
            company
        )
        .fetch_all(&mut *tx)
        .await?;
        for page in ids.chunks(PAGE as usize) {
            refold(&mut tx, company, tz, page, facts).await?;
        }
        facts.compact();
    } else {
        let ids = sqlx::query_scalar!(
            r#"select id as "id!" from leads where company_id = $1 and version > $2
             union select lead_id from consultations where company_id = $1 and version > $2
             union select lead_id from stage_events where company_id = $1 and version > $2
             union select c.lead_id from options o join consultations c on c.company_id = o.company_id and c.id = o.consultation_id
                   where o.company_id = $1 and o.version > $2"#,
            company,
            since
        )
        .fetch_all(&mut *tx)
        .await?;
        for page in ids.chunks(PAGE as usize) {
            refold(&mut tx, company, tz, page, facts).await?;
        }
    }
    load_time(&mut tx, company, since, facts).await?;
    tx.commit().await?;
    facts.settle();
    facts.version = version;
    Ok(())
}

struct LeadRec {
    id: Uuid,
    source: String,
    service_type: String,
    lead_created_at: DateTime<Utc>,
    campaign: Option<String>,
    deleted: bool,
}

struct ConsultationRec {
    id: Uuid,
    lead_id: Uuid,
    technician_id: Uuid,
    deleted: bool,
    checklist_done: Vec<String>,
}

struct OptionRec {
    id: Uuid,
    consultation_id: Uuid,
    tier: String,
    price_cents: i64,
    presented: bool,
    financing: bool,
}

struct EventRec {
    lead_id: Uuid,
    consultation_id: Option<Uuid>,
    kind: String,
    occurred_at: DateTime<Utc>,
    actor_id: Uuid,
    amount_cents: Option<i64>,
    option_id: Option<Uuid>,
    reason: Option<String>,
}

/// Re-folds these leads from their rows and events.
async fn refold(
    db: &mut PgConnection,
    company: Uuid,
    tz: Tz,
    ids: &[Uuid],
    facts: &mut CompanyFacts,
) -> Result<(), sqlx::Error> {
    let leads = sqlx::query_as!(
        LeadRec,
        "select id, source, service_type, lead_created_at, campaign, deleted from leads
         where company_id = $1 and id = any($2)",
        company,
        ids
    )
    .fetch_all(&mut *db)
    .await?;
    let consultations = sqlx::query_as!(
        ConsultationRec,
        r#"select id, lead_id, technician_id, deleted,
                  -- jsonb_each refuses anything but an object: whatever a row holds, the fold goes on.
                  case when jsonb_typeof(checklist) = 'object'
                       then array(select key from jsonb_each(checklist) where value->>'state' = 'done' order by key)
                       else '{}' end as "checklist_done!"
           from consultations where company_id = $1 and lead_id = any($2)"#,
        company,
        ids
    )
    .fetch_all(&mut *db)
    .await?;
    let options = sqlx::query_as!(
        OptionRec,
        r#"select o.id, o.consultation_id, o.tier, o.price_cents, o.presented,
                o.financing_plan is not null as "financing!"
         from options o join consultations c on c.company_id = o.company_id and c.id = o.consultation_id
         where o.company_id = $1 and c.lead_id = any($2) and not o.deleted"#,
        company,
        ids
    )
    .fetch_all(&mut *db)
    .await?;
    let events = sqlx::query_as!(
        EventRec,
        "select lead_id, consultation_id, kind, occurred_at, actor_id,
                (details->>'amount_cents')::bigint as amount_cents,
                (details->>'option_id')::uuid as option_id,
                details->>'reason' as reason
         from stage_events where company_id = $1 and lead_id = any($2) and not deleted
         order by occurred_at, version",
        company,
        ids
    )
    .fetch_all(&mut *db)
    .await?;

    let mut options_of: HashMap<Uuid, Vec<OptionRow>> = HashMap::new();
    for o in options {
        options_of.entry(o.consultation_id).or_default().push(OptionRow {
            id: o.id,
            tier: o.tier,
            price_cents: o.price_cents,
            presented: o.presented,
            financing: o.financing,
        });
    }
    let mut consultations_of: HashMap<Uuid, Vec<ConsultationRow>> = HashMap::new();
    for c in consultations {
        if c.deleted {
            facts.kill_deal(c.id);
            continue;
        }
        consultations_of.entry(c.lead_id).or_default().push(ConsultationRow {
            id: c.id,
            technician: c.technician_id,
            options: options_of.remove(&c.id).unwrap_or_default(),
            checklist_done: c.checklist_done,
        });
    }
    let mut events_of: HashMap<Uuid, Vec<Event>> = HashMap::new();
    for e in events {
        let Some(kind) = EventKind::parse(&e.kind) else { continue };
        events_of.entry(e.lead_id).or_default().push(Event {
            consultation: e.consultation_id,
            kind,
            at: secs(e.occurred_at),
            actor: e.actor_id,
            amount_cents: e.amount_cents,
            option: e.option_id,
            reason: e.reason,
        });
    }
    for l in leads {
        let cons = consultations_of.remove(&l.id).unwrap_or_default();
        if l.deleted {
            facts.kill_lead(l.id);
            for c in cons {
                facts.kill_deal(c.id);
            }
            continue;
        }
        let row = LeadRow {
            id: l.id,
            source: l.source,
            service_type: l.service_type,
            created_at: secs(l.lead_created_at),
            campaign: l.campaign,
        };
        let events = events_of.remove(&l.id).unwrap_or_default();
        let folded = fold(&mut facts.dict, tz, &row, &cons, &events);
        facts.put_lead(l.id, folded);
    }
    Ok(())
}

struct TimeRec {
    id: Uuid,
    user_id: Uuid,
    category: String,
    started_at: DateTime<Utc>,
    ended_at: Option<DateTime<Utc>>,
    deleted: bool,
}

/// Time entries changed since `since`; an entry still running counts up to its start (nothing yet).
async fn load_time(
    db: &mut PgConnection,
    company: Uuid,
    since: i64,
    facts: &mut CompanyFacts,
) -> Result<(), sqlx::Error> {
    let rows = sqlx::query_as!(
        TimeRec,
        "select id, user_id, category, started_at, ended_at, deleted from time_entries where company_id = $1 and version > $2",
        company,
        since
    )
    .fetch_all(&mut *db)
    .await?;
    for t in rows {
        let selling = time_category(&t.category);
        let fact = TimeFact {
            person: facts.dict.id(&t.user_id.to_string()),
            start: secs(t.started_at),
            seconds: t.ended_at.map_or(0, |e| (secs(e) - secs(t.started_at)).max(0)),
            selling: selling.unwrap_or(false),
            dead: t.deleted || selling.is_none(),
        };
        facts.put_time(t.id, fact);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A cache holding `companies` (each `bytes` big), used in the order given.
    fn holding(budget: usize, companies: &[(Uuid, usize)]) -> FactsCache {
        let cache = FactsCache::with_budget(budget);
        {
            let mut held = cache.lock();
            for (n, (id, bytes)) in companies.iter().enumerate() {
                held.held.insert(*id, Held { slot: Arc::default(), bytes: *bytes, used: n as u64 });
            }
            held.clock = companies.len() as u64;
        }
        cache
    }

    #[test]
    fn over_the_budget_the_least_recently_used_companies_go_first() {
        let (a, b, c) = (Uuid::now_v7(), Uuid::now_v7(), Uuid::now_v7());
        let cache = holding(100, &[(a, 40), (b, 40), (c, 0)]);
        // `c` was just refreshed and is 40 now: 120 > 100, so `a` (used longest ago) goes.
        cache.account(c, 40);
        let held = cache.lock();
        assert!(!held.held.contains_key(&a));
        assert!(held.held.contains_key(&b) && held.held.contains_key(&c));
    }

    #[test]
    fn a_company_bigger_than_the_whole_budget_is_not_kept_but_the_others_are_forgotten_first() {
        let (small, huge) = (Uuid::now_v7(), Uuid::now_v7());
        let cache = holding(100, &[(small, 30), (huge, 0)]);
        cache.account(huge, 500);
        assert_eq!(cache.held(), (0, 0), "nothing fits beside it, and it does not fit alone");
        // Its next report starts a slot of its own again; a later small company is kept.
        let cache = holding(100, &[(small, 0)]);
        cache.account(small, 30);
        assert_eq!(cache.held(), (1, 30));
    }

    #[test]
    fn a_fact_table_counts_what_it_holds() {
        let mut facts = CompanyFacts::default();
        let empty = facts.approx_bytes();
        let lead = super::super::facts::LeadFact {
            created: 0,
            source: 0,
            campaign: 0,
            service: 0,
            first_contact: None,
            contacted_by: 0,
            first_held: None,
            disqualified: None,
            path: Default::default(),
            dead: false,
        };
        for _ in 0..1000 {
            let folded = super::super::facts::Folded { lead: lead.clone(), path: vec![], deals: vec![] };
            facts.put_lead(Uuid::now_v7(), folded);
        }
        let per_lead = (facts.approx_bytes() - empty) / 1000;
        assert!(
            per_lead >= std::mem::size_of::<super::super::facts::LeadFact>() + 24,
            "{per_lead} bytes a lead"
        );
    }
}
