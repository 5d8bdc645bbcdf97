//! A theme. `label` is generated from its keywords; `custom_label`, when set by a person,
//! wins. A merged theme keeps its row with `merged_into` set, so old links still resolve.

use chrono::{DateTime, Utc};
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "themes")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub label: String,
    pub custom_label: Option<String>,
    /// JSON array of strings, most distinctive first.
    pub keywords: String,
    pub representative_item_id: Option<i64>,
    pub size: i32,
    /// Unit centroid, little-endian f32s.
    pub centroid: Vec<u8>,
    pub locked: bool,
    pub merged_into: Option<i64>,
    /// The area (a group of related themes) it belongs to; set by every rebuild.
    pub area_id: Option<i64>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl Model {
    /// The name people see: the custom label when a person renamed the theme.
    pub fn display_label(&self) -> &str {
        self.custom_label.as_deref().unwrap_or(&self.label)
    }

    /// The keywords, most distinctive first.
    pub fn keyword_list(&self) -> Vec<String> {
        serde_json::from_str(&self.keywords).unwrap_or_default()
    }
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
