//! What an operator watches: `GET /metrics` (parsed by the Prometheus client's own
//! OpenMetrics parser), request ids in headers, errors and logs, and JSON logs.

use std::io::Write;
use std::process::{Command, Stdio};

use triage_e2e::{free_port, on_both, Env};

on_both!(metrics_scraped_and_parsed, request_ids_and_json_logs);

/// Parses `text` with `prometheus_client.openmetrics.parser` and returns, per sample,
/// `name{labels} value` lines (sorted labels), so assertions read like the exposition.
fn parse_openmetrics(text: &str) -> Vec<String> {
    let py = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../.deps/py/bin/python");
    assert!(
        py.exists(),
        "{} is missing: run scripts/setup.sh",
        py.display()
    );
    let script = r#"
import sys
from prometheus_client.openmetrics.parser import text_string_to_metric_families
for family in text_string_to_metric_families(sys.stdin.read()):
    for s in family.samples:
        labels = ",".join(f'{k}="{v}"' for k, v in sorted(s.labels.items()))
        print(f"{s.name}{{{labels}}} {s.value}")
"#;
    let mut child = Command::new(py)
        .args(["-c", script])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("python");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "the OpenMetrics parser refused the exposition: {}\n{text}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(str::to_string)
        .collect()
}

fn value(samples: &[String], prefix: &str) -> Option<f64> {
    samples
        .iter()
        .find(|s| s.starts_with(prefix))
        .and_then(|s| s.rsplit(' ').next()?.parse().ok())
}

fn metrics_scraped_and_parsed(env: &Env) {
    let metrics_port = free_port();
    env.set_var("TRIAGE_METRICS_BIND", &format!("127.0.0.1:{metrics_port}"));
    let admin = env.token("admin");
    let pm = env.token("pm");
    let s = env.serve();
    // Some traffic: a ticket, a 404, a bad request.
    let t = s.post(
        "/api/v1/tickets",
        &pm,
        &serde_json::json!({"subject": "Login loop", "body": "The app logs me out"}),
    );
    assert_eq!(t.status, 201);
    assert_eq!(s.get("/api/v1/tickets/999999", &pm).status, 404);
    assert_eq!(s.get("/api/v1/tickets/42", &pm).status, 404);

    // On the API address: admin only.
    assert_eq!(s.get_text("/metrics", "").0, 401);
    assert_eq!(s.get_text("/metrics", &pm).0, 403);
    let (status, kind, text) = s.get_text("/metrics", &admin);
    assert_eq!(status, 200);
    assert!(kind.starts_with("application/openmetrics-text"), "{kind}");
    let samples = parse_openmetrics(&text);
    let created = value(
        &samples,
        r#"triage_http_requests_total{method="POST",route="/api/v1/tickets",status="201"}"#,
    );
    assert_eq!(created, Some(1.0), "{samples:#?}");
    // Route templates, never raw paths: both 404s are one series.
    assert_eq!(
        value(
            &samples,
            r#"triage_http_requests_total{method="GET",route="/api/v1/tickets/{id}",status="404"}"#
        ),
        Some(2.0)
    );
    assert!(!text.contains("/999999"), "a raw path became a label");
    assert!(value(
        &samples,
        r#"triage_http_request_duration_seconds_count{method="POST",route="/api/v1/tickets",status="201"}"#
    )
    .is_some());
    for series in [
        r#"triage_outbox_depth{topic="embed"}"#,
        r#"triage_outbox_depth{topic="index"}"#,
        r#"triage_outbox_oldest_age_seconds{topic="embed"}"#,
        r#"triage_mail_messages{state="sent"}"#,
        r#"triage_db_pool_connections{state="max"}"#,
        "triage_items_embedded_total",
        "triage_theme_rebuild_duration_seconds_count",
    ] {
        assert!(
            value(&samples, series).is_some(),
            "{series} missing: {samples:#?}"
        );
    }
    assert!(value(&samples, r#"triage_db_pool_connections{state="max"}"#).unwrap() >= 1.0);

    // The separate address: no token, and nothing else served there.
    let client = reqwest::blocking::Client::new();
    let r = client
        .get(format!("http://127.0.0.1:{metrics_port}/metrics"))
        .send()
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    let separate = parse_openmetrics(&r.text().unwrap());
    assert!(value(&separate, "triage_http_requests_total").is_some());
    let other = client
        .get(format!("http://127.0.0.1:{metrics_port}/api/v1/tickets"))
        .send()
        .unwrap();
    assert_eq!(other.status().as_u16(), 404);
}

fn request_ids_and_json_logs(env: &Env) {
    env.set_var("TRIAGE_LOG_FORMAT", "json");
    let log = env.dir.path().join("serve.log");
    let pm = env.token("pm");
    let s = env.serve_logged(&log);
    let client = reqwest::blocking::Client::new();
    let get = |id: Option<&str>, path: &str| {
        let mut r = client.get(format!("{}{path}", s.url)).bearer_auth(&pm);
        if let Some(id) = id {
            r = r.header("x-request-id", id);
        }
        r.send().unwrap()
    };
    // A fresh id on every response.
    let r = get(None, "/api/v1/tickets");
    let fresh = r.headers()["x-request-id"].to_str().unwrap().to_string();
    assert_eq!(fresh.len(), 36, "a UUID: {fresh}");
    // A caller's short token is kept and lands in the error body.
    let r = get(Some("trace-abc.123"), "/api/v1/tickets/999999");
    assert_eq!(r.status().as_u16(), 404);
    assert_eq!(r.headers()["x-request-id"], "trace-abc.123");
    let body: serde_json::Value = r.json().unwrap();
    assert_eq!(body["error"]["request_id"], "trace-abc.123", "{body}");
    assert_eq!(body["error"]["code"], "not_found");
    // Anything else is replaced, not echoed into logs.
    let long = "x".repeat(100);
    let r = get(Some(&long), "/api/v1/tickets");
    assert_ne!(r.headers()["x-request-id"].to_str().unwrap(), long);
    let r = get(Some("has space"), "/api/v1/tickets");
    assert_ne!(r.headers()["x-request-id"], "has space");
    // Searching for an email: the term must not reach the log.
    let r = get(None, "/api/v1/search?q=someone%40example.com");
    assert_eq!(r.status().as_u16(), 200);
    s.stop();

    let text = std::fs::read_to_string(&log).unwrap();
    let lines: Vec<serde_json::Value> = text
        .lines()
        .filter(|l| l.starts_with('{'))
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect();
    let access: Vec<&serde_json::Value> = lines
        .iter()
        .filter(|l| l["target"] == "triage::access")
        .collect();
    assert!(access.len() >= 5, "{text}");
    let traced = access
        .iter()
        .find(|l| l["span"]["request_id"] == "trace-abc.123")
        .unwrap_or_else(|| panic!("no access line with the caller's id: {text}"));
    assert_eq!(traced["fields"]["status"], 404);
    assert_eq!(traced["fields"]["route"], "/api/v1/tickets/{id}");
    assert!(
        !text.contains("someone@example.com") && !text.contains("someone%40"),
        "{text}"
    );
    assert!(!text.contains("/999999"), "raw paths stay out of the log");
}
