use super::ValidationError;
use serde::{Deserialize, Serialize};
use std::fmt;

/// A phone number normalised to E.164 (`+15125550143`), so the same customer typed two ways is
/// recognised as one. Ten digits are read as North American (the market we sell in first);
/// numbers written with a leading `+` keep their country code.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct PhoneNumber(String);

impl PhoneNumber {
    pub fn parse(raw: &str) -> Result<Self, ValidationError> {
        let trimmed = raw.trim();
        let international = trimmed.starts_with('+') || trimmed.starts_with("00");
        if trimmed.chars().any(|c| c.is_alphabetic()) {
            return Err(ValidationError::new("phone", "must contain only digits, spaces, +, -, ( and )"));
        }
        let mut digits: String = trimmed.chars().filter(char::is_ascii_digit).collect();
        if trimmed.starts_with("00") {
            digits.drain(..2);
        }
        let e164 = match (international, digits.len()) {
            (false, 10) => format!("+1{digits}"),
            (false, 11) if digits.starts_with('1') => format!("+{digits}"),
            (true, 8..=15) => format!("+{digits}"),
            _ => {
                return Err(ValidationError::new(
                    "phone",
                    "must be a 10-digit number like (512) 555-0143, or start with + and a country code",
                ))
            }
        };
        Ok(Self(e164))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for PhoneNumber {
    type Error = ValidationError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<PhoneNumber> for String {
    fn from(value: PhoneNumber) -> Self {
        value.0
    }
}

impl fmt::Display for PhoneNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let d = &self.0;
        if d.len() == 12 && d.starts_with("+1") {
            write!(f, "({}) {}-{}", &d[2..5], &d[5..8], &d[8..])
        } else {
            f.write_str(d)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_number_written_many_ways() {
        for raw in ["(512) 555-0143", "512.555.0143", "1 512 555 0143", "+1 512-555-0143", "001 512 555 0143"]
        {
            assert_eq!(PhoneNumber::parse(raw).unwrap().as_str(), "+15125550143", "{raw}");
        }
        assert_eq!(PhoneNumber::parse("5125550143").unwrap().to_string(), "(512) 555-0143");
    }

    #[test]
    fn rejects_what_cannot_be_dialled() {
        for bad in ["", "555-0143", "call me", "+12", "2 512 555 0143"] {
            assert!(PhoneNumber::parse(bad).is_err(), "{bad:?}");
        }
    }
}
