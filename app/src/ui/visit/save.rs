//! Saving as the technician types: every field goes to the device's outbox within a moment of
//! the last keystroke (and at once when the field is left), and the page says whether it is
//! safe — "Saved on this device" is the promise that a killed tab loses nothing. Waiting saves
//! also run when the page is hidden or left (switching apps, a reload, closing the tab).

use crate::sync::device::{queue, use_sync, SyncHandle};
use crate::{
    sync::{
        mutation::{FieldUpdate, Mutation},
        protocol::Entity,
    },
    ui::{
        current_user,
        drafts::{self, Draft},
    },
};
use leptos::prelude::*;
use serde_json::{Map, Value};
use std::{cell::RefCell, collections::HashMap, rc::Rc, time::Duration};
use uuid::Uuid;

#[derive(Clone, Debug, PartialEq)]
pub enum SaveState {
    Idle,
    Saving,
    Saved,
    Failed(String),
}

/// How long after the last keystroke a text field is saved.
const DEBOUNCE: Duration = Duration::from_millis(300);

/// A field save waiting for typing to pause: its timer, and the edit (taken by whoever saves it
/// first — the timer, a flush, or the field being left).
type Waiting = (TimeoutHandle, Rc<RefCell<Option<Draft>>>);

#[derive(Clone, Copy)]
pub struct Saver {
    pub state: RwSignal<SaveState>,
    sync: SyncHandle,
    user: Uuid,
    waiting: StoredValue<HashMap<&'static str, Waiting>, LocalStorage>,
    /// Queued writes not yet durable on the device.
    in_flight: StoredValue<usize>,
}

impl Saver {
    pub fn provide() -> Saver {
        let saver = Saver {
            state: RwSignal::new(SaveState::Idle),
            sync: use_sync(),
            user: current_user().map(|m| m.user_id).unwrap_or_default(),
            waiting: StoredValue::new_local(HashMap::new()),
            in_flight: StoredValue::new(0),
        };
        provide_context(saver);
        // Leaving the page or the app: save what waits now (the draft journal covers a kill).
        let hidden = window_event_listener(leptos::ev::visibilitychange, move |_| saver.flush());
        let leaving = window_event_listener(leptos::ev::pagehide, move |_| saver.flush());
        on_cleanup(move || {
            saver.flush();
            hidden.remove();
            leaving.remove();
        });
        saver
    }

    pub fn get() -> Saver {
        use_context::<Saver>().unwrap_or_else(Saver::provide)
    }

    /// "Saved" only when nothing waits and nothing is in flight: one field's save finishing
    /// must not vouch for another still waiting.
    fn settle(self) {
        let idle = self.in_flight.try_get_value().unwrap_or(0) == 0
            && self.waiting.try_with_value(HashMap::is_empty).unwrap_or(true);
        if idle && !matches!(self.state.try_get_untracked(), Some(SaveState::Failed(_))) {
            let _ = self.state.try_set(SaveState::Saved);
        }
    }

    /// Queues `mutations` (validated first) and reports the outcome on the page.
    pub fn queue(self, mutations: Vec<Mutation>) {
        self.queue_then(mutations, || {});
    }

    fn queue_then(self, mutations: Vec<Mutation>, saved: impl FnOnce() + 'static) {
        self.state.set(SaveState::Saving);
        let _ = self.in_flight.try_update_value(|n| *n += 1);
        // The page (and with it this saver's signals) may be gone by the time the write is on
        // the device: a rebuilt list, a tap on another tab. The write still lands; only the
        // "Saved" line has nobody to tell, so every signal is touched with `try_`.
        leptos::task::spawn_local(async move {
            let result = queue(mutations).await;
            let _ = self.in_flight.try_update_value(|n| *n = n.saturating_sub(1));
            match result {
                Ok(()) => {
                    saved();
                    if matches!(self.state.try_get_untracked(), Some(SaveState::Failed(_))) {
                        let _ = self.state.try_set(SaveState::Saving);
                    }
                    self.settle();
                }
                Err(e) => {
                    let _ = self.state.try_set(SaveState::Failed(e));
                }
            }
        });
    }

    /// Writes some fields of a consultation, against the revision this device last received;
    /// `key` names its draft journal entry, forgotten once the write is in the outbox.
    fn commit(self, key: &'static str, draft: Draft) {
        let base_version =
            self.sync.snapshot.with_untracked(|s| s.revision(Entity::Consultation, draft.consultation));
        let journal = drafts::key(self.user, draft.consultation, key);
        let written = drafts::write(&journal, &draft);
        self.queue_then(
            vec![Mutation::ConsultationUpdate(FieldUpdate {
                id: draft.consultation,
                base_version,
                fields: draft.fields,
            })],
            move || drafts::clear_if(&journal, &written),
        );
    }

    /// Saves a field edit: at once when `at_once` (a choice, a field left), otherwise once
    /// typing under `key` pauses. Either way it is in the draft journal from this moment.
    pub fn edit(self, consultation: Uuid, key: &'static str, fields: Map<String, Value>, at_once: bool) {
        self.cancel(key);
        let draft = Draft { consultation, fields };
        if at_once {
            return self.commit(key, draft);
        }
        self.state.set(SaveState::Saving);
        drafts::write(&drafts::key(self.user, consultation, key), &draft);
        let job = Rc::new(RefCell::new(Some(draft)));
        let fire = job.clone();
        let timer = set_timeout_with_handle(
            move || {
                let _ = self.waiting.try_update_value(|w| w.remove(key));
                let draft = fire.borrow_mut().take();
                if let Some(draft) = draft {
                    self.commit(key, draft);
                }
            },
            DEBOUNCE,
        );
        match timer {
            Ok(handle) => {
                let _ = self.waiting.try_update_value(|w| w.insert(key, (handle, job)));
            }
            // No timers (never in a browser): save at once rather than never.
            Err(_) => {
                let draft = job.borrow_mut().take();
                if let Some(draft) = draft {
                    self.commit(key, draft);
                }
            }
        }
    }

    fn cancel(self, key: &'static str) {
        let old = self.waiting.try_update_value(|w| w.remove(key)).flatten();
        if let Some((handle, _)) = old {
            handle.clear();
        }
    }

    /// Saves every waiting edit now.
    pub fn flush(self) {
        let waiting: Vec<(&'static str, Waiting)> =
            self.waiting.try_update_value(|w| w.drain().collect()).unwrap_or_default();
        for (key, (handle, job)) in waiting {
            handle.clear();
            let draft = job.borrow_mut().take();
            if let Some(draft) = draft {
                self.commit(key, draft);
            }
        }
    }
}

/// Shows a value that arrived by sync in the field `id`, unless the person is in that field
/// (their typing wins; it is saved and will reach the server after).
pub fn refresh_field(id: &str, value: &str) {
    #[cfg(feature = "hydrate")]
    {
        use wasm_bindgen::JsCast;
        let Some(doc) = web_sys::window().and_then(|w| w.document()) else { return };
        let Some(el) = doc.get_element_by_id(id) else { return };
        if doc.active_element().as_ref() == Some(&el) {
            return;
        }
        if let Some(t) = el.dyn_ref::<web_sys::HtmlTextAreaElement>() {
            if t.value() != value {
                t.set_value(value);
            }
        } else if let Some(i) = el.dyn_ref::<web_sys::HtmlInputElement>() {
            if i.value() != value {
                i.set_value(value);
            }
        } else if let Some(s) = el.dyn_ref::<web_sys::HtmlSelectElement>() {
            if s.value() != value {
                s.set_value(value);
            }
        }
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = (id, value);
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
