//! `triage bench embed`: sentences per second through all-MiniLM-L6-v2.
//!
//! Reference in the same run: the same sentences in input order (no length sorting), the
//! loop a straightforward caller would write.
//!
//! Also the latency of one short query at a time (the first words of 200 messages), as
//! search embeds them, in each precision, on one math thread (what search uses) and on the
//! configured number: what is best for batches need not be best for one query.

use std::time::Instant;

use serde_json::json;

use super::corpus::Corpus;
use super::{peak_rss_mb, print_report};
use crate::config::Settings;
use crate::embed::minilm::{MiniLm, Precision, QUERY_THREADS};
use crate::embed::{embed_sorted, Embedder, BATCH};
use crate::{Config, Result};

pub fn run(input: Option<&std::path::Path>, limit: usize, json_out: bool) -> Result<()> {
    let config = Config::from_settings(Settings::from_env())?;
    let texts = Corpus::load(input, 0)?.messages(limit);
    let refs: Vec<&str> = texts.iter().map(String::as_str).collect();

    let started = Instant::now();
    let model = MiniLm::load(
        &config.model_dir,
        config.embed_threads,
        config.embed_precision,
    )?;
    let load_s = started.elapsed().as_secs_f64();
    // Warm-up: the first forward passes allocate and tune.
    embed_sorted(&model, &refs[..refs.len().min(64)], |_| {})?;

    let started = Instant::now();
    embed_sorted(&model, &refs, |_| {})?;
    let sorted_s = started.elapsed().as_secs_f64();

    let started = Instant::now();
    for chunk in refs.chunks(BATCH) {
        model.embed_batch(chunk)?;
    }
    let unsorted_s = started.elapsed().as_secs_f64();

    let batch_precision = model.precision().to_string();
    drop(model);
    let queries: Vec<String> = texts
        .iter()
        .take(200)
        .map(|t| t.split_whitespace().take(4).collect::<Vec<_>>().join(" "))
        .collect();
    let mut single = serde_json::Map::new();
    let runs = [
        (Precision::Fp32, QUERY_THREADS),
        (Precision::Bf16, QUERY_THREADS),
        (Precision::Fp32, config.embed_threads),
        (Precision::Bf16, config.embed_threads),
    ];
    for (precision, threads) in runs {
        let model = MiniLm::load(&config.model_dir, threads, precision)?;
        let ms = one_at_a_time(&model, &queries)?;
        single.insert(
            format!("{}_{threads}_threads", model.precision()),
            json!({"p50_ms": super::percentile(&ms, 0.5), "p99_ms": super::percentile(&ms, 0.99)}),
        );
    }

    let round = |v: f64| (v * 10.0).round() / 10.0;
    print_report(
        &json!({
            "sentences": refs.len(),
            "threads": config.embed_threads,
            "precision": batch_precision,
            "sentences_per_s": round(refs.len() as f64 / sorted_s),
            "reference_input_order_per_s": round(refs.len() as f64 / unsorted_s),
            "load_seconds": (load_s * 100.0).round() / 100.0,
            "peak_rss_mb": peak_rss_mb(),
            "one_query": single,
        }),
        json_out,
    );
    Ok(())
}

/// Milliseconds to embed each query alone, sorted (after a warm-up pass).
fn one_at_a_time(model: &MiniLm, queries: &[String]) -> Result<Vec<f64>> {
    for q in queries.iter().take(20) {
        model.embed_batch(&[q.as_str()])?;
    }
    let mut ms = Vec::with_capacity(queries.len());
    for q in queries {
        let started = Instant::now();
        model.embed_batch(&[q.as_str()])?;
        ms.push(started.elapsed().as_secs_f64() * 1000.0);
    }
    ms.sort_by(f64::total_cmp);
    Ok(ms)
}
