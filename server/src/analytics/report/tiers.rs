//! Good / better / best: how each tier sells (docs/metrics.md).

use super::*;

#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct TierRow {
    pub tier: String,
    pub won: u64,
    pub share_of_wins: f64,
    pub average_ticket_cents: i64,
}

/// Which tier sells, at what ticket: wins dated in the range by the chosen option's tier.
pub fn tiers_of(rows: Vec<BreakdownRow>) -> Vec<TierRow> {
    let total: u64 = rows.iter().map(|r| r.won).sum();
    rows.into_iter()
        .filter(|r| r.won > 0)
        .map(|r| TierRow {
            share_of_wins: r.won as f64 / total as f64,
            average_ticket_cents: r.average_ticket_cents.unwrap_or(0),
            tier: r.key,
            won: r.won,
        })
        .collect()
}

#[cfg(test)]
pub fn tiers(cx: &Context, range: DateRange) -> Vec<TierRow> {
    tiers_of(breakdown(cx, range, Dimension::Tier))
}
