//! Backlog tallies: the sums behind every backlog score, kept current in the transaction
//! that changes what they sum (see the `m20261203_000011_backlog_tallies` and
//! `m20261203_000014_backlog_rollups` migrations for the tables).
//!
//! Every write that changes an item's theme, customer segment, account value or existence
//! goes through one pattern: [`snapshot`] the items' facts before, change them, then
//! [`commit`] — which reads the facts again and applies the difference. New items need no
//! snapshot ([`Snapshot::new_items`]). Nothing else writes these tables, so they equal a
//! full recount at every commit; `backlog` tests that on random data, and [`rebuild`]
//! recounts from scratch (on first start after the migration, and on demand).
//!
//! Invariants:
//! * theme 0 ([`ALL`]) tallies every item, themed or not (the mean satisfaction of all
//!   feedback); other rows tally one theme;
//! * day, week, total and last-day rows are kept per segment ([`segment_key`]) and once
//!   more for all segments together ([`ALL_SEGMENTS`]);
//! * `backlog_weeks` is `backlog_days` of the themed rows summed by [`week_of_day`], and
//!   `backlog_last_days` is `backlog_pairs` counted by last day, both kept by the same
//!   writes;
//! * a customer's segment and account value are read when the fact is, so a change to the
//!   customer is a snapshot/commit of their items;
//! * in PostgreSQL, concurrent writers serialize on the rows they add to (upserts), and
//!   rows are touched in key order, so two writers cannot deadlock on them;
//! * a [`snapshot`] locks its items' rows (PostgreSQL, id order) before reading them, so two
//!   changes of the same item cannot both start from the same "before".

mod read;
mod write;

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Alias, Expr, JoinType, Query, SelectStatement};
use sea_orm::{ConnectionTrait, FromQueryResult, Statement};

use super::customers::MAX_ACCOUNT_VALUE;
use crate::Result;
pub use read::*;
use write::{apply, Rollups};

/// The theme id under which every item is tallied.
pub const ALL: i64 = 0;
/// The segment key of the rows that add up every segment (and none): what an unfiltered
/// backlog reads, so it reads one row per theme and day instead of one per segment.
pub const ALL_SEGMENTS: &str = "*";

/// The key a customer segment is tallied under: `""` for none, `"=name"` for a segment (so
/// no segment name can collide with [`ALL_SEGMENTS`]).
pub fn segment_key(segment: Option<&str>) -> String {
    segment.map_or_else(String::new, |s| format!("={s}"))
}

pub(crate) const DAYS: &str = "backlog_days";
pub(crate) const TOTALS: &str = "backlog_totals";
pub(crate) const CUSTOMER_DAYS: &str = "backlog_customer_days";
pub(crate) const PAIRS: &str = "backlog_pairs";
pub(crate) const FIRST_SEEN: &str = "backlog_first_seen";
pub(crate) const FACTS: &str = "backlog_facts";
/// Themed items per theme × week (`day` div 7) × segment key: `backlog_days` by week.
pub(crate) const WEEKS: &str = "backlog_weeks";
/// Pairs (and their value) per theme × last day × segment key: `backlog_pairs` by last day.
pub(crate) const LAST_DAYS: &str = "backlog_last_days";
/// The columns of `backlog_facts`, in the order they are written and read.
pub(crate) const FACT_COLUMNS: [&str; 8] = [
    "at_ns",
    "item_id",
    "theme_id",
    "customer_id",
    "segment",
    "value",
    "score",
    "priority",
];
pub(crate) const STATE: &str = "backlog_tally_state";
/// Every table of the tallies.
const TABLES: [&str; 9] = [
    DAYS,
    WEEKS,
    TOTALS,
    CUSTOMER_DAYS,
    PAIRS,
    LAST_DAYS,
    FIRST_SEEN,
    FACTS,
    STATE,
];
pub(crate) const SUMS: [&str; 5] = [
    "items",
    "scored",
    "score_units",
    "tickets",
    "priority_levels",
];

pub(crate) fn a(name: &str) -> Alias {
    Alias::new(name)
}

/// `(theme_id, customer_id)` is one of `pairs`.
pub(crate) fn pair_in(pairs: &[(i64, i64)]) -> sea_orm::sea_query::SimpleExpr {
    Expr::tuple([
        Expr::col(a("theme_id")).into(),
        Expr::col(a("customer_id")).into(),
    ])
    .in_tuples(pairs.iter().copied())
}

/// The UTC day of `at`, counted from 1970-01-01.
pub fn day_of(at: DateTime<Utc>) -> i32 {
    at.timestamp().div_euclid(86_400) as i32
}

/// The week (of `backlog_weeks`) a day lies in: weeks of seven days from the Unix epoch.
pub fn week_of_day(day: i32) -> i32 {
    day.div_euclid(7)
}

/// `at` in nanoseconds since 1970 (how `backlog_facts` keeps time: exact for every
/// timestamp either database stores, and compared as a number); clamped outside 1677–2262.
pub fn nanos(at: DateTime<Utc>) -> i64 {
    at.timestamp_nanos_opt().unwrap_or(if at.timestamp() < 0 {
        i64::MIN
    } else {
        i64::MAX
    })
}

/// Midnight UTC at the start of `day`.
pub fn day_start(day: i32) -> DateTime<Utc> {
    DateTime::from_timestamp(i64::from(day) * 86_400, 0).unwrap_or_default()
}

/// A normalised score (0–1, on a grid of twentieths: NPS tenths and 1–5 quarters) as a
/// whole number of twentieths, so sums are exact.
pub fn score_units(score: f64) -> i64 {
    (score * 20.0).round() as i64
}

/// A ticket priority as a level: low 0, normal 1, high 2, urgent 3.
pub fn priority_level(p: &str) -> i64 {
    match p {
        "urgent" => 3,
        "high" => 2,
        "normal" => 1,
        _ => 0,
    }
}

/// An account value as the backlog counts it: unknown, negative or not finite is 0, above
/// the intake bound is the bound (rows stored before the bound existed).
pub fn counted_value(v: Option<f64>) -> f64 {
    v.filter(|v| v.is_finite())
        .unwrap_or(0.0)
        .clamp(0.0, MAX_ACCOUNT_VALUE)
}

/// What the backlog needs to know about one item, as stored now.
#[derive(Debug, Clone, PartialEq)]
pub struct ItemFact {
    pub item_id: i64,
    pub theme: Option<i64>,
    pub at: DateTime<Utc>,
    /// The customer's segment.
    pub segment: Option<String>,
    pub customer: Option<i64>,
    /// The customer's account value as counted ([`counted_value`]).
    pub value: f64,
    /// In twentieths ([`score_units`]).
    pub score: Option<i64>,
    /// Tickets only ([`priority_level`]).
    pub priority: Option<i64>,
}

/// Additive sums over a set of items.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Sums {
    pub items: i64,
    pub scored: i64,
    pub score_units: i64,
    pub tickets: i64,
    pub priority_levels: i64,
}

impl Sums {
    /// One item's share, added (`sign` 1) or taken away (-1).
    pub fn of(f: &ItemFact, sign: i64) -> Self {
        Self {
            items: sign,
            scored: sign * i64::from(f.score.is_some()),
            score_units: sign * f.score.unwrap_or(0),
            tickets: sign * i64::from(f.priority.is_some()),
            priority_levels: sign * f.priority.unwrap_or(0),
        }
    }

    pub fn add(&mut self, o: &Sums) {
        self.items += o.items;
        self.scored += o.scored;
        self.score_units += o.score_units;
        self.tickets += o.tickets;
        self.priority_levels += o.priority_levels;
    }

    pub fn sub(&mut self, o: &Sums) {
        self.items -= o.items;
        self.scored -= o.scored;
        self.score_units -= o.score_units;
        self.tickets -= o.tickets;
        self.priority_levels -= o.priority_levels;
    }

    pub(crate) fn is_zero(&self) -> bool {
        *self == Sums::default()
    }

    pub(crate) fn values(&self) -> [i64; 5] {
        [
            self.items,
            self.scored,
            self.score_units,
            self.tickets,
            self.priority_levels,
        ]
    }
}

#[derive(FromQueryResult)]
struct FactRow {
    id: i64,
    theme_id: Option<i64>,
    created_at: DateTime<Utc>,
    score: Option<f64>,
    customer_id: Option<i64>,
    segment: Option<String>,
    account_value: Option<f64>,
    priority: Option<String>,
}

impl From<FactRow> for ItemFact {
    fn from(r: FactRow) -> Self {
        Self {
            item_id: r.id,
            theme: r.theme_id,
            at: r.created_at,
            segment: r.segment,
            customer: r.customer_id,
            value: counted_value(r.account_value),
            score: r.score.map(score_units),
            priority: r.priority.as_deref().map(priority_level),
        }
    }
}

/// Items with their theme, customer and, for tickets, priority (one query, left joins).
fn facts_query() -> SelectStatement {
    let (i, it, c, t) = (
        a("feedback_items"),
        a("item_themes"),
        a("customers"),
        a("tickets"),
    );
    Query::select()
        .column((i.clone(), a("id")))
        .column((it.clone(), a("theme_id")))
        .column((i.clone(), a("created_at")))
        .column((i.clone(), a("score")))
        .column((i.clone(), a("customer_id")))
        .column((c.clone(), a("segment")))
        .column((c.clone(), a("account_value")))
        .column((t.clone(), a("priority")))
        .from(i.clone())
        .join(
            JoinType::LeftJoin,
            it.clone(),
            Expr::col((it, a("item_id"))).equals((i.clone(), a("id"))),
        )
        .join(
            JoinType::LeftJoin,
            c.clone(),
            Expr::col((c, a("id"))).equals((i.clone(), a("customer_id"))),
        )
        .join(
            JoinType::LeftJoin,
            t.clone(),
            Expr::col((t, a("id")))
                .equals((i.clone(), a("source_id")))
                .and(Expr::col((i, a("kind"))).eq("ticket")),
        )
        .to_owned()
}

async fn read_facts<C: ConnectionTrait>(db: &C, q: &SelectStatement) -> Result<Vec<ItemFact>> {
    Ok(
        FactRow::find_by_statement(db.get_database_backend().build(q))
            .all(db)
            .await?
            .into_iter()
            .map(ItemFact::from)
            .collect(),
    )
}

/// The facts of these items as stored now (missing ids are absent).
pub async fn facts_of<C: ConnectionTrait>(db: &C, ids: &[i64]) -> Result<Vec<ItemFact>> {
    let mut out = Vec::with_capacity(ids.len());
    for chunk in ids.chunks(10_000) {
        let mut q = facts_query();
        q.and_where(Expr::col((a("feedback_items"), a("id"))).is_in(chunk.iter().copied()));
        out.extend(read_facts(db, &q).await?);
    }
    Ok(out)
}

/// Items created in `[from, to)`, only those of customers in `segment` when given.
pub async fn facts_between<C: ConnectionTrait>(
    db: &C,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    segment: Option<&str>,
) -> Result<Vec<ItemFact>> {
    let mut q = facts_query();
    let at = || Expr::col((a("feedback_items"), a("created_at")));
    q.and_where(at().gte(from)).and_where(at().lt(to));
    read::customer_segment(&mut q, segment);
    read_facts(db, &q).await
}

/// The facts of some items before a change; [`commit`] applies the difference.
#[derive(Debug, Default)]
pub struct Snapshot {
    ids: Vec<i64>,
    before: Vec<ItemFact>,
}

impl Snapshot {
    /// The items it covers.
    pub fn item_ids(&self) -> &[i64] {
        &self.ids
    }

    /// Items that did not exist before (nothing to read).
    pub fn new_items(ids: Vec<i64>) -> Self {
        Self {
            ids,
            before: Vec::new(),
        }
    }
}

/// Reads the facts of `ids` before they change, holding them: on PostgreSQL the items' rows
/// are locked first (in id order, so two snapshots cannot deadlock on each other), so a
/// concurrent change of the same items waits for this transaction and then reads what it
/// left — otherwise both would apply the difference from the same "before" and count the
/// change twice. SQLite needs nothing: [`begin_write`](crate::db::begin_write) holds its one
/// write lock.
pub async fn snapshot<C: ConnectionTrait>(db: &C, ids: &[i64]) -> Result<Snapshot> {
    let mut sorted = ids.to_vec();
    sorted.sort_unstable();
    sorted.dedup();
    super::lock_rows(db, "feedback_items", "id", sorted).await?;
    Ok(Snapshot {
        ids: ids.to_vec(),
        before: facts_of(db, ids).await?,
    })
}

/// Reads the facts of the snapshot's items again and applies the difference (an item gone
/// is removed, a new one added, a changed one moved). Call in the transaction of the change.
pub async fn commit<C: ConnectionTrait>(db: &C, snap: Snapshot) -> Result<()> {
    if snap.ids.is_empty() {
        return Ok(());
    }
    let after = facts_of(db, &snap.ids).await?;
    let mut before: HashMap<i64, ItemFact> =
        snap.before.into_iter().map(|f| (f.item_id, f)).collect();
    let (mut removed, mut added) = (Vec::new(), Vec::new());
    for f in after {
        match before.remove(&f.item_id) {
            Some(b) if b == f => {}
            Some(b) => {
                removed.push(b);
                added.push(f);
            }
            None => added.push(f),
        }
    }
    removed.extend(before.into_values());
    apply(db, &removed, &added, Rollups::Kept).await
}

/// Moves from which [`retheme`] refills the rollups once instead of moving them with each
/// fact (at a million moves: seconds instead of tens of seconds; the refill itself costs
/// a few seconds whatever the number of moves).
const BULK_MOVES: usize = 20_000;

/// Facts read and moved per step of [`retheme`].
const RETHEME_PAGE: u64 = 50_000;

/// Moves items to new themes in the tallies (`moves`: item → its theme now), after their
/// placements were written, in the same transaction. A placement changes nothing else about
/// an item, so its fact is the stored one with the new theme: one pass over
/// `backlog_facts` replaces the three-table join of [`snapshot`] and [`commit`], which is
/// what keeps a rebuild that moves a million items to seconds.
pub async fn retheme<C: ConnectionTrait>(db: &C, moves: &HashMap<i64, Option<i64>>) -> Result<()> {
    retheme_with(db, moves, BULK_MOVES).await
}

/// [`retheme`], refilling the rollups once when there are more than `bulk` moves.
pub async fn retheme_with<C: ConnectionTrait>(
    db: &C,
    moves: &HashMap<i64, Option<i64>>,
    bulk: usize,
) -> Result<()> {
    if moves.is_empty() {
        return Ok(());
    }
    let rollups = if moves.len() > bulk {
        Rollups::Deferred
    } else {
        Rollups::Kept
    };
    let mut after = (i64::MIN, i64::MIN);
    loop {
        let page = stored_facts_after(db, after, RETHEME_PAGE).await?;
        let Some(last) = page.last() else { break };
        after = (nanos(last.at), last.item_id);
        let (mut removed, mut added) = (Vec::new(), Vec::new());
        for f in page {
            match moves.get(&f.item_id) {
                Some(&theme) if theme != f.theme => {
                    added.push(ItemFact { theme, ..f.clone() });
                    removed.push(f);
                }
                _ => {}
            }
        }
        apply(db, &removed, &added, rollups).await?;
    }
    if rollups == Rollups::Deferred {
        refill_rollups(db).await?;
    }
    Ok(())
}

/// Fills the rollups again from the day and pair tallies they roll up, after a bulk change
/// that deferred them ([`Rollups::Deferred`]), in its transaction. In PostgreSQL the two
/// tables are locked against other writers (readers go on) until that transaction ends: a
/// writer waiting meanwhile applies its change after it, to the refilled rows.
pub(super) async fn refill_rollups<C: ConnectionTrait>(db: &C) -> Result<()> {
    if db.get_database_backend() == sea_orm::DbBackend::Postgres {
        db.execute_unprepared(&format!(
            "LOCK TABLE {WEEKS}, {LAST_DAYS} IN EXCLUSIVE MODE"
        ))
        .await?;
    }
    clear(db, &[WEEKS, LAST_DAYS]).await?;
    db.execute_unprepared(migration::FILL_WEEKS).await?;
    db.execute_unprepared(migration::FILL_LAST_DAYS).await?;
    Ok(())
}

/// Recounts every tally from the items (in pages of 20,000, so memory stays flat).
pub async fn rebuild<C: ConnectionTrait>(db: &C) -> Result<()> {
    clear(db, &TABLES).await?;
    let mut after = 0i64;
    loop {
        let mut q = facts_query();
        q.and_where(Expr::col((a("feedback_items"), a("id"))).gt(after))
            .order_by((a("feedback_items"), a("id")), sea_orm::Order::Asc)
            .limit(20_000);
        let page = read_facts(db, &q).await?;
        let Some(last) = page.last() else { break };
        after = last.item_id;
        apply(db, &[], &page, Rollups::Deferred).await?;
    }
    refill_rollups(db).await?;
    let q = Query::insert()
        .into_table(a(STATE))
        .columns([a("id"), a("built_at")])
        .values_panic([1.into(), Utc::now().into()])
        .to_owned();
    exec(db, db.get_database_backend().build(&q)).await
}

/// Builds the tallies when they never were (the first start after the migration that
/// added them); a no-op afterwards.
pub async fn ensure_built(db: &sea_orm::DatabaseConnection) -> Result<()> {
    let built = Query::select().column(a("id")).from(a(STATE)).to_owned();
    if db
        .query_one(db.get_database_backend().build(&built))
        .await?
        .is_some()
    {
        return Ok(());
    }
    let txn = super::begin_write(db).await?;
    if db.get_database_backend() == sea_orm::DbBackend::Postgres {
        // Two processes starting at once: the second waits here, then finds them built.
        txn.execute_unprepared("LOCK TABLE backlog_tally_state IN EXCLUSIVE MODE")
            .await?;
    }
    if txn
        .query_one(db.get_database_backend().build(&built))
        .await?
        .is_none()
    {
        rebuild(&txn).await?;
    }
    txn.commit().await?;
    Ok(())
}

/// Recounts every tally from the items in one transaction (`triage reindex --tallies`):
/// the remedy should they ever differ from the items. In PostgreSQL every tally table is
/// locked against writers (readers go on) until the recount commits, so a write running
/// meanwhile applies its change after it, to the recounted figures.
pub async fn recount(db: &sea_orm::DatabaseConnection) -> Result<()> {
    let txn = super::begin_write(db).await?;
    if db.get_database_backend() == sea_orm::DbBackend::Postgres {
        let tables = TABLES.join(", ");
        txn.execute_unprepared(&format!("LOCK TABLE {tables} IN EXCLUSIVE MODE"))
            .await?;
    }
    rebuild(&txn).await?;
    txn.commit().await?;
    Ok(())
}

/// Empties `tables`.
async fn clear<C: ConnectionTrait>(db: &C, tables: &[&str]) -> Result<()> {
    for t in tables {
        let q = Query::delete().from_table(a(t)).to_owned();
        exec(db, db.get_database_backend().build(&q)).await?;
    }
    Ok(())
}

pub(super) async fn exec<C: ConnectionTrait>(db: &C, stmt: Statement) -> Result<()> {
    db.execute(stmt).await?;
    Ok(())
}
