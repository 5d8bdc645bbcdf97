//! `GET /api/openapi.json`: the OpenAPI 3.1 description of the API.
//!
//! Written by hand next to the routes it describes; the end-to-end tests check that every
//! route the server answers appears here, so the two cannot drift apart silently.

use axum::routing::get;
use axum::{Json, Router};
use serde_json::{json, Value};

use super::ApiContext;
use crate::config::DEFAULT_MAX_BODY_BYTES;

pub fn router() -> Router<ApiContext> {
    Router::new().route("/api/openapi.json", get(|| async { Json(document()) }))
}

fn r(name: &str) -> Value {
    json!({ "$ref": format!("#/components/schemas/{name}") })
}

fn body(schema: &str) -> Value {
    json!({ "required": true, "content": { "application/json": { "schema": r(schema) } } })
}

fn ok(status: &str, schema: Value) -> Value {
    json!({
        status: { "description": "success", "content": { "application/json": { "schema": schema } } },
        "400": { "$ref": "#/components/responses/BadRequest" },
        "401": { "$ref": "#/components/responses/Unauthorized" },
        "404": { "$ref": "#/components/responses/NotFound" },
        "409": { "$ref": "#/components/responses/Conflict" },
        "413": { "$ref": "#/components/responses/TooLarge" }
    })
}

fn page_params() -> Value {
    json!([
        { "name": "limit", "in": "query", "schema": { "type": "integer", "minimum": 1, "maximum": 500, "default": 50 } },
        { "name": "offset", "in": "query", "schema": { "type": "integer", "minimum": 0, "default": 0 } }
    ])
}

fn id_param(name: &str) -> Value {
    json!({ "name": name, "in": "path", "required": true, "schema": { "type": "integer" } })
}

/// A create/list pair and a get-by-id path for one resource.
fn resource(paths: &mut serde_json::Map<String, Value>, plural: &str, input: &str, output: &str) {
    paths.insert(
        format!("/api/v1/{plural}"),
        json!({
            "post": { "summary": format!("Create a {output}"), "requestBody": body(input), "responses": ok("201", r(output)) },
            "get": { "summary": format!("List {plural}, newest first"), "parameters": page_params(),
                     "responses": ok("200", json!({ "type": "object", "properties": {
                        "items": { "type": "array", "items": r(output) }, "total": { "type": "integer" },
                        "limit": { "type": "integer" }, "offset": { "type": "integer" } } })) }
        }),
    );
    paths.insert(
        format!("/api/v1/{plural}/{{id}}"),
        json!({ "get": { "summary": format!("Get one {output}"), "parameters": [id_param("id")], "responses": ok("200", r(output)) } }),
    );
}

pub fn document() -> Value {
    let mut paths = serde_json::Map::new();
    resource(&mut paths, "tickets", "TicketInput", "Ticket");
    resource(&mut paths, "ratings", "RatingInput", "Rating");
    resource(&mut paths, "surveys", "SurveyInput", "Survey");
    resource(&mut paths, "customers", "Customer", "Customer");
    let token = json!({ "type": "object", "properties": { "id": { "type": "integer" }, "name": { "type": "string" },
        "role": { "enum": ["support", "pm", "admin"] }, "created_at": { "type": "string" },
        "last_used_at": { "type": ["string", "null"] }, "expires_at": { "type": ["string", "null"] }, "revoked": { "type": "boolean" } } });
    paths.insert("/api/v1/tokens".into(), json!({
        "get": { "summary": "Every API token, newest first; never its text or hash (admin)", "responses": ok("200", json!({ "type": "array", "items": token })) },
        "post": { "summary": "Create a token; its text is in this response only (admin)",
            "requestBody": { "required": true, "content": { "application/json": { "schema": { "type": "object", "additionalProperties": false, "required": ["name", "role"], "properties": {
                "name": { "type": "string", "maxLength": 200 }, "role": { "enum": ["support", "pm", "admin"] },
                "expires_in_days": { "type": "integer", "minimum": 1, "maximum": 3650 } } } } } },
            "responses": ok("201", json!({ "type": "object", "properties": { "token": { "type": "string" } } })) } }));
    paths.insert("/api/v1/tokens/{id}".into(), json!({
        "delete": { "summary": "Revoke a token: refused from the next request on (admin)", "parameters": [id_param("id")], "responses": ok("200", token) } }));
    if let Some(one) = paths.get_mut("/api/v1/surveys/{id}") {
        one["patch"] = json!({ "summary": "Close a survey (no more answers, from its page or the API) or open it again (pm, admin)",
            "parameters": [id_param("id")],
            "requestBody": { "required": true, "content": { "application/json": { "schema": { "type": "object", "additionalProperties": false, "required": ["closed"], "properties": {
                "closed": { "type": "boolean" } } } } } },
            "responses": ok("200", r("Survey")) });
    }
    if let Some(one) = paths.get_mut("/api/v1/customers/{id}") {
        one["patch"] = json!({ "summary": "Change a customer's name, segment, account value or opt-in (pm, admin); intake never changes a customer",
            "parameters": [id_param("id")],
            "requestBody": { "required": true, "content": { "application/json": { "schema": { "type": "object", "additionalProperties": false, "minProperties": 1, "properties": {
                "name": { "type": "string", "maxLength": 200 }, "segment": { "type": "string", "maxLength": 100 },
                "account_value": { "type": "number", "minimum": 0, "maximum": 1e12 }, "notify_opt_in": { "type": "boolean" } } } } } },
            "responses": ok("200", r("Customer")) });
    }
    paths.insert(
        "/api/v1/surveys/{id}/responses".into(),
        json!({
            "post": { "summary": "Answer a survey", "parameters": [id_param("id")], "requestBody": body("SurveyResponseInput"), "responses": ok("201", r("SurveyResponse")) },
            "get": { "summary": "List a survey's responses", "parameters": [id_param("id")], "responses": ok("200", json!({ "type": "object" })) }
        }),
    );
    paths.insert(
        "/api/v1/surveys/{id}/responses/{response_id}".into(),
        json!({ "get": { "summary": "Get one survey response", "parameters": [id_param("id"), id_param("response_id")], "responses": ok("200", r("SurveyResponse")) } }),
    );
    paths.insert("/api/v1/search".into(), json!({ "get": {
        "summary": "Full-text search over all feedback (all words must match; one-edit typos forgiven)",
        "parameters": [
            { "name": "q", "in": "query", "schema": { "type": "string", "maxLength": 500 } },
            { "name": "kind", "in": "query", "description": "comma-separated: ticket, rating, survey_response", "schema": { "type": "string" } },
            { "name": "segment", "in": "query", "schema": { "type": "string" } },
            { "name": "theme", "in": "query", "description": "theme id", "schema": { "type": "integer" } },
            { "name": "area", "in": "query", "description": "area id: items in any of its themes", "schema": { "type": "integer", "minimum": 1 } },
            { "name": "from", "in": "query", "description": "inclusive; RFC 3339 or YYYY-MM-DD", "schema": { "type": "string" } },
            { "name": "to", "in": "query", "description": "exclusive; a date includes its whole day", "schema": { "type": "string" } },
            { "name": "min_score", "in": "query", "schema": { "type": "number", "minimum": 0, "maximum": 1 } },
            { "name": "max_score", "in": "query", "schema": { "type": "number", "minimum": 0, "maximum": 1 } },
            { "name": "sort", "in": "query", "schema": { "enum": ["relevance", "newest", "oldest"] } },
            { "name": "limit", "in": "query", "schema": { "type": "integer", "minimum": 1, "maximum": 100, "default": 20 } },
            { "name": "offset", "in": "query", "schema": { "type": "integer", "minimum": 0, "maximum": 10000 } }
        ],
        "responses": ok("200", r("SearchResults"))
    } }));
    let edit = |summary: &str, schema: Value, status: &str, out: Value| {
        json!({ "post": { "summary": summary, "parameters": [id_param("id")],
            "requestBody": { "required": true, "content": { "application/json": { "schema": schema } } },
            "responses": ok(status, out) } })
    };
    paths.insert("/api/v1/themes".into(), json!({ "get": { "summary": "Themes, largest first", "parameters": page_params(),
        "responses": ok("200", json!({ "type": "object", "properties": { "items": { "type": "array", "items": r("Theme") }, "total": { "type": "integer" } } })) } }));
    paths.insert(
        "/api/v1/themes/unthemed".into(),
        json!({ "get": { "summary": "Items that fit no theme (the review queue)",
        "parameters": page_params(), "responses": ok("200", json!({ "type": "object" })) } }),
    );
    paths.insert(
        "/api/v1/themes/{id}".into(),
        json!({ "get": { "summary": "A theme with its items, best fitting first",
        "parameters": [id_param("id")], "responses": ok("200", r("Theme")) } }),
    );
    paths.insert("/api/v1/themes/{id}/rename".into(), edit("Rename a theme (pm, admin)",
        json!({ "type": "object", "required": ["label"], "properties": { "label": { "type": "string", "maxLength": 200 } } }), "200", r("Theme")));
    paths.insert("/api/v1/themes/{id}/merge".into(), edit("Merge this theme into another (pm, admin)",
        json!({ "type": "object", "required": ["into"], "properties": { "into": { "type": "integer" } } }), "200", r("Theme")));
    paths.insert("/api/v1/themes/{id}/split".into(), edit("Split items off into a new theme (pm, admin)",
        json!({ "type": "object", "required": ["item_ids"], "properties": { "item_ids": { "type": "array", "items": { "type": "integer" } }, "label": { "type": "string" } } }), "201", r("Theme")));
    paths.insert("/api/v1/themes/{id}/lock".into(), edit("Lock or unlock a theme's membership (pm, admin)",
        json!({ "type": "object", "required": ["locked"], "properties": { "locked": { "type": "boolean" } } }), "200", r("Theme")));
    paths.insert("/api/v1/items/{id}/theme".into(), edit("Move an item to a theme, or to the unthemed queue with null (pm, admin)",
        json!({ "type": "object", "required": ["theme_id"], "properties": { "theme_id": { "type": ["integer", "null"] } } }), "204", json!({})));
    let backlog_params = json!([
        { "name": "period", "in": "query", "description": "7d, 28d (default), 90d, 365d, Nd up to 3650d, or all", "schema": { "type": "string" } },
        { "name": "segment", "in": "query", "schema": { "type": "string" } },
        { "name": "area", "in": "query", "description": "only the themes of this area", "schema": { "type": "integer", "minimum": 1 } },
        { "name": "status", "in": "query", "description": "comma-separated statuses, or open", "schema": { "type": "string" } },
        { "name": "sort", "in": "query", "schema": { "enum": ["score", "volume", "unique_customers", "velocity", "rating_impact", "customer_value", "ticket_priority"] } },
        { "name": "as_of", "in": "query", "description": "RFC 3339 or YYYY-MM-DD; default now", "schema": { "type": "string" } },
        { "name": "limit", "in": "query", "schema": { "type": "integer", "minimum": 1, "maximum": 500, "default": 50 } },
        { "name": "offset", "in": "query", "schema": { "type": "integer", "minimum": 0 } }
    ]);
    let area_params: Vec<Value> = backlog_params
        .as_array()
        .into_iter()
        .flatten()
        .filter(|p| {
            !["limit", "offset", "sort", "area"].contains(&p["name"].as_str().unwrap_or(""))
        })
        .cloned()
        .collect();
    paths.insert("/api/v1/areas".into(), json!({ "get": { "summary": "Themes grouped into areas, areas by their themes' combined score (docs/themes.md)",
        "parameters": area_params, "responses": ok("200", json!({ "type": "object" })) } }));
    paths.insert("/api/v1/backlog".into(), json!({ "get": { "summary": "Themes ranked by priority score, with the score's components (docs/backlog.md)",
        "parameters": backlog_params.clone(), "responses": ok("200", json!({ "type": "object" })) } }));
    paths.insert(
        "/api/v1/backlog.csv".into(),
        json!({ "get": { "summary": "The backlog as CSV, same filters",
        "parameters": backlog_params, "responses": { "200": { "description": "text/csv" } } } }),
    );
    paths.insert("/api/v1/backlog/{id}".into(), json!({ "patch": { "summary": "Change a theme's status, notes, effort, owner or pin (pm, admin)",
        "parameters": [id_param("id")],
        "requestBody": { "required": true, "content": { "application/json": { "schema": { "type": "object", "additionalProperties": false, "properties": {
            "status": { "enum": ["new", "under_review", "planned", "in_progress", "shipped", "declined"] },
            "notes": { "type": "string", "maxLength": 10000 }, "effort": { "enum": ["", "xs", "s", "m", "l", "xl"] },
            "owner": { "type": "string", "maxLength": 200 }, "pinned": { "type": "boolean" } } } } } },
        "responses": ok("200", json!({ "type": "object" })) } }));
    paths.insert(
        "/api/v1/backlog/{id}/history".into(),
        json!({ "get": { "summary": "Every change to a theme's backlog entry, newest first",
        "parameters": [id_param("id")], "responses": ok("200", json!({ "type": "array" })) } }),
    );
    paths.insert("/healthz".into(), json!({ "get": { "summary": "Liveness, database reachability and index backlog", "security": [],
        "responses": { "200": { "description": "healthy" }, "503": { "description": "database unreachable" } } } }));
    paths.insert(
        "/api/openapi.json".into(),
        json!({ "get": { "summary": "This document", "security": [],
        "responses": { "200": { "description": "OpenAPI 3.1 document" } } } }),
    );

    let customer_ref = json!({ "type": "object", "additionalProperties": false, "properties": {
        "external_id": { "type": "string", "maxLength": 200 }, "email": { "type": "string", "format": "email" },
        "name": { "type": "string" }, "segment": { "type": "string" }, "account_value": { "type": "number", "minimum": 0, "maximum": 1e12 },
        "notify_opt_in": { "type": "boolean" } } });
    let meta = json!({
        "external_id": { "type": "string", "maxLength": 200, "description": "unique per kind; a repeat is answered with 409" },
        "customer": r("Customer"),
        "created_at": { "type": "string", "description": "RFC 3339 or YYYY-MM-DD; default now" }
    });
    let with_meta = |required: Value, props: Value| {
        let mut p = props.as_object().cloned().unwrap_or_default();
        p.extend(meta.as_object().cloned().unwrap_or_default());
        json!({ "type": "object", "additionalProperties": false, "required": required, "properties": p })
    };
    json!({
        "openapi": "3.1.0",
        "info": { "title": "triage API", "version": env!("CARGO_PKG_VERSION"),
                  "description": format!("Customer feedback intake and search. Every /api/v1 route needs `Authorization: Bearer <token>`; creating surveys needs the pm or admin role. Bodies are limited to {DEFAULT_MAX_BODY_BYTES} bytes. Errors are {{\"error\": {{\"code\", \"message\", \"field\"}}}}.") },
        "security": [{ "bearer": [] }],
        "paths": paths,
        "components": {
            "securitySchemes": { "bearer": { "type": "http", "scheme": "bearer" } },
            "responses": {
                "BadRequest": { "description": "invalid input; `field` names it", "content": { "application/json": { "schema": r("Error") } } },
                "Unauthorized": { "description": "missing or unknown token", "content": { "application/json": { "schema": r("Error") } } },
                "NotFound": { "description": "no such resource", "content": { "application/json": { "schema": r("Error") } } },
                "Conflict": { "description": "external_id already stored", "content": { "application/json": { "schema": r("Error") } } },
                "TooLarge": { "description": "body over the size limit", "content": { "application/json": { "schema": r("Error") } } }
            },
            "schemas": {
                "Error": { "type": "object", "properties": { "error": { "type": "object", "required": ["code", "message"], "properties": {
                    "code": { "type": "string" }, "message": { "type": "string" }, "field": { "type": "string" } } } } },
                "Customer": customer_ref,
                "TicketInput": with_meta(json!(["subject", "body"]), json!({
                    "subject": { "type": "string", "maxLength": 300 }, "body": { "type": "string", "maxLength": 20000 },
                    "priority": { "enum": ["low", "normal", "high", "urgent"] }, "status": { "enum": ["open", "pending", "solved", "closed"] },
                    "tags": { "type": "array", "maxItems": 20, "items": { "type": "string", "maxLength": 50 } } })),
                "Ticket": { "type": "object", "properties": { "id": { "type": "integer" }, "item_id": { "type": "integer" } } },
                "RatingInput": with_meta(json!(["score"]), json!({
                    "score": { "type": "integer", "minimum": 1, "maximum": 5 }, "comment": { "type": "string", "maxLength": 20000 },
                    "subject": { "type": "string", "maxLength": 300, "description": "what was rated" } })),
                "Rating": { "type": "object", "properties": { "id": { "type": "integer" }, "item_id": { "type": "integer" } } },
                "SurveyInput": { "type": "object", "additionalProperties": false, "required": ["title", "questions"], "properties": {
                    "title": { "type": "string" }, "questions": { "type": "array", "minItems": 1, "maxItems": 50, "items": {
                        "type": "object", "required": ["kind", "prompt"], "properties": { "kind": { "enum": ["nps", "csat", "text"] }, "prompt": { "type": "string" } } } } } },
                "Survey": { "type": "object", "properties": { "id": { "type": "integer" }, "title": { "type": "string" },
                    "questions": { "type": "array", "items": { "type": "object", "properties": { "id": { "type": "integer" }, "kind": { "type": "string" }, "prompt": { "type": "string" } } } } } },
                "SurveyResponseInput": with_meta(json!(["answers"]), json!({
                    "answers": { "type": "object", "description": "question id → 0..10 (nps), 1..5 (csat) or text",
                                 "additionalProperties": { "oneOf": [{ "type": "integer" }, { "type": "string" }] } } })),
                "SurveyResponse": { "type": "object", "properties": { "id": { "type": "integer" }, "item_id": { "type": "integer" }, "answers": { "type": "array" } } },
                "Theme": { "type": "object", "properties": { "id": { "type": "integer" }, "label": { "type": "string" },
                    "generated_label": { "type": "string" }, "keywords": { "type": "array", "items": { "type": "string" } },
                    "size": { "type": "integer" }, "locked": { "type": "boolean" }, "representative_quote": { "type": ["string", "null"] } } },
                "SearchResults": { "type": "object", "properties": {
                    "total": { "type": "integer" },
                    "hits": { "type": "array", "items": { "type": "object", "properties": {
                        "id": { "type": "integer", "description": "feedback item id" }, "kind": { "type": "string" },
                        "source_id": { "type": "integer", "description": "id of the ticket, rating or survey response" },
                        "snippet": { "type": "string", "description": "HTML-escaped, matches in <b>" },
                        "score": { "type": "number", "description": "relevance" }, "item_score": { "type": "number", "description": "the item's own score on a 0..1 scale" } } } },
                    "corrections": { "type": "array", "description": "typo corrections applied" } } }
            }
        }
    })
}
