//! `triage bench ingest`: items per second through import and through the HTTP API.
//!
//! Reference: the same rows inserted into a bare SQLite table in batched transactions with
//! plain sqlx (no validation, no customers, no outbox, no index) — the floor of what
//! storing them costs on this disk. The ratio shows what the pipeline adds.
//!
//! Every fifth ticket carries personal data, so the import pays for redaction; the same
//! file is also imported with redaction off, and the redaction alone is timed over every
//! body, so the report shows what masking costs.

use std::time::Instant;

use sea_orm::sqlx::{self, Connection};
use serde_json::json;

use super::corpus::Corpus;
use super::print_report;
use crate::config::Settings;
use crate::db::tokens::{self, Role};
use crate::intake::import::{Format, ImportKind, ImportOptions};
use crate::jobs::import::import_file;
use crate::{db, server, Config, Error, Result};

pub async fn run(
    items: usize,
    api_items: usize,
    messages: Option<&std::path::Path>,
    json_out: bool,
) -> Result<()> {
    let tmp = tempfile::tempdir().map_err(|e| Error::io(std::env::temp_dir(), e))?;
    let file = tmp.path().join("tickets.jsonl");
    Corpus::load(messages, 1)?.write_tickets(&file, items, "bench")?;
    let redact_per_s = add_personal_data(&file)?;

    // The same file with redaction off, in its own data dir: what masking costs.
    let unredacted_s = {
        let mut config = bench_config(tmp.path().join("import-unredacted"))?;
        config.redact = crate::config::Redact::none();
        let started = Instant::now();
        import_file(&config, &file, &ticket_jsonl(), true).await?;
        started.elapsed().as_secs_f64()
    };

    let config = bench_config(tmp.path().join("import"))?;
    let started = Instant::now();
    let report = import_file(&config, &file, &ticket_jsonl(), true).await?;
    let import_s = started.elapsed().as_secs_f64();
    if report.imported as usize != items {
        let first = report
            .errors
            .first()
            .map(|e| format!("line {}: {}", e.line, e.message));
        return Err(Error::Internal(format!(
            "bench import stored {} of {items} items (skipped {}, failed {}; first error: {})",
            report.imported,
            report.skipped,
            report.failed,
            first.unwrap_or_default()
        )));
    }
    let reference_s = reference_inserts(&file, &tmp.path().join("reference.db")).await?;
    let (api_ack_s, api_indexed_s) = api_ingest(
        tmp.path().join("api"),
        api_items,
        Corpus::load(messages, 2)?,
    )
    .await?;

    let per_s = |n: usize, s: f64| (n as f64 / s).round();
    print_report(
        &json!({
            "items": items,
            "import_items_per_s": per_s(items, import_s),
            "import_unredacted_items_per_s": per_s(items, unredacted_s),
            "items_with_personal_data_share": PII_SHARE,
            "redaction_only_items_per_s": redact_per_s.round(),
            "reference_sqlite_rows_per_s": per_s(items, reference_s),
            "import_vs_reference": ((reference_s / import_s) * 1000.0).round() / 1000.0,
            "api_items": api_items,
            "api_items_per_s": per_s(api_items, api_ack_s),
            "api_indexed_items_per_s": per_s(api_items, api_indexed_s),
        }),
        json_out,
    );
    Ok(())
}

fn ticket_jsonl() -> ImportOptions {
    ImportOptions {
        kind: ImportKind::Ticket,
        format: Format::Jsonl,
        survey_id: None,
        from: None,
    }
}

/// Share of bench tickets that carry personal data (a card, an email, a phone number, an
/// IBAN and an IP address), so redaction has real work on every fifth item.
const PII_SHARE: f64 = 0.2;

/// Appends personal data to every fifth ticket body of `file`; returns how many bodies per
/// second the redaction alone handles (every body of the file, the reference for what
/// masking adds to import).
fn add_personal_data(file: &std::path::Path) -> Result<f64> {
    let text = std::fs::read_to_string(file).map_err(|e| Error::io(file, e))?;
    let mut out = String::with_capacity(text.len() * 2);
    let mut bodies = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let mut v: serde_json::Value =
            serde_json::from_str(line).map_err(Error::failed("reading the corpus"))?;
        if i % 5 == 0 {
            let body = v["body"].as_str().unwrap_or_default();
            v["body"] = json!(format!(
                "{body} My card 4111 1111 1111 1111, mail jo.doe{i}@example.com, call +44 20 7946 0958, \
                 IBAN GB82 WEST 1234 5698 7654 32, from 203.0.113.{}.",
                i % 250
            ));
        }
        bodies.push(v["body"].as_str().unwrap_or_default().to_string());
        out.push_str(&v.to_string());
        out.push('\n');
    }
    std::fs::write(file, out).map_err(|e| Error::io(file, e))?;
    let started = Instant::now();
    let masked: usize = bodies
        .iter()
        .map(|b| crate::intake::redact::redact(b, crate::config::Redact::all()).len())
        .sum();
    std::hint::black_box(masked);
    Ok(bodies.len() as f64 / started.elapsed().as_secs_f64().max(1e-9))
}

pub(super) fn bench_config(data_dir: std::path::PathBuf) -> Result<Config> {
    Config::from_settings(Settings {
        data_dir: Some(data_dir),
        bind: Some("127.0.0.1:0".into()),
        database_url: None,
        ..Settings::from_env()
    })
}

/// Seconds to insert the file's rows into a bare SQLite table (same pragmas as triage).
async fn reference_inserts(file: &std::path::Path, db_path: &std::path::Path) -> Result<f64> {
    let bad = Error::failed("reference sqlite");
    let opts = sqlx::sqlite::SqliteConnectOptions::new()
        .filename(db_path)
        .create_if_missing(true)
        .journal_mode(sqlx::sqlite::SqliteJournalMode::Wal)
        .synchronous(sqlx::sqlite::SqliteSynchronous::Full);
    let mut conn = sqlx::SqliteConnection::connect_with(&opts)
        .await
        .map_err(bad)?;
    sqlx::query("CREATE TABLE tickets (id INTEGER PRIMARY KEY, external_id TEXT UNIQUE, subject TEXT, body TEXT, created_at TEXT)")
        .execute(&mut conn)
        .await
        .map_err(bad)?;
    let text = std::fs::read_to_string(file).map_err(|e| Error::io(file, e))?;
    let started = Instant::now();
    let lines: Vec<&str> = text.lines().collect();
    for chunk in lines.chunks(1000) {
        let mut tx = conn.begin().await.map_err(bad)?;
        for line in chunk {
            let v: serde_json::Value =
                serde_json::from_str(line).map_err(Error::failed("reading the corpus"))?;
            sqlx::query(
                "INSERT INTO tickets (external_id, subject, body, created_at) VALUES (?, ?, ?, ?)",
            )
            .bind(v["external_id"].as_str())
            .bind(v["subject"].as_str())
            .bind(v["body"].as_str())
            .bind(v["created_at"].as_str())
            .execute(&mut *tx)
            .await
            .map_err(bad)?;
        }
        tx.commit().await.map_err(bad)?;
    }
    Ok(started.elapsed().as_secs_f64())
}

/// Starts a server on `data_dir` in this process; returns its base URL and an admin token.
pub(super) async fn start_server(data_dir: std::path::PathBuf) -> Result<(String, String)> {
    let config = bench_config(data_dir)?;
    let db = db::connect(&config).await?;
    let (_, token) = tokens::create(&db, "bench", Role::Admin, None).await?;
    let (listener, addr) = server::bind(&config).await?;
    tokio::spawn(async move {
        if let Err(e) = server::run(config, listener).await {
            eprintln!("bench server failed: {e}");
        }
    });
    Ok((format!("http://{addr}"), token))
}

/// The bench server's `/healthz`.
pub(super) async fn health(client: &reqwest::Client, base: &str) -> Result<serde_json::Value> {
    get_json(client, &format!("{base}/healthz"), None).await
}

/// A GET that must answer 2xx with JSON, with a bearer token when given.
pub(super) async fn get_json(
    client: &reqwest::Client,
    url: &str,
    token: Option<&str>,
) -> Result<serde_json::Value> {
    let failed = |e: reqwest::Error| Error::Internal(format!("bench: GET {url}: {e}"));
    let mut req = client.get(url);
    if let Some(token) = token {
        req = req.bearer_auth(token);
    }
    req.send()
        .await
        .and_then(|r| r.error_for_status())
        .map_err(failed)?
        .json()
        .await
        .map_err(failed)
}

/// Posts `n` tickets with 8 concurrent clients; returns seconds until all were acknowledged
/// and seconds until all were indexed.
async fn api_ingest(
    data_dir: std::path::PathBuf,
    n: usize,
    mut corpus: Corpus,
) -> Result<(f64, f64)> {
    let (base, token) = start_server(data_dir).await?;
    let client = reqwest::Client::new();
    let bodies: Vec<serde_json::Value> = (0..n)
        .map(|i| {
            let (subject, body) = corpus.item();
            json!({ "subject": subject, "body": body, "external_id": format!("api-{i}") })
        })
        .collect();
    let started = Instant::now();
    let next = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let bodies = std::sync::Arc::new(bodies);
    let mut workers = Vec::new();
    for _ in 0..8 {
        let (client, base, token, next, bodies) = (
            client.clone(),
            base.clone(),
            token.clone(),
            next.clone(),
            bodies.clone(),
        );
        workers.push(tokio::spawn(async move {
            loop {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                let Some(body) = bodies.get(i) else {
                    return Ok(());
                };
                let r = client
                    .post(format!("{base}/api/v1/tickets"))
                    .bearer_auth(&token)
                    .json(body)
                    .send()
                    .await;
                match r {
                    Ok(r) if r.status().as_u16() == 201 => {}
                    Ok(r) => {
                        return Err(Error::Internal(format!(
                            "bench POST answered {}",
                            r.status()
                        )))
                    }
                    Err(e) => return Err(Error::Internal(format!("bench POST failed: {e}"))),
                }
            }
        }));
    }
    for w in workers {
        w.await.map_err(Error::failed("bench client"))??;
    }
    let acked = started.elapsed().as_secs_f64();
    loop {
        let health = health(&client, &base).await?;
        if health["index"]["pending_jobs"] == 0
            && health["index"]["documents"].as_u64() >= Some(n as u64)
        {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    Ok((acked, started.elapsed().as_secs_f64()))
}
