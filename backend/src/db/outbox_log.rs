//! The outbox as a log: topics that every replica must see (the search index) are read at a
//! cursor per reader instead of being claimed and deleted by one.
//!
//! Order is `(txid, id)`. In PostgreSQL ids are handed out when rows are inserted, not when
//! transactions commit, so a job with a smaller id can become visible after a larger one;
//! a cursor on ids alone would skip it. So a reader only takes jobs whose transaction is
//! older than every transaction still running (`pg_snapshot_xmin`): all of those have
//! committed or rolled back, nothing can appear before them later, and the cursor can move
//! past them for good. SQLite has one writer at a time, so ids commit in order and `txid`
//! is 0 throughout.
//!
//! Each reader records where it is and when it was last seen; [`trim`] deletes the jobs
//! every live reader has passed and forgets readers gone for longer than [`FORGET_AFTER`]
//! (they rebuild from the database when they return: [`cursor`] is then `None`).

use chrono::{DateTime, Utc};
use sea_orm::{ConnectionTrait, DbBackend, Statement};

use crate::Result;

/// A reader gone this long is forgotten: its jobs are not kept for it any more.
pub const FORGET_AFTER: chrono::Duration = chrono::Duration::hours(24);

/// A position in the log: everything at or before it has been read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Position {
    pub txid: i64,
    pub job_id: i64,
}

/// One job read from the log.
#[derive(Debug, Clone, Copy)]
pub struct Entry {
    pub at: Position,
    pub item_id: i64,
}

/// "Every transaction older than this one has finished", in the `txid` of jobs.
fn horizon(backend: DbBackend) -> &'static str {
    match backend {
        DbBackend::Postgres => "pg_snapshot_xmin(pg_current_snapshot())::text::bigint",
        _ => "9223372036854775807",
    }
}

/// Up to `limit` jobs of `topic` after `after`, in log order, that no running
/// transaction can still precede.
pub async fn read<C: ConnectionTrait>(
    db: &C,
    topic: &str,
    after: Position,
    limit: u64,
) -> Result<Vec<Entry>> {
    let backend = db.get_database_backend();
    let sql = format!(
        "SELECT id, item_id, txid FROM outbox_jobs WHERE topic = $1 \
         AND (txid > $2 OR (txid = $2 AND id > $3)) AND txid < {} \
         ORDER BY txid, id LIMIT $4",
        horizon(backend)
    );
    let rows = db
        .query_all(Statement::from_sql_and_values(
            backend,
            sql,
            [
                topic.into(),
                after.txid.into(),
                after.job_id.into(),
                (limit as i64).into(),
            ],
        ))
        .await?;
    rows.iter()
        .map(|r| {
            Ok(Entry {
                at: Position {
                    txid: r.try_get("", "txid")?,
                    job_id: r.try_get("", "id")?,
                },
                item_id: r.try_get("", "item_id")?,
            })
        })
        .collect()
}

/// Jobs of `topic` after `after` (finished or not): how far behind a reader is.
pub async fn behind<C: ConnectionTrait>(db: &C, topic: &str, after: Position) -> Result<u64> {
    Ok(waiting(db, topic, after).await?.0)
}

/// How many jobs of `topic` come after `after`, and when the oldest of them was written.
pub async fn waiting<C: ConnectionTrait>(
    db: &C,
    topic: &str,
    after: Position,
) -> Result<(u64, Option<DateTime<Utc>>)> {
    let backend = db.get_database_backend();
    let row = db
        .query_one(Statement::from_sql_and_values(
            backend,
            "SELECT COUNT(*) AS n, MIN(created_at) AS oldest FROM outbox_jobs WHERE topic = $1 \
             AND (txid > $2 OR (txid = $2 AND id > $3))",
            [topic.into(), after.txid.into(), after.job_id.into()],
        ))
        .await?;
    let Some(r) = row else {
        return Ok((0, None));
    };
    Ok((
        r.try_get::<i64>("", "n")? as u64,
        r.try_get::<Option<DateTime<Utc>>>("", "oldest")?,
    ))
}

/// Where a reader that has just read the whole database stands: after every job that no
/// running transaction can precede. Take it *before* reading the database, so whatever is
/// committed later is read from the log.
pub async fn head<C: ConnectionTrait>(db: &C, topic: &str) -> Result<Position> {
    let backend = db.get_database_backend();
    let sql = match backend {
        DbBackend::Postgres => format!("SELECT {} - 1 AS txid, 0 AS id", horizon(backend)),
        _ => "SELECT 0 AS txid, COALESCE(MAX(id), 0) AS id FROM outbox_jobs WHERE topic = $1"
            .to_string(),
    };
    let values: Vec<sea_orm::Value> = match backend {
        DbBackend::Postgres => Vec::new(),
        _ => vec![topic.into()],
    };
    let row = db
        .query_one(Statement::from_sql_and_values(backend, sql, values))
        .await?;
    let Some(r) = row else {
        return Ok(Position { txid: 0, job_id: 0 });
    };
    let txid: i64 = r.try_get("", "txid")?;
    // In PostgreSQL the position is "every job of a transaction before the horizon".
    let job_id = if backend == DbBackend::Postgres {
        i64::MAX
    } else {
        r.try_get("", "id")?
    };
    Ok(Position { txid, job_id })
}

/// Where `reader` stands, or `None` when it never read (or was forgotten).
pub async fn cursor<C: ConnectionTrait>(db: &C, reader: &str) -> Result<Option<Position>> {
    let backend = db.get_database_backend();
    let row = db
        .query_one(Statement::from_sql_and_values(
            backend,
            "SELECT txid, job_id FROM index_cursors WHERE consumer = $1",
            [reader.into()],
        ))
        .await?;
    row.map(|r| {
        Ok(Position {
            txid: r.try_get("", "txid")?,
            job_id: r.try_get("", "job_id")?,
        })
    })
    .transpose()
}

/// Records that `reader` has read up to `at`, and that it is alive.
pub async fn save<C: ConnectionTrait>(db: &C, reader: &str, at: Position) -> Result<()> {
    let backend = db.get_database_backend();
    db.execute(Statement::from_sql_and_values(
        backend,
        "INSERT INTO index_cursors (consumer, txid, job_id, seen_at) VALUES ($1, $2, $3, $4) \
         ON CONFLICT (consumer) DO UPDATE SET txid = excluded.txid, \
         job_id = excluded.job_id, seen_at = excluded.seen_at",
        [
            reader.into(),
            at.txid.into(),
            at.job_id.into(),
            Utc::now().into(),
        ],
    ))
    .await?;
    Ok(())
}

/// Forgets readers not seen since `FORGET_AFTER` before `now`, then deletes the jobs of
/// `topic` that every remaining reader has passed; returns how many jobs went.
pub async fn trim<C: ConnectionTrait>(db: &C, topic: &str, now: DateTime<Utc>) -> Result<u64> {
    let backend = db.get_database_backend();
    db.execute(Statement::from_sql_and_values(
        backend,
        "DELETE FROM index_cursors WHERE seen_at < $1",
        [(now - FORGET_AFTER).into()],
    ))
    .await?;
    let oldest = db
        .query_one(Statement::from_string(
            backend,
            "SELECT txid, job_id FROM index_cursors ORDER BY txid, job_id LIMIT 1",
        ))
        .await?;
    let Some(r) = oldest else {
        // Nobody reads the log: whoever comes next rebuilds from the database.
        return Ok(0);
    };
    let (txid, job_id): (i64, i64) = (r.try_get("", "txid")?, r.try_get("", "job_id")?);
    let done = db
        .execute(Statement::from_sql_and_values(
            backend,
            "DELETE FROM outbox_jobs WHERE topic = $1 AND (txid < $2 OR (txid = $2 AND id <= $3))",
            [topic.into(), txid.into(), job_id.into()],
        ))
        .await?;
    Ok(done.rows_affected())
}
