//! CSV out (RFC 4180: quote a field when it holds a comma, quote or line break) and a small
//! reader for imports, so the exports open in any spreadsheet and the importer needs no crate.

/// Builds a CSV document row by row.
#[derive(Default)]
pub struct Writer {
    out: String,
}

impl Writer {
    pub fn row<I, S>(&mut self, fields: I)
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let mut first = true;
        for f in fields {
            if !first {
                self.out.push(',');
            }
            first = false;
            let f = f.as_ref();
            // A leading = + - @ makes spreadsheets run the cell as a formula, and so can a tab or
            // a carriage return before one: prefix a quote.
            let f = if f.starts_with(['=', '+', '-', '@', '\t', '\r']) && f.parse::<f64>().is_err() {
                format!("'{f}")
            } else {
                f.to_string()
            };
            if f.contains([',', '"', '\n', '\r']) {
                self.out.push('"');
                self.out.push_str(&f.replace('"', "\"\""));
                self.out.push('"');
            } else {
                self.out.push_str(&f);
            }
        }
        self.out.push_str("\r\n");
    }

    pub fn finish(self) -> String {
        self.out
    }
}

/// Parses CSV text into records, each with the line number it starts on (1-based).
pub fn parse(text: &str) -> Result<Vec<(usize, Vec<String>)>, String> {
    let mut records = vec![];
    let (mut field, mut record) = (String::new(), vec![]);
    let (mut line, mut start_line) = (1usize, 1usize);
    let mut quoted = false;
    let mut chars = text.trim_start_matches('\u{feff}').chars().peekable();
    let mut at_field_start = true;
    while let Some(c) = chars.next() {
        if quoted {
            match c {
                '"' if chars.peek() == Some(&'"') => {
                    chars.next();
                    field.push('"');
                }
                '"' => quoted = false,
                '\n' => {
                    line += 1;
                    field.push(c);
                }
                _ => field.push(c),
            }
            continue;
        }
        match c {
            '"' if at_field_start => {
                quoted = true;
                at_field_start = false;
            }
            ',' => {
                record.push(std::mem::take(&mut field));
                at_field_start = true;
            }
            '\r' => {}
            '\n' => {
                record.push(std::mem::take(&mut field));
                if !(record.len() == 1 && record[0].is_empty()) {
                    records.push((start_line, std::mem::take(&mut record)));
                }
                record.clear();
                line += 1;
                start_line = line;
                at_field_start = true;
            }
            _ => {
                field.push(c);
                at_field_start = false;
            }
        }
    }
    if quoted {
        return Err(format!("line {start_line}: a quoted field is never closed"));
    }
    if !field.is_empty() || !record.is_empty() {
        record.push(field);
        records.push((start_line, record));
    }
    Ok(records)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_quotes_commas_and_line_breaks() {
        let mut w = Writer::default();
        w.row(["a", "b,c", "say \"hi\"", "two\nlines"]);
        w.row(["=cmd()", "-12.5", ""]);
        w.row(["\t=1+2", "\r@SUM(A1)", "+1"]);
        let text = w.finish();
        let rows = parse(&text).unwrap();
        assert_eq!(rows[0], (1, vec!["a".into(), "b,c".into(), "say \"hi\"".into(), "two\nlines".into()]));
        assert_eq!(rows[1], (3, vec!["'=cmd()".into(), "-12.5".into(), "".into()]));
        assert_eq!(rows[2], (4, vec!["'\t=1+2".into(), "'\r@SUM(A1)".into(), "+1".into()]));
    }

    #[test]
    fn an_unclosed_quote_is_an_error_with_its_line() {
        assert_eq!(parse("a,b\n\"open,c\n").unwrap_err(), "line 2: a quoted field is never closed");
    }
}
