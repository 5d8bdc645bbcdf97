//! The unified feedback item every later stage reads: one row per ticket, rating or
//! survey response, written in the same transaction as its source row. `score` is
//! normalised to 0..=1 (see `intake::score`).

use chrono::{DateTime, Utc};
use sea_orm::entity::prelude::*;
use serde::Serialize;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel, Serialize)]
#[sea_orm(table_name = "feedback_items")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub kind: ItemKind,
    pub source_id: i64,
    pub source: String,
    pub customer_id: Option<i64>,
    pub subject: Option<String>,
    pub text: String,
    pub score: Option<f64>,
    pub created_at: DateTime<Utc>,
}

super::text_enum! {
    /// What an item is.
    pub enum ItemKind {
        Ticket = "ticket",
        Rating = "rating",
        SurveyResponse = "survey_response",
    }
}

impl ItemKind {
    /// What people call one: "ticket", "survey response".
    pub fn label(self) -> &'static str {
        match self {
            Self::Ticket => "ticket",
            Self::Rating => "rating",
            Self::SurveyResponse => "survey response",
        }
    }

    /// What people call several of them: "tickets", "survey responses".
    pub fn plural(self) -> &'static str {
        match self {
            Self::Ticket => "tickets",
            Self::Rating => "ratings",
            Self::SurveyResponse => "survey responses",
        }
    }
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(
        belongs_to = "super::customer::Entity",
        from = "Column::CustomerId",
        to = "super::customer::Column::Id"
    )]
    Customer,
}

impl Related<super::customer::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Customer.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
