//! `triage bench themes`: a full theme rebuild over many stored, already-embedded items.
//!
//! Items are generated as for the other benchmarks and imported; their vectors are real
//! embeddings of the corpus messages with small Gaussian jitter per copy (the peers'
//! "real + jittered copies"), written straight to the embeddings table. Reported: the
//! whole rebuild (read vectors, discover, match ids, write placements, label themes) and,
//! as the in-process reference, discovery alone on the same vectors. Then the backlog:
//! ranking every theme over all items, against one count of items per theme.

use std::time::Instant;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::json;

use super::corpus::Corpus;
use super::ingest::bench_config;
use super::vectors::{embed_texts, store_for_all};
use super::{peak_rss_mb, print_report};
use crate::db::{self, embeddings};
use crate::embed::minilm::MODEL_NAME;
use crate::embed::vectors::{normalize, Vectors};
use crate::intake::import::{Format, ImportKind, ImportOptions};
use crate::jobs::import::import_file;
use crate::themes::discover::{discover, DiscoverOptions};
use crate::themes::rebuild::rebuild;
use crate::{Error, Result};

pub async fn run(n: usize, messages: Option<&std::path::Path>, json_out: bool) -> Result<()> {
    let tmp = tempfile::tempdir().map_err(|e| Error::io(std::env::temp_dir(), e))?;
    let config = bench_config(tmp.path().join("data"))?;
    let file = tmp.path().join("items.jsonl");
    let mut corpus = Corpus::load(messages, 4)?;
    corpus.write_tickets(&file, n, "themes")?;
    let opts = ImportOptions {
        kind: ImportKind::Ticket,
        format: Format::Jsonl,
        survey_id: None,
    };
    import_file(&config, &file, &opts, true).await?;

    let base = Vectors::from_rows(&embed_texts(&config, &corpus.messages(2_000))?);
    let db = db::connect(&config).await?;
    let mut rng = StdRng::seed_from_u64(9);
    let written = store_for_all(&db, |_, item| {
        let mut v = base.row(item.id as usize % base.len()).to_vec();
        v.iter_mut()
            .for_each(|x| *x += rng.random_range(-0.01..0.01f32));
        normalize(&mut v);
        Ok(v)
    })
    .await?;

    // Peak memory from here on: Linux resets the high-water mark on "5" (see proc(5)).
    let _ = std::fs::write("/proc/self/clear_refs", "5");
    let started = Instant::now();
    let report = rebuild(&db, MODEL_NAME, &DiscoverOptions::default(), None).await?;
    let rebuild_s = started.elapsed().as_secs_f64();
    let rss_after_rebuild = peak_rss_mb();

    let (_, vectors) = embeddings::load_all(&db, MODEL_NAME).await?;
    let started = Instant::now();
    let found = discover(&vectors, &DiscoverOptions::default());
    let discover_s = started.elapsed().as_secs_f64();

    // The backlog over the same themes: the full ranking (one query for the period's facts,
    // the scoring, the workflow rows), against the least any ranking must read — one
    // count of items per theme.
    let weights = crate::backlog::Weights::default();
    let mut filter = crate::backlog::Filter::new(chrono::Utc::now());
    filter.period_days = None;
    let started = Instant::now();
    let ranked = crate::backlog::rank(&db, &weights, &filter).await?.len();
    let backlog_s = started.elapsed().as_secs_f64();
    let started = Instant::now();
    let counted = count_by_theme(&db).await?;
    let count_s = started.elapsed().as_secs_f64();

    let r2 = |v: f64| (v * 100.0).round() / 100.0;
    let r3 = |v: f64| (v * 1000.0).round() / 1000.0;
    print_report(
        &json!({
            "items": written,
            "themes": report.themes,
            "unthemed": report.unthemed,
            "seconds": r2(rebuild_s),
            "peak_rss_mb": rss_after_rebuild,
            "reference_discover_only_seconds": r2(discover_s),
            "reference_themes": found.themes,
            "backlog_themes": ranked,
            "backlog_rank_seconds": r3(backlog_s),
            "reference_count_by_theme_seconds": r3(count_s),
            "reference_counted_themes": counted,
        }),
        json_out,
    );
    Ok(())
}

/// Items per theme, one GROUP BY: the floor under any backlog ranking.
async fn count_by_theme(db: &sea_orm::DatabaseConnection) -> Result<usize> {
    use crate::db::entity::item_theme;
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QuerySelect};
    let rows: Vec<(Option<i64>, i64)> = item_theme::Entity::find()
        .select_only()
        .column(item_theme::Column::ThemeId)
        .column_as(item_theme::Column::ItemId.count(), "n")
        .filter(item_theme::Column::ThemeId.is_not_null())
        .group_by(item_theme::Column::ThemeId)
        .into_tuple()
        .all(db)
        .await?;
    Ok(rows.len())
}
