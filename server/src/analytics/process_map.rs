//! The process map (docs/metrics.md, "Process map"; issue 24): the directly-follows graph of the
//! stage events of the leads created in a range, as the company actually runs its process. Nodes
//! are event kinds; an edge A → B counts the leads whose next event after an A was a B, with its
//! share of A's exits and the median and P90 time between the two. The main path is the most
//! frequent variant (a lead's whole sequence of kinds); rework is any edge back to an earlier
//! stage (a reopen, a second visit after options).

use super::{
    facts::{EventKind, Step},
    report::{Context, DateRange, Funnel, InstantRange},
    routes::ReportQuery,
    stats::percentiles,
};
use axum::response::IntoResponse;
use serde::Serialize;
use std::collections::HashMap;

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

/// The directly-follows graph of some leads' paths.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Graph {
    pub leads: u64,
    /// In process order.
    pub nodes: Vec<Node>,
    /// The most frequent first.
    pub edges: Vec<Edge>,
    /// The most frequent variant, and the share of leads that follow it exactly (the rest leave
    /// it somewhere).
    pub main_path: Vec<&'static str>,
    pub main_path_share: Option<f64>,
}

/// A funnel stage as the map draws it: the step between two kinds where the funnel counts its
/// leak, with the funnel's own figures (`report::funnel`), so the map and the dashboard agree.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Leak {
    pub stage: &'static str,
    pub from: &'static str,
    pub to: &'static str,
    pub entries: u64,
    pub lost: u64,
    /// advanced ÷ (advanced + lost); None before anything was decided.
    pub conversion: Option<f64>,
    pub target: f64,
    pub leak_cents: i64,
    pub bottleneck: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct ProcessMap {
    pub from: chrono::NaiveDate,
    pub to: chrono::NaiveDate,
    pub graph: Graph,
    /// The funnel's four stages, in order.
    pub leaks: Vec<Leak>,
}

/// Where each funnel stage (`report::funnel::STAGE_NAMES`) sits on the map.
const STAGE_EDGES: [(EventKind, EventKind); 4] = [
    (EventKind::LeadCreated, EventKind::FirstContact),
    (EventKind::FirstContact, EventKind::ConsultationHeld),
    (EventKind::ConsultationHeld, EventKind::OptionsPresented),
    (EventKind::OptionsPresented, EventKind::Won),
];

const KINDS: usize = EventKind::ALL.len();

/// Paths in, the graph out. Gaps are kept per edge until the end (exact percentiles, as every
/// duration this product reports); variants of up to 16 steps are keyed by their kinds packed
/// in a word, so counting a million of them costs a hash of a `u64` each.
pub struct Builder {
    leads: u64,
    /// Per kind: leads that reached it, and its exits.
    nodes: [(u64, u64); KINDS],
    /// Per (from, to), `from as usize * KINDS + to`: the gaps.
    gaps: Vec<Vec<u32>>,
    variants: HashMap<u64, u64>,
    long_variants: HashMap<Box<[EventKind]>, u64>,
}

impl Default for Builder {
    fn default() -> Self {
        Builder {
            leads: 0,
            nodes: [(0, 0); KINDS],
            gaps: vec![Vec::new(); KINDS * KINDS],
            variants: HashMap::new(),
            long_variants: HashMap::new(),
        }
    }
}

impl Builder {
    pub fn add(&mut self, path: &[Step]) {
        if path.is_empty() {
            return;
        }
        self.leads += 1;
        let mut seen = 0u16;
        let mut code = 0u64;
        for (i, step) in path.iter().enumerate() {
            let k = step.kind() as usize;
            if seen & (1 << k) == 0 {
                seen |= 1 << k;
                self.nodes[k].0 += 1;
            }
            if let Some(next) = path.get(i + 1) {
                self.nodes[k].1 += 1;
                // A gap is at most Step::MAX_GAP, 28 bits.
                self.gaps[k * KINDS + next.kind() as usize].push(next.gap() as u32);
            }
            code = code << 4 | (k as u64 + 1);
        }
        if path.len() <= 16 {
            *self.variants.entry(code).or_default() += 1;
        } else {
            *self.long_variants.entry(path.iter().map(|s| s.kind()).collect()).or_default() += 1;
        }
    }

    pub fn finish(self) -> Graph {
        let unpack = |mut code: u64| {
            let mut kinds = vec![];
            while code != 0 {
                kinds.push(EventKind::ALL[(code & 0xF) as usize - 1]);
                code >>= 4;
            }
            kinds.reverse();
            kinds
        };
        let variants = self
            .variants
            .into_iter()
            .map(|(code, n)| (unpack(code), n))
            .chain(self.long_variants.into_iter().map(|(kinds, n)| (kinds.into_vec(), n)));
        // The most frequent; between equals, the first by name (the same answer every time).
        let names = |v: &[EventKind]| v.iter().map(|&k| name(k)).collect::<Vec<_>>();
        let main = variants.max_by(|a, b| a.1.cmp(&b.1).then(names(&b.0).cmp(&names(&a.0))));
        let mut edges: Vec<Edge> = self
            .gaps
            .into_iter()
            .enumerate()
            .filter(|(_, gaps)| !gaps.is_empty())
            .map(|(i, gaps)| {
                let (from, to) = (EventKind::ALL[i / KINDS], EventKind::ALL[i % KINDS]);
                let mut gaps: Vec<i64> = gaps.into_iter().map(i64::from).collect();
                let [median, p90] = percentiles(&mut gaps, [0.5, 0.9]);
                let n = gaps.len() as u64;
                Edge {
                    from: name(from),
                    to: name(to),
                    count: n,
                    share: n as f64 / self.nodes[from as usize].1.max(1) as f64,
                    median_seconds: median,
                    p90_seconds: p90,
                    rework: stage(to) < stage(from),
                }
            })
            .collect();
        edges.sort_by(|a, b| b.count.cmp(&a.count).then(a.from.cmp(b.from)).then(a.to.cmp(b.to)));
        let mut kinds: Vec<EventKind> =
            EventKind::ALL.into_iter().filter(|&k| self.nodes[k as usize].0 > 0).collect();
        kinds.sort_by_key(|&k| (stage(k), k));
        Graph {
            leads: self.leads,
            nodes: kinds
                .into_iter()
                .map(|k| Node {
                    kind: name(k),
                    leads: self.nodes[k as usize].0,
                    exits: self.nodes[k as usize].1,
                })
                .collect(),
            edges,
            main_path: main.as_ref().map(|m| names(&m.0)).unwrap_or_default(),
            main_path_share: main.map(|m| m.1 as f64 / self.leads as f64),
        }
    }
}

/// The graph of these paths (each a lead's events in time order).
pub fn build<'a>(paths: impl Iterator<Item = &'a [Step]>) -> Graph {
    let mut b = Builder::default();
    paths.for_each(|p| b.add(p));
    b.finish()
}

/// The process map of the leads created in `range` that the context's filter lets through,
/// with the funnel's stages (computed over the same range and filter) laid on it.
pub fn process_map(cx: &Context, range: DateRange, funnel: &Funnel) -> ProcessMap {
    let span = InstantRange::of(cx, range);
    let mut b = Builder::default();
    match cx.facts.lead_chunks() {
        Some(chunks) => {
            // Leads lie in creation order, mostly: a chunk whose newest lead is older than the
            // range holds none of it.
            for (_, leads) in chunks.filter(|(c, _)| c.latest_created >= span.from) {
                cx.leads_in(leads).filter(|l| span.holds(l.created)).for_each(|l| b.add(cx.facts.path(l)));
            }
        }
        None => cx.leads().filter(|l| span.holds(l.created)).for_each(|l| b.add(cx.facts.path(l))),
    }
    ProcessMap { from: range.from, to: range.to, graph: b.finish(), leaks: leaks(funnel) }
}

fn leaks(funnel: &Funnel) -> Vec<Leak> {
    funnel
        .stages
        .iter()
        .zip(STAGE_EDGES)
        .map(|(s, (from, to))| Leak {
            stage: s.name,
            from: name(from),
            to: name(to),
            entries: s.entries,
            lost: s.lost,
            conversion: s.conversion.value,
            target: s.target,
            leak_cents: s.leak_cents,
            bottleneck: s.bottleneck,
        })
        .collect()
}

/// `GET /api/analytics/process-map` — the leads created in the range (company-local days) that
/// the dashboard's filters let through, with the funnel's leaks and bottleneck.
#[utoipa::path(get, path = "/analytics/process-map", tag = "analytics", params(ReportQuery),
    responses((status = 200, body = ProcessMap), (status = 400, body = app::api::ErrorBody), (status = 403, body = app::api::ErrorBody)))]
pub async fn get_process_map(
    axum::extract::State(state): axum::extract::State<crate::state::AppState>,
    user: crate::auth::CurrentUser,
    axum::extract::Query(q): axum::extract::Query<ReportQuery>,
) -> Result<axum::response::Response, crate::error::ApiError> {
    let started = std::time::Instant::now();
    let map = load(&state, &user, &q).await?;
    let timing = format!("app;dur={:.2}", started.elapsed().as_secs_f64() * 1e3);
    Ok(([("server-timing", timing)], crate::error::ApiJson(map)).into_response())
}

/// The map over the request's range and filters, as the API and the page show it.
pub async fn load(
    state: &crate::state::AppState,
    user: &crate::auth::CurrentUser,
    q: &ReportQuery,
) -> Result<ProcessMap, crate::error::ApiError> {
    super::routes::with_context(state, user, q, |cx, r, changes| {
        // The dashboard's own pass (and its kept parts): the same funnel the dashboard shows.
        let funnel = super::dashboard(cx, r.range, r.period, changes).funnel;
        process_map(cx, r.range, &funnel)
    })
    .await
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
        let paths: Vec<Vec<Step>> = leads.into_iter().map(crate::analytics::facts::path).collect();
        let map = build(paths.iter().map(|p| &p[..]));
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
        // Nodes in process order.
        let order: Vec<&str> = map.nodes.iter().map(|n| n.kind).collect();
        assert_eq!(order, ["lead_created", "first_contact", "consultation_held", "reopened", "won", "lost"]);
    }

    #[test]
    fn paths_longer_than_a_packed_word_are_counted_as_their_own_variants() {
        let long: Vec<(EventKind, i64)> =
            std::iter::once((LeadCreated, 0)).chain((1..=20).map(|i| (FollowUp, i * 60))).collect();
        let short = vec![(LeadCreated, 0), (FollowUp, 60)];
        let paths: Vec<Vec<Step>> =
            [long.clone(), long, short].into_iter().map(crate::analytics::facts::path).collect();
        let map = build(paths.iter().map(|p| &p[..]));
        assert_eq!(map.main_path.len(), 21, "the twice-seen long path is the main one");
        assert_eq!(map.main_path_share, Some(2.0 / 3.0));
        let loop_edge = map.edges.iter().find(|e| e.from == "follow_up" && e.to == "follow_up").unwrap();
        assert_eq!((loop_edge.count, loop_edge.median_seconds), (38, Some(60)));
    }

    #[test]
    fn a_step_keeps_its_kind_and_gap_and_refuses_an_unknown_kind() {
        for kind in EventKind::ALL {
            let s = Step::new(kind, 12_345);
            assert_eq!((s.kind(), s.gap()), (kind, 12_345));
            assert_eq!(Step::from_bits(s.bits()), Some(s));
        }
        assert_eq!(Step::new(Won, i64::MAX).gap(), Step::MAX_GAP);
        assert_eq!(Step::new(Won, -5).gap(), 0);
        assert_eq!(Step::from_bits(0xF), None);
    }

    #[test]
    fn no_leads_is_an_empty_map_not_a_division_by_zero() {
        let map = build(std::iter::empty());
        assert!(map.nodes.is_empty());
        assert_eq!(map.leads, 0);
        assert!(map.edges.is_empty() && map.main_path.is_empty());
        assert_eq!(map.main_path_share, None);
    }
}
