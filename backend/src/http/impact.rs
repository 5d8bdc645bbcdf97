//! Rollouts of a theme's change (`/api/v1/backlog/{theme_id}/rollouts`, edited by product
//! managers and admins) and what they did (`/api/v1/themes/{id}/impact`).

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use utoipa_axum::{router::OpenApiRouter, routes};

use super::{ApiContext, Auth, Editor, JsonBody, PathIds};
use crate::impact::rollouts::{self, NewRollout, Rollout, RolloutChange};
use crate::impact::{self, Impact};
use crate::themes::edits::live;
use crate::Result;

pub fn router() -> OpenApiRouter<ApiContext> {
    OpenApiRouter::new()
        .routes(routes!(list, add))
        .routes(routes!(update, remove))
        .routes(routes!(measured))
}

/// A theme's rollouts, earliest first.
#[utoipa::path(get, path = "/backlog/{theme_id}/rollouts", tag = "impact",
    params(("theme_id" = i64, Path)),
    responses((status = 200, description = "the rollouts", body = Vec<Rollout>)))]
async fn list(
    State(ctx): State<ApiContext>,
    _auth: Auth,
    ids: PathIds,
) -> Result<Json<Vec<Rollout>>> {
    live(&ctx.db, ids.first()).await?;
    Ok(Json(rollouts::list(&ctx.db, ids.first()).await?))
}

/// Record that the theme's change reached some segments (or everyone) on a day (pm,
/// admin; the theme must be in progress or shipped).
#[utoipa::path(post, path = "/backlog/{theme_id}/rollouts", tag = "impact",
    params(("theme_id" = i64, Path)), request_body = NewRollout,
    responses((status = 201, description = "the rollout", body = Rollout),
        (status = 409, description = "the theme is not in progress or shipped")))]
async fn add(
    State(ctx): State<ApiContext>,
    auth: Editor,
    ids: PathIds,
    JsonBody(input): JsonBody<NewRollout>,
) -> Result<(StatusCode, Json<Rollout>)> {
    let r = rollouts::add(&ctx.db, ids.first(), input, &auth.actor()).await?;
    Ok((StatusCode::CREATED, Json(r)))
}

/// Change a rollout's day, segments or note (pm, admin).
#[utoipa::path(patch, path = "/backlog/{theme_id}/rollouts/{rollout_id}", tag = "impact",
    params(("theme_id" = i64, Path), ("rollout_id" = i64, Path)), request_body = RolloutChange,
    responses((status = 200, description = "the rollout", body = Rollout)))]
async fn update(
    State(ctx): State<ApiContext>,
    auth: Editor,
    ids: PathIds,
    JsonBody(input): JsonBody<RolloutChange>,
) -> Result<Json<Rollout>> {
    let (theme, rollout) = (ids.first(), ids.0.get(1).copied().unwrap_or_default());
    Ok(Json(
        rollouts::update(&ctx.db, theme, rollout, input, &auth.actor()).await?,
    ))
}

/// Remove a rollout recorded by mistake (pm, admin).
#[utoipa::path(delete, path = "/backlog/{theme_id}/rollouts/{rollout_id}", tag = "impact",
    params(("theme_id" = i64, Path), ("rollout_id" = i64, Path)),
    responses((status = 204, description = "removed")))]
async fn remove(State(ctx): State<ApiContext>, auth: Editor, ids: PathIds) -> Result<StatusCode> {
    let (theme, rollout) = (ids.first(), ids.0.get(1).copied().unwrap_or_default());
    rollouts::remove(&ctx.db, theme, rollout, &auth.actor()).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// What the theme's rollouts did: per cohort, the report rate and satisfaction before and
/// after against the customers not reached yet, with 95 % intervals; customers' answers;
/// whether its reports came back (docs/impact.md).
#[utoipa::path(get, path = "/themes/{id}/impact", tag = "impact",
    params(("id" = i64, Path)),
    responses((status = 200, description = "the impact", body = Impact)))]
async fn measured(
    State(ctx): State<ApiContext>,
    _auth: Auth,
    ids: PathIds,
) -> Result<Json<Impact>> {
    live(&ctx.db, ids.first()).await?;
    Ok(Json(
        impact::of(
            &ctx.db,
            ids.first(),
            ctx.config.impact_weeks,
            chrono::Utc::now(),
        )
        .await?,
    ))
}
