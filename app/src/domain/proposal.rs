//! The customer's proposal: what they read and sign on the technician's device, and what their
//! copy shows at its link. Built from synced rows in their wire form (the JSON a pull carries and
//! `to_jsonb` of the same tables on the server), so the device offline and the server's page
//! print the same lines, totals and financing terms.

use super::{
    pricing::{option_total, plan_label, PlanTerms},
    Cents,
};
use crate::sync::mutation::LineItem;
use serde_json::Value;
use uuid::Uuid;

/// Who the proposal is from: the company as `Me` (device) or its row (server) has it.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct From {
    pub company_name: String,
    /// An uploaded image's SHA-256.
    pub logo_sha256: Option<String>,
    pub terms: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Proposal {
    pub from: From,
    pub customer_name: String,
    pub address: String,
    pub phone: String,
    pub problem: String,
    /// The options to read: the one bought once the quote is won, else every option with lines.
    pub options: Vec<ProposalOption>,
    /// The name the customer printed beside their signature, once signed.
    pub signed_name: Option<String>,
    /// When the sale was recorded (the signature's date), once won.
    pub signed_at: Option<chrono::DateTime<chrono::Utc>>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ProposalOption {
    pub id: Uuid,
    pub tier: String,
    pub lines: Vec<ProposalLine>,
    /// Before discounts.
    pub subtotal: Cents,
    pub discount: Cents,
    pub total: Cents,
    pub financing: Option<Financing>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ProposalLine {
    pub description: String,
    pub quantity: u32,
    pub unit_price: Cents,
    pub discount: Cents,
    pub total: Cents,
}

/// A monthly payment is never shown without its term and rate.
#[derive(Debug, Clone, PartialEq)]
pub struct Financing {
    pub monthly: Cents,
    pub terms: PlanTerms,
    /// "Acme Lending · 60 months, 9.99% APR[, no interest if paid in 12 months]".
    pub label: String,
}

impl Financing {
    /// "$245.00/month for 60 months at 9.99% APR".
    pub fn describe(&self) -> String {
        format!(
            "{}/month for {} months at {}% APR",
            self.monthly,
            self.terms.months,
            super::pricing::percent(self.terms.apr_bps)
        )
    }
}

fn text(v: &Value, key: &str) -> String {
    v.get(key).and_then(Value::as_str).unwrap_or_default().to_string()
}

fn int(v: &Value, key: &str) -> i64 {
    v.get(key).and_then(Value::as_i64).unwrap_or(0)
}

/// An option row as the proposal reads it; `plans` are the company's financing plan rows.
pub fn option_of(row: &Value, id: Uuid, plans: &[&Value]) -> ProposalOption {
    let items: Vec<LineItem> =
        serde_json::from_value(row.get("line_items").cloned().unwrap_or_default()).unwrap_or_default();
    let lines: Vec<ProposalLine> = items
        .iter()
        .map(|i| {
            let priced = i.priced();
            ProposalLine {
                description: i.description.clone(),
                quantity: i.quantity,
                unit_price: i.unit_price_cents,
                discount: i.discount_cents,
                total: priced.total(),
            }
        })
        .collect();
    let subtotal = Cents(items.iter().map(|i| i.priced().gross().0).sum());
    let total = option_total(items.iter().map(LineItem::priced));
    let monthly = row.get("monthly_payment_cents").and_then(Value::as_i64).map(Cents);
    let code = row.get("financing_plan").and_then(Value::as_str);
    // The payment as the option recorded it (checked against the plan when it was stored),
    // with the plan's terms beside it; without the plan's row there is no payment to print.
    let financing = code.zip(monthly).and_then(|(code, monthly)| {
        let plan = plans.iter().find(|p| p.get("code").and_then(Value::as_str) == Some(code))?;
        let terms = PlanTerms {
            apr_bps: int(plan, "apr_bps").max(0) as u32,
            months: int(plan, "months").max(1) as u32,
        };
        let label = plan_label(&text(plan, "lender"), terms, int(plan, "promo_months").max(0) as u32);
        Some(Financing { monthly, terms, label })
    });
    ProposalOption {
        id,
        tier: text(row, "tier"),
        lines,
        subtotal,
        discount: Cents(subtotal.0 - total.0),
        total,
        financing,
    }
}

/// The proposal of a consultation: `options` are its live option rows (with their ids) in any
/// order. `choice` is the option the customer is about to sign for (the technician picked it);
/// without it, a won quote shows the option sold and an open one every option priced.
pub fn build(
    from: From,
    consultation: &Value,
    customer: Option<&Value>,
    options: &[(Uuid, &Value)],
    plans: &[&Value],
    choice: Option<Uuid>,
) -> Proposal {
    let sold = (text(consultation, "status") == "won")
        .then(|| consultation.get("sold_option_id").and_then(Value::as_str)?.parse::<Uuid>().ok())
        .flatten();
    let chosen = choice.or(sold);
    let mut rows: Vec<&(Uuid, &Value)> = options
        .iter()
        .filter(|(id, _)| chosen.is_none_or(|c| c == *id))
        .filter(|(_, o)| o.get("line_items").and_then(Value::as_array).is_some_and(|l| !l.is_empty()))
        .collect();
    rows.sort_by_key(|(id, o)| (int(o, "position"), *id));
    let signed_at = sold.and_then(|_| consultation.get("decided_at")?.as_str()?.parse().ok());
    let signed_name = consultation
        .get("signed_name")
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|n| !n.is_empty())
        .map(str::to_string);
    let customer_field = |k: &str| customer.map(|c| text(c, k)).unwrap_or_default();
    Proposal {
        from,
        customer_name: customer_field("name"),
        address: customer_field("address"),
        phone: customer_field("phone"),
        problem: text(consultation, "problem"),
        options: rows.into_iter().map(|(id, o)| option_of(o, *id, plans)).collect(),
        signed_name,
        signed_at,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn option(tier: &str, position: i64, plan: Option<(&str, i64)>) -> Value {
        json!({
            "tier": tier, "position": position,
            "line_items": [
                {"description": "Heat pump 3 ton", "quantity": 1, "unit_price_cents": 800_000, "discount_cents": 50_000},
                {"description": "Thermostat", "quantity": 2, "unit_price_cents": 15_000, "discount_cents": 0}
            ],
            "financing_plan": plan.map(|p| p.0), "monthly_payment_cents": plan.map(|p| p.1),
        })
    }

    #[test]
    fn a_won_quote_shows_the_option_bought_with_its_discount_and_financing_terms() {
        let (good, best) = (Uuid::now_v7(), Uuid::now_v7());
        let consultation = json!({"status": "won", "sold_option_id": best.to_string(),
            "decided_at": "2026-12-05T15:00:00Z", "signed_name": " Rosa Diaz ", "problem": "No heat"});
        let customer = json!({"name": "Rosa Diaz", "address": "12 Elm St", "phone": "+15125550100"});
        let plan =
            json!({"code": "p60", "lender": "Acme Lending", "apr_bps": 999, "months": 60, "promo_months": 0});
        let (g, b) = (option("Good", 0, None), option("Best", 2, Some(("p60", 16_400))));
        let p =
            build(From::default(), &consultation, Some(&customer), &[(good, &g), (best, &b)], &[&plan], None);
        assert_eq!(p.options.len(), 1, "only the option bought");
        let o = &p.options[0];
        assert_eq!(
            (o.id, o.subtotal, o.discount, o.total),
            (best, Cents(830_000), Cents(50_000), Cents(780_000))
        );
        assert_eq!(o.lines[1].total, Cents(30_000));
        let f = o.financing.as_ref().expect("financing");
        assert_eq!(f.describe(), "$164.00/month for 60 months at 9.99% APR");
        assert_eq!(p.signed_name.as_deref(), Some("Rosa Diaz"));
        assert!(p.signed_at.is_some());
        assert_eq!(p.address, "12 Elm St");
    }

    #[test]
    fn an_open_quote_shows_every_option_with_lines_in_tier_order_and_no_signature() {
        let (a, b, empty) = (Uuid::now_v7(), Uuid::now_v7(), Uuid::now_v7());
        let consultation = json!({"status": "open", "signed_name": null});
        let (better, good) = (option("Better", 1, None), option("Good", 0, None));
        let blank = json!({"tier": "Best", "position": 2, "line_items": []});
        let p = build(
            From::default(),
            &consultation,
            None,
            &[(a, &better), (b, &good), (empty, &blank)],
            &[],
            None,
        );
        assert_eq!(p.options.iter().map(|o| o.tier.as_str()).collect::<Vec<_>>(), ["Good", "Better"]);
        assert_eq!((p.signed_name, p.signed_at), (None, None));
    }

    #[test]
    fn a_payment_without_its_plan_is_not_printed() {
        let o = option("Good", 0, Some(("gone", 10_000)));
        assert_eq!(option_of(&o, Uuid::now_v7(), &[]).financing, None);
    }
}
