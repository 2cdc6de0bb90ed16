//! Sessions: a random 256-bit token in an HttpOnly, SameSite=Lax cookie; Postgres keeps only its
//! SHA-256. Sessions last 60 days and slide forward with use, so a technician who works offline
//! for weeks is still signed in when the truck reaches signal; never more than 90 days after
//! sign-in (an absolute lifetime), and signing out ends the person's open event streams too.

use super::session_cache::TokenHash;
use crate::{error::ApiError, state::AppState};
use app::{api::Me, domain::Role};
use axum::{
    extract::{Request, State},
    http::{header, HeaderMap, HeaderValue},
    middleware::Next,
    response::{IntoResponse, Redirect, Response},
};
use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};
use rand::RngCore;
use sha2::{Digest, Sha256};
use sqlx::PgPool;
use std::time::Duration;

pub const COOKIE_NAME: &str = "fc_session";

/// How stale `last_seen_at` may get before a request slides the session forward (one write an
/// hour per person, not one per request).
const SLIDE_AFTER: Duration = Duration::from_secs(60 * 60);

/// The stored form of a session token (its SHA-256).
pub fn hash_token(token: &str) -> TokenHash {
    Sha256::digest(token.as_bytes()).into()
}

/// The `Set-Cookie` value that stores `token` for `ttl`.
pub fn cookie(token: &str, ttl: Duration, secure: bool) -> HeaderValue {
    let secure = if secure { "; Secure" } else { "" };
    let value =
        format!("{COOKIE_NAME}={token}; Path=/; HttpOnly; SameSite=Lax; Max-Age={}{secure}", ttl.as_secs());
    HeaderValue::from_str(&value).expect("a base64url token is a valid header value")
}

/// The `Set-Cookie` value that removes the session cookie.
pub fn clear_cookie(secure: bool) -> HeaderValue {
    let secure = if secure { "; Secure" } else { "" };
    HeaderValue::from_str(&format!("{COOKIE_NAME}=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0{secure}"))
        .expect("static cookie is a valid header value")
}

/// The session token from the request's `Cookie` header, if there is one.
pub fn token_from(headers: &HeaderMap) -> Option<String> {
    cookie_value(headers, COOKIE_NAME)
}

/// The value of the cookie `name` in the request's `Cookie` header, if set and not empty.
pub fn cookie_value(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(n, _)| *n == name)
        .map(|(_, value)| value.to_string())
        .filter(|v| !v.is_empty())
}

/// Starts a session for the user and returns the token for the cookie.
pub async fn create(
    pool: &PgPool,
    me: &Me,
    ttl: Duration,
    user_agent: Option<&str>,
) -> Result<String, ApiError> {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    let token = URL_SAFE_NO_PAD.encode(bytes);
    sqlx::query!(
        "insert into sessions (token_hash, company_id, user_id, expires_at, user_agent)
         values ($1, $2, $3, now() + make_interval(secs => $4), $5)",
        &hash_token(&token)[..],
        me.company_id,
        me.user_id,
        ttl.as_secs_f64(),
        user_agent.map(|ua| ua.chars().take(300).collect::<String>())
    )
    .execute(pool)
    .await?;
    Ok(token)
}

/// Signs `me` in on the device that sent `headers`: a new session, whose cookie (and the
/// known-device cookie, when the sign-in throttle issued one) goes on `response`. Sign-in,
/// sign-up, joining from an invite and a password reset all end this way.
pub async fn sign_in(
    state: &AppState,
    headers: &HeaderMap,
    me: &Me,
    mut response: Response,
    device_cookie: Option<HeaderValue>,
) -> Result<Response, ApiError> {
    let user_agent = headers.get(header::USER_AGENT).and_then(|v| v.to_str().ok());
    let token = create(&state.pool, me, state.config.session_ttl, user_agent).await?;
    let cookies = response.headers_mut();
    cookies.append(header::SET_COOKIE, cookie(&token, state.config.session_ttl, state.config.cookie_secure));
    if let Some(device) = device_cookie {
        cookies.append(header::SET_COOKIE, device);
    }
    Ok(response)
}

/// Ends the session, in Postgres and in every process's cache.
pub async fn delete(state: &AppState, token: &str) -> Result<(), ApiError> {
    let hash = hash_token(token);
    sqlx::query!("delete from sessions where token_hash = $1", &hash[..]).execute(&state.pool).await?;
    crate::caches::forget(state, crate::caches::Forget::Session(hash)).await;
    Ok(())
}

/// A live session: who, whether it is due to slide forward, and how long it has left.
struct Found {
    me: Me,
    stale: bool,
    valid_for: Duration,
}

/// The person behind a live session token, from Postgres.
async fn lookup(pool: &PgPool, token: &TokenHash, max_age: Duration) -> Result<Option<Found>, ApiError> {
    let row = sqlx::query!(
        r#"select u.id as user_id, u.name, u.email, u.role as "role: Role", c.id as company_id,
                  c.name as company_name, c.logo_sha256 as company_logo, c.time_zone, c.proposal_terms,
                  s.last_seen_at < now() - make_interval(secs => $2) as "stale!",
                  extract(epoch from s.expires_at - now())::float8 as "seconds_left!",
                  (select a.settings->'follow_up_cadence_days' from analytics_settings a
                    where a.company_id = c.id) as "cadence: sqlx::types::Json<Vec<u32>>",
                  (select (a.settings->>'device_history_days')::int from analytics_settings a
                    where a.company_id = c.id) as history
           from sessions s
           join users u on u.company_id = s.company_id and u.id = s.user_id
           join companies c on c.id = s.company_id
           where s.token_hash = $1 and s.expires_at > now() and u.active
             and s.created_at > now() - make_interval(secs => $3)"#,
        &token[..],
        SLIDE_AFTER.as_secs_f64(),
        max_age.as_secs_f64()
    )
    .fetch_optional(pool)
    .await?;
    Ok(row.map(|r| {
        let valid_for = Duration::try_from_secs_f64(r.seconds_left).unwrap_or_default();
        Found { stale: r.stale, valid_for, me: crate::users::me_of_record!(r) }
    }))
}

/// Whether the session is still live (not expired, past its absolute lifetime, nor its person
/// deactivated): the same test as signing a request in, for those that hold on (event streams).
pub async fn is_live(pool: &PgPool, token: &TokenHash, max_age: Duration) -> Result<bool, ApiError> {
    Ok(lookup(pool, token, max_age).await?.is_some())
}

/// Slides the session forward by `ttl`, but never past `max_age` after it was created: a stolen
/// cookie in steady use does not live for ever.
async fn slide(pool: &PgPool, token: &TokenHash, ttl: Duration, max_age: Duration) -> Result<(), ApiError> {
    sqlx::query!(
        "update sessions set last_seen_at = now(),
           expires_at = least(now() + make_interval(secs => $2), created_at + make_interval(secs => $3))
         where token_hash = $1",
        token,
        ttl.as_secs_f64(),
        max_age.as_secs_f64()
    )
    .execute(pool)
    .await?;
    Ok(())
}

/// The person behind a session token, and whether the session was slid forward just now: from
/// this server's cache when it was looked up lately, else from Postgres (sliding it when due and
/// caching it).
async fn signed_in(state: &AppState, token: &str) -> Result<Option<(Me, bool)>, ApiError> {
    let hash = hash_token(token);
    if let Some(me) = state.sessions.get(&hash) {
        return Ok(Some((me, false)));
    }
    let generation = state.sessions.generation();
    let Some(Found { me, stale, mut valid_for }) =
        lookup(&state.pool, &hash, state.config.session_max_age).await?
    else {
        return Ok(None);
    };
    let mut slid = false;
    if stale {
        match slide(&state.pool, &hash, state.config.session_ttl, state.config.session_max_age).await {
            Ok(()) => {
                slid = true;
                valid_for = state.config.session_ttl;
            }
            Err(e) => tracing::warn!(error = %e, "could not extend a session"),
        }
    }
    // A stale session not slid (the write failed) is not kept: the next request tries again.
    if !stale || slid {
        state.sessions.put_unless_forgotten(hash, me.clone(), valid_for, generation);
    }
    Ok(Some((me, slid)))
}

/// Paths served as files, which need no session (and must not cost a database query).
fn is_static(path: &str) -> bool {
    path.starts_with("/pkg/")
        || path.starts_with("/icons/")
        || crate::pwa::SHELL_FILES.contains(&path)
        || matches!(path, "/sw.js" | "/healthz" | "/readyz")
}

/// Attaches the signed-in [`Me`] to every request that carries a live session, and keeps the
/// pages behind sign-in: a page request without one is sent to `/login`, and `/` goes to the
/// person's first tab.
pub async fn middleware(State(state): State<AppState>, mut req: Request, next: Next) -> Response {
    let path = req.uri().path().to_owned();
    if is_static(&path) {
        return next.run(req).await;
    }
    let token = token_from(req.headers());
    let mut slid = None;
    if let Some(token) = token.as_deref() {
        match signed_in(&state, token).await {
            Ok(Some((me, slid_now))) => {
                if slid_now {
                    slid = Some(token.to_owned());
                }
                crate::telemetry::record_person(me.company_id, me.user_id);
                req.extensions_mut().insert(me);
            }
            Ok(None) => {}
            Err(e) => return e.into_response(),
        }
    }

    let me = req.extensions().get::<Me>().cloned();
    let is_page = state.page_paths.contains(&path);
    if is_page {
        match (&me, path.as_str()) {
            (None, p) if app::ui::pages::PUBLIC_PATHS.contains(&p) => {}
            (None, _) => return Redirect::to("/login").into_response(),
            (Some(me), "/") => return Redirect::to(me.role.home_path()).into_response(),
            _ => {}
        }
    }

    let mut response = next.run(req).await;
    if let Some(token) = slid {
        response
            .headers_mut()
            .append(header::SET_COOKIE, cookie(&token, state.config.session_ttl, state.config.cookie_secure));
    }
    if is_page && me.is_some() {
        // Pages carry the person's name: shared caches must not keep them.
        response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("private, no-cache"));
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_session_among_other_cookies() {
        let mut h = HeaderMap::new();
        h.insert(header::COOKIE, HeaderValue::from_static("a=1; fc_session=abc; b=2"));
        assert_eq!(token_from(&h).as_deref(), Some("abc"));
        h.insert(header::COOKIE, HeaderValue::from_static("fc_session_x=1"));
        assert_eq!(token_from(&h), None);
    }

    #[test]
    fn cookie_is_http_only_and_lax() {
        let c = cookie("t", Duration::from_secs(10), false);
        let s = c.to_str().unwrap();
        assert!(s.contains("HttpOnly") && s.contains("SameSite=Lax") && s.contains("Max-Age=10"));
        assert!(!s.contains("Secure"));
        assert!(cookie("t", Duration::from_secs(10), true).to_str().unwrap().ends_with("; Secure"));
    }
}
