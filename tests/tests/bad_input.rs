//! Bad input: every kind of mistake gets a 4xx JSON error naming the field, and nothing
//! already stored changes.

use serde_json::{json, Value};
use triage_e2e::{on_both, Env, Server};

on_both!(bad_input_is_rejected_with_the_field_and_changes_nothing);

/// Everything the API can list, to compare before and after the bad requests.
fn snapshot(s: &Server, token: &str) -> Vec<Value> {
    [
        "/api/v1/tickets?limit=500",
        "/api/v1/ratings?limit=500",
        "/api/v1/surveys?limit=500",
        "/api/v1/customers?limit=500",
    ]
    .iter()
    .map(|p| s.get(p, token).body)
    .collect()
}

fn bad_input_is_rejected_with_the_field_and_changes_nothing(env: &Env) {
    let token = env.token("admin");
    let s = env.serve();
    let t = s.post("/api/v1/tickets", &token, &json!({"subject": "Original", "body": "Keep me", "external_id": "keep-1",
                                                       "customer": {"email": "keep@example.com", "segment": "smb"}}));
    assert_eq!(t.status, 201);
    let survey = s.post("/api/v1/surveys", &token, &json!({"title": "NPS", "questions": [{"kind": "nps", "prompt": "?"}, {"kind": "text", "prompt": "why"}]}));
    let sid = survey.body["id"].as_i64().unwrap();
    let nps = survey.body["questions"][0]["id"].to_string();
    let text = survey.body["questions"][1]["id"].to_string();
    let before = snapshot(&s, &token);

    let long = "x".repeat(301);
    let responses = format!("/api/v1/surveys/{sid}/responses");
    let (nps_field, text_field) = (format!("answers.{nps}"), format!("answers.{text}"));
    let cases: Vec<(&str, Value, u16, &str)> = vec![
        // wrong types (answers that do not fit their question, which the stored survey
        // decides, are 422; everything else here is 400)
        (
            "/api/v1/tickets",
            json!({"subject": 42, "body": "b"}),
            400,
            "subject",
        ),
        (
            "/api/v1/tickets",
            json!({"subject": "s", "body": "b", "tags": "one"}),
            400,
            "tags",
        ),
        ("/api/v1/ratings", json!({"score": "5"}), 400, "score"),
        ("/api/v1/ratings", json!({"score": 4.5}), 400, "score"),
        (
            "/api/v1/tickets",
            json!({"subject": "s", "body": "b", "customer": {"email": 7}}),
            400,
            "customer.email",
        ),
        // missing or blank fields
        ("/api/v1/tickets", json!({"body": "b"}), 400, "subject"),
        (
            "/api/v1/tickets",
            json!({"subject": "   ", "body": "b"}),
            400,
            "subject",
        ),
        (
            "/api/v1/ratings",
            json!({"comment": "no score"}),
            400,
            "score",
        ),
        (
            "/api/v1/surveys",
            json!({"title": "t", "questions": []}),
            400,
            "questions",
        ),
        // out of range and invalid values
        ("/api/v1/ratings", json!({"score": 0}), 400, "score"),
        ("/api/v1/ratings", json!({"score": 6}), 400, "score"),
        (
            "/api/v1/tickets",
            json!({"subject": "s", "body": "b", "priority": "asap"}),
            400,
            "priority",
        ),
        (
            "/api/v1/tickets",
            json!({"subject": long, "body": "b"}),
            400,
            "subject",
        ),
        (
            "/api/v1/tickets",
            // NUL characters are removed; what is left here is blank.
            json!({"subject": "\u{0} \u{0}", "body": "b"}),
            400,
            "subject",
        ),
        (
            "/api/v1/tickets",
            json!({"subject": "s", "body": "b", "created_at": "yesterday"}),
            400,
            "created_at",
        ),
        (
            "/api/v1/tickets",
            json!({"subject": "s", "body": "b", "customer": {"email": "not-an-email"}}),
            400,
            "customer.email",
        ),
        (
            "/api/v1/surveys",
            json!({"title": "t", "questions": [{"kind": "stars", "prompt": "p"}]}),
            400,
            "questions[0].kind",
        ),
        (
            &responses,
            json!({"answers": {nps.clone(): 11}}),
            422,
            &nps_field,
        ),
        (
            &responses,
            json!({"answers": {nps.clone(): -1}}),
            422,
            &nps_field,
        ),
        (
            &responses,
            json!({"answers": {text.clone(): 5}}),
            422,
            &text_field,
        ),
        (
            &responses,
            json!({"answers": {"99999": 5}}),
            422,
            "answers.99999",
        ),
        // unknown survey, unknown fields
        (
            "/api/v1/surveys/424242/responses",
            json!({"answers": {"1": 5}}),
            404,
            "id",
        ),
        (
            "/api/v1/tickets",
            json!({"subject": "s", "body": "b", "colour": "red"}),
            400,
            "colour",
        ),
        (
            "/api/v1/tickets",
            json!({"subject": "s", "body": "b", "customer": {"mail": "a@b.co"}}),
            400,
            "customer.mail",
        ),
        // a repeated external id
        (
            "/api/v1/tickets",
            json!({"subject": "Overwrite?", "body": "No", "external_id": "keep-1"}),
            409,
            "external_id",
        ),
    ];
    for (path, body, status, field) in &cases {
        let r = s.post(path, &token, body);
        assert_eq!(r.status, *status, "{path} {body}: {:?}", r.body);
        assert_eq!(r.error_field(), Some(*field), "{path} {body}: {:?}", r.body);
        assert!(r.body["error"]["message"]
            .as_str()
            .is_some_and(|m| !m.is_empty()));
    }

    // Bodies that are not JSON at all.
    let raw: Vec<(Vec<u8>, u16, Option<&str>, &str)> = vec![
        (
            b"{\"subject\": \"ok\", \"body\": \"caf\xe9\"}".to_vec(),
            400,
            Some("body"),
            "invalid_utf8",
        ),
        (
            b"{\"subject\": \"unterminated".to_vec(),
            400,
            Some("subject"),
            "invalid_json",
        ),
        (b"".to_vec(), 400, Some("body"), "missing_body"),
        (
            format!(
                "{{\"subject\":\"s\",\"body\":\"{}\"}}",
                "y".repeat(2 * 1024 * 1024)
            )
            .into_bytes(),
            413,
            None,
            "payload_too_large",
        ),
    ];
    for (body, status, field, code) in raw {
        let r = s.post_raw("/api/v1/tickets", &token, body);
        assert_eq!(r.status, status, "{:?}", r.body);
        assert_eq!(r.error_code(), Some(code), "{:?}", r.body);
        assert_eq!(r.error_field(), field, "{:?}", r.body);
    }

    // Bad query parameters and ids.
    for (path, field) in [
        ("/api/v1/tickets?limit=0", "limit"),
        ("/api/v1/tickets?limit=ten", "limit"),
        ("/api/v1/tickets?sort=asc", "sort"),
        ("/api/v1/tickets/abc", "id"),
        ("/api/v1/search?q=x&kind=email", "kind"),
        ("/api/v1/search?q=x&from=someday", "from"),
        ("/api/v1/search?q=x&min_score=2", "min_score"),
        ("/api/v1/search?q=x&sort=best", "sort"),
        ("/api/v1/search?q=x&offset=-1", "offset"),
        // On the API a blank number or time is a mistake, not "not given".
        ("/api/v1/tickets?limit=", "limit"),
        ("/api/v1/search?q=x&from=", "from"),
    ] {
        let r = s.get(path, &token);
        assert_eq!(r.status, 400, "{path}: {:?}", r.body);
        assert_eq!(r.error_field(), Some(field), "{path}: {:?}", r.body);
    }

    // Nothing stored changed.
    assert_eq!(snapshot(&s, &token), before);
    let kept = s.get(&format!("/api/v1/tickets/{}", t.body["id"]), &token);
    assert_eq!(kept.body["subject"], "Original");
    assert_eq!(kept.body["body"], "Keep me");

    // NUL inside text is dropped (PostgreSQL could not store it), the rest kept.
    let nul = s.post(
        "/api/v1/tickets",
        &token,
        &json!({"subject": "nul\u{0}byte", "body": "b\u{0}"}),
    );
    assert_eq!(nul.status, 201, "{:?}", nul.body);
    assert_eq!(
        (nul.body["subject"].as_str(), nul.body["body"].as_str()),
        (Some("nulbyte"), Some("b"))
    );
    // A whole number written with a fraction is the whole number.
    let whole = s.post("/api/v1/ratings", &token, &json!({"score": 4.0}));
    assert_eq!(
        (whole.status, whole.body["score"].as_i64()),
        (201, Some(4)),
        "{:?}",
        whole.body
    );
}
