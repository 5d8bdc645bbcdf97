//! The full computation's input: every item of the period (and the 12 weeks before
//! `as_of`) with its theme, score, customer and priority — one query with left joins. The
//! backlog itself reads the stored tallies ([`super::tallied`]); this path stays as the
//! definition they are checked against (tests, `triage bench backlog`).

use std::collections::HashMap;

use chrono::{DateTime, Duration, Utc};
use sea_orm::sea_query::{Alias, Expr, Func, JoinType, Query};
use sea_orm::{ConnectionTrait, FromQueryResult};

use super::score::{self, Fact, Tallies, Window, WEEKS};
use crate::db::entity::{feedback_item as item, item_theme};
use crate::db::tallies;
use crate::Result;

/// Items created in `[since, before)`, only those of customers in `segment` when given.
pub async fn load<C: ConnectionTrait>(
    db: &C,
    since: DateTime<Utc>,
    before: DateTime<Utc>,
    segment: Option<&str>,
) -> Result<Vec<Fact>> {
    tallies::facts_between(db, since, before, segment).await
}

#[derive(FromQueryResult)]
struct FirstSeen {
    theme_id: i64,
    first: DateTime<Utc>,
}

/// Each theme's oldest item, whenever it arrived (for "new this week"), counted from the
/// items.
pub async fn first_seen<C: ConnectionTrait>(db: &C) -> Result<HashMap<i64, DateTime<Utc>>> {
    let q = Query::select()
        .column((item_theme::Entity, item_theme::Column::ThemeId))
        .expr_as(
            Func::min(Expr::col((item::Entity, item::Column::CreatedAt))),
            Alias::new("first"),
        )
        .from(item::Entity)
        .join(
            JoinType::InnerJoin,
            item_theme::Entity,
            Expr::col((item_theme::Entity, item_theme::Column::ItemId))
                .equals((item::Entity, item::Column::Id)),
        )
        .and_where(Expr::col((item_theme::Entity, item_theme::Column::ThemeId)).is_not_null())
        .group_by_col((item_theme::Entity, item_theme::Column::ThemeId))
        .to_owned();
    let rows = FirstSeen::find_by_statement(db.get_database_backend().build(&q))
        .all(db)
        .await?;
    Ok(rows.into_iter().map(|r| (r.theme_id, r.first)).collect())
}

/// The full computation of `window`'s tallies: every item of the period and of the 12 weeks
/// before `as_of`, tallied one by one.
pub async fn tallies<C: ConnectionTrait>(
    db: &C,
    window: Window,
    segment: Option<&str>,
) -> Result<Tallies> {
    let history_start = window.as_of - Duration::weeks(WEEKS as i64);
    // All time starts at year 1: chrono's MIN_UTC is outside PostgreSQL's timestamp range.
    let all_time = DateTime::<Utc>::from_naive_utc_and_offset(
        chrono::NaiveDate::from_ymd_opt(1, 1, 1)
            .unwrap_or_default()
            .and_hms_opt(0, 0, 0)
            .unwrap_or_default(),
        Utc,
    );
    let load_from = window.since.map_or(all_time, |s| s.min(history_start));
    let facts = load(db, load_from, window.as_of, segment).await?;
    Ok(score::tally(&facts, window))
}
