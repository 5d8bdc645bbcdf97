//! Where triage sends which events (webhooks out), signed with which secret.
//! `disabled_at` is set by an admin or after `consecutive_failures` reached the limit;
//! `disabled_reason` says which.

use chrono::{DateTime, Utc};
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "webhook_subscriptions")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub url: String,
    /// JSON list of [`EventType`] names.
    pub events: String,
    pub format: WebhookFormat,
    /// `whsec_` + base64 of the key (Standard Webhooks).
    pub secret: String,
    pub description: String,
    pub consecutive_failures: i32,
    /// After a failed attempt, nothing is sent before this time (backoff per receiver).
    pub paused_until: Option<DateTime<Utc>>,
    pub disabled_at: Option<DateTime<Utc>>,
    pub disabled_reason: Option<String>,
    pub created_at: DateTime<Utc>,
}

super::text_enum! {
    /// What triage tells subscribers about.
    pub enum EventType {
        /// A new theme was found (rebuild) or made (split).
        ThemeCreated = "theme.created",
        /// A theme's reports grew fast this week (as the digest's "rising").
        ThemeRising = "theme.rising",
        /// A theme's backlog status changed.
        ThemeStatusChanged = "theme.status_changed",
        /// A shipped theme's impact could be measured for the first time after a rollout.
        ThemeImpactMeasured = "theme.impact_measured",
        /// A feedback item was stored.
        ItemCreated = "item.created",
    }
}

super::text_enum! {
    /// How a delivery's body looks.
    pub enum WebhookFormat {
        /// `{"type", "timestamp", "data"}`, Standard Webhooks headers.
        Standard = "standard",
        /// A Slack incoming-webhook message (`text` and `blocks`).
        Slack = "slack",
    }
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
