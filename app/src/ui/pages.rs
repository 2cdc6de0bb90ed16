//! Every signed-in page, once: its path, who may open it, whether it is a tab (and for whom),
//! whether a role keeps a copy of it for offline starts, and its code. The router's routes, the
//! tab bar, the offline URLs the service worker warms, the preload of each role's page code and
//! each page's role check all read this table, so a page cannot be routed without a role check,
//! be a tab without being kept offline, or be kept for a role that may not open it.

use super::{
    account, audit, checklist_editor, inbox, layout::RolePage, manager, my_day, price_book, rep, schedule,
    settings, start, technician, visit,
};
use crate::domain::Role;
use leptos::prelude::*;
use leptos_router::{
    any_nested_route::{AnyNestedRoute, IntoAnyNestedRoute},
    Lazy, LazyRoute, NestedRoute, StaticSegment,
};
use std::{future::Future, pin::Pin};

const TECHNICIAN: &[Role] = &[Role::Technician];
const SALES_REP: &[Role] = &[Role::SalesRep];
const MANAGER: &[Role] = &[Role::Manager];
const FIELD: &[Role] = &[Role::Technician, Role::SalesRep];
const OFFICE: &[Role] = &[Role::Office];
/// Who works leads and the schedule.
const DESK: &[Role] = &[Role::Office, Role::Manager];
/// Who syncs from the tab bar: everyone whose work is mostly on the device.
const SYNCING: &[Role] = &[Role::Technician, Role::SalesRep, Role::Office];

/// A tab in the bottom bar.
pub struct Tab {
    pub label: &'static str,
    pub icon: &'static str,
    /// Whose bar shows it.
    pub roles: &'static [Role],
}

pub struct Page {
    pub path: &'static str,
    /// Who may open it; anyone else is told where their own work is.
    pub roles: &'static [Role],
    pub tab: Option<Tab>,
    /// Who keeps a copy for offline starts besides those who have it as a tab: a consultation's
    /// steps and a quote open from one page each (`/visit?id=…`, `/quote?id=…`), whatever the id.
    pub offline: &'static [Role],
    pub code: Code,
}

/// Where a page's code is in the bundle.
pub enum Code {
    /// In the main chunk: only a technician's first screen, so a phone on one bar of signal gets
    /// a working first screen before it has the rest.
    Main(fn() -> AnyView),
    /// Its group's wasm chunks (`cargo leptos build --split`, `lazy_page_groups!`), fetched when
    /// a page of the group is first opened or preloaded; the service worker precaches every chunk
    /// on install, so it opens offline.
    Lazy { route: RouteAt, preload: fn() -> Pin<Box<dyn Future<Output = ()>>> },
}

impl Code {
    const fn lazy<T: LazyRoute + Sync>() -> Code {
        Code::Lazy { route: lazy_route_at::<T>, preload: preload_chunk::<T> }
    }
}

/// A lazy page's route at a path.
pub(crate) type RouteAt = fn(&'static str) -> AnyNestedRoute;

pub(crate) fn lazy_route_at<T: LazyRoute + Sync>(path: &'static str) -> AnyNestedRoute {
    NestedRoute::new(segment(path), Lazy::<T>::new()).into_any_nested_route()
}

/// A page's path as the router matches it.
fn segment(path: &'static str) -> StaticSegment<&'static str> {
    StaticSegment(path.trim_start_matches('/'))
}

fn preload_chunk<T: LazyRoute>() -> Pin<Box<dyn Future<Output = ()>>> {
    Box::pin(T::preload())
}

/// Lazy pages in groups that share one wasm chunk entry (`#[lazy]`): a page's route loads its
/// group's code, and shows the page through the group's `wrap` (the signed-in pages' role check,
/// `role_page`; the signed-out pages' `std::convert::identity`).
///
/// Why groups and not one chunk per page: wasm-split puts the code that several entries share
/// into one chunk per set of entries that use it, so with a chunk entry per page the Visit page
/// needed about 200 chunks, each a request and an instantiation on the main thread (a first
/// visit's preload and the simulated LCP of `/quote` were mostly that). Pages that the same
/// people open together share an entry; the manager's dashboard stays on its own, as it is small
/// and the manager's first screen.
macro_rules! lazy_page_groups {
    ($($group:ident, $entry:ident, $preload:ident, $wrap:path { $($route:ident => $page:path;)* })*) => {$(
        #[derive(Clone, Copy)]
        #[allow(clippy::enum_variant_names)]
        enum $group {
            $($route,)*
        }

        #[::leptos::lazy]
        fn $entry(page: $group) -> ::leptos::prelude::AnyView {
            use ::leptos::prelude::IntoAny;
            match page {
                $($group::$route => $wrap($page().into_any()),)*
            }
        }

        $(
            struct $route;

            impl ::leptos_router::LazyRoute for $route {
                fn data() -> Self {
                    $route
                }

                async fn view(_this: Self) -> ::leptos::prelude::AnyView {
                    $entry($group::$route).await
                }

                async fn preload() {
                    #[cfg(feature = "hydrate")]
                    $preload().await;
                }
            }
        )*
    )*};
}
pub(crate) use lazy_page_groups;

/// A signed-in page in the role check of the page it is routed at (`RolePage` finds it in the
/// table by the current path).
fn role_page(page: AnyView) -> AnyView {
    view! { <RolePage>{page}</RolePage> }.into_any()
}

lazy_page_groups! {
    // A technician's consultation: started and carried through on site.
    FieldPages, field_pages, __preload_field_pages, role_page {
        NewPage => technician::NewConsultation;
        VisitPage => visit::Visit;
    }
    // A rep's open quotes.
    SalesPages, sales_pages, __preload_sales_pages, role_page {
        QueuePage => rep::Queue;
        QuotePage => rep::QuotePage;
    }
    // Everyone's own: the day's time, the device's sync, the account.
    OwnPages, own_pages, __preload_own_pages, role_page {
        DayPage => my_day::MyDay;
        SyncPage => technician::SyncPage;
        AccountPage => account::Account;
    }
    // The desk's leads and visits.
    DeskPages, desk_pages, __preload_desk_pages, role_page {
        InboxPage => inbox::Inbox;
        SchedulePage => schedule::Schedule;
    }
    DashboardPages, dashboard_pages, __preload_dashboard_pages, role_page {
        DashboardPage => manager::Dashboard;
    }
    // Running the company: team, prices, checklist, settings, follow-ups, the audit trail.
    ManagePages, manage_pages, __preload_manage_pages, role_page {
        FollowupsPage => manager::FollowupsBoard;
        TeamPage => manager::Team;
        StartPage => start::GetStarted;
        PriceBookPage => price_book::PriceBook;
        ChecklistPage => checklist_editor::ChecklistEditor;
        AuditPage => audit::AuditTrail;
        SettingsPage => settings::SettingsPage;
    }
}

/// The pages anyone may open signed out (every other page sends them to `/login`).
pub const PUBLIC_PATHS: &[&str] = &["/login", "/signup", "/join", "/reset"];

/// In tab-bar order for every role.
pub const PAGES: &[Page] = &[
    Page {
        path: "/today",
        roles: TECHNICIAN,
        tab: Some(Tab { label: "Today", icon: "◷", roles: TECHNICIAN }),
        offline: &[],
        code: Code::Main(|| view! { <RolePage><technician::Today /></RolePage> }.into_any()),
    },
    Page {
        path: "/new",
        roles: TECHNICIAN,
        tab: Some(Tab { label: "New", icon: "+", roles: TECHNICIAN }),
        offline: &[],
        code: Code::lazy::<NewPage>(),
    },
    Page {
        path: "/queue",
        roles: SALES_REP,
        tab: Some(Tab { label: "Queue", icon: "☰", roles: SALES_REP }),
        offline: &[],
        code: Code::lazy::<QueuePage>(),
    },
    Page {
        path: "/dashboard",
        roles: MANAGER,
        tab: Some(Tab { label: "Dashboard", icon: "▤", roles: MANAGER }),
        offline: &[],
        code: Code::lazy::<DashboardPage>(),
    },
    Page {
        path: "/inbox",
        roles: &[Role::Office, Role::Manager, Role::SalesRep],
        tab: Some(Tab { label: "Leads", icon: "✉", roles: DESK }),
        offline: SALES_REP,
        code: Code::lazy::<InboxPage>(),
    },
    Page {
        path: "/schedule",
        roles: DESK,
        tab: Some(Tab { label: "Schedule", icon: "▦", roles: OFFICE }),
        offline: &[],
        code: Code::lazy::<SchedulePage>(),
    },
    Page {
        path: "/followups",
        roles: MANAGER,
        tab: Some(Tab { label: "Follow-ups", icon: "☎", roles: MANAGER }),
        offline: &[],
        code: Code::lazy::<FollowupsPage>(),
    },
    Page {
        path: "/team",
        roles: MANAGER,
        tab: Some(Tab { label: "Team", icon: "☺", roles: MANAGER }),
        offline: &[],
        code: Code::lazy::<TeamPage>(),
    },
    Page {
        path: "/price-book",
        roles: MANAGER,
        tab: Some(Tab { label: "Prices", icon: "$", roles: MANAGER }),
        offline: &[],
        code: Code::lazy::<PriceBookPage>(),
    },
    Page {
        path: "/day",
        roles: FIELD,
        tab: Some(Tab { label: "My day", icon: "⏱", roles: FIELD }),
        offline: &[],
        code: Code::lazy::<DayPage>(),
    },
    Page {
        path: "/sync",
        roles: &Role::ALL,
        tab: Some(Tab { label: "Sync", icon: "⇅", roles: SYNCING }),
        offline: &[],
        code: Code::lazy::<SyncPage>(),
    },
    Page { path: "/start", roles: MANAGER, tab: None, offline: &[], code: Code::lazy::<StartPage>() },
    Page { path: "/settings", roles: MANAGER, tab: None, offline: &[], code: Code::lazy::<SettingsPage>() },
    Page { path: "/checklist", roles: MANAGER, tab: None, offline: &[], code: Code::lazy::<ChecklistPage>() },
    Page { path: "/audit", roles: MANAGER, tab: None, offline: &[], code: Code::lazy::<AuditPage>() },
    Page { path: "/account", roles: &Role::ALL, tab: None, offline: &[], code: Code::lazy::<AccountPage>() },
    Page {
        path: "/visit",
        roles: TECHNICIAN,
        tab: None,
        offline: TECHNICIAN,
        code: Code::lazy::<VisitPage>(),
    },
    Page {
        path: "/quote",
        roles: &[Role::SalesRep, Role::Manager],
        tab: None,
        offline: SALES_REP,
        code: Code::lazy::<QuotePage>(),
    },
];

/// The page at `path`, if it is a signed-in page.
pub fn page(path: &str) -> Option<&'static Page> {
    PAGES.iter().find(|p| p.path == path)
}

/// A route for every page of the table.
pub fn routes() -> impl Iterator<Item = AnyNestedRoute> {
    PAGES.iter().map(|p| match p.code {
        Code::Main(view) => NestedRoute::new(segment(p.path), view).into_any_nested_route(),
        Code::Lazy { route, .. } => route(p.path),
    })
}

/// Loads the chunks of the pages a role uses offline, one after another (the first screen's
/// requests go first): opening one later in a basement must not depend on the service worker
/// having finished its precache.
pub async fn preload(role: Role) {
    for path in offline_urls(role) {
        if let Some(Page { code: Code::Lazy { preload, .. }, .. }) = page(path) {
            preload().await;
        }
    }
}

/// The role's tabs, in order: (path, tab).
pub fn tabs(role: Role) -> impl Iterator<Item = (&'static str, &'static Tab)> {
    PAGES.iter().filter_map(move |p| p.tab.as_ref().filter(|t| t.roles.contains(&role)).map(|t| (p.path, t)))
}

/// The URLs a role keeps for offline starts: its tabs, then its other offline pages.
pub fn offline_urls(role: Role) -> Vec<&'static str> {
    let mut urls: Vec<&'static str> = tabs(role).map(|(path, _)| path).collect();
    urls.extend(PAGES.iter().filter(|p| p.offline.contains(&role)).map(|p| p.path));
    urls
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_role_lands_on_its_first_tab_and_may_open_every_page_it_keeps() {
        for role in Role::ALL {
            assert_eq!(tabs(role).next().map(|(path, _)| path), Some(role.home_path()), "{role:?}'s home");
            for path in offline_urls(role) {
                assert!(
                    page(path).unwrap().roles.contains(&role),
                    "{role:?} keeps {path} but may not open it"
                );
            }
        }
    }

    #[test]
    fn the_tabs_are_the_ones_people_know() {
        let paths = |role| tabs(role).map(|(p, _)| p).collect::<Vec<_>>();
        assert_eq!(paths(Role::Technician), ["/today", "/new", "/day", "/sync"]);
        assert_eq!(paths(Role::SalesRep), ["/queue", "/day", "/sync"]);
        assert_eq!(paths(Role::Manager), ["/dashboard", "/inbox", "/followups", "/team", "/price-book"]);
        assert_eq!(paths(Role::Office), ["/inbox", "/schedule", "/sync"]);
        assert_eq!(offline_urls(Role::Technician), ["/today", "/new", "/day", "/sync", "/visit"]);
        assert_eq!(offline_urls(Role::SalesRep), ["/queue", "/day", "/sync", "/inbox", "/quote"]);
    }
}
