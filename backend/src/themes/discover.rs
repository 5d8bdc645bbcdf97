//! Theme discovery: group item vectors into themes without being told how many.
//!
//! **Automatic count** (what a user gets), in three steps that each hold at any data size:
//!
//! 1. *Over-segment.* Louvain at a high resolution on the cosine k-nearest-neighbour graph
//!    cuts the items into many small, pure groups — finer than any theme, so no theme is
//!    merged into another here.
//! 2. *Merge what cannot be told apart.* Groups are merged, most alike first (average
//!    linkage), while the best pair's **separation** `S(A,B) / √(S(A,A) · S(B,B))` is at
//!    least [`DiscoverOptions::same_theme`], where `S(X,Y)` is the mean cosine similarity of
//!    an item of X to an item of Y (self-pairs excluded). For two samples of one topic it is
//!    ≈ 1 whatever the topic's spread; for two topics it estimates the cosine between their
//!    true means. Neither depends on how many items there are, which is why the count tracks
//!    the truth from a few hundred items up, unlike modularity (whose resolution limit merges
//!    small themes as the graph grows) — docs/themes.md has the measurements.
//! 3. *Place.* Groups smaller than [`min_theme_size`] are dissolved, every item joins the
//!    nearest centroid, and an item stays **unthemed** when it is far from every centroid or
//!    when fewer than a third of its nearest neighbours share its theme (a border case, for
//!    a person to place rather than a forced fit).
//!
//! At most [`DiscoverOptions::max_sample`] items take part in steps 1–2 (all of them, for
//! up to a few thousand); the rest are placed in step 3. Seeing the same amount of data at
//! every size is what keeps the statistics of step 2 — and so the number of themes — the
//! same for 3,000 and for 1,000,000 items.
//!
//! **Fixed count** (`--clusters N`): the automatic themes merged down to N — the cheapest
//! merge in Ward's sense first, see [`Stop::Groups`] — or, when there are fewer than N, the
//! over-segmentation merged down instead; then a few k-means steps. Starting from the
//! automatic themes means a fixed count only adds the merges a person asked for.
//!
//! No step builds an n × n matrix: neighbours are found in blocks ([`knn`]), and the merge
//! step works on groups (a few hundred), not items.

use std::collections::HashMap;

use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::SeedableRng;

use super::granularity::{Merge, Tree};
use super::knn::{knn, nearest_centroids};
use super::louvain::{louvain, Graph};
use crate::embed::vectors::{dot, normalize, Rows, Vectors};

/// Edge weights of the neighbour graph.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum EdgeWeights {
    /// Jaccard overlap of the two items' neighbour sets.
    Shared,
    /// Cosine similarity of the two items.
    Cosine,
}

#[derive(Debug, Clone)]
pub struct DiscoverOptions {
    /// `None`: find the number of themes; `Some(n)`: exactly `n` (or fewer, if there are
    /// fewer distinct items).
    pub clusters: Option<usize>,
    /// Neighbours per item in the graph.
    pub neighbours: usize,
    /// How graph edges are weighted.
    pub weights: EdgeWeights,
    /// Louvain resolution of the over-segmentation (a fixed count raises it while that
    /// gives fewer than N groups).
    pub resolution: Option<f64>,
    /// Automatic count: two groups whose separation (see the module doc) is at least this
    /// are one theme.
    pub same_theme: f64,
    /// Items clustered directly; the rest are assigned to the themes found. `None`: 3,000
    /// for the automatic count, 20,000 for a fixed one.
    pub max_sample: Option<usize>,
    /// Below this cosine similarity to its theme's centroid, an item stays unthemed.
    pub min_similarity: f32,
    /// Automatic count: an item of the sample whose theme is shared by fewer than this
    /// share of its neighbours stays unthemed.
    pub min_agreement: f64,
    /// k-means refinement steps after the graph step (fixed count).
    pub refine_steps: usize,
    pub seed: u64,
    /// Rows that must be in the sample (items people answered about: their answers are
    /// read off the tree the sample makes).
    pub keep: Vec<usize>,
    /// Pairs of rows people said are one theme (`must`) or not (`cannot`): the automatic
    /// count's tree honours them (see [`Constraints`]).
    pub constraints: Constraints,
}

/// What people said about pairs of rows, as the automatic count's tree honours it: the
/// groups of a `must` pair are joined before any merge, the two rows of a `cannot` pair
/// start in different groups and no merge ever joins the groups holding them. A `must`
/// that would join a `cannot` pair is dropped (the "different" wins: it is the smaller
/// claim). Both kinds are kept in the sample.
#[derive(Debug, Clone, Default)]
pub struct Constraints {
    pub must: Vec<(usize, usize)>,
    pub cannot: Vec<(usize, usize)>,
}

/// Over-segmentation resolution: about 30 items per group, finer than any theme we look for.
pub const OVERSEGMENT_RESOLUTION: f64 = 16.0;

impl Default for DiscoverOptions {
    fn default() -> Self {
        Self {
            clusters: None,
            neighbours: 15,
            weights: EdgeWeights::Cosine,
            resolution: None,
            same_theme: 0.85,
            max_sample: None,
            min_similarity: 0.3,
            min_agreement: 1.0 / 3.0,
            refine_steps: 3,
            seed: 42,
            keep: Vec::new(),
            constraints: Constraints::default(),
        }
    }
}

#[derive(Debug, Clone)]
pub struct Discovery {
    /// Theme of every item, or `None` when it fits no theme.
    pub assignments: Vec<Option<usize>>,
    /// Unit centroid of every theme.
    pub centroids: Vectors,
    pub themes: usize,
}

/// Discovers the themes of `v` (full-precision or [`Compact`](crate::embed::vectors::Compact)
/// rows: only the sample is read in full precision).
pub fn discover<R: Rows + ?Sized>(v: &R, opts: &DiscoverOptions) -> Discovery {
    match opts.clusters {
        None => {
            let h = hierarchy(v, opts);
            h.discovery(v, h.tree.default_merges as usize, opts)
        }
        Some(k) => discover_count(v, k, opts),
    }
}

/// No themes: fewer than two items.
fn nothing(n: usize, dims: usize) -> Discovery {
    Discovery {
        assignments: vec![None; n],
        centroids: Vectors {
            dims,
            data: Vec::new(),
        },
        themes: 0,
    }
}

/// The sample, its full-precision rows and its neighbours.
fn prepare<R: Rows + ?Sized>(
    v: &R,
    opts: &DiscoverOptions,
    max_sample: usize,
) -> (Vec<usize>, Vectors, Neighbours) {
    let mut sample = sample_indices(v.len(), max_sample, opts.seed);
    let c = &opts.constraints;
    let paired = c.must.iter().chain(&c.cannot).flat_map(|&(a, b)| [a, b]);
    let keep: Vec<usize> = opts.keep.iter().copied().chain(paired).collect();
    if !keep.is_empty() {
        sample.extend(keep.iter().filter(|&&r| r < v.len()));
        sample.sort_unstable();
        sample.dedup();
    }
    let sv = v.select_rows(&sample);
    let nearest = knn(&sv, opts.neighbours);
    (sample, sv, nearest)
}

/// A fixed count: the automatic themes merged down to `k`; when there are fewer than `k`,
/// the over-segmentation (made finer until it has `k` groups) merged down instead.
fn discover_count<R: Rows + ?Sized>(v: &R, k: usize, opts: &DiscoverOptions) -> Discovery {
    if v.len() < 2 {
        return nothing(v.len(), v.dims());
    }
    let (_, sv, nearest) = prepare(v, opts, opts.max_sample.unwrap_or(20_000));
    let graph = knn_graph(&nearest, opts.weights);
    let groups = oversegment(&graph, k, opts);
    let auto = agglomerate(&sv, &groups, Stop::Separation(opts.same_theme));
    let start = if distinct(&auto) >= k { auto } else { groups };
    let communities = agglomerate(&sv, &start, Stop::Groups(k));
    let mut centroids = centroids_of(&sv, &communities, min_theme_size(sv.len()));
    for _ in 0..opts.refine_steps {
        centroids = centroids_of(&sv, &nearest_labels(&sv, &centroids), 1);
    }
    let assignments = nearest_centroids(v, &centroids)
        .into_iter()
        .map(|(c, sim)| (sim >= opts.min_similarity).then_some(c))
        .collect();
    let themes = centroids.len();
    Discovery {
        assignments,
        centroids,
        themes,
    }
}

/// The automatic count's complete merge tree over the sample, and what cutting it needs:
/// [`Hierarchy::discovery`] gives the themes at any cut without clustering again.
pub struct Hierarchy {
    /// Rows of the input clustered directly, ascending.
    pub sample: Vec<usize>,
    pub tree: Tree,
    /// Over-segmentation group of every sample position.
    groups: Vec<usize>,
    /// Merges in group ids (`b` joins `a`), as [`linkage`] made them.
    steps: Vec<(usize, usize, f64)>,
    /// `must` pairs in sample positions, joined at every cut.
    must: Vec<(usize, usize)>,
    sv: Vectors,
    nearest: Vec<Vec<(usize, f32)>>,
}

/// Over-segments the sample of `v` and merges its groups all the way (steps 1–2 of the
/// automatic count, without stopping).
pub fn hierarchy<R: Rows + ?Sized>(v: &R, opts: &DiscoverOptions) -> Hierarchy {
    let (sample, sv, nearest) = prepare(v, opts, opts.max_sample.unwrap_or(3_000));
    let min_size = min_theme_size(sv.len());
    // `must` pairs join at the cut, not in the tree, so that the tree still says where they
    // would have joined: their answers stay evidence about the cut.
    let mut must = Vec::new();
    let (groups, steps, blocked, default_merges) = if sample.len() < 2 {
        (vec![0; sample.len()], Vec::new(), Vec::new(), 0)
    } else {
        let graph = knn_graph(&nearest, opts.weights);
        let on_sample = |pairs: &[(usize, usize)]| -> Vec<(usize, usize)> {
            pairs
                .iter()
                .filter_map(|&(a, b)| {
                    Some((
                        sample.binary_search(&a).ok()?,
                        sample.binary_search(&b).ok()?,
                    ))
                })
                .filter(|(a, b)| a != b)
                .collect()
        };
        let cannot = on_sample(&opts.constraints.cannot);
        must = on_sample(&opts.constraints.must);
        let groups = constrain(oversegment(&graph, 1, opts), &[], &cannot);
        // Down to the default cut most alike first, then on in Ward's order: the coarse
        // end of the tree merges the way a fixed count does, never a giant and many tiny.
        let (auto, mut steps, mut blocked) =
            linkage_apart(&sv, &groups, Stop::Separation(opts.same_theme), &cannot);
        let default_merges = steps.len();
        let (_, tail, tail_blocked) = linkage_apart(&sv, &auto, Stop::Groups(1), &cannot);
        steps.extend(tail);
        for (x, y, k, sep) in tail_blocked {
            if !blocked.iter().any(|b| (b.0, b.1) == (x, y)) {
                blocked.push((x, y, k + default_merges, sep));
            }
        }
        (groups, steps, blocked, default_merges)
    };
    let tree = build_tree(&sv, &groups, &steps, &blocked, min_size, default_merges);
    Hierarchy {
        sample,
        tree,
        groups,
        steps,
        must,
        sv,
        nearest,
    }
}

impl Hierarchy {
    /// Sample position of input row `row`, if it was in the sample.
    pub fn position(&self, row: usize) -> Option<usize> {
        self.sample.binary_search(&row).ok()
    }

    /// The themes at a cut: the first `merges` merges of the tree applied, then step 3
    /// (dissolve small groups, place every row of `v`, leave border and far items
    /// unthemed). A cut coarser than the default is refined by a few k-means steps, as a
    /// fixed count is.
    pub fn discovery<R: Rows + ?Sized>(
        &self,
        v: &R,
        merges: usize,
        opts: &DiscoverOptions,
    ) -> Discovery {
        if v.len() < 2 || self.sample.len() < 2 {
            return nothing(v.len(), v.dims());
        }
        let kept = merges.min(self.steps.len());
        let mut parent: Vec<usize> = (0..self.groups.iter().max().map_or(0, |g| g + 1)).collect();
        for &(a, b, _) in &self.steps[..kept] {
            parent[b] = a;
        }
        let root = |mut g: usize| {
            while parent[g] != g {
                g = parent[g];
            }
            g
        };
        let mut labels: Vec<usize> = self.groups.iter().map(|&g| root(g)).collect();
        if !self.must.is_empty() {
            let cannot: Vec<(usize, usize)> = self
                .tree
                .apart
                .iter()
                .map(|&(a, b, _)| (a as usize, b as usize))
                .collect();
            labels = constrain(labels, &self.must, &cannot);
        }
        let mut centroids = centroids_of(&self.sv, &labels, self.tree.min_size as usize);
        if kept > self.tree.default_merges as usize {
            for _ in 0..opts.refine_steps {
                centroids = centroids_of(&self.sv, &nearest_labels(&self.sv, &centroids), 1);
            }
        }
        let nearest = nearest_centroids(v, &centroids);
        // A theme coarser than the default is looser by construction: its members sit
        // further from its centre. Its floor is then its own spread (the 5th percentile of
        // its sample members' similarity), where that is below the default floor.
        let mut floor = vec![opts.min_similarity; centroids.len()];
        if kept > self.tree.default_merges as usize {
            let mut sims: Vec<Vec<f32>> = vec![Vec::new(); centroids.len()];
            for &i in &self.sample {
                sims[nearest[i].0].push(nearest[i].1);
            }
            for (f, s) in floor.iter_mut().zip(&mut sims) {
                s.sort_by(f32::total_cmp);
                if let Some(&p5) = s.get(s.len() / 20) {
                    *f = f.min(p5);
                }
            }
        }
        let mut assignments: Vec<Option<usize>> = nearest
            .into_iter()
            .map(|(c, sim)| (sim >= floor[c]).then_some(c))
            .collect();
        // Border items of the sample: most of their neighbours are in other themes. "Most"
        // of what a theme can offer: a 5-item theme gives each member at most 4 neighbours.
        let of_sample: Vec<Option<usize>> = self.sample.iter().map(|&i| assignments[i]).collect();
        let mut sizes = vec![0usize; centroids.len()];
        of_sample.iter().flatten().for_each(|&c| sizes[c] += 1);
        for (pos, row) in self.nearest.iter().enumerate() {
            if let Some(mine) = of_sample[pos] {
                let agree = row
                    .iter()
                    .filter(|(j, _)| of_sample[*j] == Some(mine))
                    .count();
                let possible = row.len().min(sizes[mine].saturating_sub(1)).max(1);
                if (agree as f64) < opts.min_agreement * possible as f64 {
                    assignments[self.sample[pos]] = None;
                }
            }
        }
        // People's pairs are placed by the tree, not by similarity: each item of a pair
        // goes to the theme its group became at this cut (when that group is a theme),
        // so a "same" pair shares one and a "different" pair does not.
        let cannot = self
            .tree
            .apart
            .iter()
            .map(|&(a, b, _)| (a as usize, b as usize));
        let pinned: Vec<usize> = self
            .must
            .iter()
            .copied()
            .chain(cannot)
            .flat_map(|(a, b)| [a, b])
            .collect();
        if !pinned.is_empty() {
            let mut size: HashMap<usize, usize> = HashMap::new();
            labels
                .iter()
                .for_each(|&l| *size.entry(l).or_default() += 1);
            let mut themed: Vec<usize> = size
                .iter()
                .filter(|(_, &n)| n >= (self.tree.min_size as usize).max(1))
                .map(|(&l, _)| l)
                .collect();
            themed.sort_unstable(); // centroids_of numbers themes in label order
            for p in pinned {
                if let Ok(t) = themed.binary_search(&labels[p]) {
                    if t < centroids.len() {
                        assignments[self.sample[p]] = Some(t);
                    }
                }
            }
        }
        let themes = centroids.len();
        Discovery {
            assignments,
            centroids,
            themes,
        }
    }
}

/// The over-segmentation with [`Constraints`] applied (in sample positions): the second
/// row of a `cannot` pair sharing a group moves to a group of its own, then the groups of
/// each `must` pair are joined unless that would join a `cannot` pair. Labels come back
/// numbered `0..`.
fn constrain(
    mut groups: Vec<usize>,
    must: &[(usize, usize)],
    cannot: &[(usize, usize)],
) -> Vec<usize> {
    let mut next = groups.iter().max().map_or(0, |g| g + 1);
    for &(a, b) in cannot {
        if groups[a] == groups[b] {
            groups[b] = next;
            next += 1;
        }
    }
    let mut parent: Vec<usize> = (0..next).collect();
    fn find(parent: &mut [usize], mut x: usize) -> usize {
        while parent[x] != x {
            parent[x] = parent[parent[x]];
            x = parent[x];
        }
        x
    }
    for &(a, b) in must {
        let (ra, rb) = (find(&mut parent, groups[a]), find(&mut parent, groups[b]));
        if ra == rb {
            continue;
        }
        parent[rb] = ra;
        let apart = cannot
            .iter()
            .all(|&(x, y)| find(&mut parent, groups[x]) != find(&mut parent, groups[y]));
        if !apart {
            parent[rb] = rb;
        }
    }
    let mut number = std::collections::HashMap::new();
    groups
        .iter()
        .map(|&g| {
            let root = find(&mut parent, g);
            let n = number.len();
            *number.entry(root).or_insert(n)
        })
        .collect()
}

/// The [`Tree`] of a merge sequence: node ids, non-increasing levels, sizes, a
/// representative per node and the theme count after every merge.
fn build_tree(
    sv: &Vectors,
    groups: &[usize],
    steps: &[(usize, usize, f64)],
    blocked: &[Blocked],
    min_size: usize,
    default_merges: usize,
) -> Tree {
    let m = groups.iter().max().map_or(0, |g| g + 1);
    let d = sv.dims;
    let mut sums = vec![0f32; m * d];
    let mut size = vec![0u32; m];
    for (i, &g) in groups.iter().enumerate() {
        size[g] += 1;
        sv.add_row(i, &mut sums[g * d..(g + 1) * d]);
    }
    let mut representative = vec![0u32; m];
    for (i, &g) in groups.iter().enumerate() {
        let best = representative[g] as usize;
        let centre = &sums[g * d..(g + 1) * d];
        if groups[best] != g || dot(sv.row(i), centre) > dot(sv.row(best), centre) {
            representative[g] = i as u32;
        }
    }
    let big = |s: u32| u32::from(s as usize >= min_size.max(1));
    let mut themes = size.iter().map(|&s| big(s)).sum::<u32>();
    let mut themes_after = vec![themes];
    let mut node_of: Vec<u32> = (0..m as u32).collect();
    let mut merges = Vec::with_capacity(steps.len());
    for &(a, b, level) in steps {
        let (na, nb) = (node_of[a] as usize, node_of[b] as usize);
        merges.push(Merge {
            a: na as u32,
            b: nb as u32,
            level,
        });
        let (sa, sb) = (size[na], size[nb]);
        themes = themes + big(sa + sb) - big(sa) - big(sb);
        themes_after.push(themes);
        // The merged node's sum lives in group `a`'s slot; its representative is the better
        // of its children's (one dot product each, not a pass over the members).
        for k in 0..d {
            sums[a * d + k] += sums[b * d + k];
        }
        let centre = &sums[a * d..(a + 1) * d];
        let (ra, rb) = (representative[na], representative[nb]);
        let rep = if dot(sv.row(rb as usize), centre) > dot(sv.row(ra as usize), centre) {
            rb
        } else {
            ra
        };
        size.push(sa + sb);
        representative.push(rep);
        node_of[a] = (m + merges.len() - 1) as u32;
    }
    let apart = blocked
        .iter()
        .map(|&(x, y, k, _)| (x as u32, y as u32, k as u32))
        .collect();
    Tree {
        apart,
        default_merges: default_merges as u32,
        leaves: groups.iter().map(|&g| g as u32).collect(),
        leaf_count: m as u32,
        merges,
        representative,
        size,
        themes_after,
        min_size: min_size as u32,
    }
}

/// The nearest centroid of every row.
fn nearest_labels(v: &Vectors, centroids: &Vectors) -> Vec<usize> {
    (0..v.len())
        .map(|i| nearest_centroid(centroids, v.row(i)).0)
        .collect()
}

/// When [`agglomerate`] stops.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Stop {
    /// When no pair's separation reaches this.
    Separation(f64),
    /// When this many groups are left. The pair merged first is then the one whose merge
    /// costs least in Ward's sense, `|a||b| / (|a| + |b|) · (1 − separation)`: small groups
    /// join their neighbours before large ones merge, so the groups come out balanced
    /// rather than one giant and many tiny.
    Groups(usize),
}

/// Average-linkage merging of `groups` (a label per row), the pair with the highest
/// separation first, until `stop`; returns a label per row.
///
/// Works on per-group vector sums: the mean similarity between two groups is
/// `Σa · Σb / (|a| |b|)` and within one `(|Σa|² − |a|) / (|a| (|a| − 1))`, so a merge costs
/// one pass over the other groups. A group of one has no within-similarity; it borrows the
/// median of the others'. Finding the best pair scans all pairs, O(m²) per merge for m
/// groups: a few hundred at the default sample (and for areas, one per theme), so well
/// under a second; a sample of tens of thousands would want a heap of candidate pairs.
pub fn agglomerate(v: &Vectors, groups: &[usize], stop: Stop) -> Vec<usize> {
    linkage(v, groups, stop).0
}

/// [`agglomerate`], also returning the merges made: `(a, b, separation)` in group ids, `b`
/// joining `a`, in order.
pub fn linkage(
    v: &Vectors,
    groups: &[usize],
    stop: Stop,
) -> (Vec<usize>, Vec<(usize, usize, f64)>) {
    let (labels, steps, _) = linkage_apart(v, groups, stop, &[]);
    (labels, steps)
}

/// Each row's nearest other rows and their similarities, best first.
type Neighbours = Vec<Vec<(usize, f32)>>;
/// Merges in group ids, `(a, b, separation)`, `b` joining `a`, in order.
type Steps = Vec<(usize, usize, f64)>;

/// Where a `cannot` pair would have been joined had it been allowed: the pair (rows), the
/// number of merges made before that point, and the two groups' separation then.
type Blocked = (usize, usize, usize, f64);

/// [`linkage`] that never joins the groups of the rows of a `cannot` pair: such a pair of
/// groups is never the best pair, and the groups they merge into inherit it.
fn linkage_apart(
    v: &Vectors,
    groups: &[usize],
    stop: Stop,
    cannot: &[(usize, usize)],
) -> (Vec<usize>, Steps, Vec<Blocked>) {
    let m = groups.iter().max().map_or(0, |g| g + 1);
    let d = v.dims;
    let mut sums = vec![0f64; m * d];
    let mut size = vec![0f64; m];
    for (i, &g) in groups.iter().enumerate() {
        size[g] += 1.0;
        for (s, x) in sums[g * d..(g + 1) * d].iter_mut().zip(v.row(i)) {
            *s += f64::from(*x);
        }
    }
    let dot64 = |a: usize, b: usize, sums: &[f64]| -> f64 {
        sums[a * d..(a + 1) * d]
            .iter()
            .zip(&sums[b * d..(b + 1) * d])
            .map(|(x, y)| x * y)
            .sum()
    };
    let within_raw = |g: usize, sums: &[f64], size: &[f64]| -> Option<f64> {
        (size[g] > 1.0).then(|| (dot64(g, g, sums) - size[g]) / (size[g] * (size[g] - 1.0)))
    };
    let mut known: Vec<f64> = (0..m).filter_map(|g| within_raw(g, &sums, &size)).collect();
    known.sort_by(f64::total_cmp);
    let prior = known.get(known.len() / 2).copied().unwrap_or(1.0);
    let within =
        |g: usize, sums: &[f64], size: &[f64]| within_raw(g, sums, size).unwrap_or(prior).max(1e-6);
    let separation = |a: usize, b: usize, sums: &[f64], size: &[f64]| -> f64 {
        let cross = dot64(a, b, sums) / (size[a] * size[b]);
        cross / (within(a, sums, size) * within(b, sums, size)).sqrt()
    };
    let mut alive: Vec<bool> = size.iter().map(|&s| s > 0.0).collect();
    let mut sep = vec![f64::NEG_INFINITY; m * m];
    for a in 0..m {
        for b in a + 1..m {
            if alive[a] && alive[b] {
                let s = separation(a, b, &sums, &size);
                sep[a * m + b] = s;
                sep[b * m + a] = s;
            }
        }
    }
    // Pairs of groups that must stay apart, as (smaller, larger).
    let key = |a: usize, b: usize| (a.min(b), a.max(b));
    let mut apart: std::collections::HashSet<(usize, usize)> = cannot
        .iter()
        .map(|&(a, b)| key(groups[a], groups[b]))
        .filter(|(a, b)| a != b)
        .collect();
    for &(a, b) in &apart {
        sep[a * m + b] = f64::NEG_INFINITY;
        sep[b * m + a] = f64::NEG_INFINITY;
    }
    let mut parent: Vec<usize> = (0..m).collect();
    let mut steps = Vec::new();
    let mut blocked: Vec<Blocked> = Vec::new();
    // Ward's order: the merge that costs least first.
    let ward = |a: usize, b: usize, sep: f64, size: &[f64]| {
        -(size[a] * size[b] / (size[a] + size[b])) * (1.0 - sep)
    };
    let root_of = |parent: &[usize], mut g: usize| {
        while parent[g] != g {
            g = parent[g];
        }
        g
    };
    loop {
        let priority = |a: usize, b: usize, size: &[f64]| match stop {
            Stop::Separation(_) => sep[a * m + b],
            Stop::Groups(_) => ward(a, b, sep[a * m + b], size),
        };
        let mut best = (f64::NEG_INFINITY, f64::NEG_INFINITY, 0, 0);
        for a in (0..m).filter(|&a| alive[a]) {
            for b in (a + 1..m).filter(|&b| alive[b]) {
                let p = priority(a, b, &size);
                if p > best.0 {
                    best = (p, sep[a * m + b], a, b);
                }
            }
        }
        let (_, s, a, b) = best;
        let done = match stop {
            Stop::Separation(min) => s < min,
            Stop::Groups(k) => alive.iter().filter(|&&x| x).count() <= k.max(1),
        };
        let exhausted = s == f64::NEG_INFINITY;
        if done && !exhausted {
            break;
        }
        // A cannot pair is blocked where it would have been the best pair (or, once nothing
        // else can merge, at the end): its answer is evidence about the cut there.
        if blocked.len() < cannot.len() {
            for &(x, y) in cannot {
                if blocked.iter().any(|b: &Blocked| (b.0, b.1) == (x, y)) {
                    continue;
                }
                let (gx, gy) = (root_of(&parent, groups[x]), root_of(&parent, groups[y]));
                if gx == gy {
                    continue;
                }
                let would = separation(gx.min(gy), gx.max(gy), &sums, &size);
                let first = match stop {
                    Stop::Separation(_) => would,
                    Stop::Groups(_) => ward(gx, gy, would, &size),
                };
                if exhausted || first >= best.0 {
                    blocked.push((x, y, steps.len(), would));
                }
            }
        }
        if exhausted {
            break;
        }
        // b joins a.
        for k in 0..d {
            sums[a * d + k] += sums[b * d + k];
        }
        size[a] += size[b];
        alive[b] = false;
        parent[b] = a;
        steps.push((a, b, s));
        if !apart.is_empty() {
            apart = apart
                .into_iter()
                .map(|(x, y)| key(if x == b { a } else { x }, if y == b { a } else { y }))
                .collect();
        }
        for c in (0..m).filter(|&c| alive[c] && c != a) {
            let s = if apart.contains(&key(a, c)) {
                f64::NEG_INFINITY
            } else {
                separation(a, c, &sums, &size)
            };
            sep[a * m + c] = s;
            sep[c * m + a] = s;
        }
        for c in 0..m {
            sep[b * m + c] = f64::NEG_INFINITY;
            sep[c * m + b] = f64::NEG_INFINITY;
        }
    }
    let labels = groups.iter().map(|&g| root_of(&parent, g)).collect();
    (labels, steps, blocked)
}

/// Communities smaller than this are not themes: about 1 in 1,000 items, at least 3.
pub fn min_theme_size(n: usize) -> usize {
    (n / 1000).max(3)
}

fn sample_indices(n: usize, max: usize, seed: u64) -> Vec<usize> {
    let mut all: Vec<usize> = (0..n).collect();
    if n > max {
        all.shuffle(&mut StdRng::seed_from_u64(seed));
        all.truncate(max);
        all.sort_unstable();
    }
    all
}

/// The symmetric neighbour graph: an edge joins each item to each of its nearest, weighted
/// by their cosine similarity or by the Jaccard overlap of the two items' neighbour sets
/// (each counted with itself; shared nearest neighbours, as in PhenoGraph).
fn knn_graph(nearest: &[Vec<(usize, f32)>], weights: EdgeWeights) -> Graph {
    let n = nearest.len();
    if weights == EdgeWeights::Cosine {
        let mut graph: Graph = vec![Vec::new(); n];
        for (i, row) in nearest.iter().enumerate() {
            for &(j, sim) in row {
                let w = f64::from(sim.max(0.0)) + 1e-6;
                graph[i].push((j, w));
                graph[j].push((i, w));
            }
        }
        return graph;
    }
    let neighbours: Vec<Vec<usize>> = nearest
        .iter()
        .enumerate()
        .map(|(i, row)| {
            let mut set: Vec<usize> = row.iter().map(|(j, _)| *j).collect();
            set.push(i);
            set.sort_unstable();
            set
        })
        .collect();
    let mut graph: Graph = vec![Vec::new(); n];
    for (i, set) in neighbours.iter().enumerate() {
        for &j in set.iter().filter(|&&j| j != i) {
            let shared = sorted_overlap(set, &neighbours[j]);
            let w = shared as f64 / (set.len() + neighbours[j].len() - shared) as f64;
            let w = w.max(1e-6);
            graph[i].push((j, w));
            graph[j].push((i, w));
        }
    }
    graph
}

/// Size of the intersection of two sorted lists.
fn sorted_overlap(a: &[usize], b: &[usize]) -> usize {
    let (mut i, mut j, mut n) = (0, 0, 0);
    while i < a.len() && j < b.len() {
        match a[i].cmp(&b[j]) {
            std::cmp::Ordering::Less => i += 1,
            std::cmp::Ordering::Greater => j += 1,
            std::cmp::Ordering::Equal => {
                n += 1;
                i += 1;
                j += 1;
            }
        }
    }
    n
}

/// Louvain at the over-segmentation resolution, raised until there are at least `k`
/// groups (a fixed count larger than what that resolution gives).
fn oversegment(graph: &Graph, k: usize, opts: &DiscoverOptions) -> Vec<usize> {
    let mut resolution = opts.resolution.unwrap_or(OVERSEGMENT_RESOLUTION);
    let mut groups = louvain(graph, resolution, opts.seed);
    while distinct(&groups) < k && resolution < 256.0 {
        resolution *= 1.5;
        groups = louvain(graph, resolution, opts.seed);
    }
    groups
}

/// How many different labels there are.
fn distinct(labels: &[usize]) -> usize {
    labels
        .iter()
        .collect::<std::collections::HashSet<_>>()
        .len()
}

/// Unit centroids of the communities with at least `min_size` members, in label order.
fn centroids_of(v: &Vectors, labels: &[usize], min_size: usize) -> Vectors {
    let count = labels.iter().max().map_or(0, |m| m + 1);
    let mut sums = vec![0f32; count * v.dims];
    let mut sizes = vec![0usize; count];
    for (i, &l) in labels.iter().enumerate() {
        sizes[l] += 1;
        for (s, x) in sums[l * v.dims..(l + 1) * v.dims].iter_mut().zip(v.row(i)) {
            *s += x;
        }
    }
    let mut data = Vec::new();
    for c in 0..count {
        if sizes[c] >= min_size.max(1) {
            let mut row = sums[c * v.dims..(c + 1) * v.dims].to_vec();
            normalize(&mut row);
            data.extend(row);
        }
    }
    Vectors { dims: v.dims, data }
}

/// The most similar centroid and its similarity.
fn nearest_centroid(centroids: &Vectors, x: &[f32]) -> (usize, f32) {
    (0..centroids.len())
        .map(|c| (c, dot(centroids.row(c), x)))
        .fold(
            (0, f32::MIN),
            |best, cur| if cur.1 > best.1 { cur } else { best },
        )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::themes::metrics;
    use rand::Rng;

    /// Unit vectors around random centres: `sizes[t]` items for theme t, each the centre
    /// plus Gaussian noise (per-dimension deviation `noise`), normalised.
    fn blobs(sizes: &[usize], dims: usize, noise: f32, seed: u64) -> (Vectors, Vec<String>) {
        let mut rng = StdRng::seed_from_u64(seed);
        let mut gauss = move || {
            // Box–Muller.
            let (u, v): (f32, f32) = (rng.random_range(1e-6..1.0), rng.random_range(0.0..1.0));
            (-2.0 * u.ln()).sqrt() * (std::f32::consts::TAU * v).cos()
        };
        let mut rows = Vec::new();
        let mut labels = Vec::new();
        for (t, &n) in sizes.iter().enumerate() {
            let mut centre: Vec<f32> = (0..dims).map(|_| gauss()).collect();
            normalize(&mut centre);
            for _ in 0..n {
                let mut x: Vec<f32> = centre.iter().map(|c| c + noise * gauss()).collect();
                normalize(&mut x);
                rows.push(x);
                labels.push(format!("t{t}"));
            }
        }
        (Vectors::from_rows(&rows), labels)
    }

    #[test]
    fn finds_five_item_themes_beside_five_hundred_item_ones() {
        let sizes = [500, 200, 60, 20, 5, 5];
        let (v, truth) = blobs(&sizes, 48, 0.1, 7);
        let found = discover(&v, &DiscoverOptions::default());
        let s = metrics::score(&truth, &found.assignments);
        assert_eq!(found.themes, sizes.len(), "themes found: {}", found.themes);
        assert!(s.ari > 95.0, "{s:?}");
        // Each 5-item theme is a theme of its own, not swallowed by a big one.
        for small in [4, 5] {
            let start: usize = sizes[..small].iter().sum();
            let themes: std::collections::HashSet<_> =
                (start..start + 5).map(|i| found.assignments[i]).collect();
            assert_eq!(themes.len(), 1, "split or partly unthemed: {themes:?}");
            let theme = themes.into_iter().next().flatten().expect("themed");
            let members = found
                .assignments
                .iter()
                .filter(|a| **a == Some(theme))
                .count();
            assert_eq!(members, 5);
        }
    }

    #[test]
    fn the_count_follows_the_data_not_its_size() {
        // The same 12 themes, 10 and 100 items each: the same number of themes found.
        for per in [10, 100] {
            let (v, truth) = blobs(&[per; 12], 48, 0.1, 11);
            let found = discover(&v, &DiscoverOptions::default());
            let s = metrics::score(&truth, &found.assignments);
            assert_eq!(found.themes, 12, "{per} per theme: {} themes", found.themes);
            assert!(s.nmi > 90.0, "{per} per theme: {s:?}");
        }
    }

    #[test]
    fn separation_merges_halves_of_one_theme_and_keeps_two_apart() {
        let (v, _) = blobs(&[40, 40], 48, 0.2, 3);
        // Four groups: each theme cut in two halves.
        let groups: Vec<usize> = (0..80).map(|i| i / 20).collect();
        let merged = agglomerate(&v, &groups, Stop::Separation(0.85));
        assert_eq!(
            merged[0],
            merged[19 + 1],
            "halves of the first theme stay apart"
        );
        assert_eq!(merged[40], merged[79]);
        assert_ne!(merged[0], merged[40], "two themes merged");
    }

    #[test]
    fn a_fixed_count_merges_whole_themes() {
        // Six themes asked to be three: no true theme is split between two of the three.
        let sizes = [120, 80, 60, 40, 20, 10];
        let (v, truth) = blobs(&sizes, 48, 0.1, 9);
        let found = discover(
            &v,
            &DiscoverOptions {
                clusters: Some(3),
                ..Default::default()
            },
        );
        assert_eq!(found.themes, 3);
        for t in 0..sizes.len() {
            let label = format!("t{t}");
            let homes: std::collections::HashSet<_> = truth
                .iter()
                .zip(&found.assignments)
                .filter(|(l, _)| **l == label)
                .filter_map(|(_, a)| *a)
                .collect();
            // (Members far from a merged theme's centre may stay unthemed, by design.)
            assert_eq!(homes.len(), 1, "theme {t} split over {homes:?}");
        }
    }

    /// Two granularities at once: `coarse` topics, each of `fine` sub-topics of `per` items
    /// (sub-topic centres at cosine ≈ 0.6 to their siblings, ≈ 0 to other topics). Returns
    /// the vectors and both labellings.
    fn nested(
        coarse: usize,
        fine: usize,
        per: usize,
        seed: u64,
    ) -> (Vectors, Vec<usize>, Vec<usize>) {
        let mut rng = StdRng::seed_from_u64(seed);
        let dims = 48;
        let mut gauss = move || {
            let (u, v): (f32, f32) = (rng.random_range(1e-6..1.0), rng.random_range(0.0..1.0));
            (-2.0 * u.ln()).sqrt() * (std::f32::consts::TAU * v).cos()
        };
        let unit = |g: &mut dyn FnMut() -> f32, scale: f32| -> Vec<f32> {
            let mut x: Vec<f32> = (0..dims).map(|_| g()).collect();
            normalize(&mut x);
            x.iter().map(|v| v * scale).collect()
        };
        let (mut rows, mut big, mut small) = (Vec::new(), Vec::new(), Vec::new());
        for c in 0..coarse {
            let centre = unit(&mut gauss, 1.0);
            for f in 0..fine {
                let offset = unit(&mut gauss, 0.8);
                let mut sub: Vec<f32> = centre.iter().zip(&offset).map(|(a, b)| a + b).collect();
                normalize(&mut sub);
                for _ in 0..per {
                    let mut x: Vec<f32> = sub.iter().map(|m| m + 0.07 * gauss()).collect();
                    normalize(&mut x);
                    rows.push(x);
                    big.push(c);
                    small.push(c * fine + f);
                }
            }
        }
        (Vectors::from_rows(&rows), big, small)
    }

    #[test]
    fn answers_set_the_granularity_the_team_wants() {
        use crate::themes::granularity::teach;
        let (v, coarse, fine) = nested(4, 5, 30, 5);
        let opts = DiscoverOptions::default();
        let h = hierarchy(&v, &opts);
        let default = h.discovery(&v, h.tree.default_merges as usize, &opts);
        // With no answers: the default cut, exactly what `discover` gives.
        assert_eq!(default.assignments, discover(&v, &opts).assignments);
        for (labels, truth) in [(&coarse, 4), (&fine, 20)] {
            let (g, asked) = teach(&h.tree, 20, crate::themes::granularity::LAPSE, |a, b| {
                Some(labels[h.sample[a]] == labels[h.sample[b]])
            });
            let found = h.discovery(&v, g.merges, &opts);
            assert!(asked.len() >= 5, "asked only {}", asked.len());
            assert_eq!(
                found.themes, truth,
                "wanted {truth}: {} merges after {asked:?}",
                g.merges
            );
            assert_eq!(
                g.themes, truth,
                "the tree's count agrees with the themes made"
            );
            let names: Vec<String> = labels.iter().map(|l| l.to_string()).collect();
            let s = metrics::score(&names, &found.assignments);
            assert!(s.ari > 90.0, "{truth}: {s:?}");
        }
    }

    #[test]
    fn the_tree_holds_every_cut() {
        let (v, _, _) = nested(3, 4, 20, 8);
        let h = hierarchy(&v, &DiscoverOptions::default());
        let t = &h.tree;
        assert_eq!(t.merges.len() + 1, t.themes_after.len());
        let default = t.default_merges as usize;
        assert!(
            t.merges[..default].iter().all(|m| m.level >= 0.85),
            "to the default cut, only merges at separation 0.85 or more"
        );
        // Merged all the way: one theme at the bottom, the leaves' count at the top.
        assert_eq!(*t.themes_after.last().unwrap(), 1);
        assert_eq!(t.groups_at(t.merges.len()), 1);
        // The representatives of the last merge join after it: one group left.
        let parents = t.parents();
        let last = t.merges.last().unwrap();
        let (a, b) = (
            t.representative[last.a as usize],
            t.representative[last.b as usize],
        );
        assert_eq!(t.join_position(&parents, a as usize, b as usize), Some(0.0));
    }

    #[test]
    fn people_s_pairs_hold_at_any_cut() {
        let (v, coarse, fine) = nested(3, 4, 25, 12);
        // Coarse cut: each of the 3 topics is one theme...
        let first_of = |f: usize| fine.iter().position(|&x| x == f).unwrap();
        let opts = DiscoverOptions::default();
        let h = hierarchy(&v, &opts);
        // (Sub-topics of one topic are ≈ 0.6 apart, topics ≈ 0.)
        let coarse_cut = (0..=h.tree.merges.len())
            .find(|&k| h.tree.themes_at(k) == 3)
            .expect("a cut with 3 themes");
        let plain = h.discovery(&v, coarse_cut, &opts);
        assert_eq!(
            plain.assignments[first_of(0)],
            plain.assignments[first_of(1)]
        );
        // ...but "sub-topics 0 and 1 are different" keeps them apart at the same cut,
        let apart = DiscoverOptions {
            constraints: Constraints {
                cannot: vec![(first_of(0), first_of(1))],
                must: vec![],
            },
            ..Default::default()
        };
        let h2 = hierarchy(&v, &apart);
        // (At every cut where both are in themes: a pair's side left as a group too small to
        // be a theme is placed by similarity, like any item outside the sample.)
        let coarsest = (0..=h2.tree.merges.len())
            .rev()
            .find(|&k| h2.tree.themes_at(k) >= 3)
            .unwrap();
        for k in (h2.tree.default_merges as usize..=coarsest).step_by(2) {
            let found = h2.discovery(&v, k, &apart);
            assert_ne!(
                found.assignments[first_of(0)],
                found.assignments[first_of(1)],
                "joined after {k} merges"
            );
        }
        // ...and "topic 0 and topic 1 are the same" joins them at the default (fine) cut.
        let (a, b) = (first_of(0), coarse.iter().position(|&c| c == 1).unwrap());
        let together = DiscoverOptions {
            constraints: Constraints {
                must: vec![(a, b)],
                cannot: vec![],
            },
            ..Default::default()
        };
        let h3 = hierarchy(&v, &together);
        let found = h3.discovery(&v, h3.tree.default_merges as usize, &together);
        assert_eq!(found.assignments[a], found.assignments[b]);
        assert!(found.assignments[a].is_some());
    }
}
