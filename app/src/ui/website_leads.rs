//! The website lead form card on `/settings` (managers): the form's address with the company
//! key, the sites allowed to post to it, a new key (the old one stops at once), and a form and
//! a `fetch` snippet ready to paste into the company's site.

use crate::{api::IntakeSettings, sync::device::transport};
use leptos::prelude::*;

#[component]
pub fn WebsiteLeadsCard() -> impl IntoView {
    let loaded = LocalResource::new(|| async {
        transport::get_json::<IntakeSettings>("/api/intake-settings")
            .await
            .map_err(|f| f.into_detail().message)
    });
    view! {
        <Suspense fallback=|| view! { <p>"Loading the website form…"</p> }>
            {move || loaded.get().map(|r| match r {
                Ok(settings) => view! { <WebsiteLeads settings /> }.into_any(),
                Err(m) => view! { <p class="error" role="alert">{m}</p> }.into_any(),
            })}
        </Suspense>
    }
}

/// This app's own address, where the website posts to.
fn app_origin() -> String {
    #[cfg(feature = "hydrate")]
    {
        web_sys::window().and_then(|w| w.location().origin().ok()).unwrap_or_default()
    }
    #[cfg(not(feature = "hydrate"))]
    String::new()
}

/// A plain HTML form: works without script; the hidden `website` field is the honeypot, and
/// the one line of script gives each form shown its own idempotency key.
pub fn html_snippet(endpoint: &str) -> String {
    format!(
        r#"<form method="post" action="{endpoint}">
  <input name="name" placeholder="Your name" required>
  <input name="phone" type="tel" placeholder="Phone">
  <input name="email" type="email" placeholder="Email">
  <input name="address" placeholder="Address">
  <select name="service"><option value="hvac">Heating & cooling</option><option value="plumbing">Plumbing</option><option value="electrical">Electrical</option><option value="other">Something else</option></select>
  <textarea name="message" placeholder="What can we help with?"></textarea>
  <input name="website" tabindex="-1" autocomplete="off" style="position:absolute;left:-9999px" aria-hidden="true">
  <input type="hidden" name="idempotency_key">
  <input type="hidden" name="utm_source"><input type="hidden" name="utm_medium"><input type="hidden" name="utm_campaign">
  <button>Request a visit</button>
</form>
<script>
document.querySelectorAll('form[action="{endpoint}"]').forEach(function (f) {{
  f.idempotency_key.value = crypto.randomUUID();
  var q = new URLSearchParams(location.search);
  ['utm_source', 'utm_medium', 'utm_campaign'].forEach(function (k) {{ if (q.get(k)) f[k].value = q.get(k); }});
}});
</script>"#
    )
}

pub fn fetch_snippet(endpoint: &str) -> String {
    format!(
        r#"await fetch("{endpoint}", {{
  method: "POST",
  headers: {{ "Content-Type": "application/json", "Idempotency-Key": crypto.randomUUID() }},
  body: JSON.stringify({{ name, phone, email, address, service: "hvac", message,
                          utm_source, utm_campaign }}),
}}); // 201: a new lead; 200: received before; 422: the field named in error.field"#
    )
}

#[component]
fn WebsiteLeads(settings: IntakeSettings) -> impl IntoView {
    let key = RwSignal::new(settings.key.clone());
    let origins = RwSignal::new(settings.allowed_origins.join("\n"));
    let message = RwSignal::new(None::<Result<String, String>>);
    let endpoint = Memo::new(move |_| format!("{}/api/intake/{}", app_origin(), key.get()));
    let save = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let body = IntakeSettings {
            key: String::new(),
            allowed_origins: origins
                .get_untracked()
                .lines()
                .map(str::trim)
                .filter(|l| !l.is_empty())
                .map(str::to_string)
                .collect(),
        };
        leptos::task::spawn_local(async move {
            let r = transport::put_json::<_, IntakeSettings>("/api/intake-settings", &body).await;
            message.set(Some(match r {
                Ok(s) => {
                    origins.set(s.allowed_origins.join("\n"));
                    Ok("Saved: these sites may post leads.".into())
                }
                Err(f) => Err(f.into_detail().message),
            }));
        });
    };
    let rotate = move |_| {
        #[cfg(feature = "hydrate")]
        {
            let sure = web_sys::window()
                .and_then(|w| {
                    w.confirm_with_message(
                        "Make a new key? The form on your website stops working until you paste the new one.",
                    )
                    .ok()
                })
                .unwrap_or(false);
            if !sure {
                return;
            }
        }
        leptos::task::spawn_local(async move {
            let r = transport::post_json::<_, IntakeSettings>("/api/intake-settings/rotate", &()).await;
            message.set(Some(match r {
                Ok(s) => {
                    key.set(s.key);
                    Ok("New key made: paste the new form into your website.".into())
                }
                Err(f) => Err(f.into_detail().message),
            }));
        });
    };
    view! {
        <form class="card stack" on:submit=save data-testid="website-leads">
            <h2>"Website leads"</h2>
            <p class="muted">"Enquiries from your website's form arrive in Leads at once, with their source and campaign."</p>
            <label for="intake-endpoint">"Your form's address"</label>
            <input id="intake-endpoint" readonly prop:value=move || endpoint.get() data-testid="intake-endpoint" />
            <label for="intake-origins">"Your website's address(es), one per line (pages there may send leads)"</label>
            <textarea id="intake-origins" rows="2" placeholder="https://www.example.com" bind:value=origins></textarea>
            <button type="submit" class="primary">"Save sites"</button>
            <button type="button" on:click=rotate>"Make a new key"</button>
            {move || message.get().map(|r| match r {
                Ok(t) => view! { <p class="ok" role="status">{t}</p> }.into_any(),
                Err(t) => view! { <p class="error" role="alert">{t}</p> }.into_any(),
            })}
            <details>
                <summary>"Form to paste into your website"</summary>
                <pre class="snippet" data-testid="intake-html">{move || html_snippet(&endpoint.get())}</pre>
            </details>
            <details>
                <summary>"Or send from your own script"</summary>
                <pre class="snippet">{move || fetch_snippet(&endpoint.get())}</pre>
            </details>
        </form>
    }
}
