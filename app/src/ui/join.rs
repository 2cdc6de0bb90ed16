//! `/join?token=…`: the page an invite link opens. A plain HTML form posting to
//! `/api/invites/accept`, so it works before the wasm has loaded; once hydrated it says which
//! company and role the link is for, or why it no longer works.

use super::current_user;
use crate::api::InvitePreview;
use leptos::prelude::*;
use leptos_router::{components::Redirect, hooks::use_query_map};

#[component]
pub fn JoinPage() -> impl IntoView {
    if let Some(me) = current_user() {
        return view! { <Redirect path=me.role.home_path() /> }.into_any();
    }
    let query = use_query_map();
    let typed = move |name: &str| query.with_untracked(|q| q.get(name).unwrap_or_default());
    let token = typed("token");
    let error = move || query.with(|q| q.get("error"));
    let preview = LocalResource::new({
        let token = token.clone();
        move || {
            let url = format!("/api/invites/preview?token={}", urlencode(&token));
            async move {
                crate::sync::device::transport::get_json::<InvitePreview>(&url)
                    .await
                    .map_err(|f| f.into_detail().message)
            }
        }
    });
    view! {
        <main class="page narrow login">
            <h1 class="logo">"Fieldclose"</h1>
            <Suspense fallback=|| view! { <p class="tagline">"You have been invited to join your team."</p> }>
                {move || preview.get().map(|p| match p {
                    Ok(p) => view! {
                        <p class="tagline" data-testid="invite-for">
                            {format!("Join {} as a {}.", p.company_name, p.role.label().to_lowercase())}
                        </p>
                    }.into_any(),
                    Err(m) => view! { <p class="error" role="alert">{m}</p> }.into_any(),
                })}
            </Suspense>
            <form method="post" action="/api/invites/accept" class="card stack" data-testid="join-form">
                {move || error().map(|m| view! { <p class="error" role="alert">{m}</p> })}
                <input type="hidden" name="token" value=token />
                <label for="name">"Your name"</label>
                <input id="name" name="name" required maxlength="100" autocomplete="name" value=typed("name") />
                <label for="email">"Your email"</label>
                <input id="email" name="email" type="email" inputmode="email" autocomplete="username" required
                    value=typed("email") />
                <label for="password">"Password"</label>
                <input id="password" name="password" type="password" autocomplete="new-password" required minlength="12" />
                <p class="hint">"At least 12 characters; a few unrelated words work well."</p>
                <button type="submit" class="primary">"Join"</button>
            </form>
            <p class="hint">"Already have an account? "<a href="/login">"Sign in"</a></p>
        </main>
    }
    .into_any()
}

/// A token as a query value (it is base64url already; this keeps anything else from breaking
/// the URL).
fn urlencode(s: &str) -> String {
    s.chars().filter(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_')).collect()
}
