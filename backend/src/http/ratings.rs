//! `/api/v1/ratings`: create, get and list star ratings.

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use sea_orm::EntityTrait;
use serde::Serialize;
use utoipa_axum::{router::OpenApiRouter, routes};

use super::{ApiContext, Auth, JsonBody, Listing, Params, PathIds};
use crate::db::entity::rating::{self, Column, Entity as Ratings};
use crate::db::items;
use crate::db::items::ItemKind;
use crate::db::tokens::Role;
use crate::intake::input::RatingInput;
use crate::intake::store::Source;
use crate::intake::validate;
use crate::{Error, Result};

pub fn router() -> OpenApiRouter<ApiContext> {
    OpenApiRouter::new()
        .routes(routes!(list, create))
        .routes(routes!(get_one))
}

/// A stored star rating.
#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = Rating)]
pub struct RatingView {
    #[serde(flatten)]
    rating: rating::Model,
    /// The unified feedback item (search, themes); null until it exists.
    item_id: Option<i64>,
}

fn view(rating: rating::Model, item_id: Option<i64>) -> RatingView {
    RatingView { rating, item_id }
}

/// Record a star rating.
#[utoipa::path(post, path = "/ratings", tag = "ratings", request_body = RatingInput,
    responses((status = 201, description = "stored", body = RatingView)))]
async fn create(
    State(ctx): State<ApiContext>,
    auth: Auth,
    JsonBody(input): JsonBody<RatingInput>,
) -> Result<(StatusCode, Json<RatingView>)> {
    auth.require(&Role::ALL)?;
    let (id, item_id) = ctx
        .writes
        .ratings
        .store(validate::rating(input)?, Source::Api)
        .await?;
    ctx.wake_workers();
    Ok((
        StatusCode::CREATED,
        Json(view(find(&ctx, id).await?, Some(item_id))),
    ))
}

async fn find(ctx: &ApiContext, id: i64) -> Result<rating::Model> {
    Ratings::find_by_id(id)
        .one(&ctx.db)
        .await?
        .ok_or_else(|| Error::not_found("rating", id))
}

/// One rating.
#[utoipa::path(get, path = "/ratings/{id}", tag = "ratings", params(("id" = i64, Path)),
    responses((status = 200, description = "the rating", body = RatingView)))]
async fn get_one(
    State(ctx): State<ApiContext>,
    _auth: Auth,
    ids: PathIds,
) -> Result<Json<RatingView>> {
    let id = ids.first();
    let r = find(&ctx, id).await?;
    let item = items::by_source(&ctx.db, ItemKind::Rating, id).await?;
    Ok(Json(view(r, item.map(|i| i.id))))
}

/// Ratings, newest first.
#[utoipa::path(get, path = "/ratings", tag = "ratings", params(super::PageQuery),
    responses((status = 200, description = "a page of ratings", body = Listing<RatingView>)))]
async fn list(
    State(ctx): State<ApiContext>,
    _auth: Auth,
    mut params: Params,
) -> Result<Json<Listing<RatingView>>> {
    let page = params.page(50, 500)?;
    params.finish()?;
    let rows = crate::db::page(
        &ctx.db,
        Ratings::find(),
        Column::Id,
        page.limit,
        page.offset,
    )
    .await?;
    Ok(Json(
        Listing::of(&ctx, ItemKind::Rating, rows, page, |r| r.id, view).await?,
    ))
}
