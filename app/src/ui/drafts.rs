//! The draft journal: what a person typed into a field, written to `localStorage` synchronously
//! on every keystroke, until the debounced save has put it in the outbox. A tab killed or
//! reloaded inside the debounce window (no timer runs, an IndexedDB write started in `pagehide`
//! never commits) leaves its draft here; the next start queues it. A draft queued twice writes
//! the same value twice, which is harmless.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use uuid::Uuid;

/// One field edit of a consultation, as `consultation.update_fields` will carry it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Draft {
    pub consultation: Uuid,
    pub fields: Map<String, Value>,
}

fn prefix(user: Uuid) -> String {
    format!("fieldclose-draft:{user}:")
}

pub fn key(user: Uuid, consultation: Uuid, field: &str) -> String {
    format!("{}{consultation}:{field}", prefix(user))
}

#[cfg(feature = "hydrate")]
fn storage() -> Option<web_sys::Storage> {
    web_sys::window()?.local_storage().ok().flatten()
}

/// Records `draft` under `key`; returns what was written (to clear it only if unchanged).
pub fn write(key: &str, draft: &Draft) -> String {
    let text = serde_json::to_string(draft).unwrap_or_default();
    #[cfg(feature = "hydrate")]
    if let Some(s) = storage() {
        // Full storage: the debounced save still runs; only the kill-safety is lost.
        let _ = s.set_item(key, &text);
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = key;
    text
}

/// Forgets the draft under `key` if it is still `written` (a newer keystroke keeps its own).
pub fn clear_if(key: &str, written: &str) {
    #[cfg(feature = "hydrate")]
    if let Some(s) = storage() {
        if s.get_item(key).ok().flatten().as_deref() == Some(written) {
            let _ = s.remove_item(key);
        }
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = (key, written);
}

/// Every draft `user` left behind, with its key.
pub fn left_behind(user: Uuid) -> Vec<(String, String, Draft)> {
    #[cfg(feature = "hydrate")]
    {
        let Some(s) = storage() else { return vec![] };
        let prefix = prefix(user);
        let keys: Vec<String> = (0..s.length().unwrap_or(0))
            .filter_map(|i| s.key(i).ok().flatten())
            .filter(|k| k.starts_with(&prefix))
            .collect();
        keys.into_iter()
            .filter_map(|k| {
                let text = s.get_item(&k).ok().flatten()?;
                let draft = serde_json::from_str(&text).ok()?;
                Some((k, text, draft))
            })
            .collect()
    }
    #[cfg(not(feature = "hydrate"))]
    {
        let _ = prefix(user);
        vec![]
    }
}

/// Where a form that is not a record yet (the first step of a consultation) is kept as typed, so
/// an offline reload or a killed tab does not lose it.
pub fn form_key(user: Uuid, form: &str) -> String {
    format!("fieldclose-form:{user}:{form}")
}

pub fn keep_form<T: Serialize>(key: &str, value: &T) {
    #[cfg(feature = "hydrate")]
    if let (Some(s), Ok(text)) = (storage(), serde_json::to_string(value)) {
        let _ = s.set_item(key, &text);
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = (key, serde_json::to_value(value));
}

pub fn kept_form<T: serde::de::DeserializeOwned>(key: &str) -> Option<T> {
    #[cfg(feature = "hydrate")]
    {
        serde_json::from_str(&storage()?.get_item(key).ok().flatten()?).ok()
    }
    #[cfg(not(feature = "hydrate"))]
    {
        let _ = key;
        None
    }
}

pub fn drop_form(key: &str) {
    #[cfg(feature = "hydrate")]
    if let Some(s) = storage() {
        let _ = s.remove_item(key);
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = key;
}
