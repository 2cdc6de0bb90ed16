//! The first screen's records, sent with the page to a device that has not synced yet
//! (`server::first_screen`, ADR 0058). The server renders the screen from them and writes them
//! into the page as JSON; the browser reads the same JSON before it hydrates, so both render
//! the same rows. They are shown under the device's own records until its first sync is
//! complete, and never stored.

use crate::sync::protocol::{Entity, PatchOp, StoredRow};
use serde_json::Value;
use std::{collections::BTreeMap, sync::Arc};
use uuid::Uuid;

/// The page element that carries the rows.
pub const ELEMENT_ID: &str = "fc-first-screen";

/// The cookie a device sets once its first sync is complete (its person's id): the server then
/// sends no rows with the page.
pub const SYNCED_COOKIE: &str = "fc_synced";

/// Records by entity and id, as the screens read them (`SyncSnapshot::view`).
pub type Records = BTreeMap<(Entity, Uuid), Value>;

/// The rows, in the form a device stores them (whose reading the first load already has).
#[derive(Clone, Debug)]
pub struct FirstScreen(Arc<Vec<StoredRow>>);

impl FirstScreen {
    /// From rows read like a pull's (`put`s; anything else is not a row to show).
    pub fn new(rows: Vec<PatchOp>) -> Self {
        FirstScreen(Arc::new(
            rows.into_iter()
                .filter_map(|op| match op {
                    PatchOp::Put { entity, id, version, data } => {
                        Some(StoredRow { entity, id, version, data })
                    }
                    PatchOp::Del { .. } => None,
                })
                .collect(),
        ))
    }

    /// The rows as the screens read them.
    pub fn records(&self) -> Records {
        self.0.iter().map(|r| ((r.entity, r.id), r.data.clone())).collect()
    }

    /// The rows as the page carries them: JSON in which `<` is escaped, so no text in a row can
    /// end the script element.
    pub fn to_page_json(&self) -> String {
        serde_json::to_string(&*self.0).unwrap_or_else(|_| "[]".into()).replace('<', "\\u003c")
    }

    pub fn from_page_json(json: &str) -> Option<Self> {
        serde_json::from_str(json).ok().map(|rows| FirstScreen(Arc::new(rows)))
    }

    /// This page's rows: on the server, those the request carries; in the browser, those the
    /// page does.
    pub fn of_page() -> Option<Self> {
        #[cfg(feature = "ssr")]
        {
            leptos::prelude::use_context::<http::request::Parts>()
                .and_then(|parts| parts.extensions.get::<FirstScreen>().cloned())
        }
        #[cfg(all(feature = "hydrate", not(feature = "ssr")))]
        {
            let text = web_sys::window()?.document()?.get_element_by_id(ELEMENT_ID)?.text_content()?;
            Self::from_page_json(&text)
        }
        #[cfg(not(any(feature = "ssr", feature = "hydrate")))]
        {
            None
        }
    }
}

#[cfg(feature = "hydrate")]
thread_local! {
    /// The page's first screen, shown under the device's records until its first sync is done.
    static SHOWN: std::cell::RefCell<Option<Arc<Records>>> = const { std::cell::RefCell::new(None) };
    /// Whether this page has told the server that the device has synced.
    static TOLD: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Keeps the page's first screen for the runtime (`shown`).
#[cfg(feature = "hydrate")]
pub(super) fn keep(records: Arc<Records>) {
    SHOWN.with(|s| *s.borrow_mut() = Some(records));
}

/// The first screen to lay under the device's records: until the device's first sync is
/// complete (`synced`), after which it is dropped for good and the server told (once a page).
#[cfg(feature = "hydrate")]
pub(super) fn shown(synced: bool, user: Uuid) -> Option<Arc<Records>> {
    if !synced {
        return SHOWN.with(|s| s.borrow().clone());
    }
    SHOWN.with(|s| s.borrow_mut().take());
    if !TOLD.with(|t| t.replace(true)) {
        mark_synced(Some(user));
    }
    None
}

/// Tells the server this device has synced for `user`, so later pages come without rows; and
/// forgets it on sign-out (`None`).
#[cfg(feature = "hydrate")]
pub(super) fn mark_synced(user: Option<Uuid>) {
    let value = match user {
        Some(id) => format!("{SYNCED_COOKIE}={id}; path=/; max-age=31536000; samesite=lax"),
        None => format!("{SYNCED_COOKIE}=; path=/; max-age=0; samesite=lax"),
    };
    if let Some(document) = web_sys::window().and_then(|w| w.document()) {
        let _ = js_sys::Reflect::set(&document, &"cookie".into(), &value.into());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_page_json_cannot_close_its_script_and_reads_back() {
        let id = Uuid::now_v7();
        let first = FirstScreen::new(vec![PatchOp::Put {
            entity: Entity::Customer,
            id,
            version: 3,
            data: json!({"id": id, "name": "</script><script>alert(1)</script>"}),
        }]);
        let page = first.to_page_json();
        assert!(!page.contains('<'), "{page}");
        let back = FirstScreen::from_page_json(&page).unwrap();
        assert_eq!(back.records(), first.records());
        assert_eq!(back.records()[&(Entity::Customer, id)]["name"], "</script><script>alert(1)</script>");
    }
}
