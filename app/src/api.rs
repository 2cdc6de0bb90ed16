//! The JSON the HTTP API speaks, shared so that the browser and the server cannot drift.

use crate::domain::Role;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// Every 4xx/5xx body: `{"error": {"code": "...", "message": "..."}}`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

/// The error code of a push whose mutation ids the server already holds with other content:
/// the device must continue under a new client id. The one code a client acts on by itself.
pub const CLIENT_ID_REUSED: &str = "client_id_reused";

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct ErrorDetail {
    /// A stable machine-readable code (`invalid_input`, `unauthorized`, ...).
    pub code: String,
    /// A sentence a person can act on.
    pub message: String,
    /// The field the message is about, when there is one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
}

/// `POST /api/auth/login`. Kept as plain strings: a wrong-looking email must get the same
/// generic answer as a wrong password, not a hint about which accounts exist.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct LoginRequest {
    pub email: String,
    pub password: String,
}

/// Who is signed in: returned by login and `GET /api/me`, and embedded in every page.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct Me {
    pub user_id: Uuid,
    pub name: String,
    pub email: String,
    pub role: Role,
    pub company_id: Uuid,
    pub company_name: String,
    /// The company's logo (an uploaded image's SHA-256), shown on the customer presentation.
    #[serde(default)]
    pub company_logo: Option<String>,
    /// The company's time zone (IANA): every time on a person's screens is shown in it.
    #[serde(default)]
    pub time_zone: String,
    /// The terms and conditions printed under every proposal (Settings → Company).
    #[serde(default)]
    pub proposal_terms: String,
    /// How many days of finished work the device keeps (`Settings::device_history_days`).
    #[serde(default = "default_history_days")]
    pub history_days: u32,
    /// The company's follow-up cadence (days after the visit), for the reps' suggestions offline.
    #[serde(default = "default_cadence")]
    pub cadence_days: Vec<u32>,
}

fn default_history_days() -> u32 {
    crate::domain::settings::DEFAULT_DEVICE_HISTORY_DAYS
}

fn default_cadence() -> Vec<u32> {
    crate::domain::cadence::DEFAULT_CADENCE_DAYS.to_vec()
}

/// `POST /api/users`: a manager adds a person to their own company.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct NewUserRequest {
    pub name: String,
    pub email: String,
    pub role: String,
    pub password: String,
}

/// `POST /api/signup`: a company signs itself up, with its first manager.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct SignUpRequest {
    pub company_name: String,
    /// Any of `hvac`, `plumbing`, `electrical`; at least one.
    #[serde(default)]
    pub trades: Vec<String>,
    /// An IANA zone (`America/Chicago`); the browser offers its own.
    pub time_zone: String,
    /// The first manager.
    pub name: String,
    pub email: String,
    pub password: String,
    /// Load the starter price book and checklist to edit, instead of starting empty.
    #[serde(default)]
    pub starter: bool,
}

/// `POST /api/invites`: a link for one person to join the manager's company in `role`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct NewInviteRequest {
    pub role: String,
}

/// An invite as its manager sees it. The link (and its QR code) exist only in the answer that
/// made it: the server keeps a hash of the token, so a lost link is revoked and made again.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct Invite {
    pub id: Uuid,
    pub role: Role,
    pub created_at: chrono::DateTime<chrono::Utc>,
    pub expires_at: chrono::DateTime<chrono::Utc>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// The link as a QR code, an SVG document, for a technician to scan.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub qr_svg: Option<String>,
}

/// `GET /api/invites/preview`: what an invite link offers, for the page that accepts it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct InvitePreview {
    pub company_name: String,
    pub role: Role,
    pub expires_at: chrono::DateTime<chrono::Utc>,
}

/// `POST /api/invites/accept`: the invited person's account.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct AcceptInviteRequest {
    pub token: String,
    pub name: String,
    pub email: String,
    pub password: String,
}

/// `PATCH /api/users/{id}`: deactivate or reactivate a person, or change their role.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct MemberChange {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub active: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
}

/// What a change to a person did.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct MemberChanged {
    pub member: TeamMember,
    /// Their sessions ended by the change: deactivated people and people whose role changed
    /// sign in again (or cannot, once deactivated).
    pub sessions_ended: u64,
    /// Follow-ups still assigned to them, for the manager to hand on (Follow-ups tab).
    pub open_followups: i64,
}

/// `POST /api/me/password`: change your own password.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct PasswordChange {
    pub current_password: String,
    pub new_password: String,
}

/// `POST /api/users/{id}/password-reset`: a one-time link for the person to set a new password,
/// shown to the manager once.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct PasswordResetLink {
    pub url: String,
    pub expires_at: chrono::DateTime<chrono::Utc>,
}

/// `POST /api/password-reset`: the new password, with the link's token.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct PasswordReset {
    pub token: String,
    pub password: String,
}

/// A price book item as the editor reads and writes it. Money in cents.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct PriceBookItem {
    /// Absent when creating one.
    #[serde(default)]
    pub id: Option<Uuid>,
    pub sku: String,
    pub name: String,
    pub service_type: String,
    pub price_cents: i64,
    #[serde(default)]
    pub cost_cents: Option<i64>,
    /// How far below the price a technician may go on their own (0–100).
    #[serde(default)]
    pub max_discount_pct: i16,
    #[serde(default)]
    pub description: String,
    #[serde(default = "yes")]
    pub active: bool,
}

fn yes() -> bool {
    true
}

/// A member of the company as managers see them.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct TeamMember {
    pub id: Uuid,
    pub name: String,
    pub email: String,
    pub role: Role,
    pub active: bool,
}

/// `GET /api/conflicts?entity=consultation&id=…`: concurrent edits of one record where a value
/// was overwritten, newest first — the record's "changes that crossed" view.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct ConflictEntry {
    pub field: String,
    /// The value that was lost, and who had written it.
    pub overwritten_value: serde_json::Value,
    pub overwritten_by: Option<String>,
    /// The value that won, and who wrote it.
    pub new_value: serde_json::Value,
    pub written_by: String,
    pub at: chrono::DateTime<chrono::Utc>,
}

/// A company's live checklist, for one service or (no `service_type`) for every service without
/// its own, as the checklist editor reads it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct Checklist {
    /// This revision's id: what a consultation captured with it points at.
    pub id: Uuid,
    pub service_type: Option<String>,
    /// 1 for the first; each saved edit is the next.
    pub revision: i32,
    pub steps: Vec<crate::domain::checklist::TemplateStep>,
    pub changed_at: chrono::DateTime<chrono::Utc>,
    /// Who saved this revision (none for the starter checklist).
    pub changed_by: Option<String>,
}

/// A checklist's steps in their new order: steps it had keep their `key`, new ones have none.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct ChecklistEdit {
    pub steps: Vec<crate::domain::checklist::StepDraft>,
}

/// One change in the audit trail or a record's timeline: who made it, when, from which device,
/// to which record, and each field's value before and after.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct AuditEntry {
    /// When it was made (a device's own clock for work done offline).
    pub at: chrono::DateTime<chrono::Utc>,
    /// When the server received it (later than `at` for work synced after being offline).
    pub recorded_at: chrono::DateTime<chrono::Utc>,
    pub person_id: Uuid,
    pub person: String,
    /// The device ("device 1a2b3c4d", a sync client) or browser ("Chrome on Android") used.
    pub device: String,
    /// customer, lead, consultation, option, activity, followup, time_entry, attachment,
    /// price_book_item, checklist, settings, company, person, invite.
    pub record_type: String,
    pub record_id: Option<Uuid>,
    /// created, changed, removed, won, lost, reopened, logged, imported, …
    pub action: String,
    /// One line a person reads ("Won at $9,450.00", "Price $6,890.00 → $7,190.00").
    pub summary: String,
    pub changes: Vec<FieldChange>,
}

/// The record types the audit trail files changes under, with what a person calls them: the
/// server refuses a filter outside it, the audit page offers it.
pub const AUDIT_RECORD_TYPES: &[(&str, &str)] = &[
    ("consultation", "Consultations"),
    ("customer", "Customers"),
    ("lead", "Leads"),
    ("option", "Options"),
    ("activity", "Calls and texts"),
    ("followup", "Follow-ups"),
    ("time_entry", "Time entries"),
    ("attachment", "Photos and signatures"),
    ("price_book_item", "Price book"),
    ("checklist", "Checklist"),
    ("settings", "Settings"),
    ("company", "Company profile"),
    ("person", "Team"),
    ("invite", "Invites"),
];

/// A field's value before and after a change (`before` absent when the change set it first).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct FieldChange {
    pub field: String,
    /// Any JSON value: text, a number, an object, a list.
    pub before: Option<serde_json::Value>,
    pub after: Option<serde_json::Value>,
}

/// `GET/PUT /api/company`: the company as its customers and its reports see it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct CompanyProfile {
    pub name: String,
    /// hvac, plumbing, electrical: at least one.
    pub trades: Vec<String>,
    /// An IANA zone (America/Chicago): the company's days, weeks and "today" in every report.
    pub time_zone: String,
    /// An image uploaded with `PUT /api/blobs/{sha256}`, shown on the customer presentation.
    #[serde(default)]
    pub logo_sha256: Option<String>,
    /// Terms and conditions printed under every proposal the customer signs (at most 4,000
    /// characters; line breaks kept).
    #[serde(default)]
    pub proposal_terms: String,
}

/// The longest terms a company may print under its proposals.
pub const MAX_PROPOSAL_TERMS: usize = 4000;

/// A good / better / best bundle of price book items that a technician starts an option from.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct OptionTemplate {
    /// Absent when creating one.
    #[serde(default)]
    pub id: Option<Uuid>,
    pub service_type: String,
    /// good, better or best.
    pub tier: String,
    /// What the technician picks it by ("Comfort upgrade").
    pub name: String,
    pub items: Vec<TemplateItem>,
}

/// One line of an [`OptionTemplate`]: a price book item and how many.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct TemplateItem {
    pub price_book_item_id: Uuid,
    pub quantity: u32,
}

/// The tiers an option template is for, in the order a customer sees them.
pub const TEMPLATE_TIERS: [&str; 3] = ["good", "better", "best"];

/// A financing plan the company offers, as its editor reads and writes it. An option names it
/// by `code` (made by the server from the lender and terms, never changed).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct FinancingPlanRow {
    /// Absent when creating one.
    #[serde(default)]
    pub id: Option<Uuid>,
    /// Absent when creating one.
    #[serde(default)]
    pub code: Option<String>,
    pub lender: String,
    /// Annual percentage rate in basis points: 9.99% is 999.
    pub apr_bps: i32,
    /// Number of monthly payments (1–360).
    pub months: i32,
    /// The smallest amount financed, in cents (0: any).
    #[serde(default)]
    pub min_amount_cents: i64,
    /// Months without interest if paid in full within them (0: none; shown to the customer).
    #[serde(default)]
    pub promo_months: i32,
    #[serde(default = "yes")]
    pub active: bool,
}

impl FinancingPlanRow {
    /// Its terms as the pricing code takes them (the server keeps them in range).
    pub fn terms(&self) -> crate::domain::pricing::PlanTerms {
        crate::domain::pricing::PlanTerms {
            apr_bps: self.apr_bps.max(0) as u32,
            months: self.months.max(1) as u32,
        }
    }
}

/// `GET/PUT /api/intake-settings`: the website lead form's key (in the form's address; a
/// rotation stops the old one at once) and the sites whose pages may post to it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct IntakeSettings {
    /// Read-only: sent back as it is, changed only by a rotation.
    #[serde(default)]
    pub key: String,
    /// Origins such as `https://www.acmeair.com` (scheme, host and port; no path).
    pub allowed_origins: Vec<String>,
}

/// `POST /api/intake/{key}`: what the company's website form sends (JSON or a form). Every
/// field is text as a browser sends it; the server checks each and names the one that is wrong.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct IntakeForm {
    pub name: String,
    #[serde(default)]
    pub phone: String,
    #[serde(default)]
    pub email: String,
    #[serde(default)]
    pub address: String,
    /// hvac, plumbing, electrical, water_heater or other (default other).
    #[serde(default)]
    pub service: String,
    #[serde(default)]
    pub message: String,
    /// One of the lead sources (default website).
    #[serde(default)]
    pub source: String,
    #[serde(default)]
    pub utm_source: String,
    #[serde(default)]
    pub utm_medium: String,
    #[serde(default)]
    pub utm_campaign: String,
    #[serde(default)]
    pub utm_term: String,
    #[serde(default)]
    pub utm_content: String,
    /// One per form shown: the same key sent twice makes one lead (also as `Idempotency-Key`).
    #[serde(default)]
    pub idempotency_key: String,
    /// The honeypot: hidden from people, filled in by bots. A form with it filled is answered
    /// as if taken and nothing is written.
    #[serde(default)]
    pub website: String,
    /// A form post (no script) is sent here afterwards, if it is on an allowed origin.
    #[serde(default)]
    pub redirect: String,
}

/// The answer to an intake post.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct IntakeReceived {
    /// Absent for a post the honeypot caught (nothing was written).
    #[serde(default)]
    pub lead_id: Option<Uuid>,
    /// The same enquiry was received before (same idempotency key, or the same person within
    /// ten minutes): no second lead was made.
    pub duplicate: bool,
}

/// `GET /api/push/key`: the server's VAPID public key (an uncompressed P-256 point, base64url
/// without padding), which a browser's `pushManager.subscribe` takes as `applicationServerKey`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct PushKey {
    pub public_key: String,
}

/// `PUT /api/push/subscription`: this device's push subscription, as the browser's
/// `PushSubscription.toJSON()` gives it. It lasts as long as the session that sends it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct PushSubscriptionIn {
    /// The push service's address for this device (https, at a known push service).
    pub endpoint: String,
    pub keys: PushSubscriptionKeys,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct PushSubscriptionKeys {
    /// The device's P-256 public key, base64url (65 bytes decoded).
    pub p256dh: String,
    /// The device's authentication secret, base64url (16 bytes decoded).
    pub auth: String,
}

/// `DELETE /api/push/subscription`: which subscription this device gives up.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct PushUnsubscribe {
    pub endpoint: String,
}

/// `GET/PUT /api/push/preferences`: which kinds of notice the signed-in person gets (on every
/// device they turned notifications on), and how many of their devices are subscribed.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct NotifyPreferences {
    /// A new website lead waiting for an answer (the office, while open, and managers).
    pub new_lead: bool,
    /// A visit booked, moved or cancelled for you (technicians).
    pub visit: bool,
    /// A follow-up handed to you by someone else.
    pub follow_up: bool,
    /// Read-only: devices of yours with notifications on.
    #[serde(default)]
    pub devices: u32,
}

/// `GET/PUT /api/marketing-spend`: what the company paid in a month for a lead source, or for a
/// campaign within it (an empty campaign is spend on the source not tied to one).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct MarketingSpend {
    /// `2026-11`.
    pub month: String,
    /// One of the lead sources.
    pub source: String,
    #[serde(default)]
    pub campaign: String,
    pub amount_cents: i64,
}

/// `DELETE /api/marketing-spend`: which month, source and campaign to clear.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct MarketingSpendKey {
    pub month: String,
    pub source: String,
    #[serde(default)]
    pub campaign: String,
}

/// `POST /api/proposals`: a link to the customer's copy of a consultation's proposal.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct ProposalLinkRequest {
    pub consultation_id: Uuid,
}

/// The customer's copy: read-only, at an unguessable link, the same link however often it is
/// asked for (until revoked).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct ProposalLink {
    /// The page's path (`/p/{token}`); the device puts its own origin before it.
    pub path: String,
}

/// `GET /api/quote-scores`: each open quote the caller may see with its chance of being won.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct QuoteScores {
    /// Which model gave them, e.g. "close model of 2026-12-05 21:14 UTC (v5123)".
    pub model_version: String,
    /// False when the model did not beat the base rate: every score is then the base rate.
    pub uses_model: bool,
    pub base_rate: f64,
    pub scores: Vec<QuoteScore>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct QuoteScore {
    pub consultation_id: Uuid,
    /// 0 to 1.
    pub probability: f64,
}
