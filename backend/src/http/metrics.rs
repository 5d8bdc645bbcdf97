//! `GET /metrics`: the process's [`Metrics`] in the OpenMetrics text format, with the
//! shared figures (outbox depth and age, mail, pool) read from the database at each scrape.
//!
//! On the API address it takes an admin token (`Authorization: Bearer …`): the figures
//! are not secret, but route names and volumes are nobody else's business. With
//! `TRIAGE_METRICS_BIND` it is also served, without a token, on that address alone —
//! meant for an address only the monitoring network reaches ([`serve_separately`]).

use std::sync::Arc;

use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use chrono::Utc;
use sea_orm::DatabaseConnection;

use super::{AdminOnly, ApiContext};
use crate::db::{self, mail, outbox};
use crate::metrics::{Metrics, CONTENT_TYPE};
use crate::{Config, Result};

/// What a scrape reads: the process's figures and the database.
#[derive(Clone)]
pub struct Source {
    pub metrics: Arc<Metrics>,
    pub db: DatabaseConnection,
    pub config: Arc<Config>,
    /// Whether this process keeps a search index (its depth is behind its own cursor).
    pub has_index: bool,
}

impl Source {
    /// Updates the shared figures from the database, then renders everything.
    pub async fn scrape(&self) -> Result<String> {
        let now = Utc::now();
        let age = |oldest: Option<chrono::DateTime<Utc>>| {
            oldest.map_or(0.0, |t| (now - t).num_milliseconds() as f64 / 1000.0)
        };
        if self.has_index {
            let (n, oldest) =
                crate::jobs::index_sync::waiting(&self.db, &self.config.data_dir).await?;
            self.metrics.set_outbox(outbox::TOPIC_INDEX, n, age(oldest));
        }
        let (n, oldest) = outbox::waiting(&self.db, outbox::TOPIC_EMBED).await?;
        self.metrics.set_outbox(outbox::TOPIC_EMBED, n, age(oldest));
        let by_state = mail::count_by_state(&self.db).await?;
        for state in mail::MailState::ALL {
            let n = by_state
                .iter()
                .find(|(s, _)| s == state)
                .map_or(0, |(_, n)| *n);
            self.metrics.set_mail(state.as_str(), n);
        }
        let (in_use, idle, max) = db::pool_usage(&self.db);
        self.metrics.set_pool("in_use", in_use);
        self.metrics.set_pool("idle", idle);
        self.metrics.set_pool("max", max);
        Ok(self.metrics.render())
    }

    async fn respond(&self) -> Response {
        match self.scrape().await {
            Ok(text) => ([(header::CONTENT_TYPE, CONTENT_TYPE)], text).into_response(),
            Err(e) => e.into_response(),
        }
    }
}

pub fn router() -> Router<ApiContext> {
    Router::new().route("/metrics", get(metrics))
}

async fn metrics(State(ctx): State<ApiContext>, _admin: AdminOnly) -> Response {
    ctx.metrics_source().respond().await
}

/// Serves `/metrics` alone, without a token, on `TRIAGE_METRICS_BIND` until the task is
/// dropped.
pub async fn serve_separately(source: Source) -> Result<tokio::task::JoinHandle<()>> {
    let Some(addr) = source.config.metrics_bind else {
        return Ok(tokio::spawn(async {}));
    };
    let listener = tokio::net::TcpListener::bind(addr).await.map_err(|e| {
        crate::Error::Config(format!(
            "cannot listen on {addr} (TRIAGE_METRICS_BIND): {e}"
        ))
    })?;
    let app = Router::new().route(
        "/metrics",
        get(|State(s): State<Source>| async move { s.respond().await }),
    );
    let app = app.with_state(source);
    println!("metrics are served on http://{addr}/metrics");
    Ok(tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, app).await {
            tracing::error!(error = %e, "the metrics listener stopped");
        }
    }))
}
