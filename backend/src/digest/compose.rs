//! What a digest says, gathered from the database for one recipient and ISO week: the top
//! of the backlog with each theme's change since the week before, new and rising themes,
//! the week's status changes, volume by channel against the week before, and a few
//! representative quotes for each highlighted theme.

use std::collections::HashMap;

use sea_orm::sea_query::{Alias, Expr, Func, Query};
use sea_orm::{
    ColumnTrait, ConnectionTrait, EntityTrait, FromQueryResult, QueryFilter, QueryOrder,
    QuerySelect,
};

use super::week::IsoWeek;
use crate::backlog::{self, Filter, Weights};
use crate::db::entity::backlog_entry::Status;
use crate::db::entity::{backlog_change, customer, feedback_item as item, item_theme};
use crate::db::items;
use crate::db::items::ItemKind;
use crate::impact;
use crate::themes::edits::labels_of;
use crate::Result;

/// Themes shown at the top of a digest.
pub const TOP: usize = 5;
/// Quotes per highlighted theme.
pub const QUOTES: u64 = 3;

/// Narrows a digest to what the recipient follows.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct Scope {
    pub segment: Option<String>,
    /// Statuses (empty: all).
    pub statuses: Vec<Status>,
}

#[derive(Debug, Clone)]
pub struct ThemeLine {
    pub id: i64,
    pub label: String,
    pub rank: usize,
    pub score: f64,
    /// Score change since the week before; `None` when it was not ranked then.
    pub change: Option<f64>,
    pub status: Status,
    pub quotes: Vec<String>,
}

#[derive(Debug, Clone)]
pub struct StatusChange {
    pub theme_id: i64,
    pub label: String,
    pub before: String,
    pub after: String,
    /// Who made the change, by name (history stores an id).
    pub actor: String,
}

#[derive(Debug, Clone)]
pub struct Volume {
    pub kind: ItemKind,
    pub this_week: i64,
    pub last_week: i64,
}

/// A shipped theme whose rollout was measured (or whose reports came back).
#[derive(Debug, Clone)]
pub struct Measured {
    pub id: i64,
    pub label: String,
    /// "Reports fell 71 % in enterprise (95 % CI 55–82 %) while the rest fell 6 % …"
    pub sentence: String,
    pub reopened: bool,
}

#[derive(Debug, Clone)]
pub struct Content {
    pub week: IsoWeek,
    pub top: Vec<ThemeLine>,
    pub new: Vec<ThemeLine>,
    pub rising: Vec<ThemeLine>,
    /// "Shipped and measured": shipped themes with a measured rollout, reopened ones first.
    pub measured: Vec<Measured>,
    pub status_changes: Vec<StatusChange>,
    pub volume: Vec<Volume>,
}

pub async fn gather<C: ConnectionTrait>(
    db: &C,
    weights: &Weights,
    impact_weeks: u32,
    week: IsoWeek,
    scope: &Scope,
) -> Result<Content> {
    let filter = |as_of| Filter {
        segment: scope.segment.clone(),
        statuses: scope.statuses.clone(),
        ..Filter::new(as_of)
    };
    let now = backlog::rank(db, weights, &filter(week.end())).await?;
    let before: HashMap<i64, f64> = backlog::rank(db, weights, &filter(week.start()))
        .await?
        .into_iter()
        .filter(|e| e.score.score > 0.0)
        .map(|e| (e.theme.id, e.score.score))
        .collect();
    let line = |rank: usize, e: &backlog::Entry| ThemeLine {
        id: e.theme.id,
        label: e.label().to_string(),
        rank,
        score: e.score.score,
        change: before.get(&e.theme.id).map(|b| e.score.score - b),
        status: e.workflow.status,
        quotes: Vec::new(),
    };
    let ranked: Vec<(usize, &backlog::Entry)> = now
        .iter()
        .enumerate()
        .map(|(i, e)| (i + 1, e))
        .filter(|(_, e)| e.score.score > 0.0)
        .collect();
    let mut top: Vec<ThemeLine> = ranked.iter().take(TOP).map(|(r, e)| line(*r, e)).collect();
    let mut new: Vec<ThemeLine> = ranked
        .iter()
        .filter(|(_, e)| e.score.is_new)
        .map(|(r, e)| line(*r, e))
        .collect();
    let mut rising: Vec<ThemeLine> = ranked
        .iter()
        .filter(|(_, e)| e.score.rising && !e.score.is_new)
        .map(|(r, e)| line(*r, e))
        .collect();
    for l in top
        .iter_mut()
        .chain(new.iter_mut())
        .chain(rising.iter_mut())
    {
        l.quotes = quotes(db, l.id).await?;
    }
    let measured = measured(db, &now, impact_weeks, week).await?;
    Ok(Content {
        week,
        top,
        new,
        rising,
        measured,
        status_changes: status_changes(db, week).await?,
        volume: volume(db, week, scope.segment.as_deref()).await?,
    })
}

/// The shipped themes among `ranked` whose rollouts have a measured effect, or whose
/// reports came back, as of the end of `week`.
async fn measured<C: ConnectionTrait>(
    db: &C,
    ranked: &[backlog::Entry],
    weeks: u32,
    week: IsoWeek,
) -> Result<Vec<Measured>> {
    let shipped = impact::shipped(ranked);
    let headlines = impact::headlines(db, &shipped, weeks, week.end()).await?;
    let mut out: Vec<Measured> = ranked
        .iter()
        .filter(|e| shipped.contains(&e.theme.id))
        .filter_map(|e| {
            let h = headlines.get(&e.theme.id)?;
            (h.effect.is_some() || h.reopened).then(|| Measured {
                id: e.theme.id,
                label: e.label().to_string(),
                sentence: h.sentence.clone(),
                reopened: h.reopened,
            })
        })
        .collect();
    out.sort_by_key(|m| !m.reopened);
    Ok(out)
}

/// The theme's best-fitting items' texts.
async fn quotes<C: ConnectionTrait>(db: &C, theme_id: i64) -> Result<Vec<String>> {
    let ids: Vec<i64> = item_theme::Entity::find()
        .select_only()
        .column(item_theme::Column::ItemId)
        .filter(item_theme::Column::ThemeId.eq(theme_id))
        .order_by_desc(item_theme::Column::Similarity)
        .limit(QUOTES)
        .into_tuple()
        .all(db)
        .await?;
    let found = items::by_ids(db, &ids).await?;
    Ok(ids
        .iter()
        .filter_map(|id| found.get(id).map(|i| i.text.clone()))
        .collect())
}

async fn status_changes<C: ConnectionTrait>(db: &C, week: IsoWeek) -> Result<Vec<StatusChange>> {
    let rows = backlog_change::Entity::find()
        .filter(backlog_change::Column::Field.eq("status"))
        .filter(backlog_change::Column::CreatedAt.gte(week.start()))
        .filter(backlog_change::Column::CreatedAt.lt(week.end()))
        .order_by_asc(backlog_change::Column::Id)
        .all(db)
        .await?;
    let ids: Vec<i64> = rows.iter().map(|c| c.theme_id).collect();
    let labels = labels_of(db, &ids).await?;
    let names = crate::db::actors::names(db, rows.iter().map(|c| c.actor.as_str())).await?;
    Ok(rows
        .into_iter()
        .map(|c| StatusChange {
            label: labels.get(&c.theme_id).cloned().unwrap_or_default(),
            theme_id: c.theme_id,
            before: c.before.unwrap_or_default(),
            after: c.after.unwrap_or_default(),
            actor: names.get(&c.actor).cloned().unwrap_or_default(),
        })
        .collect())
}

#[derive(FromQueryResult)]
struct KindCount {
    kind: ItemKind,
    n: i64,
}

async fn counts<C: ConnectionTrait>(
    db: &C,
    week: IsoWeek,
    segment: Option<&str>,
) -> Result<HashMap<ItemKind, i64>> {
    let mut q = Query::select();
    q.column((item::Entity, item::Column::Kind))
        .expr_as(
            Func::count(Expr::col((item::Entity, item::Column::Id))),
            Alias::new("n"),
        )
        .from(item::Entity)
        .and_where(Expr::col((item::Entity, item::Column::CreatedAt)).gte(week.start()))
        .and_where(Expr::col((item::Entity, item::Column::CreatedAt)).lt(week.end()))
        .group_by_col((item::Entity, item::Column::Kind));
    if let Some(seg) = segment {
        q.inner_join(
            customer::Entity,
            Expr::col((customer::Entity, customer::Column::Id))
                .equals((item::Entity, item::Column::CustomerId)),
        )
        .and_where(Expr::col((customer::Entity, customer::Column::Segment)).eq(seg));
    }
    let rows = KindCount::find_by_statement(db.get_database_backend().build(&q))
        .all(db)
        .await?;
    Ok(rows.into_iter().map(|r| (r.kind, r.n)).collect())
}

async fn volume<C: ConnectionTrait>(
    db: &C,
    week: IsoWeek,
    segment: Option<&str>,
) -> Result<Vec<Volume>> {
    let this = counts(db, week, segment).await?;
    let last = counts(db, week.previous(), segment).await?;
    Ok(ItemKind::ALL
        .iter()
        .copied()
        .map(|k| Volume {
            kind: k,
            this_week: this.get(&k).copied().unwrap_or(0),
            last_week: last.get(&k).copied().unwrap_or(0),
        })
        .collect())
}
