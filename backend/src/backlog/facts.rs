//! Reading what scoring needs from the database: one row per feedback item with its theme,
//! satisfaction score, customer (and the customer's segment and account value) and, for
//! tickets, priority — a single query with left joins, not one query per theme.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Alias, Expr, Func, JoinType, Query, SelectStatement};
use sea_orm::{ConnectionTrait, FromQueryResult};

use super::score::Fact;
use crate::db::entity::{customer, feedback_item as item, item_theme, ticket};
use crate::db::items::ItemKind;
use crate::Result;

#[derive(FromQueryResult)]
struct Row {
    theme_id: Option<i64>,
    created_at: DateTime<Utc>,
    score: Option<f64>,
    customer_id: Option<i64>,
    account_value: Option<f64>,
    priority: Option<String>,
}

/// Items created in `[since, before)`, only those of customers in `segment` when given.
pub async fn load<C: ConnectionTrait>(
    db: &C,
    since: DateTime<Utc>,
    before: DateTime<Utc>,
    segment: Option<&str>,
) -> Result<Vec<Fact>> {
    let mut q = joined();
    q.column((item_theme::Entity, item_theme::Column::ThemeId))
        .column((item::Entity, item::Column::CreatedAt))
        .column((item::Entity, item::Column::Score))
        .column((item::Entity, item::Column::CustomerId))
        .column((customer::Entity, customer::Column::AccountValue))
        .expr_as(
            Expr::col((ticket::Entity, ticket::Column::Priority)),
            Alias::new("priority"),
        )
        .join(
            JoinType::LeftJoin,
            ticket::Entity,
            Expr::col((ticket::Entity, ticket::Column::Id))
                .equals((item::Entity, item::Column::SourceId))
                .and(Expr::col((item::Entity, item::Column::Kind)).eq(ItemKind::Ticket.as_str())),
        )
        .and_where(Expr::col((item::Entity, item::Column::CreatedAt)).gte(since))
        .and_where(Expr::col((item::Entity, item::Column::CreatedAt)).lt(before));
    if let Some(seg) = segment {
        q.and_where(Expr::col((customer::Entity, customer::Column::Segment)).eq(seg));
    }
    let rows = Row::find_by_statement(db.get_database_backend().build(&q))
        .all(db)
        .await?;
    Ok(rows
        .into_iter()
        .map(|r| Fact {
            theme: r.theme_id,
            at: r.created_at,
            score: r.score,
            customer: r.customer_id,
            account_value: r.account_value,
            priority: r.priority.as_deref().map(priority_scale),
        })
        .collect())
}

#[derive(FromQueryResult)]
struct FirstSeen {
    theme_id: i64,
    first: DateTime<Utc>,
}

/// Each theme's oldest item, whenever it arrived (for "new this week").
pub async fn first_seen<C: ConnectionTrait>(db: &C) -> Result<HashMap<i64, DateTime<Utc>>> {
    let mut q = joined();
    q.column((item_theme::Entity, item_theme::Column::ThemeId))
        .expr_as(
            Func::min(Expr::col((item::Entity, item::Column::CreatedAt))),
            Alias::new("first"),
        )
        .and_where(Expr::col((item_theme::Entity, item_theme::Column::ThemeId)).is_not_null())
        .group_by_col((item_theme::Entity, item_theme::Column::ThemeId));
    let rows = FirstSeen::find_by_statement(db.get_database_backend().build(&q))
        .all(db)
        .await?;
    Ok(rows.into_iter().map(|r| (r.theme_id, r.first)).collect())
}

/// Items with their theme placement and customer.
fn joined() -> SelectStatement {
    Query::select()
        .from(item::Entity)
        .join(
            JoinType::LeftJoin,
            item_theme::Entity,
            Expr::col((item_theme::Entity, item_theme::Column::ItemId))
                .equals((item::Entity, item::Column::Id)),
        )
        .join(
            JoinType::LeftJoin,
            customer::Entity,
            Expr::col((customer::Entity, customer::Column::Id))
                .equals((item::Entity, item::Column::CustomerId)),
        )
        .to_owned()
}

/// `low` 0, `normal` ⅓, `high` ⅔, `urgent` 1.
fn priority_scale(p: &str) -> f64 {
    match p {
        "urgent" => 1.0,
        "high" => 2.0 / 3.0,
        "normal" => 1.0 / 3.0,
        _ => 0.0,
    }
}
