//! The role matrix: every route of the router, tried anonymously and as support, pm and
//! admin, against the access written down for it here.
//!
//! The routes are read from the router's own source (every `.route("…", get(…).post(…))`
//! and every `#[utoipa::path(method, path = "…")]` under backend/src/http):
//! `every_route_has_a_line_in_the_matrix` fails when a route is added, removed or changes
//! method without its line here, so no route ships untried, and
//! `the_openapi_document_has_every_api_route` when an API route is missing from
//! `/api/openapi.json`.
//! API routes are called with bearer tokens, web routes with signed-in sessions (forms
//! with their CSRF token, so a 403 means the role, not a missing token).

use std::collections::BTreeSet;
use std::path::Path;

use triage_e2e::{hidden, on_both, Env, Server, WebSession};

/// Who may use a route.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Access {
    /// Anyone, signed in or not.
    Public,
    /// Any role (support, pm, admin).
    Signed,
    /// Product managers and admins.
    Editors,
    /// Admins.
    Admin,
}

use Access::*;

/// Every route: method, path as written in the router, who may use it.
const MATRIX: &[(&str, &str, Access)] = &[
    // JSON API
    ("GET", "/api/v1/areas", Signed),
    ("GET", "/api/v1/backlog", Signed),
    ("GET", "/api/v1/backlog.csv", Signed),
    ("PATCH", "/api/v1/backlog/{theme_id}", Editors),
    ("GET", "/api/v1/backlog/{theme_id}/history", Signed),
    ("GET", "/api/v1/backlog/{theme_id}/rollouts", Signed),
    ("POST", "/api/v1/backlog/{theme_id}/rollouts", Editors),
    (
        "PATCH",
        "/api/v1/backlog/{theme_id}/rollouts/{rollout_id}",
        Editors,
    ),
    (
        "DELETE",
        "/api/v1/backlog/{theme_id}/rollouts/{rollout_id}",
        Editors,
    ),
    ("GET", "/api/v1/themes/{id}/impact", Signed),
    ("GET", "/api/v1/customers", Signed),
    ("POST", "/api/v1/customers", Signed),
    ("GET", "/api/v1/customers/{id}", Signed),
    ("PATCH", "/api/v1/customers/{id}", Editors),
    ("DELETE", "/api/v1/customers/{id}", Admin),
    ("GET", "/api/v1/customers/{id}/export", Admin),
    ("GET", "/api/v1/erasures", Admin),
    ("GET", "/api/v1/ratings", Signed),
    ("POST", "/api/v1/ratings", Signed),
    ("GET", "/api/v1/ratings/{id}", Signed),
    ("GET", "/api/v1/search", Signed),
    ("GET", "/api/v1/items/{id}/similar", Signed),
    ("GET", "/api/v1/themes/{id}/similar", Signed),
    ("GET", "/api/v1/surveys", Signed),
    ("POST", "/api/v1/surveys", Editors),
    ("GET", "/api/v1/surveys/{id}", Signed),
    ("PATCH", "/api/v1/surveys/{id}", Editors),
    ("GET", "/api/v1/surveys/{id}/responses", Signed),
    ("POST", "/api/v1/surveys/{id}/responses", Signed),
    (
        "GET",
        "/api/v1/surveys/{id}/responses/{response_id}",
        Signed,
    ),
    ("GET", "/api/v1/themes", Signed),
    ("GET", "/api/v1/themes/unthemed", Signed),
    ("GET", "/api/v1/themes/{id}", Signed),
    ("POST", "/api/v1/themes/{id}/rename", Editors),
    ("POST", "/api/v1/themes/{id}/merge", Editors),
    ("POST", "/api/v1/themes/{id}/split", Editors),
    ("POST", "/api/v1/themes/{id}/lock", Editors),
    ("POST", "/api/v1/items/{id}/theme", Editors),
    ("GET", "/api/v1/themes/questions", Editors),
    ("POST", "/api/v1/themes/questions", Editors),
    ("GET", "/api/v1/themes/answers", Editors),
    ("DELETE", "/api/v1/themes/answers/{id}", Editors),
    ("GET", "/api/v1/themes/suggestions", Editors),
    ("POST", "/api/v1/themes/suggestions/dismiss", Editors),
    ("GET", "/api/v1/themes/{id}/history", Signed),
    ("POST", "/api/v1/themes/edits/{id}/undo", Editors),
    ("GET", "/api/v1/tickets", Signed),
    ("POST", "/api/v1/tickets", Signed),
    ("GET", "/api/v1/tickets/{id}", Signed),
    ("GET", "/api/v1/webhooks", Admin),
    ("POST", "/api/v1/webhooks", Admin),
    ("GET", "/api/v1/webhooks/{id}", Admin),
    ("PATCH", "/api/v1/webhooks/{id}", Admin),
    ("DELETE", "/api/v1/webhooks/{id}", Admin),
    ("GET", "/api/v1/webhooks/{id}/deliveries", Admin),
    ("GET", "/api/v1/hooks", Admin),
    ("POST", "/api/v1/hooks", Admin),
    ("DELETE", "/api/v1/hooks/{name}", Admin),
    // Other tools call it without a token: their signature is checked instead (401 when
    // it is wrong — tests/tests/hooks.rs); here the hook does not exist, so 404.
    ("POST", "/api/v1/hooks/{name}", Public),
    ("GET", "/metrics", Admin),
    ("GET", "/api/v1/tokens", Admin),
    ("POST", "/api/v1/tokens", Admin),
    ("DELETE", "/api/v1/tokens/{id}", Admin),
    ("GET", "/healthz", Public),
    ("GET", "/api/openapi.json", Public),
    // Web UI
    ("GET", "/", Public),
    ("GET", "/login", Public),
    ("POST", "/login", Public),
    ("GET", "/s/{survey_id}", Public),
    ("POST", "/s/{survey_id}", Public),
    ("GET", "/confirm-email", Public),
    ("POST", "/confirm-email", Public),
    ("GET", "/unsubscribe", Public),
    ("POST", "/unsubscribe", Public),
    ("GET", "/fixed", Public),
    ("POST", "/fixed", Public),
    ("GET", "/assets/suggest.js", Public),
    ("GET", "/backlog", Signed),
    ("GET", "/backlog/export.csv", Signed),
    ("GET", "/search", Signed),
    ("GET", "/items/{id}", Signed),
    ("GET", "/settings", Signed),
    ("POST", "/settings", Signed),
    ("POST", "/settings/password", Signed),
    ("GET", "/digest/preview", Signed),
    ("GET", "/settings/webhooks", Admin),
    ("POST", "/settings/webhooks", Admin),
    ("POST", "/settings/webhooks/{id}", Admin),
    ("GET", "/themes/{id}", Signed),
    ("POST", "/themes/{id}/backlog", Editors),
    ("POST", "/themes/{id}/rename", Editors),
    ("POST", "/themes/{id}/merge", Editors),
    ("POST", "/themes/{id}/undo", Editors),
    ("POST", "/themes/{id}/items", Editors),
    ("POST", "/themes/{id}/rollouts", Editors),
    ("POST", "/themes/{id}/rollouts/{rollout_id}/delete", Editors),
    ("GET", "/tickets", Signed),
    ("POST", "/tickets", Signed),
    ("GET", "/tickets/new", Signed),
    ("GET", "/tickets/suggest", Signed),
    ("GET", "/teach", Editors),
    ("POST", "/teach", Editors),
    ("POST", "/teach/withdraw", Editors),
    ("POST", "/teach/dismiss", Editors),
    ("GET", "/unthemed", Signed),
    ("POST", "/unthemed", Editors),
    // Last: they end the session they are called with.
    ("POST", "/logout/everywhere", Signed),
    ("POST", "/logout", Signed),
];

const ROLES: [&str; 3] = ["support", "pm", "admin"];

fn allowed(access: Access, role: &str) -> bool {
    match access {
        Public | Signed => true,
        Editors => role != "support",
        Admin => role == "admin",
    }
}

fn is_api(path: &str) -> bool {
    path.starts_with("/api/") || path == "/healthz" || path == "/metrics"
}

/// `(METHOD, path)` of every `.route(…)` and `#[utoipa::path(…)]` in the router's source.
/// Files of `http/` other than the health check, the OpenAPI document and `mod.rs` are
/// nested under `/api/v1`.
fn routes_in_source() -> BTreeSet<(String, String)> {
    let http = Path::new(env!("CARGO_MANIFEST_DIR")).join("../backend/src/http");
    let mut out = BTreeSet::new();
    for dir in [http.clone(), http.join("web")] {
        for entry in std::fs::read_dir(&dir).expect("backend/src/http") {
            let path = entry.expect("dir entry").path();
            if path.extension().is_none_or(|e| e != "rs") {
                continue;
            }
            let file = path.file_name().unwrap().to_string_lossy().to_string();
            let nested = dir == http
                && !["health.rs", "openapi.rs", "mod.rs", "metrics.rs"].contains(&file.as_str());
            let prefix = if nested { "/api/v1" } else { "" };
            let text = std::fs::read_to_string(&path).expect("source");
            for call in calls(&text, ".route(") {
                let route = call.split('"').nth(1).expect("a quoted path in .route(…)");
                for method in methods(call) {
                    out.insert((method, format!("{prefix}{route}")));
                }
            }
            for attr in calls(&text, "#[utoipa::path(") {
                let method = attr.split(',').next().unwrap_or("").trim().to_uppercase();
                let route = attr
                    .split_once("path = \"")
                    .and_then(|(_, rest)| rest.split('"').next())
                    .expect("path = \"…\" in #[utoipa::path(…)]");
                out.insert((method, format!("{prefix}{route}")));
            }
        }
    }
    out
}

/// The argument text of every `opening` (`.route(`, `#[utoipa::path(`) up to its closing
/// parenthesis.
fn calls<'a>(text: &'a str, opening: &str) -> Vec<&'a str> {
    let mut calls = Vec::new();
    let mut rest = text;
    while let Some(at) = rest.find(opening) {
        let start = at + opening.len();
        let mut depth = 1;
        let mut end = start;
        for (i, c) in rest[start..].char_indices() {
            match c {
                '(' => depth += 1,
                ')' => depth -= 1,
                _ => {}
            }
            if depth == 0 {
                end = start + i;
                break;
            }
        }
        calls.push(&rest[start..end]);
        rest = &rest[end..];
    }
    calls
}

/// The HTTP methods a `.route(…)` argument registers: `get(`, `post(`, … not part of a
/// longer name.
fn methods(call: &str) -> Vec<String> {
    let mut out = Vec::new();
    for m in ["get", "post", "patch", "delete", "put"] {
        let needle = format!("{m}(");
        let mut from = 0;
        while let Some(i) = call[from..].find(&needle) {
            let at = from + i;
            let before = call[..at].chars().last();
            if !before.is_some_and(|c| c.is_alphanumeric() || c == '_') {
                out.push(m.to_uppercase());
            }
            from = at + needle.len();
        }
    }
    out
}

#[test]
fn every_route_has_a_line_in_the_matrix() {
    let source = routes_in_source();
    assert!(
        source.len() > 50,
        "found only {} routes: {source:?}",
        source.len()
    );
    let matrix: BTreeSet<(String, String)> = MATRIX
        .iter()
        .map(|(m, p, _)| (m.to_string(), p.to_string()))
        .collect();
    assert_eq!(matrix.len(), MATRIX.len(), "a route is in the matrix twice");
    let untested: Vec<_> = source.difference(&matrix).collect();
    let gone: Vec<_> = matrix.difference(&source).collect();
    assert!(
        untested.is_empty(),
        "routes without a line in the role matrix (tests/tests/roles.rs): {untested:?}"
    );
    assert!(
        gone.is_empty(),
        "matrix lines for routes the router no longer has: {gone:?}"
    );
}

on_both!(
    every_route_refuses_whoever_it_should,
    support_sees_no_contact_details
);

/// Least access: support sees a customer's name and segment, never their email or account
/// value; pm and admin see all of it — in the customer routes and on the theme page.
fn support_sees_no_contact_details(env: &Env) {
    let tokens: Vec<String> = ROLES.iter().map(|r| env.token(r)).collect();
    let s = env.serve();
    let made = s.post(
        "/api/v1/customers",
        &tokens[2],
        &serde_json::json!({"email": "vip@contact.test", "name": "Vera Vip",
                            "segment": "enterprise", "account_value": 90000}),
    );
    assert_eq!(made.status, 201, "{:?}", made.body);
    let id = made.body["id"].as_i64().unwrap();
    for (role, token) in ROLES.iter().zip(&tokens) {
        let one = s.get(&format!("/api/v1/customers/{id}"), token);
        let list = s.get("/api/v1/customers", token);
        assert_eq!(one.status, 200);
        let listed = list.body["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["id"] == id)
            .unwrap()
            .clone();
        for c in [&one.body, &listed] {
            assert_eq!(c["name"], "Vera Vip", "{role}");
            assert_eq!(c["segment"], "enterprise", "{role}");
            if *role == "support" {
                assert!(
                    c["email"].is_null() && c["account_value"].is_null(),
                    "{role}: {c}"
                );
            } else {
                assert_eq!(c["email"], "vip@contact.test", "{role}");
                assert_eq!(c["account_value"], 90000.0, "{role}");
            }
        }
    }
    // A support token creating a customer is not shown what it could not read back.
    let by_support = s.post(
        "/api/v1/customers",
        &tokens[0],
        &serde_json::json!({"email": "new@contact.test", "name": "Nia New"}),
    );
    assert_eq!(by_support.status, 201);
    assert!(by_support.body["email"].is_null(), "{}", by_support.body);

    // The email a visitor typed on the public survey page is contact data too.
    let survey = s.post(
        "/api/v1/surveys",
        &tokens[2],
        &serde_json::json!({"title": "Quick", "questions": [{"kind": "text", "prompt": "Say"}]}),
    );
    let sid = survey.body["id"].as_i64().unwrap();
    let qid = survey.body["questions"][0]["id"].as_i64().unwrap();
    let answered = s
        .client
        .post(format!("{}/s/{sid}", s.url))
        .form(&[
            (format!("q{qid}"), "fine"),
            ("email".into(), "visitor@contact.test"),
        ])
        .send()
        .unwrap();
    assert!(answered.status().is_success());
    for (role, token) in ROLES.iter().zip(&tokens) {
        let r = s.get(&format!("/api/v1/surveys/{sid}/responses"), token);
        let email = &r.body["items"][0]["respondent_email"];
        if *role == "support" {
            assert!(email.is_null(), "{role}: {}", r.body);
        } else {
            assert_eq!(email, "visitor@contact.test", "{role}");
        }
    }
}

#[test]
fn the_openapi_document_has_every_api_route() {
    let Some(env) = Env::new(triage_e2e::Backend::Sqlite) else {
        return;
    };
    let s = env.serve();
    let doc = s.send(s.client.get(format!("{}/api/openapi.json", s.url)));
    assert_eq!(doc.status, 200);
    assert_eq!(doc.body["openapi"], "3.1.0");
    let mut documented = BTreeSet::new();
    for (path, ops) in doc.body["paths"].as_object().expect("paths") {
        for method in ops.as_object().expect("operations").keys() {
            documented.insert((method.to_uppercase(), path.clone()));
        }
    }
    // `/metrics` answers Prometheus text, not JSON: it is documented in docs/operations.md.
    let api: BTreeSet<_> = routes_in_source()
        .into_iter()
        .filter(|(_, p)| is_api(p) && p != "/metrics")
        .collect();
    assert!(api.len() > 30, "found only {} API routes", api.len());
    let missing: Vec<_> = api.difference(&documented).collect();
    assert!(
        missing.is_empty(),
        "API routes missing from /api/openapi.json: {missing:?}"
    );
    let extra: Vec<_> = documented.difference(&api).collect();
    assert!(
        extra.is_empty(),
        "documented routes the router does not have: {extra:?}"
    );
}

/// Path parameters become an id nobody has: the role check must come before the lookup.
fn concrete(path: &str) -> String {
    path.split('/')
        .map(|seg| if seg.starts_with('{') { "999999" } else { seg })
        .collect::<Vec<_>>()
        .join("/")
}

fn no_redirect() -> reqwest::blocking::Client {
    reqwest::blocking::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// Status and `Location` of one request; `auth` is a bearer token or a session (cookie and
/// CSRF token).
fn call(s: &Server, method: &str, path: &str, auth: Auth) -> (u16, String) {
    let client = no_redirect();
    let url = format!("{}{}", s.url, concrete(path));
    let m = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
    let mut req = client.request(m, url);
    match auth {
        Auth::Nobody => {}
        Auth::Token(t) => req = req.bearer_auth(t),
        Auth::Session(w, csrf) => {
            req = req.header("cookie", &w.cookie);
            if method != "GET" {
                req = req.form(&[("csrf", csrf)]);
            }
        }
    }
    if is_api(path) && method != "GET" && method != "DELETE" {
        req = req.header("content-type", "application/json").body("{}");
    }
    let r = req.send().expect("request");
    let location = r
        .headers()
        .get("location")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    (r.status().as_u16(), location)
}

#[derive(Clone, Copy)]
enum Auth<'a> {
    Nobody,
    Token(&'a str),
    Session(&'a WebSession, &'a str),
}

fn every_route_refuses_whoever_it_should(env: &Env) {
    let tokens: Vec<String> = ROLES.iter().map(|r| env.token(r)).collect();
    for role in ROLES {
        env.create_user(
            &format!("{role}@roles.test"),
            role,
            role,
            "correct horse battery",
        );
    }
    let s = env.serve();
    let sign_in = |role: &str| {
        let w = s.sign_in(&format!("{role}@roles.test"), "correct horse battery");
        let (_, page) = w.get("/settings");
        let csrf = hidden(&page, "csrf");
        (w, csrf)
    };
    let mut sessions: Vec<(WebSession, String)> = ROLES.iter().map(|r| sign_in(r)).collect();
    let mut failures = Vec::new();
    for &(method, path, access) in MATRIX {
        // Anonymous.
        let (status, location) = call(&s, method, path, Auth::Nobody);
        let to_login = location.starts_with("/login");
        let ok = match (access, is_api(path)) {
            (Public, _) => status != 401 && !to_login,
            (_, true) => status == 401,
            (_, false) => status == 303 && to_login,
        };
        if !ok {
            failures.push(format!("{method} {path} anonymous: {status} {location}"));
        }
        for (r, role) in ROLES.iter().enumerate() {
            let (status, location) = if is_api(path) {
                call(&s, method, path, Auth::Token(&tokens[r]))
            } else {
                if path.starts_with("/logout") {
                    // These end the session: use a fresh one, keep the others working.
                    sessions[r] = sign_in(role);
                }
                let (w, csrf) = &sessions[r];
                call(&s, method, path, Auth::Session(w, csrf))
            };
            let refused = if path.starts_with("/logout") {
                // Signing out answers with the sign-in page; what shows it worked is that
                // the session no longer opens a page.
                let (w, csrf) = &sessions[r];
                let (after, _) = call(&s, "GET", "/settings", Auth::Session(w, csrf));
                status != 303 || after != 303
            } else {
                status == 401 || status == 403 || location.starts_with("/login")
            };
            let expected_refusal = !allowed(access, role);
            if expected_refusal && status != 403 {
                failures.push(format!("{method} {path} as {role}: {status}, expected 403"));
            } else if !expected_refusal && refused {
                failures.push(format!(
                    "{method} {path} as {role}: refused ({status} {location})"
                ));
            }
        }
    }
    assert!(failures.is_empty(), "role matrix:\n{}", failures.join("\n"));
}
