//! `triage bench redact`: precision and recall of the personal-data detectors on labelled
//! samples, per kind, with every false positive and missed value listed.
//!
//! A sample line is `{"text": …, "pii": [{"kind": "card", "value": "4111 …"}]}`. A labelled
//! value is found when a detection of the same kind overlaps it; a detection that overlaps
//! no labelled value of its kind is a false positive.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

use serde::Deserialize;
use serde_json::{json, Value};

use super::print_report;
use crate::config::{PiiKind, Redact};
use crate::intake::redact;
use crate::{Error, Result};

#[derive(Deserialize)]
struct Line {
    text: String,
    pii: Vec<Labelled>,
}

#[derive(Deserialize)]
struct Labelled {
    kind: String,
    value: String,
}

#[derive(Default)]
struct Tally {
    tp: u32,
    fn_: u32,
    fp: u32,
    missed: Vec<String>,
    false_positives: Vec<String>,
}

pub fn run(samples: &[PathBuf], json_out: bool) -> Result<()> {
    let mut files = serde_json::Map::new();
    for path in samples {
        files.insert(path.display().to_string(), score_file(path)?);
    }
    print_report(&Value::Object(files), json_out);
    Ok(())
}

fn kind_named(name: &str) -> Result<PiiKind> {
    PiiKind::ALL
        .into_iter()
        .find(|k| k.as_str() == name)
        .ok_or_else(|| Error::Config(format!("unknown PII kind {name:?} in the sample")))
}

fn score_file(path: &Path) -> Result<Value> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
    let lines: Vec<Line> = text
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(serde_json::from_str)
        .collect::<std::result::Result<_, _>>()
        .map_err(Error::failed("reading the labelled sample"))?;
    let mut tally: BTreeMap<PiiKind, Tally> = PiiKind::ALL
        .into_iter()
        .map(|k| (k, Tally::default()))
        .collect();
    let started = Instant::now();
    let found: Vec<Vec<redact::Found>> = lines
        .iter()
        .map(|l| redact::find(&l.text, Redact::all()))
        .collect();
    let seconds = started.elapsed().as_secs_f64();
    for (line, found) in lines.iter().zip(&found) {
        // Byte ranges of the labelled values (each value's first occurrence not yet used).
        let mut labelled = Vec::new();
        for l in &line.pii {
            let kind = kind_named(&l.kind)?;
            let start = line
                .text
                .find(&l.value)
                .ok_or_else(|| Error::Config(format!("{:?} is not in {:?}", l.value, line.text)))?;
            labelled.push((kind, start, start + l.value.len()));
        }
        let overlaps = |a: (usize, usize), b: (usize, usize)| a.0 < b.1 && b.0 < a.1;
        for &(kind, s, e) in &labelled {
            let t = tally.get_mut(&kind).expect("every kind is tallied");
            if found
                .iter()
                .any(|f| f.kind == kind && overlaps((f.start, f.end), (s, e)))
            {
                t.tp += 1;
            } else {
                t.fn_ += 1;
                t.missed.push(line.text.clone());
            }
        }
        for f in found {
            if !labelled
                .iter()
                .any(|&(k, s, e)| k == f.kind && overlaps((f.start, f.end), (s, e)))
            {
                let t = tally.get_mut(&f.kind).expect("every kind is tallied");
                t.fp += 1;
                t.false_positives
                    .push(format!("{} ← {:?}", &line.text[f.start..f.end], line.text));
            }
        }
    }
    let ratio = |a: u32, b: u32| {
        if b == 0 {
            Value::Null
        } else {
            json!((f64::from(a) / f64::from(b) * 1000.0).round() / 1000.0)
        }
    };
    let kinds: serde_json::Map<String, Value> = tally
        .iter()
        .map(|(k, t)| {
            (
                k.as_str().to_string(),
                json!({
                    "labelled": t.tp + t.fn_,
                    "found": t.tp,
                    "recall": ratio(t.tp, t.tp + t.fn_),
                    "precision": ratio(t.tp, t.tp + t.fp),
                    "false_positives": t.false_positives,
                    "missed": t.missed,
                }),
            )
        })
        .collect();
    Ok(json!({
        "strings": lines.len(),
        "strings_without_pii": lines.iter().filter(|l| l.pii.is_empty()).count(),
        "strings_per_s": (lines.len() as f64 / seconds.max(1e-9)).round(),
        "kinds": kinds,
    }))
}
