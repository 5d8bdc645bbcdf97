//! Reading the tallies: sums over whole days, running totals, weekly counts, distinct
//! customers — each one grouped query; `backlog::tallied` puts them together into a period.

use std::collections::{BTreeSet, HashMap};

use chrono::{DateTime, Utc};
use sea_orm::sea_query::{
    CaseStatement, Cond, Expr, Func, JoinType, Order, Query, SelectStatement, SimpleExpr, UnionType,
};
use sea_orm::ConnectionTrait;

use super::{
    a, counted_value, nanos, pair_in, segment_key, week_of_day, ItemFact, Sums, ALL, ALL_SEGMENTS,
    CUSTOMER_DAYS, DAYS, FACTS, FACT_COLUMNS, FIRST_SEEN, LAST_DAYS, MAX_ACCOUNT_VALUE, PAIRS,
    SUMS, TOTALS, WEEKS,
};
use crate::Result;

/// Rows of the day and total tallies for `segment`: its own rows, or the rows of all
/// segments together.
fn tally_segment(q: &mut SelectStatement, segment: Option<&str>) {
    let key = segment.map_or_else(|| ALL_SEGMENTS.to_string(), |s| segment_key(Some(s)));
    q.and_where(Expr::col(a("segment")).eq(key));
}

/// Items of customers in `segment`, when given.
pub(super) fn customer_segment(q: &mut SelectStatement, segment: Option<&str>) {
    if let Some(s) = segment {
        q.and_where(Expr::col((a("customers"), a("segment"))).eq(s));
    }
}

fn sum_columns(q: &mut SelectStatement) {
    for c in SUMS {
        q.expr_as(sum_i64(c), a(c));
    }
}

/// An integer column, NULL read as 0 (a SUM over no rows).
fn read_i64(r: &sea_orm::QueryResult, i: usize) -> std::result::Result<i64, sea_orm::DbErr> {
    Ok(r.try_get_by_index::<Option<i64>>(i)?.unwrap_or(0))
}

/// SUM as a bigint: PostgreSQL sums bigints as numeric, which is read as a bigint again.
fn sum_i64(col: &str) -> SimpleExpr {
    Func::cast_as(Func::sum(Expr::col(a(col))), a("bigint")).into()
}

fn read_sums(r: &sea_orm::QueryResult, first: usize) -> std::result::Result<Sums, sea_orm::DbErr> {
    Ok(Sums {
        items: read_i64(r, first)?,
        scored: read_i64(r, first + 1)?,
        score_units: read_i64(r, first + 2)?,
        tickets: read_i64(r, first + 3)?,
        priority_levels: read_i64(r, first + 4)?,
    })
}

/// Sums per theme (and [`ALL`]) over whole days `[from_day, to_day)`.
pub async fn day_sums<C: ConnectionTrait>(
    db: &C,
    from_day: i32,
    to_day: i32,
    segment: Option<&str>,
) -> Result<HashMap<i64, Sums>> {
    let mut q = Query::select();
    q.column(a("theme_id"));
    sum_columns(&mut q);
    q.from(a(DAYS))
        .and_where(Expr::col(a("day")).gte(from_day))
        .and_where(Expr::col(a("day")).lt(to_day))
        .group_by_col(a("theme_id"));
    tally_segment(&mut q, segment);
    let mut out = HashMap::new();
    for r in db.query_all(db.get_database_backend().build(&q)).await? {
        out.insert(r.try_get_by_index::<i64>(0)?, read_sums(&r, 1)?);
    }
    Ok(out)
}

/// All-time sums per theme (and [`ALL`]), with distinct customers and their value.
pub async fn totals<C: ConnectionTrait>(
    db: &C,
    segment: Option<&str>,
) -> Result<HashMap<i64, (Sums, i64, f64)>> {
    let mut q = Query::select();
    q.column(a("theme_id"));
    sum_columns(&mut q);
    q.expr_as(sum_i64("customers"), a("customers"))
        .expr_as(
            Func::cast_as(Func::sum(Expr::col(a("value"))), a("double precision")),
            a("value"),
        )
        .from(a(TOTALS))
        .group_by_col(a("theme_id"));
    tally_segment(&mut q, segment);
    let mut out = HashMap::new();
    for r in db.query_all(db.get_database_backend().build(&q)).await? {
        let sums = read_sums(&r, 1)?;
        let customers = read_i64(&r, 6)?;
        let value: Option<f64> = r.try_get_by_index(7)?;
        out.insert(
            r.try_get_by_index::<i64>(0)?,
            (sums, customers, value.unwrap_or(0.0)),
        );
    }
    Ok(out)
}

/// Items per theme and week over whole days `[from_day, to_day]`, the week of day `d`
/// being `(week_of - d) / 7` (`d <= week_of`).
///
/// Such a week starts on any weekday, so it is read as the stored weeks (`backlog_weeks`)
/// it covers whole, plus or minus at most three days (`backlog_days`) at each end: a part
/// of a stored week of up to three days is read as days, a larger part as the whole week
/// less the days it lacks.
pub async fn weekly_counts<C: ConnectionTrait>(
    db: &C,
    from_day: i32,
    to_day: i32,
    week_of: i32,
    segment: Option<&str>,
    theme: Option<i64>,
) -> Result<Vec<(i64, i64, i64)>> {
    // Per trend week: the stored weeks and the days (with a sign) that make it up.
    let mut parts: Vec<TrendWeek> = Vec::new();
    let mut w = (week_of - to_day) / 7;
    loop {
        let lo = (week_of - 7 * w - 6).max(from_day);
        let hi = (week_of - 7 * w).min(to_day);
        if hi < lo {
            break;
        }
        let (mut weeks, mut days) = (Vec::new(), Vec::new());
        for stored in week_of_day(lo)..=week_of_day(hi) {
            let (start, end) = (stored * 7, stored * 7 + 6);
            let (a, b) = (lo.max(start), hi.min(end));
            if b - a < 3 {
                days.extend((a..=b).map(|d| (d, 1)));
            } else {
                weeks.push(stored);
                days.extend((start..a).chain(b + 1..=end).map(|d| (d, -1)));
            }
        }
        parts.push(TrendWeek {
            week: i64::from(w),
            weeks,
            days,
        });
        w += 1;
    }
    let all_weeks: BTreeSet<i32> = parts.iter().flat_map(|p| p.weeks.iter().copied()).collect();
    let all_days: BTreeSet<i32> = parts
        .iter()
        .flat_map(|p| p.days.iter().map(|d| d.0))
        .collect();
    let by_week = item_counts(db, WEEKS, "week", &all_weeks, segment, theme).await?;
    let by_day = item_counts(db, DAYS, "day", &all_days, segment, theme).await?;
    let mut out = Vec::new();
    for TrendWeek {
        week: w,
        weeks,
        days,
    } in parts
    {
        let mut sums: HashMap<i64, i64> = HashMap::new();
        for stored in weeks {
            for (theme, n) in by_week.get(&stored).into_iter().flatten() {
                *sums.entry(*theme).or_default() += n;
            }
        }
        for (day, sign) in days {
            for (theme, n) in by_day.get(&day).into_iter().flatten() {
                *sums.entry(*theme).or_default() += sign * n;
            }
        }
        out.extend(sums.into_iter().map(|(theme, n)| (theme, w, n)));
    }
    Ok(out)
}

/// One week of the trend: the stored weeks it covers whole, and days added (1) or taken
/// away (-1) at its ends.
struct TrendWeek {
    week: i64,
    weeks: Vec<i32>,
    days: Vec<(i32, i64)>,
}

/// Themed items per theme (only `theme`'s when given) in each of `keys` (weeks or days,
/// the column `key` of `table`).
async fn item_counts<C: ConnectionTrait>(
    db: &C,
    table: &str,
    key: &str,
    keys: &BTreeSet<i32>,
    segment: Option<&str>,
    theme: Option<i64>,
) -> Result<HashMap<i32, Vec<(i64, i64)>>> {
    let mut out: HashMap<i32, Vec<(i64, i64)>> = HashMap::new();
    let (Some(first), Some(last)) = (keys.first(), keys.last()) else {
        return Ok(out);
    };
    let mut q = Query::select();
    q.columns([a(key), a("theme_id"), a("items")])
        .from(a(table))
        .and_where(Expr::col(a(key)).gte(*first))
        .and_where(Expr::col(a(key)).lte(*last))
        .and_where(Expr::col(a(key)).is_in(keys.iter().copied()))
        .and_where(Expr::col(a("theme_id")).ne(ALL));
    if let Some(t) = theme {
        q.and_where(Expr::col(a("theme_id")).eq(t));
    }
    tally_segment(&mut q, segment);
    for r in db.query_all(db.get_database_backend().build(&q)).await? {
        out.entry(r.try_get_by_index(0)?)
            .or_default()
            .push((r.try_get_by_index(1)?, r.try_get_by_index(2)?));
    }
    Ok(out)
}

/// Distinct customers per theme with their counted value: those with an item on a whole
/// day in `(after_day, before_day)` (exclusive) or an item created in one of `ranges`.
pub async fn customers<C: ConnectionTrait>(
    db: &C,
    after_day: i32,
    before_day: i32,
    ranges: &[(DateTime<Utc>, DateTime<Utc>)],
    segment: Option<&str>,
) -> Result<HashMap<i64, (i64, f64)>> {
    let (i, it, c, p) = (
        a("feedback_items"),
        a("item_themes"),
        a("customers"),
        a("p"),
    );
    let mut pairs = Query::select();
    pairs
        .columns([a("theme_id"), a("customer_id")])
        .from(a(CUSTOMER_DAYS))
        .and_where(Expr::col(a("day")).gt(after_day))
        .and_where(Expr::col(a("day")).lt(before_day));
    if !ranges.is_empty() {
        let mut within = Cond::any();
        for (from, to) in ranges {
            let at = || Expr::col((i.clone(), a("created_at")));
            within = within.add(at().gte(*from).and(at().lt(*to)));
        }
        let raw = Query::select()
            .column((it.clone(), a("theme_id")))
            .column((i.clone(), a("customer_id")))
            .from(i.clone())
            .join(
                JoinType::InnerJoin,
                it.clone(),
                Expr::col((it.clone(), a("item_id"))).equals((i.clone(), a("id"))),
            )
            .and_where(Expr::col((it, a("theme_id"))).is_not_null())
            .and_where(Expr::col((i, a("customer_id"))).is_not_null())
            .cond_where(within)
            .to_owned();
        pairs.union(UnionType::Distinct, raw);
    } else {
        pairs.distinct();
    }
    let v = Expr::col((c.clone(), a("account_value")));
    let counted: SimpleExpr = CaseStatement::new()
        .case(
            v.clone().gte(0.0).and(v.clone().lte(MAX_ACCOUNT_VALUE)),
            v.clone(),
        )
        .case(
            v.clone().gt(MAX_ACCOUNT_VALUE).and(v.lte(f64::MAX)),
            Expr::val(MAX_ACCOUNT_VALUE),
        )
        .finally(Expr::val(0.0))
        .into();
    let mut q = Query::select();
    q.column((p.clone(), a("theme_id")))
        .expr_as(Expr::col((p.clone(), a("customer_id"))).count(), a("n"))
        .expr_as(
            Func::cast_as(Func::sum(counted), a("double precision")),
            a("value"),
        )
        .from_subquery(pairs, p.clone())
        .join(
            JoinType::InnerJoin,
            c.clone(),
            Expr::col((c, a("id"))).equals((p.clone(), a("customer_id"))),
        )
        .group_by_col((p, a("theme_id")));
    customer_segment(&mut q, segment);
    customer_counts(db, &q).await
}

/// Reads `(theme, customers, value)` rows.
async fn customer_counts<C: ConnectionTrait>(
    db: &C,
    q: &SelectStatement,
) -> Result<HashMap<i64, (i64, f64)>> {
    let mut out = HashMap::new();
    for r in db.query_all(db.get_database_backend().build(q)).await? {
        let n = read_i64(&r, 1)?;
        let value: Option<f64> = r.try_get_by_index(2)?;
        out.insert(r.try_get_by_index::<i64>(0)?, (n, value.unwrap_or(0.0)));
    }
    Ok(out)
}

/// Theme × customer pairs with an item on day `from_day` or later, with the customer's
/// segment and counted value.
pub async fn pairs_from_day<C: ConnectionTrait>(
    db: &C,
    from_day: i32,
    segment: Option<&str>,
) -> Result<Vec<(i64, i64, f64)>> {
    let (cd, c) = (a(CUSTOMER_DAYS), a("customers"));
    let mut q = Query::select();
    q.distinct()
        .column((cd.clone(), a("theme_id")))
        .column((cd.clone(), a("customer_id")))
        .column((c.clone(), a("account_value")))
        .from(cd.clone())
        .join(
            JoinType::InnerJoin,
            c.clone(),
            Expr::col((c, a("id"))).equals((cd.clone(), a("customer_id"))),
        )
        .and_where(Expr::col((cd, a("day"))).gte(from_day));
    customer_segment(&mut q, segment);
    db.query_all(db.get_database_backend().build(&q))
        .await?
        .iter()
        .map(|r| {
            Ok((
                r.try_get_by_index(0)?,
                r.try_get_by_index(1)?,
                counted_value(r.try_get_by_index(2)?),
            ))
        })
        .collect()
}

/// Which of `pairs` have an item on a day before `before_day`.
pub async fn pairs_seen_before<C: ConnectionTrait>(
    db: &C,
    pairs: &[(i64, i64)],
    before_day: i32,
) -> Result<BTreeSet<(i64, i64)>> {
    pairs_with(db, CUSTOMER_DAYS, pairs, Expr::col(a("day")).lt(before_day)).await
}

/// Which of `pairs` have a row in `table` (keyed by theme and customer) meeting `cond`.
async fn pairs_with<C: ConnectionTrait>(
    db: &C,
    table: &str,
    pairs: &[(i64, i64)],
    cond: SimpleExpr,
) -> Result<BTreeSet<(i64, i64)>> {
    let mut out = BTreeSet::new();
    for chunk in pairs.chunks(5_000) {
        let q = Query::select()
            .distinct()
            .columns([a("theme_id"), a("customer_id")])
            .from(a(table))
            .and_where(cond.clone())
            .and_where(pair_in(chunk))
            .to_owned();
        for r in db.query_all(db.get_database_backend().build(&q)).await? {
            out.insert((r.try_get_by_index(0)?, r.try_get_by_index(1)?));
        }
    }
    Ok(out)
}

/// A time range of `backlog_facts`.
pub type Range = (
    std::ops::Bound<DateTime<Utc>>,
    std::ops::Bound<DateTime<Utc>>,
);

/// Themed items per theme (only `theme`'s when given) in each of `ranges`, only those of
/// customers in `segment` when given: one query over `backlog_facts`, one count per range.
pub async fn counts_in<C: ConnectionTrait>(
    db: &C,
    ranges: &[Range],
    segment: Option<&str>,
    theme: Option<i64>,
) -> Result<HashMap<i64, Vec<i64>>> {
    use std::ops::Bound;
    let at = || Expr::col(a("at_ns"));
    let within = |(from, to): &Range| -> SimpleExpr {
        let from = match from {
            Bound::Included(t) => at().gte(nanos(*t)),
            Bound::Excluded(t) => at().gt(nanos(*t)),
            Bound::Unbounded => Expr::val(true).into(),
        };
        match to {
            Bound::Included(t) => from.and(at().lte(nanos(*t))),
            Bound::Excluded(t) => from.and(at().lt(nanos(*t))),
            Bound::Unbounded => from,
        }
    };
    let mut q = Query::select();
    q.column(a("theme_id"));
    let mut any = Cond::any();
    for (n, r) in ranges.iter().enumerate() {
        let one: SimpleExpr = CaseStatement::new()
            .case(within(r), Expr::val(1))
            .finally(Expr::val(0))
            .into();
        q.expr_as(
            Func::cast_as(Func::sum(one), a("bigint")),
            a(format!("c{n}").as_str()),
        );
        any = any.add(within(r));
    }
    q.from(a(FACTS))
        .and_where(match theme {
            Some(t) => Expr::col(a("theme_id")).eq(t),
            None => Expr::col(a("theme_id")).is_not_null(),
        })
        .cond_where(any)
        .group_by_col(a("theme_id"));
    fact_segment(&mut q, segment);
    let mut out = HashMap::new();
    for r in db.query_all(db.get_database_backend().build(&q)).await? {
        let counts = (0..ranges.len())
            .map(|n| read_i64(&r, n + 1))
            .collect::<std::result::Result<Vec<i64>, _>>()?;
        out.insert(r.try_get_by_index::<i64>(0)?, counts);
    }
    Ok(out)
}

/// Rows of `backlog_facts` or `backlog_pairs` of customers in `segment`, when given.
fn fact_segment(q: &mut SelectStatement, segment: Option<&str>) {
    if let Some(s) = segment {
        q.and_where(Expr::col(a("segment")).eq(segment_key(Some(s))));
    }
}

/// The facts of the items created in `[from, to)` as the tallies counted them — one range
/// of `backlog_facts`, no join — only those of customers in `segment` when given.
pub async fn stored_facts<C: ConnectionTrait>(
    db: &C,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    segment: Option<&str>,
) -> Result<Vec<ItemFact>> {
    let mut q = Query::select();
    q.columns(FACT_COLUMNS.map(a))
        .from(a(FACTS))
        .and_where(Expr::col(a("at_ns")).gte(nanos(from)))
        .and_where(Expr::col(a("at_ns")).lt(nanos(to)));
    fact_segment(&mut q, segment);
    read_stored(db, &q).await
}

/// Up to `limit` stored facts after the key `after` (time in ns, item), in key order: a
/// pass over every fact, a page at a time.
pub async fn stored_facts_after<C: ConnectionTrait>(
    db: &C,
    after: (i64, i64),
    limit: u64,
) -> Result<Vec<ItemFact>> {
    let mut q = Query::select();
    q.columns(FACT_COLUMNS.map(a))
        .from(a(FACTS))
        .and_where(
            Expr::tuple([Expr::col(a("at_ns")).into(), Expr::col(a("item_id")).into()])
                .gt(Expr::tuple([after.0.into(), after.1.into()])),
        )
        .order_by(a("at_ns"), Order::Asc)
        .order_by(a("item_id"), Order::Asc)
        .limit(limit);
    read_stored(db, &q).await
}

async fn read_stored<C: ConnectionTrait>(db: &C, q: &SelectStatement) -> Result<Vec<ItemFact>> {
    db.query_all(db.get_database_backend().build(q))
        .await?
        .iter()
        .map(|r| {
            let key: String = r.try_get_by_index(4)?;
            Ok(ItemFact {
                at: DateTime::from_timestamp_nanos(r.try_get_by_index(0)?),
                item_id: r.try_get_by_index(1)?,
                theme: r.try_get_by_index(2)?,
                customer: r.try_get_by_index(3)?,
                segment: key.strip_prefix('=').map(str::to_string),
                value: r.try_get_by_index(5)?,
                score: r.try_get_by_index(6)?,
                priority: r.try_get_by_index(7)?,
            })
        })
        .collect()
}

/// Whether any item was created at or after `at` (one step down the time index).
pub async fn any_fact_from<C: ConnectionTrait>(db: &C, at: DateTime<Utc>) -> Result<bool> {
    let q = Query::select()
        .column(a("item_id"))
        .from(a(FACTS))
        .and_where(Expr::col(a("at_ns")).gte(nanos(at)))
        .limit(1)
        .to_owned();
    Ok(db
        .query_one(db.get_database_backend().build(&q))
        .await?
        .is_some())
}

/// Distinct customers per theme, with their counted value, whose last item in the theme
/// lies on a day after `after_day` (customers in `segment` when given): the pairs counted
/// per last day (`backlog_last_days`), one row per theme and day.
pub async fn customers_last_after<C: ConnectionTrait>(
    db: &C,
    after_day: i32,
    segment: Option<&str>,
) -> Result<HashMap<i64, (i64, f64)>> {
    let mut q = Query::select();
    q.column(a("theme_id"))
        .expr_as(sum_i64("customers"), a("n"))
        .expr_as(
            Func::cast_as(Func::sum(Expr::col(a("value"))), a("double precision")),
            a("value"),
        )
        .from(a(LAST_DAYS))
        .and_where(Expr::col(a("last_day")).gt(after_day))
        .group_by_col(a("theme_id"));
    tally_segment(&mut q, segment);
    customer_counts(db, &q).await
}

/// Which of `pairs` have their last item on `day`.
pub async fn pairs_last_on<C: ConnectionTrait>(
    db: &C,
    pairs: &[(i64, i64)],
    day: i32,
) -> Result<BTreeSet<(i64, i64)>> {
    pairs_with(db, PAIRS, pairs, Expr::col(a("last_day")).eq(day)).await
}

/// Every theme's oldest item.
pub async fn first_seen<C: ConnectionTrait>(db: &C) -> Result<HashMap<i64, DateTime<Utc>>> {
    let q = Query::select()
        .columns([a("theme_id"), a("first_at")])
        .from(a(FIRST_SEEN))
        .to_owned();
    Ok(read_first_seen(db, &q).await?.into_iter().collect())
}

/// The oldest item of each of `themes`.
pub async fn first_seen_of<C: ConnectionTrait>(
    db: &C,
    themes: &BTreeSet<i64>,
) -> Result<HashMap<i64, DateTime<Utc>>> {
    let mut out = HashMap::new();
    for chunk in themes.iter().copied().collect::<Vec<_>>().chunks(10_000) {
        let mut q = Query::select();
        q.columns([a("theme_id"), a("first_at")])
            .from(a(FIRST_SEEN))
            .and_where(Expr::col(a("theme_id")).is_in(chunk.iter().copied()));
        out.extend(read_first_seen(db, &q).await?);
    }
    Ok(out)
}

async fn read_first_seen<C: ConnectionTrait>(
    db: &C,
    q: &SelectStatement,
) -> Result<Vec<(i64, DateTime<Utc>)>> {
    db.query_all(db.get_database_backend().build(q))
        .await?
        .iter()
        .map(|r| Ok((r.try_get_by_index(0)?, r.try_get_by_index(1)?)))
        .collect()
}

/// Items per theme (of `themes`; [`ALL`] for every item), day in `[from_day, to_day)` and
/// segment key — each segment's own rows, not their sum: `(theme, day, key, items)`.
pub async fn items_per_day<C: ConnectionTrait>(
    db: &C,
    themes: &[i64],
    from_day: i32,
    to_day: i32,
) -> Result<Vec<(i64, i32, String, i64)>> {
    let q = Query::select()
        .columns([a("theme_id"), a("day"), a("segment"), a("items")])
        .from(a(DAYS))
        .and_where(Expr::col(a("theme_id")).is_in(themes.iter().copied()))
        .and_where(Expr::col(a("day")).gte(from_day))
        .and_where(Expr::col(a("day")).lt(to_day))
        .and_where(Expr::col(a("segment")).ne(ALL_SEGMENTS))
        .to_owned();
    db.query_all(db.get_database_backend().build(&q))
        .await?
        .iter()
        .map(|r| Ok(r.try_get_many_by_index()?))
        .collect()
}

/// The scored items in `[from, to)` of the customers with an item in `theme` on a day
/// before `before_day`: `(customer, segment key, time, score in twentieths)`.
pub async fn scores_of_reporters<C: ConnectionTrait>(
    db: &C,
    theme: i64,
    before_day: i32,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<Vec<(i64, String, DateTime<Utc>, i64)>> {
    let reporters = Query::select()
        .column(a("customer_id"))
        .from(a(CUSTOMER_DAYS))
        .and_where(Expr::col(a("theme_id")).eq(theme))
        .and_where(Expr::col(a("day")).lt(before_day))
        .to_owned();
    let q = Query::select()
        .columns([a("customer_id"), a("segment"), a("at_ns"), a("score")])
        .from(a(FACTS))
        .and_where(Expr::col(a("at_ns")).gte(nanos(from)))
        .and_where(Expr::col(a("at_ns")).lt(nanos(to)))
        .and_where(Expr::col(a("score")).is_not_null())
        .and_where(Expr::col(a("customer_id")).in_subquery(reporters))
        .to_owned();
    db.query_all(db.get_database_backend().build(&q))
        .await?
        .iter()
        .map(|r| {
            let (customer, key, at, score): (i64, String, i64, i64) = r.try_get_many_by_index()?;
            Ok((customer, key, DateTime::from_timestamp_nanos(at), score))
        })
        .collect()
}
