//! Support staff's pages: the ticket list, and the ticket form that suggests matching
//! themes and similar past tickets while the agent types.
//!
//! Suggestions compare the draft's embedding with theme centroids and with past tickets
//! (those in the closest themes, plus the search index's keyword matches). The form posts normally, so it works without the script;
//! the script only fetches `/tickets/suggest` as the agent types (debounced).

use axum::extract::State;
use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use maud::{html, Markup};
use sea_orm::EntityTrait;
use triage_index::SearchRequest;

use super::layout::page;
use super::session::{Fields, Form, Viewer};
use super::widgets::{csrf, flash, pager};
use super::{done, Html, WebResult};
use crate::db::entity::ticket::{Column, Entity as Tickets};
use crate::db::items;
use crate::db::items::ItemKind;
use crate::http::{ApiContext, Params};
use crate::intake::input::{CustomerInput, TicketInput};
use crate::intake::store::Source;
use crate::intake::validate;
use crate::themes::members::placed_in;
use crate::themes::suggest::{self, Suggestions};
use crate::Error;

pub fn router() -> Router<ApiContext> {
    Router::new()
        .route("/tickets", get(list).post(create))
        .route("/tickets/new", get(new_form))
        .route("/tickets/suggest", get(suggest))
        .route("/assets/suggest.js", get(suggest_script))
}

async fn list(
    State(ctx): State<ApiContext>,
    viewer: Viewer,
    mut params: Params,
) -> WebResult<Html> {
    let message = params.text("done");
    let at = params.page(50, 200)?;
    params.finish()?;
    let (rows, total) =
        crate::db::page(&ctx.db, Tickets::find(), Column::Id, at.limit, at.offset).await?;
    let ids: Vec<i64> = rows.iter().map(|t| t.id).collect();
    let item_ids = items::ids_by_source(&ctx.db, ItemKind::Ticket, &ids).await?;
    let themes = placed_in(&ctx.db, &item_ids.values().copied().collect::<Vec<_>>()).await?;
    let body = html! {
        (flash(message.as_deref()))
        div.row style="justify-content:space-between;align-items:center" {
            h1 { "Tickets" }
            a.button href="/tickets/new" { "New ticket" }
        }
        table.stack.card {
            thead { tr { th { "#" } th { "Subject" } th { "Priority" } th { "Status" } th { "Theme" } th { "Date" } } }
            tbody { @for t in &rows {
                tr {
                    td data-label="#" { (t.id) }
                    td data-label="Subject" { (t.subject) }
                    td data-label="Priority" { (t.priority) }
                    td data-label="Status" { (t.status) }
                    td data-label="Theme" {
                        @match item_ids.get(&t.id).and_then(|i| themes.get(i)) {
                            Some((tid, label)) => a href={"/themes/" (tid)} { (label) },
                            None => span.muted { "not themed yet" },
                        }
                    }
                    td data-label="Date" { (t.created_at.format("%Y-%m-%d")) }
                }
            } }
        }
        (pager("/tickets", &[], at.offset, at.limit, total))
    };
    Ok(Html(page("Tickets", &viewer, "/tickets", body)))
}

/// The ticket form's script, served from `/assets/suggest.js` (never inline: the CSP
/// forbids inline script).
const SUGGEST_SCRIPT: &str = include_str!("assets/suggest.js");

async fn suggest_script() -> Response {
    (
        [
            (CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (CACHE_CONTROL, "public, max-age=3600"),
        ],
        SUGGEST_SCRIPT,
    )
        .into_response()
}

fn form(viewer: &Viewer, values: &Fields, error: Option<&str>) -> Markup {
    let v = |k: &str| values.raw(k).unwrap_or_default();
    let priority = values.text("priority").unwrap_or_else(|| "normal".into());
    html! {
        h1 { "New ticket" }
        @if let Some(e) = error { p.error role="alert" { (e) } }
        div.grid2 {
            form #ticket-form.card method="post" action="/tickets" {
                (csrf(&viewer.csrf))
                p { label for="subject" { "Subject" } input #subject type="text" name="subject" value=(v("subject")) maxlength="300" required autocomplete="off"; }
                p { label for="body" { "What the customer says" } textarea #body name="body" required { (v("body")) } }
                div.row {
                    div { label for="priority" { "Priority" } select #priority name="priority" {
                        @for p in ["low", "normal", "high", "urgent"] { option value=(p) selected[priority == p] { (p) } } } }
                    div { label for="customer_email" { "Customer email" } input #customer_email type="email" name="customer_email" value=(v("customer_email")); }
                    div { label for="customer_name" { "Customer name" } input #customer_name type="text" name="customer_name" value=(v("customer_name")); }
                }
                p { input #notify type="checkbox" name="notify_opt_in" value="true" checked[values.checked("notify_opt_in")]; " "
                    label for="notify" style="display:inline" { "The customer wants to hear back when this is fixed" } }
                button type="submit" { "File ticket" }
            }
            section.card aria-labelledby="sugg-h" {
                h2 #sugg-h { "Suggestions" }
                div #suggestions aria-live="polite" { p.muted.small { "Matching themes and similar past tickets appear here as you type." } }
            }
        }
        script src="/assets/suggest.js" defer {}
    }
}

async fn new_form(viewer: Viewer) -> Html {
    let empty = Fields::default();
    Html(page(
        "New ticket",
        &viewer,
        "/tickets/new",
        form(&viewer, &empty, None),
    ))
}

async fn create(State(ctx): State<ApiContext>, Form(viewer, f): Form) -> WebResult<Response> {
    let email = f.text("customer_email");
    let name = f.text("customer_name");
    let input = TicketInput {
        subject: f.raw("subject").unwrap_or_default(),
        body: f.raw("body").unwrap_or_default(),
        priority: f.text("priority"),
        status: None,
        tags: None,
        external_id: None,
        customer: (email.is_some() || name.is_some()).then(|| CustomerInput {
            email,
            name,
            notify_opt_in: Some(f.checked("notify_opt_in")),
            ..Default::default()
        }),
        created_at: None,
    };
    let stored = match validate::ticket(input) {
        Ok(t) => ctx.writes.tickets.store(t, Source::Web).await,
        Err(e) => Err(e),
    };
    match stored {
        Ok((id, _)) => {
            ctx.wake_workers();
            Ok(done("/tickets", &format!("Ticket #{id} filed.")))
        }
        // Keep what the agent typed: show the form again with the problem named.
        Err(e @ Error::Invalid { .. }) => {
            let message = e.to_string();
            let page = page(
                "New ticket",
                &viewer,
                "/tickets/new",
                form(&viewer, &f, Some(&message)),
            );
            Ok((StatusCode::BAD_REQUEST, Html(page)).into_response())
        }
        Err(e) => Err(e.into()),
    }
}

/// The suggestions panel for a draft: the closest themes by meaning, and the most
/// similar past tickets (by meaning among the close themes' tickets and what hybrid
/// search finds for the draft). Without the model, keyword matches only.
async fn suggest(
    State(ctx): State<ApiContext>,
    _viewer: Viewer,
    mut params: Params,
) -> WebResult<Html> {
    let text: String = params
        .text("text")
        .unwrap_or_default()
        .chars()
        .take(500)
        .collect();
    params.finish()?;
    // Embedding a draft takes a core for a moment: a few at a time (see http::limits).
    let _slot = ctx.limits.suggest.enter().await?;
    // The suggest slot already bounds this work; a search slot as well would let a flood
    // of searches starve the form's suggestions.
    let matches = ctx
        .search_engines()
        .search(
            SearchRequest {
                query: text.clone(),
                kinds: vec!["ticket".into()],
                match_any: true,
                // A draft is half-typed: its last word is often a prefix, not a typo.
                exact_words: true,
                limit: 20,
                ..Default::default()
            },
            crate::search::Mode::Hybrid,
        )
        .await?;
    let keyword_ids: Vec<i64> = matches.hits.iter().map(|h| h.id as i64).collect();
    let found = match &ctx.embedder {
        Some(embedder) => {
            suggest::for_draft(
                &ctx.db,
                embedder.clone(),
                &text,
                "ticket",
                &keyword_ids,
                3,
                5,
            )
            .await?
        }
        None => Suggestions {
            themes: Vec::new(),
            items: keyword_ids.iter().take(5).map(|id| (*id, 0.0)).collect(),
        },
    };
    let ids: Vec<i64> = found.items.iter().map(|(id, _)| *id).collect();
    let items = items::by_ids(&ctx.db, &ids).await?;
    let percent = |s: f32| format!("{:.0}%", s * 100.0);
    Ok(Html(html! {
        h3.small { "Matching themes" }
        @if ctx.embedder.is_none() { p.muted.small { "The embedding model is not loaded; showing keyword matches only." } }
        @if found.themes.is_empty() && ctx.embedder.is_some() { p.muted.small { "No theme is close yet." } }
        ul { @for t in &found.themes {
            li { a href={"/themes/" (t.id)} target="_blank" { (t.label) } span.muted.small { " · " (percent(t.similarity)) " similar" } }
        } }
        h3.small { "Similar past tickets" }
        @if found.items.is_empty() { p.muted.small { "None found." } }
        ul { @for (id, similarity) in &found.items {
            @if let Some(i) = items.get(id) {
                li {
                    @if let Some(s) = &i.subject { strong { (s) } " — " }
                    (i.text)
                    @if *similarity > 0.0 { span.muted.small { " · " (percent(*similarity)) } }
                }
            }
        } }
    }))
}
