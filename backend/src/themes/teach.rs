//! Teaching triage the team's granularity: the stored answers, the stored merge tree, and
//! the service the Teach page and `/api/v1/themes/questions` share.
//!
//! Invariants:
//! * An answer is about two items (never about theme ids, which rebuilds renumber), so it
//!   means the same after any number of rebuilds; each rebuild puts the answered items in
//!   its sample and reads every active answer off its new tree ([`evidence`]).
//! * Answering re-chooses the cut from the stored tree ([`granularity::choose`]) and never
//!   clusters; the themes themselves change at the next rebuild, which uses that cut.
//! * Answers are withdrawn, not deleted, so the record of who said what stays whole; an
//!   erased item takes its answers with it (foreign keys).

use std::collections::HashMap;

use chrono::Utc;
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, IntoActiveModel,
    QueryFilter, QueryOrder,
};
use serde::Serialize;

use super::discover::Constraints;
use super::granularity::{self, Evidence, Granularity, Known, Tree};
use crate::db::entity::theme_answer::{self, PairAnswer, Source};
use crate::db::entity::{feedback_item, theme_tree};
use crate::db::{Listing, Page};
use crate::{Error, Result};

/// The merge tree of the last rebuild, with the item id of every sample position.
pub struct StoredTree {
    pub items: Vec<i64>,
    pub tree: Tree,
    pub default_cut: f64,
}

impl StoredTree {
    /// Sample position of every item on the tree.
    pub fn positions(&self) -> HashMap<i64, usize> {
        self.items
            .iter()
            .enumerate()
            .map(|(p, &i)| (i, p))
            .collect()
    }
}

/// The newest stored tree, if a rebuild has made one.
pub async fn stored_tree<C: ConnectionTrait>(db: &C) -> Result<Option<StoredTree>> {
    let Some(row) = theme_tree::Entity::find()
        .order_by_desc(theme_tree::Column::Id)
        .one(db)
        .await?
    else {
        return Ok(None);
    };
    let bad = |e: serde_json::Error| Error::Internal(format!("stored theme tree unreadable: {e}"));
    Ok(Some(StoredTree {
        items: serde_json::from_str(&row.items).map_err(bad)?,
        tree: serde_json::from_str(&row.tree).map_err(bad)?,
        default_cut: row.default_cut,
    }))
}

/// Replaces the stored tree (a rebuild, in its transaction).
pub async fn save_tree<C: ConnectionTrait>(
    db: &C,
    model: &str,
    items: &[i64],
    tree: &Tree,
    default_cut: f64,
) -> Result<()> {
    theme_tree::Entity::delete_many().exec(db).await?;
    let json = |v: serde_json::Result<String>| {
        v.map_err(|e| Error::Internal(format!("theme tree not serialisable: {e}")))
    };
    theme_tree::ActiveModel {
        model: Set(model.into()),
        items: Set(json(serde_json::to_string(items))?),
        tree: Set(json(serde_json::to_string(tree))?),
        default_cut: Set(default_cut),
        created_at: Set(Utc::now()),
        ..Default::default()
    }
    .insert(db)
    .await?;
    Ok(())
}

/// Every answer in force (not withdrawn), oldest first.
pub async fn active<C: ConnectionTrait>(db: &C) -> Result<Vec<theme_answer::Model>> {
    Ok(theme_answer::Entity::find()
        .filter(theme_answer::Column::WithdrawnAt.is_null())
        .order_by_asc(theme_answer::Column::Id)
        .all(db)
        .await?)
}

/// The answers placed on a tree: evidence about the cut, the pairs they decide, and how
/// many are about items the tree does not hold yet (they count from the next rebuild).
pub struct OnTree {
    pub evidence: Vec<Evidence>,
    pub known: Known,
    pub waiting: usize,
}

/// Places `answers` on `tree`; `position` maps an item id to its sample position.
pub fn evidence(
    tree: &Tree,
    position: impl Fn(i64) -> Option<usize>,
    answers: &[theme_answer::Model],
) -> OnTree {
    let parents = tree.parents();
    let mut out = OnTree {
        evidence: Vec::new(),
        known: Known::default(),
        waiting: 0,
    };
    for a in answers {
        let (Some(pa), Some(pb)) = (position(a.item_a), position(a.item_b)) else {
            out.waiting += 1;
            continue;
        };
        match a.answer.same() {
            Some(same) => {
                out.known.add(pa, pb, same);
                if let Some(position) = tree.join_position(&parents, pa, pb) {
                    let from_edit = a.source != theme_answer::Source::Question;
                    out.evidence.push(Evidence {
                        position,
                        same,
                        from_edit,
                    });
                }
            }
            None => out.known.skip(pa, pb),
        }
    }
    out
}

/// The answers as pairs the tree must honour (`same` → must, `different` → cannot), in
/// rows of what is clustered; `row` maps an item id to its row.
pub fn constraints(
    answers: &[theme_answer::Model],
    row: impl Fn(i64) -> Option<usize>,
) -> Constraints {
    let mut c = Constraints::default();
    for a in answers {
        let (Some(ra), Some(rb)) = (row(a.item_a), row(a.item_b)) else {
            continue;
        };
        match a.answer {
            PairAnswer::Same => c.must.push((ra, rb)),
            PairAnswer::Different => c.cannot.push((ra, rb)),
            PairAnswer::Skip => {}
        }
    }
    c
}

/// One side of a question: an item as stored (masked at intake).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Quote {
    pub item_id: i64,
    pub text: String,
}

/// "Same problem?" about two customer messages.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct QuestionView {
    pub a: Quote,
    pub b: Quote,
    /// Themes there would be if the answer were "same" and the cut went just past the
    /// merge that joins them (what the answer decides).
    pub themes_if_same: usize,
}

/// Where teaching stands.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct TeachView {
    /// `false` until the first rebuild has made a theme tree (nothing to ask about yet).
    pub ready: bool,
    /// Themes at the granularity the answers choose (as the next rebuild will make them).
    pub themes: usize,
    /// Themes with no answers (the default granularity).
    pub themes_default: usize,
    /// The 80 % range of the theme count the answers allow: the fewest…
    pub themes_fewest: usize,
    /// …and the most.
    pub themes_most: usize,
    /// About how many more answers would narrow that range to within ±10 % (0: enough).
    pub more_answers: usize,
    /// Answers in force ("same" or "different"; edits included).
    pub answers: usize,
    /// Of those, answers about items the tree does not hold yet: they count from the next
    /// rebuild.
    pub waiting: usize,
    /// The next question, if any is left to ask.
    pub question: Option<QuestionView>,
}

/// Where teaching stands, and the next question.
pub async fn view<C: ConnectionTrait>(db: &C) -> Result<TeachView> {
    let answers = active(db).await?;
    let Some(stored) = stored_tree(db).await? else {
        return Ok(TeachView {
            ready: false,
            themes: 0,
            themes_default: 0,
            themes_fewest: 0,
            themes_most: 0,
            more_answers: 0,
            answers: answers.iter().filter(|a| a.answer.same().is_some()).count(),
            waiting: answers.len(),
            question: None,
        });
    };
    let positions = stored.positions();
    let mut on = evidence(&stored.tree, |id| positions.get(&id).copied(), &answers);
    let g = granularity::choose(&stored.tree, &on.evidence);
    // Bracket the cut from both sides in turn.
    let inside = on.evidence.len() % 2 == 0;
    // The tree is as old as the last rebuild: an item erased since is passed over.
    let mut question = None;
    for _ in 0..50 {
        let Some(q) = granularity::next_question(&stored.tree, &mut on.known, g.merges, inside)
        else {
            break;
        };
        let (a, b) = (stored.items[q.a], stored.items[q.b]);
        let texts = crate::db::items::by_ids(db, &[a, b]).await?;
        match (texts.get(&a), texts.get(&b)) {
            (Some(ta), Some(tb)) => {
                let quote = |item_id: i64, text: &str| Quote {
                    item_id,
                    text: text.to_string(),
                };
                question = Some(QuestionView {
                    a: quote(a, &ta.text),
                    b: quote(b, &tb.text),
                    themes_if_same: q.themes,
                });
                break;
            }
            _ => on.known.skip(q.a, q.b),
        }
    }
    Ok(from_granularity(
        &g,
        answers.iter().filter(|a| a.answer.same().is_some()).count(),
        on.waiting,
        question,
    ))
}

fn from_granularity(
    g: &Granularity,
    answers: usize,
    waiting: usize,
    question: Option<QuestionView>,
) -> TeachView {
    TeachView {
        ready: true,
        themes: g.themes,
        themes_default: g.themes_default,
        themes_fewest: g.themes_range.0,
        themes_most: g.themes_range.1,
        more_answers: g.more_answers,
        answers,
        waiting,
        question,
    }
}

/// Records an answer about two items and returns where teaching stands now, with the
/// theme count before it (`"now 31 themes, was 64"`).
pub async fn answer<C: ConnectionTrait>(
    db: &C,
    a: i64,
    b: i64,
    answer: PairAnswer,
    actor: &str,
) -> Result<(TeachView, usize)> {
    let before = view(db).await?.themes;
    record(db, a, b, answer, Source::Question, actor).await?;
    Ok((view(db).await?, before))
}

/// Stores an answer (the Teach page, or an edit that implies one). 422 naming `b` for an
/// item compared with itself, 422 naming the field for an item that does not exist.
pub async fn record<C: ConnectionTrait>(
    db: &C,
    a: i64,
    b: i64,
    answer: PairAnswer,
    source: Source,
    actor: &str,
) -> Result<theme_answer::Model> {
    if a == b {
        return Err(Error::unprocessable(
            "invalid_value",
            "b",
            "an item cannot be compared with itself",
        ));
    }
    for (field, id) in [("a", a), ("b", b)] {
        if feedback_item::Entity::find_by_id(id)
            .one(db)
            .await?
            .is_none()
        {
            return Err(Error::unprocessable(
                "unknown_item",
                field,
                format!("no feedback item {id}"),
            ));
        }
    }
    Ok(theme_answer::ActiveModel {
        item_a: Set(a),
        item_b: Set(b),
        answer: Set(answer),
        source: Set(source),
        actor: Set(actor.into()),
        created_at: Set(Utc::now()),
        ..Default::default()
    }
    .insert(db)
    .await?)
}

/// Answers, newest first (withdrawn ones too, marked).
pub async fn list<C: ConnectionTrait>(db: &C, page: Page) -> Result<Listing<theme_answer::Model>> {
    let (rows, total) = crate::db::page(
        db,
        theme_answer::Entity::find(),
        theme_answer::Column::Id,
        page.limit,
        page.offset,
    )
    .await?;
    Ok(Listing::new(rows, total, page))
}

/// Withdraws an answer: it no longer counts (from now, and at every later rebuild). 409 if
/// it was withdrawn already.
pub async fn withdraw<C: ConnectionTrait>(
    db: &C,
    id: i64,
    actor: &str,
) -> Result<theme_answer::Model> {
    let row = theme_answer::Entity::find_by_id(id)
        .one(db)
        .await?
        .ok_or_else(|| Error::not_found("answer", id))?;
    if row.withdrawn_at.is_some() {
        return Err(Error::Conflict {
            field: "id".into(),
            message: format!("answer {id} was already withdrawn"),
        });
    }
    let mut m = row.into_active_model();
    m.withdrawn_at = Set(Some(Utc::now()));
    m.withdrawn_by = Set(Some(actor.into()));
    Ok(m.update(db).await?)
}
