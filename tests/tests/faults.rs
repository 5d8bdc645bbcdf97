//! Faults under load: `kill -9` while eight clients write, and (PostgreSQL) every database
//! connection cut while they write. Acknowledged writes are never lost, failures are
//! answered with 503 and a sentence (never a bare 500), and the server recovers by itself.
//! docs/reliability.md has the figures of a run and the command.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::json;
use triage_e2e::{on_both, Backend, Env};

on_both!(kill_9_under_eight_writers_loses_no_acknowledged_write);

mod postgres_only {
    #[test]
    fn cut_database_connections_give_503_and_the_server_recovers() {
        match triage_e2e::Env::new(triage_e2e::Backend::Postgres) {
            Some(env) => super::cut_connections(&env),
            None => eprintln!("SKIPPED: no PostgreSQL server answers"),
        }
    }
}

const WRITERS: usize = 8;

/// Outcome of the writers: subjects acknowledged with 201, and every status seen.
#[derive(Default)]
struct Tally {
    acknowledged: Vec<String>,
    statuses: Vec<u16>,
    transport_errors: usize,
}

/// `WRITERS` threads posting tickets with unique subjects until `stop` is set or each has
/// sent `per_writer`.
fn writers(
    url: &str,
    token: &str,
    per_writer: usize,
    stop: Arc<std::sync::atomic::AtomicBool>,
    tally: Arc<Mutex<Tally>>,
) -> Vec<std::thread::JoinHandle<()>> {
    (0..WRITERS)
        .map(|w| {
            let (url, token, stop, tally) = (
                url.to_string(),
                token.to_string(),
                stop.clone(),
                tally.clone(),
            );
            std::thread::spawn(move || {
                let client = reqwest::blocking::Client::builder()
                    .timeout(Duration::from_secs(10))
                    .build()
                    .unwrap();
                for i in 0..per_writer {
                    if stop.load(std::sync::atomic::Ordering::Relaxed) {
                        break;
                    }
                    let subject = format!("fault w{w} n{i}");
                    let r = client
                        .post(format!("{url}/api/v1/tickets"))
                        .bearer_auth(&token)
                        .json(&json!({"subject": subject, "body": "quokkafault report",
                                      "external_id": format!("w{w}-{i}")}))
                        .send();
                    let mut t = tally.lock().unwrap();
                    match r {
                        Ok(r) => {
                            let status = r.status().as_u16();
                            t.statuses.push(status);
                            if status == 201 {
                                t.acknowledged.push(subject);
                            } else {
                                let body = r.text().unwrap_or_default();
                                assert!(status == 503, "status {status}: {body}");
                                assert!(body.contains("database cannot be reached"), "{body}");
                            }
                        }
                        Err(_) => t.transport_errors += 1,
                    }
                }
            })
        })
        .collect()
}

/// Every subject the server has, paging through the API.
fn stored_subjects(s: &triage_e2e::Server, token: &str) -> std::collections::HashSet<String> {
    let mut out = std::collections::HashSet::new();
    let mut offset = 0;
    loop {
        let page = s.get(&format!("/api/v1/tickets?limit=500&offset={offset}"), token);
        assert_eq!(page.status, 200);
        let items = page.body["items"].as_array().unwrap().clone();
        if items.is_empty() {
            return out;
        }
        offset += items.len();
        out.extend(
            items
                .iter()
                .map(|t| t["subject"].as_str().unwrap().to_string()),
        );
    }
}

fn kill_9_under_eight_writers_loses_no_acknowledged_write(env: &Env) {
    let token = env.token("support");
    let s = env.serve();
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let tally = Arc::new(Mutex::new(Tally::default()));
    let threads = writers(&s.url, &token, 400, stop.clone(), tally.clone());
    // Let them write for a while, then pull the plug mid-stream.
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while tally.lock().unwrap().acknowledged.len() < 200 && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    s.kill9();
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    for t in threads {
        t.join().expect("writer");
    }
    let acknowledged = tally.lock().unwrap().acknowledged.clone();
    assert!(
        acknowledged.len() >= 200,
        "only {} writes before the kill",
        acknowledged.len()
    );

    let s = env.serve();
    let stored = stored_subjects(&s, &token);
    let lost: Vec<_> = acknowledged
        .iter()
        .filter(|a| !stored.contains(*a))
        .collect();
    assert!(
        lost.is_empty(),
        "{} acknowledged writes lost: {lost:?}",
        lost.len()
    );
    // The index catches up with everything stored (acknowledged or committed just before
    // the kill without its answer getting out).
    let n = stored.len();
    let found = s.search_until("q=quokkafault&limit=1", &token, |v| v["total"] == n);
    assert_eq!(found["total"], n);
    s.wait_indexed();
    if env.backend == Backend::Sqlite {
        eprintln!(
            "sqlite: {} acknowledged before kill -9, {n} stored after",
            acknowledged.len()
        );
    }
}

fn cut_connections(env: &Env) {
    let token = env.token("support");
    let s = env.serve();
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let tally = Arc::new(Mutex::new(Tally::default()));
    let threads = writers(&s.url, &token, 150, stop.clone(), tally.clone());
    let mut cut = 0;
    for _ in 0..5 {
        std::thread::sleep(Duration::from_millis(400));
        cut += env.pg_terminate_connections();
    }
    for t in threads {
        t.join().expect("writer");
    }
    let t = tally.lock().unwrap();
    assert!(cut > 0, "no connection was cut");
    assert_eq!(t.transport_errors, 0, "the server stayed up");
    let unavailable = t.statuses.iter().filter(|&&s| s == 503).count();
    eprintln!(
        "cut {cut} connections: {} writes acknowledged, {unavailable} answered 503",
        t.acknowledged.len()
    );
    // Recovered without a restart: writes and reads work again.
    let r = s.post(
        "/api/v1/tickets",
        &token,
        &json!({"subject": "after the cut", "body": "quokkafault"}),
    );
    assert_eq!(r.status, 201, "{:?}", r.body);
    let stored = stored_subjects(&s, &token);
    let lost: Vec<_> = t
        .acknowledged
        .iter()
        .filter(|a| !stored.contains(*a))
        .collect();
    assert!(lost.is_empty(), "acknowledged writes lost: {lost:?}");
    assert_eq!(s.get("/healthz", &token).status, 200);
}
