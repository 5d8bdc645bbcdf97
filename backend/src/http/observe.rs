//! What every request leaves behind: a request id, an access log line and its metrics.
//!
//! * The id is the client's `x-request-id` when it is a short token (1–64 of
//!   `A–Z a–z 0–9 . _ -`), otherwise a fresh UUID (tower-http's `SetRequestId`); it is
//!   sent back in `x-request-id`, is a field of the request's log span — so an error
//!   logged while handling the request carries it — and is added to every JSON error body
//!   as `error.request_id`, so a user can quote it and an operator find the log line.
//! * One log line per request at `info` (target `triage::access`): method, route
//!   template, status, milliseconds and the id. Never the raw path or query string: paths
//!   carry signed tokens and queries carry search terms, which can be personal data.
//! * The same figures go to [`Metrics::observe_request`].

use std::sync::Arc;
use std::time::Instant;

use axum::body::Body;
use axum::extract::{MatchedPath, Request, State};
use axum::http::{header, HeaderValue};
use axum::middleware::Next;
use axum::response::Response;
use axum::Router;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::trace::TraceLayer;

use crate::metrics::Metrics;

const REQUEST_ID: &str = "x-request-id";
/// JSON error bodies are small; a larger one is passed through untouched.
const MAX_ERROR_BODY: usize = 64 * 1024;

/// Wraps `router` (whose routes are all added) in the request id, log and metrics layers.
pub fn wrap<S: Clone + Send + Sync + 'static>(
    router: Router<S>,
    metrics: Arc<Metrics>,
) -> Router<S> {
    router
        // Route templates are known only inside the router: each route leaves its template
        // on the response for `record` below.
        .route_layer(axum::middleware::from_fn(remember_route))
        .layer(axum::middleware::from_fn_with_state(metrics, record))
        .layer(PropagateRequestIdLayer::x_request_id())
        .layer(TraceLayer::new_for_http().make_span_with(|req: &Request| {
            let id = req
                .headers()
                .get(REQUEST_ID)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("");
            tracing::info_span!("request", request_id = %id, method = %req.method())
        }))
        .layer(SetRequestIdLayer::x_request_id(MakeRequestUuid))
        .layer(axum::middleware::map_request(drop_bad_request_id))
}

fn acceptable_id(v: &HeaderValue) -> bool {
    let b = v.as_bytes();
    (1..=64).contains(&b.len())
        && b.iter()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'.' | b'_' | b'-'))
}

/// A client-sent id that is not a short token is replaced (log lines stay readable and
/// nobody can smuggle text into them).
async fn drop_bad_request_id(mut req: Request) -> Request {
    if req
        .headers()
        .get(REQUEST_ID)
        .is_some_and(|v| !acceptable_id(v))
    {
        req.headers_mut().remove(REQUEST_ID);
    }
    req
}

async fn remember_route(path: Option<MatchedPath>, req: Request, next: Next) -> Response {
    let mut res = next.run(req).await;
    if let Some(path) = path {
        res.extensions_mut().insert(path);
    }
    res
}

async fn record(State(metrics): State<Arc<Metrics>>, req: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = req.method().clone();
    let id = req.headers().get(REQUEST_ID).cloned();
    let res = next.run(req).await;
    let route = res
        .extensions()
        .get::<MatchedPath>()
        .map_or("unmatched", |p| p.as_str())
        .to_string();
    let status = res.status();
    let seconds = started.elapsed().as_secs_f64();
    metrics.observe_request(method.as_str(), &route, status.as_u16(), seconds);
    tracing::info!(
        target: "triage::access",
        method = %method,
        route = %route,
        status = status.as_u16(),
        ms = (seconds * 1000.0 * 10.0).round() / 10.0,
        "request"
    );
    match id {
        Some(id) if status.is_client_error() || status.is_server_error() => {
            with_request_id(res, &id).await
        }
        _ => res,
    }
}

/// Adds `request_id` to a JSON error body (`{"error": {...}}`); anything else unchanged.
async fn with_request_id(res: Response, id: &HeaderValue) -> Response {
    let is_json = res
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|t| t.starts_with("application/json"));
    let small = axum::body::HttpBody::size_hint(res.body())
        .upper()
        .is_some_and(|n| n <= MAX_ERROR_BODY as u64);
    let Ok(id) = id.to_str() else { return res };
    if !is_json || !small {
        return res;
    }
    let (mut parts, body) = res.into_parts();
    let bytes = match axum::body::to_bytes(body, MAX_ERROR_BODY).await {
        Ok(b) => b,
        // The body failed mid-way: nothing sensible to send.
        Err(_) => return Response::from_parts(parts, Body::empty()),
    };
    let mut value: serde_json::Value = match serde_json::from_slice(&bytes) {
        Ok(v) => v,
        Err(_) => return Response::from_parts(parts, Body::from(bytes)),
    };
    let Some(error) = value.get_mut("error").and_then(|e| e.as_object_mut()) else {
        return Response::from_parts(parts, Body::from(bytes));
    };
    error.insert("request_id".into(), id.into());
    let out = serde_json::to_vec(&value).unwrap_or_else(|_| bytes.to_vec());
    parts.headers.remove(header::CONTENT_LENGTH);
    Response::from_parts(parts, Body::from(out))
}
