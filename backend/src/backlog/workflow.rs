//! The product manager's workflow on a theme: status, notes, effort, owner, pin.
//!
//! A theme has no entry until someone edits it (it is then `new`, unowned, unpinned). Each
//! edit is one transaction that writes the entry and one `backlog_changes` row per field
//! that actually changed, so the history says who changed what, when, from what to what.

use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseConnection,
    EntityTrait, IntoActiveModel, QueryFilter, QueryOrder, QuerySelect,
};
use serde::Deserialize;

use crate::db::entity::{backlog_change, backlog_entry};
use crate::themes::edits::live;
use crate::validate;
use crate::{Error, Result};

pub use crate::db::entity::backlog_entry::{Effort, Status};

/// `open`, `all`, or comma-separated statuses; empty means every status.
pub fn parse_statuses(text: &str) -> Result<Vec<Status>> {
    let mut out = Vec::new();
    for s in text.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        match s {
            "all" => return Ok(Vec::new()),
            "open" => out.extend(Status::ALL.iter().copied().filter(|s| s.is_open())),
            s => out.push(Status::parse(s).ok_or_else(|| {
                Error::invalid(
                    "invalid_value",
                    "status",
                    format!(
                        "status must be open, all or one of {}, got {s:?}",
                        Status::names()
                    ),
                )
            })?),
        }
    }
    Ok(out)
}

/// A change to an entry; absent fields are left alone, and an empty `effort` or `owner`
/// clears it.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EntryChange {
    /// `new`, `under_review`, `planned`, `in_progress`, `shipped` or `declined`.
    #[schema(pattern = r"^\s*(new|under_review|planned|in_progress|shipped|declined)\s*$")]
    pub status: Option<String>,
    #[schema(max_length = 10000)]
    pub notes: Option<String>,
    /// `xs`, `s`, `m`, `l` or `xl`; empty clears it.
    #[schema(pattern = r"^\s*(xs|s|m|l|xl)?\s*$")]
    pub effort: Option<String>,
    /// Empty clears it.
    #[schema(max_length = 200)]
    pub owner: Option<String>,
    pub pinned: Option<bool>,
}

/// The entry of a theme nobody has touched yet.
pub fn blank(theme_id: i64) -> backlog_entry::Model {
    backlog_entry::Model {
        theme_id,
        status: Status::New,
        notes: String::new(),
        effort: None,
        owner: None,
        pinned: false,
        updated_at: DateTime::<Utc>::UNIX_EPOCH,
        updated_by: String::new(),
    }
}

/// Applies `change` to the theme's entry; returns the entry and the fields that changed.
/// A move to `planned` or `shipped` queues the close-the-loop notes to customers in the
/// same transaction (`base_url` is for their links).
pub async fn update(
    db: &DatabaseConnection,
    theme_id: i64,
    change: EntryChange,
    actor: &str,
    base_url: &str,
) -> Result<(backlog_entry::Model, Vec<backlog_change::Model>)> {
    apply(db, theme_id, change, actor, Some(base_url)).await
}

/// [`update`] without telling customers: for data whose customers are invented (`triage
/// demo`), who must never be mailed.
pub async fn update_without_notices(
    db: &DatabaseConnection,
    theme_id: i64,
    change: EntryChange,
    actor: &str,
) -> Result<(backlog_entry::Model, Vec<backlog_change::Model>)> {
    apply(db, theme_id, change, actor, None).await
}

/// Webhooks out: `theme.status_changed`, queued in the change's transaction; the change's
/// row id keeps the event's id stable.
async fn status_event<C: ConnectionTrait>(
    txn: &C,
    theme: &crate::db::entity::theme::Model,
    change: &backlog_change::Model,
    base_url: Option<&str>,
) -> Result<()> {
    use crate::db::entity::webhook_subscription::EventType;
    let label = theme.display_label();
    let (from, to) = (change.before.clone(), change.after.clone());
    let url = base_url.map(|b| format!("{b}/themes/{}", theme.id));
    crate::db::webhooks::emit(
        txn,
        &[crate::db::webhooks::Event::new(
            EventType::ThemeStatusChanged,
            change.id,
            serde_json::json!({
                "theme_id": theme.id,
                "label": label,
                "from": from,
                "to": to,
                "changed_by": change.actor,
                "url": url,
            }),
            format!(
                "\"{label}\" moved from {} to {}{}",
                from.as_deref().unwrap_or("-"),
                to.as_deref().unwrap_or("-"),
                url.as_deref().map(|u| format!(" {u}")).unwrap_or_default()
            ),
        )],
    )
    .await?;
    Ok(())
}

async fn apply(
    db: &DatabaseConnection,
    theme_id: i64,
    change: EntryChange,
    actor: &str,
    notices_linking_to: Option<&str>,
) -> Result<(backlog_entry::Model, Vec<backlog_change::Model>)> {
    let status = change
        .status
        .as_deref()
        .map(|s| Status::parse_field("status", s))
        .transpose()?;
    let effort = change
        .effort
        .as_deref()
        .map(|e| match e.trim() {
            "" => Ok(None),
            e => Effort::parse_field("effort", e).map(Some),
        })
        .transpose()?;
    let owner = change
        .owner
        .map(|o| validate::optional("owner", Some(o), 200))
        .transpose()?;
    let notes = change
        .notes
        .map(|n| validate::optional("notes", Some(n), 10_000).map(Option::unwrap_or_default))
        .transpose()?;

    let txn = crate::db::begin_write(db).await?;
    let theme = live(&txn, theme_id).await?;
    let existing = backlog_entry::Entity::find_by_id(theme_id)
        .one(&txn)
        .await?;
    let before = existing.clone().unwrap_or_else(|| blank(theme_id));
    let mut after = before.clone();
    if let Some(s) = status {
        after.status = s;
    }
    if let Some(n) = notes {
        after.notes = n;
    }
    if let Some(e) = effort {
        after.effort = e;
    }
    if let Some(o) = owner {
        after.owner = o;
    }
    if let Some(p) = change.pinned {
        after.pinned = p;
    }
    let now = Utc::now();
    let fields: [(&str, Option<String>, Option<String>); 5] = [
        (
            "status",
            Some(before.status.to_string()),
            Some(after.status.to_string()),
        ),
        (
            "notes",
            Some(before.notes.clone()),
            Some(after.notes.clone()),
        ),
        (
            "effort",
            before.effort.map(|e| e.to_string()),
            after.effort.map(|e| e.to_string()),
        ),
        ("owner", before.owner.clone(), after.owner.clone()),
        (
            "pinned",
            Some(before.pinned.to_string()),
            Some(after.pinned.to_string()),
        ),
    ];
    let mut changes = Vec::new();
    for (field, was, now_is) in fields.into_iter().filter(|(_, b, a)| b != a) {
        let row = backlog_change::ActiveModel {
            theme_id: Set(theme_id),
            field: Set(field.into()),
            before: Set(was),
            after: Set(now_is),
            actor: Set(actor.into()),
            created_at: Set(now),
            ..Default::default()
        }
        .insert(&txn)
        .await?;
        changes.push(row);
    }
    if changes.is_empty() {
        txn.commit().await?;
        return Ok((before, changes));
    }
    if let (true, Some(base_url)) = (before.status != after.status, notices_linking_to) {
        // The one upward call in the crate (backlog → digest; allowed by name in
        // tests/layers.rs): the notices are queued in this transaction, so a status change
        // is never recorded without them, nor they without it.
        crate::digest::notices::queue(&txn, base_url, &theme, after.status).await?;
    }
    if let Some(change) = changes.iter().find(|c| c.field == "status") {
        status_event(&txn, &theme, change, notices_linking_to).await?;
    }
    after.updated_at = now;
    after.updated_by = actor.into();
    let saved = match existing {
        Some(_) => {
            let mut am = after.into_active_model().reset_all();
            am.theme_id = sea_orm::ActiveValue::Unchanged(theme_id);
            am.update(&txn).await?
        }
        None => after.into_active_model().reset_all().insert(&txn).await?,
    };
    txn.commit().await?;
    Ok((saved, changes))
}

/// Changes to the theme's entry, newest first; the latest `limit` when given.
pub async fn history<C: ConnectionTrait>(
    db: &C,
    theme_id: i64,
    limit: Option<u64>,
) -> Result<Vec<backlog_change::Model>> {
    Ok(backlog_change::Entity::find()
        .filter(backlog_change::Column::ThemeId.eq(theme_id))
        .order_by_desc(backlog_change::Column::Id)
        .limit(limit)
        .all(db)
        .await?)
}

/// A change as people read it: who made it by name (history stores an id, see
/// `db::actors`; a deleted user reads "former user").
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct NamedChange {
    /// `actor` is who as stored: `user:<id>`, `token:<id>` or `cli`.
    #[serde(flatten)]
    pub change: backlog_change::Model,
    /// Who, by name.
    pub actor_name: String,
}

/// [`history`] with each change's author named: the API and the theme page read this.
pub async fn named_history<C: ConnectionTrait>(
    db: &C,
    theme_id: i64,
    limit: Option<u64>,
) -> Result<Vec<NamedChange>> {
    let changes = history(db, theme_id, limit).await?;
    let names = crate::db::actors::names(db, changes.iter().map(|c| c.actor.as_str())).await?;
    Ok(changes
        .into_iter()
        .map(|c| NamedChange {
            actor_name: names
                .get(&c.actor)
                .cloned()
                .unwrap_or_else(|| crate::db::actors::FORMER_USER.into()),
            change: c,
        })
        .collect())
}

/// Every theme's entry, by theme id.
pub async fn entries<C: ConnectionTrait>(
    db: &C,
) -> Result<std::collections::HashMap<i64, backlog_entry::Model>> {
    Ok(backlog_entry::Entity::find()
        .all(db)
        .await?
        .into_iter()
        .map(|e| (e.theme_id, e))
        .collect())
}
