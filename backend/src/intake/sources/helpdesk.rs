//! Helpdesk exports → tickets: Zendesk (JSON), Freshdesk, Help Scout and Intercom (CSV).
//!
//! The three CSV exports differ in names, not in substance, so they share one reader
//! ([`ticket_csv`]) driven by a [`Profile`]: which columns hold the id, subject, body,
//! status, … and how the tool's statuses and priorities read in triage's terms.

use std::collections::HashMap;
use std::io::Read;

use csv::StringRecord;
use serde_json::{Map, Value};

use super::columns::{csv_rows, json_values, optional, required, when, Column, Located, Timezone};
use super::{clip, customer, row_error, subject_from, tags, Row, Source};
use crate::intake::validate::{MAX_SUBJECT_CHARS, MAX_TEXT_CHARS};
use crate::Result;

// ---- Zendesk ------------------------------------------------------------------------

/// Zendesk tickets from a stream of JSON values: ticket objects (the admin data export,
/// one per line), or Incremental Export API pages `{"tickets": [...], "users": [...]}`
/// (users are sideloaded with `include=users`), or single-ticket responses
/// `{"ticket": {...}}` — one after the other, compact or pretty-printed.
pub fn zendesk<R: Read>(reader: R) -> impl Iterator<Item = Row> {
    json_values(reader, |value| {
        let users = people(&value);
        let tickets: Vec<Value> = match value {
            Value::Object(mut o) if o.get("tickets").is_some_and(Value::is_array) => {
                match o.remove("tickets") {
                    Some(Value::Array(t)) => t,
                    _ => Vec::new(),
                }
            }
            Value::Object(mut o) if o.get("ticket").is_some_and(Value::is_object) => {
                o.remove("ticket").into_iter().collect()
            }
            other => vec![other],
        };
        tickets.iter().map(|t| zendesk_ticket(t, &users)).collect()
    })
}

/// Sideloaded users of an API page: id → (email, name).
fn people(page: &Value) -> HashMap<String, (Option<String>, Option<String>)> {
    let mut out = HashMap::new();
    for u in page
        .get("users")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        if let Some(id) = id_text(u.get("id")) {
            let text = |k: &str| u.get(k).and_then(Value::as_str).map(str::to_string);
            out.insert(id, (text("email"), text("name")));
        }
    }
    out
}

/// A Zendesk id (a number, or a string in webhook payloads) as text.
fn id_text(v: Option<&Value>) -> Option<String> {
    match v? {
        Value::Number(n) => Some(n.to_string()),
        Value::String(s) if !s.trim().is_empty() => Some(s.trim().to_string()),
        _ => None,
    }
}

/// One Zendesk ticket object (API field names) as a triage ticket. Also used by the
/// Zendesk webhook.
pub fn zendesk_ticket(
    t: &Value,
    users: &HashMap<String, (Option<String>, Option<String>)>,
) -> Result<Value> {
    let Some(obj) = t.as_object() else {
        return Err(row_error("a Zendesk ticket must be a JSON object".into()));
    };
    let text = |k: &str| {
        obj.get(k)
            .and_then(Value::as_str)
            .map(str::trim)
            .filter(|s| !s.is_empty())
    };
    let id = id_text(obj.get("id"))
        .ok_or_else(|| row_error("a Zendesk ticket without an \"id\"".into()))?;
    let status = text("status").map(str::to_lowercase);
    if status.as_deref() == Some("deleted") {
        return Err(row_error(format!(
            "ticket {id} is deleted in Zendesk; not imported"
        )));
    }
    let subject = text("subject").or_else(|| text("raw_subject"));
    let description = text("description");
    let mut row = ticket(Source::Zendesk, &id, subject, description)?;
    if let Some(p) = text("priority").map(str::to_lowercase) {
        if matches!(p.as_str(), "low" | "normal" | "high" | "urgent") {
            row.insert("priority".into(), p.into());
        }
    }
    if let Some(s) = status.as_deref().and_then(|s| match s {
        "new" | "open" => Some("open"),
        "pending" | "hold" => Some("pending"),
        "solved" => Some("solved"),
        "closed" => Some("closed"),
        _ => None,
    }) {
        row.insert("status".into(), s.into());
    }
    let mut labels: Vec<String> = obj
        .get("tags")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|t| t.as_str().map(str::to_string))
        .collect();
    if let Some(channel) = obj
        .get("via")
        .and_then(|v| v.get("channel"))
        .and_then(Value::as_str)
    {
        labels.push(format!("{}{channel}", super::DERIVED_LABELS[0]));
    }
    if let Some(score) = obj
        .get("satisfaction_rating")
        .and_then(|s| s.get("score"))
        .and_then(Value::as_str)
        .filter(|s| matches!(*s, "good" | "bad"))
    {
        labels.push(format!("{}{score}", super::DERIVED_LABELS[1]));
    }
    row.insert("tags".into(), tags(labels));
    if let Some(created) = text("created_at") {
        row.insert(
            "created_at".into(),
            when(created, Timezone::default(), "created_at")?.into(),
        );
    }
    let requester = id_text(obj.get("requester_id"));
    let embedded = obj.get("requester");
    let (email, name) = requester
        .as_ref()
        .and_then(|r| users.get(r).cloned())
        .unwrap_or_else(|| {
            let field = |k: &str| {
                embedded
                    .and_then(|r| r.get(k))
                    .and_then(Value::as_str)
                    .map(str::to_string)
            };
            (field("email"), field("name"))
        });
    let requester = requester.or_else(|| id_text(embedded.and_then(|r| r.get("id"))));
    if let Some(c) = customer(
        requester.map(|r| Source::Zendesk.id(&r)),
        email.as_deref(),
        name.as_deref(),
        None,
    ) {
        row.insert("customer".into(), c);
    }
    Ok(Value::Object(row))
}

/// The fields every ticket has: the external id, a subject and a body (either made from
/// the other when an export has only one).
fn ticket(
    source: Source,
    id: &str,
    subject: Option<&str>,
    body: Option<&str>,
) -> Result<Map<String, Value>> {
    let (subject, body) = match (subject, body) {
        (Some(s), Some(b)) => (clip(s, MAX_SUBJECT_CHARS), b),
        (Some(s), None) => (clip(s, MAX_SUBJECT_CHARS), s),
        (None, Some(b)) => (subject_from(b), b),
        (None, None) => {
            return Err(row_error(format!(
                "{} {id} has neither a subject nor a message",
                source.prefix()
            )))
        }
    };
    let mut row = Map::new();
    row.insert("external_id".into(), source.id(id).into());
    row.insert("subject".into(), subject.into());
    row.insert("body".into(), clip(body, MAX_TEXT_CHARS).into());
    Ok(row)
}

// ---- CSV helpdesks ------------------------------------------------------------------

/// Positions in [`Profile::columns`].
const ID: usize = 0;
const SUBJECT: usize = 1;
const BODY: usize = 2;
const STATUS: usize = 3;
const PRIORITY: usize = 4;
const TAGS: usize = 5;
const CREATED: usize = 6;
const EMAIL: usize = 7;
const NAME: usize = 8;
const CUSTOMER_ID: usize = 9;
const CHANNEL: usize = 10;
const RATING: usize = 11;

/// How one helpdesk's CSV export reads.
pub struct Profile {
    name: &'static str,
    source: Source,
    /// In the order of the constants above.
    columns: [Column; 12],
    /// The tool's status as triage's, `Ok(None)` for "leave the default" and `Err` for
    /// records not to import (spam), with the reason.
    status: fn(&str) -> std::result::Result<Option<&'static str>, &'static str>,
    priority: fn(&str) -> Option<&'static str>,
}

const NONE: &[&str] = &[];

static FRESHDESK: Profile = Profile {
    name: "Freshdesk",
    source: Source::Freshdesk,
    columns: [
        required(&["Ticket ID", "Ticket Id", "ID"]),
        required(&["Subject"]),
        optional(&["Description", "Description text"]),
        optional(&["Status"]),
        optional(&["Priority"]),
        optional(&["Tags"]),
        optional(&["Created time", "Created at", "Created date"]),
        optional(&["Email", "Requester email", "Contact email"]),
        optional(&["Full name", "Requester name", "Contact name", "Requester"]),
        optional(&["Contact ID", "Requester ID"]),
        optional(&["Source"]),
        optional(&["Survey results", "Satisfaction rating"]),
    ],
    status: |s| {
        Ok(match s {
            "open" => Some("open"),
            "pending" | "waiting on customer" | "waiting on third party" => Some("pending"),
            "resolved" => Some("solved"),
            "closed" => Some("closed"),
            _ => None,
        })
    },
    priority: |p| match p {
        "low" => Some("low"),
        "medium" => Some("normal"),
        "high" => Some("high"),
        "urgent" => Some("urgent"),
        _ => None,
    },
};

static HELP_SCOUT: Profile = Profile {
    name: "Help Scout",
    source: Source::HelpScout,
    columns: [
        required(&["Conversation ID", "ID", "Conversation Number", "Number"]),
        required(&["Subject"]),
        optional(&["Preview", "First Message", "Body", "Thread"]),
        optional(&["Status"]),
        optional(NONE),
        optional(&["Tags"]),
        optional(&["Created At", "Date Created", "Created", "Created At (UTC)"]),
        optional(&["Customer Email", "Email"]),
        optional(&["Customer Name", "Customer"]),
        optional(&["Customer ID"]),
        optional(&["Type", "Source"]),
        optional(&["Rating", "Happiness Rating"]),
    ],
    status: |s| match s {
        "active" | "open" => Ok(Some("open")),
        "pending" => Ok(Some("pending")),
        "closed" => Ok(Some("closed")),
        "spam" => Err("marked as spam"),
        _ => Ok(None),
    },
    priority: |_| None,
};

static INTERCOM: Profile = Profile {
    name: "Intercom",
    source: Source::Intercom,
    columns: [
        required(&["Conversation ID", "Conversation id", "ID"]),
        optional(&["Conversation title", "Title", "Subject"]),
        required(&[
            "Conversation first message",
            "First message",
            "Initial message",
            "Message",
            "Body",
        ]),
        optional(&["Conversation state", "State"]),
        optional(&["Priority"]),
        optional(&["Conversation tags", "Tags"]),
        optional(&[
            "Created at (UTC)",
            "Conversation started at",
            "Created at",
            "Started at",
        ]),
        optional(&["User email", "Contact email", "Email"]),
        optional(&["User name", "Contact name", "Name"]),
        optional(&["User ID", "Contact ID", "External ID"]),
        optional(&["Source type", "Channel"]),
        optional(&["Conversation rating", "Rating"]),
    ],
    status: |s| {
        Ok(match s {
            "open" => Some("open"),
            "snoozed" => Some("pending"),
            "closed" => Some("closed"),
            _ => None,
        })
    },
    // Intercom marks conversations "priority" or "not priority".
    priority: |p| match p {
        "priority" | "true" | "yes" => Some("high"),
        _ => None,
    },
};

pub fn freshdesk<R: Read + 'static>(reader: R, tz: Timezone) -> Result<impl Iterator<Item = Row>> {
    ticket_csv(&FRESHDESK, reader, tz)
}

pub fn help_scout<R: Read + 'static>(reader: R, tz: Timezone) -> Result<impl Iterator<Item = Row>> {
    ticket_csv(&HELP_SCOUT, reader, tz)
}

pub fn intercom<R: Read + 'static>(reader: R, tz: Timezone) -> Result<impl Iterator<Item = Row>> {
    ticket_csv(&INTERCOM, reader, tz)
}

fn ticket_csv<R: Read + 'static>(
    p: &'static Profile,
    reader: R,
    tz: Timezone,
) -> Result<impl Iterator<Item = Row>> {
    csv_rows(p.name, reader, &p.columns, move |at, rec| {
        csv_ticket(p, at, rec, tz)
    })
}

fn csv_ticket(p: &Profile, at: &Located, rec: &StringRecord, tz: Timezone) -> Result<Value> {
    let id = at
        .get(rec, ID)
        .ok_or_else(|| row_error(format!("{} is empty", p.columns[ID].names[0])))?;
    let mut row = ticket(p.source, id, at.get(rec, SUBJECT), at.get(rec, BODY))?;
    if let Some(raw) = at.get(rec, STATUS) {
        match (p.status)(&raw.to_lowercase()) {
            Ok(Some(s)) => {
                row.insert("status".into(), s.into());
            }
            Ok(None) => {}
            Err(why) => {
                return Err(row_error(format!(
                    "{} {id} is {why}; not imported",
                    p.source.prefix()
                )))
            }
        }
    }
    if let Some(pr) = at
        .get(rec, PRIORITY)
        .and_then(|r| (p.priority)(&r.to_lowercase()))
    {
        row.insert("priority".into(), pr.into());
    }
    let mut labels: Vec<String> = at
        .get(rec, TAGS)
        .map(|t| t.split([',', ';']).map(str::to_string).collect())
        .unwrap_or_default();
    if let Some(c) = at.get(rec, CHANNEL) {
        labels.push(format!("{}{}", super::DERIVED_LABELS[0], c.to_lowercase()));
    }
    if let Some(r) = at.get(rec, RATING) {
        labels.push(format!("rating:{}", r.to_lowercase()));
    }
    row.insert("tags".into(), tags(labels));
    if let Some(c) = at.get(rec, CREATED) {
        row.insert(
            "created_at".into(),
            when(c, tz, p.columns[CREATED].names[0])?.into(),
        );
    }
    if let Some(c) = customer(
        at.get(rec, CUSTOMER_ID).map(|c| p.source.id(c)),
        at.get(rec, EMAIL),
        at.get(rec, NAME),
        None,
    ) {
        row.insert("customer".into(), c);
    }
    Ok(Value::Object(row))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zendesk_pages_and_lines_alike() {
        let text = r#"{"id": 1, "subject": "Card declined", "description": "My card was declined", "status": "hold", "priority": "high", "tags": ["billing"], "requester_id": 7, "created_at": "2024-01-02T03:04:05Z", "via": {"channel": "email"}, "satisfaction_rating": {"score": "bad"}}
{"tickets": [{"id": 2, "subject": "", "description": "No subject here\nsecond line", "requester_id": 8, "status": "deleted"}, {"id": 3, "description": "Only a description", "requester_id": 8}],
 "users": [{"id": 8, "email": "ann@example.com", "name": "Ann"}], "end_time": 1700000000, "end_of_stream": true}
"#;
        let rows: Vec<Row> = zendesk(text.as_bytes()).collect();
        assert_eq!(rows.len(), 3);
        let first = rows[0].1.as_ref().unwrap();
        assert_eq!(first["external_id"], "zendesk:1");
        assert_eq!(first["status"], "pending");
        assert_eq!(first["priority"], "high");
        assert_eq!(
            first["tags"],
            serde_json::json!(["billing", "channel:email", "satisfaction:bad"])
        );
        assert_eq!(first["customer"]["external_id"], "zendesk:7");
        assert!(rows[1]
            .1
            .as_ref()
            .unwrap_err()
            .to_string()
            .contains("deleted"));
        let third = rows[2].1.as_ref().unwrap();
        assert_eq!(third["subject"], "Only a description");
        assert_eq!(third["customer"]["email"], "ann@example.com");
        assert_eq!(third["customer"]["name"], "Ann");
    }

    #[test]
    fn broken_json_is_one_error_not_a_loop() {
        let rows: Vec<Row> = zendesk(&b"{\"id\": 1, \"subject\": \"a\"}\n{oops"[..]).collect();
        assert_eq!(rows.len(), 2);
        assert!(rows[1].1.is_err());
    }

    #[test]
    fn freshdesk_statuses_and_priorities_in_triage_terms() {
        let csv = "Ticket ID,Subject,Description,Status,Priority,Tags,Created time,Email,Full name\n\
                   12,Refund,Where is my refund,Resolved,Medium,\"refund,billing\",2024-01-02 10:00:00,bo@example.com,Bo\n";
        let rows: Vec<Row> = freshdesk(csv.as_bytes(), Timezone::default())
            .unwrap()
            .collect();
        let r = rows[0].1.as_ref().unwrap();
        assert_eq!(r["external_id"], "freshdesk:12");
        assert_eq!(r["status"], "solved");
        assert_eq!(r["priority"], "normal");
        assert_eq!(r["tags"], serde_json::json!(["refund", "billing"]));
        assert_eq!(r["created_at"], "2024-01-02T10:00:00+00:00");
        assert_eq!(r["customer"]["email"], "bo@example.com");
    }

    #[test]
    fn help_scout_spam_is_refused_with_its_reason() {
        let csv = "Conversation ID,Subject,Status\n5,Buy now,spam\n";
        let rows: Vec<Row> = help_scout(csv.as_bytes(), Timezone::default())
            .unwrap()
            .collect();
        assert!(rows[0].1.as_ref().unwrap_err().to_string().contains("spam"));
    }
}
