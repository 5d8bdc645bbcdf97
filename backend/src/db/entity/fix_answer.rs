//! A customer's answer to "did the fix work for you?" about a shipped theme (one per
//! customer and theme; a second answer replaces the first).

use chrono::{DateTime, Utc};
use sea_orm::entity::prelude::*;
use serde::Serialize;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel, Serialize, utoipa::ToSchema)]
#[schema(as = FixAnswer)]
#[sea_orm(table_name = "fix_answers")]
pub struct Model {
    #[sea_orm(primary_key)]
    #[serde(skip)]
    pub id: i64,
    #[serde(skip)]
    pub customer_id: i64,
    pub theme_id: i64,
    pub answer: FixOutcome,
    /// The sentence they added, stored as a feedback item in the theme.
    pub item_id: Option<i64>,
    pub answered_at: DateTime<Utc>,
}

super::text_enum! {
    /// What a customer said about a shipped fix.
    pub enum FixOutcome {
        Fixed = "fixed",
        StillAProblem = "still_a_problem",
    }
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
