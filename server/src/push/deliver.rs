//! The one task that sends notices: it takes what is queued, reads who gets each and what it
//! says, encrypts it for each of their devices (aes128gcm, RFC 8291) and posts it to the
//! device's push service with a VAPID signature. A burst of new leads for one company becomes
//! one notice ("7 new leads"), so a flood of web enquiries cannot flood the office's phones.

use super::{endpoint::PushEndpoint, vapid::VapidKey, Job, Kind, Notice, VisitChange};
use app::domain::Role;
use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use futures_util::StreamExt;
use std::{collections::BTreeMap, time::Duration};
use uuid::Uuid;

/// Jobs taken at once; a burst's new leads are summed per company within it.
const BATCH: usize = 512;
/// Posts to push services in flight at once.
const CONCURRENT: usize = 16;
/// Refusals in a row (other than "gone") after which a subscription is dropped.
const MAX_FAILURES: i32 = 5;

/// What one person is told: the same for each of their devices.
#[derive(Debug, Clone, serde::Serialize)]
struct Message {
    kind: &'static str,
    title: String,
    body: String,
    /// The screen a tap opens.
    url: &'static str,
    /// A later notice with the same tag replaces this one on the device.
    tag: String,
}

struct Outgoing {
    company: Uuid,
    kind: Kind,
    to: Vec<(Uuid, Message)>,
    /// How long the push service keeps it for a device that is off.
    ttl: Duration,
    urgency: &'static str,
}

pub async fn run(
    pool: sqlx::PgPool,
    key: VapidKey,
    contact: String,
    mut jobs: tokio::sync::mpsc::Receiver<Job>,
    mut shutdown: tokio::sync::watch::Receiver<bool>,
) {
    let client = match reqwest::Client::builder().timeout(Duration::from_secs(10)).build() {
        Ok(c) => c,
        Err(e) => {
            tracing::error!(error = %e, "push: no HTTP client; notifications are off");
            return;
        }
    };
    loop {
        let first = tokio::select! {
            job = jobs.recv() => match job { Some(job) => job, None => return },
            _ = shutdown.wait_for(|stopping| *stopping) => return,
        };
        let mut batch = vec![first];
        while batch.len() < BATCH {
            match jobs.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        let courier = Courier { client: &client, key: &key, contact: &contact };
        for job in summed(batch) {
            match compose(&pool, job).await {
                Ok(Some(out)) => send(&pool, &courier, out).await,
                Ok(None) => {}
                Err(e) => tracing::warn!(error = %e, "push: could not read a notice's details"),
            }
        }
    }
}

/// A job, or several website leads of one company at once.
#[derive(Debug, Clone, Copy)]
enum Summed {
    One(Job),
    NewLeads { company: Uuid, author: Option<Uuid>, count: usize },
}

/// The batch in order, each company's website leads at the place of the first.
fn summed(batch: Vec<Job>) -> Vec<Summed> {
    let mut out: Vec<Summed> = Vec::with_capacity(batch.len());
    let mut leads: BTreeMap<(Uuid, Option<Uuid>), usize> = BTreeMap::new();
    for job in batch {
        // Only the website's leads are summed: a person's are few, and each is checked for an
        // answer or a visit already made (`compose`).
        if !matches!(job.notice, Notice::NewLead { .. }) || job.author.is_some() {
            out.push(Summed::One(job));
            continue;
        }
        let Some(&at) = leads.get(&(job.company, job.author)) else {
            leads.insert((job.company, job.author), out.len());
            out.push(Summed::One(job));
            continue;
        };
        out[at] = match out[at] {
            Summed::NewLeads { company, author, count } => {
                Summed::NewLeads { company, author, count: count + 1 }
            }
            Summed::One(first) => Summed::NewLeads { company: first.company, author: first.author, count: 2 },
        };
    }
    out
}

async fn compose(pool: &sqlx::PgPool, job: Summed) -> Result<Option<Outgoing>, sqlx::Error> {
    let (company, author, notice) = match job {
        Summed::One(Job { company, author, notice }) => (company, author, notice),
        Summed::NewLeads { company, author, count } => {
            let message = Message {
                kind: Kind::NewLead.as_str(),
                title: format!("{count} new leads waiting"),
                body: "Open the inbox to answer them.".into(),
                url: "/inbox",
                tag: "new-leads".into(),
            };
            return new_lead_outgoing(pool, company, author, message).await;
        }
    };
    match notice {
        Notice::NewLead { lead } => {
            let Some(l) = sqlx::query!(
                r#"select cu.name, l.service_type, l.source, cu.address
                   from leads l join customers cu on cu.company_id = l.company_id and cu.id = l.customer_id
                   where l.company_id = $1 and l.id = $2 and not l.deleted and l.first_contact_at is null
                     and not exists (select 1 from consultations c
                                     where c.company_id = l.company_id and c.lead_id = l.id and not c.deleted)"#,
                company,
                lead
            )
            .fetch_optional(pool)
            .await?
            else {
                return Ok(None);
            };
            let body = [Some(l.service_type), Some(l.source.replace('_', " ")), l.address]
                .into_iter()
                .flatten()
                .filter(|s| !s.is_empty())
                .collect::<Vec<_>>()
                .join(" · ");
            let message = Message {
                kind: Kind::NewLead.as_str(),
                title: format!("New lead: {}", l.name),
                body,
                url: "/inbox",
                tag: format!("lead-{lead}"),
            };
            new_lead_outgoing(pool, company, author, message).await
        }
        Notice::Visit { consultation, change } => {
            let Some(v) = sqlx::query!(
                r#"select c.technician_id, c.scheduled_at, c.window_minutes, cu.name, cu.address
                   from consultations c join customers cu on cu.company_id = c.company_id and cu.id = c.customer_id
                   where c.company_id = $1 and c.id = $2 and not c.deleted"#,
                company,
                consultation
            )
            .fetch_optional(pool)
            .await?
            else {
                return Ok(None);
            };
            if author == Some(v.technician_id) {
                return Ok(None);
            }
            let tz = crate::analytics::settings::load_zone(pool, company).await?;
            let when = v.scheduled_at.map(|at| window(at, v.window_minutes, tz)).unwrap_or_default();
            let title = match change {
                VisitChange::Booked => format!("Visit booked: {}", v.name),
                VisitChange::Moved => format!("Visit moved: {}", v.name),
                VisitChange::Cancelled => format!("Visit cancelled: {}", v.name),
            };
            let body =
                [Some(when), v.address].into_iter().flatten().filter(|s| !s.is_empty()).collect::<Vec<_>>();
            let message = Message {
                kind: Kind::Visit.as_str(),
                title,
                body: body.join(" · "),
                url: "/today",
                tag: format!("visit-{consultation}"),
            };
            Ok(Some(Outgoing {
                company,
                kind: Kind::Visit,
                to: vec![(v.technician_id, message)],
                ttl: Duration::from_secs(24 * 3600),
                urgency: "high",
            }))
        }
        Notice::FollowUp { followup } => {
            let Some(f) = sqlx::query!(
                r#"select f.assignee_id, f.due_at, f.note, cu.name, u.role
                   from followups f
                   join consultations c on c.company_id = f.company_id and c.id = f.consultation_id
                   join customers cu on cu.company_id = c.company_id and cu.id = c.customer_id
                   join users u on u.company_id = f.company_id and u.id = f.assignee_id
                   where f.company_id = $1 and f.id = $2 and not f.deleted and f.done_at is null"#,
                company,
                followup
            )
            .fetch_optional(pool)
            .await?
            else {
                return Ok(None);
            };
            if author == Some(f.assignee_id) {
                return Ok(None);
            }
            let tz = crate::analytics::settings::load_zone(pool, company).await?;
            let due = format!("Due {}", f.due_at.with_timezone(&tz).format("%a %-d %b, %H:%M"));
            let body = [due, f.note].into_iter().filter(|s| !s.is_empty()).collect::<Vec<_>>().join(" · ");
            let url = if f.role == Role::Manager.as_str() { "/followups" } else { "/queue" };
            let message = Message {
                kind: Kind::FollowUp.as_str(),
                title: format!("Follow-up for you: {}", f.name),
                body,
                url,
                tag: format!("followup-{followup}"),
            };
            Ok(Some(Outgoing {
                company,
                kind: Kind::FollowUp,
                to: vec![(f.assignee_id, message)],
                ttl: Duration::from_secs(24 * 3600),
                urgency: "normal",
            }))
        }
    }
}

/// A new lead goes to the managers and, while the company is open (its business hours,
/// holidays excepted), to the office: the people on duty to answer it.
async fn new_lead_outgoing(
    pool: &sqlx::PgPool,
    company: Uuid,
    author: Option<Uuid>,
    message: Message,
) -> Result<Option<Outgoing>, sqlx::Error> {
    let people = sqlx::query!(
        "select id, role from users
         where company_id = $1 and active and role in ('manager', 'office') and not ('new_lead' = any(notify_off))",
        company
    )
    .fetch_all(pool)
    .await?;
    let office_on_duty = if people.iter().any(|p| p.role == Role::Office.as_str()) {
        open_now(pool, company).await?
    } else {
        false
    };
    let to = people
        .into_iter()
        .filter(|p| Some(p.id) != author && (p.role == Role::Manager.as_str() || office_on_duty))
        .map(|p| (p.id, message.clone()))
        .collect();
    Ok(Some(Outgoing { company, kind: Kind::NewLead, to, ttl: Duration::from_secs(3600), urgency: "high" }))
}

async fn open_now(pool: &sqlx::PgPool, company: Uuid) -> Result<bool, sqlx::Error> {
    let tz = crate::analytics::settings::load_zone(pool, company).await?;
    let settings = crate::analytics::routes::load_settings(pool, company).await.unwrap_or_default();
    Ok(crate::analytics::business::Hours::new(tz, &settings).is_open(Utc::now().timestamp()))
}

/// "Tue 8 Dec, 14:00–16:00" in the company's time zone.
fn window(at: DateTime<Utc>, minutes: Option<i32>, tz: Tz) -> String {
    let start = at.with_timezone(&tz);
    let day = start.format("%a %-d %b, %H:%M");
    match minutes {
        Some(m) => format!("{day}–{}", (start + chrono::Duration::minutes(m.into())).format("%H:%M")),
        None => day.to_string(),
    }
}

/// What every post to a push service is sent with: the HTTP client and who we are (VAPID).
struct Courier<'a> {
    client: &'a reqwest::Client,
    key: &'a VapidKey,
    contact: &'a str,
}

/// A device's subscription as stored.
struct Device<'a> {
    endpoint: &'a str,
    p256dh: &'a [u8],
    auth: &'a [u8],
}

async fn send(pool: &sqlx::PgPool, courier: &Courier<'_>, out: Outgoing) {
    if out.to.is_empty() {
        return;
    }
    let people: Vec<Uuid> = out.to.iter().map(|(p, _)| *p).collect();
    let subscriptions = match sqlx::query!(
        "select s.id, s.user_id, s.endpoint, s.p256dh, s.auth
         from push_subscriptions s
         join users u on u.company_id = s.company_id and u.id = s.user_id
         join sessions se on se.token_hash = s.session_hash
         where s.company_id = $1 and s.user_id = any($2) and u.active and se.expires_at > now()
           and not ($3 = any(u.notify_off))",
        out.company,
        &people,
        out.kind.as_str()
    )
    .fetch_all(pool)
    .await
    {
        Ok(rows) => rows,
        Err(e) => {
            tracing::warn!(error = %e, "push: could not read subscriptions");
            return;
        }
    };
    let messages: BTreeMap<Uuid, &Message> = out.to.iter().map(|(p, m)| (*p, m)).collect();
    let out = &out;
    futures_util::stream::iter(subscriptions)
        .for_each_concurrent(CONCURRENT, |s| {
            let message = messages[&s.user_id];
            async move {
                let device = Device { endpoint: &s.endpoint, p256dh: &s.p256dh, auth: &s.auth };
                let outcome = courier.post(device, message, out).await;
                record(pool, s.id, outcome).await;
            }
        })
        .await;
}

enum Outcome {
    Delivered,
    /// The push service says the subscription is no more (404, 410): drop it.
    Gone,
    Failed(String),
}

impl Courier<'_> {
    async fn post(&self, to: Device<'_>, message: &Message, out: &Outgoing) -> Outcome {
        let Device { endpoint, p256dh, auth } = to;
        // Stored endpoints were checked on the way in; a loopback one is only stored where allowed.
        let Ok(endpoint) = PushEndpoint::parse(endpoint, true) else { return Outcome::Gone };
        let Ok(device) = web_push_native::p256::PublicKey::from_sec1_bytes(p256dh) else {
            return Outcome::Gone;
        };
        if auth.len() != 16 {
            return Outcome::Gone;
        }
        let auth = web_push_native::Auth::clone_from_slice(auth);
        let payload = serde_json::to_vec(message).unwrap_or_default();
        let request = match web_push_native::WebPushBuilder::new(endpoint.uri().clone(), device, auth)
            .with_valid_duration(out.ttl)
            .build(payload)
        {
            Ok(r) => r,
            Err(e) => return Outcome::Failed(format!("encrypting: {e}")),
        };
        let (parts, body) = request.into_parts();
        let sent = self
            .client
            .post(endpoint.as_str())
            .headers(parts.headers)
            .header("Urgency", out.urgency)
            .header(
                reqwest::header::AUTHORIZATION,
                self.key.authorization(&endpoint.audience(), self.contact, Utc::now()),
            )
            .body(body)
            .send()
            .await;
        match sent {
            Ok(r) if r.status().is_success() => Outcome::Delivered,
            Ok(r) if matches!(r.status().as_u16(), 404 | 410) => Outcome::Gone,
            Ok(r) => Outcome::Failed(format!("push service answered {}", r.status())),
            Err(e) => Outcome::Failed(e.to_string()),
        }
    }
}

async fn record(pool: &sqlx::PgPool, subscription: Uuid, outcome: Outcome) {
    let done = match outcome {
        Outcome::Delivered => sqlx::query!(
            "update push_subscriptions set last_sent_at = now(), failures = 0 where id = $1",
            subscription
        )
        .execute(pool)
        .await
        .map(|_| ()),
        Outcome::Gone => sqlx::query!("delete from push_subscriptions where id = $1", subscription)
            .execute(pool)
            .await
            .map(|_| ()),
        Outcome::Failed(why) => {
            tracing::info!(%subscription, %why, "push: not delivered");
            let failures = sqlx::query_scalar!(
                "update push_subscriptions set failures = failures + 1 where id = $1 returning failures",
                subscription
            )
            .fetch_optional(pool)
            .await;
            match failures {
                Ok(Some(n)) if n >= MAX_FAILURES => {
                    sqlx::query!("delete from push_subscriptions where id = $1", subscription)
                        .execute(pool)
                        .await
                        .map(|_| ())
                }
                other => other.map(|_| ()),
            }
        }
    };
    if let Err(e) = done {
        tracing::warn!(error = %e, "push: could not record a delivery");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_burst_of_website_leads_is_one_notice_per_company_in_its_place() {
        let (a, b, tech) = (Uuid::now_v7(), Uuid::now_v7(), Uuid::now_v7());
        let lead = |company| Job { company, author: None, notice: Notice::NewLead { lead: Uuid::now_v7() } };
        let visit = Job {
            company: a,
            author: Some(tech),
            notice: Notice::Visit { consultation: Uuid::now_v7(), change: VisitChange::Moved },
        };
        let mine = Job { company: a, author: Some(tech), notice: Notice::NewLead { lead: Uuid::now_v7() } };
        let out = summed(vec![lead(a), visit, lead(a), lead(b), mine, lead(a)]);
        assert!(matches!(out[0], Summed::NewLeads { company, author: None, count: 3 } if company == a));
        assert!(matches!(out[1], Summed::One(Job { notice: Notice::Visit { .. }, .. })));
        assert!(matches!(out[2], Summed::One(Job { company, .. }) if company == b));
        assert!(
            matches!(out[3], Summed::One(Job { author: Some(_), .. })),
            "a person's lead is its own notice"
        );
        assert_eq!(out.len(), 4);
    }
}
