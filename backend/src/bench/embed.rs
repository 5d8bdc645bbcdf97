//! `triage bench embed`: sentences per second through all-MiniLM-L6-v2.
//!
//! Reference in the same run: the same sentences in input order (no length sorting), the
//! loop a straightforward caller would write.

use std::time::Instant;

use serde_json::json;

use super::corpus::Corpus;
use super::{peak_rss_mb, print_report};
use crate::config::Settings;
use crate::embed::minilm::MiniLm;
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

    let round = |v: f64| (v * 10.0).round() / 10.0;
    print_report(
        &json!({
            "sentences": refs.len(),
            "threads": config.embed_threads,
            "precision": model.precision(),
            "sentences_per_s": round(refs.len() as f64 / sorted_s),
            "reference_input_order_per_s": round(refs.len() as f64 / unsorted_s),
            "load_seconds": (load_s * 100.0).round() / 100.0,
            "peak_rss_mb": peak_rss_mb(),
        }),
        json_out,
    );
    Ok(())
}
