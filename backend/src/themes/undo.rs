//! Undo for theme edits: every merge, split, move, rename, lock and new theme can be put
//! back exactly, also after rebuilds have run in between.
//!
//! Each edit stores a [`Restore`] beside its record: the placement rows of the items it
//! moved and the theme fields it changed, as they were before, the theme it created and the
//! answers it recorded for the granularity. Undo writes those rows back (moving the
//! backlog's tallies with the items, as any placement does), withdraws the answers, empties
//! the created theme, and records itself as an edit (`undo`) linked both ways.
//!
//! Invariants:
//! * An edit is undone at most once (the claim is a conditional update, so two concurrent
//!   undos cannot both succeed), and an undo is not itself undone: make the edit again.
//! * Undo restores what the edit changed and nothing else. When a later edit, not undone,
//!   changed any of the same items or theme fields, undo refuses (409, naming that edit)
//!   instead of silently overwriting it: undo the later one first. A rebuild is not an edit:
//!   its placements of the edit's items are replaced by what they were before the edit.
//! * A theme the edit created keeps the members a rebuild gave it since; only when it is
//!   left empty does it leave the backlog (a split's theme then points at the theme it came
//!   from, so old links still lead somewhere).

use std::collections::{BTreeSet, HashMap};

use chrono::{DateTime, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseConnection,
    EntityTrait, QueryFilter, QueryOrder,
};
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::assign::{placement, write_placements};
use crate::db::entity::theme_edit::{self, EditAction};
use crate::db::entity::{item_theme, theme, theme_answer};
use crate::db::outbox;
use crate::{Error, Result};

/// An item's placement row before an edit: `None` when it had none (never placed).
pub type PlacedBefore = (i64, Option<(Option<i64>, Option<f64>, bool, DateTime<Utc>)>);

/// What an edit changed, as it was before: everything undo needs.
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct Restore {
    /// The placement rows of the items the edit moved.
    #[serde(default)]
    pub items: Vec<PlacedBefore>,
    /// The theme fields the edit changed.
    #[serde(default)]
    pub themes: Vec<ThemeFields>,
    /// The theme the edit created, and where its row points once undo empties it.
    #[serde(default)]
    pub created: Option<i64>,
    #[serde(default)]
    pub retire_into: Option<i64>,
    /// Answers the edit recorded for the granularity.
    #[serde(default)]
    pub answers: Vec<i64>,
}

/// The fields of a theme that edits change.
#[derive(Debug, Serialize, Deserialize)]
pub struct ThemeFields {
    pub id: i64,
    pub custom_label: Option<String>,
    pub locked: bool,
    pub merged_into: Option<i64>,
}

impl ThemeFields {
    pub fn of(t: &theme::Model) -> Self {
        Self {
            id: t.id,
            custom_label: t.custom_label.clone(),
            locked: t.locked,
            merged_into: t.merged_into,
        }
    }
}

impl Restore {
    /// Items and themes this edit changed: two edits touching a common one must be undone
    /// newest first.
    fn touched(&self) -> (BTreeSet<i64>, BTreeSet<i64>) {
        let items = self.items.iter().map(|(i, _)| *i).collect();
        let themes = self
            .themes
            .iter()
            .map(|t| t.id)
            .chain(self.created)
            .collect();
        (items, themes)
    }
}

/// The placement rows of `items` as they are now, for an edit's [`Restore`].
pub async fn placements_before<C: ConnectionTrait>(
    db: &C,
    items: &[i64],
) -> Result<Vec<PlacedBefore>> {
    let mut rows: HashMap<i64, item_theme::Model> = HashMap::with_capacity(items.len());
    for chunk in items.chunks(1000) {
        for p in item_theme::Entity::find()
            .filter(item_theme::Column::ItemId.is_in(chunk.to_vec()))
            .all(db)
            .await?
        {
            rows.insert(p.item_id, p);
        }
    }
    Ok(items
        .iter()
        .map(|&i| {
            let row = rows
                .get(&i)
                .map(|p| (p.theme_id, p.similarity, p.by_human, p.assigned_at));
            (i, row)
        })
        .collect())
}

/// Undoes edit `edit_id` (see the module docs) and returns the undo's own record. 404 for
/// an unknown edit; 409 for an undo, an edit already undone, one made before undo existed,
/// or one a later edit depends on.
pub async fn undo(db: &DatabaseConnection, edit_id: i64, actor: &str) -> Result<theme_edit::Model> {
    let txn = crate::db::begin_write(db).await?;
    let edit = theme_edit::Entity::find_by_id(edit_id)
        .one(&txn)
        .await?
        .ok_or_else(|| Error::not_found("edit", edit_id))?;
    let restore: Restore = serde_json::from_str(undoable(&edit)?)
        .map_err(|e| Error::Internal(format!("edit {}: {e}", edit.id)))?;
    if let Some(later) = blocking_edit(&txn, &edit, &restore).await? {
        return Err(conflict(format!(
            "edit {} ({}) changed the same items or themes later: undo it first",
            later.id, later.action
        )));
    }

    // Theme fields first, then placements: the themes they name are live again before
    // sizes are counted.
    for t in &restore.themes {
        theme::Entity::update_many()
            .col_expr(
                theme::Column::CustomLabel,
                Expr::value(t.custom_label.clone()),
            )
            .col_expr(theme::Column::Locked, Expr::value(t.locked))
            .col_expr(theme::Column::MergedInto, Expr::value(t.merged_into))
            .col_expr(theme::Column::UpdatedAt, Expr::value(Utc::now()))
            .filter(theme::Column::Id.eq(t.id))
            .exec(&txn)
            .await?;
    }
    let items: Vec<i64> = restore.items.iter().map(|(i, _)| *i).collect();
    let now_in = super::members::themes_of(&txn, &items).await?;
    let snap = crate::db::tallies::snapshot(&txn, &items).await?;
    let (rows, unplaced): (Vec<_>, Vec<_>) = restore.items.iter().partition(|(_, r)| r.is_some());
    write_placements(
        &txn,
        rows.iter()
            .filter_map(|(i, r)| r.map(|(t, s, h, at)| placement(*i, t, s, h, at)))
            .collect(),
    )
    .await?;
    let unplaced: Vec<i64> = unplaced.iter().map(|(i, _)| *i).collect();
    for chunk in unplaced.chunks(1000) {
        item_theme::Entity::delete_many()
            .filter(item_theme::Column::ItemId.is_in(chunk.to_vec()))
            .exec(&txn)
            .await?;
    }
    crate::db::tallies::commit(&txn, snap).await?;
    outbox::enqueue(&txn, outbox::TOPIC_INDEX, &items).await?;

    let recount: BTreeSet<i64> = now_in
        .into_values()
        .chain(
            restore
                .items
                .iter()
                .filter_map(|(_, r)| r.and_then(|r| r.0)),
        )
        .chain(restore.themes.iter().map(|t| t.id))
        .chain(restore.created)
        .collect();
    super::edits::recount(&txn, recount).await?;
    if let Some(created) = restore.created {
        // Emptied: off the backlog (a split's theme points back where its items went).
        if super::edits::members(&txn, created).await?.is_empty() {
            theme::Entity::update_many()
                .col_expr(theme::Column::MergedInto, Expr::value(restore.retire_into))
                .filter(theme::Column::Id.eq(created))
                .exec(&txn)
                .await?;
        }
    }
    withdraw(&txn, &restore.answers, actor).await?;

    let record = theme_edit::ActiveModel {
        theme_id: Set(edit.theme_id),
        action: Set(EditAction::Undo),
        detail: Set(
            json!({ "undoes": edit.id, "action": edit.action, "summary": summary(&edit) })
                .to_string(),
        ),
        actor: Set(actor.into()),
        created_at: Set(Utc::now()),
        undoes: Set(Some(edit.id)),
        ..Default::default()
    }
    .insert(&txn)
    .await?;
    // The claim: of two concurrent undos of one edit, the second updates no row.
    let claimed = theme_edit::Entity::update_many()
        .col_expr(theme_edit::Column::UndoneBy, Expr::value(record.id))
        .filter(theme_edit::Column::Id.eq(edit.id))
        .filter(theme_edit::Column::UndoneBy.is_null())
        .exec(&txn)
        .await?;
    if claimed.rows_affected != 1 {
        return Err(conflict(format!("edit {} was already undone", edit.id)));
    }
    txn.commit().await?;
    Ok(record)
}

/// The edit's stored [`Restore`], or 409 saying why it cannot be undone.
fn undoable(edit: &theme_edit::Model) -> Result<&str> {
    if edit.action == EditAction::Undo {
        return Err(conflict(format!(
            "edit {} is an undo; an undo cannot be undone (make the edit again)",
            edit.id
        )));
    }
    if let Some(by) = edit.undone_by {
        return Err(conflict(format!(
            "edit {} was already undone (by edit {by})",
            edit.id
        )));
    }
    edit.restore.as_deref().ok_or_else(|| {
        conflict(format!(
            "edit {} was made before undo existed and cannot be undone",
            edit.id
        ))
    })
}

/// The newest later edit, not undone, that changed an item or theme field this one did.
async fn blocking_edit<C: ConnectionTrait>(
    db: &C,
    edit: &theme_edit::Model,
    restore: &Restore,
) -> Result<Option<theme_edit::Model>> {
    let (items, themes) = restore.touched();
    let later = theme_edit::Entity::find()
        .filter(theme_edit::Column::Id.gt(edit.id))
        .filter(theme_edit::Column::UndoneBy.is_null())
        .filter(theme_edit::Column::Action.ne(EditAction::Undo))
        .filter(theme_edit::Column::Restore.is_not_null())
        .order_by_desc(theme_edit::Column::Id)
        .all(db)
        .await?;
    for e in later {
        let Ok(r) = serde_json::from_str::<Restore>(e.restore.as_deref().unwrap_or("{}")) else {
            continue;
        };
        let (i, t) = r.touched();
        if !i.is_disjoint(&items) || !t.is_disjoint(&themes) {
            return Ok(Some(e));
        }
    }
    Ok(None)
}

/// Withdraws the answers an undone edit recorded (those still in force).
async fn withdraw<C: ConnectionTrait>(db: &C, answers: &[i64], actor: &str) -> Result<()> {
    if answers.is_empty() {
        return Ok(());
    }
    theme_answer::Entity::update_many()
        .col_expr(theme_answer::Column::WithdrawnAt, Expr::value(Utc::now()))
        .col_expr(theme_answer::Column::WithdrawnBy, Expr::value(actor))
        .filter(theme_answer::Column::Id.is_in(answers.to_vec()))
        .filter(theme_answer::Column::WithdrawnAt.is_null())
        .exec(db)
        .await?;
    Ok(())
}

fn conflict(message: String) -> Error {
    Error::Conflict {
        field: "id".into(),
        message,
    }
}

/// An edit as people see it in a theme's history.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
#[schema(as = ThemeEdit)]
pub struct EditView {
    pub id: i64,
    /// The theme whose history lists it.
    pub theme_id: i64,
    pub action: EditAction,
    /// What it did, in one line ("merged “Refunds” into “Billing” (12 items)").
    pub summary: String,
    pub actor: String,
    pub created_at: DateTime<Utc>,
    /// The undo that put it back, if one did.
    pub undone_by: Option<i64>,
    /// On an undo: the edit it put back.
    pub undoes: Option<i64>,
    /// Whether it can be undone: not an undo, not undone yet, and recorded with what it
    /// changed. (A later edit of the same items can still make the undo wait: 409.)
    pub can_undo: bool,
}

impl EditView {
    pub fn of(e: &theme_edit::Model) -> Self {
        Self {
            id: e.id,
            theme_id: e.theme_id,
            action: e.action,
            summary: summary(e),
            actor: e.actor.clone(),
            created_at: e.created_at,
            undone_by: e.undone_by,
            undoes: e.undoes,
            can_undo: undoable(e).is_ok(),
        }
    }
}

/// One line saying what an edit did, from its stored details ("merged “Refunds” into
/// “Billing” (12 items)").
pub fn summary(edit: &theme_edit::Model) -> String {
    let d: serde_json::Value = serde_json::from_str(&edit.detail).unwrap_or_default();
    let text = |k: &str| d.get(k).and_then(|v| v.as_str()).map(str::to_string);
    let theme = |k: &str| {
        text(&format!("{k}_label"))
            .or_else(|| {
                d.get(k)
                    .and_then(|v| v.as_i64())
                    .map(|id| format!("theme {id}"))
            })
            .unwrap_or_else(|| "the unthemed queue".into())
    };
    let count = |k: &str| match d.get(k) {
        Some(serde_json::Value::Array(a)) => a.len(),
        Some(v) => v.as_u64().unwrap_or(0) as usize,
        None => 0,
    };
    let items = |n: usize| {
        if n == 1 {
            "1 item".to_string()
        } else {
            format!("{n} items")
        }
    };
    match edit.action {
        EditAction::Rename => format!(
            "renamed “{}” to “{}”",
            text("before").unwrap_or_default(),
            text("after").unwrap_or_default()
        ),
        EditAction::Merge => format!(
            "merged “{}” into “{}” ({})",
            theme("from"),
            theme("into"),
            items(count("items"))
        ),
        EditAction::Split => format!(
            "split {} off into “{}”",
            items(count("items")),
            theme("into")
        ),
        EditAction::Create => format!(
            "made “{}” of {}",
            text("label").unwrap_or_else(|| format!("theme {}", edit.theme_id)),
            items(count("items"))
        ),
        EditAction::Move => match d.get("to").and_then(|v| v.as_i64()) {
            Some(_) => format!("moved {} to “{}”", items(count("items")), theme("to")),
            None => format!("moved {} to the unthemed queue", items(count("items"))),
        },
        EditAction::Lock => "locked its items".into(),
        EditAction::Unlock => "unlocked its items".into(),
        EditAction::Undo => format!(
            "undid: {}",
            text("summary").unwrap_or_else(|| "an edit".into())
        ),
    }
}
