use super::ValidationError;
use serde::{Deserialize, Serialize};
use std::fmt;

/// An amount of money in cents. Never a float: a quote of $12,345.67 must add up to the cent on
/// the device, on the server and in the manager's revenue figures.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize)]
#[serde(transparent)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct Cents(pub i64);

impl Cents {
    /// The largest amount a single quote may carry ($10 million): anything above is a typo.
    pub const MAX: Cents = Cents(1_000_000_000);

    /// Parses what a person types: `1234`, `1,234.5`, `$1234.56`. At most two decimals.
    pub fn parse(field: &'static str, raw: &str) -> Result<Self, ValidationError> {
        let s: String = raw.trim().trim_start_matches('$').chars().filter(|c| *c != ',').collect();
        let bad = || ValidationError::new(field, "must be an amount like 1234.50");
        if s.is_empty() {
            return Err(ValidationError::new(field, "enter an amount"));
        }
        let (whole, frac) = s.split_once('.').unwrap_or((&s, ""));
        if whole.is_empty() && frac.is_empty() {
            return Err(bad());
        }
        if !whole.chars().all(|c| c.is_ascii_digit()) || !frac.chars().all(|c| c.is_ascii_digit()) {
            return Err(bad());
        }
        if frac.len() > 2 {
            return Err(ValidationError::new(field, "has more than two decimals"));
        }
        let whole: i64 = if whole.is_empty() { 0 } else { whole.parse().map_err(|_| bad())? };
        let frac: i64 = format!("{frac:0<2}").parse().map_err(|_| bad())?;
        let cents = whole.checked_mul(100).and_then(|w| w.checked_add(frac)).ok_or_else(bad)?;
        Cents(cents).check(field)
    }

    /// The amount as a spreadsheet or a form field takes it: `1234.50`, no sign, symbol or
    /// grouping (what [`Cents::parse`] reads back).
    pub fn decimal(self) -> String {
        format!("{}.{:02}", self.0 / 100, self.0 % 100)
    }

    /// Checks a value that arrived as a number (JSON) against the same bounds.
    pub fn check(self, field: &'static str) -> Result<Self, ValidationError> {
        if self.0 < 0 {
            return Err(ValidationError::new(field, "must not be negative"));
        }
        if self > Self::MAX {
            return Err(ValidationError::new(field, "is over $10,000,000; check the amount"));
        }
        Ok(self)
    }
}

impl fmt::Display for Cents {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sign = if self.0 < 0 { "-" } else { "" };
        let abs = self.0.unsigned_abs();
        let dollars = (abs / 100).to_string();
        let mut grouped = String::new();
        for (i, ch) in dollars.chars().enumerate() {
            if i > 0 && (dollars.len() - i) % 3 == 0 {
                grouped.push(',');
            }
            grouped.push(ch);
        }
        write!(f, "{sign}${grouped}.{:02}", abs % 100)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_what_people_type() {
        assert_eq!(Cents::parse("price", "1234").unwrap(), Cents(123_400));
        assert_eq!(Cents::parse("price", "$1,234.5").unwrap(), Cents(123_450));
        assert_eq!(Cents::parse("price", " 0.07 ").unwrap(), Cents(7));
        assert_eq!(Cents::parse("price", ".5").unwrap(), Cents(50));
    }

    #[test]
    fn rejects_what_is_not_money() {
        for bad in ["", "abc", "1.234", "-5", "1.2.3", "12e3", "99999999999"] {
            assert!(Cents::parse("price", bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn displays_grouped_dollars() {
        assert_eq!(Cents(1_234_567).to_string(), "$12,345.67");
        assert_eq!(Cents(5).to_string(), "$0.05");
        assert_eq!(Cents(100_000).to_string(), "$1,000.00");
    }
}
