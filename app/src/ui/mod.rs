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
pub mod pages;
mod quotes;
mod rep;
mod session;
mod sync_badge;
pub mod sync_state;
mod technician;
mod visit;

use leptos::prelude::*;
use leptos_meta::{provide_meta_context, Link, Meta, MetaTags, Stylesheet, Title};
use leptos_router::{
    components::{Redirect, Route, Router, Routes},
    lazy_route, path, Lazy, LazyRoute,
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
    // Once the first screen works, fetch the code of the person's other pages: opening one later
    // in a basement must not depend on the service worker having finished its precache.
    #[cfg(feature = "hydrate")]
    Effect::new(move |_| {
        if let Some(me) = current_user() {
            leptos::task::spawn_local(preload_pages(me.role));
        }
    });

    view! {
        <Stylesheet id="leptos" href="/pkg/fieldclose.css" />
        <Title text="Fieldclose" />
        <Meta name="description" content="Quote, follow up and close home-service jobs from the field, offline." />
        <Link rel="preload" href="/icons/icon-192.png" as_="image" />
        <Router>
            <Routes fallback=|| view! { <layout::NotFound /> }>
                <Route path=path!("/") view=Home />
                <Route path=path!("/login") view=login::LoginPage />
                <Route path=path!("/today") view=|| view! { <layout::RolePage roles=pages::page("/today").roles><technician::Today /></layout::RolePage> } />
                <Route path=path!("/new") view={Lazy::<NewPage>::new()} />
                <Route path=path!("/visit") view={Lazy::<VisitPage>::new()} />
                <Route path=path!("/sync") view={Lazy::<SyncPage>::new()} />
                <Route path=path!("/queue") view={Lazy::<QueuePage>::new()} />
                <Route path=path!("/quote") view={Lazy::<QuotePage>::new()} />
                <Route path=path!("/day") view={Lazy::<DayPage>::new()} />
                <Route path=path!("/followups") view={Lazy::<FollowupsPage>::new()} />
                <Route path=path!("/dashboard") view={Lazy::<DashboardPage>::new()} />
                <Route path=path!("/team") view={Lazy::<TeamPage>::new()} />
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

/// Pages whose code is their own chunk of the bundle (`cargo leptos build --split`), fetched when
/// the page is first opened; the service worker precaches every chunk on install, so pages open
/// offline too. Only a technician's first screen, `/today`, and sign-in are in the main chunk: a
/// phone on one bar of signal gets a working first screen before it has the rest.
///
/// Each page is declared once, with its path: the macro also writes `LAZY_PATHS` and
/// `preload_page`, so the preload cannot miss a page the routes have.
macro_rules! lazy_pages {
    ($($route:ident $path:literal => $page:path;)*) => {
        $(
            struct $route;

            #[lazy_route]
            impl LazyRoute for $route {
                fn data() -> Self {
                    $route
                }

                fn view(_this: Self) -> AnyView {
                    view! { <layout::RolePage roles=pages::page($path).roles>{$page()}</layout::RolePage> }.into_any()
                }
            }
        )*

        /// The paths of the lazy pages (every other page is in the main chunk).
        #[cfg_attr(not(test), allow(dead_code))]
        const LAZY_PATHS: &[&str] = &[$($path,)*];

        /// Fetches the chunk of the page at `path`, if it is a lazy page.
        #[cfg(feature = "hydrate")]
        async fn preload_page(path: &str) {
            match path {
                $($path => <$route as LazyRoute>::preload().await,)*
                _ => {} // in the main chunk
            }
        }
    };
}

lazy_pages! {
    NewPage "/new" => technician::NewConsultation;
    VisitPage "/visit" => visit::Visit;
    SyncPage "/sync" => technician::SyncPage;
    QueuePage "/queue" => rep::Queue;
    QuotePage "/quote" => rep::QuotePage;
    DayPage "/day" => my_day::MyDay;
    FollowupsPage "/followups" => manager::FollowupsBoard;
    DashboardPage "/dashboard" => manager::Dashboard;
    TeamPage "/team" => manager::Team;
}

/// The pages in the main chunk: nothing to preload.
#[cfg_attr(not(test), allow(dead_code))]
const EAGER_PATHS: &[&str] = &["/", "/login", "/today"];

/// Loads the chunks of the pages a role uses offline (the same list the service worker warms,
/// `pages::offline_urls`), one after another (the first screen's requests go first).
#[cfg(feature = "hydrate")]
async fn preload_pages(role: crate::domain::Role) {
    for path in pages::offline_urls(role) {
        preload_page(path).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Role;

    #[test]
    fn every_lazy_page_is_in_the_page_table() {
        for path in LAZY_PATHS.iter().chain(&["/today"]) {
            assert!(pages::PAGES.iter().any(|p| p.path == *path), "{path} has no entry in ui::pages::PAGES");
        }
    }

    #[test]
    fn every_offline_page_is_either_in_the_main_chunk_or_a_declared_lazy_page() {
        for role in Role::ALL {
            for path in pages::offline_urls(role) {
                assert!(
                    EAGER_PATHS.contains(&path) || LAZY_PATHS.contains(&path),
                    "{path} ({role:?}) is neither eager nor declared in lazy_pages!, so it is never preloaded"
                );
            }
        }
    }
}
