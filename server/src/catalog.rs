//! A company's price book and in-home checklist: reference data every device receives by sync
//! and only managers change. A new company starts with a sensible catalogue it can edit.

use app::domain::{
    checklist::{Stage, TemplateStep},
    pricing::STARTER_PLANS,
    Trade,
};
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

/// (sku, name, service type, price in cents, max discount %, description)
const STARTER_PRICE_BOOK: &[(&str, &str, &str, i64, i16, &str)] = &[
    (
        "HV-AC-14",
        "14 SEER2 air conditioner, 3 ton",
        "hvac",
        689_000,
        10,
        "Standard efficiency, 10-year parts warranty",
    ),
    (
        "HV-AC-17",
        "17 SEER2 two-stage air conditioner, 3 ton",
        "hvac",
        945_000,
        10,
        "Quieter, steadier cooling; 10-year parts",
    ),
    (
        "HV-HP-20",
        "20 SEER2 variable-speed heat pump, 3 ton",
        "hvac",
        1_389_000,
        8,
        "Heats and cools; lowest bills; 12-year parts and labour",
    ),
    ("HV-FUR-80", "80% gas furnace, 80k BTU", "hvac", 429_000, 10, "Replaces like for like"),
    (
        "HV-FUR-96",
        "96% two-stage gas furnace, 80k BTU",
        "hvac",
        619_000,
        10,
        "High efficiency, sealed combustion",
    ),
    ("HV-TSTAT", "Smart thermostat, installed", "hvac", 39_500, 15, "Wi-Fi, learns the schedule"),
    ("HV-IAQ-UV", "UV air purifier", "hvac", 89_000, 15, "Kills mould and bacteria at the coil"),
    ("HV-DUCT-S", "Duct sealing, whole house", "hvac", 145_000, 15, "Typically 15-20% less air lost"),
    (
        "HV-MAINT",
        "Comfort club, 1 year",
        "hvac",
        19_900,
        0,
        "Two tune-ups, priority service, 15% off repairs",
    ),
    (
        "PL-WH-50",
        "50 gal gas water heater",
        "water_heater",
        245_000,
        10,
        "6-year tank warranty, haul-away included",
    ),
    (
        "PL-WH-TL",
        "Tankless gas water heater",
        "water_heater",
        539_000,
        8,
        "Endless hot water, 15-year heat exchanger",
    ),
    (
        "PL-WH-HP",
        "Heat pump water heater, 65 gal",
        "water_heater",
        489_000,
        8,
        "Lowest running cost; rebates apply",
    ),
    ("PL-EXP", "Expansion tank", "water_heater", 28_500, 15, "Required by code on closed systems"),
    ("PL-REPIPE", "Whole-house PEX repipe", "plumbing", 895_000, 10, "Up to 2 bathrooms"),
    (
        "PL-SOFT",
        "Water softener, 48k grain",
        "plumbing",
        265_000,
        10,
        "Protects fixtures and the water heater",
    ),
    ("PL-PRV", "Pressure-reducing valve", "plumbing", 69_500, 15, "Protects pipes from high street pressure"),
    ("PL-SUMP", "Sump pump with battery backup", "plumbing", 159_000, 10, "Keeps working in a power cut"),
    ("EL-PANEL-200", "200 A panel upgrade", "electrical", 465_000, 10, "Permit and inspection included"),
    ("EL-EV", "EV charger circuit, 50 A", "electrical", 169_000, 10, "Up to 30 ft run"),
    (
        "EL-SURGE",
        "Whole-home surge protector",
        "electrical",
        59_500,
        15,
        "Protects electronics and HVAC boards",
    ),
    ("EL-GEN", "Generator interlock and inlet", "electrical", 139_000, 10, "Portable generator hookup"),
    ("GEN-PERMIT", "Permit and inspection", "other", 35_000, 0, "Filed and attended by us"),
    ("GEN-LABOR", "Additional labour, per hour", "other", 16_500, 0, "Beyond the standard install"),
];

/// (key, label, required, where in the visit it is asked)
const STARTER_CHECKLIST: &[(&str, &str, bool, Stage)] = &[
    ("intro", "Introduce yourself and the company; shoe covers on", true, Stage::Visit),
    ("listen", "Ask what prompted the call and what matters most to them", true, Stage::Visit),
    ("inspect", "Inspect the equipment and the space; note age and condition", true, Stage::Visit),
    ("photos", "Photograph the data plate and the existing unit", false, Stage::Visit),
    ("measure", "Measure or confirm square footage and layout", false, Stage::Visit),
    ("findings", "Show and explain what you found", true, Stage::Visit),
    ("options", "Present good / better / best side by side", true, Stage::Options),
    ("financing", "Offer financing on every option", false, Stage::Options),
    ("ask", "Ask for the decision", true, Stage::Outcome),
];

/// Gives `company` the starter price book and checklist unless it has its own. Idempotent.
pub async fn seed_starter(
    pool: &PgPool,
    clock: &std::sync::Arc<crate::sync::clock::VersionClock>,
    company: Uuid,
) -> Result<(), sqlx::Error> {
    let mut tx = pool.begin().await?;
    // Serialises concurrent seeders of one company (two server processes starting together).
    sqlx::query!("select 1 as locked from company_versions where company_id = $1 for update", company)
        .fetch_optional(&mut *tx)
        .await?;
    let has_catalog = sqlx::query_scalar!(
        r#"select exists(select 1 from price_book_items where company_id = $1) as "has!""#,
        company
    )
    .fetch_one(&mut *tx)
    .await?;
    if has_catalog {
        return Ok(());
    }
    let ticket = clock.begin(company, &mut tx).await?;
    write_starter(&mut tx, company, ticket.version(), &Trade::ALL).await?;
    ticket.commit(tx).await
}

/// Whether a company of `trade` sells `service` (water heaters are the plumbers').
pub fn serves(trade: Trade, service: &str) -> bool {
    match trade {
        Trade::Hvac => service == "hvac",
        Trade::Plumbing => matches!(service, "plumbing" | "water_heater"),
        Trade::Electrical => service == "electrical",
    }
}

/// The starter price book (the items of the company's `trades`), financing plans and checklist, written at
/// `version` inside the caller's transaction (sign-up writes them with the company).
pub async fn write_starter(
    db: &mut PgConnection,
    company: Uuid,
    version: i64,
    trades: &[Trade],
) -> Result<(), sqlx::Error> {
    let mut skus = vec![];
    let mut names = vec![];
    let mut services = vec![];
    let mut prices = vec![];
    let mut limits = vec![];
    let mut descriptions = vec![];
    let offered = |service: &str| trades.iter().any(|t| serves(*t, service));
    let items: Vec<_> = STARTER_PRICE_BOOK.iter().filter(|item| offered(item.2)).collect();
    for (sku, name, service, price, limit, description) in items.iter().copied() {
        skus.push(*sku);
        names.push(*name);
        services.push(*service);
        prices.push(*price);
        limits.push(*limit);
        descriptions.push(*description);
    }
    let ids: Vec<Uuid> = items.iter().map(|_| Uuid::now_v7()).collect();
    sqlx::query!(
        "insert into price_book_items (company_id, id, sku, name, service_type, price_cents, max_discount_pct,
           description, version)
         select $1, id, sku, name, service, price, lim, description, $8
         from unnest($9::uuid[], $2::text[], $3::text[], $4::text[], $5::bigint[], $6::smallint[], $7::text[])
           as t(id, sku, name, service, price, lim, description)",
        company,
        &skus as &[&str],
        &names as &[&str],
        &services as &[&str],
        &prices as &[i64],
        &limits as &[i16],
        &descriptions as &[&str],
        version,
        &ids
    )
    .execute(&mut *db)
    .await?;
    let steps: Vec<serde_json::Value> = STARTER_CHECKLIST
        .iter()
        .map(|&(key, label, required, stage)| {
            serde_json::to_value(TemplateStep { key: key.into(), label: label.into(), required, stage })
                .expect("a step is JSON")
        })
        .collect();
    for plan in STARTER_PLANS {
        sqlx::query!(
            "insert into financing_plans (company_id, id, code, lender, apr_bps, months, promo_months, version)
             values ($1, $2, $3, 'Your lender', $4, $5, $6, $7) on conflict (company_id, code) do nothing",
            company,
            Uuid::now_v7(),
            plan.code,
            plan.apr_bps as i32,
            plan.months as i32,
            plan.promo_months as i32,
            version
        )
        .execute(&mut *db)
        .await?;
    }
    sqlx::query!(
        "insert into checklist_templates (company_id, id, name, steps, version) values ($1, $2, $3, $4, $5)",
        company,
        Uuid::now_v7(),
        "In-home consultation",
        serde_json::Value::Array(steps),
        version
    )
    .execute(&mut *db)
    .await?;
    Ok(())
}
