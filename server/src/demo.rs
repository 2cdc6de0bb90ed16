//! The demo company: "Demo Heating & Plumbing" with four technicians, two sales reps, an office
//! person and a manager, created through the same code path a manager uses to add people.
//!
//! Seeding is idempotent (run it on every start). Later issues add history to [`seed`] step by
//! step, each step also idempotent, so an old demo database grows into a new one.

use crate::{
    error::ApiError,
    users::{self, NewUser},
};
use app::domain::{EmailAddress, Password, PersonName, Role};
use sqlx::PgPool;
use uuid::Uuid;

pub const COMPANY_NAME: &str = "Demo Heating & Plumbing";
/// The demo is public; its password is printed on start. Never reuse it elsewhere.
pub const DEMO_PASSWORD: &str = "fieldclose-demo";

/// (email, name, role) of every demo person.
pub const PEOPLE: &[(&str, &str, Role)] = &[
    ("manager@demo.fieldclose.test", "Dana Whitfield", Role::Manager),
    ("tech1@demo.fieldclose.test", "Marcus Bell", Role::Technician),
    ("tech2@demo.fieldclose.test", "Priya Natarajan", Role::Technician),
    ("tech3@demo.fieldclose.test", "Luis Ortega", Role::Technician),
    ("tech4@demo.fieldclose.test", "Hannah Cole", Role::Technician),
    ("rep1@demo.fieldclose.test", "Jordan Reyes", Role::SalesRep),
    ("rep2@demo.fieldclose.test", "Tasha Greene", Role::SalesRep),
    ("office@demo.fieldclose.test", "Olivia Grant", Role::Office),
];

pub struct DemoCompany {
    pub company_id: Uuid,
    pub created: bool,
}

#[derive(Debug, thiserror::Error)]
#[error("seeding the demo company failed: {0}")]
pub struct SeedError(#[from] ApiError);

impl From<sqlx::Error> for SeedError {
    fn from(e: sqlx::Error) -> Self {
        SeedError(e.into())
    }
}

/// Days of history a fresh demo company gets.
pub const HISTORY_DAYS: i64 = 365;
/// New leads a week in the demo history.
pub const LEADS_PER_WEEK: u32 = 12;

/// Creates the demo company with a year of history unless it exists.
pub async fn seed(
    pool: &PgPool,
    clock: &std::sync::Arc<crate::sync::clock::VersionClock>,
) -> Result<DemoCompany, SeedError> {
    seed_with_history(pool, clock, HISTORY_DAYS).await
}

/// Creates the demo company and its people in one transaction (a half-made demo never remains),
/// then `days` of history through the sync code path.
pub async fn seed_with_history(
    pool: &PgPool,
    clock: &std::sync::Arc<crate::sync::clock::VersionClock>,
    days: i64,
) -> Result<DemoCompany, SeedError> {
    let manager_email = PEOPLE[0].0;
    let existing = sqlx::query_scalar!("select company_id from users where email = $1", manager_email)
        .fetch_optional(pool)
        .await?;
    if let Some(company_id) = existing {
        // An older demo database grows the parts later versions added.
        crate::catalog::seed_starter(pool, clock, company_id).await?;
        add_missing_people(pool, clock, company_id).await?;
        return Ok(DemoCompany { company_id, created: false });
    }

    let mut tx = pool.begin().await?;
    let company_id = Uuid::now_v7();
    let ticket = clock.begin(company_id, &mut tx).await?;
    sqlx::query!(
        "insert into companies (id, name, time_zone) values ($1, $2, 'America/Chicago')",
        company_id,
        COMPANY_NAME
    )
    .execute(&mut *tx)
    .await?;
    for (email, name, role) in PEOPLE {
        let person = NewUser {
            name: PersonName::parse(name).map_err(ApiError::from)?,
            email: EmailAddress::parse(email).map_err(ApiError::from)?,
            role: *role,
            password: Password::parse(DEMO_PASSWORD).map_err(ApiError::from)?,
        };
        users::insert(&mut *tx, company_id, None, person, ticket.version()).await?;
    }
    ticket.commit(tx).await?;
    crate::catalog::seed_starter(pool, clock, company_id).await?;
    let leads =
        crate::demo_history::generate(pool, clock, company_id, chrono::Utc::now(), days, LEADS_PER_WEEK)
            .await?;
    tracing::info!(leads, "demo history written");
    Ok(DemoCompany { company_id, created: true })
}

/// The demo people a later version added (the office person), in an older demo database.
async fn add_missing_people(
    pool: &PgPool,
    clock: &std::sync::Arc<crate::sync::clock::VersionClock>,
    company_id: Uuid,
) -> Result<(), SeedError> {
    for (email, name, role) in PEOPLE {
        let known =
            sqlx::query_scalar!(r#"select exists(select 1 from users where email = $1) as "known!""#, email)
                .fetch_one(pool)
                .await
                .map_err(ApiError::from)?;
        if known {
            continue;
        }
        let person = NewUser {
            name: PersonName::parse(name).map_err(ApiError::from)?,
            email: EmailAddress::parse(email).map_err(ApiError::from)?,
            role: *role,
            password: Password::parse(DEMO_PASSWORD).map_err(ApiError::from)?,
        };
        let mut tx = pool.begin().await.map_err(ApiError::from)?;
        let ticket = clock.begin(company_id, &mut tx).await?;
        users::insert(&mut *tx, company_id, None, person, ticket.version()).await?;
        ticket.commit(tx).await?;
    }
    Ok(())
}

/// The lines printed after seeding so a person can sign in.
pub fn logins_banner() -> String {
    let mut out = format!("Demo company \"{COMPANY_NAME}\" — password for every login: {DEMO_PASSWORD}\n");
    for (email, name, role) in PEOPLE {
        out.push_str(&format!("  {:<11} {email:<32} ({name})\n", role.label()));
    }
    out
}
