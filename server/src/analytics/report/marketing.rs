//! Marketing spend against what it bought (docs/metrics.md, "Marketing spend"): per lead source,
//! and per campaign within it, per month of the lead cohort (company-local) and over the range.
//! Cost per lead = spend ÷ leads created in the month; cost per consultation and per sale divide
//! the same spend by that cohort's consultations held (within the lead → consultation window) and
//! its sales; return = revenue closed from the cohort's leads ÷ spend, with the share of the
//! cohort still open beside it, because a young cohort's return is still growing.

use super::*;
use std::collections::BTreeMap;

/// A month's spend on a source (and campaign; "" is the source's spend not tied to one).
#[derive(Debug, Clone)]
pub struct Spend {
    pub month: NaiveDate,
    pub source: String,
    pub campaign: String,
    pub cents: i64,
}

/// A cost divided by a count that a rate stands behind: the cost, and the costs at the ends of
/// the rate's 95% interval (the high end unbounded when the rate's low end is 0).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Cost {
    pub cents: Option<i64>,
    pub low_cents: Option<i64>,
    pub high_cents: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct MarketingRow {
    /// The cohort month, `2026-11`; absent for the whole range.
    pub month: Option<String>,
    pub source: String,
    /// Absent: the source as a whole (every campaign and none).
    pub campaign: Option<String>,
    pub spend_cents: i64,
    /// Leads created (disqualified ones too: the spend bought them).
    pub leads: u64,
    pub cost_per_lead_cents: Option<i64>,
    /// Qualified leads with a consultation held within the window ÷ qualified leads.
    pub consultation: Rate,
    pub cost_per_consultation: Cost,
    /// Sales (wins at or above the sold threshold) from the cohort ÷ its qualified leads.
    pub sale: Rate,
    pub cost_per_sale: Cost,
    /// Every win from the cohort's leads, so far.
    pub revenue_cents: i64,
    /// Revenue ÷ spend.
    pub return_on_spend: Option<f64>,
    /// The qualified leads still waiting for a consultation within the window, and the open
    /// quotes, as a share of the qualified leads: how far the cohort still has to go.
    pub still_open: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Marketing {
    pub from_month: String,
    pub to_month: String,
    pub lead_to_consultation_days: u32,
    /// The range's totals first (most spend first), then month by month.
    pub rows: Vec<MarketingRow>,
}

#[derive(Default, Clone, Copy)]
struct Tally {
    spend: i64,
    leads: u64,
    qualified: u64,
    consulted: u64,
    waiting: u64,
    sales: u64,
    open_quotes: u64,
    revenue: i64,
}

impl Tally {
    fn add(&mut self, o: &Tally) {
        self.spend += o.spend;
        self.leads += o.leads;
        self.qualified += o.qualified;
        self.consulted += o.consulted;
        self.waiting += o.waiting;
        self.sales += o.sales;
        self.open_quotes += o.open_quotes;
        self.revenue += o.revenue;
    }
}

/// (month, source, campaign): a campaign of None is the source as a whole.
type Key = (Option<NaiveDate>, String, Option<String>);

fn month_of(cx: &Context, at: Secs) -> Option<NaiveDate> {
    cx.tz.timestamp_opt(at, 0).single().and_then(|t| t.date_naive().with_day(1))
}

fn divide(spend: i64, count: u64) -> Option<i64> {
    (count > 0).then(|| (spend as f64 / count as f64).round() as i64)
}

fn cost(spend: i64, hits: u64, rate: &Rate) -> Cost {
    let n = rate.n as f64;
    let at = |share: Option<f64>| share.filter(|s| *s > 0.0).map(|s| (spend as f64 / (n * s)).round() as i64);
    Cost { cents: divide(spend, hits), low_cents: at(rate.high), high_cents: at(rate.low) }
}

fn row(key: &Key, t: &Tally) -> MarketingRow {
    let consultation = Rate::with_open(t.consulted, t.qualified, t.waiting.min(t.qualified - t.consulted));
    // A lead can be sold twice (two consultations); the rate is of sales per lead, at most 1.
    let sale = Rate::new(t.sales.min(t.qualified), t.qualified);
    MarketingRow {
        month: key.0.map(|m| m.format("%Y-%m").to_string()),
        source: key.1.clone(),
        campaign: key.2.clone(),
        spend_cents: t.spend,
        leads: t.leads,
        cost_per_lead_cents: divide(t.spend, t.leads),
        cost_per_consultation: cost(t.spend, t.consulted, &consultation),
        cost_per_sale: cost(t.spend, t.sales, &sale),
        consultation,
        sale,
        revenue_cents: t.revenue,
        return_on_spend: (t.spend > 0).then(|| t.revenue as f64 / t.spend as f64),
        still_open: (t.qualified > 0)
            .then(|| ((t.waiting + t.open_quotes) as f64 / t.qualified as f64).min(1.0)),
    }
}

/// The marketing report for the months `range` touches.
pub fn marketing(cx: &Context, range: DateRange, spend: &[Spend]) -> Marketing {
    let first = range.from.with_day(1).unwrap_or(range.from);
    let last = range.to.with_day(1).unwrap_or(range.to);
    let in_range = |m: NaiveDate| first <= m && m <= last;
    let window = Secs::from(cx.settings.lead_to_consultation_days) * DAY;
    let name = |id: u32| (id != NONE).then(|| cx.facts.dict.name(id).to_string());
    let mut tallies: BTreeMap<(NaiveDate, String, Option<String>), Tally> = BTreeMap::new();
    let at = |month: NaiveDate, source: &str, campaign: Option<String>| {
        // Each fact counts for its source and, if it has one, for its campaign too.
        let mut keys = vec![(month, source.to_string(), None)];
        if campaign.is_some() {
            keys.push((month, source.to_string(), campaign));
        }
        keys
    };
    let mut add = |keys: Vec<(NaiveDate, String, Option<String>)>, f: &dyn Fn(&mut Tally)| {
        for k in keys {
            f(tallies.entry(k).or_default());
        }
    };
    for l in cx.leads() {
        let Some(month) = month_of(cx, l.created).filter(|m| in_range(*m)) else { continue };
        let keys = at(month, cx.facts.dict.name(l.source), name(l.campaign));
        let qualified = l.disqualified.is_none();
        let consulted = qualified && l.first_held.is_some_and(|h| h - l.created <= window);
        let waiting = qualified && !consulted && l.first_held.is_none() && cx.now - l.created <= window;
        add(keys, &|t| {
            t.leads += 1;
            t.qualified += u64::from(qualified);
            t.consulted += u64::from(consulted);
            t.waiting += u64::from(waiting);
        });
    }
    for s in cx.deals() {
        let Some(month) = month_of(cx, s.d.lead_created).filter(|m| in_range(*m)) else { continue };
        let keys = at(month, cx.facts.dict.name(s.d.source), name(s.d.campaign));
        let (won, sale) = (s.outcome == Outcome::Won, s.outcome == Outcome::Won && s.sale);
        let open = s.outcome == Outcome::Open && (s.d.held.is_some() || s.d.presented.is_some());
        let cents = if won { s.d.amount_cents } else { 0 };
        add(keys, &|t| {
            t.sales += u64::from(sale);
            t.open_quotes += u64::from(open);
            t.revenue += cents;
        });
    }
    for s in spend.iter().filter(|s| in_range(s.month)) {
        let campaign = Some(s.campaign.clone()).filter(|c| !c.is_empty());
        add(at(s.month, &s.source, campaign), &|t| t.spend += s.cents);
    }
    let mut totals: BTreeMap<(String, Option<String>), Tally> = BTreeMap::new();
    for ((_, source, campaign), t) in &tallies {
        totals.entry((source.clone(), campaign.clone())).or_default().add(t);
    }
    let mut rows: Vec<MarketingRow> =
        totals.iter().map(|((s, c), t)| row(&(None, s.clone(), c.clone()), t)).collect();
    // Most spend first; a source's campaigns right after it.
    let source_spend: BTreeMap<String, i64> =
        totals.iter().filter(|((_, c), _)| c.is_none()).map(|((s, _), t)| (s.clone(), t.spend)).collect();
    rows.sort_by(|a, b| {
        let spend = |r: &MarketingRow| std::cmp::Reverse(source_spend.get(&r.source).copied().unwrap_or(0));
        (spend(a), &a.source, a.campaign.is_some(), std::cmp::Reverse(a.spend_cents), &a.campaign).cmp(&(
            spend(b),
            &b.source,
            b.campaign.is_some(),
            std::cmp::Reverse(b.spend_cents),
            &b.campaign,
        ))
    });
    rows.extend(tallies.iter().map(|((m, s, c), t)| row(&(Some(*m), s.clone(), c.clone()), t)));
    Marketing {
        from_month: first.format("%Y-%m").to_string(),
        to_month: last.format("%Y-%m").to_string(),
        lead_to_consultation_days: cx.settings.lead_to_consultation_days,
        rows,
    }
}
