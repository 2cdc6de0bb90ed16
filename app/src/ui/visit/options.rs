//! Step 4: good / better / best (up to four options) built from the price book: search, add
//! lines, quantities, discounts within the manager's limit, a financing plan with its monthly
//! payment computed here. Every change is an `option.upsert` of the whole option.

use super::{save::Saver, text, NextStep, Step};
use crate::{
    domain::{
        pricing::{max_discount, option_total, plan_label, PlanTerms},
        Cents,
    },
    sync::device::{use_sync, SyncSnapshot},
    sync::{
        mutation::{DeleteRecord, LineItem, Mutation, OptionUpsert},
        protocol::Entity,
    },
};
use leptos::prelude::*;
use serde_json::Value;
use uuid::Uuid;

pub const TIER_NAMES: [&str; 4] = ["Good", "Better", "Best", "Premium"];

/// An option as the device holds it.
#[derive(Debug, Clone, PartialEq)]
pub struct Opt {
    pub id: Uuid,
    pub tier: String,
    pub position: u8,
    pub items: Vec<LineItem>,
    pub plan: Option<String>,
    /// The monthly payment on `plan`, as last computed ([`Opt::financed`]).
    pub monthly: Option<Cents>,
    pub presented: bool,
}

/// One of the company's financing plans, as the options screen offers it.
#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    pub code: String,
    pub label: String,
    pub terms: PlanTerms,
    pub min: Cents,
}

/// The company's active plans (synced rows), shortest term first.
pub fn plans_of(s: &SyncSnapshot) -> Vec<Plan> {
    let int = |v: &Value, k: &str| v.get(k).and_then(Value::as_i64).unwrap_or(0);
    let mut plans: Vec<Plan> = s
        .records(Entity::FinancingPlan)
        .filter(|(_, p)| p.get("active").and_then(Value::as_bool).unwrap_or(true))
        .map(|(_, p)| {
            let terms = PlanTerms {
                apr_bps: int(p, "apr_bps").max(0) as u32,
                months: int(p, "months").max(1) as u32,
            };
            let label = plan_label(&text(p, "lender"), terms, int(p, "promo_months").max(0) as u32);
            Plan { code: text(p, "code"), label, terms, min: Cents(int(p, "min_amount_cents")) }
        })
        .collect();
    plans.sort_by_key(|p| (p.terms.months, p.terms.apr_bps, p.code.clone()));
    plans
}

impl Opt {
    pub fn total(&self) -> Cents {
        option_total(self.items.iter().map(LineItem::priced))
    }

    /// This option with its monthly payment worked out on its plan as the company offers it now;
    /// a plan the company no longer offers, or one the total is below, is dropped.
    pub fn financed(mut self, plans: &[Plan]) -> Opt {
        let total = self.total();
        let plan =
            self.plan.as_deref().and_then(|code| plans.iter().find(|p| p.code == code && total >= p.min));
        self.monthly = plan.map(|p| p.terms.monthly_payment(total));
        self.plan = plan.map(|p| p.code.clone());
        self
    }

    pub fn upsert(&self, consultation: Uuid) -> Mutation {
        Mutation::OptionUpsert(OptionUpsert {
            id: self.id,
            consultation_id: consultation,
            tier: self.tier.clone(),
            position: self.position,
            line_items: self.items.clone(),
            price_cents: self.total(),
            financing_plan: self.plan.clone(),
            monthly_payment_cents: self.monthly,
            presented: self.presented,
        })
    }
}

/// The consultation's options, in tier order.
pub fn options_of(s: &SyncSnapshot, consultation: Uuid) -> Vec<Opt> {
    let id = consultation.to_string();
    let mut out: Vec<Opt> = s
        .records(Entity::Option)
        .filter(|(_, o)| text(o, "consultation_id") == id)
        .map(|(oid, o)| Opt {
            id: *oid,
            tier: text(o, "tier"),
            position: o.get("position").and_then(Value::as_u64).unwrap_or(0) as u8,
            items: serde_json::from_value(o.get("line_items").cloned().unwrap_or_default())
                .unwrap_or_default(),
            plan: o.get("financing_plan").and_then(Value::as_str).map(str::to_string),
            monthly: o.get("monthly_payment_cents").and_then(Value::as_i64).map(Cents),
            presented: o.get("presented").and_then(Value::as_bool).unwrap_or(false),
        })
        .collect();
    out.sort_by_key(|o| (o.position, o.id));
    out
}

/// A price book entry as the options screen needs it.
#[derive(Debug, Clone, PartialEq)]
struct BookItem {
    id: Uuid,
    sku: String,
    name: String,
    service: String,
    price: Cents,
    max_discount_pct: u8,
}

fn price_book(s: &SyncSnapshot) -> Vec<BookItem> {
    let mut items: Vec<BookItem> = s
        .records(Entity::PriceBookItem)
        .filter(|(_, p)| p.get("active").and_then(Value::as_bool).unwrap_or(true))
        .map(|(id, p)| BookItem {
            id: *id,
            sku: text(p, "sku"),
            name: text(p, "name"),
            service: text(p, "service_type"),
            price: Cents(p.get("price_cents").and_then(Value::as_i64).unwrap_or(0)),
            max_discount_pct: p.get("max_discount_pct").and_then(Value::as_u64).unwrap_or(0).min(100) as u8,
        })
        .collect();
    items.sort_by(|a, b| a.name.cmp(&b.name));
    items
}

/// A manager's option template for this service, its lines priced from the book as it is now.
#[derive(Debug, Clone, PartialEq)]
struct Template {
    tier: String,
    name: String,
    lines: Vec<LineItem>,
}

impl Template {
    fn total(&self) -> Cents {
        option_total(self.lines.iter().map(LineItem::priced))
    }

    /// Its place among good / better / best (0, 1, 2).
    fn position(&self) -> u8 {
        crate::api::TEMPLATE_TIERS.iter().position(|t| *t == self.tier).unwrap_or(0) as u8
    }
}

/// The service's templates in tier order; a line whose item left the book is left out, and a
/// template with no line left is not offered.
fn templates(s: &SyncSnapshot, book: &[BookItem], service: &str) -> Vec<Template> {
    let mut out: Vec<Template> = s
        .records(Entity::OptionTemplate)
        .filter(|(_, t)| text(t, "service_type") == service)
        .filter_map(|(_, t)| {
            let items: Vec<crate::api::TemplateItem> =
                serde_json::from_value(t.get("items").cloned().unwrap_or_default()).ok()?;
            let lines: Vec<LineItem> = items
                .iter()
                .filter_map(|i| {
                    let b = book.iter().find(|b| b.id == i.price_book_item_id)?;
                    Some(LineItem {
                        price_book_item_id: Some(b.id),
                        description: b.name.clone(),
                        quantity: i.quantity,
                        unit_price_cents: b.price,
                        discount_cents: Cents(0),
                    })
                })
                .collect();
            (!lines.is_empty()).then(|| Template { tier: text(t, "tier"), name: text(t, "name"), lines })
        })
        .collect();
    out.sort_by(|a, b| (a.position(), &a.name).cmp(&(b.position(), &b.name)));
    out
}

fn service_of(s: &SyncSnapshot, consultation: Uuid) -> String {
    s.get(Entity::Consultation, consultation)
        .and_then(|c| c.get("lead_id")?.as_str()?.parse().ok())
        .and_then(|l| s.get(Entity::Lead, l))
        .map(|l| text(l, "service_type"))
        .unwrap_or_default()
}

#[component]
pub fn OptionsStep(id: Uuid) -> impl IntoView {
    let sync = use_sync();
    let saver = Saver::get();
    let options = Memo::new(move |_| sync.snapshot.with(|s| options_of(s, id)));
    let book = Memo::new(move |_| sync.snapshot.with(price_book));
    let service = sync.snapshot.with_untracked(|s| service_of(s, id));
    let adding = RwSignal::new(None::<Uuid>);
    let search = RwSignal::new(String::new());
    let error = RwSignal::new(None::<String>);
    let offered = {
        let service = service.clone();
        Memo::new(move |_| sync.snapshot.with(|s| book.with(|b| templates(s, b, &service))))
    };
    let plans = Memo::new(move |_| sync.snapshot.with(plans_of));
    // The option just removed, until it is put back or another is removed.
    let removed = RwSignal::new(None::<Opt>);

    // Every change re-prices the monthly payment on the company's plan as it is now.
    let save = move |opt: Opt| {
        error.set(None);
        let opt = opt.financed(&plans.get_untracked());
        saver.queue(vec![opt.upsert(id)]);
    };
    let add_option = move |_| {
        let existing = options.get_untracked();
        let position = (0..4u8).find(|p| !existing.iter().any(|o| o.position == *p)).unwrap_or(3);
        let opt = Opt {
            id: Uuid::now_v7(),
            tier: TIER_NAMES[position as usize].to_string(),
            position,
            items: vec![],
            plan: None,
            monthly: None,
            presented: false,
        };
        adding.set(Some(opt.id));
        save(opt);
    };
    // An option made from a template, in its tier's place when free: the lines and prices of now.
    let from_template = move |t: Template| {
        let existing = options.get_untracked();
        let free = |p: u8| !existing.iter().any(|o| o.position == p);
        let Some(position) = std::iter::once(t.position()).chain(0..4).find(|p| free(*p)) else {
            return error.set(Some("Four options already: remove one to start another.".into()));
        };
        let opt = Opt {
            id: Uuid::now_v7(),
            tier: TIER_NAMES[t.position() as usize].to_string(),
            position,
            items: t.lines,
            plan: None,
            monthly: None,
            presented: false,
        };
        save(opt);
    };

    view! {
        <section data-testid="options-step">
            <h2>"Options"</h2>
            {move || error.get().map(|e| view! { <p class="error" role="alert">{e}</p> })}
            // Rebuilt when an option changes: every input here commits on change, not per key.
            {move || {
                options
                    .get()
                    .into_iter()
                    .map(|opt| view! { <OptionCard opt book plans adding search service=service.clone() save error removed /> })
                    .collect_view()
            }}
            {move || removed.get().map(|gone| {
                let back = gone.clone();
                view! {
                    <p class="undo" role="status" data-testid="option-removed">
                        {format!("{} removed. ", gone.tier)}
                        <button type="button" class="link" on:click=move |_| {
                            // Back as a new record (the removed one is gone for good), in its
                            // place if that is still free.
                            let taken: Vec<u8> = options.get_untracked().iter().map(|o| o.position).collect();
                            let Some(position) = std::iter::once(back.position).chain(0..4).find(|p| !taken.contains(p)) else {
                                return error.set(Some("Four options already: remove one to put this one back.".into()));
                            };
                            save(Opt { id: Uuid::now_v7(), position, presented: false, ..back.clone() });
                            removed.set(None);
                        }>"Undo"</button>
                    </p>
                }
            })}
            <Show when=move || options.with(|o| o.len() < 4) && offered.with(|t| !t.is_empty())>
                <div class="card templates" data-testid="option-templates">
                    <p class="small muted">"Start from your company's options:"</p>
                    {move || offered.get().into_iter().map(|t| {
                        let label = format!("{}: {} — {}", TIER_NAMES[t.position() as usize], t.name, t.total());
                        view! { <button type="button" class="wide" on:click=move |_| from_template(t.clone())>{label}</button> }
                    }).collect_view()}
                </div>
            </Show>
            <Show when=move || { options.with(|o| o.len() < 4) }>
                <button type="button" class="wide" data-testid="add-option" on:click=add_option>
                    {move || format!("Add option {}", options.with(|o| o.len() + 1))}
                </button>
            </Show>
            <Show when=move || options.with(|o| !o.is_empty())>
                <a class="button present-button" href=super::href(id, Step::Present) data-testid="present">"Show the customer ⤢"</a>
            </Show>
        </section>
        <section class="card" data-testid="options-checklist">
            <super::checklist::ChecklistItems id stage=crate::domain::checklist::Stage::Options />
        </section>
        <NextStep id to=Step::Outcome text="Next: outcome" />
    }
}

#[component]
fn OptionCard(
    opt: Opt,
    book: Memo<Vec<BookItem>>,
    plans: Memo<Vec<Plan>>,
    adding: RwSignal<Option<Uuid>>,
    search: RwSignal<String>,
    service: String,
    save: impl Fn(Opt) + Copy + Send + Sync + 'static,
    error: RwSignal<Option<String>>,
    removed: RwSignal<Option<Opt>>,
) -> impl IntoView {
    let saver = Saver::get();
    let oid = opt.id;
    let limits = move |item: &LineItem| {
        item.price_book_item_id
            .and_then(|pid| book.with(|b| b.iter().find(|x| x.id == pid).map(|x| x.max_discount_pct)))
            .unwrap_or(0)
    };
    let total = opt.total();
    let monthly = opt.monthly;
    let opt_for_items = opt.clone();
    let items = opt
        .items
        .iter()
        .enumerate()
        .map(|(n, item)| {
            let limit = max_discount(item.priced().gross(), limits(item));
            let (o1, o2, o3, o4) = (opt_for_items.clone(), opt_for_items.clone(), opt_for_items.clone(), opt_for_items.clone());
            let discount_id = format!("disc-{oid}-{n}");
            let line_total = item.priced().total();
            let discount_text = match item.discount_cents.0 {
                0 => String::new(),
                d => format!("{}.{:02}", d / 100, d % 100),
            };
            let quantity = item.quantity;
            view! {
                <li class="line" data-testid="line-item">
                    <div class="line-head">
                        <span>{item.description.clone()}</span>
                        <strong>{line_total.to_string()}</strong>
                    </div>
                    <div class="line-controls">
                        <button type="button" aria-label="One fewer" disabled=quantity <= 1 on:click=move |_| {
                            let mut o = o1.clone();
                            o.items[n].quantity = o.items[n].quantity.saturating_sub(1).max(1);
                            save(o);
                        }>"−"</button>
                        <span class="qty" aria-label="Quantity">{quantity}</span>
                        <button type="button" aria-label="One more" on:click=move |_| {
                            let mut o = o2.clone();
                            o.items[n].quantity += 1;
                            save(o);
                        }>"+"</button>
                        <span class="muted">{format!("× {}", item.unit_price_cents)}</span>
                        <button type="button" class="remove" aria-label="Remove line" on:click=move |_| {
                            let mut o = o3.clone();
                            o.items.remove(n);
                            save(o);
                        }>"×"</button>
                    </div>
                    {(limit.0 > 0).then(|| view! {
                        <label for=discount_id.clone() class="small">{format!("Discount (up to {limit})")}</label>
                        <input id=discount_id type="text" inputmode="decimal" prop:value=discount_text.clone()
                            on:change=move |ev| {
                                let raw = event_target_value(&ev);
                                let discount = if raw.trim().is_empty() { Ok(Cents(0)) } else { Cents::parse("discount", &raw) };
                                match discount {
                                    Ok(d) if d <= limit => {
                                        let mut o = o4.clone();
                                        o.items[n].discount_cents = d;
                                        save(o);
                                    }
                                    Ok(_) => error.set(Some(format!("The most you can take off this line is {limit}; ask your manager for more."))),
                                    Err(e) => error.set(Some(e.to_string())),
                                }
                            } />
                    })}
                </li>
            }
        })
        .collect_view();

    let matches = {
        let service = service.clone();
        move || {
            let q = search.get();
            book.with(|b| {
                let mut hits: Vec<BookItem> = b
                    .iter()
                    .filter(|x| crate::ui::find::every_word_in(&q, &[&x.name, &x.sku]))
                    .cloned()
                    .collect();
                // This visit's service first, then the rest (a furnace job may need a permit).
                hits.sort_by_key(|x| x.service != service);
                hits.truncate(8);
                hits
            })
        }
    };
    let opt_add = opt.clone();
    let opt_removed = opt.clone();
    let opt_tier = opt.clone();
    let opt_plan = opt.clone();
    let tier_id = format!("tier-{oid}");
    let plan_id = format!("plan-{oid}");
    let search_id = format!("search-{oid}");
    let current_plan = opt.plan.clone().unwrap_or_default();
    view! {
        <article class="card option" data-testid="option" data-tier=opt.tier.clone()>
            <div class="option-head">
                <label for=tier_id.clone() class="visually-hidden">"Option name"</label>
                <input id=tier_id class="tier" prop:value=opt.tier.clone() maxlength="40"
                    on:change=move |ev| {
                        let tier = event_target_value(&ev);
                        if tier.trim().is_empty() {
                            return error.set(Some("Name the option, e.g. Good.".into()));
                        }
                        save(Opt { tier, ..opt_tier.clone() });
                    } />
                <strong class="total" data-testid="option-total">{total.to_string()}</strong>
            </div>
            <ul class="list lines">{items}</ul>
            <Show
                when=move || adding.get() == Some(oid)
                fallback=move || view! {
                    <button type="button" class="wide" on:click=move |_| adding.set(Some(oid))>"+ Add from price book"</button>
                }
            >
                <label for=search_id.clone()>"Search the price book"</label>
                <input id=search_id.clone() type="search" placeholder="e.g. furnace, SEER, permit" bind:value=search />
                <ul class="list picks" data-testid="price-book-results">
                    {
                        let matches = matches.clone();
                        let opt_add = opt_add.clone();
                        move || matches().into_iter().map(|x| {
                            let opt_add = opt_add.clone();
                            let x2 = x.clone();
                            view! {
                                <li>
                                    <button type="button" class="pick" on:click=move |_| {
                                        let mut o = opt_add.clone();
                                        o.items.push(LineItem {
                                            price_book_item_id: Some(x2.id),
                                            description: x2.name.clone(),
                                            quantity: 1,
                                            unit_price_cents: x2.price,
                                            discount_cents: Cents(0),
                                        });
                                        save(o);
                                    }>
                                        <span>{x.name.clone()}</span>
                                        <strong>{x.price.to_string()}</strong>
                                    </button>
                                </li>
                            }
                        }).collect_view()
                    }
                </ul>
                <button type="button" on:click=move |_| adding.set(None)>"Done adding"</button>
            </Show>
            <label for=plan_id.clone()>"Financing"</label>
            <select id=plan_id on:change=move |ev| {
                let code = event_target_value(&ev);
                save(Opt { plan: (!code.is_empty()).then_some(code), ..opt_plan.clone() });
            }>
                <option value="" selected=current_plan.is_empty()>"No financing"</option>
                {plans.get_untracked().into_iter().map(|p| {
                    let under = total < p.min;
                    let label = if under { format!("{} (from {})", p.label, p.min) } else { p.label.clone() };
                    view! { <option value=p.code.clone() selected=p.code == current_plan disabled=under>{label}</option> }
                }).collect_view()}
            </select>
            {monthly.map(|m| view! { <p class="monthly" data-testid="monthly">{format!("or {m} a month")}</p> })}
            <button type="button" class="link danger" on:click=move |_| {
                removed.set(Some(opt_removed.clone()));
                saver.queue(vec![Mutation::Delete(DeleteRecord { entity: Entity::Option, id: oid })]);
            }>"Remove this option"</button>
        </article>
    }
}
