//! "Is this customer already on file?" — asked on the device, offline, before a new customer is
//! created: the same person typed twice splits their history and double-counts leads.
//!
//! A match is any of: the same phone (E.164), the same address once spelling is normalised
//! ("123 N. Main Street, Apt 4" = "123 north main st #4"), or a similar name (typos, swapped
//! first/last). Phone and address are strong; a name alone is shown as weaker.

use super::PhoneNumber;

/// Why an existing customer looks like the one being typed, strongest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum MatchReason {
    SamePhone,
    SameAddress,
    SimilarName,
}

impl MatchReason {
    pub fn label(self) -> &'static str {
        match self {
            MatchReason::SamePhone => "same phone",
            MatchReason::SameAddress => "same address",
            MatchReason::SimilarName => "similar name",
        }
    }
}

/// What the matcher compares, normalised once per customer.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CustomerKey {
    name: String,
    phone: Option<String>,
    address: Option<String>,
}

impl CustomerKey {
    pub fn new(name: &str, phone: Option<&str>, address: Option<&str>) -> Self {
        Self {
            name: normalize_name(name),
            phone: phone.and_then(|p| PhoneNumber::parse(p).ok()).map(|p| p.as_str().to_string()),
            address: address.map(normalize_address).filter(|a| !a.is_empty()),
        }
    }

    /// The reasons `other` may be the same customer, strongest first; empty when it is not.
    pub fn reasons(&self, other: &CustomerKey) -> Vec<MatchReason> {
        let mut out = vec![];
        if self.phone.is_some() && self.phone == other.phone {
            out.push(MatchReason::SamePhone);
        }
        if self.address.is_some() && self.address == other.address {
            out.push(MatchReason::SameAddress);
        }
        if similar_names(&self.name, &other.name) {
            out.push(MatchReason::SimilarName);
        }
        out
    }
}

/// Lower case, letters, digits and single spaces only.
fn simplify(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars().flat_map(char::to_lowercase) {
        if c.is_alphanumeric() {
            out.push(c);
        } else if !out.ends_with(' ') && !out.is_empty() && c != '.' && c != '\'' {
            out.push(' ');
        }
    }
    out.trim_end().to_string()
}

fn normalize_name(name: &str) -> String {
    let mut words: Vec<String> = simplify(name)
        .split(' ')
        .filter(|w| !matches!(*w, "mr" | "mrs" | "ms" | "dr" | "jr" | "sr" | "and" | ""))
        .map(str::to_string)
        .collect();
    // "Smith, John" and "John Smith" are one person.
    words.sort();
    words.join(" ")
}

/// The USPS spellings of the words addresses are written many ways.
const ADDRESS_WORDS: &[(&str, &str)] = &[
    ("street", "st"),
    ("avenue", "ave"),
    ("av", "ave"),
    ("road", "rd"),
    ("drive", "dr"),
    ("lane", "ln"),
    ("court", "ct"),
    ("boulevard", "blvd"),
    ("place", "pl"),
    ("terrace", "ter"),
    ("circle", "cir"),
    ("highway", "hwy"),
    ("parkway", "pkwy"),
    ("apartment", "apt"),
    ("unit", "apt"),
    ("suite", "apt"),
    ("ste", "apt"),
    ("north", "n"),
    ("south", "s"),
    ("east", "e"),
    ("west", "w"),
];

fn normalize_address(address: &str) -> String {
    simplify(&address.replace('#', " apt "))
        .split(' ')
        .map(|w| ADDRESS_WORDS.iter().find(|(long, _)| *long == w).map(|(_, short)| *short).unwrap_or(w))
        .collect::<Vec<_>>()
        .join(" ")
}

/// Names within a small edit distance of each other (one typo per five letters or so).
fn similar_names(a: &str, b: &str) -> bool {
    if a.len() < 3 || b.len() < 3 {
        return false;
    }
    if a == b {
        return true;
    }
    let longest = a.chars().count().max(b.chars().count());
    edit_distance(a, b) * 5 <= longest
}

/// Levenshtein distance over characters.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let above = row[j + 1];
            row[j + 1] = (above + 1).min(row[j] + 1).min(diagonal + usize::from(ca != *cb));
            diagonal = above;
        }
    }
    row[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(name: &str, phone: &str, address: &str) -> CustomerKey {
        CustomerKey::new(name, Some(phone), Some(address))
    }

    #[test]
    fn the_same_phone_typed_two_ways_matches() {
        let a = key("Ann Lee", "(512) 555-0143", "");
        let b = key("Bob Stone", "+1 512 555 0143", "");
        assert_eq!(a.reasons(&b), vec![MatchReason::SamePhone]);
    }

    #[test]
    fn addresses_match_after_normalising_spelling() {
        let a = key("Ann Lee", "", "123 N. Main Street, Apt 4");
        let b = key("Zed Quill", "", "123 north main st #4");
        assert_eq!(a.reasons(&b), vec![MatchReason::SameAddress]);
        let c = key("Zed Quill", "", "125 North Main Street, Apt 4");
        assert!(a.reasons(&c).is_empty());
    }

    #[test]
    fn similar_names_match_typos_and_order() {
        let a = key("John Smith", "", "");
        assert_eq!(a.reasons(&key("Jon Smith", "", "")), vec![MatchReason::SimilarName]);
        assert_eq!(a.reasons(&key("Smith, John", "", "")), vec![MatchReason::SimilarName]);
        assert_eq!(a.reasons(&key("Mr. John Smith", "", "")), vec![MatchReason::SimilarName]);
        assert!(a.reasons(&key("Jane Smythe", "", "")).is_empty());
        assert!(a.reasons(&key("John Smithson-Baker", "", "")).is_empty());
    }

    #[test]
    fn empty_and_invalid_fields_never_match() {
        let a = CustomerKey::new("Al", None, None);
        let b = CustomerKey::new("Al", Some("12"), Some("  "));
        assert!(a.reasons(&b).is_empty(), "two-letter names, no phone, no address");
    }

    #[test]
    fn every_reason_is_listed_strongest_first() {
        let a = key("Maria Garcia", "512-555-0100", "9 Elm Ave");
        let b = key("Maria Garcia", "5125550100", "9 elm avenue");
        assert_eq!(
            a.reasons(&b),
            vec![MatchReason::SamePhone, MatchReason::SameAddress, MatchReason::SimilarName]
        );
    }

    #[test]
    fn edit_distance_is_levenshtein() {
        assert_eq!(edit_distance("kitten", "sitting"), 3);
        assert_eq!(edit_distance("", "abc"), 3);
        assert_eq!(edit_distance("same", "same"), 0);
    }
}
