//! Keeping the tantivy index in step with the database.
//!
//! Jobs are claimed under this index's *instance id* (a random id stored beside the index),
//! indexed, committed to tantivy, and only then deleted. A crash between the commit and the
//! delete means the items are indexed again on restart — harmless, since documents are
//! replaced by id. A crash before the commit leaves claimed jobs, which [`IndexSync::open`]
//! releases. Either way the index catches up: no acknowledged item is ever lost from search.
//!
//! A job whose item is gone from the database (erased) deletes its document, and the
//! segments that held it are rewritten at once, so the erased text leaves the index files.

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use sea_orm::DatabaseConnection;
use tokio::sync::Notify;
use triage_index::{FeedbackIndex, IndexDoc, IndexWriterHandle, OpenState};

use super::consumer::{self, Consumer};
use crate::db::items::{self, ItemWithSegment};
use crate::db::outbox::{self, TOPIC_INDEX};
use crate::{Config, Error, Result};

/// Jobs handled per claim; one tantivy commit per claim.
const CLAIM_BATCH: u64 = 10_000;
/// Items read per page during a full rebuild.
const REBUILD_PAGE: u64 = 5000;

/// The index with its writer: only one process per data dir can hold it.
#[derive(Clone)]
pub struct IndexSync {
    db: DatabaseConnection,
    index: Arc<FeedbackIndex>,
    writer: Arc<Mutex<IndexWriterHandle>>,
    consumer: String,
    opened: OpenState,
}

impl IndexSync {
    /// Opens (or creates, or recreates) the index and takes its writer. Claims left over
    /// from a crash of this same index are released.
    pub async fn open(config: &Config, db: DatabaseConnection) -> Result<Self> {
        let dir = config.index_dir();
        let (index, opened) = FeedbackIndex::open(&dir)?;
        let writer = index.writer(config.index_heap_bytes)?;
        let consumer = instance_id(&config.data_dir)?;
        let released = outbox::release(&db, &consumer).await?;
        if released > 0 {
            tracing::info!(released, "released index jobs claimed before a crash");
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
            consumer,
            opened,
        })
    }

    pub fn index(&self) -> Arc<FeedbackIndex> {
        self.index.clone()
    }

    /// True when the index was just created or recreated and must be filled from the database.
    pub fn needs_rebuild(&self) -> bool {
        self.opened != OpenState::Existing
    }

    /// Drains until no job is left.
    pub async fn drain_all(&self) -> Result<usize> {
        consumer::drain_all(self).await
    }

    /// Re-indexes every item from the database. Pending jobs stay queued and are replayed
    /// afterwards (harmlessly), so items written during the rebuild are not missed.
    pub async fn rebuild(&self, mut progress: impl FnMut(u64, u64)) -> Result<u64> {
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
        consumer::run_forever(&self, wake).await
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

impl Consumer for IndexSync {
    fn db(&self) -> &DatabaseConnection {
        &self.db
    }

    fn topic(&self) -> &'static str {
        TOPIC_INDEX
    }

    fn consumer(&self) -> &str {
        &self.consumer
    }

    fn batch(&self) -> u64 {
        CLAIM_BATCH
    }

    async fn handle(&self, item_ids: Vec<i64>) -> Result<()> {
        let found = items::with_segments(&self.db, &item_ids).await?;
        let present: std::collections::HashSet<i64> = found.iter().map(|f| f.item.id).collect();
        // Jobs whose item is gone (deleted since) remove it from the index.
        let missing: Vec<u64> = item_ids
            .iter()
            .filter(|id| !present.contains(id))
            .map(|id| *id as u64)
            .collect();
        self.write(found, missing).await
    }
}
