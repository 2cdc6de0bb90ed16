//! Leads from the company's own website: `POST /api/intake/{key}`, the product's only write
//! without a signed-in person. The key (in the form's address) says which company; a manager
//! rotates it and lists the sites whose pages may post to it from script (CORS).
//!
//! Every refusal happens before anything is written: a wrong key 404, a flood 429 (per key and
//! per client address), a body over 16 KB 413, a page of another site 403 with no CORS grant, a
//! field with control characters or over its length 422 naming it. A post with the honeypot
//! filled is answered as if taken and writes nothing. The lead itself is written through the
//! same `apply` as a device's writes (`sync::on_behalf`, purpose Intake), so it gets its stage
//! event, its version and its poke to the office's devices like any other lead.

mod batch;
pub mod limit;
pub mod settings;

use crate::{
    auth::client_ip,
    error::ApiError,
    form::{self, BodyKind},
    state::AppState,
};
use app::{
    api::{IntakeForm, IntakeReceived},
    domain::{text, EmailAddress, PersonName, PhoneNumber, ValidationError},
    sync::mutation::{CustomerCreate, LeadCreate, Mutation, LEAD_SOURCES, SERVICE_TYPES},
};
use axum::{
    body::Bytes,
    extract::{ConnectInfo, Path, State},
    http::{header, HeaderMap, HeaderValue, StatusCode},
    response::{Html, IntoResponse, Redirect, Response},
    Json,
};
use chrono::Utc;
use serde_json::{Map, Value};
use std::net::{IpAddr, SocketAddr};
use uuid::Uuid;

/// The largest body the endpoint reads: a lead is a few hundred bytes.
pub const MAX_BODY: usize = 16 * 1024;

pub fn router() -> utoipa_axum::router::OpenApiRouter<AppState> {
    use utoipa_axum::routes;
    utoipa_axum::router::OpenApiRouter::new()
        .routes(routes!(receive, preflight))
        .routes(routes!(settings::get, settings::put))
        .routes(routes!(settings::rotate))
}

/// The per-minute counts of the endpoint: by company (its key) and by client address.
#[derive(Default)]
pub struct Guards {
    pub by_key: limit::Counter<Uuid>,
    pub by_ip: limit::Counter<IpAddr>,
    /// The writes, grouped per company (`batch`).
    batcher: std::sync::Arc<batch::Batcher>,
    /// Keys looked up in the last few seconds: a busy form asks for its company once, not per
    /// post. A rotation or a change of allowed sites empties it (`forget`).
    targets: std::sync::Mutex<std::collections::HashMap<String, (std::time::Instant, Target)>>,
}

impl Guards {
    /// How long a looked-up key is trusted.
    const TRUST: std::time::Duration = std::time::Duration::from_secs(5);

    pub fn forget(&self) {
        self.targets.lock().unwrap_or_else(|e| e.into_inner()).clear();
    }
}

/// The company a key belongs to, with what the endpoint needs of it.
#[derive(Clone)]
struct Target {
    company: Uuid,
    origins: Vec<String>,
    /// Whom the leads are written as: the company's first active manager.
    writer: Option<Uuid>,
}

async fn target(state: &AppState, key: &str) -> Result<Target, ApiError> {
    // A key is 32 hex digits; anything else cannot be one (and a NUL must not reach a query).
    if key.len() != 32 || !key.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(ApiError::NotFound("lead form"));
    }
    if let Some((at, t)) = state.intake.targets.lock().unwrap_or_else(|e| e.into_inner()).get(key) {
        if at.elapsed() < Guards::TRUST {
            return Ok(t.clone());
        }
    }
    let row = sqlx::query!(
        "select c.id, c.intake_origins,
                (select u.id from users u where u.company_id = c.id and u.role = 'manager' and u.active
                 order by u.created_at limit 1) as writer
         from companies c where c.intake_key = $1",
        key
    )
    .fetch_optional(&state.intake_pool)
    .await?
    .ok_or(ApiError::NotFound("lead form"))?;
    let target = Target { company: row.id, origins: row.intake_origins, writer: row.writer };
    let mut cache = state.intake.targets.lock().unwrap_or_else(|e| e.into_inner());
    if cache.len() > 10_000 {
        cache.clear();
    }
    cache.insert(key.to_string(), (std::time::Instant::now(), target.clone()));
    Ok(target)
}

/// The page's origin, when a browser sent one (`Origin`; a server posting has none).
fn origin(headers: &HeaderMap) -> Option<&str> {
    headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()).filter(|o| *o != "null")
}

/// The CORS grant for an allowed origin (none for any other: the browser then keeps the answer
/// from the page).
fn grant(response: &mut Response, origin: Option<&str>, allowed: &[String]) {
    let Some(origin) = origin.filter(|o| allowed.iter().any(|a| a == o)) else { return };
    if let Ok(value) = HeaderValue::from_str(origin) {
        let h = response.headers_mut();
        h.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, value);
        h.insert(header::VARY, HeaderValue::from_static("Origin"));
    }
}

fn limited(wait: u64) -> ApiError {
    ApiError::TooManyRequests(format!("Too many enquiries at once. Try again in {wait} seconds."), wait)
}

#[utoipa::path(options, path = "/intake/{key}", tag = "intake",
    params(("key" = String, Path, description = "The company's lead form key")),
    responses((status = 204, description = "The CORS preflight: granted to the company's allowed origins only"),
              (status = 404, body = app::api::ErrorBody, description = "No company has this key")))]
pub async fn preflight(
    State(state): State<AppState>,
    Path(key): Path<String>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let target = target(&state, &key).await?;
    let mut response = StatusCode::NO_CONTENT.into_response();
    grant(&mut response, origin(&headers), &target.origins);
    if response.headers().contains_key(header::ACCESS_CONTROL_ALLOW_ORIGIN) {
        let h = response.headers_mut();
        h.insert(header::ACCESS_CONTROL_ALLOW_METHODS, HeaderValue::from_static("POST"));
        h.insert(
            header::ACCESS_CONTROL_ALLOW_HEADERS,
            HeaderValue::from_static("content-type, idempotency-key"),
        );
        h.insert(header::ACCESS_CONTROL_MAX_AGE, HeaderValue::from_static("600"));
    }
    Ok(response)
}

#[utoipa::path(post, path = "/intake/{key}", tag = "intake", request_body = IntakeForm,
    params(("key" = String, Path, description = "The company's lead form key"),
           ("Idempotency-Key" = Option<String>, Header, description = "One per form shown; the same key twice makes one lead")),
    responses((status = 201, body = IntakeReceived, description = "A new lead"),
              (status = 200, body = IntakeReceived, description = "Received before (the same key, or the same person within ten minutes), or caught by the honeypot: nothing new written"),
              (status = 303, description = "A form post with a redirect on an allowed origin"),
              (status = 403, body = app::api::ErrorBody, description = "Posted from a page of a site the company has not allowed"),
              (status = 404, body = app::api::ErrorBody, description = "No company has this key"),
              (status = 413, body = app::api::ErrorBody, description = "The body is over 16 KB"),
              (status = 415, body = app::api::ErrorBody, description = "Neither JSON nor a form"),
              (status = 422, body = app::api::ErrorBody, description = "A field is not valid (named)"),
              (status = 429, body = app::api::ErrorBody, description = "Too many posts from this key or address this minute")),
    security(()))]
pub async fn receive(
    State(state): State<AppState>,
    Path(key): Path<String>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    if body.len() > MAX_BODY {
        return Err(ApiError::PayloadTooLarge(format!(
            "An enquiry is at most {} KB; this one is {} KB.",
            MAX_BODY / 1024,
            body.len().div_ceil(1024)
        )));
    }
    let limits = state.config.intake_limits;
    let ip: IpAddr = client_ip::resolve(peer.ip(), &headers, &state.config.trusted_proxies);
    state.intake.by_ip.take(&ip, limits.per_ip_per_minute).map_err(limited)?;
    let target = target(&state, &key).await?;
    state.intake.by_key.take(&target.company, limits.per_key_per_minute).map_err(limited)?;
    let origin = origin(&headers);
    if origin.is_some_and(|o| !target.origins.iter().any(|a| a == o)) {
        return Err(ApiError::Forbidden(
            "This website may not send enquiries to this company. A manager adds it under Settings → Website leads.",
        ));
    }
    let kind = form::body_kind(&headers, "enquiry")?;
    let form: IntakeForm = form::parse(kind, &body)?;
    let idempotency = headers
        .get("idempotency-key")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
        .unwrap_or_else(|| form.idempotency_key.clone());
    let received = if !form.website.trim().is_empty() {
        // A bot: it is told what a person would be told, and nothing is kept.
        IntakeReceived { lead_id: None, duplicate: false }
    } else {
        let enquiry = Enquiry::parse(&form, &idempotency)?;
        let writer = target.writer.ok_or_else(|| {
            ApiError::Conflict("This company has no active manager to receive enquiries.".into())
        })?;
        store(&state, target.company, writer, &enquiry).await?
    };
    let mut response = match kind {
        BodyKind::Json => {
            let status = if received.lead_id.is_some() && !received.duplicate {
                StatusCode::CREATED
            } else {
                StatusCode::OK
            };
            (status, Json(received)).into_response()
        }
        BodyKind::Form => match allowed_redirect(&form.redirect, &target.origins) {
            Some(to) => Redirect::to(to).into_response(),
            None => Html(THANKS).into_response(),
        },
    };
    grant(&mut response, origin, &target.origins);
    Ok(response)
}

const THANKS: &str = "<!doctype html><meta charset=utf-8><meta name=viewport content=\"width=device-width\">\
<title>Thank you</title><p style=\"font:1.1rem system-ui;margin:2rem\">Thank you. We have your request and will call you shortly.";

/// Where a form post goes afterwards: only to a page of an allowed site.
fn allowed_redirect<'a>(redirect: &'a str, origins: &[String]) -> Option<&'a str> {
    let redirect = redirect.trim();
    origins
        .iter()
        .any(|o| redirect == o || redirect.strip_prefix(o.as_str()).is_some_and(|rest| rest.starts_with('/')))
        .then_some(redirect)
}

/// An enquiry as the domain accepts it.
struct Enquiry {
    name: PersonName,
    phone: Option<PhoneNumber>,
    email: Option<EmailAddress>,
    address: String,
    service: &'static str,
    source: &'static str,
    message: String,
    campaign: Option<String>,
    utm: Map<String, Value>,
    external_id: Option<String>,
}

impl Enquiry {
    fn parse(form: &IntakeForm, idempotency: &str) -> Result<Self, ValidationError> {
        let name = PersonName::parse(&form.name)?;
        let phone = Some(form.phone.trim()).filter(|p| !p.is_empty()).map(PhoneNumber::parse).transpose()?;
        let email = Some(form.email.trim()).filter(|e| !e.is_empty()).map(EmailAddress::parse).transpose()?;
        if phone.is_none() && email.is_none() {
            return Err(ValidationError::new("phone", "give a phone number or an email so we can reach you"));
        }
        text::check("address", &form.address, 300)?;
        text::check("message", &form.message, 2000)?;
        let pick =
            |field: &'static str, raw: &str, allowed: &[&'static str], default: &'static str| {
                let raw = raw.trim().to_ascii_lowercase().replace([' ', '-'], "_");
                if raw.is_empty() {
                    return Ok(default);
                }
                allowed.iter().copied().find(|a| *a == raw).ok_or_else(|| {
                    ValidationError::new(field, format!("must be one of {}", allowed.join(", ")))
                })
            };
        let service = pick("service", &form.service, SERVICE_TYPES, "other")?;
        let source = pick("source", &form.source, LEAD_SOURCES, "website")?;
        let mut utm = Map::new();
        for (field, value) in [
            ("utm_source", &form.utm_source),
            ("utm_medium", &form.utm_medium),
            ("utm_term", &form.utm_term),
            ("utm_content", &form.utm_content),
            ("utm_campaign", &form.utm_campaign),
        ] {
            text::check(field, value, 200)?;
            if !value.trim().is_empty() {
                utm.insert(field.into(), Value::String(value.trim().into()));
            }
        }
        text::check("idempotency_key", idempotency, 90)?;
        let idempotency = idempotency.trim();
        Ok(Enquiry {
            name,
            phone,
            email,
            address: form.address.trim().into(),
            service,
            source,
            message: form.message.trim().into(),
            campaign: Some(form.utm_campaign.trim().to_string()).filter(|c| !c.is_empty()),
            utm,
            external_id: (!idempotency.is_empty()).then(|| format!("web:{idempotency}")),
        })
    }
}

/// What is known already, in one query: the enquiry's lead if it was received before (the
/// same idempotency key, or without one the same name and phone or email through the website
/// in the last ten minutes), and a customer with its phone or email (the same household
/// asking again).
struct Known {
    earlier: Option<Uuid>,
    customer: Option<(Uuid, String)>,
}

async fn look_up(db: &sqlx::PgPool, company: Uuid, e: &Enquiry) -> Result<Known, ApiError> {
    let phone = e.phone.as_ref().map(|p| p.as_str());
    let email = e.email.as_ref().map(|m| m.as_str());
    let row = sqlx::query!(
        r#"select
             case when $2::text is not null
                  then (select id from leads where company_id = $1 and external_id = $2)
                  else (select l.id from leads l join customers c on c.company_id = l.company_id and c.id = l.customer_id
                        where l.company_id = $1 and l.source = $3 and l.lead_created_at > now() - interval '10 minutes'
                          and c.name = $4 and (c.phone = $5 or c.email = $6) and not l.deleted
                        order by l.lead_created_at desc limit 1)
             end as "earlier?",
             k.id as "customer_id?", k.name as "customer_name?"
           from (select 1) one
           left join lateral (select id, name from customers
                              where company_id = $1 and not deleted and (phone = $5 or email = $6)
                              order by created_at limit 1) k on true"#,
        company,
        e.external_id.as_deref(),
        e.source,
        e.name.as_str(),
        phone,
        email
    )
    .fetch_one(db)
    .await?;
    Ok(Known { earlier: row.earlier, customer: row.customer_id.zip(row.customer_name) })
}

async fn store(
    state: &AppState,
    company: Uuid,
    writer: Uuid,
    e: &Enquiry,
) -> Result<IntakeReceived, ApiError> {
    let Known { earlier, customer: known } = look_up(&state.intake_pool, company, e).await?;
    if let Some(id) = earlier {
        return Ok(IntakeReceived { lead_id: Some(id), duplicate: true });
    }
    let phone = e.phone.as_ref().map(|p| p.as_str());
    let email = e.email.as_ref().map(|m| m.as_str());
    let now = Utc::now();
    let mut mutations = vec![];
    let customer = known.as_ref().map(|(id, _)| *id).unwrap_or_else(Uuid::now_v7);
    // The same household under another name (a spouse, a tenant): the name given is kept with
    // the enquiry, since the customer record keeps its own.
    let notes = match &known {
        Some((_, name)) if name != e.name.as_str() => {
            format!("{} (name given: {})", e.message, e.name.as_str()).trim().to_string()
        }
        _ => e.message.clone(),
    };
    if known.is_none() {
        let create = CustomerCreate {
            id: customer,
            name: e.name.as_str().into(),
            phone: phone.map(str::to_string),
            email: email.map(str::to_string),
            address: Some(e.address.clone()).filter(|a| !a.is_empty()),
        };
        mutations.push((Mutation::CustomerCreate(create), now));
    }
    let lead = Uuid::now_v7();
    let create = LeadCreate {
        id: lead,
        customer_id: customer,
        source: e.source.into(),
        service_type: e.service.into(),
        created_at: now,
        external_id: e.external_id.clone(),
        notes,
        campaign: e.campaign.clone(),
        utm: e.utm.clone(),
        ..Default::default()
    };
    mutations.push((Mutation::LeadCreate(create), now));
    match state.intake.batcher.submit(&state.intake_pool, &state.clock, company, writer, mutations).await? {
        Ok(()) => {
            // Nobody wrote it: every manager, and the office while open, is told.
            state.push.notify(crate::push::Job {
                company,
                author: None,
                notice: crate::push::Notice::NewLead { lead },
            });
            Ok(IntakeReceived { lead_id: Some(lead), duplicate: false })
        }
        Err(reason) => match look_up(&state.intake_pool, company, e).await?.earlier {
            // The same form posted twice at once: the other post made the lead.
            Some(id) => Ok(IntakeReceived { lead_id: Some(id), duplicate: true }),
            None => Err(ApiError::Conflict(format!("The enquiry could not be stored: {reason}"))),
        },
    }
}
