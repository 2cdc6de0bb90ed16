//! `GET /api/openapi.json`: the HTTP API as an OpenAPI 3.1 document, generated from the same
//! types the handlers use (so it cannot drift from them).

use app::{
    api::*,
    domain::{Cents, Role},
    sync::{mutation::*, protocol::*},
};
use axum::Json;
use utoipa::OpenApi;

#[derive(OpenApi)]
#[openapi(
    info(title = "Fieldclose API", description = "Offline-first field sales: auth, team, sync (docs/sync.md), blobs."),
    paths(
        crate::auth::routes::login_doc,
        crate::auth::routes::logout_doc,
        crate::auth::routes::me_doc,
        crate::users::list_doc,
        crate::users::get_doc,
        crate::users::create_doc,
        crate::sync::push::push_doc,
        crate::sync::pull::pull_doc,
        crate::sync::events::events_doc,
        crate::blobs::put_doc,
        crate::blobs::get_doc,
        crate::blobs::head_doc,
        crate::sync::conflicts::list_doc,
        openapi_doc,
        crate::analytics::routes::dashboard_doc,
        crate::analytics::routes::breakdown_doc,
        crate::analytics::routes::export_doc,
        crate::analytics::routes::get_settings_doc,
        crate::analytics::routes::put_settings_doc,
        crate::analytics::routes::list_changes_doc,
        crate::analytics::routes::create_change_doc,
        crate::analytics::import::import_doc,
    ),
    components(schemas(
        ErrorBody, ErrorDetail, LoginRequest, Me, NewUserRequest, TeamMember, Role, Cents,
        PushRequest, MutationEnvelope, MutationStatus, MutationResult, PushResponse,
        PullRequest, PullResponse, Cookie, RowKey, PatchOp, Entity,
        CustomerCreate, FieldUpdate, LeadCreate, ConsultationCreate, SetOutcome, Outcome, OptionUpsert, LineItem,
        ActivityLog, FollowupSchedule, FollowupComplete, TimeEntryLog, AttachmentAdd, DeleteRecord,
        ConflictEntry, crate::analytics::routes::NewChange, crate::analytics::import::ImportReport, crate::analytics::import::RowError,
    )),
    tags((name = "auth"), (name = "team"), (name = "sync"), (name = "blobs"), (name = "analytics"))
)]
pub struct ApiDoc;

#[utoipa::path(get, path = "/api/openapi.json", tag = "auth", responses((status = 200, description = "This document")))]
pub fn openapi_doc() {}

pub async fn document() -> Json<utoipa::openapi::OpenApi> {
    Json(ApiDoc::openapi())
}
