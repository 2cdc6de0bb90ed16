//! The browser entry point: hydrates the server-rendered page with the [`app::App`] component.
// Leptos views are deeply nested types; the release build's layout queries need more depth.
#![recursion_limit = "256"]

use wasm_bindgen::prelude::wasm_bindgen;

#[wasm_bindgen]
pub fn hydrate() {
    console_error_panic_hook::set_once();
    // Asynchronously: most pages are lazy routes (their own wasm chunk, see `app::ui`), and a
    // page must have its chunk before it can hydrate.
    wasm_bindgen_futures::spawn_local(async {
        let body = leptos::prelude::document().body().expect("the page has a body");
        leptos::mount::hydrate_from_async(body.clone(), app::App).await.forget();
        app::sync::device::start_after_hydration();
        // Tests (and pwa.js) wait for this before they click: a click before hydration is lost.
        let _ = body.set_attribute("data-hydrated", "true");
    });
}
