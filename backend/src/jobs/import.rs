//! Importing a file with the search index kept in step: the import itself is
//! `intake::import`; this adds a progress bar over the file's bytes and an index catch-up
//! every few batches (or leaves indexing to a running `triage serve` that holds the index).
//! `triage import`, the demo and the benchmarks all import through [`import_file`].
//!
//! It lives with the jobs rather than in `intake` because it drives the index worker,
//! which sits above intake.

use std::path::Path;

use indicatif::{ProgressBar, ProgressStyle};

use super::index_sync::IndexSync;
use crate::intake::import::{self, ImportObserver, ImportOptions, ImportReport};
use crate::{db, Config, Error, Result};

/// Imports a file and indexes what it added (or leaves that to a running server).
pub async fn import_file(
    config: &Config,
    file: &Path,
    opts: &ImportOptions,
    quiet: bool,
) -> Result<ImportReport> {
    let db = db::connect(config).await?;
    let size = std::fs::metadata(file)
        .map_err(|e| Error::io(file, e))?
        .len();
    let bar = if quiet {
        ProgressBar::hidden()
    } else {
        ProgressBar::new(size)
    };
    bar.set_style(
        ProgressStyle::with_template("{spinner} {bar:30} {bytes}/{total_bytes} {msg} ({eta})")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let sync = match IndexSync::open(config, db.clone()).await {
        Ok(s) => Some(s),
        Err(Error::Index(triage_index::Error::Locked)) => {
            bar.println("the search index is held by a running `triage serve`; it will index the imported items");
            None
        }
        Err(e) => return Err(e),
    };
    let mut observer = Progress {
        batches_since_drain: 0,
        bar: bar.clone(),
        sync: sync.clone(),
    };
    let report = import::import(&db, file, opts, config.redact, &mut observer).await?;
    if let Some(sync) = sync {
        sync.drain_all().await?;
        sync.close().await?;
    }
    bar.finish_and_clear();
    Ok(report)
}

/// Import batches between two index catch-ups: each catch-up is one tantivy commit, and
/// commits, not documents, are what indexing time goes on.
const BATCHES_PER_DRAIN: usize = 10;

struct Progress {
    batches_since_drain: usize,
    bar: ProgressBar,
    sync: Option<IndexSync>,
}

impl ImportObserver for Progress {
    async fn batch_stored(&mut self, report: &ImportReport, bytes_read: u64) -> Result<()> {
        self.bar.set_position(bytes_read);
        self.bar.set_message(format!(
            "{} imported, {} skipped, {} failed",
            report.imported, report.skipped, report.failed
        ));
        self.batches_since_drain += 1;
        if let Some(sync) = self
            .sync
            .as_ref()
            .filter(|_| self.batches_since_drain >= BATCHES_PER_DRAIN)
        {
            sync.drain_all().await?;
            self.batches_since_drain = 0;
        }
        Ok(())
    }
}
