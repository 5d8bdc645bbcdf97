//! Stored item embeddings.
//!
//! A vector is kept with the name of the model that made it. Readers ask for one model's
//! vectors only, so after a model change the old vectors are simply not used, and
//! `triage reindex --embeddings` (or the worker, item by item) replaces them.

use chrono::Utc;
use sea_orm::sea_query::OnConflict;
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter,
    QueryOrder, QuerySelect,
};

use super::entity::embedding;
use crate::embed::vectors::Compact;
use crate::Result;

pub fn to_bytes(v: &[f32]) -> Vec<u8> {
    v.iter().flat_map(|x| x.to_le_bytes()).collect()
}

pub fn from_bytes(b: &[u8]) -> Vec<f32> {
    b.chunks_exact(4)
        .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect()
}

/// Stores (or replaces) the vectors of these items.
pub async fn upsert<C: ConnectionTrait>(
    db: &C,
    model: &str,
    precision: &str,
    rows: &[(i64, Vec<f32>)],
) -> Result<()> {
    let now = Utc::now();
    let models: Vec<embedding::ActiveModel> = rows
        .iter()
        .map(|(item_id, v)| embedding::ActiveModel {
            item_id: Set(*item_id),
            model: Set(model.to_string()),
            precision: Set(precision.to_string()),
            dims: Set(v.len() as i32),
            vector: Set(to_bytes(v)),
            created_at: Set(now),
        })
        .collect();
    for chunk in super::chunks_for(&models, 6) {
        embedding::Entity::insert_many(chunk.to_vec())
            .on_conflict(
                OnConflict::column(embedding::Column::ItemId)
                    .update_columns([
                        embedding::Column::Model,
                        embedding::Column::Precision,
                        embedding::Column::Dims,
                        embedding::Column::Vector,
                        embedding::Column::CreatedAt,
                    ])
                    .to_owned(),
            )
            .exec_without_returning(db)
            .await?;
    }
    Ok(())
}

/// Which of these items already have a vector from `model`.
pub async fn ids_with_model<C: ConnectionTrait>(
    db: &C,
    model: &str,
    item_ids: &[i64],
) -> Result<std::collections::HashSet<i64>> {
    Ok(embedding::Entity::find()
        .select_only()
        .column(embedding::Column::ItemId)
        .filter(embedding::Column::ItemId.is_in(item_ids.to_vec()))
        .filter(embedding::Column::Model.eq(model))
        .into_tuple::<i64>()
        .all(db)
        .await?
        .into_iter()
        .collect())
}

/// Up to `limit` ids of items with a vector from `model`, after `after`, in id order.
pub async fn ids_after<C: ConnectionTrait>(
    db: &C,
    model: &str,
    after: i64,
    limit: u64,
) -> Result<Vec<i64>> {
    Ok(embedding::Entity::find()
        .select_only()
        .column(embedding::Column::ItemId)
        .filter(embedding::Column::Model.eq(model))
        .filter(embedding::Column::ItemId.gt(after))
        .order_by_asc(embedding::Column::ItemId)
        .limit(limit)
        .into_tuple::<i64>()
        .all(db)
        .await?)
}

/// Number of items with a vector from `model`.
pub async fn count<C: ConnectionTrait>(db: &C, model: &str) -> Result<u64> {
    Ok(embedding::Entity::find()
        .filter(embedding::Column::Model.eq(model))
        .count(db)
        .await?)
}

/// Every vector of `model`, in item id order, read in pages and kept compact (a byte per
/// component, see [`Compact`]): (item ids, vectors). A million items take 384 MB.
pub async fn load_all<C: ConnectionTrait>(db: &C, model: &str) -> Result<(Vec<i64>, Compact)> {
    // Sized once: growing by doubling would hold two copies at the end.
    let expected = count(db, model).await? as usize;
    let mut ids = Vec::with_capacity(expected);
    let mut out = Compact::default();
    let mut after = i64::MIN;
    loop {
        let page: Vec<(i64, i32, Vec<u8>)> = embedding::Entity::find()
            .select_only()
            .columns([
                embedding::Column::ItemId,
                embedding::Column::Dims,
                embedding::Column::Vector,
            ])
            .filter(embedding::Column::Model.eq(model))
            .filter(embedding::Column::ItemId.gt(after))
            .order_by_asc(embedding::Column::ItemId)
            .limit(10_000)
            .into_tuple()
            .all(db)
            .await?;
        let Some(last) = page.last() else { break };
        after = last.0;
        for (id, dims, bytes) in page {
            if ids.is_empty() {
                out = Compact::with_capacity(dims as usize, expected);
            }
            ids.push(id);
            out.push(&from_bytes(&bytes));
        }
    }
    Ok((ids, out))
}

/// The vectors of some items (those that have one from `model`).
pub async fn for_items<C: ConnectionTrait>(
    db: &C,
    model: &str,
    item_ids: &[i64],
) -> Result<Vec<(i64, Vec<f32>)>> {
    let mut out = Vec::new();
    for chunk in item_ids.chunks(1000) {
        let rows = embedding::Entity::find()
            .filter(embedding::Column::ItemId.is_in(chunk.to_vec()))
            .filter(embedding::Column::Model.eq(model))
            .all(db)
            .await?;
        out.extend(rows.into_iter().map(|e| (e.item_id, from_bytes(&e.vector))));
    }
    Ok(out)
}
