//! ISO weeks (`2026-W47`): the unit digests are sent and deduplicated by. A week runs
//! from Monday 00:00 to the next Monday 00:00, UTC, for the digest's figures; *when* a
//! recipient gets it follows their own time zone (see `schedule`).

use std::fmt;

use chrono::{DateTime, Datelike, Duration, NaiveDate, TimeZone, Utc, Weekday};

use crate::{Error, Result};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct IsoWeek {
    pub year: i32,
    pub week: u32,
}

impl IsoWeek {
    pub fn of(date: NaiveDate) -> Self {
        let w = date.iso_week();
        Self {
            year: w.year(),
            week: w.week(),
        }
    }

    pub fn containing(t: DateTime<Utc>) -> Self {
        Self::of(t.date_naive())
    }

    /// `2026-W47` (or `2026-w47`).
    pub fn parse(field: &str, text: &str) -> Result<Self> {
        let bad = || {
            Error::invalid(
                "invalid_value",
                field,
                format!("{field} must be an ISO week like 2026-W47, got {text:?}"),
            )
        };
        let (y, w) = text.trim().split_once(['W', 'w']).ok_or_else(bad)?;
        let year: i32 = y.trim_end_matches('-').parse().map_err(|_| bad())?;
        let week: u32 = w.parse().map_err(|_| bad())?;
        NaiveDate::from_isoywd_opt(year, week, Weekday::Mon).ok_or_else(bad)?;
        Ok(Self { year, week })
    }

    pub fn monday(self) -> NaiveDate {
        NaiveDate::from_isoywd_opt(self.year, self.week, Weekday::Mon)
            .expect("weeks are validated when built")
    }

    /// Monday 00:00 UTC.
    pub fn start(self) -> DateTime<Utc> {
        Utc.from_utc_datetime(&self.monday().and_hms_opt(0, 0, 0).expect("midnight"))
    }

    /// The next Monday 00:00 UTC (exclusive).
    pub fn end(self) -> DateTime<Utc> {
        self.start() + Duration::weeks(1)
    }

    pub fn previous(self) -> Self {
        Self::of(self.monday() - Duration::weeks(1))
    }
}

impl fmt::Display for IsoWeek {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-W{:02}", self.year, self.week)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_prints_and_spans_a_week() {
        let w = IsoWeek::parse("week", "2026-W47").unwrap();
        assert_eq!(w.to_string(), "2026-W47");
        assert_eq!(w.start().to_rfc3339(), "2026-11-16T00:00:00+00:00");
        assert_eq!(w.end().to_rfc3339(), "2026-11-23T00:00:00+00:00");
        assert_eq!(w.previous().to_string(), "2026-W46");
        assert_eq!(IsoWeek::containing(w.end()).to_string(), "2026-W48");
        // The first ISO week of 2027 starts on Monday 2027-01-04; 2026-W53 exists.
        assert_eq!(
            IsoWeek::parse("week", "2027-W01")
                .unwrap()
                .previous()
                .to_string(),
            "2026-W53"
        );
    }

    #[test]
    fn bad_weeks_name_the_field() {
        for bad in ["2026-47", "2026-W54", "W47", "2026-Wx"] {
            let e = IsoWeek::parse("week", bad).unwrap_err();
            assert!(e.to_string().contains("ISO week"), "{bad}: {e}");
        }
    }
}
