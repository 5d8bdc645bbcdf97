//! The item page: one piece of feedback as it was received — kind, date, score, segment,
//! the theme it is in — and the feedback closest to it in meaning, so a reader who lands
//! on one complaint from search sees the others like it.
//!
//! Loaded in one step ([`load`]) and rendered by a pure function ([`render`]).

use std::collections::HashMap;

use axum::extract::State;
use axum::routing::get;
use axum::Router;
use chrono::{DateTime, Utc};
use maud::{html, Markup};
use sea_orm::EntityTrait;

use super::layout::page;
use super::session::Viewer;
use super::widgets::similar_list;
use super::{Html, WebResult};
use crate::db::entity::customer;
use crate::db::items::ItemKind;
use crate::http::{ApiContext, PathIds};
use crate::themes::members::placed_in;
use crate::Error;

/// Items shown as similar.
const SIMILAR: usize = 8;

pub fn router() -> Router<ApiContext> {
    Router::new().route("/items/{id}", get(show))
}

/// What the page shows.
struct ItemPage {
    kind: ItemKind,
    source_id: i64,
    subject: Option<String>,
    text: String,
    score: Option<f64>,
    created_at: DateTime<Utc>,
    segment: Option<String>,
    theme: Option<(i64, String)>,
    similar: Vec<triage_index::SearchHit>,
}

async fn show(State(ctx): State<ApiContext>, viewer: Viewer, ids: PathIds) -> WebResult<Html> {
    let page_data = load(&ctx, ids.first()).await?;
    let title = format!("{} #{}", kind_name(page_data.kind), page_data.source_id);
    Ok(Html(page(&title, &viewer, "/search", render(&page_data))))
}

async fn load(ctx: &ApiContext, id: i64) -> crate::Result<ItemPage> {
    let item = crate::db::items::by_ids(&ctx.db, &[id])
        .await?
        .remove(&id)
        .ok_or_else(|| Error::not_found("item", id))?;
    let segment = match item.customer_id {
        Some(c) => customer::Entity::find_by_id(c)
            .one(&ctx.db)
            .await?
            .and_then(|c| c.segment),
        None => None,
    };
    let mut themes: HashMap<i64, (i64, String)> = placed_in(&ctx.db, &[id]).await?;
    let similar = ctx
        .search_engines()
        .similar_to_item(&ctx.db, id, SIMILAR)
        .await?;
    Ok(ItemPage {
        kind: item.kind,
        source_id: item.source_id,
        subject: item.subject,
        text: item.text,
        score: item.score,
        created_at: item.created_at,
        segment,
        theme: themes.remove(&id),
        similar,
    })
}

fn kind_name(kind: ItemKind) -> String {
    let mut name = kind.label().to_string();
    if let Some(first) = name.get_mut(0..1) {
        first.make_ascii_uppercase();
    }
    name
}

fn render(p: &ItemPage) -> Markup {
    html! {
        h1 { (kind_name(p.kind)) " #" (p.source_id) }
        section.card aria-label="Feedback" {
            p.small.muted {
                "Received " (p.created_at.format("%Y-%m-%d %H:%M UTC"))
                @if let Some(s) = p.score { " · score " (format!("{:.0}", s * 100.0)) "/100" }
                @if let Some(seg) = &p.segment { " · segment " (seg) }
                " · "
                @match &p.theme {
                    Some((tid, label)) => { "theme " a href={"/themes/" (tid)} { (label) } }
                    None => { "not in a theme yet" }
                }
            }
            @if let Some(s) = &p.subject { h2 { (s) } }
            p style="white-space:pre-wrap" { (p.text) }
        }
        section.card aria-labelledby="similar-h" {
            h2 #similar-h { "Similar feedback" }
            (similar_list(&p.similar))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn item() -> ItemPage {
        ItemPage {
            kind: ItemKind::SurveyResponse,
            source_id: 3,
            subject: None,
            text: "<script>alert(1)</script> the export is slow".into(),
            score: Some(0.4),
            created_at: Utc.with_ymd_and_hms(2026, 11, 2, 9, 30, 0).unwrap(),
            segment: Some("enterprise".into()),
            theme: Some((12, "Slow exports".into())),
            similar: Vec::new(),
        }
    }

    #[test]
    fn shows_the_item_escaped_with_its_theme_and_no_similar() {
        let html = render(&item()).into_string();
        assert!(html.contains("Survey response #3"), "{html}");
        assert!(html.contains("&lt;script&gt;"), "text is escaped: {html}");
        assert!(!html.contains("<script>"));
        assert!(html.contains(r#"href="/themes/12""#));
        assert!(html.contains("score 40/100"));
        assert!(html.contains("None close enough"));
    }

    #[test]
    fn an_unthemed_item_says_so_and_similar_items_link_to_their_pages() {
        let mut p = item();
        p.theme = None;
        p.similar = vec![triage_index::SearchHit {
            id: 9,
            source_id: 4,
            kind: "ticket".into(),
            relevance: 0.71,
            snippet: "exports take minutes".into(),
            subject: None,
            created_at: p.created_at,
            item_score: None,
        }];
        let html = render(&p).into_string();
        assert!(html.contains("not in a theme yet"));
        assert!(html.contains(r#"href="/items/9""#), "{html}");
        assert!(html.contains("71% similar"));
    }
}
