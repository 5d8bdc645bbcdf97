//! Bulk import of CSV and JSONL files — triage's own columns, or another tool's export
//! read through [`super::sources`].
//!
//! Rows stream through in batches of [`BATCH_ROWS`], so memory stays flat whatever the file
//! size. Each batch is validated row by row — a bad row is reported with its line number
//! and skipped, the good ones are kept — and stored in one transaction (see `store`).
//! Importing the same file twice adds nothing: rows are keyed by their `external_id`, and a
//! row without one gets a stable id derived from its content (`sha256:…`).
//!
//! CSV columns are the JSON field names, with customer fields flattened as
//! `customer_email`, `customer_external_id`, …; `tags` are separated by `,`, `;` or `|`.
//! Survey responses name answer columns by question id (`q12` or `12`) or by kind
//! (`nps`, `csat`, `text`, `comment`) for the survey's first question of that kind.

use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::Path;
use std::time::Instant;

use sea_orm::DatabaseConnection;
use serde::Serialize;
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use super::input::{RatingInput, SurveyResponseInput, TicketInput};
use super::json;
use super::sources::{self, Source, SourceOptions, Yields};
use super::store::{self, Intake, Outcome};
use super::surveys::ResponseValidator;
use super::validate;
use crate::{Error, Result};

pub const BATCH_ROWS: usize = 1000;
/// Bad rows listed in the report (all are counted).
const MAX_REPORTED_ERRORS: usize = 1000;

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ImportKind {
    Ticket,
    Rating,
    SurveyResponse,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Csv,
    Jsonl,
}

impl Format {
    /// From the file name: `.csv` is CSV, `.jsonl`/`.ndjson`/`.json` is JSONL.
    pub fn from_path(path: &Path) -> Result<Format> {
        let ext = path
            .extension()
            .and_then(|e| e.to_str())
            .unwrap_or("")
            .to_lowercase();
        match ext.as_str() {
            "csv" => Ok(Format::Csv),
            "jsonl" | "ndjson" | "json" => Ok(Format::Jsonl),
            _ => Err(Error::invalid(
                "invalid_value",
                "format",
                format!(
                    "cannot tell the format of {}: name it .csv or .jsonl, or pass --format",
                    path.display()
                ),
            )),
        }
    }
}

pub struct ImportOptions {
    pub kind: ImportKind,
    pub format: Format,
    /// Survey for survey-response rows that do not name one.
    pub survey_id: Option<i64>,
    /// Another tool's export instead of triage's own columns (`--from`).
    pub from: Option<(Source, SourceOptions)>,
}

impl ImportOptions {
    /// Options for an export of `source` (the kind of rows follows from the source).
    pub fn from_source(source: Source, options: SourceOptions) -> Self {
        Self {
            kind: match source.yields() {
                Yields::Tickets => ImportKind::Ticket,
                Yields::Ratings => ImportKind::Rating,
                Yields::SurveyResponses => ImportKind::SurveyResponse,
            },
            format: Format::Csv,
            survey_id: None,
            from: Some((source, options)),
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct RowError {
    pub line: u64,
    pub field: Option<String>,
    pub message: String,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct ImportReport {
    /// Rows stored now.
    pub imported: u64,
    /// Rows whose external id was already stored (or repeated in the file).
    pub skipped: u64,
    /// Rows rejected as invalid.
    pub failed: u64,
    pub seconds: f64,
    /// The first bad rows, with line numbers.
    pub errors: Vec<RowError>,
}

/// Called after every stored batch with the report so far and the bytes read; the CLI
/// moves its progress bar and lets the index catch up.
pub trait ImportObserver {
    fn batch_stored(
        &mut self,
        report: &ImportReport,
        bytes_read: u64,
    ) -> impl std::future::Future<Output = Result<()>>;
}

/// Imports `path`, masking `redact`'s kinds of personal data in every row's text.
pub async fn import(
    db: &DatabaseConnection,
    path: &Path,
    opts: &ImportOptions,
    redact: super::redact::Redact,
    observer: &mut impl ImportObserver,
) -> Result<ImportReport> {
    let started = Instant::now();
    let file = File::open(path).map_err(|e| Error::io(path, e))?;
    let counter = CountingReader::new(BufReader::with_capacity(1 << 20, file));
    let bytes = counter.counter();
    let rows: Box<dyn Iterator<Item = (u64, Result<Value>)>> = match (&opts.from, opts.format) {
        (Some((source, options)), _) => {
            let survey = match source.yields() {
                Yields::SurveyResponses => {
                    Some(sources::prepare_survey(db, *source, path, options).await?)
                }
                _ => None,
            };
            sources::rows(*source, counter, options, survey)?
        }
        (None, Format::Csv) => Box::new(csv_rows(counter, opts.kind)?),
        (None, Format::Jsonl) => Box::new(jsonl_rows(counter)),
    };
    let mut report = ImportReport::default();
    match opts.kind {
        ImportKind::Ticket => {
            let mut parse = |_: &DatabaseConnection, v: Value| async move {
                validate::ticket(json::from_value::<TicketInput>(v)?)
            };
            run(db, rows, &mut parse, &mut report, observer, &bytes, redact).await?
        }
        ImportKind::Rating => {
            let mut parse = |_: &DatabaseConnection, v: Value| async move {
                validate::rating(json::from_value::<RatingInput>(v)?)
            };
            run(db, rows, &mut parse, &mut report, observer, &bytes, redact).await?
        }
        ImportKind::SurveyResponse => {
            let mut responses = SurveyRows {
                validator: ResponseValidator::default(),
                default_survey: opts.survey_id,
            };
            run(
                db,
                rows,
                &mut responses,
                &mut report,
                observer,
                &bytes,
                redact,
            )
            .await?
        }
    }
    report.seconds = started.elapsed().as_secs_f64();
    Ok(report)
}

/// Turns one row (as a JSON object) into a validated item.
trait RowParser<T> {
    async fn parse(&mut self, db: &DatabaseConnection, row: Value) -> Result<T>;
}

impl<T, F, Fut> RowParser<T> for F
where
    F: FnMut(&DatabaseConnection, Value) -> Fut,
    Fut: std::future::Future<Output = Result<T>>,
{
    async fn parse(&mut self, db: &DatabaseConnection, row: Value) -> Result<T> {
        self(db, row).await
    }
}

struct SurveyRows {
    validator: ResponseValidator,
    default_survey: Option<i64>,
}

impl RowParser<validate::NewResponse> for SurveyRows {
    async fn parse(
        &mut self,
        db: &DatabaseConnection,
        mut row: Value,
    ) -> Result<validate::NewResponse> {
        let field = if row.get("survey_id").is_some() {
            "survey_id"
        } else {
            "--survey"
        };
        let survey_id = match row.get("survey_id") {
            Some(v) => v.as_i64().ok_or_else(|| {
                Error::invalid(
                    "invalid_type",
                    "survey_id",
                    "survey_id must be a whole number",
                )
            })?,
            None => self.default_survey.ok_or_else(|| {
                Error::invalid(
                    "missing_field",
                    "survey_id",
                    "survey_id is required (or pass --survey ID)",
                )
            })?,
        };
        // Answer columns named by kind (`nps`, `comment`) need the survey's questions.
        let questions = &self.validator.survey(db, survey_id, field).await?.questions;
        if let Some(answers) = row.get_mut("answers").and_then(Value::as_object_mut) {
            resolve_answer_keys(answers, questions);
        }
        let input: SurveyResponseInput = json::from_value(row)?;
        self.validator.validate(db, survey_id, field, input).await
    }
}

/// Renames answer keys given by kind (`nps`, `comment`, `q12`) to question ids.
fn resolve_answer_keys(
    answers: &mut Map<String, Value>,
    questions: &[crate::db::entity::survey_question::Model],
) {
    let keys: Vec<String> = answers.keys().cloned().collect();
    for key in keys {
        let lower = key.to_lowercase();
        let kind = if lower == "comment" {
            "text"
        } else {
            lower.as_str()
        };
        let id = if let Some(q) = questions.iter().find(|q| q.kind == kind) {
            Some(q.id.to_string())
        } else {
            lower
                .strip_prefix('q')
                .filter(|n| n.parse::<i64>().is_ok())
                .map(str::to_string)
        };
        if let Some(id) = id.filter(|id| *id != key) {
            if let Some(v) = answers.remove(&key) {
                answers.insert(id, v);
            }
        }
    }
}

async fn run<T: Intake>(
    db: &DatabaseConnection,
    rows: Box<dyn Iterator<Item = (u64, Result<Value>)> + '_>,
    parser: &mut impl RowParser<T>,
    report: &mut ImportReport,
    observer: &mut impl ImportObserver,
    bytes: &std::rc::Rc<std::cell::Cell<u64>>,
    redact: super::redact::Redact,
) -> Result<()> {
    let mut batch: Vec<T> = Vec::with_capacity(BATCH_ROWS);
    for (line, row) in rows {
        let parsed = match row {
            Ok(mut value) => {
                let fallback_id = content_id(&value);
                if let Some(obj) = value.as_object_mut() {
                    obj.entry("external_id")
                        .or_insert(Value::String(fallback_id));
                }
                parser.parse(db, value).await
            }
            Err(e) => Err(e),
        };
        match parsed {
            Ok(item) => batch.push(item),
            Err(e) if e.is_client_error() => report.fail(line, &e),
            Err(e) => return Err(e),
        }
        if batch.len() >= BATCH_ROWS {
            flush(db, &mut batch, report, redact).await?;
            observer.batch_stored(report, bytes.get()).await?;
        }
    }
    flush(db, &mut batch, report, redact).await?;
    observer.batch_stored(report, bytes.get()).await
}

async fn flush<T: Intake>(
    db: &DatabaseConnection,
    batch: &mut Vec<T>,
    report: &mut ImportReport,
    redact: super::redact::Redact,
) -> Result<()> {
    if batch.is_empty() {
        return Ok(());
    }
    for outcome in store::store(db, batch, store::Source::Import, redact).await? {
        match outcome {
            Outcome::Created { .. } => report.imported += 1,
            Outcome::Duplicate { .. } => report.skipped += 1,
        }
    }
    batch.clear();
    Ok(())
}

impl ImportReport {
    fn fail(&mut self, line: u64, e: &Error) {
        self.failed += 1;
        if self.errors.len() < MAX_REPORTED_ERRORS {
            let field = match e {
                Error::Invalid { field, .. } => field.clone(),
                Error::Unprocessable { field, .. } => Some(field.clone()),
                _ => None,
            };
            self.errors.push(RowError {
                line,
                field,
                message: e.to_string(),
            });
        }
    }
}

/// A stable id for a row without one: the same row content always gets the same id.
fn content_id(row: &Value) -> String {
    let digest = Sha256::digest(row.to_string().as_bytes());
    format!("sha256:{}", &hex::encode(digest)[..32])
}

fn row_error(message: String) -> Error {
    Error::Invalid {
        code: "invalid_row",
        field: None,
        message,
    }
}

fn jsonl_rows<R: Read>(reader: R) -> impl Iterator<Item = (u64, Result<Value>)> {
    let mut lines = BufReader::new(reader).split(b'\n');
    let mut line_no = 0u64;
    std::iter::from_fn(move || loop {
        line_no += 1;
        let raw = match lines.next()? {
            Ok(raw) => raw,
            Err(e) => return Some((line_no, Err(row_error(format!("cannot read: {e}"))))),
        };
        if raw.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        return Some((
            line_no,
            match json::parse::<Value>(&raw) {
                Ok(v @ Value::Object(_)) => Ok(v),
                Ok(_) => Err(row_error("each line must be a JSON object".into())),
                Err(e) => Err(e),
            },
        ));
    })
}

const CUSTOMER_COLUMNS: [&str; 6] = [
    "external_id",
    "email",
    "name",
    "segment",
    "account_value",
    "notify_opt_in",
];

fn allowed_columns(kind: ImportKind) -> &'static [&'static str] {
    match kind {
        ImportKind::Ticket => &[
            "subject",
            "body",
            "priority",
            "status",
            "tags",
            "external_id",
            "created_at",
        ],
        ImportKind::Rating => &["score", "comment", "subject", "external_id", "created_at"],
        ImportKind::SurveyResponse => &["survey_id", "external_id", "created_at"],
    }
}

fn csv_rows<R: Read + 'static>(
    reader: R,
    kind: ImportKind,
) -> Result<impl Iterator<Item = (u64, Result<Value>)>> {
    let mut rdr = csv::ReaderBuilder::new()
        .flexible(false)
        .from_reader(reader);
    let headers: Vec<String> = rdr
        .headers()
        .map_err(|e| row_error(format!("cannot read the CSV header: {e}")))?
        .iter()
        .map(|h| h.trim().to_lowercase())
        .collect();
    for h in &headers {
        let known = allowed_columns(kind).contains(&h.as_str())
            || h.strip_prefix("customer_")
                .is_some_and(|c| CUSTOMER_COLUMNS.contains(&c))
            || kind == ImportKind::SurveyResponse;
        if !known {
            return Err(Error::invalid(
                "unknown_field",
                h.clone(),
                format!(
                    "unknown CSV column {h:?}; columns for this kind: {}, customer_{{{}}}",
                    allowed_columns(kind).join(", "),
                    CUSTOMER_COLUMNS.join(",")
                ),
            ));
        }
    }
    let mut records = rdr.into_records();
    Ok(std::iter::from_fn(move || {
        let record = records.next()?;
        Some(match record {
            Ok(r) => (
                r.position().map_or(0, |p| p.line()),
                csv_row(&headers, &r, kind),
            ),
            Err(e) => (
                e.position().map_or(0, |p| p.line()),
                Err(row_error(format!("malformed CSV: {e}"))),
            ),
        })
    }))
}

/// One CSV record as the JSON object the API would accept.
fn csv_row(headers: &[String], record: &csv::StringRecord, kind: ImportKind) -> Result<Value> {
    let mut obj = Map::new();
    let mut customer = Map::new();
    let mut answers = Map::new();
    for (h, raw) in headers.iter().zip(record.iter()) {
        if raw.trim().is_empty() {
            continue;
        }
        let raw = raw.to_string();
        if let Some(c) = h
            .strip_prefix("customer_")
            .filter(|c| CUSTOMER_COLUMNS.contains(c))
        {
            let value = match c {
                "account_value" => number(h, &raw)?,
                "notify_opt_in" => boolean(h, &raw)?,
                _ => Value::String(raw),
            };
            customer.insert(c.to_string(), value);
            continue;
        }
        let value = match h.as_str() {
            "score" | "survey_id" => number(h, &raw)?,
            "tags" => Value::Array(
                raw.split([',', ';', '|'])
                    .map(str::trim)
                    .filter(|t| !t.is_empty())
                    .map(|t| Value::String(t.to_string()))
                    .collect(),
            ),
            "external_id" | "created_at" => Value::String(raw),
            other
                if kind == ImportKind::SurveyResponse
                    && !allowed_columns(kind).contains(&other) =>
            {
                let v = raw
                    .trim()
                    .parse::<i64>()
                    .map(Value::from)
                    .unwrap_or(Value::String(raw));
                answers.insert(other.to_string(), v);
                continue;
            }
            _ => Value::String(raw),
        };
        obj.insert(h.clone(), value);
    }
    if !customer.is_empty() {
        obj.insert("customer".into(), Value::Object(customer));
    }
    if kind == ImportKind::SurveyResponse {
        obj.insert("answers".into(), Value::Object(answers));
    }
    Ok(Value::Object(obj))
}

fn number(field: &str, raw: &str) -> Result<Value> {
    let t = raw.trim();
    if let Ok(i) = t.parse::<i64>() {
        return Ok(Value::from(i));
    }
    match t.parse::<f64>() {
        Ok(f) if f.is_finite() => Ok(Value::from(f)),
        _ => Err(Error::invalid(
            "invalid_type",
            field,
            format!("{field} must be a number, got {raw:?}"),
        )),
    }
}

fn boolean(field: &str, raw: &str) -> Result<Value> {
    match raw.trim().to_lowercase().as_str() {
        "true" | "yes" | "y" | "1" => Ok(Value::Bool(true)),
        "false" | "no" | "n" | "0" => Ok(Value::Bool(false)),
        _ => Err(Error::invalid(
            "invalid_type",
            field,
            format!("{field} must be true or false, got {raw:?}"),
        )),
    }
}

/// Counts bytes read, for the progress bar.
struct CountingReader<R> {
    inner: R,
    count: std::rc::Rc<std::cell::Cell<u64>>,
}

impl<R> CountingReader<R> {
    fn new(inner: R) -> Self {
        Self {
            inner,
            count: Default::default(),
        }
    }

    fn counter(&self) -> std::rc::Rc<std::cell::Cell<u64>> {
        self.count.clone()
    }
}

impl<R: Read> Read for CountingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.count.set(self.count.get() + n as u64);
        Ok(n)
    }
}
