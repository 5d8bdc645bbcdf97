//! `triage bench`: throughput and latency, each beside a reference measured in the same run.
//!
//! Benchmarks work in a temporary data directory (SQLite) and never touch the user's data.
//! Results and the commands that produced them are recorded in docs/benchmarks.md.

mod backlog;
mod corpus;
mod embed;
mod ingest;
mod load;
mod redact;
mod relevance;
mod search;
mod themes;
mod vectors;

use clap::Subcommand;

use crate::Result;

#[derive(Subcommand, Debug)]
pub enum BenchCommand {
    /// Items per second through `triage import` and through the HTTP API (indexing included).
    Ingest {
        /// Items to import.
        #[arg(long, default_value_t = 50_000)]
        items: usize,
        /// Items to send through the HTTP API.
        #[arg(long, default_value_t = 3_000)]
        api_items: usize,
        /// CSV with a `text` column to build items from (default: the demo messages).
        #[arg(long)]
        messages: Option<std::path::PathBuf>,
        #[arg(long)]
        json: bool,
    },
    /// Sentences per second through the embedding model, sorted by length vs input order.
    Embed {
        /// CSV with a `text` column (default: the demo messages).
        #[arg(long)]
        input: Option<std::path::PathBuf>,
        /// Sentences to embed (the first N of the file).
        #[arg(long, default_value_t = 2_000)]
        limit: usize,
        #[arg(long)]
        json: bool,
    },
    /// The backlog, theme page and digests at N items from the stored tallies, against the
    /// full computation over every item (docs/benchmarks.md).
    Backlog {
        #[arg(long, default_value_t = 100_000)]
        items: usize,
        #[arg(long, default_value_t = 300)]
        themes: usize,
        #[arg(long, default_value_t = 20_000)]
        customers: usize,
        /// Requests per figure.
        #[arg(long, default_value_t = 200)]
        requests: usize,
        /// A PostgreSQL server URL (e.g. postgres://postgres@127.0.0.1:5432/postgres): the
        /// run gets a fresh database there, dropped afterwards. Default: SQLite.
        #[arg(long)]
        postgres: Option<String>,
        /// Keep the generated SQLite database in this directory and reuse it when it is
        /// already there (generating a million items takes minutes).
        #[arg(long, conflicts_with = "postgres")]
        keep: Option<std::path::PathBuf>,
        #[arg(long)]
        json: bool,
    },
    /// Seconds and peak memory to rebuild themes over stored, embedded items.
    Themes {
        #[arg(long, default_value_t = 100_000)]
        items: usize,
        /// CSV with a `text` column to build items from (default: the demo messages); with a
        /// `category` column too, the themes are scored against it.
        #[arg(long)]
        messages: Option<std::path::PathBuf>,
        /// How far each item's vector is from the message it copies.
        #[arg(long, value_enum, default_value_t = themes::Noise::Jitter)]
        noise: themes::Noise,
        #[arg(long)]
        json: bool,
    },
    /// Acknowledged writes per second from many connections against `triage serve`, with
    /// group commit and (the reference) with a transaction per write.
    Load {
        /// Concurrent keep-alive connections.
        #[arg(long, default_value_t = 32)]
        connections: usize,
        /// Seconds of load per run.
        #[arg(long, default_value_t = 60)]
        seconds: u64,
        /// A PostgreSQL server URL (e.g. postgres://postgres@127.0.0.1:5432/postgres): each
        /// run gets a fresh database there, dropped afterwards. Default: SQLite.
        #[arg(long)]
        postgres: Option<String>,
        /// Run N `serve --web-only` replicas on the one PostgreSQL database (needs
        /// `--postgres`), the connections spread over them, each with its own search index;
        /// reports how long each index takes to catch up once the load stops. Default: one
        /// `triage serve` with every worker.
        #[arg(long)]
        replicas: Option<usize>,
        /// Skip the reference run.
        #[arg(long)]
        no_reference: bool,
        #[arg(long)]
        json: bool,
    },
    /// Search relevance (nDCG@10, recall@50) by mode, on labelled data (docs/benchmarks.md).
    Relevance {
        /// Labelled CSV (`text`, `category`).
        #[arg(long, default_value = "../shared/data/banking77/train.csv")]
        data: std::path::PathBuf,
        /// Held-out messages used as queries.
        #[arg(long, default_value_t = 500)]
        queries: usize,
        /// Write the corpus and query sets here for scripts/relevance_peers.py.
        #[arg(long)]
        export: Option<std::path::PathBuf>,
        #[arg(long)]
        json: bool,
    },
    /// Precision and recall of the personal-data detectors on labelled samples.
    Redact {
        /// Labelled JSONL files (`{"text", "pii": [{"kind", "value"}]}`).
        #[arg(
            long = "sample",
            default_values = [
                "tests/fixtures/pii/generated.jsonl",
                "tests/fixtures/pii/handwritten.jsonl",
                "tests/fixtures/pii/holdout2.jsonl"
            ]
        )]
        samples: Vec<std::path::PathBuf>,
        #[arg(long)]
        json: bool,
    },
    /// Search latency over a generated corpus.
    Search {
        #[arg(long, default_value_t = 100_000)]
        items: usize,
        #[arg(long, default_value_t = 300)]
        queries: usize,
        /// CSV with a `text` column to build items from (default: the demo messages).
        #[arg(long)]
        messages: Option<std::path::PathBuf>,
        /// Search mode of the HTTP queries: keyword, semantic or hybrid.
        #[arg(long, default_value = "keyword")]
        mode: crate::search::Mode,
        /// Where the items' vectors come from (semantic and hybrid modes): `model` runs
        /// the embedding worker on every item (about 5 minutes per 100,000 items here);
        /// `composed` stores, for each item, the mean of the real embeddings of the three
        /// messages it is made of (for a million items).
        #[arg(long, default_value = "model")]
        vectors: search::VectorSource,
        #[arg(long)]
        json: bool,
    },
}

pub async fn run(cmd: &BenchCommand) -> Result<()> {
    match cmd {
        BenchCommand::Ingest {
            items,
            api_items,
            messages,
            json,
        } => ingest::run(*items, *api_items, messages.as_deref(), *json).await,
        BenchCommand::Embed { input, limit, json } => embed::run(input.as_deref(), *limit, *json),
        BenchCommand::Themes {
            items,
            messages,
            noise,
            json,
        } => themes::run(*items, messages.as_deref(), *noise, *json).await,
        BenchCommand::Backlog {
            items,
            themes,
            customers,
            requests,
            postgres,
            keep,
            json,
        } => {
            let o = backlog::BacklogBench {
                items: *items,
                themes: *themes,
                customers: *customers,
                requests: *requests,
                postgres: postgres.clone(),
                keep: keep.clone(),
            };
            backlog::run(&o, *json).await
        }
        BenchCommand::Load {
            connections,
            seconds,
            postgres,
            replicas,
            no_reference,
            json,
        } => {
            let o = load::LoadOptions {
                connections: *connections,
                seconds: *seconds,
                postgres: postgres.clone(),
                replicas: *replicas,
                reference: !no_reference,
            };
            load::run(&o, *json).await
        }
        BenchCommand::Relevance {
            data,
            queries,
            export,
            json,
        } => relevance::run(data, *queries, export.as_deref(), *json).await,
        BenchCommand::Redact { samples, json } => redact::run(samples, *json),
        BenchCommand::Search {
            items,
            queries,
            messages,
            mode,
            vectors,
            json,
        } => {
            let o = search::SearchBench {
                items: *items,
                queries: *queries,
                messages: messages.clone(),
                mode: *mode,
                vectors: *vectors,
            };
            search::run(&o, *json).await
        }
    }
}

/// Prints a report as one JSON line, or as aligned `key: value` lines.
fn print_report(report: &serde_json::Value, json: bool) {
    if json {
        println!("{report}");
        return;
    }
    if let Some(map) = report.as_object() {
        let width = map.keys().map(String::len).max().unwrap_or(0);
        for (k, v) in map {
            println!("{k:width$}  {v}");
        }
    }
}

/// Peak resident memory of this process so far, in MB (Linux `VmHWM`).
fn peak_rss_mb() -> f64 {
    status_mb("VmHWM")
}

/// A memory figure of this process's `/proc/self/status`, in MB (0 when unknown):
/// `VmHWM` peak resident, `VmRSS` resident now, `RssAnon` resident and not backed by a
/// file (what stays when the kernel drops mapped index files from memory).
fn status_mb(key: &str) -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let kb = status
        .lines()
        .find_map(|l| l.strip_prefix(key)?.strip_prefix(':'))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .unwrap_or(0.0);
    (kb / 1024.0).round()
}

/// Bytes of the files under `dir`.
fn dir_bytes(dir: &std::path::Path) -> u64 {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    entries
        .flatten()
        .map(|e| match e.file_type() {
            Ok(t) if t.is_dir() => dir_bytes(&e.path()),
            _ => e.metadata().map_or(0, |m| m.len()),
        })
        .sum()
}

/// Percentile of sorted millisecond timings, as in the peers' script (p99 of 300 = the 297th).
fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let idx = ((sorted.len() as f64 * p) as usize).saturating_sub(if p >= 0.99 { 1 } else { 0 });
    (sorted[idx.min(sorted.len() - 1)] * 100.0).round() / 100.0
}
