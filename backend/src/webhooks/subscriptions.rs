//! Managing subscriptions (admin): the checks a new or changed subscription must pass, and
//! the views the API and the settings page share.

use chrono::{DateTime, Utc};
use sea_orm::DatabaseConnection;
use serde::Serialize;

use crate::db::entity::webhook_delivery::{self, DeliveryState};
use crate::db::entity::webhook_subscription::{self, EventType, WebhookFormat};
use crate::db::webhooks::{self, NewSubscription, SubscriptionChange};
use crate::db::{Listing, Page};
use crate::{Error, Result};

/// A subscription as admins see it (the secret included: receivers need it to verify).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct SubscriptionView {
    pub id: i64,
    pub url: String,
    pub events: Vec<EventType>,
    pub format: WebhookFormat,
    pub description: String,
    /// `whsec_…`: verify `webhook-signature` with it (Standard Webhooks).
    pub secret: String,
    pub enabled: bool,
    /// Why it is disabled (by an admin, or after repeated failures).
    pub disabled_reason: Option<String>,
    pub disabled_at: Option<DateTime<Utc>>,
    /// Failed deliveries in a row.
    pub consecutive_failures: i32,
    /// After a failure nothing is sent before this time.
    pub paused_until: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

impl From<webhook_subscription::Model> for SubscriptionView {
    fn from(s: webhook_subscription::Model) -> Self {
        Self {
            events: webhooks::events_of(&s),
            id: s.id,
            url: s.url,
            format: s.format,
            description: s.description,
            secret: s.secret,
            enabled: s.disabled_at.is_none(),
            disabled_reason: s.disabled_reason,
            disabled_at: s.disabled_at,
            consecutive_failures: s.consecutive_failures,
            paused_until: s.paused_until,
            created_at: s.created_at,
        }
    }
}

/// One delivery in a subscription's log.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct DeliveryView {
    pub id: i64,
    /// The `webhook-id` every attempt carried.
    pub event_id: String,
    pub event_type: EventType,
    pub state: DeliveryState,
    pub attempts: i32,
    pub next_attempt_at: DateTime<Utc>,
    /// The receiver's last HTTP status (none when it could not be reached).
    pub last_status: Option<i32>,
    pub last_error: Option<String>,
    pub created_at: DateTime<Utc>,
    pub delivered_at: Option<DateTime<Utc>>,
}

impl From<webhook_delivery::Model> for DeliveryView {
    fn from(d: webhook_delivery::Model) -> Self {
        Self {
            id: d.id,
            event_id: d.event_id,
            event_type: d.event_type,
            state: d.state,
            attempts: d.attempts,
            next_attempt_at: d.next_attempt_at,
            last_status: d.last_status,
            last_error: d.last_error,
            created_at: d.created_at,
            delivered_at: d.delivered_at,
        }
    }
}

/// A receiver's address: http(s) with a host, at most 2,000 characters. (Any host: admins
/// choose where triage may send; redirects are not followed.)
pub fn url(field: &str, raw: &str) -> Result<String> {
    let t = raw.trim();
    let parsed = reqwest::Url::parse(t).map_err(|e| {
        Error::invalid("invalid_value", field, format!("{field} is not a URL: {e}"))
    })?;
    // Counted as the schema counts: characters of what was sent, spaces included.
    let too_long = raw.chars().count() > 2000;
    if !matches!(parsed.scheme(), "http" | "https") || parsed.host_str().is_none() || too_long {
        return Err(Error::invalid(
            "invalid_value",
            field,
            format!(
                "{field} must be an http:// or https:// URL with a host, at most 2,000 characters"
            ),
        ));
    }
    Ok(t.to_string())
}

/// One to five event types; repeats are dropped.
pub fn events(field: &str, raw: &[EventType]) -> Result<Vec<EventType>> {
    if raw.is_empty() {
        return Err(Error::invalid(
            "missing_field",
            field,
            format!("{field} needs at least one of {}", EventType::names()),
        ));
    }
    if raw.len() > EventType::ALL.len() {
        return Err(Error::invalid(
            "too_many",
            field,
            format!("{field} holds at most {} event types", EventType::ALL.len()),
        ));
    }
    let mut out = Vec::new();
    for kind in raw {
        if !out.contains(kind) {
            out.push(*kind);
        }
    }
    Ok(out)
}

fn description(raw: Option<String>) -> Result<Option<String>> {
    crate::validate::optional("description", raw, 500)
}

pub async fn create(
    db: &DatabaseConnection,
    url_text: &str,
    event_types: &[EventType],
    format: Option<WebhookFormat>,
    note: Option<String>,
) -> Result<SubscriptionView> {
    let new = NewSubscription {
        url: url("url", url_text)?,
        events: events("events", event_types)?,
        format: format.unwrap_or(WebhookFormat::Standard),
        description: description(note)?.unwrap_or_default(),
    };
    Ok(webhooks::create_subscription(db, new).await?.into())
}

pub struct Patch {
    pub url: Option<String>,
    pub events: Option<Vec<EventType>>,
    pub format: Option<WebhookFormat>,
    pub description: Option<String>,
    pub enabled: Option<bool>,
}

pub async fn update(db: &DatabaseConnection, id: i64, p: Patch) -> Result<SubscriptionView> {
    let change = SubscriptionChange {
        url: p.url.as_deref().map(|u| url("url", u)).transpose()?,
        events: p
            .events
            .as_deref()
            .map(|e| events("events", e))
            .transpose()?,
        format: p.format,
        description: description(p.description)?,
        enabled: p.enabled,
    };
    Ok(webhooks::update_subscription(db, id, change).await?.into())
}

pub async fn list(db: &DatabaseConnection) -> Result<Vec<SubscriptionView>> {
    Ok(webhooks::subscriptions(db)
        .await?
        .into_iter()
        .map(Into::into)
        .collect())
}

pub async fn get(db: &DatabaseConnection, id: i64) -> Result<SubscriptionView> {
    Ok(webhooks::subscription(db, id).await?.into())
}

/// A subscription's delivery log, newest first.
pub async fn deliveries(
    db: &DatabaseConnection,
    id: i64,
    page: Page,
) -> Result<Listing<DeliveryView>> {
    webhooks::subscription(db, id).await?;
    let (rows, total) = webhooks::deliveries(db, id, page).await?;
    Ok(Listing {
        items: rows.into_iter().map(Into::into).collect(),
        total,
        limit: page.limit,
        offset: page.offset,
    })
}
