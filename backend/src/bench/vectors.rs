//! Stored vectors for generated items, without running the model once per item.
//!
//! Embedding a million generated items with the real model takes about an hour on a
//! 2-core machine; benchmarks that measure what happens *after* embedding (theme rebuilds,
//! search latency at a million items) write vectors derived from real embeddings of the
//! corpus messages straight to the embeddings table instead. Each bench says how it
//! derives them; the embedding worker skips items that already have a vector.

use crate::config::Config;
use crate::db::{embeddings, items};
use crate::embed::minilm::{MiniLm, MODEL_NAME};
use crate::embed::{embed_sorted, Embedder};
use crate::Result;

/// Items read and written per step.
const PAGE: u64 = 10_000;

/// Real embeddings of `texts` by the configured model.
pub fn embed_texts(config: &Config, texts: &[String]) -> Result<Vec<Vec<f32>>> {
    let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
    let model = MiniLm::load(
        &config.model_dir,
        config.embed_threads,
        config.embed_precision,
    )?;
    embed_sorted(&model as &dyn Embedder, &refs, |_| {})
}

/// Stores a vector for every item, in id order: `vector_of(position, item)` gives the
/// vector of the item at that position (0 for the first). Returns the number stored.
pub async fn store_for_all(
    db: &sea_orm::DatabaseConnection,
    mut vector_of: impl FnMut(usize, &items::Item) -> Result<Vec<f32>>,
) -> Result<usize> {
    let mut after = 0i64;
    let mut written = 0usize;
    loop {
        let page = items::page_after(db, after, PAGE).await?;
        let Some(last) = page.last() else { break };
        after = last.item.id;
        let mut rows = Vec::with_capacity(page.len());
        for p in &page {
            rows.push((p.item.id, vector_of(written + rows.len(), &p.item)?));
        }
        written += rows.len();
        embeddings::upsert(db, MODEL_NAME, "fp32", &rows).await?;
    }
    Ok(written)
}
