//! `/account`: the signed-in person's own settings — their password and their notifications.
//! Online only.

use super::current_user;
use crate::{api::PasswordChange, sync::device::transport};
use leptos::prelude::*;

#[component]
pub fn Account() -> impl IntoView {
    let me = current_user();
    let current = RwSignal::new(String::new());
    let new = RwSignal::new(String::new());
    let change = Action::new_local(move |req: &PasswordChange| {
        let req = req.clone();
        async move {
            transport::post_json::<_, serde_json::Value>("/api/me/password", &req).await.map(|_| ()).or_else(
                |f| match f {
                    // 204: no body to read is success.
                    transport::Failure::Refused(d) if d.code == "unreadable" => Ok(()),
                    f => Err(f.into_detail().message),
                },
            )
        }
    });
    Effect::new(move |_| {
        if change.value().get().is_some_and(|r| r.is_ok()) {
            current.set(String::new());
            new.set(String::new());
        }
    });
    let on_submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        change.dispatch(PasswordChange {
            current_password: current.get_untracked(),
            new_password: new.get_untracked(),
        });
    };
    view! {
        <h1>"Your account"</h1>
        <p class="muted">{me.clone().map(|m| format!("{} · {} · {}", m.name, m.email, m.company_name))}</p>
        <form class="card stack" on:submit=on_submit data-testid="password-form">
            <h2>"Change your password"</h2>
            {move || change.value().get().map(|r| match r {
                Ok(()) => view! { <p class="ok" role="status">"Changed. Your other devices are signed out."</p> }.into_any(),
                Err(m) => view! { <p class="error" role="alert">{m}</p> }.into_any(),
            })}
            <label for="current-password">"Current password"</label>
            <input id="current-password" type="password" autocomplete="current-password" required bind:value=current />
            <label for="new-password">"New password (at least 12 characters)"</label>
            <input id="new-password" type="password" autocomplete="new-password" required bind:value=new />
            <button type="submit" class="primary" disabled=move || change.pending().get()>"Change password"</button>
        </form>
        {me.map(|m| view! { <super::notifications::NotificationsCard role=m.role /> })}
    }
}
