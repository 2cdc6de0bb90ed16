use super::ValidationError;
use serde::{Deserialize, Serialize};
use std::fmt;

/// An email address, trimmed and lower-cased so that one person has one login.
///
/// The check is deliberately shallow (one `@`, a dot in the domain, no spaces): the only real
/// test of an address is mail arriving, and rejecting a valid address costs more than accepting
/// an odd one.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct EmailAddress(String);

impl EmailAddress {
    pub const MAX_LEN: usize = 254;

    pub fn parse(raw: &str) -> Result<Self, ValidationError> {
        let value = raw.trim().to_lowercase();
        let err = |m: &str| Err(ValidationError::new("email", m));
        if value.is_empty() {
            return err("enter an email address");
        }
        if value.len() > Self::MAX_LEN {
            return err("is longer than 254 characters");
        }
        if value.chars().any(char::is_whitespace) {
            return err("must not contain spaces");
        }
        let Some((local, domain)) = value.split_once('@') else {
            return err("must contain an @, like name@example.com");
        };
        if local.is_empty() || domain.contains('@') {
            return err("must look like name@example.com");
        }
        let labels_ok = domain.split('.').count() >= 2 && domain.split('.').all(|l| !l.is_empty());
        if !labels_ok {
            return err("the part after @ must be a domain, like example.com");
        }
        Ok(Self(value))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for EmailAddress {
    type Error = ValidationError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<EmailAddress> for String {
    fn from(value: EmailAddress) -> Self {
        value.0
    }
}

impl fmt::Display for EmailAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalises_case_and_whitespace() {
        let e = EmailAddress::parse("  Ann.Lee@Example.COM ").unwrap();
        assert_eq!(e.as_str(), "ann.lee@example.com");
    }

    #[test]
    fn rejects_what_cannot_be_an_address() {
        for bad in [
            "",
            "   ",
            "ann",
            "ann@",
            "@example.com",
            "ann@example",
            "a b@example.com",
            "a@b@c.com",
            "ann@.com",
        ] {
            assert!(EmailAddress::parse(bad).is_err(), "{bad:?} should be rejected");
        }
    }

    #[test]
    fn deserialising_validates() {
        assert!(serde_json::from_str::<EmailAddress>("\"nope\"").is_err());
        let ok: EmailAddress = serde_json::from_str("\"X@Y.io\"").unwrap();
        assert_eq!(ok.as_str(), "x@y.io");
    }
}
