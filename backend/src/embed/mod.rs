//! Sentence embeddings: turning feedback text into 384-d unit vectors that can be compared
//! by cosine similarity (a dot product, since they are normalised).
//!
//! [`Embedder`] hides the model. The one real backend, [`minilm::MiniLm`], runs
//! all-MiniLM-L6-v2 through rust-bert/libtorch on the CPU. Callers hand over any texts;
//! [`embed_sorted`] sorts them by length before batching — padding to the longest text of a
//! batch is what costs time, so batches of similar lengths run about twice as fast — and
//! returns the vectors in the caller's order.

pub mod minilm;
pub mod vectors;

use crate::Result;

/// Texts per forward pass. Larger batches gain little on 2 cores and cost memory.
pub const BATCH: usize = 32;

/// An embedder shared between workers (the embedding worker, theme naming).
pub type SharedEmbedder = std::sync::Arc<dyn Embedder + Sync>;

pub trait Embedder: Send {
    /// Stored with every vector: vectors of different models are never compared.
    fn model_name(&self) -> &str;
    /// `fp32` or `bf16`; recorded, but vectors of either precision are interchangeable.
    fn precision(&self) -> &str;
    fn dims(&self) -> usize;
    /// Embeds one batch, in order. Callers normally use [`embed_sorted`].
    fn embed_batch(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>>;
}

/// Embeds `texts` in length-sorted batches and returns the vectors in input order.
/// `progress` is called with the number of texts done after every batch.
pub fn embed_sorted(
    embedder: &dyn Embedder,
    texts: &[&str],
    mut progress: impl FnMut(usize),
) -> Result<Vec<Vec<f32>>> {
    let mut order: Vec<usize> = (0..texts.len()).collect();
    order.sort_by_key(|&i| texts[i].len());
    let mut out: Vec<Vec<f32>> = vec![Vec::new(); texts.len()];
    let mut done = 0;
    for chunk in order.chunks(BATCH) {
        let batch: Vec<&str> = chunk.iter().map(|&i| texts[i]).collect();
        for (&i, v) in chunk.iter().zip(embedder.embed_batch(&batch)?) {
            out[i] = v;
        }
        done += chunk.len();
        progress(done);
    }
    Ok(out)
}

/// The text an item is embedded from, as a reader would take it in.
///
/// A ticket's subject is part of its message. A rating's subject is the thing rated and a
/// survey response's is the survey's title: shared by many items, they would pull every
/// rating of one product (or every answer to one survey) into one theme, so only the
/// comment counts — unless there is no comment at all.
pub fn item_text(item: &crate::db::items::Item) -> String {
    let text = item.text.trim();
    let subject = item
        .subject
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty());
    match subject {
        Some(s)
            if item.kind == crate::db::items::ItemKind::Ticket
                && !text.starts_with(s.trim_end_matches('…')) =>
        {
            format!("{s}. {text}")
        }
        Some(s) if text.is_empty() => s.to_string(),
        _ => text.to_string(),
    }
}
