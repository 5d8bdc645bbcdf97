//! Crashes and damage: acknowledged writes survive kill -9, the index catches up, a missing
//! or corrupt index is rebuilt, `triage reindex` works, migrations go down and up.

use serde_json::json;
use triage_e2e::{json_line, on_both, Env};

on_both!(
    kill_9_loses_no_acknowledged_write,
    missing_or_corrupt_index_is_rebuilt_at_start,
    reindex_rebuilds_from_the_database,
    migrations_go_down_and_up
);

fn kill_9_loses_no_acknowledged_write(env: &Env) {
    let token = env.token("support");
    let s = env.serve();
    let n = 300;
    for i in 0..n {
        let r = s.post(
            "/api/v1/tickets",
            &token,
            &json!({"subject": format!("Crash test {i}"), "body": "zebracorn outage report"}),
        );
        assert_eq!(r.status, 201);
    }
    // No graceful shutdown: whatever the worker had not indexed yet is still only an outbox row.
    s.kill9();

    // Items imported while no server runs are also only outbox rows until the next start.
    let file = env.dir.path().join("more.jsonl");
    std::fs::write(
        &file,
        json!({"subject": "Offline import", "body": "zebracorn from a file"}).to_string(),
    )
    .unwrap();
    let out = env.run(&[
        "import",
        file.to_str().unwrap(),
        "--kind",
        "ticket",
        "--json",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let s = env.serve();
    assert_eq!(
        s.get("/api/v1/tickets", &token).body["total"],
        n + 1,
        "every acknowledged write is stored"
    );
    let found = s.search_until("q=zebracorn&limit=1", &token, |v| v["total"] == n + 1);
    assert_eq!(found["total"], n + 1);
    s.wait_indexed();
}

fn missing_or_corrupt_index_is_rebuilt_at_start(env: &Env) {
    let token = env.token("support");
    let s = env.serve();
    for i in 0..40 {
        s.post(
            "/api/v1/tickets",
            &token,
            &json!({"subject": format!("Quokka {i}"), "body": "billing page crashes"}),
        );
    }
    s.search_until("q=quokka", &token, |v| v["total"] == 40);
    s.stop();

    let index = env.data_dir().join("index");
    std::fs::write(index.join("meta.json"), b"{ this is not tantivy metadata").unwrap();
    let s = env.serve();
    s.search_until("q=quokka", &token, |v| v["total"] == 40);
    s.stop();

    // A segment file cut short.
    let victim = std::fs::read_dir(&index)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|e| e == "idx" || e == "term"))
        .expect("a segment file");
    std::fs::write(&victim, b"truncated").unwrap();
    let s = env.serve();
    s.search_until("q=quokka", &token, |v| v["total"] == 40);
    s.stop();

    std::fs::remove_dir_all(&index).unwrap();
    let s = env.serve();
    s.search_until("q=quokka+billing", &token, |v| v["total"] == 40);
}

fn reindex_rebuilds_from_the_database(env: &Env) {
    let token = env.token("support");
    let s = env.serve();
    for i in 0..25 {
        s.post(
            "/api/v1/ratings",
            &token,
            &json!({"score": 1 + i % 5, "comment": format!("Wombat widget {i}")}),
        );
    }
    s.wait_indexed();
    // The running server holds the index: reindex refuses, saying why.
    let busy = env.run(&["reindex"]);
    assert!(!busy.status.success());
    assert!(
        String::from_utf8_lossy(&busy.stderr).contains("triage serve"),
        "{}",
        String::from_utf8_lossy(&busy.stderr)
    );
    s.stop();

    std::fs::remove_dir_all(env.data_dir().join("index")).unwrap();
    let r = json_line(&env.run_ok(&["reindex", "--json"]));
    assert_eq!(r["items"], 25, "{r}");
    let s = env.serve();
    // Already complete at start: the first search sees everything.
    let hits = s.get("/api/v1/search?q=wombat&mode=keyword", &token);
    assert_eq!(hits.body["total"], 25, "{:?}", hits.body);
}

fn migrations_go_down_and_up(env: &Env) {
    let token = env.token("support");
    let s = env.serve();
    assert_eq!(
        s.post(
            "/api/v1/tickets",
            &token,
            &json!({"subject": "before", "body": "down"})
        )
        .status,
        201
    );
    s.stop();

    // Without --yes, down refuses and says what it would drop; nothing is dropped.
    let refused = env.run(&["migrate", "down"]);
    assert!(!refused.status.success());
    let why = String::from_utf8_lossy(&refused.stderr);
    assert!(
        why.contains("--yes") && why.contains("1 feedback items"),
        "{why}"
    );
    let s = env.serve();
    assert_eq!(s.get("/api/v1/tickets", &token).body["total"], 1);
    s.stop();
    let out = env.run_ok(&["migrate", "down", "--yes"]);
    assert!(out.contains("rolled back"), "{out}");
    // Down means down: the token table is gone with everything else, so a new token is
    // needed, and the old ticket is gone.
    env.run_ok(&["migrate", "up"]);
    let token = env.token("support");
    std::fs::remove_dir_all(env.data_dir().join("index")).unwrap();
    let s = env.serve();
    assert_eq!(s.get("/api/v1/tickets", &token).body["total"], 0);
    assert_eq!(
        s.post(
            "/api/v1/tickets",
            &token,
            &json!({"subject": "after", "body": "up"})
        )
        .status,
        201
    );
    s.stop();
    // And down again, twice in a row, stays clean.
    env.run_ok(&["migrate", "down", "--yes"]);
    env.run_ok(&["migrate", "up"]);
}
