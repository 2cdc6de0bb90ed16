//! The process map (docs/metrics.md, "Process map"; issue 24): the directly-follows graph of the
//! stage events of the leads created in a range, as the company actually runs its process. Nodes
//! are event kinds; an edge A → B counts the leads whose next event after an A was a B, with its
//! share of A's exits and the median and P90 time between the two. The main path is the most
//! frequent variant (a lead's whole sequence of kinds); rework is any edge back to an earlier
//! stage (a reopen, a second visit after options).

use super::{
    facts::{EventKind, Secs},
    stats::percentile,
};
use serde::Serialize;
use std::collections::{BTreeMap, HashMap};

/// Where a kind stands in the process, for telling rework (an edge back) from progress.
fn stage(kind: EventKind) -> u8 {
    match kind {
        EventKind::LeadCreated => 0,
        EventKind::Qualified | EventKind::Disqualified => 1,
        EventKind::FirstContact => 2,
        EventKind::ConsultationScheduled => 3,
        EventKind::ConsultationHeld => 4,
        EventKind::OptionsPresented => 5,
        EventKind::FollowUp => 6,
        EventKind::Won | EventKind::Lost => 7,
        // A reopen leaves a decision and goes back before it.
        EventKind::Reopened => 6,
    }
}

fn name(kind: EventKind) -> &'static str {
    match kind {
        EventKind::LeadCreated => "lead_created",
        EventKind::FirstContact => "first_contact",
        EventKind::ConsultationScheduled => "consultation_scheduled",
        EventKind::ConsultationHeld => "consultation_held",
        EventKind::OptionsPresented => "options_presented",
        EventKind::FollowUp => "follow_up",
        EventKind::Won => "won",
        EventKind::Lost => "lost",
        EventKind::Reopened => "reopened",
        EventKind::Qualified => "qualified",
        EventKind::Disqualified => "disqualified",
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Node {
    pub kind: &'static str,
    /// Leads with at least one such event.
    pub leads: u64,
    /// Events of this kind followed by another event of the same lead.
    pub exits: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Edge {
    pub from: &'static str,
    pub to: &'static str,
    pub count: u64,
    /// Of `from`'s exits.
    pub share: f64,
    pub median_seconds: Option<i64>,
    pub p90_seconds: Option<i64>,
    /// Back to an earlier stage.
    pub rework: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct ProcessMap {
    pub leads: u64,
    pub nodes: Vec<Node>,
    /// The most frequent first.
    pub edges: Vec<Edge>,
    /// The most frequent variant, and the share of leads that follow it exactly (the rest leave
    /// it somewhere).
    pub main_path: Vec<&'static str>,
    pub main_path_share: Option<f64>,
}

/// The map of these leads' events, each lead's in time order (recorded order between equal
/// times).
pub fn build(leads: impl Iterator<Item = Vec<(EventKind, Secs)>>) -> ProcessMap {
    let mut nodes: BTreeMap<u8, (EventKind, u64, u64)> = BTreeMap::new();
    let mut edges: HashMap<(EventKind, EventKind), Vec<i64>> = HashMap::new();
    let mut variants: HashMap<Vec<EventKind>, u64> = HashMap::new();
    let mut count = 0;
    for events in leads {
        if events.is_empty() {
            continue;
        }
        count += 1;
        let mut seen: Vec<EventKind> = vec![];
        for (i, &(kind, at)) in events.iter().enumerate() {
            let node = nodes.entry(stage(kind) * 16 + kind as u8).or_insert((kind, 0, 0));
            if !seen.contains(&kind) {
                seen.push(kind);
                node.1 += 1;
            }
            if let Some(&(next, next_at)) = events.get(i + 1) {
                node.2 += 1;
                edges.entry((kind, next)).or_default().push(next_at - at);
            }
        }
        *variants.entry(events.iter().map(|e| e.0).collect()).or_default() += 1;
    }
    let exits: HashMap<EventKind, u64> = nodes.values().map(|&(k, _, x)| (k, x)).collect();
    let mut edges: Vec<Edge> = edges
        .into_iter()
        .map(|((from, to), mut gaps)| {
            let n = gaps.len() as u64;
            Edge {
                from: name(from),
                to: name(to),
                count: n,
                share: n as f64 / exits[&from].max(1) as f64,
                median_seconds: percentile(&mut gaps, 0.5),
                p90_seconds: percentile(&mut gaps, 0.9),
                rework: stage(to) < stage(from),
            }
        })
        .collect();
    edges.sort_by(|a, b| b.count.cmp(&a.count).then(a.from.cmp(b.from)).then(a.to.cmp(b.to)));
    // The most frequent; between equals, the first by name (the same answer every time).
    let names = |v: &[EventKind]| v.iter().map(|&k| name(k)).collect::<Vec<_>>();
    let main = variants.into_iter().max_by(|a, b| a.1.cmp(&b.1).then(names(&b.0).cmp(&names(&a.0))));
    ProcessMap {
        leads: count,
        nodes: nodes.into_values().map(|(k, leads, exits)| Node { kind: name(k), leads, exits }).collect(),
        edges,
        main_path: main.as_ref().map(|m| m.0.iter().map(|&k| name(k)).collect()).unwrap_or_default(),
        main_path_share: main.map(|m| m.1 as f64 / count as f64),
    }
}

/// `GET /api/analytics/process-map` — the leads created in the range (company-local days).
#[utoipa::path(get, path = "/analytics/process-map", tag = "analytics", params(super::routes::ReportQuery),
    responses((status = 200, body = ProcessMap), (status = 400, body = app::api::ErrorBody), (status = 403, body = app::api::ErrorBody)))]
pub async fn get_process_map(
    axum::extract::State(state): axum::extract::State<crate::state::AppState>,
    user: crate::auth::CurrentUser,
    axum::extract::Query(q): axum::extract::Query<super::routes::ReportQuery>,
) -> Result<crate::error::ApiJson<ProcessMap>, crate::error::ApiError> {
    user.require(app::domain::Role::Manager, "Only managers can see the company's numbers.")?;
    let company = user.company_id();
    let tz = super::settings::load_zone(&state.pool, company).await?;
    let range = q.parse(tz)?.range;
    let (from, to) = super::report::bounds(tz, range);
    let at = |s: Secs| chrono::DateTime::from_timestamp(s, 0).unwrap_or_default();
    let rows = sqlx::query!(
        "select e.lead_id, e.kind, e.occurred_at from stage_events e
         join leads l on l.company_id = e.company_id and l.id = e.lead_id
         where e.company_id = $1 and not e.deleted and not l.deleted
           and l.lead_created_at >= $2 and l.lead_created_at < $3
         order by e.lead_id, e.occurred_at, e.version",
        company,
        at(from),
        at(to)
    )
    .fetch_all(&state.pool)
    .await?;
    let map = tokio::task::spawn_blocking(move || {
        let mut leads: Vec<Vec<(EventKind, Secs)>> = vec![];
        let mut current = None;
        for row in rows {
            let Some(kind) = EventKind::parse(&row.kind) else { continue };
            if current != Some(row.lead_id) {
                current = Some(row.lead_id);
                leads.push(vec![]);
            }
            leads.last_mut().expect("just pushed").push((kind, row.occurred_at.timestamp()));
        }
        build(leads.into_iter())
    })
    .await
    .map_err(crate::error::ApiError::internal)?;
    Ok(crate::error::ApiJson(map))
}

#[cfg(test)]
mod tests {
    use super::*;
    use EventKind::*;

    #[test]
    fn edges_count_what_came_next_with_their_shares_times_and_rework() {
        let h = 3600;
        let leads = vec![
            vec![(LeadCreated, 0), (FirstContact, h), (ConsultationHeld, 10 * h), (Won, 11 * h)],
            vec![(LeadCreated, 0), (FirstContact, 2 * h), (ConsultationHeld, 20 * h), (Won, 22 * h)],
            vec![
                (LeadCreated, 0),
                (FirstContact, 3 * h),
                (ConsultationHeld, 5 * h),
                (Lost, 6 * h),
                (Reopened, 7 * h),
                (Won, 8 * h),
            ],
            vec![(LeadCreated, 0)],
        ];
        let map = build(leads.into_iter());
        assert_eq!(map.leads, 4);
        let edge = |from: &str, to: &str| map.edges.iter().find(|e| e.from == from && e.to == to).unwrap();
        let contact = edge("lead_created", "first_contact");
        assert_eq!((contact.count, contact.share), (3, 1.0));
        assert_eq!((contact.median_seconds, contact.p90_seconds), (Some(2 * h), Some(3 * h)));
        let held = edge("consultation_held", "won");
        assert_eq!(held.count, 2);
        assert!((held.share - 2.0 / 3.0).abs() < 1e-12);
        assert!(edge("lost", "reopened").rework, "a reopen goes back before the decision");
        assert!(!edge("consultation_held", "won").rework);
        // Every node counts the leads that reached it, and exits add up to its edges.
        let node = |k: &str| map.nodes.iter().find(|n| n.kind == k).unwrap();
        assert_eq!(node("lead_created").leads, 4);
        assert_eq!(node("won").leads, 3);
        for n in &map.nodes {
            let out: u64 = map.edges.iter().filter(|e| e.from == n.kind).map(|e| e.count).sum();
            assert_eq!(out, n.exits, "{}", n.kind);
        }
        assert_eq!(map.main_path, ["lead_created", "first_contact", "consultation_held", "won"]);
        assert_eq!(map.main_path_share, Some(0.5));
    }

    #[test]
    fn no_leads_is_an_empty_map_not_a_division_by_zero() {
        let map = build(std::iter::empty());
        assert_eq!(map.leads, 0);
        assert!(map.edges.is_empty() && map.main_path.is_empty());
        assert_eq!(map.main_path_share, None);
    }
}
