//! `/api/v1/webhooks` (admin): subscriptions to triage's events and their delivery logs.
//! The settings page (`/settings/webhooks`) shows and edits the same through
//! `webhooks::subscriptions`.

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use serde::Deserialize;
use utoipa_axum::{router::OpenApiRouter, routes};

use super::{AdminOnly, ApiContext, JsonBody, Listing, Params, PathIds};
use crate::webhooks::subscriptions::{self, DeliveryView, Patch, SubscriptionView};
use crate::webhooks::{EventType, WebhookFormat};
use crate::Result;

pub fn router() -> OpenApiRouter<ApiContext> {
    OpenApiRouter::new()
        .routes(routes!(list, create))
        .routes(routes!(get_one, update, delete))
        .routes(routes!(deliveries))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct NewWebhook {
    /// Where to POST: an http:// or https:// URL.
    #[schema(max_length = 2000, pattern = r"^\s*https?://[^\s/?#]+[^\s]*\s*$")]
    url: String,
    /// Event types: `theme.created`, `theme.rising`, `theme.status_changed`,
    /// `theme.impact_measured`, `item.created`.
    #[schema(min_items = 1, max_items = 5)]
    events: Vec<EventType>,
    /// `standard` (default; Standard Webhooks) or `slack` (an incoming-webhook message).
    format: Option<WebhookFormat>,
    #[schema(max_length = 500)]
    description: Option<String>,
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct WebhookChange {
    #[schema(max_length = 2000, pattern = r"^\s*https?://[^\s/?#]+[^\s]*\s*$")]
    url: Option<String>,
    #[schema(min_items = 1, max_items = 5)]
    events: Option<Vec<EventType>>,
    format: Option<WebhookFormat>,
    #[schema(max_length = 500)]
    description: Option<String>,
    /// `true` turns a disabled subscription back on (forgetting its failures).
    enabled: Option<bool>,
}

/// Every subscription (admin).
#[utoipa::path(get, path = "/webhooks", tag = "webhooks",
    responses((status = 200, description = "the subscriptions", body = Vec<SubscriptionView>)))]
async fn list(State(ctx): State<ApiContext>, _: AdminOnly) -> Result<Json<Vec<SubscriptionView>>> {
    Ok(Json(subscriptions::list(&ctx.db).await?))
}

/// Subscribe a URL to events; the answer holds the signing secret (admin).
#[utoipa::path(post, path = "/webhooks", tag = "webhooks", request_body = NewWebhook,
    responses((status = 201, description = "created", body = SubscriptionView)))]
async fn create(
    State(ctx): State<ApiContext>,
    _: AdminOnly,
    JsonBody(input): JsonBody<NewWebhook>,
) -> Result<(StatusCode, Json<SubscriptionView>)> {
    let view = subscriptions::create(
        &ctx.db,
        &input.url,
        &input.events,
        input.format,
        input.description,
    )
    .await?;
    Ok((StatusCode::CREATED, Json(view)))
}

/// One subscription (admin).
#[utoipa::path(get, path = "/webhooks/{id}", tag = "webhooks", params(("id" = i64, Path)),
    responses((status = 200, description = "the subscription", body = SubscriptionView)))]
async fn get_one(
    State(ctx): State<ApiContext>,
    _: AdminOnly,
    ids: PathIds,
) -> Result<Json<SubscriptionView>> {
    Ok(Json(subscriptions::get(&ctx.db, ids.first()).await?))
}

/// Change a subscription, or turn it off and on (admin).
#[utoipa::path(patch, path = "/webhooks/{id}", tag = "webhooks", params(("id" = i64, Path)),
    request_body = WebhookChange,
    responses((status = 200, description = "the subscription", body = SubscriptionView)))]
async fn update(
    State(ctx): State<ApiContext>,
    _: AdminOnly,
    ids: PathIds,
    JsonBody(c): JsonBody<WebhookChange>,
) -> Result<Json<SubscriptionView>> {
    let patch = Patch {
        url: c.url,
        events: c.events,
        format: c.format,
        description: c.description,
        enabled: c.enabled,
    };
    Ok(Json(
        subscriptions::update(&ctx.db, ids.first(), patch).await?,
    ))
}

/// Remove a subscription and its delivery log (admin).
#[utoipa::path(delete, path = "/webhooks/{id}", tag = "webhooks", params(("id" = i64, Path)),
    responses((status = 204, description = "removed")))]
async fn delete(State(ctx): State<ApiContext>, _: AdminOnly, ids: PathIds) -> Result<StatusCode> {
    crate::db::webhooks::delete_subscription(&ctx.db, ids.first()).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A subscription's deliveries, newest first: state, attempts, the receiver's last answer
/// (admin).
#[utoipa::path(get, path = "/webhooks/{id}/deliveries", tag = "webhooks",
    params(("id" = i64, Path), super::PageQuery),
    responses((status = 200, description = "a page of deliveries", body = Listing<DeliveryView>)))]
async fn deliveries(
    State(ctx): State<ApiContext>,
    _: AdminOnly,
    ids: PathIds,
    mut params: Params,
) -> Result<Json<Listing<DeliveryView>>> {
    let page = params.page(50, 500)?;
    params.finish()?;
    Ok(Json(
        subscriptions::deliveries(&ctx.db, ids.first(), page).await?,
    ))
}
