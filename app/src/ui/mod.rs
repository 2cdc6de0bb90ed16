//! The Leptos UI: the HTML shell, the router and one module per screen.

mod client;
mod conflicts;
mod consultations;
pub mod drafts;
mod layout;
mod login;
mod manager;
mod media;
mod my_day;
mod quotes;
mod rep;
mod session;
mod sync_badge;
pub mod sync_state;
mod technician;
mod visit;

use crate::domain::Role;
use leptos::prelude::*;
use leptos_meta::{provide_meta_context, Link, Meta, MetaTags, Stylesheet, Title};
use leptos_router::{
    components::{Redirect, Route, Router, Routes},
    path,
};

pub use session::current_user;

/// The whole HTML document, rendered on the server for every page.
///
/// The signed-in person travels to the browser in a `<meta name="fc-user">` tag so that the
/// hydrated app (and a copy served from the service worker's cache while offline) knows who it
/// is without a network round trip.
pub fn shell(options: LeptosOptions) -> impl IntoView {
    let me_json =
        session::me_from_request().and_then(|me| serde_json::to_string(&me).ok()).unwrap_or_default();
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <meta charset="utf-8" />
                <meta name="viewport" content="width=device-width, initial-scale=1, viewport-fit=cover" />
                <meta name="theme-color" content="#0b5d3b" />
                <meta name="fc-user" content=me_json />
                <link rel="manifest" href="/manifest.webmanifest" />
                <link rel="icon" href="/icons/icon-192.png" type="image/png" />
                <link rel="apple-touch-icon" href="/icons/icon-192.png" />
                <script src="/pwa.js" defer></script>
                <AutoReload options=options.clone() />
                <HydrationScripts options />
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
    sync_state::provide_sync();

    view! {
        <Stylesheet id="leptos" href="/pkg/fieldclose.css" />
        <Title text="Fieldclose" />
        <Meta name="description" content="Quote, follow up and close home-service jobs from the field, offline." />
        <Link rel="preload" href="/icons/icon-192.png" as_="image" />
        <Router>
            <Routes fallback=|| view! { <layout::NotFound /> }>
                <Route path=path!("/") view=Home />
                <Route path=path!("/login") view=login::LoginPage />
                <Route path=path!("/today") view=|| view! { <layout::RolePage roles=&[Role::Technician]><technician::Today /></layout::RolePage> } />
                <Route path=path!("/new") view=|| view! { <layout::RolePage roles=&[Role::Technician]><technician::NewConsultation /></layout::RolePage> } />
                <Route path=path!("/visit") view=|| view! { <layout::RolePage roles=&[Role::Technician]><visit::Visit /></layout::RolePage> } />
                <Route path=path!("/sync") view=|| view! { <layout::RolePage roles=&Role::ALL><technician::SyncPage /></layout::RolePage> } />
                <Route path=path!("/queue") view=|| view! { <layout::RolePage roles=&[Role::SalesRep]><rep::Queue /></layout::RolePage> } />
                <Route path=path!("/quote") view=|| view! { <layout::RolePage roles=&[Role::SalesRep, Role::Manager]><rep::QuotePage /></layout::RolePage> } />
                <Route path=path!("/day") view=|| view! { <layout::RolePage roles=&[Role::Technician, Role::SalesRep]><my_day::MyDay /></layout::RolePage> } />
                <Route path=path!("/followups") view=|| view! { <layout::RolePage roles=&[Role::Manager]><manager::FollowupsBoard /></layout::RolePage> } />
                <Route path=path!("/dashboard") view=|| view! { <layout::RolePage roles=&[Role::Manager]><manager::Dashboard /></layout::RolePage> } />
                <Route path=path!("/team") view=|| view! { <layout::RolePage roles=&[Role::Manager]><manager::Team /></layout::RolePage> } />
            </Routes>
        </Router>
    }
}

/// `/` sends each person to their role's first tab (the server also redirects before render).
#[component]
fn Home() -> impl IntoView {
    let target = current_user().map(|me| me.role.home_path()).unwrap_or("/login");
    view! { <Redirect path=target /> }
}
