//! The merge tree of the last rebuild: what re-choosing the granularity reads instead of
//! clustering again (`themes::teach`).

use chrono::{DateTime, Utc};
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "theme_trees")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub model: String,
    /// JSON list: the item id of every sample position of the tree.
    pub items: String,
    /// JSON: `themes::granularity::Tree`.
    pub tree: String,
    /// The cut used with no answers.
    pub default_cut: f64,
    pub created_at: DateTime<Utc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
