//! The option templates section of `/price-book` (managers): good / better / best bundles of
//! the book's items per service, which technicians start an option from (offline too).

use crate::{
    api::{OptionTemplate, PriceBookItem, TemplateItem, TEMPLATE_TIERS},
    domain::Cents,
    sync::{device::transport, mutation::SERVICE_TYPES},
};
use leptos::prelude::*;
use std::collections::BTreeMap;
use uuid::Uuid;

/// `book` is the page's price book, so an item just added can go into a template at once.
#[component]
pub fn OptionTemplates(book: LocalResource<Result<Vec<PriceBookItem>, String>>) -> impl IntoView {
    let templates = LocalResource::new(|| async {
        transport::get_json::<Vec<OptionTemplate>>("/api/option-templates")
            .await
            .map_err(|f| f.into_detail().message)
    });
    let editing = RwSignal::new(None::<Uuid>);
    let service = RwSignal::new("hvac".to_string());
    let tier = RwSignal::new("good".to_string());
    let name = RwSignal::new(String::new());
    // Item id → quantity (absent: not in the template).
    let quantities = RwSignal::new(BTreeMap::<Uuid, u32>::new());
    let message = RwSignal::new(None::<Result<String, String>>);
    let clear = move || {
        editing.set(None);
        name.set(String::new());
        quantities.set(BTreeMap::new());
    };
    let open = move |t: OptionTemplate| {
        editing.set(t.id);
        service.set(t.service_type);
        tier.set(t.tier);
        name.set(t.name);
        quantities.set(t.items.into_iter().map(|i| (i.price_book_item_id, i.quantity)).collect());
        message.set(None);
    };
    let save = Action::new_local(move |t: &OptionTemplate| {
        let t = t.clone();
        async move {
            let saved = match t.id {
                Some(id) => {
                    transport::put_json::<_, OptionTemplate>(&format!("/api/option-templates/{id}"), &t).await
                }
                None => transport::post_json::<_, OptionTemplate>("/api/option-templates", &t).await,
            };
            saved.map(|t| format!("Saved {}.", t.name)).map_err(|f| f.into_detail().message)
        }
    });
    let remove = Action::new_local(move |id: &Uuid| {
        let url = format!("/api/option-templates/{id}");
        async move {
            transport::delete(&url).await.map(|_| "Removed.".to_string()).map_err(|f| f.into_detail().message)
        }
    });
    Effect::new(move |_| {
        for r in [save.value().get(), remove.value().get()].into_iter().flatten() {
            if r.is_ok() {
                clear();
                templates.refetch();
            }
            message.set(Some(r));
        }
    });
    let on_submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        save.dispatch(OptionTemplate {
            id: editing.get_untracked(),
            service_type: service.get_untracked(),
            tier: tier.get_untracked(),
            name: name.get_untracked(),
            items: quantities
                .get_untracked()
                .into_iter()
                .map(|(price_book_item_id, quantity)| TemplateItem { price_book_item_id, quantity })
                .collect(),
        });
    };
    let items_of_service = move || {
        book.get()
            .and_then(Result::ok)
            .unwrap_or_default()
            .into_iter()
            .filter(|i| i.active && i.service_type == service.get())
            .collect::<Vec<_>>()
    };
    view! {
        <section class="card stack" data-testid="option-templates-editor">
            <h2>"Option templates"</h2>
            <p class="muted small">"Good, better and best bundles your technicians start an option from. They copy today's prices when used."</p>
            <Suspense fallback=|| view! { <p>"Loading…"</p> }>
                {move || templates.get().map(|r| match r {
                    Ok(list) if list.is_empty() => view! { <p class="muted">"None yet."</p> }.into_any(),
                    Ok(list) => view! {
                        <ul class="list" data-testid="template-list">
                            {list.into_iter().map(|t| {
                                let shown = t.clone();
                                let id = t.id;
                                view! {
                                    <li>
                                        <button type="button" class="link-button" on:click=move |_| open(shown.clone())>
                                            <strong>{format!("{}: {}", super::visit::label(&t.tier), t.name)}</strong>
                                        </button>
                                        <span class="muted">{format!(" · {} · {} item(s)", t.service_type.replace('_', " "), t.items.len())}</span>
                                        {id.map(|id| view! {
                                            <button type="button" class="link-button" on:click=move |_| { remove.dispatch(id); }>"Remove"</button>
                                        })}
                                    </li>
                                }
                            }).collect_view()}
                        </ul>
                    }.into_any(),
                    Err(m) => view! { <p class="error" role="alert">{m}</p> }.into_any(),
                })}
            </Suspense>
            <form class="stack" on:submit=on_submit data-testid="template-form">
                <h3>{move || if editing.get().is_some() { "Change the template" } else { "New template" }}</h3>
                <label for="tpl-service">"Service"</label>
                <select id="tpl-service" on:change=move |ev| { service.set(event_target_value(&ev)); quantities.set(BTreeMap::new()); }>
                    {SERVICE_TYPES.iter().map(|s| view! {
                        <option value=*s selected=move || service.get() == *s>{s.replace('_', " ")}</option>
                    }).collect_view()}
                </select>
                <label for="tpl-tier">"Tier"</label>
                <select id="tpl-tier" on:change=move |ev| tier.set(event_target_value(&ev))>
                    {TEMPLATE_TIERS.iter().map(|t| view! {
                        <option value=*t selected=move || tier.get() == *t>{super::visit::label(t)}</option>
                    }).collect_view()}
                </select>
                <label for="tpl-name">"Name"</label>
                <input id="tpl-name" placeholder="e.g. Comfort upgrade" prop:value=move || name.get()
                    on:input=move |ev| name.set(event_target_value(&ev)) />
                <fieldset>
                    <legend>"Items and how many"</legend>
                    {move || {
                        let items = items_of_service();
                        if items.is_empty() {
                            return view! { <p class="muted small">"No active items for this service yet."</p> }.into_any();
                        }
                        items.into_iter().filter_map(|i| {
                            let id = i.id?;
                            let field = format!("tpl-qty-{id}");
                            Some(view! {
                                <div class="template-item">
                                    <label for=field.clone()>{format!("{} ({})", i.name, Cents(i.price_cents))}</label>
                                    <input id=field type="number" min="0" max="99" inputmode="numeric"
                                        prop:value=move || quantities.with(|q| q.get(&id).copied().unwrap_or(0)).to_string()
                                        on:change=move |ev| {
                                            let n = event_target_value(&ev).trim().parse::<u32>().unwrap_or(0);
                                            quantities.update(|q| { if n == 0 { q.remove(&id); } else { q.insert(id, n); } });
                                        } />
                                </div>
                            })
                        }).collect_view().into_any()
                    }}
                </fieldset>
                <button type="submit" class="primary" disabled=move || save.pending().get()>"Save template"</button>
                {move || editing.get().is_some().then(|| view! { <button type="button" on:click=move |_| clear()>"Cancel"</button> })}
                {move || message.get().map(|r| match r {
                    Ok(t) => view! { <p class="ok" role="status">{t}</p> }.into_any(),
                    Err(t) => view! { <p class="error" role="alert">{t}</p> }.into_any(),
                })}
            </form>
        </section>
    }
}
