//! `triage bench search`: query latency over a generated corpus.
//!
//! Three figures on the same index and the same queries, measured in one run:
//! * through the HTTP API (`p50_ms`, `p99_ms`) in `--mode` (keyword by default; `hybrid`
//!   adds embedding the query and the vector graph): what a user of the API sees;
//! * the engine alone (`engine_*`): triage's query (AND, typo expansion, filters, snippets);
//! * the reference (`reference_tantivy_*`): tantivy's own QueryParser with every word
//!   required, top 10 plus count, no snippets — what the peers' script measures.

use std::time::Instant;

use serde_json::json;
use triage_index::{FeedbackIndex, SearchRequest};

use super::corpus::Corpus;
use super::ingest::{bench_config, health, start_server};
use super::{percentile, print_report};
use crate::cli::import::import_file;
use crate::intake::import::{Format, ImportKind, ImportOptions};
use crate::{Error, Result};

pub async fn run(
    items: usize,
    queries: usize,
    messages: Option<&std::path::Path>,
    mode: crate::search::Mode,
    json_out: bool,
) -> Result<()> {
    let mode_name = format!("{mode:?}").to_lowercase();
    let tmp = tempfile::tempdir().map_err(|e| Error::io(std::env::temp_dir(), e))?;
    let file = tmp.path().join("corpus.jsonl");
    let mut corpus = Corpus::load(messages, 3)?;
    corpus.write_tickets(&file, items, "search")?;
    let data_dir = tmp.path().join("data");
    let config = bench_config(data_dir.clone())?;
    let started = Instant::now();
    let opts = ImportOptions {
        kind: ImportKind::Ticket,
        format: Format::Jsonl,
        survey_id: None,
    };
    import_file(&config, &file, &opts, true).await?;
    let build_s = started.elapsed().as_secs_f64();

    let qs: Vec<String> = (0..queries).map(|_| corpus.query()).collect();
    let typos: Vec<String> = qs
        .iter()
        .filter_map(|q| q.split(' ').find(|w| w.len() >= 5).map(|w| corpus.typo(w)))
        .collect();

    let (index, _) = FeedbackIndex::open(&config.index_dir())?;
    let top10 = |q: &str| {
        let req = SearchRequest {
            query: q.to_string(),
            limit: 10,
            ..Default::default()
        };
        index.search(&req).map(|_| ())
    };
    let engine = time_all(&qs, top10)?;
    let typo = time_all(&typos, top10)?;
    let reference = time_all(&qs, |q| index.reference_search(q, 10).map(|_| ()))?;
    drop(index);

    let (base, token) = start_server(data_dir).await?;
    let client = reqwest::Client::new();
    // By meaning: measure against the whole graph, not the part embedded so far.
    let graph = if mode == crate::search::Mode::Keyword {
        serde_json::Value::Null
    } else {
        wait_embedded(&client, &base, items).await?
    };
    let mut http = Vec::with_capacity(qs.len());
    for (i, q) in qs.iter().cycle().take(qs.len() + 50).enumerate() {
        let t = Instant::now();
        let r = client
            .get(format!("{base}/api/v1/search"))
            .query(&[("q", q.as_str()), ("limit", "10"), ("mode", &mode_name)])
            .bearer_auth(&token)
            .send()
            .await
            .map_err(|e| Error::Internal(format!("bench search: {e}")))?;
        let status = r.status();
        r.bytes()
            .await
            .map_err(|e| Error::Internal(e.to_string()))?;
        if !status.is_success() {
            return Err(Error::Internal(format!("bench search answered {status}")));
        }
        if i >= 50 {
            http.push(t.elapsed().as_secs_f64() * 1000.0);
        }
    }
    http.sort_by(f64::total_cmp);

    print_report(
        &json!({
            "items": items,
            "queries": qs.len(),
            "mode": mode_name,
            "vectors": graph,
            "build_s": (build_s * 10.0).round() / 10.0,
            "p50_ms": percentile(&http, 0.5),
            "p99_ms": percentile(&http, 0.99),
            "engine_p50_ms": percentile(&engine, 0.5),
            "engine_p99_ms": percentile(&engine, 0.99),
            "typo_queries": typos.len(),
            "typo_p50_ms": percentile(&typo, 0.5),
            "typo_p99_ms": percentile(&typo, 0.99),
            "reference_tantivy_p50_ms": percentile(&reference, 0.5),
            "reference_tantivy_p99_ms": percentile(&reference, 0.99),
        }),
        json_out,
    );
    Ok(())
}

/// Waits until the server's graph holds every item; returns `/healthz`'s `vectors`.
async fn wait_embedded(
    client: &reqwest::Client,
    base: &str,
    items: usize,
) -> Result<serde_json::Value> {
    let started = Instant::now();
    loop {
        let health = health(client, base).await?;
        let held = health["vectors"]["items"].as_u64().unwrap_or(0) as usize;
        if held >= items {
            return Ok(health["vectors"].clone());
        }
        if started.elapsed().as_secs() > 3600 {
            return Err(Error::Internal(format!(
                "bench search: only {held} of {items} items embedded after an hour"
            )));
        }
        eprint!("\rembedding for search by meaning: {held} / {items}");
        tokio::time::sleep(std::time::Duration::from_secs(2)).await;
    }
}

/// Runs every query once untimed (warm-up), then once timed; returns sorted milliseconds.
fn time_all(
    queries: &[String],
    mut f: impl FnMut(&str) -> triage_index::Result<()>,
) -> Result<Vec<f64>> {
    for q in queries.iter().take(50) {
        f(q)?;
    }
    let mut out = Vec::with_capacity(queries.len());
    for q in queries {
        let t = Instant::now();
        f(q)?;
        out.push(t.elapsed().as_secs_f64() * 1000.0);
    }
    out.sort_by(f64::total_cmp);
    Ok(out)
}
