//! The loop every outbox consumer shares: claim a batch of jobs of one topic, handle the
//! items they name, delete the jobs only when that worked — or give them back with the
//! error recorded — and, inside `serve`, do it forever with a backoff on failure.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use sea_orm::DatabaseConnection;
use tokio::sync::Notify;

use crate::db::outbox;
use crate::Result;

/// How often a waiting worker looks for jobs written by other processes.
const POLL_EVERY: Duration = Duration::from_millis(500);

/// One kind of outbox work.
pub trait Consumer: Send + Sync {
    fn db(&self) -> &DatabaseConnection;
    fn topic(&self) -> &'static str;
    /// The name claims are made under (released again after a crash).
    fn consumer(&self) -> &str;
    fn batch(&self) -> u64;
    /// Handles the (distinct, sorted) items of one claim.
    fn handle(&self, item_ids: Vec<i64>) -> impl Future<Output = Result<()>> + Send;
}

/// Handles one claim's worth of jobs; returns how many there were.
pub async fn drain_once<C: Consumer>(c: &C) -> Result<usize> {
    let jobs = outbox::claim(c.db(), c.topic(), c.consumer(), c.batch()).await?;
    if jobs.is_empty() {
        return Ok(0);
    }
    let job_ids: Vec<i64> = jobs.iter().map(|j| j.job_id).collect();
    let mut item_ids: Vec<i64> = jobs.iter().map(|j| j.item_id).collect();
    item_ids.sort_unstable();
    item_ids.dedup();
    match c.handle(item_ids).await {
        Ok(()) => outbox::complete(c.db(), &job_ids).await?,
        Err(e) => {
            outbox::fail(c.db(), &job_ids, &e.to_string()).await?;
            return Err(e);
        }
    }
    Ok(jobs.len())
}

/// Drains until no job is left.
pub async fn drain_all<C: Consumer>(c: &C) -> Result<usize> {
    let mut total = 0;
    loop {
        match drain_once(c).await? {
            0 => return Ok(total),
            n => total += n,
        }
    }
}

/// The worker loop of `triage serve`: drain, then wait for `wake` (a local write) or
/// [`POLL_EVERY`] (writes by other processes); after a failure, back off up to 30 s.
pub async fn run_forever<C: Consumer>(c: &C, wake: Arc<Notify>) {
    let mut backoff = POLL_EVERY;
    loop {
        match drain_once(c).await {
            Ok(0) => {
                backoff = POLL_EVERY;
                let _ = tokio::time::timeout(POLL_EVERY, wake.notified()).await;
            }
            Ok(_) => backoff = POLL_EVERY,
            Err(e) => {
                tracing::error!(topic = c.topic(), error = %e, "outbox work failed; will retry");
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(Duration::from_secs(30));
            }
        }
    }
}
