//! Saving as the technician types: every field goes to the device's outbox within a moment of
//! the last keystroke (and at once when the field is left), and the page says whether it is
//! safe — "Saved on this device" is the promise that a killed tab loses nothing.

use crate::{
    sync::{
        mutation::{FieldUpdate, Mutation},
        protocol::Entity,
    },
    ui::sync_state::{queue, use_sync, SyncHandle},
};
use leptos::prelude::*;
use serde_json::{Map, Value};
use std::{collections::HashMap, time::Duration};
use uuid::Uuid;

#[derive(Clone, Debug, PartialEq)]
pub enum SaveState {
    Idle,
    Saving,
    Saved,
    Failed(String),
}

/// How long after the last keystroke a text field is saved.
const DEBOUNCE: Duration = Duration::from_millis(400);

#[derive(Clone, Copy)]
pub struct Saver {
    pub state: RwSignal<SaveState>,
    sync: SyncHandle,
    timers: StoredValue<HashMap<&'static str, TimeoutHandle>>,
}

impl Saver {
    pub fn provide() -> Saver {
        let saver = Saver {
            state: RwSignal::new(SaveState::Idle),
            sync: use_sync(),
            timers: StoredValue::new(HashMap::new()),
        };
        provide_context(saver);
        saver
    }

    pub fn get() -> Saver {
        use_context::<Saver>().unwrap_or_else(Saver::provide)
    }

    /// Queues `mutations` (validated first) and reports the outcome on the page.
    pub fn queue(self, mutations: Vec<Mutation>) {
        self.state.set(SaveState::Saving);
        leptos::task::spawn_local(async move {
            match queue(mutations).await {
                Ok(()) => self.state.set(SaveState::Saved),
                Err(e) => self.state.set(SaveState::Failed(e)),
            }
        });
    }

    /// Writes some fields of a consultation, against the revision this device last received.
    pub fn fields(self, consultation: Uuid, fields: Map<String, Value>) {
        let base_version =
            self.sync.snapshot.with_untracked(|s| s.revision(Entity::Consultation, consultation));
        self.queue(vec![Mutation::ConsultationUpdate(FieldUpdate {
            id: consultation,
            base_version,
            fields,
        })]);
    }

    /// Runs `save` once typing under `key` pauses; a newer call replaces a waiting one.
    pub fn soon(self, key: &'static str, save: impl FnOnce() + 'static) {
        self.state.set(SaveState::Saving);
        self.timers.update_value(|t| {
            if let Some(old) = t.remove(key) {
                old.clear();
            }
            if let Ok(handle) = set_timeout_with_handle(save, DEBOUNCE) {
                t.insert(key, handle);
            }
        });
    }

    /// Runs `save` now, dropping a waiting one under `key` (the field was left).
    pub fn now(self, key: &'static str, save: impl FnOnce() + 'static) {
        self.timers.update_value(|t| {
            if let Some(old) = t.remove(key) {
                old.clear();
            }
        });
        save();
    }
}

/// "Saved on this device" and friends, where the eye is: under the step's title.
#[component]
pub fn SaveIndicator() -> impl IntoView {
    let saver = Saver::get();
    view! {
        <p class="save-state" data-testid="save-state" aria-live="polite">
            {move || match saver.state.get() {
                SaveState::Idle => view! { <span class="muted">"Every field is saved on this device as you type."</span> }.into_any(),
                SaveState::Saving => view! { <span class="muted">"Saving…"</span> }.into_any(),
                SaveState::Saved => view! { <span class="ok">"✓ Saved on this device"</span> }.into_any(),
                SaveState::Failed(e) => view! { <span class="error" role="alert">{format!("Not saved: {e}")}</span> }.into_any(),
            }}
        </p>
    }
}
