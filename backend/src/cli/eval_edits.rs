//! `triage eval --edits N`: a product manager's edits, simulated — does the next rebuild
//! keep every one, and do they teach it something about the items they did not touch?
//!
//! An oracle that reads the labels makes N edits to the themes a user got (the automatic
//! cut, or the taught one with `--answers`): first merges of the most confused theme pairs
//! (two themes whose most common label is the same: the smaller into the largest of that
//! label), up to half of N; then moves of the worst-placed items (an item whose label is
//! not its theme's, least similar to its theme first) into the largest theme of their
//! label. Each edit does at the rebuild what it does in production (`themes::edits`,
//! `themes::rebuild`): a merge is a "same" pair of the two themes' representatives, which
//! the rebuild honours as a constraint at every cut (edits do not move the cut:
//! `granularity::choose_with` says why), with the cut chosen by the earlier answers; a
//! moved item is placed by a person, stays out of the clustering and goes where its new
//! theme goes.
//!
//! Reported: how many edits the rebuild kept (a merge's two representatives in one theme; a
//! moved item with its new theme's representative and not with its old one's), and NMI/ARI
//! on the items no edit touched (not moved, not in a theme merged away) before and after.

use std::collections::HashMap;

use serde_json::json;

use super::eval::Pair;
use crate::embed::vectors::Rows;
use crate::themes::discover::{DiscoverOptions, Discovery};
use crate::themes::metrics;

/// One oracle edit, in rows of the input.
enum Edit {
    /// The representatives of the theme merged away and of the theme it went into.
    Merge { from_rep: usize, into_rep: usize },
    /// The item and the representatives of the theme it left and the one it joined.
    Move {
        item: usize,
        from_rep: Option<usize>,
        to_rep: usize,
    },
}

impl Edit {
    /// The pairs that count at the rebuild: (a, b, same, from an edit). A moved item is
    /// placed by a person and stays out of the clustering, so its pairs do not count (in
    /// production they are recorded and count once the item is free again).
    fn pairs(&self) -> Vec<Pair> {
        match *self {
            Edit::Merge { from_rep, into_rep } => vec![(from_rep, into_rep, true, true)],
            Edit::Move { .. } => Vec::new(),
        }
    }

    /// Whether the themes after a rebuild still say what the edit said.
    fn kept(&self, after: &[Option<usize>]) -> bool {
        let together = |a: usize, b: usize| after[a].is_some() && after[a] == after[b];
        match *self {
            Edit::Merge { from_rep, into_rep } => together(from_rep, into_rep),
            Edit::Move {
                item,
                from_rep,
                to_rep,
            } => together(item, to_rep) && !from_rep.is_some_and(|f| together(item, f)),
        }
    }
}

/// Makes `n` oracle edits to `found`, rebuilds with them (and the `earlier` answers) through
/// `rebuild`, and reports what was kept and the scores on the untouched items.
pub fn simulate<R: Rows + ?Sized>(
    v: &R,
    opts: &DiscoverOptions,
    labels: &[String],
    found: &Discovery,
    earlier: &[Pair],
    n: usize,
    rebuild: impl Fn(&R, &DiscoverOptions, &[Pair]) -> Discovery,
) -> serde_json::Value {
    let (edits, touched) = oracle_edits(v, labels, found, n);
    let pairs: Vec<Pair> = earlier
        .iter()
        .copied()
        .chain(edits.iter().flat_map(Edit::pairs))
        .collect();
    let mut after = rebuild(v, opts, &pairs);
    // Placed by a person: the moved item is where its new theme went.
    for e in &edits {
        if let Edit::Move { item, to_rep, .. } = *e {
            after.assignments[item] = after.assignments[to_rep];
        }
    }
    let kept = edits.iter().filter(|e| e.kept(&after.assignments)).count();
    let untouched: Vec<usize> = (0..labels.len()).filter(|i| !touched[*i]).collect();
    let on_untouched = |assignments: &[Option<usize>]| {
        let truth: Vec<String> = untouched.iter().map(|&i| labels[i].clone()).collect();
        let got: Vec<Option<usize>> = untouched.iter().map(|&i| assignments[i]).collect();
        metrics::score(&truth, &got)
    };
    let (before_s, after_s) = (
        on_untouched(&found.assignments),
        on_untouched(&after.assignments),
    );
    let merges = edits
        .iter()
        .filter(|e| matches!(e, Edit::Merge { .. }))
        .count();
    json!({
        "made": edits.len(),
        "merges": merges,
        "moves": edits.len() - merges,
        "kept": kept,
        "untouched": untouched.len(),
        "clusters_after": after.themes,
        "nmi_untouched_before": before_s.nmi,
        "ari_untouched_before": before_s.ari,
        "nmi_untouched_after": after_s.nmi,
        "ari_untouched_after": after_s.ari,
    })
}

/// The oracle's edits, and which rows they touch (moved, or in a theme merged away).
fn oracle_edits<R: Rows + ?Sized>(
    v: &R,
    labels: &[String],
    found: &Discovery,
    n: usize,
) -> (Vec<Edit>, Vec<bool>) {
    let mut members: Vec<Vec<usize>> = vec![Vec::new(); found.themes];
    for (i, a) in found.assignments.iter().enumerate() {
        if let Some(t) = *a {
            members[t].push(i);
        }
    }
    // Each theme's most common label, and its representative (closest to its centre).
    let majority: Vec<Option<&str>> = members
        .iter()
        .map(|m| {
            let mut counts: HashMap<&str, usize> = HashMap::new();
            m.iter()
                .for_each(|&i| *counts.entry(&labels[i]).or_default() += 1);
            counts
                .into_iter()
                .max_by(|a, b| a.1.cmp(&b.1).then(b.0.cmp(a.0)))
                .map(|(l, _)| l)
        })
        .collect();
    let similarity = |i: usize, t: usize| v.dot_row(i, found.centroids.row(t));
    let rep: Vec<Option<usize>> = (0..found.themes)
        .map(|t| {
            members[t]
                .iter()
                .copied()
                .max_by(|&a, &b| similarity(a, t).total_cmp(&similarity(b, t)))
        })
        .collect();
    // The largest theme of each label: where its confused themes and items go.
    let mut home: HashMap<&str, usize> = HashMap::new();
    for t in 0..found.themes {
        if let Some(l) = majority[t] {
            let best = home.entry(l).or_insert(t);
            if members[t].len() > members[*best].len() {
                *best = t;
            }
        }
    }
    let mut edits = Vec::new();
    let mut touched = vec![false; labels.len()];
    let mut confused: Vec<usize> = (0..found.themes)
        .filter(|&t| majority[t].is_some_and(|l| home[l] != t))
        .collect();
    confused.sort_by_key(|&t| std::cmp::Reverse(members[t].len()));
    for t in confused.into_iter().take(n / 2) {
        let into = home[majority[t].unwrap_or_default()];
        if let (Some(from_rep), Some(into_rep)) = (rep[t], rep[into]) {
            edits.push(Edit::Merge { from_rep, into_rep });
            members[t].iter().for_each(|&i| touched[i] = true);
        }
    }
    // Worst placed first: items whose label is not their theme's, least similar to it.
    let mut misplaced: Vec<(usize, usize, f32)> = found
        .assignments
        .iter()
        .enumerate()
        .filter_map(|(i, a)| {
            let t = (*a)?;
            (majority[t] != Some(labels[i].as_str()) && home.contains_key(labels[i].as_str()))
                .then(|| (i, t, similarity(i, t)))
        })
        .collect();
    misplaced.sort_by(|a, b| a.2.total_cmp(&b.2));
    for (item, from, _) in misplaced {
        if edits.len() >= n {
            break;
        }
        let to = home[labels[item].as_str()];
        let Some(to_rep) = rep[to] else { continue };
        if touched[item] || item == to_rep {
            continue;
        }
        let from_rep = rep[from].filter(|&r| r != item);
        edits.push(Edit::Move {
            item,
            from_rep,
            to_rep,
        });
        touched[item] = true;
    }
    (edits, touched)
}
