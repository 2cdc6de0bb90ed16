//! What a device keeps: its first sync (and a reset) sends the rows a person needs without
//! signal — open work, upcoming visits, every customer, the reference data, and the company's
//! window of finished work (`device_history_days`) — instead of the company's whole history.
//! Later pulls send every change past the cookie as before, so nothing a device holds goes
//! stale; a device evicts rows that leave the window itself (`app::sync::window`, the same rules
//! in Rust). The rules, once (docs/sync.md, "What a device keeps"), with `cutoff` = now − days:
//!
//! - a consultation: open and not cancelled, or its decision, cancellation, visit or creation
//!   (the first of them it has) on or after the cutoff;
//! - its options, activities, follow-ups and attachments: with it;
//! - a lead: arrived on or after the cutoff, or one of its consultations kept;
//! - a stage event: with its consultation, or (a lead's event) with its lead;
//! - a time entry: started on or after the cutoff, or still running;
//! - customers, the price book, checklists, templates, plans and the team: always.
//!
//! `$11` is the cutoff, or null for a pull that is not a first sync (every branch's condition
//! is then true and Postgres drops it).

/// A kept consultation `k`.
fn consultation(k: &str) -> String {
    consultation_kept(k, "$11")
}

/// A consultation `k` a device keeps, with `cutoff` the SQL of the window's start: also what a
/// page's first screen lists (`first_screen`), so it shows what the device will.
pub fn consultation_kept(k: &str, cutoff: &str) -> String {
    format!(
        "(({k}.status = 'open' and {k}.cancelled_at is null)
          or coalesce({k}.decided_at, {k}.cancelled_at, {k}.scheduled_at, {k}.created_at) >= {cutoff})"
    )
}

fn consultation_of(column: &str) -> String {
    format!(
        "exists (select 1 from consultations k where k.company_id = t.company_id and k.id = {column} and {})",
        consultation("k")
    )
}

fn lead(l: &str) -> String {
    format!(
        "({l}.lead_created_at >= $11 or exists (select 1 from consultations k
           where k.company_id = {l}.company_id and k.lead_id = {l}.id and {}))",
        consultation("k")
    )
}

/// The condition a first sync adds to the branch of `table` (aliased `t`).
pub fn kept(table: &str) -> String {
    let rule = match table {
        "consultations" => consultation("t"),
        "options" | "activities" | "followups" | "attachments" => consultation_of("t.consultation_id"),
        "leads" => lead("t"),
        "stage_events" => format!(
            "(case when t.consultation_id is not null then {}
                   else exists (select 1 from leads l where l.company_id = t.company_id and l.id = t.lead_id and {}) end)",
            consultation_of("t.consultation_id"),
            lead("l")
        ),
        "time_entries" => "(t.started_at >= $11 or t.ended_at is null)".to_string(),
        _ => return String::new(),
    };
    format!("and ($11::timestamptz is null or {rule})")
}
