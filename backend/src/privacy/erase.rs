//! Erasing a customer (GDPR article 17) and items past retention, with a receipt.
//!
//! [`customer`] and [`items`] change the database in one transaction each; the search
//! index and the vector graph follow through the jobs that transaction queued. A running
//! `serve` handles them within seconds (the caller wakes its workers); the CLI, when no
//! server holds the index, applies them itself before it returns ([`apply_now`]).

use chrono::Utc;
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter,
};

use super::Actor;
use crate::db::entity::erasure::{self, Reason};
use crate::db::entity::{consent_event, customer, fix_answer, theme};
use crate::db::erase::{self, Removed};
use crate::jobs::{index_sync::IndexSync, vector_sync};
use crate::{Config, Error, Result};

/// What one erasure removed: its receipt, and the ids of the items (for the caller that
/// holds the vector graph).
#[derive(Debug, Clone)]
pub struct Erased {
    pub receipt: erasure::Model,
    pub item_ids: Vec<i64>,
}

/// Erases customer `id`: their items (and public-page answers under their email), theme
/// placements, mail addressed to them, and the customer row itself. 404 when unknown.
pub async fn customer(db: &DatabaseConnection, id: i64, actor: &Actor) -> Result<Erased> {
    let txn = crate::db::begin_write(db).await?;
    let c = customer::Entity::find_by_id(id)
        .one(&txn)
        .await?
        .ok_or_else(|| Error::not_found("customer", id))?;
    let ids = erase::items_of_customer(&txn, id, c.email.as_deref()).await?;
    let removed = erase::remove_items(&txn, &ids).await?;
    scrub_theme_names(&txn, &removed.themes).await?;
    let (cancelled, sent) = match c.email.as_deref() {
        Some(email) => erase::remove_mail_to(&txn, email).await?,
        None => (0, 0),
    };
    let scrubbed = erase::scrub_mail_quoting(&txn, &removed.texts).await?;
    consent_event::Entity::delete_many()
        .filter(consent_event::Column::CustomerId.eq(id))
        .exec(&txn)
        .await?;
    fix_answer::Entity::delete_many()
        .filter(fix_answer::Column::CustomerId.eq(id))
        .exec(&txn)
        .await?;
    customer::Entity::delete_by_id(id).exec(&txn).await?;
    let receipt = record(
        &txn,
        Reason::Request,
        Some(id),
        &removed,
        (cancelled, sent, scrubbed),
        actor,
    )
    .await?;
    txn.commit().await?;
    erase::checkpoint(db).await?;
    tracing::info!(
        erasure = receipt.id,
        items = receipt.items,
        "erased a customer"
    );
    Ok(Erased {
        receipt,
        item_ids: removed.item_ids,
    })
}

/// Erases the items among `ids` (retention); the customers stay.
pub async fn items(db: &DatabaseConnection, ids: &[i64], actor: &Actor) -> Result<Erased> {
    let txn = crate::db::begin_write(db).await?;
    let removed = erase::remove_items(&txn, ids).await?;
    scrub_theme_names(&txn, &removed.themes).await?;
    let scrubbed = erase::scrub_mail_quoting(&txn, &removed.texts).await?;
    let receipt = record(
        &txn,
        Reason::Retention,
        None,
        &removed,
        (0, 0, scrubbed),
        actor,
    )
    .await?;
    txn.commit().await?;
    erase::checkpoint(db).await?;
    Ok(Erased {
        receipt,
        item_ids: removed.item_ids,
    })
}

/// A theme's automatic label and keywords are words from its members' texts; after an
/// erasure they may be the erased customer's words. Keywords that no remaining member
/// uses are dropped, and an automatic label no remaining member contains becomes the
/// label of the remaining keywords. A label a person gave is theirs and stays.
async fn scrub_theme_names<C: sea_orm::ConnectionTrait>(db: &C, theme_ids: &[i64]) -> Result<()> {
    use sea_orm::IntoActiveModel;
    for &id in theme_ids {
        let Some(t) = theme::Entity::find_by_id(id).one(db).await? else {
            continue;
        };
        let keywords = t.keyword_list();
        let mut kept = Vec::with_capacity(keywords.len());
        for k in &keywords {
            if still_used(db, id, k).await? {
                kept.push(k.clone());
            }
        }
        // A label made of the keywords follows them; a phrase label must still be said.
        let from_keywords = t.label == crate::themes::labels::label(&keywords);
        let label_gone = t.custom_label.is_none()
            && if from_keywords {
                kept.len() < keywords.len()
            } else {
                !still_used(db, id, &t.label).await?
            };
        if kept.len() == keywords.len() && !label_gone {
            continue;
        }
        let mut am = t.into_active_model();
        if label_gone {
            am.label = Set(crate::themes::labels::label(&kept));
        }
        am.keywords = Set(serde_json::to_string(&kept).unwrap_or_else(|_| "[]".into()));
        am.update(db).await?;
    }
    Ok(())
}

/// Whether some remaining member of theme `theme_id` says `words` (case-insensitive), in
/// its subject or text. Stops at the first such member.
async fn still_used<C: sea_orm::ConnectionTrait>(
    db: &C,
    theme_id: i64,
    words: &str,
) -> Result<bool> {
    let escaped = words
        .to_lowercase()
        .replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_");
    let pattern = format!("%{escaped}%");
    let backend = db.get_database_backend();
    let row = db
        .query_one(sea_orm::Statement::from_sql_and_values(
            backend,
            "SELECT 1 AS hit FROM item_themes JOIN feedback_items ON feedback_items.id = item_themes.item_id \
             WHERE item_themes.theme_id = $1 AND (lower(feedback_items.text) LIKE $2 ESCAPE '\\' \
             OR lower(COALESCE(feedback_items.subject, '')) LIKE $2 ESCAPE '\\') LIMIT 1",
            [theme_id.into(), pattern.into()],
        ))
        .await?;
    Ok(row.is_some())
}

async fn record<C: sea_orm::ConnectionTrait>(
    db: &C,
    reason: Reason,
    customer_id: Option<i64>,
    removed: &Removed,
    (cancelled, sent, scrubbed): (i64, i64, i64),
    actor: &Actor,
) -> Result<erasure::Model> {
    Ok(erasure::ActiveModel {
        reason: Set(reason),
        customer_id: Set(customer_id),
        items: Set(removed.item_ids.len() as i64),
        tickets: Set(removed.tickets),
        ratings: Set(removed.ratings),
        survey_responses: Set(removed.survey_responses),
        mails_cancelled: Set(cancelled),
        mails_removed: Set(sent),
        mails_scrubbed: Set(scrubbed),
        actor: Set(actor.stored()),
        created_at: Set(Utc::now()),
        ..Default::default()
    }
    .insert(db)
    .await?)
}

/// A page of receipts, newest first.
pub async fn receipts(
    db: &DatabaseConnection,
    page: crate::db::Page,
) -> Result<crate::db::Listing<erasure::Model>> {
    let (items, total) = crate::db::page(
        db,
        erasure::Entity::find(),
        erasure::Column::Id,
        page.limit,
        page.offset,
    )
    .await?;
    Ok(crate::db::Listing::new(items, total, page))
}

/// For a process without a running server (the CLI): takes the erased items out of the
/// search index and the vector graph now. When a server holds the index, it does this
/// itself from the queued jobs; this says so and returns false.
pub async fn apply_now(config: &Config, db: &DatabaseConnection, erased: &[i64]) -> Result<bool> {
    let sync = match IndexSync::open(config, db.clone()).await {
        Ok(s) => s,
        Err(Error::Index(triage_index::Error::Locked)) => return Ok(false),
        Err(e) => return Err(e),
    };
    sync.drain_all().await?;
    sync.close().await?;
    // The server holds the graph while it holds the index: with the index free, the file
    // is nobody else's to rewrite.
    let meta = config.vectors_dir();
    if meta.exists() {
        if let Some((model, dims)) = triage_index::VectorIndex::stored_model(&meta)? {
            let graph = vector_sync::open(config, &model, dims)?;
            vector_sync::remove(&graph, erased).await?;
        }
    }
    Ok(true)
}
