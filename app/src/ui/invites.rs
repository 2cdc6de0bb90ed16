//! Inviting people by link, on the Team tab: a link (and a QR code to scan) for one person and
//! one role, good for 7 days and once; the invites still open, each revocable. Online only: the
//! server makes and keeps them.

use crate::{
    api::{Invite, NewInviteRequest},
    domain::Role,
    sync::device::transport::{self, Failure},
};
use leptos::prelude::*;
use uuid::Uuid;

#[component]
pub fn InviteByLink() -> impl IntoView {
    let role = RwSignal::new(Role::Technician.as_str().to_string());
    let pending = LocalResource::new(|| async {
        transport::get_json::<Vec<Invite>>("/api/invites").await.map_err(|f| f.into_detail().message)
    });
    let made = Action::new_local(move |role: &String| {
        let req = NewInviteRequest { role: role.clone() };
        async move {
            let invite = transport::post_json::<_, Invite>("/api/invites", &req).await;
            invite.map_err(|f: Failure| f.into_detail().message)
        }
    });
    let revoke = Action::new_local(move |id: &Uuid| {
        let url = format!("/api/invites/{id}");
        async move { transport::delete(&url).await.map_err(|f| f.into_detail().message) }
    });
    Effect::new(move |_| {
        if made.value().get().is_some_and(|r| r.is_ok()) || revoke.value().get().is_some() {
            pending.refetch();
        }
    });
    view! {
        <section class="card stack" data-testid="invite-form">
            <h2>"Invite by link"</h2>
            <p class="muted">"One link per person: it works once, for 7 days. Send it, or let them scan the code."</p>
            <label for="invite-role">"Role"</label>
            <select id="invite-role" on:change=move |ev| role.set(event_target_value(&ev))>
                {Role::ALL.into_iter().map(|r| view! { <option value=r.as_str()>{r.label()}</option> }).collect_view()}
            </select>
            <button type="button" class="primary" disabled=move || made.pending().get()
                on:click=move |_| { made.dispatch(role.get_untracked()); }>
                "Make an invite link"
            </button>
            {move || made.value().get().map(|result| match result {
                Ok(invite) => view! { <NewLink invite /> }.into_any(),
                Err(m) => view! { <p class="error" role="alert">{m}</p> }.into_any(),
            })}
            <Suspense fallback=|| ()>
                {move || pending.get().map(|result| match result {
                    Ok(list) if list.is_empty() => ().into_any(),
                    Ok(list) => view! {
                        <h3>"Open invites"</h3>
                        <ul class="list" data-testid="open-invites">
                            {list.into_iter().map(|i| view! {
                                <li>
                                    {format!("{} · until {}", i.role.label(), crate::ui::clock::format(i.expires_at, "%b %-d"))}
                                    " "
                                    <button type="button" class="link-button" on:click=move |_| { revoke.dispatch(i.id); }>
                                        "Revoke"
                                    </button>
                                </li>
                            }).collect_view()}
                        </ul>
                    }.into_any(),
                    Err(m) => view! { <p class="error" role="alert">{m}</p> }.into_any(),
                })}
            </Suspense>
            {move || revoke.value().get().and_then(Result::err).map(|m| view! { <p class="error" role="alert">{m}</p> })}
        </section>
    }
}

/// A link just made: shown this once (the server keeps only its hash).
#[component]
fn NewLink(invite: Invite) -> impl IntoView {
    let url = invite.url.clone().unwrap_or_default();
    let copied = RwSignal::new(false);
    let copy = {
        let url = url.clone();
        move |_| {
            crate::ui::copy_to_clipboard(&url);
            copied.set(true);
        }
    };
    view! {
        <div class="stack" role="status">
            <p class="ok">{format!("A link for a {}, until {}:", invite.role.label().to_lowercase(), crate::ui::clock::format(invite.expires_at, "%b %-d"))}</p>
            <input readonly value=url.clone() aria-label="Invite link" data-testid="invite-link"
                on:focus=|ev| select_all(&ev) />
            <button type="button" on:click=copy>{move || if copied.get() { "Copied" } else { "Copy link" }}</button>
            // Made by our server from our own link: an SVG of squares, no script.
            <div class="qr" aria-label="QR code of the invite link" inner_html=invite.qr_svg.unwrap_or_default()></div>
        </div>
    }
}

fn select_all(ev: &leptos::ev::FocusEvent) {
    #[cfg(feature = "hydrate")]
    {
        use wasm_bindgen::JsCast;
        if let Some(input) = ev.target().and_then(|t| t.dyn_into::<web_sys::HtmlInputElement>().ok()) {
            input.select();
        }
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = ev;
}
