//! `triage bench search`: query latency over a generated corpus.
//!
//! Three figures on the same index and the same queries, measured in one run:
//! * through the HTTP API (`p50_ms`, `p99_ms`) in `--mode` (keyword by default; `hybrid`
//!   adds embedding the query and the vector graph): what a user of the API sees;
//! * the engine alone (`engine_*`): triage's query (AND, typo expansion, filters, snippets);
//! * the reference (`reference_tantivy_*`): tantivy's own QueryParser with every word
//!   required, top 10 plus count, no snippets — what the peers' script measures.
//!
//! By meaning, the HTTP queries are timed once the graph holds every item, the first theme
//! rebuild (which a fresh server starts as soon as the items are embedded, and which takes
//! both cores for a while) has finished and the queues are empty: the steady state, not the
//! first minutes. Each query is embedded by the real model inside the timed request
//! (`query_embedding_*` times that step alone, on the model search uses); the items'
//! vectors come from the embedding worker (`--vectors model`) or, for a million items, are
//! composed from real embeddings of their messages ([`VectorSource::Composed`]).

use std::time::Instant;

use serde_json::json;
use triage_index::{FeedbackIndex, SearchRequest};

use super::corpus::Corpus;
use super::ingest::{bench_config, get_json, health, start_server};
use super::vectors::{embed_texts, store_for_all};
use super::{dir_bytes, peak_rss_mb, percentile, print_report, status_mb};
use crate::embed::minilm::MiniLm;
use crate::embed::vectors::normalize;
use crate::embed::Embedder;
use crate::intake::import::{Format, ImportKind, ImportOptions};
use crate::jobs::import::import_file;
use crate::search::Mode;
use crate::{Error, Result};

/// Where the items' vectors come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum VectorSource {
    /// The server's embedding worker runs the model on every item.
    Model,
    /// Each item's vector is the normalised mean of the real embeddings of the three
    /// messages it is made of, stored before the server starts. Close to, not equal to,
    /// the model's vector of the whole text; what matters for latency (a graph of that
    /// many vectors with the corpus's topical clusters) is the same.
    Composed,
}

pub struct SearchBench {
    pub items: usize,
    pub queries: usize,
    pub messages: Option<std::path::PathBuf>,
    pub mode: Mode,
    pub vectors: VectorSource,
}

pub async fn run(o: &SearchBench, json_out: bool) -> Result<()> {
    let (items, queries, mode) = (o.items, o.queries, o.mode);
    let mode_name = format!("{mode:?}").to_lowercase();
    let tmp = tempfile::tempdir().map_err(|e| Error::io(std::env::temp_dir(), e))?;
    let file = tmp.path().join("corpus.jsonl");
    let mut corpus = Corpus::load(o.messages.as_deref(), 3)?;
    let sources = corpus.write_tickets(&file, items, "search")?;
    let data_dir = tmp.path().join("data");
    let config = bench_config(data_dir.clone())?;
    let started = Instant::now();
    let opts = ImportOptions {
        kind: ImportKind::Ticket,
        format: Format::Jsonl,
        survey_id: None,
        from: None,
    };
    import_file(&config, &file, &opts, true).await?;
    let build_s = started.elapsed().as_secs_f64();
    if mode != Mode::Keyword && o.vectors == VectorSource::Composed {
        compose_vectors(&config, &corpus, &sources).await?;
    }

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
        Ok(index.search(&req).map(|_| ())?)
    };
    let engine = time_all(&qs, top10)?;
    let typo = time_all(&typos, top10)?;
    let reference = time_all(&qs, |q| Ok(index.reference_search(q, 10).map(|_| ())?))?;
    drop(index);

    let (base, token) = start_server(data_dir).await?;
    // The server closes a keep-alive connection that sends no request for its header
    // timeout (10 s); drop pooled connections sooner so none is reused as it closes.
    let client = reqwest::Client::builder()
        .pool_idle_timeout(std::time::Duration::from_secs(5))
        .build()
        .map_err(Error::failed("bench search"))?;
    // By meaning: measure against the whole graph, not the part embedded so far, and
    // after the first theme rebuild.
    let graph = if mode == Mode::Keyword {
        serde_json::Value::Null
    } else {
        let graph = wait_embedded(&client, &base, items).await?;
        wait_settled(&client, &base, &token).await?;
        graph
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
            .map_err(Error::failed("bench search"))?;
        let status = r.status();
        r.bytes().await.map_err(Error::failed("bench search"))?;
        if !status.is_success() {
            return Err(Error::Internal(format!("bench search answered {status}")));
        }
        if i >= 50 {
            http.push(t.elapsed().as_secs_f64() * 1000.0);
        }
    }
    http.sort_by(f64::total_cmp);
    // The query's embedding alone, in this process, on a model loaded as the server loads
    // the one search uses: how much of the hybrid figure is the model.
    let embed_ms = if mode == Mode::Keyword {
        Vec::new()
    } else {
        let model = MiniLm::load_for_queries(&config).await?;
        time_all(&qs, |q| model.embed_batch(&[q]).map(|_| ()))?
    };

    print_report(
        &json!({
            "items": items,
            "queries": qs.len(),
            "mode": mode_name,
            "vectors": graph,
            "vector_source": format!("{:?}", o.vectors).to_lowercase(),
            "build_s": (build_s * 10.0).round() / 10.0,
            "index_mb": (dir_bytes(&config.index_dir()) as f64 / 1e6).round(),
            "peak_rss_mb": peak_rss_mb(),
            "rss_mb": status_mb("VmRSS"),
            "rss_anon_mb": status_mb("RssAnon"),
            "p50_ms": percentile(&http, 0.5),
            "p99_ms": percentile(&http, 0.99),
            "query_embedding_p50_ms": percentile(&embed_ms, 0.5),
            "query_embedding_p99_ms": percentile(&embed_ms, 0.99),
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

/// Waits until the server's first theme rebuild has made themes, the text index has taken
/// in what it changed (every item's theme is a field of its document) and no embedding
/// job is left.
async fn wait_settled(client: &reqwest::Client, base: &str, token: &str) -> Result<()> {
    let started = Instant::now();
    loop {
        let themes = get_json(
            client,
            &format!("{base}/api/v1/themes?limit=1"),
            Some(token),
        )
        .await?;
        let h = health(client, base).await?;
        let pending = ["index", "embeddings"]
            .iter()
            .map(|q| h[q]["pending_jobs"].as_u64().unwrap_or(0))
            .sum::<u64>();
        if themes["total"].as_u64().unwrap_or(0) > 0 && pending == 0 {
            eprintln!();
            // Let the index's background segment merges finish too.
            tokio::time::sleep(std::time::Duration::from_secs(8)).await;
            return Ok(());
        }
        if started.elapsed().as_secs() > 3600 {
            return Err(Error::Internal(
                "bench search: themes not rebuilt and queues not empty an hour after embedding"
                    .into(),
            ));
        }
        eprint!(
            "\rwaiting for the first theme rebuild and the queues: {} s, {pending} jobs left",
            started.elapsed().as_secs()
        );
        tokio::time::sleep(std::time::Duration::from_secs(2)).await;
    }
}

/// Stores each item's composed vector ([`VectorSource::Composed`]), checking that the
/// items were stored in the order they were written.
async fn compose_vectors(
    config: &crate::Config,
    corpus: &Corpus,
    sources: &[super::corpus::Sources],
) -> Result<()> {
    let messages = corpus.all_messages();
    eprintln!("embedding the {} corpus messages…", messages.len());
    let base = embed_texts(config, messages)?;
    let db = crate::db::connect(config).await?;
    let stored = store_for_all(&db, |at, item| {
        let made_of = sources.get(at).ok_or_else(|| {
            Error::Internal(format!("bench search: more items than written ({at})"))
        })?;
        let subject: String = messages[made_of[0] as usize].chars().take(120).collect();
        if item.subject.as_deref().map(str::trim) != Some(subject.trim()) {
            return Err(Error::Internal(format!(
                "bench search: item {} is not the {at}th written",
                item.id
            )));
        }
        let mut v = vec![0f32; base[0].len()];
        for &m in made_of {
            v.iter_mut()
                .zip(&base[m as usize])
                .for_each(|(a, b)| *a += b);
        }
        normalize(&mut v);
        Ok(v)
    })
    .await?;
    eprintln!("stored {stored} composed vectors");
    Ok(())
}

/// Runs every query once untimed (warm-up), then once timed; returns sorted milliseconds.
fn time_all(queries: &[String], mut f: impl FnMut(&str) -> Result<()>) -> Result<Vec<f64>> {
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
