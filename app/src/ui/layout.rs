//! The frame every signed-in page shares: a header with the sync badge, the page, and a bottom
//! tab bar within thumb reach.

use super::{current_user, sync_badge::SyncBadge};
use leptos::prelude::*;
use leptos_router::components::{Redirect, A};

/// Wraps a signed-in page (the one of `ui::pages` at the current path): signed-out visitors go
/// to the login page, and a person whose role may not open it is told where their own work is
/// instead of seeing a blank screen.
#[component]
pub fn RolePage(children: Children) -> impl IntoView {
    let Some(me) = current_user() else {
        return view! { <Redirect path="/login" /> }.into_any();
    };
    let path = leptos_router::hooks::use_location().pathname.get_untracked();
    let allowed = super::pages::page(&path).is_some_and(|page| page.roles.contains(&me.role));
    let body = if allowed {
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
    let tabs = super::pages::tabs(me.role);
    let sync = crate::sync::device::use_sync();
    let offline = super::pages::offline_urls(me.role).join(" ");
    view! {
        <div class="app" data-role=me.role.as_str() data-offline-urls=offline>
            <header class="topbar">
                <div class="brand">
                    <span class="company">{me.company_name.clone()}</span>
                    <a class="who" href="/account" title="Your account">{format!("{} · {}", me.name, me.role.label())}</a>
                </div>
                <SyncBadge />
                <form method="post" action="/api/auth/logout" data-logout="" on:submit=move |ev| confirm_sign_out(ev, sync)>
                    <button type="submit" class="link-button">"Sign out"</button>
                </form>
            </header>
            <main class="page">
                // While the records on screen are the ones the page came with: they are not on
                // this device yet, so going offline now would lose sight of them.
                {move || sync.snapshot.with(|s| s.status.first_screen).then(|| view! {
                    <p class="first-sync" role="status" data-testid="first-sync">
                        "Getting your work onto this phone. Stay online until this note goes."
                    </p>
                })}
                {body}
            </main>
            <nav class="tabbar" aria-label="Main">
                {tabs
                    .map(|(href, t)| {
                        // The in-app badge: leads nobody has answered yet (with or without push).
                        let badge = move || {
                            let n = sync.snapshot.with(unanswered_leads);
                            (n > 0).then(|| view! {
                                <span class="tab-count" data-testid="leads-badge" aria-label=format!("{n} not answered")>{n}</span>
                            })
                        };
                        let count = (href == "/inbox").then_some(badge);
                        view! {
                            <A href=href attr:class="tab">
                                <span class="tab-icon" aria-hidden="true">{t.icon}</span>
                                <span class="tab-label">{t.label}</span>
                                {count}
                            </A>
                        }
                    })
                    .collect_view()}
            </nav>
        </div>
    }
    .into_any()
}

/// The leads the inbox lists that nobody has answered yet.
fn unanswered_leads(s: &crate::sync::device::SyncSnapshot) -> usize {
    super::inbox::waiting_leads(s)
        .into_iter()
        .filter(|(_, l, _)| l.get("first_contact_at").is_none_or(serde_json::Value::is_null))
        .count()
}

/// Signing out removes the person's records from this device (a shared tablet must not keep
/// the last technician's customers). Unsent changes are never dropped silently: the person is
/// offered to send them first, or to keep them here (then only they stay, until the same person
/// signs in again), or to stay signed in.
fn confirm_sign_out(ev: leptos::ev::SubmitEvent, sync: crate::sync::device::SyncHandle) {
    ev.prevent_default();
    #[cfg(feature = "hydrate")]
    {
        use wasm_bindgen::JsCast;
        let Some(form) = ev.target().and_then(|t| t.dyn_into::<web_sys::HtmlFormElement>().ok()) else {
            return;
        };
        leptos::task::spawn_local(async move {
            let unsent = || sync.snapshot.with_untracked(|s| s.status.pending + s.status.uploads_pending);
            if unsent() > 0
                && web_sys_confirm(&format!(
                    "{} change(s) have not been sent yet. Send them now, then sign out?",
                    unsent()
                ))
            {
                crate::sync::device::sync_now();
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
            if let Err(e) = crate::sync::device::forget_records().await {
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
