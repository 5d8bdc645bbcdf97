//! `triage reindex`: rebuild the search index (or the vectors, or the backlog tallies) from
//! the database, with a progress bar.

use std::time::Instant;

use indicatif::{ProgressBar, ProgressStyle};
use serde_json::json;

use crate::jobs::index_sync::IndexSync;
use crate::{db, Config, Error, Result};

pub async fn run(config: &Config, json: bool) -> Result<()> {
    let started = Instant::now();
    let db = db::connect(config).await?;
    let sync = IndexSync::open(config, db).await.map_err(|e| match e {
        Error::Index(triage_index::Error::Locked) => Error::Config(
            "the search index is in use by a running `triage serve`; stop it first (it rebuilds a missing index by itself)".into(),
        ),
        other => other,
    })?;
    let bar = if json {
        ProgressBar::hidden()
    } else {
        ProgressBar::new(0)
    };
    bar.set_style(
        ProgressStyle::with_template("{spinner} reindexing {bar:30} {pos}/{len} items ({eta})")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let items = sync
        .rebuild(|done, total| {
            bar.set_length(total);
            bar.set_position(done);
        })
        .await?;
    // Jobs queued before the rebuild are already covered; replaying them is cheap and safe.
    sync.drain_all().await?;
    sync.close().await?;
    bar.finish_and_clear();
    let seconds = started.elapsed().as_secs_f64();
    if json {
        println!("{}", json!({ "items": items, "seconds": seconds }));
    } else {
        println!("reindexed {items} items in {seconds:.2}s");
    }
    Ok(())
}

/// `triage reindex --embeddings`: re-embed every item with the current model.
pub async fn embeddings(config: &Config, json: bool) -> Result<()> {
    let started = Instant::now();
    let db = db::connect(config).await?;
    let total = crate::db::items::count(&db).await?;
    let sync = super::themes::embedder(config, db).await?;
    let bar = if json {
        ProgressBar::hidden()
    } else {
        ProgressBar::new(total)
    };
    bar.set_style(
        ProgressStyle::with_template(
            "{spinner} embedding {bar:30} {pos}/{len} items ({per_sec}, {eta})",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let items = sync.reembed(true, |done| bar.set_position(done)).await?;
    bar.finish_and_clear();
    let seconds = started.elapsed().as_secs_f64();
    if json {
        println!("{}", json!({ "items": items, "seconds": seconds }));
    } else {
        println!("embedded {items} items in {seconds:.2}s");
    }
    Ok(())
}

/// `triage reindex --tallies`: recount the backlog's tallies from the items.
pub async fn tallies(config: &Config, json: bool) -> Result<()> {
    let started = Instant::now();
    let db = db::connect(config).await?;
    let items = crate::db::items::count(&db).await?;
    let bar = if json {
        ProgressBar::hidden()
    } else {
        ProgressBar::new_spinner()
    };
    bar.set_message(format!("recounting the backlog tallies over {items} items"));
    bar.enable_steady_tick(std::time::Duration::from_millis(200));
    crate::db::tallies::recount(&db).await?;
    bar.finish_and_clear();
    let seconds = started.elapsed().as_secs_f64();
    if json {
        println!("{}", json!({ "items": items, "seconds": seconds }));
    } else {
        println!("recounted the backlog tallies over {items} items in {seconds:.2}s");
    }
    Ok(())
}
