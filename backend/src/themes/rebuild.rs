//! `triage themes rebuild`: re-cluster every embedded item, keeping what people decided.
//!
//! * Items a person placed (moved, split off) and the members of locked themes are not
//!   re-clustered; everything else is.
//! * Theme ids are stable: each new cluster takes the id of the old theme it shares most
//!   members with (Jaccard overlap ≥ [`MIN_OVERLAP`], greedily, best pairs first), or,
//!   failing that, of an old theme whose centroid is nearly the same (cosine ≥
//!   [`MIN_CENTROID_SIMILARITY`]). A theme that was merged away stands for the theme it was
//!   merged into, so merges survive too; a renamed theme keeps its name because it keeps
//!   its id — also when a coarser cut puts it inside a larger cluster: a renamed theme
//!   continues the cluster holding most of its members before any other match.
//! * Labels, keywords, centroids and representative quotes are then recomputed for every
//!   live theme from all its members, and items whose theme changed are re-indexed (search
//!   filters by theme).
//! * People keep editing while the clustering runs ([`plan`], no transaction); the writes
//!   ([`apply`]) re-read inside their transaction and leave alone whatever was edited in
//!   between, so a concurrent move, split, merge or lock is never overwritten.

use std::collections::{HashMap, HashSet};
use std::time::Instant;

use chrono::Utc;
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseConnection,
    EntityTrait, IntoActiveModel, QueryFilter, QueryOrder, QuerySelect,
};
use serde::Serialize;

use super::assign::{create_theme, placement, refresh_sizes, write_placements};
use super::discover::{discover, hierarchy, DiscoverOptions};
use super::granularity::{self, Tree};
use super::{areas, labels, teach};
use crate::db::embeddings::{self, to_bytes};
use crate::db::entity::{feedback_item, item_theme, theme};
use crate::db::outbox;
use crate::embed::vectors::{closest, dot, normalize, Compact, Rows, Subset, Vectors};
use crate::embed::{embed_sorted, SharedEmbedder};
use crate::Result;

pub const MIN_OVERLAP: f64 = 0.2;
pub const MIN_CENTROID_SIMILARITY: f32 = 0.85;
/// A placement that keeps its theme is rewritten only when its similarity moved by this
/// much (the pages show two decimals; compact vectors round to about 0.001).
pub const SIMILARITY_STEP: f64 = 0.002;
/// Placements written per statement batch.
const WRITE_BLOCK: usize = 50_000;

#[derive(Debug, Clone, Serialize)]
pub struct RebuildReport {
    pub items: usize,
    pub themes: usize,
    pub unthemed: usize,
    /// Clusters that kept an existing theme id.
    pub kept_ids: usize,
    pub new_themes: usize,
    /// Items whose theme this rebuild changed (a re-run over unchanged items: 0).
    pub moved: usize,
    pub seconds: f64,
}

/// What a rebuild read and found, before it writes anything: the clustering of the items
/// that were free when it started, and the old theme each cluster continues.
pub struct Plan {
    started: Instant,
    ids: Vec<i64>,
    vectors: Compact,
    /// Theme of every item when the rebuild started.
    before: HashMap<i64, Option<i64>>,
    /// Rows of `ids` that were free to re-cluster (not placed by a person, not locked).
    free: Vec<usize>,
    found: super::discover::Discovery,
    /// Per cluster, the old theme id it continues.
    matched: Vec<Option<i64>>,
    /// The merge tree (automatic count), stored for the Teach page: the item id of every
    /// sample position, the tree, the default cut.
    tree: Option<(Vec<i64>, Tree, f64)>,
    model: String,
}

pub async fn rebuild(
    db: &DatabaseConnection,
    model: &str,
    opts: &DiscoverOptions,
    embedder: Option<SharedEmbedder>,
) -> Result<RebuildReport> {
    let plan = plan(db, model, opts).await?;
    apply(db, plan, embedder).await
}

/// Reads every embedded item, its placement and the themes, and clusters the free items —
/// the slow part, done outside any transaction, so people keep editing meanwhile.
pub async fn plan(db: &DatabaseConnection, model: &str, opts: &DiscoverOptions) -> Result<Plan> {
    let started = Instant::now();
    let (ids, vectors) = embeddings::load_all(db, model).await?;
    tracing::info!(
        items = ids.len(),
        seconds = started.elapsed().as_secs_f64(),
        "rebuild: vectors read"
    );
    let placements: HashMap<i64, item_theme::Model> = item_theme::Entity::find()
        .all(db)
        .await?
        .into_iter()
        .map(|p| (p.item_id, p))
        .collect();
    let themes = all_themes(db).await?;
    let free: Vec<usize> = (0..ids.len())
        .filter(|&i| !is_fixed(placements.get(&ids[i]), &themes))
        .collect();
    // The team's answers choose the cut; the free items they are about are in the sample.
    // (Items a person placed stay out of the clustering, as before: a split-off theme keeps
    // exactly what the person put in it; their answers count once such items are free.)
    let answers = teach::active(db).await?;
    let answered: HashSet<i64> = answers.iter().flat_map(|a| [a.item_a, a.item_b]).collect();
    let row_of: HashMap<i64, usize> = free
        .iter()
        .enumerate()
        .filter(|(_, &i)| answered.contains(&ids[i]))
        .map(|(r, &i)| (ids[i], r))
        .collect();
    let mut o = opts.clone();
    o.constraints = teach::constraints(&answers, |id| row_of.get(&id).copied());
    // Clustering is seconds of CPU: off the async threads. The free items are a view of
    // the vectors, not a copy.
    let step = Instant::now();
    let (vectors, free, found, taught) = tokio::task::spawn_blocking(move || {
        let subset = Subset {
            rows: &vectors,
            indices: &free,
        };
        let (found, taught) = if o.clusters.is_some() {
            (discover(&subset, &o), None)
        } else {
            let h = hierarchy(&subset, &o);
            let on = teach::evidence(
                &h.tree,
                |id| row_of.get(&id).and_then(|&r| h.position(r)),
                &answers,
            );
            let g = granularity::choose(&h.tree, &on.evidence);
            let found = h.discovery(&subset, g.merges, &o);
            (found, Some((h.sample, h.tree, g.merges, on.evidence.len())))
        };
        (vectors, free, found, taught)
    })
    .await
    .map_err(crate::Error::failed("theme discovery failed"))?;
    tracing::info!(
        free = free.len(),
        themes = found.themes,
        merges = taught.as_ref().map(|t| t.2),
        answers = taught.as_ref().map(|t| t.3),
        seconds = step.elapsed().as_secs_f64(),
        "rebuild: themes discovered"
    );
    let tree = taught.map(|(sample, tree, _, _)| {
        let items = sample.iter().map(|&r| ids[free[r]]).collect();
        (items, tree, opts.same_theme)
    });

    // Members of each new cluster, and of each old theme (machine placements of free items).
    let mut clusters: Vec<Vec<usize>> = vec![Vec::new(); found.themes];
    for (pos, a) in found.assignments.iter().enumerate() {
        if let Some(c) = a {
            clusters[*c].push(free[pos]);
        }
    }
    let mut old_members: HashMap<i64, HashSet<i64>> = HashMap::new();
    let mut old_of: HashMap<i64, i64> = HashMap::new();
    for &i in &free {
        if let Some(t) = placements.get(&ids[i]).and_then(|p| p.theme_id) {
            old_members
                .entry(resolve(&themes, t))
                .or_default()
                .insert(ids[i]);
            old_of.insert(ids[i], resolve(&themes, t));
        }
    }
    let candidates: Vec<i64> = themes
        .values()
        .filter(|t| t.merged_into.is_none() && !t.locked)
        .map(|t| t.id)
        .collect();
    let matched = match_ids(
        &ids,
        &clusters,
        &found.centroids,
        &old_members,
        &old_of,
        &themes,
        &candidates,
    );
    let before = placements
        .into_iter()
        .map(|(item, p)| (item, p.theme_id))
        .collect();
    Ok(Plan {
        started,
        ids,
        vectors,
        before,
        free,
        found,
        matched,
        tree,
        model: model.to_string(),
    })
}

/// Writes a plan in one transaction. What people did while it was computed wins: the
/// placements and themes are read again inside the transaction (which holds the write
/// lock, so no edit can slip in between), and an item that a person has placed since, or
/// whose theme was locked since, is left as it is; a continued theme that was merged away
/// since stands for the theme it went into, and one that was locked since is not added to.
pub async fn apply(
    db: &DatabaseConnection,
    plan: Plan,
    embedder: Option<SharedEmbedder>,
) -> Result<RebuildReport> {
    let Plan {
        started,
        ids,
        vectors,
        before,
        free,
        found,
        matched,
        tree,
        model,
    } = plan;
    let txn = crate::db::begin_write(db).await?;
    if txn.get_database_backend() == sea_orm::DbBackend::Postgres {
        // Edits write these tables in their own transactions: they wait for this one rather
        // than commit between the re-read below and the writes after it. Readers never wait.
        txn.execute_unprepared("LOCK TABLE themes, item_themes IN SHARE ROW EXCLUSIVE MODE")
            .await?;
    }
    let themes = all_themes(&txn).await?;
    // All of them (a filter by the free items' ids would pass SQLite's bind-variable limit).
    let now_placed: HashMap<i64, item_theme::Model> = item_theme::Entity::find()
        .all(&txn)
        .await?
        .into_iter()
        .map(|p| (p.item_id, p))
        .collect();
    let now = Utc::now();
    let mut theme_of_cluster = Vec::with_capacity(matched.len());
    let (mut kept, mut created) = (0, 0);
    for (c, m) in matched.iter().enumerate() {
        let continued = m
            .map(|id| resolve(&themes, id))
            .filter(|id| themes.get(id).is_some_and(|t| !t.locked));
        match continued {
            Some(id) => {
                kept += 1;
                theme_of_cluster.push(id);
            }
            None => {
                created += 1;
                let t = create_theme(
                    &txn,
                    String::new(),
                    None,
                    "[]".into(),
                    found.centroids.row(c),
                    0,
                )
                .await?;
                theme_of_cluster.push(t.id);
            }
        }
    }
    // Only what changed is written: an item that moved (and its tallies), one whose
    // similarity to its theme moved visibly (not the tallies, which count items per theme);
    // a re-run over the same items writes next to nothing. Written a block at a time, so a
    // million placements are never all in memory; the tallies move once, at the end.
    let step = Instant::now();
    let mut moves: HashMap<i64, Option<i64>> = HashMap::new();
    let (mut pending, mut similarity_only) = (Vec::with_capacity(WRITE_BLOCK), 0usize);
    let mut changed = Vec::new();
    for (pos, a) in found.assignments.iter().enumerate() {
        let item = ids[free[pos]];
        let current = now_placed.get(&item);
        if is_fixed(current, &themes) {
            continue; // placed by a person, or locked in, while the rebuild ran
        }
        let theme_id = a.map(|c| theme_of_cluster[c]);
        let similarity = a.map(|c| f64::from(vectors.dot_row(free[pos], found.centroids.row(c))));
        match current {
            Some(p) if p.theme_id == theme_id => {
                let moved_by = match (similarity, p.similarity) {
                    (Some(now), Some(was)) => (now - was).abs(),
                    (None, None) => 0.0,
                    _ => f64::INFINITY,
                };
                if moved_by < SIMILARITY_STEP {
                    continue;
                }
                similarity_only += 1;
            }
            _ => {
                let was = current.map_or(before.get(&item).copied().flatten(), |p| p.theme_id);
                if was != theme_id {
                    changed.push(item);
                }
                moves.insert(item, theme_id);
            }
        }
        pending.push(placement(item, theme_id, similarity, false, now));
        if pending.len() == WRITE_BLOCK {
            write_placements(&txn, std::mem::take(&mut pending)).await?;
        }
    }
    write_placements(&txn, pending).await?;
    crate::db::tallies::retheme(&txn, &moves).await?;
    let moved_count = moves.len();
    tracing::info!(
        moved = moved_count,
        similarity_only,
        seconds = step.elapsed().as_secs_f64(),
        "rebuild: placements written"
    );
    let step = Instant::now();
    outbox::enqueue(&txn, outbox::TOPIC_INDEX, &changed).await?;
    // In the same transaction: readers never see themes without labels or sizes.
    describe_themes(&txn, &ids, &vectors, embedder).await?;
    if let Some((items, tree, default_cut)) = &tree {
        teach::save_tree(&txn, &model, items, tree, *default_cut).await?;
    }
    tracing::info!(
        seconds = step.elapsed().as_secs_f64(),
        "rebuild: themes described"
    );
    txn.commit().await?;

    let unthemed = found.assignments.iter().filter(|a| a.is_none()).count();
    Ok(RebuildReport {
        items: ids.len(),
        themes: live_count(db).await?,
        unthemed,
        kept_ids: kept,
        new_themes: created,
        moved: moved_count,
        seconds: started.elapsed().as_secs_f64(),
    })
}

async fn all_themes<C: ConnectionTrait>(db: &C) -> Result<HashMap<i64, theme::Model>> {
    Ok(theme::Entity::find()
        .all(db)
        .await?
        .into_iter()
        .map(|t| (t.id, t))
        .collect())
}

/// The theme that absorbed `id` through merges (bounded, in case of a cycle).
fn resolve(themes: &HashMap<i64, theme::Model>, mut id: i64) -> i64 {
    for _ in 0..32 {
        match themes.get(&id).and_then(|t| t.merged_into) {
            Some(next) => id = next,
            None => break,
        }
    }
    id
}

/// Placed by a person, or a member of a locked theme: not for a rebuild to move.
fn is_fixed(p: Option<&item_theme::Model>, themes: &HashMap<i64, theme::Model>) -> bool {
    p.is_some_and(|p| {
        p.by_human
            || p.theme_id
                .is_some_and(|t| themes.get(&resolve(themes, t)).is_some_and(|t| t.locked))
    })
}

/// For every new cluster, the old theme id it continues, if any.
fn match_ids(
    ids: &[i64],
    clusters: &[Vec<usize>],
    centroids: &Vectors,
    old_members: &HashMap<i64, HashSet<i64>>,
    old_of: &HashMap<i64, i64>,
    themes: &HashMap<i64, theme::Model>,
    candidates: &[i64],
) -> Vec<Option<i64>> {
    let mut pairs: Vec<(f64, usize, i64)> = Vec::new();
    for (c, members) in clusters.iter().enumerate() {
        let mut shared: HashMap<i64, usize> = HashMap::new();
        for &i in members {
            if let Some(&t) = old_of.get(&ids[i]) {
                *shared.entry(t).or_insert(0) += 1;
            }
        }
        for (t, n) in shared {
            let union = members.len() + old_members[&t].len() - n;
            let jaccard = n as f64 / union.max(1) as f64;
            // A theme a person named continues the cluster that holds most of it, before
            // any Jaccard match: when the team's answers make themes coarser, the name
            // they gave survives the merge instead of going with the smaller side.
            let held = n as f64 / old_members[&t].len().max(1) as f64;
            let named = themes.get(&t).is_some_and(|m| m.custom_label.is_some());
            let score = if named && held >= 0.5 {
                1.0 + held
            } else {
                jaccard
            };
            pairs.push((score, c, t));
        }
    }
    pairs.sort_by(|a, b| {
        b.0.total_cmp(&a.0)
            .then_with(|| a.1.cmp(&b.1))
            .then_with(|| a.2.cmp(&b.2))
    });
    let mut out: Vec<Option<i64>> = vec![None; clusters.len()];
    let mut taken: HashSet<i64> = HashSet::new();
    for (overlap, c, t) in pairs {
        if overlap >= MIN_OVERLAP
            && out[c].is_none()
            && !taken.contains(&t)
            && candidates.contains(&t)
        {
            out[c] = Some(t);
            taken.insert(t);
        }
    }
    for (c, slot) in out.iter_mut().enumerate() {
        if slot.is_some() {
            continue;
        }
        let best = candidates
            .iter()
            .filter(|t| !taken.contains(t))
            .filter_map(|t| {
                let cent = embeddings::from_bytes(&themes[t].centroid);
                (cent.len() == centroids.dims).then(|| (*t, dot(&cent, centroids.row(c))))
            })
            .max_by(|a, b| a.1.total_cmp(&b.1));
        if let Some((t, _)) = best.filter(|b| b.1 >= MIN_CENTROID_SIMILARITY) {
            *slot = Some(t);
            taken.insert(t);
        }
    }
    out
}

/// Recomputes size, centroid, keywords, label and representative item of every live theme
/// from its current members.
pub async fn describe_themes<C: ConnectionTrait, R: Rows>(
    db: &C,
    ids: &[i64],
    vectors: &R,
    embedder: Option<SharedEmbedder>,
) -> Result<()> {
    let row_of: HashMap<i64, usize> = ids.iter().enumerate().map(|(r, id)| (*id, r)).collect();
    let live: Vec<theme::Model> = theme::Entity::find()
        .filter(theme::Column::MergedInto.is_null())
        .all(db)
        .await?;
    let placements: Vec<(i64, i64)> = item_theme::Entity::find()
        .select_only()
        .columns([item_theme::Column::ItemId, item_theme::Column::ThemeId])
        .filter(item_theme::Column::ThemeId.is_not_null())
        .order_by_asc(item_theme::Column::ItemId)
        .into_tuple()
        .all(db)
        .await?;
    let mut members: HashMap<i64, Vec<i64>> = HashMap::new();
    for (item, theme) in placements {
        members.entry(theme).or_default().push(item);
    }
    // Named from a sample of each theme's members: the words and phrases that stand out
    // come through in five hundred texts as they do in fifty thousand, and a million texts
    // would be most of a rebuild's time and memory.
    let named: Vec<i64> = members
        .values()
        .flat_map(|m| spread(m, NAMING_SAMPLE))
        .collect();
    let mut texts: HashMap<i64, String> = HashMap::with_capacity(named.len());
    for chunk in named.chunks(1000) {
        for i in feedback_item::Entity::find()
            .filter(feedback_item::Column::Id.is_in(chunk.to_vec()))
            .all(db)
            .await?
        {
            texts.insert(i.id, crate::embed::item_text(&i));
        }
    }
    // Centroid and representative of every theme first: the names need the centroids.
    let shapes: Vec<(Vec<usize>, Vec<f32>)> = live
        .iter()
        .map(|t| {
            let rows: Vec<usize> = members
                .get(&t.id)
                .map(|m| m.iter().filter_map(|i| row_of.get(i).copied()).collect())
                .unwrap_or_default();
            let mut centroid = vec![0f32; vectors.dims()];
            rows.iter().for_each(|&r| vectors.add_row(r, &mut centroid));
            normalize(&mut centroid);
            (rows, centroid)
        })
        .collect();
    let docs: Vec<Vec<String>> = live
        .iter()
        .map(|t| {
            members
                .get(&t.id)
                .map(|m| {
                    spread(m, NAMING_SAMPLE)
                        .filter_map(|i| texts.get(&i).cloned())
                        .collect()
                })
                .unwrap_or_default()
        })
        .collect();
    let centroids: Vec<Vec<f32>> = shapes.iter().map(|s| s.1.clone()).collect();
    // The texts are named again per area below, hence the copy.
    let names = name_off_thread(docs.clone(), centroids, embedder.clone()).await?;
    let with_members: Vec<usize> = (0..live.len())
        .filter(|&t| !shapes[t].0.is_empty())
        .collect();
    let grouped: Vec<theme::Model> = with_members.iter().map(|&t| live[t].clone()).collect();
    let now = Utc::now();
    for ((t, naming), (rows, centroid)) in live.into_iter().zip(names).zip(&shapes) {
        let size = members.get(&t.id).map_or(0, Vec::len);
        let representative = closest(vectors, rows, centroid).map(|r| ids[r]);
        let mut am = t.clone().into_active_model();
        am.size = Set(size as i32);
        if !rows.is_empty() {
            am.centroid = Set(to_bytes(centroid));
            am.keywords =
                Set(serde_json::to_string(&naming.keywords).unwrap_or_else(|_| "[]".into()));
            am.label = Set(naming.label);
            am.representative_item_id = Set(representative);
        }
        am.updated_at = Set(now);
        am.update(db).await?;
    }
    refresh_sizes(db).await?;
    describe_areas(
        db,
        vectors,
        &grouped,
        &with_members,
        &shapes,
        docs,
        embedder,
    )
    .await
}

/// Members a theme is named from, at most.
pub const NAMING_SAMPLE: usize = 500;

/// At most `n` of `items`, evenly spaced (all of them when there are no more than `n`).
fn spread(items: &[i64], n: usize) -> impl Iterator<Item = i64> + '_ {
    let step = items.len().div_ceil(n.max(1)).max(1);
    items.iter().step_by(step).copied()
}

/// Groups the live themes with members into areas and names them (see `areas`).
async fn describe_areas<C: ConnectionTrait, R: Rows>(
    db: &C,
    vectors: &R,
    themes: &[theme::Model],
    positions: &[usize],
    shapes: &[(Vec<usize>, Vec<f32>)],
    mut docs: Vec<Vec<String>>,
    embedder: Option<SharedEmbedder>,
) -> Result<()> {
    if areas::area_count(themes.len()) == 0 {
        return areas::clear(db).await;
    }
    let rows: Vec<Vec<usize>> = positions.iter().map(|&p| shapes[p].0.clone()).collect();
    let area_of = areas::group(vectors, &rows);
    let count = area_of.iter().max().map_or(0, |m| m + 1);
    let mut area_docs: Vec<Vec<String>> = vec![Vec::new(); count];
    let mut area_centroids = vec![vec![0f32; vectors.dims()]; count];
    for (i, &p) in positions.iter().enumerate() {
        let a = area_of[i];
        area_docs[a].append(&mut docs[p]);
        let weight = shapes[p].0.len() as f32;
        for (c, x) in area_centroids[a].iter_mut().zip(&shapes[p].1) {
            *c += weight * x;
        }
    }
    area_centroids.iter_mut().for_each(|c| normalize(c));
    let names = name_off_thread(area_docs, area_centroids, embedder).await?;
    let sizes: Vec<usize> = rows.iter().map(Vec::len).collect();
    areas::save(db, themes, &area_of, names, &sizes).await
}

/// Names the themes on a blocking thread: embedding the candidate phrases is a second or
/// two of CPU.
async fn name_off_thread(
    docs: Vec<Vec<String>>,
    centroids: Vec<Vec<f32>>,
    embedder: Option<SharedEmbedder>,
) -> Result<Vec<labels::Naming>> {
    tokio::task::spawn_blocking(move || {
        let docs: Vec<Vec<&str>> = docs
            .iter()
            .map(|d| d.iter().map(String::as_str).collect())
            .collect();
        let embed = embedder.map(|e| move |p: &[&str]| embed_sorted(e.as_ref(), p, |_| {}));
        let embed = embed.as_ref().map(|f| f as &labels::EmbedPhrases<'_>);
        labels::name_themes(&docs, &centroids, embed)
    })
    .await
    .map_err(crate::Error::failed("naming themes failed"))?
}

async fn live_count<C: ConnectionTrait>(db: &C) -> Result<usize> {
    Ok(theme::Entity::find()
        .filter(theme::Column::MergedInto.is_null())
        .filter(theme::Column::Size.gt(0))
        .all(db)
        .await?
        .len())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn old_theme(id: i64, custom: Option<&str>) -> theme::Model {
        theme::Model {
            id,
            label: format!("theme {id}"),
            custom_label: custom.map(str::to_string),
            keywords: "[]".into(),
            representative_item_id: None,
            size: 0,
            centroid: Vec::new(),
            locked: false,
            merged_into: None,
            area_id: None,
            created_at: Utc::now(),
            updated_at: Utc::now(),
        }
    }

    /// Old theme 1 holds items 0..3, old theme 2 items 3..13; a coarser cut makes one
    /// cluster of all 13. It continues theme 2 (the larger overlap) unless a person named
    /// theme 1, whose name then survives.
    #[test]
    fn a_named_theme_continues_the_larger_cluster_it_falls_into() {
        let ids: Vec<i64> = (0..13).collect();
        let clusters = vec![(0..13).collect::<Vec<usize>>()];
        let centroids = Vectors {
            dims: 1,
            data: vec![1.0],
        };
        let old_of: HashMap<i64, i64> = ids
            .iter()
            .map(|&i| (i, if i < 3 { 1 } else { 2 }))
            .collect();
        let mut old_members: HashMap<i64, HashSet<i64>> = HashMap::new();
        for (&i, &t) in &old_of {
            old_members.entry(t).or_default().insert(i);
        }
        let run = |named: Option<&str>| {
            let themes: HashMap<i64, theme::Model> =
                [(1, old_theme(1, named)), (2, old_theme(2, None))].into();
            match_ids(
                &ids,
                &clusters,
                &centroids,
                &old_members,
                &old_of,
                &themes,
                &[1, 2],
            )
        };
        assert_eq!(run(None), vec![Some(2)]);
        assert_eq!(run(Some("Cards that never arrive")), vec![Some(1)]);
    }
}
