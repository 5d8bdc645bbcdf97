//! A theme's change reached some customer segments (or everyone) on a day.

use chrono::{DateTime, NaiveDate, Utc};
use sea_orm::entity::prelude::*;
use serde::Serialize;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel, Serialize, utoipa::ToSchema)]
#[schema(as = RolloutRow)]
#[sea_orm(table_name = "rollouts")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub theme_id: i64,
    pub starts_on: NaiveDate,
    /// A JSON list of segment names; `None`: everyone not reached before.
    #[serde(skip)]
    pub segments: Option<String>,
    pub note: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    #[serde(skip)]
    pub updated_by: String,
}

impl Model {
    /// The segments it reached first (`None`: everyone).
    pub fn segment_list(&self) -> Option<Vec<String>> {
        self.segments
            .as_deref()
            .map(|s| serde_json::from_str(s).unwrap_or_default())
    }
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
