//! Intake over HTTP: create, get and list every resource; tokens and roles.

use serde_json::json;
use triage_e2e::{json_line, on_both, Env};

on_both!(
    creates_gets_and_lists_every_kind,
    tokens_roles_and_hashing,
    health_and_openapi
);

fn creates_gets_and_lists_every_kind(env: &Env) {
    let token = env.token("pm");
    let s = env.serve();

    let t = s.post(
        "/api/v1/tickets",
        &token,
        &json!({"subject": "Export to CSV fails", "body": "Clicking export gives a blank file",
                "priority": "high", "tags": ["export", "csv"], "external_id": "zd-1",
                "customer": {"email": "Ana@Example.com", "name": "Ana", "segment": "enterprise", "account_value": 12000}}),
    );
    assert_eq!(t.status, 201, "{:?}", t.body);
    assert_eq!(t.body["priority"], "high");
    assert_eq!(t.body["tags"], json!(["export", "csv"]));
    let ticket_id = t.body["id"].as_i64().unwrap();
    assert!(t.body["item_id"].as_i64().is_some());

    let got = s.get(&format!("/api/v1/tickets/{ticket_id}"), &token);
    assert_eq!(got.status, 200);
    assert_eq!(got.body["subject"], "Export to CSV fails");
    assert_eq!(got.body["item_id"], t.body["item_id"]);

    // The same external id again is a conflict naming the existing ticket, not a second row.
    let dup = s.post(
        "/api/v1/tickets",
        &token,
        &json!({"subject": "again", "body": "again", "external_id": "zd-1"}),
    );
    assert_eq!(dup.status, 409);
    assert_eq!(dup.error_field(), Some("external_id"));
    assert!(dup.body["error"]["message"]
        .as_str()
        .unwrap()
        .contains(&ticket_id.to_string()));

    let r = s.post(
        "/api/v1/ratings",
        &token,
        &json!({"score": 2, "comment": "Slow sync", "subject": "Mobile app",
                                                      "customer": {"email": "ana@example.com"}}),
    );
    assert_eq!(r.status, 201, "{:?}", r.body);
    assert_eq!(r.body["score"], 2);
    // The email matched case-insensitively: same customer as the ticket.
    assert_eq!(r.body["customer_id"], t.body["customer_id"]);

    let survey = s.post("/api/v1/surveys", &token, &json!({"title": "Q4 NPS", "questions": [
        {"kind": "nps", "prompt": "Recommend us?"}, {"kind": "csat", "prompt": "Satisfied?"}, {"kind": "text", "prompt": "Why?"}]}));
    assert_eq!(survey.status, 201, "{:?}", survey.body);
    let sid = survey.body["id"].as_i64().unwrap();
    let q: Vec<i64> = survey.body["questions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|q| q["id"].as_i64().unwrap())
        .collect();
    assert_eq!(survey.body["questions"][0]["kind"], "nps");

    let resp = s.post(
        &format!("/api/v1/surveys/{sid}/responses"),
        &token,
        &json!({"answers": {q[0].to_string(): 3, q[1].to_string(): 2, q[2].to_string(): "Reports are too slow"},
                "external_id": "resp-1"}),
    );
    assert_eq!(resp.status, 201, "{:?}", resp.body);
    let rid = resp.body["id"].as_i64().unwrap();
    assert_eq!(resp.body["answers"].as_array().unwrap().len(), 3);
    let got = s.get(&format!("/api/v1/surveys/{sid}/responses/{rid}"), &token);
    assert_eq!(got.status, 200);
    assert_eq!(
        s.get(&format!("/api/v1/surveys/{sid}/responses"), &token)
            .body["total"],
        1
    );

    let c = s.post("/api/v1/customers", &token, &json!({"external_id": "acme", "email": "ops@acme.test", "segment": "smb", "notify_opt_in": true}));
    assert_eq!(c.status, 201, "{:?}", c.body);
    assert_eq!(c.body["notify_opt_in"], true);
    assert_eq!(
        s.post(
            "/api/v1/customers",
            &token,
            &json!({"email": "ops@acme.test"})
        )
        .status,
        409
    );
    assert_eq!(
        s.get(&format!("/api/v1/customers/{}", c.body["id"]), &token)
            .body["segment"],
        "smb"
    );

    // Pagination: 25 more tickets, pages of 10, newest first, total counts all.
    for i in 0..25 {
        let r = s.post(
            "/api/v1/tickets",
            &token,
            &json!({"subject": format!("Ticket {i}"), "body": "Body"}),
        );
        assert_eq!(r.status, 201);
    }
    let p1 = s.get("/api/v1/tickets?limit=10", &token);
    let p3 = s.get("/api/v1/tickets?limit=10&offset=20", &token);
    assert_eq!(p1.body["total"], 26);
    assert_eq!(p1.body["items"].as_array().unwrap().len(), 10);
    assert_eq!(p1.body["items"][0]["subject"], "Ticket 24");
    assert_eq!(p3.body["items"].as_array().unwrap().len(), 6);
    assert_eq!(p3.body["items"][5]["subject"], "Export to CSV fails");
    assert_eq!(s.get("/api/v1/ratings", &token).body["total"], 1);
    assert_eq!(s.get("/api/v1/surveys", &token).body["total"], 1);
    assert_eq!(s.get("/api/v1/customers", &token).body["total"], 2);

    // Everything created is searchable once the worker catches up.
    s.wait_indexed();
    let hits = s.get("/api/v1/search?q=reports+slow&mode=keyword", &token);
    assert_eq!(hits.body["total"], 1, "{:?}", hits.body);
    assert_eq!(hits.body["hits"][0]["kind"], "survey_response");
    assert_eq!(hits.body["hits"][0]["item_score"], 0.3);
}

fn tokens_roles_and_hashing(env: &Env) {
    let support = env.token("support");
    let bad = env.run(&["token", "create", "--role", "owner", "--name", "x"]);
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("role"));
    let s = env.serve();

    let no_token = s.send(
        s.client
            .post(format!("{}/api/v1/tickets", s.url))
            .body("{}"),
    );
    assert_eq!(no_token.status, 401);
    assert_eq!(no_token.error_field(), Some("Authorization"));
    assert_eq!(
        s.post(
            "/api/v1/tickets",
            "trg_not_a_real_token",
            &json!({"subject": "a", "body": "b"})
        )
        .status,
        401
    );
    assert_eq!(s.get("/api/v1/tickets", "nope").status, 401);

    // Support staff file tickets but do not design surveys.
    assert_eq!(
        s.post(
            "/api/v1/tickets",
            &support,
            &json!({"subject": "a", "body": "b"})
        )
        .status,
        201
    );
    let survey = s.post(
        "/api/v1/surveys",
        &support,
        &json!({"title": "t", "questions": [{"kind": "nps", "prompt": "p"}]}),
    );
    assert_eq!(survey.status, 403);
    assert_eq!(survey.error_code(), Some("forbidden"));
    s.stop();

    // Only a hash is stored: the token's text appears nowhere in the SQLite files.
    if env.database_url.is_none() {
        for entry in std::fs::read_dir(env.data_dir()).unwrap() {
            let path = entry.unwrap().path();
            if path.is_file() {
                let bytes = std::fs::read(&path).unwrap();
                let needle = support.as_bytes();
                assert!(
                    !bytes.windows(needle.len()).any(|w| w == needle),
                    "token stored in clear in {}",
                    path.display()
                );
            }
        }
    }
}

fn health_and_openapi(env: &Env) {
    let token = env.token("admin");
    let s = env.serve();
    let h = s.send(s.client.get(format!("{}/healthz", s.url)));
    assert_eq!(h.status, 200);
    assert_eq!(h.body["database"], "ok");
    assert_eq!(h.body["index"]["failed_jobs"], 0);
    assert_eq!(h.body["embeddings"]["failed_jobs"], 0);

    // The jobs command reads the same queues.
    let queues = json_line(&env.run_ok(&["jobs", "list", "--json"]));
    for topic in ["index", "embed"] {
        assert!(queues[topic]["pending"].is_u64(), "{queues}");
        assert_eq!(queues[topic]["failed"], 0, "{queues}");
    }
    let failed = env.run_ok(&["jobs", "list", "--failed", "--json"]);
    assert_eq!(failed.trim(), "[]");
    let retry = env.run(&["jobs", "retry"]);
    assert!(!retry.status.success());
    assert!(String::from_utf8_lossy(&retry.stderr).contains("--all"));

    let doc = s.send(s.client.get(format!("{}/api/openapi.json", s.url)));
    assert_eq!(doc.status, 200);
    assert_eq!(doc.body["openapi"], "3.1.0");
    let paths = doc.body["paths"].as_object().unwrap();
    for p in [
        "/api/v1/tickets",
        "/api/v1/tickets/{id}",
        "/api/v1/ratings",
        "/api/v1/ratings/{id}",
        "/api/v1/surveys",
        "/api/v1/surveys/{id}",
        "/api/v1/surveys/{id}/responses",
        "/api/v1/surveys/{id}/responses/{response_id}",
        "/api/v1/customers",
        "/api/v1/customers/{id}",
        "/api/v1/search",
        "/healthz",
    ] {
        assert!(paths.contains_key(p), "openapi lacks {p}");
        // And the server really answers on it (an id of 1 may be missing: 404 is fine, 405 is not).
        let concrete = p.replace("{id}", "1").replace("{response_id}", "1");
        let r = s.get(&concrete, &token);
        assert!(
            r.status == 200 || r.status == 404,
            "{concrete} answered {}",
            r.status
        );
    }
    let unknown = s.get("/api/v1/nothing-here", &token);
    assert_eq!(unknown.status, 404);
    assert_eq!(unknown.error_code(), Some("not_found"));
}
