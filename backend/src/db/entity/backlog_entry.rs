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
    pub status: Status,
    pub notes: String,
    pub effort: Option<Effort>,
    pub owner: Option<String>,
    pub pinned: bool,
    pub updated_at: DateTime<Utc>,
    pub updated_by: String,
}

super::text_enum! {
    /// Where a theme is in the product manager's workflow.
    pub enum Status {
        New = "new",
        UnderReview = "under_review",
        Planned = "planned",
        InProgress = "in_progress",
        Shipped = "shipped",
        Declined = "declined",
    }
}

impl Status {
    /// Still being worked on: everything but shipped and declined (the backlog page's
    /// default, `status=open`).
    pub fn is_open(self) -> bool {
        !matches!(self, Status::Shipped | Status::Declined)
    }

    /// Customers who asked to hear back are told when their theme reaches this status.
    pub fn is_announced(self) -> bool {
        matches!(self, Status::Planned | Status::Shipped)
    }

    /// `in progress`, `under review`: as people read it.
    pub fn label(self) -> String {
        self.as_str().replace('_', " ")
    }
}

super::text_enum! {
    /// A rough size of the work, as T-shirt sizes.
    pub enum Effort {
        Xs = "xs",
        S = "s",
        M = "m",
        L = "l",
        Xl = "xl",
    }
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
