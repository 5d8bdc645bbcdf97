//! `GET /api/v1/areas`: themes grouped into areas, the coarser level ("Cards",
//! "Transfers"), each with its themes' combined evidence. Takes the backlog's filters
//! (`period`, `segment`, `status`, `as_of`); the grouping is `backlog::by_area`, the same
//! function the backlog page's "by area" view calls.

use axum::extract::State;
use axum::Json;
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

use super::{ApiContext, Auth, Params};
use crate::backlog;
use crate::Result;

pub fn router() -> OpenApiRouter<ApiContext> {
    OpenApiRouter::new().routes(routes!(list))
}

/// An area: a group of related themes.
#[derive(Serialize, ToSchema)]
#[schema(as = Area)]
struct AreaView {
    /// `null` for themes that are in no area.
    id: Option<i64>,
    label: String,
    generated_label: Option<String>,
    keywords: Vec<String>,
    /// Items in its themes (all time).
    size: i64,
    /// The sum of its themes' backlog scores over the period.
    score: f64,
    /// Items in the period.
    volume: f64,
    themes: Vec<AreaTheme>,
}

#[derive(Serialize, ToSchema)]
struct AreaTheme {
    id: i64,
    label: String,
    score: f64,
    size: i32,
}

#[derive(Serialize, ToSchema)]
struct AreasPage {
    items: Vec<AreaView>,
    total: usize,
}

/// Themes grouped into areas, areas by their themes' combined score (docs/themes.md).
#[utoipa::path(get, path = "/areas", tag = "backlog", params(super::backlog::BacklogQuery),
    responses((status = 200, description = "the areas", body = AreasPage)))]
async fn list(
    State(ctx): State<ApiContext>,
    _auth: Auth,
    mut params: Params,
) -> Result<Json<AreasPage>> {
    let filter = super::queries::backlog_filter(&mut params)?;
    params.finish()?;
    let groups = backlog::by_area(&ctx.db, &ctx.config.backlog_weights, &filter).await?;
    let items: Vec<AreaView> = groups
        .into_iter()
        .map(|g| AreaView {
            id: g.area.as_ref().map(|a| a.id),
            label: g.label().to_string(),
            generated_label: g.area.as_ref().map(|a| a.label.clone()),
            keywords: g
                .area
                .as_ref()
                .and_then(|a| serde_json::from_str(&a.keywords).ok())
                .unwrap_or_default(),
            size: g.themes.iter().map(|e| i64::from(e.theme.size)).sum(),
            score: (g.score * 10.0).round() / 10.0,
            volume: g.volume,
            themes: g
                .themes
                .iter()
                .map(|e| AreaTheme {
                    id: e.theme.id,
                    label: e.label().to_string(),
                    score: e.score.score,
                    size: e.theme.size,
                })
                .collect(),
        })
        .collect();
    Ok(Json(AreasPage {
        total: items.len(),
        items,
    }))
}
