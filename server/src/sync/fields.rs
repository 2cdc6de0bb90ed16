//! Per-field last-writer-wins in server arrival order, with a conflict record for every
//! concurrent value that gets overwritten.
//!
//! Each row keeps a `revision`, bumped by every write under the row's lock, and
//! `field_versions = {"field": [revision, "client_id"]}` (and `"*"` for the values it was
//! created with). A patch based on revision `b` overwrites field `f` *concurrently* when
//! `f` was last written after `b` by another device; if the values differ, the old value goes to
//! `conflicts` before the new one is written.

use super::{Actor, ApplyError};
use app::sync::mutation::{FieldSpec, FieldUpdate, CONSULTATION_FIELDS, CUSTOMER_FIELDS};
use serde_json::{Map, Value};
use sqlx::PgConnection;
use uuid::Uuid;

/// One or more field updates of one row, from consecutive mutations of one push, written as one.
/// Applied one by one, only the first mutation of the push to write a field can overwrite a
/// concurrent edit of it: the later ones overwrite this device's own value. So each field keeps
/// its final value, and the first writer's id, base and value for the conflict record.
pub struct Patch {
    pub id: Uuid,
    pub values: Map<String, Value>,
    /// Per field, its first write in the run: the mutation, its base and the value it wrote.
    first: std::collections::HashMap<String, FirstWrite>,
}

struct FirstWrite {
    mutation_id: u64,
    base_version: i64,
    value: Value,
}

impl Patch {
    pub fn new(mutation_id: u64, update: &FieldUpdate) -> Self {
        let mut patch = Self { id: update.id, values: Map::new(), first: Default::default() };
        patch.absorb(mutation_id, update);
        patch
    }

    /// Adds a later update of the same row.
    pub fn absorb(&mut self, mutation_id: u64, update: &FieldUpdate) {
        debug_assert_eq!(update.id, self.id);
        for (field, value) in &update.fields {
            self.values.insert(field.clone(), value.clone());
            self.first.entry(field.clone()).or_insert_with(|| FirstWrite {
                mutation_id,
                base_version: update.base_version,
                value: value.clone(),
            });
        }
    }
}

/// A table whose fields devices may write one by one.
pub struct Writable {
    pub entity: &'static str,
    pub table: &'static str,
    pub spec: &'static [FieldSpec],
}

pub const CUSTOMERS: Writable = Writable { entity: "customer", table: "customers", spec: CUSTOMER_FIELDS };
pub const CONSULTATIONS: Writable =
    Writable { entity: "consultation", table: "consultations", spec: CONSULTATION_FIELDS };

/// Applies `update` to the table and returns the row's old values of the changed fields.
pub async fn update(
    db: &mut PgConnection,
    actor: &Actor,
    target: &Writable,
    update: &Patch,
    version: i64,
) -> Result<Map<String, Value>, ApplyError> {
    let Writable { entity, table, spec } = *target;
    // Column names come from `spec` (validated before), never from the request itself.
    let columns: Vec<&str> =
        spec.iter().map(|(n, _)| *n).filter(|n| update.values.contains_key(*n)).collect();
    let me = actor.client_id.to_string();
    let assignments = columns.iter().map(|c| format!("{c} = p.{c}")).collect::<Vec<_>>().join(", ");
    let old_values = columns.iter().map(|c| format!("'{c}', cur.{c}")).collect::<Vec<_>>().join(", ");
    // Last writer wins whatever the row held, so the write needs nothing read first: one
    // statement writes it and hands back what it overwrote (the subquery reads the row as it
    // was, and locks it), from which any conflict records follow.
    // Dynamic: the table and the assignments depend on which fields the mutation sets.
    let written: Option<(Value, Value, i64)> = sqlx::query_as(&format!(
        "update {table} t set {assignments},
           field_versions = t.field_versions
             || (select jsonb_object_agg(c, jsonb_build_array(t.revision + 1, $5::text)) from unnest($6::text[]) c),
           version = $7, updated_by = $8, updated_at = now(), revision = t.revision + 1
         from jsonb_populate_record(null::{table}, $9) p,
              (select jsonb_build_object({old_values}) as values, cur.field_versions, cur.revision
               from {table} cur where cur.company_id = $1 and cur.id = $2 for update) old
         where t.company_id = $1 and t.id = $2 and not t.deleted and ($3 or $4 = any(t.scope_users))
         returning old.values, old.field_versions, old.revision"
    ))
    .bind(actor.company_id)
    .bind(update.id)
    .bind(actor.sees_all())
    .bind(actor.user_id)
    .bind(&me)
    .bind(&columns)
    .bind(version)
    .bind(actor.user_id)
    .bind(Value::Object(update.values.clone()))
    .fetch_optional(&mut *db)
    .await?;
    let Some((old, field_versions, revision)) = written else {
        // Nothing written: say why.
        // Dynamic: the entity's table.
        let deleted: Option<bool> = sqlx::query_scalar(&format!(
            "select deleted from {table} where company_id = $1 and id = $2 and ($3 or $4 = any(scope_users))"
        ))
        .bind(actor.company_id)
        .bind(update.id)
        .bind(actor.sees_all())
        .bind(actor.user_id)
        .fetch_optional(&mut *db)
        .await?;
        return Err(ApplyError::rejected(match deleted {
            Some(true) => format!("the {entity} was deleted"),
            _ => format!("the {entity} does not exist or is not yours"),
        }));
    };
    // A base is a revision this device received, so never above the row's: anything else (a
    // company version sent by mistake, say) would silently skip the conflict records. Rejected,
    // the write is rolled back with its mutation.
    if let Some(first) = update.first.values().find(|f| f.base_version > revision) {
        return Err(ApplyError::rejected(format!(
            "base_version {} is not a revision of this {entity} (it is at revision {revision}); \
             send the revision the device last received (0 for one it created)",
            first.base_version
        )));
    }
    let old = old.as_object().cloned().unwrap_or_default();
    let fv = field_versions.as_object().cloned().unwrap_or_default();
    let created = fv.get("*");

    for col in &columns {
        let FirstWrite { mutation_id, base_version, value: new_value } = &update.first[*col];
        let old_value = old.get(*col).cloned().unwrap_or(Value::Null);
        let last = fv.get(*col).or(created);
        let (last_version, last_client) = match last.and_then(Value::as_array) {
            Some(a) => (a.first().and_then(Value::as_i64).unwrap_or(0), a.get(1).and_then(Value::as_str)),
            None => (0, None),
        };
        let concurrent = last_version > *base_version && last_client != Some(me.as_str());
        if concurrent && old_value != *new_value {
            sqlx::query!(
                "insert into conflicts (company_id, entity, row_id, field, overwritten_value, overwritten_version,
                   overwritten_client, new_value, client_id, mutation_id, user_id, version)
                 values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
                actor.company_id,
                entity,
                update.id,
                *col,
                &old_value,
                last_version,
                last_client.and_then(|c| c.parse::<uuid::Uuid>().ok()),
                new_value,
                actor.client_id,
                *mutation_id as i64,
                actor.user_id,
                version
            )
            .execute(&mut *db)
            .await?;
        }
    }
    Ok(old)
}

/// The `field_versions` a new row (revision 1) starts with: every field written by its creator.
pub fn created(actor: &Actor) -> Value {
    serde_json::json!({ "*": [1, actor.client_id.to_string()] })
}
