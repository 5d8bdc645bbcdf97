//! The request shapes accepted by the API (and by JSONL import, line by line).
//!
//! Unknown fields are rejected rather than ignored: a misspelt optional field would
//! otherwise be silently dropped. Validation beyond types happens in `validate`.

use std::collections::BTreeMap;

use serde::Deserialize;

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CustomerInput {
    pub external_id: Option<String>,
    pub email: Option<String>,
    pub name: Option<String>,
    pub segment: Option<String>,
    pub account_value: Option<f64>,
    pub notify_opt_in: Option<bool>,
}

/// `PATCH /api/v1/customers/{id}`: the details that may change. A customer's email and
/// external id are who they are and do not change here.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CustomerUpdate {
    pub name: Option<String>,
    pub segment: Option<String>,
    pub account_value: Option<f64>,
    pub notify_opt_in: Option<bool>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TicketInput {
    pub subject: String,
    pub body: String,
    pub priority: Option<String>,
    pub status: Option<String>,
    pub tags: Option<Vec<String>>,
    pub external_id: Option<String>,
    pub customer: Option<CustomerInput>,
    /// RFC 3339; defaults to now. Lets imports keep the original dates.
    pub created_at: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RatingInput {
    pub score: i64,
    pub comment: Option<String>,
    /// What was rated (a product, an article, a support interaction, …).
    pub subject: Option<String>,
    pub external_id: Option<String>,
    pub customer: Option<CustomerInput>,
    pub created_at: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SurveyInput {
    pub title: String,
    pub questions: Vec<QuestionInput>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QuestionInput {
    pub kind: String,
    pub prompt: String,
}

/// An answer as sent: a number for NPS/CSAT questions, text for text questions.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum AnswerInput {
    Number(serde_json::Number),
    Text(String),
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SurveyResponseInput {
    /// Keyed by question id (as a string, JSON object keys always are).
    pub answers: BTreeMap<String, AnswerInput>,
    pub external_id: Option<String>,
    pub customer: Option<CustomerInput>,
    pub created_at: Option<String>,
    /// Only in JSONL import, where the survey is not in the URL.
    #[serde(default)]
    pub survey_id: Option<i64>,
}
