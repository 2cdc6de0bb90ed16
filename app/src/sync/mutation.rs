//! The named mutations a device may push. Names are versioned API: an existing name never
//! changes meaning; a new meaning gets a new name. The same `validate` runs in the browser
//! (before the write is queued) and on the server (before it is applied).

use crate::domain::text::{check as text, check_json, check_time};
use crate::domain::{
    pricing::{option_total, Line},
    Cents, EmailAddress, PersonName, PhoneNumber, ValidationError,
};
use crate::sync::protocol::Entity;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use uuid::Uuid;

/// Declares every mutation once: its wire name, its variant and the type of its arguments. The
/// name picks the type before anything is parsed, so `args` is read straight into that type —
/// not through serde's tagged-enum buffering, which cost 70 KB of the browser's first load and a
/// copy of every pushed mutation's arguments on the server.
macro_rules! mutations {
    ($($name:literal => $variant:ident($args:ty),)*) => {
        /// Every mutation this build knows, by name.
        pub const NAMES: &[&str] = &[$($name,)*];

        #[derive(Debug, Clone, PartialEq)]
        pub enum Mutation {
            $($variant($args),)*
        }

        impl Mutation {
            /// Parses `name` + `args` as they arrive in a push. `Err(None)` means the name is
            /// unknown (the whole push is refused: a newer client must not be half-applied);
            /// `Err(Some(..))` means the args do not fit the name (that one mutation is rejected
            /// and kept).
            pub fn from_parts(name: &str, args: &Value) -> Result<Mutation, Option<String>> {
                let parsed = match name {
                    $($name => <$args>::deserialize(args).map(Mutation::$variant),)*
                    _ => return Err(None),
                };
                parsed.map_err(|e| Some(format!("{name}: the arguments do not fit: {e}")))
            }

            pub fn name(&self) -> &'static str {
                match self {
                    $(Mutation::$variant(_) => $name,)*
                }
            }

            /// The `args` half of the wire form.
            pub fn args(&self) -> Value {
                let args = match self {
                    $(Mutation::$variant(m) => serde_json::to_value(m),)*
                };
                args.unwrap_or(Value::Null)
            }
        }
    };
}

mutations! {
    "customer.create" => CustomerCreate(CustomerCreate),
    "customer.update_fields" => CustomerUpdate(FieldUpdate),
    "lead.create" => LeadCreate(LeadCreate),
    "consultation.create" => ConsultationCreate(ConsultationCreate),
    "consultation.update_fields" => ConsultationUpdate(FieldUpdate),
    "consultation.set_outcome" => SetOutcome(SetOutcome),
    "option.upsert" => OptionUpsert(OptionUpsert),
    "activity.log" => ActivityLog(ActivityLog),
    "followup.schedule" => FollowupSchedule(FollowupSchedule),
    "followup.complete" => FollowupComplete(FollowupComplete),
    "followup.reassign" => FollowupReassign(FollowupReassign),
    "time_entry.log" => TimeEntryLog(TimeEntryLog),
    "attachment.add" => AttachmentAdd(AttachmentAdd),
    "record.delete" => Delete(DeleteRecord),
    "lead.contact" => LeadContact(LeadContact),
    "lead.qualify" => LeadQualify(LeadQualify),
    "consultation.reschedule" => Reschedule(Reschedule),
    "consultation.cancel" => Cancel(Cancel),
}

impl Mutation {
    pub fn validate(&self) -> Result<(), ValidationError> {
        match self {
            Mutation::CustomerCreate(m) => m.validate(),
            Mutation::CustomerUpdate(m) => m.validate(CUSTOMER_FIELDS),
            Mutation::LeadCreate(m) => m.validate(),
            Mutation::ConsultationCreate(m) => m.validate(),
            Mutation::ConsultationUpdate(m) => m.validate(CONSULTATION_FIELDS),
            Mutation::SetOutcome(m) => m.validate(),
            Mutation::OptionUpsert(m) => m.validate(),
            Mutation::ActivityLog(m) => m.validate(),
            Mutation::FollowupSchedule(m) => {
                check_time("due_at", m.due_at)?;
                text("note", &m.note, 2000)
            }
            Mutation::FollowupComplete(m) => check_time("at", m.at),
            Mutation::FollowupReassign(_) => Ok(()),
            Mutation::TimeEntryLog(m) => m.validate(),
            Mutation::AttachmentAdd(m) => m.validate(),
            Mutation::Delete(m) => m.validate(),
            Mutation::LeadContact(m) => m.validate(),
            Mutation::LeadQualify(m) => m.validate(),
            Mutation::Reschedule(m) => m.validate(),
            Mutation::Cancel(m) => m.validate(),
        }
    }
}

fn one_of(field: &'static str, value: &str, allowed: &[&str]) -> Result<(), ValidationError> {
    if allowed.contains(&value) {
        Ok(())
    } else {
        Err(ValidationError::new(field, format!("must be one of {}", allowed.join(", "))))
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct CustomerCreate {
    pub id: Uuid,
    pub name: String,
    #[serde(default)]
    pub phone: Option<String>,
    #[serde(default)]
    pub email: Option<String>,
    #[serde(default)]
    pub address: Option<String>,
}

impl CustomerCreate {
    fn validate(&self) -> Result<(), ValidationError> {
        PersonName::parse(&self.name)?;
        if let Some(p) = self.phone.as_deref().filter(|p| !p.trim().is_empty()) {
            PhoneNumber::parse(p)?;
        }
        if let Some(e) = self.email.as_deref().filter(|e| !e.trim().is_empty()) {
            EmailAddress::parse(e)?;
        }
        text("address", self.address.as_deref().unwrap_or(""), 300)
    }
}

/// How a field of a record may be written by `*.update_fields`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldKind {
    Text(usize),
    Phone,
    Email,
    Json,
    Timestamp,
    UserRef,
    /// The id of a checklist revision (what the server checks: one of the company's).
    ChecklistRef,
}

pub type FieldSpec = (&'static str, FieldKind);

pub const CUSTOMER_FIELDS: &[FieldSpec] = &[
    ("name", FieldKind::Text(100)),
    ("phone", FieldKind::Phone),
    ("email", FieldKind::Email),
    ("address", FieldKind::Text(300)),
];

pub const CONSULTATION_FIELDS: &[FieldSpec] = &[
    ("scheduled_at", FieldKind::Timestamp),
    ("held_at", FieldKind::Timestamp),
    ("home", FieldKind::Json),
    ("problem", FieldKind::Text(5000)),
    ("notes", FieldKind::Text(20000)),
    ("checklist", FieldKind::Json),
    ("sales_rep_id", FieldKind::UserRef),
    // The checklist revision the answers were given to: set with the first answer, so the
    // consultation keeps it after the checklist is edited.
    ("checklist_template_id", FieldKind::ChecklistRef),
    // The name the customer printed beside their signature on the proposal.
    ("signed_name", FieldKind::Text(100)),
];

/// A per-field patch. `base_version` is the record's **revision** (its `revision` field, bumped
/// by every write of that row) as the device last received it, 0 for a record made on the
/// device; not the company version of the row. A field written by someone else after it is a
/// concurrent edit, and overwriting it leaves a conflict record. The server rejects a base
/// above the row's revision: it cannot be one the device received. (The wire name stays
/// `base_version`: names are versioned API.)
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct FieldUpdate {
    pub id: Uuid,
    /// The record's revision as this device last received it (0 for one made on the device).
    pub base_version: i64,
    #[cfg_attr(feature = "ssr", schema(value_type = Object))]
    pub fields: Map<String, Value>,
}

impl FieldUpdate {
    /// This update as `consultation.update_fields` in its wire form (name and args), validated:
    /// what `Mutation::ConsultationUpdate` would queue, without reaching every other mutation's
    /// code (the browser's draft replay runs in the first load).
    pub fn consultation_wire(&self) -> Result<(&'static str, Value), ValidationError> {
        self.validate(CONSULTATION_FIELDS)?;
        let args = serde_json::to_value(self).map_err(|e| ValidationError::new("fields", e.to_string()))?;
        Ok(("consultation.update_fields", args))
    }

    pub fn validate(&self, spec: &[FieldSpec]) -> Result<(), ValidationError> {
        if self.base_version < 0 {
            return Err(ValidationError::new(
                "base_version",
                "must be the record's revision as last received (0 for a record made on this device)",
            ));
        }
        if self.fields.is_empty() {
            return Err(ValidationError::new("fields", "name at least one field to change"));
        }
        for (name, value) in &self.fields {
            let Some((field, kind)) = spec.iter().find(|(n, _)| n == name) else {
                return Err(ValidationError::new("fields", format!("{name} cannot be changed this way")));
            };
            check_field(field, *kind, value)?;
        }
        Ok(())
    }
}

fn check_field(field: &'static str, kind: FieldKind, value: &Value) -> Result<(), ValidationError> {
    let wrong = |what: &str| Err(ValidationError::new(field, format!("must be {what}")));
    match (kind, value) {
        (FieldKind::Text(max), Value::String(s)) => {
            if field == "name" {
                PersonName::parse(s)?;
            }
            text(field, s, max)
        }
        (FieldKind::Phone, Value::String(s)) => PhoneNumber::parse(s).map(|_| ()),
        (FieldKind::Email, Value::String(s)) => EmailAddress::parse(s).map(|_| ()),
        (FieldKind::Phone | FieldKind::Email, Value::Null) => Ok(()),
        (FieldKind::Json, Value::Object(_)) => {
            if value.to_string().len() > 64 * 1024 {
                return wrong("smaller than 64 KB");
            }
            check_json(field, value)
        }
        (FieldKind::Timestamp | FieldKind::UserRef | FieldKind::ChecklistRef, Value::Null) => Ok(()),
        (FieldKind::Timestamp, Value::String(s)) => match s.parse::<DateTime<Utc>>() {
            Ok(at) => check_time(field, at),
            Err(_) => wrong("an RFC 3339 time"),
        },
        (FieldKind::UserRef, Value::String(s)) => {
            s.parse::<Uuid>().map(|_| ()).or_else(|_| wrong("a person's id"))
        }
        (FieldKind::ChecklistRef, Value::String(s)) => {
            s.parse::<Uuid>().map(|_| ()).or_else(|_| wrong("a checklist's id"))
        }
        (FieldKind::Text(_), _) => wrong("text"),
        (FieldKind::Json, _) => wrong("an object"),
        (
            FieldKind::Phone
            | FieldKind::Email
            | FieldKind::Timestamp
            | FieldKind::UserRef
            | FieldKind::ChecklistRef,
            _,
        ) => wrong("text"),
    }
}

pub const LEAD_SOURCES: &[&str] = &[
    "website",
    "phone",
    "referral",
    "repeat_customer",
    "google_ads",
    "facebook",
    "yard_sign",
    "home_show",
    "other",
];
pub const SERVICE_TYPES: &[&str] = &["hvac", "plumbing", "electrical", "water_heater", "other"];

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct LeadCreate {
    pub id: Uuid,
    pub customer_id: Uuid,
    pub source: String,
    pub service_type: String,
    /// When the lead came in (the device's clock; speed to lead starts here).
    pub created_at: DateTime<Utc>,
    /// When the lead was first answered, when it came in answered (imported history, a phone
    /// lead taken live); otherwise its first contact is a later `activity.log`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_contact_at: Option<DateTime<Utc>>,
    /// The lead's id in the system it came from: one lead per id and company, so importing the
    /// same history twice adds nothing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external_id: Option<String>,
    /// What the caller or the web form said they need.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub notes: String,
    /// The marketing campaign it came from (`utm_campaign`), fixed like the source.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub campaign: Option<String>,
    /// The other `utm_*` parameters of the page the form was on, as sent.
    #[serde(default, skip_serializing_if = "Map::is_empty")]
    #[cfg_attr(feature = "ssr", schema(value_type = Object))]
    pub utm: Map<String, Value>,
}

impl LeadCreate {
    fn validate(&self) -> Result<(), ValidationError> {
        one_of("source", &self.source, LEAD_SOURCES)?;
        one_of("service_type", &self.service_type, SERVICE_TYPES)?;
        check_time("created_at", self.created_at)?;
        if let Some(at) = self.first_contact_at {
            check_time("first_contact_at", at)?;
            if at < self.created_at {
                return Err(ValidationError::new("first_contact_at", "is before the lead came in"));
            }
        }
        if let Some(id) = &self.external_id {
            if id.trim().is_empty() {
                return Err(ValidationError::new("external_id", "is empty; leave it out instead"));
            }
            text("external_id", id, 100)?;
        }
        text("notes", &self.notes, 2000)?;
        text("campaign", self.campaign.as_deref().unwrap_or(""), 200)?;
        if self.utm.len() > 8 {
            return Err(ValidationError::new("utm", "at most 8 parameters"));
        }
        for (key, value) in &self.utm {
            text("utm", key, 40)?;
            match value {
                Value::String(v) => text("utm", v, 200)?,
                _ => return Err(ValidationError::new("utm", format!("{key} must be text"))),
            }
        }
        Ok(())
    }
}

/// Why a lead is not worth a visit; a disqualified lead leaves the lead → consultation
/// denominator with its reason (METRICS.md).
pub const DISQUALIFY_REASONS: &[&str] =
    &["spam", "out_of_area", "not_a_real_enquiry", "duplicate", "service_not_offered", "other"];

pub const CONTACT_KINDS: &[&str] = &["call", "text", "email"];

/// Someone answered a lead (before there is a visit to log it on): the first one stops the
/// speed-to-lead clock.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct LeadContact {
    /// The lead's id.
    pub id: Uuid,
    pub kind: String,
    pub at: DateTime<Utc>,
}

impl LeadContact {
    fn validate(&self) -> Result<(), ValidationError> {
        one_of("kind", &self.kind, CONTACT_KINDS)?;
        check_time("at", self.at)
    }
}

/// The office's judgement of a lead: worth a visit, or not and why. It can be changed (a
/// disqualified lead qualified again); each judgement is a stage event.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct LeadQualify {
    pub id: Uuid,
    /// `qualified` or `disqualified`.
    pub qualification: String,
    /// One of [`DISQUALIFY_REASONS`]: required to disqualify, absent otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    pub at: DateTime<Utc>,
}

impl LeadQualify {
    fn validate(&self) -> Result<(), ValidationError> {
        check_time("at", self.at)?;
        match (self.qualification.as_str(), self.reason.as_deref()) {
            ("qualified", None) => Ok(()),
            ("qualified", Some(_)) => {
                Err(ValidationError::new("reason", "only a disqualified lead has a reason"))
            }
            ("disqualified", Some(r)) => one_of("reason", r, DISQUALIFY_REASONS),
            ("disqualified", None) => Err(ValidationError::new(
                "reason",
                format!("say why the lead is disqualified: one of {}", DISQUALIFY_REASONS.join(", ")),
            )),
            _ => Err(ValidationError::new("qualification", "must be one of qualified, disqualified")),
        }
    }
}

/// A booked visit is a window of 15 minutes to 12 hours.
pub fn check_window(minutes: u16) -> Result<(), ValidationError> {
    if (15..=720).contains(&minutes) {
        Ok(())
    } else {
        Err(ValidationError::new("window_minutes", "must be between 15 minutes and 12 hours"))
    }
}

/// A booked visit moves to another time (same technician). Refused if it would clash.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct Reschedule {
    pub id: Uuid,
    pub scheduled_at: DateTime<Utc>,
    pub window_minutes: u16,
}

impl Reschedule {
    fn validate(&self) -> Result<(), ValidationError> {
        check_time("scheduled_at", self.scheduled_at)?;
        check_window(self.window_minutes)
    }
}

pub const CANCEL_REASONS: &[&str] = &[
    "customer_cancelled",
    "rescheduled_by_customer",
    "no_access",
    "technician_unavailable",
    "duplicate",
    "other",
];

/// A booked visit that will not happen. Its row stays (with the reason), off the schedule.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct Cancel {
    pub id: Uuid,
    pub reason: String,
    pub at: DateTime<Utc>,
}

impl Cancel {
    fn validate(&self) -> Result<(), ValidationError> {
        one_of("reason", &self.reason, CANCEL_REASONS)?;
        check_time("at", self.at)
    }
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct ConsultationCreate {
    pub id: Uuid,
    pub lead_id: Uuid,
    /// Defaults to the person creating it.
    #[serde(default)]
    pub technician_id: Option<Uuid>,
    #[serde(default)]
    pub scheduled_at: Option<DateTime<Utc>>,
    /// A booked visit's length from `scheduled_at`; a visit with a window is on the schedule,
    /// where it must not clash with the technician's other booked visits.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub window_minutes: Option<u16>,
    #[serde(default)]
    pub problem: String,
}

impl ConsultationCreate {
    fn validate(&self) -> Result<(), ValidationError> {
        if let Some(at) = self.scheduled_at {
            check_time("scheduled_at", at)?;
        }
        if let Some(minutes) = self.window_minutes {
            if self.scheduled_at.is_none() {
                return Err(ValidationError::new(
                    "window_minutes",
                    "a window needs its start (scheduled_at)",
                ));
            }
            check_window(minutes)?;
        }
        text("problem", &self.problem, 5000)
    }
}

pub const LOST_REASONS: &[&str] =
    &["price", "financing_declined", "competitor", "no_decision", "timing", "repair_instead", "other"];

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(tag = "status", rename_all = "snake_case")]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub enum Outcome {
    Won {
        option_id: Option<Uuid>,
        amount_cents: Cents,
    },
    Lost {
        reason: String,
        #[serde(default)]
        competitor: Option<String>,
        #[serde(default)]
        note: Option<String>,
    },
    Reopened,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct SetOutcome {
    pub id: Uuid,
    pub outcome: Outcome,
    /// When it was decided, by the device's clock.
    pub at: DateTime<Utc>,
}

impl SetOutcome {
    fn validate(&self) -> Result<(), ValidationError> {
        check_time("at", self.at)?;
        match &self.outcome {
            Outcome::Won { amount_cents, .. } => amount_cents.check("amount_cents").map(|_| ()),
            Outcome::Lost { reason, competitor, note } => {
                one_of("reason", reason, LOST_REASONS)?;
                text("competitor", competitor.as_deref().unwrap_or(""), 200)?;
                text("note", note.as_deref().unwrap_or(""), 2000)
            }
            Outcome::Reopened => Ok(()),
        }
    }
}

/// The status a consultation is in; `set_outcome` moves it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Open,
    Won,
    Lost,
}

impl Status {
    pub fn parse(s: &str) -> Option<Status> {
        match s {
            "open" => Some(Status::Open),
            "won" => Some(Status::Won),
            "lost" => Some(Status::Lost),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Status::Open => "open",
            Status::Won => "won",
            Status::Lost => "lost",
        }
    }

    /// The state machine: open → won | lost; won | lost → open only by an explicit reopen.
    pub fn apply(self, outcome: &Outcome) -> Result<Status, ValidationError> {
        match (self, outcome) {
            (Status::Open, Outcome::Won { .. }) => Ok(Status::Won),
            (Status::Open, Outcome::Lost { .. }) => Ok(Status::Lost),
            (Status::Won | Status::Lost, Outcome::Reopened) => Ok(Status::Open),
            (Status::Open, Outcome::Reopened) => {
                Err(ValidationError::new("outcome", "the consultation is already open"))
            }
            (s, _) => Err(ValidationError::new(
                "outcome",
                format!("the consultation is already {}; reopen it first", s.as_str()),
            )),
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct LineItem {
    #[serde(default)]
    pub price_book_item_id: Option<Uuid>,
    pub description: String,
    pub quantity: u32,
    pub unit_price_cents: Cents,
    /// Off this line, within the limit the price book item allows.
    #[serde(default)]
    pub discount_cents: Cents,
}

impl LineItem {
    pub fn priced(&self) -> Line {
        Line { quantity: self.quantity, unit_price: self.unit_price_cents, discount: self.discount_cents }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct OptionUpsert {
    pub id: Uuid,
    pub consultation_id: Uuid,
    /// good / better / best, or the company's own names.
    pub tier: String,
    pub position: u8,
    pub line_items: Vec<LineItem>,
    pub price_cents: Cents,
    #[serde(default)]
    pub financing_plan: Option<String>,
    #[serde(default)]
    pub monthly_payment_cents: Option<Cents>,
    #[serde(default)]
    pub presented: bool,
}

impl OptionUpsert {
    fn validate(&self) -> Result<(), ValidationError> {
        if self.tier.trim().is_empty() {
            return Err(ValidationError::new("tier", "name the option, e.g. Good"));
        }
        text("tier", &self.tier, 40)?;
        if self.position > 3 {
            return Err(ValidationError::new("position", "at most four options per consultation"));
        }
        if self.line_items.len() > 100 {
            return Err(ValidationError::new("line_items", "at most 100 line items"));
        }
        for item in &self.line_items {
            text("line_items", &item.description, 300)?;
            item.unit_price_cents.check("unit_price_cents")?;
            // The discount limit per item is the server's to check (it holds the price book);
            // here only what needs no lookup: not negative and not more than the line.
            item.priced().check(Some(100))?;
        }
        self.price_cents.check("price_cents")?;
        if !self.line_items.is_empty() {
            let total = option_total(self.line_items.iter().map(LineItem::priced));
            if total != self.price_cents {
                return Err(ValidationError::new(
                    "price_cents",
                    format!("is {} but the line items add up to {total}", self.price_cents),
                ));
            }
        }
        match (&self.financing_plan, self.monthly_payment_cents) {
            (None, None) => {}
            (None, Some(_)) => {
                return Err(ValidationError::new("financing_plan", "choose a plan for the monthly payment"))
            }
            // The plan is one of the company's (synced rows): the server checks the code, the
            // payment against its terms, and its minimum amount.
            (Some(code), payment) => {
                if code.is_empty() || code.len() > 40 {
                    return Err(ValidationError::new("financing_plan", "must be a plan's code"));
                }
                if payment.is_none() {
                    return Err(ValidationError::new("monthly_payment_cents", "is required with a plan"));
                }
            }
        }
        Ok(())
    }
}

pub const ACTIVITY_KINDS: &[&str] = &["call", "text", "email", "visit", "note"];

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct ActivityLog {
    pub id: Uuid,
    pub consultation_id: Uuid,
    pub kind: String,
    #[serde(default)]
    pub outcome: Option<String>,
    pub at: DateTime<Utc>,
    #[serde(default)]
    pub note: String,
}

impl ActivityLog {
    fn validate(&self) -> Result<(), ValidationError> {
        one_of("kind", &self.kind, ACTIVITY_KINDS)?;
        check_time("at", self.at)?;
        text("outcome", self.outcome.as_deref().unwrap_or(""), 100)?;
        text("note", &self.note, 5000)
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct FollowupSchedule {
    pub id: Uuid,
    pub consultation_id: Uuid,
    pub due_at: DateTime<Utc>,
    /// Defaults to the person scheduling it.
    #[serde(default)]
    pub assignee_id: Option<Uuid>,
    #[serde(default)]
    pub note: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct FollowupComplete {
    pub id: Uuid,
    pub at: DateTime<Utc>,
}

/// A manager (or the person it is assigned to) hands a follow-up to someone else.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct FollowupReassign {
    pub id: Uuid,
    pub assignee_id: Uuid,
}

pub const TIME_CATEGORIES: &[&str] =
    &["on_site", "follow_up_contact", "proposal_prep", "driving", "admin", "waiting", "break", "other"];

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct TimeEntryLog {
    pub id: Uuid,
    pub category: String,
    pub started_at: DateTime<Utc>,
    #[serde(default)]
    pub ended_at: Option<DateTime<Utc>>,
}

impl TimeEntryLog {
    fn validate(&self) -> Result<(), ValidationError> {
        one_of("category", &self.category, TIME_CATEGORIES)?;
        check_time("started_at", self.started_at)?;
        if let Some(end) = self.ended_at {
            check_time("ended_at", end)?;
        }
        if matches!(self.ended_at, Some(end) if end < self.started_at) {
            return Err(ValidationError::new("ended_at", "must not be before the start"));
        }
        Ok(())
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct AttachmentAdd {
    pub id: Uuid,
    pub consultation_id: Uuid,
    pub kind: String,
    pub sha256: String,
    pub content_type: String,
    pub byte_size: u64,
}

impl AttachmentAdd {
    fn validate(&self) -> Result<(), ValidationError> {
        one_of("kind", &self.kind, &["photo", "signature"])?;
        if self.sha256.len() != 64
            || !self.sha256.chars().all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase())
        {
            return Err(ValidationError::new("sha256", "must be 64 lower-case hex digits"));
        }
        one_of("content_type", &self.content_type, &["image/jpeg", "image/png", "image/webp"])
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct DeleteRecord {
    pub entity: Entity,
    pub id: Uuid,
}

impl DeleteRecord {
    fn validate(&self) -> Result<(), ValidationError> {
        match self.entity {
            Entity::Customer
            | Entity::Consultation
            | Entity::Option
            | Entity::Followup
            | Entity::Attachment => Ok(()),
            other => Err(ValidationError::new("entity", format!("a {} cannot be deleted", other.as_str()))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn unknown_names_and_misfit_args_are_told_apart() {
        assert_eq!(Mutation::from_parts("consultation.explode", &json!({})), Err(None));
        let misfit = Mutation::from_parts("activity.log", &json!({ "id": 3 })).unwrap_err().unwrap();
        assert!(misfit.starts_with("activity.log"), "{misfit}");
    }

    #[test]
    fn round_trips_through_name_and_args() {
        let m = Mutation::ActivityLog(ActivityLog {
            id: Uuid::now_v7(),
            consultation_id: Uuid::now_v7(),
            kind: "call".into(),
            outcome: Some("no_answer".into()),
            at: Utc::now(),
            note: String::new(),
        });
        assert_eq!(Mutation::from_parts(m.name(), &m.args()).unwrap(), m);
        for name in NAMES {
            assert!(Mutation::from_parts(name, &json!({})).unwrap_err().is_some(), "{name} is known");
        }
    }

    #[test]
    fn outcome_state_machine() {
        let won = Outcome::Won { option_id: None, amount_cents: Cents(100) };
        let lost = Outcome::Lost { reason: "price".into(), competitor: None, note: None };
        assert_eq!(Status::Open.apply(&won).unwrap(), Status::Won);
        assert_eq!(Status::Open.apply(&lost).unwrap(), Status::Lost);
        assert_eq!(Status::Won.apply(&Outcome::Reopened).unwrap(), Status::Open);
        assert!(Status::Won.apply(&lost).is_err());
        assert!(Status::Lost.apply(&won).is_err());
        assert!(Status::Open.apply(&Outcome::Reopened).is_err());
    }

    #[test]
    fn lost_needs_a_known_reason() {
        let m = SetOutcome {
            id: Uuid::now_v7(),
            outcome: Outcome::Lost { reason: "".into(), competitor: None, note: None },
            at: Utc::now(),
        };
        assert_eq!(m.validate().unwrap_err().field, "reason");
    }

    #[test]
    fn a_consultation_update_in_wire_form_is_what_the_mutation_queues() {
        let mut fields = Map::new();
        fields.insert("problem".into(), json!("no heat"));
        let update = FieldUpdate { id: Uuid::now_v7(), base_version: 3, fields };
        let m = Mutation::ConsultationUpdate(update.clone());
        assert_eq!(update.consultation_wire().unwrap(), (m.name(), m.args()));
        let mut fields = Map::new();
        fields.insert("status".into(), json!("won"));
        let refused = FieldUpdate { id: Uuid::now_v7(), base_version: 3, fields };
        assert_eq!(
            refused.consultation_wire().unwrap_err(),
            Mutation::ConsultationUpdate(refused).validate().unwrap_err()
        );
    }

    #[test]
    fn field_updates_only_touch_known_fields_with_valid_values() {
        let upd = |fields: Value| FieldUpdate {
            id: Uuid::now_v7(),
            base_version: 0,
            fields: fields.as_object().unwrap().clone(),
        };
        assert!(upd(json!({ "problem": "no heat" })).validate(CONSULTATION_FIELDS).is_ok());
        assert!(upd(json!({ "status": "won" })).validate(CONSULTATION_FIELDS).is_err());
        assert!(upd(json!({ "held_at": "yesterday" })).validate(CONSULTATION_FIELDS).is_err());
        assert!(upd(json!({ "phone": "12" })).validate(CUSTOMER_FIELDS).is_err());
        assert!(upd(json!({})).validate(CUSTOMER_FIELDS).is_err());
    }
}
