//! `/api/v1/surveys`: create and read surveys, and collect their responses.

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use serde::Serialize;
use utoipa_axum::{router::OpenApiRouter, routes};

use super::{ApiContext, Auth, Editor, JsonBody, Listing, Params, PathIds};
use crate::db::entity::{survey, survey_answer, survey_response};
use crate::db::items::ItemKind;
use crate::db::tokens::Role;
use crate::intake::input::{SurveyInput, SurveyResponseInput};
use crate::intake::store::Source;
use crate::intake::surveys::{self, ResponseValidator, SurveyWithQuestions};
use crate::intake::validate;
use crate::{Error, Result};

pub fn router() -> OpenApiRouter<ApiContext> {
    OpenApiRouter::new()
        .routes(routes!(list, create))
        .routes(routes!(get_one, update))
        .routes(routes!(list_responses, respond))
        .routes(routes!(get_response))
}

/// Create a survey with its questions (pm, admin).
#[utoipa::path(post, path = "/surveys", tag = "surveys", request_body = SurveyInput,
    responses((status = 201, description = "created", body = SurveyWithQuestions)))]
async fn create(
    State(ctx): State<ApiContext>,
    _: Editor,
    JsonBody(input): JsonBody<SurveyInput>,
) -> Result<(StatusCode, Json<SurveyWithQuestions>)> {
    let created = surveys::create(&ctx.db, validate::survey(input)?).await?;
    Ok((StatusCode::CREATED, Json(created)))
}

/// `{"closed": true}` closes a survey (its page and API take no more answers);
/// `false` opens it again.
#[derive(serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct SurveyUpdate {
    closed: bool,
}

/// Close a survey (no more answers, from its page or the API) or open it again (pm, admin).
#[utoipa::path(patch, path = "/surveys/{id}", tag = "surveys", params(("id" = i64, Path)),
    request_body = SurveyUpdate,
    responses((status = 200, description = "the survey", body = SurveyWithQuestions)))]
async fn update(
    State(ctx): State<ApiContext>,
    _: Editor,
    ids: PathIds,
    JsonBody(input): JsonBody<SurveyUpdate>,
) -> Result<Json<SurveyWithQuestions>> {
    Ok(Json(
        surveys::set_closed(&ctx.db, ids.first(), input.closed).await?,
    ))
}

/// One survey with its questions.
#[utoipa::path(get, path = "/surveys/{id}", tag = "surveys", params(("id" = i64, Path)),
    responses((status = 200, description = "the survey", body = SurveyWithQuestions)))]
async fn get_one(
    State(ctx): State<ApiContext>,
    _auth: Auth,
    ids: PathIds,
) -> Result<Json<SurveyWithQuestions>> {
    Ok(Json(surveys::get(&ctx.db, ids.first()).await?))
}

/// Surveys, newest first.
#[utoipa::path(get, path = "/surveys", tag = "surveys", params(super::PageQuery),
    responses((status = 200, description = "a page of surveys", body = Listing<survey::Model>)))]
async fn list(
    State(ctx): State<ApiContext>,
    _auth: Auth,
    mut params: Params,
) -> Result<Json<Listing<survey::Model>>> {
    let page = params.page(50, 500)?;
    params.finish()?;
    let (items, total) = crate::db::page(
        &ctx.db,
        survey::Entity::find(),
        survey::Column::Id,
        page.limit,
        page.offset,
    )
    .await?;
    Ok(Json(Listing::new(items, total, page)))
}

/// A stored survey response with its answers.
#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = SurveyResponse)]
struct ResponseView {
    #[serde(flatten)]
    response: survey_response::Model,
    /// The unified feedback item (search, themes); null until it exists.
    item_id: Option<i64>,
    answers: Vec<survey_answer::Model>,
}

/// Answer a survey.
#[utoipa::path(post, path = "/surveys/{id}/responses", tag = "surveys",
    params(("id" = i64, Path)), request_body = SurveyResponseInput,
    responses((status = 201, description = "stored", body = ResponseView)))]
async fn respond(
    State(ctx): State<ApiContext>,
    auth: Auth,
    ids: PathIds,
    JsonBody(input): JsonBody<SurveyResponseInput>,
) -> Result<(StatusCode, Json<ResponseView>)> {
    auth.require(&Role::ALL)?;
    let survey_id = ids.first();
    if input.survey_id.is_some_and(|s| s != survey_id) {
        return Err(Error::invalid(
            "invalid_value",
            "survey_id",
            "survey_id differs from the survey in the URL",
        ));
    }
    // An unknown survey in the URL is a missing resource, not a bad field.
    surveys::get(&ctx.db, survey_id).await?;
    let new = ResponseValidator::default()
        .validate(&ctx.db, survey_id, "survey_id", input)
        .await?;
    let (id, item_id) = ctx.writes.responses.store(new, Source::Api).await?;
    ctx.wake_workers();
    let mut view = find_response(&ctx, survey_id, id).await?;
    view.item_id = Some(item_id);
    Ok((StatusCode::CREATED, Json(view.shown_to(&auth))))
}

impl ResponseView {
    /// The response as `auth` may see it: the email typed on the public page is contact
    /// data, left out for support (least access, as for customers).
    fn shown_to(mut self, auth: &Auth) -> Self {
        if !auth.role.sees_customer_contact() {
            self.response.respondent_email = None;
        }
        self
    }
}

async fn find_response(ctx: &ApiContext, survey_id: i64, id: i64) -> Result<ResponseView> {
    let response = survey_response::Entity::find_by_id(id)
        .filter(survey_response::Column::SurveyId.eq(survey_id))
        .one(&ctx.db)
        .await?
        .ok_or_else(|| Error::not_found("survey response", id))?;
    let answers = survey_answer::Entity::find()
        .filter(survey_answer::Column::ResponseId.eq(id))
        .all(&ctx.db)
        .await?;
    let item_id = crate::db::items::by_source(&ctx.db, ItemKind::SurveyResponse, id)
        .await?
        .map(|i| i.id);
    Ok(ResponseView {
        response,
        item_id,
        answers,
    })
}

/// One survey response.
#[utoipa::path(get, path = "/surveys/{id}/responses/{response_id}", tag = "surveys",
    params(("id" = i64, Path), ("response_id" = i64, Path)),
    responses((status = 200, description = "the response", body = ResponseView)))]
async fn get_response(
    State(ctx): State<ApiContext>,
    auth: Auth,
    ids: PathIds,
) -> Result<Json<ResponseView>> {
    let (survey_id, id) = (ids.first(), ids.0.get(1).copied().unwrap_or_default());
    Ok(Json(
        find_response(&ctx, survey_id, id).await?.shown_to(&auth),
    ))
}

/// A survey's responses, newest first.
#[utoipa::path(get, path = "/surveys/{id}/responses", tag = "surveys",
    params(("id" = i64, Path), super::PageQuery),
    responses((status = 200, description = "a page of responses", body = Listing<ResponseView>)))]
async fn list_responses(
    State(ctx): State<ApiContext>,
    auth: Auth,
    ids: PathIds,
    mut params: Params,
) -> Result<Json<Listing<ResponseView>>> {
    let page = params.page(50, 500)?;
    params.finish()?;
    let survey_id = ids.first();
    surveys::get(&ctx.db, survey_id).await?;
    let select =
        survey_response::Entity::find().filter(survey_response::Column::SurveyId.eq(survey_id));
    let rows = crate::db::page(
        &ctx.db,
        select,
        survey_response::Column::Id,
        page.limit,
        page.offset,
    )
    .await?;
    let ids: Vec<i64> = rows.0.iter().map(|r| r.id).collect();
    let answers = survey_answer::Entity::find()
        .filter(survey_answer::Column::ResponseId.is_in(ids))
        .all(&ctx.db)
        .await?;
    let listing = Listing::of(
        &ctx,
        ItemKind::SurveyResponse,
        rows,
        page,
        |r| r.id,
        |response, item_id| {
            let mine = answers
                .iter()
                .filter(|a| a.response_id == response.id)
                .cloned()
                .collect();
            ResponseView {
                response,
                item_id,
                answers: mine,
            }
            .shown_to(&auth)
        },
    )
    .await?;
    Ok(Json(listing))
}
