//! Leases for work that must happen on one process at a time — theme rebuilds, queueing
//! the weekly digests, retention — however many `serve` replicas and workers share one
//! PostgreSQL database.
//!
//! A lease is a PostgreSQL session-level advisory lock (`pg_try_advisory_lock`) taken on a
//! connection of its own, outside the pool. It is held for as long as that connection
//! lives: when the holder exits or dies (kill -9, a lost network), PostgreSQL ends the
//! session and releases the lock, and the next replica that asks gets it. Nothing to
//! expire, no clock to trust. A holder checks its connection every time it asks, so a
//! holder cut off from the database stops believing it holds the lease.
//!
//! SQLite is one machine and one file: every lease is granted (the work is then guarded by
//! SQLite's single writer, as before).

use std::collections::HashSet;
use std::sync::Arc;

use sea_orm::sqlx::{self, Connection};
use tokio::sync::Mutex;

use crate::Config;

/// The kinds of once-only work.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Work {
    ThemeRebuild,
    DigestSchedule,
    Retention,
    /// Looking for rising and measured themes to tell webhook subscribers about.
    WebhookWatch,
}

impl Work {
    /// The advisory lock key: fixed, and distinct from any other application's by the
    /// high bits ("triage" in ASCII).
    fn key(self) -> i64 {
        const BASE: i64 = 0x7472_6961_6765 << 8;
        BASE + match self {
            Work::ThemeRebuild => 1,
            Work::DigestSchedule => 2,
            Work::Retention => 3,
            Work::WebhookWatch => 4,
        }
    }
}

/// This process's leases (cheap to clone; one connection for all of them).
#[derive(Clone)]
pub struct Leases {
    inner: Arc<Mutex<Inner>>,
}

struct Inner {
    /// `None` for SQLite: everything is granted.
    url: Option<String>,
    conn: Option<sqlx::PgConnection>,
    held: HashSet<Work>,
}

impl Leases {
    pub fn new(config: &Config) -> Self {
        let url = (!config.is_sqlite()).then(|| config.database_url.clone());
        Self {
            inner: Arc::new(Mutex::new(Inner {
                url,
                conn: None,
                held: HashSet::new(),
            })),
        }
    }

    /// True when this process holds the lease for `work` (taking it when free). Errors
    /// (the database unreachable) answer false: a process that cannot tell must not act.
    pub async fn holds(&self, work: Work) -> bool {
        let mut inner = self.inner.lock().await;
        let Some(url) = inner.url.clone() else {
            return true;
        };
        match inner.check(&url, work).await {
            Ok(held) => held,
            Err(e) => {
                tracing::warn!(error = %e, ?work, "cannot reach PostgreSQL for a lease; not acting");
                // The session may be gone, and the locks with it.
                inner.conn = None;
                inner.held.clear();
                false
            }
        }
    }
}

impl Inner {
    async fn check(&mut self, url: &str, work: Work) -> Result<bool, sqlx::Error> {
        if self.conn.is_none() {
            self.held.clear();
            self.conn = Some(sqlx::PgConnection::connect(url).await?);
        }
        let conn = self.conn.as_mut().expect("connected above");
        if self.held.contains(&work) {
            // Still our session? Then still our lock.
            conn.ping().await?;
            return Ok(true);
        }
        let got: bool = sqlx::query_scalar("SELECT pg_try_advisory_lock($1)")
            .bind(work.key())
            .fetch_one(&mut *conn)
            .await?;
        if got {
            tracing::info!(?work, "took the lease");
            self.held.insert(work);
        }
        Ok(got)
    }
}
