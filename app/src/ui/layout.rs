//! The frame every signed-in page shares: a header with the sync badge, the page, and a bottom
//! tab bar within thumb reach.

use super::{current_user, sync_badge::SyncBadge};
use crate::domain::Role;
use leptos::prelude::*;
use leptos_router::components::{Redirect, A};

/// A tab in the bottom bar.
struct Tab {
    href: &'static str,
    label: &'static str,
    icon: &'static str,
}

fn tabs_for(role: Role) -> &'static [Tab] {
    match role {
        Role::Technician => &[
            Tab { href: "/today", label: "Today", icon: "◷" },
            Tab { href: "/new", label: "New", icon: "+" },
            Tab { href: "/day", label: "My day", icon: "⏱" },
            Tab { href: "/sync", label: "Sync", icon: "⇅" },
        ],
        Role::SalesRep => &[
            Tab { href: "/queue", label: "Queue", icon: "☰" },
            Tab { href: "/day", label: "My day", icon: "⏱" },
            Tab { href: "/sync", label: "Sync", icon: "⇅" },
        ],
        Role::Manager => &[
            Tab { href: "/dashboard", label: "Dashboard", icon: "▤" },
            Tab { href: "/followups", label: "Follow-ups", icon: "☎" },
            Tab { href: "/team", label: "Team", icon: "☺" },
        ],
    }
}

/// The URLs a role's tabs live at: the service worker keeps a copy of each for offline starts.
pub fn offline_urls(role: Role) -> Vec<&'static str> {
    let mut urls: Vec<&'static str> = tabs_for(role).iter().map(|t| t.href).collect();
    // A consultation's steps and a quote open from one page each (`/visit?id=…&step=…`,
    // `/quote?id=…`), whatever the id.
    match role {
        Role::Technician => urls.push("/visit"),
        Role::SalesRep => urls.push("/quote"),
        Role::Manager => {}
    }
    urls
}

/// Wraps a page meant for some roles: signed-out visitors go to the login page, and a person of
/// another role is told where their own work is instead of seeing a blank screen.
#[component]
pub fn RolePage(roles: &'static [Role], children: Children) -> impl IntoView {
    let Some(me) = current_user() else {
        return view! { <Redirect path="/login" /> }.into_any();
    };
    let body = if roles.contains(&me.role) {
        children().into_any()
    } else {
        view! {
            <section class="card" role="alert">
                <h1>"Not your tab"</h1>
                <p>{format!("This page is not part of the {} tabs.", me.role.label().to_lowercase())}</p>
                <p><A href=me.role.home_path()>"Go to your work"</A></p>
            </section>
        }
        .into_any()
    };
    let tabs = tabs_for(me.role);
    let sync = super::sync_state::use_sync();
    let offline = offline_urls(me.role).join(" ");
    view! {
        <div class="app" data-role=me.role.as_str() data-offline-urls=offline>
            <header class="topbar">
                <div class="brand">
                    <span class="company">{me.company_name.clone()}</span>
                    <span class="who">{format!("{} · {}", me.name, me.role.label())}</span>
                </div>
                <SyncBadge />
                <form method="post" action="/api/auth/logout" data-logout="" on:submit=move |ev| confirm_sign_out(ev, sync)>
                    <button type="submit" class="link-button">"Sign out"</button>
                </form>
            </header>
            <main class="page">{body}</main>
            <nav class="tabbar" aria-label="Main">
                {tabs
                    .iter()
                    .map(|t| {
                        view! {
                            <A href=t.href attr:class="tab">
                                <span class="tab-icon" aria-hidden="true">{t.icon}</span>
                                <span class="tab-label">{t.label}</span>
                            </A>
                        }
                    })
                    .collect_view()}
            </nav>
        </div>
    }
    .into_any()
}

/// Signing out removes the person's records from this device (a shared tablet must not keep
/// the last technician's customers). Unsent changes are never dropped silently: the person is
/// offered to send them first, or to keep them here (then only they stay, until the same person
/// signs in again), or to stay signed in.
fn confirm_sign_out(ev: leptos::ev::SubmitEvent, sync: super::sync_state::SyncHandle) {
    ev.prevent_default();
    #[cfg(feature = "hydrate")]
    {
        use wasm_bindgen::JsCast;
        let Some(form) = ev.target().and_then(|t| t.dyn_into::<web_sys::HtmlFormElement>().ok()) else {
            return;
        };
        leptos::task::spawn_local(async move {
            let unsent = || sync.snapshot.with_untracked(|s| s.pending + s.uploads_pending);
            if unsent() > 0
                && web_sys_confirm(&format!(
                    "{} change(s) have not been sent yet. Send them now, then sign out?",
                    unsent()
                ))
            {
                super::sync_state::sync_now();
                // Bounded: with no signal the person decides below instead of waiting.
                for _ in 0..60 {
                    if unsent() == 0 {
                        break;
                    }
                    gloo_timers::future::TimeoutFuture::new(250).await;
                }
            }
            if unsent() > 0
                && !web_sys_confirm(&format!(
                    "{} change(s) could not be sent. Sign out and keep them on this device? They are sent \
                     when you sign in here again; everything else of yours is removed from this device.",
                    unsent()
                ))
            {
                return; // stays signed in
            }
            if let Err(e) = super::sync_state::forget_records().await {
                leptos::logging::warn!("{e}");
            }
            let _ = form.submit();
        });
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = sync;
}

#[cfg(feature = "hydrate")]
fn web_sys_confirm(message: &str) -> bool {
    web_sys::window().and_then(|w| w.confirm_with_message(message).ok()).unwrap_or(true)
}

#[component]
pub fn NotFound() -> impl IntoView {
    #[cfg(feature = "ssr")]
    if let Some(resp) = use_context::<leptos_axum::ResponseOptions>() {
        resp.set_status(http::StatusCode::NOT_FOUND);
    }
    let home = current_user().map(|me| me.role.home_path()).unwrap_or("/login");
    view! {
        <main class="page narrow">
            <section class="card">
                <h1>"Page not found"</h1>
                <p>"There is nothing at this address."</p>
                <p><a href=home>"Back to your work"</a></p>
            </section>
        </main>
    }
}
