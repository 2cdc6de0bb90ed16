//! The manager's tabs: the dashboard (recent consultations and the way to /reports) and the team.

use super::client::{get_json, post_json};
use crate::{
    api::{ErrorDetail, NewUserRequest, TeamMember},
    domain::{EmailAddress, Password, PersonName, Role},
};
use leptos::prelude::*;

#[component]
pub fn Dashboard() -> impl IntoView {
    view! {
        <h1>"Dashboard"</h1>
        <p>
            <a class="button" href="/reports" rel="external">"Open reports"</a>
            " Close rate, win rate, speed to lead, funnel leaks and more, against target."
        </p>
        <h2>"Recent consultations"</h2>
        <super::consultations::ConsultationList empty="No consultations have synced yet." />
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
    let team = LocalResource::new(|| get_json::<Vec<TeamMember>>("/api/users"));
    let name = RwSignal::new(String::new());
    let email = RwSignal::new(String::new());
    let role = RwSignal::new(Role::Technician.as_str().to_string());
    let password = RwSignal::new(String::new());
    let message = RwSignal::new(None::<Result<String, String>>);

    let add = Action::new_local(move |req: &NewUserRequest| {
        let req = req.clone();
        async move {
            validate(&req)?;
            post_json::<_, TeamMember>("/api/users", &req).await
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
                                {members.into_iter().map(|m| view! {
                                    <li>
                                        <strong>{m.name}</strong>
                                        <span class="muted">{format!(" · {} · {}", m.role.label(), m.email)}</span>
                                    </li>
                                }).collect_view()}
                            </ul>
                        }.into_any(),
                        Err(e) => view! { <p class="error" role="alert">{e.message}</p> }.into_any(),
                    })
                }}
            </Suspense>
        </section>
        <form class="card stack" on:submit=on_submit data-testid="add-user-form">
            <h2>"Add a person"</h2>
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
            <label for="new-password">"First password (at least 10 characters)"</label>
            <input id="new-password" type="password" autocomplete="new-password" required bind:value=password />
            <button type="submit" class="primary" disabled=move || add.pending().get()>"Add person"</button>
        </form>
    }
}
