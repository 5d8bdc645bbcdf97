//! `/api/v1/tokens` (admin): list, create and revoke API tokens, as `triage token` does.
//! A token's text is in the creation response only; lists never show it or its hash.

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{delete, get};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};

use super::{AdminOnly, ApiContext, JsonBody, PathIds};
use crate::db::entity::api_token;
use crate::db::tokens;
use crate::Result;

pub fn router() -> Router<ApiContext> {
    Router::new()
        .route("/tokens", get(list).post(create))
        .route("/tokens/{id}", delete(revoke))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewToken {
    name: String,
    role: String,
    expires_in_days: Option<u32>,
}

#[derive(Serialize)]
struct Created {
    #[serde(flatten)]
    model: api_token::Model,
    /// The token itself, shown this once.
    token: String,
}

async fn list(State(ctx): State<ApiContext>, _: AdminOnly) -> Result<Json<Vec<api_token::Model>>> {
    Ok(Json(tokens::list(&ctx.db).await?))
}

async fn create(
    State(ctx): State<ApiContext>,
    _: AdminOnly,
    JsonBody(input): JsonBody<NewToken>,
) -> Result<(StatusCode, Json<Created>)> {
    let (model, token) =
        tokens::issue(&ctx.db, &input.name, &input.role, input.expires_in_days).await?;
    Ok((StatusCode::CREATED, Json(Created { model, token })))
}

async fn revoke(
    State(ctx): State<ApiContext>,
    _: AdminOnly,
    ids: PathIds,
) -> Result<Json<api_token::Model>> {
    Ok(Json(tokens::revoke(&ctx.db, ids.first()).await?))
}
