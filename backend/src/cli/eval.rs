//! `triage eval`: theme discovery scored against a labelled CSV — the number we steer by.
//!
//! Texts go through the production path: the same text preparation, the same embedder,
//! the same `themes::discover`. `--vectors FILE.npy` caches the embeddings (written on the
//! first run, read afterwards), so clustering changes can be scored in seconds; the file is
//! plain NumPy, usable by other tools such as the BERTopic peer (`--npy`).

use std::path::{Path, PathBuf};
use std::time::Instant;

use indicatif::{ProgressBar, ProgressStyle};
use serde_json::json;

use crate::embed::embed_sorted;
use crate::embed::minilm::MiniLm;
use crate::themes::discover::{discover, DiscoverOptions};
use crate::themes::metrics;
use crate::themes::vectors::Vectors;
use crate::{Config, Error, Result};

#[derive(clap::Args, Debug)]
pub struct EvalArgs {
    /// CSV with a text column and a label column.
    file: PathBuf,
    #[arg(long, default_value = "text")]
    text_column: String,
    #[arg(long, default_value = "category")]
    label_column: String,
    /// `auto` (find the number of themes) or a number.
    #[arg(long, default_value = "auto")]
    clusters: String,
    /// Neighbours per item in the similarity graph (default: production's).
    #[arg(long)]
    neighbours: Option<usize>,
    /// Edge weights of the neighbour graph (default: production's).
    #[arg(long, value_enum)]
    weights: Option<crate::themes::discover::EdgeWeights>,
    /// Louvain resolution for `--clusters auto` (default: production's).
    #[arg(long)]
    resolution: Option<f64>,
    /// Write each row's theme to this CSV (`text,cluster`; -1 for unthemed), the format
    /// shared/peers/metrics.py scores.
    #[arg(long)]
    assignments: Option<PathBuf>,
    /// Cache of the embeddings (.npy): read if it exists, written otherwise.
    #[arg(long)]
    vectors: Option<PathBuf>,
    #[arg(long)]
    json: bool,
}

pub fn run(config: &Config, args: &EvalArgs) -> Result<()> {
    let clusters = super::themes::parse_clusters(&args.clusters)?;
    let (texts, labels) = read_labelled(&args.file, &args.text_column, &args.label_column)?;
    let started = Instant::now();
    let vectors = match &args.vectors {
        Some(path) if path.exists() => {
            let v = Vectors::read_npy(path)?;
            if v.len() != texts.len() {
                return Err(Error::Config(format!(
                    "{} holds {} vectors but {} has {} rows; delete the cache to re-embed",
                    path.display(),
                    v.len(),
                    args.file.display(),
                    texts.len()
                )));
            }
            v
        }
        cache => {
            let v = embed_all(config, &texts, args.json)?;
            if let Some(path) = cache {
                v.write_npy(path)?;
            }
            v
        }
    };
    let embed_seconds = started.elapsed().as_secs_f64();

    let started = Instant::now();
    let defaults = DiscoverOptions::default();
    let opts = DiscoverOptions {
        clusters,
        neighbours: args.neighbours.or(defaults.neighbours),
        resolution: args.resolution.unwrap_or(defaults.resolution),
        weights: args.weights.or(defaults.weights),
        ..defaults
    };
    let found = discover(&vectors, &opts);
    let seconds = started.elapsed().as_secs_f64();
    let s = metrics::score(&labels, &found.assignments);
    if let Some(path) = &args.assignments {
        write_assignments(path, &texts, &found.assignments)?;
    }
    let mut distinct = labels.clone();
    distinct.sort();
    distinct.dedup();
    let unthemed = found.assignments.iter().filter(|a| a.is_none()).count();
    let report = json!({
        "n": texts.len(),
        "labels": distinct.len(),
        "clusters": found.themes,
        "unthemed_fraction": ((unthemed as f64 / texts.len().max(1) as f64) * 10_000.0).round() / 10_000.0,
        "nmi": s.nmi,
        "ari": s.ari,
        "acc": s.acc,
        "seconds": (seconds * 100.0).round() / 100.0,
        "embed_seconds": (embed_seconds * 100.0).round() / 100.0,
    });
    if args.json {
        println!("{report}");
    } else {
        println!(
            "{} items, {} labels → {} themes ({:.1} % unthemed): NMI {:.2}, ARI {:.2}, ACC {:.2} ({:.2}s clustering)",
            texts.len(),
            distinct.len(),
            found.themes,
            100.0 * unthemed as f64 / texts.len().max(1) as f64,
            s.nmi,
            s.ari,
            s.acc,
            seconds
        );
    }
    Ok(())
}

fn write_assignments(path: &Path, texts: &[String], assignments: &[Option<usize>]) -> Result<()> {
    let bad = |e: csv::Error| Error::Config(format!("{}: {e}", path.display()));
    let mut w = csv::Writer::from_path(path).map_err(bad)?;
    w.write_record(["text", "cluster"]).map_err(bad)?;
    for (t, a) in texts.iter().zip(assignments) {
        let c = a.map_or(-1, |c| c as i64).to_string();
        w.write_record([t.as_str(), c.as_str()]).map_err(bad)?;
    }
    w.flush().map_err(|e| Error::io(path, e))
}

fn read_labelled(
    path: &Path,
    text_col: &str,
    label_col: &str,
) -> Result<(Vec<String>, Vec<String>)> {
    let bad = |e: csv::Error| Error::Config(format!("{}: {e}", path.display()));
    let mut rdr = csv::Reader::from_path(path).map_err(bad)?;
    let headers = rdr.headers().map_err(bad)?.clone();
    let find = |name: &str, flag: &str| {
        headers.iter().position(|h| h == name).ok_or_else(|| {
            Error::invalid(
                "missing_field",
                flag,
                format!(
                    "{} has no column {name:?} (columns: {})",
                    path.display(),
                    headers.iter().collect::<Vec<_>>().join(", ")
                ),
            )
        })
    };
    let (t, l) = (
        find(text_col, "text-column")?,
        find(label_col, "label-column")?,
    );
    let (mut texts, mut labels) = (Vec::new(), Vec::new());
    for rec in rdr.records() {
        let rec = rec.map_err(bad)?;
        texts.push(rec.get(t).unwrap_or_default().to_string());
        labels.push(rec.get(l).unwrap_or_default().to_string());
    }
    if texts.is_empty() {
        return Err(Error::invalid(
            "invalid_value",
            "file",
            format!("{} has no rows", path.display()),
        ));
    }
    Ok((texts, labels))
}

fn embed_all(config: &Config, texts: &[String], quiet: bool) -> Result<Vectors> {
    let model = MiniLm::load(
        &config.model_dir,
        config.embed_threads,
        config.embed_precision,
    )?;
    // A labelled file holds bare texts: the same preparation as a ticket without subject.
    let refs: Vec<&str> = texts.iter().map(|t| t.trim()).collect();
    let bar = if quiet {
        ProgressBar::hidden()
    } else {
        ProgressBar::new(refs.len() as u64)
    };
    bar.set_style(
        ProgressStyle::with_template("{spinner} embedding {bar:30} {pos}/{len} ({per_sec}, {eta})")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let rows = embed_sorted(&model, &refs, |done| bar.set_position(done as u64))?;
    bar.finish_and_clear();
    Ok(Vectors::from_rows(&rows))
}
