//! Step 5: how the visit ended — sold (the chosen option and the customer's signature), a
//! follow-up (when, and handed to whom), or lost (a required reason). Sold and lost finish the
//! consultation, so the checklist's required steps must be answered first.

use super::{
    checklist::{answers, steps},
    href, label,
    options::options_of,
    proposal::{proposal_of, CustomerCopy, ProposalSheet},
    save::Saver,
    text, Step,
};
use crate::{
    domain::checklist::gaps,
    sync::device::{use_sync, SyncSnapshot},
    sync::{
        mutation::{FieldUpdate, FollowupSchedule, Mutation, Outcome, SetOutcome, LOST_REASONS},
        protocol::Entity,
    },
};
use chrono::{DateTime, Utc};
use leptos::{html::Canvas, prelude::*};
use leptos_router::{components::A, hooks::use_query_map};
use serde_json::{json, Value};
use uuid::Uuid;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ending {
    Sold,
    FollowUp,
    Lost,
}

#[component]
pub fn OutcomeStep(id: Uuid) -> impl IntoView {
    let sync = use_sync();
    let query = use_query_map();
    let chosen_from_query = query.with_untracked(|q| q.get("option").and_then(|o| o.parse::<Uuid>().ok()));
    let ending = RwSignal::new(chosen_from_query.map(|_| Ending::Sold));
    // Back on a quote that already has its follow-up: the step opens on it.
    Effect::new(move |_| {
        if ending.get_untracked().is_none() && sync.snapshot.with(|s| open_follow_up(s, id).is_some()) {
            ending.set(Some(Ending::FollowUp));
        }
    });
    let status = Memo::new(move |_| {
        sync.snapshot.with(|s| s.get(Entity::Consultation, id).map(|c| text(c, "status")).unwrap_or_default())
    });
    let open_steps = Memo::new(move |_| {
        sync.snapshot.with(|s| {
            let steps = steps(s, id);
            let answers = answers(s, id);
            gaps(&steps, &answers).into_iter().map(|g| g.label.clone()).collect::<Vec<_>>()
        })
    });
    let choice = move |e: Ending, text: &'static str| {
        view! {
            <button type="button" aria-pressed=move || (ending.get() == Some(e)).to_string()
                on:click=move |_| ending.set(Some(e))>{text}</button>
        }
    };
    view! {
        <Show when=move || status.get() == "open">
            <section class="card" data-testid="outcome-checklist">
                <super::checklist::ChecklistItems id stage=crate::domain::checklist::Stage::Outcome />
            </section>
        </Show>
        <section class="card" data-testid="outcome-step">
            <h2>"Outcome"</h2>
            <Show when=move || status.get() != "open" fallback=move || view! {
                <div class="choice three" role="group" aria-label="How did it end?">
                    {choice(Ending::Sold, "Sold")}
                    {choice(Ending::FollowUp, "Follow up")}
                    {choice(Ending::Lost, "Lost")}
                </div>
            }>
                <Decided id status />
            </Show>
        </section>
        {move || {
            if status.get() != "open" {
                return None;
            }
            let blocked = move || {
                let open = open_steps.get();
                (!open.is_empty()).then(|| view! {
                    <div class="card warn" role="alert" data-testid="checklist-gaps">
                        <p><strong>"Before finishing, answer the required checklist steps:"</strong></p>
                        <ul>{open.into_iter().map(|l| view! { <li>{l}</li> }).collect_view()}</ul>
                        <p>"Do them, or skip each with a note saying why."</p>
                        <a href=href(id, Step::Checklist)>"Go to the checklist"</a>
                    </div>
                })
            };
            Some(match ending.get() {
                None => ().into_any(),
                Some(Ending::Sold) => view! { {blocked} <Sold id preselected=chosen_from_query open_steps /> }.into_any(),
                Some(Ending::FollowUp) => view! { <FollowUp id /> <CustomerCopy id /> }.into_any(),
                Some(Ending::Lost) => view! { {blocked} <Lost id open_steps /> }.into_any(),
            })
        }}
    }
}

/// A finished consultation: what was decided, and the way back.
#[component]
fn Decided(id: Uuid, status: Memo<String>) -> impl IntoView {
    let saver = Saver::get();
    let sync = use_sync();
    let signed = Memo::new(move |_| {
        (status.get() == "won").then(|| sync.snapshot.with(|s| proposal_of(s, id, None))).flatten()
    });
    view! {
        <ProposalSheet proposal=signed />
        {move || (status.get() == "won").then(|| view! { <CustomerCopy id /> })}
        <p class="decided" data-testid="decided">{move || match status.get().as_str() {
            "won" => "Sold — recorded on this device. Thank the customer!".to_string(),
            other => format!("Recorded as {other}."),
        }}</p>
        <A href="/today" attr:class="button primary">"Back to Today"</A>
        <button type="button" class="link" on:click=move |_| {
            saver.queue(vec![Mutation::SetOutcome(SetOutcome { id, outcome: Outcome::Reopened, at: chrono::Utc::now() })]);
        }>"Reopen (keeps the history)"</button>
    }
}

#[component]
fn Sold(id: Uuid, preselected: Option<Uuid>, open_steps: Memo<Vec<String>>) -> impl IntoView {
    let sync = use_sync();
    let saver = Saver::get();
    let options = Memo::new(move |_| sync.snapshot.with(|s| options_of(s, id)));
    let chosen = RwSignal::new(preselected);
    let inked = RwSignal::new(false);
    let canvas = NodeRef::<Canvas>::new();
    let error = RwSignal::new(None::<String>);
    let busy = RwSignal::new(false);
    let proposal = Memo::new(move |_| {
        let choice = chosen.get()?;
        sync.snapshot.with(|s| proposal_of(s, id, Some(choice)))
    });
    // The customer prints their name beside the signature; it starts as the name on file.
    let printed = RwSignal::new(sync.snapshot.with_untracked(|s| {
        let consultation = s.get(Entity::Consultation, id);
        consultation
            .and_then(|c| crate::ui::schedule::customer_of(s, c))
            .map(|c| text(c, "name"))
            .unwrap_or_default()
    }));
    let record = move |_| {
        let Some(option) =
            chosen.get_untracked().and_then(|c| options.get_untracked().into_iter().find(|o| o.id == c))
        else {
            return error.set(Some("Choose the option the customer bought.".into()));
        };
        let name = printed.get_untracked().trim().to_string();
        if name.is_empty() {
            return error.set(Some("Ask the customer to print their name above the signature.".into()));
        }
        if let Err(e) = crate::domain::text::check("signed_name", &name, 100) {
            return error.set(Some(format!("The printed name: {}", e.message)));
        }
        if !inked.get_untracked() {
            return error.set(Some("Ask the customer to sign in the box.".into()));
        }
        if !open_steps.get_untracked().is_empty() {
            return error.set(Some("Answer the required checklist steps first (listed above).".into()));
        }
        error.set(None);
        busy.set(true);
        let mut fields = serde_json::Map::new();
        fields.insert("signed_name".into(), name.into());
        let base_version = sync.snapshot.with_untracked(|s| s.revision(Entity::Consultation, id));
        let named = Mutation::ConsultationUpdate(FieldUpdate { id, base_version, fields });
        let won = Mutation::SetOutcome(SetOutcome {
            id,
            outcome: Outcome::Won { option_id: Some(option.id), amount_cents: option.total() },
            at: chrono::Utc::now(),
        });
        #[cfg(feature = "hydrate")]
        leptos::task::spawn_local(async move {
            let signed = async {
                let canvas = canvas.get_untracked().ok_or("the signature box is gone")?;
                let png = crate::ui::media::canvas_blob(&canvas, "image/png").await?;
                crate::ui::media::store(&png).await
            };
            match signed.await {
                Ok(image) => saver.queue(vec![
                    Mutation::AttachmentAdd(crate::sync::mutation::AttachmentAdd {
                        id: Uuid::now_v7(),
                        consultation_id: id,
                        kind: "signature".into(),
                        sha256: image.sha256,
                        content_type: image.content_type,
                        byte_size: image.byte_size,
                    }),
                    named,
                    won,
                ]),
                Err(e) => error.set(Some(format!("The signature could not be kept: {e}"))),
            }
            busy.set(false);
        });
        #[cfg(not(feature = "hydrate"))]
        let _ = (won, named, saver);
    };
    view! {
        <section class="card stack" data-testid="sold">
            <h2>"Which option?"</h2>
            <div class="choice column" role="radiogroup">
                {move || options.get().into_iter().filter(|o| !o.items.is_empty()).map(|o| {
                    let oid = o.id;
                    view! {
                        <button type="button" role="radio" aria-checked=move || (chosen.get() == Some(oid)).to_string()
                            on:click=move |_| chosen.set(Some(oid))>
                            {format!("{} — {}", o.tier, o.total())}
                        </button>
                    }
                }).collect_view()}
            </div>
            <ProposalSheet proposal />
            <label for="signed-name">"Customer's printed name"</label>
            <input id="signed-name" autocomplete="off" data-testid="signed-name"
                prop:value=move || printed.get() on:input=move |ev| printed.set(event_target_value(&ev)) />
            <SignaturePad canvas inked />
            {move || error.get().map(|e| view! { <p class="error" role="alert">{e}</p> })}
            <button type="button" class="primary" disabled=move || busy.get() on:click=record>"Record the sale"</button>
        </section>
    }
}

/// The customer signs with a finger; stored as a PNG attachment.
#[component]
fn SignaturePad(canvas: NodeRef<Canvas>, inked: RwSignal<bool>) -> impl IntoView {
    let drawing = StoredValue::new(false);
    #[cfg(feature = "hydrate")]
    let (down, moved, up, clear) = {
        use wasm_bindgen::JsCast;
        let ctx = move || -> Option<web_sys::CanvasRenderingContext2d> {
            canvas.get_untracked()?.get_context("2d").ok()??.dyn_into().ok()
        };
        let point = move |ev: &leptos::ev::PointerEvent| -> (f64, f64) {
            let scale = canvas
                .get_untracked()
                .map(|c| f64::from(c.width()) / f64::from(c.client_width().max(1)))
                .unwrap_or(1.0);
            (f64::from(ev.offset_x()) * scale, f64::from(ev.offset_y()) * scale)
        };
        let down = move |ev: leptos::ev::PointerEvent| {
            ev.prevent_default();
            let Some(ctx) = ctx() else { return };
            if let Some(c) = canvas.get_untracked() {
                let _ = c.set_pointer_capture(ev.pointer_id());
            }
            let (x, y) = point(&ev);
            ctx.set_line_width(4.0);
            ctx.set_line_cap("round");
            ctx.set_line_join("round");
            ctx.set_stroke_style_str("#111614");
            ctx.begin_path();
            ctx.move_to(x, y);
            drawing.set_value(true);
        };
        let moved = move |ev: leptos::ev::PointerEvent| {
            if !drawing.get_value() {
                return;
            }
            let Some(ctx) = ctx() else { return };
            let (x, y) = point(&ev);
            ctx.line_to(x, y);
            ctx.stroke();
            inked.set(true);
        };
        let up = move |_: leptos::ev::PointerEvent| drawing.set_value(false);
        let clear = move |_| {
            if let (Some(ctx), Some(c)) = (ctx(), canvas.get_untracked()) {
                ctx.clear_rect(0.0, 0.0, f64::from(c.width()), f64::from(c.height()));
            }
            inked.set(false);
        };
        (down, moved, up, clear)
    };
    #[cfg(not(feature = "hydrate"))]
    let (down, moved, up, clear) = {
        let _ = drawing;
        (
            |_: leptos::ev::PointerEvent| {},
            |_: leptos::ev::PointerEvent| {},
            |_: leptos::ev::PointerEvent| {},
            move |_| inked.set(false),
        )
    };
    view! {
        <p class="step-label" id="signature-label">"Customer's signature: I accept this proposal and its terms"</p>
        <canvas node_ref=canvas class="signature" width="720" height="240" data-testid="signature"
            aria-labelledby="signature-label" role="img"
            on:pointerdown=down on:pointermove=moved on:pointerup=up on:pointercancel=up></canvas>
        <button type="button" class="no-print" on:click=clear>"Clear signature"</button>
    }
}

/// The quote's open follow-up, the soonest if there are several: when, with whom, the note.
fn open_follow_up(s: &SyncSnapshot, id: Uuid) -> Option<(Option<DateTime<Utc>>, String, String)> {
    s.records(Entity::Followup)
        .filter(|(_, f)| {
            text(f, "consultation_id") == id.to_string() && f.get("done_at").is_none_or(Value::is_null)
        })
        .map(|(_, f)| {
            let due = f.get("due_at").and_then(Value::as_str).and_then(|d| d.parse::<DateTime<Utc>>().ok());
            let who = f
                .get("assignee_id")
                .and_then(Value::as_str)
                .and_then(|a| a.parse::<Uuid>().ok())
                .and_then(|a| s.get(Entity::TeamMember, a))
                .map(|m| text(m, "name"))
                .unwrap_or_default();
            (due, who, text(f, "note"))
        })
        .min_by_key(|(due, _, _)| *due)
}

#[component]
fn FollowUp(id: Uuid) -> impl IntoView {
    let sync = use_sync();
    let saver = Saver::get();
    let reps = Memo::new(move |_| {
        sync.snapshot.with(|s| {
            let mut reps: Vec<(Uuid, String)> = s
                .records(Entity::TeamMember)
                .filter(|(_, m)| {
                    text(m, "role") == "sales_rep" && m.get("active").and_then(Value::as_bool) != Some(false)
                })
                .map(|(id, m)| (*id, text(m, "name")))
                .collect();
            reps.sort_by(|a, b| a.1.cmp(&b.1));
            reps
        })
    });
    // The quote's open follow-up, as this device has it (its own, just scheduled, included): one
    // per quote unless the person asks for another.
    let open = Memo::new(move |_| sync.snapshot.with(|s| open_follow_up(s, id)));
    let another = RwSignal::new(false);
    // When: a day and a time on the company's clock (9:00 tomorrow unless changed); the quick
    // picks set the day.
    let day_in = |n: i64| crate::ui::clock::today() + chrono::Duration::days(n);
    let day = RwSignal::new(day_in(1).to_string());
    let time = RwSignal::new("09:00".to_string());
    let assignee = RwSignal::new(String::new());
    let note = RwSignal::new(String::new());
    let done = RwSignal::new(false);
    let problem = RwSignal::new(None::<String>);
    let schedule = move |_| {
        let rep = assignee.get_untracked().parse::<Uuid>().ok();
        let when = day
            .get_untracked()
            .parse::<chrono::NaiveDate>()
            .ok()
            .zip(chrono::NaiveTime::parse_from_str(&time.get_untracked(), "%H:%M").ok())
            .and_then(|(d, t)| crate::ui::clock::at(d, t));
        let Some(due) = when else {
            problem.set(Some("Pick a day and a time for the follow-up.".to_string()));
            return;
        };
        if due < chrono::Utc::now() {
            problem.set(Some("That time has passed; pick a later one.".to_string()));
            return;
        }
        problem.set(None);
        let mut mutations = vec![Mutation::FollowupSchedule(FollowupSchedule {
            id: Uuid::now_v7(),
            consultation_id: id,
            due_at: due,
            assignee_id: rep,
            note: note.get_untracked(),
        })];
        if let Some(rep) = rep {
            // The hand-off: the rep owns the quote from here; the technician keeps the credit
            // for generating it (sold_by / created_by say who did what).
            let base_version = sync.snapshot.with_untracked(|s| s.revision(Entity::Consultation, id));
            mutations.push(Mutation::ConsultationUpdate(FieldUpdate {
                id,
                base_version,
                fields: json!({ "sales_rep_id": rep }).as_object().cloned().unwrap_or_default(),
            }));
        }
        saver.queue(mutations);
        done.set(true);
        another.set(false);
    };
    view! {
        <section class="card stack" data-testid="follow-up">
            <h2>"Follow up"</h2>
            {move || open.get().map(|(due, who, note)| view! {
                <div class="stack" data-testid="follow-up-open">
                    <p class="ok">
                        "Follow-up scheduled"
                        {due.map(|d| format!(" for {}", crate::ui::clock::format(d, "%a %-d %b, %H:%M")))}
                        {(!who.is_empty()).then(|| format!(" with {who}"))}
                        "."
                    </p>
                    {(!note.is_empty()).then(|| view! { <p class="muted">{note}</p> })}
                    <A href="/today">"Back to Today"</A>
                    <Show when=move || !another.get()>
                        <button type="button" data-testid="follow-up-another" on:click=move |_| { another.set(true); done.set(false); }>
                            "Schedule another follow-up"
                        </button>
                    </Show>
                </div>
            })}
            <Show when=move || open.with(Option::is_none) || another.get()>
            <p class="step-label">"When?"</p>
            <div class="choice three" role="group" aria-label="When">
                {[(1, "Tomorrow"), (3, "In 3 days"), (7, "In a week")].into_iter().map(|(n, t)| view! {
                    <button type="button" aria-pressed=move || (day.get() == day_in(n).to_string()).to_string()
                        on:click=move |_| day.set(day_in(n).to_string())>{t}</button>
                }).collect_view()}
            </div>
            <label for="f-day">"Day"</label>
            <input id="f-day" type="date" required bind:value=day />
            <label for="f-time">"Time"</label>
            <input id="f-time" type="time" required step="900" bind:value=time />
            {move || problem.get().map(|p| view! { <p class="error" role="alert">{p}</p> })}
            <label for="f-assignee">"Who follows up"</label>
            <select id="f-assignee" on:change=move |ev| assignee.set(event_target_value(&ev))>
                <option value="">"Me"</option>
                {move || reps.get().into_iter().map(|(id, name)| view! { <option value=id.to_string()>{name}</option> }).collect_view()}
            </select>
            <label for="f-note">"Note for the follow-up"</label>
            <textarea id="f-note" rows="2" bind:value=note></textarea>
            <button type="button" class="primary" on:click=schedule disabled=move || done.get()>"Schedule the follow-up"</button>
            </Show>
            <Show when=move || done.get()>
                <p class="ok" data-testid="follow-up-done">"Follow-up scheduled."</p>
            </Show>
        </section>
    }
}

#[component]
fn Lost(id: Uuid, open_steps: Memo<Vec<String>>) -> impl IntoView {
    let saver = Saver::get();
    let reason = RwSignal::new(String::new());
    let competitor = RwSignal::new(String::new());
    let note = RwSignal::new(String::new());
    let error = RwSignal::new(None::<String>);
    let record = move |_| {
        if reason.get_untracked().is_empty() {
            return error
                .set(Some("Choose why it was lost: the reasons tell the manager what to fix.".into()));
        }
        if !open_steps.get_untracked().is_empty() {
            return error.set(Some("Answer the required checklist steps first (listed above).".into()));
        }
        error.set(None);
        let blank_none = |s: String| Some(s).filter(|s| !s.trim().is_empty());
        saver.queue(vec![Mutation::SetOutcome(SetOutcome {
            id,
            outcome: Outcome::Lost {
                reason: reason.get_untracked(),
                competitor: blank_none(competitor.get_untracked()),
                note: blank_none(note.get_untracked()),
            },
            at: chrono::Utc::now(),
        })]);
    };
    view! {
        <section class="card stack" data-testid="lost">
            <h2>"Lost"</h2>
            <label for="l-reason">"Reason (required)"</label>
            <select id="l-reason" required on:change=move |ev| reason.set(event_target_value(&ev))>
                <option value="">"Choose…"</option>
                {LOST_REASONS.iter().map(|r| view! { <option value=*r>{label(r)}</option> }).collect_view()}
            </select>
            <label for="l-competitor">"Competitor (if any)"</label>
            <input id="l-competitor" bind:value=competitor />
            <label for="l-note">"Their price, or a note"</label>
            <textarea id="l-note" rows="2" bind:value=note></textarea>
            {move || error.get().map(|e| view! { <p class="error" role="alert">{e}</p> })}
            <button type="button" class="primary" on:click=record>"Record as lost"</button>
        </section>
    }
}
