//! `/api/v1/themes`: the themes found in feedback, their items, and the edits product
//! managers make (rename, merge, split, move an item, lock).

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect};
use serde::{Deserialize, Serialize};
use utoipa_axum::{router::OpenApiRouter, routes};

use super::{ApiContext, Auth, Editor, JsonBody, Listing, Params, PathIds};
use crate::db::entity::theme;
use crate::db::entity::theme_answer::{self, PairAnswer};
use crate::themes::edits;
use crate::themes::lookalike::{self, Lookalike};
use crate::themes::members::{members, MemberView};
use crate::themes::suggest::ThemeMatch;
use crate::themes::teach::{self, TeachView};
use crate::themes::undo::{self, EditView};
use crate::Result;

pub fn router() -> OpenApiRouter<ApiContext> {
    OpenApiRouter::new()
        .routes(routes!(list))
        .routes(routes!(unthemed))
        .routes(routes!(get_one))
        .routes(routes!(rename))
        .routes(routes!(merge))
        .routes(routes!(split))
        .routes(routes!(lock))
        .routes(routes!(move_item))
        .routes(routes!(history))
        .routes(routes!(undo))
        .routes(routes!(questions, answer))
        .routes(routes!(answers))
        .routes(routes!(withdraw))
        .routes(routes!(suggestions))
        .routes(routes!(dismiss))
}

/// A theme: a recurring topic found in feedback.
#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = Theme)]
pub struct ThemeView {
    id: i64,
    /// The name people see: the custom label when a person renamed the theme.
    label: String,
    generated_label: String,
    keywords: Vec<String>,
    size: i32,
    locked: bool,
    /// The area it belongs to (`GET /api/v1/areas`), if any.
    area_id: Option<i64>,
    representative_item_id: Option<i64>,
    representative_quote: Option<String>,
    updated_at: chrono::DateTime<chrono::Utc>,
}

async fn view(ctx: &ApiContext, t: theme::Model) -> Result<ThemeView> {
    Ok(views(ctx, vec![t]).await?.remove(0))
}

/// Views of several themes, their representative quotes read in one query.
async fn views(ctx: &ApiContext, themes: Vec<theme::Model>) -> Result<Vec<ThemeView>> {
    let ids: Vec<i64> = themes
        .iter()
        .filter_map(|t| t.representative_item_id)
        .collect();
    let quotes = crate::db::items::by_ids(&ctx.db, &ids).await?;
    Ok(themes
        .into_iter()
        .map(|t| ThemeView {
            id: t.id,
            label: t.display_label().to_string(),
            keywords: t.keyword_list(),
            size: t.size,
            locked: t.locked,
            area_id: t.area_id,
            representative_quote: t
                .representative_item_id
                .and_then(|id| quotes.get(&id).map(|i| i.text.clone())),
            representative_item_id: t.representative_item_id,
            updated_at: t.updated_at,
            generated_label: t.label,
        })
        .collect())
}

/// Themes, largest first.
#[utoipa::path(get, path = "/themes", tag = "themes",
    params(("limit" = Option<i64>, Query, minimum = 1, maximum = 500, description = "default 100"),
           ("offset" = Option<i64>, Query, minimum = 0, maximum = 1000000)),
    responses((status = 200, description = "a page of themes", body = Listing<ThemeView>)))]
async fn list(
    State(ctx): State<ApiContext>,
    _auth: Auth,
    mut params: Params,
) -> Result<Json<Listing<ThemeView>>> {
    let page = params.page(100, 500)?;
    params.finish()?;
    let select = theme::Entity::find()
        .filter(theme::Column::MergedInto.is_null())
        .filter(theme::Column::Size.gt(0));
    let total = select.clone().count(&ctx.db).await?;
    let rows = select
        .order_by_desc(theme::Column::Size)
        .order_by_asc(theme::Column::Id)
        .limit(page.limit)
        .offset(page.offset)
        .all(&ctx.db)
        .await?;
    let items = views(&ctx, rows).await?;
    Ok(Json(Listing::new(items, total, page)))
}

#[derive(Serialize, utoipa::ToSchema)]
struct ThemeWithItems {
    #[serde(flatten)]
    theme: ThemeView,
    items: Listing<MemberView>,
}

/// A theme with its items, best fitting first.
#[utoipa::path(get, path = "/themes/{id}", tag = "themes", params(("id" = i64, Path), super::PageQuery),
    responses((status = 200, description = "the theme", body = ThemeWithItems)))]
async fn get_one(
    State(ctx): State<ApiContext>,
    _auth: Auth,
    ids: PathIds,
    mut params: Params,
) -> Result<Json<ThemeWithItems>> {
    let page = params.page(50, 500)?;
    params.finish()?;
    let t = edits::live(&ctx.db, ids.first()).await?;
    let items = members(&ctx.db, Some(t.id), page).await?;
    Ok(Json(ThemeWithItems {
        theme: view(&ctx, t).await?,
        items,
    }))
}

/// An item of the unthemed queue, with the theme it is closest to.
#[derive(Serialize, utoipa::ToSchema)]
struct UnthemedItem {
    #[serde(flatten)]
    item: MemberView,
    /// The closest theme, when close enough to suggest (`POST /items/{id}/theme` puts it
    /// there).
    suggested_theme: Option<ThemeMatch>,
}

/// Items that fit no theme (the review queue), each with a suggested theme when one is
/// close enough.
#[utoipa::path(get, path = "/themes/unthemed", tag = "themes", params(super::PageQuery),
    responses((status = 200, description = "a page of items", body = Listing<UnthemedItem>)))]
async fn unthemed(
    State(ctx): State<ApiContext>,
    _auth: Auth,
    mut params: Params,
) -> Result<Json<Listing<UnthemedItem>>> {
    let page = params.page(50, 500)?;
    params.finish()?;
    let (listing, mut suggested) = crate::themes::suggest::unthemed(&ctx.db, page).await?;
    Ok(Json(listing.map(|item| UnthemedItem {
        suggested_theme: suggested.remove(&item.item_id),
        item,
    })))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct RenameInput {
    #[schema(max_length = 200, pattern = r"[^\s\x00\x85]")]
    label: String,
}

/// Rename a theme (pm, admin).
#[utoipa::path(post, path = "/themes/{id}/rename", tag = "themes", params(("id" = i64, Path)),
    request_body = RenameInput, responses((status = 200, description = "the theme", body = ThemeView)))]
async fn rename(
    State(ctx): State<ApiContext>,
    auth: Editor,
    ids: PathIds,
    JsonBody(input): JsonBody<RenameInput>,
) -> Result<Json<ThemeView>> {
    let t = edits::rename(&ctx.db, ids.first(), &input.label, &auth.actor()).await?;
    Ok(Json(view(&ctx, t).await?))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct MergeInput {
    into: i64,
}

/// Merge this theme into another (pm, admin).
#[utoipa::path(post, path = "/themes/{id}/merge", tag = "themes", params(("id" = i64, Path)),
    request_body = MergeInput, responses((status = 200, description = "the theme merged into", body = ThemeView)))]
async fn merge(
    State(ctx): State<ApiContext>,
    auth: Editor,
    ids: PathIds,
    JsonBody(input): JsonBody<MergeInput>,
) -> Result<Json<ThemeView>> {
    let t = edits::merge(&ctx.db, ids.first(), input.into, &auth.actor()).await?;
    ctx.wake_workers();
    Ok(Json(view(&ctx, t).await?))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct SplitInput {
    /// Items of this theme to move to the new one; at least one must stay behind.
    #[schema(min_items = 1)]
    item_ids: Vec<i64>,
    #[schema(max_length = 200, pattern = r"[^\s\x00\x85]")]
    label: Option<String>,
}

/// Split items off into a new theme (pm, admin).
#[utoipa::path(post, path = "/themes/{id}/split", tag = "themes", params(("id" = i64, Path)),
    request_body = SplitInput, responses((status = 201, description = "the new theme", body = ThemeView)))]
async fn split(
    State(ctx): State<ApiContext>,
    auth: Editor,
    ids: PathIds,
    JsonBody(input): JsonBody<SplitInput>,
) -> Result<(StatusCode, Json<ThemeView>)> {
    let t = edits::split(
        &ctx.db,
        ids.first(),
        &input.item_ids,
        input.label.as_deref(),
        &auth.actor(),
    )
    .await?;
    ctx.wake_workers();
    Ok((StatusCode::CREATED, Json(view(&ctx, t).await?)))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct LockInput {
    locked: bool,
}

/// Lock or unlock a theme's membership (pm, admin).
#[utoipa::path(post, path = "/themes/{id}/lock", tag = "themes", params(("id" = i64, Path)),
    request_body = LockInput, responses((status = 200, description = "the theme", body = ThemeView)))]
async fn lock(
    State(ctx): State<ApiContext>,
    auth: Editor,
    ids: PathIds,
    JsonBody(input): JsonBody<LockInput>,
) -> Result<Json<ThemeView>> {
    let t = edits::set_locked(&ctx.db, ids.first(), input.locked, &auth.actor()).await?;
    Ok(Json(view(&ctx, t).await?))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct MoveInput {
    /// `null` moves the item to the unthemed queue.
    theme_id: Option<i64>,
}

/// Move an item to a theme, or to the unthemed queue with `null` (pm, admin).
#[utoipa::path(post, path = "/items/{id}/theme", tag = "themes", params(("id" = i64, Path, description = "feedback item id")),
    request_body = MoveInput, responses((status = 204, description = "moved")))]
async fn move_item(
    State(ctx): State<ApiContext>,
    auth: Editor,
    ids: PathIds,
    JsonBody(input): JsonBody<MoveInput>,
) -> Result<StatusCode> {
    edits::move_item(&ctx.db, ids.first(), input.theme_id, &auth.actor()).await?;
    ctx.wake_workers();
    Ok(StatusCode::NO_CONTENT)
}

/// A theme's edits, newest first, each with what it did and whether it can be undone.
#[utoipa::path(get, path = "/themes/{id}/history", tag = "themes",
    params(("id" = i64, Path), ("limit" = Option<i64>, Query, minimum = 1, maximum = 500, description = "default 50")),
    responses((status = 200, description = "the theme's edits", body = Vec<EditView>)))]
async fn history(
    State(ctx): State<ApiContext>,
    _auth: Auth,
    ids: PathIds,
    mut params: Params,
) -> Result<Json<Vec<EditView>>> {
    let limit = params.int("limit", 1, 500)?.unwrap_or(50) as u64;
    params.finish()?;
    // A merged theme's history stays readable: it is where its merge can be found.
    let id = ids.first();
    crate::db::entity::theme::Entity::find_by_id(id)
        .one(&ctx.db)
        .await?
        .ok_or_else(|| crate::Error::not_found("theme", id))?;
    Ok(Json(edits::history(&ctx.db, id, Some(limit)).await?))
}

/// Undo an edit (pm, admin): what it changed is put back exactly, also after a rebuild.
/// 409 for an undo, an edit already undone, or one a later edit of the same items or themes
/// depends on (undo that one first).
#[utoipa::path(post, path = "/themes/edits/{id}/undo", tag = "themes",
    params(("id" = i64, Path, description = "the edit's id (from a theme's history)")),
    responses((status = 200, description = "the undo, as recorded", body = EditView),
              (status = 409, description = "the edit cannot be undone now")))]
async fn undo(State(ctx): State<ApiContext>, auth: Editor, ids: PathIds) -> Result<Json<EditView>> {
    let record = undo::undo(&ctx.db, ids.first(), &auth.actor()).await?;
    ctx.wake_workers();
    Ok(Json(EditView::of(&record)))
}

/// Where teaching the granularity stands, and the next "same problem?" question (pm, admin).
#[utoipa::path(get, path = "/themes/questions", tag = "themes",
    responses((status = 200, description = "the granularity and the next question", body = TeachView)))]
async fn questions(State(ctx): State<ApiContext>, _auth: Editor) -> Result<Json<TeachView>> {
    Ok(Json(teach::view(&ctx.db).await?))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct AnswerInput {
    /// Item ids of the two messages compared.
    a: i64,
    b: i64,
    /// `same`, `different` or `skip`.
    answer: PairAnswer,
}

#[derive(Serialize, utoipa::ToSchema)]
struct Answered {
    /// Themes at the granularity chosen before this answer.
    themes_before: usize,
    #[serde(flatten)]
    now: TeachView,
}

/// Answer "same problem?" about two items (pm, admin): the granularity is chosen again from
/// every answer so far (the themes follow at the next rebuild).
#[utoipa::path(post, path = "/themes/questions", tag = "themes", request_body = AnswerInput,
    responses((status = 201, description = "recorded; where teaching stands now", body = Answered)))]
async fn answer(
    State(ctx): State<ApiContext>,
    auth: Editor,
    JsonBody(input): JsonBody<AnswerInput>,
) -> Result<(StatusCode, Json<Answered>)> {
    let (now, themes_before) =
        teach::answer(&ctx.db, input.a, input.b, input.answer, &auth.actor()).await?;
    Ok((StatusCode::CREATED, Json(Answered { themes_before, now })))
}

/// Every answer given, newest first, withdrawn ones included (pm, admin).
#[utoipa::path(get, path = "/themes/answers", tag = "themes", params(super::PageQuery),
    responses((status = 200, description = "a page of answers", body = Listing<theme_answer::Model>)))]
async fn answers(
    State(ctx): State<ApiContext>,
    _auth: Editor,
    mut params: Params,
) -> Result<Json<Listing<theme_answer::Model>>> {
    let page = params.page(50, 500)?;
    params.finish()?;
    Ok(Json(teach::list(&ctx.db, page).await?))
}

/// Withdraw an answer (pm, admin): it stops counting, now and at every later rebuild.
#[utoipa::path(delete, path = "/themes/answers/{id}", tag = "themes", params(("id" = i64, Path)),
    responses((status = 200, description = "the answer, withdrawn", body = theme_answer::Model)))]
async fn withdraw(
    State(ctx): State<ApiContext>,
    auth: Editor,
    ids: PathIds,
) -> Result<Json<theme_answer::Model>> {
    Ok(Json(
        teach::withdraw(&ctx.db, ids.first(), &auth.actor()).await?,
    ))
}

/// Pairs of themes that look like one problem, with their evidence (pm, admin): the merges
/// the granularity is still unsure about, minus pairs anyone said differ.
#[utoipa::path(get, path = "/themes/suggestions", tag = "themes",
    params(("limit" = Option<i64>, Query, minimum = 1, maximum = 50, description = "at most this many (default 5)")),
    responses((status = 200, description = "the suggested merges, most alike first", body = Vec<Lookalike>)))]
async fn suggestions(
    State(ctx): State<ApiContext>,
    _auth: Editor,
    mut params: Params,
) -> Result<Json<Vec<Lookalike>>> {
    let limit = params.int("limit", 1, 50)?.unwrap_or(5);
    params.finish()?;
    Ok(Json(lookalike::suggestions(&ctx.db, limit as usize).await?))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct DismissInput {
    /// The two themes of the suggestion.
    a: i64,
    b: i64,
}

/// Dismiss a suggested merge (pm, admin): recorded as an answer "different" about the two
/// quotes it showed, so the pair is not offered again (withdraw the answer to undo).
#[utoipa::path(post, path = "/themes/suggestions/dismiss", tag = "themes", request_body = DismissInput,
    responses((status = 204, description = "dismissed")))]
async fn dismiss(
    State(ctx): State<ApiContext>,
    auth: Editor,
    JsonBody(input): JsonBody<DismissInput>,
) -> Result<StatusCode> {
    lookalike::dismiss(&ctx.db, input.a, input.b, &auth.actor()).await?;
    Ok(StatusCode::NO_CONTENT)
}
