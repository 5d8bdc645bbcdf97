//! The unthemed queue: items no theme fits well enough (outliers), for a product manager
//! to put in a theme or to turn into a new one.

use axum::extract::State;
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use maud::html;

use super::layout::page;
use super::session::{Form, Viewer};
use super::widgets::{csrf, flash, pager};
use super::{done, Html, WebResult};
use crate::http::{ApiContext, Params};
use crate::themes::edits;
use crate::Error;

pub fn router() -> Router<ApiContext> {
    Router::new().route("/unthemed", get(show).post(act))
}

async fn show(
    State(ctx): State<ApiContext>,
    viewer: Viewer,
    mut params: Params,
) -> WebResult<Html> {
    let message = params.text("done");
    let at = params.page(50, 200)?;
    params.finish()?;
    let (items, suggested) = crate::themes::suggest::unthemed(&ctx.db, at).await?;
    let themes = edits::live_labels(&ctx.db).await?;
    let body = html! {
        (flash(message.as_deref()))
        h1 { "Unthemed feedback" }
        p.muted { "Items that fit no theme closely enough. Put them in a theme, or group several into a new one; what you decide here survives re-clustering." }
        form.card method="post" action="/unthemed" {
            (csrf(&viewer.csrf))
            table.stack {
                thead { tr { th { span.visually-hidden { "Select" } } th { "Item" } th { "Kind" } th { "Date" } th { "Closest theme (similarity, 0–1)" } } }
                tbody { @for i in &items.items { tr {
                    td data-label="Select" { input type="checkbox" name="item_ids" value=(i.item_id) aria-label={"Select item " (i.item_id)}; }
                    td data-label="Item" { @if let Some(s) = &i.subject { strong { (s) } br; } (i.text) }
                    td data-label="Kind" { (i.kind.label()) }
                    td data-label="Date" { (i.created_at.format("%Y-%m-%d")) }
                    td data-label="Closest theme" {
                        @match suggested.get(&i.item_id) {
                            Some(t) => {
                                a href={"/themes/" (t.id)} { (t.label) } " " span.muted.small { (format!("{:.2}", t.similarity)) }
                                @if viewer.can_edit() {
                                    br;
                                    button.link type="submit" name="suggested" value={(i.item_id) ":" (t.id)} aria-label={"Put it there: item " (i.item_id) " in \u{201c}" (t.label) "\u{201d}"} { "Put it there" }
                                }
                            }
                            None => span.muted.small { "none close" }
                        }
                    }
                } } }
            }
            @if viewer.can_edit() && !items.items.is_empty() {
                div.row style="margin-top:.75rem" {
                    div { label for="to" { "Theme" } select #to name="to" {
                        @for (id, l) in &themes { option value=(id) { (l) } } } }
                    button.secondary type="submit" name="action" value="assign" { "Assign selected" }
                    div { label for="label" { "New theme name" } input #label type="text" name="label" maxlength="200"; }
                    button.secondary type="submit" name="action" value="create" { "Make a new theme of selected" }
                }
            }
        }
        (pager("/unthemed", &[], items.offset, items.limit, items.total))
    };
    Ok(Html(page("Unthemed", &viewer, "/unthemed", body)))
}

async fn act(State(ctx): State<ApiContext>, Form(viewer, f): Form) -> WebResult<Response> {
    viewer.require_editor()?;
    let actor = viewer.actor();
    // One item into the theme suggested for it: "item:theme".
    if let Some(pair) = f.text("suggested") {
        let parsed = pair
            .split_once(':')
            .and_then(|(i, t)| Some((i.parse::<i64>().ok()?, t.parse::<i64>().ok()?)));
        let (item, to) = parsed.ok_or_else(|| {
            Error::invalid(
                "invalid_value",
                "suggested",
                format!("suggested must be ITEM:THEME, got {pair:?}"),
            )
        })?;
        edits::move_items(&ctx.db, &[item], Some(to), &actor).await?;
        ctx.wake_workers();
        return Ok(done(
            "/unthemed",
            "1 item placed. Undo is in that theme's history.",
        ));
    }
    let items = f.selected("item_ids")?;
    let theme_id = match f.text("action").as_deref() {
        Some("assign") => {
            let to = f
                .id("to")?
                .ok_or_else(|| Error::invalid("missing_field", "to", "choose a theme"))?;
            edits::move_items(&ctx.db, &items, Some(to), &actor).await?;
            to
        }
        Some("create") => {
            let label = f.text("label").unwrap_or_default();
            edits::create_from_items(&ctx.db, &items, &label, &actor)
                .await?
                .id
        }
        other => {
            return Err(Error::invalid(
                "invalid_value",
                "action",
                format!(
                    "action must be assign or create, got {:?}",
                    other.unwrap_or("")
                ),
            )
            .into())
        }
    };
    ctx.wake_workers();
    Ok(done(
        &format!("/themes/{theme_id}"),
        &format!("{} item(s) placed.", items.len()),
    ))
}
