//! "Changes that crossed": on a record two people edited while offline, the values that were
//! overwritten, who had written them and who overwrote them. Read from the server when there is
//! signal (conflicts only exist once both edits have arrived there).

use crate::api::ConflictEntry;
use crate::sync::device::{transport::get_json, use_sync};
use leptos::prelude::*;
use serde_json::Value;
use uuid::Uuid;

fn shown(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => "(empty)".into(),
        other => other.to_string(),
    }
}

#[component]
pub fn ConflictView(entity: &'static str, id: Uuid) -> impl IntoView {
    let sync = use_sync();
    // Fetched again after each sync that brought something (last sync time changes).
    let synced = Memo::new(move |_| sync.snapshot.with(|s| s.status.last_synced_at));
    let conflicts = LocalResource::new(move || {
        synced.track();
        async move { get_json::<Vec<ConflictEntry>>(&format!("/api/conflicts?entity={entity}&id={id}")).await }
    });
    view! {
        <Suspense fallback=|| ()>
            {move || conflicts.get().and_then(|r| r.ok()).filter(|c| !c.is_empty()).map(|list| view! {
                <section class="card warn" data-testid="conflicts">
                    <h2>"Changes that crossed"</h2>
                    <p class="muted">"Two people changed the same thing while apart. The later one was kept; here is what it replaced."</p>
                    <ul class="list">
                        {list.into_iter().map(|c| view! {
                            <li data-testid="conflict">
                                <strong>{c.field.clone()}</strong>
                                <div>{format!("Kept: \u{201c}{}\u{201d} — {}", shown(&c.new_value), c.written_by)}</div>
                                <div class="muted">{format!("Replaced: \u{201c}{}\u{201d} — {}", shown(&c.overwritten_value),
                                    c.overwritten_by.clone().unwrap_or_else(|| "someone".into()))}</div>
                            </li>
                        }).collect_view()}
                    </ul>
                </section>
            })}
        </Suspense>
    }
}
