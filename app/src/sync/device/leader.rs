//! Which tab syncs: one per person, the one holding the Web Lock `fieldclose-sync-{user}`.
//!
//! The lock is held until the tab closes (the callback's promise never settles); the next tab in
//! line then gets it. Two tabs never push the same outbox at once. A browser without Web Locks
//! syncs from every tab, which the server's exactly-once rule keeps correct.

use std::{cell::RefCell, rc::Rc};
use uuid::Uuid;
use wasm_bindgen::{closure::Closure, JsCast, JsValue};

/// Calls `lead` once this tab holds the lock (at once when locks are not available).
pub(super) fn elect(user_id: Uuid, lead: impl FnOnce() + 'static) {
    let Some(window) = web_sys::window() else { return };
    let locks =
        js_sys::Reflect::get(&window.navigator(), &JsValue::from_str("locks")).unwrap_or(JsValue::UNDEFINED);
    let request = js_sys::Reflect::get(&locks, &JsValue::from_str("request"))
        .ok()
        .and_then(|f| f.dyn_into::<js_sys::Function>().ok());
    let Some(request) = request.filter(|_| !locks.is_undefined()) else {
        lead();
        return;
    };
    let lead = Rc::new(RefCell::new(Some(lead)));
    let on_grant = lead.clone();
    let granted = Closure::once_into_js(move |_lock: JsValue| -> JsValue {
        if let Some(lead) = on_grant.borrow_mut().take() {
            lead();
        }
        js_sys::Promise::new(&mut |_, _| {}).into()
    });
    if request.call2(&locks, &JsValue::from_str(&format!("fieldclose-sync-{user_id}")), &granted).is_err() {
        // The lock cannot be asked for (a sandboxed frame): sync from this tab anyway.
        if let Some(lead) = lead.borrow_mut().take() {
            lead();
        }
    }
}
