//! Placing new items in existing themes as they arrive.
//!
//! An item joins the theme whose centroid is most similar, if that similarity reaches the
//! theme threshold; otherwise it is recorded as unthemed, waiting for the next rebuild or a
//! person. Placements made by people are never touched.

use std::collections::HashSet;

use chrono::Utc;
use sea_orm::sea_query::{Expr, OnConflict};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QuerySelect,
};

use super::discover::DiscoverOptions;
use crate::db::embeddings::from_bytes;
use crate::db::entity::{item_theme, theme};
use crate::embed::vectors::{dot, Vectors};
use crate::Result;

/// Live themes (not merged away) and their centroids, in the same order.
pub async fn live_centroids<C: ConnectionTrait>(db: &C) -> Result<(Vec<i64>, Vectors)> {
    let rows = theme::Entity::find()
        .filter(theme::Column::MergedInto.is_null())
        .all(db)
        .await?;
    let dims = rows.first().map_or(0, |t| t.centroid.len() / 4);
    let mut data = Vec::with_capacity(rows.len() * dims);
    let mut ids = Vec::with_capacity(rows.len());
    for t in rows.iter().filter(|t| t.centroid.len() / 4 == dims) {
        ids.push(t.id);
        data.extend(from_bytes(&t.centroid));
    }
    Ok((ids, Vectors { dims, data }))
}

/// Records the theme (or none) of newly embedded items.
pub async fn on_arrival<C: ConnectionTrait>(db: &C, vectors: &[(i64, Vec<f32>)]) -> Result<()> {
    if vectors.is_empty() {
        return Ok(());
    }
    let (theme_ids, centroids) = live_centroids(db).await?;
    let threshold = DiscoverOptions::default().min_similarity;
    let item_ids: Vec<i64> = vectors.iter().map(|(id, _)| *id).collect();
    let human: HashSet<i64> = item_theme::Entity::find()
        .select_only()
        .column(item_theme::Column::ItemId)
        .filter(item_theme::Column::ItemId.is_in(item_ids))
        .filter(item_theme::Column::ByHuman.eq(true))
        .into_tuple::<i64>()
        .all(db)
        .await?
        .into_iter()
        .collect();
    let now = Utc::now();
    let mut rows = Vec::new();
    for (item_id, v) in vectors.iter().filter(|(id, _)| !human.contains(id)) {
        let best = (0..centroids.len())
            .map(|c| (c, dot(centroids.row(c), v)))
            .fold(None, |best: Option<(usize, f32)>, cur| match best {
                Some(b) if b.1 >= cur.1 => Some(b),
                _ => Some(cur),
            });
        let (theme_id, similarity) = match best {
            Some((c, sim)) if sim >= threshold => (Some(theme_ids[c]), Some(f64::from(sim))),
            _ => (None, None),
        };
        rows.push(placement(*item_id, theme_id, similarity, false, now));
    }
    save_placements(db, rows).await?;
    // Search filters by theme: every index must learn the new placements; and a replica
    // that does not embed learns from the same job that the item has a vector now.
    crate::db::outbox::enqueue(db, crate::db::outbox::TOPIC_INDEX, &item_ids_of(vectors)).await
}

/// Creates a theme row. `label` is the generated label (a rebuild fills it in later when
/// empty); `custom_label` is a name a person gave.
pub async fn create_theme<C: ConnectionTrait>(
    db: &C,
    label: String,
    custom_label: Option<String>,
    keywords: String,
    centroid: &[f32],
    size: usize,
) -> Result<theme::Model> {
    use sea_orm::ActiveModelTrait;
    let now = Utc::now();
    let made = theme::ActiveModel {
        label: Set(label),
        custom_label: Set(custom_label),
        keywords: Set(keywords),
        centroid: Set(crate::db::embeddings::to_bytes(centroid)),
        size: Set(size as i32),
        locked: Set(false),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    }
    .insert(db)
    .await?;
    // Webhooks out, in the transaction that made the theme.
    use crate::db::entity::webhook_subscription::EventType;
    let label = made.display_label().to_string();
    crate::db::webhooks::emit(
        db,
        &[crate::db::webhooks::Event::new(
            EventType::ThemeCreated,
            made.id,
            serde_json::json!({"theme_id": made.id, "label": label, "size": made.size}),
            format!("New theme: \"{label}\" ({} items)", made.size),
        )],
    )
    .await?;
    Ok(made)
}

fn item_ids_of(vectors: &[(i64, Vec<f32>)]) -> Vec<i64> {
    vectors.iter().map(|(id, _)| *id).collect()
}

/// One item's placement.
pub fn placement(
    item_id: i64,
    theme_id: Option<i64>,
    similarity: Option<f64>,
    by_human: bool,
    at: chrono::DateTime<Utc>,
) -> item_theme::ActiveModel {
    item_theme::ActiveModel {
        item_id: Set(item_id),
        theme_id: Set(theme_id),
        similarity: Set(similarity),
        by_human: Set(by_human),
        assigned_at: Set(at),
    }
}

/// Writes placements, replacing earlier machine placements of the same items, and moves the
/// tallies with them. Call it inside a transaction: the tallies' snapshot, the placements and
/// the commit must not interleave with another writer.
pub async fn save_placements<C: ConnectionTrait>(
    db: &C,
    rows: Vec<item_theme::ActiveModel>,
) -> Result<()> {
    let ids: Vec<i64> = rows
        .iter()
        .filter_map(|r| r.item_id.clone().take())
        .collect();
    let snap = crate::db::tallies::snapshot(db, &ids).await?;
    write_placements(db, rows).await?;
    crate::db::tallies::commit(db, snap).await
}

/// Writes placements without touching the tallies: for a caller that keeps them itself (a
/// rebuild moves every changed item at once with
/// [`tallies::retheme`](crate::db::tallies::retheme)).
pub async fn write_placements<C: ConnectionTrait>(
    db: &C,
    rows: Vec<item_theme::ActiveModel>,
) -> Result<()> {
    for chunk in crate::db::chunks_for(&rows, 5) {
        item_theme::Entity::insert_many(chunk.to_vec())
            .on_conflict(
                OnConflict::column(item_theme::Column::ItemId)
                    .update_columns([
                        item_theme::Column::ThemeId,
                        item_theme::Column::Similarity,
                        item_theme::Column::ByHuman,
                        item_theme::Column::AssignedAt,
                    ])
                    .to_owned(),
            )
            .exec_without_returning(db)
            .await?;
    }
    Ok(())
}

/// Keeps theme sizes in step after placements changed.
pub async fn refresh_sizes<C: ConnectionTrait>(db: &C) -> Result<()> {
    let counts: Vec<(i64, i64)> = item_theme::Entity::find()
        .select_only()
        .column(item_theme::Column::ThemeId)
        .column_as(Expr::col(item_theme::Column::ItemId).count(), "n")
        .filter(item_theme::Column::ThemeId.is_not_null())
        .group_by(item_theme::Column::ThemeId)
        .into_tuple()
        .all(db)
        .await?;
    for (theme_id, n) in counts {
        theme::Entity::update_many()
            .col_expr(theme::Column::Size, Expr::value(n as i32))
            .filter(theme::Column::Id.eq(theme_id))
            .exec(db)
            .await?;
    }
    Ok(())
}
