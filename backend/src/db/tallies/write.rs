//! Applying a change to the tallies: the difference between the facts before and after,
//! summed per row key, then one upsert per table (rows in key order) and the removal of rows
//! that count nothing.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use chrono::{DateTime, Utc};
use sea_orm::sea_query::{
    Alias, Expr, Func, JoinType, OnConflict, Query, SimpleExpr, Value, ValueTuple,
};
use sea_orm::ConnectionTrait;

use super::read::first_seen_of;
use super::{
    a, day_of, exec, nanos, pair_in, segment_key, week_of_day, ItemFact, Sums, ALL, ALL_SEGMENTS,
    CUSTOMER_DAYS, DAYS, FACTS, FACT_COLUMNS, FIRST_SEEN, LAST_DAYS, PAIRS, SUMS, TOTALS, WEEKS,
};
use crate::Result;

/// What a customer looked like on one side of a change.
#[derive(Clone)]
struct Who {
    segment: String,
    value: f64,
}

/// Whether a change keeps the rollups (`backlog_weeks`, `backlog_last_days`) itself.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Rollups {
    /// Moves them with the change (every write but a bulk one).
    Kept,
    /// Leaves them for [`super::refill_rollups`] once the bulk change is done: a rebuild
    /// that moves a million items refills them from the day and pair tallies in seconds,
    /// instead of moving them a row at a time.
    Deferred,
}

/// Applies `removed` (subtracted) and `added` (added) to every tally.
pub(super) async fn apply<C: ConnectionTrait>(
    db: &C,
    removed: &[ItemFact],
    added: &[ItemFact],
    rollups: Rollups,
) -> Result<()> {
    if removed.is_empty() && added.is_empty() {
        return Ok(());
    }
    let mut days: BTreeMap<(i64, i32, String), Sums> = BTreeMap::new();
    let mut weeks: BTreeMap<(i64, i32, String), i64> = BTreeMap::new();
    let mut totals: BTreeMap<(i64, String), (Sums, i64, f64)> = BTreeMap::new();
    let mut customer_days: BTreeMap<(i64, i64, i32), i64> = BTreeMap::new();
    let mut pairs: BTreeMap<(i64, i64), i64> = BTreeMap::new();
    let mut who_before: HashMap<i64, Who> = HashMap::new();
    let mut who_after: HashMap<i64, Who> = HashMap::new();
    // Per pair, the last day of its added items, and the pairs that lost items (whose last
    // day may move back).
    let mut latest: HashMap<(i64, i64), i32> = HashMap::new();
    let mut shrunk: BTreeSet<(i64, i64)> = BTreeSet::new();
    for (facts, sign) in [(removed, -1), (added, 1)] {
        for f in facts {
            let sums = Sums::of(f, sign);
            let day = day_of(f.at);
            let key = segment_key(f.segment.as_deref());
            for t in std::iter::once(ALL).chain(f.theme) {
                for seg in [key.as_str(), ALL_SEGMENTS] {
                    days.entry((t, day, seg.to_string()))
                        .or_default()
                        .add(&sums);
                    totals
                        .entry((t, seg.to_string()))
                        .or_insert((Sums::default(), 0, 0.0))
                        .0
                        .add(&sums);
                }
            }
            if let (Some(t), Rollups::Kept) = (f.theme, rollups) {
                for seg in [key.as_str(), ALL_SEGMENTS] {
                    *weeks
                        .entry((t, week_of_day(day), seg.to_string()))
                        .or_default() += sign;
                }
            }
            if let Some(c) = f.customer {
                let who = Who {
                    segment: key.clone(),
                    value: f.value,
                };
                if sign < 0 {
                    who_before.entry(c).or_insert(who);
                } else {
                    who_after.entry(c).or_insert(who);
                }
                if let Some(t) = f.theme {
                    *customer_days.entry((t, c, day)).or_default() += sign;
                    *pairs.entry((t, c)).or_default() += sign;
                    if sign < 0 {
                        shrunk.insert((t, c));
                    } else {
                        let l = latest.entry((t, c)).or_insert(day);
                        *l = (*l).max(day);
                    }
                }
            }
        }
    }
    days.retain(|_, s| !s.is_zero());
    weeks.retain(|_, n| *n != 0);
    customer_days.retain(|_, n| *n != 0);

    // Customers joining or leaving a theme, and customers whose segment or value changed
    // while they stay: counted in the totals of their segment. Every theme × customer pair
    // a fact names is in `pairs` (with a net change of 0 when it only moved or changed).
    // The customer days first: a pair's last day is read from them.
    add_customer_days(db, &customer_days).await?;
    let who = (&who_before, &who_after);
    let counts = add_pairs(db, &pairs, &latest, &shrunk, who, rollups).await?;
    let mut count = |theme: i64, who: &Who, sign: i64| {
        for seg in [who.segment.as_str(), ALL_SEGMENTS] {
            let e = totals
                .entry((theme, seg.to_string()))
                .or_insert((Sums::default(), 0, 0.0));
            e.1 += sign;
            e.2 += sign as f64 * who.value;
        }
    };
    for (&(theme, customer), delta) in &pairs {
        let now = counts.get(&(theme, customer)).copied().unwrap_or(0);
        let was = now - delta;
        let before = who_before.get(&customer).or(who_after.get(&customer));
        let after = who_after.get(&customer).or(who_before.get(&customer));
        if let (true, Some(b)) = (was > 0, before) {
            count(theme, b, -1);
        }
        if let (true, Some(w)) = (now > 0, after) {
            count(theme, w, 1);
        }
    }
    totals.retain(|_, (s, n, v)| !(s.is_zero() && *n == 0 && *v == 0.0));

    add_days(db, &days).await?;
    add_counts(db, WEEKS, ["theme_id", "week", "segment"], &weeks).await?;
    add_totals(db, &totals).await?;
    replace_facts(db, removed, added).await?;
    update_first_seen(db, removed, added).await
}

/// Keeps `backlog_facts` equal to the facts counted: the removed rows out, the added in —
/// or, for a fact that only changed theme (a placement), its row updated in place, one
/// statement per theme and chunk of rows.
async fn replace_facts<C: ConnectionTrait>(
    db: &C,
    removed: &[ItemFact],
    added: &[ItemFact],
) -> Result<()> {
    let key = |f: &ItemFact| (nanos(f.at), f.item_id);
    let mut gone: HashMap<(i64, i64), &ItemFact> = removed.iter().map(|f| (key(f), f)).collect();
    let mut rethemed: BTreeMap<Option<i64>, Vec<(i64, i64)>> = BTreeMap::new();
    let mut inserted = Vec::new();
    for f in added {
        let k = key(f);
        match gone.get(&k) {
            Some(was)
                if **was
                    == (ItemFact {
                        theme: was.theme,
                        ..f.clone()
                    }) =>
            {
                gone.remove(&k);
                rethemed.entry(f.theme).or_default().push(k);
            }
            _ => inserted.push(f),
        }
    }
    let in_keys = |keys: &[(i64, i64)]| {
        Expr::tuple([Expr::col(a("at_ns")).into(), Expr::col(a("item_id")).into()])
            .in_tuples(keys.iter().copied())
    };
    let gone: Vec<(i64, i64)> = gone.into_keys().collect();
    for chunk in gone.chunks(5_000) {
        let q = Query::delete()
            .from_table(a(FACTS))
            .and_where(in_keys(chunk))
            .to_owned();
        exec(db, db.get_database_backend().build(&q)).await?;
    }
    for (theme, keys) in &rethemed {
        for chunk in keys.chunks(5_000) {
            let q = Query::update()
                .table(a(FACTS))
                .value(a("theme_id"), *theme)
                .and_where(in_keys(chunk))
                .to_owned();
            exec(db, db.get_database_backend().build(&q)).await?;
        }
    }
    for chunk in crate::db::chunks_for(&inserted, 8) {
        let mut q = Query::insert();
        q.into_table(a(FACTS)).columns(FACT_COLUMNS.map(a));
        for f in chunk {
            q.values_panic([
                nanos(f.at).into(),
                f.item_id.into(),
                f.theme.into(),
                f.customer.into(),
                segment_key(f.segment.as_deref()).into(),
                f.value.into(),
                f.score.into(),
                f.priority.into(),
            ]);
        }
        exec(db, db.get_database_backend().build(&q)).await?;
    }
    Ok(())
}

fn plus(table: &str, col: &str) -> (Alias, SimpleExpr) {
    (
        a(col),
        Expr::col((a(table), a(col))).add(Expr::col((a("excluded"), a(col)))),
    )
}

async fn add_days<C: ConnectionTrait>(
    db: &C,
    days: &BTreeMap<(i64, i32, String), Sums>,
) -> Result<()> {
    let rows: Vec<_> = days.iter().collect();
    for chunk in crate::db::chunks_for(&rows, 8) {
        let mut q = Query::insert();
        q.into_table(a(DAYS)).columns(
            ["theme_id", "day", "segment"]
                .into_iter()
                .chain(SUMS)
                .map(a),
        );
        for ((t, d, s), sums) in chunk {
            let mut v: Vec<SimpleExpr> = vec![(*t).into(), (*d).into(), s.as_str().into()];
            v.extend(sums.values().map(SimpleExpr::from));
            q.values_panic(v);
        }
        q.on_conflict(
            OnConflict::columns([a("theme_id"), a("day"), a("segment")])
                .values(SUMS.map(|c| plus(DAYS, c)))
                .to_owned(),
        );
        exec(db, db.get_database_backend().build(&q)).await?;
    }
    let emptied = days
        .iter()
        .filter(|(_, s)| s.items < 0)
        .map(|((t, d, s), _)| ValueTuple::Three((*t).into(), (*d).into(), s.as_str().into()));
    delete_emptied(
        db,
        DAYS,
        &["theme_id", "day", "segment"],
        emptied,
        &["items"],
    )
    .await
}

async fn add_totals<C: ConnectionTrait>(
    db: &C,
    totals: &BTreeMap<(i64, String), (Sums, i64, f64)>,
) -> Result<()> {
    let rows: Vec<_> = totals.iter().collect();
    for chunk in crate::db::chunks_for(&rows, 9) {
        let mut q = Query::insert();
        q.into_table(a(TOTALS)).columns(
            ["theme_id", "segment"]
                .into_iter()
                .chain(SUMS)
                .chain(["customers", "value"])
                .map(a),
        );
        for ((t, s), (sums, n, value)) in chunk {
            let mut v: Vec<SimpleExpr> = vec![(*t).into(), s.as_str().into()];
            v.extend(sums.values().map(SimpleExpr::from));
            v.push((*n).into());
            v.push((*value).into());
            q.values_panic(v);
        }
        let mut cols: Vec<(Alias, SimpleExpr)> = SUMS.map(|c| plus(TOTALS, c)).into();
        cols.push(plus(TOTALS, "customers"));
        cols.push(plus(TOTALS, "value"));
        q.on_conflict(
            OnConflict::columns([a("theme_id"), a("segment")])
                .values(cols)
                .to_owned(),
        );
        exec(db, db.get_database_backend().build(&q)).await?;
    }
    // A total is empty when it counts no item and no customer.
    let emptied = totals
        .iter()
        .filter(|(_, (sums, n, _))| sums.items < 0 || *n < 0)
        .map(|((t, s), _)| ValueTuple::Two((*t).into(), s.as_str().into()));
    delete_emptied(
        db,
        TOTALS,
        &["theme_id", "segment"],
        emptied,
        &["items", "customers"],
    )
    .await
}

async fn add_customer_days<C: ConnectionTrait>(
    db: &C,
    rows: &BTreeMap<(i64, i64, i32), i64>,
) -> Result<()> {
    add_counts(db, CUSTOMER_DAYS, ["theme_id", "customer_id", "day"], rows).await
}

/// Adds each count to the `items` of its row of `table`, keyed by three columns (the first
/// the theme), then removes the rows left counting nothing.
async fn add_counts<C, K1, K2>(
    db: &C,
    table: &str,
    key: [&str; 3],
    rows: &BTreeMap<(i64, K1, K2), i64>,
) -> Result<()>
where
    C: ConnectionTrait,
    K1: Clone + Into<Value>,
    K2: Clone + Into<Value>,
{
    let rows: Vec<_> = rows.iter().collect();
    for chunk in crate::db::chunks_for(&rows, 4) {
        let mut q = Query::insert();
        q.into_table(a(table))
            .columns(key.iter().copied().chain(["items"]).map(a));
        for ((t, k1, k2), n) in chunk {
            q.values_panic([
                (*t).into(),
                SimpleExpr::Value(k1.clone().into()),
                SimpleExpr::Value(k2.clone().into()),
                (**n).into(),
            ]);
        }
        q.on_conflict(
            OnConflict::columns(key.map(a))
                .values([plus(table, "items")])
                .to_owned(),
        );
        exec(db, db.get_database_backend().build(&q)).await?;
    }
    let emptied = rows
        .iter()
        .filter(|(_, n)| **n < 0)
        .map(|((t, k1, k2), _)| {
            ValueTuple::Three((*t).into(), k1.clone().into(), k2.clone().into())
        });
    delete_emptied(db, table, &key, emptied, &["items"]).await
}

/// A theme × customer pair as `backlog_pairs` holds it.
#[derive(PartialEq)]
struct Pair {
    last_day: i32,
    segment: String,
    value: f64,
}

/// Adds to the per-theme customer counts, records each pair's customer as it is now and
/// its last day, and returns the new count of every pair in `deltas` (returned by the
/// upsert, which holds the rows' locks: no other writer can change them in between). A
/// pair's last day only moves forward with added items (`latest`, kept by the upsert
/// itself); only pairs that lost items (`shrunk`) read it again from the customer days.
/// The upsert also returns the row as it was (the `prev_*` columns it sets from the row it
/// replaces), from which `backlog_last_days` moves each pair from its old last day, segment
/// and value to its new ones.
async fn add_pairs<C: ConnectionTrait>(
    db: &C,
    deltas: &BTreeMap<(i64, i64), i64>,
    latest: &HashMap<(i64, i64), i32>,
    shrunk: &BTreeSet<(i64, i64)>,
    (who_before, who_after): (&HashMap<i64, Who>, &HashMap<i64, Who>),
    rollups: Rollups,
) -> Result<HashMap<(i64, i64), i64>> {
    let kept = rollups == Rollups::Kept;
    let backend = db.get_database_backend();
    let later = match backend {
        sea_orm::DbBackend::Postgres => "GREATEST",
        _ => "MAX",
    };
    let rows: Vec<_> = deltas.iter().collect();
    let mut out = HashMap::with_capacity(rows.len());
    let mut before: HashMap<(i64, i64), Pair> = HashMap::new();
    let mut after: HashMap<(i64, i64), Pair> = HashMap::new();
    let state = ["items", "segment", "value", "last_day"];
    let read = |r: &sea_orm::QueryResult, at: usize| -> std::result::Result<_, sea_orm::DbErr> {
        let items: i64 = r.try_get_by_index(at)?;
        let pair = Pair {
            segment: r.try_get_by_index(at + 1)?,
            value: r.try_get_by_index(at + 2)?,
            last_day: r.try_get_by_index(at + 3)?,
        };
        Ok((items, pair))
    };
    for chunk in crate::db::chunks_for(&rows, 6) {
        let mut q = Query::insert();
        q.into_table(a(PAIRS))
            .columns(["theme_id", "customer_id"].into_iter().chain(state).map(a));
        for (key, n) in chunk {
            let who = who_after.get(&key.1).or(who_before.get(&key.1));
            q.values_panic([
                key.0.into(),
                key.1.into(),
                (**n).into(),
                who.map_or("", |w| w.segment.as_str()).into(),
                who.map_or(0.0, |w| w.value).into(),
                latest.get(key).copied().unwrap_or(0).into(),
            ]);
        }
        let mut set = vec![
            plus(PAIRS, "items"),
            (
                a("segment"),
                Expr::col((a("excluded"), a("segment"))).into(),
            ),
            (a("value"), Expr::col((a("excluded"), a("value"))).into()),
            (
                a("last_day"),
                Expr::cust(format!("{later}({PAIRS}.last_day, excluded.last_day)")),
            ),
        ];
        // Every right-hand side reads the row being replaced.
        let prev: Vec<String> = if kept {
            state.map(|c| format!("prev_{c}")).into()
        } else {
            Vec::new()
        };
        for (p, c) in prev.iter().zip(state) {
            set.push((a(p), Expr::col((a(PAIRS), a(c))).into()));
        }
        q.on_conflict(
            OnConflict::columns([a("theme_id"), a("customer_id")])
                .values(set)
                .to_owned(),
        )
        .returning(
            Query::returning().columns(
                ["theme_id", "customer_id"]
                    .into_iter()
                    .chain(state)
                    .chain(prev.iter().map(String::as_str))
                    .map(a),
            ),
        );
        for r in db.query_all(backend.build(&q)).await? {
            let key = (r.try_get_by_index(0)?, r.try_get_by_index(1)?);
            let (items, now) = read(&r, 2)?;
            out.insert(key, items);
            if !kept {
                continue;
            }
            let (had, was) = read(&r, 6)?;
            if had > 0 {
                before.insert(key, was);
            }
            if items > 0 {
                after.insert(key, now);
            }
        }
    }
    let shrunk: Vec<(i64, i64)> = shrunk.iter().copied().collect();
    for chunk in shrunk.chunks(5_000) {
        let cd = a(CUSTOMER_DAYS);
        let last = Query::select()
            .expr(Func::max(Expr::col((cd.clone(), a("day")))))
            .from(cd.clone())
            .and_where(Expr::col((cd.clone(), a("theme_id"))).equals((a(PAIRS), a("theme_id"))))
            .and_where(Expr::col((cd, a("customer_id"))).equals((a(PAIRS), a("customer_id"))))
            .to_owned();
        let update = Query::update()
            .table(a(PAIRS))
            .value(
                a("last_day"),
                Func::coalesce([
                    SimpleExpr::SubQuery(None, Box::new(last.into_sub_query_statement())),
                    Expr::val(0).into(),
                ]),
            )
            .and_where(pair_in(chunk))
            .returning(Query::returning().columns(["theme_id", "customer_id", "last_day"].map(a)))
            .to_owned();
        for r in db.query_all(backend.build(&update)).await? {
            let key = (r.try_get_by_index(0)?, r.try_get_by_index(1)?);
            if let Some(p) = after.get_mut(&key) {
                p.last_day = r.try_get_by_index(2)?;
            }
        }
    }
    let emptied = deltas
        .iter()
        .filter(|(_, n)| **n < 0)
        .map(|(&(t, c), _)| ValueTuple::Two(t.into(), c.into()));
    delete_emptied(db, PAIRS, &["theme_id", "customer_id"], emptied, &["items"]).await?;
    if kept {
        add_last_days(db, &before, &after).await?;
    }
    Ok(out)
}

/// Moves each pair in `backlog_last_days` from its state `before` to its state `after`
/// (absent: not a pair).
async fn add_last_days<C: ConnectionTrait>(
    db: &C,
    before: &HashMap<(i64, i64), Pair>,
    after: &HashMap<(i64, i64), Pair>,
) -> Result<()> {
    let mut rows: BTreeMap<(i64, i32, String), (i64, f64)> = BTreeMap::new();
    for (states, sign) in [(before, -1), (after, 1)] {
        for (&(theme, customer), p) in states {
            let other = if sign < 0 { after } else { before };
            if other.get(&(theme, customer)) == Some(p) {
                continue;
            }
            for seg in [p.segment.as_str(), ALL_SEGMENTS] {
                let e = rows
                    .entry((theme, p.last_day, seg.to_string()))
                    .or_default();
                e.0 += sign;
                e.1 += sign as f64 * p.value;
            }
        }
    }
    rows.retain(|_, (n, v)| *n != 0 || *v != 0.0);
    let rows: Vec<_> = rows.iter().collect();
    for chunk in crate::db::chunks_for(&rows, 5) {
        let mut q = Query::insert();
        q.into_table(a(LAST_DAYS))
            .columns(["theme_id", "last_day", "segment", "customers", "value"].map(a));
        for ((t, d, s), (n, v)) in chunk {
            q.values_panic([
                (*t).into(),
                (*d).into(),
                s.as_str().into(),
                (*n).into(),
                (*v).into(),
            ]);
        }
        q.on_conflict(
            OnConflict::columns([a("theme_id"), a("last_day"), a("segment")])
                .values([plus(LAST_DAYS, "customers"), plus(LAST_DAYS, "value")])
                .to_owned(),
        );
        exec(db, db.get_database_backend().build(&q)).await?;
    }
    let emptied = rows
        .iter()
        .filter(|(_, (n, _))| *n < 0)
        .map(|((t, d, s), _)| ValueTuple::Three((*t).into(), (*d).into(), s.as_str().into()));
    delete_emptied(
        db,
        LAST_DAYS,
        &["theme_id", "last_day", "segment"],
        emptied,
        &["customers"],
    )
    .await
}

/// Removes the rows among `keys` (the rows a change took something from: only they can have
/// become empty) that now count nothing. Looked up by key rather than by scanning every row
/// of the themes touched, which a bulk move (a rebuild's pages of 50,000 facts, touching
/// every theme) would otherwise do once per page over the large tables.
async fn delete_emptied<C: ConnectionTrait>(
    db: &C,
    table: &str,
    key: &[&str],
    keys: impl Iterator<Item = ValueTuple>,
    counts: &[&str],
) -> Result<()> {
    let keys: Vec<ValueTuple> = keys.collect();
    for chunk in keys.chunks(5_000) {
        let mut q = Query::delete();
        q.from_table(a(table)).and_where(
            Expr::tuple(key.iter().map(|c| Expr::col(a(c)).into()))
                .in_tuples(chunk.iter().cloned()),
        );
        for c in counts {
            q.and_where(Expr::col(a(c)).lte(0));
        }
        exec(db, db.get_database_backend().build(&q)).await?;
    }
    Ok(())
}

/// Keeps each theme's oldest item: an earlier item lowers it; losing the oldest recounts.
async fn update_first_seen<C: ConnectionTrait>(
    db: &C,
    removed: &[ItemFact],
    added: &[ItemFact],
) -> Result<()> {
    let mut themes: BTreeSet<i64> = BTreeSet::new();
    themes.extend(removed.iter().chain(added).filter_map(|f| f.theme));
    if themes.is_empty() {
        return Ok(());
    }
    let current = first_seen_of(db, &themes).await?;
    let mut set: BTreeMap<i64, Option<DateTime<Utc>>> = BTreeMap::new();
    let mut recount: BTreeSet<i64> = BTreeSet::new();
    for f in removed {
        if let Some(t) = f.theme {
            if current.get(&t).is_none_or(|first| f.at <= *first) {
                recount.insert(t);
            }
        }
    }
    for t in recount {
        set.insert(t, oldest_item(db, t).await?);
    }
    for f in added {
        if let Some(t) = f.theme {
            let now = set
                .get(&t)
                .copied()
                .unwrap_or_else(|| current.get(&t).copied());
            if now.is_none_or(|first| f.at < first) {
                set.insert(t, Some(f.at));
            }
        }
    }
    for (t, first) in set {
        let del = Query::delete()
            .from_table(a(FIRST_SEEN))
            .and_where(Expr::col(a("theme_id")).eq(t))
            .to_owned();
        exec(db, db.get_database_backend().build(&del)).await?;
        if let Some(first) = first {
            let ins = Query::insert()
                .into_table(a(FIRST_SEEN))
                .columns([a("theme_id"), a("first_at")])
                .values_panic([t.into(), first.into()])
                .to_owned();
            exec(db, db.get_database_backend().build(&ins)).await?;
        }
    }
    Ok(())
}

async fn oldest_item<C: ConnectionTrait>(db: &C, theme: i64) -> Result<Option<DateTime<Utc>>> {
    let (i, it) = (a("feedback_items"), a("item_themes"));
    let q = Query::select()
        .expr_as(
            Func::min(Expr::col((i.clone(), a("created_at")))),
            a("first"),
        )
        .from(it.clone())
        .join(
            JoinType::InnerJoin,
            i.clone(),
            Expr::col((i, a("id"))).equals((it.clone(), a("item_id"))),
        )
        .and_where(Expr::col((it, a("theme_id"))).eq(theme))
        .to_owned();
    Ok(
        match db.query_one(db.get_database_backend().build(&q)).await? {
            Some(r) => r.try_get::<Option<DateTime<Utc>>>("", "first")?,
            None => None,
        },
    )
}
