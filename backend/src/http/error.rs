//! How errors look on the wire: `{"error": {"code", "message", "field"?}}`.
//!
//! Client mistakes keep their message and field. Server failures are logged with their
//! details and answered with a generic message, so internals (SQL, paths) never leak.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;

use crate::db::trouble::{trouble, Trouble};
use crate::Error;

/// An error answer: `code` is machine-readable, `field` names the offending input (a body
/// field's dotted path, a query or path parameter, or `Authorization`).
#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct ErrorDetail {
    pub code: String,
    pub message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub field: Option<String>,
    /// The request's `x-request-id` (added on the way out, see `http::observe`): quote it
    /// to find the server's log lines for this request.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub request_id: Option<String>,
}

impl Error {
    pub(crate) fn status_and_code(&self) -> (StatusCode, &'static str) {
        match self {
            Error::Invalid { code, .. } => (StatusCode::BAD_REQUEST, code),
            Error::Unprocessable { code, .. } => (StatusCode::UNPROCESSABLE_ENTITY, code),
            Error::PayloadTooLarge { .. } => (StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large"),
            Error::NotFound { .. } => (StatusCode::NOT_FOUND, "not_found"),
            Error::Conflict { .. } => (StatusCode::CONFLICT, "conflict"),
            Error::Unauthorized(_) => (StatusCode::UNAUTHORIZED, "unauthorized"),
            Error::Forbidden(_) => (StatusCode::FORBIDDEN, "forbidden"),
            Error::TooManyRequests { .. } => (StatusCode::TOO_MANY_REQUESTS, "rate_limited"),
            Error::Index(triage_index::Error::Locked) => {
                (StatusCode::SERVICE_UNAVAILABLE, "unavailable")
            }
            Error::Shared(e) => e.status_and_code(),
            Error::Db(e) => match trouble(e) {
                Trouble::Unavailable => (StatusCode::SERVICE_UNAVAILABLE, "database_unavailable"),
                Trouble::Full => (StatusCode::INSUFFICIENT_STORAGE, "storage_full"),
                Trouble::Other => (StatusCode::INTERNAL_SERVER_ERROR, "internal"),
            },
            _ => (StatusCode::INTERNAL_SERVER_ERROR, "internal"),
        }
    }
}

impl Error {
    /// `Retry-After` on a rate-limited response (JSON or page alike).
    pub(crate) fn add_retry_after(&self, response: &mut Response) {
        if let Error::TooManyRequests {
            retry_after_secs, ..
        } = self
        {
            response.headers_mut().insert(
                axum::http::header::RETRY_AFTER,
                axum::http::HeaderValue::from(*retry_after_secs),
            );
        }
    }
}

impl IntoResponse for Error {
    fn into_response(self) -> Response {
        let (status, code) = self.status_and_code();
        let field = match &self {
            Error::Invalid { field, .. } => field.clone(),
            Error::Unprocessable { field, .. } => Some(field.clone()),
            Error::Conflict { field, .. } => Some(field.clone()),
            Error::Unauthorized(_) => Some("Authorization".into()),
            // Resources are addressed by the `id` path parameter.
            Error::NotFound { what, .. } if *what != "route" => Some("id".into()),
            _ => None,
        };
        let message = if status.is_server_error() {
            tracing::error!(error = %self, "request failed");
            match code {
                "database_unavailable" => "the database cannot be reached right now; try again in a few seconds (a write that carries an external_id is stored once however often it is sent)",
                "storage_full" => "the server is out of disk space; this was not stored — try again once space is freed",
                _ => "internal error; the details are in the server log",
            }
            .to_string()
        } else {
            self.to_string()
        };
        let body = ErrorBody {
            error: ErrorDetail {
                code: code.to_string(),
                message,
                field,
                request_id: None,
            },
        };
        let mut response = (status, Json(body)).into_response();
        self.add_retry_after(&mut response);
        if code == "database_unavailable" {
            response.headers_mut().insert(
                axum::http::header::RETRY_AFTER,
                axum::http::HeaderValue::from_static("5"),
            );
        }
        if status == StatusCode::PAYLOAD_TOO_LARGE {
            // The rest of the body was never read: the connection cannot carry another
            // request, so tell the client not to reuse it.
            response.headers_mut().insert(
                axum::http::header::CONNECTION,
                axum::http::HeaderValue::from_static("close"),
            );
        }
        response
    }
}
