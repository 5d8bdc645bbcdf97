//! `triage demo`: load the demo data shipped inside the binary, idempotently.
//!
//! The data (backend/demo/, built from BANKING77 — see docs/demo-data.md) carries dates in
//! the 12 weeks before 2026-11-23; they are shifted so the newest item is from today, which
//! keeps "this week" and "rising" meaningful whenever the demo runs.

use chrono::{DateTime, Utc};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};

use crate::db::entity::{survey, theme, user};
use crate::db::tokens::{self, Role};
use crate::digest::subscriptions;
use crate::intake::import::{Format, ImportKind, ImportOptions};
use crate::intake::surveys;
use crate::intake::validate::NewSurvey;
use crate::jobs::import::import_file;
use crate::{db, Config, Error, Result};

const TICKETS: &str = include_str!("../../demo/tickets.csv");
const RATINGS: &str = include_str!("../../demo/ratings.csv");
const RESPONSES: &str = include_str!("../../demo/survey_responses.csv");
/// The demo's shipped fix: which intent's theme, and its rollouts (days before the newest
/// item; segments, or null for everyone).
const FIX: &str = include_str!("../../demo/rollout.json");
const REFERENCE: &str = "2026-11-23T12:00:00Z";
const SURVEY_TITLE: &str = "How are we doing? (NPS)";
/// The demo login, printed by `triage demo`. Only for the demo data dir.
const DEMO_EMAIL: &str = "pm@demo.example";
const DEMO_PASSWORD: &str = "triage-demo";

pub async fn load(config: &Config) -> Result<()> {
    let db = db::connect(config).await?;
    let survey_id = demo_survey(&db).await?;
    let dir = config.data_dir.join("demo");
    std::fs::create_dir_all(&dir).map_err(|e| Error::io(&dir, e))?;
    let shift = Utc::now() - REFERENCE.parse::<DateTime<Utc>>().unwrap_or_default();
    for (name, data, kind) in [
        ("tickets.csv", TICKETS, ImportKind::Ticket),
        ("ratings.csv", RATINGS, ImportKind::Rating),
        (
            "survey_responses.csv",
            RESPONSES,
            ImportKind::SurveyResponse,
        ),
    ] {
        let path = dir.join(name);
        std::fs::write(&path, shift_dates(data, shift)?).map_err(|e| Error::io(&path, e))?;
        let opts = ImportOptions {
            kind,
            format: Format::Csv,
            survey_id: Some(survey_id),
            from: None,
        };
        let r = import_file(config, &path, &opts, false).await?;
        println!(
            "demo {name}: {} imported, {} already there, {} failed",
            r.imported, r.skipped, r.failed
        );
    }
    if theme::Entity::find().one(&db).await?.is_none() {
        println!("demo: embedding the items and finding themes (about a minute, once)…");
        let report = super::themes::embed_and_rebuild(config, &db, None, false).await?;
        println!(
            "demo: {} items → {} themes, {} unthemed",
            report.items, report.themes, report.unthemed
        );
    }
    demo_fix(&db).await?;
    let token = demo_token(config, &db).await?;
    demo_user(&db).await?;
    let base = &config.base_url;
    println!();
    println!("  backlog:  {base}/backlog");
    println!("  sign in:  {DEMO_EMAIL} / {DEMO_PASSWORD}");
    println!("  survey:   {base}/s/{survey_id}  (what customers see)");
    println!("  API:      curl -H 'Authorization: Bearer {token}' '{base}/api/v1/backlog?limit=5'");
    println!();
    Ok(())
}

#[derive(serde::Deserialize)]
struct Fix {
    intent: String,
    note: String,
    rollouts: Vec<FixRollout>,
}

#[derive(serde::Deserialize)]
struct FixRollout {
    days_before: i64,
    segments: Option<Vec<String>>,
}

/// Marks the theme most of the fixed intent's tickets are in as shipped and records its
/// rollouts (once: skipped when any rollout exists), so the theme page shows impact.
async fn demo_fix(db: &sea_orm::DatabaseConnection) -> Result<()> {
    use crate::db::entity::{item_theme, rollout, ticket};
    use crate::db::items::ItemKind;
    use sea_orm::QuerySelect;
    if rollout::Entity::find().one(db).await?.is_some() {
        return Ok(());
    }
    let fix: Fix = serde_json::from_str(FIX).map_err(Error::failed("demo/rollout.json"))?;
    let sources: Vec<i64> = ticket::Entity::find()
        .select_only()
        .column(ticket::Column::Id)
        .filter(ticket::Column::ExternalId.like(format!("demo-ticket-{}-%", fix.intent)))
        .into_tuple()
        .all(db)
        .await?;
    let items: Vec<i64> = crate::db::items::ids_by_source(db, ItemKind::Ticket, &sources)
        .await?
        .into_values()
        .collect();
    let mut votes: std::collections::HashMap<i64, usize> = Default::default();
    for p in item_theme::Entity::find()
        .filter(item_theme::Column::ItemId.is_in(items))
        .all(db)
        .await?
    {
        if let Some(t) = p.theme_id {
            *votes.entry(t).or_default() += 1;
        }
    }
    let Some((theme, _)) = votes.into_iter().max_by_key(|(t, n)| (*n, -*t)) else {
        return Ok(());
    };
    let actor = crate::db::actors::Actor::Cli.stored();
    // The demo's customers are invented: they are not told.
    crate::backlog::workflow::update_without_notices(
        db,
        theme,
        crate::backlog::workflow::EntryChange {
            status: Some("shipped".into()),
            ..Default::default()
        },
        &actor,
    )
    .await?;
    let today = Utc::now().date_naive();
    for r in fix.rollouts {
        let input = crate::impact::rollouts::NewRollout {
            starts_on: (today - chrono::Duration::days(r.days_before)).to_string(),
            segments: r.segments,
            note: Some(fix.note.clone()),
        };
        crate::impact::rollouts::add(db, theme, input, &actor).await?;
    }
    println!(
        "demo: theme {theme} shipped with {} rollouts (see its impact)",
        FIX.matches("days_before").count()
    );
    Ok(())
}

/// The demo's product manager account, created once.
async fn demo_user(db: &sea_orm::DatabaseConnection) -> Result<()> {
    let exists = user::Entity::find()
        .filter(user::Column::Email.eq(DEMO_EMAIL))
        .one(db)
        .await?
        .is_some();
    if !exists {
        subscriptions::create_user(db, DEMO_EMAIL, "Demo PM", Role::Pm, DEMO_PASSWORD).await?;
    }
    Ok(())
}

async fn demo_survey(db: &sea_orm::DatabaseConnection) -> Result<i64> {
    if let Some(s) = survey::Entity::find()
        .filter(survey::Column::Title.eq(SURVEY_TITLE))
        .one(db)
        .await?
    {
        return Ok(s.id);
    }
    let created = surveys::create(
        db,
        NewSurvey {
            title: SURVEY_TITLE.into(),
            questions: vec![
                (
                    "nps".into(),
                    "How likely are you to recommend us to a friend or colleague?".into(),
                ),
                (
                    "text".into(),
                    "What is the main reason for your score?".into(),
                ),
            ],
        },
    )
    .await?;
    Ok(created.survey.id)
}

/// The demo token is kept in the data dir so repeated demos reuse it. It is an admin token:
/// the file is readable by its owner only (0600), and a file left readable by others
/// (an older demo) is tightened.
async fn demo_token(config: &Config, db: &sea_orm::DatabaseConnection) -> Result<String> {
    let path = config.data_dir.join("demo-token");
    if let Ok(t) = std::fs::read_to_string(&path) {
        if tokens::find(db, t.trim()).await?.is_some() {
            owner_only(&path)?;
            return Ok(t.trim().to_string());
        }
    }
    let (_, token) = tokens::create(db, "demo", Role::Admin, None).await?;
    write_owner_only(&path, &token)?;
    Ok(token)
}

#[cfg(unix)]
fn write_owner_only(path: &std::path::Path, text: &str) -> Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    // Created 0600 from the start: no moment in which another user could read it.
    let _ = std::fs::remove_file(path);
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .map_err(|e| Error::io(path, e))?;
    f.write_all(text.as_bytes()).map_err(|e| Error::io(path, e))
}

#[cfg(not(unix))]
fn write_owner_only(path: &std::path::Path, text: &str) -> Result<()> {
    std::fs::write(path, text).map_err(|e| Error::io(path, e))
}

#[cfg(unix)]
fn owner_only(path: &std::path::Path) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))
        .map_err(|e| Error::io(path, e))
}

#[cfg(not(unix))]
fn owner_only(_: &std::path::Path) -> Result<()> {
    Ok(())
}

/// Rewrites the `created_at` column, moving every date by `shift`.
fn shift_dates(csv_text: &str, shift: chrono::Duration) -> Result<Vec<u8>> {
    let bad = Error::failed("demo data");
    let mut rdr = csv::Reader::from_reader(csv_text.as_bytes());
    let headers = rdr.headers().map_err(bad)?.clone();
    let col = headers.iter().position(|h| h == "created_at");
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record(&headers).map_err(bad)?;
    for rec in rdr.records() {
        let rec = rec.map_err(bad)?;
        let fields: Vec<String> = rec
            .iter()
            .enumerate()
            .map(
                |(i, v)| match (Some(i) == col, v.parse::<DateTime<Utc>>()) {
                    (true, Ok(t)) => (t + shift).to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
                    _ => v.to_string(),
                },
            )
            .collect();
        w.write_record(&fields).map_err(bad)?;
    }
    w.into_inner().map_err(Error::failed("demo data"))
}
