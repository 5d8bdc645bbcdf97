//! Louvain community detection on a weighted, undirected graph.
//!
//! Communities of a k-nearest-neighbour graph are groups of items that are each other's
//! neighbours far more than chance predicts — themes, without being told how many there
//! are. `resolution` scales the "chance" term of modularity: above 1, communities get
//! smaller and more numerous; below 1, larger. The algorithm alternates local moving (each
//! node joins the neighbouring community that raises modularity most) and aggregation
//! (communities become nodes) until nothing moves. Node order is shuffled with a fixed
//! seed, so results are reproducible.

use std::collections::BTreeMap;

use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::SeedableRng;

/// Adjacency lists: for every node, (neighbour, weight); symmetric, no self-loops needed.
pub type Graph = Vec<Vec<(usize, f64)>>;

/// Community of every node, numbered densely from 0.
pub fn louvain(graph: &Graph, resolution: f64, seed: u64) -> Vec<usize> {
    let mut rng = StdRng::seed_from_u64(seed);
    let mut membership: Vec<usize> = (0..graph.len()).collect();
    let mut level = Level::from_graph(graph);
    loop {
        let moved = level.local_moving(resolution, &mut rng);
        let (communities, count) = dense(&level.community);
        for m in membership.iter_mut() {
            *m = communities[level.community[*m]];
        }
        if !moved || count == level.community.len() {
            return membership;
        }
        level = level.aggregate(&communities, count);
    }
}

/// One level of the hierarchy: a graph whose nodes may be communities of the level below.
struct Level {
    adj: Vec<Vec<(usize, f64)>>,
    self_loops: Vec<f64>,
    degree: Vec<f64>,
    community: Vec<usize>,
    total: Vec<f64>,
    two_m: f64,
}

impl Level {
    fn from_graph(graph: &Graph) -> Self {
        let n = graph.len();
        Self::new(graph.clone(), vec![0.0; n])
    }

    fn new(adj: Vec<Vec<(usize, f64)>>, self_loops: Vec<f64>) -> Self {
        let degree: Vec<f64> = adj
            .iter()
            .zip(&self_loops)
            .map(|(edges, s)| edges.iter().map(|(_, w)| w).sum::<f64>() + s)
            .collect();
        let two_m = degree.iter().sum::<f64>().max(f64::MIN_POSITIVE);
        let n = adj.len();
        Self {
            adj,
            self_loops,
            total: degree.clone(),
            degree,
            community: (0..n).collect(),
            two_m,
        }
    }

    /// Moves nodes between communities while modularity improves; true if any node moved.
    fn local_moving(&mut self, resolution: f64, rng: &mut StdRng) -> bool {
        let n = self.adj.len();
        let mut order: Vec<usize> = (0..n).collect();
        order.shuffle(rng);
        // Weight from the current node to each community, and which entries are set:
        // dense arrays keep this deterministic (no hash order) and fast.
        let mut weight_to = vec![0.0f64; n];
        let mut touched: Vec<usize> = Vec::new();
        let mut any = false;
        loop {
            let mut moves = 0;
            for &node in &order {
                let own = self.community[node];
                for &(nb, w) in &self.adj[node] {
                    let c = self.community[nb];
                    if weight_to[c] == 0.0 {
                        touched.push(c);
                    }
                    weight_to[c] += w;
                }
                let k = self.degree[node];
                self.total[own] -= k;
                let scale = resolution * k / self.two_m;
                let mut best = own;
                let mut best_gain = weight_to[own] - scale * self.total[own];
                for &c in &touched {
                    let g = weight_to[c] - scale * self.total[c];
                    if g > best_gain + 1e-12 {
                        best = c;
                        best_gain = g;
                    }
                }
                for &c in &touched {
                    weight_to[c] = 0.0;
                }
                touched.clear();
                self.total[best] += k;
                if best != own {
                    self.community[node] = best;
                    moves += 1;
                }
            }
            if moves == 0 {
                return any;
            }
            any = true;
        }
    }

    /// The graph of communities: edge weights summed, internal weight kept as self-loops.
    fn aggregate(&self, communities: &[usize], count: usize) -> Level {
        let mut adj: Vec<BTreeMap<usize, f64>> = vec![BTreeMap::new(); count];
        let mut self_loops = vec![0.0; count];
        for (node, edges) in self.adj.iter().enumerate() {
            let a = communities[self.community[node]];
            self_loops[a] += self.self_loops[node];
            for &(nb, w) in edges {
                let b = communities[self.community[nb]];
                if a == b {
                    self_loops[a] += w;
                } else {
                    *adj[a].entry(b).or_insert(0.0) += w;
                }
            }
        }
        let adj = adj.into_iter().map(|m| m.into_iter().collect()).collect();
        Level::new(adj, self_loops)
    }
}

/// Renumbers labels densely in order of first appearance; returns the map and the count.
/// The map is indexed by the old label.
fn dense(labels: &[usize]) -> (Vec<usize>, usize) {
    let mut map = vec![usize::MAX; labels.len()];
    let mut next = 0;
    for &l in labels {
        if map[l] == usize::MAX {
            map[l] = next;
            next += 1;
        }
    }
    (map, next)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn undirected(edges: &[(usize, usize, f64)], n: usize) -> Graph {
        let mut g = vec![Vec::new(); n];
        for &(a, b, w) in edges {
            g[a].push((b, w));
            g[b].push((a, w));
        }
        g
    }

    #[test]
    fn separates_two_cliques_joined_by_one_edge() {
        let mut edges = Vec::new();
        for base in [0, 5] {
            for i in 0..5 {
                for j in i + 1..5 {
                    edges.push((base + i, base + j, 1.0));
                }
            }
        }
        edges.push((4, 5, 0.1));
        let c = louvain(&undirected(&edges, 10), 1.0, 7);
        assert!(c[..5].iter().all(|&x| x == c[0]));
        assert!(c[5..].iter().all(|&x| x == c[5]));
        assert_ne!(c[0], c[5]);
    }

    #[test]
    fn higher_resolution_gives_more_communities() {
        // A ring of 12 nodes: few communities at low resolution, many at high.
        let edges: Vec<_> = (0..12).map(|i| (i, (i + 1) % 12, 1.0)).collect();
        let g = undirected(&edges, 12);
        let count = |r| louvain(&g, r, 1).into_iter().max().unwrap() + 1;
        assert!(count(0.3) < count(3.0));
    }
}
