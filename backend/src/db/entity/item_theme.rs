//! The theme of one item (`theme_id` NULL: unthemed). `by_human` marks a placement made by
//! a person, which re-clustering never overrides.

use chrono::{DateTime, Utc};
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "item_themes")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub item_id: i64,
    pub theme_id: Option<i64>,
    pub similarity: Option<f64>,
    pub by_human: bool,
    pub assigned_at: DateTime<Utc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
