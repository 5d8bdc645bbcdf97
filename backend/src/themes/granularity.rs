//! How fine a theme should be: read from a few "same problem?" answers, not guessed.
//!
//! Discovery ([`super::discover`]) builds a merge **tree** over its sample ([`Tree`]): the
//! over-segmentation's groups are its leaves; they merge most alike first (average linkage
//! on separation) down to the default cut — today's automatic themes — and from there on in
//! Ward's order (the cheapest merge first, so large themes do not swallow their neighbours
//! one by one) down to one group, as `--clusters N` merges. Every granularity the method can
//! give is a prefix of that merge sequence: keeping the first `K` merges leaves
//! `leaves − K` groups. The default keeps the merges above separation 0.85, which encodes
//! one granularity, while the right one belongs to the team.
//!
//! An answer about two items is evidence about `K`: two items the tree joins at merge `k`
//! are in one theme when `K > k`. "Same" says `K > k`, "different" says `K ≤ k`. People are
//! not a threshold — two messages near the boundary can go either way — so each answer is
//! a soft constraint on the **granularity** `c = ln(groups left)`:
//! `P(same) = σ((c_k − c) / τ)`, with `c_k` the log of the groups left after merge `k`.
//! Granularity is judged in ratios (110 themes against 100 is as close a call as 11
//! against 10), hence the logarithm. The chosen cut is the median of the posterior over
//! `c` on a grid, from a broad prior centred on the default; with no answers it is exactly
//! the default, so nothing changes until someone says something.
//!
//! **Questions** ([`next_question`]) are the merges nearest the current cut, alternately
//! just inside and just outside it (the cut is bracketed from both sides), among merges of
//! two groups that are themes at that point, never a merge already asked and never a pair
//! whose answer earlier answers already imply (same + same → same, same + different →
//! different). Asking at the median halves the posterior's mass — a noisy bisection — so
//! 10–20 answers settle a cut among a few hundred merges. The pair shown is each side's
//! representative (the member nearest its centroid), so a person judges typical messages.
//!
//! Nothing here re-clusters: re-choosing the cut after an answer is a pass over the grid
//! and the answers (microseconds), and the theme count at any cut is read off
//! [`Tree::themes_after`].

use serde::{Deserialize, Serialize};

/// Width of the answers' soft step, in log groups: answers about merges within about 10 % of
/// the cut's count are taken as partly uncertain.
pub const ANSWER_WIDTH: f64 = 0.1;
/// Spread of the prior around the default, in log groups: a factor of 4.5 either way at one
/// standard deviation, so that a handful of answers moves the cut anywhere between a few
/// broad themes and the finest groups.
pub const PRIOR_SPREAD: f64 = 1.5;
/// Share of answers taken as saying nothing about the cut (a lapse: a person's different
/// reading of two messages, or a merge of two impure groups whose representatives disagree
/// with their majorities): `P(same) = LAPSE / 2 + (1 − LAPSE) · σ(…)`, so that one answer
/// against the rest cannot hold the cut.
pub const LAPSE: f64 = 0.5;
/// Points of the grid the posterior is evaluated on.
const GRID_POINTS: usize = 600;

/// One merge of the tree: nodes `a` and `b` joined into a new node; `level` is their
/// separation when they merged (for people reading the tree; the cut counts merges).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Merge {
    pub a: u32,
    pub b: u32,
    pub level: f64,
}

/// The complete merge tree of one discovery over its sample. Node ids: `0..leaf_count` are
/// the over-segmentation's groups, `leaf_count + k` is made by merge `k`. Positions are
/// rows of the sample (the rebuild maps them to item ids).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Tree {
    /// Leaf of every sample position.
    pub leaves: Vec<u32>,
    pub leaf_count: u32,
    /// Merges in the order made.
    pub merges: Vec<Merge>,
    /// Merges kept by the default cut (separation 0.85): today's automatic themes.
    pub default_merges: u32,
    /// Sample position nearest each node's centroid.
    pub representative: Vec<u32>,
    /// Sample positions under each node.
    pub size: Vec<u32>,
    /// Themes (groups of at least `min_size` sample items) after the first `k` merges,
    /// `k = 0..=merges.len()`.
    pub themes_after: Vec<u32>,
    pub min_size: u32,
    /// Pairs of sample positions kept apart by a "different" answer, with the merge at
    /// which the tree would have joined them: their answer's evidence.
    #[serde(default)]
    pub apart: Vec<(u32, u32, u32)>,
}

impl Tree {
    /// Themes after the first `merges` merges.
    pub fn themes_at(&self, merges: usize) -> usize {
        self.themes_after
            .get(merges.min(self.merges.len()))
            .copied()
            .unwrap_or(0) as usize
    }

    /// Groups left after the first `merges` merges (tiny ones included).
    pub fn groups_at(&self, merges: usize) -> usize {
        (self.leaf_count as usize).saturating_sub(merges.min(self.merges.len()))
    }

    /// The granularity `ln(groups left)` after `merges` merges (at least one group).
    pub fn position(&self, merges: usize) -> f64 {
        (self.groups_at(merges).max(1) as f64).ln()
    }

    /// Parent of every node (`None` for a root).
    pub fn parents(&self) -> Vec<Option<u32>> {
        let nodes = self.leaf_count as usize + self.merges.len();
        let mut parent = vec![None; nodes];
        for (k, m) in self.merges.iter().enumerate() {
            let node = self.leaf_count + k as u32;
            parent[m.a as usize] = Some(node);
            parent[m.b as usize] = Some(node);
        }
        parent
    }

    /// Where the tree joins two sample positions: the granularity just after the merge that
    /// joins them (`+∞` for one leaf: every cut keeps them together), or for a pair kept
    /// apart, after the merge that would have joined them. `None` when nothing joins them.
    pub fn join_position(&self, parents: &[Option<u32>], a: usize, b: usize) -> Option<f64> {
        let (la, lb) = (self.leaves[a], self.leaves[b]);
        if la == lb {
            return Some(f64::INFINITY);
        }
        let mut above_a = std::collections::HashSet::new();
        let mut node = Some(la);
        while let Some(n) = node {
            above_a.insert(n);
            node = parents[n as usize];
        }
        let mut node = Some(lb);
        while let Some(n) = node {
            if above_a.contains(&n) {
                return Some(self.position((n - self.leaf_count) as usize + 1));
            }
            node = parents[n as usize];
        }
        let (a, b) = (a as u32, b as u32);
        self.apart
            .iter()
            .find(|p| (p.0, p.1) == (a, b) || (p.0, p.1) == (b, a))
            .map(|p| self.position(p.2 as usize + 1))
    }
}

/// An answer placed on the tree: the granularity at which its pair joins
/// ([`Tree::join_position`]), whether it was "same", and whether an edit implied it rather
/// than a question asked it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Evidence {
    pub position: f64,
    pub same: bool,
    /// Implied by a merge, split, move or dismissal: a constraint, not evidence about the
    /// cut ([`choose_with`]).
    pub from_edit: bool,
}

/// The posterior over granularities `c` in `[lo, hi]` given the evidence, from a normal
/// prior around `default`: grid points and their probabilities.
pub fn posterior(
    evidence: &[Evidence],
    default: f64,
    (lo, hi): (f64, f64),
    lapse: f64,
) -> Vec<(f64, f64)> {
    let n = GRID_POINTS;
    let mut out: Vec<(f64, f64)> = (0..n)
        .map(|i| {
            let c = lo + (hi - lo) * i as f64 / (n - 1) as f64;
            let z = (c - default) / PRIOR_SPREAD;
            let mut log = -0.5 * z * z;
            for e in evidence {
                // A pair in one leaf (+∞) says nothing about the cut.
                if !e.position.is_finite() {
                    continue;
                }
                let x = (e.position - c) / ANSWER_WIDTH;
                let p = sigmoid(if e.same { x } else { -x });
                log += (lapse / 2.0 + (1.0 - lapse) * p).ln();
            }
            (c, log)
        })
        .collect();
    let max = out.iter().map(|p| p.1).fold(f64::NEG_INFINITY, f64::max);
    let total: f64 = out.iter().map(|p| (p.1 - max).exp()).sum();
    for p in &mut out {
        p.1 = (p.1 - max).exp() / total;
    }
    out
}

fn sigmoid(x: f64) -> f64 {
    1.0 / (1.0 + (-x).exp())
}

/// The `q` quantile of a posterior from [`posterior`].
pub fn quantile(post: &[(f64, f64)], q: f64) -> f64 {
    let mut acc = 0.0;
    for &(t, p) in post {
        acc += p;
        if acc >= q {
            return t;
        }
    }
    post.last().map_or(0.0, |p| p.0)
}

/// What the answers so far say about the granularity.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Granularity {
    /// The cut: how many of the tree's merges to keep.
    pub merges: usize,
    /// Themes at the cut (over the sample, as [`Tree::themes_after`] counts them).
    pub themes: usize,
    /// Themes at the default cut.
    pub themes_default: usize,
    /// The 80 % interval of the cut, in themes: `(fewest, most)`.
    pub themes_range: (usize, usize),
    /// About how many more answers would narrow that interval to within ±10 % (0: enough).
    pub more_answers: usize,
}

/// Chooses the cut most consistent with the evidence (the posterior median), with what is
/// known about how sure it is.
pub fn choose(tree: &Tree, evidence: &[Evidence]) -> Granularity {
    choose_with(tree, evidence, LAPSE)
}

/// [`choose`] with another lapse rate (`triage eval --answer-lapse`, for studying it).
pub fn choose_with(tree: &Tree, evidence: &[Evidence], lapse: f64) -> Granularity {
    // Only answers to questions move the cut. An edit's pair is whatever a person fixed,
    // wherever the tree joins it; its constraint holds at every cut, and that is all it
    // does. Counted as evidence about the cut — even near the cut and at a fifth of an
    // answer's weight — the merges of a product manager's first twenty edits (all "same")
    // made every theme two to four times broader and cost the untouched items 7 to 35 ARI
    // points on three of five sets (docs/themes.md, "Simulated edits").
    let asked: Vec<Evidence> = evidence.iter().filter(|e| !e.from_edit).copied().collect();
    choose_from(tree, &asked, lapse)
}

/// [`choose_with`] over evidence that all counts.
fn choose_from(tree: &Tree, evidence: &[Evidence], lapse: f64) -> Granularity {
    let default = tree.default_merges as usize;
    let informative = evidence.iter().filter(|e| e.position.is_finite()).count();
    let (lo, hi) = (tree.position(tree.merges.len()), tree.position(0));
    // The grid is symmetric around the default, so that the prior's median is the default:
    // cut at the tree's ends (one group, every leaf), the prior would lean towards the
    // side with more room, and any answer — even one that says nothing — would move the
    // cut that way. Points beyond the tree's ends stand for its ends.
    let at = tree.position(default);
    let reach = (at - lo).max(hi - at) + 0.5;
    let post = posterior(evidence, at, (at - reach, at + reach), lapse);
    // The merges that leave e^c groups, rounded up: "same" about a merge says
    // c ≤ ln(groups after it), so (ln(g − 1), ln g] is the cut that leaves g groups.
    let merges_for = |c: f64| {
        let groups = (c.exp() - 1e-9).ceil().max(1.0) as usize;
        (tree.leaf_count as usize)
            .saturating_sub(groups)
            .min(tree.merges.len())
    };
    // No evidence: exactly the default (the grid would round it).
    let merges = if informative == 0 {
        default
    } else {
        merges_for(quantile(&post, 0.5))
    };
    // More groups at the 90th percentile of c: the most themes.
    let (fewest, most) = (
        tree.themes_at(merges_for(quantile(&post, 0.1))),
        tree.themes_at(merges_for(quantile(&post, 0.9))),
    );
    let ratio = most.max(1) as f64 / fewest.max(1) as f64;
    // Each answer near the median roughly halves the interval (a noisy bisection): count
    // the halvings that bring it within ±10 %, two answers each for the noise.
    let more_answers = if ratio <= 1.2 {
        0
    } else {
        (2.0 * (ratio.ln() / 1.2f64.ln()).log2().ceil().max(1.0)) as usize
    };
    Granularity {
        merges,
        themes: tree.themes_at(merges),
        themes_default: tree.themes_at(default),
        themes_range: (fewest, most),
        more_answers,
    }
}

/// A question to ask: two sample positions and the merge they stand for.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Question {
    pub a: usize,
    pub b: usize,
    pub merge: usize,
    /// Themes just after that merge.
    pub themes: usize,
}

/// Sample positions already answered about, as pairs and what was said.
#[derive(Debug, Clone, Default)]
pub struct Known {
    /// Components of the "same" answers (union-find over sample positions).
    parent: std::collections::HashMap<usize, usize>,
    /// Pairs of components said to be different.
    different: Vec<(usize, usize)>,
    asked: std::collections::HashSet<(usize, usize)>,
}

impl Known {
    fn find(&mut self, x: usize) -> usize {
        let p = *self.parent.get(&x).unwrap_or(&x);
        if p == x {
            return x;
        }
        let root = self.find(p);
        self.parent.insert(x, root);
        root
    }

    /// Records an answer about two sample positions.
    pub fn add(&mut self, a: usize, b: usize, same: bool) {
        self.asked.insert((a.min(b), a.max(b)));
        let (ra, rb) = (self.find(a), self.find(b));
        if same {
            if ra != rb {
                self.parent.insert(rb, ra);
            }
        } else {
            self.different.push((ra, rb));
        }
    }

    /// Records a skipped pair: not asked again, no evidence.
    pub fn skip(&mut self, a: usize, b: usize) {
        self.asked.insert((a.min(b), a.max(b)));
    }

    /// Whether earlier answers already say what the answer about `a` and `b` would be.
    pub fn implied(&mut self, a: usize, b: usize) -> bool {
        if self.asked.contains(&(a.min(b), a.max(b))) {
            return true;
        }
        let (ra, rb) = (self.find(a), self.find(b));
        if ra == rb {
            return true;
        }
        let pairs = self.different.clone();
        pairs.into_iter().any(|(x, y)| {
            let (rx, ry) = (self.find(x), self.find(y));
            (rx == ra && ry == rb) || (rx == rb && ry == ra)
        })
    }
}

/// The next question: the merge nearest the cut (`kept` merges) on the side `inside` (a
/// merge the cut keeps) or outside it, between two groups that are themes there, that no
/// earlier answer decides. `None` when every merge is asked or implied.
pub fn next_question(
    tree: &Tree,
    known: &mut Known,
    kept: usize,
    inside: bool,
) -> Option<Question> {
    let kept = kept.min(tree.merges.len());
    let above = inside;
    let mut order: Vec<usize> = if above {
        (0..kept).rev().collect()
    } else {
        (kept..tree.merges.len()).collect()
    };
    // Then the other side, nearest first, if this side has nothing left to ask.
    if above {
        order.extend(kept..tree.merges.len());
    } else {
        order.extend((0..kept).rev());
    }
    let candidate = |k: usize, known: &mut Known, themes_only: bool| {
        let m = tree.merges[k];
        let (sa, sb) = (tree.size[m.a as usize], tree.size[m.b as usize]);
        if themes_only && sa.min(sb) < tree.min_size {
            return None;
        }
        let (a, b) = (
            tree.representative[m.a as usize] as usize,
            tree.representative[m.b as usize] as usize,
        );
        (!known.implied(a, b)).then_some(Question {
            a,
            b,
            merge: k,
            themes: tree.themes_at(k + 1),
        })
    };
    // Among the merges of two themes on the asked side within QUESTION_WINDOW of the cut,
    // the one that decides the most pairs of items (|a|·|b|): a merge of two large themes
    // says more about the granularity than a small theme joining a neighbour, which Ward's
    // order does early whatever the granularity. Failing that, the nearest merge of two
    // themes on either side; failing that, any merge.
    let here = tree.position(kept);
    let side = if above {
        &order[..kept]
    } else {
        &order[..tree.merges.len() - kept]
    };
    let weight = |k: usize| {
        let m = tree.merges[k];
        u64::from(tree.size[m.a as usize]) * u64::from(tree.size[m.b as usize])
    };
    let mut near: Vec<usize> = side
        .iter()
        .copied()
        .filter(|&k| (tree.position(k + 1) - here).abs() <= QUESTION_WINDOW)
        .collect();
    near.sort_by_key(|&k| std::cmp::Reverse(weight(k)));
    near.iter()
        .find_map(|&k| candidate(k, known, true))
        .or_else(|| order.iter().find_map(|&k| candidate(k, known, true)))
        .or_else(|| order.iter().find_map(|&k| candidate(k, known, false)))
}

/// How far from the cut, in log groups, a question may be (about ±15 % in theme count).
const QUESTION_WINDOW: f64 = 0.15;

/// One question asked and its answer, as [`teach`] records them.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Asked {
    pub a: usize,
    pub b: usize,
    /// Themes just after the merge asked about.
    pub themes_at: usize,
    /// `None`: skipped.
    pub same: Option<bool>,
    /// The granularity after this answer.
    pub themes_after: usize,
}

/// Asks up to `n` questions in turn, `answer(a, b)` answering each ("same?", `None` to skip),
/// re-choosing the cut after each: what the Teach page does, and what `triage eval
/// --answers N` runs with an oracle that reads the labels of the asked pairs only.
pub fn teach(
    tree: &Tree,
    n: usize,
    lapse: f64,
    mut answer: impl FnMut(usize, usize) -> Option<bool>,
) -> (Granularity, Vec<Asked>) {
    let parents = tree.parents();
    let mut known = Known::default();
    let mut evidence = Vec::new();
    let mut asked = Vec::new();
    let mut g = choose_with(tree, &evidence, lapse);
    for q in 0..n {
        let Some(question) = next_question(tree, &mut known, g.merges, q % 2 == 0) else {
            break;
        };
        let same = answer(question.a, question.b);
        match same {
            Some(same) => {
                known.add(question.a, question.b, same);
                if let Some(position) = tree.join_position(&parents, question.a, question.b) {
                    evidence.push(Evidence {
                        position,
                        same,
                        from_edit: false,
                    });
                }
                g = choose_with(tree, &evidence, lapse);
            }
            // A skipped pair is not asked again.
            None => known.skip(question.a, question.b),
        }
        asked.push(Asked {
            a: question.a,
            b: question.b,
            themes_at: question.themes,
            same,
            themes_after: g.themes,
        });
    }
    (g, asked)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn median(evidence: &[Evidence]) -> f64 {
        quantile(&posterior(evidence, 4.0, (-4.0, 12.0), LAPSE), 0.5)
    }

    #[test]
    fn no_evidence_keeps_the_default() {
        assert!((median(&[]) - 4.0).abs() < 0.02, "{}", median(&[]));
    }

    #[test]
    fn answers_move_the_cut_past_them() {
        let at = |position: f64, same: bool| Evidence {
            position,
            same,
            from_edit: false,
        };
        // One answer against the prior is a lapse as likely as not (LAPSE = 0.5)...
        let one = median(&[at(3.0, true)]);
        assert!(one < 4.0 && one > 2.9, "{one}");
        // ...two agreeing ones are not. "Same" where 20 groups are left (ln 20 ≈ 3.0):
        // fewer groups than that.
        let down = median(&[at(3.0, true), at(3.0, true)]);
        assert!(down < 3.0, "{down}");
        // "Different" where 150 are left (≈ 5.0): more than that.
        let up = median(&[at(5.0, false), at(5.0, false)]);
        assert!(up > 5.0, "{up}");
        // Bracketed: between them.
        let between = median(&[at(3.0, false), at(3.0, false), at(3.4, true), at(3.4, true)]);
        assert!((3.0..3.4).contains(&between), "{between}");
    }

    #[test]
    fn implied_answers_are_not_asked_again() {
        let mut k = Known::default();
        k.add(1, 2, true);
        k.add(2, 3, true);
        k.add(3, 9, false);
        assert!(k.implied(1, 3), "same + same");
        assert!(k.implied(1, 9), "same + different");
        assert!(k.implied(9, 2));
        assert!(!k.implied(1, 10));
    }
}
