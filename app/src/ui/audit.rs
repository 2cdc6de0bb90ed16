//! The audit trail as people read it: `/audit` (managers: every change, filtered by person,
//! record type and dates, with a CSV of the same) and [`History`], one consultation's or
//! customer's changes as a timeline. Both read the server's trail, so they need a connection.

use crate::ui::clock;
use crate::{
    api::{AuditEntry, FieldChange, TeamMember, AUDIT_RECORD_TYPES},
    sync::{device::transport, protocol::Entity},
};
use leptos::prelude::*;
use serde_json::Value;
use uuid::Uuid;

fn value_text(v: Option<&Value>) -> String {
    match v {
        None | Some(Value::Null) => "—".into(),
        Some(Value::String(s)) => s.clone(),
        Some(Value::Array(items)) => {
            items.iter().map(|i| value_text(Some(i))).collect::<Vec<_>>().join(" · ")
        }
        Some(other) => other.to_string(),
    }
}

fn change_line(c: &FieldChange) -> String {
    let field = c.field.replace('_', " ");
    match &c.before {
        None => format!("{field}: {}", value_text(c.after.as_ref())),
        Some(before) => format!("{field}: {} → {}", value_text(Some(before)), value_text(c.after.as_ref())),
    }
}

/// One entry: when, who, on what, and what changed.
#[component]
fn Entry(entry: AuditEntry) -> impl IntoView {
    let when = clock::format(entry.at, "%b %-d, %H:%M");
    let synced_later = (entry.recorded_at - entry.at).num_minutes() >= 5;
    let recorded = clock::format(entry.recorded_at, "%b %-d, %H:%M");
    let changes: Vec<String> = entry.changes.iter().map(change_line).collect();
    view! {
        <li data-testid="audit-entry" data-record-type=entry.record_type.clone()>
            <p>
                <strong>{entry.summary.clone()}</strong>
                <span class="muted">{format!(" · {} · {}", entry.record_type.replace('_', " "), entry.action)}</span>
            </p>
            <p class="muted small">
                {format!("{when} · {} · {}", entry.person, entry.device)}
                {synced_later.then(|| format!(" · synced {recorded}"))}
            </p>
            {(!changes.is_empty()).then(|| view! {
                <ul class="changes small">{changes.into_iter().map(|c| view! { <li>{c}</li> }).collect_view()}</ul>
            })}
        </li>
    }
}

#[component]
pub fn AuditTrail() -> impl IntoView {
    let person = RwSignal::new(String::new());
    let record_type = RwSignal::new(String::new());
    let from = RwSignal::new(String::new());
    let to = RwSignal::new(String::new());
    let query = move || {
        let mut q: Vec<String> = vec![];
        for (name, v) in [("person", person), ("record_type", record_type), ("from", from), ("to", to)] {
            let v = v.get();
            if !v.is_empty() {
                q.push(format!("{name}={}", query_value(&v)));
            }
        }
        q.join("&")
    };
    let team = LocalResource::new(|| async {
        transport::get_json::<Vec<TeamMember>>("/api/users").await.unwrap_or_default()
    });
    let entries = LocalResource::new(move || {
        let url = format!("/api/audit?{}", query());
        async move { transport::get_json::<Vec<AuditEntry>>(&url).await.map_err(|f| f.into_detail().message) }
    });
    let select = |signal: RwSignal<String>| move |ev| signal.set(event_target_value(&ev));
    view! {
        <h1>"Audit trail"</h1>
        <p class="muted">"Every change to a record or to your setup: who, when, from which device, what it was and what it became."</p>
        <section class="card filters">
            <label>"Person"
                <select on:change=select(person)>
                    <option value="">"Everyone"</option>
                    {move || team.get().unwrap_or_default().into_iter().map(|m| {
                        view! { <option value=m.id.to_string()>{m.name}</option> }
                    }).collect_view()}
                </select>
            </label>
            <label>"Record"
                <select on:change=select(record_type) data-testid="audit-record-type">
                    <option value="">"Every kind of record"</option>
                    {AUDIT_RECORD_TYPES.iter().map(|(v, l)| view! { <option value=*v>{*l}</option> }).collect_view()}
                </select>
            </label>
            <label>"From"<input type="date" on:change=select(from) /></label>
            <label>"To"<input type="date" on:change=select(to) /></label>
            <a class="button" href=move || format!("/api/audit/export?{}", query()) download="audit-trail.csv">"Download CSV"</a>
        </section>
        <Suspense fallback=|| view! { <p>"Loading the trail…"</p> }>
            {move || entries.get().map(|r| match r {
                Ok(list) if list.is_empty() => view! { <p class="muted">"No changes match."</p> }.into_any(),
                Ok(list) => view! {
                    <ol class="list audit" data-testid="audit-list">
                        {list.into_iter().map(|entry| view! { <Entry entry /> }).collect_view()}
                    </ol>
                }.into_any(),
                Err(m) => view! { <p class="error" role="alert">{m}</p> }.into_any(),
            })}
        </Suspense>
    }
}

/// A filter value in a query string (ids, record types and dates need nothing more).
fn query_value(v: &str) -> String {
    v.chars().filter(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_')).collect()
}

/// A consultation's or customer's changes, newest first, loaded when opened (it needs a
/// connection; what is on the device is the record itself).
#[component]
pub fn History(id: Uuid, #[prop(default = "History")] title: &'static str) -> impl IntoView {
    let open = RwSignal::new(false);
    let entries = LocalResource::new(move || {
        let load = open.get();
        async move {
            if !load {
                return Ok(vec![]);
            }
            transport::get_json::<Vec<AuditEntry>>(&format!("/api/history/{id}")).await.map_err(|f| match f {
                transport::Failure::Refused(d) if d.message.contains("not found") => {
                    "Its history appears once it has synced.".to_string()
                }
                other => other.into_detail().message,
            })
        }
    });
    view! {
        <details class="card history" on:toggle=move |_| open.set(true)>
            <summary>{title}</summary>
            <Suspense fallback=|| view! { <p>"Loading…"</p> }>
                {move || entries.get().map(|r| match r {
                    Ok(list) if list.is_empty() => view! { <p class="muted">"No changes yet."</p> }.into_any(),
                    Ok(list) => view! {
                        <ol class="list audit" data-testid="record-history">
                            {list.into_iter().map(|entry| view! { <Entry entry /> }).collect_view()}
                        </ol>
                    }.into_any(),
                    Err(m) => view! { <p class="muted">{m}</p> }.into_any(),
                })}
            </Suspense>
        </details>
    }
}

/// The history of a consultation's customer (all their leads and visits this person sees), when
/// the device knows who the customer is.
#[component]
pub fn CustomerHistory(consultation: Uuid) -> impl IntoView {
    let sync = crate::sync::device::use_sync();
    let customer = sync.snapshot.with_untracked(|s| {
        let lead = s.get(Entity::Consultation, consultation)?.get("lead_id")?.as_str()?.parse().ok()?;
        s.get(Entity::Lead, lead)?.get("customer_id")?.as_str()?.parse::<Uuid>().ok()
    });
    customer.map(|id| view! { <History id title="Customer history" /> })
}
