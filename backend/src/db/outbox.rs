//! The transactional outbox: jobs written with the items they concern, claimed and
//! completed by workers.
//!
//! A job is claimed by a named consumer (the search index instance) before work starts and
//! deleted when the work is durable. A consumer that crashes keeps its claims; it releases
//! them when it starts again ([`release`]), so nothing is lost and nothing is done by two
//! consumers at once. PostgreSQL claims with `FOR UPDATE SKIP LOCKED` so several servers
//! can drain one queue.
//!
//! A job that keeps failing is set aside after [`MAX_ATTEMPTS`] claims (`dead_at`): claims
//! are oldest first, so a job retried forever would be first in every batch and hold up
//! its whole topic. Dead jobs are kept with their last error, shown by `/healthz` and
//! `triage jobs list --failed`, and claimed again only after [`retry`].

use chrono::Utc;
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DbBackend, EntityTrait, PaginatorTrait,
    QueryFilter, QueryOrder, Statement,
};

use super::entity::outbox_job::{self, Column, Entity as Jobs};
use crate::Result;

/// Jobs that (re)index one feedback item.
pub const TOPIC_INDEX: &str = "index";
/// Jobs that embed one feedback item (and place it in a theme).
pub const TOPIC_EMBED: &str = "embed";
/// Every topic, for listings.
pub const TOPICS: [&str; 2] = [TOPIC_INDEX, TOPIC_EMBED];

/// Claims after which a failing job is dead. With the workers' backoff (0.5 s doubling to
/// 30 s) a job that fails alone dies after about three minutes of failures; a job that
/// fails while others of its batch succeed is poison and dies sooner, which is the point.
pub const MAX_ATTEMPTS: i32 = 10;

pub async fn enqueue<C: ConnectionTrait>(db: &C, topic: &str, item_ids: &[i64]) -> Result<()> {
    let now = Utc::now();
    let models: Vec<_> = item_ids
        .iter()
        .map(|id| outbox_job::ActiveModel {
            topic: Set(topic.to_string()),
            item_id: Set(*id),
            attempts: Set(0),
            created_at: Set(now),
            ..Default::default()
        })
        .collect();
    for chunk in super::chunks_for(&models, 4) {
        Jobs::insert_many(chunk.to_vec())
            .exec_without_returning(db)
            .await?;
    }
    Ok(())
}

/// A claimed job: its id and the item it concerns.
#[derive(Debug, Clone, Copy)]
pub struct Claimed {
    pub job_id: i64,
    pub item_id: i64,
}

/// Claims up to `limit` unclaimed jobs of `topic`, oldest first.
pub async fn claim<C: ConnectionTrait>(
    db: &C,
    topic: &str,
    consumer: &str,
    limit: u64,
) -> Result<Vec<Claimed>> {
    let backend = db.get_database_backend();
    let sql = match backend {
        DbBackend::Postgres => {
            "UPDATE outbox_jobs SET claimed_by = $1, attempts = attempts + 1 WHERE id IN \
             (SELECT id FROM outbox_jobs WHERE topic = $2 AND claimed_by IS NULL \
              AND dead_at IS NULL ORDER BY id LIMIT $3 FOR UPDATE SKIP LOCKED) RETURNING id, item_id"
        }
        _ => {
            "UPDATE outbox_jobs SET claimed_by = $1, attempts = attempts + 1 WHERE id IN \
             (SELECT id FROM outbox_jobs WHERE topic = $2 AND claimed_by IS NULL \
              AND dead_at IS NULL ORDER BY id LIMIT $3) RETURNING id, item_id"
        }
    };
    let rows = db
        .query_all(Statement::from_sql_and_values(
            backend,
            sql,
            [consumer.into(), topic.into(), (limit as i64).into()],
        ))
        .await?;
    let mut out = Vec::with_capacity(rows.len());
    for row in rows {
        out.push(Claimed {
            job_id: row.try_get("", "id")?,
            item_id: row.try_get("", "item_id")?,
        });
    }
    out.sort_by_key(|c| c.job_id);
    Ok(out)
}

/// Deletes finished jobs.
pub async fn complete<C: ConnectionTrait>(db: &C, job_ids: &[i64]) -> Result<()> {
    for chunk in job_ids.chunks(1000) {
        Jobs::delete_many()
            .filter(Column::Id.is_in(chunk.to_vec()))
            .exec(db)
            .await?;
    }
    Ok(())
}

/// Gives jobs back to the queue after a failure, recording why; those that have had
/// [`MAX_ATTEMPTS`] claims are dead instead. With `counted` false the failure was not
/// theirs (every job of a batch failed alike: an outage, not a poison item) and the claim
/// does not count towards that limit.
pub async fn fail<C: ConnectionTrait>(
    db: &C,
    job_ids: &[i64],
    error: &str,
    counted: bool,
) -> Result<()> {
    use sea_orm::sea_query::Expr;
    let now = Utc::now();
    for chunk in job_ids.chunks(1000) {
        let mut update = Jobs::update_many()
            .col_expr(Column::ClaimedBy, Expr::value(Option::<String>::None))
            .col_expr(Column::LastError, Expr::value(error));
        if !counted {
            update = update.col_expr(Column::Attempts, Expr::col(Column::Attempts).sub(1));
        }
        update
            .filter(Column::Id.is_in(chunk.to_vec()))
            .exec(db)
            .await?;
        bury(db, Column::Id.is_in(chunk.to_vec()), now).await?;
    }
    Ok(())
}

/// Marks the jobs matching `filter` dead when they have used up their attempts.
async fn bury<C: ConnectionTrait>(
    db: &C,
    filter: sea_orm::sea_query::SimpleExpr,
    now: chrono::DateTime<Utc>,
) -> Result<u64> {
    let r = Jobs::update_many()
        .col_expr(Column::DeadAt, sea_orm::sea_query::Expr::value(now))
        .filter(filter)
        .filter(Column::Attempts.gte(MAX_ATTEMPTS))
        .filter(Column::DeadAt.is_null())
        .exec(db)
        .await?;
    Ok(r.rows_affected)
}

/// Releases every claim held by `consumer` (called when it starts, after a crash). A job
/// whose claims have crashed the worker [`MAX_ATTEMPTS`] times is dead, not released.
pub async fn release<C: ConnectionTrait>(db: &C, consumer: &str) -> Result<u64> {
    bury(db, Column::ClaimedBy.eq(consumer), Utc::now()).await?;
    let r = Jobs::update_many()
        .col_expr(
            Column::ClaimedBy,
            sea_orm::sea_query::Expr::value(Option::<String>::None),
        )
        .filter(Column::ClaimedBy.eq(consumer))
        .exec(db)
        .await?;
    Ok(r.rows_affected)
}

/// Dead jobs, oldest first (all topics, or one).
pub async fn dead<C: ConnectionTrait>(
    db: &C,
    topic: Option<&str>,
) -> Result<Vec<outbox_job::Model>> {
    let mut q = Jobs::find().filter(Column::DeadAt.is_not_null());
    if let Some(t) = topic {
        q = q.filter(Column::Topic.eq(t));
    }
    Ok(q.order_by_asc(Column::Id).all(db).await?)
}

/// Dead jobs of `topic`.
pub async fn dead_count<C: ConnectionTrait>(db: &C, topic: &str) -> Result<u64> {
    count(db, topic, Column::DeadAt.is_not_null()).await
}

/// Gives dead jobs (these ids, or all of them) a fresh set of attempts; returns how many.
/// Their last error is kept until they succeed (and are deleted) or fail again.
pub async fn retry<C: ConnectionTrait>(db: &C, job_ids: Option<&[i64]>) -> Result<u64> {
    use sea_orm::sea_query::Expr;
    let mut q = Jobs::update_many()
        .col_expr(
            Column::DeadAt,
            Expr::value(Option::<chrono::DateTime<Utc>>::None),
        )
        .col_expr(Column::Attempts, Expr::value(0))
        .filter(Column::DeadAt.is_not_null());
    if let Some(ids) = job_ids {
        q = q.filter(Column::Id.is_in(ids.to_vec()));
    }
    Ok(q.exec(db).await?.rows_affected)
}

/// Live jobs of `topic` not yet done (dead ones are counted by [`dead_count`]).
pub async fn pending<C: ConnectionTrait>(db: &C, topic: &str) -> Result<u64> {
    count(db, topic, Column::DeadAt.is_null()).await
}

/// Live jobs of `topic` not yet done, and when the oldest of them was written.
pub async fn waiting<C: ConnectionTrait>(
    db: &C,
    topic: &str,
) -> Result<(u64, Option<chrono::DateTime<Utc>>)> {
    use sea_orm::QuerySelect;
    let row: Option<(i64, Option<chrono::DateTime<Utc>>)> = Jobs::find()
        .select_only()
        .column_as(Column::Id.count(), "n")
        .column_as(Column::CreatedAt.min(), "oldest")
        .filter(Column::Topic.eq(topic))
        .filter(Column::DeadAt.is_null())
        .into_tuple()
        .one(db)
        .await?;
    Ok(row.map_or((0, None), |(n, oldest)| (n as u64, oldest)))
}

/// Jobs of `topic` that match `state`.
async fn count<C: ConnectionTrait>(
    db: &C,
    topic: &str,
    state: sea_orm::sea_query::SimpleExpr,
) -> Result<u64> {
    Ok(Jobs::find()
        .filter(Column::Topic.eq(topic))
        .filter(state)
        .count(db)
        .await?)
}
