//! `/settings/webhooks` (admins): the subscriptions of webhooks out — add one, see its
//! recent deliveries and why it was disabled, turn it off and on, remove it. The same
//! services as `/api/v1/webhooks` (`webhooks::subscriptions`).

use axum::extract::State;
use axum::response::Response;
use axum::routing::{get, post};
use axum::Router;
use maud::html;

use super::layout::page;
use super::session::{Form, Viewer};
use super::widgets::{csrf, flash};
use super::{done, Html, WebResult};
use crate::db::Page;
use crate::http::{ApiContext, Params, PathIds};
use crate::webhooks::subscriptions::{self, Patch};
use crate::webhooks::{EventType, WebhookFormat};
use crate::Error;

pub fn router() -> Router<ApiContext> {
    Router::new()
        .route("/settings/webhooks", get(show).post(add))
        .route("/settings/webhooks/{id}", post(change))
}

fn require_admin(viewer: &Viewer) -> crate::Result<()> {
    if viewer.role == crate::db::tokens::Role::Admin {
        Ok(())
    } else {
        Err(Error::Forbidden(format!(
            "only admins manage webhooks; you are signed in as {}",
            viewer.role.as_str()
        )))
    }
}

/// Recent deliveries shown per subscription.
const RECENT: u64 = 10;

async fn show(
    State(ctx): State<ApiContext>,
    viewer: Viewer,
    mut params: Params,
) -> WebResult<Html> {
    require_admin(&viewer)?;
    let message = params.text("done");
    params.finish()?;
    let subs = subscriptions::list(&ctx.db).await?;
    let mut logs = Vec::with_capacity(subs.len());
    for s in &subs {
        let page = Page {
            limit: RECENT,
            offset: 0,
        };
        logs.push(subscriptions::deliveries(&ctx.db, s.id, page).await?);
    }
    let body = html! {
        (flash(message.as_deref()))
        h1 { "Webhooks" }
        p.muted { "triage POSTs these events to your URLs, signed per "
            a href="https://www.standardwebhooks.com/" { "Standard Webhooks" }
            " (or as Slack messages), retrying with backoff; a receiver that keeps failing is turned off. "
            "The API is " code { "/api/v1/webhooks" } " (docs/webhooks.md)." }
        @for (s, log) in subs.iter().zip(&logs) {
            section.card aria-labelledby=(format!("wh{}", s.id)) {
                h2 #(format!("wh{}", s.id)) style="font-size:1.05rem" { (s.url) }
                p {
                    @if s.enabled { strong { "On" } } @else { strong { "Off" } " — " (s.disabled_reason.as_deref().unwrap_or("disabled")) }
                    " · " (s.format.as_str()) " · "
                    (s.events.iter().map(|e| e.as_str()).collect::<Vec<_>>().join(", "))
                    @if s.consecutive_failures > 0 { " · " (s.consecutive_failures) " failed in a row" }
                }
                @if !s.description.is_empty() { p.muted { (s.description) } }
                details { summary { "Signing secret" } code { (s.secret) } }
                form method="post" action=(format!("/settings/webhooks/{}", s.id)) style="display:inline" {
                    (csrf(&viewer.csrf))
                    @if s.enabled {
                        button type="submit" name="action" value="disable" { "Turn off" }
                    } @else {
                        button type="submit" name="action" value="enable" { "Turn on again" }
                    }
                    " "
                    button.danger type="submit" name="action" value="delete" { "Remove" }
                }
                @if log.items.is_empty() {
                    p.muted { "Nothing sent yet." }
                } @else {
                    table {
                        caption.muted.small { "Last " (log.items.len()) " of " (log.total) " deliveries" }
                        thead { tr { th scope="col" { "Event" } th scope="col" { "State" } th scope="col" { "Attempts" } th scope="col" { "Last answer" } th scope="col" { "Queued" } } }
                        tbody {
                            @for d in &log.items {
                                tr {
                                    td { (d.event_type.as_str()) br; span.muted.small { (d.event_id) } }
                                    td { (d.state.as_str()) }
                                    td { (d.attempts) }
                                    td { @if let Some(st) = d.last_status { (st) " " } (d.last_error.as_deref().unwrap_or("")) }
                                    td { (d.created_at.format("%Y-%m-%d %H:%M UTC")) }
                                }
                            }
                        }
                    }
                }
            }
        }
        h2 { "Add a webhook" }
        form.card method="post" action="/settings/webhooks" {
            (csrf(&viewer.csrf))
            p { label for="url" { "URL" } input #url type="url" name="url" required placeholder="https://example.com/hooks/triage"; }
            p { label for="description" { "Note (optional)" } input #description type="text" name="description" maxlength="500"; }
            fieldset {
                legend { "Events" }
                @for e in EventType::ALL {
                    label style="display:block" {
                        input type="checkbox" name=(format!("event_{}", e.as_str())) value="on" checked[*e == EventType::ThemeRising];
                        " " (e.as_str())
                    }
                }
            }
            p { label for="format" { "Format" } select #format name="format" {
                option value="standard" { "Standard Webhooks JSON" }
                option value="slack" { "Slack message (incoming webhook)" } } }
            p { button type="submit" { "Add webhook" } }
        }
    };
    Ok(Html(page("Webhooks", &viewer, "/settings", body)))
}

async fn add(State(ctx): State<ApiContext>, Form(viewer, f): Form) -> WebResult<Response> {
    require_admin(&viewer)?;
    let events: Vec<EventType> = EventType::ALL
        .iter()
        .copied()
        .filter(|e| f.checked(&format!("event_{}", e.as_str())))
        .collect();
    let format = match f.text("format") {
        Some(t) => Some(WebhookFormat::parse_field("format", &t)?),
        None => None,
    };
    let url = f.required("url")?;
    subscriptions::create(&ctx.db, &url, &events, format, f.text("description")).await?;
    Ok(done("/settings/webhooks", "Webhook added."))
}

async fn change(
    State(ctx): State<ApiContext>,
    ids: PathIds,
    Form(viewer, f): Form,
) -> WebResult<Response> {
    require_admin(&viewer)?;
    let id = ids.first();
    let message = match f.text("action").as_deref() {
        Some("delete") => {
            crate::db::webhooks::delete_subscription(&ctx.db, id).await?;
            "Webhook removed."
        }
        Some(a @ ("enable" | "disable")) => {
            let patch = Patch {
                url: None,
                events: None,
                format: None,
                description: None,
                enabled: Some(a == "enable"),
            };
            subscriptions::update(&ctx.db, id, patch).await?;
            if a == "enable" {
                "Webhook turned on."
            } else {
                "Webhook turned off."
            }
        }
        _ => {
            return Err(Error::invalid(
                "invalid_value",
                "action",
                "action must be enable, disable or delete",
            )
            .into())
        }
    };
    Ok(done("/settings/webhooks", message))
}
