//! The financing plans section of `/price-book` (managers): the company's lenders and terms,
//! which technicians offer on every option (offline too) with the monthly payment worked out.

use crate::{
    api::FinancingPlanRow,
    domain::{
        pricing::{percent, plan_label},
        Cents,
    },
    sync::device::transport,
};
use leptos::prelude::*;
use uuid::Uuid;

/// "9.99" or "9.99%" as basis points (999).
fn apr_bps(typed: &str) -> Result<i32, String> {
    let t = typed.trim().trim_end_matches('%').trim();
    let (whole, frac) = t.split_once('.').unwrap_or((t, ""));
    if whole.is_empty() || frac.len() > 2 || !whole.bytes().chain(frac.bytes()).all(|b| b.is_ascii_digit()) {
        return Err(format!("APR: {typed:?} is not a rate like 9.99"));
    }
    let frac = format!("{frac:0<2}");
    Ok(whole.parse::<i32>().map_err(|_| format!("APR: {typed:?} is too large"))? * 100
        + frac.parse::<i32>().unwrap_or(0))
}

fn describe(p: &FinancingPlanRow) -> String {
    let mut s = plan_label(&p.lender, p.terms(), p.promo_months.max(0) as u32);
    if p.min_amount_cents > 0 {
        s.push_str(&format!(", from {}", Cents(p.min_amount_cents)));
    }
    if !p.active {
        s.push_str(" · not offered");
    }
    s
}

#[component]
pub fn FinancingPlans() -> impl IntoView {
    let plans = LocalResource::new(|| async {
        transport::get_json::<Vec<FinancingPlanRow>>("/api/financing-plans")
            .await
            .map_err(|f| f.into_detail().message)
    });
    let editing = RwSignal::new(None::<FinancingPlanRow>);
    let lender = RwSignal::new(String::new());
    let apr = RwSignal::new(String::new());
    let months = RwSignal::new("60".to_string());
    let min = RwSignal::new(String::new());
    let promo = RwSignal::new("0".to_string());
    let active = RwSignal::new(true);
    let message = RwSignal::new(None::<Result<String, String>>);
    Effect::new(move |_| {
        let p = editing.get();
        lender.set(p.as_ref().map(|p| p.lender.clone()).unwrap_or_default());
        apr.set(p.as_ref().map(|p| percent(p.apr_bps.max(0) as u32)).unwrap_or_default());
        months.set(p.as_ref().map_or(60, |p| p.months).to_string());
        min.set(
            p.as_ref()
                .filter(|p| p.min_amount_cents > 0)
                .map(|p| Cents(p.min_amount_cents).decimal())
                .unwrap_or_default(),
        );
        promo.set(p.as_ref().map_or(0, |p| p.promo_months).to_string());
        active.set(p.as_ref().is_none_or(|p| p.active));
    });
    let save = Action::new_local(move |p: &FinancingPlanRow| {
        let p = p.clone();
        async move {
            let saved = match p.id {
                Some(id) => {
                    transport::put_json::<_, FinancingPlanRow>(&format!("/api/financing-plans/{id}"), &p)
                        .await
                }
                None => transport::post_json::<_, FinancingPlanRow>("/api/financing-plans", &p).await,
            };
            saved.map(|p| format!("Saved: {}.", describe(&p))).map_err(|f| f.into_detail().message)
        }
    });
    let remove = Action::new_local(move |id: &Uuid| {
        let url = format!("/api/financing-plans/{id}");
        async move {
            transport::delete(&url).await.map(|_| "Removed.".to_string()).map_err(|f| f.into_detail().message)
        }
    });
    Effect::new(move |_| {
        for r in [save.value().get(), remove.value().get()].into_iter().flatten() {
            if r.is_ok() {
                editing.set(None);
                plans.refetch();
            }
            message.set(Some(r));
        }
    });
    let on_submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let read = || -> Result<FinancingPlanRow, String> {
            let number = |name: &str, v: String| {
                v.trim().parse::<i32>().map_err(|_| format!("{name}: {v:?} is not a number"))
            };
            let min = match min.get_untracked().trim() {
                "" => 0,
                t => Cents::parse("minimum", t).map_err(|e| e.to_string())?.0,
            };
            Ok(FinancingPlanRow {
                id: editing.get_untracked().and_then(|p| p.id),
                code: None,
                lender: lender.get_untracked(),
                apr_bps: apr_bps(&apr.get_untracked())?,
                months: number("months", months.get_untracked())?,
                min_amount_cents: min,
                promo_months: number("promotional months", promo.get_untracked())?,
                active: active.get_untracked(),
            })
        };
        match read() {
            Ok(p) => {
                save.dispatch(p);
            }
            Err(e) => message.set(Some(Err(e))),
        }
    };
    view! {
        <section class="card stack" data-testid="financing-editor">
            <h2>"Financing plans"</h2>
            <p class="muted small">"Offered on every option, with the monthly payment worked out on the device."</p>
            <Suspense fallback=|| view! { <p>"Loading…"</p> }>
                {move || plans.get().map(|r| match r {
                    Ok(list) if list.is_empty() => view! { <p class="muted">"No plans: options are quoted without financing."</p> }.into_any(),
                    Ok(list) => view! {
                        <ul class="list" data-testid="plan-list">
                            {list.into_iter().map(|p| {
                                let shown = p.clone();
                                let id = p.id;
                                view! {
                                    <li class:inactive=!p.active>
                                        <button type="button" class="link-button" on:click=move |_| editing.set(Some(shown.clone()))>
                                            {describe(&p)}
                                        </button>
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
            <form class="stack" on:submit=on_submit data-testid="plan-form">
                <h3>{move || if editing.get().is_some() { "Change the plan" } else { "New plan" }}</h3>
                <label for="plan-lender">"Lender"</label>
                <input id="plan-lender" prop:value=move || lender.get() on:input=move |ev| lender.set(event_target_value(&ev)) />
                <label for="plan-apr">"APR (%)"</label>
                <input id="plan-apr" inputmode="decimal" placeholder="9.99" prop:value=move || apr.get() on:input=move |ev| apr.set(event_target_value(&ev)) />
                <label for="plan-months">"Months"</label>
                <input id="plan-months" inputmode="numeric" prop:value=move || months.get() on:input=move |ev| months.set(event_target_value(&ev)) />
                <label for="plan-min">"Smallest amount financed ($, optional)"</label>
                <input id="plan-min" inputmode="decimal" prop:value=move || min.get() on:input=move |ev| min.set(event_target_value(&ev)) />
                <label for="plan-promo">"Months without interest if paid in full (0: none)"</label>
                <input id="plan-promo" inputmode="numeric" prop:value=move || promo.get() on:input=move |ev| promo.set(event_target_value(&ev)) />
                <label class="inline">
                    <input type="checkbox" prop:checked=move || active.get() on:change=move |ev| active.set(event_target_checked(&ev)) />
                    " Offered to customers"
                </label>
                <button type="submit" class="primary" disabled=move || save.pending().get()>"Save plan"</button>
                {move || editing.get().is_some().then(|| view! { <button type="button" on:click=move |_| editing.set(None)>"Cancel"</button> })}
                {move || message.get().map(|r| match r {
                    Ok(t) => view! { <p class="ok" role="status">{t}</p> }.into_any(),
                    Err(t) => view! { <p class="error" role="alert">{t}</p> }.into_any(),
                })}
            </form>
        </section>
    }
}

#[cfg(test)]
mod tests {
    use super::apr_bps;

    #[test]
    fn rates_read_as_people_type_them() {
        assert_eq!(apr_bps("9.99"), Ok(999));
        assert_eq!(apr_bps("9.9%"), Ok(990));
        assert_eq!(apr_bps(" 0 "), Ok(0));
        assert_eq!(apr_bps("12"), Ok(1200));
        assert!(apr_bps("9.999").is_err());
        assert!(apr_bps("nine").is_err());
        assert!(apr_bps("").is_err());
    }
}
