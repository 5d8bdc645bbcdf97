//! Email: the weekly digest for product managers and the "it's fixed" note to customers.
//!
//! * [`week`]: ISO weeks, the unit digests are sent and deduplicated by.
//! * [`compose`] and [`render`]: what a digest says, as text and HTML.
//! * [`subscriptions`] and [`schedule`]: who gets one, when, and queuing it.
//! * [`notices`]: close-the-loop notes when a theme is planned or shipped.
//! * [`consent`]: double opt-in for emails typed on the public survey page.
//! * [`signing`]: signed links (unsubscribe) that need no sign-in.
//! * [`mailer`] and [`deliver`]: lettre over SMTP, retries with backoff.
//!
//! Every email goes through the mail outbox (`db::mail`): stored with a unique key
//! before it is sent, so nothing is sent twice and nothing is lost.

pub mod compose;
pub mod consent;
pub mod deliver;
pub mod mailer;
pub mod notices;
pub mod render;
pub mod schedule;
pub mod signing;
pub mod subscriptions;
pub mod week;

use std::sync::Arc;
use std::time::Duration;

use crate::Config;

/// How often `serve` looks for due digests and mail to send.
const CHECK_EVERY: Duration = Duration::from_secs(15);

/// The mail loop of `triage serve`: queue due digests, send what is due. Without
/// `SMTP_URL`, nothing is queued or sent (a warning says so once).
pub async fn run(
    db: sea_orm::DatabaseConnection,
    config: Arc<Config>,
    consumer: String,
    leases: crate::jobs::lease::Leases,
) {
    let mailer = match config
        .smtp_url
        .as_deref()
        .map(|u| mailer::Mailer::new(u, &config.mail_from, config.smtp_ca_file.as_deref()))
    {
        Some(Ok(m)) => m,
        Some(Err(e)) => {
            tracing::error!(error = %e, "email is off");
            return;
        }
        None => {
            tracing::warn!("SMTP_URL is not set: digests and customer notes are not sent");
            return;
        }
    };
    loop {
        tokio::time::sleep(CHECK_EVERY).await;
        // Queued by one process at a time (each digest is one row either way); sent by
        // whoever claims it.
        if leases.holds(crate::jobs::lease::Work::DigestSchedule).await {
            if let Err(e) = schedule::enqueue(&db, &config, None, chrono::Utc::now()).await {
                tracing::error!(error = %e, "queuing digests failed; will retry");
            }
        }
        match deliver::deliver_due(&db, &mailer, &consumer, config.mail_retry).await {
            Ok(d) if d.sent + d.failed + d.retrying > 0 => {
                tracing::info!(
                    sent = d.sent,
                    failed = d.failed,
                    retrying = d.retrying,
                    "mail"
                )
            }
            Ok(_) => {}
            Err(e) => tracing::error!(error = %e, "sending mail failed; will retry"),
        }
    }
}
