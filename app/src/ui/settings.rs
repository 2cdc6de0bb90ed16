//! `/settings` (managers): the targets the dashboard measures against, the windows its numbers
//! count in, the stale window and the follow-up cadence the reps are offered. Online: the
//! server keeps them (`GET`/`PUT /api/analytics/settings`) and checks them again.

use crate::{
    domain::{settings::Settings, Cents},
    sync::device::transport,
};

/// A win counts as a sale at or above its service's amount: (field key, service, label).
const SOLD_THRESHOLDS: [(&str, &str, &str); 5] = [
    ("sold_hvac", "hvac", "Counts as a sale from ($): HVAC"),
    ("sold_plumbing", "plumbing", "Counts as a sale from ($): plumbing"),
    ("sold_electrical", "electrical", "Counts as a sale from ($): electrical"),
    ("sold_water_heater", "water_heater", "Counts as a sale from ($): water heaters"),
    ("sold_other", "other", "Counts as a sale from ($): other work"),
];
use leptos::prelude::*;

/// A share as a person types it ("60", "60%") to 0.6.
fn share(typed: &str) -> Result<f64, String> {
    typed
        .trim()
        .trim_end_matches('%')
        .trim()
        .parse::<f64>()
        .map(|p| p / 100.0)
        .map_err(|_| format!("{typed:?} is not a percentage"))
}

fn number<T: std::str::FromStr>(name: &str, typed: &str) -> Result<T, String> {
    typed.trim().parse::<T>().map_err(|_| format!("{name}: {typed:?} is not a number"))
}

#[component]
pub fn SettingsPage() -> impl IntoView {
    let loaded = LocalResource::new(|| async {
        transport::get_json::<Settings>("/api/analytics/settings").await.map_err(|f| f.into_detail().message)
    });
    view! {
        <h1>"Settings"</h1>
        <nav class="card setup-links" aria-label="Company setup">
            <a href="/team">"Team"</a>
            <a href="/price-book">"Price book"</a>
            <a href="/checklist">"Checklist"</a>
            <a href="/audit">"Audit trail"</a>
        </nav>
        <super::company::CompanyCard />
        <super::website_leads::WebsiteLeadsCard />
        <super::marketing_spend::MarketingSpendCard />
        <h2>"Targets and measures"</h2>
        <Suspense fallback=|| view! { <p>"Loading…"</p> }>
            {move || loaded.get().map(|r| match r {
                Ok(settings) => view! { <SettingsForm settings /> }.into_any(),
                Err(m) => view! { <p class="error" role="alert">{m}</p> }.into_any(),
            })}
        </Suspense>
    }
}

#[component]
fn SettingsForm(settings: Settings) -> impl IntoView {
    let pct = |v: f64| format!("{}", (v * 1000.0).round() / 10.0);
    let t = &settings.targets;
    let fields = [
        ("speed", "Speed to lead target (minutes)", t.speed_to_lead_minutes.to_string()),
        ("l2c", "Lead → consultation target (%)", pct(t.lead_to_consultation)),
        ("close", "Close rate target (%)", pct(t.close_rate)),
        ("cycle", "Sales cycle target (days)", t.sales_cycle_days.to_string()),
        ("win", "Win rate target (%)", pct(t.win_rate)),
        ("nonselling", "Non-selling time target (% of the day, at most)", pct(t.non_selling_share)),
        (
            "l2c_days",
            "A lead counts as reaching a consultation within (days)",
            settings.lead_to_consultation_days.to_string(),
        ),
        (
            "close_days",
            "A consultation counts as closed within (days)",
            settings.close_window_days.to_string(),
        ),
        (
            "stale_days",
            "A quote with no activity is lost – no decision after (days)",
            settings.stale_days.to_string(),
        ),
        (
            "history_days",
            "Finished work each phone keeps for use without signal (days)",
            settings.device_history_days.to_string(),
        ),
        (
            "speed_1",
            "Speed to lead: first threshold (minutes)",
            settings.speed_thresholds_minutes[0].to_string(),
        ),
        (
            "speed_2",
            "Speed to lead: second threshold (minutes)",
            settings.speed_thresholds_minutes[1].to_string(),
        ),
        (
            "cadence",
            "Follow up after the visit on days",
            settings.follow_up_cadence_days.iter().map(u32::to_string).collect::<Vec<_>>().join(", "),
        ),
    ];
    let sold = SOLD_THRESHOLDS.map(|(key, service, label)| {
        (key, label, Cents(settings.sold_threshold_cents.get(service).copied().unwrap_or(0)).decimal())
    });
    let values: Vec<(&'static str, &'static str, RwSignal<String>)> =
        fields.into_iter().chain(sold).map(|(key, label, v)| (key, label, RwSignal::new(v))).collect();
    let get = {
        let values = values.clone();
        move |key: &str| {
            values.iter().find(|(k, _, _)| *k == key).map(|(_, _, v)| v.get_untracked()).unwrap_or_default()
        }
    };
    const WEEKDAYS: [&str; 7] =
        ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"];
    let hours: Vec<(&'static str, RwSignal<String>)> = WEEKDAYS
        .iter()
        .zip(settings.business_hours)
        .map(|(day, h)| (*day, RwSignal::new(Settings::format_hours(h))))
        .collect();
    let holidays =
        RwSignal::new(settings.holidays.iter().map(|d| d.to_string()).collect::<Vec<_>>().join(", "));
    let typed_hours = hours.clone();
    let base = StoredValue::new(settings);
    let save = Action::new_local(move |s: &Settings| {
        let s = s.clone();
        async move {
            transport::put_json::<_, Settings>("/api/analytics/settings", &s)
                .await
                .map(|_| "Saved. The dashboard measures against these from now on.".to_string())
                .map_err(|f| f.into_detail().message)
        }
    });
    let message = RwSignal::new(None::<Result<String, String>>);
    Effect::new(move |_| {
        if let Some(r) = save.value().get() {
            message.set(Some(r));
        }
    });
    let on_submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let read = || -> Result<Settings, String> {
            let mut s = base.get_value();
            s.targets.speed_to_lead_minutes = number("speed to lead target", &get("speed"))?;
            s.targets.lead_to_consultation = share(&get("l2c"))?;
            s.targets.close_rate = share(&get("close"))?;
            s.targets.sales_cycle_days = number("sales cycle target", &get("cycle"))?;
            s.targets.win_rate = share(&get("win"))?;
            s.targets.non_selling_share = share(&get("nonselling"))?;
            s.lead_to_consultation_days = number("lead → consultation window", &get("l2c_days"))?;
            s.close_window_days = number("close window", &get("close_days"))?;
            s.stale_days = number("stale window", &get("stale_days"))?;
            s.device_history_days = number("history on phones", &get("history_days"))?;
            s.speed_thresholds_minutes =
                [number("first threshold", &get("speed_1"))?, number("second threshold", &get("speed_2"))?];
            s.follow_up_cadence_days = get("cadence")
                .split(',')
                .filter(|d| !d.trim().is_empty())
                .map(|d| number("follow-up days", d))
                .collect::<Result<_, _>>()?;
            for (key, service, _) in SOLD_THRESHOLDS {
                let typed = get(key);
                let cents = match typed.trim() {
                    "" => 0,
                    t => Cents::parse("sold threshold", t).map_err(|e| e.message)?.0,
                };
                if cents == 0 {
                    s.sold_threshold_cents.remove(service);
                } else {
                    s.sold_threshold_cents.insert(service.to_string(), cents);
                }
            }
            for (i, (day, value)) in typed_hours.iter().enumerate() {
                s.business_hours[i] = Settings::parse_hours(day, &value.get_untracked())?;
            }
            s.holidays = holidays
                .get_untracked()
                .split([',', '\n'])
                .map(str::trim)
                .filter(|d| !d.is_empty())
                .map(|d| d.parse().map_err(|_| format!("holidays: {d:?} is not a date like 2026-12-25")))
                .collect::<Result<_, _>>()?;
            s.validate()?;
            Ok(s)
        };
        match read() {
            Ok(s) => {
                save.dispatch(s);
            }
            Err(e) => message.set(Some(Err(e))),
        }
    };
    view! {
        <form class="card stack" on:submit=on_submit data-testid="settings-form">
            {values.into_iter().map(|(key, label, value)| {
                let id = format!("set-{key}");
                view! {
                    <label for=id.clone()>{label}</label>
                    <input id=id inputmode="decimal" required bind:value=value />
                }
            }).collect_view()}
            <fieldset data-testid="business-hours">
                <legend>"Opening hours (speed to lead in business time stops the clock outside them)"</legend>
                {hours.into_iter().map(|(day, value)| {
                    let id = format!("hours-{}", day.to_lowercase());
                    view! {
                        <label for=id.clone()>{day}</label>
                        <input id=id placeholder="08:00-17:00 or closed" bind:value=value />
                    }
                }).collect_view()}
                <label for="set-holidays">"Holidays (dates, comma-separated)"</label>
                <input id="set-holidays" placeholder="2026-12-25, 2027-01-01" bind:value=holidays />
            </fieldset>
            {move || message.get().map(|r| match r {
                Ok(t) => view! { <p class="ok" role="status">{t}</p> }.into_any(),
                Err(t) => view! { <p class="error" role="alert">{t}</p> }.into_any(),
            })}
            <button type="submit" class="primary" disabled=move || save.pending().get()>"Save"</button>
        </form>
    }
}
