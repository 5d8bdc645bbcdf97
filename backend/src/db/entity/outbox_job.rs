//! Transactional outbox: a job row committed with the item it concerns, drained by a worker.
//! `claimed_by` names the consumer working on it (the index instance); a crash leaves the
//! claim, which that consumer releases when it starts again. A job that failed
//! [`crate::db::outbox::MAX_ATTEMPTS`] times is dead (`dead_at` set): kept, never claimed,
//! until someone retries it.

use chrono::{DateTime, Utc};
use sea_orm::entity::prelude::*;
use serde::Serialize;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel, Serialize)]
#[sea_orm(table_name = "outbox_jobs")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub topic: String,
    pub item_id: i64,
    pub claimed_by: Option<String>,
    pub attempts: i32,
    pub last_error: Option<String>,
    pub dead_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    /// The writing transaction (PostgreSQL; 0 in SQLite): the index log's order.
    pub txid: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
