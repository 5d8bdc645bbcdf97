//! Privacy, end to end with the real model, on SQLite and PostgreSQL:
//!
//! - personal data typed into every intake path (API, web ticket form, public survey page,
//!   CSV and JSONL import) is masked before anything stores it: none of it is in the
//!   database, the index directory, a digest or an API response;
//! - erasing a customer removes every trace — search in every mode, lists, similar
//!   feedback, the vector graph, theme sizes, their mail, export — and leaves a receipt
//!   without personal data; on SQLite the database and index files are read byte by byte;
//! - the retention job erases old items and keeps recent ones;
//! - the server's log holds no customer email, item text or token.

use std::path::Path;
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use triage_e2e::{on_both, Backend, Env, Server};

/// Personal data as customers paste it, with the placeholder each must become.
const PII: &[(&str, &str)] = &[
    ("4111 1111 1111 1111", "[card]"),
    ("leak.me@example.org", "[email]"),
    ("+44 20 7946 0958", "[phone]"),
    ("GB82 WEST 1234 5698 7654 32", "[iban]"),
    ("203.0.113.77", "[ip]"),
];

/// The forms the data could be found in: as typed, and without separators.
fn needles() -> Vec<String> {
    let mut out = Vec::new();
    for (value, _) in PII {
        out.push(value.to_string());
        let compact: String = value.chars().filter(|c| !c.is_whitespace()).collect();
        out.push(compact);
    }
    out.push("4111111111111111".into());
    out.push("79460958".into());
    out
}

fn leaky_text(what: &str) -> String {
    format!(
        "{what}: my card {} was charged twice, write to {} or call {}; \
         refund to {} please, I logged in from {}",
        PII[0].0, PII[1].0, PII[2].0, PII[3].0, PII[4].0
    )
}

/// Every file under `dir` whose bytes hold one of `needles`, with the needle.
fn files_holding(dir: &Path, needles: &[String]) -> Vec<String> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
                continue;
            }
            let bytes = std::fs::read(&p).unwrap_or_default();
            for n in needles {
                if bytes.windows(n.len()).any(|w| w == n.as_bytes()) {
                    out.push(format!("{} holds {n:?}", p.display()));
                }
            }
        }
    }
    out
}

/// The whole database as text: the SQLite files' bytes, or a `pg_dump` of the test database.
fn database_dump(env: &Env) -> Vec<u8> {
    match env.backend {
        Backend::Sqlite => {
            let mut all = Vec::new();
            for f in ["triage.db", "triage.db-wal"] {
                all.extend(std::fs::read(env.data_dir().join(f)).unwrap_or_default());
            }
            all
        }
        Backend::Postgres => {
            let out = std::process::Command::new("pg_dump")
                .arg(env.database_url.as_deref().expect("postgres url"))
                .output()
                .expect("pg_dump");
            assert!(
                out.status.success(),
                "{}",
                String::from_utf8_lossy(&out.stderr)
            );
            out.stdout
        }
    }
}

fn holds(haystack: &[u8], needle: &str) -> bool {
    haystack
        .windows(needle.len())
        .any(|w| w == needle.as_bytes())
}

fn health(s: &Server) -> Value {
    s.send(s.client.get(format!("{}/healthz", s.url))).body
}

fn wait_until(what: &str, mut ok: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while !ok() {
        assert!(Instant::now() < deadline, "never happened: {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn redaction_in_every_intake_path(env: &Env) {
    let log = env.dir.path().join("serve.log");
    let admin = env.token("admin");
    env.create_user("pm@privacy.test", "Pat", "pm", "correct horse battery");
    let s = env.serve_logged(&log);

    // The API: a ticket, a rating, a survey response.
    let t = s.post(
        "/api/v1/tickets",
        &admin,
        &json!({"subject": "Card charged twice", "body": leaky_text("api ticket"),
                "customer": {"email": "owner@customer.test"}}),
    );
    assert_eq!(t.status, 201, "{:?}", t.body);
    assert!(
        t.body["body"].as_str().unwrap().contains("[card]"),
        "{}",
        t.body
    );
    let r = s.post(
        "/api/v1/ratings",
        &admin,
        &json!({"score": 1, "comment": leaky_text("api rating")}),
    );
    assert_eq!(r.status, 201, "{:?}", r.body);
    let survey = s.post(
        "/api/v1/surveys",
        &admin,
        &json!({"title": "How was it?", "questions": [{"kind": "text", "prompt": "Tell us"}]}),
    );
    assert_eq!(survey.status, 201, "{:?}", survey.body);
    let sid = survey.body["id"].as_i64().unwrap();
    let qid = survey.body["questions"][0]["id"].as_i64().unwrap();
    let resp = s.post(
        &format!("/api/v1/surveys/{sid}/responses"),
        &admin,
        &json!({"answers": {qid.to_string(): leaky_text("api survey")}}),
    );
    assert_eq!(resp.status, 201, "{:?}", resp.body);

    // The web ticket form and the public survey page.
    let web = s.sign_in("pm@privacy.test", "correct horse battery");
    let filed = web.post_form(
        "/tickets/new",
        "/tickets",
        &[
            ("subject", "Web form ticket"),
            ("body", &leaky_text("web ticket")),
        ],
    );
    assert!(filed.status().is_success() || filed.status().is_redirection());
    let public = s
        .client
        .post(format!("{}/s/{sid}", s.url))
        .form(&[(format!("q{qid}"), leaky_text("survey page"))])
        .send()
        .unwrap();
    assert!(public.status().is_success(), "{}", public.status());

    // CSV and JSONL import.
    let csv = env.dir.path().join("tickets.csv");
    let mut w = csv::Writer::from_path(&csv).unwrap();
    w.write_record(["subject", "body", "external_id"]).unwrap();
    w.write_record(["Imported from CSV", &leaky_text("csv import"), "csv-1"])
        .unwrap();
    w.flush().unwrap();
    env.run_ok(&["import", csv.to_str().unwrap(), "--kind", "ticket"]);
    let jsonl = env.dir.path().join("ratings.jsonl");
    std::fs::write(
        &jsonl,
        format!(
            "{}\n",
            json!({"score": 2, "comment": leaky_text("jsonl import"), "external_id": "jl-1"})
        ),
    )
    .unwrap();
    env.run_ok(&["import", jsonl.to_str().unwrap(), "--kind", "rating"]);

    s.wait_indexed();
    s.wait_embedded();

    // Seven items, each with all five placeholders; none with the data.
    let found = s.search_until("q=charged%20twice&limit=50", &admin, |b| {
        b["total"].as_u64() == Some(7)
    });
    let hits = found["hits"].to_string();
    for n in needles() {
        assert!(!hits.contains(&n), "{n} in {hits}");
    }
    // Searching for the data itself finds nothing, in every mode.
    for q in [
        "4111",
        "leak.me%40example.org",
        "7946",
        "GB82WEST12345698765432",
        "203.0.113.77",
    ] {
        for mode in ["keyword", "hybrid"] {
            let r = s.get(&format!("/api/v1/search?q={q}&mode={mode}"), &admin);
            assert_eq!(r.status, 200);
            let hits = r.body["hits"].to_string();
            assert!(
                !hits.contains(&q.replace("%40", "@")),
                "{q} ({mode}): {}",
                r.body
            );
        }
    }
    // Lists and single items through the API.
    for path in [
        "/api/v1/tickets?limit=50",
        "/api/v1/ratings?limit=50",
        &format!("/api/v1/surveys/{sid}/responses"),
    ] {
        let r = s.get(path, &admin);
        assert_eq!(r.status, 200, "{path}");
        let text = r.body.to_string();
        for n in needles() {
            assert!(!text.contains(&n), "{n} in {path}: {text}");
        }
        for (_, placeholder) in PII {
            assert!(
                text.contains(placeholder),
                "{placeholder} missing from {path}: {text}"
            );
        }
    }

    // A digest that quotes them: put the items in a theme, then preview the digest.
    let ids: Vec<String> = found["hits"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["id"].to_string())
        .collect();
    let mut fields = vec![("action", "create"), ("label", "Double charges")];
    fields.extend(ids.iter().map(|i| ("item_ids", i.as_str())));
    let made = web.post_form("/unthemed", "/unthemed", &fields);
    assert!(made.status().is_success() || made.status().is_redirection());
    let now = chrono::Datelike::iso_week(&chrono::Utc::now());
    let week = format!("{}-W{:02}", now.year(), now.week());
    let preview = env.run_ok(&[
        "digest",
        "preview",
        "--to",
        "pm@privacy.test",
        "--week",
        &week,
    ]);
    assert!(preview.contains("Double charges"), "{preview}");
    for n in needles() {
        assert!(!preview.contains(&n), "{n} in the digest: {preview}");
    }

    s.stop();
    let dump = database_dump(env);
    for n in needles() {
        assert!(!holds(&dump, &n), "{n} is in the database");
    }
    assert!(holds(&dump, "[card]"), "the placeholders are stored");
    let leaks = files_holding(&env.data_dir().join("index"), &needles());
    assert!(leaks.is_empty(), "{leaks:?}");
    the_log_holds_nothing_personal(
        &log,
        &[
            &admin,
            "leak.me@example.org",
            "owner@customer.test",
            "charged twice",
        ],
    );
}

/// The server's log never holds an email, a token or item text.
fn the_log_holds_nothing_personal(log: &Path, secrets: &[&str]) {
    let text = std::fs::read_to_string(log).unwrap_or_default();
    for s in secrets {
        assert!(!text.contains(s), "the server log holds {s:?}:\n{text}");
    }
    for n in needles() {
        assert!(!text.contains(&n), "the server log holds {n:?}");
    }
}

const WORD: &str = "zyxquartzfeedback";

fn erasure_leaves_no_trace(env: &Env) {
    let log = env.dir.path().join("serve.log");
    let admin = env.token("admin");
    let pm = env.token("pm");
    let support = env.token("support");
    env.create_user("pm@privacy.test", "Pat", "pm", "correct horse battery");
    let s = env.serve_logged(&log);
    let alice = json!({"email": "alice.erase@example.org", "name": "Alice Erase", "segment": "enterprise", "account_value": 5000, "notify_opt_in": true});
    let bob = json!({"email": "bob.keep@example.org", "name": "Bob Keep"});
    // Alice's tickets and Bob's arrive in one import, so the index writes them into one
    // segment: erasing Alice must rewrite it, not only drop whole segments.
    let tickets = env.dir.path().join("tickets.jsonl");
    let line = |ext: &str, subject: &str, body: String, who: &Value| {
        json!({"external_id": ext, "subject": subject, "body": body, "customer": who}).to_string()
    };
    std::fs::write(
        &tickets,
        // Bob's tickets around Alice's: tantivy spreads one commit over its indexing
        // threads, and each segment should hold both.
        (0..6)
            .map(|i| {
                line(
                    &format!("b{i}"),
                    "Export slow",
                    format!("the export of my statements takes minutes ({i})"),
                    &bob,
                )
            })
            .chain([
                line(
                    "a1",
                    "Export broken",
                    format!("the {WORD} export button crashes every time I press it"),
                    &alice,
                ),
                line(
                    "a2",
                    "Export broken again",
                    format!("exporting a {WORD} report freezes the whole app"),
                    &alice,
                ),
            ])
            .chain((6..10).map(|i| {
                line(
                    &format!("b{i}"),
                    "Export slow",
                    format!("the export of my statements takes minutes ({i})"),
                    &bob,
                )
            }))
            .collect::<Vec<_>>()
            .join("\n"),
    )
    .unwrap();
    env.run_ok(&["import", tickets.to_str().unwrap(), "--kind", "ticket"]);
    let rating = s.post(
        "/api/v1/ratings",
        &support,
        &json!({"score": 1, "comment": format!("{WORD} export is useless"), "customer": alice}),
    );
    assert_eq!(rating.status, 201);
    let alice_id = rating.body["customer_id"].as_i64().unwrap();
    let listed = s.get("/api/v1/tickets?limit=50", &admin);
    let item_of = |ext: &str| {
        listed.body["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["external_id"] == ext)
            .unwrap_or_else(|| panic!("{ext}: {}", listed.body))["item_id"]
            .as_i64()
            .unwrap()
    };
    let alice_items = [item_of("a1"), item_of("a2")];
    let kept_item = item_of("b1");
    let bob_items: Vec<i64> = (0..10).map(|i| item_of(&format!("b{i}"))).collect();
    let bob_id = listed.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["external_id"] == "b1")
        .unwrap()["customer_id"]
        .as_i64()
        .unwrap();
    s.wait_indexed();
    s.wait_embedded();
    let vectors_before = health(&s)["vectors"]["items"].as_u64().unwrap();
    assert_eq!(vectors_before, 13);

    // One theme holds Alice's tickets and Bob's.
    let web = s.sign_in("pm@privacy.test", "correct horse battery");
    let mut fields = vec![("action", "create"), ("label", "Export problems")];
    let ids: Vec<String> = alice_items
        .iter()
        .chain([&kept_item])
        .map(|i| i.to_string())
        .collect();
    fields.extend(ids.iter().map(|i| ("item_ids", i.as_str())));
    web.post_form("/unthemed", "/unthemed", &fields);
    let themes = s.get("/api/v1/themes", &admin);
    let theme = themes.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["label"] == "Export problems")
        .unwrap_or_else(|| panic!("{}", themes.body))
        .clone();
    assert_eq!(theme["size"], 3);
    let theme_id = theme["id"].as_i64().unwrap();

    // Export: admin only, and everything is in it.
    assert_eq!(
        s.get(&format!("/api/v1/customers/{alice_id}/export"), &pm)
            .status,
        403
    );
    assert_eq!(
        s.get(&format!("/api/v1/customers/{alice_id}/export"), &support)
            .status,
        403
    );
    let export = s.get(&format!("/api/v1/customers/{alice_id}/export"), &admin);
    assert_eq!(export.status, 200, "{:?}", export.body);
    assert_eq!(export.body["customer"]["email"], "alice.erase@example.org");
    assert_eq!(export.body["tickets"].as_array().unwrap().len(), 2);
    assert_eq!(export.body["ratings"].as_array().unwrap().len(), 1);
    assert_eq!(
        export.body["tickets"][0]["theme"]["theme"],
        "Export problems"
    );
    assert_eq!(export.body["consent"]["notify_opt_in"], true);
    let history = export.body["consent"]["history"].as_array().unwrap();
    assert_eq!(history.len(), 1, "{}", export.body["consent"]);
    assert_eq!(history[0]["source"], "given");
    assert_eq!(history[0]["opt_in"], true);

    // Erase: admin only.
    assert_eq!(
        s.delete(&format!("/api/v1/customers/{alice_id}"), &pm)
            .status,
        403
    );
    assert_eq!(
        s.delete(&format!("/api/v1/customers/{alice_id}"), &support)
            .status,
        403
    );
    let receipt = s.delete(&format!("/api/v1/customers/{alice_id}"), &admin);
    assert_eq!(receipt.status, 200, "{:?}", receipt.body);
    assert_eq!(receipt.body["items"], 3);
    assert_eq!(receipt.body["tickets"], 2);
    assert_eq!(receipt.body["ratings"], 1);
    assert_eq!(receipt.body["reason"], "request");
    assert!(receipt.body["actor"]
        .as_str()
        .unwrap()
        .starts_with("token:"));
    assert!(
        !receipt.body.to_string().contains("alice"),
        "{}",
        receipt.body
    );
    assert_eq!(
        s.delete(&format!("/api/v1/customers/{alice_id}"), &admin)
            .status,
        404
    );

    // Gone from the index and the graph (the workers follow within seconds).
    wait_until("the graph dropped the erased vectors", || {
        health(&s)["vectors"]["items"].as_u64() == Some(10)
    });
    s.wait_indexed();
    for mode in ["keyword", "semantic", "hybrid"] {
        let r = s.get(
            &format!("/api/v1/search?q={WORD}%20export&mode={mode}"),
            &admin,
        );
        let hits = r.body["hits"].to_string();
        assert!(!hits.contains(WORD), "{mode}: {}", r.body);
        for hit in r.body["hits"].as_array().unwrap() {
            let id = hit["id"].as_i64().unwrap();
            assert!(
                bob_items.contains(&id),
                "{mode}: {id} is not Bob's: {}",
                r.body
            );
        }
    }
    let similar = s.get(&format!("/api/v1/items/{kept_item}/similar"), &admin);
    assert_eq!(similar.status, 200);
    assert!(!similar.body.to_string().contains(WORD), "{}", similar.body);
    for path in [
        "/api/v1/tickets?limit=100",
        "/api/v1/ratings?limit=100",
        "/api/v1/customers?limit=100",
    ] {
        let text = s.get(path, &admin).body.to_string();
        assert!(
            !text.contains(WORD) && !text.contains("alice"),
            "{path}: {text}"
        );
    }
    assert_eq!(
        s.get(&format!("/api/v1/customers/{alice_id}"), &admin)
            .status,
        404
    );
    assert_eq!(
        s.get(&format!("/api/v1/customers/{alice_id}/export"), &admin)
            .status,
        404
    );
    let t = s.get(&format!("/api/v1/themes/{theme_id}"), &admin);
    assert_eq!(t.body["size"], 1, "{}", t.body);
    // Bob's documents share the index's segments with Alice's: those segments were
    // rewritten, so none still holds a deleted document, and no index file holds her words.
    let meta: Value =
        serde_json::from_slice(&std::fs::read(env.data_dir().join("index/meta.json")).unwrap())
            .unwrap();
    let segments = meta["segments"].as_array().unwrap();
    assert!(!segments.is_empty());
    for seg in segments {
        assert!(
            seg["deletes"].is_null(),
            "a segment still holds deleted documents: {seg}"
        );
    }
    let leaks = files_holding(
        &env.data_dir().join("index"),
        &[WORD.to_string(), "alice.erase".into()],
    );
    assert!(leaks.is_empty(), "{leaks:?}");
    let receipts = s.get("/api/v1/erasures", &admin);
    assert_eq!(receipts.body["items"][0]["id"], receipt.body["id"]);
    assert_eq!(s.get("/api/v1/erasures", &pm).status, 403);

    // Bob, erased from the command line while the server runs: it says the server will
    // finish, and it does.
    let out = env.run(&["customer", "erase", "--email", "bob.keep@example.org"]);
    assert!(!out.status.success(), "erase without --yes must refuse");
    let out = env.run_ok(&[
        "customer",
        "erase",
        "--email",
        "BOB.KEEP@example.org",
        "--yes",
    ]);
    let cli_receipt: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(cli_receipt["customer_id"], bob_id);
    assert_eq!(cli_receipt["actor"], "cli");
    wait_until("the graph is empty", || {
        health(&s)["vectors"]["items"].as_u64() == Some(0)
    });
    s.wait_indexed();
    s.stop();

    // Nothing left in the files: the database, the index (and no segment still holding
    // deleted documents), the vector graph.
    let dump = database_dump(env);
    for n in [
        WORD,
        "alice.erase@example.org",
        "Alice Erase",
        "bob.keep@example.org",
        "statements takes minutes",
    ] {
        assert!(!holds(&dump, n), "{n} is still in the database");
    }
    let leaks = files_holding(
        &env.data_dir(),
        &[
            WORD.to_string(),
            "alice.erase".into(),
            "statements takes".into(),
        ],
    );
    let leaks: Vec<_> = leaks
        .into_iter()
        .filter(|l| !l.contains("serve.log"))
        .collect();
    assert!(leaks.is_empty(), "{leaks:?}");
    // After a restart, the saved graph has none of them either.
    let s = env.serve_logged(&log);
    assert_eq!(health(&s)["vectors"]["items"], 0, "{}", health(&s));
    s.stop();
    the_log_holds_nothing_personal(
        &log,
        &[
            &admin,
            &pm,
            &support,
            "alice.erase@example.org",
            WORD,
            "statements",
        ],
    );
}

fn retention_erases_old_items(env: &Env) {
    let file = env.dir.path().join("old.jsonl");
    let old = (chrono::Utc::now() - chrono::Duration::days(400)).to_rfc3339();
    let recent = (chrono::Utc::now() - chrono::Duration::days(3)).to_rfc3339();
    std::fs::write(
        &file,
        format!(
            "{}\n{}\n",
            json!({"subject": "Old", "body": "ancientcomplaint about the login", "created_at": old, "external_id": "old-1"}),
            json!({"subject": "New", "body": "recentcomplaint about the login", "created_at": recent, "external_id": "new-1"}),
        ),
    )
    .unwrap();
    env.run_ok(&["import", file.to_str().unwrap(), "--kind", "ticket"]);
    // Unset: the command refuses rather than erase anything.
    assert!(!env.run(&["customer", "retention"]).status.success());
    env.set_var("TRIAGE_RETENTION_DAYS", "365");
    let admin = env.token("admin");
    let s = env.serve();
    s.search_until("q=ancientcomplaint", &admin, |b| b["total"] == 0);
    s.search_until("q=recentcomplaint", &admin, |b| b["total"] == 1);
    let receipts = s.get("/api/v1/erasures", &admin);
    assert_eq!(
        receipts.body["items"][0]["reason"], "retention",
        "{}",
        receipts.body
    );
    assert_eq!(receipts.body["items"][0]["items"], 1);
    assert_eq!(receipts.body["items"][0]["actor"], "retention");
    s.stop();
}

on_both!(
    redaction_in_every_intake_path,
    erasure_leaves_no_trace,
    retention_erases_old_items
);
