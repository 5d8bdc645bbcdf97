//! The transactional outbox: jobs written with the items they concern, claimed and
//! completed by workers.
//!
//! A job is claimed by a named consumer (the search index instance) before work starts and
//! deleted when the work is durable. A consumer that crashes keeps its claims; it releases
//! them when it starts again ([`release`]), so nothing is lost and nothing is done by two
//! consumers at once. PostgreSQL claims with `FOR UPDATE SKIP LOCKED` so several servers
//! can drain one queue.

use chrono::Utc;
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DbBackend, EntityTrait, PaginatorTrait,
    QueryFilter, Statement,
};

use super::entity::outbox_job::{self, Column, Entity as Jobs};
use crate::Result;

/// Jobs that (re)index one feedback item.
pub const TOPIC_INDEX: &str = "index";
/// Jobs that embed one feedback item (and place it in a theme).
pub const TOPIC_EMBED: &str = "embed";

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
              ORDER BY id LIMIT $3 FOR UPDATE SKIP LOCKED) RETURNING id, item_id"
        }
        _ => {
            "UPDATE outbox_jobs SET claimed_by = $1, attempts = attempts + 1 WHERE id IN \
             (SELECT id FROM outbox_jobs WHERE topic = $2 AND claimed_by IS NULL \
              ORDER BY id LIMIT $3) RETURNING id, item_id"
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

/// Gives jobs back to the queue after a failure, recording why.
pub async fn fail<C: ConnectionTrait>(db: &C, job_ids: &[i64], error: &str) -> Result<()> {
    for chunk in job_ids.chunks(1000) {
        Jobs::update_many()
            .col_expr(
                Column::ClaimedBy,
                sea_orm::sea_query::Expr::value(Option::<String>::None),
            )
            .col_expr(Column::LastError, sea_orm::sea_query::Expr::value(error))
            .filter(Column::Id.is_in(chunk.to_vec()))
            .exec(db)
            .await?;
    }
    Ok(())
}

/// Releases every claim held by `consumer` (called when it starts, after a crash).
pub async fn release<C: ConnectionTrait>(db: &C, consumer: &str) -> Result<u64> {
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

/// Jobs of `topic` not yet done.
pub async fn pending<C: ConnectionTrait>(db: &C, topic: &str) -> Result<u64> {
    Ok(Jobs::find()
        .filter(Column::Topic.eq(topic))
        .count(db)
        .await?)
}
