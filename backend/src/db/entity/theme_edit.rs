//! The record of a human edit to a theme: rename, merge, split, move, lock — and of the
//! undo of one. `restore` holds what the edit changed, as it was before (see
//! `themes::undo`); `undone_by` / `undoes` link an edit and its undo.

use chrono::{DateTime, Utc};
use sea_orm::entity::prelude::*;
use serde::Serialize;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel, Serialize)]
#[sea_orm(table_name = "theme_edits")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub theme_id: i64,
    pub action: EditAction,
    /// JSON with the edit's details (before and after), for people to read.
    pub detail: String,
    pub actor: String,
    pub created_at: DateTime<Utc>,
    /// JSON `themes::undo::Restore`; `None` for edits made before undo existed.
    #[serde(skip)]
    pub restore: Option<String>,
    pub undone_by: Option<i64>,
    pub undoes: Option<i64>,
}

super::text_enum! {
    /// What a person did to a theme.
    pub enum EditAction {
        Rename = "rename",
        Merge = "merge",
        Split = "split",
        /// A new theme made of chosen items (from the unthemed queue or other themes).
        Create = "create",
        Move = "move",
        Lock = "lock",
        Unlock = "unlock",
        /// Put back what an earlier edit (`undoes`) changed.
        Undo = "undo",
    }
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
