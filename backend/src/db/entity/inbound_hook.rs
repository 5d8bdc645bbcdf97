//! A named endpoint another tool calls (`POST /api/v1/hooks/{name}`) to send feedback in,
//! with the secret its calls are signed with.

use chrono::{DateTime, Utc};
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "inbound_hooks")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub name: String,
    pub source: HookSource,
    pub item_kind: HookItemKind,
    /// JSON object, triage field → payload path (generic hooks).
    pub mapping: Option<String>,
    pub secret: String,
    pub created_at: DateTime<Utc>,
}

super::text_enum! {
    /// Whose calls a hook takes, and so how they are signed and read.
    pub enum HookSource {
        /// Zendesk webhooks: `X-Zendesk-Webhook-Signature` over timestamp + body.
        Zendesk = "zendesk",
        /// Any tool: Standard Webhooks signatures, fields picked by a mapping.
        Generic = "generic",
    }
}

super::text_enum! {
    /// What a hook's calls become.
    pub enum HookItemKind {
        Ticket = "ticket",
        Rating = "rating",
    }
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
