//! The customer's proposal on the device: what they read before signing (company, customer and
//! address, the option's lines, discounts, total, financing with its term and rate, the
//! company's terms, the date) and their copy — printed or saved as PDF from the device's own
//! records (works offline), or a link sent with the phone's share sheet, a text or an email
//! (made online: `POST /api/proposals`).

use super::text;
use crate::{
    api::{ProposalLink, ProposalLinkRequest},
    domain::proposal::{self, Proposal},
    sync::device::{transport, use_sync, SyncSnapshot},
    sync::protocol::Entity,
    ui::current_user,
};
use leptos::prelude::*;
use serde_json::Value;
use uuid::Uuid;

/// The proposal of consultation `id` from the device's records; `choice` is the option about to
/// be signed for.
pub fn proposal_of(s: &SyncSnapshot, id: Uuid, choice: Option<Uuid>) -> Option<Proposal> {
    let consultation = s.get(Entity::Consultation, id)?;
    let customer = crate::ui::schedule::customer_of(s, consultation);
    let cid = id.to_string();
    let options: Vec<(Uuid, &Value)> = s
        .records(Entity::Option)
        .filter(|(_, o)| text(o, "consultation_id") == cid)
        .map(|(i, o)| (*i, o))
        .collect();
    let plans: Vec<&Value> = s.records(Entity::FinancingPlan).map(|(_, p)| p).collect();
    let from = current_user()
        .map(|me| proposal::From {
            company_name: me.company_name,
            logo_sha256: me.company_logo,
            terms: me.proposal_terms,
        })
        .unwrap_or_default();
    Some(proposal::build(from, consultation, customer, &options, &plans, choice))
}

/// The proposal as the customer reads it on the device (and as it prints).
#[component]
pub fn ProposalSheet(#[prop(into)] proposal: Signal<Option<Proposal>>) -> impl IntoView {
    move || {
        proposal.get().map(|p| {
            let today = crate::ui::clock::format(chrono::Utc::now(), "%B %-d, %Y");
            let logo = p.from.logo_sha256.clone().map(|sha| {
                view! { <img class="company-logo" alt=p.from.company_name.clone() src=format!("/api/blobs/{sha}") /> }
            });
            view! {
                <article class="proposal" data-testid="proposal">
                    <header>
                        {logo}
                        <div>
                            <p class="company">{p.from.company_name.clone()}</p>
                            <h2>"Proposal"</h2>
                            <p class="muted">{today}</p>
                        </div>
                    </header>
                    <p><strong>"For: "</strong><span data-testid="proposal-customer">{p.customer_name.clone()}</span></p>
                    {(!p.address.is_empty()).then(|| view! { <p>{p.address.clone()}</p> })}
                    {p.options.into_iter().map(|o| view! {
                        <section class="proposal-option">
                            <h3>{o.tier.clone()}</h3>
                            <table>
                                <tbody>
                                    {o.lines.into_iter().map(|l| view! {
                                        <tr>
                                            <td>{if l.quantity > 1 { format!("{} × {}", l.quantity, l.description) } else { l.description }}
                                                {(l.discount.0 > 0).then(|| view! { <span class="muted">{format!(" (−{})", l.discount)}</span> })}
                                            </td>
                                            <td class="num">{l.total.to_string()}</td>
                                        </tr>
                                    }).collect_view()}
                                </tbody>
                                <tfoot>
                                    {(o.discount.0 > 0).then(|| view! {
                                        <tr><td>"Discounts"</td><td class="num">{format!("−{}", o.discount)}</td></tr>
                                    })}
                                    <tr class="total"><td>"Total"</td><td class="num" data-testid="proposal-total">{o.total.to_string()}</td></tr>
                                </tfoot>
                            </table>
                            {o.financing.map(|f| view! {
                                <p class="financing" data-testid="proposal-financing">{format!("Or {} ({})", f.describe(), f.label)}</p>
                            })}
                        </section>
                    }).collect_view()}
                    {(!p.from.terms.is_empty()).then(|| view! {
                        <section class="terms"><h3>"Terms"</h3><p>{p.from.terms.clone()}</p></section>
                    })}
                </article>
            }
        })
    }
}

/// "The customer's copy": print (from the device, offline too) and a link to send (online).
#[component]
pub fn CustomerCopy(id: Uuid) -> impl IntoView {
    let sync = use_sync();
    let link = RwSignal::new(None::<String>);
    let message = RwSignal::new(None::<Result<String, String>>);
    let busy = RwSignal::new(false);
    let customer = Memo::new(move |_| {
        sync.snapshot.with(|s| {
            let customer = crate::ui::schedule::customer_of(s, s.get(Entity::Consultation, id)?)?;
            Some((text(customer, "phone"), text(customer, "email")))
        })
    });
    let share = move |_| {
        busy.set(true);
        message.set(None);
        leptos::task::spawn_local(async move {
            let made = transport::post_json::<_, ProposalLink>(
                "/api/proposals",
                &ProposalLinkRequest { consultation_id: id },
            )
            .await;
            match made {
                Ok(l) => {
                    let url = format!("{}{}", origin(), l.path);
                    let shared = share_sheet(&url).await;
                    crate::ui::set_if_alive(link, Some(url));
                    if !shared {
                        crate::ui::set_if_alive(
                            message,
                            Some(Ok("Send the link below by text or email.".into())),
                        );
                    }
                }
                Err(f) if f.is_unreachable() => crate::ui::set_if_alive(
                    message,
                    Some(Err(
                        "No connection: the link is made online. Print or save as PDF works now.".into()
                    )),
                ),
                Err(f) => crate::ui::set_if_alive(message, Some(Err(f.into_detail().message))),
            }
            crate::ui::set_if_alive(busy, false);
        });
    };
    view! {
        <section class="card stack no-print" data-testid="customer-copy">
            <h2>"The customer's copy"</h2>
            <div class="row">
                <button type="button" on:click=move |_| print()>"Print or save as PDF"</button>
                <button type="button" class="primary" disabled=move || busy.get() on:click=share>"Send a link"</button>
            </div>
            {move || message.get().map(|r| match r {
                Ok(t) => view! { <p class="ok" role="status">{t}</p> }.into_any(),
                Err(t) => view! { <p class="error" role="alert">{t}</p> }.into_any(),
            })}
            {move || link.get().map(|url| {
                let (phone, email) = customer.get().unwrap_or_default();
                let body = crate::ui::percent_encode(&format!("Your proposal: {url}"));
                let sms = format!("sms:{phone}?&body={body}");
                let mail = format!("mailto:{email}?subject={}&body={body}", crate::ui::percent_encode("Your proposal"));
                let copy_url = url.clone();
                view! {
                    <input readonly value=url aria-label="Link to the customer's copy" data-testid="proposal-link" />
                    <div class="row">
                        <button type="button" on:click=move |_| crate::ui::copy_to_clipboard(&copy_url)>"Copy link"</button>
                        <a class="button" href=sms>"Text it"</a>
                        <a class="button" href=mail>"Email it"</a>
                    </div>
                }
            })}
        </section>
    }
}

fn origin() -> String {
    #[cfg(feature = "hydrate")]
    return web_sys::window().and_then(|w| w.location().origin().ok()).unwrap_or_default();
    #[cfg(not(feature = "hydrate"))]
    String::new()
}

fn print() {
    #[cfg(feature = "hydrate")]
    if let Some(w) = web_sys::window() {
        let _ = w.print();
    }
}

/// The phone's share sheet (Web Share API) with the link; false where there is none (most
/// desktops) or the person closed it, and the link is shown to copy instead.
async fn share_sheet(url: &str) -> bool {
    #[cfg(feature = "hydrate")]
    {
        use wasm_bindgen::{JsCast, JsValue};
        let Some(window) = web_sys::window() else { return false };
        let navigator = window.navigator();
        let Some(share) = js_sys::Reflect::get(&navigator, &JsValue::from_str("share"))
            .ok()
            .and_then(|f| f.dyn_into::<js_sys::Function>().ok())
        else {
            return false;
        };
        let data = js_sys::Object::new();
        let _ = js_sys::Reflect::set(&data, &"title".into(), &"Your proposal".into());
        let _ = js_sys::Reflect::set(&data, &"url".into(), &url.into());
        let Ok(promise) = share.call1(&navigator, &data) else { return false };
        let Ok(promise) = promise.dyn_into::<js_sys::Promise>() else { return false };
        wasm_bindgen_futures::JsFuture::from(promise).await.is_ok()
    }
    #[cfg(not(feature = "hydrate"))]
    {
        let _ = url;
        false
    }
}
