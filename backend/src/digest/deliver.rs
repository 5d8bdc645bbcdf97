//! Sending what the mail outbox holds: claim due mails, send each, record the outcome.
//! A transient failure is retried with exponential backoff (the base is
//! `TRIAGE_MAIL_RETRY_SECONDS`, default 60: 1, 4, 16 … minutes, at most 6 hours apart)
//! up to `MAX_ATTEMPTS`; a permanent one is recorded as failed at once. Nothing is
//! dropped silently: every mail ends `sent` or `failed` with its last error.

use std::time::Duration;

use chrono::Utc;
use serde::Serialize;

use super::mailer::{Mailer, SendError};
use crate::db::mail;
use crate::Result;

pub const MAX_ATTEMPTS: i32 = 8;
const BATCH: u64 = 20;
/// A mail still `sending` after this long was interrupted (see `mail::fail_interrupted`).
const INTERRUPTED_AFTER: chrono::Duration = chrono::Duration::minutes(10);

#[derive(Debug, Default, Clone, Copy, Serialize, PartialEq, Eq)]
pub struct Delivered {
    pub sent: u64,
    /// Given up on (permanent failure, or out of attempts).
    pub failed: u64,
    /// Failed this time, to be retried later.
    pub retrying: u64,
}

fn backoff(base: Duration, attempts: i32) -> chrono::Duration {
    let factor = 4u32.saturating_pow(attempts.saturating_sub(1).max(0) as u32);
    let secs = base
        .as_secs()
        .saturating_mul(u64::from(factor))
        .min(6 * 3600);
    chrono::Duration::seconds(secs as i64)
}

/// Sends every due mail; returns what happened.
pub async fn deliver_due(
    db: &sea_orm::DatabaseConnection,
    mailer: &Mailer,
    consumer: &str,
    retry_base: Duration,
) -> Result<Delivered> {
    let interrupted = mail::fail_interrupted(db, Utc::now() - INTERRUPTED_AFTER).await?;
    if interrupted > 0 {
        tracing::warn!(
            interrupted,
            "mails left in flight by a crash were marked failed"
        );
    }
    let mut out = Delivered::default();
    loop {
        let batch = mail::claim_due(db, consumer, BATCH).await?;
        if batch.is_empty() {
            return Ok(out);
        }
        for m in batch {
            match mailer.send(&m).await {
                Ok(()) => {
                    mail::mark_sent(db, m.id).await?;
                    out.sent += 1;
                }
                Err(SendError::Permanent(e)) => {
                    // Servers often quote the address they refused; logs never hold one.
                    let logged = e.replace(&m.recipient, "[recipient]");
                    tracing::warn!(id = m.id, error = %logged, "mail refused");
                    mail::mark_failed(db, m.id, &e).await?;
                    out.failed += 1;
                }
                Err(SendError::Transient(e)) if m.attempts >= MAX_ATTEMPTS => {
                    let logged = e.replace(&m.recipient, "[recipient]");
                    tracing::warn!(id = m.id, error = %logged, "mail given up after {MAX_ATTEMPTS} attempts");
                    mail::mark_failed(db, m.id, &format!("after {MAX_ATTEMPTS} attempts: {e}"))
                        .await?;
                    out.failed += 1;
                }
                Err(SendError::Transient(e)) => {
                    let at = Utc::now() + backoff(retry_base, m.attempts);
                    let logged = e.replace(&m.recipient, "[recipient]");
                    tracing::info!(id = m.id, error = %logged, retry_at = %at, "mail will be retried");
                    mail::retry_at(db, m.id, &e, at).await?;
                    out.retrying += 1;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_and_is_capped() {
        let base = Duration::from_secs(60);
        assert_eq!(backoff(base, 1).num_seconds(), 60);
        assert_eq!(backoff(base, 2).num_seconds(), 240);
        assert_eq!(backoff(base, 3).num_seconds(), 960);
        assert_eq!(backoff(base, 8).num_seconds(), 6 * 3600);
    }
}
