//! `triage bench load`: acknowledged writes per second from many connections at once.
//!
//! Starts `triage serve` as a child process (this binary, release or debug as built) on a
//! loopback port and a fresh store — a temporary SQLite file, or a fresh database on the
//! PostgreSQL server given with `--postgres`, dropped afterwards — with every worker running
//! (the index, and the embedding model when it is installed). N keep-alive connections
//! post tickets for the given time; every 201 is timed. Afterwards the server is killed
//! with SIGKILL and the tickets in the store are counted: every acknowledged write must be
//! there (the run fails otherwise).
//!
//! With `--replicas N` (PostgreSQL only) the server is N `serve --web-only` replicas on the
//! one database, each with a data directory and so a search index of its own, and the
//! connections are spread over them; once the load stops, each replica's index is timed
//! until it has read every job (`/healthz`), which is how far behind search on another
//! replica runs under that load. Nothing embeds in that setup (web replicas never do; a
//! `triage worker` would share the same cores), so the figure is writes and indexing.
//!
//! Reference, measured in the same run: the same load against a server that writes every
//! post in its own transaction (`TRIAGE_INTAKE_BATCH=1`, the behaviour before group
//! commit).

use std::process::Stdio;
use std::time::{Duration, Instant};

use sea_orm::sqlx::{self, Connection};
use sea_orm::{EntityTrait, PaginatorTrait};
use serde_json::{json, Value};
use tokio::io::AsyncBufReadExt;

use super::{percentile, print_report};
use crate::config::Settings;
use crate::db::tokens::{self, Role};
use crate::{db, Config, Error, Result};

pub struct LoadOptions {
    pub connections: usize,
    pub seconds: u64,
    pub postgres: Option<String>,
    /// `Some(n)`: n web-only replicas instead of one `serve` with every worker.
    pub replicas: Option<usize>,
    pub reference: bool,
}

pub async fn run(o: &LoadOptions, json_out: bool) -> Result<()> {
    if !(1..=256).contains(&o.connections) || !(1..=600).contains(&o.seconds) {
        return Err(Error::Config(
            "--connections must be 1..256 and --seconds 1..600".into(),
        ));
    }
    match o.replicas {
        Some(n) if !(1..=16).contains(&n) => {
            return Err(Error::Config("--replicas must be 1..16".into()))
        }
        Some(_) if o.postgres.is_none() => {
            return Err(Error::Config(
                "--replicas needs --postgres: replicas share one PostgreSQL database".into(),
            ))
        }
        _ => {}
    }
    let mut report = json!({
        "backend": if o.postgres.is_some() { "postgres" } else { "sqlite" },
        "connections": o.connections,
        "seconds": o.seconds,
        "replicas": o.replicas,
    });
    report["group_commit"] = one_run(o, 256).await?;
    if o.reference {
        report["reference_one_transaction_per_write"] = one_run(o, 1).await?;
        let rate = |k: &str| report[k]["writes_per_s"].as_f64().unwrap_or(0.0);
        let ratio = rate("group_commit") / rate("reference_one_transaction_per_write").max(1.0);
        report["group_commit_vs_reference"] = json!((ratio * 100.0).round() / 100.0);
    }
    print_report(&report, json_out);
    Ok(())
}

/// One server, one load, one count of what was kept.
async fn one_run(o: &LoadOptions, batch: u32) -> Result<Value> {
    let tmp = tempfile::tempdir().map_err(|e| Error::io(std::env::temp_dir(), e))?;
    let pg = match &o.postgres {
        Some(server) => Some(PgScratch::create(server).await?),
        None => None,
    };
    let config = Config::from_settings(Settings {
        data_dir: Some(tmp.path().to_path_buf()),
        database_url: pg.as_ref().map(|p| p.url.clone()),
        bind: Some("127.0.0.1:0".into()),
        ..Settings::from_env()
    })?;
    let store = db::connect(&config).await?;
    let (_, token) = tokens::create(&store, "load", Role::Support, None).await?;

    let (args, dirs): (&[&str], Vec<_>) = match o.replicas {
        Some(n) => (
            &["serve", "--web-only"],
            (0..n)
                .map(|i| tmp.path().join(format!("replica{i}")))
                .collect(),
        ),
        None => (&["serve"], vec![tmp.path().to_path_buf()]),
    };
    let mut children = Vec::new();
    let mut bases = Vec::new();
    for dir in &dirs {
        let mut child = tokio::process::Command::new(
            std::env::current_exe().map_err(|e| Error::io("current executable", e))?,
        )
        .args(args)
        .env("TRIAGE_DATA_DIR", dir)
        .env("DATABASE_URL", &config.database_url)
        .env("TRIAGE_BIND", "127.0.0.1:0")
        .env("TRIAGE_INTAKE_BATCH", batch.to_string())
        // One access line per request would be the bench's main cost (and flood the screen).
        .env(
            "TRIAGE_LOG",
            std::env::var("TRIAGE_LOG").unwrap_or_else(|_| "warn".into()),
        )
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| Error::io("triage serve", e))?;
        bases.push(listening_address(&mut child).await?);
        children.push(child);
    }

    let started = Instant::now();
    let stop_at = started + Duration::from_secs(o.seconds);
    let clients: Vec<_> = (0..o.connections)
        .map(|n| {
            let base = bases[n % bases.len()].clone();
            tokio::spawn(client(n, base, token.clone(), stop_at))
        })
        .collect();
    let mut latencies_ms = Vec::new();
    let mut errors: std::collections::BTreeMap<String, u64> = Default::default();
    for c in clients {
        let (lat, errs) = c.await.map_err(Error::failed("load client"))?;
        latencies_ms.extend(lat);
        for e in errs {
            *errors.entry(e).or_default() += 1;
        }
    }
    let elapsed = started.elapsed().as_secs_f64();
    let http = reqwest::Client::new();
    let health: Value = super::ingest::health(&http, &bases[0]).await?;
    let catch_up = match o.replicas {
        Some(_) => Some(index_catch_up(&http, &bases).await?),
        None => None,
    };

    // No goodbye: whatever was acknowledged must already be on disk.
    for child in &mut children {
        child
            .kill()
            .await
            .map_err(|e| Error::io("triage serve", e))?;
    }
    let stored = crate::db::entity::ticket::Entity::find()
        .count(&store)
        .await?;
    let acknowledged = latencies_ms.len() as u64;
    drop(store);
    if let Some(pg) = pg {
        pg.drop_database().await?;
    }
    if stored < acknowledged {
        return Err(Error::Internal(format!(
            "{acknowledged} writes were acknowledged but only {stored} are stored"
        )));
    }

    latencies_ms.sort_by(f64::total_cmp);
    let pct = |p| percentile(&latencies_ms, p);
    let mut out = json!({
        "intake_batch": batch,
        "acknowledged": acknowledged,
        "stored_after_kill": stored,
        "writes_per_s": (acknowledged as f64 / elapsed).round(),
        "p50_ms": pct(0.50),
        "p99_ms": pct(0.99),
        "max_ms": latencies_ms.last().copied().unwrap_or(0.0),
        "errors": errors.values().sum::<u64>(),
        "error_kinds": errors,
        "behind_after_load": {
            "index_jobs": health["index"]["pending_jobs"],
            "embedding_jobs": health["embeddings"]["pending_jobs"],
        },
    });
    if let Some(seconds) = catch_up {
        out["index_caught_up_s"] = json!(seconds);
    }
    Ok(out)
}

/// Seconds after the load until each replica's index has read every job (pending 0 on
/// `/healthz`), polled every 50 ms for at most 300 s.
async fn index_catch_up(http: &reqwest::Client, bases: &[String]) -> Result<Vec<f64>> {
    let start = Instant::now();
    let mut out = Vec::new();
    for base in bases {
        loop {
            let h = super::ingest::health(http, base).await?;
            if h["index"]["pending_jobs"] == 0 {
                out.push((start.elapsed().as_secs_f64() * 100.0).round() / 100.0);
                break;
            }
            if start.elapsed() > Duration::from_secs(300) {
                return Err(Error::Internal(format!(
                    "the index of {base} did not catch up within 300 s"
                )));
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
    Ok(out)
}

/// Reads the child's first lines until it says where it listens.
async fn listening_address(child: &mut tokio::process::Child) -> Result<String> {
    let out = child
        .stdout
        .take()
        .ok_or_else(|| Error::Internal("no stdout from triage serve".into()))?;
    let mut lines = tokio::io::BufReader::new(out).lines();
    let wait = tokio::time::timeout(Duration::from_secs(120), async {
        while let Ok(Some(line)) = lines.next_line().await {
            if let Some(url) = line.strip_prefix("triage is listening on ") {
                return Some(url.trim().to_string());
            }
        }
        None
    });
    let url = wait.await.ok().flatten().ok_or_else(|| {
        Error::Internal("triage serve did not start listening within 120 s".into())
    })?;
    // Keep draining stdout so the child never blocks on a full pipe.
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    Ok(url)
}

/// One keep-alive connection posting tickets until `stop_at`: latencies of acknowledged
/// writes (ms) and the kinds of everything else.
async fn client(
    n: usize,
    base: String,
    token: String,
    stop_at: Instant,
) -> (Vec<f64>, Vec<String>) {
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(1)
        .timeout(Duration::from_secs(30))
        .build()
        .expect("an HTTP client with default TLS settings");
    let url = format!("{base}/api/v1/tickets");
    let (mut lat, mut errs) = (Vec::new(), Vec::new());
    let mut i = 0u64;
    while Instant::now() < stop_at {
        let body = json!({
            "subject": format!("load c{n} #{i}"),
            "body": "load test: the export button does nothing on large reports",
            "external_id": format!("load-{n}-{i}"),
        });
        let t0 = Instant::now();
        match http.post(&url).bearer_auth(&token).json(&body).send().await {
            Ok(r) if r.status().as_u16() == 201 => {
                let _ = r.bytes().await;
                lat.push(t0.elapsed().as_secs_f64() * 1000.0);
            }
            Ok(r) => errs.push(r.status().as_u16().to_string()),
            Err(e) => errs.push(
                if e.is_timeout() {
                    "timeout"
                } else {
                    "connection"
                }
                .into(),
            ),
        }
        i += 1;
    }
    (lat, errs)
}

/// A database of its own on a PostgreSQL server, for one run.
pub(super) struct PgScratch {
    admin: String,
    name: String,
    pub(super) url: String,
}

impl PgScratch {
    pub(super) async fn create(server: &str) -> Result<Self> {
        let name = format!("triage_load_{}", rand::random::<u32>());
        // The server part of the URL: everything before the path, if any.
        let after_scheme = server.find("://").map_or(0, |i| i + 3);
        let base = match server[after_scheme..].find('/') {
            Some(j) => &server[..after_scheme + j],
            None => server,
        };
        let s = Self {
            admin: format!("{base}/postgres"),
            url: format!("{base}/{name}"),
            name,
        };
        s.exec(&format!("CREATE DATABASE {}", s.name)).await?;
        Ok(s)
    }

    pub(super) async fn drop_database(&self) -> Result<()> {
        self.exec(&format!(
            "DROP DATABASE IF EXISTS {} WITH (FORCE)",
            self.name
        ))
        .await
    }

    async fn exec(&self, sql: &str) -> Result<()> {
        let bad = |e: sqlx::Error| Error::Config(format!("PostgreSQL for the load bench: {e}"));
        let mut c = sqlx::PgConnection::connect(&self.admin)
            .await
            .map_err(bad)?;
        sqlx::query(sql).execute(&mut c).await.map_err(bad)?;
        Ok(())
    }
}
