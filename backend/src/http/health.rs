//! `GET /healthz`: is the database reachable, how far behind are the index and the
//! embeddings (and how many of their jobs have failed for good), and how much mail is
//! waiting or has failed?

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{json, Value};

use super::ApiContext;
use crate::db::mail;
use crate::db::outbox::{self, TOPIC_EMBED, TOPIC_INDEX};

pub fn router() -> Router<ApiContext> {
    Router::new().route("/healthz", get(health))
}

async fn health(State(ctx): State<ApiContext>) -> (StatusCode, Json<Value>) {
    let pending = async {
        Ok::<_, crate::Error>((
            outbox::pending(&ctx.db, TOPIC_INDEX).await?,
            outbox::dead_count(&ctx.db, TOPIC_INDEX).await?,
            outbox::pending(&ctx.db, TOPIC_EMBED).await?,
            outbox::dead_count(&ctx.db, TOPIC_EMBED).await?,
            mail::count(&ctx.db, mail::PENDING).await?,
            mail::count(&ctx.db, mail::FAILED).await?,
        ))
    };
    match pending.await {
        Ok((index, index_dead, embed, embed_dead, mail_pending, mail_failed)) => (
            StatusCode::OK,
            Json(json!({
                "status": "ok",
                "database": "ok",
                "index": {
                    "documents": ctx.index.num_docs(),
                    "pending_jobs": index,
                    "failed_jobs": index_dead,
                },
                "embeddings": { "pending_jobs": embed, "failed_jobs": embed_dead },
                "mail": { "pending": mail_pending, "failed": mail_failed },
            })),
        ),
        Err(e) => {
            tracing::error!(error = %e, "health check: database unreachable");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                Json(json!({ "status": "unavailable", "database": "unreachable" })),
            )
        }
    }
}
