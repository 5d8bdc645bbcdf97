//! The search page: the API's search (by words and by meaning, [`crate::search`]) with its
//! filters, results with their highlighted snippets and the theme each item is in, and
//! what the search did when it could not take the words literally: relaxed, corrected or
//! found nothing.
//!
//! Loaded in one step ([`load`]) and rendered by a pure function ([`render`]).

use std::collections::HashMap;

use axum::extract::State;
use axum::routing::get;
use axum::Router;
use maud::{html, Markup, PreEscaped};

use super::layout::page;
use super::session::Viewer;
use super::widgets::{pager, query};
use super::{Html, WebResult};
use crate::db::customers;
use crate::db::items::ItemKind;
use crate::http::queries::SearchParams;
use crate::http::{ApiContext, Params};
use crate::search::{Found, Mode, Relaxed};
use crate::themes::members::placed_in;

pub fn router() -> Router<ApiContext> {
    Router::new().route("/search", get(show))
}

/// The form fields the page keeps between searches, in the order of the pager's links.
const FORM: [&str; 11] = [
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
];

/// What the search page shows, read in one step ([`load`]).
struct SearchPage {
    /// The form as submitted (every field of [`FORM`], empty when not given).
    form: Vec<(&'static str, String)>,
    request: triage_index::SearchRequest,
    /// The mode asked for; the results say which one ran.
    mode: Mode,
    /// `None` until something is searched.
    results: Option<Found>,
    /// Whether the model for search by meaning is loaded.
    meaning_available: bool,
    segments: Vec<String>,
    /// Every live theme, by label, for the theme filter.
    all_themes: Vec<(i64, String)>,
    /// The theme of each result, by item id.
    themes: HashMap<i64, (i64, String)>,
}

impl SearchPage {
    fn value(&self, field: &str) -> String {
        self.form
            .iter()
            .find(|(n, _)| *n == field)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    }

    /// The same search without typo correction, for "search instead for".
    fn exact_link(&self) -> String {
        let mut with: Vec<(&str, String)> = self
            .form
            .iter()
            .filter(|(k, _)| *k != "exact")
            .cloned()
            .collect();
        with.push(("exact", "1".into()));
        format!("/search{}", query(&with))
    }
}

async fn show(
    State(ctx): State<ApiContext>,
    viewer: Viewer,
    mut params: Params,
) -> WebResult<Html> {
    let form: Vec<(&'static str, String)> = FORM
        .into_iter()
        .map(|k| (k, params.peek(k).unwrap_or_default()))
        .collect();
    let search = SearchParams::parse(&mut params)?;
    params.finish()?;
    let p = load(&ctx, form, search).await?;
    Ok(Html(page("Search", &viewer, "/search", render(&p))))
}

async fn load(
    ctx: &ApiContext,
    form: Vec<(&'static str, String)>,
    search: SearchParams,
) -> crate::Result<SearchPage> {
    let (request, mode) = (search.request.clone(), search.mode);
    let searched = form.iter().any(|(_, v)| !v.is_empty());
    let results = if searched {
        Some(ctx.search(search).await?)
    } else {
        None
    };
    let ids: Vec<i64> = results
        .iter()
        .flat_map(|r| r.hits.iter().map(|h| h.id as i64))
        .collect();
    Ok(SearchPage {
        form,
        request,
        mode,
        results,
        meaning_available: ctx.embedder.is_some(),
        segments: customers::segments(&ctx.db).await?,
        all_themes: crate::themes::edits::live_labels(&ctx.db).await?,
        themes: placed_in(&ctx.db, &ids).await?,
    })
}

fn render(p: &SearchPage) -> Markup {
    html! {
        h1 { "Search feedback" }
        form.card method="get" action="/search" role="search" {
            p { label for="q" { "Search by words or by meaning (a question works too)" }
                input #q type="search" name="q" value=(p.value("q")) maxlength="500" autofocus; }
            div.row {
                div { label for="kind" { "Kind" } select #kind name="kind" {
                    option value="" { "all kinds" }
                    @for k in ItemKind::ALL {
                        option value=(k.as_str()) selected[p.value("kind") == k.as_str()] { (k.plural()) }
                    } } }
                div { label for="segment" { "Segment" } select #segment name="segment" {
                    option value="" { "all" }
                    @for s in &p.segments { option value=(s) selected[p.value("segment") == *s] { (s) } } } }
                div { label for="theme" { "Theme" } select #theme name="theme" {
                    option value="" { "any theme" }
                    @for (id, l) in &p.all_themes { option value=(id) selected[p.value("theme") == id.to_string()] { (l) } } } }
                div { label for="min_score" { "Score from (0–1)" } input #min_score type="number" name="min_score" min="0" max="1" step="0.1" value=(p.value("min_score")); }
                div { label for="max_score" { "Score up to" } input #max_score type="number" name="max_score" min="0" max="1" step="0.1" value=(p.value("max_score")); }
                div { label for="from" { "From" } input #from type="date" name="from" value=(p.value("from")); }
                div { label for="to" { "To" } input #to type="date" name="to" value=(p.value("to")); }
                div { label for="mode" { "Match" } select #mode name="mode" {
                    @for (k, l) in [("hybrid", "words and meaning"), ("keyword", "words only"), ("semantic", "meaning only")] {
                        option value=(k) selected[p.value("mode") == k] { (l) }
                    } } }
                div { label for="sort" { "Order" } select #sort name="sort" {
                    @for (k, l) in [("relevance", "best match"), ("newest", "newest"), ("oldest", "oldest")] {
                        option value=(k) selected[p.value("sort") == k] { (l) }
                    } } }
                button type="submit" { "Search" }
            }
        }
        @if let Some(r) = &p.results {
            @if p.mode != r.mode && !p.meaning_available {
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
                    a href=(p.exact_link()) {
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
                    p.muted { (empty_reason(&p.request, r.mode)) }
                }
            }
            ol.card style="list-style:none;padding-left:1rem" aria-label="Results" {
                @for h in &r.hits {
                    li style="padding:.5rem 0;border-bottom:1px solid var(--line)" {
                        div.small.muted {
                            a href={"/items/" (h.id)} { (h.kind.replace('_', " ")) " #" (h.source_id) } " · " (h.created_at.format("%Y-%m-%d"))
                            @if let Some(s) = h.item_score { " · score " (format!("{:.0}", s * 100.0)) "/100" }
                            @if let Some((tid, label)) = p.themes.get(&(h.id as i64)) { " · theme " a href={"/themes/" (tid)} { (label) } }
                        }
                        @if let Some(s) = &h.subject { strong { (s) } br; }
                        // The index escapes the text and adds only <b> around matches.
                        span.snippet { (PreEscaped(&h.snippet)) }
                    }
                }
            }
            @if !r.hits.is_empty() {
                (pager("/search", &p.form, p.request.offset as u64, p.request.limit as u64, r.total as u64))
            }
        }
    }
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

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{TimeZone, Utc};

    fn searched(q: &str, found: Option<Found>) -> SearchPage {
        SearchPage {
            form: FORM
                .into_iter()
                .map(|k| {
                    (
                        k,
                        if k == "q" {
                            q.to_string()
                        } else {
                            String::new()
                        },
                    )
                })
                .collect(),
            request: triage_index::SearchRequest {
                query: q.into(),
                limit: 20,
                ..Default::default()
            },
            mode: Mode::Hybrid,
            results: found,
            meaning_available: true,
            segments: vec!["enterprise".into()],
            all_themes: vec![(4, "Card delivery".into())],
            themes: HashMap::from([(11, (4, "Card delivery".into()))]),
        }
    }

    fn found(hits: Vec<triage_index::SearchHit>) -> Found {
        Found {
            total: hits.len(),
            hits,
            corrections: Vec::new(),
            relaxed: None,
            mode: Mode::Hybrid,
            words: vec!["card".into(), "arriv".into()],
        }
    }

    #[test]
    fn before_a_search_there_is_only_the_form() {
        let html = render(&searched("", None)).into_string();
        assert!(html.contains(r#"role="search""#));
        assert!(html.contains(r#"<option value="enterprise">enterprise</option>"#));
        assert!(!html.contains("Nothing found"));
        assert!(!html.contains(r#"aria-label="Results""#));
    }

    #[test]
    fn results_link_to_items_and_their_themes_and_keep_the_snippet_markup() {
        let hit = triage_index::SearchHit {
            id: 11,
            source_id: 5,
            kind: "ticket".into(),
            relevance: 0.9,
            snippet: "my <b>card</b> has not &lt;arrived&gt;".into(),
            subject: Some("Where is it?".into()),
            created_at: Utc.with_ymd_and_hms(2026, 11, 2, 9, 0, 0).unwrap(),
            item_score: None,
        };
        let html = render(&searched("card", Some(found(vec![hit])))).into_string();
        assert!(html.contains(r#"href="/items/11""#), "{html}");
        assert!(html.contains(r#"href="/themes/4""#));
        assert!(html.contains("my <b>card</b> has not &lt;arrived&gt;"));
        assert!(
            html.contains(r#"value="card""#),
            "the query stays in the box"
        );
    }

    #[test]
    fn an_empty_result_explains_itself_and_a_correction_offers_the_exact_search() {
        let mut f = found(Vec::new());
        f.corrections = vec![("crashes".into(), vec!["cash".into()])];
        let html = render(&searched("crashes", Some(f))).into_string();
        assert!(html.contains("Nothing found"));
        assert!(html.contains("No item is close to this in words or in meaning"));
        assert!(html.contains("Showing results for <em>cash</em>"), "{html}");
        assert!(html.contains("exact=1"), "{html}");
    }
}
