//! The marketing spend card on `/settings` (managers): a month's spend per lead source (and
//! campaign), entered one at a time or pasted as CSV, and the months entered so far. The
//! numbers it buys are on the reports page ("Marketing spend"). Online only.

use super::visit::label;
use crate::{
    api::{MarketingSpend, MarketingSpendKey},
    domain::Cents,
    sync::{device::transport, mutation::LEAD_SOURCES},
};
use leptos::prelude::*;
use serde_json::Value;

/// This month, `2026-11`, in the device's time.
fn this_month() -> String {
    crate::ui::clock::format(chrono::Utc::now(), "%Y-%m")
}

#[component]
pub fn MarketingSpendCard() -> impl IntoView {
    let version = RwSignal::new(0u32);
    let entered = LocalResource::new(move || {
        version.track();
        async {
            transport::get_json::<Vec<MarketingSpend>>("/api/marketing-spend")
                .await
                .map_err(|f| f.into_detail().message)
        }
    });
    let month = RwSignal::new(this_month());
    let source = RwSignal::new(LEAD_SOURCES[0].to_string());
    let campaign = RwSignal::new(String::new());
    let amount = RwSignal::new(String::new());
    let message = RwSignal::new(None::<Result<String, String>>);
    let save = Action::new_local(move |spend: &MarketingSpend| {
        let spend = spend.clone();
        async move {
            match transport::put_json::<_, MarketingSpend>("/api/marketing-spend", &spend).await {
                Ok(saved) => {
                    let _ = version.try_update(|v| *v += 1);
                    crate::ui::set_if_alive(amount, String::new());
                    crate::ui::set_if_alive(
                        message,
                        Some(Ok(format!(
                            "Saved: {} {} for {}.",
                            Cents(saved.amount_cents),
                            label(&saved.source),
                            saved.month
                        ))),
                    );
                }
                Err(f) => crate::ui::set_if_alive(message, Some(Err(f.into_detail().message))),
            }
        }
    });
    let clear = Action::new_local(move |key: &MarketingSpendKey| {
        let key = key.clone();
        async move {
            match transport::delete_with("/api/marketing-spend", &key).await {
                Ok(()) => {
                    let _ = version.try_update(|v| *v += 1);
                }
                Err(f) => crate::ui::set_if_alive(message, Some(Err(f.into_detail().message))),
            }
        }
    });
    let on_submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        match Cents::parse("amount", &amount.get_untracked()) {
            Ok(cents) => {
                save.dispatch(MarketingSpend {
                    month: month.get_untracked(),
                    source: source.get_untracked(),
                    campaign: campaign.get_untracked().trim().to_string(),
                    amount_cents: cents.0,
                });
            }
            Err(e) => message.set(Some(Err(e.to_string()))),
        }
    };
    view! {
        <section class="card stack" id="marketing-spend" data-testid="marketing-spend">
            <h2>"Marketing spend"</h2>
            <p class="muted">"What you paid each month per lead source. The reports page divides it by the leads, visits and sales it brought."</p>
            <form class="stack" on:submit=on_submit>
                <label for="spend-month">"Month"</label>
                <input id="spend-month" type="month" required bind:value=month />
                <label for="spend-source">"Source"</label>
                <select id="spend-source" on:change=move |ev| source.set(event_target_value(&ev))>
                    {LEAD_SOURCES.iter().map(|s| view! { <option value=*s>{label(s)}</option> }).collect_view()}
                </select>
                <label for="spend-campaign">"Campaign (optional: the utm_campaign of its ads)"</label>
                <input id="spend-campaign" maxlength="200" bind:value=campaign />
                <label for="spend-amount">"Amount ($)"</label>
                <input id="spend-amount" inputmode="decimal" required placeholder="1,250.00" bind:value=amount />
                <button type="submit" class="primary" disabled=move || save.pending().get()>"Save spend"</button>
            </form>
            {move || message.get().map(|m| match m {
                Ok(t) => view! { <p class="ok" role="status">{t}</p> }.into_any(),
                Err(t) => view! { <p class="error" role="alert">{t}</p> }.into_any(),
            })}
            <Suspense fallback=|| view! { <p>"Loading…"</p> }>
                {move || entered.get().map(|r| match r {
                    Ok(rows) if rows.is_empty() => view! { <p class="muted">"Nothing entered yet."</p> }.into_any(),
                    Ok(rows) => view! {
                        <div class="scroll"><table data-testid="spend-rows">
                            <thead><tr><th>"Month"</th><th>"Source"</th><th>"Campaign"</th><th>"Amount"</th><th></th></tr></thead>
                            <tbody>{rows.into_iter().take(60).map(|r| {
                                let key = MarketingSpendKey { month: r.month.clone(), source: r.source.clone(), campaign: r.campaign.clone() };
                                view! { <tr>
                                    <td>{r.month.clone()}</td><td>{label(&r.source)}</td><td>{r.campaign.clone()}</td>
                                    <td>{Cents(r.amount_cents).to_string()}</td>
                                    <td><button type="button" class="link-button" on:click=move |_| { clear.dispatch(key.clone()); }>"Remove"</button></td>
                                </tr> }
                            }).collect_view()}</tbody>
                        </table></div>
                    }.into_any(),
                    Err(m) => view! { <p class="error" role="alert">{m}</p> }.into_any(),
                })}
            </Suspense>
            <SpendCsv on_imported=move || version.update(|v| *v += 1) />
        </section>
    }
}

/// Paste a CSV of `month,source,campaign,amount`: all of it is imported, or none and each bad
/// line says why.
#[component]
fn SpendCsv(on_imported: impl Fn() + Copy + 'static) -> impl IntoView {
    let text = RwSignal::new(String::new());
    let report = RwSignal::new(None::<Result<Value, String>>);
    let run = Action::new_local(move |_: &()| {
        let body = text.get_untracked();
        async move {
            transport::post_text("/api/marketing-spend/import", "text/csv", body)
                .await
                .map_err(|f| f.into_detail().message)
        }
    });
    Effect::new(move |_| {
        if let Some(result) = run.value().get() {
            if result.as_ref().is_ok_and(|r| r["errors"].as_array().is_some_and(Vec::is_empty)) {
                on_imported();
            }
            report.set(Some(result));
        }
    });
    view! {
        <details>
            <summary>"Import a CSV"</summary>
            <label for="spend-csv">"Paste a CSV with the columns month, source, campaign (optional), amount"</label>
            <textarea id="spend-csv" rows="4" placeholder="month,source,campaign,amount\n2026-11,google_ads,furnace,1250.00" bind:value=text></textarea>
            <button type="button" on:click=move |_| { run.dispatch(()); }>"Import"</button>
            {move || report.get().map(|r| match r {
                Ok(r) => {
                    let errors = r["errors"].as_array().cloned().unwrap_or_default();
                    if errors.is_empty() {
                        view! { <p class="ok" role="status">{format!("Imported {} rows.", r["imported"])}</p> }.into_any()
                    } else {
                        view! { <super::price_book::ImportErrors errors /> }.into_any()
                    }
                }
                Err(m) => view! { <p class="error" role="alert">{m}</p> }.into_any(),
            })}
        </details>
    }
}
