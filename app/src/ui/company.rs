//! The company profile card on `/settings` (managers): name, trades, time zone, and the logo and
//! terms a customer sees on the presentation and the proposal. Online, like the other editors.

use crate::{api::CompanyProfile, domain::Trade, sync::device::transport};
use leptos::prelude::*;

/// The largest logo accepted: it travels to every device and sits on the presentation.
const MAX_LOGO_BYTES: f64 = 1_000_000.0;

#[component]
pub fn CompanyCard() -> impl IntoView {
    let loaded = LocalResource::new(|| async {
        transport::get_json::<CompanyProfile>("/api/company").await.map_err(|f| f.into_detail().message)
    });
    view! {
        <Suspense fallback=|| view! { <p>"Loading the company profile…"</p> }>
            {move || loaded.get().map(|r| match r {
                Ok(profile) => view! { <CompanyForm profile /> }.into_any(),
                Err(m) => view! { <p class="error" role="alert">{m}</p> }.into_any(),
            })}
        </Suspense>
    }
}

#[component]
fn CompanyForm(profile: CompanyProfile) -> impl IntoView {
    let name = RwSignal::new(profile.name.clone());
    let zone = RwSignal::new(profile.time_zone.clone());
    let trades = RwSignal::new(profile.trades.clone());
    let logo = RwSignal::new(profile.logo_sha256.clone());
    let terms = RwSignal::new(profile.proposal_terms.clone());
    let message = RwSignal::new(None::<Result<String, String>>);
    let save = Action::new_local(move |p: &CompanyProfile| {
        let p = p.clone();
        async move {
            transport::put_json::<_, CompanyProfile>("/api/company", &p)
                .await
                .map(|_| {
                    "Saved. Devices show the new name, logo and terms after their next sign-in check."
                        .to_string()
                })
                .map_err(|f| f.into_detail().message)
        }
    });
    Effect::new(move |_| {
        if let Some(r) = save.value().get() {
            message.set(Some(r));
        }
    });
    let on_submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        save.dispatch(CompanyProfile {
            name: name.get_untracked(),
            trades: trades.get_untracked(),
            time_zone: zone.get_untracked(),
            logo_sha256: logo.get_untracked(),
            proposal_terms: terms.get_untracked(),
        });
    };
    let on_logo = move |ev: leptos::ev::Event| {
        #[cfg(feature = "hydrate")]
        {
            use wasm_bindgen::JsCast;
            let Some(file) = ev
                .target()
                .and_then(|t| t.dyn_into::<web_sys::HtmlInputElement>().ok())
                .and_then(|i| i.files())
                .and_then(|l| l.get(0))
            else {
                return;
            };
            if file.size() > MAX_LOGO_BYTES {
                message.set(Some(Err("The logo must be under 1 MB: export a smaller PNG or JPEG.".into())));
                return;
            }
            leptos::task::spawn_local(async move {
                let uploaded = async {
                    let sha = crate::ui::media::sha256_hex(&file).await?;
                    transport::put_blob(&format!("/api/blobs/{sha}"), &file.type_(), file.into())
                        .await
                        .map_err(|f| f.into_detail().message)?;
                    Ok::<_, String>(sha)
                };
                match uploaded.await {
                    Ok(sha) => {
                        crate::ui::set_if_alive(logo, Some(sha));
                        crate::ui::set_if_alive(message, Some(Ok("Logo uploaded: save to use it.".into())));
                    }
                    Err(e) => crate::ui::set_if_alive(message, Some(Err(e))),
                }
            });
        }
        #[cfg(not(feature = "hydrate"))]
        let _ = (ev, MAX_LOGO_BYTES);
    };
    view! {
        <form class="card stack" on:submit=on_submit data-testid="company-form">
            <h2>"Company profile"</h2>
            <label for="co-name">"Company name"</label>
            <input id="co-name" prop:value=move || name.get() on:input=move |ev| name.set(event_target_value(&ev)) />
            <fieldset>
                <legend>"Trades"</legend>
                {Trade::ALL.into_iter().map(|t| {
                    let key = t.as_str().to_string();
                    let k = key.clone();
                    view! {
                        <label class="inline">
                            <input type="checkbox" prop:checked=move || trades.with(|ts| ts.contains(&k))
                                on:change=move |ev| {
                                    let on = event_target_checked(&ev);
                                    let key = key.clone();
                                    trades.update(|ts| {
                                        ts.retain(|x| *x != key);
                                        if on { ts.push(key); }
                                    });
                                } />
                            {format!(" {}", t.label())}
                        </label>
                    }
                }).collect_view()}
            </fieldset>
            <label for="co-zone">"Time zone (your reports' days and weeks)"</label>
            <input id="co-zone" prop:value=move || zone.get() on:input=move |ev| zone.set(event_target_value(&ev))
                placeholder="America/Chicago" />
            <label for="co-logo">"Logo (PNG, JPEG or WebP, under 1 MB), shown to customers on the presentation"</label>
            {move || logo.get().map(|sha| view! { <img class="company-logo" alt="Your logo" src=format!("/api/blobs/{sha}") /> })}
            <input id="co-logo" type="file" accept="image/png,image/jpeg,image/webp" on:change=on_logo />
            {move || logo.get().is_some().then(|| view! {
                <button type="button" on:click=move |_| logo.set(None)>"Remove the logo"</button>
            })}
            <label for="co-terms">"Proposal terms (printed under every proposal the customer signs)"</label>
            <textarea id="co-terms" rows="6" maxlength=crate::api::MAX_PROPOSAL_TERMS.to_string()
                placeholder="Deposit, warranty, cancellation, license number…"
                prop:value=move || terms.get() on:input=move |ev| terms.set(event_target_value(&ev))></textarea>
            <button type="submit" class="primary" disabled=move || save.pending().get()>"Save profile"</button>
            {move || message.get().map(|r| match r {
                Ok(t) => view! { <p class="ok" role="status">{t}</p> }.into_any(),
                Err(t) => view! { <p class="error" role="alert">{t}</p> }.into_any(),
            })}
        </form>
    }
}
