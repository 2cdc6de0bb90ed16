//! CSV in and out through the `csv` crate (RFC 4180), with what it leaves to us: the formula
//! guard on exports, line numbers on imports, and an unclosed quote refused by line instead of
//! swallowing the rest of the file into one field.

/// Builds a CSV document row by row (CRLF line ends, as spreadsheets expect).
pub struct Writer {
    out: csv::Writer<Vec<u8>>,
}

impl Default for Writer {
    fn default() -> Self {
        Self {
            out: csv::WriterBuilder::new()
                .flexible(true)
                .terminator(csv::Terminator::CRLF)
                .from_writer(vec![]),
        }
    }
}

/// A leading = + - @ makes spreadsheets run the cell as a formula, and so can a tab or a
/// carriage return before one: such a cell gets a leading quote, unless it is a number.
fn guarded(field: &str) -> std::borrow::Cow<'_, str> {
    if field.starts_with(['=', '+', '-', '@', '\t', '\r']) && field.parse::<f64>().is_err() {
        format!("'{field}").into()
    } else {
        field.into()
    }
}

impl Writer {
    pub fn row<I, S>(&mut self, fields: I)
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let record: Vec<String> = fields.into_iter().map(|f| guarded(f.as_ref()).into_owned()).collect();
        // Writing to a Vec cannot fail; a record of a different length is allowed (flexible).
        self.out.write_record(&record).expect("writing CSV to memory");
    }

    pub fn finish(self) -> String {
        let bytes = self.out.into_inner().expect("flushing CSV to memory");
        // Every field went in as a `str`, so the document is UTF-8.
        String::from_utf8(bytes).expect("CSV of UTF-8 fields")
    }
}

/// Ends the text so that the last record parsed is exactly this one when every quote was
/// closed; an open quote swallows it into its field instead.
const SENTINEL: &str = "\u{1}fieldclose-end\u{1}";

/// Parses CSV text into records, each with the line number it starts on (1-based). Blank lines
/// are skipped; rows may have different lengths (the importer says which row is off).
pub fn parse(text: &str) -> Result<Vec<(usize, Vec<String>)>, String> {
    let text = format!("{}\n{SENTINEL}\n", text.trim_start_matches('\u{feff}'));
    let mut reader = csv::ReaderBuilder::new().has_headers(false).flexible(true).from_reader(text.as_bytes());
    let mut records = vec![];
    for record in reader.records() {
        let record = record.map_err(|e| match e.position() {
            Some(p) => format!("line {}: {e}", p.line()),
            None => e.to_string(),
        })?;
        // The reader's line count leaves out blank lines, so the line is counted here, from the
        // record's position: the end of the record before it, then any line breaks.
        let end_of_previous = record.position().map_or(0, |p| p.byte() as usize);
        let rest = &text[end_of_previous..];
        let start = end_of_previous + rest.len() - rest.trim_start_matches(['\r', '\n']).len();
        let line = 1 + text.as_bytes()[..start].iter().filter(|&&b| b == b'\n').count();
        records.push((line, record.iter().map(str::to_string).collect::<Vec<_>>()));
    }
    match records.pop() {
        Some((_, last)) if last == [SENTINEL] => Ok(records),
        // The sentinel went into an open quoted field: the record holding it is where it opened.
        Some((line, _)) => Err(format!("line {line}: a quoted field is never closed")),
        None => unreachable!("the sentinel is always read"),
    }
}

/// An uploaded CSV file whose first line names its columns: what both imports read.
pub struct Table {
    /// The header's names, trimmed and lower-cased.
    pub header: Vec<String>,
    /// Each data row with the line it starts on.
    pub rows: Vec<(usize, Vec<String>)>,
}

impl Table {
    /// Reads `body` as a CSV file of `columns` (any order, any subset holding `required`). The
    /// error says what to fix, in words for the person who made the file.
    pub fn read(body: &[u8], columns: &[&str], required: &[&str]) -> Result<Table, String> {
        let text = std::str::from_utf8(body)
            .map_err(|_| "the file is not UTF-8 text; save it as CSV UTF-8".to_string())?;
        let mut records = parse(text)?.into_iter();
        let Some((_, header)) = records.next() else {
            return Err(format!(
                "the file is empty; the first line names the columns: {}",
                columns.join(", ")
            ));
        };
        let header: Vec<String> = header.iter().map(|h| h.trim().to_lowercase()).collect();
        if let Some(unknown) = header.iter().find(|h| !columns.contains(&h.as_str())) {
            return Err(format!("unknown column {unknown:?}; the columns are: {}", columns.join(", ")));
        }
        if let Some(missing) = required.iter().find(|r| !header.iter().any(|h| h == *r)) {
            return Err(format!("the header has no {missing} column (required: {})", required.join(", ")));
        }
        Ok(Table { header, rows: records.collect() })
    }

    /// The value of `column` in `fields` (a row of this table), trimmed; `None` when the file has
    /// no such column or the cell is empty.
    pub fn get(&self, fields: &[String], column: &str) -> Option<String> {
        let i = self.header.iter().position(|h| h == column)?;
        fields.get(i).map(|v| v.trim().to_string()).filter(|v| !v.is_empty())
    }
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
        assert!(text.ends_with("\r\n"), "CRLF line ends: {text:?}");
        let rows = parse(&text).unwrap();
        assert_eq!(rows[0], (1, vec!["a".into(), "b,c".into(), "say \"hi\"".into(), "two\nlines".into()]));
        assert_eq!(rows[1], (3, vec!["'=cmd()".into(), "-12.5".into(), "".into()]));
        assert_eq!(rows[2], (4, vec!["'\t=1+2".into(), "'\r@SUM(A1)".into(), "+1".into()]));
        assert_eq!(rows.len(), 3);
    }

    #[test]
    fn an_unclosed_quote_is_an_error_with_its_line() {
        assert_eq!(parse("a,b\n\"open,c\n").unwrap_err(), "line 2: a quoted field is never closed");
        assert_eq!(parse("a,b\nc,\"open").unwrap_err(), "line 2: a quoted field is never closed");
    }

    #[test]
    fn blank_lines_and_a_byte_order_mark_are_not_records() {
        let rows = parse("\u{feff}a,b\n\n1,2\n\n").unwrap();
        assert_eq!(rows, [(1, vec!["a".into(), "b".into()]), (3, vec!["1".into(), "2".into()])]);
    }

    #[test]
    fn an_empty_file_has_no_records() {
        assert_eq!(parse(""), Ok(vec![]));
    }
}
