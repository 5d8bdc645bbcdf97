//! A "same problem?" answer about two items: asked on the Teach page, or implied by an
//! edit. Read by `themes::teach` (the granularity) and by rebuilds.

use chrono::{DateTime, Utc};
use sea_orm::entity::prelude::*;
use serde::Serialize;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel, Serialize, utoipa::ToSchema)]
#[schema(as = ThemeAnswer)]
#[sea_orm(table_name = "theme_answers")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub item_a: i64,
    pub item_b: i64,
    pub answer: PairAnswer,
    pub source: Source,
    pub actor: String,
    pub created_at: DateTime<Utc>,
    pub withdrawn_at: Option<DateTime<Utc>>,
    pub withdrawn_by: Option<String>,
}

super::text_enum! {
    /// Whether the two items are one problem.
    pub enum PairAnswer {
        Same = "same",
        Different = "different",
        /// Asked and passed over: not asked again, no evidence either way.
        Skip = "skip",
    }
}

super::text_enum! {
    /// What gave the answer.
    pub enum Source {
        /// The Teach page (or its API).
        Question = "question",
        /// Two themes merged: their members are one problem.
        Merge = "merge",
        /// Items split off a theme: not the problem the rest are.
        Split = "split",
        /// An item moved out of a theme.
        Move = "move",
        /// A suggested merge dismissed.
        Dismiss = "dismiss",
    }
}

impl PairAnswer {
    /// `Some(same?)`, or `None` for a skip.
    pub fn same(self) -> Option<bool> {
        match self {
            PairAnswer::Same => Some(true),
            PairAnswer::Different => Some(false),
            PairAnswer::Skip => None,
        }
    }
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
