//! Embedding new items: the `embed` outbox topic.
//!
//! Every stored item gets an `embed` job in the same transaction as the item. The worker
//! claims jobs in batches, embeds the texts (length-sorted, off the async threads), stores
//! the vectors and places each item in its nearest theme when it is close enough, then
//! deletes the jobs. As with indexing, a crash leaves claimed jobs that are released at the
//! next start; storing a vector twice is harmless.
//!
//! The model runs on a thread of its own at a lower CPU priority (nice 10), and so do the
//! math threads libtorch starts from it: when intake is busy, request handling gets the
//! cores first and the embedding backlog grows instead (`/healthz` shows it); when intake is
//! quiet, the worker has the machine to itself and catches up. Suggestions for a draft
//! ticket (`/tickets/suggest`) are interactive and keep normal priority.

use std::sync::Arc;

use sea_orm::DatabaseConnection;
use tokio::sync::{oneshot, Notify};

use triage_index::VectorIndex;

use super::consumer::{self, Consumer};
use super::vector_sync;
use crate::db::outbox::{self, TOPIC_EMBED};
use crate::db::{embeddings, items};
use crate::embed::{embed_sorted, item_text, Embedder};
use crate::themes::assign;
use crate::{Error, Result};

/// Items embedded per claim: large enough to sort by length usefully, small enough that a
/// new item waits at most a few seconds.
const CLAIM_BATCH: u64 = 256;

/// Rows to embed and where to send their vectors.
type EmbedJob = (
    Vec<(i64, String)>,
    oneshot::Sender<Result<Vec<(i64, Vec<f32>)>>>,
);

/// The embedding thread's nice value: a nice-0 thread gets about ten times its CPU share.
const EMBED_NICE: i32 = 10;

#[derive(Clone)]
pub struct EmbedSync {
    db: DatabaseConnection,
    embedder: Arc<dyn Embedder + Sync>,
    consumer: String,
    /// The low-priority embedding thread; it stops when the last clone is dropped.
    jobs: std::sync::mpsc::Sender<EmbedJob>,
    /// The nearest-neighbour graph of search by meaning, when this process serves search.
    vectors: Option<Arc<VectorIndex>>,
    /// Counts the items embedded (`triage_items_embedded_total`).
    metrics: Option<Arc<crate::metrics::Metrics>>,
}

impl EmbedSync {
    /// `consumer` names this process's claims (released again by [`EmbedSync::start`]).
    pub fn new(
        db: DatabaseConnection,
        embedder: Arc<dyn Embedder + Sync>,
        consumer: String,
    ) -> Result<Self> {
        let jobs = spawn_embed_thread(embedder.clone())?;
        Ok(Self {
            db,
            embedder,
            consumer,
            jobs,
            vectors: None,
            metrics: None,
        })
    }

    /// Also adds every vector stored from now on to this graph.
    pub fn with_vectors(mut self, vectors: Arc<VectorIndex>) -> Self {
        self.vectors = Some(vectors);
        self
    }

    /// Also counts the items embedded into `metrics`.
    pub fn with_metrics(mut self, metrics: Arc<crate::metrics::Metrics>) -> Self {
        self.metrics = Some(metrics);
        self
    }

    /// Stores vectors, and adds them to the graph when there is one.
    async fn store(&self, vectors: &[(i64, Vec<f32>)]) -> Result<()> {
        embeddings::upsert(
            &self.db,
            self.embedder.model_name(),
            self.embedder.precision(),
            vectors,
        )
        .await?;
        if let Some(graph) = &self.vectors {
            vector_sync::add(graph, vectors.to_vec()).await?;
        }
        if let Some(m) = &self.metrics {
            m.embedded(vectors.len() as u64);
        }
        Ok(())
    }

    pub fn embedder(&self) -> &Arc<dyn Embedder + Sync> {
        &self.embedder
    }

    /// Releases claims left by a previous run of this consumer.
    pub async fn start(&self) -> Result<()> {
        let released = outbox::release(&self.db, &self.consumer).await?;
        if released > 0 {
            tracing::info!(released, "released embedding jobs claimed before a crash");
        }
        Ok(())
    }

    pub async fn drain_all(&self) -> Result<usize> {
        consumer::drain_all(self).await
    }

    /// Embeds and stores these items, and places them in themes. Items that already have
    /// a vector from this model (`triage themes rebuild` or `demo` embedded them first)
    /// are skipped: their text never changes, and placing them again would undo the
    /// rebuild's placements.
    async fn embed_items(&self, ids: &[i64]) -> Result<()> {
        let have = embeddings::ids_with_model(&self.db, self.embedder.model_name(), ids).await?;
        let todo: Vec<i64> = ids.iter().copied().filter(|i| !have.contains(i)).collect();
        if todo.is_empty() {
            return Ok(());
        }
        let found = items::with_segments(&self.db, &todo).await?;
        if found.len() < todo.len() {
            // Gone from the database: erased. Their vectors leave the graph (and its file).
            let present: std::collections::HashSet<i64> = found.iter().map(|f| f.item.id).collect();
            let gone: Vec<i64> = todo
                .iter()
                .copied()
                .filter(|i| !present.contains(i))
                .collect();
            if let Some(graph) = &self.vectors {
                vector_sync::remove(graph, &gone).await?;
            }
        }
        let rows: Vec<(i64, String)> = found
            .iter()
            .map(|f| (f.item.id, item_text(&f.item)))
            .collect();
        let vectors = self.embed(rows).await?;
        self.store(&vectors).await?;
        // One transaction: the placements and the tallies they move are read and written
        // together, so a recount or another writer between them cannot count a move twice.
        let txn = crate::db::begin_write(&self.db).await?;
        assign::on_arrival(&txn, &vectors).await?;
        txn.commit().await?;
        Ok(())
    }

    /// Runs the model on the low-priority embedding thread.
    pub async fn embed(&self, rows: Vec<(i64, String)>) -> Result<Vec<(i64, Vec<f32>)>> {
        let stopped = || Error::Internal("the embedding thread has stopped".into());
        let (reply, answer) = oneshot::channel();
        self.jobs.send((rows, reply)).map_err(|_| stopped())?;
        answer.await.map_err(|_| stopped())?
    }

    /// Re-embeds items in pages: every item when `all`, otherwise those without a vector
    /// from the current model. `progress(done)` after each page.
    pub async fn reembed(&self, all: bool, mut progress: impl FnMut(u64)) -> Result<u64> {
        let model = self.embedder.model_name().to_string();
        let mut after = 0i64;
        let mut done = 0u64;
        loop {
            let page = items::page_after(&self.db, after, 512).await?;
            let Some(last) = page.last() else { break };
            after = last.item.id;
            let ids: Vec<i64> = page.iter().map(|f| f.item.id).collect();
            let have = if all {
                Default::default()
            } else {
                embeddings::ids_with_model(&self.db, &model, &ids).await?
            };
            let rows: Vec<(i64, String)> = page
                .iter()
                .filter(|f| !have.contains(&f.item.id))
                .map(|f| (f.item.id, item_text(&f.item)))
                .collect();
            let vectors = self.embed(rows).await?;
            self.store(&vectors).await?;
            done += vectors.len() as u64;
            progress(done);
        }
        Ok(done)
    }

    /// The worker loop of `triage serve`.
    pub async fn run(self, wake: Arc<Notify>) {
        consumer::run_forever(&self, wake).await
    }
}

/// Starts the thread that runs the model for the worker, at [`EMBED_NICE`].
///
/// It is a task of tokio's blocking pool that lives until the last [`EmbedSync`] is dropped:
/// the runtime waits for blocking tasks when it shuts down, so the process never exits
/// (running libtorch's static destructors) while a forward pass is still running on it.
fn spawn_embed_thread(
    embedder: Arc<dyn Embedder + Sync>,
) -> Result<std::sync::mpsc::Sender<EmbedJob>> {
    let (jobs, incoming) = std::sync::mpsc::channel::<EmbedJob>();
    let runtime = tokio::runtime::Handle::try_current()
        .map_err(Error::failed("cannot start the embedding thread"))?;
    runtime.spawn_blocking(move || {
        lower_priority();
        for (rows, reply) in incoming {
            let texts: Vec<&str> = rows.iter().map(|(_, t)| t.as_str()).collect();
            let vectors = embed_sorted(embedder.as_ref(), &texts, |_| {})
                .map(|v| rows.iter().map(|(id, _)| *id).zip(v).collect());
            let _ = reply.send(vectors);
        }
    });
    Ok(jobs)
}

/// Lowers the calling thread's CPU priority to [`EMBED_NICE`]; threads it starts inherit it.
fn lower_priority() {
    #[cfg(target_os = "linux")]
    {
        // SAFETY: plain system calls on the calling thread; no memory is shared. On Linux the
        // nice value belongs to a thread, and PRIO_PROCESS with a thread id sets that one.
        let failed = unsafe {
            let tid = libc::syscall(libc::SYS_gettid) as libc::id_t;
            libc::setpriority(libc::PRIO_PROCESS, tid, EMBED_NICE) != 0
        };
        if failed {
            tracing::warn!(
                "could not lower the embedding thread's priority: {}",
                std::io::Error::last_os_error()
            );
        }
    }
}

impl Consumer for EmbedSync {
    fn db(&self) -> &DatabaseConnection {
        &self.db
    }

    fn topic(&self) -> &'static str {
        TOPIC_EMBED
    }

    fn consumer(&self) -> &str {
        &self.consumer
    }

    fn batch(&self) -> u64 {
        CLAIM_BATCH
    }

    async fn handle(&self, item_ids: Vec<i64>) -> Result<()> {
        self.embed_items(&item_ids).await
    }
}
