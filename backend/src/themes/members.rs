//! The items of a theme (or of the unthemed queue), best fitting first: the theme API and
//! the theme page both list them through [`members`]; and which theme given items are in
//! ([`placed_in`]).

use sea_orm::{
    ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect,
};
use serde::Serialize;

use crate::db::entity::item_theme;
use crate::db::items::ItemKind;
use crate::db::{Listing, Page};
use crate::Result;

/// An item as a member of a theme (or of the unthemed queue).
#[derive(Clone, Serialize, utoipa::ToSchema)]
pub struct MemberView {
    pub item_id: i64,
    pub kind: ItemKind,
    pub source_id: i64,
    pub subject: Option<String>,
    pub text: String,
    pub similarity: Option<f64>,
    pub placed_by_person: bool,
    pub created_at: chrono::DateTime<chrono::Utc>,
}

/// Items placed in `theme_id` (`None`: the unthemed queue), best fitting first.
pub async fn members<C: ConnectionTrait>(
    db: &C,
    theme_id: Option<i64>,
    page: Page,
) -> Result<Listing<MemberView>> {
    let mut select = item_theme::Entity::find();
    select = match theme_id {
        Some(t) => select.filter(item_theme::Column::ThemeId.eq(t)),
        None => select.filter(item_theme::Column::ThemeId.is_null()),
    };
    let total = select.clone().count(db).await?;
    let placements = select
        .order_by_desc(item_theme::Column::Similarity)
        .order_by_asc(item_theme::Column::ItemId)
        .limit(page.limit)
        .offset(page.offset)
        .all(db)
        .await?;
    let ids: Vec<i64> = placements.iter().map(|p| p.item_id).collect();
    let items = crate::db::items::by_ids(db, &ids).await?;
    let items = placements
        .into_iter()
        .filter_map(|p| {
            let i = items.get(&p.item_id)?;
            Some(MemberView {
                item_id: i.id,
                kind: i.kind,
                source_id: i.source_id,
                subject: i.subject.clone(),
                text: i.text.clone(),
                similarity: p.similarity,
                placed_by_person: p.by_human,
                created_at: i.created_at,
            })
        })
        .collect();
    Ok(Listing::new(items, total, page))
}

/// The theme each of `items` is in, with its label, by item id (unthemed items are left
/// out): the "theme" links of search results and the item page.
pub async fn placed_in<C: ConnectionTrait>(
    db: &C,
    items: &[i64],
) -> Result<std::collections::HashMap<i64, (i64, String)>> {
    let placements = item_theme::Entity::find()
        .filter(item_theme::Column::ItemId.is_in(items.to_vec()))
        .filter(item_theme::Column::ThemeId.is_not_null())
        .all(db)
        .await?;
    let ids: Vec<i64> = placements.iter().filter_map(|p| p.theme_id).collect();
    let labels = crate::themes::edits::labels_of(db, &ids).await?;
    Ok(placements
        .into_iter()
        .filter_map(|p| {
            let t = p.theme_id?;
            Some((p.item_id, (t, labels.get(&t)?.clone())))
        })
        .collect())
}

/// The theme of each of `items` that is in one, by item id (no labels read: for edits and
/// suggestions that only need ids).
pub async fn themes_of<C: ConnectionTrait>(
    db: &C,
    items: &[i64],
) -> Result<std::collections::HashMap<i64, i64>> {
    let mut out = std::collections::HashMap::new();
    for chunk in items.chunks(1000) {
        // Unthemed items have a row without a theme.
        let rows: Vec<(i64, Option<i64>)> = item_theme::Entity::find()
            .select_only()
            .column(item_theme::Column::ItemId)
            .column(item_theme::Column::ThemeId)
            .filter(item_theme::Column::ItemId.is_in(chunk.to_vec()))
            .into_tuple()
            .all(db)
            .await?;
        out.extend(rows.into_iter().filter_map(|(i, t)| Some((i, t?))));
    }
    Ok(out)
}
