//! Consultations found by a search of older work (`search_older`) stay on the device, whatever
//! the history window: "kept once opened". The list is per person, in localStorage (newest
//! first, at most [`MAX_KEPT`]), and eviction (`Engine::evict_outside`) spares what it names.

use uuid::Uuid;

/// Enough for a season of looking things up; the oldest go first.
const MAX_KEPT: usize = 200;

fn key() -> Option<String> {
    crate::ui::current_user().map(|me| format!("fieldclose-kept-{}", me.user_id))
}

fn storage() -> Option<web_sys::Storage> {
    web_sys::window()?.local_storage().ok()?
}

/// The consultations kept this way.
pub fn pinned() -> Vec<Uuid> {
    let (Some(storage), Some(key)) = (storage(), key()) else { return vec![] };
    storage.get_item(&key).ok().flatten().and_then(|raw| serde_json::from_str(&raw).ok()).unwrap_or_default()
}

/// Adds `found` (newest first) to the kept consultations.
pub fn pin(found: &[Uuid]) {
    let (Some(storage), Some(key)) = (storage(), key()) else { return };
    let mut kept: Vec<Uuid> = found.to_vec();
    kept.extend(pinned().into_iter().filter(|id| !found.contains(id)));
    kept.truncate(MAX_KEPT);
    if let Ok(raw) = serde_json::to_string(&kept) {
        let _ = storage.set_item(&key, &raw);
    }
}
