//! Small hand-computed fixtures for every KPI, edge cases included: open items, immature
//! cohorts, reopened quotes, stale quotes, zero denominators, sold thresholds and a time zone
//! where "the same day" differs from UTC. Each expected number is worked out in the comments.

use super::{
    facts::{fold, secs, CompanyFacts, ConsultationRow, Event, EventKind, LeadRow, OptionRow, TimeFact},
    report::*,
    settings::Settings,
};
use chrono::{DateTime, NaiveDate};
use chrono_tz::Tz;
use uuid::Uuid;

const TZ: Tz = chrono_tz::America::Chicago;

fn t(s: &str) -> i64 {
    secs(DateTime::parse_from_rfc3339(s).unwrap().to_utc())
}

fn june() -> DateRange {
    DateRange {
        from: NaiveDate::from_ymd_opt(2026, 6, 1).unwrap(),
        to: NaiveDate::from_ymd_opt(2026, 6, 30).unwrap(),
    }
}

fn range(from: (i32, u32, u32), to: (i32, u32, u32)) -> DateRange {
    DateRange {
        from: NaiveDate::from_ymd_opt(from.0, from.1, from.2).unwrap(),
        to: NaiveDate::from_ymd_opt(to.0, to.1, to.2).unwrap(),
    }
}

/// "Now" for every fixture: 30 June 2026, noon in Chicago.
fn now() -> i64 {
    t("2026-06-30T12:00:00-05:00")
}

struct Builder {
    facts: CompanyFacts,
    tech: Uuid,
    rep: Uuid,
}

struct Step<'a> {
    kind: EventKind,
    at: &'a str,
    amount: Option<i64>,
    reason: Option<&'a str>,
    by_rep: bool,
}

fn step(kind: EventKind, at: &str) -> Step<'_> {
    Step { kind, at, amount: None, reason: None, by_rep: false }
}
fn won(at: &str, amount: i64) -> Step<'_> {
    Step { kind: EventKind::Won, at, amount: Some(amount), reason: None, by_rep: true }
}
fn lost<'a>(at: &'a str, reason: &'a str) -> Step<'a> {
    Step { kind: EventKind::Lost, at, amount: None, reason: Some(reason), by_rep: false }
}

impl Builder {
    fn new() -> Self {
        Builder { facts: CompanyFacts::default(), tech: Uuid::now_v7(), rep: Uuid::now_v7() }
    }

    /// A lead with no consultation.
    fn lead(&mut self, created: &str, contact: Option<&str>) {
        self.lead_with(created, contact, "web", "hvac", &[], 0);
    }

    /// A lead with one consultation going through `steps`, quoted at `quoted` cents.
    fn deal(&mut self, created: &str, steps: &[Step], quoted: i64) {
        self.lead_with(created, None, "web", "hvac", steps, quoted);
    }

    fn lead_with(
        &mut self,
        created: &str,
        contact: Option<&str>,
        source: &str,
        service: &str,
        steps: &[Step],
        quoted: i64,
    ) {
        let (l, c) = (Uuid::now_v7(), Uuid::now_v7());
        let lead = LeadRow {
            id: l,
            source: source.into(),
            service_type: service.into(),
            created_at: t(created),
            campaign: None,
        };
        let mut events = vec![Event {
            consultation: None,
            kind: EventKind::LeadCreated,
            at: t(created),
            actor: self.tech,
            amount_cents: None,
            option: None,
            reason: None,
        }];
        if let Some(at) = contact {
            events.push(Event { kind: EventKind::FirstContact, at: t(at), ..events[0].clone() });
        }
        let option = OptionRow {
            id: Uuid::now_v7(),
            tier: "Better".into(),
            price_cents: quoted,
            presented: true,
            financing: false,
        };
        for s in steps {
            events.push(Event {
                consultation: Some(c),
                kind: s.kind,
                at: t(s.at),
                actor: if s.by_rep { self.rep } else { self.tech },
                amount_cents: s.amount,
                option: s.amount.map(|_| option.id),
                reason: s.reason.map(str::to_string),
            });
        }
        let cons = if steps.is_empty() {
            vec![]
        } else {
            vec![ConsultationRow {
                id: c,
                technician: self.tech,
                options: vec![option],
                checklist_done: vec![],
            }]
        };
        let folded = fold(&mut self.facts.dict, TZ, &lead, &cons, &events);
        self.facts.put_lead(l, folded);
    }

    fn time(&mut self, start: &str, hours: f64, selling: bool) {
        let person = self.facts.dict.id(&self.tech.to_string());
        self.facts.put_time(
            Uuid::now_v7(),
            TimeFact { person, start: t(start), seconds: (hours * 3600.0) as i64, selling, dead: false },
        );
    }
}

use EventKind::{ConsultationHeld as Held, OptionsPresented as Presented, Reopened};

/// The consultations every close/win fixture uses (leads created in May, so June's lead
/// cohort stays empty here):
///   A held 1 Jun 10:00, won 15:00 the same day ($10,000)        → first-visit close
///   B held 2 Jun, won 10 Jun ($8,000)                           → follow-up close
///   C held 3 Jun, lost 5 Jun (price), quoted $9,000              → no sale
///   D held 20 Jun, still open                                   → open, inside the window
///   E held 4 Jun 23:30 Chicago, won 5 Jun 00:30 Chicago ($5,000) → follow-up: another local
///     day, though both are 5 June in UTC
///   F held 1 Apr, no activity since                             → stale on 16 May: lost, no decision
///   G held 6 Jun, won 7 Jun, reopened 8 Jun                     → open again (moved back)
fn deals() -> Builder {
    let mut b = Builder::new();
    let may = "2026-05-20T09:00:00-05:00";
    b.deal(
        may,
        &[
            step(Held, "2026-06-01T10:00:00-05:00"),
            step(Presented, "2026-06-01T11:00:00-05:00"),
            won("2026-06-01T15:00:00-05:00", 1_000_000),
        ],
        1_200_000,
    );
    b.deal(
        may,
        &[
            step(Held, "2026-06-02T10:00:00-05:00"),
            step(Presented, "2026-06-02T11:00:00-05:00"),
            won("2026-06-10T10:00:00-05:00", 800_000),
        ],
        800_000,
    );
    b.deal(
        may,
        &[
            step(Held, "2026-06-03T10:00:00-05:00"),
            step(Presented, "2026-06-03T11:00:00-05:00"),
            lost("2026-06-05T10:00:00-05:00", "price"),
        ],
        900_000,
    );
    b.deal(
        may,
        &[step(Held, "2026-06-20T10:00:00-05:00"), step(Presented, "2026-06-20T11:00:00-05:00")],
        700_000,
    );
    b.deal(
        may,
        &[
            step(Held, "2026-06-04T23:30:00-05:00"),
            step(Presented, "2026-06-04T23:40:00-05:00"),
            won("2026-06-05T00:30:00-05:00", 500_000),
        ],
        500_000,
    );
    b.deal(
        "2026-03-20T09:00:00-05:00",
        &[step(Held, "2026-04-01T10:00:00-05:00"), step(Presented, "2026-04-01T11:00:00-05:00")],
        600_000,
    );
    b.deal(
        may,
        &[
            step(Held, "2026-06-06T10:00:00-05:00"),
            step(Presented, "2026-06-06T11:00:00-05:00"),
            won("2026-06-07T10:00:00-05:00", 400_000),
            step(Reopened, "2026-06-08T10:00:00-05:00"),
        ],
        400_000,
    );
    b
}

fn cx<'a>(b: &'a Builder, s: &'a Settings) -> Context<'a> {
    Context::new(&b.facts, s, TZ, now(), &Filter::default())
}

#[test]
fn close_rate_counts_held_in_range_and_splits_first_visit_from_follow_up() {
    let b = deals();
    let s = Settings::default();
    let c = close_rate(&cx(&b, &s), june());
    // Held in June: A B C D E G = 6. Won within 60 days: A B E = 3. Open inside the window: D, G.
    assert_eq!((c.all.hits, c.all.n), (3, 6));
    assert_eq!(c.all.still_open, Some(2.0 / 6.0));
    // Same local day: A only. E is the time-zone edge: the same UTC date, not the same local day.
    assert_eq!(c.first_visit.hits, 1);
    assert_eq!(c.follow_up.hits, 2);
    assert!(c.all.too_small, "n = 6 is too small to judge");
}

#[test]
fn a_sold_threshold_turns_small_wins_into_no_sale() {
    let b = deals();
    let mut s = Settings::default();
    s.sold_threshold_cents.insert("hvac".into(), 600_000);
    // E ($5,000) is below $6,000: not a sale. Close rate 2/6; win rate leaves E out: A B won, C lost.
    assert_eq!(close_rate(&cx(&b, &s), june()).all.hits, 2);
    let w = win_rate(&cx(&b, &s), june());
    assert_eq!((w.count.hits, w.count.n), (2, 3));
}

#[test]
fn win_rate_counts_decisions_by_date_and_stale_quotes_as_lost() {
    let b = deals();
    let s = Settings::default();
    let w = win_rate(&cx(&b, &s), june());
    // Decided in June: A B E won, C lost; G was reopened (open), D open, F went stale in May.
    assert_eq!((w.count.hits, w.count.n), (3, 4));
    assert_eq!(w.won_cents, 1_000_000 + 800_000 + 500_000);
    assert_eq!(w.lost_cents, 900_000);
    assert_eq!(w.value_share, Some(2_300_000.0 / 3_200_000.0));
    // F: last activity 1 Apr 11:00 + 45 days = 16 May: a May loss, "no decision".
    let may = win_rate(&cx(&b, &s), range((2026, 5, 1), (2026, 5, 31)));
    assert_eq!((may.count.hits, may.count.n, may.stale), (0, 1, 1));
    let reasons = lost_reasons(&cx(&b, &s), range((2026, 4, 1), (2026, 6, 30)));
    assert_eq!(reasons.len(), 2);
    assert!(reasons.iter().any(|r| r.reason == "no_decision" && r.count == 1 && r.value_cents == 600_000));
    assert!(reasons.iter().any(|r| r.reason == "price" && r.count == 1 && r.value_cents == 900_000));
}

#[test]
fn zero_denominators_are_unknown_not_zero() {
    let b = deals();
    let s = Settings::default();
    let jan = range((2026, 1, 1), (2026, 1, 31));
    let c = cx(&b, &s);
    assert_eq!(close_rate(&c, jan).all.value, None);
    assert_eq!(win_rate(&c, jan).count.value, None);
    assert_eq!(lead_to_consultation(&c, jan).value, None);
    assert_eq!(speed_to_lead(&c, jan).median_seconds, None);
    assert_eq!(sales_cycle(&c, jan).from_lead.median, None);
    assert_eq!(revenue(&c, jan).average_ticket_cents, None);
    assert_eq!(non_selling(&c, jan).share, None);
}

#[test]
fn sales_cycle_uses_exact_nearest_rank_percentiles() {
    let b = deals();
    let s = Settings::default();
    let cyc = sales_cycle(&cx(&b, &s), june());
    // Won in June (sales): A, B, E; lead created 20 May 09:00.
    // A: 1 Jun 15:00 → 12 d 6 h; E: 5 Jun 00:30 → 15 d 15.5 h; B: 10 Jun 10:00 → 21 d 1 h.
    let d = |days: i64, hours: f64| days * 86_400 + (hours * 3600.0) as i64;
    assert_eq!(cyc.from_lead.n, 3);
    assert_eq!(cyc.from_lead.median, Some(d(15, 15.5)));
    assert_eq!(cyc.from_lead.p75, Some(d(21, 1.0)));
    assert_eq!(cyc.from_lead.p90, Some(d(21, 1.0)));
    // From held: A 5 h, E 1 h, B 8 d → median 5 h.
    assert_eq!(cyc.from_consultation.median, Some(5 * 3600));
    // Kaplan–Meier over the June cohort (6): day 0 closes A and E (2 of 6); D and G are open
    // (censored at 10 and 24 days), C lost (never closes); day 8 closes B: at risk then are
    // B, C, D(10), G(24) = 4 → 1 − (4/6)(3/4) = 0.5.
    let closed: Vec<(u32, f64)> = cyc.curve.iter().map(|p| (p.day, p.closed)).collect();
    assert_eq!(closed[1].0, 0);
    assert!((closed[1].1 - 2.0 / 6.0).abs() < 1e-12);
    assert_eq!(closed[2].0, 8);
    assert!((closed[2].1 - 0.5).abs() < 1e-12);
}

#[test]
fn speed_to_lead_leaves_out_young_uncontacted_leads_and_misses_old_ones() {
    let mut b = Builder::new();
    b.lead("2026-06-01T09:00:00-05:00", Some("2026-06-01T09:03:00-05:00")); // 3 min
    b.lead("2026-06-01T10:00:00-05:00", Some("2026-06-01T10:10:00-05:00")); // 10 min
    b.lead("2026-06-29T09:00:00-05:00", None); // a day old: a miss at both thresholds
    b.lead("2026-06-30T11:58:00-05:00", None); // 2 minutes old: left out of both
    b.lead("2026-06-30T11:50:00-05:00", None); // 10 minutes old: a miss at 5, left out at 15
    let s = Settings::default();
    let r = speed_to_lead(&cx(&b, &s), june());
    assert_eq!((r.leads, r.contacted), (5, 2));
    assert_eq!(r.median_seconds, Some(180), "nearest rank of [3, 10] minutes");
    assert_eq!((r.within_first.hits, r.within_first.n), (1, 4));
    assert_eq!((r.within_second.hits, r.within_second.n), (2, 3));
}

#[test]
fn lead_to_consultation_keeps_open_leads_in_the_denominator() {
    let mut b = Builder::new();
    // Held within 30 days; held after 31 days; never held and old; never held and young.
    b.deal("2026-05-01T09:00:00-05:00", &[step(Held, "2026-05-10T09:00:00-05:00")], 0);
    b.deal("2026-05-02T09:00:00-05:00", &[step(Held, "2026-06-02T09:00:00-05:00")], 0);
    b.lead("2026-05-03T09:00:00-05:00", None);
    b.lead("2026-05-25T09:00:00-05:00", None);
    let s = Settings::default();
    let r = lead_to_consultation(&cx(&b, &s), range((2026, 5, 1), (2026, 5, 31)));
    // 1 hit of 4. The 25 May lead's window ended on 24 June, before now: a miss, not open.
    assert_eq!((r.hits, r.n), (1, 4));
    assert_eq!(r.still_open, Some(0.0));
    let june_lead = {
        let mut b = Builder::new();
        b.lead("2026-06-20T09:00:00-05:00", None);
        b
    };
    let r = lead_to_consultation(&cx(&june_lead, &s), june());
    assert_eq!((r.hits, r.n, r.still_open), (0, 1, Some(1.0)), "a 10-day-old lead is still open");
}

#[test]
fn the_funnel_adds_up_and_flags_a_real_gap() {
    let b = deals();
    let s = Settings::default();
    // The cohort: leads created in May: A B C D E G (F's lead is March).
    let f = funnel(&cx(&b, &s), range((2026, 5, 1), (2026, 5, 31)));
    for st in &f.stages {
        assert_eq!(st.entries, st.advanced + st.lost + st.moved_back + st.still_in, "{}", st.name);
    }
    let won = &f.stages[3];
    // Presented → won: A B E won, C lost, G moved back, D still in.
    assert_eq!((won.entries, won.advanced, won.lost, won.moved_back, won.still_in), (6, 3, 1, 1, 1));
    // Average won value of the segment: (10,000 + 8,000 + 5,000) / 3 = 7,666.66 → $7,666 (cents floor).
    assert_eq!(f.average_won_cents, Some(766_666));
    assert_eq!(won.leak_cents, 766_666);
    // Conversions: 3/(3+1) = 75% vs target 60%: no gap; nothing is flagged with n this small.
    assert!(f.stages.iter().all(|s| !s.bottleneck));
}

#[test]
fn non_selling_share_is_hours_not_entries() {
    let mut b = Builder::new();
    b.time("2026-06-02T08:00:00-05:00", 1.0, false); // driving 1 h
    b.time("2026-06-02T09:00:00-05:00", 3.0, true); // on site 3 h
    b.time("2026-05-31T09:00:00-05:00", 5.0, false); // May: outside
    let s = Settings::default();
    let n = non_selling(&cx(&b, &s), june());
    assert_eq!((n.logged_hours, n.non_selling_hours, n.share), (4.0, 1.0, Some(0.25)));
}

#[test]
fn revenue_ticket_and_pipeline() {
    let b = deals();
    let s = Settings::default();
    let r = revenue(&cx(&b, &s), june());
    assert_eq!((r.won, r.revenue_cents, r.average_ticket_cents), (3, 2_300_000, Some(766_666)));
    // Open quotes now: D ($7,000) and G ($4,000). Base win rate over every decision so far:
    // A B E won, C and F (stale) lost = 3/5. Pipeline = 11,000 × 0.6 = $6,600.
    assert_eq!(r.open_quotes, 2);
    assert_eq!(r.pipeline_cents, 660_000);
}

#[test]
fn immature_cohort_cells_are_left_blank() {
    let b = deals();
    let s = Settings::default();
    let rows = cohorts(&cx(&b, &s), range((2026, 4, 1), (2026, 6, 30)));
    let june_row = rows.iter().find(|r| r.month == NaiveDate::from_ymd_opt(2026, 6, 1).unwrap()).unwrap();
    // June ends tonight: no week of it is mature.
    assert!(june_row.closed_by_week.iter().all(Option::is_none));
    let april = rows.iter().find(|r| r.month == NaiveDate::from_ymd_opt(2026, 4, 1).unwrap()).unwrap();
    // April (F only, never won): mature through week 8 (1 May + 8 weeks = 26 June), 0 closed.
    assert_eq!(april.closed_by_week, vec![Some(0.0); COHORT_WEEKS]);
}

#[test]
fn periods_follow_the_company_calendar() {
    let weeks = periods(range((2026, 6, 1), (2026, 6, 30)), Period::Week);
    assert_eq!(weeks.len(), 5, "1 June 2026 is a Monday: 1, 8, 15, 22, 29");
    assert_eq!(weeks[4].to, NaiveDate::from_ymd_opt(2026, 6, 30).unwrap());
    let q = periods(range((2026, 2, 15), (2026, 7, 1)), Period::Quarter);
    assert_eq!(
        q.iter().map(|p| p.from.to_string()).collect::<Vec<_>>(),
        ["2026-02-15", "2026-04-01", "2026-07-01"]
    );
    // Local midnight in Chicago is 05:00 UTC in summer.
    assert_eq!(midnight(TZ, NaiveDate::from_ymd_opt(2026, 6, 1).unwrap()), t("2026-06-01T05:00:00Z"));
}

#[test]
fn before_after_compares_equal_periods() {
    let b = deals();
    let s = Settings::default();
    let ba = before_after(&cx(&b, &s), "New price book", NaiveDate::from_ymd_opt(2026, 6, 1).unwrap(), 30);
    // Before (2 May – 31 May): nothing held. After (1 – 30 June): 3 of 6 closed.
    assert_eq!(ba.close_rate.before.n, 0);
    assert_eq!((ba.close_rate.after.hits, ba.close_rate.after.n), (3, 6));
    assert_eq!(ba.close_rate.difference, None);
    assert!(!ba.mature, "June's outcomes are still coming in");
}
