//! `/checklist` (managers): the in-home checklist, the general one and any service's own —
//! steps written, marked required or optional, moved up and down, added and removed. Saving
//! makes the next revision: consultations already captured keep the revision they were
//! answered against, and every device gets the new one at its next sync.

use crate::{
    api::{Checklist, ChecklistEdit},
    domain::checklist::{Stage, StepDraft},
    sync::{device::transport, mutation::SERVICE_TYPES},
};
use leptos::prelude::*;

/// A step being edited; `row` tells rows apart while they move (keys may be absent).
#[derive(Debug, Clone, PartialEq)]
struct Row {
    row: u32,
    key: Option<String>,
    label: RwSignal<String>,
    required: RwSignal<bool>,
    stage: RwSignal<Stage>,
}

fn service_label(service: Option<&str>) -> String {
    match service {
        None => "General (every service without its own)".into(),
        Some(s) => super::visit::label(s),
    }
}

fn path_of(service: Option<&str>) -> String {
    service.unwrap_or("general").to_string()
}

#[component]
pub fn ChecklistEditor() -> impl IntoView {
    let lists = LocalResource::new(|| async {
        transport::get_json::<Vec<Checklist>>("/api/checklists").await.map_err(|f| f.into_detail().message)
    });
    // The checklist being edited: None is the general one.
    let service = RwSignal::new(None::<String>);
    let rows = RwSignal::new(Vec::<Row>::new());
    let next_row = StoredValue::new(0u32);
    let status = RwSignal::new(None::<Result<String, String>>);
    let new_step = RwSignal::new(String::new());
    let make_row = move |key: Option<String>, label: String, required: bool, stage: Stage| {
        let row = next_row.get_value();
        next_row.set_value(row + 1);
        Row {
            row,
            key,
            label: RwSignal::new(label),
            required: RwSignal::new(required),
            stage: RwSignal::new(stage),
        }
    };
    let current = move || {
        lists
            .get()
            .and_then(|r| r.ok())
            .and_then(|all| all.into_iter().find(|c| c.service_type == service.get()))
    };
    // Choosing a checklist (or its list arriving) fills the rows with its steps.
    Effect::new(move |_| {
        let steps = current().map(|c| c.steps).unwrap_or_default();
        rows.set(steps.into_iter().map(|s| make_row(Some(s.key), s.label, s.required, s.stage)).collect());
    });
    let move_row = move |row: u32, by: isize| {
        rows.update(|r| {
            if let Some(i) = r.iter().position(|x| x.row == row) {
                let j = i as isize + by;
                if (0..r.len() as isize).contains(&j) {
                    r.swap(i, j as usize);
                }
            }
        })
    };
    let add = move || {
        let label = new_step.get_untracked();
        if label.trim().is_empty() {
            status.set(Some(Err("Write the step first, then add it.".into())));
            return;
        }
        rows.update(|r| r.push(make_row(None, label, false, Stage::Visit)));
        new_step.set(String::new());
        status.set(None);
    };
    let save = Action::new_local(move |_: &()| {
        let edit = ChecklistEdit {
            steps: rows
                .get_untracked()
                .iter()
                .map(|r| StepDraft {
                    key: r.key.clone(),
                    label: r.label.get_untracked(),
                    required: r.required.get_untracked(),
                    stage: r.stage.get_untracked(),
                })
                .collect(),
        };
        let url = format!("/api/checklists/{}", path_of(service.get_untracked().as_deref()));
        async move {
            transport::put_json::<_, Checklist>(&url, &edit)
                .await
                .map(|c| {
                    format!(
                        "Saved as revision {}: {} step(s). New consultations use it; captured ones keep theirs.",
                        c.revision,
                        c.steps.len()
                    )
                })
                .map_err(|f| f.into_detail().message)
        }
    });
    let remove = Action::new_local(move |_: &()| {
        let url = format!("/api/checklists/{}", path_of(service.get_untracked().as_deref()));
        async move {
            transport::delete(&url)
                .await
                .map(|_| "Removed: this service uses the general checklist again.".to_string())
                .map_err(|f| f.into_detail().message)
        }
    });
    Effect::new(move |_| {
        for result in [save.value().get(), remove.value().get()].into_iter().flatten() {
            if result.is_ok() {
                lists.refetch();
            }
            status.set(Some(result));
        }
    });
    let has_own = move |s: &str| {
        lists
            .get()
            .and_then(|r| r.ok())
            .is_some_and(|all| all.iter().any(|c| c.service_type.as_deref() == Some(s)))
    };
    view! {
        <h1>"In-home checklist"</h1>
        <p class="muted">"The steps every consultation walks through, each asked where it happens (during the visit, with the options, or at the decision). A required step must be done, or skipped with a reason, before a technician can finish."</p>
        <section class="card">
            <label for="checklist-service">"Checklist"</label>
            <select id="checklist-service" on:change=move |ev| {
                let v = event_target_value(&ev);
                service.set((v != "general").then_some(v));
                status.set(None);
            }>
                <option value="general" selected=move || service.get().is_none()>{service_label(None)}</option>
                {SERVICE_TYPES.iter().map(|s| {
                    let s = *s;
                    view! {
                        <option value=s selected=move || service.get().as_deref() == Some(s)>
                            {move || format!("{}{}", service_label(Some(s)), if has_own(s) { "" } else { " (uses the general one)" })}
                        </option>
                    }
                }).collect_view()}
            </select>
            <p class="muted small" data-testid="checklist-revision">{move || match current() {
                Some(c) => format!("Revision {}{}", c.revision, c.changed_by.map(|by| format!(", saved by {by}")).unwrap_or_default()),
                None if service.get().is_some() => "This service uses the general checklist. Save steps here to give it its own.".into(),
                None => "No checklist yet.".into(),
            }}</p>
        </section>
        <Suspense fallback=|| view! { <p>"Loading the checklist…"</p> }>
            {move || lists.get().and_then(|r| r.err()).map(|m| view! { <p class="error" role="alert">{m}</p> })}
        </Suspense>
        <section class="card">
            <h2>"Steps"</h2>
            <ol class="list checklist-editor" data-testid="checklist-steps">
                <For each=move || rows.get() key=|r| r.row let:r>
                    {
                        let (row, label, required, stage) = (r.row, r.label, r.required, r.stage);
                        let id = format!("step-{row}");
                        let stage_id = format!("stage-{row}");
                        view! {
                            <li>
                                <label for=id.clone() class="visually-hidden">"Step"</label>
                                <input id=id class="step-text" prop:value=move || label.get()
                                    on:input=move |ev| label.set(event_target_value(&ev)) />
                                <label class="inline small">
                                    <input type="checkbox" prop:checked=move || required.get()
                                        on:change=move |ev| required.set(event_target_checked(&ev)) />
                                    " Required"
                                </label>
                                <label for=stage_id.clone() class="visually-hidden">"Asked"</label>
                                <select id=stage_id class="small" data-testid="step-stage"
                                    on:change=move |ev| if let Some(s) = Stage::parse(&event_target_value(&ev)) { stage.set(s) }>
                                    {Stage::ALL.into_iter().map(|s| view! {
                                        <option value=s.as_str() selected=move || stage.get() == s>{s.label()}</option>
                                    }).collect_view()}
                                </select>
                                <span class="row-actions">
                                    <button type="button" class="small" aria-label="Move up" on:click=move |_| move_row(row, -1)>"↑"</button>
                                    <button type="button" class="small" aria-label="Move down" on:click=move |_| move_row(row, 1)>"↓"</button>
                                    <button type="button" class="small" aria-label="Remove step"
                                        on:click=move |_| rows.update(|rs| rs.retain(|x| x.row != row))>"✕"</button>
                                </span>
                            </li>
                        }
                    }
                </For>
            </ol>
            {move || rows.with(Vec::is_empty).then(|| view! { <p class="muted">"No steps: consultations are captured without a checklist."</p> })}
            <form on:submit=move |ev| { ev.prevent_default(); add(); }>
                <label for="new-step">"New step"</label>
                <input id="new-step" placeholder="e.g. Check the flue and venting" prop:value=move || new_step.get()
                    on:input=move |ev| new_step.set(event_target_value(&ev)) />
                <button type="submit">"Add step"</button>
            </form>
        </section>
        {move || status.get().map(|r| match r {
            Ok(t) => view! { <p class="ok" role="status">{t}</p> }.into_any(),
            Err(t) => view! { <p class="error" role="alert">{t}</p> }.into_any(),
        })}
        <p class="actions">
            <button type="button" class="primary" on:click=move |_| { save.dispatch(()); } disabled=move || save.pending().get()>
                "Save checklist"
            </button>
            {move || (service.get().is_some() && current().is_some()).then(|| view! {
                <button type="button" on:click=move |_| { remove.dispatch(()); }>"Use the general checklist instead"</button>
            })}
        </p>
    }
}
