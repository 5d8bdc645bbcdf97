//! Webhooks in: another tool's calls to `POST /api/v1/hooks/{name}`, checked and turned into
//! tickets or ratings that go through intake like any API post.
//!
//! A call is accepted only when it is signed with the hook's secret, within
//! [`TOLERANCE`] of now:
//!
//! * `zendesk` hooks use Zendesk's scheme: `X-Zendesk-Webhook-Signature` is
//!   base64(HMAC-SHA256(secret, timestamp + body)) with the timestamp in
//!   `X-Zendesk-Webhook-Signature-Timestamp`. The body is a ticket as Zendesk's event
//!   webhooks send it (`{"type": "zen:event-type:ticket.created", "detail": {...}}`) or as
//!   a trigger's JSON body writes it (`{"ticket": {...}}`), read like an export's ticket.
//! * `generic` hooks use Standard Webhooks: `webhook-signature` holds `v1,<base64
//!   HMAC-SHA256(key, "{webhook-id}.{webhook-timestamp}.{body}")>` (several, space
//!   separated, during a key rotation), the key being the base64 after `whsec_`. Fields are
//!   picked from the body by the hook's mapping (`{"subject": "$.issue.title", ...}`).
//!
//! The record's own id becomes the item's `external_id` (`zendesk:123`, `<hook name>:<id>`),
//! so a replayed or repeated call stores nothing new. A later call for a stored ticket (a
//! Zendesk `ticket.updated`, a status change) brings its status, priority and tags up to
//! date — unless its `updated_at` is not newer than the one stored, so updates delivered
//! out of order cannot roll a ticket back. Subject and body stay as first filed. Anything
//! wrong with the signature is 401 before the body is read as JSON.

use std::collections::BTreeMap;

use base64::Engine;
use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use serde_json::{Map, Value};
use sha2::Sha256;

use super::group::Writers;
use super::input::{RatingInput, TicketInput};
use super::json;
use super::redact::Redact;
use super::store::{self, Source, TicketUpdate};
use super::validate::{self, NewRating, NewTicket};
use crate::db::entity::inbound_hook::{self, HookItemKind, HookSource};
use crate::{Error, Result};

/// How far a call's timestamp may be from now: older calls are replays.
pub const TOLERANCE: chrono::Duration = chrono::Duration::minutes(5);

type HmacSha256 = Hmac<Sha256>;

/// The headers a signature check reads, by lower-case name.
pub trait Headers {
    fn get(&self, name: &str) -> Option<&str>;
}

/// What a call becomes.
pub enum Received {
    Ticket(NewTicket),
    Rating(NewRating),
}

/// Checks `body`'s signature for `hook` and reads it as a ticket or rating.
pub fn receive(
    hook: &inbound_hook::Model,
    headers: &dyn Headers,
    body: &[u8],
    now: DateTime<Utc>,
) -> Result<Received> {
    match hook.source {
        HookSource::Zendesk => {
            verify_zendesk(&hook.secret, headers, body, now)?;
            let payload: Value = json::parse(body)?;
            let ticket = payload
                .get("detail")
                .filter(|d| d.is_object())
                .or_else(|| payload.get("ticket").filter(|t| t.is_object()))
                .unwrap_or(&payload);
            let ticket = tags_as_list(ticket.clone());
            let row = super::sources::zendesk_ticket(&ticket, &Default::default())?;
            let mut made = validate::ticket(json::from_value::<TicketInput>(row)?)?;
            made.source_updated_at = updated_at(ticket.get("updated_at"))?;
            Ok(Received::Ticket(made))
        }
        HookSource::Generic => {
            verify_standard(&hook.secret, headers, body, now)?;
            let payload: Value = json::parse(body)?;
            let mapping = Mapping::parse(hook.mapping.as_deref().unwrap_or("{}"), hook.item_kind)?;
            let mut row = mapping.apply(&payload)?;
            if let Some(id) = row.get("external_id").and_then(Value::as_str) {
                let id = format!("{}:{id}", hook.name);
                row.insert("external_id".into(), id.into());
            }
            let changed_at = updated_at(row.remove("updated_at").as_ref())?;
            let row = Value::Object(row);
            Ok(match hook.item_kind {
                HookItemKind::Ticket => {
                    let mut made = validate::ticket(json::from_value::<TicketInput>(row)?)?;
                    made.source_updated_at = changed_at;
                    Received::Ticket(made)
                }
                HookItemKind::Rating => {
                    Received::Rating(validate::rating(json::from_value::<RatingInput>(row)?)?)
                }
            })
        }
    }
}

/// When the tool last changed the record (`updated_at`, RFC 3339 as Zendesk sends it), which
/// orders updates of one ticket; absent or blank is none, anything else is 400.
fn updated_at(v: Option<&Value>) -> Result<Option<DateTime<Utc>>> {
    match v.and_then(Value::as_str).map(str::trim) {
        None | Some("") => Ok(None),
        Some(t) => crate::validate::timestamp("updated_at", t).map(Some),
    }
}

/// What a call did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Taken {
    /// A new item.
    Created { item_id: i64 },
    /// A stored ticket's status, priority or tags changed to the tool's newer state.
    Updated { item_id: i64 },
    /// Already stored as it is (a replay, a repeated event, an older update; for ratings,
    /// any repeat): nothing changed.
    Duplicate { item_id: Option<i64> },
}

/// Takes one call for `hook`: checks it ([`receive`]), stores a new record through the
/// group-commit intake, and lets a repeated ticket bring the stored one up to date
/// ([`store::update_ticket`]).
pub async fn take(
    db: &sea_orm::DatabaseConnection,
    writers: &Writers,
    redact: Redact,
    hook: &inbound_hook::Model,
    headers: &(dyn Headers + Sync),
    body: &[u8],
    now: DateTime<Utc>,
) -> Result<Taken> {
    let repeated = |e: &Error| matches!(e, Error::Conflict { field, .. } if field == "external_id");
    match receive(hook, headers, body, now)? {
        Received::Ticket(t) => match writers.tickets.store(t.clone(), Source::Hook).await {
            Ok((_, item_id)) => Ok(Taken::Created { item_id }),
            Err(e) if repeated(&e) => Ok(match store::update_ticket(db, &t, redact).await? {
                TicketUpdate::Updated { item_id } => Taken::Updated { item_id },
                other => Taken::Duplicate {
                    item_id: Some(other.item_id()),
                },
            }),
            Err(e) => Err(e),
        },
        Received::Rating(r) => match writers.ratings.store(r, Source::Hook).await {
            Ok((_, item_id)) => Ok(Taken::Created { item_id }),
            Err(e) if repeated(&e) => Ok(Taken::Duplicate { item_id: None }),
            Err(e) => Err(e),
        },
    }
}

/// Zendesk trigger bodies write `{{ticket.tags}}` as one space-separated string.
fn tags_as_list(mut ticket: Value) -> Value {
    if let Some(Value::String(t)) = ticket.get("tags") {
        let list: Vec<Value> = t.split_whitespace().map(Value::from).collect();
        ticket["tags"] = Value::Array(list);
    }
    ticket
}

fn unauthorized(why: &str) -> Error {
    Error::Unauthorized(format!("webhook signature: {why}"))
}

fn within_tolerance(at: DateTime<Utc>, now: DateTime<Utc>) -> Result<()> {
    if (now - at).abs() > TOLERANCE {
        return Err(unauthorized(
            "the timestamp is more than 5 minutes from now (a replay?)",
        ));
    }
    Ok(())
}

fn verify_zendesk(secret: &str, h: &dyn Headers, body: &[u8], now: DateTime<Utc>) -> Result<()> {
    let signature = h
        .get("x-zendesk-webhook-signature")
        .ok_or_else(|| unauthorized("X-Zendesk-Webhook-Signature is missing"))?;
    let timestamp = h
        .get("x-zendesk-webhook-signature-timestamp")
        .ok_or_else(|| unauthorized("X-Zendesk-Webhook-Signature-Timestamp is missing"))?;
    let at = DateTime::parse_from_rfc3339(timestamp.trim())
        .map_err(|_| unauthorized("the timestamp is not an ISO 8601 time"))?;
    within_tolerance(at.with_timezone(&Utc), now)?;
    let given = base64::engine::general_purpose::STANDARD
        .decode(signature.trim())
        .map_err(|_| unauthorized("the signature is not base64"))?;
    let mut mac = HmacSha256::new_from_slice(secret.as_bytes())
        .map_err(|_| unauthorized("unusable secret"))?;
    mac.update(timestamp.as_bytes());
    mac.update(body);
    mac.verify_slice(&given)
        .map_err(|_| unauthorized("it does not match"))
}

/// The key of a Standard Webhooks secret (`whsec_<base64>`; a secret without the prefix
/// is taken as base64 too).
fn standard_key(secret: &str) -> Result<Vec<u8>> {
    base64::engine::general_purpose::STANDARD
        .decode(secret.strip_prefix("whsec_").unwrap_or(secret))
        .map_err(|_| Error::Internal("a webhook secret is not base64".into()))
}

/// The `webhook-signature` value for a Standard Webhooks message.
pub fn sign_standard(secret: &str, id: &str, timestamp: i64, body: &[u8]) -> Result<String> {
    let mut mac = HmacSha256::new_from_slice(&standard_key(secret)?)
        .map_err(|_| Error::Internal("unusable webhook secret".into()))?;
    mac.update(format!("{id}.{timestamp}.").as_bytes());
    mac.update(body);
    Ok(format!(
        "v1,{}",
        base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
    ))
}

fn verify_standard(secret: &str, h: &dyn Headers, body: &[u8], now: DateTime<Utc>) -> Result<()> {
    let id = h
        .get("webhook-id")
        .ok_or_else(|| unauthorized("webhook-id is missing"))?;
    let ts = h
        .get("webhook-timestamp")
        .ok_or_else(|| unauthorized("webhook-timestamp is missing"))?;
    let signatures = h
        .get("webhook-signature")
        .ok_or_else(|| unauthorized("webhook-signature is missing"))?;
    let seconds: i64 = ts
        .trim()
        .parse()
        .map_err(|_| unauthorized("webhook-timestamp is not a number of seconds"))?;
    let at = DateTime::from_timestamp(seconds, 0)
        .ok_or_else(|| unauthorized("webhook-timestamp is out of range"))?;
    within_tolerance(at, now)?;
    let mut mac = HmacSha256::new_from_slice(&standard_key(secret)?)
        .map_err(|_| unauthorized("unusable secret"))?;
    mac.update(format!("{id}.{seconds}.").as_bytes());
    mac.update(body);
    let expected = mac.finalize().into_bytes();
    let any = signatures.split_whitespace().any(|s| {
        s.strip_prefix("v1,")
            .and_then(|b| base64::engine::general_purpose::STANDARD.decode(b).ok())
            .is_some_and(|given| {
                use subtle::ConstantTimeEq;
                given.len() == expected.len() && bool::from(given.ct_eq(&expected))
            })
    });
    if any {
        Ok(())
    } else {
        Err(unauthorized("it does not match"))
    }
}

// ---- managing hooks (admin) ---------------------------------------------------------

/// A hook as admins see it.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct HookView {
    pub id: i64,
    /// The last part of its address: `POST /api/v1/hooks/{name}`.
    pub name: String,
    pub source: HookSource,
    pub item_kind: HookItemKind,
    /// Generic hooks: triage field → payload path.
    #[schema(value_type = Option<Object>)]
    pub mapping: Option<Value>,
    /// What the calls are signed with (Zendesk's signing secret, or a `whsec_` key).
    pub secret: String,
    pub created_at: DateTime<Utc>,
}

impl From<inbound_hook::Model> for HookView {
    fn from(h: inbound_hook::Model) -> Self {
        Self {
            id: h.id,
            name: h.name,
            source: h.source,
            item_kind: h.item_kind,
            mapping: h.mapping.and_then(|m| serde_json::from_str(&m).ok()),
            secret: h.secret,
            created_at: h.created_at,
        }
    }
}

/// The longest secret a hook takes (the API schema says the same).
pub const SECRET_MAX_CHARS: usize = 200;

/// What a new hook is made from (checked here).
pub struct NewHookInput {
    pub name: String,
    pub source: HookSource,
    pub item_kind: Option<HookItemKind>,
    pub mapping: Option<BTreeMap<String, String>>,
    pub secret: Option<String>,
}

pub async fn create_hook(
    db: &sea_orm::DatabaseConnection,
    input: NewHookInput,
) -> Result<HookView> {
    // Taken as sent (no trimming): the name is part of a URL, and the schema's pattern
    // describes exactly what is accepted.
    let name = input.name;
    let good_name = (1..=50).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_');
    if !good_name {
        return Err(Error::invalid(
            "invalid_value",
            "name",
            "name must be 1 to 50 of a-z, 0-9, - and _ (it is part of the hook's URL)",
        ));
    }
    // The schema's limit, in characters: a longer "secret" is a mistake, not a key.
    let given_secret = crate::validate::optional("secret", input.secret, SECRET_MAX_CHARS)?;
    let (item_kind, mapping, secret) = match input.source {
        HookSource::Zendesk => {
            if input.mapping.is_some() {
                return Err(Error::invalid(
                    "unknown_field",
                    "mapping",
                    "a zendesk hook reads Zendesk's ticket fields; mapping is for generic hooks",
                ));
            }
            if input.item_kind.is_some_and(|k| k != HookItemKind::Ticket) {
                return Err(Error::invalid(
                    "invalid_value",
                    "item_kind",
                    "a zendesk hook makes tickets",
                ));
            }
            let secret = given_secret
                .filter(|s| s.chars().count() >= 8)
                .ok_or_else(|| {
                    Error::invalid(
                        "missing_field",
                        "secret",
                        "a zendesk hook needs the webhook's signing secret (Zendesk shows it on the webhook's page), at least 8 characters",
                    )
                })?;
            (HookItemKind::Ticket, None, secret)
        }
        HookSource::Generic => {
            let kind = input.item_kind.unwrap_or(HookItemKind::Ticket);
            let raw = input.mapping.ok_or_else(|| {
                Error::invalid(
                    "missing_field",
                    "mapping",
                    "a generic hook needs a mapping: triage field → path in the payload",
                )
            })?;
            Mapping::from_pairs(raw.clone(), kind)?;
            let secret = match given_secret {
                Some(s) => {
                    if standard_key(&s).map_or(true, |k| k.len() < 16) {
                        return Err(Error::invalid(
                            "invalid_value",
                            "secret",
                            "secret must be whsec_ and the base64 of at least 16 bytes (or leave it out to get one)",
                        ));
                    }
                    s
                }
                None => crate::db::webhooks::new_secret(),
            };
            let mapping = serde_json::to_string(&raw)
                .map_err(|e| Error::Internal(format!("writing a mapping: {e}")))?;
            (kind, Some(mapping), secret)
        }
    };
    let made = crate::db::webhooks::create_hook(
        db,
        crate::db::webhooks::NewHook {
            name,
            source: input.source,
            item_kind,
            mapping,
            secret,
        },
    )
    .await?;
    Ok(made.into())
}

// ---- generic mapping ----------------------------------------------------------------

/// A generic hook's field map: triage field → where in the payload (`$.a.b[0].c`).
#[derive(Debug, Clone)]
pub struct Mapping(BTreeMap<String, Vec<Step>>);

#[derive(Debug, Clone, PartialEq)]
enum Step {
    Key(String),
    Index(usize),
}

const TICKET_FIELDS: &[&str] = &[
    "external_id",
    "subject",
    "body",
    "priority",
    "status",
    "tags",
    "created_at",
    "updated_at",
    "customer.external_id",
    "customer.email",
    "customer.name",
    "customer.segment",
];
const RATING_FIELDS: &[&str] = &[
    "external_id",
    "score",
    "comment",
    "subject",
    "created_at",
    "customer.external_id",
    "customer.email",
    "customer.name",
    "customer.segment",
];

impl Mapping {
    /// Reads and checks a mapping (stored JSON, or a request's): known fields for the kind,
    /// `external_id` and the kind's required fields present, every path well formed.
    pub fn parse(text: &str, kind: HookItemKind) -> Result<Mapping> {
        let raw: BTreeMap<String, String> = serde_json::from_str(text).map_err(|e| {
            Error::invalid(
                "invalid_type",
                "mapping",
                format!("mapping must be an object of field → path strings: {e}"),
            )
        })?;
        Self::from_pairs(raw, kind)
    }

    pub fn from_pairs(raw: BTreeMap<String, String>, kind: HookItemKind) -> Result<Mapping> {
        let (allowed, required): (&[&str], &[&str]) = match kind {
            HookItemKind::Ticket => (TICKET_FIELDS, &["external_id", "subject", "body"]),
            HookItemKind::Rating => (RATING_FIELDS, &["external_id", "score"]),
        };
        let mut out = BTreeMap::new();
        for (field, path) in raw {
            if !allowed.contains(&field.as_str()) {
                return Err(Error::invalid(
                    "unknown_field",
                    format!("mapping.{field}"),
                    format!(
                        "{field} is not a {kind} field; fields: {}",
                        allowed.join(", ")
                    ),
                ));
            }
            let steps = parse_path(&path).ok_or_else(|| {
                Error::invalid(
                    "invalid_value",
                    format!("mapping.{field}"),
                    format!("{path:?} is not a path like $.issue.title or $.labels[0]"),
                )
            })?;
            out.insert(field, steps);
        }
        for r in required {
            if !out.contains_key(*r) {
                return Err(Error::invalid(
                    "missing_field",
                    format!("mapping.{r}"),
                    format!("a {kind} hook's mapping needs {r}"),
                ));
            }
        }
        Ok(Mapping(out))
    }

    /// The request object the API would accept, from `payload`. A path that finds nothing
    /// leaves its field out (validation then names a required one).
    fn apply(&self, payload: &Value) -> Result<Map<String, Value>> {
        let mut row = Map::new();
        let mut customer = Map::new();
        for (field, steps) in &self.0 {
            let Some(v) = follow(payload, steps) else {
                continue;
            };
            let v = match (field.as_str(), v) {
                ("tags", Value::Array(a)) => Value::Array(
                    a.iter()
                        .filter_map(|t| scalar_text(t).map(Value::String))
                        .collect(),
                ),
                ("tags", other) => Value::Array(
                    scalar_text(other)
                        .into_iter()
                        .flat_map(|t| {
                            t.split(',')
                                .map(|s| Value::String(s.trim().into()))
                                .collect::<Vec<_>>()
                        })
                        .collect(),
                ),
                // Form tools often send numbers as text ("4").
                ("score", Value::String(t)) => t
                    .trim()
                    .parse::<i64>()
                    .map(Value::from)
                    .unwrap_or_else(|_| Value::String(t.clone())),
                ("score", v) => v.clone(),
                (_, v) => match scalar_text(v) {
                    Some(t) => Value::String(t),
                    None => continue,
                },
            };
            match field.strip_prefix("customer.") {
                Some(c) => {
                    customer.insert(c.to_string(), v);
                }
                None => {
                    row.insert(field.clone(), v);
                }
            }
        }
        if !customer.is_empty() {
            row.insert("customer".into(), Value::Object(customer));
        }
        Ok(row)
    }
}

/// Strings as they are, numbers and booleans as text (ids are often numbers).
fn scalar_text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

fn follow<'v>(mut v: &'v Value, steps: &[Step]) -> Option<&'v Value> {
    for s in steps {
        v = match s {
            Step::Key(k) => v.get(k)?,
            Step::Index(i) => v.get(*i)?,
        };
    }
    (!v.is_null()).then_some(v)
}

/// `$.a.b[0].c` (or `a.b[0].c`) as steps; `None` when malformed.
fn parse_path(path: &str) -> Option<Vec<Step>> {
    let p = path.trim();
    let p = p.strip_prefix('$').unwrap_or(p);
    let p = p.strip_prefix('.').unwrap_or(p);
    if p.is_empty() {
        return None;
    }
    let mut steps = Vec::new();
    for part in p.split('.') {
        let (key, mut rest) = match part.find('[') {
            Some(i) => (&part[..i], &part[i..]),
            None => (part, ""),
        };
        if !key.is_empty() {
            steps.push(Step::Key(key.to_string()));
        } else if rest.is_empty() {
            return None;
        }
        while let Some(r) = rest.strip_prefix('[') {
            let end = r.find(']')?;
            steps.push(Step::Index(r[..end].trim().parse().ok()?));
            rest = &r[end + 1..];
        }
        if !rest.is_empty() {
            return None;
        }
    }
    Some(steps)
}

#[cfg(test)]
mod tests {
    use super::*;

    struct H(Vec<(&'static str, String)>);
    impl Headers for H {
        fn get(&self, name: &str) -> Option<&str> {
            self.0
                .iter()
                .find(|(n, _)| *n == name)
                .map(|(_, v)| v.as_str())
        }
    }

    fn hook(
        source: HookSource,
        kind: HookItemKind,
        mapping: Option<&str>,
        secret: &str,
    ) -> inbound_hook::Model {
        inbound_hook::Model {
            id: 1,
            name: "gh".into(),
            source,
            item_kind: kind,
            mapping: mapping.map(str::to_string),
            secret: secret.into(),
            created_at: Utc::now(),
        }
    }

    #[test]
    fn standard_webhooks_signature_round_trip_and_tampering() {
        let secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
        let body = br#"{"issue": {"id": 7, "title": "Export broken", "body": "CSV export fails"}, "labels": [{"name": "bug"}]}"#;
        let now = Utc::now();
        let ts = now.timestamp();
        let sig = sign_standard(secret, "msg_1", ts, body).unwrap();
        let headers = |sig: &str, ts: i64| {
            H(vec![
                ("webhook-id", "msg_1".into()),
                ("webhook-timestamp", ts.to_string()),
                ("webhook-signature", format!("v1,bm90IGl0 {sig}")),
            ])
        };
        let h = hook(
            HookSource::Generic,
            HookItemKind::Ticket,
            Some(
                r#"{"external_id": "$.issue.id", "subject": "$.issue.title", "body": "$.issue.body", "tags": "$.labels[0].name"}"#,
            ),
            secret,
        );
        let Received::Ticket(t) = receive(&h, &headers(&sig, ts), body, now).unwrap() else {
            panic!("a ticket")
        };
        assert_eq!(t.subject, "Export broken");
        assert_eq!(t.meta.external_id.as_deref(), Some("gh:7"));
        assert_eq!(t.tags, ["bug"]);
        // Tampered body, old timestamp, other secret: 401.
        let mut tampered = body.to_vec();
        tampered[20] ^= 1;
        assert!(matches!(
            receive(&h, &headers(&sig, ts), &tampered, now),
            Err(Error::Unauthorized(_))
        ));
        let old = ts - 600;
        let old_sig = sign_standard(secret, "msg_1", old, body).unwrap();
        assert!(matches!(
            receive(&h, &headers(&old_sig, old), body, now),
            Err(Error::Unauthorized(_))
        ));
        let other = sign_standard("whsec_b3RoZXIgc2VjcmV0", "msg_1", ts, body).unwrap();
        assert!(matches!(
            receive(&h, &headers(&other, ts), body, now),
            Err(Error::Unauthorized(_))
        ));
    }

    #[test]
    fn zendesk_signature_over_timestamp_and_body() {
        let secret = "dGhpc19zZWNyZXRfaXNfZm9yX3Rlc3Rpbmdfb25seQ==";
        let body = br#"{"type": "zen:event-type:ticket.created", "detail": {"id": "35436", "subject": "Card declined", "description": "Declined twice", "priority": "HIGH", "status": "OPEN", "tags": ["cards"], "requester_id": "20978392", "created_at": "2024-05-02T09:12:44Z"}}"#;
        let now = Utc::now();
        let ts = now.to_rfc3339();
        let mut mac = HmacSha256::new_from_slice(secret.as_bytes()).unwrap();
        mac.update(ts.as_bytes());
        mac.update(body);
        let sig = base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes());
        let h = H(vec![
            ("x-zendesk-webhook-signature", sig),
            ("x-zendesk-webhook-signature-timestamp", ts),
        ]);
        let hk = hook(HookSource::Zendesk, HookItemKind::Ticket, None, secret);
        let Received::Ticket(t) = receive(&hk, &h, body, now).unwrap() else {
            panic!("a ticket")
        };
        assert_eq!(t.meta.external_id.as_deref(), Some("zendesk:35436"));
        assert_eq!(t.priority.as_str(), "high");
        let none = H(vec![]);
        assert!(matches!(
            receive(&hk, &none, body, now),
            Err(Error::Unauthorized(_))
        ));
    }

    #[test]
    fn a_rating_hook_reads_a_score_sent_as_text() {
        let secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
        let h = hook(
            HookSource::Generic,
            HookItemKind::Rating,
            Some(r#"{"external_id": "$.id", "score": "$.stars", "comment": "$.text"}"#),
            secret,
        );
        let body = br#"{"id": "r-9", "stars": "4", "text": "Good app"}"#;
        let now = Utc::now();
        let sig = sign_standard(secret, "m", now.timestamp(), body).unwrap();
        let headers = H(vec![
            ("webhook-id", "m".into()),
            ("webhook-timestamp", now.timestamp().to_string()),
            ("webhook-signature", sig),
        ]);
        let Received::Rating(r) = receive(&h, &headers, body, now).unwrap() else {
            panic!("a rating")
        };
        assert_eq!(r.score, 4);
        assert_eq!(r.meta.external_id.as_deref(), Some("gh:r-9"));
    }

    #[test]
    fn mappings_are_checked_when_made() {
        let ok = Mapping::parse(
            r#"{"external_id": "$.id", "score": "$.rating.stars"}"#,
            HookItemKind::Rating,
        );
        assert!(ok.is_ok());
        let e = Mapping::parse(r#"{"external_id": "$.id"}"#, HookItemKind::Rating).unwrap_err();
        assert!(e.to_string().contains("score"), "{e}");
        let e = Mapping::parse(
            r#"{"external_id": "$.id", "score": "$.a[x]"}"#,
            HookItemKind::Rating,
        )
        .unwrap_err();
        assert!(matches!(e, Error::Invalid { field: Some(ref f), .. } if f == "mapping.score"));
        assert_eq!(
            parse_path("$.labels[0].name"),
            Some(vec![
                Step::Key("labels".into()),
                Step::Index(0),
                Step::Key("name".into())
            ])
        );
        assert_eq!(parse_path("$"), None);
    }
}
