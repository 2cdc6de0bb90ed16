//! The browser entry point: hydrates the server-rendered page with the [`app::App`] component.
// Leptos views are deeply nested types; the release build's layout queries need more depth.
#![recursion_limit = "256"]

use wasm_bindgen::prelude::wasm_bindgen;

#[wasm_bindgen]
pub fn hydrate() {
    console_error_panic_hook::set_once();
    leptos::mount::hydrate_body(app::App);
    // Tests (and pwa.js) wait for this before they click: a click before hydration is lost.
    if let Some(body) = leptos::prelude::document().body() {
        let _ = body.set_attribute("data-hydrated", "true");
    }
}
