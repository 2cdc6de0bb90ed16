//! The Leptos UI: the HTML shell, the router and one module per screen.

mod account;
mod audit;
mod checklist_editor;
pub mod clock;
mod company;
mod conflicts;
mod consultations;
mod customer_match;
pub mod drafts;
mod financing;
mod find;
mod hydration;
mod inbox;
mod invites;
mod join;
mod layout;
mod login;
mod manager;
mod marketing_spend;
mod media;
mod my_day;
mod notifications;
mod option_templates;
pub mod pages;
mod price_book;
mod quotes;
mod rep;
mod reset;
mod schedule;
mod session;
mod settings;
mod signup;
mod start;
mod sync_badge;
mod technician;
pub mod visit;
mod website_leads;

use leptos::prelude::*;
use leptos::tachys::view::iterators::StaticVec;
use leptos_meta::{provide_meta_context, Link, Meta, MetaTags, Stylesheet, Title};
use leptos_router::{
    any_nested_route::{AnyNestedRoute, IntoAnyNestedRoute},
    components::{Redirect, Router, Routes, RoutesProps},
    path, NestedRoute,
};

pub use session::current_user;

/// How many of the newest consultations a list shows before a search (Today, the dashboard);
/// the server sends as many with a device's first page (`server::first_screen`).
pub const RECENT_CONSULTATIONS: usize = 20;

/// The whole HTML document, rendered on the server for every page.
///
/// The signed-in person travels to the browser in a `<meta name="fc-user">` tag so that the
/// hydrated app (and a copy served from the service worker's cache while offline) knows who it
/// is without a network round trip.
/// Percent-encodes a text for a URL's query (an `sms:` body, a map search): every byte but the
/// unreserved ones.
/// Puts `text` on the clipboard (where the browser allows it; the text stays on screen to copy
/// by hand otherwise).
pub fn copy_to_clipboard(text: &str) {
    #[cfg(feature = "hydrate")]
    {
        use wasm_bindgen::{JsCast, JsValue};
        let Some(window) = web_sys::window() else { return };
        let clipboard = js_sys::Reflect::get(&window.navigator(), &JsValue::from_str("clipboard"))
            .unwrap_or(JsValue::UNDEFINED);
        let write = js_sys::Reflect::get(&clipboard, &JsValue::from_str("writeText")).ok();
        if let Some(write) = write.and_then(|f| f.dyn_into::<js_sys::Function>().ok()) {
            let _ = write.call1(&clipboard, &JsValue::from_str(text));
        }
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = text;
}

pub fn percent_encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

pub fn shell(options: LeptosOptions) -> impl IntoView {
    let me_json =
        session::me_from_request().and_then(|me| serde_json::to_string(&me).ok()).unwrap_or_default();
    // The company zone's offsets, so the browser need not ask Intl (`clock::ZoneTable`).
    let zone = session::me_from_request().and_then(|me| clock::page_meta(&me.time_zone));
    // The first screen's rows (a device's first visit): the browser hydrates over them.
    let first_screen = crate::sync::device::FirstScreen::of_page().map(|f| f.to_page_json());
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <meta charset="utf-8" />
                <meta name="viewport" content="width=device-width, initial-scale=1, viewport-fit=cover" />
                <meta name="theme-color" content="#0b5d3b" />
                <meta name="fc-user" content=me_json />
                {zone.map(|z| view! { <meta name=clock::ZONE_META content=z /> })}
                <link rel="manifest" href="/manifest.webmanifest" />
                <link rel="icon" href="/icons/icon-192.png" type="image/png" />
                <link rel="apple-touch-icon" href="/icons/icon-192.png" />
                <script src="/pwa.js" defer></script>
                {first_screen.map(|json| view! {
                    <script type="application/json" id=crate::sync::device::FIRST_SCREEN_ELEMENT inner_html=json></script>
                })}
                <AutoReload options=options.clone() />
                // At the browser's first idle moment, with no preloads: the server-rendered
                // screen (its rows included, ADR 0058) paints before the code competes for one
                // bar of signal (ADR 0068). Links and the sign-in form work before hydration;
                // taps on buttons wait for it, as they did.
                <hydration::HydrationScript options />
                <MetaTags />
            </head>
            <body>
                <App />
            </body>
        </html>
    }
}

#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    session::provide_current_user();
    crate::sync::device::provide_sync();
    // Once the first screen works, fetch the code that saves a write, then the code of the
    // person's other pages: a save or a page opened later in a basement must not depend on
    // the service worker having finished its precache (a phone can lose signal seconds after
    // its first visit; waiting for the first sync left it without them).
    #[cfg(feature = "hydrate")]
    Effect::new(move |_| {
        if let Some(me) = current_user() {
            leptos::task::spawn_local(async move {
                crate::sync::device::preload_saving().await;
                pages::preload(me.role).await;
            });
        }
    });

    view! {
        <Stylesheet id="leptos" href="/pkg/fieldclose.css" />
        <Title text="Fieldclose" />
        <Meta name="description" content="Quote, follow up and close home-service jobs from the field, offline." />
        <Link rel="preload" href="/icons/icon-192.png" as_="image" />
        <Router>
            {Routes(
                RoutesProps::builder()
                    .fallback(|| view! { <layout::NotFound /> })
                    .children(ToChildren::to_children(routes))
                    .build(),
            )}
        </Router>
    }
}

/// The signed-out pages, then every page of the table.
fn routes() -> StaticVec<AnyNestedRoute> {
    let mut routes = vec![
        NestedRoute::new(path!("/"), Home).into_any_nested_route(),
        NestedRoute::new(path!("/login"), login::LoginPage).into_any_nested_route(),
    ];
    routes.extend(PUBLIC_LAZY_PAGES.iter().map(|(path, route)| route(path)));
    routes.extend(pages::routes());
    routes.into()
}

// The signed-out pages a link opens (sign-up, an invite, a password reset): one chunk entry for
// the three (see `pages::lazy_page_groups!` for why entries are grouped), so they cost a
// technician's first load nothing. (`pages::PUBLIC_PATHS` lets them through the sign-in check;
// a test holds the two lists together.)
pages::lazy_page_groups! {
    PublicPages, public_pages, __preload_public_pages, std::convert::identity {
        SignUpRoute => signup::SignUpPage;
        JoinRoute => join::JoinPage;
        ResetRoute => reset::ResetPage;
    }
}

/// The signed-out lazy pages' paths and routes.
const PUBLIC_LAZY_PAGES: &[(&str, pages::RouteAt)] = &[
    ("/signup", pages::lazy_route_at::<SignUpRoute>),
    ("/join", pages::lazy_route_at::<JoinRoute>),
    ("/reset", pages::lazy_route_at::<ResetRoute>),
];

/// `/` sends each person to their role's first tab (the server also redirects before render).
#[component]
fn Home() -> impl IntoView {
    let target = current_user().map(|me| me.role.home_path()).unwrap_or("/login");
    view! { <Redirect path=target /> }
}

/// Sets `signal` if its page is still there. After an `.await` the component that owns it may be
/// gone (a list rebuilt by the very write awaited, a tap on another tab), and setting a disposed
/// signal panics; the work itself is done, so there is just nobody left to tell.
pub(crate) fn set_if_alive<S: Set>(signal: S, value: S::Value) {
    let _ = signal.try_set(value);
}

#[cfg(test)]
mod tests {
    use super::pages::{Code, PAGES};

    #[test]
    fn only_a_technicians_first_screen_is_in_the_main_chunk() {
        let main: Vec<_> = PAGES.iter().filter(|p| matches!(p.code, Code::Main(_))).map(|p| p.path).collect();
        assert_eq!(
            main,
            ["/today"],
            "every other page is fetched when first opened, to keep the first load small"
        );
    }

    #[test]
    fn every_public_page_is_routed_and_let_through_signed_out() {
        let mut routed = vec!["/login"];
        routed.extend(super::PUBLIC_LAZY_PAGES.iter().map(|(path, _)| *path));
        assert_eq!(routed, super::pages::PUBLIC_PATHS);
    }
}
