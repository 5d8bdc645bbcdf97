//! Many replicas on one PostgreSQL: two `serve --web-only` replicas (each with its own data
//! dir, and so its own search index and vector graph) and two `triage worker`s that embed,
//! build themes and send mail — all real processes on loopback, a real SMTP sink, the real
//! model. (PostgreSQL only: SQLite is the one-machine default.)
//!
//! * An item written through replica A is found by search on replica B within 2 s, and by
//!   meaning on B once a worker has embedded it (B never embeds: it learns the vector from
//!   the job log).
//! * kill -9 of A under write load: B keeps answering; every write A or B acknowledged is
//!   stored, and every stored one is found on B, and on A once it is back (its index
//!   catches up from its cursor).
//! * Once-only work happens once across the processes: one theme rebuild (the two workers'
//!   logs), one digest per recipient (the SMTP sink).

use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::json;
use triage_e2e::{free_port, received, Backend, Env, SmtpSink};

const WORDS: [&str; 8] = [
    "refund", "password", "export", "invoice", "login", "shipping", "crash", "billing",
];

#[test]
fn replicas_share_one_postgresql() {
    let Some(env) = Env::new(Backend::Postgres) else {
        eprintln!(
            "SKIPPED: no PostgreSQL server answers at {}",
            triage_e2e::pg_admin_url()
        );
        return;
    };
    let root = env.dir.path().to_path_buf();
    let mail = root.join("mail");
    let sink = SmtpSink::start(free_port(), &mail);
    env.set_var("SMTP_URL", &sink.url());
    env.set_var("TRIAGE_MAIL_RETRY_SECONDS", "1");
    env.create_user("ana@replicas.example", "Ana", "pm", "ana-password-1");
    env.create_user("ben@replicas.example", "Ben", "pm", "ben-password-1");
    let token = env.token("support");

    let mut workers = [
        env.worker(&root.join("w1"), &root.join("w1.log")),
        env.worker(&root.join("w2"), &root.join("w2.log")),
    ];
    let a = env.serve_replica(&root.join("a"), &["--web-only"], &root.join("a.log"));
    let b = env.serve_replica(&root.join("b"), &["--web-only"], &root.join("b.log"));

    // Written through A, found on B within 2 s.
    let created = a.post(
        "/api/v1/tickets",
        &token,
        &json!({"subject": "Quokka export", "body": "The quokka export button does nothing"}),
    );
    assert_eq!(created.status, 201, "{:?}", created.body);
    let started = Instant::now();
    b.search_until("q=quokka", &token, |r| r["total"] == 1);
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "B found A's item after {:?}",
        started.elapsed()
    );

    // Enough items for themes; then by meaning on B, which never embeds.
    for i in 0..40 {
        let w = WORDS[i % WORDS.len()];
        let r = b.post(
            "/api/v1/tickets",
            &token,
            &json!({"subject": format!("{w} problem {i}"),
                    "body": format!("I have a {w} problem again, number {i}")}),
        );
        assert_eq!(r.status, 201);
    }
    b.wait_embedded();
    // No word in common with the item: found by meaning, through the vector B learned.
    b.search_until(
        "q=the+button+to+download+my+files+is+broken&mode=semantic",
        &token,
        |r| {
            r["hits"].as_array().is_some_and(|h| {
                h.iter()
                    .take(5)
                    .any(|hit| hit.to_string().to_lowercase().contains("quokka"))
            })
        },
    );
    assert!(
        !log_of(&root.join("b.log")).contains("embed_sync"),
        "a web-only replica embedded items"
    );

    // kill -9 A while both take writes; B keeps answering.
    let acked = Arc::new(Mutex::new(Vec::new()));
    let stop = Arc::new(AtomicBool::new(false));
    let writers: Vec<_> = [a.url.clone(), b.url.clone()]
        .into_iter()
        .enumerate()
        .map(|(n, url)| {
            let (acked, stop, token) = (acked.clone(), stop.clone(), token.clone());
            std::thread::spawn(move || {
                let client = reqwest::blocking::Client::builder()
                    .timeout(Duration::from_secs(5))
                    .build()
                    .unwrap();
                let mut failures = 0;
                for i in 0..400 {
                    if stop.load(Ordering::Relaxed) {
                        break;
                    }
                    let r = client
                        .post(format!("{url}/api/v1/tickets"))
                        .bearer_auth(&token)
                        .json(&json!({"subject": format!("wombat {n}-{i}"), "body": "under load"}))
                        .send();
                    match r {
                        Ok(r) if r.status().as_u16() == 201 => {
                            acked.lock().unwrap().push(format!("{n}-{i}"))
                        }
                        _ => failures += 1,
                    }
                    std::thread::sleep(Duration::from_millis(20));
                }
                failures
            })
        })
        .collect();
    std::thread::sleep(Duration::from_secs(2));
    a.kill9();
    std::thread::sleep(Duration::from_secs(2));
    stop.store(true, Ordering::Relaxed);
    let failures: Vec<usize> = writers.into_iter().map(|w| w.join().unwrap()).collect();
    assert_eq!(failures[1], 0, "B refused writes while A was down");
    let acked = acked.lock().unwrap().clone();
    assert!(acked.len() > 50, "only {} writes acknowledged", acked.len());
    // Every acknowledged write is stored; beyond them at most the one request A was
    // answering when it died may have committed without its 201 reaching the writer.
    let stored: Vec<String> = env
        .pg_query("SELECT subject FROM tickets WHERE subject LIKE 'wombat %'")
        .lines()
        .map(|s| s.trim_start_matches("wombat ").to_string())
        .collect();
    let lost: Vec<&String> = acked.iter().filter(|a| !stored.contains(a)).collect();
    assert!(lost.is_empty(), "acknowledged writes not stored: {lost:?}");
    assert!(
        stored.len() <= acked.len() + 1,
        "{} stored for {} acknowledged",
        stored.len(),
        acked.len()
    );
    let wanted = stored.len() as u64;
    b.search_until("q=wombat", &token, |r| r["total"].as_u64() == Some(wanted));

    // A comes back with the same data dir: its index catches up from its cursor.
    let a = env.serve_replica(&root.join("a"), &["--web-only"], &root.join("a.log"));
    a.search_until("q=wombat", &token, |r| r["total"].as_u64() == Some(wanted));
    assert_eq!(
        log_of(&root.join("a.log"))
            .matches("rebuilt the search index")
            .count(),
        1,
        "A rebuilt its index at the restart instead of catching up"
    );

    // Once-only work: one theme rebuild across both workers, one digest per recipient.
    let deadline = Instant::now() + Duration::from_secs(90);
    while rebuilds(&root) == 0 || received(&mail).len() < 2 {
        assert!(
            Instant::now() < deadline,
            "rebuilds {}, digests {}",
            rebuilds(&root),
            received(&mail).len()
        );
        std::thread::sleep(Duration::from_millis(250));
    }
    // Long enough for every process's schedulers to have looked again.
    std::thread::sleep(Duration::from_secs(12));
    assert_eq!(rebuilds(&root), 1, "theme rebuilds across the workers");
    let digests = received(&mail);
    for who in ["ana@replicas.example", "ben@replicas.example"] {
        let n = digests
            .iter()
            .filter(|m| String::from_utf8_lossy(m).contains(&format!("To: {who}")))
            .count();
        assert_eq!(n, 1, "digests to {who}");
    }
    for w in &mut workers {
        let _ = w.kill();
        let _ = w.wait();
    }
    drop(sink);
}

fn log_of(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_default()
}

/// "rebuilt themes" lines in both workers' logs.
fn rebuilds(root: &Path) -> usize {
    ["w1.log", "w2.log"]
        .iter()
        .map(|f| log_of(&root.join(f)).matches("rebuilt themes").count())
        .sum()
}
