//! Photos and signatures, content-addressed: `PUT /api/blobs/{sha256}` stores the bytes once
//! (a retry or a second device sending the same photo is a no-op), `HEAD` tells a device whether
//! an upload can be skipped, `GET` serves them to people who may see an attachment using them.
//!
//! Bytes go through `object_store` (a local folder by default; an S3 or S3-compatible bucket
//! when the server runs on several machines, [`open`]); Postgres keeps which company holds which
//! hash.

use crate::{auth::CurrentUser, error::ApiError, state::AppState};
use axum::{
    body::{Body, Bytes},
    extract::{Path, State},
    http::{header, HeaderMap, StatusCode},
    response::{IntoResponse, Response},
};
use object_store::{path::Path as StorePath, ObjectStoreExt, PutPayload};
use sha2::{Digest, Sha256};

/// Images are downscaled on the device (≤ 1600 px JPEG); 10 MiB leaves room for a PNG signature
/// or an odd camera, and refuses video.
pub const MAX_BLOB_BYTES: usize = 10 * 1024 * 1024;
const CONTENT_TYPES: &[&str] = &["image/jpeg", "image/png", "image/webp"];

/// Whether `raw` names a blob: a SHA-256 as 64 lower-case hex digits.
pub fn is_sha256_hex(raw: &str) -> bool {
    raw.len() == 64 && raw.chars().all(|c| c.is_ascii_digit() || ('a'..='f').contains(&c))
}

/// A lower-case hex SHA-256, checked.
struct Sha256Hex(String);

impl Sha256Hex {
    fn parse(raw: &str) -> Result<Self, ApiError> {
        if is_sha256_hex(raw) {
            Ok(Self(raw.to_owned()))
        } else {
            Err(ApiError::BadRequest(
                "The blob address must be the SHA-256 of its bytes as 64 lower-case hex digits.".into(),
            ))
        }
    }
}

fn key(company: uuid::Uuid, sha: &Sha256Hex) -> StorePath {
    StorePath::from(format!("{company}/{}/{}", &sha.0[..2], sha.0))
}

/// The store failed (a bucket out of reach, a disk full): a 503 the device retries by itself,
/// with the photo kept on it. Logged: someone must look at the store.
fn storage_error(error: object_store::Error) -> ApiError {
    tracing::error!(%error, "blob store");
    ApiError::Busy("Photo storage cannot be reached just now. The photo stays on this device and is sent again by itself.".into())
}

#[utoipa::path(put, path = "/blobs/{sha256}", tag = "blobs", params(("sha256" = String, Path, pattern = "^[0-9a-f]{64}$", description = "The SHA-256 of the bytes, lower-case hex")),
    request_body(content = Vec<u8>, content_type = "image/jpeg"),
    responses((status = 201, description = "Stored"), (status = 200, description = "Already stored"),
              (status = 400, body = app::api::ErrorBody), (status = 413, body = app::api::ErrorBody),
              (status = 415, body = app::api::ErrorBody)))]
pub async fn put(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(sha): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<StatusCode, ApiError> {
    let sha = Sha256Hex::parse(&sha)?;
    let content_type = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
    if !CONTENT_TYPES.contains(&content_type) {
        return Err(ApiError::UnsupportedMediaType(format!(
            "A blob must be {}; this one says {content_type:?}.",
            CONTENT_TYPES.join(", ")
        )));
    }
    if body.is_empty() {
        return Err(ApiError::BadRequest("The blob is empty.".into()));
    }
    if !looks_like(content_type, &body) {
        return Err(ApiError::UnsupportedMediaType(format!(
            "These bytes are not a {content_type} image. Take the photo again, or send it as what it is."
        )));
    }
    let actual: String = hex::encode(Sha256::digest(&body));
    if actual != sha.0 {
        return Err(ApiError::BadRequest(format!(
            "The bytes' SHA-256 is {actual}, not {}: the upload was cut or changed. Send it again.",
            sha.0
        )));
    }
    // The quota is checked in the insert itself; a blob stored before is fine whatever the total.
    let inserted = sqlx::query_scalar!(
        "with used as (select coalesce(sum(byte_size), 0) as bytes from blobs where company_id = $1),
              ins as (insert into blobs (company_id, sha256, content_type, byte_size, created_by)
                      select $1, $2, $3, $4::bigint, $5 from used where used.bytes + $4::bigint <= $6::bigint
                      on conflict (company_id, sha256) do nothing returning 1)
         select case when exists(select 1 from ins) then true
                     when exists(select 1 from blobs where company_id = $1 and sha256 = $2) then false end",
        user.company_id(),
        sha.0,
        content_type,
        body.len() as i64,
        user.user_id(),
        state.config.blob_quota_bytes as i64
    )
    .fetch_one(&state.pool)
    .await?;
    // `None`: neither inserted nor stored before, so the quota refused it.
    let Some(inserted) = inserted else {
        return Err(ApiError::InsufficientStorage(format!(
            "Your company has used its {} MB of photo storage. Ask your manager to make room; the photo stays on this device.",
            state.config.blob_quota_bytes / 1_000_000
        )));
    };
    // Written even when the row existed: a crash between the row and the bytes heals on retry.
    state
        .blobs
        .as_ref()
        .put(&key(user.company_id(), &sha), PutPayload::from_bytes(body))
        .await
        .map_err(storage_error)?;
    Ok(if inserted { StatusCode::CREATED } else { StatusCode::OK })
}

/// Whether `bytes` start as a file of `content_type` does (its magic number): a declared type is
/// a claim, and a browser shown a blob trusts it.
fn looks_like(content_type: &str, bytes: &[u8]) -> bool {
    match content_type {
        "image/jpeg" => bytes.starts_with(&[0xFF, 0xD8, 0xFF]),
        "image/png" => bytes.starts_with(b"\x89PNG\r\n\x1a\n"),
        "image/webp" => bytes.len() >= 12 && &bytes[..4] == b"RIFF" && &bytes[8..12] == b"WEBP",
        _ => false,
    }
}

/// The blob's content type if the person may read it: they uploaded it, or it belongs to an
/// attachment they can see (a manager: any live attachment of the company). Knowing a hash alone
/// reads nothing.
async fn readable(state: &AppState, user: &CurrentUser, sha: &Sha256Hex) -> Result<String, ApiError> {
    let manager = user.role().sees_all();
    let content_type = sqlx::query_scalar!(
        "select b.content_type from blobs b
         where b.company_id = $1 and b.sha256 = $2
           and (b.created_by = $4 or exists (
                 select 1 from attachments a where a.company_id = b.company_id and a.sha256 = b.sha256
                   and not a.deleted and ($3 or $4 = any(a.scope_users))))",
        user.company_id(),
        sha.0,
        manager,
        user.user_id()
    )
    .fetch_optional(&state.pool)
    .await?;
    content_type.ok_or(ApiError::NotFound("blob"))
}

#[utoipa::path(head, path = "/blobs/{sha256}", tag = "blobs", params(("sha256" = String, Path, pattern = "^[0-9a-f]{64}$", description = "The SHA-256 of the bytes, lower-case hex")),
    responses((status = 200, description = "Stored, and attached to something the caller may see"),
              (status = 404, body = app::api::ErrorBody)))]
pub async fn head(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(sha): Path<String>,
) -> Result<StatusCode, ApiError> {
    let sha = Sha256Hex::parse(&sha)?;
    readable(&state, &user, &sha).await?;
    Ok(StatusCode::OK)
}

#[utoipa::path(get, path = "/blobs/{sha256}", tag = "blobs", params(("sha256" = String, Path, pattern = "^[0-9a-f]{64}$", description = "The SHA-256 of the bytes, lower-case hex")),
    responses((status = 200, content_type = "image/jpeg"), (status = 404, body = app::api::ErrorBody)))]
pub async fn get(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(sha): Path<String>,
) -> Result<Response, ApiError> {
    let sha = Sha256Hex::parse(&sha)?;
    let content_type = readable(&state, &user, &sha).await?;
    let bytes = read(&state, user.company_id(), &sha).await?.ok_or(ApiError::NotFound("blob"))?;
    Ok((
        [
            (header::CONTENT_TYPE, content_type),
            // Content-addressed: the bytes at this address never change.
            (header::CACHE_CONTROL, "private, max-age=31536000, immutable".to_string()),
        ],
        Body::from(bytes),
    )
        .into_response())
}

/// A company's stored bytes of `sha`; `None` when they are not there (an upload cut short
/// leaves the row without them).
async fn read(state: &AppState, company: uuid::Uuid, sha: &Sha256Hex) -> Result<Option<Bytes>, ApiError> {
    match state.blobs.as_ref().get(&key(company, sha)).await {
        Ok(found) => Ok(Some(found.bytes().await.map_err(storage_error)?)),
        Err(object_store::Error::NotFound { .. }) => Ok(None),
        Err(e) => Err(storage_error(e)),
    }
}

/// [`read`] for a hash the server itself stored (a logo, a signature), with its content type;
/// `None` for anything that is not a stored blob of the company.
pub async fn stored(
    state: &AppState,
    company: uuid::Uuid,
    sha: &str,
) -> Result<Option<(String, Bytes)>, ApiError> {
    let Ok(sha) = Sha256Hex::parse(sha) else { return Ok(None) };
    let Some(content_type) = sqlx::query_scalar!(
        "select content_type from blobs where company_id = $1 and sha256 = $2",
        company,
        sha.0
    )
    .fetch_optional(&state.pool)
    .await?
    else {
        return Ok(None);
    };
    Ok(read(state, company, &sha).await?.map(|bytes| (content_type, bytes)))
}

/// Why the blob store could not be opened at start-up.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    #[error("cannot use FIELDCLOSE_BLOB_DIR={dir:?}: {source}")]
    Dir { dir: String, source: std::io::Error },
    #[error(
        "cannot use the S3 bucket {bucket:?} (FIELDCLOSE_BLOB_S3_BUCKET and the AWS_* variables): {source}"
    )]
    S3 { bucket: String, source: object_store::Error },
}

/// The store the configuration names: the S3 bucket if one is set, else the local folder.
/// Opening checks the settings, not the bucket: a bucket out of reach fails the first upload
/// (a 503 the device retries), never the start of a process that also serves everything else.
pub fn open(
    config: &crate::config::Config,
) -> Result<std::sync::Arc<dyn object_store::ObjectStore>, OpenError> {
    if let Some(bucket) = &config.blob_s3 {
        // The process's one TLS crypto provider (ADR 0063); already set is fine. ring has no
        // post-quantum key exchange (hence rustls's deprecation); aws-lc, which has, is a C build.
        #[allow(deprecated)]
        let _ = rustls::crypto::ring::default_provider().install_default();
        let s3_error = |source| OpenError::S3 { bucket: bucket.name.clone(), source };
        // A request to a bucket out of reach gives up within seconds (the device retries), not
        // after object_store's default three minutes of retries.
        let retry = object_store::RetryConfig {
            max_retries: 2,
            retry_timeout: std::time::Duration::from_secs(10),
            ..Default::default()
        };
        let client = object_store::ClientOptions::new()
            .with_connect_timeout(std::time::Duration::from_secs(3))
            .with_timeout(std::time::Duration::from_secs(30));
        let mut builder = object_store::aws::AmazonS3Builder::from_env()
            .with_bucket_name(&bucket.name)
            .with_retry(retry)
            .with_client_options(client);
        for (key, value) in &bucket.options {
            builder = builder.with_config(key.parse().map_err(s3_error)?, value);
        }
        return Ok(std::sync::Arc::new(builder.build().map_err(s3_error)?));
    }
    let dir_error = |source| OpenError::Dir { dir: config.blob_dir.clone(), source };
    std::fs::create_dir_all(&config.blob_dir).map_err(dir_error)?;
    let local = object_store::local::LocalFileSystem::new_with_prefix(&config.blob_dir)
        .map_err(|e| dir_error(std::io::Error::other(e)))?;
    Ok(std::sync::Arc::new(local))
}

/// `/blobs/{sha256}`, which alone takes bodies up to [`MAX_BLOB_BYTES`].
pub fn router() -> utoipa_axum::router::OpenApiRouter<AppState> {
    use utoipa_axum::routes;
    utoipa_axum::router::OpenApiRouter::new()
        .routes(routes!(get, head, put))
        .layer(axum::extract::DefaultBodyLimit::max(MAX_BLOB_BYTES))
}
