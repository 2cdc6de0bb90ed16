//! Domain types that parse instead of strings passed around.
//!
//! Each `parse` returns a [`ValidationError`] whose message a person can act on; the server
//! turns it into a 400/422 and the browser shows it beside the field.

pub mod cadence;
pub mod checklist;
mod company;
pub mod duplicates;
mod email;
mod money;
mod password;
mod person_name;
mod phone;
pub mod pricing;
pub mod proposal;
mod role;
pub mod settings;
pub mod text;

pub use company::{CompanyName, Trade};
pub use email::EmailAddress;
pub use money::Cents;
pub use password::Password;
pub use person_name::PersonName;
pub use phone::PhoneNumber;
pub use role::Role;

/// A value a person typed that the domain does not accept, with the reason in plain words.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct ValidationError {
    /// The name of the field, as the form and the JSON call it.
    pub field: &'static str,
    pub message: String,
}

impl ValidationError {
    pub fn new(field: &'static str, message: impl Into<String>) -> Self {
        Self { field, message: message.into() }
    }
}
