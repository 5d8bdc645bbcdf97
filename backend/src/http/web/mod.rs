//! The web UI: server-rendered HTML pages for product managers and support staff, and the
//! public survey page customers answer from a link.
//!
//! Pages are built with maud, which escapes every interpolated value, so user text cannot
//! inject markup. There is no JavaScript build step: the only script is a few inline lines
//! on the ticket form that fetch suggestions while the agent types, and every page works
//! without it. Pages call the same services as the JSON API (`backlog`, `themes::edits`,
//! `intake`, the index); handlers only translate forms to calls and results to HTML.
//!
//! * [`session`]: sign-in cookies, the signed-in [`session::Viewer`], CSRF-checked forms.
//! * [`layout`] and [`widgets`]: the page shell, styles, charts and small shared pieces.
//! * one module per page group: sign-in, backlog, theme, item, search, tickets, unthemed queue,
//!   public survey, digest settings and unsubscribe links.

mod backlog;
#[cfg(test)]
mod fixtures;
mod impact;
mod item;
mod layout;
mod login;
mod search;
pub(crate) mod session;
mod settings;
mod survey;
mod teach;
mod theme;
mod tickets;
mod unthemed;
mod webhooks;
mod widgets;

use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::Router;
use maud::Markup;

use super::ApiContext;

pub fn router() -> Router<ApiContext> {
    Router::new()
        .route("/", get(|| async { Redirect::to("/backlog") }))
        .merge(login::router())
        .merge(backlog::router())
        .merge(theme::router())
        .merge(teach::router())
        .merge(impact::router())
        .merge(search::router())
        .merge(item::router())
        .merge(tickets::router())
        .merge(unthemed::router())
        .merge(survey::router())
        .merge(settings::router())
        .merge(webhooks::router())
}

/// An HTML page as a response.
pub struct Html(pub Markup);

impl IntoResponse for Html {
    fn into_response(self) -> Response {
        axum::response::Html(self.0.into_string()).into_response()
    }
}

/// Why a page could not be shown: the visitor must sign in first, or the request failed
/// (shown as an HTML page with the same status and message the API would give).
pub enum WebError {
    SignIn { next: String },
    App(crate::Error),
}

impl From<crate::Error> for WebError {
    fn from(e: crate::Error) -> Self {
        WebError::App(e)
    }
}

impl From<sea_orm::DbErr> for WebError {
    fn from(e: sea_orm::DbErr) -> Self {
        WebError::App(e.into())
    }
}

pub type WebResult<T> = Result<T, WebError>;

impl IntoResponse for WebError {
    fn into_response(self) -> Response {
        match self {
            WebError::SignIn { next } => {
                let to = format!("/login?next={}", widgets::url_encode(&next));
                Redirect::to(&to).into_response()
            }
            WebError::App(e) => {
                let (status, _) = e.status_and_code();
                let message = if status.is_server_error() {
                    tracing::error!(error = %e, "page failed");
                    "Something went wrong on our side; the details are in the server log."
                        .to_string()
                } else {
                    e.to_string()
                };
                let page = layout::error_page(status, &message);
                let mut r = (status, Html(page)).into_response();
                e.add_retry_after(&mut r);
                r
            }
        }
    }
}

/// 303 See Other: where a form post sends the browser next.
pub fn see_other(to: &str) -> Response {
    (StatusCode::SEE_OTHER, [(axum::http::header::LOCATION, to)]).into_response()
}

/// 303 to `path`, which then shows `message` as a confirmation.
pub fn done(path: &str, message: &str) -> Response {
    see_other(&format!(
        "{path}{}",
        widgets::query(&[("done", message.into())])
    ))
}
