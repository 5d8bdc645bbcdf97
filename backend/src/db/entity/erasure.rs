//! An erasure receipt: what was removed, when and on whose authority — counts and a former
//! id, never the personal data itself.

use chrono::{DateTime, Utc};
use sea_orm::entity::prelude::*;
use serde::Serialize;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel, Serialize, utoipa::ToSchema)]
#[schema(as = ErasureReceipt)]
#[sea_orm(table_name = "erasures")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub reason: Reason,
    /// The erased customer's former id (none for retention, which erases items).
    pub customer_id: Option<i64>,
    /// Feedback items removed (each also left the search index, the embeddings, the vector
    /// graph and its theme).
    pub items: i64,
    pub tickets: i64,
    pub ratings: i64,
    pub survey_responses: i64,
    /// Mails to the customer that were still waiting to be sent.
    pub mails_cancelled: i64,
    /// Mails already sent to the customer, removed from the mail log.
    pub mails_removed: i64,
    /// Other mails (digests) that quoted an erased item: their bodies were replaced.
    pub mails_scrubbed: i64,
    /// Who asked: `user:<id>`, `token:<id>`, `cli` or `retention`.
    pub actor: String,
    pub created_at: DateTime<Utc>,
}

super::text_enum! {
    pub enum Reason {
        /// The customer asked (GDPR article 17).
        Request = "request",
        /// Older than `TRIAGE_RETENTION_DAYS`.
        Retention = "retention",
    }
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
