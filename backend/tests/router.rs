//! The API's error mapping, driven through the router in process (`tower::ServiceExt::oneshot`,
//! as in axum's testing example): no listener, no model, a real SQLite file and index.
//! Each error names its field; internals never reach the client.

use axum::body::Body;
use axum::http::{Request, StatusCode};
use serde_json::Value;
use tower::ServiceExt;
use triage::config::Settings;
use triage::db::tokens::{self, Role};
use triage::http::{self, ApiContext};
use triage::jobs::index_sync::IndexSync;
use triage::Config;

struct Api {
    _dir: tempfile::TempDir,
    app: axum::Router,
    support: String,
    pm: String,
}

async fn api() -> Api {
    let dir = tempfile::tempdir().unwrap();
    let config = Config::from_settings(Settings {
        data_dir: Some(dir.path().to_path_buf()),
        ..Default::default()
    })
    .unwrap();
    let db = triage::db::connect(&config).await.unwrap();
    let sync = IndexSync::open(&config, db.clone()).await.unwrap();
    let (_, support) = tokens::create(&db, "support", Role::Support, None)
        .await
        .unwrap();
    let (_, pm) = tokens::create(&db, "pm", Role::Pm, None).await.unwrap();
    let ctx = ApiContext::new(config, db, sync.index()).unwrap();
    Api {
        _dir: dir,
        app: http::router(ctx),
        support,
        pm,
    }
}

/// Status and JSON body of one request.
async fn call(
    app: &axum::Router,
    method: &str,
    uri: &str,
    token: Option<&str>,
    body: &str,
) -> (StatusCode, Value) {
    let mut req = Request::builder()
        .method(method)
        .uri(uri)
        .header("content-type", "application/json");
    if let Some(t) = token {
        req = req.header("authorization", format!("Bearer {t}"));
    }
    let res = app
        .clone()
        .oneshot(req.body(Body::from(body.to_string())).unwrap())
        .await
        .unwrap();
    let status = res.status();
    let bytes = axum::body::to_bytes(res.into_body(), 1 << 20)
        .await
        .unwrap();
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}

fn error(body: &Value) -> (&str, Option<&str>) {
    (
        body["error"]["code"].as_str().unwrap_or(""),
        body["error"]["field"].as_str(),
    )
}

#[tokio::test]
async fn no_token_or_a_wrong_one_is_401_naming_the_header() {
    let api = api().await;
    for token in [None, Some("trg_not-a-real-token")] {
        let (status, body) = call(&api.app, "GET", "/api/v1/themes", token, "").await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
        assert_eq!(error(&body).1, Some("Authorization"));
    }
}

#[tokio::test]
async fn bad_input_is_400_naming_the_field_and_nothing_is_stored() {
    let api = api().await;
    let cases = [
        (r#"{"subject":"","body":"b"}"#, "subject"),
        (
            r#"{"subject":"s","body":"b","priority":"asap"}"#,
            "priority",
        ),
        (
            r#"{"subject":"s","body":"b","customer":{"email":"not-an-email"}}"#,
            "customer.email",
        ),
        (r#"{"subject":"s","body":"b","colour":"red"}"#, "colour"),
    ];
    for (json, field) in cases {
        let (status, body) = call(
            &api.app,
            "POST",
            "/api/v1/tickets",
            Some(&api.support),
            json,
        )
        .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{json}: {body}");
        assert_eq!(error(&body).1, Some(field), "{json}: {body}");
    }
    let (_, listed) = call(&api.app, "GET", "/api/v1/tickets", Some(&api.support), "").await;
    assert_eq!(listed["total"], 0, "{listed}");
}

#[tokio::test]
async fn unknown_ids_are_404_and_support_cannot_edit_the_backlog() {
    let api = api().await;
    let (status, body) = call(
        &api.app,
        "GET",
        "/api/v1/themes/999",
        Some(&api.support),
        "",
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    assert_eq!(error(&body), ("not_found", Some("id")));

    let change = r#"{"status":"shipped"}"#;
    let (status, body) = call(
        &api.app,
        "PATCH",
        "/api/v1/backlog/1",
        Some(&api.support),
        change,
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    // A product manager passes the role check and meets the missing theme instead.
    let (status, body) = call(
        &api.app,
        "PATCH",
        "/api/v1/backlog/1",
        Some(&api.pm),
        change,
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
}

#[tokio::test]
async fn a_duplicate_customer_is_409_naming_the_field() {
    let api = api().await;
    let json = r#"{"email":"ann@corp.test","segment":"smb"}"#;
    let (status, body) = call(&api.app, "POST", "/api/v1/customers", Some(&api.pm), json).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let (status, body) = call(&api.app, "POST", "/api/v1/customers", Some(&api.pm), json).await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert_eq!(error(&body), ("conflict", Some("email")));
}

#[tokio::test]
async fn the_openapi_document_lists_every_backlog_status_and_effort() {
    use triage::backlog::workflow::{Effort, Status};
    let api = api().await;
    let (status, doc) = call(&api.app, "GET", "/api/openapi.json", None, "").await;
    assert_eq!(status, StatusCode::OK);
    let filter = doc["paths"]["/api/v1/backlog"]["get"]["parameters"]
        .as_array()
        .expect("backlog parameters")
        .iter()
        .find(|p| p["name"] == "status")
        .expect("a status parameter")["schema"]["pattern"]
        .as_str()
        .expect("a pattern")
        .to_string();
    let change = &doc["components"]["schemas"]["EntryChange"]["properties"];
    let change_status = change["status"]["pattern"].as_str().expect("a pattern");
    let change_effort = change["effort"]["pattern"].as_str().expect("a pattern");
    for s in Status::ALL {
        assert!(filter.contains(s.as_str()), "{s} missing from {filter}");
        assert!(
            change_status.contains(s.as_str()),
            "{s} missing from {change_status}"
        );
    }
    for e in Effort::ALL {
        assert!(
            change_effort.contains(&format!("|{e}|"))
                || change_effort.contains(&format!("({e}|"))
                || change_effort.contains(&format!("|{e})")),
            "{e} missing from {change_effort}"
        );
    }
}

/// PostgreSQL refuses text with NUL (a fuzzed `segment=%00` was a 503 there); a text
/// parameter drops it, so the filter means what it says without the NUL on both backends.
#[tokio::test]
async fn a_nul_in_a_text_filter_is_dropped_not_a_server_error() {
    let api = api().await;
    let json = r#"{"email":"ann@corp.test","segment":"smb"}"#;
    let (status, _) = call(&api.app, "POST", "/api/v1/customers", Some(&api.pm), json).await;
    assert_eq!(status, StatusCode::CREATED);
    let (status, body) = call(
        &api.app,
        "GET",
        "/api/v1/customers?segment=sm%00b",
        Some(&api.pm),
        "",
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["total"], 1, "{body}");
    for uri in [
        "/api/v1/backlog?segment=sm%00b",
        "/api/v1/search?q=card%00&segment=a%00b",
    ] {
        let (status, body) = call(&api.app, "GET", uri, Some(&api.support), "").await;
        assert_eq!(status, StatusCode::OK, "{uri}: {body}");
    }
}
