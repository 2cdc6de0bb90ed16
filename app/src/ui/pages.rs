//! Every signed-in page, once: its path, who may open it, whether it is a tab (and for whom),
//! and whether a role keeps a copy of it for offline starts. The tab bar, the offline URLs the
//! service worker warms, the preload of each role's page code and each page's role check all
//! read this table, so a page cannot be a tab without being kept offline, or kept for a role that
//! may not open it.

use crate::domain::Role;

const TECHNICIAN: &[Role] = &[Role::Technician];
const SALES_REP: &[Role] = &[Role::SalesRep];
const MANAGER: &[Role] = &[Role::Manager];
const FIELD: &[Role] = &[Role::Technician, Role::SalesRep];

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
}

/// In tab-bar order for every role.
pub const PAGES: &[Page] = &[
    Page {
        path: "/today",
        roles: TECHNICIAN,
        tab: Some(Tab { label: "Today", icon: "◷", roles: TECHNICIAN }),
        offline: &[],
    },
    Page {
        path: "/new",
        roles: TECHNICIAN,
        tab: Some(Tab { label: "New", icon: "+", roles: TECHNICIAN }),
        offline: &[],
    },
    Page {
        path: "/queue",
        roles: SALES_REP,
        tab: Some(Tab { label: "Queue", icon: "☰", roles: SALES_REP }),
        offline: &[],
    },
    Page {
        path: "/dashboard",
        roles: MANAGER,
        tab: Some(Tab { label: "Dashboard", icon: "▤", roles: MANAGER }),
        offline: &[],
    },
    Page {
        path: "/followups",
        roles: MANAGER,
        tab: Some(Tab { label: "Follow-ups", icon: "☎", roles: MANAGER }),
        offline: &[],
    },
    Page {
        path: "/team",
        roles: MANAGER,
        tab: Some(Tab { label: "Team", icon: "☺", roles: MANAGER }),
        offline: &[],
    },
    Page {
        path: "/day",
        roles: FIELD,
        tab: Some(Tab { label: "My day", icon: "⏱", roles: FIELD }),
        offline: &[],
    },
    Page {
        path: "/sync",
        roles: &Role::ALL,
        tab: Some(Tab { label: "Sync", icon: "⇅", roles: FIELD }),
        offline: &[],
    },
    Page { path: "/visit", roles: TECHNICIAN, tab: None, offline: TECHNICIAN },
    Page { path: "/quote", roles: &[Role::SalesRep, Role::Manager], tab: None, offline: SALES_REP },
];

/// The page at `path`. Every path the app routes to a signed-in page is in the table (a test
/// holds the lazy pages to it), so a miss is a programming error.
pub fn page(path: &str) -> &'static Page {
    PAGES.iter().find(|p| p.path == path).unwrap_or_else(|| panic!("{path} is not in ui::pages::PAGES"))
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
                assert!(page(path).roles.contains(&role), "{role:?} keeps {path} but may not open it");
            }
        }
    }

    #[test]
    fn the_tabs_are_the_ones_people_know() {
        let paths = |role| tabs(role).map(|(p, _)| p).collect::<Vec<_>>();
        assert_eq!(paths(Role::Technician), ["/today", "/new", "/day", "/sync"]);
        assert_eq!(paths(Role::SalesRep), ["/queue", "/day", "/sync"]);
        assert_eq!(paths(Role::Manager), ["/dashboard", "/followups", "/team"]);
        assert_eq!(offline_urls(Role::Technician), ["/today", "/new", "/day", "/sync", "/visit"]);
        assert_eq!(offline_urls(Role::SalesRep), ["/queue", "/day", "/sync", "/quote"]);
    }
}
