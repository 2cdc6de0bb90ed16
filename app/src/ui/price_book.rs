//! `/price-book` (managers; tablet and desktop, usable at 360 px): the company's items by
//! service — add, change, deactivate, remove — and the whole book as CSV out and in (a dry run
//! shows what would change, line by line, before anything is written). Online: the server keeps
//! the book, and every device gets each change by sync.

use crate::{
    api::PriceBookItem,
    domain::Cents,
    sync::{device::transport, mutation::SERVICE_TYPES},
};
use leptos::prelude::*;
use serde_json::Value;

#[component]
pub fn PriceBook() -> impl IntoView {
    let book = LocalResource::new(|| async {
        transport::get_json::<Vec<PriceBookItem>>("/api/price-book")
            .await
            .map_err(|f| f.into_detail().message)
    });
    // The item being edited (None: the add form).
    let editing = RwSignal::new(None::<PriceBookItem>);
    let saved = RwSignal::new(None::<Result<String, String>>);
    let refresh = move || book.refetch();
    view! {
        <h1>"Price book"</h1>
        <p class="muted">"Every change reaches your technicians' devices at their next sync, offline after that. Quotes already made keep their prices."</p>
        <ItemForm editing saved on_saved=refresh />
        {move || saved.get().map(|r| match r {
            Ok(t) => view! { <p class="ok" role="status">{t}</p> }.into_any(),
            Err(t) => view! { <p class="error" role="alert">{t}</p> }.into_any(),
        })}
        <section class="card">
            <h2>"Items"</h2>
            <Suspense fallback=|| view! { <p>"Loading the price book…"</p> }>
                {move || book.get().map(|r| match r {
                    Ok(items) if items.is_empty() => view! { <p class="muted">"No items yet: add one above, or import a CSV below."</p> }.into_any(),
                    Ok(items) => view! {
                        <ul class="list" data-testid="price-book-list">
                            {items.into_iter().map(|item| {
                                let shown = item.clone();
                                view! {
                                    <li class:inactive=!item.active>
                                        <button type="button" class="link-button" on:click=move |_| editing.set(Some(shown.clone()))>
                                            <strong>{item.name.clone()}</strong>
                                        </button>
                                        <span class="muted">{format!(" · {} · {} · {}{}", item.sku, item.service_type.replace('_', " "), Cents(item.price_cents), if item.active { "" } else { " · inactive" })}</span>
                                    </li>
                                }
                            }).collect_view()}
                        </ul>
                    }.into_any(),
                    Err(m) => view! { <p class="error" role="alert">{m}</p> }.into_any(),
                })}
            </Suspense>
        </section>
        <CsvInOut on_imported=refresh />
        <super::option_templates::OptionTemplates book />
        <super::financing::FinancingPlans />
    }
}

#[component]
fn ItemForm(
    editing: RwSignal<Option<PriceBookItem>>,
    saved: RwSignal<Option<Result<String, String>>>,
    on_saved: impl Fn() + Copy + 'static,
) -> impl IntoView {
    let sku = RwSignal::new(String::new());
    let name = RwSignal::new(String::new());
    let service = RwSignal::new("hvac".to_string());
    let price = RwSignal::new(String::new());
    let cost = RwSignal::new(String::new());
    let discount = RwSignal::new("0".to_string());
    let description = RwSignal::new(String::new());
    let active = RwSignal::new(true);
    // Opening an item fills the form with it; closing it empties the form.
    Effect::new(move |_| {
        let item = editing.get();
        let i = item.clone().unwrap_or(PriceBookItem {
            id: None,
            sku: String::new(),
            name: String::new(),
            service_type: "hvac".into(),
            price_cents: 0,
            cost_cents: None,
            max_discount_pct: 0,
            description: String::new(),
            active: true,
        });
        sku.set(i.sku);
        name.set(i.name);
        service.set(i.service_type);
        price.set(if item.is_some() { Cents(i.price_cents).decimal() } else { String::new() });
        cost.set(i.cost_cents.map(|c| Cents(c).decimal()).unwrap_or_default());
        discount.set(i.max_discount_pct.to_string());
        description.set(i.description);
        active.set(i.active);
    });
    let save = Action::new_local(move |item: &PriceBookItem| {
        let item = item.clone();
        async move {
            let result = match item.id {
                Some(id) => {
                    transport::put_json::<_, PriceBookItem>(&format!("/api/price-book/items/{id}"), &item)
                        .await
                }
                None => transport::post_json::<_, PriceBookItem>("/api/price-book/items", &item).await,
            };
            result
                .map(|i| format!("Saved {} ({}).", i.name, Cents(i.price_cents)))
                .map_err(|f| f.into_detail().message)
        }
    });
    let remove = Action::new_local(move |id: &uuid::Uuid| {
        let url = format!("/api/price-book/items/{id}");
        async move {
            transport::delete(&url).await.map(|_| "Removed.".to_string()).map_err(|f| f.into_detail().message)
        }
    });
    Effect::new(move |_| {
        for result in [save.value().get(), remove.value().get()].into_iter().flatten() {
            if result.is_ok() {
                editing.set(None);
                on_saved();
            }
            saved.set(Some(result));
        }
    });
    let on_submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let price_cents = match Cents::parse("price", &price.get_untracked()) {
            Ok(c) => c.0,
            Err(e) => return saved.set(Some(Err(e.to_string()))),
        };
        let cost_cents = match cost.get_untracked().trim() {
            "" => None,
            typed => match Cents::parse("cost", typed) {
                Ok(c) => Some(c.0),
                Err(e) => return saved.set(Some(Err(e.to_string()))),
            },
        };
        let Ok(max_discount_pct) = discount.get_untracked().trim().trim_end_matches('%').parse::<i16>()
        else {
            return saved.set(Some(Err("max discount: a whole percentage from 0 to 100".into())));
        };
        save.dispatch(PriceBookItem {
            id: editing.get_untracked().and_then(|i| i.id),
            sku: sku.get_untracked(),
            name: name.get_untracked(),
            service_type: service.get_untracked(),
            price_cents,
            cost_cents,
            max_discount_pct,
            description: description.get_untracked(),
            active: active.get_untracked(),
        });
    };
    view! {
        <form class="card stack" on:submit=on_submit data-testid="item-form">
            <h2>{move || if editing.get().is_some() { "Change item" } else { "Add an item" }}</h2>
            <label for="pb-name">"Name"</label>
            <input id="pb-name" required maxlength="200" bind:value=name />
            <label for="pb-sku">"SKU"</label>
            <input id="pb-sku" required maxlength="40" autocomplete="off" bind:value=sku />
            <label for="pb-service">"Service"</label>
            <select id="pb-service" on:change=move |ev| service.set(event_target_value(&ev)) prop:value=move || service.get()>
                {SERVICE_TYPES.iter().map(|s| view! { <option value=*s>{s.replace('_', " ")}</option> }).collect_view()}
            </select>
            <label for="pb-price">"Price ($)"</label>
            <input id="pb-price" inputmode="decimal" required bind:value=price placeholder="1234.50" />
            <label for="pb-cost">"Cost ($, optional)"</label>
            <input id="pb-cost" inputmode="decimal" bind:value=cost />
            <label for="pb-discount">"Most a technician may discount (%)"</label>
            <input id="pb-discount" inputmode="numeric" bind:value=discount />
            <label for="pb-description">"Description (read to the customer)"</label>
            <textarea id="pb-description" rows="2" maxlength="2000" bind:value=description></textarea>
            <label class="choice"><input type="checkbox" bind:checked=active />"Offered (technicians can pick it)"</label>
            <button type="submit" class="primary" disabled=move || save.pending().get()>"Save item"</button>
            {move || editing.get().and_then(|i| i.id).map(|id| view! {
                <button type="button" on:click=move |_| editing.set(None)>"Cancel"</button>
                <button type="button" class="link-button" on:click=move |_| { remove.dispatch(id); }>"Remove from the book"</button>
            })}
        </form>
    }
}

/// A CSV import refused whole: each line's problem, for the person to fix and try again (the price
/// book's and the marketing spend's imports answer alike).
#[component]
pub fn ImportErrors(errors: Vec<Value>) -> impl IntoView {
    view! {
        <div role="alert">
            <p class="error">"Nothing was imported. Fix these lines and try again:"</p>
            <ul>{errors.into_iter().map(|e| view! { <li>{format!("line {}: {}", e["line"], e["message"].as_str().unwrap_or(""))}</li> }).collect_view()}</ul>
        </div>
    }
}

/// The book as CSV: download it, edit it in a spreadsheet, and bring it back (a dry run first).
#[component]
fn CsvInOut(on_imported: impl Fn() + Copy + 'static) -> impl IntoView {
    let text = RwSignal::new(String::new());
    let report = RwSignal::new(None::<Result<Value, String>>);
    let run = Action::new_local(move |dry_run: &bool| {
        let (dry_run, body) = (*dry_run, text.get_untracked());
        async move {
            transport::post_text(&format!("/api/price-book/import?dry_run={dry_run}"), "text/csv", body)
                .await
                .map_err(|f| f.into_detail().message)
                .map(|r| (dry_run, r))
        }
    });
    Effect::new(move |_| {
        if let Some(result) = run.value().get() {
            if let Ok((false, r)) = &result {
                if r.get("errors").and_then(Value::as_array).is_some_and(Vec::is_empty) {
                    on_imported();
                }
            }
            report.set(Some(result.map(|(_, r)| r)));
        }
    });
    view! {
        <section class="card stack" data-testid="price-book-csv">
            <h2>"CSV"</h2>
            <p><a href="/api/price-book/export" download="price-book.csv">"Download the price book"</a></p>
            <label for="pb-csv">"Paste a CSV (sku, name, service_type, price; optional cost, max_discount_pct, description, active)"</label>
            <textarea id="pb-csv" rows="5" bind:value=text></textarea>
            <button type="button" on:click=move |_| { run.dispatch(true); }>"Check"</button>
            <button type="button" class="primary" on:click=move |_| { run.dispatch(false); }>"Import"</button>
            {move || report.get().map(|r| match r {
                Ok(r) => {
                    let errors = r["errors"].as_array().cloned().unwrap_or_default();
                    let summary = format!(
                        "{}{} new, {} changed.",
                        if r["dry_run"] == true { "Would import: " } else { "Imported: " },
                        r["added"], r["updated"]
                    );
                    if errors.is_empty() {
                        view! { <p class="ok" role="status">{summary}</p> }.into_any()
                    } else {
                        view! { <ImportErrors errors /> }.into_any()
                    }
                }
                Err(m) => view! { <p class="error" role="alert">{m}</p> }.into_any(),
            })}
        </section>
    }
}
