//! Open quotes as the follow-up screens see them: who, what was quoted, how long ago, how many
//! attempts, when next — read from the device's records, so the queue works in the truck with
//! no signal.

use super::visit::{label, options::options_of, text};
use crate::sync::device::SyncSnapshot;
use crate::{domain::Cents, sync::protocol::Entity};
use chrono::{DateTime, Utc};
use serde_json::Value;
use std::collections::HashMap;
use uuid::Uuid;

/// The contact kinds that count as a follow-up attempt.
pub const CONTACT_KINDS: [&str; 3] = ["call", "text", "email"];

#[derive(Debug, Clone, PartialEq)]
pub struct Quote {
    pub id: Uuid,
    pub customer: String,
    pub phone: String,
    pub address: String,
    pub service: String,
    pub status: String,
    /// (tier, price) in tier order.
    pub tiers: Vec<(String, Cents)>,
    pub visit: Option<DateTime<Utc>>,
    pub attempts: usize,
    pub last_result: Option<String>,
    /// The earliest open follow-up, and whose it is.
    pub next_due: Option<(Uuid, DateTime<Utc>, Uuid)>,
    pub sales_rep: Option<Uuid>,
    pub technician: Option<Uuid>,
    pub expected_value: Cents,
}

impl Quote {
    /// Whether a search finds this quote: every word in the customer's name, address, phone or
    /// service (in any order), or the phone's digits. An empty search finds every quote.
    pub fn matches(&self, query: &str) -> bool {
        crate::ui::find::every_word_in(query, &[&self.customer, &self.address, &self.phone, &self.service])
            || crate::ui::find::phone_has_digits(query, &self.phone)
    }

    pub fn days_since_visit(&self, now: DateTime<Utc>) -> Option<i64> {
        self.visit.map(|v| (now - v).num_days().max(0))
    }

    pub fn overdue(&self, now: DateTime<Utc>) -> bool {
        self.next_due.is_some_and(|(_, due, _)| due <= now)
    }

    pub fn quoted(&self) -> String {
        if self.tiers.is_empty() {
            return "No options yet".into();
        }
        self.tiers.iter().map(|(t, p)| format!("{t} {p}")).collect::<Vec<_>>().join(" · ")
    }
}

fn time(v: &Value, key: &str) -> Option<DateTime<Utc>> {
    v.get(key)?.as_str()?.parse().ok()
}

fn uuid(v: &Value, key: &str) -> Option<Uuid> {
    v.get(key)?.as_str()?.parse().ok()
}

/// The base close rate per service type on this device (won / decided); the company-wide rate
/// for a service with no decided quotes yet. Until a model exists, this is the probability in
/// the expected value (issue 5).
pub fn close_rates(s: &SyncSnapshot) -> (HashMap<String, f64>, f64) {
    let mut by_service: HashMap<String, (u32, u32)> = HashMap::new();
    for (_, c) in s.records(Entity::Consultation) {
        let status = text(c, "status");
        if status == "open" {
            continue;
        }
        let service =
            uuid(c, "lead_id").and_then(|l| s.get(Entity::Lead, l)).map(|l| text(l, "service_type"));
        let e = by_service.entry(service.unwrap_or_default()).or_default();
        e.1 += 1;
        if status == "won" {
            e.0 += 1;
        }
    }
    let (won, decided) = by_service.values().fold((0, 0), |a, b| (a.0 + b.0, a.1 + b.1));
    let overall = if decided == 0 { 0.0 } else { f64::from(won) / f64::from(decided) };
    let rates = by_service
        .into_iter()
        .filter(|(_, (_, d))| *d >= 5)
        .map(|(k, (w, d))| (k, f64::from(w) / f64::from(d)))
        .collect();
    (rates, overall)
}

/// Every consultation on the device as a quote, with the given filter on the raw record.
pub fn quotes(s: &SyncSnapshot, keep: impl Fn(&Value) -> bool) -> Vec<Quote> {
    let (rates, overall) = close_rates(s);
    // Per consultation: how many attempts, and the latest one's time and result.
    type Attempts = (usize, Option<(DateTime<Utc>, String)>);
    let mut attempts: HashMap<String, Attempts> = HashMap::new();
    for (_, a) in s.records(Entity::Activity) {
        if !CONTACT_KINDS.contains(&text(a, "kind").as_str()) {
            continue;
        }
        let e = attempts.entry(text(a, "consultation_id")).or_default();
        e.0 += 1;
        if let Some(at) = time(a, "occurred_at") {
            if e.1.as_ref().is_none_or(|(t, _)| at > *t) {
                e.1 = Some((at, text(a, "outcome")));
            }
        }
    }
    let mut due: HashMap<String, (Uuid, DateTime<Utc>, Uuid)> = HashMap::new();
    for (fid, f) in s.records(Entity::Followup) {
        if f.get("done_at").is_some_and(|d| !d.is_null()) {
            continue;
        }
        let (Some(at), Some(who)) = (time(f, "due_at"), uuid(f, "assignee_id")) else { continue };
        let e = due.entry(text(f, "consultation_id")).or_insert((*fid, at, who));
        if at < e.1 {
            *e = (*fid, at, who);
        }
    }
    s.records(Entity::Consultation)
        .filter(|(_, c)| keep(c))
        .map(|(id, c)| {
            let lead = uuid(c, "lead_id").and_then(|l| s.get(Entity::Lead, l));
            let customer =
                lead.and_then(|l| uuid(l, "customer_id")).and_then(|cid| s.get(Entity::Customer, cid));
            let service = lead.map(|l| text(l, "service_type")).unwrap_or_default();
            let tiers: Vec<(String, Cents)> = options_of(s, *id)
                .into_iter()
                .filter(|o| !o.items.is_empty())
                .map(|o| {
                    let total = o.total();
                    (o.tier, total)
                })
                .collect();
            let top = tiers.iter().map(|(_, p)| p.0).max().unwrap_or(0);
            let rate = rates.get(&service).copied().unwrap_or(overall);
            let key = id.to_string();
            let (n, last) = attempts.get(&key).cloned().unwrap_or_default();
            Quote {
                id: *id,
                customer: customer.map(|c| text(c, "name")).unwrap_or_else(|| "Unknown customer".into()),
                phone: customer.map(|c| text(c, "phone")).unwrap_or_default(),
                address: customer.map(|c| text(c, "address")).unwrap_or_default(),
                service: label(&service),
                status: text(c, "status"),
                tiers,
                visit: time(c, "held_at").or_else(|| time(c, "scheduled_at")),
                attempts: n,
                last_result: last.map(|(_, r)| r).filter(|r| !r.is_empty()),
                next_due: due.get(&key).copied(),
                sales_rep: uuid(c, "sales_rep_id"),
                technician: uuid(c, "technician_id"),
                expected_value: Cents((top as f64 * rate).round() as i64),
            }
        })
        .collect()
}

/// The open quotes on `person`'s follow-up queue: handed to them (their quote), or with an open
/// follow-up assigned to them. The rep's queue and the manager's board both read it, so they
/// agree on what is open.
pub fn queue_of(s: &SyncSnapshot, person: Uuid) -> Vec<Quote> {
    let me = person.to_string();
    let mine: std::collections::HashSet<String> = s
        .records(Entity::Followup)
        .filter(|(_, f)| text(f, "assignee_id") == me && f.get("done_at").is_none_or(Value::is_null))
        .map(|(_, f)| text(f, "consultation_id"))
        .collect();
    quotes(s, |c| {
        text(c, "status") == "open" && (text(c, "sales_rep_id") == me || mine.contains(&text(c, "id")))
    })
}

/// What a queue shows for a search: the first `limit` quotes it finds, in the queue's order,
/// and how many more it found.
pub fn page_of(queue: &[Quote], query: &str, limit: usize) -> (Vec<Quote>, usize) {
    let mut found = queue.iter().filter(|q| q.matches(query));
    let page: Vec<Quote> = found.by_ref().take(limit).cloned().collect();
    (page, found.count())
}

/// Values the quotes the server scored by its close model instead of the device's close rates:
/// probability × the highest option's price. Quotes it did not score keep the device's value.
pub fn apply_scores(quotes: &mut [Quote], scores: &crate::api::QuoteScores) {
    let by_id: HashMap<Uuid, f64> =
        scores.scores.iter().map(|s| (s.consultation_id, s.probability)).collect();
    for q in quotes {
        if let Some(p) = by_id.get(&q.id) {
            let top = q.tiers.iter().map(|(_, c)| c.0).max().unwrap_or(0);
            q.expected_value = Cents((top as f64 * p).round() as i64);
        }
    }
}

/// The queue's order: overdue first (most overdue first), then the largest expected value,
/// then the oldest visit.
pub fn rank(quotes: &mut [Quote], now: DateTime<Utc>) {
    quotes.sort_by(|a, b| {
        let overdue = b.overdue(now).cmp(&a.overdue(now));
        let due = match (a.overdue(now), b.overdue(now)) {
            (true, true) => a.next_due.map(|d| d.1).cmp(&b.next_due.map(|d| d.1)),
            _ => std::cmp::Ordering::Equal,
        };
        overdue.then(due).then(b.expected_value.cmp(&a.expected_value)).then(a.visit.cmp(&b.visit))
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Duration;

    fn quote(ev: i64, due_in_hours: Option<i64>, visit_days_ago: i64, now: DateTime<Utc>) -> Quote {
        Quote {
            id: Uuid::now_v7(),
            customer: format!("ev {ev} due {due_in_hours:?}"),
            phone: String::new(),
            address: String::new(),
            service: "HVAC".into(),
            status: "open".into(),
            tiers: vec![],
            visit: Some(now - Duration::days(visit_days_ago)),
            attempts: 0,
            last_result: None,
            next_due: due_in_hours.map(|h| (Uuid::now_v7(), now + Duration::hours(h), Uuid::now_v7())),
            sales_rep: None,
            technician: None,
            expected_value: Cents(ev),
        }
    }

    #[test]
    fn the_models_scores_value_the_quotes_it_scored_and_leave_the_others() {
        let now = Utc::now();
        let mut a = quote(100, None, 1, now);
        a.tiers = vec![("good".into(), Cents(10_000)), ("best".into(), Cents(30_000))];
        let b = quote(500, None, 1, now);
        let scores = crate::api::QuoteScores {
            model_version: "close model of 2026-12-05 21:14 UTC (v7)".into(),
            uses_model: true,
            base_rate: 0.4,
            scores: vec![crate::api::QuoteScore { consultation_id: a.id, probability: 0.25 }],
        };
        let mut q = vec![a, b];
        apply_scores(&mut q, &scores);
        assert_eq!(q[0].expected_value, Cents(7_500), "0.25 × the best option's 30,000");
        assert_eq!(q[1].expected_value, Cents(500), "not scored: the device's value stays");
        rank(&mut q, now);
        assert_eq!(q[0].expected_value, Cents(7_500));
    }

    #[test]
    fn a_search_finds_by_any_words_or_phone_digits_and_pages_in_queue_order() {
        let now = Utc::now();
        let mut queue: Vec<Quote> = (0..45).map(|i| quote(1_000 - i, None, 1, now)).collect();
        queue[30].customer = "Ann Lee".into();
        queue[30].address = "12 Oak St, Austin".into();
        queue[30].phone = "+1 (512) 555-0143".into();
        let (page, more) = page_of(&queue, "", 20);
        assert_eq!((page.len(), more), (20, 25));
        assert_eq!(page[0].id, queue[0].id, "in the queue's order");
        assert_eq!(page_of(&queue, "  ", 40).1, 5);
        for search in ["lee ann", "oak austin", "5550143", "555-0143", "hvac ann"] {
            let (page, more) = page_of(&queue, search, 20);
            assert_eq!((page.len(), more), (1, 0), "{search}");
            assert_eq!(page[0].id, queue[30].id, "{search}");
        }
        assert_eq!(page_of(&queue, "ann smith", 20).0.len(), 0);
    }

    #[test]
    fn overdue_first_then_expected_value_then_age() {
        let now = Utc::now();
        let mut q = vec![
            quote(100, Some(5), 3, now),
            quote(900, None, 2, now),
            quote(50, Some(-1), 1, now),
            quote(10, Some(-30), 1, now),
            quote(900, None, 9, now),
        ];
        rank(&mut q, now);
        let order: Vec<(i64, i64)> =
            q.iter().map(|q| (q.expected_value.0, q.days_since_visit(now).unwrap())).collect();
        assert_eq!(order, [(10, 1), (50, 1), (900, 9), (900, 2), (100, 3)]);
    }
}
