//! Keeping the tantivy index in step with the database.
//!
//! Every replica keeps a complete index of its own, so index jobs are not claimed: each
//! index reads the outbox's index topic as a log (`db::outbox_log`) at its own cursor,
//! stored under the index's *instance id* (a random id beside the index). Jobs are indexed,
//! committed to tantivy, and only then is the cursor moved. A crash in between means the
//! items are indexed again on restart — harmless, since documents are replaced by id.
//! An index without a cursor (new, recreated, or away so long it was forgotten) is rebuilt
//! from the database first, from a position taken before reading it. Either way the index
//! catches up: no acknowledged item is ever lost from search.
//!
//! A job whose item is gone from the database (erased) deletes its document, and the
//! segments that held it are rewritten at once, so the erased text leaves the index files.

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use sea_orm::DatabaseConnection;
use tokio::sync::Notify;
use triage_index::{FeedbackIndex, IndexDoc, IndexWriterHandle, OpenState, VectorIndex};

use super::vector_sync;

use crate::db::items::{self, ItemWithSegment};
use crate::db::outbox::TOPIC_INDEX;
use crate::db::outbox_log::{self, Position};
use crate::{Config, Error, Result};

/// Jobs handled per read; one tantivy commit per read.
const READ_BATCH: u64 = 10_000;
/// How often a waiting index looks for jobs written by other processes.
const POLL_EVERY: Duration = Duration::from_millis(250);
/// How often an idle index says it is alive and deletes jobs every index has passed.
const TRIM_EVERY: Duration = Duration::from_secs(60);
/// Items read per page during a full rebuild.
const REBUILD_PAGE: u64 = 5000;

/// The index with its writer: only one process per data dir can hold it.
#[derive(Clone)]
pub struct IndexSync {
    db: DatabaseConnection,
    index: Arc<FeedbackIndex>,
    writer: Arc<Mutex<IndexWriterHandle>>,
    reader: String,
    /// Where this index stands in the log; `None` until it was rebuilt.
    at: Arc<Mutex<Option<Position>>>,
    /// The graph of search by meaning, on a replica that does not embed: it learns the
    /// vectors of the items the log names (embedding re-queues every item it embeds).
    vectors: Option<Arc<VectorIndex>>,
}

impl IndexSync {
    /// Opens (or creates, or recreates) the index and takes its writer, and finds where it
    /// stands in the log.
    pub async fn open(config: &Config, db: DatabaseConnection) -> Result<Self> {
        let dir = config.index_dir();
        let (index, opened) = FeedbackIndex::open(&dir)?;
        let writer = index.writer(config.index_heap_bytes)?;
        let reader = instance_id(&config.data_dir)?;
        let at = match opened {
            OpenState::Existing => outbox_log::cursor(&db, &reader).await?,
            _ => None,
        };
        if opened == OpenState::Existing && at.is_none() {
            tracing::warn!("the search index has no place in the job log (new, or away too long); rebuilding it");
        }
        match opened {
            OpenState::Created => {
                tracing::info!(dir = %dir.display(), "created a new search index")
            }
            OpenState::Recreated => {
                tracing::warn!(dir = %dir.display(), "the search index was unreadable or outdated; recreated it")
            }
            OpenState::Existing => {}
        }
        Ok(Self {
            db,
            index: Arc::new(index),
            writer: Arc::new(Mutex::new(writer)),
            reader,
            at: Arc::new(Mutex::new(at)),
            vectors: None,
        })
    }

    /// Keeps `vectors` in step too: on a replica whose items are embedded elsewhere.
    pub fn with_vectors(mut self, vectors: Arc<VectorIndex>) -> Self {
        self.vectors = Some(vectors);
        self
    }

    pub fn index(&self) -> Arc<FeedbackIndex> {
        self.index.clone()
    }

    /// True when the index must be filled from the database: just created or recreated,
    /// or without a place in the log.
    pub fn needs_rebuild(&self) -> bool {
        self.position().is_none()
    }

    fn position(&self) -> Option<Position> {
        *self.at.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn set_position(&self, at: Position) {
        *self.at.lock().unwrap_or_else(|p| p.into_inner()) = Some(at);
    }

    /// Reads and indexes until no job is left (rebuilding first when needed).
    pub async fn drain_all(&self) -> Result<usize> {
        if self.needs_rebuild() {
            self.rebuild(|_, _| {}).await?;
        }
        let mut total = 0;
        loop {
            match self.drain_once().await? {
                0 => return Ok(total),
                n => total += n,
            }
        }
    }

    /// Indexes the next batch of jobs after this index's cursor; how many there were.
    pub async fn drain_once(&self) -> Result<usize> {
        let Some(at) = self.position() else {
            return Ok(0);
        };
        let jobs = outbox_log::read(&self.db, TOPIC_INDEX, at, READ_BATCH).await?;
        let Some(last) = jobs.last().map(|j| j.at) else {
            return Ok(0);
        };
        let mut items: Vec<i64> = jobs.iter().map(|j| j.item_id).collect();
        items.sort_unstable();
        items.dedup();
        self.handle(items).await?;
        outbox_log::save(&self.db, &self.reader, last).await?;
        self.set_position(last);
        Ok(jobs.len())
    }

    /// Re-indexes every item from the database. The log position is taken first, so items
    /// written during the rebuild are read from the log afterwards (some twice, harmlessly).
    pub async fn rebuild(&self, mut progress: impl FnMut(u64, u64)) -> Result<u64> {
        let start = outbox_log::head(&self.db, TOPIC_INDEX).await?;
        // Claimed now, so no other index's trimming deletes what this one still needs.
        outbox_log::save(&self.db, &self.reader, start).await?;
        let total = items::count(&self.db).await?;
        self.with_writer(|w| w.delete_all()).await?;
        let mut done = 0u64;
        let mut after = 0i64;
        loop {
            let page = items::page_after(&self.db, after, REBUILD_PAGE).await?;
            let Some(last) = page.last() else { break };
            after = last.item.id;
            done += page.len() as u64;
            self.write_uncommitted(page).await?;
            progress(done, total);
        }
        self.with_writer(|w| w.commit()).await?;
        self.set_position(start);
        Ok(done)
    }

    /// The worker loop of `triage serve`: rebuild if needed, then drain forever.
    pub async fn run(self, wake: Arc<Notify>) {
        let mut backoff = Duration::from_millis(500);
        while self.needs_rebuild() {
            match self.rebuild(|_, _| {}).await {
                Ok(n) => {
                    tracing::info!(items = n, "rebuilt the search index from the database");
                    break;
                }
                Err(e) => {
                    tracing::error!(error = %e, "rebuilding the search index failed; will retry");
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(Duration::from_secs(30));
                }
            }
        }
        self.follow(wake).await
    }

    /// Reads the log forever: after a local write (`wake`) or every [`POLL_EVERY`] (writes
    /// of other replicas); every [`TRIM_EVERY`] it says it is alive and deletes the jobs
    /// every index has passed. After a failure it backs off up to 30 s.
    async fn follow(&self, wake: Arc<Notify>) {
        let mut backoff = POLL_EVERY;
        let mut trimmed = std::time::Instant::now();
        loop {
            match self.drain_once().await {
                Ok(0) => {
                    backoff = POLL_EVERY;
                    if trimmed.elapsed() >= TRIM_EVERY {
                        trimmed = std::time::Instant::now();
                        if let Err(e) = self.keep_alive_and_trim().await {
                            tracing::warn!(error = %e, "trimming the index job log failed");
                        }
                    }
                    let _ = tokio::time::timeout(POLL_EVERY, wake.notified()).await;
                }
                Ok(_) => backoff = POLL_EVERY,
                Err(e) => {
                    tracing::error!(error = %e, "indexing failed; will retry");
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(Duration::from_secs(30));
                }
            }
        }
    }

    async fn keep_alive_and_trim(&self) -> Result<()> {
        if let Some(at) = self.position() {
            outbox_log::save(&self.db, &self.reader, at).await?;
        }
        let trimmed = outbox_log::trim(&self.db, TOPIC_INDEX, chrono::Utc::now()).await?;
        if trimmed > 0 {
            tracing::debug!(jobs = trimmed, "deleted index jobs every index has read");
        }
        Ok(())
    }

    /// Indexes these items as they are now; those gone from the database leave the index
    /// (and, on a replica that does not embed, the vector graph).
    async fn handle(&self, item_ids: Vec<i64>) -> Result<()> {
        let found = items::with_segments(&self.db, &item_ids).await?;
        let present: Vec<i64> = found.iter().map(|f| f.item.id).collect();
        let kept: std::collections::HashSet<i64> = present.iter().copied().collect();
        let gone: Vec<i64> = item_ids
            .into_iter()
            .filter(|id| !kept.contains(id))
            .collect();
        self.write(found, gone.iter().map(|&id| id as u64).collect())
            .await?;
        if let Some(graph) = &self.vectors {
            vector_sync::follow(&self.db, graph, &present, &gone).await?;
        }
        Ok(())
    }

    /// Commits and waits for merges; call before the process exits.
    pub async fn close(self) -> Result<()> {
        self.with_writer(|w| w.commit()).await
    }

    async fn write(&self, docs: Vec<ItemWithSegment>, deleted: Vec<u64>) -> Result<()> {
        self.with_writer(move |w| {
            let docs: Vec<IndexDoc> = docs.iter().map(to_doc).collect();
            w.upsert_all(&docs)?;
            for id in &deleted {
                w.delete(*id);
            }
            if deleted.is_empty() {
                w.commit()
            } else {
                // Deleted means erased: the text must leave the files, not only the results.
                w.purge_deleted().map(|_| ())
            }
        })
        .await
    }

    /// Adds without committing or deleting: only for a rebuild, after `delete_all`.
    async fn write_uncommitted(&self, docs: Vec<ItemWithSegment>) -> Result<()> {
        self.with_writer(move |w| {
            for d in &docs {
                w.add(&to_doc(d))?;
            }
            Ok(())
        })
        .await
    }

    /// Runs `f` on the writer off the async threads: tantivy commits block on fsync.
    async fn with_writer<F>(&self, f: F) -> Result<()>
    where
        F: FnOnce(&mut IndexWriterHandle) -> triage_index::Result<()> + Send + 'static,
    {
        let writer = self.writer.clone();
        tokio::task::spawn_blocking(move || {
            let mut w = writer
                .lock()
                .map_err(|_| Error::Internal("index writer poisoned".into()))?;
            f(&mut w).map_err(Error::from)
        })
        .await
        .map_err(Error::failed("index task failed"))?
    }
}

fn to_doc(d: &ItemWithSegment) -> IndexDoc {
    IndexDoc {
        id: d.item.id as u64,
        source_id: d.item.source_id as u64,
        kind: d.item.kind.to_string(),
        subject: d.item.subject.clone(),
        text: d.item.text.clone(),
        segment: d.segment.clone(),
        theme: d.theme.map(|t| t as u64),
        score: d.item.score,
        created_at: d.item.created_at,
    }
}

/// The id this data dir's index claims outbox jobs under, created on first use.
pub fn instance_id(data_dir: &Path) -> Result<String> {
    let path = data_dir.join("index-instance-id");
    if let Ok(id) = std::fs::read_to_string(&path) {
        let id = id.trim();
        if !id.is_empty() {
            return Ok(id.to_string());
        }
    }
    let mut bytes = [0u8; 12];
    rand::RngCore::fill_bytes(&mut rand::rng(), &mut bytes);
    let id = format!("index-{}", hex::encode(bytes));
    std::fs::create_dir_all(data_dir).map_err(|e| Error::io(data_dir, e))?;
    std::fs::write(&path, &id).map_err(|e| Error::io(&path, e))?;
    Ok(id)
}

/// Index jobs the index of `data_dir` has not read yet (all of them before its first
/// rebuild).
pub async fn pending(db: &DatabaseConnection, data_dir: &Path) -> Result<u64> {
    Ok(waiting(db, data_dir).await?.0)
}

/// [`pending`], with when the oldest of those jobs was written (for `/metrics`).
pub async fn waiting(
    db: &DatabaseConnection,
    data_dir: &Path,
) -> Result<(u64, Option<chrono::DateTime<chrono::Utc>>)> {
    let at = outbox_log::cursor(db, &instance_id(data_dir)?)
        .await?
        .unwrap_or(Position { txid: 0, job_id: 0 });
    outbox_log::waiting(db, TOPIC_INDEX, at).await
}
