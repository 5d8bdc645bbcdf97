//! `triage bench themes`: a full theme rebuild over many stored, already-embedded items.
//!
//! Items are generated as for the other benchmarks and imported; their vectors are real
//! embeddings of corpus messages with noise per copy, written straight to the embeddings
//! table ([`Noise`] says how much). Reported: the whole rebuild (read vectors, discover,
//! match ids, write placements, label themes) with its peak memory and, as the in-process
//! reference, discovery alone on the same vectors. With a labelled corpus (BANKING77's
//! `category`), the themes are scored against the label of the message each item copies,
//! on a random 20,000 items (NMI, ARI and accuracy as in `triage eval`). Then the backlog:
//! ranking every theme over all items, against one count of items per theme.

use std::collections::HashMap;
use std::time::Instant;

use rand::rngs::StdRng;
use rand::seq::index::sample;
use rand::{Rng, SeedableRng};
use serde_json::json;

use super::corpus::Corpus;
use super::ingest::bench_config;
use super::vectors::{embed_texts, store_for_all};
use super::{peak_rss_mb, print_report};
use crate::db::entity::item_theme;
use crate::db::{self, embeddings};
use crate::embed::minilm::MODEL_NAME;
use crate::embed::vectors::{dot, normalize, Vectors};
use crate::intake::import::{Format, ImportKind, ImportOptions};
use crate::jobs::import::import_file;
use crate::themes::discover::{discover, DiscoverOptions};
use crate::themes::metrics;
use crate::themes::rebuild::rebuild;
use crate::{Error, Result};

/// How each item's vector is derived from the real embedding of a corpus message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Noise {
    /// The first 2,000 messages, each copy moved by at most ±0.01 per component (cosine
    /// ≈ 0.99 to the message): unrealistically tight clusters, kept for comparison.
    Jitter,
    /// Every message of the file, each copy moved by Gaussian noise to a cosine of about
    /// 0.9 to the message — as near a duplicate as another customer's wording of it.
    Paraphrase,
}

/// Per-component deviation of the paraphrase noise: for a unit vector in d dimensions,
/// `cos ≈ 1/√(1 + d·σ²)`, which is 0.9 at d = 384 for σ = 0.0247.
const PARAPHRASE_SIGMA: f32 = 0.0247;
/// Items the themes are scored on (the contingency table of a million is no more telling).
const SCORED: usize = 20_000;

pub async fn run(
    n: usize,
    messages: Option<&std::path::Path>,
    noise: Noise,
    json_out: bool,
) -> Result<()> {
    let tmp = tempfile::tempdir().map_err(|e| Error::io(std::env::temp_dir(), e))?;
    let config = bench_config(tmp.path().join("data"))?;
    let file = tmp.path().join("items.jsonl");
    let mut corpus = Corpus::load(messages, 4)?;
    let sources = corpus.write_tickets(&file, n, "themes")?;
    let opts = ImportOptions {
        kind: ImportKind::Ticket,
        format: Format::Jsonl,
        survey_id: None,
        from: None,
    };
    import_file(&config, &file, &opts, true).await?;

    let base = Vectors::from_rows(&embed_texts(
        &config,
        &match noise {
            Noise::Jitter => corpus.messages(2_000),
            Noise::Paraphrase => corpus.all_messages().to_vec(),
        },
    )?);
    let db = db::connect(&config).await?;
    let mut rng = StdRng::seed_from_u64(9);
    let (mut cosine_sum, mut item_ids, mut origin) =
        (0f64, Vec::with_capacity(n), Vec::with_capacity(n));
    let written = store_for_all(&db, |pos, item| {
        item_ids.push(item.id);
        // The message whose embedding the item copies: for paraphrases, the one its subject
        // was made from (items are stored in file order).
        let message = match noise {
            Noise::Jitter => item.id as usize % base.len(),
            Noise::Paraphrase => sources[pos][0] as usize,
        };
        origin.push(message);
        let original = base.row(message);
        let mut v = original.to_vec();
        match noise {
            Noise::Jitter => v
                .iter_mut()
                .for_each(|x| *x += rng.random_range(-0.01..0.01f32)),
            Noise::Paraphrase => v
                .iter_mut()
                .for_each(|x| *x += PARAPHRASE_SIGMA * gaussian(&mut rng)),
        }
        normalize(&mut v);
        cosine_sum += f64::from(dot(&v, original));
        Ok(v)
    })
    .await?;
    if written != n {
        return Err(Error::Internal(format!(
            "stored {written} vectors for {n} items"
        )));
    }

    // Peak memory from here on: Linux resets the high-water mark on "5" (see proc(5)).
    let _ = std::fs::write("/proc/self/clear_refs", "5");
    let started = Instant::now();
    let report = rebuild(&db, MODEL_NAME, &DiscoverOptions::default(), None).await?;
    let rebuild_s = started.elapsed().as_secs_f64();
    let rss_after_rebuild = peak_rss_mb();

    // Teaching after the rebuild: 20 answers through the service the API and the page
    // call (store the answer, re-read the tree and every answer, re-choose the cut, pick the
    // next question); each must take well under the 200 ms a person would notice.
    let mut answer_ms = Vec::new();
    let mut view = crate::themes::teach::view(&db).await?;
    for k in 0..20 {
        let Some(q) = view.question.clone() else {
            break;
        };
        let answer = if k % 3 == 2 {
            crate::db::entity::theme_answer::PairAnswer::Different
        } else {
            crate::db::entity::theme_answer::PairAnswer::Same
        };
        let started = Instant::now();
        let (now, _) =
            crate::themes::teach::answer(&db, q.a.item_id, q.b.item_id, answer, "cli").await?;
        answer_ms.push(started.elapsed().as_secs_f64() * 1000.0);
        view = now;
    }
    answer_ms.sort_by(f64::total_cmp);
    let teach = json!({
        "answers": answer_ms.len(),
        "answer_ms_p50": answer_ms.get(answer_ms.len() / 2).map(|v| (v * 10.0).round() / 10.0),
        "answer_ms_max": answer_ms.last().map(|v| (v * 10.0).round() / 10.0),
        "themes_default": view.themes_default,
        "themes_taught": view.themes,
    });

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

    let quality = match corpus.labels() {
        Some(labels) => {
            let truth = |pos: usize| labels[origin[pos]].clone();
            let s = score_sample(&db, &item_ids, truth).await?;
            json!({ "scored_items": SCORED.min(n), "nmi": s.nmi, "ari": s.ari, "acc": s.acc })
        }
        None => json!(null),
    };

    let r2 = |v: f64| (v * 100.0).round() / 100.0;
    let r3 = |v: f64| (v * 1000.0).round() / 1000.0;
    print_report(
        &json!({
            "items": written,
            "noise": format!("{noise:?}").to_lowercase(),
            "corpus_messages": base.len(),
            "mean_cosine_to_message": r3(cosine_sum / written.max(1) as f64),
            "themes": report.themes,
            "unthemed": report.unthemed,
            "quality": quality,
            "seconds": r2(rebuild_s),
            "peak_rss_mb": rss_after_rebuild,
            "reference_discover_only_seconds": r2(discover_s),
            "reference_themes": found.themes,
            "teach": teach,
            "backlog_themes": ranked,
            "backlog_rank_seconds": r3(backlog_s),
            "reference_count_by_theme_seconds": r3(count_s),
            "reference_counted_themes": counted,
        }),
        json_out,
    );
    Ok(())
}

/// Theme quality on a random sample of the items: the theme each was placed in against the
/// label of the message it copies (`truth` by position).
async fn score_sample(
    db: &sea_orm::DatabaseConnection,
    item_ids: &[i64],
    truth: impl Fn(usize) -> String,
) -> Result<metrics::Scores> {
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
    let mut rng = StdRng::seed_from_u64(11);
    let mut picked = sample(&mut rng, item_ids.len(), SCORED.min(item_ids.len())).into_vec();
    picked.sort_unstable();
    let ids: Vec<i64> = picked.iter().map(|&p| item_ids[p]).collect();
    let mut theme_of: HashMap<i64, i64> = HashMap::new();
    for chunk in ids.chunks(1000) {
        for p in item_theme::Entity::find()
            .filter(item_theme::Column::ItemId.is_in(chunk.to_vec()))
            .all(db)
            .await?
        {
            if let Some(t) = p.theme_id {
                theme_of.insert(p.item_id, t);
            }
        }
    }
    let mut dense: HashMap<i64, usize> = HashMap::new();
    let predicted: Vec<Option<usize>> = ids
        .iter()
        .map(|id| {
            theme_of.get(id).map(|t| {
                let next = dense.len();
                *dense.entry(*t).or_insert(next)
            })
        })
        .collect();
    let labels: Vec<String> = picked.into_iter().map(truth).collect();
    Ok(metrics::score(&labels, &predicted))
}

/// A standard normal draw (Box–Muller).
fn gaussian(rng: &mut StdRng) -> f32 {
    let (u, v): (f32, f32) = (rng.random_range(1e-7..1.0), rng.random_range(0.0..1.0));
    (-2.0 * u.ln()).sqrt() * (std::f32::consts::TAU * v).cos()
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
