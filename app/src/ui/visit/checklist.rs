//! Step 3: the company's standard in-home steps, each done or skipped with a note.

use super::{save::Saver, NextStep, Step};
use crate::{
    domain::checklist::{gaps, pick, Answer, Answers, Stage, StepState, TemplateStep},
    sync::device::{use_sync, SyncSnapshot},
    sync::protocol::Entity,
};
use leptos::prelude::*;
use serde_json::Map;
use uuid::Uuid;

/// The checklist this consultation is answered against ([`pick`]): the revision it was
/// captured with, else the live one for its service, else the general one.
pub fn template(s: &SyncSnapshot, consultation: Uuid) -> Option<(Uuid, Vec<TemplateStep>)> {
    let record = s.get(Entity::Consultation, consultation);
    let pinned = record.and_then(|c| c.get("checklist_template_id")?.as_str()?.parse().ok());
    let service = record
        .and_then(|c| c.get("lead_id")?.as_str()?.parse().ok())
        .and_then(|lead| s.get(Entity::Lead, lead))
        .and_then(|l| l.get("service_type")?.as_str().map(str::to_string));
    pick(s.records(Entity::ChecklistTemplate).map(|(_, t)| t), pinned, service.as_deref())
}

/// The steps of [`template`], none when the company has no checklist.
pub fn steps(s: &SyncSnapshot, consultation: Uuid) -> Vec<TemplateStep> {
    template(s, consultation).map(|(_, steps)| steps).unwrap_or_default()
}

pub fn answers(s: &SyncSnapshot, consultation: Uuid) -> Answers {
    s.get(Entity::Consultation, consultation)
        .and_then(|c| c.get("checklist").cloned())
        .and_then(|v| serde_json::from_value(v).ok())
        .unwrap_or_default()
}

#[component]
pub fn ChecklistStep(id: Uuid) -> impl IntoView {
    let sync = use_sync();
    let empty = sync.snapshot.with_untracked(|s| steps(s, id).is_empty());
    view! {
        <section class="card" data-testid="checklist-step">
            <h2>"Checklist"</h2>
            {empty.then(|| view! { <p class="muted">"Your company has no checklist yet; a manager adds one."</p> })}
            <ChecklistItems id stage=Stage::Visit />
        </section>
        <NextStep id to=Step::Options text="Next: options" />
    }
}

/// The checklist's steps asked at `stage` (on the step of the visit where they happen), each
/// done or skipped with a note; nothing when the checklist has none there.
#[component]
pub fn ChecklistItems(id: Uuid, stage: Stage) -> impl IntoView {
    let sync = use_sync();
    let saver = Saver::get();
    let (revision, steps) = sync.snapshot.with_untracked(|s| template(s, id)).unzip();
    let steps: Vec<TemplateStep> =
        steps.unwrap_or_default().into_iter().filter(|s| s.stage == stage).collect();
    if steps.is_empty() {
        return None;
    }
    let answers = RwSignal::new(sync.snapshot.with_untracked(|s| answers(s, id)));
    let save = move |at_once: bool| {
        let mut fields = Map::new();
        fields.insert("checklist".into(), serde_json::to_value(answers.get_untracked()).unwrap_or_default());
        // The revision answered: the consultation keeps it when the checklist is edited later.
        if let Some(revision) = revision {
            fields.insert("checklist_template_id".into(), revision.to_string().into());
        }
        saver.edit(id, "checklist", fields, at_once);
    };
    let mark = move |key: String, state: StepState| {
        answers.update(|a| {
            let note = a.get(&key).map(|x| x.note.clone()).unwrap_or_default();
            a.insert(key, Answer { state, note });
        });
        save(true);
    };
    let note = move |key: String, note: String, at_once: bool| {
        answers.update(|a| {
            let state = a.get(&key).map(|x| x.state).unwrap_or(StepState::Skipped);
            a.insert(key, Answer { state, note });
        });
        save(at_once);
    };
    let open = {
        let steps = steps.clone();
        move || answers.with(|a| gaps(&steps, a).len())
    };
    let heading = match stage {
        Stage::Visit => None,
        Stage::Options => Some("Checklist: with the options"),
        Stage::Outcome => Some("Checklist: at the decision"),
    };
    Some(view! {
        {heading.map(|h| view! { <h3>{h}</h3> })}
            <ol class="checklist" data-stage=stage.as_str()>
                {steps
                    .into_iter()
                    .map(|step| {
                        let state_of = move |k: &str| answers.with(|a| a.get(k).map(|x| x.state));
                        let key = step.key.clone();
                        let initial_note = answers.with_untracked(|a| a.get(&key).map(|x| x.note.clone()).unwrap_or_default());
                        let note_id = format!("note-{key}");
                        let (k1, k2, k3, k4, k5, k6) = (key.clone(), key.clone(), key.clone(), key.clone(), key.clone(), key);
                        view! {
                            <li data-testid="checklist-item" data-state=move || match state_of(&k1) {
                                Some(StepState::Done) => "done",
                                Some(StepState::Skipped) => "skipped",
                                None => "open",
                            }>
                                <p class="step-label">
                                    {step.label.clone()}
                                    {step.required.then(|| view! { <span class="required">" (required)"</span> })}
                                </p>
                                <div class="choice">
                                    <button type="button" aria-pressed=move || (state_of(&k2) == Some(StepState::Done)).to_string()
                                        on:click=move |_| mark(k3.clone(), StepState::Done)>"✓ Done"</button>
                                    <button type="button" aria-pressed=move || (state_of(&k4) == Some(StepState::Skipped)).to_string()
                                        on:click=move |_| mark(k5.clone(), StepState::Skipped)>"Skip"</button>
                                </div>
                                <label for=note_id.clone() class="small">{format!("Note: {}", step.label)}</label>
                                <input id=note_id prop:value=initial_note
                                    on:input={let k = k6.clone(); move |ev| note(k.clone(), event_target_value(&ev), false)}
                                    on:change=move |ev| note(k6.clone(), event_target_value(&ev), true) />
                            </li>
                        }
                    })
                    .collect_view()}
            </ol>
            <p class="muted" data-testid="checklist-open">{move || match open() {
                0 => "Every required step here is answered.".to_string(),
                n => format!("{n} required step(s) still to do, or to skip with a reason."),
            }}</p>
    })
}
