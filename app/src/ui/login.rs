//! The sign-in page. A plain HTML form posting to `/api/auth/login`, so it works before the
//! wasm has loaded (or if it never does); the server answers with a redirect.

use super::current_user;
use leptos::prelude::*;
use leptos_router::{components::Redirect, hooks::use_query_map};

#[component]
pub fn LoginPage() -> impl IntoView {
    if let Some(me) = current_user() {
        return view! { <Redirect path=me.role.home_path() /> }.into_any();
    }
    let query = use_query_map();
    let error = move || {
        query.with(|q| match q.get("error").as_deref() {
            Some("invalid") => Some("Email or password is incorrect."),
            Some("rate_limited") => {
                Some("Too many attempts. Wait 15 minutes, or ask your manager to reset your password.")
            }
            Some(_) => Some("Sign-in failed. Try again."),
            None => None,
        })
    };
    let email = move || query.with(|q| q.get("email").unwrap_or_default());
    view! {
        <main class="page narrow login">
            <h1 class="logo">"Fieldclose"</h1>
            <p class="tagline">"Quote, follow up and close — even with no signal."</p>
            <form method="post" action="/api/auth/login" class="card stack" data-testid="login-form">
                {move || error().map(|m| view! { <p class="error" role="alert">{m}</p> })}
                <label for="email">"Email"</label>
                <input id="email" name="email" type="email" inputmode="email" autocomplete="username"
                    required value=email />
                <label for="password">"Password"</label>
                <input id="password" name="password" type="password" autocomplete="current-password" required />
                <button type="submit" class="primary">"Sign in"</button>
            </form>
            <p class="hint">"You stay signed in on this device for 60 days, online or not."</p>
            <p class="hint">"New to Fieldclose? "<a href="/signup">"Sign up your company"</a></p>
        </main>
    }
    .into_any()
}
