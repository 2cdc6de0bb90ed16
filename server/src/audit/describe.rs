//! Plain words for the trail: a synced write's record, action and one-line summary, and a
//! browser's name from its User-Agent.

use app::sync::mutation::{Mutation, Outcome};
use serde_json::Value;

/// What a logged mutation did, for a person reading the trail.
pub struct Described {
    pub record_type: String,
    pub action: &'static str,
    pub summary: String,
}

/// `name`/`args` as the mutation log holds them. A write logged by an older build whose args no
/// longer parse is still listed, by its name.
pub fn mutation(name: &str, args: &Value) -> Described {
    let entity = name.split('.').next().unwrap_or(name).to_string();
    let plain =
        |action: &'static str, summary: String| Described { record_type: entity.clone(), action, summary };
    let Ok(m) = Mutation::from_parts(name, args) else {
        return plain("changed", name.to_string());
    };
    match m {
        Mutation::CustomerCreate(c) => plain("created", format!("Customer {}", c.name)),
        Mutation::CustomerUpdate(u) | Mutation::ConsultationUpdate(u) => {
            let fields: Vec<String> = u.fields.keys().map(|f| f.replace('_', " ")).collect();
            plain("changed", format!("Changed {}", fields.join(", ")))
        }
        Mutation::LeadCreate(l) => plain(
            "created",
            format!("Lead from {} for {}", l.source.replace('_', " "), l.service_type.replace('_', " ")),
        ),
        Mutation::ConsultationCreate(c) => match c.window_minutes.zip(c.scheduled_at) {
            Some((minutes, at)) => {
                plain("booked", format!("Visit booked {} for {minutes} min", at.format("%Y-%m-%d %H:%M UTC")))
            }
            None => plain("created", "Consultation started".into()),
        },
        Mutation::LeadContact(c) => plain("logged", format!("Lead answered by {}", c.kind)),
        Mutation::LeadQualify(q) => match q.reason {
            Some(reason) => plain("disqualified", format!("Disqualified: {}", reason.replace('_', " "))),
            None => plain("qualified", "Qualified".into()),
        },
        Mutation::Reschedule(r) => plain(
            "rescheduled",
            format!(
                "Visit moved to {} for {} min",
                r.scheduled_at.format("%Y-%m-%d %H:%M UTC"),
                r.window_minutes
            ),
        ),
        Mutation::Cancel(c) => plain("cancelled", format!("Visit cancelled: {}", c.reason.replace('_', " "))),
        Mutation::SetOutcome(o) => match o.outcome {
            Outcome::Won { amount_cents, .. } => plain("won", format!("Won at {amount_cents}")),
            Outcome::Lost { reason, competitor, .. } => plain(
                "lost",
                match competitor.filter(|c| !c.trim().is_empty()) {
                    Some(c) => format!("Lost: {} ({c})", reason.replace('_', " ")),
                    None => format!("Lost: {}", reason.replace('_', " ")),
                },
            ),
            Outcome::Reopened => plain("reopened", "Reopened".into()),
        },
        Mutation::OptionUpsert(o) => plain(
            if o.presented { "presented" } else { "changed" },
            format!("{} option, {} line(s), {}", o.tier, o.line_items.len(), o.price_cents),
        ),
        Mutation::ActivityLog(a) => plain(
            "logged",
            match a.outcome {
                Some(outcome) => format!("{} ({})", a.kind.replace('_', " "), outcome.replace('_', " ")),
                None => a.kind.replace('_', " "),
            },
        ),
        Mutation::FollowupSchedule(f) => {
            plain("scheduled", format!("Follow-up due {}", f.due_at.date_naive()))
        }
        Mutation::FollowupComplete(_) => plain("done", "Follow-up done".into()),
        Mutation::FollowupReassign(_) => plain("reassigned", "Follow-up handed to someone else".into()),
        Mutation::TimeEntryLog(t) => plain("logged", format!("Time: {}", t.category.replace('_', " "))),
        Mutation::AttachmentAdd(a) => plain("added", format!("{} added", a.kind.replace('_', " "))),
        Mutation::Delete(d) => Described {
            record_type: d.entity.as_str().to_string(),
            action: "removed",
            summary: format!("Removed the {}", d.entity.as_str().replace('_', " ")),
        },
    }
}

/// "Chrome on Android", "Safari on iPhone", … from a User-Agent; the first 60 characters of it
/// when it is none of the usual ones (a script, a test client).
pub fn user_agent(agent: &str) -> String {
    let browser = [
        ("Edg/", "Edge"),
        ("OPR/", "Opera"),
        ("Firefox/", "Firefox"),
        ("SamsungBrowser/", "Samsung Internet"),
        ("Chrome/", "Chrome"),
        ("Safari/", "Safari"),
    ]
    .iter()
    .find(|(mark, _)| agent.contains(mark))
    .map(|(_, name)| *name);
    let system = [
        ("Android", "Android"),
        ("iPhone", "iPhone"),
        ("iPad", "iPad"),
        ("Windows", "Windows"),
        ("Mac OS X", "Mac"),
        ("CrOS", "ChromeOS"),
        ("Linux", "Linux"),
    ]
    .iter()
    .find(|(mark, _)| agent.contains(mark))
    .map(|(_, name)| *name);
    match (browser, system) {
        (Some(b), Some(s)) => format!("{b} on {s}"),
        (Some(b), None) => b.to_string(),
        _ => agent.chars().take(60).collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn browsers_are_named_as_people_know_them() {
        let android = "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Mobile Safari/537.36";
        assert_eq!(user_agent(android), "Chrome on Android");
        let iphone = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1";
        assert_eq!(user_agent(iphone), "Safari on iPhone");
        assert_eq!(user_agent("curl/8.5.0"), "curl/8.5.0");
    }

    #[test]
    fn a_write_says_what_it_did() {
        let won = serde_json::json!({ "id": uuid::Uuid::nil(), "at": "2026-12-01T10:00:00Z",
            "outcome": { "status": "won", "option_id": null, "amount_cents": 945000 } });
        let d = mutation("consultation.set_outcome", &won);
        assert_eq!(
            (d.record_type.as_str(), d.action, d.summary.as_str()),
            ("consultation", "won", "Won at $9,450.00")
        );
        let unknown = mutation("lead.retired_mutation", &serde_json::json!({}));
        assert_eq!(unknown.summary, "lead.retired_mutation");
    }
}
