//! Other tools' exports, read as triage's own import rows (`triage import FILE --from
//! SOURCE`).
//!
//! Each source turns its records into the JSON objects the API accepts — tickets, ratings or
//! survey responses — and `intake::import` takes them from there (validation, redaction,
//! batches, progress, per-row errors), so an import from Zendesk is checked and stored
//! exactly like a ticket posted to the API. Every row carries the source's own id as its
//! `external_id` (`zendesk:123`, `play:gp:AOqp…`), so importing an export again, or a later
//! export that overlaps it, stores each record once.
//!
//! Field names, date formats and encodings follow each tool's published export
//! documentation; docs/import.md says which field goes where and tests/fixtures/import/
//! holds a small sample of each, written from that documentation. Columns are found by
//! name (in any order, any case, with the names the tools have used over the years), so
//! an export with extra or reordered columns reads the same; a missing required column
//! stops the import before any row is read, naming the names it looked for.

mod columns;
mod helpdesk;
mod reviews;
mod survey_tools;

use std::io::Read;

use serde_json::{Map, Value};

use crate::{Error, Result};
pub use columns::Timezone;
pub use helpdesk::zendesk_ticket;

/// Labels a source adds from fields other than its tags (`channel:email` from Zendesk's
/// `via`, `satisfaction:bad` from its rating). A later state of a ticket that does not carry
/// those fields (a trigger body) keeps them.
pub const DERIVED_LABELS: [&str; 2] = ["channel:", "satisfaction:"];
pub use survey_tools::SurveyPlan;

/// Where an export comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Source {
    /// Zendesk tickets: the admin data export (JSON, one ticket per line) or saved pages of
    /// the Incremental Export API (`{"tickets": [...], "users": [...], ...}`).
    Zendesk,
    /// Freshdesk ticket export (CSV).
    Freshdesk,
    /// Help Scout conversation export (CSV).
    HelpScout,
    /// Intercom conversation export (CSV).
    Intercom,
    /// App Store Connect customer reviews (CSV, or saved `customerReviews` API pages).
    AppStore,
    /// Google Play reviews (the monthly CSV reports, UTF-16 with a byte order mark).
    GooglePlay,
    /// Typeform responses (CSV): a survey is created from the header.
    Typeform,
    /// SurveyMonkey responses (CSV, two header rows): a survey is created from the header.
    SurveyMonkey,
}

/// What rows a source yields.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Yields {
    Tickets,
    Ratings,
    SurveyResponses,
}

impl Source {
    pub fn yields(self) -> Yields {
        match self {
            Source::Zendesk | Source::Freshdesk | Source::HelpScout | Source::Intercom => {
                Yields::Tickets
            }
            Source::AppStore | Source::GooglePlay => Yields::Ratings,
            Source::Typeform | Source::SurveyMonkey => Yields::SurveyResponses,
        }
    }

    /// This source's record `id` as triage stores it: `zendesk:123`.
    pub fn id(self, id: &str) -> String {
        format!("{}:{}", self.prefix(), clip(id.trim(), 180))
    }

    /// The prefix of this source's ids in `external_id` (and in customers' external ids).
    pub fn prefix(self) -> &'static str {
        match self {
            Source::Zendesk => "zendesk",
            Source::Freshdesk => "freshdesk",
            Source::HelpScout => "helpscout",
            Source::Intercom => "intercom",
            Source::AppStore => "appstore",
            Source::GooglePlay => "play",
            Source::Typeform => "typeform",
            Source::SurveyMonkey => "surveymonkey",
        }
    }
}

/// How a survey tool's question columns become questions.
#[derive(Debug, Clone, Default)]
pub struct SurveyOptions {
    /// The survey's title (default: the file name without its extension).
    pub title: Option<String>,
    /// `HEADER=nps|csat|text|skip`: the kind of a question column instead of the one its
    /// values suggest (`skip` leaves the column out).
    pub questions: Vec<(String, String)>,
}

/// Options of `triage import --from`.
#[derive(Debug, Clone, Default)]
pub struct SourceOptions {
    /// The time zone of dates written without one (Freshdesk and SurveyMonkey write the
    /// account's local time); default UTC.
    pub timezone: Timezone,
    pub survey: SurveyOptions,
}

/// One row: its line (or record number) and the object the API would accept.
pub type Row = (u64, Result<Value>);

/// The rows of an export, decoded from UTF-8 or UTF-16 (by byte order mark).
/// Survey sources need their survey first ([`prepare_survey`]).
pub fn rows<R: Read + 'static>(
    source: Source,
    reader: R,
    opts: &SourceOptions,
    survey: Option<SurveyPlan>,
) -> Result<Box<dyn Iterator<Item = Row>>> {
    let reader = columns::decoded(reader);
    let tz = opts.timezone;
    Ok(match source {
        Source::Zendesk => Box::new(helpdesk::zendesk(reader)),
        Source::Freshdesk => Box::new(helpdesk::freshdesk(reader, tz)?),
        Source::HelpScout => Box::new(helpdesk::help_scout(reader, tz)?),
        Source::Intercom => Box::new(helpdesk::intercom(reader, tz)?),
        Source::AppStore => reviews::app_store(reader, tz)?,
        Source::GooglePlay => Box::new(reviews::google_play(reader, tz)?),
        Source::Typeform | Source::SurveyMonkey => {
            let plan = survey.ok_or_else(|| {
                Error::invalid("missing_field", "survey_id", "the survey was not prepared")
            })?;
            Box::new(survey_tools::responses(source, reader, tz, plan)?)
        }
    })
}

/// For survey tools: reads the export once to find its questions and their kinds, and
/// returns the survey to import into — an existing one with the same title and questions
/// (so a second import of the same export adds nothing), or a new one.
pub async fn prepare_survey(
    db: &sea_orm::DatabaseConnection,
    source: Source,
    path: &std::path::Path,
    opts: &SourceOptions,
) -> Result<SurveyPlan> {
    let file = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
    let questions = survey_tools::questions(source, columns::decoded(file), &opts.survey)?;
    let title = match &opts.survey.title {
        Some(t) => t.clone(),
        None => path
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_else(|| "Imported survey".into()),
    };
    survey_tools::find_or_create(db, title, questions).await
}

/// `text` cut to `max` characters (an export's fields are not bound by triage's limits;
/// an over-long one is shortened rather than the row refused).
fn clip(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        Some((at, _)) => {
            let mut s = text[..at].trim_end().to_string();
            s.pop();
            s.push('…');
            s
        }
        None => text.to_string(),
    }
}

/// The first line of `text`, cut to a subject's length: for records without a subject.
fn subject_from(text: &str) -> String {
    let line = text
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .unwrap_or("");
    clip(line, 120)
}

/// Tags as triage takes them: at most 20, each at most 50 characters, none blank.
fn tags(raw: impl IntoIterator<Item = String>) -> Value {
    Value::Array(
        raw.into_iter()
            .map(|t| t.trim().to_string())
            .filter(|t| !t.is_empty())
            .map(|t| clip(&t, crate::intake::validate::MAX_TAG_CHARS))
            .take(crate::intake::validate::MAX_TAGS)
            .map(Value::String)
            .collect(),
    )
}

/// A customer object from what an export knows about the person, or `None` when it knows
/// nothing that identifies them. `id` is the customer's external id as stored: a tool's
/// own ids carry its prefix (`zendesk:42`, [`Source::id`]); ids the team gave (a
/// Typeform hidden `user_id`) do not, so they match the customers posted to the API.
fn customer(
    id: Option<String>,
    email: Option<&str>,
    name: Option<&str>,
    segment: Option<&str>,
) -> Option<Value> {
    let mut c = Map::new();
    if let Some(id) = id {
        c.insert("external_id".into(), id.into());
    }
    if let Some(email) = email.filter(|e| e.contains('@')) {
        c.insert("email".into(), email.into());
    }
    if c.is_empty() {
        return None;
    }
    if let Some(name) = name {
        c.insert("name".into(), clip(name, 200).into());
    }
    if let Some(segment) = segment {
        c.insert("segment".into(), clip(segment, 100).into());
    }
    Some(Value::Object(c))
}

fn row_error(message: String) -> Error {
    Error::Invalid {
        code: "invalid_row",
        field: None,
        message,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clip_keeps_short_text_and_marks_cut_text() {
        assert_eq!(clip("short", 10), "short");
        let cut = clip("a long sentence here", 8);
        assert!(cut.chars().count() <= 8, "{cut}");
        assert!(cut.ends_with('…'));
        assert_eq!(subject_from("\n  First line\nsecond"), "First line");
    }

    #[test]
    fn tags_are_bounded() {
        let many = (0..30)
            .map(|i| format!("t{i}"))
            .chain(["".into(), "x".repeat(80)]);
        let Value::Array(t) = tags(many) else {
            panic!()
        };
        assert_eq!(t.len(), 20);
        assert!(t.iter().all(|t| t.as_str().unwrap().chars().count() <= 50));
    }

    #[test]
    fn a_customer_needs_an_id_or_an_email() {
        assert!(customer(None, Some("not an email"), Some("Ann"), None).is_none());
        let c = customer(Some(Source::Zendesk.id("42")), None, Some("Ann"), None).unwrap();
        assert_eq!(c["external_id"], "zendesk:42");
        assert_eq!(c["name"], "Ann");
    }
}
