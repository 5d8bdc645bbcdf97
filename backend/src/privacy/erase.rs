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
use crate::db::entity::{consent_event, customer, feedback_item, item_theme, theme};
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
    use sea_orm::{ColumnTrait, IntoActiveModel, QueryFilter, QuerySelect};
    for &id in theme_ids {
        let Some(t) = theme::Entity::find_by_id(id).one(db).await? else {
            continue;
        };
        let members: Vec<i64> = item_theme::Entity::find()
            .select_only()
            .column(item_theme::Column::ItemId)
            .filter(item_theme::Column::ThemeId.eq(id))
            .into_tuple()
            .all(db)
            .await?;
        let mut texts = Vec::new();
        for chunk in members.chunks(1000) {
            for i in feedback_item::Entity::find()
                .filter(feedback_item::Column::Id.is_in(chunk.to_vec()))
                .all(db)
                .await?
            {
                texts.push(format!("{} {}", i.subject.unwrap_or_default(), i.text).to_lowercase());
            }
        }
        let used = |w: &str| {
            let w = w.to_lowercase();
            texts.iter().any(|t| t.contains(&w))
        };
        let keywords = t.keyword_list();
        let kept: Vec<String> = keywords.iter().filter(|k| used(k)).cloned().collect();
        let label_gone = t.custom_label.is_none() && !used(&t.label);
        if kept.len() == keywords.len() && !label_gone {
            continue;
        }
        let mut am = t.clone().into_active_model();
        if label_gone {
            am.label = Set(crate::themes::labels::label(&kept));
        }
        am.keywords = Set(serde_json::to_string(&kept).unwrap_or_else(|_| "[]".into()));
        am.update(db).await?;
    }
    Ok(())
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
