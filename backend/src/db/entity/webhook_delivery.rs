//! One event on its way to one subscription: `pending` (due at `next_attempt_at`),
//! `delivering` (claimed until `claimed_until`), `delivered`, or `failed` (given up).

use chrono::{DateTime, Utc};
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "webhook_deliveries")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub subscription_id: i64,
    /// The `webhook-id` of every attempt: receivers deduplicate on it.
    pub event_id: String,
    pub event_type: super::webhook_subscription::EventType,
    pub payload: String,
    pub state: DeliveryState,
    pub attempts: i32,
    pub next_attempt_at: DateTime<Utc>,
    pub claimed_until: Option<DateTime<Utc>>,
    pub last_status: Option<i32>,
    pub last_error: Option<String>,
    pub created_at: DateTime<Utc>,
    pub delivered_at: Option<DateTime<Utc>>,
}

super::text_enum! {
    /// Where a delivery is.
    pub enum DeliveryState {
        Pending = "pending",
        Delivering = "delivering",
        Delivered = "delivered",
        Failed = "failed",
    }
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
