//! An area: a group of related themes ("Cards", "Transfers"), the coarser of the two levels
//! product managers think in. `label` is a phrase from its members' texts; `custom_label`,
//! when set by a person, wins. Rows are never deleted, so ids stay stable.

use chrono::{DateTime, Utc};
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "areas")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub label: String,
    pub custom_label: Option<String>,
    /// JSON array of strings, most distinctive first.
    pub keywords: String,
    /// Items in its themes.
    pub size: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl Model {
    /// The name people see.
    pub fn name(&self) -> &str {
        self.custom_label.as_deref().unwrap_or(&self.label)
    }
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
