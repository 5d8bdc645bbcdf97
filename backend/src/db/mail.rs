//! The mail outbox: emails stored before they are sent, claimed by one sender at a time.
//!
//! Inserting a mail is the claim that it will be sent: its `dedupe_key` is unique, so the
//! second of two replicas composing the same digest (or a re-run) inserts nothing and
//! sends nothing. Senders then claim due rows (`FOR UPDATE SKIP LOCKED` on PostgreSQL; a
//! single UPDATE is atomic on SQLite) and record the outcome.

use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Expr, OnConflict};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DbBackend, EntityTrait, FromQueryResult,
    PaginatorTrait, QueryFilter, Statement,
};

use super::entity::mail::{self, Column, Entity as Mails};
use crate::Result;

pub use super::entity::mail::{MailKind, MailState};

/// An email to send.
#[derive(Debug, Clone)]
pub struct NewMail {
    pub dedupe_key: String,
    pub kind: MailKind,
    pub recipient: String,
    pub subject: String,
    pub text: String,
    pub html: String,
    pub unsubscribe_url: Option<String>,
}

/// Stores the mail unless one with its key exists; true when this call stored it.
pub async fn enqueue<C: ConnectionTrait>(db: &C, m: NewMail) -> Result<bool> {
    let now = Utc::now();
    let r = Mails::insert(mail::ActiveModel {
        dedupe_key: Set(m.dedupe_key),
        kind: Set(m.kind),
        recipient: Set(m.recipient),
        subject: Set(m.subject),
        text: Set(m.text),
        html: Set(m.html),
        unsubscribe_url: Set(m.unsubscribe_url),
        state: Set(MailState::Pending),
        attempts: Set(0),
        next_attempt_at: Set(now),
        created_at: Set(now),
        ..Default::default()
    })
    .on_conflict(
        OnConflict::column(Column::DedupeKey)
            .do_nothing()
            .to_owned(),
    )
    .do_nothing()
    .exec(db)
    .await?;
    Ok(matches!(r, sea_orm::TryInsertResult::Inserted(_)))
}

/// Whether a mail with this key was ever stored.
pub async fn exists<C: ConnectionTrait>(db: &C, dedupe_key: &str) -> Result<bool> {
    Ok(Mails::find()
        .filter(Column::DedupeKey.eq(dedupe_key))
        .count(db)
        .await?
        > 0)
}

/// Claims up to `limit` pending mails that are due, marking them `sending`.
pub async fn claim_due<C: ConnectionTrait>(
    db: &C,
    consumer: &str,
    limit: u64,
) -> Result<Vec<mail::Model>> {
    let backend = db.get_database_backend();
    let lock = if backend == DbBackend::Postgres {
        " FOR UPDATE SKIP LOCKED"
    } else {
        ""
    };
    let sql = format!(
        "UPDATE mail_outbox SET state = $1, claimed_by = $2, claimed_at = $3, attempts = attempts + 1 \
         WHERE id IN (SELECT id FROM mail_outbox WHERE state = $4 AND next_attempt_at <= $3 \
         ORDER BY id LIMIT $5{lock}) RETURNING *"
    );
    let now = Utc::now();
    let mut rows = mail::Model::find_by_statement(Statement::from_sql_and_values(
        backend,
        &sql,
        [
            MailState::Sending.as_str().into(),
            consumer.into(),
            now.into(),
            MailState::Pending.as_str().into(),
            (limit as i64).into(),
        ],
    ))
    .all(db)
    .await?;
    rows.sort_by_key(|m| m.id);
    Ok(rows)
}

async fn set_state<C: ConnectionTrait>(
    db: &C,
    id: i64,
    state: MailState,
    error: Option<&str>,
    next_attempt_at: Option<DateTime<Utc>>,
) -> Result<()> {
    let mut q = Mails::update_many()
        .col_expr(Column::State, Expr::value(state.as_str()))
        .col_expr(Column::ClaimedBy, Expr::value(Option::<String>::None))
        .col_expr(Column::LastError, Expr::value(error.map(str::to_string)));
    if state == MailState::Sent {
        q = q.col_expr(Column::SentAt, Expr::value(Utc::now()));
    }
    if let Some(at) = next_attempt_at {
        q = q.col_expr(Column::NextAttemptAt, Expr::value(at));
    }
    q.filter(Column::Id.eq(id)).exec(db).await?;
    Ok(())
}

pub async fn mark_sent<C: ConnectionTrait>(db: &C, id: i64) -> Result<()> {
    set_state(db, id, MailState::Sent, None, None).await
}

/// Back to `pending`, due again at `at`, with the error recorded.
pub async fn retry_at<C: ConnectionTrait>(
    db: &C,
    id: i64,
    error: &str,
    at: DateTime<Utc>,
) -> Result<()> {
    set_state(db, id, MailState::Pending, Some(error), Some(at)).await
}

pub async fn mark_failed<C: ConnectionTrait>(db: &C, id: i64, error: &str) -> Result<()> {
    set_state(db, id, MailState::Failed, Some(error), None).await
}

/// Mails left `sending` by a sender that died before it could record the outcome. The
/// server may or may not have accepted them; sending again could deliver twice, so they
/// are marked failed, with the reason, for a person to look at.
pub async fn fail_interrupted<C: ConnectionTrait>(db: &C, before: DateTime<Utc>) -> Result<u64> {
    let r = Mails::update_many()
        .col_expr(Column::State, Expr::value(MailState::Failed.as_str()))
        .col_expr(
            Column::LastError,
            Expr::value("interrupted while sending; not sent again, to avoid a duplicate"),
        )
        .filter(Column::State.eq(MailState::Sending))
        .filter(Column::ClaimedAt.lt(before))
        .exec(db)
        .await?;
    Ok(r.rows_affected)
}

/// Mails in `state`.
pub async fn count<C: ConnectionTrait>(db: &C, state: MailState) -> Result<u64> {
    Ok(Mails::find()
        .filter(Column::State.eq(state))
        .count(db)
        .await?)
}

/// Mails in each state (states without any are left out).
pub async fn count_by_state<C: ConnectionTrait>(db: &C) -> Result<Vec<(MailState, u64)>> {
    use sea_orm::QuerySelect;
    let rows: Vec<(MailState, i64)> = Mails::find()
        .select_only()
        .column(Column::State)
        .column_as(Column::Id.count(), "n")
        .group_by(Column::State)
        .into_tuple()
        .all(db)
        .await?;
    Ok(rows.into_iter().map(|(s, n)| (s, n as u64)).collect())
}
