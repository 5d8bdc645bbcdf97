//! Generated feedback for benchmarks, made from the real messages of the demo data.
//!
//! Like the search peers' script (shared/peers/search_peer.py): each item's subject is one
//! message and its body two others, about 35 words; queries are one to three content words
//! taken from random bodies.

use std::io::Write;
use std::path::Path;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::json;

use crate::{Error, Result};

const STOP: &str = "a an and are as at be but by can do for from has have how i if in is it me my no not of on or so that the this to was what when where which who why will with you your";

/// Positions in the corpus of the messages one item is made of: subject, body, body.
pub type Sources = [u32; 3];

pub struct Corpus {
    messages: Vec<String>,
    /// Each message's label, when the file has a `category` column (BANKING77's intents):
    /// what theme quality is scored against.
    labels: Option<Vec<String>>,
    rng: StdRng,
}

impl Corpus {
    /// From a CSV file's `text` column (e.g. BANKING77's train.csv), or, without a file,
    /// from the messages of the shipped demo data.
    pub fn load(messages: Option<&Path>, seed: u64) -> Result<Self> {
        let Some(path) = messages else {
            return Ok(Self::new(seed));
        };
        let bad = |e: csv::Error| Error::Internal(format!("{}: {e}", path.display()));
        let mut rdr = csv::Reader::from_path(path).map_err(bad)?;
        let col = rdr
            .headers()
            .map_err(bad)?
            .iter()
            .position(|h| h == "text")
            .ok_or_else(|| {
                Error::invalid(
                    "missing_field",
                    "messages",
                    format!("{} has no `text` column", path.display()),
                )
            })?;
        let label_col = rdr
            .headers()
            .map_err(bad)?
            .iter()
            .position(|h| h == "category");
        let (mut messages, mut labels) = (Vec::new(), Vec::new());
        for r in rdr.records().flatten() {
            let Some(text) = r.get(col) else { continue };
            messages.push(text.to_string());
            labels.push(label_col.and_then(|c| r.get(c)).unwrap_or("").to_string());
        }
        if messages.is_empty() {
            return Err(Error::invalid(
                "invalid_value",
                "messages",
                format!("{} holds no messages", path.display()),
            ));
        }
        Ok(Self {
            messages,
            labels: label_col.map(|_| labels),
            rng: StdRng::seed_from_u64(seed),
        })
    }

    pub fn new(seed: u64) -> Self {
        let mut messages = Vec::new();
        for data in [
            include_str!("../../demo/tickets.csv"),
            include_str!("../../demo/ratings.csv"),
        ] {
            let mut rdr = csv::Reader::from_reader(data.as_bytes());
            let headers = rdr.headers().cloned().unwrap_or_default();
            let col = headers
                .iter()
                .position(|h| h == "body" || h == "comment")
                .unwrap_or(0);
            messages.extend(
                rdr.records()
                    .flatten()
                    .filter_map(|r| r.get(col).map(str::to_string)),
            );
        }
        Self {
            messages,
            labels: None,
            rng: StdRng::seed_from_u64(seed),
        }
    }

    /// The first `n` messages, in file order.
    pub fn messages(&self, n: usize) -> Vec<String> {
        self.messages.iter().take(n).cloned().collect()
    }

    /// Every message, in file order.
    pub fn all_messages(&self) -> &[String] {
        &self.messages
    }

    /// The label of every message, when the file has them.
    pub fn labels(&self) -> Option<&[String]> {
        self.labels.as_deref()
    }

    /// (subject, body) of one generated item.
    pub fn item(&mut self) -> (String, String) {
        let (subject, body, _) = self.item_with_sources();
        (subject, body)
    }

    /// (subject, body, the positions of the three messages they are made of).
    fn item_with_sources(&mut self) -> (String, String, Sources) {
        let mut pick = || self.rng.random_range(0..self.messages.len());
        let sources = [pick() as u32, pick() as u32, pick() as u32];
        let [s, a, b] = sources.map(|i| self.messages[i as usize].as_str());
        // Subjects are short in real feedback (and limited to 300 characters).
        let subject: String = s.chars().take(120).collect();
        (subject, format!("{a} {b}"), sources)
    }

    /// Writes `n` tickets as JSONL, dated over the last 12 weeks; returns the messages
    /// each ticket was made from, in file order.
    pub fn write_tickets(&mut self, path: &Path, n: usize, prefix: &str) -> Result<Vec<Sources>> {
        let file = std::fs::File::create(path).map_err(|e| Error::io(path, e))?;
        let mut w = std::io::BufWriter::new(file);
        let now = chrono::Utc::now();
        let mut made = Vec::with_capacity(n);
        for i in 0..n {
            let (subject, body, sources) = self.item_with_sources();
            made.push(sources);
            let age = chrono::Duration::minutes(self.rng.random_range(0..120_960));
            let priority = ["low", "normal", "high", "urgent"][i % 4];
            let segment = ["enterprise", "smb", "consumer"][(i % 5000) % 3];
            let line = json!({
                "external_id": format!("{prefix}-{i}"),
                "subject": subject,
                "body": body,
                "priority": priority,
                "customer": { "external_id": format!("bench-cus-{}", i % 5000),
                              "segment": segment },
                "created_at": (now - age).to_rfc3339(),
            });
            writeln!(w, "{line}").map_err(|e| Error::io(path, e))?;
        }
        w.flush().map_err(|e| Error::io(path, e))?;
        Ok(made)
    }

    /// One to three content words from a random body.
    pub fn query(&mut self) -> String {
        loop {
            let (_, body) = self.item();
            let words: Vec<String> = body
                .to_lowercase()
                .split(|c: char| !c.is_ascii_lowercase())
                .filter(|w| w.len() >= 3 && !STOP.split(' ').any(|s| s == *w))
                .map(str::to_string)
                .collect();
            if words.is_empty() {
                continue;
            }
            let k = [1, 1, 2, 2, 3][self.rng.random_range(0..5)].min(words.len());
            let mut picked = Vec::with_capacity(k);
            while picked.len() < k {
                let w = &words[self.rng.random_range(0..words.len())];
                if !picked.contains(w) {
                    picked.push(w.clone());
                }
            }
            return picked.join(" ");
        }
    }

    /// `word` with one letter replaced (a typo), for words long enough to be corrected.
    pub fn typo(&mut self, word: &str) -> String {
        let chars: Vec<char> = word.chars().collect();
        let i = self.rng.random_range(1..chars.len());
        let mut out = chars.clone();
        out[i] = if chars[i] == 'x' { 'y' } else { 'x' };
        out.into_iter().collect()
    }
}
