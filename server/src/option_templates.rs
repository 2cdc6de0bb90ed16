//! Option templates (managers): good / better / best bundles of price book items per service,
//! synced to every device (kinds version 2) so a technician starts an option from one offline. An
//! option made from a template copies its lines at that moment's prices.

use crate::{
    audit::{self, Device},
    auth::CurrentUser,
    error::{ApiError, ApiJson},
    state::AppState,
};
use app::{
    api::{OptionTemplate, TEMPLATE_TIERS},
    domain::{text, Role, ValidationError},
    sync::mutation::SERVICE_TYPES,
};
use axum::{
    extract::{Path, State},
    http::StatusCode,
};
use sqlx::PgConnection;
use uuid::Uuid;

/// The most lines a template holds (an option holds at most 100).
const MAX_ITEMS: usize = 30;

fn manager(user: &CurrentUser) -> Result<(), ApiError> {
    user.require(Role::Manager, "Only managers can change option templates.")
}

/// What needs no lookup: a known service and tier, a name, 1–30 lines of 1–99 each, each item once.
fn check(t: &OptionTemplate) -> Result<(), ValidationError> {
    if !SERVICE_TYPES.contains(&t.service_type.as_str()) {
        return Err(ValidationError::new(
            "service_type",
            format!("must be one of {}", SERVICE_TYPES.join(", ")),
        ));
    }
    if !TEMPLATE_TIERS.contains(&t.tier.as_str()) {
        return Err(ValidationError::new("tier", "must be good, better or best"));
    }
    if t.name.trim().is_empty() {
        return Err(ValidationError::new("name", "name the template, e.g. \"Comfort upgrade\""));
    }
    text::check("name", &t.name, 100)?;
    if t.items.is_empty() || t.items.len() > MAX_ITEMS {
        return Err(ValidationError::new(
            "items",
            format!("a template holds 1 to {MAX_ITEMS} price book items"),
        ));
    }
    let mut seen = std::collections::HashSet::new();
    for item in &t.items {
        if !(1..=99).contains(&item.quantity) {
            return Err(ValidationError::new("items", "each quantity is from 1 to 99"));
        }
        if !seen.insert(item.price_book_item_id) {
            return Err(ValidationError::new("items", "an item appears twice: set its quantity instead"));
        }
    }
    Ok(())
}

/// Every item must be an active item of the company's price book.
async fn check_items(db: &mut PgConnection, company: Uuid, t: &OptionTemplate) -> Result<(), ApiError> {
    let ids: Vec<Uuid> = t.items.iter().map(|i| i.price_book_item_id).collect();
    let found = sqlx::query_scalar!(
        r#"select count(*) as "n!" from price_book_items
           where company_id = $1 and id = any($2) and active and not deleted"#,
        company,
        &ids
    )
    .fetch_one(db)
    .await?;
    if found != ids.len() as i64 {
        return Err(
            ValidationError::new("items", "each item must be an active item of your price book").into()
        );
    }
    Ok(())
}

/// The company's templates, or (`only`) the one with that id.
async fn all(
    pool: &sqlx::PgPool,
    company: Uuid,
    only: Option<Uuid>,
) -> Result<Vec<OptionTemplate>, ApiError> {
    sqlx::query!(
        "select id, service_type, tier, name, items from option_templates
         where company_id = $1 and not deleted and ($2::uuid is null or id = $2)
         order by service_type, array_position(array['good', 'better', 'best'], tier), name",
        company,
        only
    )
    .fetch_all(pool)
    .await?
    .into_iter()
    .map(|r| {
        Ok(OptionTemplate {
            id: Some(r.id),
            service_type: r.service_type,
            tier: r.tier,
            name: r.name,
            items: serde_json::from_value(r.items).map_err(ApiError::internal)?,
        })
    })
    .collect()
}

#[utoipa::path(get, path = "/option-templates", tag = "price book",
    responses((status = 200, body = Vec<OptionTemplate>, description = "By service, then good, better, best"),
              (status = 403, body = app::api::ErrorBody)))]
pub async fn list(
    State(state): State<AppState>,
    user: CurrentUser,
) -> Result<ApiJson<Vec<OptionTemplate>>, ApiError> {
    manager(&user)?;
    Ok(ApiJson(all(&state.pool, user.company_id(), None).await?))
}

#[utoipa::path(post, path = "/option-templates", tag = "price book", request_body = OptionTemplate,
    responses((status = 201, body = OptionTemplate), (status = 403, body = app::api::ErrorBody),
              (status = 422, body = app::api::ErrorBody)))]
pub async fn create(
    State(state): State<AppState>,
    user: CurrentUser,
    device: Device,
    ApiJson(mut t): ApiJson<OptionTemplate>,
) -> Result<(StatusCode, ApiJson<OptionTemplate>), ApiError> {
    manager(&user)?;
    check(&t)?;
    t.id = Some(Uuid::now_v7());
    save(&state, &user, &device, &t, None).await?;
    Ok((StatusCode::CREATED, ApiJson(t)))
}

#[utoipa::path(put, path = "/option-templates/{id}", tag = "price book", params(("id" = Uuid, Path)),
    request_body = OptionTemplate,
    responses((status = 200, body = OptionTemplate), (status = 403, body = app::api::ErrorBody),
              (status = 404, body = app::api::ErrorBody), (status = 422, body = app::api::ErrorBody)))]
pub async fn update(
    State(state): State<AppState>,
    user: CurrentUser,
    device: Device,
    Path(id): Path<Uuid>,
    ApiJson(mut t): ApiJson<OptionTemplate>,
) -> Result<ApiJson<OptionTemplate>, ApiError> {
    manager(&user)?;
    check(&t)?;
    t.id = Some(id);
    let before = all(&state.pool, user.company_id(), Some(id))
        .await?
        .pop()
        .ok_or(ApiError::NotFound("option template"))?;
    save(&state, &user, &device, &t, Some(before)).await?;
    Ok(ApiJson(t))
}

async fn save(
    state: &AppState,
    user: &CurrentUser,
    device: &Device,
    t: &OptionTemplate,
    before: Option<OptionTemplate>,
) -> Result<(), ApiError> {
    let company = user.company_id();
    let mut tx = state.pool.begin().await?;
    check_items(&mut tx, company, t).await?;
    let ticket = state.clock.begin(company, &mut tx).await?;
    let items = serde_json::to_value(&t.items).map_err(ApiError::internal)?;
    let written = sqlx::query!(
        "insert into option_templates (company_id, id, service_type, tier, name, items, version)
         values ($1, $2, $3, $4, $5, $6, $7)
         on conflict (company_id, id) do update set service_type = excluded.service_type, tier = excluded.tier,
           name = excluded.name, items = excluded.items, version = excluded.version
         where not option_templates.deleted",
        company,
        t.id,
        t.service_type,
        t.tier,
        t.name.trim(),
        items,
        ticket.version()
    )
    .execute(&mut *tx)
    .await?;
    if written.rows_affected() != 1 {
        return Err(ApiError::NotFound("option template"));
    }
    let change = audit::Change {
        record_type: "price_book_item",
        record_id: t.id,
        action: if before.is_some() { "changed" } else { "created" },
        summary: format!(
            "Option template {} ({}, {})",
            t.name.trim(),
            t.tier,
            t.service_type.replace('_', " ")
        ),
        before: before.and_then(|b| serde_json::to_value(b).ok()),
        after: serde_json::to_value(t).ok(),
    };
    audit::record(&mut tx, user, device, change).await?;
    ticket.commit(tx).await?;
    Ok(())
}

#[utoipa::path(delete, path = "/option-templates/{id}", tag = "price book", params(("id" = Uuid, Path)),
    responses((status = 204, description = "Removed from every device; options made from it keep their lines"),
              (status = 403, body = app::api::ErrorBody), (status = 404, body = app::api::ErrorBody)))]
pub async fn remove(
    State(state): State<AppState>,
    user: CurrentUser,
    device: Device,
    Path(id): Path<Uuid>,
) -> Result<StatusCode, ApiError> {
    manager(&user)?;
    crate::reference::remove(&state, &user, &device, crate::reference::Reference::OptionTemplate, id).await
}

pub fn router() -> utoipa_axum::router::OpenApiRouter<AppState> {
    use utoipa_axum::routes;
    utoipa_axum::router::OpenApiRouter::new().routes(routes!(list, create)).routes(routes!(update, remove))
}
