//! Any rate by person, source, service or tier (docs/metrics.md).

use super::*;

#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct BreakdownRow {
    pub key: String,
    pub held: u64,
    pub close_rate: Rate,
    pub win_rate: Rate,
    pub won: u64,
    pub revenue_cents: i64,
    pub average_ticket_cents: Option<i64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Dimension {
    Technician,
    Rep,
    Source,
    Service,
    Tier,
}

impl Dimension {
    pub const ALL: [Dimension; 5] =
        [Dimension::Technician, Dimension::Rep, Dimension::Source, Dimension::Service, Dimension::Tier];
    pub fn parse(s: &str) -> Option<Dimension> {
        Some(match s {
            "technician" => Dimension::Technician,
            "rep" => Dimension::Rep,
            "source" => Dimension::Source,
            "service" => Dimension::Service,
            "tier" => Dimension::Tier,
            _ => return None,
        })
    }
    pub fn as_str(self) -> &'static str {
        match self {
            Dimension::Technician => "technician",
            Dimension::Rep => "rep",
            Dimension::Source => "source",
            Dimension::Service => "service",
            Dimension::Tier => "tier",
        }
    }
    fn key(self, d: &DealFact) -> u32 {
        match self {
            Dimension::Technician => d.technician,
            Dimension::Rep => d.closer,
            Dimension::Source => d.source,
            Dimension::Service => d.service,
            Dimension::Tier => d.tier,
        }
    }
}

/// A dictionary id, or NONE (the last slot), as an index into a per-group vector.
pub(super) fn slot(dict_len: usize, key: u32) -> usize {
    if key == NONE {
        dict_len
    } else {
        key as usize
    }
}

/// Close rate (held in the range), win rate and revenue (decided in the range) per group. People
/// come back as their ids; the caller names them.
#[derive(Clone)]
pub struct BreakdownAcc {
    dim: Dimension,
    span: InstantRange,
    close: CloseRule,
    dict_len: usize,
    /// The groups met so far (a slot is a dictionary id, NONE last) — a chunk meets a few of
    /// the company's people, so a kept chunk holds only those.
    slots: Vec<u32>,
    groups: Vec<Group>,
    /// Slot → position in `groups` (u32::MAX: not met yet); built on first use, dropped by
    /// [`BreakdownAcc::seal`].
    index: Vec<u32>,
}

/// One group's close rate of held ones, won sales, losses, wins and cents.
#[derive(Clone, Copy, Default)]
struct Group {
    close: CloseCounts,
    won: u64,
    lost: u64,
    sales: u64,
    cents: i64,
}

impl BreakdownAcc {
    pub fn new(cx: &Context, range: DateRange, dim: Dimension) -> Self {
        let span = InstantRange::of(cx, range);
        BreakdownAcc {
            dim,
            span,
            close: CloseRule::of(cx, span),
            dict_len: cx.facts.dict.len(),
            slots: vec![],
            groups: vec![],
            index: vec![],
        }
    }

    fn group(&mut self, slot: usize) -> &mut Group {
        if self.index.is_empty() {
            self.index = vec![u32::MAX; self.dict_len + 1];
            for (i, &s) in self.slots.iter().enumerate() {
                self.index[s as usize] = i as u32;
            }
        }
        if self.index[slot] == u32::MAX {
            self.index[slot] = self.groups.len() as u32;
            self.slots.push(slot as u32);
            self.groups.push(Group::default());
        }
        &mut self.groups[self.index[slot] as usize]
    }

    pub fn add(&mut self, s: &DealStanding) {
        let slot = slot(self.dict_len, self.dim.key(s.d));
        // Reps do not hold consultations: grouping held ones by who decided them would make
        // every rep's close rate 100%. Their rows carry win rate and revenue only.
        if self.dim != Dimension::Rep && self.span.holds_some(s.d.held) {
            let rule = self.close;
            rule.add(&mut self.group(slot).close, s);
        }
        if self.span.holds_some(s.at) {
            let g = self.group(slot);
            match s.outcome {
                Outcome::Won => {
                    g.sales += 1;
                    g.cents += s.d.amount_cents;
                    g.won += s.sale as u64;
                }
                Outcome::Lost => g.lost += 1,
                Outcome::Open => {}
            }
        }
    }

    pub fn merge(&mut self, o: &BreakdownAcc) {
        for (&slot, b) in o.slots.iter().zip(&o.groups) {
            let a = self.group(slot as usize);
            a.close.merge(&b.close);
            a.won += b.won;
            a.lost += b.lost;
            a.sales += b.sales;
            a.cents += b.cents;
        }
    }

    pub fn seal(&mut self) {
        self.index = vec![];
    }

    pub fn finish(self, cx: &Context) -> Vec<BreakdownRow> {
        let dict_len = self.dict_len;
        let mut rows: Vec<BreakdownRow> = self
            .slots
            .into_iter()
            .map(|i| i as usize)
            .zip(self.groups)
            .map(|(i, g)| BreakdownRow {
                key: if i == dict_len { "(none)".into() } else { cx.facts.dict.name(i as u32).to_string() },
                held: g.close.n,
                close_rate: g.close.finish().all,
                win_rate: Rate::new(g.won, g.won + g.lost),
                won: g.sales,
                revenue_cents: g.cents,
                average_ticket_cents: (g.sales > 0).then(|| g.cents / g.sales as i64),
            })
            .collect();
        rows.sort_by(|a, b| {
            b.revenue_cents.cmp(&a.revenue_cents).then(b.held.cmp(&a.held)).then(a.key.cmp(&b.key))
        });
        rows
    }
}

pub fn breakdown(cx: &Context, range: DateRange, dim: Dimension) -> Vec<BreakdownRow> {
    let mut acc = BreakdownAcc::new(cx, range, dim);
    cx.deals().for_each(|s| acc.add(&s));
    acc.finish(cx)
}
