//! Quote arithmetic, in whole cents and integers only, so the device (wasm) and the server
//! (x86) compute the very same total and monthly payment: a float `powf` may differ in its last
//! bit between the two `libm`s and turn $123.45 into $123.46 on one side.

use super::{Cents, ValidationError};

/// One priced line of an option: `quantity × unit price − discount`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Line {
    pub quantity: u32,
    pub unit_price: Cents,
    pub discount: Cents,
}

impl Line {
    pub fn gross(self) -> Cents {
        Cents(i64::from(self.quantity).saturating_mul(self.unit_price.0))
    }

    pub fn total(self) -> Cents {
        Cents(self.gross().0 - self.discount.0)
    }

    /// Checks the discount: not negative, not more than the line, and within `max_pct` percent
    /// of the line when the price book sets a limit (`None` for a custom line: no discount).
    pub fn check(self, max_pct: Option<u8>) -> Result<(), ValidationError> {
        if self.quantity == 0 {
            return Err(ValidationError::new("quantity", "must be at least 1"));
        }
        if self.discount.0 < 0 {
            return Err(ValidationError::new("discount_cents", "must not be negative"));
        }
        let limit = max_discount(self.gross(), max_pct.unwrap_or(0));
        if self.discount > limit {
            return Err(ValidationError::new(
                "discount_cents",
                format!("{} is more than the {} allowed on this line", self.discount, limit),
            ));
        }
        Ok(())
    }
}

/// The largest discount `pct` percent of `gross` allows, rounded down to the cent.
pub fn max_discount(gross: Cents, pct: u8) -> Cents {
    Cents(gross.0.saturating_mul(i64::from(pct.min(100))) / 100)
}

/// What an option costs: the sum of its lines.
pub fn option_total(lines: impl IntoIterator<Item = Line>) -> Cents {
    Cents(lines.into_iter().map(|l| l.total().0).sum())
}

/// A plan of the starter catalogue (what every company had before plans were its own, and what
/// a new company may start from). A company's plans are its own synced rows
/// (`financing_plans`); their payment arithmetic is [`PlanTerms`], the same on device and server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FinancingPlan {
    pub code: &'static str,
    pub label: &'static str,
    /// Annual percentage rate in basis points (9.99% = 999).
    pub apr_bps: u32,
    pub months: u32,
    /// Months without interest if paid in full within them.
    pub promo_months: u32,
}

pub const STARTER_PLANS: &[FinancingPlan] = &[
    FinancingPlan {
        code: "same_as_cash_12",
        label: "12 months, 0% APR",
        apr_bps: 0,
        months: 12,
        promo_months: 12,
    },
    FinancingPlan {
        code: "apr_999_60",
        label: "60 months, 9.99% APR",
        apr_bps: 999,
        months: 60,
        promo_months: 0,
    },
    FinancingPlan {
        code: "apr_799_120",
        label: "120 months, 7.99% APR",
        apr_bps: 799,
        months: 120,
        promo_months: 0,
    },
];

impl FinancingPlan {
    pub fn find(code: &str) -> Option<FinancingPlan> {
        STARTER_PLANS.iter().copied().find(|p| p.code == code)
    }

    pub fn terms(self) -> PlanTerms {
        PlanTerms { apr_bps: self.apr_bps, months: self.months }
    }

    pub fn monthly_payment(self, principal: Cents) -> Cents {
        self.terms().monthly_payment(principal)
    }
}

/// Basis points as a percentage a person types and reads: 999 → "9.99".
pub fn percent(bps: u32) -> String {
    format!("{}.{:02}", bps / 100, bps % 100)
}

/// A plan as a technician and a manager see it: lender, terms, and its promotion if it has one.
pub fn plan_label(lender: &str, terms: PlanTerms, promo_months: u32) -> String {
    let mut label = format!("{lender} · {}", terms.describe());
    if promo_months > 0 {
        label.push_str(&format!(", no interest if paid in {promo_months} months"));
    }
    label
}

/// What a monthly payment depends on: the rate and the number of payments.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PlanTerms {
    /// Annual percentage rate in basis points (9.99% = 999).
    pub apr_bps: u32,
    pub months: u32,
}

impl PlanTerms {
    /// "60 months, 9.99% APR": how a plan's terms read everywhere (editor, options, messages).
    pub fn describe(self) -> String {
        format!("{} months, {}% APR", self.months, percent(self.apr_bps))
    }

    /// The monthly payment for `principal`: the standard amortised payment
    /// `P·r / (1 − (1 + r)^−n)` with `r = APR / 12`, rounded to the nearest cent; with no
    /// interest, `P / n` rounded up so the payments cover the principal.
    pub fn monthly_payment(self, principal: Cents) -> Cents {
        let n = i128::from(self.months.max(1));
        let p = i128::from(principal.0.max(0));
        if self.apr_bps == 0 {
            return Cents(((p + n - 1) / n) as i64);
        }
        // (1 + r)^n in fixed point: r = apr_bps / 120_000 (basis points over 12 months).
        const SCALE: i128 = 1_000_000_000_000_000_000;
        let step = 120_000 + i128::from(self.apr_bps);
        let mut growth = SCALE;
        for _ in 0..n {
            growth = growth * step / 120_000;
        }
        // payment = P · r · g / (g − 1) = P · apr · g / (120_000 · (g − SCALE)), rounded half up.
        let num = p * i128::from(self.apr_bps) * growth;
        let den = 120_000 * (growth - SCALE);
        Cents(((2 * num + den) / (2 * den)) as i64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(quantity: u32, unit: i64, discount: i64) -> Line {
        Line { quantity, unit_price: Cents(unit), discount: Cents(discount) }
    }

    #[test]
    fn totals_add_up_to_the_cent() {
        assert_eq!(line(3, 1999, 0).total(), Cents(5997));
        assert_eq!(line(2, 450_000, 12_345).total(), Cents(887_655));
        assert_eq!(
            option_total([line(1, 899_900, 0), line(2, 12_550, 1_000), line(1, 0, 0)]),
            Cents(924_000)
        );
        assert_eq!(option_total([]), Cents(0));
    }

    #[test]
    fn discounts_stay_within_the_managers_limit() {
        // 10% of $1,999.99 is $199.999: the limit rounds down to $199.99.
        assert_eq!(max_discount(Cents(199_999), 10), Cents(19_999));
        assert!(line(1, 199_999, 19_999).check(Some(10)).is_ok());
        let err = line(1, 199_999, 20_000).check(Some(10)).unwrap_err();
        assert_eq!(err.field, "discount_cents");
        assert!(err.message.contains("$199.99"), "{}", err.message);
        // A custom line (no price book limit) takes no discount; a negative one is refused.
        assert!(line(1, 10_000, 1).check(None).is_err());
        assert!(line(1, 10_000, -1).check(Some(50)).is_err());
        assert!(line(0, 10_000, 0).check(Some(50)).is_err());
        // A limit above 100% is read as 100%: never a negative total.
        assert_eq!(max_discount(Cents(5_000), 200), Cents(5_000));
    }

    #[test]
    fn no_interest_payments_cover_the_principal() {
        let plan = FinancingPlan::find("same_as_cash_12").unwrap();
        assert_eq!(plan.monthly_payment(Cents(1_200_000)), Cents(100_000));
        // $1,000.00 / 12 = $83.333…: rounded up to $83.34 so twelve payments cover it.
        assert_eq!(plan.monthly_payment(Cents(100_000)), Cents(8_334));
        assert_eq!(plan.monthly_payment(Cents(0)), Cents(0));
    }

    #[test]
    fn amortised_payments_match_the_textbook() {
        // $10,000 at 9.99% over 60 months: $212.42 (any loan calculator).
        let plan = FinancingPlan::find("apr_999_60").unwrap();
        assert_eq!(plan.monthly_payment(Cents(1_000_000)), Cents(21_242));
        // $12,000 at 7.99% over 120 months: $145.53.
        let plan = FinancingPlan::find("apr_799_120").unwrap();
        assert_eq!(plan.monthly_payment(Cents(1_200_000)), Cents(14_553));
        // The largest quote does not overflow.
        assert!(plan.monthly_payment(Cents::MAX).0 > 0);
    }

    #[test]
    fn a_plan_reads_the_same_wherever_it_is_shown() {
        let terms = PlanTerms { apr_bps: 999, months: 60 };
        assert_eq!(terms.describe(), "60 months, 9.99% APR");
        assert_eq!(plan_label("GreenSky", terms, 0), "GreenSky · 60 months, 9.99% APR");
        assert_eq!(
            plan_label("GreenSky", PlanTerms { apr_bps: 5, months: 12 }, 12),
            "GreenSky · 12 months, 0.05% APR, no interest if paid in 12 months"
        );
    }

    #[test]
    fn unknown_plans_are_not_found() {
        assert!(FinancingPlan::find("apr_0_999").is_none());
        for p in STARTER_PLANS {
            assert_eq!(FinancingPlan::find(p.code), Some(*p));
        }
    }
}
