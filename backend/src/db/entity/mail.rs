//! An email triage decided to send, with its content and delivery record. `state` is
//! `pending` (due at `next_attempt_at`), `sending` (claimed by `claimed_by`), `sent`, or
//! `failed` (given up; `last_error` says why).

use chrono::{DateTime, Utc};
use sea_orm::entity::prelude::*;
use serde::Serialize;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel, Serialize)]
#[sea_orm(table_name = "mail_outbox")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub dedupe_key: String,
    pub kind: MailKind,
    pub recipient: String,
    pub subject: String,
    pub text: String,
    pub html: String,
    /// Sent as `List-Unsubscribe`, so mail clients offer the link too.
    pub unsubscribe_url: Option<String>,
    pub state: MailState,
    pub attempts: i32,
    pub next_attempt_at: DateTime<Utc>,
    pub last_error: Option<String>,
    pub claimed_by: Option<String>,
    pub claimed_at: Option<DateTime<Utc>>,
    pub sent_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

super::text_enum! {
    /// What a mail is.
    pub enum MailKind {
        /// The weekly digest to a product manager.
        Digest = "digest",
        /// A close-the-loop note to a customer whose theme was planned or shipped.
        Notice = "notice",
        /// The survey page's "confirm your email" message.
        Confirm = "confirm",
    }
}

super::text_enum! {
    /// Where a mail is on its way out.
    pub enum MailState {
        /// Waiting to be sent (again, after a failure, from `next_attempt_at`).
        Pending = "pending",
        /// Claimed by a sender.
        Sending = "sending",
        Sent = "sent",
        /// Given up on, or interrupted while sending; not retried.
        Failed = "failed",
    }
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
