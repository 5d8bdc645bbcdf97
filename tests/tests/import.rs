//! `triage import`: CSV and JSONL, bad rows reported by line, idempotent, JSON summary.

use std::io::Write;

use serde_json::json;
use triage_e2e::{json_line, on_both, Env};

on_both!(
    imports_csv_and_jsonl_idempotently,
    survey_responses_by_question_kind,
    rejects_unknown_csv_columns
);

fn write(env: &Env, name: &str, text: &str) -> String {
    let path = env.dir.path().join(name);
    std::fs::File::create(&path)
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    path.to_string_lossy().into_owned()
}

fn imports_csv_and_jsonl_idempotently(env: &Env) {
    let csv = write(
        env,
        "tickets.csv",
        "external_id,subject,body,priority,tags,created_at,customer_email,customer_segment,customer_account_value\n\
         t-1,Cannot export,Export button does nothing,high,export;ui,2026-11-01,a@x.test,enterprise,5000\n\
         t-2,,Missing subject on this row,normal,,2026-11-02,b@x.test,smb,\n\
         t-3,Search slow,\"Search takes, like, forever\",urgent,search,2026-11-03T10:00:00Z,b@x.test,smb,\n\
         t-4,Bad priority,Body,whenever,,2026-11-04,,,\n\
         t-5,Bad date,Body,low,,last tuesday,,,\n\
         t-6,Dark mode please,\"Multi-line\nbody, with quotes \"\"here\"\"\",low,ui,2026-11-05,c@x.test,consumer,abc\n\
         t-7,Dark theme too,The app is too bright,low,ui,2026-11-06,c@x.test,consumer,\n",
    );
    let out = env.run_ok(&["import", &csv, "--kind", "ticket", "--json"]);
    let r = json_line(&out);
    assert_eq!(
        (
            r["imported"].as_u64(),
            r["skipped"].as_u64(),
            r["failed"].as_u64()
        ),
        (Some(3), Some(0), Some(4)),
        "{r}"
    );
    assert!(r["seconds"].as_f64().is_some());
    let errors = r["errors"].as_array().unwrap();
    let lines: Vec<u64> = errors.iter().map(|e| e["line"].as_u64().unwrap()).collect();
    assert_eq!(lines, vec![3, 5, 6, 7], "{errors:?}");
    let fields: Vec<&str> = errors
        .iter()
        .map(|e| e["field"].as_str().unwrap_or(""))
        .collect();
    assert_eq!(
        fields,
        vec![
            "subject",
            "priority",
            "created_at",
            "customer_account_value"
        ]
    );

    // Twice: nothing new.
    let again = json_line(&env.run_ok(&["import", &csv, "--kind", "ticket", "--json"]));
    assert_eq!(
        (again["imported"].as_u64(), again["skipped"].as_u64()),
        (Some(0), Some(3)),
        "{again}"
    );

    // JSONL ratings: one bad JSON line, one out of range; rows without external ids are
    // still idempotent (keyed by content).
    let jsonl = write(
        env,
        "ratings.jsonl",
        &[
            json!({"score": 2, "comment": "Sync keeps failing", "subject": "Mobile app", "customer": {"email": "a@x.test"}}).to_string(),
            "{not json".to_string(),
            String::new(),
            json!({"score": 9, "comment": "too high"}).to_string(),
            json!({"score": 5, "comment": "Love the new dark mode", "external_id": "r-2"}).to_string(),
            json!({"score": 4, "comment": "the same id again in one file", "external_id": "r-2"}).to_string(),
        ]
        .join("\n"),
    );
    let r = json_line(&env.run_ok(&["import", &jsonl, "--kind", "rating", "--json"]));
    assert_eq!(
        (r["imported"].as_u64(), r["failed"].as_u64()),
        (Some(2), Some(2)),
        "{r}"
    );
    let lines: Vec<u64> = r["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["line"].as_u64().unwrap())
        .collect();
    assert_eq!(lines, vec![2, 4]);
    let r = json_line(&env.run_ok(&["import", &jsonl, "--kind", "rating", "--json"]));
    assert_eq!(
        (r["imported"].as_u64(), r["skipped"].as_u64()),
        (Some(0), Some(3)),
        "{r}"
    );

    // The human summary names bad rows by line on stderr.
    let out = env.run(&["import", &csv, "--kind", "ticket"]);
    assert!(out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("line 5 [priority]"), "{stderr}");
    assert!(String::from_utf8_lossy(&out.stdout).contains("imported 0, skipped 3"));

    // What was imported is stored, indexed and searchable, with its dates and customers.
    let token = env.token("support");
    let s = env.serve();
    s.wait_indexed();
    assert_eq!(s.get("/api/v1/tickets", &token).body["total"], 3);
    let hit = s.get(
        "/api/v1/search?q=export&segment=enterprise&mode=keyword",
        &token,
    );
    assert_eq!(hit.body["total"], 1, "{:?}", hit.body);
    assert_eq!(hit.body["hits"][0]["created_at"], "2026-11-01T00:00:00Z");
    let multi = s.get("/api/v1/search?q=quotes&mode=keyword", &token);
    assert_eq!(
        multi.body["total"], 0,
        "row 6 failed as a whole: {:?}",
        multi.body
    );
    assert_eq!(
        s.get(
            "/api/v1/search?q=sync+failing&kind=rating&mode=keyword",
            &token
        )
        .body["total"],
        1
    );
    // a@, b@ (from row t-3) and c@ (row t-7); failed rows create no customers of their own.
    assert_eq!(s.get("/api/v1/customers", &token).body["total"], 3);
}

fn survey_responses_by_question_kind(env: &Env) {
    let token = env.token("pm");
    let s = env.serve();
    let survey = s.post(
        "/api/v1/surveys",
        &token,
        &json!({"title": "Onboarding", "questions": [
        {"kind": "nps", "prompt": "Recommend?"}, {"kind": "text", "prompt": "Why?"}]}),
    );
    let sid = survey.body["id"].to_string();
    let text_q = survey.body["questions"][1]["id"].to_string();
    let csv = write(
        env,
        "responses.csv",
        "external_id,nps,comment,customer_email\n\
         s-1,9,Setup wizard was great,a@x.test\n\
         s-2,11,out of range,b@x.test\n\
         s-3,2,Import from Salesforce broke,c@x.test\n",
    );
    // Importing needs the survey: without one the rows fail, naming survey_id.
    let r = json_line(&env.run_ok(&["import", &csv, "--kind", "survey-response", "--json"]));
    assert_eq!(r["failed"], 3, "{r}");
    assert_eq!(r["errors"][0]["field"], "survey_id");
    let r = json_line(&env.run_ok(&[
        "import",
        &csv,
        "--kind",
        "survey-response",
        "--survey",
        &sid,
        "--json",
    ]));
    assert_eq!(
        (r["imported"].as_u64(), r["failed"].as_u64()),
        (Some(2), Some(1)),
        "{r}"
    );
    assert_eq!(r["errors"][0]["line"], 3);
    assert_eq!(
        r["errors"][0]["field"],
        format!("answers.{}", survey.body["questions"][0]["id"])
    );
    let jsonl = write(env, "responses.jsonl", &json!({"survey_id": sid.parse::<i64>().unwrap(), "answers": {text_q.clone(): "Docs are thin"}}).to_string());
    let r = json_line(&env.run_ok(&["import", &jsonl, "--kind", "survey-response", "--json"]));
    assert_eq!(r["imported"], 1, "{r}");
    s.search_until("q=salesforce", &token, |v| v["total"] == 1);
    let hit = s.search_until("q=wizard", &token, |v| v["total"] == 1);
    assert_eq!(hit["hits"][0]["item_score"], 0.9);
    assert_eq!(
        s.get(&format!("/api/v1/surveys/{sid}/responses"), &token)
            .body["total"],
        3
    );
}

fn rejects_unknown_csv_columns(env: &Env) {
    let csv = write(env, "typo.csv", "external_id,subjcet,body\nx,a,b\n");
    let out = env.run(&["import", &csv, "--kind", "ticket"]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("subjcet") && stderr.contains("subject"),
        "{stderr}"
    );
    let missing = env.run(&["import", "/nonexistent/file.csv", "--kind", "ticket"]);
    assert!(!missing.status.success());
    assert!(String::from_utf8_lossy(&missing.stderr).contains("/nonexistent/file.csv"));
    let unknown_ext = write(env, "data.txt", "x");
    let out = env.run(&["import", &unknown_ext, "--kind", "ticket"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--format"));
}
