//! `/reset?token=…`: the page a manager's password-reset link opens. A plain HTML form posting to
//! `/api/password-reset`, so it works before the wasm has loaded; on success the person is
//! signed in on their first tab.

use leptos::prelude::*;
use leptos_router::hooks::use_query_map;

#[component]
pub fn ResetPage() -> impl IntoView {
    let query = use_query_map();
    let token = query.with_untracked(|q| q.get("token").unwrap_or_default());
    let error = move || query.with(|q| q.get("error"));
    view! {
        <main class="page narrow login">
            <h1 class="logo">"Fieldclose"</h1>
            <p class="tagline">"Choose a new password. Your other devices will be signed out."</p>
            <form method="post" action="/api/password-reset" class="card stack" data-testid="reset-form">
                {move || error().map(|m| view! { <p class="error" role="alert">{m}</p> })}
                <input type="hidden" name="token" value=token />
                <label for="password">"New password"</label>
                <input id="password" name="password" type="password" autocomplete="new-password" required minlength="12" />
                <p class="hint">"At least 12 characters; a few unrelated words work well."</p>
                <button type="submit" class="primary">"Set password and sign in"</button>
            </form>
        </main>
    }
}
