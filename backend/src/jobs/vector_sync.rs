//! Keeping the nearest-neighbour graph (search by meaning) in step with stored embeddings.
//!
//! The embedding worker adds each batch's vectors to the graph right after storing them
//! ([`super::embed_sync`]). The graph is saved every [`SAVE_EVERY`] when it changed, and at
//! shutdown. At start, [`catch_up`] adds whatever the saved graph lacks — everything when it
//! was missing, unreadable or from another model; otherwise the items embedded after its
//! last save (a crash, or `triage themes rebuild` run while the server was down). It reads
//! ids in pages and vectors only for missing ids, so a start with an up-to-date graph reads
//! no vectors at all.
//!
//! A `serve --web-only` replica embeds nothing: its index worker reads the job log, which
//! names every item once embedded, and [`follow`] adds the stored vectors the graph lacks.
//!
//! Items erased from the database leave the graph when the embedding worker handles the
//! job the erasure queued ([`remove`]: removed, compacted and saved at once). Until then
//! search never shows them, because every hit found by meaning is looked up in the text
//! index before it is returned.

use std::sync::Arc;
use std::time::Duration;

use sea_orm::DatabaseConnection;
use triage_index::{OpenState, VectorIndex};

use crate::db::embeddings;
use crate::{Config, Result};

/// How often a changed graph is written to disk.
pub const SAVE_EVERY: Duration = Duration::from_secs(60);
/// Ids checked per page at start.
const PAGE: u64 = 10_000;

/// Opens the graph for `model`'s vectors. The caller then runs [`catch_up`] (in the
/// background: searches meanwhile see what the graph already holds).
pub fn open(config: &Config, model: &str, dims: usize) -> Result<Arc<VectorIndex>> {
    let dir = config.vectors_dir();
    let (index, state) = VectorIndex::open(&dir, model, dims)?;
    match state {
        OpenState::Created => tracing::info!(dir = %dir.display(), "building the vector index"),
        OpenState::Recreated => tracing::warn!(
            dir = %dir.display(),
            "the vector index was unreadable or from another model; rebuilding it"
        ),
        OpenState::Existing => {}
    }
    Ok(Arc::new(index))
}

/// Adds what the database has and the graph lacks, then saves it.
pub async fn catch_up(db: DatabaseConnection, index: Arc<VectorIndex>) {
    match fill_missing(&db, &index).await {
        Ok(0) => {}
        Ok(added) => {
            tracing::info!(added, "vectors added to the vector index");
            save(&index).await;
        }
        Err(e) => tracing::warn!(error = %e, "filling the vector index failed"),
    }
}

/// Adds the stored vectors of the graph's model that it does not hold; returns how many.
pub async fn fill_missing(db: &DatabaseConnection, index: &Arc<VectorIndex>) -> Result<usize> {
    let model = index.model().to_string();
    let mut after = i64::MIN;
    let mut added = 0;
    loop {
        let ids = embeddings::ids_after(db, &model, after, PAGE).await?;
        let Some(&last) = ids.last() else { break };
        after = last;
        let keys: Vec<u64> = ids.iter().map(|&i| i as u64).collect();
        let missing: Vec<i64> = index.missing(&keys).into_iter().map(|i| i as i64).collect();
        if missing.is_empty() {
            continue;
        }
        let rows = embeddings::for_items(db, &model, &missing).await?;
        added += rows.len();
        add(index, rows).await?;
    }
    Ok(added)
}

/// On a replica that does not embed: adds the stored vectors of `items` the graph lacks
/// and removes `gone` (erased) items.
pub async fn follow(
    db: &DatabaseConnection,
    index: &Arc<VectorIndex>,
    items: &[i64],
    gone: &[i64],
) -> Result<()> {
    let keys: Vec<u64> = items.iter().map(|&i| i as u64).collect();
    let missing: Vec<i64> = index.missing(&keys).into_iter().map(|i| i as i64).collect();
    if !missing.is_empty() {
        let rows = embeddings::for_items(db, index.model(), &missing).await?;
        add(index, rows).await?;
    }
    if !gone.is_empty() {
        remove(index, gone).await?;
    }
    Ok(())
}

/// Adds (or replaces) these items' vectors, off the async threads.
pub async fn add(index: &Arc<VectorIndex>, rows: Vec<(i64, Vec<f32>)>) -> Result<()> {
    let index = index.clone();
    tokio::task::spawn_blocking(move || {
        let refs: Vec<(u64, &[f32])> = rows
            .iter()
            .map(|(i, v)| (*i as u64, v.as_slice()))
            .collect();
        index.upsert(&refs)
    })
    .await
    .map_err(crate::Error::failed("vector index task failed"))??;
    Ok(())
}

/// Removes these items' vectors and saves the graph now, so the erased vectors leave
/// the file too; returns how many the graph held.
pub async fn remove(index: &Arc<VectorIndex>, ids: &[i64]) -> Result<usize> {
    let index = index.clone();
    let keys: Vec<u64> = ids.iter().map(|&i| i as u64).collect();
    tokio::task::spawn_blocking(move || {
        let removed = index.remove(&keys)?;
        if removed > 0 {
            index.save()?;
        }
        Ok::<_, triage_index::Error>(removed)
    })
    .await
    .map_err(crate::Error::failed("vector index task failed"))?
    .map_err(crate::Error::from)
}

/// Saves the graph when it changed; a failure is logged (the next start rebuilds what is
/// missing), never fatal.
pub async fn save(index: &Arc<VectorIndex>) {
    let index = index.clone();
    let saved = tokio::task::spawn_blocking(move || index.save_if_changed()).await;
    match saved {
        Ok(Ok(_)) => {}
        Ok(Err(e)) => tracing::warn!(error = %e, "saving the vector index failed"),
        Err(e) => tracing::warn!(error = %e, "saving the vector index failed"),
    }
}

/// Saves the graph every [`SAVE_EVERY`] while it changes (the loop of `triage serve`).
pub async fn run_saver(index: Arc<VectorIndex>) {
    let mut every = tokio::time::interval(SAVE_EVERY);
    every.tick().await;
    loop {
        every.tick().await;
        save(&index).await;
    }
}
