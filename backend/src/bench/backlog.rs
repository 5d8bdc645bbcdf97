//! `triage bench backlog`: the backlog at N items — the ranking a backlog page, a theme
//! page and a digest are made of, read from the stored tallies — against the full
//! computation over every item (the backlog before tallies), in the same run, on the same
//! data. The run fails unless both give the same scores.
//!
//! Data: N items over the last 365 days (half tickets with a priority, half star ratings),
//! 80 % from `customers` customers in three segments (a quarter without one), imported
//! through the real import path (which keeps the tallies), then placed in `themes` themes
//! of very unequal size (a few large, a long tail; 10 % unthemed) through the same
//! placement writes a theme rebuild uses.
//!
//! Figures (milliseconds, p50/p99 over `requests` requests each): the ranking alone, the
//! JSON API and the web page over HTTP, for the default 28-day period and all time, without
//! and with a segment filter; the theme page; composing 100 weekly digests (half with a
//! segment filter). The reference is timed once per filter (it takes seconds at 1M).

use std::time::Instant;

use chrono::{Duration, Utc};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use sea_orm::{DatabaseConnection, EntityTrait, QueryOrder, QuerySelect, TransactionTrait};
use serde_json::json;

use super::ingest::bench_config;
use super::{percentile, print_report};
use crate::backlog::score;
use crate::backlog::{facts, Filter, Weights};
use crate::db;
use crate::db::entity::{feedback_item, subscription, user};
use crate::db::tokens::{self, Role};
use crate::intake::import::{Format, ImportKind, ImportOptions};
use crate::jobs::import::import_file;
use crate::themes::assign::{create_theme, placement, save_placements};
use crate::{Error, Result};

pub struct BacklogBench {
    pub items: usize,
    pub themes: usize,
    pub customers: usize,
    pub requests: usize,
    /// A PostgreSQL server URL: the run gets a fresh database there. Default: SQLite.
    pub postgres: Option<String>,
    /// Where to keep the generated SQLite database for later runs (reused when there).
    pub keep: Option<std::path::PathBuf>,
}

const SEGMENTS: [Option<&str>; 4] = [Some("enterprise"), Some("smb"), Some("consumer"), None];

pub async fn run(o: &BacklogBench, json_out: bool) -> Result<()> {
    let tmp = tempfile::tempdir().map_err(|e| Error::io(std::env::temp_dir(), e))?;
    let root = o.keep.clone().unwrap_or_else(|| tmp.path().to_path_buf());
    std::fs::create_dir_all(&root).map_err(|e| Error::io(&root, e))?;
    // A kept database is complete only once `ready` exists (written after generating).
    let ready = root.join("ready");
    let reuse = o.keep.is_some() && ready.exists();
    if o.keep.is_some() && !reuse && root.join("data").exists() {
        std::fs::remove_dir_all(root.join("data")).map_err(|e| Error::io(&root, e))?;
    }
    let mut config = bench_config(root.join("data"))?;
    let pg = match &o.postgres {
        Some(server) => Some(super::load::PgScratch::create(server).await?),
        None => None,
    };
    if let Some(p) = &pg {
        config.database_url = p.url.clone();
    }
    let started = Instant::now();
    let db = if reuse {
        eprintln!("bench: reusing the database in {}", root.display());
        db::connect(&config).await?
    } else {
        let db = generate(&config, o, &root).await?;
        if o.keep.is_some() {
            std::fs::write(&ready, format!("{}\n", o.items)).map_err(|e| Error::io(&ready, e))?;
        }
        db
    };
    let setup_s = started.elapsed().as_secs_f64();
    eprintln!(
        "bench: {} items stored and placed in {setup_s:.0} s",
        o.items
    );

    let weights = Weights::default();
    let now = Utc::now();
    let mut report = serde_json::Map::new();
    report.insert("items".into(), json!(o.items));
    report.insert("themes".into(), json!(o.themes));
    report.insert(
        "backend".into(),
        json!(if pg.is_some() { "postgres" } else { "sqlite" }),
    );
    report.insert("setup_seconds".into(), json!(r1(setup_s)));
    let mut all_equal = true;
    for (name, period, segment) in [
        ("28d", Some(28), None),
        ("28d_segment", Some(28), Some("enterprise")),
        ("all", None, None),
        ("all_segment", None, Some("enterprise")),
    ] {
        let filter = Filter {
            period_days: period,
            segment: segment.map(str::to_string),
            ..Filter::new(now)
        };
        let mut times = Vec::with_capacity(o.requests);
        let mut ranked = Vec::new();
        for _ in 0..o.requests {
            let t = Instant::now();
            ranked = crate::backlog::rank(&db, &weights, &filter).await?;
            times.push(ms(t));
        }
        // The reference: the full computation over every item of the period.
        let t = Instant::now();
        let window = filter.window();
        let full = facts::tallies(&db, window, segment).await?;
        let first = facts::first_seen(&db).await?;
        let reference = score::score(&full, &first, window, &weights);
        let reference_ms = ms(t);
        let equal = same_scores(&ranked, &reference);
        all_equal &= equal;
        times.sort_by(f64::total_cmp);
        report.insert(
            format!("rank_{name}"),
            json!({
                "p50_ms": percentile(&times, 0.5),
                "p99_ms": percentile(&times, 0.99),
                "reference_full_ms": r1(reference_ms),
                "equal_to_reference": equal,
            }),
        );
    }
    let http = http_timings(&config, &db, o.requests).await?;
    report.insert("http".into(), http);
    let digest_s = digests(&db, &config, now).await?;
    report.insert("digest_100_seconds".into(), json!(r2(digest_s)));
    report.insert("equal_to_reference".into(), json!(all_equal));
    print_report(&serde_json::Value::Object(report), json_out);
    drop(db);
    if let Some(p) = pg {
        p.drop_database().await?;
    }
    if !all_equal {
        return Err(Error::Internal(
            "bench: the backlog from the tallies differs from the full computation".into(),
        ));
    }
    Ok(())
}

fn ms(t: Instant) -> f64 {
    t.elapsed().as_secs_f64() * 1000.0
}

fn r1(v: f64) -> f64 {
    (v * 10.0).round() / 10.0
}

fn r2(v: f64) -> f64 {
    (v * 100.0).round() / 100.0
}

/// The same themes with the same scores and figures (account values to 1e-9).
fn same_scores(ranked: &[crate::backlog::Entry], reference: &[score::ThemeScore]) -> bool {
    let scored: Vec<&score::ThemeScore> = ranked
        .iter()
        .map(|e| &e.score)
        .filter(|s| reference.iter().any(|r| r.theme_id == s.theme_id))
        .collect();
    scored.len() == reference.len()
        && reference.iter().all(|r| {
            scored.iter().any(|s| {
                s.theme_id == r.theme_id
                    && s.score == r.score
                    && s.weekly == r.weekly
                    && s.components
                        .iter()
                        .zip(&r.components)
                        .all(|(a, b)| (a - b).abs() <= 1e-9 * b.abs().max(1.0))
            })
        })
}

/// Imports the items and places them in themes; the database, ready.
async fn generate(
    config: &crate::Config,
    o: &BacklogBench,
    dir: &std::path::Path,
) -> Result<DatabaseConnection> {
    use std::io::Write;
    let mut rng = StdRng::seed_from_u64(16);
    let now = Utc::now();
    let (tickets, ratings) = (dir.join("tickets.jsonl"), dir.join("ratings.jsonl"));
    {
        let open = |p: &std::path::Path| {
            std::fs::File::create(p)
                .map(std::io::BufWriter::new)
                .map_err(|e| Error::io(p, e))
        };
        let (mut t, mut r) = (open(&tickets)?, open(&ratings)?);
        for i in 0..o.items {
            let at = now - Duration::seconds(rng.random_range(0..365 * 86_400));
            let customer = (rng.random_range(0..10) < 8).then(|| {
                let k = rng.random_range(0..o.customers);
                json!({
                    "external_id": format!("bench-c{k}"),
                    "segment": SEGMENTS[k % 4],
                    "account_value": (k % 7 != 0).then_some((k * 37 % 100_000) as f64),
                })
            });
            let line = if i % 2 == 0 {
                let priority = ["low", "normal", "normal", "high", "urgent"][i % 5];
                (
                    &mut t,
                    json!({"subject": format!("Issue {i}"), "body": format!("Report number {i}"),
                           "priority": priority, "customer": customer,
                           "created_at": at.to_rfc3339()}),
                )
            } else {
                (
                    &mut r,
                    json!({"score": 1 + i % 5, "comment": format!("Rating number {i}"),
                           "customer": customer, "created_at": at.to_rfc3339()}),
                )
            };
            writeln!(line.0, "{}", line.1).map_err(|e| Error::io(dir, e))?;
        }
        for w in [&mut t, &mut r] {
            w.flush().map_err(|e| Error::io(dir, e))?;
        }
    }
    for (file, kind) in [
        (&tickets, ImportKind::Ticket),
        (&ratings, ImportKind::Rating),
    ] {
        let opts = ImportOptions {
            kind,
            format: Format::Jsonl,
            survey_id: None,
            from: None,
        };
        import_file(config, file, &opts, true).await?;
    }
    let db = db::connect(config).await?;
    let mut themes = Vec::with_capacity(o.themes);
    for i in 0..o.themes {
        themes.push(
            create_theme(&db, format!("Theme {i}"), None, "[]".into(), &[0.0; 4], 0)
                .await?
                .id,
        );
    }
    let ids: Vec<i64> = feedback_item::Entity::find()
        .select_only()
        .column(feedback_item::Column::Id)
        .order_by_asc(feedback_item::Column::Id)
        .into_tuple()
        .all(&db)
        .await?;
    for chunk in ids.chunks(20_000) {
        let rows = chunk
            .iter()
            .map(|&id| {
                // A few large themes and a long tail: u² concentrates on the first ones.
                let u: f64 = rng.random();
                let theme = (rng.random_range(0..10) > 0)
                    .then(|| themes[((u * u) * o.themes as f64) as usize % o.themes]);
                placement(id, theme, Some(0.5), false, now)
            })
            .collect();
        let txn = db.begin().await?;
        save_placements(&txn, rows).await?;
        txn.commit().await?;
    }
    crate::themes::assign::refresh_sizes(&db).await?;
    Ok(db)
}

/// Seconds to compose 100 weekly digests for last week (half of them for one of three
/// segments: four different contents, each rendered for its subscribers).
async fn digests(
    db: &DatabaseConnection,
    config: &crate::Config,
    now: chrono::DateTime<Utc>,
) -> Result<f64> {
    use crate::digest::week::IsoWeek;
    let u = user::Model {
        id: 1,
        email: "pm@example.com".into(),
        name: "PM".into(),
        role: Role::Pm.as_str().into(),
        password_hash: String::new(),
        disabled: false,
        created_at: now,
    };
    let week = IsoWeek::of(now.date_naive()).previous();
    // As the scheduler does: one composer for the run, each (week, scope) gathered once.
    let mut composer = crate::digest::schedule::Composer::default();
    let started = Instant::now();
    for i in 0..100 {
        let sub = subscription::Model {
            id: i,
            user_id: 1,
            weekday: 1,
            hour: 8,
            time_zone: "UTC".into(),
            segment: (i % 2 == 1)
                .then(|| SEGMENTS[(i as usize / 2) % 3].unwrap_or("smb").to_string()),
            status: None,
            active: true,
            created_at: now,
            updated_at: now,
        };
        composer.compose(db, config, &u, Some(&sub), week).await?;
    }
    Ok(started.elapsed().as_secs_f64())
}

/// p50/p99 of the backlog API and web page (28 days and all time, with and without a
/// segment) and of the theme page, over HTTP on loopback, from a server of this process
/// without workers (nothing else competes for the two cores).
async fn http_timings(
    config: &crate::Config,
    db: &DatabaseConnection,
    requests: usize,
) -> Result<serde_json::Value> {
    use crate::http::{ApiContext, SESSION_COOKIE as COOKIE};
    let (index, _) = triage_index::FeedbackIndex::open(&config.index_dir())?;
    let ctx = ApiContext::new(config.clone(), db.clone(), std::sync::Arc::new(index))?;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .map_err(|e| Error::io("127.0.0.1:0", e))?;
    let base = format!(
        "http://{}",
        listener
            .local_addr()
            .map_err(|e| Error::io("127.0.0.1:0", e))?
    );
    let limits = config.serve_limits;
    tokio::spawn(crate::http::listen::serve(
        listener,
        crate::http::router(ctx),
        limits,
        std::future::pending(),
    ));
    let (_, token) = tokens::create(db, "bench", Role::Admin, None).await?;
    // One per run: a kept database already has the users of earlier runs.
    let email = format!("bench-pm-{}@example.com", Utc::now().timestamp_millis());
    let pm = db::users::create(db, &email, "Bench PM", Role::Pm, "bench password 1234").await?;
    let (session, _) = db::sessions::start(db, pm.id).await?;
    let cookie = format!("{COOKIE}={session}");
    let theme: i64 = crate::db::entity::theme::Entity::find()
        .select_only()
        .column(crate::db::entity::theme::Column::Id)
        .order_by_desc(crate::db::entity::theme::Column::Size)
        .into_tuple()
        .one(db)
        .await?
        .unwrap_or(1);
    let client = reqwest::Client::new();
    let mut out = serde_json::Map::new();
    for (name, path, web) in [
        ("api_28d", "/api/v1/backlog?period=28d".to_string(), false),
        (
            "api_28d_segment",
            "/api/v1/backlog?period=28d&segment=enterprise".into(),
            false,
        ),
        ("api_all", "/api/v1/backlog?period=all".into(), false),
        (
            "api_all_segment",
            "/api/v1/backlog?period=all&segment=enterprise".into(),
            false,
        ),
        ("web_28d", "/backlog?period=28d".into(), true),
        (
            "web_all_segment",
            "/backlog?period=all&segment=enterprise".into(),
            true,
        ),
        ("web_theme_page", format!("/themes/{theme}"), true),
    ] {
        let mut times = Vec::with_capacity(requests);
        for _ in 0..requests {
            let req = client.get(format!("{base}{path}"));
            let req = if web {
                req.header(reqwest::header::COOKIE, &cookie)
            } else {
                req.bearer_auth(&token)
            };
            let t = Instant::now();
            let res = req
                .send()
                .await
                .map_err(|e| Error::Internal(format!("bench: GET {path}: {e}")))?;
            let status = res.status();
            let _ = res.bytes().await;
            times.push(ms(t));
            if !status.is_success() {
                return Err(Error::Internal(format!("bench: GET {path}: {status}")));
            }
        }
        times.sort_by(f64::total_cmp);
        out.insert(
            name.into(),
            json!({"p50_ms": percentile(&times, 0.5), "p99_ms": percentile(&times, 0.99)}),
        );
    }
    Ok(serde_json::Value::Object(out))
}
