//! Sending queued deliveries: Standard Webhooks headers (`webhook-id`, `webhook-timestamp`,
//! `webhook-signature`), a deadline per request, retries with backoff, and subscriptions
//! disabled after failing again and again.
//!
//! Each subscription is served by its own task, one batch at a time, so a receiver that
//! never answers holds up only its own deliveries; its failures pause it (see
//! `db::webhooks::record`). Deliveries are claimed in the database, so any number of
//! processes can send: a claim that runs out (a sender died mid-request) is sent again by
//! whoever comes next, under the same id — at least once, never lost.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::Utc;
use sea_orm::DatabaseConnection;
use tokio::sync::Notify;

use crate::db::entity::webhook_delivery;
use crate::db::webhooks::{self, Attempt};
use crate::intake::hooks::sign_standard;
use crate::metrics::Metrics;
use crate::{Config, Error, Result};

/// Deliveries claimed per subscription at a time.
const BATCH: u64 = 10;
/// Attempts after which a delivery is given up (with the subscription's pauses, about a
/// day of trying).
pub const MAX_ATTEMPTS: i32 = 12;
const POLL: Duration = Duration::from_secs(1);

#[derive(Clone)]
pub struct Deliverer {
    db: DatabaseConnection,
    client: reqwest::Client,
    metrics: Arc<Metrics>,
    retry: chrono::Duration,
    disable_after: u32,
    timeout: Duration,
    /// Subscriptions with a batch in flight in this process.
    busy: Arc<Mutex<HashSet<i64>>>,
}

impl Deliverer {
    pub fn new(db: DatabaseConnection, config: &Config, metrics: Arc<Metrics>) -> Result<Self> {
        let client = reqwest::Client::builder()
            .user_agent(concat!("triage-webhooks/", env!("CARGO_PKG_VERSION")))
            // Redirects would send the signed body somewhere the admin did not name.
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(Error::failed("building the webhook HTTP client"))?;
        Ok(Self {
            db,
            client,
            metrics,
            retry: chrono::Duration::from_std(config.webhook_retry)
                .unwrap_or(chrono::Duration::seconds(5)),
            disable_after: config.webhook_disable_after,
            timeout: config.webhook_timeout,
            busy: Arc::default(),
        })
    }

    /// Sends due deliveries until the task is dropped; `wake` starts a round at once.
    pub async fn run(self, wake: Arc<Notify>) {
        loop {
            if let Err(e) = self.round().await {
                tracing::warn!(error = %e, "webhook delivery round failed; will retry");
            }
            tokio::select! {
                _ = tokio::time::sleep(POLL) => {}
                _ = wake.notified() => {}
            }
        }
    }

    /// Starts a batch for every subscription with something due and nothing in flight.
    pub async fn round(&self) -> Result<()> {
        for sub in webhooks::due_subscriptions(&self.db).await? {
            if !self.busy.lock().is_ok_and(|mut b| b.insert(sub)) {
                continue;
            }
            let me = self.clone();
            tokio::spawn(async move {
                if let Err(e) = me.batch(sub).await {
                    tracing::warn!(error = %e, subscription = sub, "webhook batch failed");
                }
                if let Ok(mut b) = me.busy.lock() {
                    b.remove(&sub);
                }
            });
        }
        Ok(())
    }

    async fn batch(&self, sub: i64) -> Result<()> {
        // The claim covers every request of the batch at its deadline, and then some.
        let lease = chrono::Duration::from_std(self.timeout * (BATCH as u32 + 1))
            .unwrap_or(chrono::Duration::minutes(5));
        let claimed = webhooks::claim_due(&self.db, sub, BATCH, lease).await?;
        let subscription = webhooks::subscription(&self.db, sub).await?;
        for (i, d) in claimed.iter().enumerate() {
            let attempt = self.send(&subscription, d).await;
            let failed = matches!(attempt, Attempt::Failed { .. });
            self.metrics.delivery(!failed);
            let disabled =
                webhooks::record(&self.db, d, attempt, self.retry, self.disable_after).await?;
            if disabled {
                tracing::warn!(
                    subscription = sub,
                    "webhook subscription disabled after repeated failures"
                );
            }
            if failed || disabled {
                // The receiver is paused (or off): the rest wait for their turn untried.
                let rest: Vec<i64> = claimed[i + 1..].iter().map(|d| d.id).collect();
                webhooks::release(&self.db, &rest).await?;
                break;
            }
        }
        Ok(())
    }

    async fn send(
        &self,
        s: &crate::db::entity::webhook_subscription::Model,
        d: &webhook_delivery::Model,
    ) -> Attempt {
        let retry_at = |attempts: i32| {
            (attempts < MAX_ATTEMPTS).then(|| Utc::now() + webhooks::backoff(self.retry, attempts))
        };
        let timestamp = Utc::now().timestamp();
        let signature = match sign_standard(&s.secret, &d.event_id, timestamp, d.payload.as_bytes())
        {
            Ok(sig) => sig,
            Err(e) => {
                return Attempt::Failed {
                    status: None,
                    error: e.to_string(),
                    retry_at: None,
                }
            }
        };
        let sent = self
            .client
            .post(&s.url)
            .timeout(self.timeout)
            .header("content-type", "application/json")
            .header("webhook-id", &d.event_id)
            .header("webhook-timestamp", timestamp.to_string())
            .header("webhook-signature", signature)
            .body(d.payload.clone())
            .send()
            .await;
        match sent {
            Ok(r) if r.status().is_success() => Attempt::Delivered {
                status: r.status().as_u16(),
            },
            Ok(r) => {
                let status = r.status().as_u16();
                let text: String = r
                    .text()
                    .await
                    .unwrap_or_default()
                    .chars()
                    .take(200)
                    .collect();
                Attempt::Failed {
                    status: Some(status),
                    error: format!("the receiver answered {status}: {text}"),
                    retry_at: retry_at(d.attempts),
                }
            }
            Err(e) => Attempt::Failed {
                status: None,
                error: if e.is_timeout() {
                    format!("no answer within {} s", self.timeout.as_secs())
                } else {
                    format!("could not reach the receiver: {e}")
                },
                retry_at: retry_at(d.attempts),
            },
        }
    }
}
