//! Presentation mode: the options side by side, full screen, for the customer to read — big
//! prices, the monthly payment, what each includes, and one tap to choose. Opening it marks the
//! options presented (the "options presented" stage event, by this device's clock).

use super::{href, options::options_of, save::Saver, Step};
use crate::sync::device::use_sync;
use leptos::prelude::*;
use leptos_router::hooks::use_navigate;
use uuid::Uuid;

#[component]
pub fn Presentation(id: Uuid) -> impl IntoView {
    let sync = use_sync();
    let saver = Saver::get();
    let options = Memo::new(move |_| sync.snapshot.with(|s| options_of(s, id)));
    let not_presented: Vec<_> = options
        .get_untracked()
        .into_iter()
        .filter(|o| !o.presented && !o.items.is_empty())
        .map(|o| super::options::Opt { presented: true, ..o }.upsert(id))
        .collect();
    if !not_presented.is_empty() {
        saver.queue(not_presented);
    }
    let navigate = use_navigate();
    // The company's logo (the service worker keeps a copy for basements), else its name.
    let company = crate::ui::current_user();
    let brand = company.map(|me| match me.company_logo {
        Some(sha) => {
            view! { <img class="company-logo" alt=me.company_name src=format!("/api/blobs/{sha}") /> }
                .into_any()
        }
        None => view! { <p class="muted">{me.company_name}</p> }.into_any(),
    });
    view! {
        <div class="presentation" data-testid="presentation" role="dialog" aria-label="Your options">
            <header>
                {brand}
                <h1>"Your options"</h1>
                <a href=href(id, Step::Options) class="button">"Close"</a>
            </header>
            <div class="tiers">
                {move || {
                    let navigate = navigate.clone();
                    options
                        .get()
                        .into_iter()
                        .filter(|o| !o.items.is_empty())
                        .map(|o| {
                            let navigate = navigate.clone();
                            let choose = format!("{}&option={}", href(id, Step::Outcome), o.id);
                            view! {
                                <section class="tier" data-testid="tier">
                                    <h2>{o.tier.clone()}</h2>
                                    <p class="price">{o.total().to_string()}</p>
                                    {o.monthly.map(|m| view! { <p class="per-month">{format!("or {m}/month")}</p> })}
                                    <ul>
                                        {o.items.iter().map(|i| view! {
                                            <li>{if i.quantity > 1 { format!("{} × {}", i.quantity, i.description) } else { i.description.clone() }}</li>
                                        }).collect_view()}
                                    </ul>
                                    <button type="button" class="primary" on:click=move |_| navigate(&choose, Default::default())>
                                        {format!("Choose {}", o.tier)}
                                    </button>
                                </section>
                            }
                        })
                        .collect_view()
                }}
            </div>
        </div>
    }
}
