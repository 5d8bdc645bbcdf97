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
use crate::embed::vectors::Rows;
use crate::embed::vectors::{closest, dot, Compact, Vectors};
use crate::themes::discover::{discover, hierarchy, DiscoverOptions, Discovery};
use crate::themes::{granularity, labels, metrics};
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
    /// Louvain resolution: of the over-segmentation (`auto`) or the start of the search
    /// (a number); default: production's.
    #[arg(long)]
    resolution: Option<f64>,
    /// `auto`: the separation at which two groups are one theme (default: production's).
    #[arg(long)]
    same_theme: Option<f64>,
    /// Items clustered directly; the rest are assigned (default: production's).
    #[arg(long)]
    max_sample: Option<usize>,
    /// Seed of the sample and of Louvain's node order (default: production's); rerun with
    /// a few seeds to see how much a figure moves with them alone.
    #[arg(long)]
    seed: Option<u64>,
    /// Write each row's theme to this CSV (`text,cluster`; -1 for unthemed), the format
    /// shared/peers/metrics.py scores.
    #[arg(long)]
    assignments: Option<PathBuf>,
    /// Write the themes found (id as in `--assignments`, label, keywords, size,
    /// representative quote, majority true label) to this JSON file.
    #[arg(long)]
    themes_out: Option<PathBuf>,
    /// Cluster compact vectors (a byte per component), as `triage themes rebuild` holds
    /// them, rather than full precision: shows what the rounding costs.
    #[arg(long)]
    compact: bool,
    /// `--clusters auto`: ask this many "same problem?" questions and answer each from the
    /// labels of the asked pair only (an oracle standing in for a product manager), then
    /// cut the theme tree where the answers say.
    #[arg(long, default_value_t = 0)]
    answers: usize,
    /// Share of answers the granularity treats as saying nothing (default: production's).
    #[arg(long, hide = true)]
    answer_lapse: Option<f64>,
    /// Write the asked pairs, their labels and answers (one JSON object per line) here.
    #[arg(long)]
    answers_log: Option<PathBuf>,
    /// `--clusters auto`: then make this many edits as a product manager would (merges of
    /// confused themes, moves of misplaced items; an oracle reads the labels), rebuild, and
    /// report under "edits" how many were kept and the scores on the items they did not
    /// touch, before and after.
    #[arg(long, default_value_t = 0)]
    edits: usize,
    /// Write the automatic count's merge tree here, one JSON line per merge (level, sizes of
    /// the two sides, themes after it, the labels of its two representatives): how the
    /// labels line up with the tree's levels, for studying a data set.
    #[arg(long, hide = true)]
    tree_out: Option<PathBuf>,
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
    let model = load_model(config)?;
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
            let v = embed_all(&model, &texts, args.json)?;
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
        neighbours: args.neighbours.unwrap_or(defaults.neighbours),
        resolution: args.resolution.or(defaults.resolution),
        weights: args.weights.unwrap_or(defaults.weights),
        same_theme: args.same_theme.unwrap_or(defaults.same_theme),
        max_sample: args.max_sample.or(defaults.max_sample),
        seed: args.seed.unwrap_or(defaults.seed),
        ..defaults
    };
    for (flag, n) in [("answers", args.answers), ("edits", args.edits)] {
        if n > 0 && clusters.is_some() {
            return Err(Error::invalid(
                "invalid_value",
                flag,
                format!("--{flag} needs --clusters auto (they choose the count)"),
            ));
        }
    }
    if let Some(path) = &args.tree_out {
        let h = hierarchy(&vectors, &opts);
        let t = &h.tree;
        let label = |node: u32| labels[h.sample[t.representative[node as usize] as usize]].as_str();
        let lines: Vec<String> = t
            .merges
            .iter()
            .enumerate()
            .map(|(k, m)| {
                json!({"level": m.level, "a_size": t.size[m.a as usize], "b_size": t.size[m.b as usize],
                       "themes_after": t.themes_after[k + 1], "a_label": label(m.a), "b_label": label(m.b),
                       "default_cut": k + 1 == t.default_merges as usize})
                .to_string()
            })
            .collect();
        std::fs::write(path, lines.join("\n") + "\n").map_err(|e| Error::io(path, e))?;
    }
    let mut asked = Vec::new();
    let (found, edits) = if args.compact {
        let mut c = Compact::with_capacity(vectors.dims, vectors.len());
        (0..vectors.len()).for_each(|i| c.push(vectors.row(i)));
        discover_and_edit(&c, &opts, &labels, args, &mut asked)
    } else {
        discover_and_edit(&vectors, &opts, &labels, args, &mut asked)
    };
    let seconds = started.elapsed().as_secs_f64();
    if let Some(path) = &args.answers_log {
        let lines: Vec<String> = asked
            .iter()
            .map(|(q, a, b)| {
                json!({
                    "a": texts[*a], "b": texts[*b],
                    "a_label": labels[*a], "b_label": labels[*b],
                    "same": q.same, "themes_at": q.themes_at,
                    "themes_after": q.themes_after,
                })
                .to_string()
            })
            .collect();
        std::fs::write(path, lines.join("\n") + "\n").map_err(|e| Error::io(path, e))?;
    }
    let s = metrics::score(&labels, &found.assignments);
    let named = name_found(&model, &texts, &labels, &vectors, &found)?;
    if let Some(path) = &args.themes_out {
        let text = serde_json::to_string_pretty(&named.themes)
            .map_err(Error::failed("writing the themes"))?;
        std::fs::write(path, text).map_err(|e| Error::io(path, e))?;
    }
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
        "label_similarity": named.similarity,
        "label_similarity_keywords": named.similarity_keywords,
        "answers": asked.iter().filter(|q| q.0.same.is_some()).count(),
        "edits": edits,
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

/// Discovery as a user gets it: the automatic count, cut where `answers` oracle answers say
/// (none: the default cut). The oracle reads the labels of the asked pairs only; `asked`
/// gets each question with its two rows.
fn discover_taught<R: Rows + ?Sized>(
    v: &R,
    opts: &DiscoverOptions,
    labels: &[String],
    args: &EvalArgs,
    asked: &mut Vec<(granularity::Asked, usize, usize)>,
) -> Discovery {
    if opts.clusters.is_some() || args.answers == 0 {
        return discover(v, opts);
    }
    let lapse = args.answer_lapse.unwrap_or(granularity::LAPSE);
    let h = hierarchy(v, opts);
    let (_, log) = granularity::teach(&h.tree, args.answers, lapse, |a, b| {
        Some(labels[h.sample[a]] == labels[h.sample[b]])
    });
    asked.extend(log.into_iter().map(|q| {
        let (a, b) = (h.sample[q.a], h.sample[q.b]);
        (q, a, b)
    }));
    rebuild_with(v, opts, &answered(asked), lapse)
}

/// The answered pairs of `asked`: (a, b, same, from an edit: no).
fn answered(asked: &[(granularity::Asked, usize, usize)]) -> Vec<Pair> {
    asked
        .iter()
        .filter_map(|(q, a, b)| Some((*a, *b, q.same?, false)))
        .collect()
}

/// Two rows, whether they are one problem, and whether an edit (not a question) said so.
pub(super) type Pair = (usize, usize, bool, bool);

/// What the next rebuild does with answered pairs: they hold as constraints in a new tree,
/// and choose its cut.
fn rebuild_with<R: Rows + ?Sized>(
    v: &R,
    opts: &DiscoverOptions,
    pairs: &[Pair],
    lapse: f64,
) -> Discovery {
    let mut taught = opts.clone();
    for &(a, b, same, _) in pairs {
        match same {
            true => taught.constraints.must.push((a, b)),
            false => taught.constraints.cannot.push((a, b)),
        }
    }
    let h = hierarchy(v, &taught);
    let parents = h.tree.parents();
    let evidence: Vec<granularity::Evidence> = pairs
        .iter()
        .filter_map(|&(a, b, same, from_edit)| {
            let position = h
                .tree
                .join_position(&parents, h.position(a)?, h.position(b)?)?;
            Some(granularity::Evidence {
                position,
                same,
                from_edit,
            })
        })
        .collect();
    let g = granularity::choose_with(&h.tree, &evidence, lapse);
    h.discovery(v, g.merges, &taught)
}

/// [`discover_taught`], then `--edits` simulated on its themes (`Null` without).
fn discover_and_edit<R: Rows + ?Sized>(
    v: &R,
    opts: &DiscoverOptions,
    labels: &[String],
    args: &EvalArgs,
    asked: &mut Vec<(granularity::Asked, usize, usize)>,
) -> (Discovery, serde_json::Value) {
    let found = discover_taught(v, opts, labels, args, asked);
    if args.edits == 0 || opts.clusters.is_some() {
        return (found, serde_json::Value::Null);
    }
    let lapse = args.answer_lapse.unwrap_or(granularity::LAPSE);
    let report = super::eval_edits::simulate(
        v,
        opts,
        labels,
        &found,
        &answered(asked),
        args.edits,
        |v, opts, pairs| rebuild_with(v, opts, pairs, lapse),
    );
    (found, report)
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

fn load_model(config: &Config) -> Result<MiniLm> {
    MiniLm::load(
        &config.model_dir,
        config.embed_threads,
        config.embed_precision,
    )
}

/// The themes `triage eval` found, named the way a rebuild names them, and how close their
/// names come to the names of the true labels they hold most of.
struct Named {
    themes: Vec<serde_json::Value>,
    /// Mean over themes, weighted by size, of the cosine similarity between the theme's
    /// label and its majority true label's name (`card_arrival` → "card arrival").
    similarity: f64,
    /// The same for the old label, the top three keywords.
    similarity_keywords: f64,
}

fn name_found(
    model: &MiniLm,
    texts: &[String],
    labels: &[String],
    vectors: &Vectors,
    found: &crate::themes::discover::Discovery,
) -> Result<Named> {
    let mut members: Vec<Vec<usize>> = vec![Vec::new(); found.themes];
    for (i, a) in found.assignments.iter().enumerate() {
        if let Some(c) = a {
            members[*c].push(i);
        }
    }
    let docs: Vec<Vec<&str>> = members
        .iter()
        .map(|m| m.iter().map(|&i| texts[i].trim()).collect())
        .collect();
    let centroids: Vec<Vec<f32>> = (0..found.themes)
        .map(|c| found.centroids.row(c).to_vec())
        .collect();
    let embed = |p: &[&str]| embed_sorted(model, p, |_| {});
    let names = labels::name_themes(&docs, &centroids, Some(&embed))?;
    let majority: Vec<String> = members
        .iter()
        .map(|m| {
            let mut count: std::collections::HashMap<&str, usize> = Default::default();
            m.iter()
                .for_each(|&i| *count.entry(labels[i].as_str()).or_default() += 1);
            let best = count
                .into_iter()
                .max_by(|a, b| a.1.cmp(&b.1).then_with(|| b.0.cmp(a.0)))
                .map_or("", |b| b.0);
            best.replace('_', " ")
        })
        .collect();
    let keyword_labels: Vec<String> = names
        .iter()
        .map(|n| n.keywords[..n.keywords.len().min(3)].join(" "))
        .collect();
    let phrase_labels: Vec<&str> = names.iter().map(|n| n.label.as_str()).collect();
    let truth: Vec<&str> = majority.iter().map(String::as_str).collect();
    let keyword_refs: Vec<&str> = keyword_labels.iter().map(String::as_str).collect();
    let (e_label, e_keywords, e_truth) = (
        embed(&phrase_labels)?,
        embed(&keyword_refs)?,
        embed(&truth)?,
    );
    let weighted = |e: &[Vec<f32>]| {
        let total: usize = members.iter().map(Vec::len).sum();
        let sum: f64 = (0..found.themes)
            .map(|c| members[c].len() as f64 * f64::from(dot(&e[c], &e_truth[c])))
            .sum();
        (sum / total.max(1) as f64 * 10_000.0).round() / 10_000.0
    };
    let themes = (0..found.themes)
        .map(|c| {
            let representative =
                closest(vectors, &members[c], &centroids[c]).map(|i| texts[i].trim());
            json!({
                "id": c,
                "label": names[c].label,
                "keywords": names[c].keywords,
                "size": members[c].len(),
                "representative": representative,
                "majority_label": majority[c],
            })
        })
        .collect();
    Ok(Named {
        themes,
        similarity: weighted(&e_label),
        similarity_keywords: weighted(&e_keywords),
    })
}

fn embed_all(model: &MiniLm, texts: &[String], quiet: bool) -> Result<Vectors> {
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
    let rows = embed_sorted(model, &refs, |done| bar.set_position(done as u64))?;
    bar.finish_and_clear();
    Ok(Vectors::from_rows(&rows))
}
