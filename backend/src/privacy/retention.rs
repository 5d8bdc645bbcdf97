//! `TRIAGE_RETENTION_DAYS`: items older than that are erased by a daily job, with the same
//! guarantees and receipts as a customer's erasure. Customers stay (their other items
//! may be recent); the backlog's history keeps its counts and changes, never item text.

use std::time::Duration;

use chrono::Utc;
use sea_orm::DatabaseConnection;

use super::erase::{self, Erased};
use super::Actor;
use crate::db;
use crate::Result;

/// Items erased per transaction: a large backlog of expired items is removed in steps
/// that keep each write short (SQLite has one writer).
const BATCH: u64 = 2000;
/// How often the job runs in `serve`.
pub const EVERY: Duration = Duration::from_secs(24 * 3600);

/// Erases every item older than `days`; one receipt per batch. Returns the receipts.
pub async fn run_once(db: &DatabaseConnection, days: u32) -> Result<Vec<Erased>> {
    let cutoff = Utc::now() - chrono::Duration::days(i64::from(days));
    let mut done = Vec::new();
    loop {
        let ids = db::erase::items_before(db, cutoff, BATCH).await?;
        if ids.is_empty() {
            break;
        }
        done.push(erase::items(db, &ids, &Actor::Retention).await?);
    }
    Ok(done)
}

/// The daily job of `serve`: runs at start, then every [`EVERY`]; wakes the index and
/// embedding workers after an erasure so the items leave the index and graph at once.
pub async fn run_forever(
    db: DatabaseConnection,
    days: u32,
    wake: [std::sync::Arc<tokio::sync::Notify>; 2],
    leases: crate::jobs::lease::Leases,
) {
    let mut every = tokio::time::interval(EVERY);
    loop {
        every.tick().await;
        if !leases.holds(crate::jobs::lease::Work::Retention).await {
            continue;
        }
        match run_once(&db, days).await {
            Ok(done) if done.is_empty() => {}
            Ok(done) => {
                let items: i64 = done.iter().map(|e| e.receipt.items).sum();
                tracing::info!(items, days, "retention erased expired items");
                wake.iter().for_each(|w| w.notify_one());
            }
            Err(e) => {
                tracing::warn!(error = %e, "the retention job failed; it runs again tomorrow")
            }
        }
    }
}
