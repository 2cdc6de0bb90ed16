//! The account page's notifications card: turn Web Push on or off for this device, and choose
//! which kinds of notice to get (server/src/push). Without push support or permission the app
//! works as before: new leads and visits show as badges on its tabs.

use crate::{
    api::{NotifyPreferences, PushKey, PushUnsubscribe},
    domain::Role,
    sync::device::transport,
};
use leptos::prelude::*;

/// What this device can do about notifications.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(not(feature = "hydrate"), allow(dead_code))] // only a browser finds out
enum DeviceState {
    Checking,
    /// No service worker, Push API or Notification API (an older iPhone outside the home screen).
    Unsupported,
    /// The person (or the browser) said no; only the browser's site settings can undo it.
    Blocked,
    Off,
    On,
}

/// The kinds of notice that can reach each role.
fn kinds(role: Role) -> &'static [(&'static str, &'static str)] {
    const NEW_LEAD: (&str, &str) = ("new_lead", "A new website lead is waiting (the office only while open)");
    const VISIT: (&str, &str) = ("visit", "A visit is booked, moved or cancelled for me");
    const FOLLOW_UP: (&str, &str) = ("follow_up", "Someone hands me a follow-up");
    match role {
        Role::Technician => &[VISIT, FOLLOW_UP],
        Role::SalesRep => &[FOLLOW_UP],
        Role::Manager => &[NEW_LEAD, FOLLOW_UP],
        Role::Office => &[NEW_LEAD],
    }
}

fn is_on(p: &NotifyPreferences, kind: &str) -> bool {
    match kind {
        "new_lead" => p.new_lead,
        "visit" => p.visit,
        _ => p.follow_up,
    }
}

fn with(p: &NotifyPreferences, kind: &str, on: bool) -> NotifyPreferences {
    let mut p = p.clone();
    match kind {
        "new_lead" => p.new_lead = on,
        "visit" => p.visit = on,
        _ => p.follow_up = on,
    }
    p
}

#[component]
pub fn NotificationsCard(role: Role) -> impl IntoView {
    let device = RwSignal::new(DeviceState::Checking);
    let prefs = RwSignal::new(None::<NotifyPreferences>);
    let message = RwSignal::new(None::<Result<String, String>>);
    Effect::new(move |_| {
        leptos::task::spawn_local(async move {
            crate::ui::set_if_alive(device, browser::state().await);
            match transport::get_json::<NotifyPreferences>("/api/push/preferences").await {
                Ok(p) => crate::ui::set_if_alive(prefs, Some(p)),
                Err(f) => crate::ui::set_if_alive(message, Some(Err(f.into_detail().message))),
            }
        });
    });
    let switch = Action::new_local(move |on: &bool| {
        let on = *on;
        async move {
            let result = if on { turn_on().await } else { turn_off().await };
            crate::ui::set_if_alive(device, browser::state().await);
            if let Ok(p) = transport::get_json::<NotifyPreferences>("/api/push/preferences").await {
                crate::ui::set_if_alive(prefs, Some(p));
            }
            crate::ui::set_if_alive(message, Some(result));
        }
    });
    let choose = Action::new_local(move |next: &NotifyPreferences| {
        let next = next.clone();
        async move {
            match transport::put_json::<_, NotifyPreferences>("/api/push/preferences", &next).await {
                Ok(p) => {
                    crate::ui::set_if_alive(prefs, Some(p));
                    crate::ui::set_if_alive(message, Some(Ok("Saved.".into())));
                }
                Err(f) => crate::ui::set_if_alive(message, Some(Err(f.into_detail().message))),
            }
        }
    });
    view! {
        <section class="card stack" data-testid="notifications">
            <h2>"Notifications"</h2>
            {move || match device.get() {
                DeviceState::Checking => view! { <p class="muted">"Checking this device…"</p> }.into_any(),
                DeviceState::Unsupported => view! {
                    <p class="muted" data-testid="push-unsupported">
                        "This browser cannot show notifications. New leads and visits still show as badges on the tabs. "
                        "On an iPhone, add Fieldclose to the home screen first."
                    </p>
                }.into_any(),
                DeviceState::Blocked => view! {
                    <p class="muted" data-testid="push-blocked">
                        "Notifications are blocked for this site. Allow them in the browser's site settings, then come back here."
                    </p>
                }.into_any(),
                DeviceState::Off => view! {
                    <p class="muted">"Off on this device."</p>
                    <button type="button" class="primary" data-testid="push-on"
                        disabled=move || switch.pending().get() on:click=move |_| { switch.dispatch(true); }>
                        "Turn on notifications on this device"
                    </button>
                }.into_any(),
                DeviceState::On => view! {
                    <p data-testid="push-state">"On for this device."</p>
                    <button type="button" data-testid="push-off"
                        disabled=move || switch.pending().get() on:click=move |_| { switch.dispatch(false); }>
                        "Turn off on this device"
                    </button>
                }.into_any(),
            }}
            {move || prefs.get().map(|p| {
                let devices = p.devices;
                view! {
                    <fieldset class="stack">
                        <legend>"Tell me when"</legend>
                        {kinds(role).iter().map(|&(kind, label)| {
                            let checked = is_on(&p, kind);
                            let current = p.clone();
                            view! {
                                <label class="check">
                                    <input type="checkbox" name=kind checked=checked
                                        on:change=move |ev| { choose.dispatch(with(&current, kind, event_target_checked(&ev))); } />
                                    {label}
                                </label>
                            }
                        }).collect_view()}
                    </fieldset>
                    <p class="muted">{match devices {
                        0 => "None of your devices gets notifications yet.".to_string(),
                        1 => "1 of your devices gets notifications.".to_string(),
                        n => format!("{n} of your devices get notifications."),
                    }}</p>
                }
            })}
            {move || message.get().map(|m| match m {
                Ok(text) => view! { <p class="ok" role="status">{text}</p> }.into_any(),
                Err(text) => view! { <p class="error" role="alert">{text}</p> }.into_any(),
            })}
        </section>
    }
}

async fn turn_on() -> Result<String, String> {
    let key = transport::get_json::<PushKey>("/api/push/key").await.map_err(|f| f.into_detail().message)?;
    let subscription = browser::subscribe(&key.public_key).await?;
    transport::put_for_no_content("/api/push/subscription", &subscription)
        .await
        .map_err(|f| f.into_detail().message)?;
    Ok("Notifications are on for this device.".into())
}

async fn turn_off() -> Result<String, String> {
    if let Some(endpoint) = browser::unsubscribe().await? {
        transport::delete_with("/api/push/subscription", &PushUnsubscribe { endpoint })
            .await
            .map_err(|f| f.into_detail().message)?;
    }
    Ok("Notifications are off for this device.".into())
}

#[cfg(feature = "hydrate")]
mod browser {
    use super::DeviceState;
    use crate::api::PushSubscriptionIn;
    use wasm_bindgen::{JsCast, JsValue};
    use wasm_bindgen_futures::JsFuture;

    fn text(e: JsValue) -> String {
        e.as_string()
            .or_else(|| js_sys::Reflect::get(&e, &"message".into()).ok().and_then(|m| m.as_string()))
            .unwrap_or_else(|| "the browser refused".into())
    }

    fn supported() -> bool {
        let Some(window) = web_sys::window() else { return false };
        ["PushManager", "Notification"]
            .iter()
            .all(|api| js_sys::Reflect::has(&window, &(*api).into()).unwrap_or(false))
            && js_sys::Reflect::has(&window.navigator(), &"serviceWorker".into()).unwrap_or(false)
    }

    /// The service worker's registration; it may never be ready (its install failed), so this
    /// gives up after a few seconds rather than leave the card checking for ever.
    async fn registration() -> Result<web_sys::ServiceWorkerRegistration, String> {
        use futures_util::future::{select, Either};
        let window = web_sys::window().ok_or("no window")?;
        let ready = JsFuture::from(window.navigator().service_worker().ready().map_err(text)?);
        let timeout = gloo_timers::future::TimeoutFuture::new(5_000);
        match select(ready, timeout).await {
            Either::Left((ready, _)) => {
                ready.map_err(text)?.dyn_into().map_err(|_| "no service worker".to_string())
            }
            Either::Right(_) => {
                Err("The app's offline worker is not running; reload the page and try again.".into())
            }
        }
    }

    async fn current() -> Result<Option<web_sys::PushSubscription>, String> {
        let manager = registration().await?.push_manager().map_err(text)?;
        let found = JsFuture::from(manager.get_subscription().map_err(text)?).await.map_err(text)?;
        Ok(found.dyn_into().ok())
    }

    pub async fn state() -> DeviceState {
        if !supported() {
            return DeviceState::Unsupported;
        }
        if web_sys::Notification::permission() == web_sys::NotificationPermission::Denied {
            return DeviceState::Blocked;
        }
        match current().await {
            Ok(Some(_))
                if web_sys::Notification::permission() == web_sys::NotificationPermission::Granted =>
            {
                DeviceState::On
            }
            Ok(_) => DeviceState::Off,
            Err(_) => DeviceState::Unsupported,
        }
    }

    /// base64url (the server's key) to bytes, through the browser's `atob`.
    fn decode(b64url: &str) -> Result<Vec<u8>, String> {
        let mut b64: String = b64url
            .chars()
            .map(|c| match c {
                '-' => '+',
                '_' => '/',
                c => c,
            })
            .collect();
        while b64.len() % 4 != 0 {
            b64.push('=');
        }
        let binary = web_sys::window().ok_or("no window")?.atob(&b64).map_err(text)?;
        Ok(binary.chars().map(|c| c as u8).collect())
    }

    pub async fn subscribe(public_key: &str) -> Result<PushSubscriptionIn, String> {
        let asked =
            JsFuture::from(web_sys::Notification::request_permission().map_err(text)?).await.map_err(text)?;
        if asked.as_string().as_deref() != Some("granted") {
            return Err(
                "Notifications were not allowed. New leads and visits still show as badges on the tabs."
                    .into(),
            );
        }
        let options = web_sys::PushSubscriptionOptionsInit::new();
        options.set_user_visible_only(true);
        options.set_application_server_key(&js_sys::Uint8Array::from(&decode(public_key)?[..]).into());
        let manager = registration().await?.push_manager().map_err(text)?;
        let subscription =
            JsFuture::from(manager.subscribe_with_options(&options).map_err(text)?).await.map_err(|e| {
                format!("This browser could not reach its push service ({}). Try again with signal.", text(e))
            })?;
        let json = js_sys::JSON::stringify(&subscription).map_err(text)?.as_string().unwrap_or_default();
        serde_json::from_str(&json).map_err(|e| format!("The browser's subscription is unreadable: {e}"))
    }

    /// Ends this device's subscription in the browser; its endpoint, for the server to forget.
    pub async fn unsubscribe() -> Result<Option<String>, String> {
        let Some(subscription) = current().await? else { return Ok(None) };
        let endpoint = subscription.endpoint();
        JsFuture::from(subscription.unsubscribe().map_err(text)?).await.map_err(text)?;
        Ok(Some(endpoint))
    }
}

/// On the server the page renders "Checking this device…"; nothing here runs there.
#[cfg(not(feature = "hydrate"))]
mod browser {
    use super::DeviceState;
    use crate::api::PushSubscriptionIn;

    pub async fn state() -> DeviceState {
        DeviceState::Checking
    }

    pub async fn subscribe(_: &str) -> Result<PushSubscriptionIn, String> {
        Err("only in a browser".into())
    }

    pub async fn unsubscribe() -> Result<Option<String>, String> {
        Ok(None)
    }
}
