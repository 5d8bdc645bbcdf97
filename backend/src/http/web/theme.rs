//! The theme page: what the theme is about (label, keywords, quotes), why it ranks where
//! it does (score breakdown, rating impact, weekly volume, customers), its items, the
//! feedback outside it that is closest in meaning, and —
//! for product managers — the workflow form and the rename / merge / split / move tools.

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use chrono::Duration;
use maud::{html, Markup};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};

use super::layout::page;
use super::session::{Form, Viewer};
use super::widgets::{
    csrf, figure, flags, flash, pager, scorebar, similar_list, status, week_bars,
};
use super::{done, see_other, Html, WebResult};
use crate::backlog::score::WEEKS;
use crate::backlog::workflow::{self, EntryChange, EFFORTS, STATUSES};
use crate::backlog::{self, Entry, Filter, COMPONENTS};
use crate::db::customers;
use crate::db::entity::{backlog_change, theme, theme_edit};
use crate::http::themes::members;
use crate::http::{ApiContext, Page, Params, PathIds};
use crate::themes::edits;

pub fn router() -> Router<ApiContext> {
    Router::new()
        .route("/themes/{id}", get(show))
        .route("/themes/{id}/backlog", post(save_workflow))
        .route("/themes/{id}/rename", post(rename))
        .route("/themes/{id}/merge", post(merge))
        .route("/themes/{id}/items", post(items_action))
}

/// The theme's backlog entry, scored over the last 28 days like the backlog's default.
async fn entry(ctx: &ApiContext, id: i64) -> crate::Result<Option<Entry>> {
    let f = Filter::new(chrono::Utc::now());
    let entries = backlog::rank(&ctx.db, &ctx.config.backlog_weights, &f).await?;
    Ok(entries.into_iter().find(|e| e.theme.id == id))
}

/// Every other live theme, by label, for the merge and move menus.
async fn other_themes(ctx: &ApiContext, id: i64) -> crate::Result<Vec<(i64, String)>> {
    let mut all = edits::live_labels(&ctx.db).await?;
    all.retain(|(t, _)| *t != id);
    Ok(all)
}

async fn show(
    State(ctx): State<ApiContext>,
    viewer: Viewer,
    ids: PathIds,
    mut params: Params,
) -> WebResult<Response> {
    let id = ids.first();
    let message = params.text("done");
    let page_at = params.page(50, 200)?;
    params.finish()?;
    let t = theme::Entity::find_by_id(id)
        .one(&ctx.db)
        .await?
        .ok_or_else(|| crate::Error::not_found("theme", id))?;
    if let Some(into) = t.merged_into {
        return Ok(see_other(&format!("/themes/{into}")));
    }
    let entry = entry(&ctx, id).await?.unwrap_or_else(|| Entry {
        workflow: workflow::blank(id),
        score: backlog::score::ThemeScore::empty(id),
        theme: t.clone(),
    });
    let items = members(&ctx, Some(id), page_at).await?;
    let quotes = members(
        &ctx,
        Some(id),
        Page {
            limit: 3,
            offset: 0,
        },
    )
    .await?;
    let contributors = customers::contributors(&ctx.db, id, 10).await?;
    let similar = ctx
        .search_engines()
        .similar_to_theme(&ctx.db, id, 5)
        .await?;
    let others = other_themes(&ctx, id).await?;
    let changes = backlog_change::Entity::find()
        .filter(backlog_change::Column::ThemeId.eq(id))
        .order_by_desc(backlog_change::Column::Id)
        .limit(20)
        .all(&ctx.db)
        .await?;
    let edits = theme_edit::Entity::find()
        .filter(theme_edit::Column::ThemeId.eq(id))
        .order_by_desc(theme_edit::Column::Id)
        .limit(20)
        .all(&ctx.db)
        .await?;
    let now = chrono::Utc::now();
    let week_labels: Vec<String> = (0..WEEKS)
        .map(|i| {
            let start = now - Duration::weeks((WEEKS - i) as i64);
            start.format("W%V").to_string()
        })
        .collect();
    let s = &entry.score;
    let label = entry.label().to_string();
    let body = html! {
        (flash(message.as_deref()))
        p.small { a href="/backlog" { "← Backlog" } }
        h1 { (label) " " (flags(s.rising, s.is_new, entry.workflow.pinned)) }
        p.muted { "Keywords: " (entry.keywords().join(", ")) " · " (t.size) " items · " (status(&entry.workflow.status))
            @if let Some(o) = &entry.workflow.owner { " · owner " (o) }
            @if let Some(e) = &entry.workflow.effort { " · effort " (e.to_uppercase()) } }
        div.grid2 {
            div {
                section.card aria-labelledby="quotes-h" {
                    h2 #quotes-h { "What customers say" }
                    @for q in &quotes.items { blockquote { (q.text) } }
                }
                section.card aria-labelledby="score-h" {
                    h2 #score-h { "Score " (format!("{:.1}", s.score)) " / 100" }
                    (scorebar(&s.contributions))
                    table.small {
                        thead { tr { th { "Component" } th.num { "Figure" } th.num { "Points" } } }
                        tbody { @for (i, c) in COMPONENTS.iter().enumerate() {
                            tr { td { (c.replace('_', " ")) } td.num { (figure(i, s.components[i])) } td.num { (s.contributions[i]) } }
                        } }
                    }
                    p.small.muted { (impact_sentence(s.components[3])) " Figures cover the last 28 days; velocity compares the last 7 days with the 4 weeks before." }
                }
                section.card aria-labelledby="weeks-h" {
                    h2 #weeks-h { "Items per week" }
                    (week_bars(&s.weekly, &week_labels))
                    @if s.rising { p.small { "Rising: this week is " (s.z_score) " standard deviations above the 8 weeks before." } }
                }
            }
            div {
                @if viewer.can_edit() { (workflow_form(&viewer, &entry)) }
                section.card aria-labelledby="cust-h" {
                    h2 #cust-h { "Customers" }
                    @if contributors.is_empty() { p.muted { "No identified customers." } }
                    ul { @for c in &contributors {
                        li { (c.name.as_deref().or(c.email.as_deref()).unwrap_or("unnamed")) " — " (c.items) " item" @if c.items != 1 { "s" }
                            @if let Some(seg) = &c.segment { " · " (seg) }
                            @if let Some(v) = c.account_value { " · value " (format!("{v:.0}")) } }
                    } }
                }
                section.card aria-labelledby="similar-h" {
                    h2 #similar-h { "Similar feedback outside this theme" }
                    (similar_list(&similar))
                }
                @if viewer.can_edit() { (tools(&viewer, id, &label, &others)) }
                section.card aria-labelledby="hist-h" {
                    h2 #hist-h { "History" }
                    ul.small {
                        @for c in &changes { li { (c.created_at.format("%Y-%m-%d %H:%M")) " · " (c.actor) " set " (c.field) ": " (c.before.as_deref().unwrap_or("—")) " → " (c.after.as_deref().unwrap_or("—")) } }
                        @for e in &edits { li { (e.created_at.format("%Y-%m-%d %H:%M")) " · " (e.actor) " " (e.action) } }
                    }
                    @if changes.is_empty() && edits.is_empty() { p.muted.small { "No changes yet." } }
                }
            }
        }
        section.card aria-labelledby="items-h" {
            h2 #items-h { "All items" }
            form method="post" action={"/themes/" (id) "/items"} {
                (csrf(&viewer.csrf))
                table.stack {
                    thead { tr { @if viewer.can_edit() { th { span.visually-hidden { "Select" } } } th { "Item" } th { "Kind" } th { "Date" } } }
                    tbody { @for i in &items.items { tr {
                        @if viewer.can_edit() { td data-label="Select" { input type="checkbox" name="item_ids" value=(i.item_id) aria-label={"Select item " (i.item_id)}; } }
                        td data-label="Item" { @if let Some(sub) = &i.subject { strong { (sub) } br; } (i.text) }
                        td data-label="Kind" { (i.kind.replace('_', " ")) }
                        td data-label="Date" { (i.created_at.format("%Y-%m-%d")) }
                    } } }
                }
                @if viewer.can_edit() && !items.items.is_empty() {
                    div.row style="margin-top:.75rem" {
                        div { label for="split-label" { "New theme name" } input #split-label type="text" name="label" maxlength="200"; }
                        button.secondary type="submit" name="action" value="split" { "Split selected into a new theme" }
                        div { label for="move-to" { "Move selected to" }
                            select #move-to name="to" {
                                option value="" { "the unthemed queue" }
                                @for (tid, l) in &others { option value=(tid) { (l) } }
                            } }
                        button.secondary type="submit" name="action" value="move" { "Move" }
                    }
                }
            }
            (pager(&format!("/themes/{id}"), &[], items.offset, items.limit, items.total))
        }
    };
    Ok(Html(page(&label, &viewer, "/backlog", body)).into_response())
}

fn impact_sentence(points: f64) -> String {
    if points > 0.0 {
        format!("Without this theme's feedback, average satisfaction would be {points:.2} points higher (0–100 scale).")
    } else {
        "This theme's feedback does not lower average satisfaction.".into()
    }
}

fn workflow_form(viewer: &Viewer, e: &Entry) -> Markup {
    let w = &e.workflow;
    html! {
        form.card method="post" action={"/themes/" (e.theme.id) "/backlog"} aria-labelledby="wf-h" {
            h2 #wf-h { "Backlog" }
            (csrf(&viewer.csrf))
            div.row {
                div { label for="wf-status" { "Status" }
                    select #wf-status name="status" { @for s in STATUSES { option value=(s) selected[w.status == s] { (s.replace('_', " ")) } } } }
                div { label for="wf-effort" { "Effort" }
                    select #wf-effort name="effort" {
                        option value="" { "not estimated" }
                        @for x in EFFORTS { option value=(x) selected[w.effort.as_deref() == Some(x)] { (x.to_uppercase()) } }
                    } }
                div { label for="wf-owner" { "Owner" } input #wf-owner type="text" name="owner" value=(w.owner.as_deref().unwrap_or("")) maxlength="200"; }
            }
            p { label for="wf-notes" { "Notes" } textarea #wf-notes name="notes" maxlength="10000" { (w.notes) } }
            p { input #wf-pinned type="checkbox" name="pinned" value="true" checked[w.pinned]; " " label for="wf-pinned" style="display:inline" { "Pin to the top of the backlog" } }
            button type="submit" { "Save" }
        }
    }
}

fn tools(viewer: &Viewer, id: i64, label: &str, others: &[(i64, String)]) -> Markup {
    html! {
        section.card aria-labelledby="tools-h" {
            h2 #tools-h { "Edit theme" }
            form method="post" action={"/themes/" (id) "/rename"} {
                (csrf(&viewer.csrf))
                label for="rename" { "Name" }
                div.row { input #rename type="text" name="label" value=(label) maxlength="200" required style="flex:1"; button.secondary type="submit" { "Rename" } }
            }
            form method="post" action={"/themes/" (id) "/merge"} style="margin-top:1rem" {
                (csrf(&viewer.csrf))
                label for="merge-into" { "Merge this theme into" }
                div.row {
                    select #merge-into name="into" required style="flex:1" {
                        option value="" { "choose a theme…" }
                        @for (tid, l) in others { option value=(tid) { (l) } }
                    }
                    button.danger type="submit" { "Merge" }
                }
            }
        }
    }
}

async fn save_workflow(
    State(ctx): State<ApiContext>,
    ids: PathIds,
    Form(viewer, f): Form,
) -> WebResult<Response> {
    viewer.require_editor()?;
    let change = EntryChange {
        status: f.text("status"),
        notes: Some(f.raw("notes").unwrap_or_default()),
        effort: Some(f.text("effort").unwrap_or_default()),
        owner: Some(f.text("owner").unwrap_or_default()),
        pinned: Some(f.checked("pinned")),
    };
    let (_, changes) = workflow::update(
        &ctx.db,
        ids.first(),
        change,
        &viewer.actor(),
        &ctx.config.base_url,
    )
    .await?;
    let message = if changes.is_empty() {
        "Nothing changed."
    } else {
        "Saved."
    };
    Ok(done(&format!("/themes/{}", ids.first()), message))
}

async fn rename(
    State(ctx): State<ApiContext>,
    ids: PathIds,
    Form(viewer, f): Form,
) -> WebResult<Response> {
    viewer.require_editor()?;
    edits::rename(&ctx.db, ids.first(), &f.required("label")?, &viewer.actor()).await?;
    Ok(done(&format!("/themes/{}", ids.first()), "Renamed."))
}

async fn merge(
    State(ctx): State<ApiContext>,
    ids: PathIds,
    Form(viewer, f): Form,
) -> WebResult<Response> {
    viewer.require_editor()?;
    let into = f.id("into")?.ok_or_else(|| {
        crate::Error::invalid("missing_field", "into", "choose the theme to merge into")
    })?;
    edits::merge(&ctx.db, ids.first(), into, &viewer.actor()).await?;
    ctx.wake_workers();
    Ok(done(&format!("/themes/{into}"), "Merged."))
}

/// Split or move the checked items.
async fn items_action(
    State(ctx): State<ApiContext>,
    ids: PathIds,
    Form(viewer, f): Form,
) -> WebResult<Response> {
    viewer.require_editor()?;
    let id = ids.first();
    let items = f.selected("item_ids")?;
    let actor = viewer.actor();
    let to = match f.text("action").as_deref() {
        Some("split") => {
            let created =
                edits::split(&ctx.db, id, &items, f.text("label").as_deref(), &actor).await?;
            created.id
        }
        Some("move") => {
            let to = f.id("to")?;
            edits::move_items(&ctx.db, &items, to, &actor).await?;
            id
        }
        other => {
            return Err(crate::Error::invalid(
                "invalid_value",
                "action",
                format!(
                    "action must be split or move, got {:?}",
                    other.unwrap_or("")
                ),
            )
            .into())
        }
    };
    ctx.wake_workers();
    Ok(done(
        &format!("/themes/{to}"),
        &format!("Done: {} item(s).", items.len()),
    ))
}
