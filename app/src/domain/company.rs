//! What a company tells us when it signs up: its name, its trades and its time zone.

use super::{text, ValidationError};
use serde::{Deserialize, Serialize};

/// A company's name as its customers know it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct CompanyName(String);

impl CompanyName {
    pub fn parse(raw: &str) -> Result<Self, ValidationError> {
        let name = raw.trim();
        if name.is_empty() {
            return Err(ValidationError::new("company_name", "enter the company's name"));
        }
        text::check("company_name", name, 200)?;
        Ok(Self(name.split_whitespace().collect::<Vec<_>>().join(" ")))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A trade the company sells: which services, checklists and starter prices apply.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Trade {
    Hvac,
    Plumbing,
    Electrical,
}

impl Trade {
    pub const ALL: [Trade; 3] = [Trade::Hvac, Trade::Plumbing, Trade::Electrical];

    pub fn as_str(self) -> &'static str {
        match self {
            Trade::Hvac => "hvac",
            Trade::Plumbing => "plumbing",
            Trade::Electrical => "electrical",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Trade::Hvac => "HVAC",
            Trade::Plumbing => "Plumbing",
            Trade::Electrical => "Electrical",
        }
    }

    pub fn parse(raw: &str) -> Result<Self, ValidationError> {
        Trade::ALL.into_iter().find(|t| t.as_str() == raw.trim().to_lowercase()).ok_or_else(|| {
            ValidationError::new("trades", format!("{raw:?} is not one of hvac, plumbing, electrical"))
        })
    }

    /// At least one, each once, in a fixed order.
    pub fn parse_all<S: AsRef<str>>(raw: &[S]) -> Result<Vec<Trade>, ValidationError> {
        let mut trades = raw.iter().map(|t| Trade::parse(t.as_ref())).collect::<Result<Vec<_>, _>>()?;
        trades.sort();
        trades.dedup();
        if trades.is_empty() {
            return Err(ValidationError::new("trades", "choose at least one trade"));
        }
        Ok(trades)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_company_name_is_trimmed_and_must_be_there() {
        assert_eq!(CompanyName::parse("  Acme   Heating ").unwrap().as_str(), "Acme Heating");
        assert_eq!(CompanyName::parse(" ").unwrap_err().field, "company_name");
        assert!(CompanyName::parse(&"x".repeat(201)).is_err());
    }

    #[test]
    fn trades_are_known_chosen_and_each_once() {
        assert_eq!(
            Trade::parse_all(&["Plumbing", "hvac", "plumbing"]).unwrap(),
            [Trade::Hvac, Trade::Plumbing]
        );
        assert!(Trade::parse_all::<&str>(&[]).unwrap_err().message.contains("at least one"));
        assert!(Trade::parse_all(&["roofing"]).unwrap_err().message.contains("roofing"));
    }
}
