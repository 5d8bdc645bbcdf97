//! Webhooks in: `POST /api/v1/hooks/{name}` takes another tool's calls (signed, no token;
//! see `intake::hooks`), and `/api/v1/hooks` (admin) makes, lists and removes hooks.
//!
//! A new record answers 201 with its item id; a later state of a stored ticket (newer
//! status, priority or tags) answers 200 `updated`; a record already stored as it is (a
//! replay, a repeated event, an older update) answers 200 `duplicate` and changes nothing.
//! A bad or missing signature is 401 with nothing stored.

use std::collections::BTreeMap;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::Json;
use chrono::Utc;
use serde::{Deserialize, Serialize};
use utoipa_axum::{router::OpenApiRouter, routes};

use super::{AdminOnly, ApiContext, JsonBody};
use crate::db::entity::inbound_hook::{HookItemKind, HookSource};
use crate::intake::hooks::{self, HookView, NewHookInput, Taken};
use crate::Result;

pub fn router() -> OpenApiRouter<ApiContext> {
    OpenApiRouter::new()
        .routes(routes!(list, create))
        .routes(routes!(delete, receive))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct NewHook {
    /// The last part of the hook's URL: 1 to 50 of a-z, 0-9, - and _.
    #[schema(pattern = "^[a-z0-9_-]{1,50}$")]
    name: String,
    /// `zendesk` or `generic`.
    source: HookSource,
    /// Generic hooks: `ticket` (default) or `rating`.
    item_kind: Option<HookItemKind>,
    /// Generic hooks: triage field → path in the payload, e.g.
    /// `{"external_id": "$.issue.id", "subject": "$.issue.title", "body": "$.issue.body"}`.
    mapping: Option<BTreeMap<String, String>>,
    /// Zendesk: the webhook's signing secret (required). Generic: a `whsec_` key (default:
    /// a new one, in the answer).
    #[schema(max_length = 200)]
    secret: Option<String>,
}

/// Every inbound hook (admin).
#[utoipa::path(get, path = "/hooks", tag = "hooks",
    responses((status = 200, description = "the hooks", body = Vec<HookView>)))]
async fn list(State(ctx): State<ApiContext>, _: AdminOnly) -> Result<Json<Vec<HookView>>> {
    let all = crate::db::webhooks::hooks(&ctx.db).await?;
    Ok(Json(all.into_iter().map(Into::into).collect()))
}

/// Make a hook another tool can call at `POST /api/v1/hooks/{name}` (admin).
#[utoipa::path(post, path = "/hooks", tag = "hooks", request_body = NewHook,
    responses((status = 201, description = "created", body = HookView)))]
async fn create(
    State(ctx): State<ApiContext>,
    _: AdminOnly,
    JsonBody(input): JsonBody<NewHook>,
) -> Result<(StatusCode, Json<HookView>)> {
    let view = hooks::create_hook(
        &ctx.db,
        NewHookInput {
            name: input.name,
            source: input.source,
            item_kind: input.item_kind,
            mapping: input.mapping,
            secret: input.secret,
        },
    )
    .await?;
    Ok((StatusCode::CREATED, Json(view)))
}

/// Remove a hook: its calls are refused from now on (admin).
#[utoipa::path(delete, path = "/hooks/{name}", tag = "hooks", params(("name" = String, Path)),
    responses((status = 204, description = "removed")))]
async fn delete(
    State(ctx): State<ApiContext>,
    _: AdminOnly,
    Path(name): Path<String>,
) -> Result<StatusCode> {
    crate::db::webhooks::delete_hook(&ctx.db, &name).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
enum ReceiptStatus {
    Created,
    Updated,
    Duplicate,
}

#[derive(Serialize, utoipa::ToSchema)]
struct Receipt {
    /// `created` (201), `updated` (a stored ticket took the newer status, priority or tags)
    /// or `duplicate` (nothing changed).
    status: ReceiptStatus,
    #[serde(skip_serializing_if = "Option::is_none")]
    item_id: Option<i64>,
}

struct Headers<'a>(&'a HeaderMap);

impl hooks::Headers for Headers<'_> {
    fn get(&self, name: &str) -> Option<&str> {
        self.0.get(name).and_then(|v| v.to_str().ok())
    }
}

/// A call from another tool: no token, signed with the hook's secret (Zendesk's scheme for
/// `zendesk` hooks, Standard Webhooks for `generic` ones). 201 with the new item, 200
/// `updated` when a stored ticket took the call's newer status, priority or tags, 200
/// `duplicate` when nothing changed, 401 when the signature is missing, wrong or more than
/// 5 minutes old.
#[utoipa::path(post, path = "/hooks/{name}", tag = "hooks", params(("name" = String, Path)),
    request_body(content = Object, description = "the tool's own payload"),
    responses((status = 201, description = "stored", body = Receipt),
              (status = 200, description = "already stored: `updated` or `duplicate`", body = Receipt)))]
async fn receive(
    State(ctx): State<ApiContext>,
    Path(name): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<(StatusCode, Json<Receipt>)> {
    let hook = crate::db::webhooks::hook(&ctx.db, &name).await?;
    let taken = hooks::take(
        &ctx.db,
        &ctx.writes,
        ctx.config.redact,
        &hook,
        &Headers(&headers),
        &body,
        Utc::now(),
    )
    .await?;
    let (code, status, item_id) = match taken {
        Taken::Created { item_id } => {
            ctx.wake_workers();
            (StatusCode::CREATED, ReceiptStatus::Created, Some(item_id))
        }
        Taken::Updated { item_id } => (StatusCode::OK, ReceiptStatus::Updated, Some(item_id)),
        Taken::Duplicate { item_id } => (StatusCode::OK, ReceiptStatus::Duplicate, item_id),
    };
    Ok((code, Json(Receipt { status, item_id })))
}
