//! What the editors of the company's reference data share (the price book, option templates,
//! financing plans: rows every device receives read-only): removing a row, which is a tombstone
//! at a new company version (so devices drop it) kept in the audit trail with what it was.

use crate::{
    audit::{self, Device},
    auth::CurrentUser,
    error::ApiError,
    state::AppState,
};
use axum::http::StatusCode;
use uuid::Uuid;

/// A kind of reference row: its table, the column that names a row, and what a person calls it.
#[derive(Debug, Clone, Copy)]
pub enum Reference {
    PriceBookItem,
    OptionTemplate,
    FinancingPlan,
}

impl Reference {
    fn table(self) -> &'static str {
        match self {
            Reference::PriceBookItem => "price_book_items",
            Reference::OptionTemplate => "option_templates",
            Reference::FinancingPlan => "financing_plans",
        }
    }

    fn name_column(self) -> &'static str {
        match self {
            Reference::PriceBookItem | Reference::OptionTemplate => "name",
            Reference::FinancingPlan => "lender",
        }
    }

    /// As a person says it, also in 404s.
    fn label(self) -> &'static str {
        match self {
            Reference::PriceBookItem => "price book item",
            Reference::OptionTemplate => "option template",
            Reference::FinancingPlan => "financing plan",
        }
    }
}

/// Removes the company's `id` of `kind`: 204, or 404 when the company has no such live row.
/// Options made with it keep their lines and plan: they hold copies.
pub async fn remove(
    state: &AppState,
    user: &CurrentUser,
    device: &Device,
    kind: Reference,
    id: Uuid,
) -> Result<StatusCode, ApiError> {
    let company = user.company_id();
    let mut tx = state.pool.begin().await?;
    let ticket = state.clock.begin(company, &mut tx).await?;
    // Dynamic: the table and its name column come from `kind`, never from the request.
    let name: String = sqlx::query_scalar(&format!(
        "update {} set deleted = true, version = $3 where company_id = $1 and id = $2 and not deleted
         returning {}",
        kind.table(),
        kind.name_column()
    ))
    .bind(company)
    .bind(id)
    .bind(ticket.version())
    .fetch_optional(&mut *tx)
    .await?
    .ok_or(ApiError::NotFound(kind.label()))?;
    let change = audit::Change {
        // The trail files the whole price book (items, templates, plans) under one record type.
        record_type: "price_book_item",
        record_id: Some(id),
        action: "removed",
        summary: format!("{} removed: {name}", capitalized(kind.label())),
        before: Some(serde_json::json!({ kind.name_column(): name })),
        after: None,
    };
    audit::record(&mut tx, user, device, change).await?;
    ticket.commit(tx).await?;
    Ok(StatusCode::NO_CONTENT)
}

fn capitalized(s: &str) -> String {
    let mut c = s.chars();
    c.next().map(|f| f.to_uppercase().chain(c).collect()).unwrap_or_default()
}
