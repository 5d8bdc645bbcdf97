//! Survey tool exports → a survey and its responses: Typeform and SurveyMonkey (CSV).
//!
//! The export's header names the questions; their kinds come from the values (read in a
//! first pass): whole numbers with "recommend" in the prompt, or from 0 to 10 with a 0 or
//! an 8 or more, are NPS; whole numbers from 1 to 5 are CSAT; anything else is text. A column can
//! be given its kind, or left out, with `--question 'HEADER=nps|csat|text|skip'` — a
//! 1–5 "opinion scale" that is not satisfaction, a hidden field, a multiple-choice column.
//!
//! * Typeform: one header row; `#` is the response token, `Submit Date (UTC)` the date;
//!   columns named `email`, `name` or `user_id` (hidden fields) describe the respondent;
//!   `Start Date (UTC)`, `Stage Date (UTC)`, `Network ID`, `Tags` and `Ending` are not
//!   questions.
//! * SurveyMonkey: two header rows (the question, then its answer option); `Respondent
//!   ID`, `End Date` (`MM/DD/YYYY hh:mm:ss AM`), `Email Address`, `First Name`, `Last Name`
//!   are the respondent; `Collector ID`, `Start Date`, `IP Address` and `Custom Data N` are
//!   not questions. The IP address is never read.

use std::io::Read;

use csv::StringRecord;
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter};
use serde_json::{Map, Value};

use super::columns::{when, Timezone};
use super::{clip, customer, row_error, Row, Source, SurveyOptions};
use crate::db::entity::survey;
use crate::intake::input::{QuestionInput, SurveyInput};
use crate::intake::validate::{MAX_QUESTIONS, MAX_SUBJECT_CHARS, MAX_TEXT_CHARS};
use crate::{Error, Result};

/// A question column: where it is, its prompt and its kind (`nps`, `csat`, `text`).
#[derive(Debug, Clone, PartialEq)]
pub struct QuestionColumn {
    pub column: usize,
    pub prompt: String,
    pub kind: String,
}

/// Where the respondent's columns are and which columns are questions.
#[derive(Debug, Clone, Default)]
struct Layout {
    header_rows: usize,
    id: Option<usize>,
    created: Option<usize>,
    email: Option<usize>,
    names: Vec<usize>,
    customer_id: Option<usize>,
    questions: Vec<(usize, String)>,
}

/// The survey an import goes into, with its question ids by column.
#[derive(Debug, Clone)]
pub struct SurveyPlan {
    pub survey_id: i64,
    /// (column, question id, kind).
    pub answers: Vec<(usize, i64, String)>,
}

fn position(header: &[String], names: &[&str]) -> Option<usize> {
    names
        .iter()
        .find_map(|n| header.iter().position(|h| h.eq_ignore_ascii_case(n)))
}

fn layout(source: Source, first: &StringRecord, second: Option<&StringRecord>) -> Layout {
    let header: Vec<String> = first.iter().map(|h| h.trim().to_string()).collect();
    match source {
        Source::SurveyMonkey => {
            let meta = [
                "Respondent ID",
                "Collector ID",
                "Start Date",
                "End Date",
                "IP Address",
                "Email Address",
                "First Name",
                "Last Name",
            ];
            let mut questions = Vec::new();
            let mut current = String::new();
            for (i, h) in header.iter().enumerate() {
                let is_meta = meta.iter().any(|m| h.eq_ignore_ascii_case(m))
                    || h.to_lowercase().starts_with("custom data");
                if is_meta {
                    current.clear();
                    continue;
                }
                if !h.is_empty() {
                    current = h.clone();
                }
                if current.is_empty() {
                    continue;
                }
                let option = second.and_then(|s| s.get(i)).map(str::trim).filter(|o| {
                    !o.is_empty()
                        && !o.eq_ignore_ascii_case("response")
                        && !o.eq_ignore_ascii_case("open-ended response")
                });
                let prompt = match option {
                    Some(o) => format!("{current} — {o}"),
                    None => current.clone(),
                };
                questions.push((i, prompt));
            }
            Layout {
                header_rows: 2,
                id: position(&header, &["Respondent ID"]),
                created: position(&header, &["End Date", "Start Date"]),
                email: position(&header, &["Email Address"]),
                names: [
                    position(&header, &["First Name"]),
                    position(&header, &["Last Name"]),
                ]
                .into_iter()
                .flatten()
                .collect(),
                customer_id: None,
                questions,
            }
        }
        _ => {
            let id = position(&header, &["#", "Response ID", "Token"]);
            let created = position(
                &header,
                &["Submit Date (UTC)", "Submitted At", "Start Date (UTC)"],
            );
            let email = position(&header, &["email", "e-mail", "email address"]);
            let name = position(&header, &["name", "full name"]);
            let customer_id = position(&header, &["user_id", "customer_id", "user id"]);
            let not_questions = [
                "Start Date (UTC)",
                "Submit Date (UTC)",
                "Stage Date (UTC)",
                "Submitted At",
                "Network ID",
                "Tags",
                "Ending",
            ];
            let questions = header
                .iter()
                .enumerate()
                .filter(|(i, h)| {
                    !h.is_empty()
                        && ![id, created, email, name, customer_id].contains(&Some(*i))
                        && !not_questions.iter().any(|n| h.eq_ignore_ascii_case(n))
                })
                .map(|(i, h)| (i, h.clone()))
                .collect();
            Layout {
                header_rows: 1,
                id,
                created,
                email,
                names: name.into_iter().collect(),
                customer_id,
                questions,
            }
        }
    }
}

/// Reads the header rows (without treating them as records).
fn reader_and_layout<R: Read>(
    source: Source,
    reader: R,
) -> Result<(csv::StringRecordsIntoIter<R>, Layout)> {
    let mut records = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(reader)
        .into_records();
    let mut next = || -> Result<Option<StringRecord>> {
        records
            .next()
            .transpose()
            .map_err(|e| row_error(format!("cannot read the CSV header: {e}")))
    };
    let first = next()?.ok_or_else(|| row_error("the file is empty".into()))?;
    let second = match source {
        Source::SurveyMonkey => Some(next()?.ok_or_else(|| {
            row_error("a SurveyMonkey export has two header rows; this file has one".into())
        })?),
        _ => None,
    };
    let layout = layout(source, &first, second.as_ref());
    Ok((records, layout))
}

#[derive(Default)]
struct Values {
    any: bool,
    all_whole: bool,
    min: i64,
    max: i64,
}

/// The export's questions with their kinds (first pass over the file).
pub fn questions<R: Read>(
    source: Source,
    reader: R,
    opts: &SurveyOptions,
) -> Result<Vec<QuestionColumn>> {
    let (records, layout) = reader_and_layout(source, reader)?;
    let mut seen: Vec<Values> = layout
        .questions
        .iter()
        .map(|_| Values {
            all_whole: true,
            min: i64::MAX,
            max: i64::MIN,
            ..Default::default()
        })
        .collect();
    for record in records {
        let Ok(record) = record else { continue };
        for ((col, _), v) in layout.questions.iter().zip(seen.iter_mut()) {
            let Some(raw) = record.get(*col).map(str::trim).filter(|r| !r.is_empty()) else {
                continue;
            };
            v.any = true;
            match raw.parse::<i64>() {
                Ok(n) => {
                    v.min = v.min.min(n);
                    v.max = v.max.max(n);
                }
                Err(_) => v.all_whole = false,
            }
        }
    }
    for (header, kind) in &opts.questions {
        if !layout
            .questions
            .iter()
            .any(|(_, p)| p.eq_ignore_ascii_case(header.trim()))
        {
            return Err(Error::invalid(
                "invalid_value",
                "--question",
                format!(
                    "--question {header:?}: the export has no question column with that header"
                ),
            ));
        }
        if !matches!(kind.as_str(), "nps" | "csat" | "text" | "skip") {
            return Err(Error::invalid(
                "invalid_value",
                "--question",
                format!("--question {header}={kind}: the kind must be nps, csat, text or skip"),
            ));
        }
    }
    let mut out = Vec::new();
    for ((column, prompt), v) in layout.questions.iter().zip(&seen) {
        let chosen = opts
            .questions
            .iter()
            .find(|(h, _)| prompt.eq_ignore_ascii_case(h.trim()))
            .map(|(_, k)| k.clone());
        let kind = chosen.unwrap_or_else(|| detect(prompt, v).to_string());
        if kind != "skip" {
            out.push(QuestionColumn {
                column: *column,
                prompt: clip(prompt, 1000),
                kind,
            });
        }
    }
    if out.is_empty() {
        return Err(row_error("the export has no question columns".into()));
    }
    if out.len() > MAX_QUESTIONS {
        return Err(Error::invalid(
            "out_of_range",
            "--question",
            format!(
                "the export has {} question columns and a survey holds at most {MAX_QUESTIONS}; \
                 leave some out with --question 'HEADER=skip'",
                out.len()
            ),
        ));
    }
    Ok(out)
}

fn detect(prompt: &str, v: &Values) -> &'static str {
    if !v.any || !v.all_whole {
        return "text";
    }
    // "How likely are you to recommend …" is the NPS question, whatever the values (an
    // out-of-range one is then refused on its own row, naming the question).
    let nps_like = (0..=10).contains(&v.min) && (0..=10).contains(&v.max);
    if prompt.to_lowercase().contains("recommend") || nps_like && (v.min == 0 || v.max >= 8) {
        "nps"
    } else if (1..=5).contains(&v.min) && (1..=5).contains(&v.max) {
        "csat"
    } else {
        "text"
    }
}

/// The survey with this title and exactly these questions, or a new one.
pub async fn find_or_create(
    db: &DatabaseConnection,
    title: String,
    questions: Vec<QuestionColumn>,
) -> Result<SurveyPlan> {
    let title = clip(title.trim(), MAX_SUBJECT_CHARS);
    let same_title = survey::Entity::find()
        .filter(survey::Column::Title.eq(title.clone()))
        .all(db)
        .await?;
    for s in same_title {
        let existing = crate::intake::surveys::get(db, s.id).await?;
        let same = existing.questions.len() == questions.len()
            && existing
                .questions
                .iter()
                .zip(&questions)
                .all(|(e, q)| e.kind == q.kind && e.prompt == q.prompt);
        if same {
            return Ok(plan(s.id, &existing.questions, &questions));
        }
    }
    let input = SurveyInput {
        title,
        questions: questions
            .iter()
            .map(|q| QuestionInput {
                kind: q.kind.clone(),
                prompt: q.prompt.clone(),
            })
            .collect(),
    };
    let created =
        crate::intake::surveys::create(db, crate::intake::validate::survey(input)?).await?;
    Ok(plan(created.survey.id, &created.questions, &questions))
}

fn plan(
    survey_id: i64,
    stored: &[crate::db::entity::survey_question::Model],
    columns: &[QuestionColumn],
) -> SurveyPlan {
    SurveyPlan {
        survey_id,
        answers: stored
            .iter()
            .zip(columns)
            .map(|(q, c)| (c.column, q.id, c.kind.clone()))
            .collect(),
    }
}

/// The export's responses for `plan`'s survey (second pass).
pub fn responses<R: Read + 'static>(
    source: Source,
    reader: R,
    tz: Timezone,
    plan: SurveyPlan,
) -> Result<impl Iterator<Item = Row>> {
    let (records, layout) = reader_and_layout(source, reader)?;
    let mut number = layout.header_rows as u64;
    Ok(records.map(move |record| {
        number += 1;
        let line = match &record {
            Ok(r) => r.position().map_or(number, |p| p.line()),
            Err(e) => e.position().map_or(number, |p| p.line()),
        };
        let row = record
            .map_err(|e| row_error(format!("malformed CSV: {e}")))
            .and_then(|r| response(source, &layout, &plan, &r, tz));
        (line, row)
    }))
}

fn response(
    source: Source,
    layout: &Layout,
    plan: &SurveyPlan,
    r: &StringRecord,
    tz: Timezone,
) -> Result<Value> {
    let cell = |i: Option<usize>| {
        i.and_then(|i| r.get(i))
            .map(str::trim)
            .filter(|v| !v.is_empty())
    };
    let mut row = Map::new();
    row.insert("survey_id".into(), plan.survey_id.into());
    if let Some(id) = cell(layout.id) {
        row.insert("external_id".into(), source.id(id).into());
    }
    if let Some(d) = cell(layout.created) {
        row.insert("created_at".into(), when(d, tz, "date")?.into());
    }
    let name = layout
        .names
        .iter()
        .filter_map(|i| cell(Some(*i)))
        .collect::<Vec<_>>()
        .join(" ");
    let name = Some(name.as_str()).filter(|n| !n.is_empty());
    // A hidden `user_id` is the team's own id for the customer: stored as given.
    let id = cell(layout.customer_id).map(|i| clip(i, 200));
    if let Some(c) = customer(id, cell(layout.email), name, None) {
        row.insert("customer".into(), c);
    }
    let mut answers = Map::new();
    for (column, question_id, kind) in &plan.answers {
        let Some(raw) = cell(Some(*column)) else {
            continue;
        };
        let value = match kind.as_str() {
            "text" => Value::String(clip(raw, MAX_TEXT_CHARS)),
            _ => raw
                .parse::<i64>()
                .map(Value::from)
                .unwrap_or_else(|_| Value::String(raw.to_string())),
        };
        answers.insert(question_id.to_string(), value);
    }
    row.insert("answers".into(), Value::Object(answers));
    Ok(Value::Object(row))
}

#[cfg(test)]
mod tests {
    use super::*;

    const TYPEFORM: &str = "#,How likely are you to recommend us to a friend?,How satisfied are you with support?,What should we improve?,Pick a number,email,Start Date (UTC),Submit Date (UTC),Network ID\n\
        t1,9,4,Faster transfers,7,ann@example.com,2024-03-01 10:00:00,2024-03-01 10:02:00,n1\n\
        t2,3,2,The app logs me out,2,,2024-03-02 10:00:00,2024-03-02 10:02:00,n2\n";

    #[test]
    fn typeform_kinds_come_from_the_values() {
        let q = questions(
            Source::Typeform,
            TYPEFORM.as_bytes(),
            &SurveyOptions::default(),
        )
        .unwrap();
        let kinds: Vec<(&str, &str)> = q
            .iter()
            .map(|q| (q.prompt.as_str(), q.kind.as_str()))
            .collect();
        assert_eq!(
            kinds,
            [
                ("How likely are you to recommend us to a friend?", "nps"),
                ("How satisfied are you with support?", "csat"),
                ("What should we improve?", "text"),
                // 2..7: neither a 0–10 scale with a 0 or 8+, nor 1–5.
                ("Pick a number", "text"),
            ]
        );
        let opts = SurveyOptions {
            title: None,
            questions: vec![("pick a number".into(), "skip".into())],
        };
        let q = questions(Source::Typeform, TYPEFORM.as_bytes(), &opts).unwrap();
        assert_eq!(q.len(), 3);
        let bad = SurveyOptions {
            title: None,
            questions: vec![("No such column".into(), "nps".into())],
        };
        let e = questions(Source::Typeform, TYPEFORM.as_bytes(), &bad).unwrap_err();
        assert!(e.to_string().contains("No such column"), "{e}");
    }

    /// The kind rule was written from the tools' scales, not fitted; this measures where it
    /// can go wrong: an NPS question whose prompt lacks "recommend", answered by a few
    /// people who all chose 1–7 (then it reads as text). Answers are drawn from a typical
    /// NPS spread and a typical CSAT spread, 2,000 exports per size.
    #[test]
    fn kind_detection_by_export_size() {
        use rand::{Rng, SeedableRng};
        let mut rng = rand::rngs::StdRng::seed_from_u64(18);
        let nps = [2.0, 1.0, 2.0, 3.0, 3.0, 7.0, 7.0, 15.0, 20.0, 17.0, 23.0];
        let csat = [5.0, 8.0, 17.0, 35.0, 35.0];
        let mut draw = |weights: &[f64], offset: i64| {
            let total: f64 = weights.iter().sum();
            let mut x = rng.random_range(0.0..total);
            for (i, w) in weights.iter().enumerate() {
                if x < *w {
                    return i as i64 + offset;
                }
                x -= w;
            }
            weights.len() as i64 - 1 + offset
        };
        let mut report = Vec::new();
        for n in [3, 5, 10, 50] {
            let mut right = [0u32; 3];
            for _ in 0..2000 {
                for (k, (weights, offset, prompt, want)) in [
                    (&nps[..], 0, "Score us", "nps"),
                    (&nps[..], 0, "Would you recommend us?", "nps"),
                    (&csat[..], 1, "How satisfied are you?", "csat"),
                ]
                .into_iter()
                .enumerate()
                {
                    let mut v = Values {
                        all_whole: true,
                        min: i64::MAX,
                        max: i64::MIN,
                        ..Default::default()
                    };
                    for _ in 0..n {
                        let a = draw(weights, offset);
                        v.any = true;
                        v.min = v.min.min(a);
                        v.max = v.max.max(a);
                    }
                    right[k] += u32::from(detect(prompt, &v) == want);
                }
            }
            let share = right.map(|r| f64::from(r) / 2000.0);
            report.push(format!(
                "n={n}: NPS without \"recommend\" {:.3}, NPS with it {:.3}, CSAT {:.3}",
                share[0], share[1], share[2]
            ));
            assert_eq!(share[1], 1.0);
            assert_eq!(share[2], 1.0);
            assert!(share[0] >= if n >= 5 { 0.98 } else { 0.9 }, "{report:?}");
        }
        println!("{}", report.join("\n"));
    }

    #[test]
    fn surveymonkey_two_header_rows() {
        let csv = "Respondent ID,Collector ID,Start Date,End Date,IP Address,Email Address,First Name,Last Name,Custom Data 1,How likely is it that you would recommend us?,Which features do you use?,,Anything else?\n\
            ,,,,,,,,,Response,Transfers,Cards,Open-Ended Response\n\
            1001,5,03/01/2024 10:00:00 AM,03/01/2024 10:05:00 AM,10.0.0.1,bo@example.com,Bo,Ek,,10,Transfers,,Love it\n";
        let (records, layout) = reader_and_layout(Source::SurveyMonkey, csv.as_bytes()).unwrap();
        let prompts: Vec<&str> = layout.questions.iter().map(|(_, p)| p.as_str()).collect();
        assert_eq!(
            prompts,
            [
                "How likely is it that you would recommend us?",
                "Which features do you use? — Transfers",
                "Which features do you use? — Cards",
                "Anything else?",
            ]
        );
        let record = records.into_iter().next().unwrap().unwrap();
        let plan = SurveyPlan {
            survey_id: 3,
            answers: vec![(9, 31, "nps".into()), (12, 32, "text".into())],
        };
        let row = response(
            Source::SurveyMonkey,
            &layout,
            &plan,
            &record,
            Timezone::default(),
        )
        .unwrap();
        assert_eq!(row["external_id"], "surveymonkey:1001");
        assert_eq!(row["created_at"], "2024-03-01T10:05:00+00:00");
        assert_eq!(row["customer"]["email"], "bo@example.com");
        assert_eq!(row["customer"]["name"], "Bo Ek");
        assert_eq!(
            row["answers"],
            serde_json::json!({"31": 10, "32": "Love it"})
        );
        assert!(!row.to_string().contains("10.0.0.1"));
    }
}
