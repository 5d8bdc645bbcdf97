//! What every export reader shares: decoding, finding columns by name, reading dates.

use std::io::Read;

use chrono::{DateTime, NaiveDate, NaiveDateTime, TimeZone, Utc};
use csv::StringRecord;

use super::{row_error, Row};
use crate::{Error, Result};

/// The file as UTF-8: a UTF-16 (LE or BE) or UTF-8 byte order mark is honoured and
/// removed; without one the bytes are read as UTF-8.
pub fn decoded<R: Read>(reader: R) -> impl Read {
    encoding_rs_io::DecodeReaderBytesBuilder::new()
        .strip_bom(true)
        .build(reader)
}

/// The time zone of dates written without one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timezone(pub chrono_tz::Tz);

impl Default for Timezone {
    fn default() -> Self {
        Timezone(chrono_tz::UTC)
    }
}

impl std::str::FromStr for Timezone {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        s.trim()
            .parse::<chrono_tz::Tz>()
            .map(Timezone)
            .map_err(|_| format!("{s:?} is not a time zone name such as UTC or Europe/Berlin"))
    }
}

/// Date and time layouts the exports use, tried in order after RFC 3339.
const LAYOUTS: &[&str] = &[
    "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%d %H:%M",
    "%Y-%m-%dT%H:%M:%S",
    "%Y-%m-%dT%H:%M:%S%.f",
    "%m/%d/%Y %I:%M:%S %p",
    "%m/%d/%Y %I:%M %p",
    "%m/%d/%Y %H:%M:%S",
    "%m/%d/%Y %H:%M",
];
const ZONED_LAYOUTS: &[&str] = &[
    "%Y-%m-%d %H:%M:%S %z",
    "%Y-%m-%d %H:%M:%S%z",
    "%a, %d %b %Y %H:%M:%S %z",
];

/// A date from an export as RFC 3339 in UTC; `column` names it in the error.
pub fn when(raw: &str, tz: Timezone, column: &str) -> Result<String> {
    let t = raw.trim();
    let t = t
        .strip_suffix(" UTC")
        .or_else(|| t.strip_suffix(" GMT"))
        .unwrap_or(t);
    let utc = if let Ok(d) = DateTime::parse_from_rfc3339(t) {
        Some(d.with_timezone(&Utc))
    } else if let Some(d) = ZONED_LAYOUTS
        .iter()
        .find_map(|l| DateTime::parse_from_str(t, l).ok())
    {
        Some(d.with_timezone(&Utc))
    } else if let Some(n) = LAYOUTS
        .iter()
        .find_map(|l| NaiveDateTime::parse_from_str(t, l).ok())
        .or_else(|| {
            ["%Y-%m-%d", "%m/%d/%Y"]
                .iter()
                .find_map(|l| NaiveDate::parse_from_str(t, l).ok())
                .and_then(|d| d.and_hms_opt(0, 0, 0))
        })
    {
        // An hour that does not exist (spring forward) or exists twice: its first reading.
        tz.0.from_local_datetime(&n)
            .earliest()
            .map(|d| d.with_timezone(&Utc))
    } else if t.len() >= 12 && t.bytes().all(|b| b.is_ascii_digit()) {
        // Milliseconds since the epoch (Google Play's "… Millis Since Epoch").
        t.parse::<i64>()
            .ok()
            .and_then(DateTime::from_timestamp_millis)
    } else {
        None
    };
    utc.map(|d| d.to_rfc3339()).ok_or_else(|| {
        Error::invalid(
            "invalid_value",
            column,
            format!("{column}: cannot read {raw:?} as a date and time"),
        )
    })
}

/// A column an export reader needs: the names it has gone by, and whether rows cannot do
/// without it.
pub struct Column {
    pub names: &'static [&'static str],
    pub required: bool,
}

pub const fn required(names: &'static [&'static str]) -> Column {
    Column {
        names,
        required: true,
    }
}

pub const fn optional(names: &'static [&'static str]) -> Column {
    Column {
        names,
        required: false,
    }
}

/// Where each wanted column is in a header (compared trimmed, ignoring case).
pub struct Located(Vec<Option<usize>>);

impl Located {
    pub fn find(source: &str, header: &StringRecord, wanted: &[Column]) -> Result<Self> {
        let names: Vec<String> = header.iter().map(|h| h.trim().to_lowercase()).collect();
        let mut at = Vec::with_capacity(wanted.len());
        for column in wanted {
            let found = column
                .names
                .iter()
                .find_map(|n| names.iter().position(|h| h == &n.to_lowercase()));
            if found.is_none() && column.required {
                return Err(Error::invalid(
                    "missing_field",
                    column.names[0],
                    format!(
                        "this is not a {source} export as documented: no column named {}",
                        column
                            .names
                            .iter()
                            .map(|n| format!("{n:?}"))
                            .collect::<Vec<_>>()
                            .join(" or ")
                    ),
                ));
            }
            at.push(found);
        }
        Ok(Located(at))
    }

    /// The trimmed, non-empty value of wanted column `i` in `record`.
    pub fn get<'r>(&self, record: &'r StringRecord, i: usize) -> Option<&'r str> {
        self.0[i]
            .and_then(|c| record.get(c))
            .map(str::trim)
            .filter(|v| !v.is_empty())
    }
}

/// A CSV export's records, each turned into a row by `row` (given the located columns).
pub fn csv_rows<R: Read + 'static>(
    source: &'static str,
    reader: R,
    wanted: &'static [Column],
    mut row: impl FnMut(&Located, &StringRecord) -> Result<serde_json::Value> + 'static,
) -> Result<impl Iterator<Item = Row>> {
    let mut rdr = csv::ReaderBuilder::new().flexible(true).from_reader(reader);
    let header = rdr
        .headers()
        .map_err(|e| row_error(format!("cannot read the CSV header: {e}")))?
        .clone();
    let located = Located::find(source, &header, wanted)?;
    let mut records = rdr.into_records();
    Ok(std::iter::from_fn(move || {
        let record = records.next()?;
        Some(match record {
            Ok(r) => (r.position().map_or(0, |p| p.line()), row(&located, &r)),
            Err(e) => (
                e.position().map_or(0, |p| p.line()),
                Err(row_error(format!("malformed CSV: {e}"))),
            ),
        })
    }))
}

/// Records from a stream of JSON values (one per line, or pretty-printed one after the
/// other): `records` turns each value — a record, or an API page of them — into rows,
/// numbered in order.
pub fn json_values<R: Read>(
    reader: R,
    mut records: impl FnMut(serde_json::Value) -> Vec<Result<serde_json::Value>>,
) -> impl Iterator<Item = Row> {
    let mut values = serde_json::Deserializer::from_reader(reader).into_iter();
    let mut queue = std::collections::VecDeque::new();
    let mut record = 0u64;
    let mut broken = false;
    std::iter::from_fn(move || loop {
        if let Some(row) = queue.pop_front() {
            return Some(row);
        }
        if broken {
            return None;
        }
        match values.next()? {
            Ok(v) => {
                for row in records(v) {
                    record += 1;
                    queue.push_back((record, row));
                }
            }
            Err(e) => {
                // After a syntax error the stream cannot be resynchronised.
                broken = true;
                record += 1;
                return Some((record, Err(row_error(format!("not JSON: {e}")))));
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_in_the_exports_layouts() {
        let utc = Timezone::default();
        for (raw, want) in [
            ("2024-03-05T10:20:30Z", "2024-03-05T10:20:30+00:00"),
            ("2024-03-05T12:20:30+02:00", "2024-03-05T10:20:30+00:00"),
            ("2024-03-05 10:20:30", "2024-03-05T10:20:30+00:00"),
            ("2024-03-05 10:20:30 UTC", "2024-03-05T10:20:30+00:00"),
            ("2024-03-05 12:20:30 +0200", "2024-03-05T10:20:30+00:00"),
            ("03/05/2024 10:20:30 AM", "2024-03-05T10:20:30+00:00"),
            ("03/05/2024 10:20:30 PM", "2024-03-05T22:20:30+00:00"),
            ("2024-03-05", "2024-03-05T00:00:00+00:00"),
            ("1709634030000", "2024-03-05T10:20:30+00:00"),
        ] {
            assert_eq!(when(raw, utc, "date").unwrap(), want, "{raw}");
        }
        let berlin: Timezone = "Europe/Berlin".parse().unwrap();
        assert_eq!(
            when("2024-03-05 11:20:30", berlin, "date").unwrap(),
            "2024-03-05T10:20:30+00:00"
        );
        let e = when("next tuesday", utc, "Created time").unwrap_err();
        assert!(e.to_string().contains("Created time"), "{e}");
    }

    #[test]
    fn utf16_with_a_byte_order_mark_is_read_as_text() {
        let text = "Star Rating,Review Text\n5,Très bien\n";
        let mut bytes = vec![0xFF, 0xFE];
        for unit in text.encode_utf16() {
            bytes.extend_from_slice(&unit.to_le_bytes());
        }
        let mut out = String::new();
        decoded(&bytes[..]).read_to_string(&mut out).unwrap();
        assert_eq!(out, text);
        let mut out = String::new();
        let utf8_bom = [&[0xEF, 0xBB, 0xBF][..], text.as_bytes()].concat();
        decoded(&utf8_bom[..]).read_to_string(&mut out).unwrap();
        assert_eq!(out, text);
    }

    #[test]
    fn a_missing_required_column_is_named() {
        let header = StringRecord::from(vec!["Subject", "Other"]);
        let wanted = [required(&["Ticket ID", "ID"]), optional(&["subject"])];
        let e = Located::find("Freshdesk", &header, &wanted).err().unwrap();
        assert!(e.to_string().contains("\"Ticket ID\" or \"ID\""), "{e}");
        let wanted = [optional(&["subject"])];
        let at = Located::find("Freshdesk", &header, &wanted).unwrap();
        let rec = StringRecord::from(vec![" Hello ", "x"]);
        assert_eq!(at.get(&rec, 0), Some("Hello"));
    }
}
