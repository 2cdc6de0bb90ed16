//! What a search box finds: the price book's items, the rep's quotes.

/// Whether each word of `query` is somewhere in `fields`, in any order and any case: "heat pump 3
/// ton" finds "3-Ton Heat Pump 16 SEER". An empty query matches everything.
pub fn every_word_in(query: &str, fields: &[&str]) -> bool {
    let fields: Vec<String> = fields.iter().map(|f| f.to_lowercase()).collect();
    query
        .split(|c: char| c.is_whitespace() || c == ',')
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
        .all(|w| fields.iter().any(|f| f.contains(&w)))
}

/// Whether the digits typed (four or more) are in the phone number however either was written:
/// "5550143" finds "+1 (512) 555-0143".
pub fn phone_has_digits(query: &str, phone: &str) -> bool {
    let wanted: String = query.chars().filter(char::is_ascii_digit).collect();
    wanted.len() >= 4 && phone.chars().filter(char::is_ascii_digit).collect::<String>().contains(&wanted)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_match_in_any_order_and_case() {
        let item = ["3-Ton Heat Pump 16 SEER", "HP-3T-16"];
        assert!(every_word_in("heat pump 3 ton", &item));
        assert!(every_word_in("pump, 3 ton", &item));
        assert!(every_word_in("SEER pump", &item));
        assert!(every_word_in("hp-3t", &item));
        assert!(every_word_in("  ", &item));
        assert!(!every_word_in("heat pump 5 ton furnace", &item));
    }

    #[test]
    fn phone_digits_match_however_the_number_was_written() {
        assert!(phone_has_digits("5550143", "+1 (512) 555-0143"));
        assert!(phone_has_digits("555-0143", "5125550143"));
        assert!(!phone_has_digits("0143", "+1 (512) 555-0144"));
        // Fewer than four digits would match most numbers.
        assert!(!phone_has_digits("55", "+1 (512) 555-0143"));
        assert!(!phone_has_digits("Ann", "+1 (512) 555-0143"));
    }
}
