//! Digest settings for the signed-in user, the digest preview (the same email
//! `triage digest preview` prints), and the one-click unsubscribe links from emails.

use axum::extract::State;
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use chrono::Utc;
use maud::html;

use super::layout::{bare, page};
use super::session::{cookie, Form, Viewer, COOKIE};
use super::widgets::{csrf, flash};
use super::{done, Html, WebResult};
use crate::backlog::workflow::Status;
use crate::db::{customers, sessions};
use crate::digest::subscriptions::{self, Choice};
use crate::digest::week::IsoWeek;
use crate::digest::{schedule, signing};
use crate::http::{ApiContext, Params};
use crate::Error;

pub fn router() -> Router<ApiContext> {
    Router::new()
        .route("/settings", get(show).post(save))
        .route("/settings/password", axum::routing::post(change_password))
        .route(
            "/logout/everywhere",
            axum::routing::post(sign_out_everywhere),
        )
        .route("/digest/preview", get(preview))
        .route("/unsubscribe", get(unsubscribe_page).post(unsubscribe))
}

const WEEKDAYS: [&str; 7] = [
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
    "Sunday",
];
const ZONES: [&str; 8] = [
    "UTC",
    "Europe/London",
    "Europe/Berlin",
    "America/New_York",
    "America/Chicago",
    "America/Los_Angeles",
    "Asia/Tokyo",
    "Australia/Sydney",
];

async fn show(
    State(ctx): State<ApiContext>,
    viewer: Viewer,
    mut params: Params,
) -> WebResult<Html> {
    let message = params.text("done");
    params.finish()?;
    let sub = subscriptions::get(&ctx.db, viewer.user.id).await?;
    let c = sub.map_or(
        Choice {
            active: false,
            ..Default::default()
        },
        Choice::from,
    );
    let segments = customers::segments(&ctx.db).await?;
    let body = html! {
        (flash(message.as_deref()))
        h1 { "Weekly digest" }
        form.card method="post" action="/settings" {
            (csrf(&viewer.csrf))
            p { input #active type="checkbox" name="active" value="true" checked[c.active]; " "
                label for="active" style="display:inline" { "Email me the weekly digest at " (viewer.user.email) } }
            div.row {
                div { label for="weekday" { "Day" } select #weekday name="weekday" {
                    @for (i, d) in WEEKDAYS.iter().enumerate() { option value=(i + 1) selected[c.weekday == i as i32 + 1] { (d) } } } }
                div { label for="hour" { "Hour" } select #hour name="hour" {
                    @for h in 0..24 { option value=(h) selected[c.hour == h] { (format!("{h:02}:00")) } } } }
                div { label for="time_zone" { "Time zone" }
                    input #time_zone type="text" name="time_zone" value=(c.time_zone) list="zones" required;
                    datalist #zones { @for z in ZONES { option value=(z) {} } } }
                div { label for="segment" { "Only customers in" } select #segment name="segment" {
                    option value="" { "every segment" }
                    @for s in &segments { option value=(s) selected[c.segment.as_deref() == Some(s.as_str())] { (s) } } } }
                div { label for="status" { "Only themes that are" } select #status name="status" {
                    option value="" { "any status" }
                    option value="open" selected[c.status.as_deref() == Some("open")] { "open" }
                    @for s in Status::ALL { option value=(s.as_str()) selected[c.status.as_deref() == Some(s.as_str())] { (s.label()) } } } }
            }
            p { button type="submit" { "Save" } " " a href="/digest/preview" { "Preview last week's digest" } }
        }
        h2 { "Password and sessions" }
        form.card method="post" action="/settings/password" {
            (csrf(&viewer.csrf))
            input type="hidden" name="username" value=(viewer.user.email) autocomplete="username";
            p { label for="current_password" { "Current password" }
                input #current_password type="password" name="current_password" autocomplete="current-password" required; }
            p { label for="new_password" { "New password (at least " (crate::db::users::MIN_PASSWORD_CHARS) " characters)" }
                input #new_password type="password" name="new_password" autocomplete="new-password" required; }
            p { button type="submit" { "Change password" } " " span.muted.small { "Signs you out everywhere else." } }
        }
        form method="post" action="/logout/everywhere" {
            (csrf(&viewer.csrf))
            button type="submit" { "Sign out everywhere" }
        }
        @if viewer.role == crate::db::tokens::Role::Admin {
            h2 { "Integrations" }
            p { a href="/settings/webhooks" { "Webhooks" } ": send triage's events to other systems." }
        }
    };
    Ok(Html(page("Digest settings", &viewer, "/settings", body)))
}

async fn save(State(ctx): State<ApiContext>, Form(viewer, f): Form) -> WebResult<Response> {
    let number = |name: &str| -> crate::Result<i32> {
        f.id(name)?
            .map(|n| n as i32)
            .ok_or_else(|| Error::invalid("missing_field", name, format!("{name} must be chosen")))
    };
    let choice = Choice {
        weekday: number("weekday")?,
        hour: number("hour")?,
        time_zone: f.required("time_zone")?,
        segment: f.text("segment"),
        status: f.text("status"),
        active: f.checked("active"),
    };
    subscriptions::save(&ctx.db, viewer.user.id, choice).await?;
    Ok(done("/settings", "Saved."))
}

async fn change_password(
    State(ctx): State<ApiContext>,
    headers: axum::http::HeaderMap,
    Form(viewer, f): Form,
) -> WebResult<Response> {
    let current = f.raw("current_password").unwrap_or_default();
    let new = f.raw("new_password").unwrap_or_default();
    let token = cookie(&ctx, &headers, COOKIE).unwrap_or_default();
    ctx.passwords
        .change_password(&ctx.db, &viewer.user, &current, &new, &token)
        .await?;
    Ok(done(
        "/settings",
        "Password changed; every other session is signed out.",
    ))
}

/// Ends every session of the signed-in user, this one too.
async fn sign_out_everywhere(
    State(ctx): State<ApiContext>,
    Form(viewer, _): Form,
) -> WebResult<Response> {
    sessions::end_all(&ctx.db, viewer.user.id, None).await?;
    Ok(super::see_other("/login"))
}

async fn preview(
    State(ctx): State<ApiContext>,
    viewer: Viewer,
    mut params: Params,
) -> WebResult<Html> {
    let week = match params.text("week") {
        Some(w) => IsoWeek::parse("week", &w)?,
        None => IsoWeek::containing(Utc::now()).previous(),
    };
    params.finish()?;
    let sub = subscriptions::get(&ctx.db, viewer.user.id).await?;
    let m = schedule::compose(&ctx.db, &ctx.config, &viewer.user, sub.as_ref(), week).await?;
    let body = html! {
        h1 { "Digest preview, " (week) }
        p.muted { "Subject: " strong { (m.subject) } " · to " (m.recipient) }
        iframe title="The HTML part" srcdoc=(m.html) style="width:100%;height:900px;border:1px solid var(--line);background:#fff" {}
        h2 { "Plain-text part" }
        pre.card style="white-space:pre-wrap" { (m.text) }
    };
    Ok(Html(page("Digest preview", &viewer, "/settings", body)))
}

/// What an unsubscribe link stops, once its signature is checked.
struct Unsubscribe {
    user: Option<i64>,
    customer: Option<i64>,
    what: &'static str,
}

/// `?user=ID&sig=…` (a user's digest) or `?customer=ID&sig=…` (a customer's notes).
async fn unsubscribe_link(ctx: &ApiContext, mut params: Params) -> WebResult<Unsubscribe> {
    let user = params.int("user", 1, i64::MAX)?;
    let customer = params.int("customer", 1, i64::MAX)?;
    let sig = params.text("sig").unwrap_or_default();
    params.finish()?;
    let key = signing::key(&ctx.db).await?;
    let (message, what) = match (user, customer) {
        (Some(u), None) => (format!("digest:{u}"), "the weekly digest"),
        (None, Some(c)) => (format!("notice:{c}"), "notes about your feedback"),
        _ => {
            return Err(Error::invalid(
                "missing_field",
                "user",
                "the link names neither a user nor a customer",
            )
            .into())
        }
    };
    if !signing::verify(&key, &message, &sig) {
        return Err(Error::invalid(
            "invalid_value",
            "sig",
            "this unsubscribe link is not valid (was it cut short?)",
        )
        .into());
    }
    Ok(Unsubscribe {
        user,
        customer,
        what,
    })
}

/// GET, the link in the email: a page with a button. Mail scanners open every link in a
/// message, so opening it changes nothing.
async fn unsubscribe_page(
    State(ctx): State<ApiContext>,
    uri: axum::http::Uri,
    params: Params,
) -> WebResult<Html> {
    let link = unsubscribe_link(&ctx, params).await?;
    let action = uri.path_and_query().map_or("/unsubscribe", |p| p.as_str());
    Ok(Html(bare(
        "Unsubscribe",
        html! {
            h1 { "Unsubscribe" }
            p { "Stop receiving " (link.what) "?" }
            form.card method="post" action=(action) {
                input type="hidden" name="List-Unsubscribe" value="One-Click";
                button type="submit" { "Unsubscribe" }
            }
        },
    )))
}

/// POST: the button above, or a mail client's RFC 8058 one-click unsubscribe (which posts
/// `List-Unsubscribe=One-Click` to the link). The signed query says who; the body is not
/// needed.
async fn unsubscribe(State(ctx): State<ApiContext>, params: Params) -> WebResult<Html> {
    let Unsubscribe {
        user,
        customer,
        what,
    } = unsubscribe_link(&ctx, params).await?;
    if let Some(u) = user {
        subscriptions::set_active(&ctx.db, u, false).await?;
    }
    if let Some(c) = customer {
        customers::unsubscribe(&ctx.db, c).await?;
    }
    Ok(Html(bare(
        "Unsubscribed",
        html! {
            h1 { "Unsubscribed" }
            p role="status" { "You will not receive " (what) " any more." }
            @if user.is_some() { p { "Changed your mind? " a href="/settings" { "Turn it back on in your settings" } "." } }
        },
    )))
}
