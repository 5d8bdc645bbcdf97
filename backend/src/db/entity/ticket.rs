//! A support ticket. `tags` is a JSON array of strings.

use chrono::{DateTime, Utc};
use sea_orm::entity::prelude::*;
use serde::Serialize;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel, Serialize)]
#[sea_orm(table_name = "tickets")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub subject: String,
    pub body: String,
    pub priority: String,
    pub status: String,
    pub tags: String,
    pub customer_id: Option<i64>,
    pub external_id: Option<String>,
    pub created_at: DateTime<Utc>,
    /// When the source (a helpdesk's webhook) last changed it; none for triage's own.
    pub source_updated_at: Option<DateTime<Utc>>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
