//! The loop every outbox consumer shares: claim a batch of jobs of one topic, handle the
//! items they name, delete the jobs only when that worked — or give them back with the
//! error recorded, setting a job aside once it has failed too often — and, inside `serve`,
//! do it forever with a backoff on failure.

use std::collections::BTreeMap;
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

/// Handles one claim's worth of jobs; returns how many were done.
///
/// When the batch fails, its items are tried one by one, so one item that cannot be
/// handled does not hold back the others; only that item's jobs count a failed attempt
/// (and die after [`outbox::MAX_ATTEMPTS`]). When every item fails alike, it is an outage
/// rather than a bad item: the jobs go back without using up an attempt and the error is
/// returned, so the worker backs off.
pub async fn drain_once<C: Consumer>(c: &C) -> Result<usize> {
    let jobs = outbox::claim(c.db(), c.topic(), c.consumer(), c.batch()).await?;
    if jobs.is_empty() {
        return Ok(0);
    }
    let mut by_item: BTreeMap<i64, Vec<i64>> = BTreeMap::new();
    for j in &jobs {
        by_item.entry(j.item_id).or_default().push(j.job_id);
    }
    let job_ids: Vec<i64> = jobs.iter().map(|j| j.job_id).collect();
    let err = match c.handle(by_item.keys().copied().collect()).await {
        Ok(()) => {
            outbox::complete(c.db(), &job_ids).await?;
            return Ok(jobs.len());
        }
        Err(e) => e,
    };
    if by_item.len() == 1 {
        outbox::fail(c.db(), &job_ids, &err.to_string(), true).await?;
        return Err(err);
    }
    let (mut done, mut failed) = (0, Vec::new());
    for (item, ids) in &by_item {
        match c.handle(vec![*item]).await {
            Ok(()) => {
                outbox::complete(c.db(), ids).await?;
                done += ids.len();
            }
            Err(e) => failed.push((ids, e)),
        }
    }
    if done == 0 {
        outbox::fail(c.db(), &job_ids, &err.to_string(), false).await?;
        return Err(err);
    }
    for (ids, e) in failed {
        tracing::warn!(topic = c.topic(), jobs = ?ids, error = %e, "outbox job failed");
        outbox::fail(c.db(), ids, &e.to_string(), true).await?;
    }
    Ok(done)
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
                // When even giving the jobs back failed (the database was full or gone),
                // they are still claimed by us: release them, or they would wait for the
                // next restart. Nothing else works under this consumer's name meanwhile.
                if let Err(e) = outbox::release(c.db(), c.consumer()).await {
                    tracing::warn!(topic = c.topic(), error = %e, "releasing claims failed");
                }
                backoff = (backoff * 2).min(Duration::from_secs(30));
            }
        }
    }
}
