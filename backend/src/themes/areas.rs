//! Areas: a handful of groups of related themes ("Cards", "Transfers", "Account access"),
//! the coarser of the two levels product managers think in.
//!
//! Every rebuild groups the live themes again, right after naming them: the same average
//! linkage as theme discovery ([`agglomerate`]), now over whole themes (each theme one
//! group of its members' vectors), stopped at ⌈√T⌉ areas for T themes, at least 2 — a
//! handful for the tens of themes a product has, a few more for hundreds. Areas are named
//! like themes (a phrase from their members, distinct across areas). An area keeps its id
//! when at least half of its themes are the same as before (Jaccard ≥ 0.5 over theme ids),
//! so links and a person's name for it survive; a person's theme edits are untouched by
//! all this (areas only read themes).

use std::collections::{HashMap, HashSet};

use chrono::Utc;
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter,
};

use super::discover::{agglomerate, Stop};
use super::labels::Naming;
use crate::db::entity::{area, theme};
use crate::embed::vectors::Rows;
use crate::Result;

/// Fewer live themes than this are not worth grouping.
pub const MIN_THEMES: usize = 4;
/// Rows per theme that take part in the grouping (bounded cost at any size).
const ROWS_PER_THEME: usize = 200;
/// Keeps an area's id: share of its themes that it had before.
const MIN_OVERLAP: f64 = 0.5;

/// How many areas `themes` live themes make.
pub fn area_count(themes: usize) -> usize {
    if themes < MIN_THEMES {
        return 0;
    }
    ((themes as f64).sqrt().ceil() as usize).max(2)
}

/// The area (0-based) of every theme; `rows[t]` are the vector rows of theme `t`'s members.
pub fn group<R: Rows + ?Sized>(vectors: &R, rows: &[Vec<usize>]) -> Vec<usize> {
    let k = area_count(rows.len());
    if k == 0 {
        return vec![0; rows.len()];
    }
    let mut picked = Vec::new();
    let mut groups = Vec::new();
    for (t, r) in rows.iter().enumerate() {
        for &row in r.iter().take(ROWS_PER_THEME) {
            picked.push(row);
            groups.push(t);
        }
    }
    let merged = agglomerate(&vectors.select_rows(&picked), &groups, Stop::Groups(k));
    let mut area_of = vec![usize::MAX; rows.len()];
    for (g, m) in groups.iter().zip(&merged) {
        area_of[*g] = *m;
    }
    // Dense numbering; a theme without rows (none here, but cheap to guard) goes alone.
    let mut dense: HashMap<usize, usize> = HashMap::new();
    area_of
        .into_iter()
        .map(|a| {
            let next = dense.len();
            *dense.entry(a).or_insert(next)
        })
        .collect()
}

/// Stores the areas of `themes` (live themes, in the order of `area_of`, `names` per area,
/// `sizes` per theme), keeping ids of areas that continue.
pub async fn save<C: ConnectionTrait>(
    db: &C,
    themes: &[theme::Model],
    area_of: &[usize],
    names: Vec<Naming>,
    sizes: &[usize],
) -> Result<()> {
    let count = names.len();
    let mut members: Vec<HashSet<i64>> = vec![HashSet::new(); count];
    let mut area_size = vec![0usize; count];
    for ((t, &a), &s) in themes.iter().zip(area_of).zip(sizes) {
        members[a].insert(t.id);
        area_size[a] += s;
    }
    let mut before: HashMap<i64, HashSet<i64>> = HashMap::new();
    for t in themes {
        if let Some(a) = t.area_id {
            before.entry(a).or_default().insert(t.id);
        }
    }
    let existing: HashSet<i64> = area::Entity::find()
        .all(db)
        .await?
        .into_iter()
        .map(|a| a.id)
        .collect();
    let mut pairs: Vec<(f64, usize, i64)> = Vec::new();
    for (a, m) in members.iter().enumerate() {
        for (old, o) in &before {
            let shared = m.intersection(o).count();
            if shared > 0 && existing.contains(old) {
                let jaccard = shared as f64 / (m.len() + o.len() - shared) as f64;
                pairs.push((jaccard, a, *old));
            }
        }
    }
    pairs.sort_by(|x, y| y.0.total_cmp(&x.0).then(x.1.cmp(&y.1)).then(x.2.cmp(&y.2)));
    let mut id_of: Vec<Option<i64>> = vec![None; count];
    let mut taken = HashSet::new();
    for (j, a, old) in pairs {
        if j >= MIN_OVERLAP && id_of[a].is_none() && taken.insert(old) {
            id_of[a] = Some(old);
        }
    }
    let now = Utc::now();
    // Areas that do not continue keep their rows, emptied.
    area::Entity::update_many()
        .col_expr(area::Column::Size, Expr::value(0))
        .filter(area::Column::Id.is_not_in(taken.iter().copied().collect::<Vec<_>>()))
        .exec(db)
        .await?;
    for (a, naming) in names.into_iter().enumerate() {
        let keywords = serde_json::to_string(&naming.keywords).unwrap_or_else(|_| "[]".into());
        let id = match id_of[a] {
            Some(id) => {
                area::ActiveModel {
                    id: Set(id),
                    label: Set(naming.label),
                    keywords: Set(keywords),
                    size: Set(area_size[a] as i32),
                    updated_at: Set(now),
                    ..Default::default()
                }
                .update(db)
                .await?;
                id
            }
            None => {
                area::ActiveModel {
                    label: Set(naming.label),
                    custom_label: Set(None),
                    keywords: Set(keywords),
                    size: Set(area_size[a] as i32),
                    created_at: Set(now),
                    updated_at: Set(now),
                    ..Default::default()
                }
                .insert(db)
                .await?
                .id
            }
        };
        theme::Entity::update_many()
            .col_expr(theme::Column::AreaId, Expr::value(id))
            .filter(theme::Column::Id.is_in(members[a].iter().copied().collect::<Vec<_>>()))
            .exec(db)
            .await?;
    }
    Ok(())
}

/// Areas that hold themes, by name: (id, the name people see).
pub async fn live<C: ConnectionTrait>(db: &C) -> Result<Vec<(i64, String)>> {
    let mut out: Vec<(i64, String)> = area::Entity::find()
        .filter(area::Column::Size.gt(0))
        .all(db)
        .await?
        .into_iter()
        .map(|a| (a.id, a.name().to_string()))
        .collect();
    out.sort_by(|a, b| a.1.cmp(&b.1));
    Ok(out)
}

/// The live themes of an area (none for an unknown area).
pub async fn theme_ids<C: ConnectionTrait>(db: &C, area: i64) -> Result<Vec<i64>> {
    use sea_orm::QuerySelect;
    Ok(theme::Entity::find()
        .select_only()
        .column(theme::Column::Id)
        .filter(theme::Column::AreaId.eq(area))
        .filter(theme::Column::MergedInto.is_null())
        .into_tuple::<i64>()
        .all(db)
        .await?)
}

/// Clears every theme's area (too few themes to group).
pub async fn clear<C: ConnectionTrait>(db: &C) -> Result<()> {
    theme::Entity::update_many()
        .col_expr(theme::Column::AreaId, Expr::value(Option::<i64>::None))
        .exec(db)
        .await?;
    area::Entity::update_many()
        .col_expr(area::Column::Size, Expr::value(0))
        .exec(db)
        .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::embed::vectors::Vectors;

    #[test]
    fn a_handful_of_areas() {
        assert_eq!(area_count(3), 0);
        assert_eq!(area_count(4), 2);
        assert_eq!(area_count(40), 7);
        assert_eq!(area_count(100), 10);
    }

    #[test]
    fn related_themes_share_an_area() {
        // Four themes in two pairs: themes 0 and 1 near one direction, 2 and 3 near another.
        let dirs = [
            [1.0, 0.1, 0.0, 0.0],
            [1.0, -0.1, 0.0, 0.0],
            [0.0, 0.0, 1.0, 0.1],
            [0.0, 0.0, 1.0, -0.1],
        ];
        let mut rows = Vec::new();
        let mut members = vec![Vec::new(); 4];
        for (t, d) in dirs.iter().enumerate() {
            for j in 0..5 {
                let mut v: Vec<f32> = d.to_vec();
                v[3 - t % 2] += 0.01 * j as f32;
                crate::embed::vectors::normalize(&mut v);
                members[t].push(rows.len());
                rows.push(v);
            }
        }
        let area_of = group(&Vectors::from_rows(&rows), &members);
        assert_eq!(area_of[0], area_of[1]);
        assert_eq!(area_of[2], area_of[3]);
        assert_ne!(area_of[0], area_of[2]);
    }
}
