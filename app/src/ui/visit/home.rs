//! Step 2: the home and its equipment, the problem in the customer's words, and photos of the
//! data plate and the old unit.

use super::{save::Saver, text, NextStep, Step};
use crate::{sync::device::use_sync, sync::protocol::Entity};
use leptos::prelude::*;
use serde_json::{json, Map, Value};
use uuid::Uuid;

const SYSTEMS: &[(&str, &str)] = &[
    ("", "Choose…"),
    ("furnace", "Furnace"),
    ("air_conditioner", "Air conditioner"),
    ("heat_pump", "Heat pump"),
    ("boiler", "Boiler"),
    ("water_heater_tank", "Water heater (tank)"),
    ("water_heater_tankless", "Water heater (tankless)"),
    ("electrical_panel", "Electrical panel"),
    ("plumbing", "Plumbing"),
    ("other", "Other"),
];
const FUELS: &[(&str, &str)] = &[
    ("", "Choose…"),
    ("gas", "Natural gas"),
    ("electric", "Electric"),
    ("propane", "Propane"),
    ("oil", "Oil"),
];

/// The free-text keys of the consultation's `home` object, with their labels.
const HOME_TEXT: &[(&str, &str)] = &[("brand", "Brand"), ("model", "Model / serial")];

/// Every key of the `home` object this step edits.
const HOME_FIELDS: &[&str] = &["system_type", "age_years", "brand", "model", "fuel", "square_feet"];

fn is_focused(id: &str) -> bool {
    #[cfg(feature = "hydrate")]
    {
        let doc = web_sys::window().and_then(|w| w.document());
        doc.and_then(|d| d.active_element()).is_some_and(|e| e.id() == id)
    }
    #[cfg(not(feature = "hydrate"))]
    {
        let _ = id;
        false
    }
}

#[component]
pub fn HomeStep(id: Uuid) -> impl IntoView {
    let sync = use_sync();
    let saver = Saver::get();
    let start =
        sync.snapshot.with_untracked(|s| s.get(Entity::Consultation, id).cloned()).unwrap_or_default();
    let home = RwSignal::new(start.get("home").and_then(Value::as_object).cloned().unwrap_or_default());
    let get = move |key: &str| {
        home.with_untracked(|h| h.get(key).and_then(Value::as_str).unwrap_or_default().to_string())
    };
    let set = move |key: &'static str, value: String, at_once: bool| {
        home.update(|h| {
            if value.trim().is_empty() {
                h.remove(key);
            } else {
                h.insert(key.into(), json!(value));
            }
        });
        let mut fields = Map::new();
        fields.insert("home".into(), Value::Object(home.get_untracked()));
        saver.edit(id, "home", fields, at_once);
    };
    let problem = text(&start, "problem");
    let notes = text(&start, "notes");
    // A colleague's edit that arrives by sync shows up in every field not being typed in.
    let remote = Memo::new(move |_| sync.snapshot.with(|s| s.get(Entity::Consultation, id).cloned()));
    Effect::new(move |_| {
        let Some(c) = remote.get() else { return };
        super::save::refresh_field("h-problem", &text(&c, "problem"));
        super::save::refresh_field("h-notes", &text(&c, "notes"));
        let Some(remote_home) = c.get("home").and_then(Value::as_object).cloned() else { return };
        let editing = HOME_FIELDS.iter().any(|k| is_focused(&format!("h-{k}")));
        if !editing && home.with_untracked(|h| *h != remote_home) {
            for key in HOME_FIELDS {
                let value = remote_home.get(*key).and_then(Value::as_str).unwrap_or_default();
                super::save::refresh_field(&format!("h-{key}"), value);
            }
            home.set(remote_home);
        }
    });
    let save_text = move |field: &'static str, value: String, at_once: bool| {
        let mut fields = Map::new();
        fields.insert(field.into(), json!(value));
        saver.edit(id, field, fields, at_once);
    };

    let select = move |key: &'static str,
                       label: &'static str,
                       choices: &'static [(&'static str, &'static str)]| {
        let current = get(key);
        let input_id = format!("h-{key}");
        view! {
            <label for=input_id.clone()>{label}</label>
            <select id=input_id on:change=move |ev| set(key, event_target_value(&ev), true)>
                {choices
                    .iter()
                    .map(|(value, name)| view! { <option value=*value selected=*value == current>{*name}</option> })
                    .collect_view()}
            </select>
        }
    };
    let number = move |key: &'static str, label: &'static str| {
        let input_id = format!("h-{key}");
        view! {
            <label for=input_id.clone()>{label}</label>
            <input id=input_id type="number" inputmode="numeric" min="0" step="1" prop:value=get(key)
                on:input=move |ev| set(key, event_target_value(&ev), false)
                on:change=move |ev| set(key, event_target_value(&ev), true) />
        }
    };

    view! {
        <form class="card stack" data-testid="home-step" on:submit=|ev| ev.prevent_default()>
            <h2>"Home and equipment"</h2>
            {select("system_type", "System", SYSTEMS)}
            {number("age_years", "Age of the system (years)")}
            {HOME_TEXT
                .iter()
                .map(|(key, label)| {
                    let input_id = format!("h-{key}");
                    view! {
                        <label for=input_id.clone()>{*label}</label>
                        <input id=input_id autocomplete="off" prop:value=get(key)
                            on:input=move |ev| set(key, event_target_value(&ev), false)
                            on:change=move |ev| set(key, event_target_value(&ev), true) />
                    }
                })
                .collect_view()}
            {select("fuel", "Fuel", FUELS)}
            {number("square_feet", "Square footage")}
            <label for="h-problem">"Problem, in the customer's words"</label>
            <textarea id="h-problem" rows="3" prop:value=problem
                on:input=move |ev| save_text("problem", event_target_value(&ev), false)
                on:change=move |ev| save_text("problem", event_target_value(&ev), true)></textarea>
            <label for="h-notes">"Notes"</label>
            <textarea id="h-notes" rows="3" prop:value=notes
                on:input=move |ev| save_text("notes", event_target_value(&ev), false)
                on:change=move |ev| save_text("notes", event_target_value(&ev), true)></textarea>
        </form>
        <Photos id />
        <crate::ui::conflicts::ConflictView entity="consultation" id />
        <NextStep id to=Step::Checklist text="Next: checklist" />
    }
}

/// The consultation's photos, and a camera button that adds one.
#[component]
fn Photos(id: Uuid) -> impl IntoView {
    let sync = use_sync();
    let saver = Saver::get();
    let busy = RwSignal::new(false);
    let error = RwSignal::new(None::<String>);
    let photos = Memo::new(move |_| {
        sync.snapshot.with(|s| {
            s.records(Entity::Attachment)
                .filter(|(_, a)| text(a, "consultation_id") == id.to_string() && text(a, "kind") == "photo")
                .map(|(_, a)| text(a, "sha256"))
                .collect::<Vec<_>>()
        })
    });
    let on_file = move |ev: leptos::ev::Event| {
        #[cfg(feature = "hydrate")]
        {
            use crate::sync::mutation::{AttachmentAdd, Mutation};
            use wasm_bindgen::JsCast;
            let Some(input) = ev.target().and_then(|t| t.dyn_into::<web_sys::HtmlInputElement>().ok()) else {
                return;
            };
            let files: Vec<web_sys::File> =
                input.files().map(|l| (0..l.length()).filter_map(|i| l.get(i)).collect()).unwrap_or_default();
            input.set_value("");
            busy.set(true);
            error.set(None);
            leptos::task::spawn_local(async move {
                for file in files {
                    let stored = async {
                        let jpeg = crate::ui::media::downscale(&file).await?;
                        crate::ui::media::store(&jpeg).await
                    };
                    match stored.await {
                        Ok(image) => saver.queue(vec![Mutation::AttachmentAdd(AttachmentAdd {
                            id: Uuid::now_v7(),
                            consultation_id: id,
                            kind: "photo".into(),
                            sha256: image.sha256,
                            content_type: image.content_type,
                            byte_size: image.byte_size,
                        })]),
                        Err(e) => error.set(Some(e)),
                    }
                }
                busy.set(false);
            });
        }
        #[cfg(not(feature = "hydrate"))]
        let _ = (ev, saver);
    };
    view! {
        <section class="card stack" data-testid="photos">
            <h2>"Photos"</h2>
            <p class="muted">"The data plate and the old unit. Kept on this device, sent when there is signal."</p>
            <ul class="thumbs">
                <For each=move || photos.get() key=|sha| sha.clone() let:sha>
                    <li><crate::ui::media::Thumb sha /></li>
                </For>
            </ul>
            {move || error.get().map(|e| view! { <p class="error" role="alert">{e}</p> })}
            <label class="button" for="photo-input">
                {move || if busy.get() { "Saving photo…" } else { "Take or add a photo" }}
            </label>
            <input id="photo-input" class="visually-hidden" type="file" accept="image/*" capture="environment" multiple
                data-testid="photo-input" on:change=on_file />
        </section>
    }
}
