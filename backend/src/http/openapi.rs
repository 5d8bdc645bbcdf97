//! `GET /api/openapi.json`: the OpenAPI 3.1 description of the API.
//!
//! Generated, not written: every API handler carries a `#[utoipa::path]` attribute and is
//! registered with `utoipa_axum::routes!`, so the router and the document are built from the
//! same list, and request and response bodies are described by the Rust types they are
//! (de)serialised from (`#[derive(ToSchema)]`). What every operation shares is added here in
//! one place: the bearer scheme on `/api/v1`, and the error answers any request can get
//! (`{"error": {"code", "message", "field"?}}` — see `http::error`).
//!
//! `tests/tests/roles.rs` checks that every route of the router's source is in the document,
//! and `make test` runs schemathesis against it on SQLite and PostgreSQL.

use axum::body::Bytes;
use axum::http::header;
use axum::routing::get;
use axum::Router;
use serde_json::{json, Value};
use utoipa::OpenApi;

use super::ApiContext;
use crate::config::DEFAULT_MAX_BODY_BYTES;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "triage API",
        description = "Customer feedback intake, themes, backlog and search. Every /api/v1 route needs `Authorization: Bearer <token>` (`triage token create`); writes to surveys, customers, themes and the backlog need the pm or admin role, tokens the admin role. Errors are `{\"error\": {\"code\", \"message\", \"field\"}}`, `field` naming the offending input."
    ),
    components(schemas(super::error::ErrorBody))
)]
pub struct ApiDoc;

/// Serves the finished document, built and serialised once at start-up.
pub fn router(doc: utoipa::openapi::OpenApi) -> Router<ApiContext> {
    let body = Bytes::from(finish(doc).to_string());
    Router::new().route(
        "/api/openapi.json",
        get(move || {
            let body = body.clone();
            async move { ([(header::CONTENT_TYPE, "application/json")], body) }
        }),
    )
}

/// The error answers every operation can give, beyond its own success answers.
const ERRORS: [(&str, &str); 10] = [
    ("400", "invalid input; `field` names it"),
    ("401", "missing, unknown, expired or revoked token"),
    ("403", "the token's role may not do this"),
    ("404", "no such resource"),
    ("409", "conflicts with what is stored (an external id already used, a closed survey)"),
    ("413", "body over the size limit"),
    ("422", "well-formed, but what is stored rules it out (an unknown theme or question, a theme merged into itself)"),
    ("429", "too many requests at once; retry after `Retry-After` seconds"),
    ("503", "the database cannot be reached; retry after `Retry-After` seconds"),
    ("507", "the server is out of disk space; nothing was stored"),
];

/// Adds what all operations share to the generated document: the bearer scheme (on
/// `/api/v1`), the common error answers, and the body limit in the description.
fn finish(doc: utoipa::openapi::OpenApi) -> Value {
    let mut v = serde_json::to_value(doc).unwrap_or_else(|_| json!({}));
    v["info"]["version"] = json!(env!("CARGO_PKG_VERSION"));
    if let Some(d) = v["info"]["description"].as_str() {
        v["info"]["description"] = json!(format!(
            "{d} Request bodies are limited to {DEFAULT_MAX_BODY_BYTES} bytes."
        ));
    }
    v["components"]["securitySchemes"] =
        json!({ "bearer": { "type": "http", "scheme": "bearer" } });
    let mut responses = serde_json::Map::new();
    for (status, description) in ERRORS {
        responses.insert(
            format!("E{status}"),
            json!({ "description": description, "content": { "application/json": {
                "schema": { "$ref": "#/components/schemas/ErrorBody" } } } }),
        );
    }
    v["components"]["responses"] = Value::Object(responses);
    v["paths"]["/api/openapi.json"] = json!({ "get": { "summary": "This document",
        "responses": { "200": { "description": "the OpenAPI 3.1 document", "content": {
            "application/json": { "schema": { "type": "object" } } } } } } });
    let Some(paths) = v["paths"].as_object_mut() else {
        return v;
    };
    for (path, item) in paths.iter_mut() {
        let api = path.starts_with("/api/v1/");
        let Some(ops) = item.as_object_mut() else {
            continue;
        };
        for (method, op) in ops
            .iter_mut()
            .filter(|(_, op)| op.get("responses").is_some())
        {
            // Other tools call a hook without a token; its signature is the check.
            let signed_call = path == "/api/v1/hooks/{name}" && method == "post";
            if api && !signed_call {
                op["security"] = json!([{ "bearer": [] }]);
            }
            let Some(r) = op["responses"].as_object_mut() else {
                continue;
            };
            for (status, _) in ERRORS {
                // The health check and this document need no token and take no input.
                if !api && status != "503" {
                    continue;
                }
                r.entry(status).or_insert_with(
                    || json!({ "$ref": format!("#/components/responses/E{status}") }),
                );
            }
        }
    }
    v
}
