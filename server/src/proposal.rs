//! The customer's copy of a proposal. A person who may see a consultation asks for its link
//! (`POST /api/proposals`) and sends it with the phone's share sheet, a text or an email; the
//! customer opens `/p/{token}` without an account and reads the proposal as it stands: the
//! option bought, with the signature and printed name, once the quote is won; every option
//! while it is open (a proposal sent for review). The page is one self-contained HTML document
//! (styles, logo and signature inline) that prints cleanly to paper or PDF.
//!
//! The lines, totals and financing come from `app::domain::proposal`, the code the technician's
//! device renders offline, so the copy and the signed screen cannot disagree.

use crate::{auth::CurrentUser, error::ApiError, error::ApiJson, state::AppState};
use app::{
    api::{ProposalLink, ProposalLinkRequest},
    domain::proposal::{self, Proposal, ProposalOption},
};
use axum::{
    extract::{Path, State},
    http::{header, StatusCode},
    response::{Html, IntoResponse, Response},
};
use base64::{engine::general_purpose::STANDARD, Engine};
use maud::{html, Markup, PreEscaped, DOCTYPE};
use serde_json::Value;
use uuid::Uuid;

/// Whether the caller may see the consultation (its scope, as every pull and write checks).
async fn visible(state: &AppState, user: &CurrentUser, consultation: Uuid) -> Result<(), ApiError> {
    let seen = sqlx::query_scalar!(
        r#"select exists(select 1 from consultations
                         where company_id = $1 and id = $2 and not deleted
                           and ($3 or $4 = any(scope_users))) as "e!""#,
        user.company_id(),
        consultation,
        user.role().sees_all(),
        user.user_id()
    )
    .fetch_one(&state.pool)
    .await?;
    if seen {
        Ok(())
    } else {
        // Not yet on the server (made offline, not synced) reads the same as not yours.
        Err(ApiError::NotFound("consultation (if it was made offline, sync first)"))
    }
}

#[utoipa::path(post, path = "/proposals", tag = "proposals", request_body = ProposalLinkRequest,
    responses((status = 200, body = ProposalLink, description = "The link (the same one each time, until revoked)"),
              (status = 404, body = app::api::ErrorBody, description = "No such consultation in your sight, or not synced yet")))]
pub async fn link(
    State(state): State<AppState>,
    user: CurrentUser,
    ApiJson(req): ApiJson<ProposalLinkRequest>,
) -> Result<ApiJson<ProposalLink>, ApiError> {
    visible(&state, &user, req.consultation_id).await?;
    let (fresh, _) = crate::auth::link_token::new();
    // One live link per consultation: a second request gets the first link back; after a revoke,
    // a new token (the revoked link stays dead).
    let token = sqlx::query_scalar!(
        "insert into proposal_links (token, company_id, consultation_id, created_by) values ($1, $2, $3, $4)
         on conflict (company_id, consultation_id) do update
           set token = case when proposal_links.revoked_at is null then proposal_links.token else excluded.token end,
               created_by = case when proposal_links.revoked_at is null then proposal_links.created_by else excluded.created_by end,
               created_at = case when proposal_links.revoked_at is null then proposal_links.created_at else now() end,
               revoked_at = null
         returning token",
        fresh,
        user.company_id(),
        req.consultation_id,
        user.user_id()
    )
    .fetch_one(&state.pool)
    .await?;
    Ok(ApiJson(ProposalLink { path: format!("/p/{token}") }))
}

#[utoipa::path(delete, path = "/proposals/{consultation_id}", tag = "proposals",
    params(("consultation_id" = Uuid, Path, description = "The consultation whose link ends")),
    responses((status = 204, description = "The link no longer opens (also when there was none)"),
              (status = 404, body = app::api::ErrorBody)))]
pub async fn revoke(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(consultation): Path<Uuid>,
) -> Result<StatusCode, ApiError> {
    visible(&state, &user, consultation).await?;
    sqlx::query!(
        "update proposal_links set revoked_at = now()
         where company_id = $1 and consultation_id = $2 and revoked_at is null",
        user.company_id(),
        consultation
    )
    .execute(&state.pool)
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

pub fn router() -> utoipa_axum::router::OpenApiRouter<AppState> {
    use utoipa_axum::routes;
    utoipa_axum::router::OpenApiRouter::new().routes(routes!(link)).routes(routes!(revoke))
}

/// What the page shows beside the proposal itself.
struct Copy {
    proposal: Proposal,
    logo: Option<String>,
    signature: Option<String>,
}

/// A stored image as a `data:` URL, so the copy is one file (saved, forwarded, printed); none
/// when its bytes are missing (the page goes without the image).
async fn data_url(state: &AppState, company: Uuid, sha: &str) -> Result<Option<String>, ApiError> {
    let image = crate::blobs::stored(state, company, sha).await?;
    Ok(image.map(|(content_type, bytes)| format!("data:{content_type};base64,{}", STANDARD.encode(bytes))))
}

async fn load(state: &AppState, token: &str) -> Result<Option<Copy>, ApiError> {
    let Some(found) = sqlx::query!(
        r#"select l.company_id, l.consultation_id, co.name, co.logo_sha256, co.proposal_terms,
                  (to_jsonb(c) - 'field_versions' - 'scope_users') as "consultation!",
                  (select to_jsonb(cu) from customers cu
                    where cu.company_id = c.company_id and cu.id = c.customer_id and not cu.deleted) as customer,
                  (select a.sha256 from attachments a
                    where a.company_id = c.company_id and a.consultation_id = c.id and a.kind = 'signature'
                      and not a.deleted
                    order by a.created_at desc limit 1) as signature
           from proposal_links l
           join companies co on co.id = l.company_id
           join consultations c on c.company_id = l.company_id and c.id = l.consultation_id and not c.deleted
           where l.token = $1 and l.revoked_at is null"#,
        token
    )
    .fetch_optional(&state.pool)
    .await?
    else {
        return Ok(None);
    };
    let options = sqlx::query!(
        r#"select id, to_jsonb(o) as "row!" from options o
           where company_id = $1 and consultation_id = $2 and not deleted"#,
        found.company_id,
        found.consultation_id
    )
    .fetch_all(&state.pool)
    .await?;
    let plans = sqlx::query_scalar!(
        r#"select to_jsonb(p) as "row!" from financing_plans p where company_id = $1"#,
        found.company_id
    )
    .fetch_all(&state.pool)
    .await?;
    let options: Vec<(Uuid, &Value)> = options.iter().map(|o| (o.id, &o.row)).collect();
    let plans: Vec<&Value> = plans.iter().collect();
    let from = proposal::From {
        company_name: found.name,
        logo_sha256: found.logo_sha256.clone(),
        terms: found.proposal_terms,
    };
    let proposal =
        proposal::build(from, &found.consultation, found.customer.as_ref(), &options, &plans, None);
    let logo = match &found.logo_sha256 {
        Some(sha) => data_url(state, found.company_id, sha).await?,
        None => None,
    };
    // A signature belongs on the copy only with the sale it signed.
    let signature = match (&found.signature, proposal.signed_at) {
        (Some(sha), Some(_)) => data_url(state, found.company_id, sha).await?,
        _ => None,
    };
    Ok(Some(Copy { proposal, logo, signature }))
}

/// `GET /p/{token}`: the customer's copy, no account needed.
pub async fn page(State(state): State<AppState>, Path(token): Path<String>) -> Result<Response, ApiError> {
    // A token is 43 base64url characters; anything else is not worth a query.
    let plausible =
        token.len() == 43 && token.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    let copy = if plausible { load(&state, &token).await? } else { None };
    let Some(copy) = copy else {
        let gone = document(
            "Proposal not found",
            html! {
                main.sheet {
                    h1 { "This link no longer opens a proposal" }
                    p { "It may have been mistyped or withdrawn. Ask the company that sent it for a new link." }
                }
            },
        );
        return Ok((StatusCode::NOT_FOUND, Html(gone.into_string())).into_response());
    };
    let title = format!("Proposal from {}", copy.proposal.from.company_name);
    let body = render(&copy);
    Ok((
        [(header::HeaderName::from_static("x-robots-tag"), "noindex, nofollow")],
        Html(document(&title, body).into_string()),
    )
        .into_response())
}

fn document(title: &str, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                meta name="robots" content="noindex, nofollow";
                title { (title) }
                style { (PreEscaped(STYLE)) }
            }
            body { (body) }
        }
    }
}

fn option_table(o: &ProposalOption) -> Markup {
    html! {
        section.option data-testid="copy-option" {
            h2 { (o.tier) }
            div.scroll { table {
                thead { tr { th { "Item" } th.num { "Qty" } th.num { "Price" } th.num { "Discount" } th.num { "Amount" } } }
                tbody {
                    @for l in &o.lines {
                        tr {
                            td { (l.description) }
                            td.num { (l.quantity) }
                            td.num { (l.unit_price.to_string()) }
                            td.num { @if l.discount.0 > 0 { "−" (l.discount.to_string()) } }
                            td.num { (l.total.to_string()) }
                        }
                    }
                }
                tfoot {
                    @if o.discount.0 > 0 {
                        tr { td colspan="4" { "Subtotal" } td.num { (o.subtotal.to_string()) } }
                        tr { td colspan="4" { "Discounts" } td.num { "−" (o.discount.to_string()) } }
                    }
                    tr.total { td colspan="4" { "Total" } td.num data-testid="copy-total" { (o.total.to_string()) } }
                }
            } }
            @if let Some(f) = &o.financing {
                p.financing { "Or " strong { (f.describe()) } " (" (f.label) ")" }
            }
        }
    }
}

fn render(copy: &Copy) -> Markup {
    let p = &copy.proposal;
    let signed = p.signed_at.is_some();
    html! {
        main.sheet data-testid="proposal-copy" {
            header {
                @if let Some(logo) = &copy.logo {
                    img.logo src=(logo) alt=(p.from.company_name);
                }
                div {
                    p.company { (p.from.company_name) }
                    h1 { @if signed { "Signed proposal" } @else { "Proposal for your review" } }
                }
                button.print type="button" id="print" { "Print or save as PDF" }
            }
            section.parties {
                p { strong { "For: " } span data-testid="copy-customer" { (p.customer_name) } }
                @if !p.address.is_empty() { p { (p.address) } }
                @if !p.problem.is_empty() { p { strong { "About: " } (p.problem) } }
            }
            @for o in &p.options { (option_table(o)) }
            @if p.options.is_empty() { p { "No options have been priced yet." } }
            @if !p.from.terms.is_empty() {
                section.terms { h2 { "Terms" } p { (p.from.terms) } }
            }
            @if let Some(at) = p.signed_at {
                section.signed {
                    @if let Some(sig) = &copy.signature { img.signature src=(sig) alt="The customer's signature"; }
                    p { "Signed by " strong data-testid="copy-signed-name" { (p.signed_name.clone().unwrap_or_else(|| p.customer_name.clone())) } }
                    p { "on " (at.format("%B %-d, %Y").to_string()) }
                }
            } @else {
                p.note { "Not signed yet. Your technician or sales rep will take your decision." }
            }
        }
        script { (PreEscaped(PRINT_SCRIPT)) }
    }
}

const PRINT_SCRIPT: &str =
    "document.getElementById('print').addEventListener('click',function(){window.print()});";

/// Self-contained, so a saved or forwarded page keeps its look; print hides the button.
const STYLE: &str = "
*{box-sizing:border-box}body{margin:0;font:16px/1.45 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;color:#111614;background:#f2f4f3}
.sheet{max-width:48rem;margin:0 auto;padding:1rem;background:#fff;min-height:100vh}
header{display:flex;gap:.75rem;align-items:center;flex-wrap:wrap;border-bottom:2px solid #0b2f55;padding-bottom:.75rem}
header div{flex:1 1 12rem}.logo{max-height:3.5rem;max-width:10rem}.company{margin:0;font-weight:600}
h1{margin:.1rem 0;font-size:1.35rem}h2{font-size:1.1rem;margin:1.25rem 0 .4rem}
.print{min-height:48px;padding:0 1rem;font:inherit;border:1px solid #0b2f55;border-radius:.5rem;background:#0b2f55;color:#fff}
table{width:100%;border-collapse:collapse}th,td{text-align:left;padding:.4rem .3rem;border-bottom:1px solid #d8dedb;vertical-align:top}
.num{text-align:right;white-space:nowrap}tfoot td{border-bottom:none}.total td{font-weight:700;font-size:1.1rem;border-top:2px solid #111614}
.financing{margin:.5rem 0}.terms p{white-space:pre-wrap;font-size:.9rem;color:#36403c}
.signed{margin-top:1.5rem;border-top:1px solid #d8dedb;padding-top:.75rem}.signature{width:100%;max-width:28rem;border-bottom:1px solid #111614}
.note{margin-top:1.5rem;color:#36403c}
@media (max-width:30rem){.sheet{padding:.75rem}th,td{padding:.35rem .2rem;font-size:.9rem}}
.scroll{overflow-x:auto}
@media print{body{background:#fff}.sheet{max-width:none;padding:0;min-height:0}.print{display:none}}
";
