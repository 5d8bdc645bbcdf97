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

use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::SeedableRng;

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
    let n = v.len();
    if n < 2 {
        return Discovery {
            assignments: vec![None; n],
            centroids: Vectors {
                dims: v.dims(),
                data: Vec::new(),
            },
            themes: 0,
        };
    }
    let max_sample = opts.max_sample.unwrap_or(if opts.clusters.is_some() {
        20_000
    } else {
        3_000
    });
    let sample = sample_indices(n, max_sample, opts.seed);
    let sv = v.select_rows(&sample);
    let nearest = knn(&sv, opts.neighbours);
    let graph = knn_graph(&nearest, opts.weights);
    let min_size = min_theme_size(sv.len());
    let centroids = match opts.clusters {
        None => {
            let groups = oversegment(&graph, 1, opts);
            let themes = agglomerate(&sv, &groups, Stop::Separation(opts.same_theme));
            centroids_of(&sv, &themes, min_size)
        }
        Some(k) => {
            // The automatic themes, merged down to k; when there are fewer than k, the
            // over-segmentation (made finer until it has k groups) merged down instead.
            let groups = oversegment(&graph, k, opts);
            let auto = agglomerate(&sv, &groups, Stop::Separation(opts.same_theme));
            let start = if distinct(&auto) >= k { auto } else { groups };
            let communities = agglomerate(&sv, &start, Stop::Groups(k));
            let mut centroids = centroids_of(&sv, &communities, min_size);
            for _ in 0..opts.refine_steps {
                centroids = centroids_of(&sv, &nearest_labels(&sv, &centroids), 1);
            }
            centroids
        }
    };
    let mut assignments: Vec<Option<usize>> = nearest_centroids(v, &centroids)
        .into_iter()
        .map(|(c, sim)| (sim >= opts.min_similarity).then_some(c))
        .collect();
    if opts.clusters.is_none() {
        // Border items of the sample: most of their neighbours are in other themes. "Most"
        // of what a theme can offer: a 5-item theme gives each member at most 4 neighbours.
        let of_sample: Vec<Option<usize>> = sample.iter().map(|&i| assignments[i]).collect();
        let mut sizes = vec![0usize; centroids.len()];
        of_sample.iter().flatten().for_each(|&c| sizes[c] += 1);
        for (pos, row) in nearest.iter().enumerate() {
            if let Some(mine) = of_sample[pos] {
                let agree = row
                    .iter()
                    .filter(|(j, _)| of_sample[*j] == Some(mine))
                    .count();
                let possible = row.len().min(sizes[mine].saturating_sub(1)).max(1);
                if (agree as f64) < opts.min_agreement * possible as f64 {
                    assignments[sample[pos]] = None;
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
    let mut parent: Vec<usize> = (0..m).collect();
    loop {
        let priority = |a: usize, b: usize, size: &[f64]| match stop {
            Stop::Separation(_) => sep[a * m + b],
            Stop::Groups(_) => -(size[a] * size[b] / (size[a] + size[b])) * (1.0 - sep[a * m + b]),
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
        if done || s == f64::NEG_INFINITY {
            break;
        }
        // b joins a.
        for k in 0..d {
            sums[a * d + k] += sums[b * d + k];
        }
        size[a] += size[b];
        alive[b] = false;
        parent[b] = a;
        for c in (0..m).filter(|&c| alive[c] && c != a) {
            let s = separation(a, c, &sums, &size);
            sep[a * m + c] = s;
            sep[c * m + a] = s;
        }
        for c in 0..m {
            sep[b * m + c] = f64::NEG_INFINITY;
            sep[c * m + b] = f64::NEG_INFINITY;
        }
    }
    let root = |mut g: usize| {
        while parent[g] != g {
            g = parent[g];
        }
        g
    };
    groups.iter().map(|&g| root(g)).collect()
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
}
