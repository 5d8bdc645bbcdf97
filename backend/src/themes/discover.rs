//! Theme discovery: group item vectors into themes without being told how many.
//!
//! 1. A sample of at most [`DiscoverOptions::max_sample`] items (all of them, usually).
//! 2. Its k-nearest-neighbour graph (exact, in blocks: never an n × n matrix).
//! 3. Louvain communities of that graph: items that are each other's neighbours.
//!    With `--clusters N`, the resolution is searched until there are at least N sizeable
//!    communities, and the closest ones are then merged down to N.
//! 4. Communities too small to be a theme are dissolved; the themes' centroids are refined
//!    by reassigning every item to its nearest centroid (a few k-means steps, which fixes
//!    the graph's border mistakes).
//! 5. Items far from every centroid stay unthemed — a queue for people, not a forced fit —
//!    and items outside the sample are assigned to the nearest centroid the same way.

use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::SeedableRng;

use super::knn::knn;
use super::louvain::{louvain, Graph};
use super::vectors::{dot, normalize, Vectors};

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
    /// Neighbours per item in the graph; default: 20 for automatic discovery, 15 for a
    /// fixed count.
    pub neighbours: Option<usize>,
    /// How graph edges are weighted; default: shared neighbours for automatic discovery
    /// (it keeps the number of themes stable across data sizes), cosine for a fixed count
    /// (the resolution search takes care of scale, and raw similarity gives tighter themes:
    /// it scored higher on 3 of our 4 labelled sets, see docs/themes.md).
    pub weights: Option<EdgeWeights>,
    /// Louvain resolution for automatic discovery.
    pub resolution: f64,
    /// Items clustered directly; the rest are assigned to the themes found.
    pub max_sample: usize,
    /// Below this cosine similarity to its theme's centroid, an item stays unthemed.
    pub min_similarity: f32,
    /// k-means refinement steps after the graph step.
    pub refine_steps: usize,
    pub seed: u64,
}

impl Default for DiscoverOptions {
    fn default() -> Self {
        Self {
            clusters: None,
            neighbours: None,
            weights: None,
            resolution: 1.0,
            max_sample: 20_000,
            min_similarity: 0.3,
            refine_steps: 3,
            seed: 42,
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

pub fn discover(v: &Vectors, opts: &DiscoverOptions) -> Discovery {
    let n = v.len();
    if n < 2 {
        return Discovery {
            assignments: vec![None; n],
            centroids: Vectors {
                dims: v.dims,
                data: Vec::new(),
            },
            themes: 0,
        };
    }
    let sample = sample_indices(n, opts.max_sample, opts.seed);
    let sv = v.select(&sample);
    let (k, weights) = match opts.clusters {
        None => (20, EdgeWeights::Shared),
        Some(_) => (15, EdgeWeights::Cosine),
    };
    let graph = knn_graph(
        &sv,
        opts.neighbours.unwrap_or(k),
        opts.weights.unwrap_or(weights),
    );
    let min_size = min_theme_size(sv.len());
    let communities = match opts.clusters {
        None => louvain(&graph, opts.resolution, opts.seed),
        Some(k) => communities_for_count(&graph, &sv, k, min_size, opts.seed),
    };
    let mut centroids = centroids_of(&sv, &communities, min_size);
    for _ in 0..opts.refine_steps {
        let labels: Vec<usize> = (0..sv.len())
            .map(|i| nearest(&centroids, sv.row(i)).0)
            .collect();
        centroids = centroids_of(&sv, &labels, 1);
    }
    let assignments = (0..n)
        .map(|i| {
            let (c, sim) = nearest(&centroids, v.row(i));
            (sim >= opts.min_similarity).then_some(c)
        })
        .collect();
    let themes = centroids.len();
    Discovery {
        assignments,
        centroids,
        themes,
    }
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

/// The symmetric shared-nearest-neighbour graph: an edge joins each item to its `k`
/// nearest, weighted by the Jaccard overlap of the two items' neighbour sets (each counted
/// with itself). Shared neighbours, rather than raw similarity, make the weights
/// comparable across dense and sparse regions of the space, so Louvain finds small themes
/// next to large ones instead of absorbing them (the approach of PhenoGraph).
fn knn_graph(v: &Vectors, k: usize, weights: EdgeWeights) -> Graph {
    let nearest = knn(v, k);
    if weights == EdgeWeights::Cosine {
        let mut graph: Graph = vec![Vec::new(); v.len()];
        for (i, row) in nearest.into_iter().enumerate() {
            for (j, sim) in row {
                let w = f64::from(sim.max(0.0)) + 1e-6;
                graph[i].push((j, w));
                graph[j].push((i, w));
            }
        }
        return graph;
    }
    let neighbours: Vec<Vec<usize>> = nearest
        .into_iter()
        .enumerate()
        .map(|(i, row)| {
            let mut set: Vec<usize> = row.into_iter().map(|(j, _)| j).collect();
            set.push(i);
            set.sort_unstable();
            set
        })
        .collect();
    let mut graph: Graph = vec![Vec::new(); v.len()];
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

/// Louvain at increasing resolution until there are at least `k` communities of
/// `min_size` or more, then the closest of those are merged until exactly `k` remain.
fn communities_for_count(
    graph: &Graph,
    v: &Vectors,
    k: usize,
    min_size: usize,
    seed: u64,
) -> Vec<usize> {
    let sizeable = |labels: &[usize]| {
        let mut sizes = vec![0usize; labels.iter().max().map_or(0, |m| m + 1)];
        labels.iter().for_each(|&l| sizes[l] += 1);
        sizes.iter().filter(|&&s| s >= min_size).count()
    };
    let mut resolution = 1.0;
    let mut labels = louvain(graph, resolution, seed);
    while sizeable(&labels) < k && resolution < 64.0 {
        resolution *= 1.25;
        labels = louvain(graph, resolution, seed);
    }
    merge_down(v, labels, k, min_size)
}

/// Merges the most similar pair of sizeable communities (by centroid) until `k` remain;
/// small communities are left as they are (they are dissolved later).
fn merge_down(v: &Vectors, mut labels: Vec<usize>, k: usize, min_size: usize) -> Vec<usize> {
    loop {
        let count = labels.iter().max().map_or(0, |m| m + 1);
        let mut sizes = vec![0usize; count];
        labels.iter().for_each(|&l| sizes[l] += 1);
        let big: Vec<usize> = (0..count).filter(|&c| sizes[c] >= min_size).collect();
        if big.len() <= k {
            return labels;
        }
        let cents = centroids_of(v, &labels, 1);
        let row_of: std::collections::HashMap<usize, usize> = {
            // centroids_of renumbers the kept communities in order; map community → row.
            let mut kept: Vec<usize> = (0..count).filter(|&c| sizes[c] >= 1).collect();
            kept.sort_unstable();
            kept.into_iter()
                .enumerate()
                .map(|(row, c)| (c, row))
                .collect()
        };
        let mut best = (f32::MIN, 0, 0);
        for (x, &a) in big.iter().enumerate() {
            for &b in &big[x + 1..] {
                let s = dot(cents.row(row_of[&a]), cents.row(row_of[&b]));
                if s > best.0 {
                    best = (s, a, b);
                }
            }
        }
        let (_, keep, gone) = best;
        labels
            .iter_mut()
            .filter(|l| **l == gone)
            .for_each(|l| *l = keep);
    }
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
fn nearest(centroids: &Vectors, x: &[f32]) -> (usize, f32) {
    (0..centroids.len())
        .map(|c| (c, dot(centroids.row(c), x)))
        .fold(
            (0, f32::MIN),
            |best, cur| if cur.1 > best.1 { cur } else { best },
        )
}
