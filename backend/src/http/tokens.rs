//! `/api/v1/tokens` (admin): list, create and revoke API tokens, as `triage token` does.
//! A token's text is in the creation response only; lists never show it or its hash.

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use serde::{Deserialize, Serialize};
use utoipa_axum::{router::OpenApiRouter, routes};

use super::{AdminOnly, ApiContext, JsonBody, PathIds};
use crate::db::entity::api_token;
use crate::db::tokens;
use crate::Result;

pub fn router() -> OpenApiRouter<ApiContext> {
    OpenApiRouter::new()
        .routes(routes!(list, create))
        .routes(routes!(revoke))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct NewToken {
    /// Who or what uses it.
    #[schema(max_length = 200, pattern = r"[^\s\x00\x85]")]
    name: String,
    #[schema(pattern = "^(support|pm|admin)$")]
    role: String,
    /// Days until it stops working; default: until revoked.
    #[schema(minimum = 1, maximum = 3650)]
    expires_in_days: Option<u32>,
}

/// A new token: its text is in this answer only.
#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = NewApiToken)]
struct Created {
    #[serde(flatten)]
    model: api_token::Model,
    /// The token itself, shown this once.
    token: String,
}

/// Every API token, newest first; never its text or hash (admin).
#[utoipa::path(get, path = "/tokens", tag = "tokens",
    responses((status = 200, description = "the tokens", body = Vec<api_token::Model>)))]
async fn list(State(ctx): State<ApiContext>, _: AdminOnly) -> Result<Json<Vec<api_token::Model>>> {
    Ok(Json(tokens::list(&ctx.db).await?))
}

/// Create a token; its text is in this answer only (admin).
#[utoipa::path(post, path = "/tokens", tag = "tokens", request_body = NewToken,
    responses((status = 201, description = "created", body = Created)))]
async fn create(
    State(ctx): State<ApiContext>,
    _: AdminOnly,
    JsonBody(input): JsonBody<NewToken>,
) -> Result<(StatusCode, Json<Created>)> {
    let (model, token) =
        tokens::issue(&ctx.db, &input.name, &input.role, input.expires_in_days).await?;
    Ok((StatusCode::CREATED, Json(Created { model, token })))
}

/// Revoke a token: refused from the next request on (admin).
#[utoipa::path(delete, path = "/tokens/{id}", tag = "tokens", params(("id" = i64, Path)),
    responses((status = 200, description = "the revoked token", body = api_token::Model)))]
async fn revoke(
    State(ctx): State<ApiContext>,
    _: AdminOnly,
    ids: PathIds,
) -> Result<Json<api_token::Model>> {
    Ok(Json(tokens::revoke(&ctx.db, ids.first()).await?))
}
