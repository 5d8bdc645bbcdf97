//! A product manager's workflow state for one theme (absent row: status `new`).

use chrono::{DateTime, Utc};
use sea_orm::entity::prelude::*;
use serde::Serialize;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel, Serialize, utoipa::ToSchema)]
#[schema(as = BacklogEntryRow)]
#[sea_orm(table_name = "backlog_entries")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub theme_id: i64,
    pub status: String,
    pub notes: String,
    pub effort: Option<String>,
    pub owner: Option<String>,
    pub pinned: bool,
    pub updated_at: DateTime<Utc>,
    pub updated_by: String,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
