//! App store reviews → star ratings: the app version is the rating's subject ("App Store
//! 2.4.1", "Google Play 2.4.1"), the title and text its comment.
//!
//! * App Store Connect: its `customerReviews` API pages (JSON: `data[].attributes.rating,
//!   title, body, reviewerNickname, createdDate, territory`), or a CSV with those fields
//!   as columns plus the app version. The nickname is the customer (`appstore:<nickname>`)
//!   and the territory their segment.
//! * Google Play: the monthly reviews report (`reviews_<package>_<YYYYMM>.csv`, UTF-16
//!   with a byte order mark). It names no reviewer, so these ratings have no customer; the
//!   review id in `Review Link` is the external id, so a review edited later (it reappears
//!   in a later month's report) is stored once.

use std::io::{BufRead, BufReader, Read};

use csv::StringRecord;
use serde_json::{Map, Value};

use super::columns::{csv_rows, json_values, optional, required, when, Column, Located, Timezone};
use super::{clip, customer, Row, Source};
use crate::intake::validate::{MAX_SUBJECT_CHARS, MAX_TEXT_CHARS};
use crate::{Error, Result};

static APP_STORE: [Column; 8] = [
    optional(&["Review ID", "ID"]),
    required(&["Rating", "Star Rating", "Stars"]),
    optional(&["Title", "Review Title"]),
    optional(&["Review", "Body", "Review Text", "Content"]),
    optional(&["Nickname", "Reviewer Nickname", "Reviewer", "Author"]),
    optional(&["Date", "Created Date", "Review Date", "Last Modified"]),
    optional(&["Version", "App Version", "Version Name"]),
    optional(&["Territory", "Country", "Storefront"]),
];

static GOOGLE_PLAY: [Column; 6] = [
    optional(&["Review Link"]),
    required(&["Star Rating"]),
    optional(&["Review Title"]),
    optional(&["Review Text"]),
    optional(&[
        "Review Submit Date and Time",
        "Review Submit Millis Since Epoch",
    ]),
    optional(&["App Version Name"]),
];

/// What a review says, whichever store it comes from.
struct Review<'a> {
    id: Option<String>,
    rating: &'a str,
    title: Option<&'a str>,
    text: Option<&'a str>,
    reviewer: Option<&'a str>,
    date: Option<&'a str>,
    store: &'static str,
    version: Option<&'a str>,
    territory: Option<&'a str>,
}

impl Review<'_> {
    fn row(&self, source: Source, tz: Timezone, rating_column: &str) -> Result<Value> {
        let score: i64 = self.rating.trim().parse().map_err(|_| {
            Error::invalid(
                "invalid_type",
                rating_column,
                format!(
                    "{rating_column} must be a whole number of stars, got {:?}",
                    self.rating
                ),
            )
        })?;
        let mut row = Map::new();
        row.insert("score".into(), score.into());
        if let Some(id) = &self.id {
            row.insert("external_id".into(), source.id(id).into());
        }
        let comment = match (self.title, self.text) {
            (Some(t), Some(b)) => Some(format!("{t}\n\n{b}")),
            (t, b) => t.or(b).map(str::to_string),
        };
        if let Some(c) = comment {
            row.insert("comment".into(), clip(&c, MAX_TEXT_CHARS).into());
        }
        let subject = match self.version {
            Some(v) => format!("{} {v}", self.store),
            None => self.store.to_string(),
        };
        row.insert("subject".into(), clip(&subject, MAX_SUBJECT_CHARS).into());
        if let Some(d) = self.date {
            row.insert("created_at".into(), when(d, tz, "date")?.into());
        }
        if let Some(c) = customer(
            self.reviewer.map(|r| source.id(r)),
            None,
            self.reviewer,
            self.territory,
        ) {
            row.insert("customer".into(), c);
        }
        Ok(Value::Object(row))
    }
}

/// App Store reviews: JSON API pages when the file starts with `{`, CSV otherwise.
pub fn app_store<R: Read + 'static>(
    reader: R,
    tz: Timezone,
) -> Result<Box<dyn Iterator<Item = Row>>> {
    let mut reader = BufReader::new(reader);
    let first = reader
        .fill_buf()
        .map_err(|e| super::row_error(format!("cannot read: {e}")))?
        .iter()
        .find(|b| !b.is_ascii_whitespace())
        .copied();
    if first == Some(b'{') {
        return Ok(Box::new(json_values(reader, move |page| {
            let data = match page.get("data") {
                Some(Value::Array(d)) => d.clone(),
                Some(one @ Value::Object(_)) => vec![one.clone()],
                _ => vec![page],
            };
            data.iter().map(|r| app_store_json(r, tz)).collect()
        })));
    }
    Ok(Box::new(csv_rows(
        "App Store",
        reader,
        &APP_STORE,
        move |at, rec| app_store_csv(at, rec, tz),
    )?))
}

fn app_store_json(r: &Value, tz: Timezone) -> Result<Value> {
    let a = r.get("attributes").unwrap_or(r);
    let text = |k: &str| {
        a.get(k)
            .and_then(Value::as_str)
            .map(str::trim)
            .filter(|s| !s.is_empty())
    };
    let rating = a.get("rating").map(|v| match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    });
    let rating = rating.ok_or_else(|| {
        Error::invalid("missing_field", "rating", "a review without a \"rating\"")
    })?;
    Review {
        id: r.get("id").and_then(Value::as_str).map(str::to_string),
        rating: &rating,
        title: text("title"),
        text: text("body"),
        reviewer: text("reviewerNickname"),
        date: text("createdDate"),
        store: "App Store",
        version: None,
        territory: text("territory"),
    }
    .row(Source::AppStore, tz, "rating")
}

fn app_store_csv(at: &Located, rec: &StringRecord, tz: Timezone) -> Result<Value> {
    Review {
        id: at.get(rec, 0).map(str::to_string),
        rating: at.get(rec, 1).unwrap_or(""),
        title: at.get(rec, 2),
        text: at.get(rec, 3),
        reviewer: at.get(rec, 4),
        date: at.get(rec, 5),
        store: "App Store",
        version: at.get(rec, 6),
        territory: at.get(rec, 7),
    }
    .row(Source::AppStore, tz, APP_STORE[1].names[0])
}

pub fn google_play<R: Read + 'static>(
    reader: R,
    tz: Timezone,
) -> Result<impl Iterator<Item = Row>> {
    csv_rows("Google Play", reader, &GOOGLE_PLAY, move |at, rec| {
        Review {
            id: at.get(rec, 0).map(play_review_id),
            rating: at.get(rec, 1).unwrap_or(""),
            title: at.get(rec, 2),
            text: at.get(rec, 3),
            reviewer: None,
            date: at.get(rec, 4),
            store: "Google Play",
            version: at.get(rec, 5),
            territory: None,
        }
        .row(Source::GooglePlay, tz, GOOGLE_PLAY[1].names[0])
    })
}

/// The review id in a review link (`…?reviewId=gp:AOqp…`), or the whole link.
fn play_review_id(link: &str) -> String {
    link.split(['?', '&'])
        .find_map(|p| p.strip_prefix("reviewId="))
        .unwrap_or(link)
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn play_reviews_from_utf16_with_their_review_ids() {
        let text = "Package Name,App Version Code,App Version Name,Reviewer Language,Device,Review Submit Date and Time,Review Submit Millis Since Epoch,Review Last Update Date and Time,Review Last Update Millis Since Epoch,Star Rating,Review Title,Review Text,Developer Reply Date and Time,Developer Reply Millis Since Epoch,Developer Reply Text,Review Link\n\
com.example.bank,312,4.2.0,de,a52,2024-02-01T09:30:00Z,1706779800000,2024-02-01T09:30:00Z,1706779800000,2,,Die App stürzt beim Login ab,,,,http://play.google.com/console/developers/1/app/2/user-feedback/review-details?reviewId=gp:AOqpTOE1&corpus=PUBLIC_REVIEWS\n";
        let mut bytes = vec![0xFF, 0xFE];
        for u in text.encode_utf16() {
            bytes.extend_from_slice(&u.to_le_bytes());
        }
        let rows: Vec<Row> = google_play(
            super::super::columns::decoded(std::io::Cursor::new(bytes)),
            Timezone::default(),
        )
        .unwrap()
        .collect();
        let r = rows[0].1.as_ref().unwrap();
        assert_eq!(r["score"], 2);
        assert_eq!(r["external_id"], "play:gp:AOqpTOE1");
        assert_eq!(r["subject"], "Google Play 4.2.0");
        assert_eq!(r["comment"], "Die App stürzt beim Login ab");
        assert!(r.get("customer").is_none());
    }

    #[test]
    fn app_store_api_pages() {
        let page = r#"{"data": [{"type": "customerReviews", "id": "00000001", "attributes": {"rating": 1, "title": "Crashes", "body": "Crashes at login", "reviewerNickname": "sam77", "createdDate": "2024-02-01T09:30:00-08:00", "territory": "USA"}}], "links": {"self": "x"}}"#;
        let rows: Vec<Row> = app_store(
            std::io::Cursor::new(page.as_bytes().to_vec()),
            Timezone::default(),
        )
        .unwrap()
        .collect();
        let r = rows[0].1.as_ref().unwrap();
        assert_eq!(r["comment"], "Crashes\n\nCrashes at login");
        assert_eq!(r["customer"]["external_id"], "appstore:sam77");
        assert_eq!(r["customer"]["segment"], "USA");
        assert_eq!(r["created_at"], "2024-02-01T17:30:00+00:00");
    }

    #[test]
    fn a_rating_that_is_not_a_number_names_its_column() {
        let csv = "Rating,Review\nfive,great\n";
        let rows: Vec<Row> = app_store(
            std::io::Cursor::new(csv.as_bytes().to_vec()),
            Timezone::default(),
        )
        .unwrap()
        .collect();
        let e = rows[0].1.as_ref().unwrap_err().to_string();
        assert!(e.contains("Rating"), "{e}");
    }
}
