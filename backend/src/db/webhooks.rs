//! Webhooks in storage: inbound hooks, subscriptions, and the outbox of deliveries.
//!
//! [`emit`] is called inside the transaction of the change an event reports (an item
//! stored, a theme created, a status changed), so an event is queued exactly when its change
//! commits: one delivery row per subscription that wants it, its body rendered in the
//! subscription's format. `(subscription_id, event_id)` is unique: an event found twice (a
//! periodic check that sees the same rising theme) is queued once, and every retry of a
//! delivery carries the same id.
//!
//! Deliveries are claimed for a while ([`claim_due`]); a sender that dies leaves them
//! `delivering` until the claim runs out and another sends them again — at least once,
//! under the same id, which receivers deduplicate on.

use chrono::{DateTime, Duration, Utc};
use sea_orm::sea_query::{Expr, OnConflict};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, DbBackend, EntityTrait,
    FromQueryResult, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect, Statement,
};
use serde_json::{json, Value};

use super::entity::inbound_hook::{self, HookItemKind, HookSource};
use super::entity::webhook_delivery::{self, DeliveryState};
use super::entity::webhook_subscription::{self, EventType, WebhookFormat};
use super::Page;
use crate::{Error, Result};

/// An event to tell subscribers about.
#[derive(Debug, Clone)]
pub struct Event {
    /// Stable: the same event found again gets the same id (`evt_item_created_42`).
    pub id: String,
    pub kind: EventType,
    /// The `data` of a standard payload.
    pub data: Value,
    /// One line for people (Slack), already in plain words.
    pub summary: String,
}

impl Event {
    pub fn new(kind: EventType, key: impl std::fmt::Display, data: Value, summary: String) -> Self {
        Self {
            id: event_id(kind, key),
            kind,
            data,
            summary,
        }
    }
}

/// An event's id: `evt_item_created_42`.
pub fn event_id(kind: EventType, key: impl std::fmt::Display) -> String {
    format!("evt_{}_{key}", kind.as_str().replace('.', "_"))
}

/// Erasure: the deliveries of these items' `item.created` events (their payload holds the
/// item's words) leave the outbox and its log, sent or not.
pub async fn forget_items<C: ConnectionTrait>(db: &C, item_ids: &[i64]) -> Result<u64> {
    let ids: Vec<String> = item_ids
        .iter()
        .map(|i| event_id(EventType::ItemCreated, i))
        .collect();
    let mut removed = 0;
    for chunk in ids.chunks(1000) {
        removed += webhook_delivery::Entity::delete_many()
            .filter(webhook_delivery::Column::EventId.is_in(chunk.to_vec()))
            .exec(db)
            .await?
            .rows_affected;
    }
    Ok(removed)
}

/// Enabled subscriptions that want `kind`.
pub async fn wanting<C: ConnectionTrait>(
    db: &C,
    kind: EventType,
) -> Result<Vec<webhook_subscription::Model>> {
    let all = webhook_subscription::Entity::find()
        .filter(webhook_subscription::Column::DisabledAt.is_null())
        .all(db)
        .await?;
    Ok(all
        .into_iter()
        .filter(|s| events_of(s).contains(&kind))
        .collect())
}

/// A subscription's event types.
pub fn events_of(s: &webhook_subscription::Model) -> Vec<EventType> {
    serde_json::from_str::<Vec<String>>(&s.events)
        .unwrap_or_default()
        .iter()
        .filter_map(|e| EventType::parse(e))
        .collect()
}

/// Queues `events` for every enabled subscription that wants them; returns the deliveries
/// queued (events already queued for a subscription are not queued again).
pub async fn emit<C: ConnectionTrait>(db: &C, events: &[Event]) -> Result<u64> {
    if events.is_empty() {
        return Ok(0);
    }
    let subscriptions = webhook_subscription::Entity::find()
        .filter(webhook_subscription::Column::DisabledAt.is_null())
        .all(db)
        .await?;
    if subscriptions.is_empty() {
        return Ok(0);
    }
    let now = Utc::now();
    let mut rows = Vec::new();
    for s in &subscriptions {
        let wants = events_of(s);
        for e in events.iter().filter(|e| wants.contains(&e.kind)) {
            rows.push(webhook_delivery::ActiveModel {
                subscription_id: Set(s.id),
                event_id: Set(e.id.clone()),
                event_type: Set(e.kind),
                payload: Set(body(s.format, e, now)),
                state: Set(DeliveryState::Pending),
                attempts: Set(0),
                next_attempt_at: Set(now),
                created_at: Set(now),
                ..Default::default()
            });
        }
    }
    let mut queued = 0;
    for chunk in super::chunks_for(&rows, 8) {
        queued += webhook_delivery::Entity::insert_many(chunk.to_vec())
            .on_conflict(
                OnConflict::columns([
                    webhook_delivery::Column::SubscriptionId,
                    webhook_delivery::Column::EventId,
                ])
                .do_nothing()
                .to_owned(),
            )
            .exec_without_returning(db)
            .await?;
    }
    Ok(queued)
}

/// A delivery's body in `format`.
fn body(format: WebhookFormat, e: &Event, now: DateTime<Utc>) -> String {
    let v = match format {
        WebhookFormat::Standard => json!({
            "type": e.kind.as_str(),
            "timestamp": now.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
            "data": e.data,
        }),
        WebhookFormat::Slack => {
            // Slack reads `&`, `<` and `>` as markup: a theme label must not become a link.
            let text = e
                .summary
                .replace('&', "&amp;")
                .replace('<', "&lt;")
                .replace('>', "&gt;");
            json!({
                "text": text,
                "blocks": [
                    {"type": "section", "text": {"type": "mrkdwn", "text": text}},
                    {"type": "context", "elements": [
                        {"type": "mrkdwn", "text": format!("triage · {}", e.kind.as_str())}
                    ]}
                ]
            })
        }
    };
    v.to_string()
}

// ---- subscriptions ------------------------------------------------------------------

pub struct NewSubscription {
    pub url: String,
    pub events: Vec<EventType>,
    pub format: WebhookFormat,
    pub description: String,
}

/// A new secret: `whsec_` and the base64 of 32 random bytes (Standard Webhooks).
pub fn new_secret() -> String {
    use base64::Engine;
    let key: [u8; 32] = rand::random();
    format!(
        "whsec_{}",
        base64::engine::general_purpose::STANDARD.encode(key)
    )
}

fn events_json(events: &[EventType]) -> String {
    serde_json::to_string(&events.iter().map(|e| e.as_str()).collect::<Vec<_>>())
        .unwrap_or_else(|_| "[]".into())
}

pub async fn create_subscription<C: ConnectionTrait>(
    db: &C,
    new: NewSubscription,
) -> Result<webhook_subscription::Model> {
    Ok(webhook_subscription::ActiveModel {
        url: Set(new.url),
        events: Set(events_json(&new.events)),
        format: Set(new.format),
        secret: Set(new_secret()),
        description: Set(new.description),
        consecutive_failures: Set(0),
        paused_until: Set(None),
        created_at: Set(Utc::now()),
        ..Default::default()
    }
    .insert(db)
    .await?)
}

pub async fn subscriptions<C: ConnectionTrait>(db: &C) -> Result<Vec<webhook_subscription::Model>> {
    Ok(webhook_subscription::Entity::find()
        .order_by_asc(webhook_subscription::Column::Id)
        .all(db)
        .await?)
}

pub async fn subscription<C: ConnectionTrait>(
    db: &C,
    id: i64,
) -> Result<webhook_subscription::Model> {
    webhook_subscription::Entity::find_by_id(id)
        .one(db)
        .await?
        .ok_or_else(|| Error::not_found("webhook", id))
}

/// What may change on a subscription; `None` leaves a field as it is.
#[derive(Default)]
pub struct SubscriptionChange {
    pub url: Option<String>,
    pub events: Option<Vec<EventType>>,
    pub format: Option<WebhookFormat>,
    pub description: Option<String>,
    /// `true` enables (and forgets past failures), `false` disables.
    pub enabled: Option<bool>,
}

pub async fn update_subscription<C: ConnectionTrait>(
    db: &C,
    id: i64,
    change: SubscriptionChange,
) -> Result<webhook_subscription::Model> {
    let current = subscription(db, id).await?;
    let mut am: webhook_subscription::ActiveModel = current.clone().into();
    if let Some(url) = change.url {
        am.url = Set(url);
    }
    if let Some(events) = change.events {
        am.events = Set(events_json(&events));
    }
    if let Some(format) = change.format {
        am.format = Set(format);
    }
    if let Some(d) = change.description {
        am.description = Set(d);
    }
    match change.enabled {
        Some(true) if current.disabled_at.is_some() => {
            am.disabled_at = Set(None);
            am.disabled_reason = Set(None);
            am.consecutive_failures = Set(0);
            am.paused_until = Set(None);
        }
        Some(false) if current.disabled_at.is_none() => {
            am.disabled_at = Set(Some(Utc::now()));
            am.disabled_reason = Set(Some("disabled by an admin".into()));
        }
        _ => {}
    }
    Ok(am.update(db).await?)
}

pub async fn delete_subscription<C: ConnectionTrait>(db: &C, id: i64) -> Result<()> {
    let r = webhook_subscription::Entity::delete_by_id(id)
        .exec(db)
        .await?;
    if r.rows_affected == 0 {
        return Err(Error::not_found("webhook", id));
    }
    Ok(())
}

// ---- deliveries ---------------------------------------------------------------------

/// Subscriptions with deliveries due now (pending, or claimed by a sender whose claim ran
/// out), enabled and not paused after a failure.
pub async fn due_subscriptions<C: ConnectionTrait>(db: &C) -> Result<Vec<i64>> {
    #[derive(FromQueryResult)]
    struct Sub {
        subscription_id: i64,
    }
    let backend = db.get_database_backend();
    let rows = Sub::find_by_statement(Statement::from_sql_and_values(
        backend,
        "SELECT DISTINCT d.subscription_id FROM webhook_deliveries d \
         JOIN webhook_subscriptions s ON s.id = d.subscription_id \
         WHERE s.disabled_at IS NULL AND (s.paused_until IS NULL OR s.paused_until <= $2) \
         AND ((d.state = $1 AND d.next_attempt_at <= $2) \
         OR (d.state = $3 AND d.claimed_until < $2))",
        [
            DeliveryState::Pending.as_str().into(),
            Utc::now().into(),
            DeliveryState::Delivering.as_str().into(),
        ],
    ))
    .all(db)
    .await?;
    Ok(rows.into_iter().map(|r| r.subscription_id).collect())
}

/// Claims up to `limit` due deliveries of one subscription, oldest first, for `lease`.
pub async fn claim_due<C: ConnectionTrait>(
    db: &C,
    subscription_id: i64,
    limit: u64,
    lease: Duration,
) -> Result<Vec<webhook_delivery::Model>> {
    let backend = db.get_database_backend();
    let lock = if backend == DbBackend::Postgres {
        " FOR UPDATE SKIP LOCKED"
    } else {
        ""
    };
    let now = Utc::now();
    let sql = format!(
        "UPDATE webhook_deliveries SET state = $1, claimed_until = $2, attempts = attempts + 1 \
         WHERE id IN (SELECT id FROM webhook_deliveries WHERE subscription_id = $3 \
         AND ((state = $4 AND next_attempt_at <= $5) OR (state = $1 AND claimed_until < $5)) \
         ORDER BY id LIMIT $6{lock}) RETURNING *"
    );
    let mut rows = webhook_delivery::Model::find_by_statement(Statement::from_sql_and_values(
        backend,
        &sql,
        [
            DeliveryState::Delivering.as_str().into(),
            (now + lease).into(),
            subscription_id.into(),
            DeliveryState::Pending.as_str().into(),
            now.into(),
            (limit as i64).into(),
        ],
    ))
    .all(db)
    .await?;
    rows.sort_by_key(|d| d.id);
    Ok(rows)
}

/// What became of one attempt.
pub enum Attempt {
    Delivered {
        status: u16,
    },
    /// Failed; tried again at `retry_at`, or given up when `None`.
    Failed {
        status: Option<u16>,
        error: String,
        retry_at: Option<DateTime<Utc>>,
    },
}

/// The wait after the `n`th failure in a row: `base` doubling, at most an hour.
pub fn backoff(base: Duration, n: i32) -> Duration {
    let factor = 1i32 << n.clamp(1, 11).saturating_sub(1);
    (base * factor).min(Duration::hours(1))
}

/// Records an attempt and keeps the subscription's run of failures: after a failure the
/// subscription is paused for [`backoff`] (a receiver that is down gets one attempt per
/// pause, not one per queued event), and disabled when the run reaches `disable_after`.
/// Returns whether it was disabled now.
pub async fn record<C: ConnectionTrait>(
    db: &C,
    delivery: &webhook_delivery::Model,
    attempt: Attempt,
    retry_base: Duration,
    disable_after: u32,
) -> Result<bool> {
    let d = webhook_delivery::Column::Id;
    let now = Utc::now();
    let mut q = webhook_delivery::Entity::update_many().col_expr(
        webhook_delivery::Column::ClaimedUntil,
        Expr::value(Option::<DateTime<Utc>>::None),
    );
    let succeeded = matches!(attempt, Attempt::Delivered { .. });
    q = match attempt {
        Attempt::Delivered { status } => q
            .col_expr(
                webhook_delivery::Column::State,
                Expr::value(DeliveryState::Delivered.as_str()),
            )
            .col_expr(
                webhook_delivery::Column::LastStatus,
                Expr::value(i32::from(status)),
            )
            .col_expr(
                webhook_delivery::Column::LastError,
                Expr::value(Option::<String>::None),
            )
            .col_expr(webhook_delivery::Column::DeliveredAt, Expr::value(now)),
        Attempt::Failed {
            status,
            error,
            retry_at,
        } => {
            let q = q
                .col_expr(
                    webhook_delivery::Column::LastStatus,
                    Expr::value(status.map(i32::from)),
                )
                .col_expr(webhook_delivery::Column::LastError, Expr::value(error));
            match retry_at {
                Some(at) => q
                    .col_expr(
                        webhook_delivery::Column::State,
                        Expr::value(DeliveryState::Pending.as_str()),
                    )
                    .col_expr(webhook_delivery::Column::NextAttemptAt, Expr::value(at)),
                None => q.col_expr(
                    webhook_delivery::Column::State,
                    Expr::value(DeliveryState::Failed.as_str()),
                ),
            }
        }
    };
    q.filter(d.eq(delivery.id)).exec(db).await?;
    let s = webhook_subscription::Column::Id;
    if succeeded {
        webhook_subscription::Entity::update_many()
            .col_expr(
                webhook_subscription::Column::ConsecutiveFailures,
                Expr::value(0),
            )
            .col_expr(
                webhook_subscription::Column::PausedUntil,
                Expr::value(Option::<DateTime<Utc>>::None),
            )
            .filter(s.eq(delivery.subscription_id))
            .exec(db)
            .await?;
        return Ok(false);
    }
    // Counted in the database (two processes failing at once both count), then read back
    // for the pause.
    webhook_subscription::Entity::update_many()
        .col_expr(
            webhook_subscription::Column::ConsecutiveFailures,
            Expr::col(webhook_subscription::Column::ConsecutiveFailures).add(1),
        )
        .filter(s.eq(delivery.subscription_id))
        .exec(db)
        .await?;
    let run = subscription(db, delivery.subscription_id)
        .await?
        .consecutive_failures;
    webhook_subscription::Entity::update_many()
        .col_expr(
            webhook_subscription::Column::PausedUntil,
            Expr::value(now + backoff(retry_base, run)),
        )
        .filter(s.eq(delivery.subscription_id))
        .exec(db)
        .await?;
    let disabled = webhook_subscription::Entity::update_many()
        .col_expr(webhook_subscription::Column::DisabledAt, Expr::value(now))
        .col_expr(
            webhook_subscription::Column::DisabledReason,
            Expr::value(format!(
                "disabled automatically after {disable_after} failed deliveries in a row"
            )),
        )
        .filter(s.eq(delivery.subscription_id))
        .filter(webhook_subscription::Column::DisabledAt.is_null())
        .filter(webhook_subscription::Column::ConsecutiveFailures.gte(disable_after as i32))
        .exec(db)
        .await?;
    Ok(disabled.rows_affected > 0)
}

/// Puts claimed deliveries back untried (the subscription failed or was disabled before
/// their turn): their attempt is not counted.
pub async fn release<C: ConnectionTrait>(db: &C, ids: &[i64]) -> Result<()> {
    if ids.is_empty() {
        return Ok(());
    }
    webhook_delivery::Entity::update_many()
        .col_expr(
            webhook_delivery::Column::State,
            Expr::value(DeliveryState::Pending.as_str()),
        )
        .col_expr(
            webhook_delivery::Column::ClaimedUntil,
            Expr::value(Option::<DateTime<Utc>>::None),
        )
        .col_expr(
            webhook_delivery::Column::Attempts,
            Expr::col(webhook_delivery::Column::Attempts).sub(1),
        )
        .filter(webhook_delivery::Column::Id.is_in(ids.to_vec()))
        .filter(webhook_delivery::Column::State.eq(DeliveryState::Delivering))
        .exec(db)
        .await?;
    Ok(())
}

/// A subscription's deliveries, newest first.
pub async fn deliveries<C: ConnectionTrait>(
    db: &C,
    subscription_id: i64,
    page: Page,
) -> Result<(Vec<webhook_delivery::Model>, u64)> {
    let q = webhook_delivery::Entity::find()
        .filter(webhook_delivery::Column::SubscriptionId.eq(subscription_id));
    let total = q.clone().count(db).await?;
    let rows = q
        .order_by_desc(webhook_delivery::Column::Id)
        .offset(page.offset)
        .limit(page.limit)
        .all(db)
        .await?;
    Ok((rows, total))
}

// ---- inbound hooks ------------------------------------------------------------------

pub struct NewHook {
    pub name: String,
    pub source: HookSource,
    pub item_kind: HookItemKind,
    pub mapping: Option<String>,
    pub secret: String,
}

pub async fn create_hook<C: ConnectionTrait>(db: &C, new: NewHook) -> Result<inbound_hook::Model> {
    if hook(db, &new.name).await.is_ok() {
        return Err(Error::Conflict {
            field: "name".into(),
            message: format!("a hook named {:?} exists", new.name),
        });
    }
    Ok(inbound_hook::ActiveModel {
        name: Set(new.name),
        source: Set(new.source),
        item_kind: Set(new.item_kind),
        mapping: Set(new.mapping),
        secret: Set(new.secret),
        created_at: Set(Utc::now()),
        ..Default::default()
    }
    .insert(db)
    .await?)
}

pub async fn hook<C: ConnectionTrait>(db: &C, name: &str) -> Result<inbound_hook::Model> {
    inbound_hook::Entity::find()
        .filter(inbound_hook::Column::Name.eq(name))
        .one(db)
        .await?
        .ok_or_else(|| Error::not_found("hook", name))
}

pub async fn hooks<C: ConnectionTrait>(db: &C) -> Result<Vec<inbound_hook::Model>> {
    Ok(inbound_hook::Entity::find()
        .order_by_asc(inbound_hook::Column::Id)
        .all(db)
        .await?)
}

pub async fn delete_hook<C: ConnectionTrait>(db: &C, name: &str) -> Result<()> {
    let r = inbound_hook::Entity::delete_many()
        .filter(inbound_hook::Column::Name.eq(name))
        .exec(db)
        .await?;
    if r.rows_affected == 0 {
        return Err(Error::not_found("hook", name));
    }
    Ok(())
}
