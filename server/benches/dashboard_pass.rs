//! The dashboard's computation alone, in process: a million synthetic consultations folded
//! straight into facts (no Postgres, no HTTP), then the whole dashboard for one year and for all
//! time; then the close-probability model trained over it and every open quote scored.
//! Isolates the report code from loading and transport, for working on it; the end-to-end
//! figure is `cargo bench --bench analytics`.
//!
//!   cargo bench -p server --bench dashboard_pass
//!   BENCH_CONSULTATIONS=200000 BENCH_REQUESTS=20 cargo bench -p server --bench dashboard_pass
//!
//! Nothing here asserts a speed.

use chrono::{Duration, Utc};
use rand::{rngs::StdRng, Rng, SeedableRng};
use server::analytics::{
    close_model::{CloseModel, Examples},
    dashboard,
    facts::{CompanyFacts, DealFact, Folded, Kind, LeadFact, Outcome, DAY},
    report::{Context, DateRange, Filter, Period},
    settings::Settings,
    ProcessChange,
};
use std::time::Instant;
use uuid::Uuid;

fn env_num(key: &str, default: u64) -> u64 {
    std::env::var(key).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

fn main() {
    let n = env_num("BENCH_CONSULTATIONS", 1_000_000);
    let requests = env_num("BENCH_REQUESTS", 30) as usize;
    let now = Utc::now().timestamp();
    let mut rng = StdRng::seed_from_u64(7);
    let mut facts = CompanyFacts::default();
    let technicians: Vec<u32> = (0..200).map(|i| facts.dict.id(&format!("tech-{i}"))).collect();
    let reps: Vec<u32> = (0..10).map(|i| facts.dict.id(&format!("rep-{i}"))).collect();
    let sources: Vec<u32> =
        ["web", "phone", "referral", "repeat", "ads", "walk-in"].iter().map(|s| facts.dict.id(s)).collect();
    let services: Vec<u32> = ["hvac", "plumbing", "electrical"].iter().map(|s| facts.dict.id(s)).collect();
    let tiers: Vec<u32> = ["Good", "Better", "Best"].iter().map(|s| facts.dict.id(s)).collect();
    let reasons: Vec<u32> = ["price", "competitor", "timing", "financing", "no_decision"]
        .iter()
        .map(|s| facts.dict.id(s))
        .collect();
    let t = Instant::now();
    for i in 0..n {
        // Five years, in order of creation (as the facts load).
        let created = now - 5 * 365 * DAY + (i as i64 * 5 * 365 * DAY) / n as i64;
        let first_contact = rng.gen_bool(0.95).then(|| created + rng.gen_range(60..7_200));
        let held = rng.gen_bool(0.7).then(|| created + rng.gen_range(DAY..10 * DAY)).filter(|&h| h < now);
        let source = sources[rng.gen_range(0..sources.len())];
        let service = services[rng.gen_range(0..services.len())];
        let quoted = rng.gen_range(200_000..2_000_000);
        let (outcome, decided) = match held {
            Some(h) => {
                let at = h + rng.gen_range(0..30 * DAY);
                match rng.gen_range(0..100) {
                    _ if at >= now => (Outcome::Open, None),
                    0..=44 => (Outcome::Won, Some(at)),
                    45..=84 => (Outcome::Lost, Some(at)),
                    _ => (Outcome::Open, None),
                }
            }
            None => (Outcome::Open, None),
        };
        let lead = LeadFact {
            created,
            source,
            campaign: server::analytics::facts::NONE,
            service,
            first_contact,
            contacted_by: technicians[rng.gen_range(0..technicians.len())],
            first_held: held,
            disqualified: None,
            path: Default::default(),
            dead: false,
        };
        let deal = DealFact {
            lead_created: created,
            source,
            campaign: server::analytics::facts::NONE,
            service,
            technician: technicians[rng.gen_range(0..technicians.len())],
            held,
            presented: held,
            options_presented: held.map_or(0, |_| 3),
            quoted_cents: quoted,
            outcome,
            decided,
            amount_cents: if outcome == Outcome::Won { quoted * 9 / 10 } else { quoted },
            closer: match outcome {
                Outcome::Open => u32::MAX,
                _ => reps[rng.gen_range(0..reps.len())],
            },
            tier: if outcome == Outcome::Won { tiers[rng.gen_range(0..tiers.len())] } else { u32::MAX },
            reason: if outcome == Outcome::Lost {
                reasons[rng.gen_range(0..reasons.len())]
            } else {
                u32::MAX
            },
            same_day: outcome == Outcome::Won && rng.gen_bool(0.4),
            reopened: rng.gen_bool(0.01),
            last_activity: decided.or(held).unwrap_or(created),
            financing: false,
            first_visit: true,
            checklist: 0,
            dead: false,
        };
        let deals = vec![(Uuid::from_u128(i as u128 * 2 + 1), deal)];
        facts.put_lead(Uuid::from_u128(i as u128 * 2), Folded { lead, path: vec![], deals });
    }
    facts.settle();
    facts.compact(); // as the loader does after a full fold
    println!("{n} consultations folded into facts in {:.1} s", t.elapsed().as_secs_f64());
    // What the analytics memory budget (FIELDCLOSE_ANALYTICS_MEMORY_MB, ADR 0064) counts for them.
    println!("their facts count {:.0} MB against the memory budget", facts.approx_bytes() as f64 / 1e6);

    let settings = Settings::default();
    let tz = chrono_tz::America::Chicago;
    let today = Utc::now().date_naive();
    let change = ProcessChange {
        id: Uuid::nil(),
        name: "new price book".into(),
        changed_on: today - Duration::days(200),
    };
    for (label, from, period) in [
        ("one year", today - Duration::days(364), Period::Month),
        ("all time", today - Duration::days(1830), Period::Quarter),
    ] {
        let range = DateRange { from, to: today };
        let run = |facts: &CompanyFacts| {
            let cx = Context::new(facts, &settings, tz, now, &Filter::default());
            let t = Instant::now();
            std::hint::black_box(dashboard(&cx, range, period, std::slice::from_ref(&change)));
            t.elapsed().as_secs_f64() * 1e3
        };
        let summary = |mut times: Vec<f64>| {
            times.sort_by(f64::total_cmp);
            let p99 = times[((times.len() as f64 - 1.0) * 0.99).round() as usize];
            format!("p50 {:.1} ms, p99 {:.1} ms ({} runs)", times[times.len() / 2], p99, times.len())
        };
        // The first dashboard over a range reads every chunk and keeps the settled ones' parts.
        let first = run(&facts);
        let kept = facts.partials.count(Kind::Deals);
        let repeat = summary((0..requests).map(|_| run(&facts)).collect());
        // After a push: the newest lead changes (its chunk is re-read; it is live anyway).
        let last = n as usize - 1;
        let changed = summary(
            (0..requests)
                .map(|k| {
                    let mut lead = facts.leads[last].clone();
                    lead.first_contact = Some(lead.created + 60 + k as i64);
                    let deals = vec![(Uuid::from_u128(last as u128 * 2 + 1), facts.deals[last].clone())];
                    facts.put_lead(Uuid::from_u128(last as u128 * 2), Folded { lead, path: vec![], deals });
                    facts.settle();
                    run(&facts)
                })
                .collect(),
        );
        println!("{label}: first dashboard {first:.1} ms (kept {kept} deal chunks' parts)");
        println!("{label}: dashboard {repeat}");
        println!("{label}: dashboard after a change to the newest lead {changed}");
    }

    // The close-probability model (issue 24): trained over every decided consultation, then
    // every open quote scored with its factors, as `GET /api/analytics/close-model` does.
    let t = Instant::now();
    let model = CloseModel::train(&Examples { deals: &facts.deals, dict: &facts.dict });
    println!(
        "close model: trained on {} decided consultations in {:.1} s (model used: {}{})",
        model.card.decided,
        t.elapsed().as_secs_f64(),
        model.card.uses_model,
        model.card.reason.as_deref().map(|r| format!("; {r}")).unwrap_or_default()
    );
    // The same quotes with outcomes drawn from their facts (source and technician), so that the
    // model is used: judged, then fitted again on every decision, and every score explained.
    let mut rng = StdRng::seed_from_u64(24);
    let learnable: Vec<DealFact> = facts
        .deals
        .iter()
        .map(|d| {
            let mut d = d.clone();
            if matches!(d.outcome, Outcome::Won | Outcome::Lost) {
                let z = -0.6 + 0.5 * f64::from(d.source % 3) + 0.3 * (f64::from(d.technician % 5) - 2.0);
                let won = rng.gen_bool(1.0 / (1.0 + (-z).exp()));
                d.outcome = if won { Outcome::Won } else { Outcome::Lost };
            }
            d
        })
        .collect();
    let t = Instant::now();
    let model = CloseModel::train(&Examples { deals: &learnable, dict: &facts.dict });
    let held = model.card.held_out.as_ref().expect("judged");
    println!(
        "close model, learnable outcomes: trained on {} decided consultations in {:.1} s (model used: {}, held-out AUC {:.3})",
        model.card.decided,
        t.elapsed().as_secs_f64(),
        model.card.uses_model,
        held.auc
    );
    let open: Vec<&DealFact> = facts
        .deals
        .iter()
        .filter(|d| !d.dead && d.outcome == Outcome::Open && (d.held.is_some() || d.presented.is_some()))
        .collect();
    let name = |id: u32| facts.dict.name(id).to_string();
    // As the close-model page does: every open quote's probability, then the 100 listed in words.
    let t = Instant::now();
    let expected: f64 = open.iter().map(|d| model.probability(d) * d.quoted_cents as f64).sum();
    let scoring = t.elapsed();
    let t = Instant::now();
    let words: usize = open.iter().take(100).map(|d| model.explain(d, &name).len()).sum();
    println!(
        "close model: scored {} open quotes in {:.1} ms, explained 100 of them ({words} factors) in {:.2} ms \
         (pipeline {:.0} $)",
        open.len(),
        scoring.as_secs_f64() * 1e3,
        t.elapsed().as_secs_f64() * 1e3,
        expected / 100.0
    );
}
