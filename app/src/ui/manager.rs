//! The manager's tabs: the dashboard (recent consultations and the way to /reports) and the team.

use crate::sync::device::transport::{self, get_json, post_json, Failure};
use crate::{
    api::{ErrorDetail, MemberChange, MemberChanged, NewUserRequest, PasswordResetLink, TeamMember},
    domain::{EmailAddress, Password, PersonName, Role},
};
use leptos::prelude::*;

#[component]
pub fn Dashboard() -> impl IntoView {
    // The newest consultations and a search, not the whole company's list: a manager's device
    // holds hundreds, and drawing them all was most of this page's blocking time.
    let query = RwSignal::new(String::new());
    view! {
        <h1>"Dashboard"</h1>
        <p>
            <a class="button" href="/reports" rel="external">"Open reports"</a>
            " Close rate, win rate, speed to lead, funnel leaks and more, against target."
        </p>
        <p><a href="/settings">"Settings"</a>" · "<a href="/audit">"Audit trail"</a></p>
        <h2>"Recent consultations"</h2>
        <label for="search" class="visually-hidden">"Search by name, phone or address"</label>
        <input id="search" type="search" placeholder="Search customers: name, phone or address" bind:value=query data-testid="search" />
        <super::consultations::ConsultationList empty="No consultations have synced yet." query=query recent=super::RECENT_CONSULTATIONS />
    }
}

/// Checks the add-person form with the same domain rules the server applies, so most mistakes
/// are caught before a round trip (the server checks again: it trusts no client).
fn validate(req: &NewUserRequest) -> Result<(), ErrorDetail> {
    let to_detail = |e: crate::domain::ValidationError| ErrorDetail {
        code: "invalid_input".into(),
        message: format!("{}: {}", e.field, e.message),
        field: Some(e.field.into()),
    };
    PersonName::parse(&req.name).map_err(to_detail)?;
    EmailAddress::parse(&req.email).map_err(to_detail)?;
    Role::parse(&req.role).map_err(to_detail)?;
    Password::parse(&req.password).map_err(to_detail)?;
    Ok(())
}

#[component]
pub fn Team() -> impl IntoView {
    let team = LocalResource::new(|| async {
        get_json::<Vec<TeamMember>>("/api/users").await.map_err(Failure::into_detail)
    });
    let name = RwSignal::new(String::new());
    let email = RwSignal::new(String::new());
    let role = RwSignal::new(Role::Technician.as_str().to_string());
    let password = RwSignal::new(String::new());
    let message = RwSignal::new(None::<Result<String, String>>);

    let reset = Action::new_local(move |id: &uuid::Uuid| {
        let url = format!("/api/users/{id}/password-reset");
        async move {
            transport::post_json::<_, PasswordResetLink>(&url, &serde_json::json!({}))
                .await
                .map_err(|f| f.into_detail().message)
        }
    });
    // Deactivate, reactivate or change a role; says what happened to their sessions and work.
    let change = Action::new_local(move |(id, req): &(uuid::Uuid, MemberChange)| {
        let (url, req) = (format!("/api/users/{id}"), req.clone());
        async move {
            let done = transport::patch_json::<_, MemberChanged>(&url, &req)
                .await
                .map_err(|f| f.into_detail().message)?;
            let m = &done.member;
            let mut text = if m.active {
                format!("{} is a {}.", m.name, m.role.label().to_lowercase())
            } else {
                format!("{} is deactivated; their history stays in every report.", m.name)
            };
            if done.sessions_ended > 0 {
                text.push_str(&format!(
                    " Signed out on {} device(s); anything unsent stays on them.",
                    done.sessions_ended
                ));
            }
            if done.open_followups > 0 {
                text.push_str(&format!(
                    " {} open follow-up(s) to hand on from the Follow-ups tab.",
                    done.open_followups
                ));
            }
            Ok::<_, String>(text)
        }
    });
    Effect::new(move |_| {
        if change.value().get().is_some() {
            team.refetch();
        }
    });
    let add = Action::new_local(move |req: &NewUserRequest| {
        let req = req.clone();
        async move {
            validate(&req)?;
            post_json::<_, TeamMember>("/api/users", &req).await.map_err(Failure::into_detail)
        }
    });
    Effect::new(move |_| {
        if let Some(result) = add.value().get() {
            match result {
                Ok(member) => {
                    message.set(Some(Ok(format!("Added {} ({}).", member.name, member.role.label()))));
                    name.set(String::new());
                    email.set(String::new());
                    password.set(String::new());
                    team.refetch();
                }
                Err(e) => message.set(Some(Err(e.message))),
            }
        }
    });

    let on_submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        add.dispatch(NewUserRequest {
            name: name.get_untracked(),
            email: email.get_untracked(),
            role: role.get_untracked(),
            password: password.get_untracked(),
        });
    };

    view! {
        <h1>"Team"</h1>
        <section class="card">
            <h2>"People"</h2>
            <Suspense fallback=|| view! { <p>"Loading the team…"</p> }>
                {move || {
                    team.get().map(|result| match result {
                        Ok(members) => view! {
                            <ul class="list" data-testid="team-list">
                                {members.into_iter().map(|m| {
                                    let (id, active, name) = (m.id, m.active, m.name.clone());
                                    view! {
                                        <li class:inactive=!active data-testid="member">
                                            <strong>{m.name}</strong>
                                            <span class="muted">{format!(" · {} · {}{}", m.role.label(), m.email, if active { "" } else { " · deactivated" })}</span>
                                            <span class="member-actions">
                                                <select aria-label=format!("Role of {name}")
                                                    on:change=move |ev| { change.dispatch((id, MemberChange { role: Some(event_target_value(&ev)), active: None })); }>
                                                    {Role::ALL.into_iter().map(|r| view! {
                                                        <option value=r.as_str() selected=r == m.role>{r.label()}</option>
                                                    }).collect_view()}
                                                </select>
                                                <button type="button" class="link-button"
                                                    on:click=move |_| { change.dispatch((id, MemberChange { active: Some(!active), role: None })); }>
                                                    {if active { "Deactivate" } else { "Reactivate" }}
                                                </button>
                                                {active.then(|| view! {
                                                    <button type="button" class="link-button" on:click=move |_| { reset.dispatch(id); }>
                                                        "Password reset link"
                                                    </button>
                                                })}
                                            </span>
                                        </li>
                                    }
                                }).collect_view()}
                            </ul>
                            {move || reset.value().get().map(|r| match r {
                                Ok(link) => view! {
                                    <div class="stack" role="status">
                                        <p class="ok">{format!("A one-time link to set a new password, until {}:", crate::ui::clock::format(link.expires_at, "%b %-d, %H:%M"))}</p>
                                        <input readonly value=link.url aria-label="Password reset link" data-testid="reset-link" />
                                    </div>
                                }.into_any(),
                                Err(text) => view! { <p class="error" role="alert">{text}</p> }.into_any(),
                            })}
                            {move || change.value().get().map(|r| match r {
                                Ok(text) => view! { <p class="ok" role="status">{text}</p> }.into_any(),
                                Err(text) => view! { <p class="error" role="alert">{text}</p> }.into_any(),
                            })}
                        }.into_any(),
                        Err(e) => view! { <p class="error" role="alert">{e.message}</p> }.into_any(),
                    })
                }}
            </Suspense>
        </section>
        <super::invites::InviteByLink />
        <form class="card stack" on:submit=on_submit data-testid="add-user-form">
            <h2>"Or add a person yourself"</h2>
            {move || message.get().map(|m| match m {
                Ok(text) => view! { <p class="ok" role="status">{text}</p> }.into_any(),
                Err(text) => view! { <p class="error" role="alert">{text}</p> }.into_any(),
            })}
            <label for="new-name">"Name"</label>
            <input id="new-name" autocomplete="off" required bind:value=name />
            <label for="new-email">"Email"</label>
            <input id="new-email" type="email" inputmode="email" autocomplete="off" required bind:value=email />
            <label for="new-role">"Role"</label>
            <select id="new-role" on:change=move |ev| role.set(event_target_value(&ev))>
                {Role::ALL.into_iter().map(|r| view! { <option value=r.as_str()>{r.label()}</option> }).collect_view()}
            </select>
            <label for="new-password">"First password (at least 12 characters)"</label>
            <input id="new-password" type="password" autocomplete="new-password" required bind:value=password />
            <button type="submit" class="primary" disabled=move || add.pending().get()>"Add person"</button>
        </form>
    }
}

/// Every open follow-up by the person it is assigned to (each rep's queue, as the manager sees
/// it), with the last contact, and a way to hand it to someone else.
#[component]
pub fn FollowupsBoard() -> impl IntoView {
    use super::{
        quotes::queue_of,
        visit::{label, save::Saver, text},
    };
    use crate::sync::device::use_sync;
    use crate::sync::{
        mutation::{FieldUpdate, FollowupReassign, Mutation},
        protocol::Entity,
    };
    use uuid::Uuid;

    let sync = use_sync();
    let saver = Saver::provide();
    let people = Memo::new(move |_| {
        sync.snapshot.with(|s| {
            let mut p: Vec<(Uuid, String, String)> = s
                .records(Entity::TeamMember)
                .filter(|(_, m)| m.get("active").and_then(|a| a.as_bool()) != Some(false))
                .filter(|(_, m)| text(m, "role") != "manager")
                .map(|(id, m)| (*id, text(m, "name"), text(m, "role")))
                .collect();
            p.sort_by(|a, b| a.1.cmp(&b.1));
            p
        })
    });
    // Each person's queue exactly as their own device shows it (`queue_of`), soonest due first
    // and those with no follow-up set last; people with nothing open are left out.
    let board = Memo::new(move |_| {
        sync.snapshot.with(|s| {
            // Everyone who may hold a queue, the deactivated too: their open follow-ups are the
            // ones most in need of handing on.
            let mut holders: Vec<(Uuid, String)> = s
                .records(Entity::TeamMember)
                .filter(|(_, m)| text(m, "role") != "manager")
                .map(|(id, m)| (*id, text(m, "name")))
                .collect();
            holders.sort_by(|a, b| a.1.cmp(&b.1));
            holders
                .iter()
                .filter_map(|(who, _)| {
                    let mut list = queue_of(s, *who);
                    list.sort_by_key(|q| (q.next_due.is_none(), q.next_due.map(|d| d.1)));
                    (!list.is_empty()).then_some((*who, list))
                })
                .collect::<Vec<_>>()
        })
    });
    let name_of = move |id: Uuid| {
        people.with(|p| p.iter().find(|x| x.0 == id).map(|x| x.1.clone())).unwrap_or_else(|| {
            let name = sync.snapshot.with(|s| s.get(Entity::TeamMember, id).map(|m| text(m, "name")));
            format!("{} (no longer active)", name.unwrap_or_else(|| "Someone".into()))
        })
    };
    let reassign = move |q: &super::quotes::Quote, to: Uuid| {
        let mut mutations = vec![];
        if let Some((followup, _, _)) = q.next_due {
            mutations.push(Mutation::FollowupReassign(FollowupReassign { id: followup, assignee_id: to }));
        }
        // A rep who gets the follow-up gets the quote (and so sees it on their device).
        if people.with_untracked(|p| p.iter().any(|x| x.0 == to && x.2 == "sales_rep")) {
            let base_version = sync.snapshot.with_untracked(|s| s.revision(Entity::Consultation, q.id));
            mutations.push(Mutation::ConsultationUpdate(FieldUpdate {
                id: q.id,
                base_version,
                fields: serde_json::json!({ "sales_rep_id": to }).as_object().cloned().unwrap_or_default(),
            }));
        }
        if !mutations.is_empty() {
            saver.queue(mutations);
        }
    };
    let now = chrono::Utc::now();
    view! {
        <h1>"Follow-ups"</h1>
        <super::visit::save::SaveIndicator />
        {move || board.get().into_iter().map(|(who, list)| view! {
            <section class="card" data-testid="followup-group">
                <h2>{format!("{} — {} open", name_of(who), list.len())}</h2>
                <ul class="list">
                    {list.into_iter().map(|q| {
                        let due = q.next_due.map(|d| format!("due {}", crate::ui::clock::format(d.1, "%b %-d"))).unwrap_or_else(|| "no follow-up set".into());
                        let select_id = format!("to-{}", q.id);
                        let q2 = q.clone();
                        view! {
                            <li data-testid="followup-row" data-overdue=q.overdue(now).to_string()>
                                <strong>{q.customer.clone()}</strong>
                                <div class="muted">{format!("{} · {due} · {} attempts{}", q.quoted(), q.attempts,
                                    q.last_result.as_deref().map(|r| format!(", last: {}", label(r))).unwrap_or_default())}</div>
                                <label for=select_id.clone() class="small">"Hand to"</label>
                                <select id=select_id on:change=move |ev| {
                                    if let Ok(to) = event_target_value(&ev).parse() { reassign(&q2, to) }
                                }>
                                    <option value="">"Choose…"</option>
                                    {move || people.get().into_iter().filter(|p| p.0 != who).map(|(id, name, role)| view! {
                                        <option value=id.to_string()>{format!("{name} ({})", label(&role))}</option>
                                    }).collect_view()}
                                </select>
                            </li>
                        }
                    }).collect_view()}
                </ul>
            </section>
        }).collect_view()}
    }
}
