//! `GET /api/v1/search`: full-text search over all feedback.
//!
//! Parameters: `q` (words; all must match, typos within one edit are forgiven), `kind`
//! (comma-separated), `segment`, `from`/`to` (RFC 3339 or YYYY-MM-DD; `to` is exclusive,
//! a date includes its whole day), `theme`, `area` (the themes of an area),
//! `min_score`/`max_score` (0..1), `sort`
//! (`relevance`, `newest`, `oldest`), `limit` (1–100, default 20), `offset`.

use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use serde::Serialize;
use triage_index::{SearchRequest, SearchResults, SortOrder};

use super::{ApiContext, Auth, Params};
use crate::{Error, Result};

const KINDS: [&str; 3] = ["ticket", "rating", "survey_response"];
/// Deep pages cost as much as collecting every hit before them; nobody reads page 500.
const MAX_OFFSET: i64 = 10_000;

pub fn router() -> Router<ApiContext> {
    Router::new().route("/search", get(search))
}

#[derive(Serialize)]
struct Hit {
    id: u64,
    kind: String,
    source_id: u64,
    snippet: String,
    score: f32,
    subject: Option<String>,
    created_at: chrono::DateTime<chrono::Utc>,
    item_score: Option<f64>,
}

#[derive(Serialize)]
struct Correction {
    word: String,
    used: Vec<String>,
}

#[derive(Serialize)]
struct Response {
    total: usize,
    hits: Vec<Hit>,
    limit: usize,
    offset: usize,
    corrections: Vec<Correction>,
}

async fn search(
    State(ctx): State<ApiContext>,
    _auth: Auth,
    mut params: Params,
) -> Result<Json<Response>> {
    let req = request(&ctx, &mut params).await?;
    params.finish()?;
    let results = run(&ctx, req.clone()).await?;
    Ok(Json(response((results, req))))
}

/// Runs a search off the async workers (tantivy reads block).
pub(crate) async fn run(ctx: &ApiContext, req: SearchRequest) -> Result<SearchResults> {
    let _slot = ctx.limits.search.enter().await?;
    let index = ctx.index.clone();
    tokio::task::spawn_blocking(move || index.search(&req))
        .await
        .map_err(|e| Error::Internal(format!("search task failed: {e}")))?
        .map_err(Error::from)
}

/// The search parameters shared by the API and the web UI's search page; `area` becomes
/// the list of its themes.
pub(crate) async fn request(ctx: &ApiContext, p: &mut Params) -> Result<SearchRequest> {
    let mut req = parse_request(p)?;
    if let Some(area) = p.int("area", 1, i64::MAX)? {
        let themes = crate::themes::areas::theme_ids(&ctx.db, area).await?;
        req.themes_any = Some(themes.into_iter().map(|t| t as u64).collect());
    }
    Ok(req)
}

fn parse_request(p: &mut Params) -> Result<SearchRequest> {
    let kinds: Vec<String> = p
        .text("kind")
        .map(|k| {
            k.split(',')
                .map(|s| s.trim().to_string())
                .filter(|s| !s.is_empty())
                .collect()
        })
        .unwrap_or_default();
    if let Some(bad) = kinds.iter().find(|k| !KINDS.contains(&k.as_str())) {
        return Err(Error::invalid(
            "invalid_value",
            "kind",
            format!("kind must be one of {}, got {bad:?}", KINDS.join(", ")),
        ));
    }
    let sort = match p.text("sort").as_deref() {
        None | Some("relevance") => SortOrder::Relevance,
        Some("newest") | Some("date") => SortOrder::Newest,
        Some("oldest") => SortOrder::Oldest,
        Some(other) => {
            return Err(Error::invalid(
                "invalid_value",
                "sort",
                format!("sort must be relevance, newest or oldest, got {other:?}"),
            ))
        }
    };
    let query = p.text("q").unwrap_or_default();
    if query.chars().count() > 500 {
        return Err(Error::invalid(
            "too_long",
            "q",
            "q is limited to 500 characters",
        ));
    }
    let req = SearchRequest {
        query,
        kinds,
        segment: p.text("segment"),
        theme: p.int("theme", 1, i64::MAX)?.map(|t| t as u64),
        themes_any: None,
        from: p.time("from", false)?,
        to: p.time("to", true)?,
        min_score: p.float("min_score", 0.0, 1.0)?,
        max_score: p.float("max_score", 0.0, 1.0)?,
        sort,
        match_any: false,
        limit: p.int("limit", 1, 100)?.unwrap_or(20) as usize,
        offset: p.int("offset", 0, MAX_OFFSET)?.unwrap_or(0) as usize,
    };
    if let (Some(from), Some(to)) = (req.from, req.to) {
        if from >= to {
            return Err(Error::invalid(
                "invalid_value",
                "to",
                "to must be later than from",
            ));
        }
    }
    Ok(req)
}

fn response((r, req): (SearchResults, SearchRequest)) -> Response {
    Response {
        total: r.total,
        limit: req.limit,
        offset: req.offset,
        hits: r
            .hits
            .into_iter()
            .map(|h| Hit {
                id: h.id,
                kind: h.kind,
                source_id: h.source_id,
                snippet: h.snippet,
                score: h.relevance,
                subject: h.subject,
                created_at: h.created_at,
                item_score: h.item_score,
            })
            .collect(),
        corrections: r
            .corrections
            .into_iter()
            .map(|(word, used)| Correction { word, used })
            .collect(),
    }
}
