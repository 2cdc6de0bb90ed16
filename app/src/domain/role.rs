use super::ValidationError;
use serde::{Deserialize, Serialize};
use std::fmt;

/// What a person does for their company; it decides their tabs and what they may see.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema, sqlx::Type))]
// A `text` column (checked by a constraint), read and written as these names.
#[cfg_attr(feature = "ssr", sqlx(type_name = "text", rename_all = "snake_case"))]
pub enum Role {
    Technician,
    SalesRep,
    Manager,
    /// Intake and dispatch: takes calls, works the lead inbox, books visits. Sees every lead
    /// and visit of the company, but no analytics or team administration.
    Office,
}

impl Role {
    pub const ALL: [Role; 4] = [Role::Technician, Role::SalesRep, Role::Manager, Role::Office];

    /// The name stored in the database and sent in JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Technician => "technician",
            Role::SalesRep => "sales_rep",
            Role::Manager => "manager",
            Role::Office => "office",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Role::Technician => "Technician",
            Role::SalesRep => "Sales rep",
            Role::Manager => "Manager",
            Role::Office => "Office",
        }
    }

    pub fn parse(raw: &str) -> Result<Self, ValidationError> {
        Role::ALL.into_iter().find(|r| r.as_str() == raw.trim()).ok_or_else(|| {
            ValidationError::new("role", "must be one of technician, sales_rep, manager, office")
        })
    }

    /// Where a person of this role lands after signing in.
    pub fn home_path(self) -> &'static str {
        match self {
            Role::Technician => "/today",
            Role::SalesRep => "/queue",
            Role::Manager => "/dashboard",
            Role::Office => "/inbox",
        }
    }

    /// Sees every customer, lead and visit of the company (not only those they are part of):
    /// managers, and the office, who book everyone's visits.
    pub fn sees_all(self) -> bool {
        matches!(self, Role::Manager | Role::Office)
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_through_its_name() {
        for r in Role::ALL {
            assert_eq!(Role::parse(r.as_str()).unwrap(), r);
            let json = serde_json::to_string(&r).unwrap();
            assert_eq!(json, format!("\"{}\"", r.as_str()));
        }
        assert!(Role::parse("admin").is_err());
    }
}
