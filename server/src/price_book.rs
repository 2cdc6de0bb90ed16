//! The price book editor's API (managers): items listed, added, changed and removed one at a
//! time, and the whole book as CSV out and in (a dry run first; all or nothing; problems by
//! line). Every write takes a company version, so every device pulls the change and has it
//! offline. A price change never reaches an option already made: options keep the prices they
//! were made with (`options.line_items`).

use crate::{
    analytics::{csv, import::ImportQuery},
    audit::{self, Device},
    auth::CurrentUser,
    error::{ApiError, ApiJson, ResultExt},
    state::AppState,
};
use app::{
    api::PriceBookItem,
    domain::{text, Cents, Role, ValidationError},
    sync::mutation::SERVICE_TYPES,
};
use axum::{
    body::Bytes,
    extract::{Path, Query, State},
    http::{header, StatusCode},
    response::{IntoResponse, Response},
    Json,
};
use serde::Serialize;
use sqlx::PgConnection;
use uuid::Uuid;

/// An item as the domain accepts it: SKU and name present, a known service, amounts a quote can
/// hold, a discount limit that is a percentage.
fn check(item: &PriceBookItem) -> Result<(), ValidationError> {
    if item.sku.trim().is_empty() {
        return Err(ValidationError::new("sku", "enter the item's SKU"));
    }
    text::check("sku", &item.sku, 40)?;
    if item.name.trim().is_empty() {
        return Err(ValidationError::new("name", "enter the item's name"));
    }
    text::check("name", &item.name, 200)?;
    text::check("description", &item.description, 2000)?;
    if !SERVICE_TYPES.contains(&item.service_type.as_str()) {
        return Err(ValidationError::new(
            "service_type",
            format!("must be one of {}", SERVICE_TYPES.join(", ")),
        ));
    }
    Cents(item.price_cents).check("price_cents")?;
    if let Some(cost) = item.cost_cents {
        Cents(cost).check("cost_cents")?;
    }
    if !(0..=100).contains(&item.max_discount_pct) {
        return Err(ValidationError::new("max_discount_pct", "must be a percentage from 0 to 100"));
    }
    Ok(())
}

fn manager(user: &CurrentUser) -> Result<(), ApiError> {
    user.require(Role::Manager, "Only managers can change the price book.")
}

const SKU_TAKEN: &str = "Another item of your price book has this SKU. Use another, or change that item.";

#[utoipa::path(get, path = "/price-book", tag = "price book",
    responses((status = 200, body = Vec<PriceBookItem>, description = "Every item, active or not, by service and SKU"),
              (status = 403, body = app::api::ErrorBody)))]
pub async fn list(
    State(state): State<AppState>,
    user: CurrentUser,
) -> Result<ApiJson<Vec<PriceBookItem>>, ApiError> {
    manager(&user)?;
    Ok(ApiJson(items(&state.pool, user.company_id(), None).await?))
}

/// The company's items, or (`only`) the one with that id.
async fn items(
    pool: &sqlx::PgPool,
    company: Uuid,
    only: Option<Uuid>,
) -> Result<Vec<PriceBookItem>, ApiError> {
    Ok(sqlx::query!(
        "select id, sku, name, service_type, price_cents, cost_cents, max_discount_pct, description, active
         from price_book_items where company_id = $1 and not deleted and ($2::uuid is null or id = $2)
         order by service_type, sku",
        company,
        only
    )
    .fetch_all(pool)
    .await?
    .into_iter()
    .map(|r| PriceBookItem {
        id: Some(r.id),
        sku: r.sku,
        name: r.name,
        service_type: r.service_type,
        price_cents: r.price_cents,
        cost_cents: r.cost_cents,
        max_discount_pct: r.max_discount_pct,
        description: r.description,
        active: r.active,
    })
    .collect())
}

/// Inserts `item` (a new id) or updates the item with its id; `Ok(false)` when that id is not an
/// item of the company.
async fn write(
    db: &mut PgConnection,
    company: Uuid,
    version: i64,
    item: &PriceBookItem,
) -> Result<bool, ApiError> {
    let written = sqlx::query!(
        "insert into price_book_items (company_id, id, sku, name, service_type, price_cents, cost_cents, max_discount_pct,
            description, active, version)
         values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
         on conflict (company_id, id) do update set sku = excluded.sku, name = excluded.name,
           service_type = excluded.service_type, price_cents = excluded.price_cents, cost_cents = excluded.cost_cents,
           max_discount_pct = excluded.max_discount_pct, description = excluded.description, active = excluded.active,
           version = excluded.version
         where not price_book_items.deleted",
        company,
        item.id.unwrap_or_else(Uuid::now_v7),
        item.sku.trim(),
        item.name.trim(),
        &item.service_type,
        item.price_cents,
        item.cost_cents,
        item.max_discount_pct,
        item.description.trim(),
        item.active,
        version
    )
    .execute(db)
    .await
    .on_constraint("price_book_items_company_id_sku_key", || ApiError::Conflict(SKU_TAKEN.into()))?;
    Ok(written.rows_affected() == 1)
}

#[utoipa::path(post, path = "/price-book/items", tag = "price book", request_body = PriceBookItem,
    responses((status = 201, body = PriceBookItem), (status = 403, body = app::api::ErrorBody),
              (status = 409, body = app::api::ErrorBody, description = "The SKU is taken"),
              (status = 422, body = app::api::ErrorBody)))]
pub async fn create(
    State(state): State<AppState>,
    user: CurrentUser,
    device: Device,
    ApiJson(mut item): ApiJson<PriceBookItem>,
) -> Result<(StatusCode, ApiJson<PriceBookItem>), ApiError> {
    manager(&user)?;
    check(&item)?;
    item.id = Some(Uuid::now_v7());
    save(&state, &user, &device, &item, None).await?;
    Ok((StatusCode::CREATED, ApiJson(item)))
}

#[utoipa::path(put, path = "/price-book/items/{id}", tag = "price book", params(("id" = Uuid, Path)),
    request_body = PriceBookItem,
    responses((status = 200, body = PriceBookItem), (status = 403, body = app::api::ErrorBody),
              (status = 404, body = app::api::ErrorBody), (status = 409, body = app::api::ErrorBody),
              (status = 422, body = app::api::ErrorBody)))]
pub async fn update(
    State(state): State<AppState>,
    user: CurrentUser,
    device: Device,
    Path(id): Path<Uuid>,
    ApiJson(mut item): ApiJson<PriceBookItem>,
) -> Result<ApiJson<PriceBookItem>, ApiError> {
    manager(&user)?;
    check(&item)?;
    item.id = Some(id);
    let before = items(&state.pool, user.company_id(), Some(id))
        .await?
        .pop()
        .ok_or(ApiError::NotFound("price book item"))?;
    save(&state, &user, &device, &item, Some(before)).await?;
    Ok(ApiJson(item))
}

/// An item as the audit trail shows it: money as dollars, not cents.
fn audited(item: &PriceBookItem) -> serde_json::Value {
    serde_json::json!({
        "sku": item.sku, "name": item.name, "service_type": item.service_type,
        "price": Cents(item.price_cents).to_string(),
        "cost": item.cost_cents.map(|c| Cents(c).to_string()),
        "max_discount_pct": item.max_discount_pct, "description": item.description, "active": item.active,
    })
}

async fn save(
    state: &AppState,
    user: &CurrentUser,
    device: &Device,
    item: &PriceBookItem,
    before: Option<PriceBookItem>,
) -> Result<(), ApiError> {
    let company = user.company_id();
    let mut tx = state.pool.begin().await?;
    let ticket = state.clock.begin(company, &mut tx).await?;
    if !write(&mut tx, company, ticket.version(), item).await? {
        return Err(ApiError::NotFound("price book item"));
    }
    let summary = match &before {
        Some(b) if b.price_cents != item.price_cents => {
            format!("{}: price {} → {}", item.name, Cents(b.price_cents), Cents(item.price_cents))
        }
        Some(_) => format!("{} changed", item.name),
        None => format!("{} added at {}", item.name, Cents(item.price_cents)),
    };
    let change = audit::Change {
        record_type: "price_book_item",
        record_id: item.id,
        action: if before.is_some() { "changed" } else { "created" },
        summary,
        before: before.as_ref().map(audited),
        after: Some(audited(item)),
    };
    audit::record(&mut tx, user, device, change).await?;
    ticket.commit(tx).await?;
    Ok(())
}

#[utoipa::path(delete, path = "/price-book/items/{id}", tag = "price book", params(("id" = Uuid, Path)),
    responses((status = 204, description = "Removed from the book and from every device; options made with it keep their lines"),
              (status = 403, body = app::api::ErrorBody), (status = 404, body = app::api::ErrorBody)))]
pub async fn remove(
    State(state): State<AppState>,
    user: CurrentUser,
    device: Device,
    Path(id): Path<Uuid>,
) -> Result<StatusCode, ApiError> {
    manager(&user)?;
    crate::reference::remove(&state, &user, &device, crate::reference::Reference::PriceBookItem, id).await
}

/// The CSV columns, in order; `sku`, `name`, `service_type` and `price` are required.
pub const COLUMNS: &[&str] =
    &["sku", "name", "service_type", "price", "cost", "max_discount_pct", "description", "active"];

#[utoipa::path(get, path = "/price-book/export", tag = "price book",
    responses((status = 200, content_type = "text/csv", body = String, description = "sku,name,service_type,price,cost,max_discount_pct,description,active"),
              (status = 403, body = app::api::ErrorBody)))]
pub async fn export(State(state): State<AppState>, user: CurrentUser) -> Result<Response, ApiError> {
    manager(&user)?;
    let mut w = csv::Writer::default();
    w.row(COLUMNS);
    for i in items(&state.pool, user.company_id(), None).await? {
        w.row([
            i.sku,
            i.name,
            i.service_type,
            Cents(i.price_cents).decimal(),
            i.cost_cents.map(|c| Cents(c).decimal()).unwrap_or_default(),
            i.max_discount_pct.to_string(),
            i.description,
            i.active.to_string(),
        ]);
    }
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8"),
            (header::CONTENT_DISPOSITION, "attachment; filename=\"price-book.csv\""),
        ],
        w.finish(),
    )
        .into_response())
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct PriceBookImport {
    pub dry_run: bool,
    /// New items (SKUs the book did not have).
    pub added: usize,
    /// Items whose SKU the book had: changed to the file's values.
    pub updated: usize,
    /// Every problem, by line; when there is any, nothing was written.
    pub errors: Vec<crate::analytics::import::RowError>,
}

#[utoipa::path(post, path = "/price-book/import", tag = "price book", params(ImportQuery),
    request_body(content = String, content_type = "text/csv", description = "A header naming sku, name, service_type, price (required) and any of cost, max_discount_pct, description, active; rows matched by SKU"),
    responses((status = 200, body = PriceBookImport), (status = 422, body = PriceBookImport, description = "Rows with problems, by line; nothing written"),
              (status = 400, body = app::api::ErrorBody), (status = 403, body = app::api::ErrorBody)))]
pub async fn import(
    State(state): State<AppState>,
    user: CurrentUser,
    device: Device,
    Query(q): Query<ImportQuery>,
    body: Bytes,
) -> Result<Response, ApiError> {
    manager(&user)?;
    let company = user.company_id();
    let table = csv::Table::read(&body, COLUMNS, &COLUMNS[..4]).map_err(ApiError::BadRequest)?;
    let existing: std::collections::HashMap<String, Uuid> =
        sqlx::query!("select sku, id from price_book_items where company_id = $1 and not deleted", company)
            .fetch_all(&state.pool)
            .await?
            .into_iter()
            .map(|r| (r.sku, r.id))
            .collect();
    let mut errors = vec![];
    let mut parsed = vec![];
    let mut seen = std::collections::HashSet::new();
    for (line, fields) in &table.rows {
        let get = |name: &str| table.get(fields, name).unwrap_or_default();
        let mut error =
            |message: String| errors.push(crate::analytics::import::RowError { line: *line, message });
        if fields.len() != table.header.len() {
            error(format!("{} fields, but the header names {}", fields.len(), table.header.len()));
            continue;
        }
        let money = |col: &'static str| -> Result<Option<i64>, String> {
            let v = get(col);
            if v.is_empty() {
                return Ok(None);
            }
            Cents::parse(col, &v).map(|c| Some(c.0)).map_err(|e| e.to_string())
        };
        let item = (|| -> Result<PriceBookItem, String> {
            let price = money("price")?.ok_or("price is required")?;
            let max_discount_pct = match get("max_discount_pct").trim_end_matches('%') {
                "" => 0,
                v => v
                    .parse::<i16>()
                    .map_err(|_| format!("max_discount_pct: {v:?} is not a whole percentage"))?,
            };
            let active = match get("active").to_lowercase().as_str() {
                "" | "true" | "yes" | "1" | "active" => true,
                "false" | "no" | "0" | "inactive" => false,
                other => return Err(format!("active: {other:?} is not yes or no")),
            };
            let sku = get("sku");
            let item = PriceBookItem {
                id: existing.get(&sku).copied(),
                sku,
                name: get("name"),
                service_type: get("service_type").to_lowercase(),
                price_cents: price,
                cost_cents: money("cost")?,
                max_discount_pct,
                description: get("description"),
                active,
            };
            check(&item).map_err(|e| e.to_string())?;
            Ok(item)
        })();
        match item {
            Ok(item) if !seen.insert(item.sku.clone()) => {
                error(format!("sku {:?} appears twice in the file", item.sku))
            }
            Ok(item) => parsed.push(item),
            Err(message) => error(message),
        }
    }
    let updated = parsed.iter().filter(|i| i.id.is_some()).count();
    let report = PriceBookImport { dry_run: q.dry_run, added: parsed.len() - updated, updated, errors };
    if !report.errors.is_empty() {
        return Ok((StatusCode::UNPROCESSABLE_ENTITY, Json(report)).into_response());
    }
    if !q.dry_run && !parsed.is_empty() {
        let mut tx = state.pool.begin().await?;
        let ticket = state.clock.begin(company, &mut tx).await?;
        for item in &parsed {
            write(&mut tx, company, ticket.version(), item).await?;
        }
        let change = audit::Change {
            record_type: "price_book_item",
            record_id: None,
            action: "imported",
            summary: format!("Price book imported: {} added, {} updated", report.added, report.updated),
            before: None,
            after: Some(serde_json::json!({ "skus": parsed.iter().map(|i| &i.sku).collect::<Vec<_>>() })),
        };
        audit::record(&mut tx, &user, &device, change).await?;
        ticket.commit(tx).await?;
    }
    Ok((StatusCode::OK, Json(report)).into_response())
}

/// `/price-book`, its items, and its CSV out and in.
pub fn router() -> utoipa_axum::router::OpenApiRouter<AppState> {
    use utoipa_axum::routes;
    utoipa_axum::router::OpenApiRouter::new()
        .routes(routes!(list))
        .routes(routes!(create))
        .routes(routes!(update, remove))
        .routes(routes!(export))
        .routes(routes!(import))
}
