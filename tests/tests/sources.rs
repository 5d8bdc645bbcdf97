//! `triage import --from SOURCE`: the sample exports in tests/fixtures/import/ (written
//! from each tool's export documentation) land as tickets, ratings and survey responses
//! with their ids, statuses, dates and customers; bad records are reported; a second
//! import — or an overlapping later export — stores nothing twice.

use serde_json::Value;
use triage_e2e::{json_line, on_both, Env, Server};

on_both!(helpdesk_exports, app_store_reviews, survey_tool_exports);

fn fixture(name: &str) -> String {
    format!("{}/fixtures/import/{name}", env!("CARGO_MANIFEST_DIR"))
}

/// Imports `file` from `source` and returns (imported, skipped, failed, errors).
fn import(env: &Env, file: &str, source: &str, extra: &[&str]) -> (u64, u64, u64, Vec<Value>) {
    let path = fixture(file);
    let mut args = vec!["import", path.as_str(), "--from", source, "--json"];
    args.extend_from_slice(extra);
    let r = json_line(&env.run_ok(&args));
    (
        r["imported"].as_u64().unwrap(),
        r["skipped"].as_u64().unwrap(),
        r["failed"].as_u64().unwrap(),
        r["errors"].as_array().unwrap().clone(),
    )
}

fn counts(r: &(u64, u64, u64, Vec<Value>)) -> (u64, u64, u64) {
    (r.0, r.1, r.2)
}

/// Every row of a list endpoint, keyed by external id.
fn by_external_id(s: &Server, path: &str, token: &str) -> std::collections::HashMap<String, Value> {
    let r = s.get(&format!("{path}?limit=500"), token);
    assert_eq!(r.status, 200, "{:?}", r.body);
    r.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|t| Some((t["external_id"].as_str()?.to_string(), t.clone())))
        .collect()
}

fn helpdesk_exports(env: &Env) {
    // Zendesk admin export: a deleted ticket and a bad date are reported, not stored.
    let r = import(env, "zendesk-tickets.json", "zendesk", &[]);
    assert_eq!(counts(&r), (2, 0, 2), "{:?}", r.3);
    assert!(
        r.3[0]["message"].as_str().unwrap().contains("deleted"),
        "{:?}",
        r.3
    );
    assert_eq!(r.3[1]["field"], "created_at", "{:?}", r.3);
    // A later Incremental Export page repeats ticket 35436 (updated) and adds one.
    let r = import(env, "zendesk-incremental.json", "zendesk", &[]);
    assert_eq!(counts(&r), (1, 1, 0), "{:?}", r.3);
    // Twice: nothing new.
    let r = import(env, "zendesk-tickets.json", "zendesk", &[]);
    assert_eq!(counts(&r), (0, 2, 2));

    assert_eq!(
        counts(&import(env, "freshdesk-tickets.csv", "freshdesk", &[])),
        (4, 0, 0)
    );
    let r = import(env, "helpscout-conversations.csv", "help-scout", &[]);
    assert_eq!(counts(&r), (2, 0, 1), "{:?}", r.3);
    assert!(r.3[0]["message"].as_str().unwrap().contains("spam"));
    assert_eq!(r.3[0]["line"], 4);
    assert_eq!(
        counts(&import(env, "intercom-conversations.csv", "intercom", &[])),
        (3, 0, 0)
    );
    assert_eq!(
        counts(&import(env, "intercom-conversations.csv", "intercom", &[])),
        (0, 3, 0)
    );

    let token = env.token("pm");
    let s = env.serve();
    let t = by_external_id(&s, "/api/v1/tickets", &token);
    assert_eq!(t.len(), 2 + 1 + 4 + 2 + 3, "{:?}", t.keys());
    let card = &t["zendesk:35436"];
    assert_eq!(card["subject"], "Card declined at the supermarket");
    assert_eq!(card["priority"], "high");
    assert_eq!(card["status"], "open", "the first import's status is kept");
    assert_eq!(card["created_at"], "2024-05-02T09:12:44Z");
    let tags: Vec<&str> = card["tags"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t.as_str().unwrap())
        .collect();
    assert_eq!(
        tags,
        ["cards", "declined", "channel:email", "satisfaction:bad"]
    );
    // No subject in Zendesk: the description's first line.
    assert_eq!(
        t["zendesk:35437"]["subject"],
        "How long does a transfer to another bank take?"
    );
    assert_eq!(t["zendesk:35437"]["status"], "solved");
    assert!(t["zendesk:35440"]["customer_id"].is_i64());

    let refund = &t["freshdesk:1001"];
    assert_eq!(refund["priority"], "high");
    assert_eq!(t["freshdesk:1002"]["status"], "pending");
    assert_eq!(t["freshdesk:1002"]["priority"], "normal");
    assert_eq!(t["freshdesk:1003"]["status"], "solved");
    assert_eq!(t["freshdesk:1003"]["created_at"], "2024-05-01T10:00:00Z");
    // The same Freshdesk contact is one customer.
    assert_eq!(refund["customer_id"], t["freshdesk:1003"]["customer_id"]);
    assert_ne!(refund["customer_id"], t["freshdesk:1002"]["customer_id"]);

    assert_eq!(t["helpscout:3011"]["status"], "open");
    assert_eq!(t["intercom:215469"]["status"], "pending");
    assert_eq!(
        t["intercom:215468"]["subject"],
        "Can I get a virtual card for online shopping?"
    );
    let tags: Vec<&str> = t["intercom:215469"]["tags"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t.as_str().unwrap())
        .collect();
    assert_eq!(tags, ["Transfers", "Delays", "channel:email"]);

    // The requester's email from the API page's sideloaded users: export shows it.
    let admin = env.token("admin");
    let customer = t["zendesk:35440"]["customer_id"].as_i64().unwrap();
    let export = s.get(&format!("/api/v1/customers/{customer}/export"), &admin);
    assert_eq!(export.status, 200, "{:?}", export.body);
    assert!(
        export.body.to_string().contains("tom.berg@example.com"),
        "{}",
        export.body
    );
}

fn app_store_reviews(env: &Env) {
    let r = import(env, "appstore-reviews.csv", "app-store", &[]);
    assert_eq!(counts(&r), (2, 0, 1), "{:?}", r.3);
    assert_eq!(r.3[0]["field"], "score");
    assert_eq!(r.3[0]["line"], 4);
    assert_eq!(
        counts(&import(env, "appstore-reviews.json", "app-store", &[])),
        (2, 0, 0)
    );
    // Google Play's report is UTF-16 with a byte order mark.
    assert_eq!(
        counts(&import(env, "play-reviews.csv", "google-play", &[])),
        (3, 0, 0)
    );
    assert_eq!(
        counts(&import(env, "play-reviews.csv", "google-play", &[])),
        (0, 3, 0)
    );

    let token = env.token("pm");
    let s = env.serve();
    let r = by_external_id(&s, "/api/v1/ratings", &token);
    assert_eq!(r.len(), 7, "{:?}", r.keys());
    let crash = &r["appstore:00000041"];
    assert_eq!(crash["score"], 1);
    assert_eq!(crash["subject"], "App Store 5.12.0");
    assert_eq!(
        crash["comment"],
        "Crashes on login\n\nThe app crashes every time I try to log in with Face ID."
    );
    assert_eq!(crash["created_at"], "2024-05-07T17:00:00Z");
    // The same nickname in the CSV and the API page is one customer.
    assert_eq!(crash["customer_id"], r["appstore:00000044"]["customer_id"]);
    let play = &r["play:gp:AOqpTOH1x"];
    assert_eq!(play["subject"], "Google Play 5.12.0");
    assert_eq!(
        play["comment"],
        "Die App stürzt beim Login mit Fingerabdruck ab."
    );
    assert!(play["customer_id"].is_null(), "Play names no reviewer");
    assert!(r["play:gp:AOqpTOH3z"]["comment"].is_null());
}

fn survey_tool_exports(env: &Env) {
    let r = import(
        env,
        "typeform-responses.csv",
        "typeform",
        &["--title", "Quarterly NPS"],
    );
    assert_eq!(counts(&r), (3, 0, 1), "{:?}", r.3);
    assert_eq!(r.3[0]["line"], 5);
    let r = import(env, "surveymonkey-responses.csv", "survey-monkey", &[]);
    assert_eq!(counts(&r), (3, 0, 0), "{:?}", r.3);
    // Again: the same surveys are found, no response is stored twice.
    let r = import(
        env,
        "typeform-responses.csv",
        "typeform",
        &["--title", "Quarterly NPS"],
    );
    assert_eq!(counts(&r), (0, 3, 1));
    assert_eq!(
        counts(&import(
            env,
            "surveymonkey-responses.csv",
            "survey-monkey",
            &[]
        )),
        (0, 3, 0)
    );
    // A kind given by hand makes a different survey.
    let r = import(
        env,
        "typeform-responses.csv",
        "typeform",
        &[
            "--title",
            "Quarterly NPS",
            "--question",
            "How satisfied are you with our support?=text",
        ],
    );
    assert_eq!(counts(&r), (0, 3, 1), "responses keep their ids: {:?}", r.3);
    let bad = env.run(&[
        "import",
        &fixture("typeform-responses.csv"),
        "--from",
        "typeform",
        "--question",
        "No such header=nps",
    ]);
    assert_eq!(bad.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("No such header"));

    let token = env.token("pm");
    let s = env.serve();
    let surveys = s.get("/api/v1/surveys?limit=50", &token);
    let items = surveys.body["items"].as_array().unwrap();
    // The listing leaves questions out: each survey is read in full.
    let titled = |t: &str| {
        items
            .iter()
            .filter(|v| v["title"] == t)
            .map(|v| s.get(&format!("/api/v1/surveys/{}", v["id"]), &token).body)
            .collect::<Vec<_>>()
    };
    let nps = titled("Quarterly NPS");
    assert_eq!(nps.len(), 2, "the override made a second survey: {items:?}");
    let kinds = |s: &Value| {
        s["questions"]
            .as_array()
            .unwrap()
            .iter()
            .map(|q| q["kind"].as_str().unwrap().to_string())
            .collect::<Vec<_>>()
    };
    let mut found: Vec<Vec<String>> = nps.iter().map(kinds).collect();
    found.sort();
    assert_eq!(found, [["nps", "csat", "text"], ["nps", "text", "text"]]);
    let monkey = titled("surveymonkey-responses");
    assert_eq!(monkey.len(), 1);
    assert_eq!(kinds(&monkey[0]), ["nps", "csat", "text", "text", "text"]);
    assert_eq!(
        monkey[0]["questions"][2]["prompt"],
        "Which features do you use? — Transfers"
    );
    let id = monkey[0]["id"].as_i64().unwrap();
    let responses = s.get(&format!("/api/v1/surveys/{id}/responses?limit=50"), &token);
    assert_eq!(responses.status, 200);
    assert_eq!(responses.body["total"], 3, "{}", responses.body);
    let text = responses.body.to_string();
    assert!(text.contains("Exchange rates should be shown before I confirm"));
    assert!(
        !text.contains("203.0.113"),
        "IP addresses are never read: {text}"
    );
}
