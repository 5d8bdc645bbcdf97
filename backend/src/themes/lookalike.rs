//! "These themes look like one problem": pairs of live themes offered for merging on the
//! backlog and through `GET /api/v1/themes/suggestions`, each with its evidence. Merging is
//! the existing merge (an answer "same"); dismissing records an answer "different" about
//! the two quotes shown.
//!
//! Invariants:
//! * The pairs are the merges the granularity is unsure about: those of the stored merge
//!   tree just past the chosen cut, while the theme count after them is still inside the
//!   range the answers allow (`TeachView::themes_fewest`). No threshold of its own, and no
//!   suggestions once the answers have settled the granularity — which also means a
//!   dismissal, being an answer, narrows the range as well as removing the pair.
//! * A pair is offered only while nobody has said its members differ: any answer
//!   "different" in force between an item of one theme and an item of the other (a
//!   dismissal, a split, a move, a Teach answer) takes it off the list. Answers are about
//!   items, so this holds across rebuilds that renumber the themes.
//! * The evidence is the centroids' similarity and the closest two members (one quote
//!   from each theme) among the first members of each.

use std::collections::HashSet;

use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QuerySelect};
use serde::Serialize;

use super::granularity;
use super::teach::{self, Quote};
use crate::db::embeddings;
use crate::db::entity::theme_answer::{self, PairAnswer, Source};
use crate::db::entity::{item_theme, theme};
use crate::embed::vectors::dot;
use crate::{Error, Result};

/// Members of each side compared for the closest pair of quotes.
const MEMBERS_COMPARED: u64 = 200;

/// One side of a suggested merge.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Side {
    pub theme_id: i64,
    pub label: String,
    pub size: i32,
    /// The member closest to the other theme.
    pub quote: Quote,
}

/// Two themes that look like one problem.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Lookalike {
    pub a: Side,
    pub b: Side,
    /// Cosine similarity of the two themes' centroids.
    pub similarity: f32,
    /// Cosine similarity of the two quotes.
    pub quote_similarity: f32,
}

/// The pairs of live themes that look like one problem, the most alike (the tree's next
/// merge) first, at most `limit`; none before the first rebuild has stored a tree.
pub async fn suggestions<C: ConnectionTrait>(db: &C, limit: usize) -> Result<Vec<Lookalike>> {
    let Some(stored) = teach::stored_tree(db).await? else {
        return Ok(Vec::new());
    };
    let answers = teach::active(db).await?;
    let positions = stored.positions();
    let on = teach::evidence(&stored.tree, |id| positions.get(&id).copied(), &answers);
    let g = granularity::choose(&stored.tree, &on.evidence);
    let tree = &stored.tree;
    let item = |node: u32| stored.items[tree.representative[node as usize] as usize];
    let joins: Vec<(i64, i64)> = (g.merges..tree.merges.len())
        .take_while(|&m| tree.themes_at(m + 1) >= g.themes_range.0)
        .map(|m| (item(tree.merges[m].a), item(tree.merges[m].b)))
        .collect();
    let items: Vec<i64> = joins.iter().flat_map(|&(a, b)| [a, b]).collect();
    let theme_of = super::members::themes_of(db, &items).await?;
    let apart = said_different(db, &answers).await?;
    let mut seen = HashSet::new();
    let mut out = Vec::new();
    for (a, b) in joins {
        let (Some(&ta), Some(&tb)) = (theme_of.get(&a), theme_of.get(&b)) else {
            continue;
        };
        if ta == tb || apart.contains(&key(ta, tb)) || !seen.insert(key(ta, tb)) {
            continue;
        }
        if let Some(l) = evidence(db, ta, tb).await? {
            out.push(l);
            if out.len() == limit {
                break;
            }
        }
    }
    Ok(out)
}

/// Records that two themes are not one problem: an answer "different" (source `dismiss`)
/// about the two quotes the suggestion showed, so the pair is not offered again.
pub async fn dismiss<C: ConnectionTrait>(db: &C, a: i64, b: i64, actor: &str) -> Result<()> {
    if a == b {
        return Err(Error::unprocessable(
            "invalid_value",
            "b",
            "a theme cannot be dismissed against itself",
        ));
    }
    let Some(l) = evidence(db, a, b).await? else {
        return Err(Error::unprocessable(
            "no_members",
            "b",
            format!("themes {a} and {b} need a live theme with members each"),
        ));
    };
    teach::record(
        db,
        l.a.quote.item_id,
        l.b.quote.item_id,
        PairAnswer::Different,
        Source::Dismiss,
        actor,
    )
    .await?;
    Ok(())
}

fn key(a: i64, b: i64) -> (i64, i64) {
    (a.min(b), a.max(b))
}

/// Theme pairs with an answer "different" in force between their members.
async fn said_different<C: ConnectionTrait>(
    db: &C,
    answers: &[theme_answer::Model],
) -> Result<HashSet<(i64, i64)>> {
    let different: Vec<(i64, i64)> = answers
        .iter()
        .filter(|a| a.answer == PairAnswer::Different)
        .map(|a| (a.item_a, a.item_b))
        .collect();
    let items: Vec<i64> = different.iter().flat_map(|&(a, b)| [a, b]).collect();
    let theme_of = super::members::themes_of(db, &items).await?;
    Ok(different
        .into_iter()
        .filter_map(|(a, b)| Some(key(*theme_of.get(&a)?, *theme_of.get(&b)?)))
        .collect())
}

/// The closest two members of `a` and `b` with both themes' names and sizes; `None` when
/// either is not a live theme with embedded members.
async fn evidence<C: ConnectionTrait>(db: &C, a: i64, b: i64) -> Result<Option<Lookalike>> {
    let model = crate::embed::minilm::MODEL_NAME;
    let mut sides = Vec::with_capacity(2);
    for id in [a, b] {
        // Not a live theme (unknown or merged away): no evidence. Any other failure (the
        // database) is an error, not an empty answer.
        let t = match super::edits::live(db, id).await {
            Ok(t) => t,
            Err(Error::NotFound { .. } | Error::Conflict { .. }) => return Ok(None),
            Err(e) => return Err(e),
        };
        let members: Vec<i64> = item_theme::Entity::find()
            .select_only()
            .column(item_theme::Column::ItemId)
            .filter(item_theme::Column::ThemeId.eq(id))
            .limit(MEMBERS_COMPARED)
            .into_tuple()
            .all(db)
            .await?;
        let vectors = embeddings::for_items(db, model, &members).await?;
        if vectors.is_empty() {
            return Ok(None);
        }
        sides.push((t, vectors));
    }
    let (tb, vb) = sides.pop().expect("two sides");
    let (ta, va) = sides.pop().expect("two sides");
    let mut best = (0, 0, f32::MIN);
    for (ia, x) in &va {
        for (ib, y) in &vb {
            let s = dot(x, y);
            if s > best.2 {
                best = (*ia, *ib, s);
            }
        }
    }
    let texts = crate::db::items::by_ids(db, &[best.0, best.1]).await?;
    let quote = |id: i64| Quote {
        item_id: id,
        text: texts.get(&id).map(|t| t.text.clone()).unwrap_or_default(),
    };
    let (ca, cb) = (
        embeddings::from_bytes(&ta.centroid),
        embeddings::from_bytes(&tb.centroid),
    );
    let similarity = if ca.len() == cb.len() {
        dot(&ca, &cb)
    } else {
        best.2
    };
    let side = |t: &theme::Model, q: Quote| Side {
        theme_id: t.id,
        label: t.display_label().to_string(),
        size: t.size,
        quote: q,
    };
    Ok(Some(Lookalike {
        a: side(&ta, quote(best.0)),
        b: side(&tb, quote(best.1)),
        similarity,
        quote_similarity: best.2,
    }))
}
