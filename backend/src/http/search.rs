//! `GET /api/v1/search`: search over all feedback, by words and by meaning
//! ([`crate::search`] does the work; the search page calls the same service).
//!
//! Parameters: `q`, `mode` (`hybrid` — the default —, `keyword` or `semantic`), `kind`
//! (comma-separated), `segment`, `from`/`to` (RFC 3339 or YYYY-MM-DD; `to` is exclusive,
//! a date includes its whole day), `theme`, `area` (the themes of an area),
//! `min_score`/`max_score` (0..1), `sort`
//! (`relevance`, `newest`, `oldest`), `limit` (1–100, default 20), `offset`.

use axum::extract::State;
use axum::Json;
use serde::Serialize;
use triage_index::SearchRequest;
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

use super::queries::SearchParams;
use super::{ApiContext, Auth, Params, PathIds};
use crate::search::{Found, Mode, Relaxed};
use crate::Result;

pub fn router() -> OpenApiRouter<ApiContext> {
    OpenApiRouter::new()
        .routes(routes!(search))
        .routes(routes!(similar_items))
        .routes(routes!(similar_to_theme))
}

/// `limit` of the similar-feedback lists.
#[derive(utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)] // read by `Params`
struct SimilarQuery {
    /// Default 10.
    #[param(minimum = 1, maximum = 100)]
    limit: Option<i64>,
}

#[derive(Serialize, ToSchema)]
struct Similar {
    /// Nearest in meaning first; `score` is the cosine similarity (at least 0.3).
    hits: Vec<Hit>,
}

/// Feedback most like this item, by meaning (empty until the item is embedded).
#[utoipa::path(get, path = "/items/{id}/similar", tag = "search",
    params(("id" = i64, Path, description = "feedback item id"), SimilarQuery),
    responses((status = 200, description = "similar items", body = Similar)))]
async fn similar_items(
    State(ctx): State<ApiContext>,
    _auth: Auth,
    ids: PathIds,
    params: Params,
) -> Result<Json<Similar>> {
    similar(ctx, Near::Item(ids.first()), params).await
}

/// Feedback outside this theme that is closest to its centre: items that may belong in it.
#[utoipa::path(get, path = "/themes/{id}/similar", tag = "search",
    params(("id" = i64, Path, description = "theme id"), SimilarQuery),
    responses((status = 200, description = "similar items outside the theme", body = Similar)))]
async fn similar_to_theme(
    State(ctx): State<ApiContext>,
    _auth: Auth,
    ids: PathIds,
    params: Params,
) -> Result<Json<Similar>> {
    similar(ctx, Near::Theme(ids.first()), params).await
}

/// What a similar-feedback list is near.
enum Near {
    Item(i64),
    Theme(i64),
}

async fn similar(ctx: ApiContext, near: Near, mut params: Params) -> Result<Json<Similar>> {
    let limit = params.int("limit", 1, 100)?.unwrap_or(10) as usize;
    params.finish()?;
    let _slot = ctx.limits.search.enter().await?;
    let engines = ctx.search_engines();
    let hits = match near {
        Near::Item(id) => engines.similar_to_item(&ctx.db, id, limit).await?,
        Near::Theme(id) => engines.similar_to_theme(&ctx.db, id, limit).await?,
    };
    Ok(Json(Similar {
        hits: hits.into_iter().map(hit).collect(),
    }))
}

/// The search parameters (read by [`parse_request`] and [`request`]; described here).
#[derive(utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
// Never constructed: `Params` reads and checks the values (and rejects unknown ones).
#[allow(dead_code)]
struct SearchQuery {
    /// What to look for. Keyword matching needs every word (typos within one edit are
    /// forgiven; when no item has every word, items with some of them are shown);
    /// meaning matching finds items that say the same in other words.
    #[param(max_length = 500)]
    q: Option<String>,
    /// `true`: no typo correction ("search instead for" what was typed).
    exact: Option<bool>,
    /// `hybrid` (default): words and meaning fused by rank; `keyword`; `semantic`.
    #[param(pattern = r"^(\s*|hybrid|keyword|semantic)$")]
    mode: Option<String>,
    /// Comma-separated: ticket, rating, survey_response.
    #[param(
        pattern = r"^\s*(ticket|rating|survey_response)?\s*(,\s*(ticket|rating|survey_response)?\s*)*$"
    )]
    kind: Option<String>,
    segment: Option<String>,
    /// Theme id.
    #[param(minimum = 1)]
    theme: Option<i64>,
    /// Area id: items in any of its themes.
    #[param(minimum = 1)]
    area: Option<i64>,
    /// Inclusive; RFC 3339 or YYYY-MM-DD.
    #[param(value_type = Option<crate::intake::input::When>)]
    from: Option<String>,
    /// Exclusive; a date includes its whole day.
    #[param(value_type = Option<crate::intake::input::When>)]
    to: Option<String>,
    /// The item's own score on a 0..1 scale.
    #[param(minimum = 0, maximum = 1)]
    min_score: Option<f64>,
    #[param(minimum = 0, maximum = 1)]
    max_score: Option<f64>,
    #[param(pattern = r"^(\s*|relevance|newest|oldest|date)$")]
    sort: Option<String>,
    /// Default 20.
    #[param(minimum = 1, maximum = 100)]
    limit: Option<i64>,
    #[param(minimum = 0, maximum = 10000)]
    offset: Option<i64>,
}

/// One matching item.
#[derive(Serialize, ToSchema)]
struct Hit {
    /// The feedback item's id.
    id: u64,
    kind: String,
    /// The ticket's, rating's or survey response's id.
    source_id: u64,
    /// HTML-escaped, matches in `<b>`.
    snippet: String,
    /// Relevance.
    score: f32,
    subject: Option<String>,
    created_at: chrono::DateTime<chrono::Utc>,
    item_score: Option<f64>,
}

/// A typo correction that was applied: `word` matched as the `used` words.
#[derive(Serialize, ToSchema)]
struct Correction {
    word: String,
    used: Vec<String>,
}

#[derive(Serialize, ToSchema)]
#[schema(as = SearchResults)]
struct Response {
    total: usize,
    hits: Vec<Hit>,
    limit: usize,
    offset: usize,
    corrections: Vec<Correction>,
    /// The mode that ran: `keyword` when the embedding model is off or the order is by date.
    mode: Mode,
    /// Set when no item had every word: `some_words` (items with some of them) or
    /// `meaning` (the closest items by meaning).
    relaxed: Option<Relaxed>,
}

/// Full-text search over all feedback.
#[utoipa::path(get, path = "/search", tag = "search", params(SearchQuery),
    responses((status = 200, description = "matching items", body = Response)))]
async fn search(
    State(ctx): State<ApiContext>,
    _auth: Auth,
    mut params: Params,
) -> Result<Json<Response>> {
    let search = SearchParams::parse(&mut params)?;
    params.finish()?;
    let req = search.request.clone();
    let found = ctx.search(search).await?;
    Ok(Json(response(found, &req)))
}

fn response(r: Found, req: &SearchRequest) -> Response {
    Response {
        mode: r.mode,
        relaxed: r.relaxed,
        total: r.total,
        limit: req.limit,
        offset: req.offset,
        hits: r.hits.into_iter().map(hit).collect(),
        corrections: r
            .corrections
            .into_iter()
            .map(|(word, used)| Correction { word, used })
            .collect(),
    }
}

fn hit(h: triage_index::SearchHit) -> Hit {
    Hit {
        id: h.id,
        kind: h.kind,
        source_id: h.source_id,
        snippet: h.snippet,
        score: h.relevance,
        subject: h.subject,
        created_at: h.created_at,
        item_score: h.item_score,
    }
}
