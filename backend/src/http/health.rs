//! `GET /healthz`: is the database reachable, how far behind are the index and the
//! embeddings (and how many of their jobs have failed for good), how much mail is
//! waiting or has failed, and how large the vector graph of search by meaning is?

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

use super::ApiContext;
use crate::db::mail;
use crate::db::outbox::{self, TOPIC_EMBED, TOPIC_INDEX};

pub fn router() -> OpenApiRouter<ApiContext> {
    OpenApiRouter::new().routes(routes!(health))
}

/// `status` and `database` are `ok`, or `unavailable` and `unreachable` (then nothing else
/// is known).
#[derive(Serialize, ToSchema)]
struct Health {
    status: &'static str,
    database: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    index: Option<IndexHealth>,
    #[serde(skip_serializing_if = "Option::is_none")]
    embeddings: Option<Queue>,
    #[serde(skip_serializing_if = "Option::is_none")]
    mail: Option<MailHealth>,
    /// The graph of search by meaning (absent when the embedding model is off).
    #[serde(skip_serializing_if = "Option::is_none")]
    vectors: Option<VectorHealth>,
}

#[derive(Serialize, ToSchema)]
struct VectorHealth {
    /// Items the graph holds.
    items: usize,
    /// Memory the graph and its vectors take.
    memory_bytes: usize,
}

#[derive(Serialize, ToSchema)]
struct IndexHealth {
    documents: u64,
    /// Items waiting to be indexed.
    pending_jobs: u64,
    /// Jobs set aside after failing again and again (`triage jobs list --failed`).
    failed_jobs: u64,
}

#[derive(Serialize, ToSchema)]
struct Queue {
    pending_jobs: u64,
    failed_jobs: u64,
}

#[derive(Serialize, ToSchema)]
struct MailHealth {
    pending: u64,
    failed: u64,
}

/// Liveness, database reachability, and how far behind the index, embeddings and mail are.
#[utoipa::path(get, path = "/healthz", tag = "health",
    responses((status = 200, description = "healthy", body = Health),
              (status = 503, description = "the database cannot be reached", body = Health)))]
async fn health(State(ctx): State<ApiContext>) -> (StatusCode, Json<Health>) {
    let pending = async {
        Ok::<_, crate::Error>((
            crate::jobs::index_sync::pending(&ctx.db, &ctx.config.data_dir).await?,
            outbox::dead_count(&ctx.db, TOPIC_INDEX).await?,
            outbox::pending(&ctx.db, TOPIC_EMBED).await?,
            outbox::dead_count(&ctx.db, TOPIC_EMBED).await?,
            mail::count(&ctx.db, mail::MailState::Pending).await?,
            mail::count(&ctx.db, mail::MailState::Failed).await?,
        ))
    };
    match pending.await {
        Ok((index, index_dead, embed, embed_dead, mail_pending, mail_failed)) => (
            StatusCode::OK,
            Json(Health {
                status: "ok",
                database: "ok",
                index: Some(IndexHealth {
                    documents: ctx.index.num_docs(),
                    pending_jobs: index,
                    failed_jobs: index_dead,
                }),
                embeddings: Some(Queue {
                    pending_jobs: embed,
                    failed_jobs: embed_dead,
                }),
                mail: Some(MailHealth {
                    pending: mail_pending,
                    failed: mail_failed,
                }),
                vectors: ctx.vectors.as_ref().map(|v| VectorHealth {
                    items: v.len(),
                    memory_bytes: v.memory_bytes(),
                }),
            }),
        ),
        Err(e) => {
            tracing::error!(error = %e, "health check: database unreachable");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                Json(Health {
                    status: "unavailable",
                    database: "unreachable",
                    index: None,
                    embeddings: None,
                    mail: None,
                    vectors: None,
                }),
            )
        }
    }
}
