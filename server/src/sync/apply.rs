//! How each named mutation changes Postgres. Runs inside the push transaction (in its careful
//! attempt, under a savepoint per mutation); every statement is scoped by company and by the
//! actor's visibility. What a push defers until its end is in `deferred`.

use super::{
    batch::{BatchedActivity, BatchedFollowup, BatchedOption, BatchedTimeEntry, Row},
    booking,
    deferred::Deferred,
    fields::{self, Patch},
    leads,
    scope::{self, consultation_for_write},
    Actor, ApplyError,
};
use app::{
    domain::{pricing::PlanTerms, Cents, EmailAddress, PersonName, PhoneNumber, Role},
    sync::mutation::*,
};
use chrono::{DateTime, Utc};
use sqlx::PgConnection;
use uuid::Uuid;

/// Applies one mutation, validated by `push::check_shape`, at company version `version`; its
/// stage events (and, in the optimistic attempt, its activities) go to `deferred`, written later
/// in one statement.
pub async fn apply(
    db: &mut PgConnection,
    deferred: &mut Deferred,
    actor: &Actor,
    mutation_id: u64,
    mutation: &Mutation,
    client_ts: DateTime<Utc>,
    version: i64,
) -> Result<(), ApplyError> {
    // The consultation the previous mutations read (and locked) stays known across every
    // mutation that cannot change what was read of it; those that change it keep it up to date
    // themselves (`consultation_create`, `consultation_update`, `set_outcome`). A delete
    // forgets it.
    if matches!(mutation, Mutation::Delete(_)) {
        deferred.consultation = None;
    }
    if !keeps_held_rows(mutation) {
        // What is batched is written first: what follows may read or change it.
        deferred.write_rows(db, actor, version).await?;
    }
    match mutation {
        Mutation::CustomerCreate(m) => customer_create(db, actor, m, version).await,
        Mutation::CustomerUpdate(m) => {
            let m = normalised(m)?;
            fields::update(db, actor, &fields::CUSTOMERS, &Patch::new(mutation_id, &m), version).await?;
            Ok(())
        }
        Mutation::LeadCreate(m) => lead_create(db, deferred, actor, m, version).await,
        Mutation::ConsultationCreate(m) => consultation_create(db, deferred, actor, m, version).await,
        Mutation::ConsultationUpdate(m) => {
            consultation_update(db, deferred, actor, &Patch::new(mutation_id, m), version).await
        }
        Mutation::SetOutcome(m) => set_outcome(db, deferred, actor, m, version).await,
        Mutation::OptionUpsert(m) => option_upsert(db, deferred, actor, m, client_ts, version).await,
        Mutation::ActivityLog(m) => activity_log(db, deferred, actor, m, version).await,
        Mutation::FollowupSchedule(m) => followup_schedule(db, deferred, actor, m, version).await,
        Mutation::FollowupComplete(m) => followup_complete(db, actor, m, version).await,
        Mutation::FollowupReassign(m) => followup_reassign(db, actor, m, version).await,
        Mutation::TimeEntryLog(m) => time_entry_log(db, deferred, actor, m, version).await,
        Mutation::AttachmentAdd(m) => attachment_add(db, deferred, actor, m, version).await,
        Mutation::Delete(m) => delete(db, actor, m, version).await,
        Mutation::LeadContact(m) => leads::contact(db, deferred, actor, m, version).await,
        Mutation::LeadQualify(m) => leads::qualify(db, deferred, actor, m, version).await,
        Mutation::Reschedule(m) => booking::reschedule(db, deferred, actor, m, version).await,
        Mutation::Cancel(m) => booking::cancel(db, deferred, actor, m, version).await,
    }
}

/// Whether `mutation` neither reads nor changes the rows a push batches (`batch`): activities,
/// options, follow-ups and time entries. A change of sales rep re-scopes a consultation's
/// children in SQL, so they must be stored first; deciding a quote closes its follow-ups, which
/// `set_outcome` does to the batched ones too.
fn keeps_held_rows(mutation: &Mutation) -> bool {
    match mutation {
        Mutation::CustomerCreate(_)
        | Mutation::CustomerUpdate(_)
        | Mutation::LeadCreate(_)
        | Mutation::ConsultationCreate(_)
        | Mutation::OptionUpsert(_)
        | Mutation::ActivityLog(_)
        | Mutation::FollowupSchedule(_)
        | Mutation::TimeEntryLog(_)
        | Mutation::AttachmentAdd(_)
        | Mutation::LeadContact(_)
        | Mutation::LeadQualify(_)
        | Mutation::Reschedule(_)
        | Mutation::Cancel(_)
        | Mutation::SetOutcome(_) => true,
        Mutation::ConsultationUpdate(m) => !m.fields.contains_key("sales_rep_id"),
        Mutation::FollowupComplete(_) | Mutation::FollowupReassign(_) | Mutation::Delete(_) => false,
    }
}

/// The consultation, read and locked by [`consultation_for_write`], or as the previous mutation
/// of a run read it (see `apply`). Hand it back with [`Deferred::consultation`] when done.
async fn consultation_ref(
    db: &mut PgConnection,
    deferred: &mut Deferred,
    actor: &Actor,
    id: Uuid,
) -> Result<scope::ConsultationRef, ApplyError> {
    match deferred.consultation.take() {
        // The same sight check as the SQL's: a change of sales rep earlier in this push may
        // have taken the actor's sight of it away.
        Some((k, c)) if k == id && (actor.sees_all() || c.scope_users.contains(&actor.user_id)) => Ok(c),
        Some((k, _)) if k == id => {
            Err(ApplyError::rejected("the consultation does not exist or is not yours"))
        }
        _ => consultation_for_write(db, actor, id).await,
    }
}

/// How many of `mutations`, from the first, are updates of one row's fields that `push`'s
/// optimistic attempt may write as one (`apply_update_run`): all of one kind and row, none
/// changing the sales rep (that re-scopes the row's family, `consultation_update`), and at most
/// one `held_at` (its stage event is dated by the first). 0 when the first is no such update.
pub fn update_run(mutations: &[&Mutation]) -> usize {
    fn key(m: &Mutation) -> Option<(&'static str, &FieldUpdate)> {
        match m {
            Mutation::CustomerUpdate(u) => Some(("customer", u)),
            Mutation::ConsultationUpdate(u) if !u.fields.contains_key("sales_rep_id") => {
                Some(("consultation", u))
            }
            _ => None,
        }
    }
    let Some((kind, first)) = mutations.first().and_then(|m| key(m)) else { return 0 };
    let mut held_at = false;
    mutations
        .iter()
        .map_while(|m| key(m).filter(|(k, u)| *k == kind && u.id == first.id))
        .take_while(|(_, u)| {
            let has = u.fields.contains_key("held_at");
            let fits = !(has && held_at);
            held_at |= has;
            fits
        })
        .count()
}

/// Applies a run of field updates of one row (`update_run`), each validated by
/// `push::check_shape`, as one write; a rejection rejects the run (the careful attempt then
/// applies them one by one).
pub async fn apply_update_run(
    db: &mut PgConnection,
    deferred: &mut Deferred,
    actor: &Actor,
    run: &[(u64, &Mutation)],
    version: i64,
) -> Result<(), ApplyError> {
    let mut patch: Option<Patch> = None;
    let mut customer = false;
    for (mutation_id, mutation) in run {
        let update = match mutation {
            Mutation::CustomerUpdate(m) => {
                customer = true;
                normalised(m)?
            }
            Mutation::ConsultationUpdate(m) => m.clone(),
            _ => return Err(ApplyError::rejected("not a field update")),
        };
        match &mut patch {
            None => patch = Some(Patch::new(*mutation_id, &update)),
            Some(p) => p.absorb(*mutation_id, &update),
        }
    }
    let Some(patch) = patch else { return Ok(()) };
    if customer {
        fields::update(db, actor, &fields::CUSTOMERS, &patch, version).await?;
        Ok(())
    } else {
        consultation_update(db, deferred, actor, &patch, version).await
    }
}

fn normalised(m: &FieldUpdate) -> Result<FieldUpdate, ApplyError> {
    let mut m = m.clone();
    normalise_contact_fields(&mut m.fields)?;
    Ok(m)
}

fn normalise_contact_fields(
    fields: &mut serde_json::Map<String, serde_json::Value>,
) -> Result<(), ApplyError> {
    use serde_json::Value;
    if let Some(Value::String(p)) = fields.get("phone") {
        let p = PhoneNumber::parse(p)?;
        fields.insert("phone".into(), Value::String(p.into()));
    }
    if let Some(Value::String(e)) = fields.get("email") {
        let e = EmailAddress::parse(e)?;
        fields.insert("email".into(), Value::String(e.into()));
    }
    if let Some(Value::String(n)) = fields.get("name") {
        let n = PersonName::parse(n)?;
        fields.insert("name".into(), Value::String(n.into()));
    }
    Ok(())
}

/// Refuses a create whose id is taken (by anyone, deleted or not): ids are made on devices and a
/// reused one is a bug or a replay from another profile, never a reason to overwrite. Creates
/// insert with `on conflict do nothing`, so the check costs no statement of its own.
fn inserted(rows: u64, id: Uuid) -> Result<(), ApplyError> {
    if rows == 0 {
        return Err(ApplyError::id_taken(id));
    }
    Ok(())
}

async fn customer_create(
    db: &mut PgConnection,
    actor: &Actor,
    m: &CustomerCreate,
    version: i64,
) -> Result<(), ApplyError> {
    let name = PersonName::parse(&m.name)?;
    let phone = m.phone.as_deref().filter(|p| !p.trim().is_empty()).map(PhoneNumber::parse).transpose()?;
    let email = m.email.as_deref().filter(|e| !e.trim().is_empty()).map(EmailAddress::parse).transpose()?;
    let rows = sqlx::query!(
        "insert into customers (company_id, id, name, phone, email, address, version, scope_users, field_versions,
            created_by, updated_by)
         values ($1, $2, $3, $4, $5, $6, $7, array[$8::uuid], $9, $8, $8) on conflict (company_id, id) do nothing",
        actor.company_id,
        m.id,
        name.as_str(),
        phone.as_ref().map(|p| p.as_str()),
        email.as_ref().map(|e| e.as_str()),
        m.address.as_deref().map(str::trim).filter(|a| !a.is_empty()),
        version,
        actor.user_id,
        fields::created(actor)
    )
    .execute(&mut *db)
    .await?
    .rows_affected();
    inserted(rows, m.id)?;
    Ok(())
}

/// A record's scope and tombstone, if the actor may see it at all.
async fn lookup(
    db: &mut PgConnection,
    actor: &Actor,
    table: &str,
    id: Uuid,
) -> Result<Option<(Vec<Uuid>, bool)>, ApplyError> {
    // Dynamic (like every `format!` statement in this file): the table is the entity's, and a
    // statement cannot take a table name as a parameter. The integration tests run each one.
    Ok(sqlx::query_as(&format!(
        "select scope_users, deleted from {table} where company_id = $1 and id = $2 and ($3 or $4 = any(scope_users))"
    ))
    .bind(actor.company_id)
    .bind(id)
    .bind(actor.sees_all())
    .bind(actor.user_id)
    .fetch_optional(&mut *db)
    .await?)
}

/// The scope of a live record the actor may see; rejects deleted and unseen ones.
async fn visible(
    db: &mut PgConnection,
    actor: &Actor,
    table: &str,
    id: Uuid,
) -> Result<Vec<Uuid>, ApplyError> {
    match lookup(db, actor, table, id).await? {
        Some((_, true)) => Err(ApplyError::rejected(format!("the {} was deleted", singular(table)))),
        Some((scope, false)) => Ok(scope),
        None => Err(ApplyError::rejected(format!("the {} does not exist or is not yours", singular(table)))),
    }
}

fn singular(table: &str) -> &str {
    table.strip_suffix('s').unwrap_or(table)
}

async fn lead_create(
    db: &mut PgConnection,
    deferred: &mut Deferred,
    actor: &Actor,
    m: &LeadCreate,
    version: i64,
) -> Result<(), ApplyError> {
    // One statement: inserted only under a live customer the actor sees, with its scope; when
    // nothing was written, the reason is looked up.
    let scope: Option<Vec<Uuid>> = sqlx::query_scalar!(
        "insert into leads (company_id, id, customer_id, source, service_type, lead_created_at, first_contact_at,
            external_id, version, scope_users, field_versions, created_by, updated_by, notes, campaign, utm,
            last_contact_at)
         select $1, $2, $3, $4, $5, $6, $11, $12, $7, c.scope_users, $8, $9, $9, $13, $14, $15, $11
         from customers c where c.company_id = $1 and c.id = $3 and not c.deleted and ($10 or $9 = any(c.scope_users))
         on conflict (company_id, id) do nothing
         returning scope_users",
        actor.company_id,
        m.id,
        m.customer_id,
        &m.source,
        &m.service_type,
        m.created_at,
        version,
        fields::created(actor),
        actor.user_id,
        actor.sees_all(),
        m.first_contact_at,
        m.external_id.as_deref(),
        m.notes.trim(),
        m.campaign.as_deref().map(str::trim).filter(|c| !c.is_empty()),
        serde_json::Value::Object(m.utm.clone())
    )
    .fetch_optional(&mut *db)
    .await
    .map_err(|e| match &e {
        sqlx::Error::Database(d) if d.constraint() == Some("leads_external_id_key") => ApplyError::rejected(format!(
            "external_id {:?}: this company already has a lead with that id",
            m.external_id.as_deref().unwrap_or_default()
        )),
        _ => e.into(),
    })?;
    let Some(scope) = scope else {
        visible(db, actor, "customers", m.customer_id).await?;
        return Err(ApplyError::id_taken(m.id));
    };
    let details = serde_json::json!({ "source": m.source, "service_type": m.service_type });
    deferred.stage_event(actor.user_id, m.id, None, "lead_created", m.created_at, details, &scope);
    if let Some(at) = m.first_contact_at {
        // Answered as it came in: the speed-to-lead clock stops here, as a logged contact would.
        let details = serde_json::json!({ "kind": "on_creation" });
        deferred.stage_event(actor.user_id, m.id, None, "first_contact", at, details, &scope);
    }
    Ok(())
}

async fn is_member(
    db: &mut PgConnection,
    actor: &Actor,
    user: Uuid,
    roles: &[Role],
) -> Result<bool, ApplyError> {
    Ok(sqlx::query_scalar!(
        r#"select exists(select 1 from users where company_id = $1 and id = $2 and active and role = any($3)) as "member!""#,
        actor.company_id,
        user,
        roles as &[Role]
    )
    .fetch_one(&mut *db)
    .await?)
}

async fn consultation_create(
    db: &mut PgConnection,
    deferred: &mut Deferred,
    actor: &Actor,
    m: &ConsultationCreate,
    version: i64,
) -> Result<(), ApplyError> {
    let technician = m.technician_id.unwrap_or(actor.user_id);
    if technician != actor.user_id && !actor.sees_all() {
        return Err(ApplyError::rejected("only a manager or the office can book a visit for someone else"));
    }
    // The actor's own session proved them active, with their role, at this request.
    let acting_technician =
        technician == actor.user_id && matches!(actor.role, Role::Technician | Role::Manager);
    if !acting_technician && !is_member(db, actor, technician, &[Role::Technician, Role::Manager]).await? {
        return Err(ApplyError::rejected("the technician is not an active technician of this company"));
    }
    if let (Some(start), Some(minutes)) = (m.scheduled_at, m.window_minutes) {
        let window = booking::Window { technician, start, minutes };
        booking::check_clash(db, actor, m.id, &window).await?;
    }
    let users = scope::consultation_users(technician, None, actor.user_id);
    // One statement: the insert, under a live lead the actor sees, and (only if it inserted)
    // the lead's and customer's scope widened to the consultation's people (`scope::spread_up`,
    // whose in-memory twin follows). It has no records of its own yet, so nothing else moves.
    let widen = scope::widen_lead_ctes(scope::WidenLead {
        lead: "$3",
        customer: "(select customer_id from ins)",
        users: "$8::uuid[]",
        version: "$7",
        when: "exists (select 1 from ins)",
    });
    // Dynamic: the lead-widening CTEs are shared text (`scope::widen_lead_ctes`).
    let created: Option<(Uuid, bool, bool)> = sqlx::query_as(&format!(
        "with lead as (
           select customer_id, first_contact_at is not null as contacted from leads
           where company_id = $1 and id = $3 and not deleted and ($11 or $10 = any(scope_users))),
         ins as (
           insert into consultations (company_id, id, lead_id, customer_id, technician_id, scheduled_at, problem,
             version, scope_users, field_versions, created_by, updated_by, window_minutes)
           select $1, $2, $3, lead.customer_id, $4, $5, $6, $7, $8, $9, $10, $10, $12 from lead
           on conflict (company_id, id) do nothing
           returning customer_id),
         {widen}
         select customer_id, contacted, exists (select 1 from ins) from lead"
    ))
    .bind(actor.company_id)
    .bind(m.id)
    .bind(m.lead_id)
    .bind(technician)
    .bind(m.scheduled_at)
    .bind(&m.problem)
    .bind(version)
    .bind(&users)
    .bind(fields::created(actor))
    .bind(actor.user_id)
    .bind(actor.sees_all())
    .bind(m.window_minutes.map(i32::from))
    .fetch_optional(&mut *db)
    .await?;
    let (customer_id, lead_contacted) = match created {
        Some((customer, contacted, true)) => (customer, contacted),
        Some((_, _, false)) => return Err(ApplyError::id_taken(m.id)),
        None => {
            // Say why: deleted, or not there for this person.
            visible(db, actor, "leads", m.lead_id).await?;
            return Err(ApplyError::rejected("the lead does not exist or is not yours"));
        }
    };
    deferred.widen_lead_scope(m.lead_id, &users);
    if let Some(at) = m.scheduled_at {
        let details = serde_json::json!({});
        deferred.stage_event(
            actor.user_id,
            m.lead_id,
            Some(m.id),
            "consultation_scheduled",
            at,
            details,
            &users,
        );
    }
    // What the statement wrote (and locked), for the mutations that follow on it.
    deferred.consultation = Some((
        m.id,
        scope::ConsultationRef {
            lead_id: m.lead_id,
            customer_id,
            scope_users: users,
            status: "open".into(),
            technician_id: technician,
            sales_rep_id: None,
            created_by: actor.user_id,
            held_at: None,
            deleted: false,
            lead_contacted,
            presented: Some(false),
        },
    ));
    Ok(())
}

async fn consultation_update(
    db: &mut PgConnection,
    deferred: &mut Deferred,
    actor: &Actor,
    m: &Patch,
    version: i64,
) -> Result<(), ApplyError> {
    if let Some(template) = m.values.get("checklist_template_id").and_then(|v| v.as_str()) {
        let known = sqlx::query_scalar!(
            r#"select exists(select 1 from checklist_templates where company_id = $1 and id = $2::text::uuid
                             and not deleted) as "known!""#,
            actor.company_id,
            template
        )
        .fetch_one(&mut *db)
        .await?;
        if !known {
            return Err(ApplyError::rejected("checklist_template_id: not a checklist of this company"));
        }
    }
    if !m.values.contains_key("sales_rep_id") && !m.values.contains_key("held_at") {
        // Plain fields: `fields::update` checks sight, deletion and locks the row the same way.
        fields::update(db, actor, &fields::CONSULTATIONS, m, version).await?;
        return Ok(());
    }
    let mut c = consultation_ref(db, deferred, actor, m.id).await?;
    let before = c.clone();
    let new_rep = match m.values.get("sales_rep_id") {
        None => None,
        Some(serde_json::Value::Null) => Some(None),
        Some(v) => {
            let rep: Uuid = serde_json::from_value(v.clone())
                .map_err(|_| ApplyError::rejected("sales_rep_id: must be a person's id"))?;
            if !is_member(db, actor, rep, &[Role::SalesRep, Role::Manager]).await? {
                return Err(ApplyError::rejected("sales_rep_id: not an active sales rep of this company"));
            }
            Some(Some(rep))
        }
    };
    fields::update(db, actor, &fields::CONSULTATIONS, m, version).await?;

    let mut scope_users = before.scope_users.clone();
    if let Some(rep) = new_rep.filter(|rep| *rep != before.sales_rep_id) {
        let users = scope::consultation_users(before.technician_id, rep, before.created_by);
        sqlx::query!(
            "update consultations set scope_users = $3 where company_id = $1 and id = $2",
            actor.company_id,
            m.id,
            &users
        )
        .execute(&mut *db)
        .await?;
        scope::spread(db, deferred, actor, m.id, before.lead_id, before.customer_id, &users, version).await?;
        let lost_sight: Vec<Uuid> =
            before.scope_users.iter().copied().filter(|u| !users.contains(u)).collect();
        scope::shrink(db, actor, &lost_sight).await?;
        scope_users = users;
        c.scope_users = scope_users.clone();
        c.sales_rep_id = rep;
    }
    let held_at = m.values.get("held_at").map(|v| v.as_str().and_then(|s| s.parse::<DateTime<Utc>>().ok()));
    if let Some(held_at) = held_at {
        c.held_at = held_at;
    }
    deferred.consultation = Some((m.id, c));

    if before.held_at.is_none() {
        if let Some(held) = held_at.flatten() {
            let details = serde_json::json!({});
            deferred.stage_event(
                actor.user_id,
                before.lead_id,
                Some(m.id),
                "consultation_held",
                held,
                details,
                &scope_users,
            );
        }
    }
    Ok(())
}

/// Part of the statement that decides a quote: its open follow-ups are done as it is decided
/// (nobody should be reminded to chase it any more). Uses the statement's $1 company, $2
/// consultation, $6 decision time, $7 version and $8 person.
const CLOSE_FOLLOWUPS: &str = "closed as (
    update followups set done_at = $6, version = $7, updated_by = $8, updated_at = now(), revision = revision + 1
    where company_id = $1 and consultation_id = $2 and done_at is null and not deleted)";

async fn set_outcome(
    db: &mut PgConnection,
    deferred: &mut Deferred,
    actor: &Actor,
    m: &SetOutcome,
    version: i64,
) -> Result<(), ApplyError> {
    if let Outcome::Won { option_id: Some(option), .. } = &m.outcome {
        // The option is read and marked below: it must be stored.
        if deferred.has_option(*option) {
            deferred.write_rows(db, actor, version).await?;
        }
    }
    let mut c = consultation_ref(db, deferred, actor, m.id).await?;
    let status = Status::parse(&c.status)
        .ok_or_else(|| ApplyError::rejected("the consultation has an unknown status"))?;
    let next = status.apply(&m.outcome)?;
    let (kind, details) = match &m.outcome {
        Outcome::Won { option_id, amount_cents } => {
            if let Some(option) = option_id {
                let belongs: bool = sqlx::query_scalar!(
                    r#"select exists(select 1 from options where company_id = $1 and id = $2 and consultation_id = $3 and not deleted) as "belongs!""#,
                    actor.company_id,
                    option,
                    m.id
                )
                .fetch_one(&mut *db)
                .await?;
                if !belongs {
                    return Err(ApplyError::rejected("the chosen option is not one of this consultation's"));
                }
            }
            // Dynamic: shares the follow-up-closing CTE text (`CLOSE_FOLLOWUPS`) with the loss below.
            sqlx::query(&format!(
                "with {CLOSE_FOLLOWUPS}
                 update consultations set status = 'won', sold_option_id = $3, sold_amount_cents = $4, sold_by = $5,
                   decided_at = $6, lost_reason = null, competitor = null, outcome_note = null,
                   version = $7, updated_by = $5, updated_at = now(), revision = revision + 1
                 where company_id = $1 and id = $2"
            ))
            .bind(actor.company_id)
            .bind(m.id)
            .bind(option_id)
            .bind(amount_cents.0)
            .bind(actor.user_id)
            .bind(m.at)
            .bind(version)
            .bind(actor.user_id) // $8, for CLOSE_FOLLOWUPS
            .execute(&mut *db)
            .await?;
            if let Some(option) = option_id {
                sqlx::query!(
                    "update options set version = $4, updated_at = now(), presented = true, revision = revision + 1
                     where company_id = $1 and consultation_id = $2 and id = $3",
                    actor.company_id,
                    m.id,
                    option,
                    version
                )
                .execute(&mut *db)
                .await?;
            }
            (
                "won",
                serde_json::json!({ "option_id": option_id, "amount_cents": amount_cents.0, "sold_by": actor.user_id }),
            )
        }
        Outcome::Lost { reason, competitor, note } => {
            // Dynamic: shares `CLOSE_FOLLOWUPS` with the sale above.
            sqlx::query(&format!(
                "with {CLOSE_FOLLOWUPS}
                 update consultations set status = 'lost', lost_reason = $3, competitor = $4, outcome_note = $5,
                   decided_at = $6, sold_option_id = null, sold_amount_cents = null, sold_by = null,
                   version = $7, updated_by = $8, updated_at = now(), revision = revision + 1
                 where company_id = $1 and id = $2"
            ))
            .bind(actor.company_id)
            .bind(m.id)
            .bind(reason)
            .bind(competitor)
            .bind(note)
            .bind(m.at)
            .bind(version)
            .bind(actor.user_id)
            .execute(&mut *db)
            .await?;
            ("lost", serde_json::json!({ "reason": reason, "competitor": competitor }))
        }
        Outcome::Reopened => {
            sqlx::query!(
                "update consultations set status = 'open', decided_at = null, version = $3, updated_by = $4, updated_at = now(),
                   revision = revision + 1
                 where company_id = $1 and id = $2",
                actor.company_id,
                m.id,
                version,
                actor.user_id
            )
            .execute(&mut *db)
            .await?;
            // A quote decided long ago may have left devices' history window (`sync::window`):
            // its family is stamped again, so devices that see it pull its options, activities,
            // events and lead along with it.
            scope::restamp(db, actor, m.id, c.lead_id, version).await?;
            ("reopened", serde_json::json!({ "from": status.as_str() }))
        }
    };
    if kind != "reopened" {
        deferred.close_batched_followups(m.id, m.at);
    }
    debug_assert_eq!(next.as_str(), if kind == "reopened" { "open" } else { kind });
    deferred.stage_event(actor.user_id, c.lead_id, Some(m.id), kind, m.at, details, &c.scope_users);
    c.status = next.as_str().to_string();
    deferred.consultation = Some((m.id, c));
    Ok(())
}

async fn option_upsert(
    db: &mut PgConnection,
    deferred: &mut Deferred,
    actor: &Actor,
    m: &OptionUpsert,
    client_ts: DateTime<Utc>,
    version: i64,
) -> Result<(), ApplyError> {
    let mut c = consultation_ref(db, deferred, actor, m.consultation_id).await?;
    check_discounts(db, actor, &m.line_items).await?;
    check_financing(db, actor, m).await?;
    let line_items = serde_json::to_value(&m.line_items).map_err(|e| ApplyError::rejected(e.to_string()))?;
    let option = BatchedOption {
        id: m.id,
        consultation_id: m.consultation_id,
        tier: m.tier.clone(),
        position: m.position as i16,
        line_items,
        price_cents: m.price_cents.0,
        financing_plan: m.financing_plan.clone(),
        monthly_payment_cents: m.monthly_payment_cents.map(|c| c.0),
        presented: m.presented,
        scope_users: c.scope_users.clone(),
    };
    // A new option is inserted; a known one of this consultation, not deleted, is updated;
    // anything else writes nothing, and the reason is looked up.
    if let Err(refused @ ApplyError::Rejected(_)) =
        deferred.keep(db, actor, version, Row::Option(option)).await
    {
        let parent: Option<Uuid> = sqlx::query_scalar!(
            "select consultation_id from options where company_id = $1 and id = $2",
            actor.company_id,
            m.id
        )
        .fetch_optional(&mut *db)
        .await?;
        return Err(match parent {
            Some(parent) if parent == m.consultation_id => ApplyError::rejected("the option was deleted"),
            Some(_) => ApplyError::rejected("the option belongs to another consultation"),
            // Another batched row was refused (the optimistic attempt writes them together).
            None => refused,
        });
    }
    if m.presented {
        let stored =
            match c.presented {
                Some(known) => known,
                None => sqlx::query_scalar!(
                    r#"select exists(select 1 from stage_events where company_id = $1 and consultation_id = $2
                     and kind = 'options_presented') as "presented!""#,
                    actor.company_id,
                    m.consultation_id
                )
                .fetch_one(&mut *db)
                .await?,
            };
        c.presented = Some(stored);
        if !stored && !deferred.has_event(m.consultation_id, "options_presented") {
            // Presented when the technician marked it so, by the device's clock.
            let (at, details) = (client_ts, serde_json::json!({}));
            let consultation = Some(m.consultation_id);
            deferred.stage_event(
                actor.user_id,
                c.lead_id,
                consultation,
                "options_presented",
                at,
                details,
                &c.scope_users,
            );
        }
    }
    deferred.consultation = Some((m.consultation_id, c));
    Ok(())
}

/// Each line's discount within what the manager allows for its price book item (a custom line,
/// typed by the technician, takes none). The limit read is today's: a limit lowered while the
/// device was offline rejects the option, which the technician sees with this reason.
async fn check_discounts(db: &mut PgConnection, actor: &Actor, items: &[LineItem]) -> Result<(), ApplyError> {
    let ids: Vec<Uuid> = items.iter().filter_map(|i| i.price_book_item_id).collect();
    let limits: Vec<(Uuid, i16)> = if ids.is_empty() {
        vec![]
    } else {
        sqlx::query!(
            "select id, max_discount_pct from price_book_items where company_id = $1 and id = any($2)",
            actor.company_id,
            &ids
        )
        .fetch_all(&mut *db)
        .await?
        .into_iter()
        .map(|r| (r.id, r.max_discount_pct))
        .collect()
    };
    for (n, item) in items.iter().enumerate() {
        let limit = match item.price_book_item_id {
            None => None,
            Some(id) => match limits.iter().find(|(i, _)| *i == id) {
                Some((_, pct)) => Some(u8::try_from(*pct).unwrap_or(0)),
                None => {
                    return Err(ApplyError::rejected(format!(
                        "line {}: \"{}\" is not in this company's price book",
                        n + 1,
                        item.description
                    )))
                }
            },
        };
        item.priced()
            .check(limit)
            .map_err(|e| ApplyError::rejected(format!("line {} ({}): {e}", n + 1, item.description)))?;
    }
    Ok(())
}

/// A financed option names one of the company's plans, meets its minimum amount, and carries
/// the monthly payment of the plan's terms as they are now (a plan changed while the device was
/// offline rejects the option with this reason, as a lowered discount limit does).
async fn check_financing(db: &mut PgConnection, actor: &Actor, m: &OptionUpsert) -> Result<(), ApplyError> {
    let Some(code) = m.financing_plan.as_deref() else { return Ok(()) };
    let plan = sqlx::query!(
        "select lender, apr_bps, months, min_amount_cents from financing_plans
         where company_id = $1 and code = $2 and not deleted",
        actor.company_id,
        code
    )
    .fetch_optional(&mut *db)
    .await?
    .ok_or_else(|| ApplyError::rejected(format!("financing_plan: {code} is not a plan of this company")))?;
    if m.price_cents.0 < plan.min_amount_cents {
        return Err(ApplyError::rejected(format!(
            "financing_plan: {} finances from {}; this option is {}",
            plan.lender,
            Cents(plan.min_amount_cents),
            m.price_cents
        )));
    }
    let terms = PlanTerms { apr_bps: plan.apr_bps.max(0) as u32, months: plan.months.max(1) as u32 };
    let expected = terms.monthly_payment(m.price_cents);
    if m.monthly_payment_cents != Some(expected) {
        return Err(ApplyError::rejected(format!(
            "monthly_payment_cents: must be {expected} for {} on {}",
            terms.describe(),
            m.price_cents
        )));
    }
    Ok(())
}

async fn activity_log(
    db: &mut PgConnection,
    deferred: &mut Deferred,
    actor: &Actor,
    m: &ActivityLog,
    version: i64,
) -> Result<(), ApplyError> {
    let mut c = consultation_ref(db, deferred, actor, m.consultation_id).await?;
    let activity = BatchedActivity {
        id: m.id,
        consultation_id: m.consultation_id,
        kind: m.kind.clone(),
        outcome: m.outcome.clone(),
        at: m.at,
        note: m.note.clone(),
        scope_users: c.scope_users.clone(),
    };
    deferred.keep(db, actor, version, Row::Activity(activity)).await?;
    if m.kind == "note" {
        deferred.consultation = Some((m.consultation_id, c));
        return Ok(());
    }
    // The first human contact of the lead starts nothing new but stops the speed-to-lead clock.
    // (Once it is known to have happened, the update below would find nothing: skip it.)
    let first = !c.lead_contacted
        && sqlx::query!(
            "update leads set first_contact_at = $3, version = $4, revision = revision + 1
         where company_id = $1 and id = $2 and first_contact_at is null",
            actor.company_id,
            c.lead_id,
            m.at,
            version
        )
        .execute(&mut *db)
        .await?
        .rows_affected()
            == 1;
    let consultation = Some(m.consultation_id);
    if first {
        let details = serde_json::json!({ "kind": m.kind });
        deferred.stage_event(
            actor.user_id,
            c.lead_id,
            consultation,
            "first_contact",
            m.at,
            details,
            &c.scope_users,
        );
        c.lead_contacted = true;
    } else if c.held_at.is_some() && c.status == "open" {
        let details = serde_json::json!({ "kind": m.kind, "outcome": m.outcome });
        deferred.stage_event(
            actor.user_id,
            c.lead_id,
            consultation,
            "follow_up",
            m.at,
            details,
            &c.scope_users,
        );
    }
    deferred.consultation = Some((m.consultation_id, c));
    Ok(())
}

async fn followup_schedule(
    db: &mut PgConnection,
    deferred: &mut Deferred,
    actor: &Actor,
    m: &FollowupSchedule,
    version: i64,
) -> Result<(), ApplyError> {
    let c = consultation_ref(db, deferred, actor, m.consultation_id).await?;
    let assignee = m.assignee_id.unwrap_or(actor.user_id);
    // The actor's own session proved them an active member at this request.
    if assignee != actor.user_id && !is_member(db, actor, assignee, &Role::ALL).await? {
        return Err(ApplyError::rejected("assignee_id: not an active member of this company"));
    }
    let mut scope = c.scope_users.clone();
    if !scope.contains(&assignee) {
        scope.push(assignee);
    }
    let followup = BatchedFollowup {
        id: m.id,
        consultation_id: m.consultation_id,
        due_at: m.due_at,
        assignee_id: assignee,
        note: m.note.clone(),
        scope_users: scope,
        done_at: None,
    };
    deferred.keep(db, actor, version, Row::Followup(followup)).await?;
    deferred.consultation = Some((m.consultation_id, c));
    Ok(())
}

async fn followup_complete(
    db: &mut PgConnection,
    actor: &Actor,
    m: &FollowupComplete,
    version: i64,
) -> Result<(), ApplyError> {
    visible(db, actor, "followups", m.id).await?;
    sqlx::query!(
        "update followups set done_at = coalesce(done_at, $3), version = $4, updated_by = $5, updated_at = now(),
           revision = revision + 1
         where company_id = $1 and id = $2",
        actor.company_id,
        m.id,
        m.at,
        version,
        actor.user_id
    )
    .execute(&mut *db)
    .await?;
    Ok(())
}

/// Only a manager, or the person the follow-up is assigned to, hands it on. The new assignee
/// sees the follow-up; seeing the quote itself comes with being its sales rep
/// (`consultation.update_fields` `sales_rep_id`), which the manager's screen sends alongside.
async fn followup_reassign(
    db: &mut PgConnection,
    actor: &Actor,
    m: &FollowupReassign,
    version: i64,
) -> Result<(), ApplyError> {
    visible(db, actor, "followups", m.id).await?;
    let current: Uuid = sqlx::query_scalar!(
        "select assignee_id from followups where company_id = $1 and id = $2 for update",
        actor.company_id,
        m.id
    )
    .fetch_one(&mut *db)
    .await?;
    if !actor.sees_all() && current != actor.user_id {
        return Err(ApplyError::rejected("only a manager or its assignee can hand a follow-up on"));
    }
    if !is_member(db, actor, m.assignee_id, &Role::ALL).await? {
        return Err(ApplyError::rejected("assignee_id: not an active member of this company"));
    }
    sqlx::query!(
        "update followups set assignee_id = $3,
           scope_users = case when $3 = any(scope_users) then scope_users else scope_users || $3 end,
           version = $4, updated_by = $5, updated_at = now(), revision = revision + 1
         where company_id = $1 and id = $2",
        actor.company_id,
        m.id,
        m.assignee_id,
        version,
        actor.user_id
    )
    .execute(&mut *db)
    .await?;
    Ok(())
}

/// A time entry may be corrected afterwards (its end, its category): an upsert by id, of one's
/// own entries only.
async fn time_entry_log(
    db: &mut PgConnection,
    deferred: &mut Deferred,
    actor: &Actor,
    m: &TimeEntryLog,
    version: i64,
) -> Result<(), ApplyError> {
    let entry = BatchedTimeEntry {
        id: m.id,
        category: m.category.clone(),
        started_at: m.started_at,
        ended_at: m.ended_at,
    };
    if let Err(refused @ ApplyError::Rejected(_)) =
        deferred.keep(db, actor, version, Row::TimeEntry(entry)).await
    {
        let owner = sqlx::query!(
            "select user_id, deleted from time_entries where company_id = $1 and id = $2",
            actor.company_id,
            m.id
        )
        .fetch_optional(&mut *db)
        .await?
        .map(|r| (r.user_id, r.deleted));
        return Err(match owner {
            Some((user, _)) if user != actor.user_id => {
                ApplyError::rejected("the time entry is someone else's")
            }
            Some((_, true)) => ApplyError::rejected("the time entry was deleted"),
            // Another batched row was refused (the optimistic attempt writes them together).
            _ => refused,
        });
    }
    Ok(())
}

async fn attachment_add(
    db: &mut PgConnection,
    deferred: &mut Deferred,
    actor: &Actor,
    m: &AttachmentAdd,
    version: i64,
) -> Result<(), ApplyError> {
    let c = consultation_ref(db, deferred, actor, m.consultation_id).await?;
    let rows = sqlx::query!(
        "insert into attachments (company_id, id, consultation_id, kind, sha256, content_type, byte_size, version,
           scope_users, field_versions, created_by, updated_by)
         values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $11) on conflict (company_id, id) do nothing",
        actor.company_id,
        m.id,
        m.consultation_id,
        &m.kind,
        &m.sha256,
        &m.content_type,
        m.byte_size as i64,
        version,
        &c.scope_users,
        fields::created(actor),
        actor.user_id
    )
    .execute(&mut *db)
    .await?
    .rows_affected();
    inserted(rows, m.id)?;
    deferred.consultation = Some((m.consultation_id, c));
    Ok(())
}

async fn delete(
    db: &mut PgConnection,
    actor: &Actor,
    m: &DeleteRecord,
    version: i64,
) -> Result<(), ApplyError> {
    use app::sync::protocol::Entity;
    let table = match m.entity {
        Entity::Customer => "customers",
        Entity::Consultation => "consultations",
        Entity::Option => "options",
        Entity::Followup => "followups",
        Entity::Attachment => "attachments",
        other => return Err(ApplyError::rejected(format!("a {} cannot be deleted", other.as_str()))),
    };
    // Deleting twice is fine (deletes win and are idempotent); deleting what one cannot see is not.
    if lookup(db, actor, table, m.id).await?.is_none() {
        return Err(ApplyError::rejected(format!("the {} does not exist or is not yours", singular(table))));
    }
    sqlx::query(&format!(
        "update {table} set deleted = true, version = $3, updated_by = $4, updated_at = now(), revision = revision + 1
         where company_id = $1 and id = $2 and not deleted"
    ))
    .bind(actor.company_id)
    .bind(m.id)
    .bind(version)
    .bind(actor.user_id)
    .execute(&mut *db)
    .await?;
    if m.entity == Entity::Consultation {
        // Dynamic below: one statement per child table.
        for child in ["options", "activities", "followups", "attachments"] {
            sqlx::query(&format!(
                "update {child} set deleted = true, version = $3 where company_id = $1 and consultation_id = $2 and not deleted"
            ))
            .bind(actor.company_id)
            .bind(m.id)
            .bind(version)
            .execute(&mut *db)
            .await?;
        }
    }
    Ok(())
}
