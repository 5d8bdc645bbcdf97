//! The search page: the API's search (by words and by meaning, [`crate::search`]) with its
//! filters, results with their highlighted snippets and the theme each item is in, and
//! what the search did when it could not take the words literally: relaxed, corrected or
//! found nothing.

use std::collections::HashMap;

use axum::extract::State;
use axum::routing::get;
use axum::Router;
use maud::{html, PreEscaped};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};

use super::layout::page;
use super::session::Viewer;
use super::widgets::{pager, query};
use super::{Html, WebResult};
use crate::db::customers;
use crate::db::entity::item_theme;
use crate::http::search::{request, run};
use crate::http::{ApiContext, Params};
use crate::search::{Mode, Relaxed};

pub fn router() -> Router<ApiContext> {
    Router::new().route("/search", get(show))
}

/// Theme labels of the given items, for the "in theme" links.
pub async fn themes_of(
    ctx: &ApiContext,
    items: &[i64],
) -> crate::Result<HashMap<i64, (i64, String)>> {
    let placements = item_theme::Entity::find()
        .filter(item_theme::Column::ItemId.is_in(items.to_vec()))
        .filter(item_theme::Column::ThemeId.is_not_null())
        .all(&ctx.db)
        .await?;
    let ids: Vec<i64> = placements.iter().filter_map(|p| p.theme_id).collect();
    let labels = crate::themes::edits::labels_of(&ctx.db, &ids).await?;
    Ok(placements
        .into_iter()
        .filter_map(|p| {
            let t = p.theme_id?;
            Some((p.item_id, (t, labels.get(&t)?.clone())))
        })
        .collect())
}

async fn show(
    State(ctx): State<ApiContext>,
    viewer: Viewer,
    mut params: Params,
) -> WebResult<Html> {
    let keep: Vec<(&str, String)> = [
        "q",
        "mode",
        "exact",
        "kind",
        "segment",
        "theme",
        "from",
        "to",
        "min_score",
        "max_score",
        "sort",
    ]
    .into_iter()
    .map(|k| (k, params.peek(k).unwrap_or_default()))
    .collect();
    let value = |k: &str| {
        keep.iter()
            .find(|(n, _)| *n == k)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    };
    let (req, mode) = request(&ctx, &mut params).await?;
    params.finish()?;
    let searched = keep.iter().any(|(_, v)| !v.is_empty());
    let results = if searched {
        Some(run(&ctx, req.clone(), mode).await?)
    } else {
        None
    };
    // The same search without typo correction, for "search instead for".
    let exact_link = {
        let mut with: Vec<(&str, String)> = keep
            .iter()
            .filter(|(k, _)| *k != "exact")
            .cloned()
            .collect();
        with.push(("exact", "1".into()));
        format!("/search{}", query(&with))
    };
    let segments = customers::segments(&ctx.db).await?;
    let all_themes = crate::themes::edits::live_labels(&ctx.db).await?;
    let ids: Vec<i64> = results
        .iter()
        .flat_map(|r| r.hits.iter().map(|h| h.id as i64))
        .collect();
    let themes = themes_of(&ctx, &ids).await?;
    let body = html! {
        h1 { "Search feedback" }
        form.card method="get" action="/search" role="search" {
            p { label for="q" { "Search by words or by meaning (a question works too)" }
                input #q type="search" name="q" value=(value("q")) maxlength="500" autofocus; }
            div.row {
                div { label for="kind" { "Kind" } select #kind name="kind" {
                    option value="" { "all kinds" }
                    @for (k, l) in [("ticket", "tickets"), ("rating", "ratings"), ("survey_response", "survey responses")] {
                        option value=(k) selected[value("kind") == k] { (l) }
                    } } }
                div { label for="segment" { "Segment" } select #segment name="segment" {
                    option value="" { "all" }
                    @for s in &segments { option value=(s) selected[value("segment") == *s] { (s) } } } }
                div { label for="theme" { "Theme" } select #theme name="theme" {
                    option value="" { "any theme" }
                    @for (id, l) in &all_themes { option value=(id) selected[value("theme") == id.to_string()] { (l) } } } }
                div { label for="min_score" { "Score from (0–1)" } input #min_score type="number" name="min_score" min="0" max="1" step="0.1" value=(value("min_score")); }
                div { label for="max_score" { "Score up to" } input #max_score type="number" name="max_score" min="0" max="1" step="0.1" value=(value("max_score")); }
                div { label for="from" { "From" } input #from type="date" name="from" value=(value("from")); }
                div { label for="to" { "To" } input #to type="date" name="to" value=(value("to")); }
                div { label for="mode" { "Match" } select #mode name="mode" {
                    @for (k, l) in [("hybrid", "words and meaning"), ("keyword", "words only"), ("semantic", "meaning only")] {
                        option value=(k) selected[value("mode") == k] { (l) }
                    } } }
                div { label for="sort" { "Order" } select #sort name="sort" {
                    @for (k, l) in [("relevance", "best match"), ("newest", "newest"), ("oldest", "oldest")] {
                        option value=(k) selected[value("sort") == k] { (l) }
                    } } }
                button type="submit" { "Search" }
            }
        }
        @if let Some(r) = &results {
            @if mode != r.mode && ctx.embedder.is_none() {
                p.flash role="status" { "Search by meaning is off (the embedding model is not loaded): words only." }
            }
            @match r.relaxed {
                Some(Relaxed::SomeWords) => p.flash role="status" {
                    "No item has all of " (r.words.join(", ")) " — showing the closest matches." }
                Some(Relaxed::Meaning) => p.flash role="status" {
                    "No item has any of " (r.words.join(", ")) " — showing the closest matches by meaning." }
                None => {}
            }
            @if !r.corrections.is_empty() {
                p.flash role="status" {
                    "Showing results for "
                    @for (i, (_, used)) in r.corrections.iter().enumerate() {
                        @if i > 0 { ", " }
                        em { (used.join(" / ")) }
                    }
                    " — search instead for "
                    a href=(exact_link) {
                        @for (i, (word, _)) in r.corrections.iter().enumerate() {
                            @if i > 0 { ", " }
                            em { (word) }
                        }
                    }
                }
            }
            @if r.hits.is_empty() {
                div.card role="status" {
                    p { strong { "Nothing found" } }
                    p.muted { (empty_reason(&req, r.mode)) }
                }
            }
            ol.card style="list-style:none;padding-left:1rem" aria-label="Results" {
                @for h in &r.hits {
                    li style="padding:.5rem 0;border-bottom:1px solid var(--line)" {
                        div.small.muted {
                            a href={"/items/" (h.id)} { (h.kind.replace('_', " ")) " #" (h.source_id) } " · " (h.created_at.format("%Y-%m-%d"))
                            @if let Some(s) = h.item_score { " · score " (format!("{:.0}", s * 100.0)) "/100" }
                            @if let Some((tid, label)) = themes.get(&(h.id as i64)) { " · theme " a href={"/themes/" (tid)} { (label) } }
                        }
                        @if let Some(s) = &h.subject { strong { (s) } br; }
                        // The index escapes the text and adds only <b> around matches.
                        span.snippet { (PreEscaped(&h.snippet)) }
                    }
                }
            }
            @if !r.hits.is_empty() {
                (pager("/search", &keep, req.offset as u64, req.limit as u64, r.total as u64))
            }
        }
    };
    Ok(Html(page("Search", &viewer, "/search", body)))
}

/// Why a search found nothing, and what to try.
fn empty_reason(req: &triage_index::SearchRequest, mode: Mode) -> String {
    let filtered = !req.kinds.is_empty()
        || req.segment.is_some()
        || req.theme.is_some()
        || req.themes_any.is_some()
        || req.from.is_some()
        || req.to.is_some()
        || req.min_score.is_some()
        || req.max_score.is_some();
    let words = !req.query.trim().is_empty();
    match (words, filtered, mode) {
        (_, true, _) if req.offset > 0 => "This page is past the last result.".into(),
        (true, true, _) => "No item matches these words within the filters. Try removing a filter.".into(),
        (false, true, _) => "No item passes these filters. Try widening the dates or removing a filter.".into(),
        (true, false, Mode::Keyword) => "No item has any of these words. Try other words, or match by meaning.".into(),
        (true, false, _) => "No item is close to this in words or in meaning. Try describing the problem differently.".into(),
        (false, false, _) => "There is no feedback yet.".into(),
    }
}
