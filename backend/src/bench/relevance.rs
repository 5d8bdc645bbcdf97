//! `triage bench relevance`: does search find what a person is looking for?
//!
//! Measured on labelled data (BANKING77 train: support messages, each with one of 77
//! intents), where "relevant" means "about the same thing": an item is relevant to a query
//! when it carries the query's intent. Two query sets, the same three modes, in one run:
//!
//! * **held-out messages** (`held_out`): `--queries` messages drawn at random (seeded) are
//!   the queries; the corpus is every other message. A whole message is how a support agent
//!   searches for "have we seen this before?".
//! * **short queries** (`short`): the 100 queries of `relevance_queries.tsv`, 2–4 words as
//!   people type them into a search box, written by hand and judged by intent; the corpus
//!   is every message.
//!
//! For each: nDCG@10 (binary gains; the ideal ranking puts min(10, relevant) relevant items
//! first) and recall@50 (relevant items in the top 50 over all relevant items — with ~130
//! items per intent it cannot exceed about 0.4; compare modes, not against 1). Keyword,
//! semantic and hybrid run through [`crate::search`], the function the API calls, on a text
//! index and a vector graph built for the run. `--export DIR` writes the corpus and both
//! query sets as JSON for `scripts/relevance_peers.py`, which scores PostgreSQL full-text
//! search and SQLite FTS5 on exactly the same split.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

use chrono::Utc;
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::SeedableRng;
use serde_json::json;
use triage_index::{FeedbackIndex, IndexDoc, SearchRequest, VectorIndex};

use super::print_report;
use crate::config::Settings;
use crate::embed::minilm::MiniLm;
use crate::embed::{embed_sorted, Embedder};
use crate::search::{run_blocking, Mode};
use crate::{Config, Error, Result};

const SHORT_QUERIES: &str = include_str!("relevance_queries.tsv");
const MODES: [Mode; 3] = [Mode::Keyword, Mode::Semantic, Mode::Hybrid];

/// One labelled message.
struct Row {
    text: String,
    intent: String,
}

pub async fn run(data: &Path, queries: usize, export: Option<&Path>, json_out: bool) -> Result<()> {
    let rows = read(data)?;
    let config = Config::from_settings(Settings::from_env())?;
    let model = MiniLm::load(
        &config.model_dir,
        config.embed_threads,
        config.embed_precision,
    )?;

    // Held-out split, seeded: the same queries every run.
    let mut order: Vec<usize> = (0..rows.len()).collect();
    order.shuffle(&mut StdRng::seed_from_u64(20_261_202));
    let held: Vec<usize> = order[..queries.min(rows.len() / 2)].to_vec();
    let held_set: std::collections::HashSet<usize> = held.iter().copied().collect();
    let short = short_queries()?;

    let started = Instant::now();
    let texts: Vec<&str> = rows.iter().map(|r| r.text.as_str()).collect();
    let vectors = embed_sorted(&model, &texts, |_| {})?;
    let embed_s = started.elapsed().as_secs_f64();
    let short_texts: Vec<&str> = short.iter().map(|(q, _)| q.as_str()).collect();
    let short_vectors = embed_sorted(&model, &short_texts, |_| {})?;

    let tmp = tempfile::tempdir().map_err(|e| Error::io(std::env::temp_dir(), e))?;
    // Held-out: the corpus is every message but the queries.
    let corpus: Vec<usize> = (0..rows.len()).filter(|i| !held_set.contains(i)).collect();
    let engines = build(
        &tmp.path().join("held"),
        &rows,
        &corpus,
        &vectors,
        model.model_name(),
    )?;
    let held_queries: Vec<(String, &str, &[f32])> = held
        .iter()
        .map(|&i| {
            (
                rows[i].text.clone(),
                rows[i].intent.as_str(),
                vectors[i].as_slice(),
            )
        })
        .collect();
    let held_scores = score(&engines, &rows, &corpus, &held_queries)?;
    let graph_recall = graph_recall(&engines.1, &corpus, &vectors, &held_queries, 10)?;
    drop(engines);
    // Short queries: the corpus is every message.
    let all: Vec<usize> = (0..rows.len()).collect();
    let engines = build(
        &tmp.path().join("all"),
        &rows,
        &all,
        &vectors,
        model.model_name(),
    )?;
    let short_queries: Vec<(String, &str, &[f32])> = short
        .iter()
        .zip(&short_vectors)
        .map(|((q, intent), v)| (q.clone(), intent.as_str(), v.as_slice()))
        .collect();
    let short_scores = score(&engines, &rows, &all, &short_queries)?;

    if let Some(dir) = export {
        export_split(dir, &rows, &corpus, &held, &short)?;
    }
    let report = json!({
        "bench": "relevance",
        "data": data.display().to_string(),
        "corpus": rows.len(),
        "intents": rows.iter().map(|r| r.intent.as_str()).collect::<std::collections::HashSet<_>>().len(),
        "held_out": {"queries": held.len(), "corpus": corpus.len(), "modes": held_scores},
        "short": {"queries": short.len(), "corpus": rows.len(), "modes": short_scores},
        "graph_recall_at_10": graph_recall,
        "embed_seconds": (embed_s * 10.0).round() / 10.0,
    });
    print_report(&report, json_out);
    Ok(())
}

/// A text index and a vector graph over `corpus` (ids are row numbers + 1).
fn build(
    dir: &Path,
    rows: &[Row],
    corpus: &[usize],
    vectors: &[Vec<f32>],
    model: &str,
) -> Result<(FeedbackIndex, VectorIndex)> {
    let (text, _) = FeedbackIndex::open(&dir.join("index"))?;
    let mut w = text.writer(100_000_000)?;
    let now = Utc::now();
    let docs: Vec<IndexDoc> = corpus
        .iter()
        .map(|&i| IndexDoc {
            id: i as u64 + 1,
            source_id: i as u64 + 1,
            kind: "ticket".into(),
            subject: None,
            text: rows[i].text.clone(),
            segment: None,
            theme: None,
            score: None,
            created_at: now,
        })
        .collect();
    w.upsert_all(&docs)?;
    w.finish()?;
    let dims = vectors.first().map_or(0, Vec::len);
    let (graph, _) = VectorIndex::open(&dir.join("vectors"), model, dims)?;
    let refs: Vec<(u64, &[f32])> = corpus
        .iter()
        .map(|&i| (i as u64 + 1, vectors[i].as_slice()))
        .collect();
    graph.upsert(&refs)?;
    Ok((text, graph))
}

/// Mean nDCG@10 and recall@50 of every mode over `queries` (text, intent, vector).
fn score(
    (text, graph): &(FeedbackIndex, VectorIndex),
    rows: &[Row],
    corpus: &[usize],
    queries: &[(String, &str, &[f32])],
) -> Result<serde_json::Value> {
    let mut relevant_count: HashMap<&str, usize> = HashMap::new();
    for &i in corpus {
        *relevant_count.entry(rows[i].intent.as_str()).or_default() += 1;
    }
    let mut out = serde_json::Map::new();
    for mode in MODES {
        let (mut ndcg, mut recall, mut ms) = (0.0, 0.0, Vec::new());
        for (q, intent, v) in queries {
            let req = SearchRequest {
                query: q.clone(),
                limit: 50,
                ..Default::default()
            };
            let started = Instant::now();
            let found = run_blocking(text, Some(graph), Some(v), req, mode)?;
            ms.push(started.elapsed().as_secs_f64() * 1000.0);
            let rel: Vec<bool> = found
                .hits
                .iter()
                .map(|h| rows[h.id as usize - 1].intent == *intent)
                .collect();
            let total = relevant_count.get(intent).copied().unwrap_or(0);
            ndcg += ndcg_at(&rel, total, 10);
            if total > 0 {
                recall += rel.iter().filter(|r| **r).count() as f64 / total as f64;
            }
        }
        let n = queries.len().max(1) as f64;
        ms.sort_by(f64::total_cmp);
        out.insert(
            format!("{mode:?}").to_lowercase(),
            json!({
                "ndcg_at_10": (ndcg / n * 10_000.0).round() / 10_000.0,
                "recall_at_50": (recall / n * 10_000.0).round() / 10_000.0,
                "engine_p50_ms": super::percentile(&ms, 0.5),
            }),
        );
    }
    Ok(serde_json::Value::Object(out))
}

/// How many of the exact `k` nearest (brute force over the corpus) the graph returns, on
/// average over the queries: the price of an approximate index.
fn graph_recall(
    graph: &VectorIndex,
    corpus: &[usize],
    vectors: &[Vec<f32>],
    queries: &[(String, &str, &[f32])],
    k: usize,
) -> Result<f64> {
    let mut sum = 0.0;
    for (_, _, q) in queries {
        let mut exact: Vec<(f32, u64)> = corpus
            .iter()
            .map(|&i| {
                (
                    vectors[i].iter().zip(q.iter()).map(|(a, b)| a * b).sum(),
                    i as u64 + 1,
                )
            })
            .collect();
        exact.sort_by(|a, b| b.0.total_cmp(&a.0));
        let want: std::collections::HashSet<u64> = exact.iter().take(k).map(|e| e.1).collect();
        let got = graph.nearest(q, k, |_| true)?;
        sum += got.iter().filter(|(id, _)| want.contains(id)).count() as f64 / k as f64;
    }
    Ok((sum / queries.len().max(1) as f64 * 10_000.0).round() / 10_000.0)
}

/// nDCG@k with binary gains: `rel[i]` is whether the hit at rank i is relevant, `total`
/// how many relevant items exist.
pub fn ndcg_at(rel: &[bool], total: usize, k: usize) -> f64 {
    let gain = |rank: usize| 1.0 / ((rank + 2) as f64).log2();
    let dcg: f64 = rel
        .iter()
        .take(k)
        .enumerate()
        .filter(|(_, r)| **r)
        .map(|(i, _)| gain(i))
        .sum();
    let ideal: f64 = (0..total.min(k)).map(gain).sum();
    if ideal == 0.0 {
        0.0
    } else {
        dcg / ideal
    }
}

fn read(path: &Path) -> Result<Vec<Row>> {
    let mut reader = csv::Reader::from_path(path).map_err(|e| {
        Error::Config(format!(
            "cannot read {}: {e} (pass --data FILE.csv)",
            path.display()
        ))
    })?;
    let headers = reader
        .headers()
        .map_err(|e| Error::Config(e.to_string()))?
        .clone();
    let col = |name: &str| {
        headers
            .iter()
            .position(|h| h == name)
            .ok_or_else(|| Error::Config(format!("{}: no {name:?} column", path.display())))
    };
    let (t, c) = (col("text")?, col("category")?);
    let mut rows = Vec::new();
    for record in reader.records() {
        let r = record.map_err(|e| Error::Config(format!("{}: {e}", path.display())))?;
        rows.push(Row {
            text: r.get(t).unwrap_or_default().to_string(),
            intent: r.get(c).unwrap_or_default().to_string(),
        });
    }
    Ok(rows)
}

/// The hand-written short queries: (query, intent).
fn short_queries() -> Result<Vec<(String, String)>> {
    SHORT_QUERIES
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|l| {
            l.split_once('\t')
                .map(|(q, i)| (q.to_string(), i.to_string()))
                .ok_or_else(|| Error::Internal(format!("relevance_queries.tsv: bad line {l:?}")))
        })
        .collect()
}

/// The split, for the peers' script: corpus (id, text, intent) and both query sets.
fn export_split(
    dir: &Path,
    rows: &[Row],
    corpus: &[usize],
    held: &[usize],
    short: &[(String, String)],
) -> Result<()> {
    std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    let item = |i: usize| json!({"id": i + 1, "text": rows[i].text, "intent": rows[i].intent});
    let doc = json!({
        "held_out": {
            "corpus": corpus.iter().map(|&i| item(i)).collect::<Vec<_>>(),
            "queries": held.iter().map(|&i| json!({"query": rows[i].text, "intent": rows[i].intent})).collect::<Vec<_>>(),
        },
        "short": {
            "corpus": (0..rows.len()).map(item).collect::<Vec<_>>(),
            "queries": short.iter().map(|(q, i)| json!({"query": q, "intent": i})).collect::<Vec<_>>(),
        },
    });
    let path: PathBuf = dir.join("relevance-split.json");
    std::fs::write(&path, doc.to_string()).map_err(|e| Error::io(&path, e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ndcg_rewards_relevant_items_early() {
        assert_eq!(ndcg_at(&[true, true], 2, 10), 1.0);
        assert_eq!(ndcg_at(&[false, false], 2, 10), 0.0);
        let late = ndcg_at(&[false, true], 1, 10);
        assert!((late - 1.0 / 3f64.log2()).abs() < 1e-12, "{late}");
        assert!(
            ndcg_at(&[true, false], 5, 10) < 1.0,
            "four relevant items missed"
        );
    }

    #[test]
    fn the_short_queries_are_short_and_name_intents() {
        let qs = short_queries().unwrap();
        assert_eq!(qs.len(), 100);
        for (q, intent) in &qs {
            let words = q.split_whitespace().count();
            assert!((2..=4).contains(&words), "{q:?}");
            assert!(!intent.is_empty());
        }
    }
}
