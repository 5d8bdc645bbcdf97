//! Nearest-neighbour index over item embeddings: the "by meaning" half of search.
//!
//! An HNSW graph (usearch) keyed by feedback item id, cosine distance, vectors stored as
//! f16 — half the memory of f32, and the rounding (about 1e-3 relative) is far below the
//! differences that order search results. Like the text index it is a *derived* store:
//! the `embeddings` table is the source of truth, the graph is rebuilt from it when it is
//! missing, unreadable, from another model or out of step ([`VectorIndex::open`] says
//! which), and updated by the embedding worker as items are embedded.
//!
//! Saving writes a temporary file and renames it over the old one, so a crash mid-save
//! leaves the previous complete graph; what was added after the last save is found
//! missing on the next start and added again from the database.
//!
//! Concurrency: searches share a read lock; adds, removals and growth take the write lock
//! (usearch may reallocate while growing, which must not race a search).

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::RwLock;

use usearch::{Index, IndexOptions, MetricKind, ScalarKind};

use crate::{Error, OpenState, Result};

const FILE: &str = "vectors.usearch";
const META: &str = "vectors.json";

/// What the saved graph was built from; a different model or size means rebuild.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
struct Meta {
    model: String,
    dims: usize,
}

pub struct VectorIndex {
    dir: PathBuf,
    meta: Meta,
    inner: RwLock<Index>,
    /// Bumped by every change; `saved` is its value at the last save.
    changes: AtomicU64,
    saved: AtomicU64,
}

impl VectorIndex {
    /// Opens the graph in `dir` for vectors of `model` with `dims` dimensions; creates an
    /// empty one when there is none, and recreates it (empty) when the saved one cannot be
    /// read or was built for another model. The caller fills a `Created`/`Recreated` index
    /// from the database, and checks an `Existing` one with [`VectorIndex::contains`].
    pub fn open(dir: &Path, model: &str, dims: usize) -> Result<(Self, OpenState)> {
        std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
        let meta = Meta {
            model: model.to_string(),
            dims,
        };
        let file = dir.join(FILE);
        let saved: Option<Meta> = std::fs::read(dir.join(META))
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok());
        let fresh = Self {
            dir: dir.to_path_buf(),
            meta: meta.clone(),
            inner: RwLock::new(new_index(dims)?),
            changes: AtomicU64::new(0),
            saved: AtomicU64::new(0),
        };
        if !file.exists() {
            return Ok((fresh, OpenState::Created));
        }
        if saved.as_ref() == Some(&meta) {
            let index = new_index(dims)?;
            if index.load(&file.to_string_lossy()).is_ok() && index.dimensions() == dims {
                let opened = Self {
                    inner: RwLock::new(index),
                    ..fresh
                };
                return Ok((opened, OpenState::Existing));
            }
        }
        Ok((fresh, OpenState::Recreated))
    }

    /// The model and dimensions of the graph saved in `dir`, if there is one: lets a
    /// process without the model (the CLI erasing a customer) open the graph to remove
    /// vectors from it.
    pub fn stored_model(dir: &Path) -> Result<Option<(String, usize)>> {
        if !dir.join(FILE).exists() {
            return Ok(None);
        }
        let saved: Option<Meta> = std::fs::read(dir.join(META))
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok());
        Ok(saved.map(|m| (m.model, m.dims)))
    }

    /// Adds these vectors, replacing any held for the same ids.
    pub fn upsert(&self, rows: &[(u64, &[f32])]) -> Result<()> {
        let index = self.inner.write().unwrap_or_else(|e| e.into_inner());
        let needed = index.size() + rows.len();
        if needed > index.capacity() {
            // Grow geometrically: each reserve copies the graph's node table.
            index
                .reserve(needed.max(index.capacity() * 2).max(1024))
                .map_err(vector_error)?;
        }
        for (id, v) in rows {
            if v.len() != self.meta.dims {
                return Err(Error::Vectors(format!(
                    "item {id}: a vector of {} dimensions, the index holds {}",
                    v.len(),
                    self.meta.dims
                )));
            }
            if index.contains(*id) {
                index.remove(*id).map_err(vector_error)?;
            }
            index.add(*id, v).map_err(vector_error)?;
        }
        self.changes.fetch_add(1, Ordering::Relaxed);
        Ok(())
    }

    /// Removes these ids (ids not held are ignored); returns how many it held.
    ///
    /// usearch only marks a removed entry and keeps its vector until the slot is reused, so
    /// after removing, the graph is compacted: the vectors of erased items leave memory
    /// now and the file at the next [`save`](Self::save).
    pub fn remove(&self, ids: &[u64]) -> Result<usize> {
        let index = self.inner.write().unwrap_or_else(|e| e.into_inner());
        let mut removed = 0;
        for id in ids {
            if index.contains(*id) {
                index.remove(*id).map_err(vector_error)?;
                removed += 1;
            }
        }
        if removed > 0 {
            index.compact().map_err(vector_error)?;
            self.changes.fetch_add(1, Ordering::Relaxed);
        }
        Ok(removed)
    }

    /// The ids among `ids` that the graph does not hold.
    pub fn missing(&self, ids: &[u64]) -> Vec<u64> {
        let index = self.inner.read().unwrap_or_else(|e| e.into_inner());
        ids.iter()
            .copied()
            .filter(|id| !index.contains(*id))
            .collect()
    }

    /// The `k` nearest ids to `query` that `keep` accepts, with their cosine similarity,
    /// most similar first. `query` need not be normalised.
    pub fn nearest(
        &self,
        query: &[f32],
        k: usize,
        keep: impl Fn(u64) -> bool,
    ) -> Result<Vec<(u64, f32)>> {
        if k == 0 || query.len() != self.meta.dims {
            return Ok(Vec::new());
        }
        let index = self.inner.read().unwrap_or_else(|e| e.into_inner());
        if index.size() == 0 {
            return Ok(Vec::new());
        }
        // usearch's candidate list is max(expansion_search, k): deep pages widen it.
        let found = index
            .filtered_search(query, k, keep)
            .map_err(vector_error)?;
        Ok(found
            .keys
            .into_iter()
            .zip(found.distances)
            .map(|(id, d)| (id, 1.0 - d))
            .collect())
    }

    /// Saves when something changed since the last save; true when it saved.
    pub fn save_if_changed(&self) -> Result<bool> {
        if self.changes.load(Ordering::Relaxed) == self.saved.load(Ordering::Relaxed) {
            return Ok(false);
        }
        self.save()?;
        Ok(true)
    }

    /// Writes the graph to disk (temporary file, then rename).
    pub fn save(&self) -> Result<()> {
        let version = self.changes.load(Ordering::Relaxed);
        let file = self.dir.join(FILE);
        let tmp = self.dir.join(format!("{FILE}.tmp"));
        {
            let index = self.inner.read().unwrap_or_else(|e| e.into_inner());
            index.save(&tmp.to_string_lossy()).map_err(vector_error)?;
        }
        std::fs::rename(&tmp, &file).map_err(|e| Error::io(&file, e))?;
        let meta = serde_json::to_vec(&self.meta).map_err(|e| Error::Vectors(e.to_string()))?;
        std::fs::write(self.dir.join(META), meta).map_err(|e| Error::io(&self.dir, e))?;
        self.saved.store(version, Ordering::Relaxed);
        Ok(())
    }

    /// Empties the graph (before a rebuild from the database).
    pub fn clear(&self) -> Result<()> {
        let mut index = self.inner.write().unwrap_or_else(|e| e.into_inner());
        *index = new_index(self.meta.dims)?;
        self.changes.fetch_add(1, Ordering::Relaxed);
        Ok(())
    }

    /// Vectors held.
    pub fn len(&self) -> usize {
        self.inner.read().unwrap_or_else(|e| e.into_inner()).size()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Bytes of memory the graph and its vectors take.
    pub fn memory_bytes(&self) -> usize {
        self.inner
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .memory_usage()
    }

    /// The model whose vectors this graph holds.
    pub fn model(&self) -> &str {
        &self.meta.model
    }
}

fn new_index(dims: usize) -> Result<Index> {
    let options = IndexOptions {
        dimensions: dims,
        metric: MetricKind::Cos,
        quantization: ScalarKind::F16,
        // usearch's defaults (16 links, expansion 128 on insert, 64 on search); the graph's
        // recall against exact search is measured by `triage bench relevance`.
        connectivity: 0,
        expansion_add: 0,
        expansion_search: 0,
        multi: false,
    };
    Index::new(&options).map_err(vector_error)
}

fn vector_error(e: impl std::fmt::Display) -> Error {
    Error::Vectors(e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unit(seed: u64, dims: usize) -> Vec<f32> {
        // A deterministic pseudo-random vector (xorshift), normalised.
        let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
        let mut v: Vec<f32> = (0..dims)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                (x % 2001) as f32 / 1000.0 - 1.0
            })
            .collect();
        let n = v.iter().map(|a| a * a).sum::<f32>().sqrt();
        v.iter_mut().for_each(|a| *a /= n);
        v
    }

    #[test]
    fn finds_the_nearest_and_respects_the_filter_and_removals() {
        let dir = tempfile::tempdir().unwrap();
        let (idx, state) = VectorIndex::open(dir.path(), "m", 32).unwrap();
        assert_eq!(state, OpenState::Created);
        let rows: Vec<(u64, Vec<f32>)> = (1..=500).map(|i| (i, unit(i, 32))).collect();
        let refs: Vec<(u64, &[f32])> = rows.iter().map(|(i, v)| (*i, v.as_slice())).collect();
        idx.upsert(&refs).unwrap();
        assert_eq!(idx.len(), 500);

        let found = idx.nearest(&rows[41].1, 3, |_| true).unwrap();
        assert_eq!(found[0].0, 42);
        assert!((found[0].1 - 1.0).abs() < 1e-2, "{found:?}");
        let even = idx.nearest(&rows[41].1, 5, |id| id % 2 == 1).unwrap();
        assert!(even.iter().all(|(id, _)| id % 2 == 1));
        assert!(!even.iter().any(|(id, _)| *id == 42));

        idx.remove(&[42]).unwrap();
        let after = idx.nearest(&rows[41].1, 3, |_| true).unwrap();
        assert!(after.iter().all(|(id, _)| *id != 42));
        assert_eq!(idx.missing(&[41, 42, 43]), vec![42]);
    }

    #[test]
    fn a_saved_graph_reopens_and_another_model_starts_over() {
        let dir = tempfile::tempdir().unwrap();
        let v = unit(7, 16);
        {
            let (idx, _) = VectorIndex::open(dir.path(), "m", 16).unwrap();
            idx.upsert(&[(7, &v)]).unwrap();
            idx.upsert(&[(7, &v)]).unwrap(); // replacing keeps one entry
            assert_eq!(idx.len(), 1);
            assert!(idx.save_if_changed().unwrap());
            assert!(!idx.save_if_changed().unwrap(), "nothing new to save");
        }
        let (idx, state) = VectorIndex::open(dir.path(), "m", 16).unwrap();
        assert_eq!(state, OpenState::Existing);
        assert_eq!(idx.nearest(&v, 1, |_| true).unwrap()[0].0, 7);
        let (other, state) = VectorIndex::open(dir.path(), "other-model", 16).unwrap();
        assert_eq!(state, OpenState::Recreated);
        assert!(other.is_empty());
    }

    #[test]
    fn a_corrupt_file_is_recreated_not_fatal() {
        let dir = tempfile::tempdir().unwrap();
        {
            let (idx, _) = VectorIndex::open(dir.path(), "m", 16).unwrap();
            idx.upsert(&[(1, &unit(1, 16))]).unwrap();
            idx.save().unwrap();
        }
        std::fs::write(dir.path().join(FILE), b"not an index").unwrap();
        let (idx, state) = VectorIndex::open(dir.path(), "m", 16).unwrap();
        assert_eq!(state, OpenState::Recreated);
        assert!(idx.is_empty());
    }
}
