//! The unified `feedback_items` table: writes from intake, reads for the index (and, later,
//! for embeddings and themes).

use sea_orm::{
    ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder,
    QuerySelect, TryInsertResult,
};

use super::entity::{customer, feedback_item, item_theme};
use crate::Result;

pub use feedback_item::{ItemKind, Model as Item};

/// Inserts new items and returns them with their ids.
pub async fn insert_many<C: ConnectionTrait>(
    db: &C,
    models: Vec<feedback_item::ActiveModel>,
) -> Result<Vec<Item>> {
    let mut out = Vec::with_capacity(models.len());
    for chunk in super::chunks_for(&models, 9) {
        let r = feedback_item::Entity::insert_many(chunk.to_vec())
            .do_nothing()
            .exec_with_returning_many(db)
            .await?;
        if let TryInsertResult::Inserted(rows) = r {
            out.extend(rows);
        }
    }
    Ok(out)
}

/// Items by id (missing ids are absent), for views that show a page of them.
pub async fn by_ids<C: ConnectionTrait>(
    db: &C,
    ids: &[i64],
) -> Result<std::collections::HashMap<i64, Item>> {
    let mut out = std::collections::HashMap::with_capacity(ids.len());
    for chunk in ids.chunks(1000) {
        for i in feedback_item::Entity::find()
            .filter(feedback_item::Column::Id.is_in(chunk.to_vec()))
            .all(db)
            .await?
        {
            out.insert(i.id, i);
        }
    }
    Ok(out)
}

/// Ids of every item contributed by these customers.
pub async fn ids_of_customers<C: ConnectionTrait>(db: &C, customers: &[i64]) -> Result<Vec<i64>> {
    if customers.is_empty() {
        return Ok(Vec::new());
    }
    Ok(feedback_item::Entity::find()
        .select_only()
        .column(feedback_item::Column::Id)
        .filter(feedback_item::Column::CustomerId.is_in(customers.to_vec()))
        .into_tuple()
        .all(db)
        .await?)
}

/// An item with its customer's segment and its theme, as the index needs it.
pub struct ItemWithSegment {
    pub item: Item,
    pub segment: Option<String>,
    pub theme: Option<i64>,
}

/// Fills in the theme of each item.
async fn with_themes<C: ConnectionTrait>(
    db: &C,
    mut rows: Vec<ItemWithSegment>,
) -> Result<Vec<ItemWithSegment>> {
    let ids: Vec<i64> = rows.iter().map(|r| r.item.id).collect();
    let mut themes = std::collections::HashMap::new();
    for chunk in ids.chunks(1000) {
        for p in item_theme::Entity::find()
            .filter(item_theme::Column::ItemId.is_in(chunk.to_vec()))
            .all(db)
            .await?
        {
            themes.insert(p.item_id, p.theme_id);
        }
    }
    for r in &mut rows {
        r.theme = themes.get(&r.item.id).copied().flatten();
    }
    Ok(rows)
}

/// Loads items by id (missing ids are simply absent from the result).
pub async fn with_segments<C: ConnectionTrait>(
    db: &C,
    ids: &[i64],
) -> Result<Vec<ItemWithSegment>> {
    let mut out = Vec::with_capacity(ids.len());
    for chunk in ids.chunks(1000) {
        let rows = feedback_item::Entity::find()
            .filter(feedback_item::Column::Id.is_in(chunk.to_vec()))
            .find_also_related(customer::Entity)
            .all(db)
            .await?;
        out.extend(rows.into_iter().map(into_with_segment));
    }
    with_themes(db, out).await
}

/// The next page of items after `after_id`, in id order (for full rebuilds).
pub async fn page_after<C: ConnectionTrait>(
    db: &C,
    after_id: i64,
    limit: u64,
) -> Result<Vec<ItemWithSegment>> {
    let rows = feedback_item::Entity::find()
        .filter(feedback_item::Column::Id.gt(after_id))
        .order_by_asc(feedback_item::Column::Id)
        .limit(limit)
        .find_also_related(customer::Entity)
        .all(db)
        .await?;
    with_themes(db, rows.into_iter().map(into_with_segment).collect()).await
}

fn into_with_segment((item, c): (Item, Option<customer::Model>)) -> ItemWithSegment {
    ItemWithSegment {
        item,
        segment: c.and_then(|c| c.segment),
        theme: None,
    }
}

pub async fn count<C: ConnectionTrait>(db: &C) -> Result<u64> {
    Ok(feedback_item::Entity::find().count(db).await?)
}

/// The unified item made from a given source row.
pub async fn by_source<C: ConnectionTrait>(
    db: &C,
    kind: ItemKind,
    source_id: i64,
) -> Result<Option<Item>> {
    Ok(feedback_item::Entity::find()
        .filter(feedback_item::Column::Kind.eq(kind))
        .filter(feedback_item::Column::SourceId.eq(source_id))
        .one(db)
        .await?)
}

/// Unified item ids for source rows of one kind: source id → item id.
pub async fn ids_by_source<C: ConnectionTrait>(
    db: &C,
    kind: ItemKind,
    source_ids: &[i64],
) -> Result<std::collections::HashMap<i64, i64>> {
    if source_ids.is_empty() {
        return Ok(Default::default());
    }
    let rows: Vec<(i64, i64)> = feedback_item::Entity::find()
        .select_only()
        .column(feedback_item::Column::SourceId)
        .column(feedback_item::Column::Id)
        .filter(feedback_item::Column::Kind.eq(kind))
        .filter(feedback_item::Column::SourceId.is_in(source_ids.to_vec()))
        .into_tuple()
        .all(db)
        .await?;
    Ok(rows.into_iter().collect())
}
