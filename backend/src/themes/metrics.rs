//! Scores for a clustering against true labels, as percentages: NMI, ARI and ACC.
//!
//! Definitions follow scikit-learn (NMI with the arithmetic-mean normalisation, ARI as
//! `adjusted_rand_score`) and the usual clustering accuracy: the best one-to-one matching
//! of clusters to labels (Hungarian algorithm), counting matched items. They agree with
//! shared/peers/metrics.py to the second decimal.
//!
//! Unthemed items are scored as singleton clusters, each its own cluster: leaving an item
//! out is then never free (it can only lose the credit of grouping it), so a method cannot
//! raise its score by refusing hard items.

use std::collections::HashMap;

/// Cluster assignment of one item: a theme, or none.
pub type Assignment = Option<usize>;

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Scores {
    pub nmi: f64,
    pub ari: f64,
    pub acc: f64,
}

/// Scores `predicted` against `truth` (same length).
pub fn score(truth: &[String], predicted: &[Assignment]) -> Scores {
    let pred = singletons(predicted);
    let truth_ids = dense_ids(truth);
    let table = Contingency::new(&truth_ids, &pred);
    Scores {
        nmi: round2(100.0 * table.nmi()),
        ari: round2(100.0 * table.ari()),
        acc: round2(100.0 * table.acc()),
    }
}

fn round2(v: f64) -> f64 {
    (v * 100.0).round() / 100.0
}

/// Cluster ids with every unthemed item given a fresh cluster of its own.
fn singletons(predicted: &[Assignment]) -> Vec<usize> {
    let mut next = predicted.iter().flatten().max().map_or(0, |m| m + 1);
    predicted
        .iter()
        .map(|a| {
            a.unwrap_or_else(|| {
                next += 1;
                next - 1
            })
        })
        .collect()
}

fn dense_ids(labels: &[String]) -> Vec<usize> {
    let mut ids: HashMap<&str, usize> = HashMap::new();
    labels
        .iter()
        .map(|l| {
            let n = ids.len();
            *ids.entry(l.as_str()).or_insert(n)
        })
        .collect()
}

/// Counts of (label, cluster) pairs.
struct Contingency {
    n: f64,
    cells: HashMap<(usize, usize), u64>,
    label_sizes: Vec<u64>,
    cluster_sizes: Vec<u64>,
}

impl Contingency {
    fn new(labels: &[usize], clusters: &[usize]) -> Self {
        let mut cells = HashMap::new();
        let mut label_sizes = vec![0; labels.iter().max().map_or(0, |m| m + 1)];
        let mut cluster_sizes = vec![0; clusters.iter().max().map_or(0, |m| m + 1)];
        for (&l, &c) in labels.iter().zip(clusters) {
            *cells.entry((l, c)).or_insert(0) += 1;
            label_sizes[l] += 1;
            cluster_sizes[c] += 1;
        }
        cluster_sizes.retain(|&s| s > 0);
        Self {
            n: labels.len() as f64,
            cells,
            label_sizes,
            cluster_sizes,
        }
    }

    fn entropy(sizes: &[u64], n: f64) -> f64 {
        sizes
            .iter()
            .filter(|&&s| s > 0)
            .map(|&s| {
                let p = s as f64 / n;
                -p * p.ln()
            })
            .sum()
    }

    fn nmi(&self) -> f64 {
        let (hl, hc) = (
            Self::entropy(&self.label_sizes, self.n),
            Self::entropy(&self.cluster_sizes, self.n),
        );
        if hl == 0.0 && hc == 0.0 {
            return 1.0;
        }
        let cluster_total: HashMap<usize, u64> =
            self.cells
                .iter()
                .fold(HashMap::new(), |mut m, ((_, c), v)| {
                    *m.entry(*c).or_insert(0) += v;
                    m
                });
        let mi: f64 = self
            .cells
            .iter()
            .map(|(&(l, c), &v)| {
                let v = v as f64;
                let (a, b) = (self.label_sizes[l] as f64, cluster_total[&c] as f64);
                (v / self.n) * (self.n * v / (a * b)).ln()
            })
            .sum();
        let denom = (hl + hc) / 2.0;
        if denom == 0.0 {
            0.0
        } else {
            (mi / denom).clamp(0.0, 1.0)
        }
    }

    fn ari(&self) -> f64 {
        let pairs = |x: u64| (x as f64) * (x as f64 - 1.0) / 2.0;
        let index: f64 = self.cells.values().map(|&v| pairs(v)).sum();
        let a: f64 = self.label_sizes.iter().map(|&v| pairs(v)).sum();
        let b: f64 = self.cluster_sizes.iter().map(|&v| pairs(v)).sum();
        let total = pairs(self.n as u64);
        let expected = a * b / total;
        let max = (a + b) / 2.0;
        if (max - expected).abs() < f64::EPSILON {
            return 1.0;
        }
        (index - expected) / (max - expected)
    }

    /// Best one-to-one matching of clusters to labels, as the fraction of items it covers.
    fn acc(&self) -> f64 {
        // Only clusters that share items with some label can be matched usefully; the
        // matrix is labels x clusters-with-overlap (singletons included, they each hold 1).
        let mut cluster_index: HashMap<usize, usize> = HashMap::new();
        for &(_, c) in self.cells.keys() {
            let n = cluster_index.len();
            cluster_index.entry(c).or_insert(n);
        }
        let rows = self.label_sizes.len();
        let cols = cluster_index.len();
        let size = rows.max(cols);
        let mut weights = vec![vec![0i64; size]; size];
        for (&(l, c), &v) in &self.cells {
            weights[l][cluster_index[&c]] = v as i64;
        }
        let matrix = pathfinding::matrix::Matrix::from_rows(weights).expect("square matrix");
        let (total, _) = pathfinding::kuhn_munkres::kuhn_munkres(&matrix);
        total as f64 / self.n
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(s: &str) -> Vec<String> {
        s.chars().map(|c| c.to_string()).collect()
    }

    #[test]
    fn perfect_and_permuted_clusterings_score_100() {
        let truth = labels("aaabbbccc");
        let pred: Vec<Assignment> = [2, 2, 2, 0, 0, 0, 1, 1, 1]
            .iter()
            .map(|&c| Some(c))
            .collect();
        assert_eq!(
            score(&truth, &pred),
            Scores {
                nmi: 100.0,
                ari: 100.0,
                acc: 100.0
            }
        );
    }

    #[test]
    fn matches_scikit_learn_on_a_small_case() {
        // sklearn: normalized_mutual_info_score([0,0,0,1,1,1],[0,0,1,1,2,2]) = 0.5158,
        // adjusted_rand_score = 0.2424; accuracy by matching = 4/6.
        let truth = labels("aaabbb");
        let pred: Vec<Assignment> = [0, 0, 1, 1, 2, 2].iter().map(|&c| Some(c)).collect();
        let s = score(&truth, &pred);
        assert_eq!((s.nmi, s.ari, s.acc), (51.58, 24.24, 66.67));
    }

    #[test]
    fn unthemed_items_count_as_singletons() {
        let truth = labels("aaabbb");
        let all: Vec<Assignment> = [0, 0, 0, 1, 1, 1].iter().map(|&c| Some(c)).collect();
        let some_out: Vec<Assignment> = vec![Some(0), Some(0), None, Some(1), Some(1), None];
        assert!(score(&truth, &some_out).nmi < score(&truth, &all).nmi);
        // The two left-out items are each their own (unmatched) cluster: 4 of 6 are matched.
        assert_eq!(score(&truth, &some_out).acc, 66.67);
    }
}
