//! Free text and times a person or a device sends, checked the same way in the browser (before a
//! write is queued) and on the server (before it is stored).
//!
//! Why control characters are refused rather than stripped: Postgres cannot store U+0000 in
//! `text` or `jsonb` at all, and the other C0/C1 controls are invisible, break CSV and HTML
//! output, and never come from a keyboard. Refusing them at the type keeps what was typed intact
//! (the device shows the refused write with its reason) instead of silently changing it. Line
//! breaks and tabs are text, not controls, for the purposes of a note.

use super::ValidationError;
use chrono::{DateTime, Datelike, Utc};
use serde_json::Value;

/// The first control character of `value` that free text may not hold, if any.
pub fn forbidden_char(value: &str) -> Option<char> {
    value.chars().find(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t'))
}

fn describe(c: char) -> String {
    format!("must not contain control characters (found U+{:04X})", c as u32)
}

/// Free text of at most `max` characters with no control characters but line breaks and tabs.
pub fn check(field: &'static str, value: &str, max: usize) -> Result<(), ValidationError> {
    if let Some(c) = forbidden_char(value) {
        return Err(ValidationError::new(field, describe(c)));
    }
    if value.chars().count() > max {
        return Err(ValidationError::new(field, format!("must be at most {max} characters")));
    }
    Ok(())
}

/// Every key and string inside a JSON value (a home's equipment, checklist answers) under the same
/// rule as free text.
pub fn check_json(field: &'static str, value: &Value) -> Result<(), ValidationError> {
    match value {
        Value::String(s) => {
            forbidden_char(s).map_or(Ok(()), |c| Err(ValidationError::new(field, describe(c))))
        }
        Value::Array(items) => items.iter().try_for_each(|v| check_json(field, v)),
        Value::Object(map) => map.iter().try_for_each(|(k, v)| {
            if let Some(c) = forbidden_char(k) {
                return Err(ValidationError::new(field, describe(c)));
            }
            check_json(field, v)
        }),
        Value::Null | Value::Bool(_) | Value::Number(_) => Ok(()),
    }
}

/// The years a date of this business may fall in. Anything outside is a typo or a broken clock,
/// and some of it (before 4713 BC) Postgres cannot even store.
pub const FIRST_YEAR: i32 = 1900;
pub const LAST_YEAR: i32 = 2200;

/// A time within [`FIRST_YEAR`]..=[`LAST_YEAR`].
pub fn check_time(field: &'static str, at: DateTime<Utc>) -> Result<(), ValidationError> {
    check_date(field, at.date_naive())
}

/// A calendar date within [`FIRST_YEAR`]..=[`LAST_YEAR`].
pub fn check_date(field: &'static str, day: chrono::NaiveDate) -> Result<(), ValidationError> {
    if (FIRST_YEAR..=LAST_YEAR).contains(&day.year()) {
        Ok(())
    } else {
        Err(ValidationError::new(field, format!("must be a date between {FIRST_YEAR} and {LAST_YEAR}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn control_characters_are_refused_with_the_field_name() {
        let e = check("note", "fine\u{0}", 100).unwrap_err();
        assert_eq!(e.field, "note");
        assert!(e.message.contains("U+0000"), "{}", e.message);
        assert!(check("note", "bell\u{7}", 100).is_err());
        assert!(check("note", "c1\u{85}", 100).is_err());
        assert!(check("note", "two\r\nlines\tand a tab", 100).is_ok());
        assert!(check("note", "ok", 1).is_err());
    }

    #[test]
    fn json_keys_and_strings_are_checked_everywhere() {
        assert!(check_json("home", &json!({ "furnace": { "age": 12, "notes": ["a", "b\n"] } })).is_ok());
        assert!(check_json("home", &json!({ "furnace": { "notes": ["a", "b\u{0}"] } })).is_err());
        assert!(check_json("home", &json!({ "bad\u{1b}key": 1 })).is_err());
    }

    #[test]
    fn times_are_bounded() {
        let at = |y: i32| {
            chrono::NaiveDate::from_ymd_opt(y, 1, 1).unwrap().and_hms_opt(0, 0, 0).unwrap().and_utc()
        };
        assert!(check_time("at", at(2026)).is_ok());
        assert!(check_time("at", at(1899)).is_err());
        assert!(check_time("at", at(2201)).is_err());
        assert!(check_time("at", DateTime::<Utc>::MIN_UTC).is_err());
    }
}
