//! Full-text index of feedback items, built on tantivy.
//!
//! The index is a *derived* store: the database is the source of truth and every document
//! here can be rebuilt from it (`triage reindex`). That is why opening an index never fails
//! hard on a missing, corrupt or outdated index — [`FeedbackIndex::open`] reports what it
//! found and the caller rebuilds.
//!
//! * [`schema`]: the fields, and the English stemming analyzer used for subject and text.
//! * [`writer`]: upserts keyed by feedback item id, batched commits.
//! * [`search`]: BM25 with AND semantics, typo tolerance, filters, snippets, pagination.
//! * [`vectors`]: the nearest-neighbour graph over item embeddings (search by meaning).

mod error;
mod schema;
pub mod search;
pub mod vectors;
pub mod writer;

use std::path::{Path, PathBuf};

use tantivy::{Index, IndexReader, ReloadPolicy};

pub use error::{Error, Result};
pub use schema::IndexDoc;
pub use search::{Ranked, SearchHit, SearchRequest, SearchResults, SortOrder};
pub use vectors::VectorIndex;
pub use writer::IndexWriterHandle;

use schema::Fields;

/// How [`FeedbackIndex::open`] found the directory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OpenState {
    /// A usable index was already there.
    Existing,
    /// There was no index; an empty one was created and must be filled from the database.
    Created,
    /// The index was unreadable or had an outdated schema; it was wiped and recreated empty.
    Recreated,
}

/// An opened index: a reader that is always available and, on request, the single writer.
pub struct FeedbackIndex {
    dir: PathBuf,
    index: Index,
    reader: IndexReader,
    fields: Fields,
}

impl FeedbackIndex {
    /// Opens the index in `dir`, creating it when missing and recreating it (empty) when it
    /// cannot be read or was written with another schema. Never loses data that matters:
    /// the caller refills a `Created`/`Recreated` index from the database.
    pub fn open(dir: &Path) -> Result<(Self, OpenState)> {
        let has_meta = dir.join("meta.json").exists();
        if has_meta {
            match Self::open_existing(dir) {
                Ok(idx) => return Ok((idx, OpenState::Existing)),
                Err(Error::Locked) => return Err(Error::Locked),
                Err(_) => {
                    std::fs::remove_dir_all(dir).map_err(|e| Error::io(dir, e))?;
                    return Ok((Self::create(dir)?, OpenState::Recreated));
                }
            }
        }
        Ok((Self::create(dir)?, OpenState::Created))
    }

    fn open_existing(dir: &Path) -> Result<Self> {
        let index = Index::open_in_dir(dir)?;
        let (schema, fields) = schema::build();
        if index.schema() != schema {
            return Err(Error::SchemaMismatch);
        }
        schema::register_tokenizers(&index);
        let idx = Self::from_index(dir, index, fields)?;
        // Touch every segment once so that a truncated or corrupt file is detected now,
        // at start, rather than in the middle of a user's search.
        let searcher = idx.reader.searcher();
        for segment in searcher.segment_readers() {
            segment.inverted_index(idx.fields.text)?;
            segment.fast_fields().i64("created")?;
        }
        Ok(idx)
    }

    fn create(dir: &Path) -> Result<Self> {
        std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
        let (schema, fields) = schema::build();
        let index = Index::create_in_dir(dir, schema)?;
        schema::register_tokenizers(&index);
        Self::from_index(dir, index, fields)
    }

    fn from_index(dir: &Path, index: Index, fields: Fields) -> Result<Self> {
        // Manual reloads: the writer reloads right after each commit, so a search issued
        // after a commit returns always sees it, with no polling delay.
        let reader = index
            .reader_builder()
            .reload_policy(ReloadPolicy::Manual)
            .try_into()?;
        Ok(Self {
            dir: dir.to_path_buf(),
            index,
            reader,
            fields,
        })
    }

    /// The directory this index lives in.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Takes the index's single writer. Fails with [`Error::Locked`] when another process
    /// (typically a running `triage serve`) holds it.
    pub fn writer(&self, heap_bytes: usize) -> Result<IndexWriterHandle> {
        IndexWriterHandle::new(self, heap_bytes)
    }

    /// Number of documents visible to searches.
    pub fn num_docs(&self) -> u64 {
        self.reader.searcher().num_docs()
    }

    /// Picks up commits made by another process or handle.
    pub fn reload(&self) -> Result<()> {
        Ok(self.reader.reload()?)
    }
}
