//! Building blocks for sync tests: a company with people and signed-in devices, and mutations
//! with fresh ids.

use crate::{device::Device, helpers::TestApp};
use app::{
    domain::{Cents, Role},
    sync::mutation::*,
};
use chrono::Utc;
use serde_json::{json, Value};
use uuid::Uuid;

pub struct Company {
    pub id: Uuid,
}

impl Company {
    pub async fn new(app: &TestApp, name: &str) -> Self {
        Self { id: app.create_company(name).await }
    }

    pub async fn device(&self, app: &TestApp, email: &str, role: Role) -> Device {
        let (client, user_id) = app.signed_in(self.id, email, role).await;
        Device::new(app, client, user_id).await
    }

    /// `devices` technicians' devices, each with `each` new customers in its outbox (not pushed),
    /// and the ids of all of them: the load of the concurrent-push tests.
    pub async fn technicians_with_customers(
        &self,
        app: &TestApp,
        devices: usize,
        each: usize,
    ) -> (Vec<Device>, std::collections::BTreeSet<Uuid>) {
        let mut writers = vec![];
        let mut ids = std::collections::BTreeSet::new();
        for i in 0..devices {
            let mut w = self.device(app, &format!("t{i}@acme.test"), Role::Technician).await;
            for n in 0..each {
                let (id, m) = customer(&format!("C{n}"));
                w.mutate(m).await;
                ids.insert(id);
            }
            writers.push(w);
        }
        (writers, ids)
    }
}

pub fn customer(name: &str) -> (Uuid, Mutation) {
    let id = Uuid::now_v7();
    (
        id,
        Mutation::CustomerCreate(CustomerCreate {
            id,
            name: name.into(),
            phone: Some("(512) 555-0143".into()),
            email: None,
            address: Some("12 Elm St".into()),
        }),
    )
}

pub fn lead(customer_id: Uuid) -> (Uuid, Mutation) {
    let id = Uuid::now_v7();
    (
        id,
        Mutation::LeadCreate(LeadCreate {
            id,
            customer_id,
            source: "website".into(),
            service_type: "hvac".into(),
            created_at: Utc::now(),
            first_contact_at: None,
            external_id: None,
            ..Default::default()
        }),
    )
}

pub fn consultation(lead_id: Uuid, technician_id: Option<Uuid>) -> (Uuid, Mutation) {
    let id = Uuid::now_v7();
    (
        id,
        Mutation::ConsultationCreate(ConsultationCreate {
            id,
            lead_id,
            technician_id,
            scheduled_at: Some(Utc::now()),
            problem: "No heat upstairs".into(),
            ..Default::default()
        }),
    )
}

/// Customer + lead + consultation queued on `device`; returns (customer, lead, consultation).
pub async fn new_consultation(device: &mut Device) -> (Uuid, Uuid, Uuid) {
    let (c, m) = customer("Ann Lee");
    device.mutate(m).await;
    let (l, m) = lead(c);
    device.mutate(m).await;
    let (k, m) = consultation(l, None);
    device.mutate(m).await;
    (c, l, k)
}

/// A new consultation (customer, lead, consultation) held now, in `device`'s outbox: its id.
pub async fn held_consultation(device: &mut Device) -> Uuid {
    let (_, _, k) = new_consultation(device).await;
    device.mutate(update(k, 0, serde_json::json!({ "held_at": chrono::Utc::now() }))).await;
    k
}

pub fn update(id: Uuid, base_version: i64, fields: Value) -> Mutation {
    Mutation::ConsultationUpdate(FieldUpdate {
        id,
        base_version,
        fields: fields.as_object().unwrap().clone(),
    })
}

pub fn activity(consultation_id: Uuid) -> (Uuid, Mutation) {
    let id = Uuid::now_v7();
    (
        id,
        Mutation::ActivityLog(ActivityLog {
            id,
            consultation_id,
            kind: "call".into(),
            outcome: Some("left_message".into()),
            at: Utc::now(),
            note: String::new(),
        }),
    )
}

pub fn won(id: Uuid, amount: i64) -> Mutation {
    Mutation::SetOutcome(SetOutcome {
        id,
        outcome: Outcome::Won { option_id: None, amount_cents: Cents(amount) },
        at: Utc::now(),
    })
}

pub fn delete(entity: app::sync::protocol::Entity, id: Uuid) -> Mutation {
    Mutation::Delete(DeleteRecord { entity, id })
}

pub fn assign_rep(id: Uuid, base_version: i64, rep: Uuid) -> Mutation {
    update(id, base_version, json!({ "sales_rep_id": rep }))
}

pub async fn count(app: &TestApp, sql: &str) -> i64 {
    sqlx::query_scalar(sql).fetch_one(&app.pool).await.unwrap()
}

/// One mutation as the server logged it: id, name, args (as stored) and status.
pub type Logged = (i64, String, Value, String);

/// Exactly once: every mutation a client made is in the server's log once, in order, with the
/// same name and arguments. Returns the log, for what the caller checks next.
pub async fn assert_logged_once(
    pool: &sqlx::PgPool,
    client_id: Uuid,
    made: &[app::sync::protocol::MutationEnvelope],
) -> Vec<Logged> {
    let log: Vec<Logged> = sqlx::query_as(
        "select mutation_id, name, args, status from mutation_log where client_id = $1 order by mutation_id",
    )
    .bind(client_id)
    .fetch_all(pool)
    .await
    .unwrap();
    assert_eq!(log.len(), made.len(), "{client_id}: every write reached the server once");
    for ((id, name, args, _), made) in log.iter().zip(made) {
        assert_eq!((*id as u64, name, args), (made.id, &made.name, &made.args), "{client_id}: log matches");
    }
    log
}
