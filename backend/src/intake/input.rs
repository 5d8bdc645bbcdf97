//! The request shapes accepted by the API (and by JSONL import, line by line).
//!
//! Unknown fields are rejected rather than ignored: a misspelt optional field would
//! otherwise be silently dropped. Validation beyond types happens in `validate`; the
//! `#[schema(...)]` bounds below say the same for the OpenAPI document (text is trimmed,
//! must not be blank where required and must not hold NUL characters; lengths in
//! characters), and schemathesis checks that the two agree.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::json;
use utoipa::openapi::{RefOr, Schema};
use utoipa::ToSchema;

/// Described by hand (its `PartialSchema` below): an email or an external id is required, which
/// `#[derive(ToSchema)]` cannot say.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CustomerInput {
    /// Your id for the customer; with `email`, one of the two is needed.
    pub external_id: Option<String>,
    pub email: Option<String>,
    pub name: Option<String>,
    pub segment: Option<String>,
    /// What the customer is worth to you (say, yearly revenue), 0 to 10^12.
    pub account_value: Option<f64>,
    pub notify_opt_in: Option<bool>,
}

/// `PATCH /api/v1/customers/{id}`: the details that may change. A customer's email and
/// external id are who they are and do not change here.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CustomerUpdate {
    #[schema(max_length = 200)]
    pub name: Option<String>,
    #[schema(max_length = 100)]
    pub segment: Option<String>,
    #[schema(minimum = 0, maximum = 1e12)]
    pub account_value: Option<f64>,
    pub notify_opt_in: Option<bool>,
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TicketInput {
    #[schema(max_length = 300, pattern = r"[^\s\x00\x85]")]
    pub subject: String,
    #[schema(max_length = 20000, pattern = r"[^\s\x00\x85]")]
    pub body: String,
    /// `low`, `normal` (default), `high` or `urgent`.
    #[schema(pattern = r"^\s*(low|normal|high|urgent)?\s*$")]
    pub priority: Option<String>,
    /// `open` (default), `pending`, `solved` or `closed`.
    #[schema(pattern = r"^\s*(open|pending|solved|closed)?\s*$")]
    pub status: Option<String>,
    /// At most 20, each not blank and at most 50 characters.
    #[schema(schema_with = tags_schema)]
    pub tags: Option<Vec<String>>,
    /// Unique per kind: a repeat is answered with 409 naming the stored item.
    #[schema(max_length = 200)]
    pub external_id: Option<String>,
    pub customer: Option<CustomerInput>,
    /// RFC 3339 or YYYY-MM-DD; defaults to now. Lets imports keep the original dates.
    #[schema(value_type = Option<When>)]
    pub created_at: Option<String>,
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RatingInput {
    #[schema(minimum = 1, maximum = 5)]
    pub score: i64,
    #[schema(max_length = 20000)]
    pub comment: Option<String>,
    /// What was rated (a product, an article, a support interaction, …).
    #[schema(max_length = 300)]
    pub subject: Option<String>,
    #[schema(max_length = 200)]
    pub external_id: Option<String>,
    pub customer: Option<CustomerInput>,
    #[schema(value_type = Option<When>)]
    pub created_at: Option<String>,
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SurveyInput {
    #[schema(max_length = 300, pattern = r"[^\s\x00\x85]")]
    pub title: String,
    #[schema(min_items = 1, max_items = 50)]
    pub questions: Vec<QuestionInput>,
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct QuestionInput {
    /// `nps` (0–10), `csat` (1–5) or `text`.
    #[schema(pattern = r"^\s*(nps|csat|text)\s*$")]
    pub kind: String,
    #[schema(max_length = 1000, pattern = r"[^\s\x00\x85]")]
    pub prompt: String,
}

/// An answer as sent: a number for NPS/CSAT questions, text for text questions.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum AnswerInput {
    Number(serde_json::Number),
    Text(String),
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SurveyResponseInput {
    /// Keyed by question id (as a string, JSON object keys always are): a whole number
    /// for NPS (0–10) and CSAT (1–5) questions, text for text questions.
    #[schema(schema_with = answers_schema)]
    pub answers: BTreeMap<String, AnswerInput>,
    #[schema(max_length = 200)]
    pub external_id: Option<String>,
    pub customer: Option<CustomerInput>,
    #[schema(value_type = Option<When>)]
    pub created_at: Option<String>,
    /// Only in JSONL import, where the survey is not in the URL (the API takes it when it
    /// is the URL's, so it is left out of the API's document).
    #[serde(default)]
    #[schema(ignore)]
    pub survey_id: Option<i64>,
}

/// Text that must not be blank once trimmed and stripped of NUL. (`\s` in a JSON Schema
/// pattern is ECMAScript's, which leaves out U+0085 that Rust's `trim` removes.)
pub const NOT_BLANK: &str = r"[^\s\x00\x85]";

/// `tags`: what `#[schema(...)]` on a `Vec<String>` cannot say about its items.
fn tags_schema() -> utoipa::openapi::schema::Array {
    use utoipa::openapi::schema::{ArrayBuilder, ObjectBuilder, SchemaType, Type};
    ArrayBuilder::new()
        .schema_type(SchemaType::from_iter([Type::Array, Type::Null]))
        .items(
            ObjectBuilder::new()
                .schema_type(Type::String)
                .max_length(Some(50))
                .pattern(Some(NOT_BLANK)),
        )
        .max_items(Some(20))
        .build()
}

/// `answers`: at least one, each a whole number or text.
fn answers_schema() -> utoipa::openapi::schema::Object {
    use utoipa::openapi::schema::{ObjectBuilder, OneOfBuilder, Schema, Type};
    ObjectBuilder::new()
        .schema_type(Type::Object)
        .min_properties(Some(1))
        .additional_properties(Some(utoipa::openapi::RefOr::T(Schema::OneOf(
            OneOfBuilder::new()
                .item(ObjectBuilder::new().schema_type(Type::Integer))
                .item(
                    ObjectBuilder::new()
                        .schema_type(Type::String)
                        .max_length(Some(20_000)),
                )
                .build(),
        ))))
        .build()
}

/// A schema written as JSON, for what `#[schema(...)]` attributes cannot say. The literals
/// are fixed, so a mistake fails every test that builds the router.
fn json_schema(v: serde_json::Value) -> RefOr<Schema> {
    serde_json::from_value(v).expect("a valid schema literal")
}

/// What `validate::email` accepts: something, `@`, a host with a dot; no spaces inside.
const EMAIL: &str = r"^\s*[^@\s\x85]+@[^\s\x85]*\.[^\s\x85]*\s*$";

impl utoipa::PartialSchema for CustomerInput {
    fn schema() -> RefOr<Schema> {
        let text = |max: usize| json!({ "type": ["string", "null"], "maxLength": max });
        json_schema(json!({ "allOf": [{
            "type": "object",
            "description": "A customer, found (or created) by email or external id; one of the two is required.",
            "properties": {
                "external_id": text(200),
                "email": { "type": ["string", "null"], "maxLength": 254, "pattern": EMAIL },
                "name": text(200),
                "segment": text(100),
                "account_value": { "type": ["number", "null"], "minimum": 0, "maximum": 1e12,
                    "description": "What the customer is worth to you (say, yearly revenue)." },
                "notify_opt_in": { "type": ["boolean", "null"] }
            },
            "additionalProperties": false
        }, { "anyOf": [
            { "type": "object", "required": ["email"],
              "properties": { "email": { "type": "string", "pattern": EMAIL } } },
            { "type": "object", "required": ["external_id"],
              "properties": { "external_id": { "type": "string", "pattern": NOT_BLANK } } }
        ] }] }))
    }
}

impl ToSchema for CustomerInput {
    fn name() -> std::borrow::Cow<'static, str> {
        "Customer".into()
    }
}

/// A time as the API takes it: RFC 3339, or a date (meaning midnight UTC). Only described
/// (`value_type = When`); the text is parsed by `validate::timestamp`.
pub struct When;

impl utoipa::PartialSchema for When {
    fn schema() -> RefOr<Schema> {
        json_schema(json!({ "anyOf": [
            { "type": "string", "format": "date-time" },
            { "type": "string", "format": "date" }
        ] }))
    }
}

impl ToSchema for When {}

#[cfg(test)]
mod tests {
    use utoipa::PartialSchema;

    #[test]
    fn the_hand_written_schemas_are_schemas() {
        // A key the schema types do not know would be dropped silently.
        let customer = serde_json::to_value(super::CustomerInput::schema()).unwrap();
        assert_eq!(
            customer["allOf"][1]["anyOf"].as_array().map(Vec::len),
            Some(2),
            "{customer}"
        );
        let when = serde_json::to_value(super::When::schema()).unwrap();
        assert_eq!(when["anyOf"].as_array().map(Vec::len), Some(2), "{when}");
    }
}
