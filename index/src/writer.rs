//! The single index writer: upserts by item id, explicit commits.
//!
//! Callers batch: they add many documents and commit once, because every tantivy commit
//! fsyncs and creates a segment. A document is replaced by deleting its id term first,
//! so replaying the same outbox job twice (after a crash) leaves one copy.

use tantivy::{IndexWriter, TantivyDocument, Term};

use crate::schema::Fields;
use crate::{FeedbackIndex, IndexDoc, Result};

pub struct IndexWriterHandle {
    writer: IndexWriter,
    reader: tantivy::IndexReader,
    fields: Fields,
    pending: usize,
}

impl IndexWriterHandle {
    pub(crate) fn new(index: &FeedbackIndex, heap_bytes: usize) -> Result<Self> {
        let writer = index.index.writer(heap_bytes.max(15_000_000))?;
        Ok(Self {
            writer,
            reader: index.reader.clone(),
            fields: index.fields,
            pending: 0,
        })
    }

    /// Adds or replaces the documents for these ids.
    ///
    /// A delete is queued only for ids the committed index already holds: tantivy applies
    /// each delete as a term query against every segment at commit time, which for a bulk
    /// of new items would cost more than indexing them.
    pub fn upsert_all(&mut self, docs: &[IndexDoc]) -> Result<()> {
        let searcher = self.reader.searcher();
        for doc in docs {
            let id = Term::from_field_u64(self.fields.id, doc.id);
            if searcher.doc_freq(&id)? > 0 {
                self.writer.delete_term(id);
            }
            self.add(doc)?;
        }
        Ok(())
    }

    /// Adds or replaces the document for `doc.id`.
    pub fn upsert(&mut self, doc: &IndexDoc) -> Result<()> {
        self.writer
            .delete_term(Term::from_field_u64(self.fields.id, doc.id));
        self.add(doc)
    }

    /// Adds a document known not to be in the index (a rebuild after `delete_all`).
    pub fn add(&mut self, doc: &IndexDoc) -> Result<()> {
        let f = &self.fields;
        let mut d = TantivyDocument::default();
        d.add_u64(f.id, doc.id);
        d.add_u64(f.source_id, doc.source_id);
        d.add_text(f.kind, &doc.kind);
        if let Some(segment) = &doc.segment {
            d.add_text(f.segment, segment);
        }
        if let Some(theme) = doc.theme {
            d.add_u64(f.theme, theme);
        }
        if let Some(subject) = &doc.subject {
            d.add_text(f.subject, subject);
        }
        d.add_text(f.text, &doc.text);
        d.add_i64(f.created, doc.created_at.timestamp());
        if let Some(score) = doc.score {
            d.add_f64(f.score, score);
        }
        self.writer.add_document(d)?;
        self.pending += 1;
        Ok(())
    }

    /// Removes the document for item `id`, if any.
    pub fn delete(&mut self, id: u64) {
        self.writer
            .delete_term(Term::from_field_u64(self.fields.id, id));
        self.pending += 1;
    }

    /// Removes every document (used before a full rebuild).
    pub fn delete_all(&mut self) -> Result<()> {
        self.writer.delete_all_documents()?;
        self.pending += 1;
        Ok(())
    }

    /// Operations added since the last commit.
    pub fn pending(&self) -> usize {
        self.pending
    }

    /// Makes everything added so far durable and visible to searches.
    pub fn commit(&mut self) -> Result<()> {
        if self.pending == 0 {
            return Ok(());
        }
        if let Err(e) = self.writer.commit() {
            // A failed commit (a full disk, say) leaves the writer unusable until it is
            // rolled back to the last commit; the caller keeps its jobs and adds the same
            // documents again on its next try.
            // (Should the rollback fail too, the next commit fails and says so.)
            self.pending = 0;
            let _ = self.writer.rollback();
            return Err(e.into());
        }
        self.reader.reload()?;
        self.pending = 0;
        Ok(())
    }

    /// Commits, then rewrites every segment that holds deleted documents and removes the
    /// files no longer used. A tantivy delete only marks a document; its text stays in the
    /// segment's files until a merge drops it — after an erasure it must not. Returns how
    /// many segments were rewritten.
    pub fn purge_deleted(&mut self) -> Result<usize> {
        self.commit()?;
        let mut rewritten = 0;
        // A segment that a background merge holds cannot be merged here; that merge drops
        // the deleted documents too, so it is awaited by trying again.
        for attempt in 0..50 {
            let searcher = self.reader.searcher();
            let ids: Vec<tantivy::index::SegmentId> = searcher
                .segment_readers()
                .iter()
                .filter(|r| r.num_deleted_docs() > 0)
                .map(|r| r.segment_id())
                .collect();
            if ids.is_empty() {
                break;
            }
            match self.writer.merge(&ids).wait() {
                Ok(_) => rewritten += ids.len(),
                Err(_) if attempt < 49 => {
                    std::thread::sleep(std::time::Duration::from_millis(100));
                }
                Err(e) => return Err(e.into()),
            }
            self.reader.reload()?;
        }
        self.writer.garbage_collect_files().wait()?;
        Ok(rewritten)
    }

    /// Commits, then waits for background merges so the process can exit cleanly.
    pub fn finish(mut self) -> Result<()> {
        self.commit()?;
        self.writer.wait_merging_threads()?;
        Ok(())
    }
}
