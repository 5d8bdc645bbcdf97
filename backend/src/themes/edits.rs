//! What people do to themes: rename, merge, split, move an item, lock.
//!
//! Each edit is one transaction that also records itself in `theme_edits` (who, what,
//! before and after, and what [`undo`](super::undo) needs to put it back) and re-indexes the
//! items whose theme changed. Edits are stored in a way `rebuild` respects: a rename lives
//! on the theme row (whose id survives rebuilds), a merge leaves the old theme pointing at
//! the new one, split-off and moved items are marked as placed by a person, and a lock
//! freezes a theme's members.

use chrono::Utc;
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseConnection,
    EntityTrait, IntoActiveModel, QueryFilter, QuerySelect,
};
use serde_json::json;

use super::assign::{create_theme, placement, save_placements};
use super::undo::{placements_before, EditView, Restore, ThemeFields};
use crate::db::embeddings;
use crate::db::entity::theme_answer::{PairAnswer, Source};
use crate::db::entity::theme_edit::{self, EditAction};
use crate::db::entity::{feedback_item, item_theme, theme};
use crate::db::outbox;
use crate::embed::vectors::normalize;
use crate::{Error, Result};

/// A live (not merged away) theme, or 404.
pub async fn live<C: ConnectionTrait>(db: &C, id: i64) -> Result<theme::Model> {
    let t = theme::Entity::find_by_id(id)
        .one(db)
        .await?
        .ok_or_else(|| Error::not_found("theme", id))?;
    match t.merged_into {
        Some(into) => Err(Error::Conflict {
            field: "id".into(),
            message: format!("theme {id} was merged into theme {into}"),
        }),
        None => Ok(t),
    }
}

/// Records an edit: `detail` for people to read, `restore` for its undo.
async fn record<C: ConnectionTrait>(
    db: &C,
    theme_id: i64,
    action: EditAction,
    detail: serde_json::Value,
    restore: &Restore,
    actor: &str,
) -> Result<()> {
    let restore = serde_json::to_string(restore)
        .map_err(|e| Error::Internal(format!("an edit's undo record: {e}")))?;
    theme_edit::ActiveModel {
        theme_id: Set(theme_id),
        action: Set(action),
        detail: Set(detail.to_string()),
        actor: Set(actor.into()),
        created_at: Set(Utc::now()),
        restore: Set(Some(restore)),
        ..Default::default()
    }
    .insert(db)
    .await?;
    Ok(())
}

pub async fn rename(
    db: &DatabaseConnection,
    id: i64,
    label: &str,
    actor: &str,
) -> Result<theme::Model> {
    let label = crate::validate::required("label", label, 200)?;
    update_live(db, id, EditAction::Rename, actor, |t, am| {
        let before = t.display_label().to_string();
        am.custom_label = Set(Some(label.clone()));
        json!({ "before": before, "after": label })
    })
    .await
}

pub async fn set_locked(
    db: &DatabaseConnection,
    id: i64,
    locked: bool,
    actor: &str,
) -> Result<theme::Model> {
    let action = if locked {
        EditAction::Lock
    } else {
        EditAction::Unlock
    };
    update_live(db, id, action, actor, |_, am| {
        am.locked = Set(locked);
        json!({})
    })
    .await
}

/// Changes one live theme's row and records the edit, in one transaction; `change` edits
/// the row and returns the edit's details.
async fn update_live(
    db: &DatabaseConnection,
    id: i64,
    action: EditAction,
    actor: &str,
    change: impl FnOnce(&theme::Model, &mut theme::ActiveModel) -> serde_json::Value,
) -> Result<theme::Model> {
    let txn = crate::db::begin_write(db).await?;
    let t = live(&txn, id).await?;
    let restore = Restore {
        themes: vec![ThemeFields::of(&t)],
        ..Default::default()
    };
    let mut am = t.clone().into_active_model();
    let detail = change(&t, &mut am);
    am.updated_at = Set(Utc::now());
    let t = am.update(&txn).await?;
    record(&txn, id, action, detail, &restore, actor).await?;
    txn.commit().await?;
    Ok(t)
}

/// The two live themes of a merge of `from` into `into`, or the 4xx saying why not.
async fn merge_pair<C: ConnectionTrait>(
    db: &C,
    from: i64,
    into: i64,
) -> Result<(theme::Model, theme::Model)> {
    if from == into {
        return Err(Error::unprocessable(
            "invalid_value",
            "into",
            "a theme cannot be merged into itself",
        ));
    }
    let from_theme = live(db, from).await?;
    let target = live(db, into).await.map_err(|e| match e {
        Error::NotFound { .. } => {
            Error::unprocessable("unknown_theme", "into", format!("there is no theme {into}"))
        }
        other => other,
    })?;
    Ok((from_theme, target))
}

/// What a merge would do, for the confirmation a person sees before it.
pub struct MergePreview {
    pub from: theme::Model,
    pub into: theme::Model,
    /// Items that would move.
    pub items: usize,
}

impl MergePreview {
    /// "12 items move into “Identity check”, which keeps its name; “Verify ID” then leads
    /// there."
    pub fn sentence(&self) -> String {
        let n = match self.items {
            1 => "1 item moves".to_string(),
            n => format!("{n} items move"),
        };
        format!(
            "{n} from “{}” into “{}”, which keeps its name; links to “{}” will lead \
             there. No customer is emailed, and the merge can be undone from the theme's \
             history.",
            self.from.display_label(),
            self.into.display_label(),
            self.from.display_label()
        )
    }
}

/// What merging `from` into `into` would do, or the 4xx the merge would get.
pub async fn merge_preview<C: ConnectionTrait>(
    db: &C,
    from: i64,
    into: i64,
) -> Result<MergePreview> {
    let (from, into) = merge_pair(db, from, into).await?;
    let items = members(db, from.id).await?.len();
    Ok(MergePreview { from, into, items })
}

/// Moves every item of `from` into `into`; `from` then points at `into`.
pub async fn merge(
    db: &DatabaseConnection,
    from: i64,
    into: i64,
    actor: &str,
) -> Result<theme::Model> {
    let txn = crate::db::begin_write(db).await?;
    let (from_theme, target) = merge_pair(&txn, from, into).await?;
    let mut restore = Restore {
        themes: vec![ThemeFields::of(&from_theme)],
        ..Default::default()
    };
    // A merge says the two themes are one problem: an answer for the granularity.
    if let (Some(a), Some(b)) = (
        from_theme.representative_item_id,
        target.representative_item_id,
    ) {
        restore
            .answers
            .extend(teach_pair(&txn, a, b, PairAnswer::Same, Source::Merge, actor).await?);
    }
    // Only members whose facts were snapshotted (and so locked) move; an item a concurrent
    // move put into `from` after they were read is found by the next round, so none moves
    // without the tallies moving with it.
    let mut moved = Vec::new();
    loop {
        let round = members(&txn, from).await?;
        if round.is_empty() {
            break;
        }
        let snap = crate::db::tallies::snapshot(&txn, &round).await?;
        restore.items.extend(placements_before(&txn, &round).await?);
        for chunk in round.chunks(10_000) {
            item_theme::Entity::update_many()
                .col_expr(item_theme::Column::ThemeId, Expr::value(into))
                .filter(item_theme::Column::ThemeId.eq(from))
                .filter(item_theme::Column::ItemId.is_in(chunk.to_vec()))
                .exec(&txn)
                .await?;
        }
        crate::db::tallies::commit(&txn, snap).await?;
        moved.extend(round);
    }
    theme::Entity::update_many()
        .col_expr(theme::Column::MergedInto, Expr::value(into))
        .col_expr(theme::Column::Size, Expr::value(0))
        .filter(theme::Column::Id.eq(from))
        .exec(&txn)
        .await?;
    let detail = json!({
        "from": from, "into": into, "items": moved.len(),
        "from_label": from_theme.display_label(), "into_label": target.display_label(),
    });
    let mut am = target.into_active_model();
    am.size = Set(members(&txn, into).await?.len() as i32);
    am.updated_at = Set(Utc::now());
    let target = am.update(&txn).await?;
    outbox::enqueue(&txn, outbox::TOPIC_INDEX, &moved).await?;
    record(&txn, into, EditAction::Merge, detail, &restore, actor).await?;
    txn.commit().await?;
    Ok(target)
}

/// Splits `items` (members of theme `id`) off into a new theme, placed there by a person.
pub async fn split(
    db: &DatabaseConnection,
    id: i64,
    items: &[i64],
    label: Option<&str>,
    actor: &str,
) -> Result<theme::Model> {
    let items = &item_set(items)?;
    let txn = crate::db::begin_write(db).await?;
    let source = live(&txn, id).await?;
    let current = members(&txn, id).await?;
    if let Some(stray) = items.iter().find(|i| !current.contains(i)) {
        return Err(Error::unprocessable(
            "invalid_value",
            "item_ids",
            format!("item {stray} is not in theme {id}"),
        ));
    }
    if items.len() == current.len() {
        return Err(Error::unprocessable(
            "invalid_value",
            "item_ids",
            "a split must leave at least one item behind",
        ));
    }
    let name = match label {
        Some(l) => Some(crate::validate::required("label", l, 200)?),
        None => None,
    };
    let created = theme_of_items(
        &txn,
        items,
        format!("split from {}", source.display_label()),
        name,
        source.keywords.clone(),
    )
    .await?;
    let mut restore = Restore {
        items: placements_before(&txn, items).await?,
        created: Some(created.id),
        retire_into: Some(id),
        ..Default::default()
    };
    place(&txn, items, Some(created.id)).await?;
    // A split says the items split off are not the problem the rest are.
    let stays = source
        .representative_item_id
        .filter(|r| !items.contains(r))
        .or_else(|| current.iter().copied().find(|i| !items.contains(i)));
    if let Some(stays) = stays {
        for &item in items.iter().take(TAUGHT_PER_EDIT) {
            let answer = PairAnswer::Different;
            restore
                .answers
                .extend(teach_pair(&txn, item, stays, answer, Source::Split, actor).await?);
        }
    }
    // Sizes are counted, never computed from what the request said.
    recount(&txn, [id, created.id]).await?;
    let detail = json!({
        "into": created.id, "items": items, "into_label": created.display_label(),
    });
    record(&txn, id, EditAction::Split, detail, &restore, actor).await?;
    txn.commit().await?;
    Ok(created)
}

/// Makes a new theme of `items` (from the unthemed queue or other themes), named by a
/// person. Its keywords are filled in by the next rebuild.
pub async fn create_from_items(
    db: &DatabaseConnection,
    items: &[i64],
    label: &str,
    actor: &str,
) -> Result<theme::Model> {
    let label = crate::validate::required("label", label, 200)?;
    let items = &item_set(items)?;
    let txn = crate::db::begin_write(db).await?;
    let found = feedback_item::Entity::find()
        .select_only()
        .column(feedback_item::Column::Id)
        .filter(feedback_item::Column::Id.is_in(items.to_vec()))
        .into_tuple::<i64>()
        .all(&txn)
        .await?;
    if let Some(missing) = items.iter().find(|i| !found.contains(i)) {
        return Err(Error::unprocessable(
            "invalid_value",
            "item_ids",
            format!("there is no item {missing}"),
        ));
    }
    let before: Vec<i64> = item_theme::Entity::find()
        .filter(item_theme::Column::ItemId.is_in(items.to_vec()))
        .all(&txn)
        .await?
        .into_iter()
        .filter_map(|p| p.theme_id)
        .collect();
    let created = theme_of_items(&txn, items, label.clone(), Some(label), "[]".into()).await?;
    let restore = Restore {
        items: placements_before(&txn, items).await?,
        created: Some(created.id),
        ..Default::default()
    };
    place(&txn, items, Some(created.id)).await?;
    recount(&txn, before).await?;
    let detail = json!({ "items": items, "label": created.display_label() });
    record(
        &txn,
        created.id,
        EditAction::Create,
        detail,
        &restore,
        actor,
    )
    .await?;
    txn.commit().await?;
    Ok(created)
}

/// The items a request names, as a set (sorted, each once): `[7, 7]` is one item, so a
/// repeated id can neither count twice nor make a size go below zero.
fn item_set(items: &[i64]) -> Result<Vec<i64>> {
    let set: Vec<i64> = items
        .iter()
        .copied()
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect();
    if set.is_empty() {
        return Err(Error::invalid(
            "missing_field",
            "item_ids",
            "item_ids must name at least one item",
        ));
    }
    Ok(set)
}

/// A new theme whose centroid is the mean of the items' vectors.
async fn theme_of_items<C: ConnectionTrait>(
    db: &C,
    items: &[i64],
    label: String,
    custom_label: Option<String>,
    keywords: String,
) -> Result<theme::Model> {
    let model = crate::embed::minilm::MODEL_NAME;
    let mut centroid = vec![0f32; 0];
    for (_, v) in embeddings::for_items(db, model, items).await? {
        if centroid.is_empty() {
            centroid = vec![0.0; v.len()];
        }
        centroid.iter_mut().zip(&v).for_each(|(c, x)| *c += x);
    }
    normalize(&mut centroid);
    create_theme(db, label, custom_label, keywords, &centroid, items.len()).await
}

/// Puts an item in a theme (or, with `None`, in the unthemed queue), by hand.
pub async fn move_item(
    db: &DatabaseConnection,
    item_id: i64,
    to: Option<i64>,
    actor: &str,
) -> Result<()> {
    move_items(db, &[item_id], to, actor).await
}

/// Puts items in a theme (or in the unthemed queue), by hand, in one transaction: all of
/// them move, or — when one is unknown or the theme is gone — none does.
pub async fn move_items(
    db: &DatabaseConnection,
    items: &[i64],
    to: Option<i64>,
    actor: &str,
) -> Result<()> {
    let items = &item_set(items)?;
    let txn = crate::db::begin_write(db).await?;
    let mut found: Vec<i64> = Vec::with_capacity(items.len());
    for chunk in items.chunks(1000) {
        found.extend(
            feedback_item::Entity::find()
                .select_only()
                .column(feedback_item::Column::Id)
                .filter(feedback_item::Column::Id.is_in(chunk.to_vec()))
                .into_tuple::<i64>()
                .all(&txn)
                .await?,
        );
    }
    if let Some(missing) = items.iter().find(|i| !found.contains(i)) {
        return Err(Error::not_found("item", *missing));
    }
    let target = match to {
        Some(t) => Some(live(&txn, t).await.map_err(|e| match e {
            Error::NotFound { .. } => Error::unprocessable(
                "unknown_theme",
                "theme_id",
                format!("there is no theme {t}"),
            ),
            other => other,
        })?),
        None => None,
    };
    let mut restore = Restore {
        items: placements_before(&txn, items).await?,
        ..Default::default()
    };
    let before: std::collections::HashMap<i64, Option<i64>> = restore
        .items
        .iter()
        .filter_map(|(item, row)| row.map(|r| (*item, r.0)))
        .collect();
    place(&txn, items, to).await?;
    // A move says the item is not the problem of the theme it left, and is that of the one
    // it joined.
    let mut reps: std::collections::HashMap<i64, Option<i64>> = Default::default();
    for t in before.values().flatten().copied().chain(to) {
        let rep = theme::Entity::find_by_id(t)
            .one(&txn)
            .await?
            .and_then(|t| t.representative_item_id);
        reps.insert(t, rep);
    }
    for &item in items.iter().take(TAUGHT_PER_EDIT) {
        let from = before.get(&item).copied().flatten();
        if from == to {
            continue;
        }
        let rep = |t: Option<i64>| t.and_then(|t| reps.get(&t).copied().flatten());
        if let Some(r) = rep(from).filter(|&r| r != item) {
            let answer = PairAnswer::Different;
            restore
                .answers
                .extend(teach_pair(&txn, item, r, answer, Source::Move, actor).await?);
        }
        if let Some(r) = rep(to).filter(|&r| r != item) {
            let answer = PairAnswer::Same;
            restore
                .answers
                .extend(teach_pair(&txn, item, r, answer, Source::Move, actor).await?);
        }
    }
    let touched: std::collections::BTreeSet<i64> =
        before.values().flatten().copied().chain(to).collect();
    let first_from = before.values().flatten().copied().min();
    recount(&txn, touched).await?;
    // One record for the whole move, so that one undo puts every item back.
    let detail = json!({
        "items": items, "to": to,
        "to_label": target.as_ref().map(|t| t.display_label().to_string()),
    });
    let on = to.or(first_from).unwrap_or(0);
    record(&txn, on, EditAction::Move, detail, &restore, actor).await?;
    txn.commit().await?;
    Ok(())
}

/// Items of one bulk edit that become answers: enough to count as the team's word, few
/// enough that a move of thousands does not fill every rebuild's sample with them.
const TAUGHT_PER_EDIT: usize = 10;

/// Records what an edit says about two items, for the granularity (`teach`); the answer's
/// id, for the edit's undo to withdraw.
async fn teach_pair<C: ConnectionTrait>(
    db: &C,
    a: i64,
    b: i64,
    answer: PairAnswer,
    source: Source,
    actor: &str,
) -> Result<Option<i64>> {
    if a == b {
        return Ok(None);
    }
    let row = super::teach::record(db, a, b, answer, source, actor).await?;
    Ok(Some(row.id))
}

/// Labels (a person's name when given) of live themes with items, by label; for menus.
pub async fn live_labels<C: ConnectionTrait>(db: &C) -> Result<Vec<(i64, String)>> {
    let mut all: Vec<(i64, String)> = theme::Entity::find()
        .filter(theme::Column::MergedInto.is_null())
        .filter(theme::Column::Size.gt(0))
        .all(db)
        .await?
        .into_iter()
        .map(|t| (t.id, t.display_label().to_string()))
        .collect();
    all.sort_by_key(|(_, l)| l.to_lowercase());
    Ok(all)
}

/// Edits made to a theme, newest first, as people see them; the latest `limit` when given.
pub async fn history<C: ConnectionTrait>(
    db: &C,
    theme_id: i64,
    limit: Option<u64>,
) -> Result<Vec<EditView>> {
    use sea_orm::{QueryOrder, QuerySelect};
    Ok(theme_edit::Entity::find()
        .filter(theme_edit::Column::ThemeId.eq(theme_id))
        .order_by_desc(theme_edit::Column::Id)
        .limit(limit)
        .all(db)
        .await?
        .iter()
        .map(EditView::of)
        .collect())
}

/// Labels of the given themes, by id.
pub async fn labels_of<C: ConnectionTrait>(
    db: &C,
    ids: &[i64],
) -> Result<std::collections::HashMap<i64, String>> {
    Ok(theme::Entity::find()
        .filter(theme::Column::Id.is_in(ids.to_vec()))
        .all(db)
        .await?
        .into_iter()
        .map(|t| (t.id, t.display_label().to_string()))
        .collect())
}

/// Stores the current member count of each theme.
pub(super) async fn recount<C: ConnectionTrait>(
    db: &C,
    themes: impl IntoIterator<Item = i64>,
) -> Result<()> {
    for t in themes {
        let n = members(db, t).await?.len() as i32;
        theme::Entity::update_many()
            .col_expr(theme::Column::Size, Expr::value(n))
            .filter(theme::Column::Id.eq(t))
            .exec(db)
            .await?;
    }
    Ok(())
}

/// Items of a theme.
pub async fn members<C: ConnectionTrait>(db: &C, theme_id: i64) -> Result<Vec<i64>> {
    Ok(item_theme::Entity::find()
        .select_only()
        .column(item_theme::Column::ItemId)
        .filter(item_theme::Column::ThemeId.eq(theme_id))
        .into_tuple()
        .all(db)
        .await?)
}

/// Human placement of items, and their re-indexing.
async fn place<C: ConnectionTrait>(db: &C, items: &[i64], theme_id: Option<i64>) -> Result<()> {
    let now = Utc::now();
    let rows = items
        .iter()
        .map(|&item_id| placement(item_id, theme_id, None, true, now))
        .collect();
    save_placements(db, rows).await?;
    outbox::enqueue(db, outbox::TOPIC_INDEX, items).await
}
