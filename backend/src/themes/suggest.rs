//! "Have we seen this before?" for a draft: the themes whose centroids are closest to the
//! draft's embedding, and the most similar past items of one kind.
//!
//! Candidates for similar items are the members of the closest themes plus any the caller
//! adds (the search index's keyword matches), so the cost stays bounded by a few themes'
//! sizes instead of growing with every item ever stored.

use std::collections::HashMap;
use std::sync::Arc;

use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QuerySelect};

use super::assign::live_centroids;
use crate::db::embeddings;
use crate::db::entity::{feedback_item, item_theme};
use crate::embed::vectors::dot;
use crate::embed::Embedder;
use crate::{Error, Result};

/// Below this cosine similarity a theme is not suggested.
const MIN_THEME_SIMILARITY: f32 = 0.35;
/// Below this an item is not "similar".
const MIN_ITEM_SIMILARITY: f32 = 0.45;
/// At most this many members of each close theme are compared.
const MEMBERS_PER_THEME: u64 = 2000;

/// A theme close to a draft or an item.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct ThemeMatch {
    pub id: i64,
    pub label: String,
    /// Cosine similarity of the item (or draft) to the theme's centre.
    pub similarity: f32,
}

/// A page of the unthemed queue and the suggested theme of its items: what the API and
/// the unthemed page show.
pub async fn unthemed<C: ConnectionTrait>(
    db: &C,
    page: crate::db::Page,
) -> Result<(
    crate::db::Listing<super::members::MemberView>,
    HashMap<i64, ThemeMatch>,
)> {
    let listing = super::members::members(db, None, page).await?;
    let ids: Vec<i64> = listing.items.iter().map(|i| i.item_id).collect();
    let suggested = for_items(db, &ids).await?;
    Ok((listing, suggested))
}

/// For items of the unthemed queue: the closest theme with items of each (by its centre),
/// when at least as close as a draft's suggestions must be — a suggestion a person confirms
/// in one click. Items without a vector yet get none.
pub async fn for_items<C: ConnectionTrait>(
    db: &C,
    items: &[i64],
) -> Result<HashMap<i64, ThemeMatch>> {
    let vectors = embeddings::for_items(db, crate::embed::minilm::MODEL_NAME, items).await?;
    if vectors.is_empty() {
        return Ok(HashMap::new());
    }
    let (ids, centroids) = live_centroids(db).await?;
    // Themes people can see (live, with items), with their names.
    let shown: HashMap<i64, String> = super::edits::live_labels(db).await?.into_iter().collect();
    let mut out = HashMap::with_capacity(vectors.len());
    for (item, v) in vectors {
        let best = (0..centroids.len())
            .filter(|&c| shown.contains_key(&ids[c]) && centroids.dims == v.len())
            .map(|c| (ids[c], dot(&v, centroids.row(c))))
            .max_by(|a, b| a.1.total_cmp(&b.1));
        if let Some((id, similarity)) = best.filter(|(_, s)| *s >= MIN_THEME_SIMILARITY) {
            let label = shown[&id].clone();
            out.insert(
                item,
                ThemeMatch {
                    id,
                    label,
                    similarity,
                },
            );
        }
    }
    Ok(out)
}

#[derive(Debug, Clone, Default)]
pub struct Suggestions {
    /// Closest first, at most `max_themes`.
    pub themes: Vec<ThemeMatch>,
    /// Item ids with their similarity, closest first.
    pub items: Vec<(i64, f32)>,
}

pub async fn for_draft<C: ConnectionTrait>(
    db: &C,
    embedder: Arc<dyn Embedder + Sync>,
    text: &str,
    kind: &str,
    extra_candidates: &[i64],
    max_themes: usize,
    max_items: usize,
) -> Result<Suggestions> {
    let text = text.to_string();
    let model = embedder.model_name().to_string();
    let query = tokio::task::spawn_blocking(move || embedder.embed_batch(&[text.as_str()]))
        .await
        .map_err(Error::failed("embedding task failed"))??
        .pop()
        .unwrap_or_default();

    let (ids, centroids) = live_centroids(db).await?;
    let mut close: Vec<(i64, f32)> = (0..centroids.len())
        .map(|i| (ids[i], dot(&query, centroids.row(i))))
        .filter(|(_, s)| *s >= MIN_THEME_SIMILARITY)
        .collect();
    close.sort_by(|a, b| b.1.total_cmp(&a.1));
    close.truncate(max_themes);
    let close_ids: Vec<i64> = close.iter().map(|(id, _)| *id).collect();
    let labels = super::edits::labels_of(db, &close_ids).await?;
    let themes = close
        .into_iter()
        .filter_map(|(id, similarity)| {
            Some(ThemeMatch {
                id,
                label: labels.get(&id)?.clone(),
                similarity,
            })
        })
        .collect();

    let members: Vec<i64> = item_theme::Entity::find()
        .select_only()
        .column(item_theme::Column::ItemId)
        .filter(item_theme::Column::ThemeId.is_in(close_ids))
        .limit(MEMBERS_PER_THEME * max_themes as u64)
        .into_tuple()
        .all(db)
        .await?;
    let mut candidates = Vec::new();
    for chunk in members.chunks(1000) {
        let of_kind: Vec<i64> = feedback_item::Entity::find()
            .select_only()
            .column(feedback_item::Column::Id)
            .filter(feedback_item::Column::Id.is_in(chunk.to_vec()))
            .filter(feedback_item::Column::Kind.eq(kind))
            .into_tuple()
            .all(db)
            .await?;
        candidates.extend(of_kind);
    }
    candidates.extend_from_slice(extra_candidates);
    candidates.sort_unstable();
    candidates.dedup();
    let mut items: Vec<(i64, f32)> = embeddings::for_items(db, &model, &candidates)
        .await?
        .into_iter()
        .map(|(id, v)| (id, dot(&query, &v)))
        .filter(|(_, s)| *s >= MIN_ITEM_SIMILARITY)
        .collect();
    items.sort_by(|a, b| b.1.total_cmp(&a.1));
    items.truncate(max_items);
    Ok(Suggestions { themes, items })
}
