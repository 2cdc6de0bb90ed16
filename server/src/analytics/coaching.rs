//! Coaching signals (docs/metrics.md, "Coaching effect"; issue 24): for each behaviour, the close
//! rate of held consultations with it minus without it, with Newcombe's 95% interval for the
//! difference and n on each side, flagged only when it survives a Benjamini–Hochberg correction
//! at 10% over every behaviour shown (so that, of twenty behaviours with no effect, about none
//! is flagged by chance). An effect is an association, not a cause.

use super::{
    facts::{local_day, Outcome, Secs, DAY},
    report::{Context, DateRange, InstantRange},
    stats::{compare, wilson, Rate},
};
use serde::Serialize;

/// The false-discovery rate the flags are corrected to.
pub const FDR: f64 = 0.10;

/// One behaviour's association with closing.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Effect {
    pub behaviour: String,
    /// Held consultations with the behaviour: closed, and all.
    pub with_closed: u64,
    pub with_n: u64,
    pub without_closed: u64,
    pub without_n: u64,
    /// Close rate with it minus without it (None when a side is empty).
    pub difference: Option<f64>,
    /// Newcombe's 95% interval for the difference.
    pub low: Option<f64>,
    pub high: Option<f64>,
    /// Two-sided p-value of the two-proportion z-test.
    pub p_value: Option<f64>,
    /// Real after the Benjamini–Hochberg correction at [`FDR`].
    pub flagged: bool,
}

/// The difference of two proportions `a − b` with Newcombe's hybrid score interval (his method
/// 10, from the two Wilson intervals), or None when a side is empty.
pub fn newcombe(a: (u64, u64), b: (u64, u64)) -> Option<(f64, f64, f64)> {
    let ((l1, u1), (l2, u2)) = (wilson(a.0, a.1)?, wilson(b.0, b.1)?);
    let (p1, p2) = (a.0 as f64 / a.1 as f64, b.0 as f64 / b.1 as f64);
    let d = p1 - p2;
    Some((
        d,
        d - ((p1 - l1).powi(2) + (u2 - p2).powi(2)).sqrt(),
        d + ((u1 - p1).powi(2) + (p2 - l2).powi(2)).sqrt(),
    ))
}

/// Which of the p-values are discoveries at false-discovery rate `q` (Benjamini–Hochberg's
/// step-up: the largest k whose k-th smallest p-value is at most k·q/m, and every p-value up to
/// it). A missing p-value is never a discovery and does not count in m.
pub fn benjamini_hochberg(p: &[Option<f64>], q: f64) -> Vec<bool> {
    let mut order: Vec<(usize, f64)> = p.iter().enumerate().filter_map(|(i, p)| p.map(|p| (i, p))).collect();
    order.sort_by(|a, b| a.1.total_cmp(&b.1));
    let m = order.len() as f64;
    let cut = order
        .iter()
        .enumerate()
        .filter(|(k, (_, p))| *p <= (*k as f64 + 1.0) * q / m)
        .map(|(k, _)| k + 1)
        .max();
    let mut flags = vec![false; p.len()];
    for &(i, _) in order.iter().take(cut.unwrap_or(0)) {
        flags[i] = true;
    }
    flags
}

/// Effects of behaviours from held consultations: each observation is which behaviours it had
/// (bit i for `names[i]`) and whether it closed.
pub fn effects(names: &[String], observations: impl Iterator<Item = (u64, bool)>) -> Vec<Effect> {
    let mut counts = vec![[(0u64, 0u64); 2]; names.len()];
    for (had, closed) in observations {
        for (i, c) in counts.iter_mut().enumerate() {
            let side = &mut c[usize::from(had & (1 << i) != 0)];
            side.1 += 1;
            side.0 += u64::from(closed);
        }
    }
    let mut out: Vec<Effect> = names
        .iter()
        .zip(&counts)
        .map(|(name, [without, with])| {
            let interval = newcombe(*with, *without);
            Effect {
                behaviour: name.clone(),
                with_closed: with.0,
                with_n: with.1,
                without_closed: without.0,
                without_n: without.1,
                difference: interval.map(|i| i.0),
                low: interval.map(|i| i.1),
                high: interval.map(|i| i.2),
                p_value: compare(Rate::new(without.0, without.1), Rate::new(with.0, with.1)).p_value,
                flagged: false,
            }
        })
        .collect();
    let flags = benjamini_hochberg(&out.iter().map(|e| e.p_value).collect::<Vec<_>>(), FDR);
    for (e, flag) in out.iter_mut().zip(flags) {
        e.flagged = flag;
    }
    out
}

/// The behaviours every company has; each checklist step done follows them.
pub const FIXED: [&str; 3] =
    ["Three or more options presented", "Options presented on the first visit", "Financing offered"];

/// Checklist steps' names in the effects: the step's label (or its key, for a step no checklist
/// names any more), as [`step_labels`] gives them.
pub type StepLabels = std::collections::HashMap<String, String>;

/// The checklist slots done in some held consultation of `range` that the filter keeps, in slot
/// order: the steps shown (a step nobody did in the range has no "with" side to compare). Found
/// once per view and given to [`coaching`] and [`by_technician`], which must agree on them.
pub fn steps(cx: &Context, range: DateRange) -> Vec<u32> {
    let span = InstantRange::of(cx, range);
    let done = cx
        .deals()
        .filter(|s| s.d.held.is_some_and(|h| span.holds(h)))
        .fold(0u32, |bits, s| bits | s.d.checklist);
    (0..u32::BITS).filter(|&slot| done >> slot & 1 != 0).collect()
}

// Every behaviour is a bit of one `u64` in `observations`: the fixed ones, then a checklist's
// 32 steps at most (a deal's `checklist` is a `u32`).
const _: () = assert!(FIXED.len() + u32::BITS as usize <= u64::BITS as usize);

/// Held consultations in `range` that the context's filter keeps, as (technician, behaviours,
/// closed): bit i for behaviour i, the [`FIXED`] ones then the checklist `steps`. Closed as the
/// close rate counts it: won as a sale within the close window of the visit.
fn observations<'a>(
    cx: &'a Context,
    range: DateRange,
    steps: &'a [u32],
) -> impl Iterator<Item = (u32, u64, bool)> + 'a {
    let span = InstantRange::of(cx, range);
    let window = cx.settings.close_window_days as Secs * DAY;
    cx.deals().filter_map(move |s| {
        let held = s.d.held.filter(|&h| span.holds(h))?;
        let closed = s.outcome == Outcome::Won && s.sale && s.at.is_some_and(|at| at - held <= window);
        let on_first_visit = s.d.presented.is_some_and(|p| local_day(cx.tz, p) == local_day(cx.tz, held));
        let mut had = u64::from(s.d.options_presented >= 3)
            | u64::from(on_first_visit) << 1
            | u64::from(s.d.financing) << 2;
        for (i, &slot) in steps.iter().enumerate() {
            had |= u64::from(s.d.checklist >> slot & 1) << (FIXED.len() + i);
        }
        Some((s.d.technician, had, closed))
    })
}

/// The coaching effects among consultations held in `range` that the context's filter keeps (a
/// technician's own, with `technician=`): the [`FIXED`] behaviours, then the checklist `steps`
/// (from [`steps`]), named by `labels`.
pub fn coaching(cx: &Context, range: DateRange, steps: &[u32], labels: &StepLabels) -> Vec<Effect> {
    let keys: Vec<&str> = cx.facts.dict.checklist_keys().collect();
    let names: Vec<String> = FIXED
        .iter()
        .map(|s| s.to_string())
        .chain(steps.iter().map(|&slot| {
            let key = keys.get(slot as usize).copied().unwrap_or_default();
            format!("Checklist: {}", labels.get(key).map_or(key, String::as_str))
        }))
        .collect();
    effects(&names, observations(cx, range, steps).map(|(_, had, closed)| (had, closed)))
}

/// Each checklist step's label by key, across the company's checklists (the newest revision's
/// label where revisions differ).
pub async fn step_labels(pool: &sqlx::PgPool, company: uuid::Uuid) -> Result<StepLabels, sqlx::Error> {
    let rows = sqlx::query!(
        r#"select s->>'key' as "key!", s->>'label' as "label!"
           from checklist_templates t, jsonb_array_elements(case when jsonb_typeof(t.steps) = 'array' then t.steps else '[]' end) s
           where t.company_id = $1 and not t.deleted and s->>'key' is not null and s->>'label' is not null
           order by t.revision, t.changed_at"#,
        company
    )
    .fetch_all(pool)
    .await?;
    Ok(rows.into_iter().map(|r| (r.key, r.label)).collect())
}

/// One technician's coaching: how often they do each behaviour, and their biggest opportunities
/// in words.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct TechnicianCoaching {
    /// The technician's id (names are filled in by the caller).
    pub technician: String,
    pub held: u64,
    /// Per behaviour (as in the effects): the share of their held consultations with it.
    pub shares: Vec<f64>,
    /// Up to three, the biggest first: a flagged behaviour that closes more, which they do less
    /// often than the company does.
    pub opportunities: Vec<String>,
}

/// Each technician's coaching against the company's `effects` (from [`coaching`] over the same
/// range, filter and `steps`).
pub fn by_technician(
    cx: &Context,
    range: DateRange,
    steps: &[u32],
    effects: &[Effect],
) -> Vec<TechnicianCoaching> {
    let mut per: std::collections::BTreeMap<u32, (u64, Vec<u64>)> = Default::default();
    for (tech, had, _) in observations(cx, range, steps) {
        let entry = per.entry(tech).or_insert_with(|| (0, vec![0; effects.len()]));
        entry.0 += 1;
        for (i, n) in entry.1.iter_mut().enumerate() {
            *n += u64::from(had & (1 << i) != 0);
        }
    }
    per.into_iter()
        .map(|(tech, (held, with))| {
            let shares: Vec<f64> = with.iter().map(|&w| w as f64 / held as f64).collect();
            let mut gaps: Vec<(f64, String)> = effects
                .iter()
                .zip(&shares)
                .filter(|(e, _)| e.flagged && e.difference.is_some_and(|d| d > 0.0))
                .filter_map(|(e, &share)| {
                    let company = e.with_n as f64 / (e.with_n + e.without_n).max(1) as f64;
                    let difference = e.difference?;
                    (share < company).then(|| {
                        let words = format!(
                            "{}: in {:.0}% of your visits against {:.0}% across the company; consultations with it \
                             close {:.0} points more often",
                            e.behaviour,
                            share * 100.0,
                            company * 100.0,
                            difference * 100.0
                        );
                        ((company - share) * difference, words)
                    })
                })
                .collect();
            gaps.sort_by(|a, b| b.0.total_cmp(&a.0));
            TechnicianCoaching {
                technician: cx.facts.dict.name(tech).to_string(),
                held,
                shares,
                opportunities: gaps.into_iter().take(3).map(|g| g.1).collect(),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{rngs::StdRng, Rng, SeedableRng};

    #[test]
    fn a_technician_who_skips_a_behaviour_that_closes_more_is_told_so_in_words() {
        use crate::analytics::{
            facts::{CompanyFacts, DealFact, LeadFact, NONE},
            report::Filter,
            settings::Settings,
        };
        let now = 1_780_000_000;
        let mut facts = CompanyFacts::default();
        let (a, b) = (facts.dict.id("tech-a"), facts.dict.id("tech-b"));
        let web = facts.dict.id("web");
        for i in 0..10u32 {
            let held = now - 5 * DAY + i64::from(i) * 60;
            let tech = if i < 5 { a } else { b };
            // a presents three options once in five visits, b four times in five.
            let options = if (tech == a && i == 0) || (tech == b && i != 9) { 3 } else { 1 };
            let lead = LeadFact {
                created: held - DAY,
                source: web,
                campaign: NONE,
                service: web,
                first_contact: None,
                contacted_by: NONE,
                first_held: Some(held),
                disqualified: None,
                path: Default::default(),
                dead: false,
            };
            let deal = DealFact {
                lead_created: held - DAY,
                source: web,
                campaign: NONE,
                service: web,
                technician: tech,
                held: Some(held),
                presented: Some(held),
                options_presented: options,
                quoted_cents: 100_000,
                outcome: Outcome::Open,
                decided: None,
                amount_cents: 0,
                closer: NONE,
                tier: NONE,
                reason: NONE,
                same_day: false,
                reopened: false,
                last_activity: held,
                financing: false,
                first_visit: true,
                checklist: 0,
                dead: false,
            };
            let deals = vec![(uuid::Uuid::from_u128(u128::from(i) * 2 + 2), deal)];
            facts.put_lead(
                uuid::Uuid::from_u128(u128::from(i) * 2 + 1),
                crate::analytics::facts::Folded { lead, path: vec![], deals },
            );
        }
        facts.settle();
        let settings = Settings::default();
        let cx = Context::new(&facts, &settings, chrono_tz::UTC, now, &Filter::default());
        let today = local_day(chrono_tz::UTC, now);
        let range = DateRange { from: today - chrono::Duration::days(30), to: today };
        // The company-wide effects, as if three or more options had been found to close 20 points more.
        let steps = steps(&cx, range);
        let mut effects = coaching(&cx, range, &steps, &StepLabels::new());
        assert_eq!((effects[0].with_n, effects[0].without_n), (5, 5));
        (effects[0].flagged, effects[0].difference) = (true, Some(0.2));
        let techs = by_technician(&cx, range, &steps, &effects);
        let of = |name: &str| techs.iter().find(|t| t.technician == name).unwrap();
        assert_eq!(of("tech-a").held, 5);
        assert_eq!(of("tech-a").shares[0], 0.2);
        assert_eq!(
            of("tech-a").opportunities,
            ["Three or more options presented: in 20% of your visits against 50% across the company; \
              consultations with it close 20 points more often"]
        );
        assert!(of("tech-b").opportunities.is_empty(), "b already does it more than most");
    }

    #[test]
    fn newcombe_matches_his_worked_example() {
        // Newcombe (1998), example (a): 56/70 − 48/80 = 0.2000, method 10: 0.0524 to 0.3339.
        let (d, lo, hi) = newcombe((56, 70), (48, 80)).unwrap();
        assert!((d - 0.2).abs() < 1e-9);
        assert!((lo - 0.0524).abs() < 5e-4 && (hi - 0.3339).abs() < 5e-4, "{lo} {hi}");
        assert_eq!(newcombe((0, 0), (1, 2)), None);
    }

    #[test]
    fn benjamini_hochberg_steps_up() {
        let p = |v: &[f64]| v.iter().map(|&x| Some(x)).collect::<Vec<_>>();
        // 0.02 alone misses its threshold (0.0167) but is kept by 0.03 under 2·0.05/3.
        assert_eq!(benjamini_hochberg(&p(&[0.02, 0.03, 0.5]), 0.05), [true, true, false]);
        assert_eq!(benjamini_hochberg(&p(&[0.01, 0.04, 0.03, 0.005]), 0.05), [true; 4]);
        assert_eq!(benjamini_hochberg(&p(&[0.2, 0.3]), 0.05), [false, false]);
        assert_eq!(benjamini_hochberg(&[None, Some(0.001)], 0.05), [false, true]);
    }

    /// 21 checklist-like steps done at random; only step 0 raises the chance to close (from 40% to
    /// 55%). In each of 100 such companies step 0 is flagged, and the steps without an effect are
    /// flagged no more often than the correction allows: the false-discovery proportion, averaged
    /// over the companies, near the 10% · 20/21 that Benjamini–Hochberg promises.
    #[test]
    fn a_planted_effect_is_flagged_and_steps_without_one_are_not() {
        let names: Vec<String> = (0..21).map(|i| format!("step {i}")).collect();
        let companies = 100;
        let (mut found, mut proportions) = (0, 0.0);
        for seed in 0..companies {
            let mut rng = StdRng::seed_from_u64(seed);
            let observations: Vec<(u64, bool)> = (0..2000)
                .map(|_| {
                    let had: u64 = rng.gen::<u64>() & ((1 << 21) - 1);
                    let p = if had & 1 == 1 { 0.55 } else { 0.40 };
                    (had, rng.gen_bool(p))
                })
                .collect();
            let effects = effects(&names, observations.into_iter());
            found += usize::from(effects[0].flagged);
            assert!(effects[0].difference.unwrap() > 0.0);
            let wrong = effects[1..].iter().filter(|e| e.flagged).count();
            let flags = wrong + usize::from(effects[0].flagged);
            proportions += wrong as f64 / flags.max(1) as f64;
        }
        assert_eq!(found, companies as usize, "the planted effect is found in every company");
        let fdr = proportions / companies as f64;
        assert!(fdr <= 0.15, "false-discovery rate {fdr:.3}");
    }
}

/// What the coaching view shows.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Coaching {
    pub from: chrono::NaiveDate,
    pub to: chrono::NaiveDate,
    pub effects: Vec<Effect>,
    /// Each technician's shares and biggest opportunities (names, not ids).
    pub technicians: Vec<TechnicianCoaching>,
    /// Said on every screen that shows them.
    pub note: &'static str,
}

impl Coaching {
    /// The view of `range`: the effects and each technician's coaching (people by id until
    /// [`Coaching::name_people`]), said with `note`.
    pub fn of(cx: &Context, range: DateRange, labels: &StepLabels, note: &'static str) -> Coaching {
        let steps = steps(cx, range);
        let effects = coaching(cx, range, &steps, labels);
        Coaching {
            from: range.from,
            to: range.to,
            technicians: by_technician(cx, range, &steps, &effects),
            effects,
            note,
        }
    }

    /// People's names (by id, as `routes::names` gives them) in place of their ids.
    pub fn name_people(&mut self, names: &std::collections::HashMap<String, String>) {
        for t in &mut self.technicians {
            if let Some(name) = names.get(&t.technician) {
                t.technician = name.clone();
            }
        }
    }
}

/// `GET /api/analytics/coaching` — company-wide, or one technician's with `technician=`.
#[utoipa::path(get, path = "/analytics/coaching", tag = "analytics", params(super::routes::ReportQuery),
    responses((status = 200, body = Coaching), (status = 400, body = app::api::ErrorBody), (status = 403, body = app::api::ErrorBody)))]
pub async fn get_coaching(
    axum::extract::State(state): axum::extract::State<crate::state::AppState>,
    user: crate::auth::CurrentUser,
    axum::extract::Query(q): axum::extract::Query<super::routes::ReportQuery>,
) -> Result<crate::error::ApiJson<Coaching>, crate::error::ApiError> {
    Ok(crate::error::ApiJson(load(&state, &user, &q).await?))
}

/// The coaching view for the caller's company and query, with people's names.
pub async fn load(
    state: &crate::state::AppState,
    user: &crate::auth::CurrentUser,
    q: &super::routes::ReportQuery,
) -> Result<Coaching, crate::error::ApiError> {
    let labels = step_labels(&state.pool, user.company_id()).await?;
    let mut c = super::routes::with_context(state, user, q, move |cx, r, _| {
        let note = "An effect is an association in this company's own consultations, not proof of a cause. \
                    Flagged: still real after correcting for the number of behaviours compared \
                    (Benjamini–Hochberg, 10%).";
        Coaching::of(cx, r.range, &labels, note)
    })
    .await?;
    c.name_people(&super::routes::names(&state.pool, user.company_id()).await?);
    Ok(c)
}
