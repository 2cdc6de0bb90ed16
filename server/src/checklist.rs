//! The checklist editor's API (managers): the company's live checklists (a general one, and
//! any service's own), each saved as its next revision.
//!
//! A save never changes a row: it writes the next revision as a new row and retires the one
//! it replaces (migration 18). Devices keep every revision, and a consultation points at the
//! one it was captured with, so its required steps, its answers and every report about it stay
//! as they were when a manager later edits the checklist.

use crate::{
    audit::{self, Device},
    auth::CurrentUser,
    error::{ApiError, ApiJson, ResultExt},
    state::AppState,
};
use app::{
    api::{Checklist, ChecklistEdit},
    domain::{checklist::parse_steps, Role, ValidationError},
    sync::mutation::SERVICE_TYPES,
};
use axum::{
    extract::{Path, State},
    http::StatusCode,
};
use serde_json::json;
use uuid::Uuid;

/// `general` (every service without its own checklist) or a service type.
fn service_of(path: &str) -> Result<Option<String>, ApiError> {
    match path {
        "general" => Ok(None),
        s if SERVICE_TYPES.contains(&s) => Ok(Some(s.to_string())),
        other => Err(ValidationError::new(
            "service",
            format!("{other} is not a service: use general or one of {}", SERVICE_TYPES.join(", ")),
        )
        .into()),
    }
}

fn manager(user: &CurrentUser) -> Result<(), ApiError> {
    user.require(Role::Manager, "Only managers can change the checklist.")
}

#[utoipa::path(get, path = "/checklists", tag = "checklist",
    responses((status = 200, body = Vec<Checklist>, description = "The live checklists: the general one first, then each service's own"),
              (status = 403, body = app::api::ErrorBody)))]
pub async fn list(
    State(state): State<AppState>,
    user: CurrentUser,
) -> Result<ApiJson<Vec<Checklist>>, ApiError> {
    manager(&user)?;
    Ok(ApiJson(live(&state.pool, user.company_id()).await?))
}

async fn live(pool: &sqlx::PgPool, company: Uuid) -> Result<Vec<Checklist>, ApiError> {
    let rows = sqlx::query!(
        r#"select t.id, t.service_type, t.revision, t.steps, t.changed_at, u.name as "changed_by?"
           from checklist_templates t left join users u on u.company_id = t.company_id and u.id = t.changed_by
           where t.company_id = $1 and not t.retired and not t.deleted
           order by t.service_type nulls first"#,
        company
    )
    .fetch_all(pool)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| Checklist {
            id: r.id,
            service_type: r.service_type,
            revision: r.revision,
            steps: serde_json::from_value(r.steps).unwrap_or_default(),
            changed_at: r.changed_at,
            changed_by: r.changed_by,
        })
        .collect())
}

#[utoipa::path(put, path = "/checklists/{service}", tag = "checklist",
    params(("service" = String, Path, description = "general, or a service type (hvac, plumbing, electrical, water_heater, other)")),
    request_body = ChecklistEdit,
    responses((status = 200, body = Checklist, description = "The new revision; consultations captured with an earlier one keep theirs"),
              (status = 403, body = app::api::ErrorBody), (status = 409, body = app::api::ErrorBody),
              (status = 422, body = app::api::ErrorBody)))]
pub async fn save(
    State(state): State<AppState>,
    user: CurrentUser,
    device: Device,
    Path(service): Path<String>,
    ApiJson(edit): ApiJson<ChecklistEdit>,
) -> Result<ApiJson<Checklist>, ApiError> {
    manager(&user)?;
    let service = service_of(&service)?;
    let steps = parse_steps(&edit.steps)?;
    let company = user.company_id();
    let mut tx = state.pool.begin().await?;
    let ticket = state.clock.begin(company, &mut tx).await?;
    let old = sqlx::query!(
        "update checklist_templates set retired = true, version = $3
         where company_id = $1 and service_type is not distinct from $2 and not retired and not deleted
         returning id, revision, name, steps",
        company,
        service,
        ticket.version()
    )
    .fetch_optional(&mut *tx)
    .await?;
    let steps_json = serde_json::to_value(&steps).map_err(|e| ApiError::BadRequest(e.to_string()))?;
    if old.as_ref().is_some_and(|o| o.steps == steps_json) {
        // Nothing changed (a second tap, a retry): no new revision; dropping the transaction
        // undoes the retirement above, and the answer is the live one, as if just saved.
        drop(tx);
        let live = live(&state.pool, company).await?.into_iter().find(|c| c.service_type == service);
        return live.map(ApiJson).ok_or(ApiError::NotFound("checklist"));
    }
    let revision = old.as_ref().map_or(1, |o| o.revision + 1);
    let name = old.as_ref().map_or_else(|| "In-home consultation".to_string(), |o| o.name.clone());
    let id = Uuid::now_v7();
    let changed_at = sqlx::query_scalar!(
        "insert into checklist_templates (company_id, id, name, steps, version, service_type, revision, changed_by)
         values ($1, $2, $3, $4, $5, $6, $7, $8) returning changed_at",
        company,
        id,
        name,
        steps_json,
        ticket.version(),
        service,
        revision,
        user.user_id()
    )
    .fetch_one(&mut *tx)
    .await
    .on_constraint("checklist_templates_live_idx", || {
        ApiError::Conflict("Someone saved this checklist at the same moment; reload it and try again.".into())
    })?;
    let scope = service.as_deref().unwrap_or("general").replace('_', " ");
    audit::record(
        &mut tx,
        &user,
        &device,
        audit::Change {
            record_type: "checklist",
            record_id: Some(id),
            action: if old.is_some() { "changed" } else { "created" },
            summary: format!("Checklist ({scope}) revision {revision}, {} step(s)", steps.len()),
            before: old.as_ref().map(|o| json!({ "steps": labels(&o.steps) })),
            after: Some(json!({ "steps": labels(&steps_json) })),
        },
    )
    .await?;
    ticket.commit(tx).await?;
    Ok(ApiJson(Checklist {
        id,
        service_type: service,
        revision,
        steps,
        changed_at,
        changed_by: Some(user.0.name.clone()),
    }))
}

/// A checklist's steps as the trail shows them: "Label (required)", in order.
fn labels(steps: &serde_json::Value) -> Vec<String> {
    let steps: Vec<app::domain::checklist::TemplateStep> =
        serde_json::from_value(steps.clone()).unwrap_or_default();
    steps
        .iter()
        .map(|s| if s.required { format!("{} (required)", s.label) } else { s.label.clone() })
        .collect()
}

#[utoipa::path(delete, path = "/checklists/{service}", tag = "checklist",
    params(("service" = String, Path, description = "A service type with a checklist of its own")),
    responses((status = 204, description = "The service uses the general checklist again; consultations captured with its own keep it"),
              (status = 403, body = app::api::ErrorBody), (status = 404, body = app::api::ErrorBody),
              (status = 422, body = app::api::ErrorBody, description = "The general checklist cannot be removed (empty it instead)")))]
pub async fn remove(
    State(state): State<AppState>,
    user: CurrentUser,
    device: Device,
    Path(service): Path<String>,
) -> Result<StatusCode, ApiError> {
    manager(&user)?;
    let Some(service) = service_of(&service)? else {
        return Err(ValidationError::new(
            "service",
            "the general checklist cannot be removed: save it with the steps you want, or none",
        )
        .into());
    };
    let company = user.company_id();
    let mut tx = state.pool.begin().await?;
    let ticket = state.clock.begin(company, &mut tx).await?;
    let retired = sqlx::query!(
        "update checklist_templates set retired = true, version = $3
         where company_id = $1 and service_type = $2 and not retired and not deleted returning id, steps",
        company,
        service,
        ticket.version()
    )
    .fetch_optional(&mut *tx)
    .await?
    .ok_or(ApiError::NotFound("checklist of this service"))?;
    audit::record(
        &mut tx,
        &user,
        &device,
        audit::Change {
            record_type: "checklist",
            record_id: Some(retired.id),
            action: "removed",
            summary: format!("Checklist ({}) removed: the general one applies", service.replace('_', " ")),
            before: Some(json!({ "steps": labels(&retired.steps) })),
            after: None,
        },
    )
    .await?;
    ticket.commit(tx).await?;
    Ok(StatusCode::NO_CONTENT)
}

pub fn router() -> utoipa_axum::router::OpenApiRouter<AppState> {
    use utoipa_axum::routes;
    utoipa_axum::router::OpenApiRouter::new().routes(routes!(list)).routes(routes!(save, remove))
}
