//! The wire format of `/api/sync/push` and `/api/sync/pull` (see docs/sync.md).

use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// Bumped when the meaning of the wire format changes; a client on another version is told to
/// reload instead of being half-understood.
pub const SCHEMA_VERSION: u32 = 1;

/// The most mutations one push may carry, and the largest page a pull returns.
pub const MAX_PUSH_MUTATIONS: usize = 500;
pub const MAX_PULL_LIMIT: u32 = 1000;

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct PushRequest {
    pub client_id: Uuid,
    pub schema_version: u32,
    pub mutations: Vec<MutationEnvelope>,
}

/// One local write, as queued in the outbox: numbered 1, 2, 3... per client.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct MutationEnvelope {
    pub id: u64,
    pub name: String,
    pub args: serde_json::Value,
    /// When the person made the change, by the device's clock: for audit and stage-event times,
    /// never for ordering.
    pub client_ts: chrono::DateTime<chrono::Utc>,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub enum MutationStatus {
    Applied,
    Rejected,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct MutationResult {
    pub id: u64,
    pub status: MutationStatus,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct PushResponse {
    /// The highest mutation id of this client the server has processed (applied or rejected).
    pub last_mutation_id: u64,
    /// One result per mutation of this push that was processed now (replays and mutations
    /// after a gap are not listed).
    pub results: Vec<MutationResult>,
}

/// Where a client is in the company's change stream: everything at or below `version` has been
/// received, plus, within `version + 1`, every row up to `after` (a page boundary of a resumed
/// sync). `epoch` changes when what the person may see shrinks; a stale epoch means reset.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq, Default)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct Cookie {
    pub version: i64,
    pub epoch: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub after: Option<RowKey>,
    /// The [`KINDS_VERSION`] the rows so far were pulled under (1 in cookies made before it
    /// existed). A device that now reads more kinds of record than its cookie was made with pulls
    /// again from the start, once, so it receives the rows of the new kinds written before.
    #[serde(default = "first_kinds")]
    pub kinds_version: u32,
}

/// The kinds of record this build reads: 1 is the first twelve [`Entity`] kinds, 2 adds option
/// templates and financing plans. A pull sends a device only the kinds its version names, so a device still running
/// an older build is never sent a record it cannot parse (its whole pull would fail). Not
/// [`SCHEMA_VERSION`], which is the push format and must match exactly.
pub const KINDS_VERSION: u32 = 2;

fn first_kinds() -> u32 {
    1
}

/// A row's position in the pull order: (version, entity, id).
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct RowKey {
    pub version: i64,
    pub entity: Entity,
    pub id: Uuid,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct PullRequest {
    pub client_id: Uuid,
    pub cookie: Option<Cookie>,
    #[serde(default)]
    pub limit: Option<u32>,
    /// The lowest id still pending on the device: the response lists which of this client's
    /// mutations from there on were rejected, so a rejection whose push response was lost is
    /// still shown to the person instead of vanishing.
    #[serde(default)]
    pub pending_from: Option<u64>,
    /// The [`KINDS_VERSION`] of this device's build (1 when absent: a build from before it).
    #[serde(default = "first_kinds")]
    pub kinds_version: u32,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct PullResponse {
    pub cookie: Cookie,
    /// Read in the same snapshot as the patch: pending mutations up to here are in it.
    pub last_mutation_id: u64,
    pub patch: Vec<PatchOp>,
    /// More rows wait: pull again at once with the new cookie.
    pub has_more: bool,
    /// Throw local server-state away (pending mutations stay) and apply this patch from empty.
    pub reset: bool,
    /// This client's rejected mutations from `pending_from` up to `last_mutation_id`.
    #[serde(default)]
    pub rejected: Vec<MutationResult>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(tag = "op", rename_all = "snake_case")]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub enum PatchOp {
    Put { entity: Entity, id: Uuid, version: i64, data: serde_json::Value },
    Del { entity: Entity, id: Uuid, version: i64 },
}

/// A server row as a device keeps it: in IndexedDB (`sync::idb`), and in a page's first screen
/// (`device::first_screen`), whose reading in the first load this shares.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct StoredRow {
    pub entity: Entity,
    pub id: Uuid,
    pub version: i64,
    pub data: serde_json::Value,
}

impl PatchOp {
    pub fn key(&self) -> (Entity, Uuid) {
        match self {
            PatchOp::Put { entity, id, .. } | PatchOp::Del { entity, id, .. } => (*entity, *id),
        }
    }
}

/// Every kind of synced record. The order of the variants is the pull order within a version.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub enum Entity {
    Customer,
    Lead,
    Consultation,
    Option,
    Activity,
    Followup,
    StageEvent,
    TimeEntry,
    Attachment,
    PriceBookItem,
    ChecklistTemplate,
    TeamMember,
    OptionTemplate,
    FinancingPlan,
}

impl Entity {
    /// New kinds go at the end: a kind's position is its rank in cursors devices hold.
    pub const ALL: [Entity; 14] = [
        Entity::Customer,
        Entity::Lead,
        Entity::Consultation,
        Entity::Option,
        Entity::Activity,
        Entity::Followup,
        Entity::StageEvent,
        Entity::TimeEntry,
        Entity::Attachment,
        Entity::PriceBookItem,
        Entity::ChecklistTemplate,
        Entity::TeamMember,
        Entity::OptionTemplate,
        Entity::FinancingPlan,
    ];

    /// The first [`KINDS_VERSION`] that reads this kind.
    pub fn kinds_version(self) -> u32 {
        match self {
            Entity::OptionTemplate | Entity::FinancingPlan => 2,
            _ => 1,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Entity::Customer => "customer",
            Entity::Lead => "lead",
            Entity::Consultation => "consultation",
            Entity::Option => "option",
            Entity::Activity => "activity",
            Entity::Followup => "followup",
            Entity::StageEvent => "stage_event",
            Entity::TimeEntry => "time_entry",
            Entity::Attachment => "attachment",
            Entity::PriceBookItem => "price_book_item",
            Entity::ChecklistTemplate => "checklist_template",
            Entity::TeamMember => "team_member",
            Entity::OptionTemplate => "option_template",
            Entity::FinancingPlan => "financing_plan",
        }
    }

    pub fn parse(s: &str) -> Option<Entity> {
        Entity::ALL.into_iter().find(|e| e.as_str() == s)
    }

    /// The pull order of entities within one version (its position in [`Entity::ALL`]).
    pub fn rank(self) -> i16 {
        Entity::ALL.iter().position(|e| *e == self).unwrap_or(0) as i16
    }
}

/// `GET /api/sync/search?q=…`: older work beyond the device's history window, found on the
/// server, with everything it needs to open (its customer, lead, options, activities, follow-ups,
/// attachments and events) as rows at their current versions, for the device to keep.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct SearchResponse {
    /// The consultations found, newest first (at most [`MAX_SEARCH_HITS`]).
    pub found: Vec<Uuid>,
    pub patch: Vec<PatchOp>,
}

/// The most consultations one search returns.
pub const MAX_SEARCH_HITS: usize = 20;
