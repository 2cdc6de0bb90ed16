//! `/signup`: a company signs itself up. A plain HTML form posting to `/api/signup`, so it works
//! before the wasm has loaded; the server answers with a redirect to `/start`, or back here with
//! the problem and what was typed (never the password). Once hydrated, an empty time zone is
//! filled with the browser's own.

use super::current_user;
use crate::domain::Trade;
use leptos::prelude::*;
use leptos_router::{components::Redirect, hooks::use_query_map};

#[component]
pub fn SignUpPage() -> impl IntoView {
    if let Some(me) = current_user() {
        return view! { <Redirect path=me.role.home_path() /> }.into_any();
    }
    let query = use_query_map();
    let typed = move |name: &str| query.with(|q| q.get(name).unwrap_or_default());
    let error = move || query.with(|q| q.get("error"));
    let field = move || query.with(|q| q.get("field").unwrap_or_default());
    // First visit: every trade unticked and the starter on; back from an error: as typed.
    let returned = query.with_untracked(|q| q.get("error").is_some());
    let ticked = move |trade: Trade| {
        query.with_untracked(|q| q.get_all("trades").unwrap_or_default().iter().any(|t| t == trade.as_str()))
    };
    let starter = !returned || query.with_untracked(|q| q.get("starter").is_some());
    let time_zone = RwSignal::new(typed("time_zone"));
    #[cfg(feature = "hydrate")]
    Effect::new(move |_| {
        if time_zone.get_untracked().is_empty() {
            if let Some(zone) = browser_time_zone() {
                time_zone.set(zone);
            }
        }
    });
    let invalid = move |name: &'static str| move || field() == name;
    view! {
        <main class="page narrow login">
            <h1 class="logo">"Fieldclose"</h1>
            <p class="tagline">"Sign up your company. Your technicians quote on site, offline; you see what closes."</p>
            <form method="post" action="/api/signup" class="card stack" data-testid="signup-form">
                {move || error().map(|m| view! { <p class="error" role="alert">{m}</p> })}
                <label for="company_name">"Company name"</label>
                <input id="company_name" name="company_name" required maxlength="200" autocomplete="organization"
                    value=typed("company_name") aria-invalid=invalid("company_name") />
                <fieldset class="choices" aria-invalid=invalid("trades")>
                    <legend>"Trades you sell"</legend>
                    {Trade::ALL.into_iter().map(|trade| view! {
                        <label class="choice">
                            <input type="checkbox" name="trades" value=trade.as_str() checked=ticked(trade) />
                            {trade.label()}
                        </label>
                    }).collect_view()}
                </fieldset>
                <label for="time_zone">"Time zone"</label>
                <input id="time_zone" name="time_zone" required placeholder="America/Chicago" autocomplete="off"
                    prop:value=move || time_zone.get() on:input=move |ev| time_zone.set(event_target_value(&ev))
                    aria-invalid=invalid("time_zone") />
                <p class="hint">"Days, weeks and targets follow this zone."</p>
                <label for="name">"Your name"</label>
                <input id="name" name="name" required maxlength="100" autocomplete="name" value=typed("name")
                    aria-invalid=invalid("name") />
                <label for="email">"Your email"</label>
                <input id="email" name="email" type="email" inputmode="email" autocomplete="username" required
                    value=typed("email") aria-invalid=invalid("email") />
                <label for="password">"Password"</label>
                <input id="password" name="password" type="password" autocomplete="new-password" required minlength="12"
                    aria-invalid=invalid("password") />
                <p class="hint">"At least 12 characters; a few unrelated words work well."</p>
                <label class="choice">
                    <input type="checkbox" name="starter" checked=starter />
                    "Start from our price book and checklist for your trades (you edit them)"
                </label>
                <button type="submit" class="primary">"Sign up"</button>
            </form>
            <p class="hint">"Already on Fieldclose? "<a href="/login">"Sign in"</a></p>
        </main>
    }
    .into_any()
}

/// The browser's IANA zone (`Intl.DateTimeFormat().resolvedOptions().timeZone`).
#[cfg(feature = "hydrate")]
fn browser_time_zone() -> Option<String> {
    let format = js_sys::Intl::DateTimeFormat::new(&js_sys::Array::new(), &js_sys::Object::new());
    js_sys::Reflect::get(&format.resolved_options(), &wasm_bindgen::JsValue::from_str("timeZone"))
        .ok()?
        .as_string()
}
