//! `/api/v1/backlog`: themes ranked by priority score, as JSON or CSV, and the product
//! manager's edits to a theme's backlog entry.
//!
//! Query parameters (shared with the web UI's backlog page): `period` (`7d`, `28d`, `90d`,
//! `365d`, a number of days, or `all`; default `28d`), `segment`, `status`
//! (comma-separated, `open` for everything not shipped or declined, or `all`), `sort` (`score` or
//! a component name), `as_of` (rank as of this time; default now), `limit`, `offset`.

use axum::extract::State;
use axum::response::Response;
use axum::Json;
use serde::Serialize;
use serde_json::{Map, Value};
use utoipa_axum::{router::OpenApiRouter, routes};

use super::queries::backlog_filter;
use super::{ApiContext, Auth, Editor, JsonBody, Params, PathIds};
use crate::backlog::workflow::{self, Effort, EntryChange, Status};
use crate::backlog::{self, Entry, Filter, COMPONENTS};
use crate::db::entity::{backlog_change, backlog_entry};
use crate::impact;
use crate::Result;

pub fn router() -> OpenApiRouter<ApiContext> {
    OpenApiRouter::new()
        .routes(routes!(list))
        .routes(routes!(csv_export))
        .routes(routes!(update))
        .routes(routes!(history))
}

/// The backlog's filters (read by [`backlog_filter`]; described here for the OpenAPI document).
#[derive(utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
// Never constructed: `Params` reads and checks the values (and rejects unknown ones).
#[allow(dead_code)]
pub struct BacklogQuery {
    /// `7d`, `28d` (default), `90d`, `365d`, a number of days up to 3650 (`Nd` or `N`), or `all`.
    #[param(
        pattern = r"^\s*(all|\+?0*([1-9]\d{0,2}|[12]\d{3}|3[0-5]\d{2}|36[0-4]\d|3650)d?)?\s*$"
    )]
    pub period: Option<String>,
    pub segment: Option<String>,
    /// Only the themes of this area.
    #[param(minimum = 1)]
    pub area: Option<i64>,
    /// Comma-separated statuses, `open` (everything not shipped or declined) or `all`.
    #[param(
        pattern = r"^\s*(open|all|new|under_review|planned|in_progress|shipped|declined)?\s*(,\s*(open|all|new|under_review|planned|in_progress|shipped|declined)?\s*)*$"
    )]
    pub status: Option<String>,
    /// `score` (default), `impact` (measured themes first, the largest fall first) or a
    /// component: volume, unique_customers, velocity, rating_impact,
    /// customer_value, ticket_priority.
    #[param(
        pattern = r"^(\s*|score|impact|volume|unique_customers|velocity|rating_impact|customer_value|ticket_priority)$"
    )]
    pub sort: Option<String>,
    /// Rank as of this time (RFC 3339 or YYYY-MM-DD); default now.
    #[param(value_type = Option<crate::intake::input::When>)]
    pub as_of: Option<String>,
}

/// One theme's place in the backlog.
#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = BacklogEntry)]
pub struct EntryView {
    rank: usize,
    theme_id: i64,
    label: String,
    keywords: Vec<String>,
    size: i32,
    score: f64,
    /// The raw figures behind the score.
    #[schema(value_type = std::collections::BTreeMap<String, f64>)]
    components: Map<String, Value>,
    /// Each component's points; they add up to `score`.
    #[schema(value_type = std::collections::BTreeMap<String, f64>)]
    contributions: Map<String, Value>,
    status: Status,
    notes: String,
    effort: Option<Effort>,
    owner: Option<String>,
    pinned: bool,
    rising: bool,
    new: bool,
    z_score: f64,
    weekly: Vec<u32>,
    updated_at: Option<chrono::DateTime<chrono::Utc>>,
    updated_by: Option<String>,
    /// What its rollouts did (themes with a rollout; `GET /themes/{id}/impact` has detail).
    impact: Option<impact::Headline>,
}

fn named(values: &[f64; 6]) -> Map<String, Value> {
    COMPONENTS
        .iter()
        .zip(values)
        .map(|(k, v)| (k.to_string(), Value::from(*v)))
        .collect()
}

fn view(rank: usize, e: Entry, impact: Option<impact::Headline>) -> EntryView {
    let touched = !e.workflow.updated_by.is_empty();
    EntryView {
        impact,
        rank,
        theme_id: e.theme.id,
        label: e.label().to_string(),
        keywords: e.keywords(),
        size: e.theme.size,
        score: e.score.score,
        components: named(&e.score.components),
        contributions: named(&e.score.contributions),
        status: e.workflow.status,
        notes: e.workflow.notes,
        effort: e.workflow.effort,
        owner: e.workflow.owner,
        pinned: e.workflow.pinned,
        rising: e.score.rising,
        new: e.score.is_new,
        z_score: e.score.z_score,
        weekly: e.score.weekly.to_vec(),
        updated_at: touched.then_some(e.workflow.updated_at),
        updated_by: touched.then_some(e.workflow.updated_by),
    }
}

#[derive(Serialize, utoipa::ToSchema)]
struct BacklogPage {
    items: Vec<EntryView>,
    total: usize,
    limit: u64,
    offset: u64,
    as_of: chrono::DateTime<chrono::Utc>,
    period_days: Option<i64>,
    #[schema(value_type = std::collections::BTreeMap<String, f64>)]
    weights: Map<String, Value>,
}

async fn ranked(ctx: &ApiContext, params: &mut Params) -> Result<(Filter, Vec<Entry>)> {
    let f = backlog_filter(params)?;
    let entries = backlog::rank(&ctx.db, &ctx.config.backlog_weights, &f).await?;
    Ok((f, entries))
}

/// Themes ranked by priority score, with the score's components (docs/backlog.md).
#[utoipa::path(get, path = "/backlog", tag = "backlog", params(BacklogQuery, super::PageQuery),
    responses((status = 200, description = "a page of the backlog", body = BacklogPage)))]
async fn list(
    State(ctx): State<ApiContext>,
    _auth: Auth,
    mut params: Params,
) -> Result<Json<BacklogPage>> {
    let page = params.page(50, 500)?;
    let (f, mut entries) = ranked(&ctx, &mut params).await?;
    params.finish()?;
    let mut impacts = impact::on_backlog(
        &ctx.db,
        &mut entries,
        &f.sort,
        ctx.config.impact_weeks,
        f.as_of,
    )
    .await?;
    let total = entries.len();
    let items = entries
        .into_iter()
        .enumerate()
        .skip(page.offset as usize)
        .take(page.limit as usize)
        .map(|(i, e)| {
            let h = impacts.remove(&e.theme.id);
            view(i + 1, e, h)
        })
        .collect();
    Ok(Json(BacklogPage {
        items,
        total,
        limit: page.limit,
        offset: page.offset,
        as_of: f.as_of,
        period_days: f.period_days,
        weights: named(&ctx.config.backlog_weights.0),
    }))
}

/// The backlog as CSV, with the same filters.
#[utoipa::path(get, path = "/backlog.csv", tag = "backlog", params(BacklogQuery),
    responses((status = 200, description = "one row per theme in rank order", body = String, content_type = "text/csv")))]
async fn csv_export(
    State(ctx): State<ApiContext>,
    _auth: Auth,
    mut params: Params,
) -> Result<Response> {
    let (_, entries) = ranked(&ctx, &mut params).await?;
    params.finish()?;
    Ok(super::csv_download(
        "backlog.csv",
        backlog::export::to_csv(&entries)?,
    ))
}

#[derive(Serialize, utoipa::ToSchema)]
struct Updated {
    entry: backlog_entry::Model,
    changes: Vec<backlog_change::Model>,
}

/// Change a theme's status, notes, effort, owner or pin (pm, admin).
#[utoipa::path(patch, path = "/backlog/{theme_id}", tag = "backlog", params(("theme_id" = i64, Path)),
    request_body = EntryChange, responses((status = 200, description = "the entry and what changed", body = Updated)))]
async fn update(
    State(ctx): State<ApiContext>,
    auth: Editor,
    ids: PathIds,
    JsonBody(change): JsonBody<EntryChange>,
) -> Result<Json<Updated>> {
    let (entry, changes) = workflow::update(
        &ctx.db,
        ids.first(),
        change,
        &auth.actor(),
        &ctx.config.base_url,
    )
    .await?;
    Ok(Json(Updated { entry, changes }))
}

/// Every change to a theme's backlog entry, newest first.
#[utoipa::path(get, path = "/backlog/{theme_id}/history", tag = "backlog", params(("theme_id" = i64, Path)),
    responses((status = 200, description = "the changes", body = Vec<workflow::NamedChange>)))]
async fn history(
    State(ctx): State<ApiContext>,
    _auth: Auth,
    ids: PathIds,
) -> Result<Json<Vec<workflow::NamedChange>>> {
    crate::themes::edits::live(&ctx.db, ids.first()).await?;
    Ok(Json(
        workflow::named_history(&ctx.db, ids.first(), None).await?,
    ))
}
