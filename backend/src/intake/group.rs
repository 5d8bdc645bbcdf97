//! Group commit: single-item writes that arrive together share one transaction.
//!
//! Every API or web post of a ticket, rating or survey answer is one item. Written one
//! transaction each, SQLite does one fsync per item (a few hundred per second on this kind
//! of disk) and PostgreSQL one WAL flush per item. Here a request hands its validated item to
//! a writer task and waits; the writer takes everything that queued up while the previous
//! transaction was committing (up to `TRIAGE_INTAKE_BATCH` items), stores it with
//! [`store::store`] in one transaction, and answers each request only after that commit
//! returned — so an acknowledged write is as durable as before, and under load the cost of
//! one fsync is shared by many writes. With no load a batch is one item and nothing waits.
//!
//! Each request still gets its own outcome: its ids, or 409 when its external id was taken
//! (also by an earlier item of the same batch). When a batch fails for a reason that is not
//! the database being unreachable or full (say one item's survey was deleted meanwhile), its
//! items are retried one by one, so one bad item cannot fail the others; when the database
//! is unreachable or full, every request of the batch gets that same error (503/507) at once
//! instead of waiting for a retry that would fail alike.

use std::sync::Arc;

use sea_orm::{ConnectionTrait, DatabaseConnection};
use tokio::sync::{mpsc, oneshot, Mutex};

use super::redact::Redact;
use super::store::{self, created_or_conflict, Intake, Source};
use super::validate::{NewRating, NewResponse, NewTicket};
use crate::db::trouble::{trouble, Trouble};
use crate::{Error, Result};

/// Requests that may wait for a writer; more wait in `send` (the handler), which is bounded
/// by the server's connection limit.
const QUEUE: usize = 4096;

/// The group-commit writers of `serve`, one per kind of item.
pub struct Writers {
    pub tickets: GroupCommit<NewTicket>,
    pub ratings: GroupCommit<NewRating>,
    pub responses: GroupCommit<NewResponse>,
}

impl Writers {
    pub fn start(db: &DatabaseConnection, max_batch: usize, redact: Redact) -> Self {
        Self {
            tickets: GroupCommit::start(db.clone(), max_batch, redact),
            ratings: GroupCommit::start(db.clone(), max_batch, redact),
            responses: GroupCommit::start(db.clone(), max_batch, redact),
        }
    }
}

/// A writer for one kind of item. Cheap to clone; the writer tasks stop when the last clone
/// is dropped.
pub struct GroupCommit<T: Intake> {
    queue: mpsc::Sender<Request<T>>,
}

impl<T: Intake> Clone for GroupCommit<T> {
    fn clone(&self) -> Self {
        Self {
            queue: self.queue.clone(),
        }
    }
}

struct Request<T> {
    item: T,
    source: Source,
    reply: oneshot::Sender<Result<(i64, i64)>>,
}

impl<T: Intake> GroupCommit<T> {
    /// Starts the writer tasks on the current runtime. `max_batch` 1 writes every item in
    /// its own transaction (the behaviour before group commit; the benchmark's reference).
    pub fn start(db: DatabaseConnection, max_batch: usize, redact: Redact) -> Self {
        let (queue, rx) = mpsc::channel(QUEUE);
        let rx = Arc::new(Mutex::new(rx));
        // SQLite has one writer at a time, so a second task would only wait for the lock
        // holding a batch that could have grown meanwhile. PostgreSQL commits in parallel:
        // a few writers keep its WAL flushes overlapping.
        let writers = match db.get_database_backend() {
            sea_orm::DbBackend::Sqlite => 1,
            _ => 4,
        };
        for _ in 0..writers {
            tokio::spawn(writer(db.clone(), rx.clone(), max_batch.max(1), redact));
        }
        Self { queue }
    }

    /// Stores `item` and returns its source row id and feedback item id once committed;
    /// 409 `conflict` on `external_id` when the external id is already taken.
    pub async fn store(&self, item: T, source: Source) -> Result<(i64, i64)> {
        let (reply, answer) = oneshot::channel();
        self.queue
            .send(Request {
                item,
                source,
                reply,
            })
            .await
            .map_err(|_| Error::Internal("the intake writer has stopped".into()))?;
        answer
            .await
            .map_err(|_| Error::Internal("the intake writer stopped mid-write".into()))?
    }
}

async fn writer<T: Intake>(
    db: DatabaseConnection,
    rx: Arc<Mutex<mpsc::Receiver<Request<T>>>>,
    max_batch: usize,
    redact: Redact,
) {
    loop {
        let batch = {
            let mut rx = rx.lock().await;
            let Some(first) = rx.recv().await else { return };
            let mut batch = vec![first];
            while batch.len() < max_batch {
                match rx.try_recv() {
                    Ok(r) => batch.push(r),
                    Err(_) => break,
                }
            }
            batch
        };
        commit(&db, batch, redact).await;
    }
}

/// Stores `batch` (grouped by source: one transaction per source present) and answers
/// every request.
async fn commit<T: Intake>(db: &DatabaseConnection, batch: Vec<Request<T>>, redact: Redact) {
    let mut by_source: Vec<(Source, Vec<Request<T>>)> = Vec::new();
    for r in batch {
        match by_source.iter_mut().find(|(s, _)| *s == r.source) {
            Some((_, v)) => v.push(r),
            None => by_source.push((r.source, vec![r])),
        }
    }
    for (source, requests) in by_source {
        let (items, replies): (Vec<T>, Vec<_>) =
            requests.into_iter().map(|r| (r.item, r.reply)).unzip();
        match store::store(db, &items, source, redact).await {
            Ok(outcomes) => {
                for ((item, reply), outcome) in items.iter().zip(replies).zip(outcomes) {
                    let _ = reply.send(created_or_conflict(db, item, Some(outcome)).await);
                }
            }
            Err(e) if items.len() > 1 && !passing(&e) => {
                tracing::warn!(error = %e, items = items.len(), "a grouped write failed; storing its items one by one");
                for (item, reply) in items.iter().zip(replies) {
                    let _ = reply.send(store::store_one(db, item, source, redact).await);
                }
            }
            Err(e) => {
                let shared = Arc::new(e);
                for reply in replies {
                    let _ = reply.send(Err(Error::Shared(shared.clone())));
                }
            }
        }
    }
}

/// The database is unreachable or full: every write would fail alike right now.
fn passing(e: &Error) -> bool {
    matches!(e, Error::Db(d) if trouble(d) != Trouble::Other)
}
