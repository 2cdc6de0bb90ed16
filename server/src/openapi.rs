//! `GET /api/openapi.json`: the HTTP API as an OpenAPI 3.1 document, generated from the same
//! types the handlers use (so it cannot drift from them).

use app::{
    api::*,
    domain::{Cents, Role},
    sync::{mutation::*, protocol::*},
};
use axum::Json;
use utoipa::{
    openapi::{path::Operation, Ref, RefOr, Response, ResponseBuilder},
    Modify, OpenApi,
};

#[derive(OpenApi)]
#[openapi(
    info(title = "Fieldclose API", description = "Offline-first field sales: auth, team, sync (docs/sync.md), blobs."),
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

/// The whole document: the info and shared schemas above, every route's own entry (from the
/// routers in [`crate::startup::api_routes`], so a route cannot exist without its entry), and the
/// answers every route can give.
pub fn spec() -> utoipa::openapi::OpenApi {
    let (_, mut doc) =
        utoipa_axum::router::OpenApiRouter::<crate::state::AppState>::with_openapi(ApiDoc::openapi())
            .nest("/api", crate::startup::api_routes())
            .split_for_parts();
    CommonErrors.modify(&mut doc);
    doc
}

static SPEC: std::sync::LazyLock<utoipa::openapi::OpenApi> = std::sync::LazyLock::new(spec);

/// The answers every operation can give whatever it does, written once here rather than on each
/// route: they come from the layers around the handlers (session, cross-site check, body limit,
/// timeout, database), and all carry an `ErrorBody`. A route's own entry, where it has one, wins.
/// Applied in [`spec`] after the routes are merged, so not as a derive `modifiers`.
struct CommonErrors;

impl Modify for CommonErrors {
    fn modify(&self, doc: &mut utoipa::openapi::OpenApi) {
        for (path, item) in doc.paths.paths.iter_mut() {
            let public = matches!(
                path.as_str(),
                "/api/auth/login"
                    | "/api/openapi.json"
                    | "/api/signup"
                    | "/api/invites/preview"
                    | "/api/invites/accept"
                    | "/api/password-reset"
            );
            let operations = [
                (&mut item.get, false),
                (&mut item.head, false),
                (&mut item.post, true),
                (&mut item.put, true),
                (&mut item.delete, true),
                (&mut item.patch, true),
            ];
            for (operation, writes) in operations {
                if let Some(op) = operation.as_mut() {
                    let has_body = writes && op.request_body.is_some();
                    let takes_input = has_body || op.parameters.as_ref().is_some_and(|p| !p.is_empty());
                    add_common(op, public, has_body, takes_input);
                }
            }
        }
    }
}

fn add_common(op: &mut Operation, public: bool, has_body: bool, takes_input: bool) {
    let mut common = vec![
        ("400", "The request is malformed; the message says what is wrong"),
        ("403", "A write from another site, or the person's role may not do this"),
        ("408", "The request took too long"),
        ("503", "The server is starting, or its database is unreachable: retry after Retry-After"),
    ];
    if !public {
        common.push(("401", "Not signed in, or the session ended"));
    }
    if takes_input {
        common.push(("422", "A value breaks a rule of the domain; `error.field` names it"));
    }
    if has_body {
        common.push(("413", "The body is larger than this route takes"));
        common.push(("415", "The body's content type is not the one this route takes"));
    }
    for (status, description) in common {
        op.responses.responses.entry(status.into()).or_insert_with(|| error_response(description));
    }
}

fn error_response(description: &str) -> RefOr<Response> {
    ResponseBuilder::new()
        .description(description)
        .content(
            "application/json",
            utoipa::openapi::ContentBuilder::new().schema(Some(Ref::from_schema_name("ErrorBody"))).build(),
        )
        .build()
        .into()
}

#[utoipa::path(get, path = "/openapi.json", tag = "auth", responses((status = 200, description = "This document")))]
pub async fn document() -> Json<&'static utoipa::openapi::OpenApi> {
    Json(&SPEC)
}

/// `/openapi.json`.
pub fn router() -> utoipa_axum::router::OpenApiRouter<crate::state::AppState> {
    utoipa_axum::router::OpenApiRouter::new().routes(utoipa_axum::routes!(document))
}
