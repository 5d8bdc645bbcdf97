//! What a ticket, rating, survey and customer reference must hold beyond their types:
//! required text, lengths, ranges, formats — built from the field checks in
//! [`crate::validate`]. Each check names the field it failed on, as a dotted path
//! (`customer.email`).
//!
//! Limits are documented in docs/api.md; keep the two in step.

use chrono::{DateTime, Utc};

use super::input::{
    AnswerInput, CustomerInput, CustomerUpdate, RatingInput, SurveyInput, SurveyResponseInput,
    TicketInput,
};
use crate::db::entity::{survey, survey_question};
use crate::validate::{email, one_of, optional, required, timestamp};
use crate::{Error, Result};

pub const MAX_SUBJECT_CHARS: usize = 300;
pub const MAX_TEXT_CHARS: usize = 20_000;
pub const MAX_ID_CHARS: usize = 200;
pub const MAX_TAGS: usize = 20;
pub const MAX_TAG_CHARS: usize = 50;
pub const MAX_QUESTIONS: usize = 50;
pub use crate::db::customers::MAX_ACCOUNT_VALUE;
pub const PRIORITIES: [&str; 4] = ["low", "normal", "high", "urgent"];
pub const STATUSES: [&str; 4] = ["open", "pending", "solved", "closed"];
pub const QUESTION_KINDS: [&str; 3] = ["nps", "csat", "text"];

/// A customer reference that passed [`customer_ref`]: trimmed, email lower-cased, and
/// naming someone by email or external id.
pub type CustomerRef = CustomerInput;

/// What every feedback item carries besides its content.
#[derive(Debug, Clone, PartialEq)]
pub struct ItemMeta {
    pub external_id: Option<String>,
    pub customer: Option<CustomerRef>,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct NewTicket {
    pub meta: ItemMeta,
    pub subject: String,
    pub body: String,
    pub priority: String,
    pub status: String,
    pub tags: Vec<String>,
    /// When the helpdesk last changed it (webhooks; none from the API or a file).
    pub source_updated_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct NewRating {
    pub meta: ItemMeta,
    pub score: i32,
    pub subject: Option<String>,
    pub comment: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct NewSurvey {
    pub title: String,
    /// (kind, prompt) in order.
    pub questions: Vec<(String, String)>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct NewAnswer {
    pub question_id: i64,
    pub kind: String,
    pub number: Option<i32>,
    pub text: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct NewResponse {
    pub meta: ItemMeta,
    pub survey_id: i64,
    /// The survey's title, the subject of the unified feedback item.
    pub survey_title: String,
    pub answers: Vec<NewAnswer>,
    /// Who answered on the public page, as they typed it (never a customer: unverified).
    pub respondent: Option<Respondent>,
}

/// What a visitor of the public survey page said about themselves.
#[derive(Debug, Clone, PartialEq)]
pub struct Respondent {
    pub email: String,
    /// They asked to hear back; it counts once they confirm by the mailed link.
    pub notify: bool,
}

pub fn ticket(input: TicketInput) -> Result<NewTicket> {
    let tags = input.tags.unwrap_or_default();
    if tags.len() > MAX_TAGS {
        return Err(Error::invalid(
            "too_many",
            "tags",
            format!("at most {MAX_TAGS} tags are allowed"),
        ));
    }
    let mut clean_tags = Vec::with_capacity(tags.len());
    for (i, tag) in tags.iter().enumerate() {
        let tag = required(&format!("tags[{i}]"), tag, MAX_TAG_CHARS)?;
        if !clean_tags.contains(&tag) {
            clean_tags.push(tag);
        }
    }
    Ok(NewTicket {
        subject: required("subject", &input.subject, MAX_SUBJECT_CHARS)?,
        body: required("body", &input.body, MAX_TEXT_CHARS)?,
        priority: one_of("priority", input.priority.as_deref(), &PRIORITIES, "normal")?,
        status: one_of("status", input.status.as_deref(), &STATUSES, "open")?,
        tags: clean_tags,
        meta: meta(input.external_id, input.customer, input.created_at)?,
        source_updated_at: None,
    })
}

pub fn rating(input: RatingInput) -> Result<NewRating> {
    if !(1..=5).contains(&input.score) {
        return Err(Error::invalid(
            "out_of_range",
            "score",
            format!("score must be between 1 and 5, got {}", input.score),
        ));
    }
    Ok(NewRating {
        score: input.score as i32,
        subject: optional("subject", input.subject, MAX_SUBJECT_CHARS)?,
        comment: optional("comment", input.comment, MAX_TEXT_CHARS)?,
        meta: meta(input.external_id, input.customer, input.created_at)?,
    })
}

pub fn survey(input: SurveyInput) -> Result<NewSurvey> {
    let title = required("title", &input.title, MAX_SUBJECT_CHARS)?;
    if input.questions.is_empty() || input.questions.len() > MAX_QUESTIONS {
        return Err(Error::invalid(
            "out_of_range",
            "questions",
            format!("a survey needs 1 to {MAX_QUESTIONS} questions"),
        ));
    }
    let mut questions = Vec::with_capacity(input.questions.len());
    for (i, q) in input.questions.iter().enumerate() {
        let kind = one_of(
            &format!("questions[{i}].kind"),
            Some(&q.kind),
            &QUESTION_KINDS,
            "",
        )?;
        let prompt = required(&format!("questions[{i}].prompt"), &q.prompt, 1000)?;
        questions.push((kind, prompt));
    }
    Ok(NewSurvey { title, questions })
}

/// Validates answers against the survey's own questions.
pub fn response(
    input: SurveyResponseInput,
    survey: &survey::Model,
    questions: &[survey_question::Model],
) -> Result<NewResponse> {
    let survey_id = survey.id;
    if survey.closed_at.is_some() {
        return Err(Error::Conflict {
            field: "survey_id".into(),
            message: format!("survey {survey_id} is closed and takes no more answers"),
        });
    }
    if input.answers.is_empty() {
        return Err(Error::invalid(
            "missing_field",
            "answers",
            "answers must hold at least one answer",
        ));
    }
    let mut answers = Vec::with_capacity(input.answers.len());
    for (key, value) in input.answers {
        let field = format!("answers.{key}");
        let question = key
            .parse::<i64>()
            .ok()
            .and_then(|id| questions.iter().find(|q| q.id == id))
            .ok_or_else(|| {
                Error::unprocessable(
                    "unknown_question",
                    &field,
                    format!("survey {survey_id} has no question {key:?}"),
                )
            })?;
        answers.push(answer(&field, question, value)?);
    }
    Ok(NewResponse {
        survey_id,
        survey_title: survey.title.clone(),
        answers,
        meta: meta(input.external_id, input.customer, input.created_at)?,
        respondent: None,
    })
}

fn answer(field: &str, q: &survey_question::Model, value: AnswerInput) -> Result<NewAnswer> {
    let (lo, hi) = match q.kind.as_str() {
        "nps" => (0, 10),
        "csat" => (1, 5),
        _ => {
            let AnswerInput::Text(text) = value else {
                return Err(Error::unprocessable(
                    "invalid_type",
                    field,
                    format!("{field} answers a text question and must be a string"),
                ));
            };
            return Ok(NewAnswer {
                question_id: q.id,
                kind: q.kind.clone(),
                number: None,
                text: optional(field, Some(text), MAX_TEXT_CHARS)?,
            });
        }
    };
    let number = match &value {
        AnswerInput::Number(n) => n.as_i64(),
        AnswerInput::Text(_) => None,
    };
    match number {
        Some(n) if (lo..=hi).contains(&n) => Ok(NewAnswer {
            question_id: q.id,
            kind: q.kind.clone(),
            number: Some(n as i32),
            text: None,
        }),
        Some(n) => Err(Error::unprocessable(
            "out_of_range",
            field,
            format!(
                "{field} ({}) must be between {lo} and {hi}, got {n}",
                q.kind
            ),
        )),
        None => Err(Error::unprocessable(
            "invalid_type",
            field,
            format!(
                "{field} ({}) must be a whole number from {lo} to {hi}",
                q.kind
            ),
        )),
    }
}

fn meta(
    external_id: Option<String>,
    customer: Option<CustomerInput>,
    created_at: Option<String>,
) -> Result<ItemMeta> {
    Ok(ItemMeta {
        external_id: optional("external_id", external_id, MAX_ID_CHARS)?,
        customer: customer.map(customer_ref).transpose()?.flatten(),
        created_at: match created_at {
            Some(text) => timestamp("created_at", &text)?,
            None => Utc::now(),
        },
    })
}

/// An account value within `0..=MAX_ACCOUNT_VALUE`; `field` names it in the error.
fn account_value(field: &str, v: Option<f64>) -> Result<Option<f64>> {
    match v {
        Some(v) if !(0.0..=MAX_ACCOUNT_VALUE).contains(&v) => Err(Error::invalid(
            "out_of_range",
            field,
            format!("{field} must be a number from 0 to {MAX_ACCOUNT_VALUE:.0}, got {v}"),
        )),
        v => Ok(v),
    }
}

/// A change to a customer's details, validated as on creation; at least one field.
pub fn customer_patch(u: CustomerUpdate) -> Result<crate::db::customers::CustomerPatch> {
    let patch = crate::db::customers::CustomerPatch {
        name: optional("name", u.name, MAX_ID_CHARS)?,
        segment: optional("segment", u.segment, 100)?,
        account_value: account_value("account_value", u.account_value)?,
        notify_opt_in: u.notify_opt_in,
    };
    Ok(patch)
}

/// A customer reference; `None` when it holds nothing to identify anyone by.
pub fn customer_ref(c: CustomerInput) -> Result<Option<CustomerRef>> {
    let email = optional("customer.email", c.email, 254)?
        .map(|e| email("customer.email", &e))
        .transpose()?;
    let r = CustomerRef {
        external_id: optional("customer.external_id", c.external_id, MAX_ID_CHARS)?,
        email,
        name: optional("customer.name", c.name, MAX_ID_CHARS)?,
        segment: optional("customer.segment", c.segment, 100)?,
        account_value: account_value("customer.account_value", c.account_value)?,
        notify_opt_in: c.notify_opt_in,
    };
    // A customer is who they are by email or external id; to give none, leave `customer`
    // out (or null) rather than sending an object without either.
    if r.external_id.is_none() && r.email.is_none() {
        return Err(Error::invalid(
            "missing_field",
            "customer.email",
            "a customer needs an email or an external_id",
        ));
    }
    Ok(Some(r))
}
