//! The backlog's figures from the stored tallies (`db::tallies`) instead of every item: the
//! same [`Tallies`] as [`score::tally`] over the same items, in a few small queries.
//!
//! Tallies are kept per UTC day, but a period runs from any moment to any moment (`as_of`
//! is usually "now"). So a period is its whole days from the tallies, corrected at the two
//! edges with the facts of the edge days (`backlog_facts`, kept in time order: one range
//! each, no join). The weekly trend is the same with thirteen week boundaries, all at
//! `as_of`'s time of day: each boundary day is counted whole in one week, then its items on
//! the other side of the boundary move across (the shorter side of the day, see
//! `weekly`).
//!
//! Distinct customers do not add up over days. When nothing lies at or after `as_of` (the
//! usual case: `as_of` is now) a customer is in a period exactly when their last item in
//! the theme is, so they are one range of the pairs' last-day index plus the pairs whose
//! last day is the period's first day (checked against that day's facts), and all time is
//! the running totals as they stand. For a moment in the past they are the distinct
//! theme × customer pairs of the period's whole days united with those of the edges, in one
//! query; for all time, the running totals less the pairs seen only at or after `as_of`.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::ops::Bound;

use chrono::{DateTime, Duration, Utc};
use sea_orm::ConnectionTrait;

use super::score::{Tallies, Tally, Window, WEEKS};
use crate::db::tallies::{self, day_of, day_start, ItemFact, Sums, ALL};
use crate::Result;

/// Whose weekly trend [`load`] reads: every theme's (the backlog), or one theme's (its
/// page — the other themes' figures are still needed, since volume, customers, rating
/// impact and value are scaled against the largest, but their trends are not).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Trends {
    Every,
    Of(i64),
}

impl Trends {
    fn theme(self) -> Option<i64> {
        match self {
            Self::Every => None,
            Self::Of(t) => Some(t),
        }
    }
}

/// The tallies of `window` for customers in `segment` (all items when `None`), with the
/// weekly trends of `trends` (the others left at zero).
pub async fn load<C: ConnectionTrait>(
    db: &C,
    window: Window,
    segment: Option<&str>,
    trends: Trends,
) -> Result<Tallies> {
    let as_of = window.as_of;
    let today = day_of(as_of);
    let today_start = day_start(today);
    // Normally nothing lies at or after `as_of` (it is "now"): then a customer is in a
    // period exactly when their last item in the theme is, and all time is the totals.
    let settled = !tallies::any_fact_from(db, as_of).await?;

    // The reads below are independent: on a pool they run at once on their own
    // connections (inside a transaction they queue on its one connection).
    let mut sums: HashMap<i64, Sums>;
    let mut customers: HashMap<i64, (i64, f64)>;
    let weekly_counts;
    match window.since {
        Some(since) => {
            let first = day_of(since);
            // The older edge: the first day counted whole, less its items before `since`.
            let first_end = if settled {
                day_start(first + 1).min(as_of)
            } else {
                since
            };
            let edges = if first == today {
                vec![(since, as_of)]
            } else {
                vec![(since, day_start(first + 1)), (today_start, as_of)]
            };
            let period_customers = async {
                if settled {
                    tallies::customers_last_after(db, first, segment).await
                } else {
                    tallies::customers(db, first, today, &edges, segment).await
                }
            };
            let today_items;
            let first_day;
            (sums, today_items, first_day, customers, weekly_counts) = tokio::try_join!(
                tallies::day_sums(db, first, today, segment),
                // Items of today before `as_of`: the newer edge.
                tallies::stored_facts(db, today_start, as_of, segment),
                tallies::stored_facts(db, day_start(first), first_end, segment),
                period_customers,
                weekly(db, as_of, segment, trends),
            )?;
            add_facts(&mut sums, &today_items, 1);
            let (before_since, after_since): (Vec<_>, Vec<_>) =
                first_day.into_iter().partition(|f| f.at < since);
            add_facts(&mut sums, &before_since, -1);
            if settled {
                add_last_on_first_day(db, first, &after_since, &mut customers).await?;
            }
        }
        None if settled => {
            let totals;
            (totals, weekly_counts) = tokio::try_join!(
                tallies::totals(db, segment),
                weekly(db, as_of, segment, trends)
            )?;
            sums = HashMap::new();
            customers = HashMap::new();
            for (theme, (s, n, v)) in totals {
                sums.insert(theme, s);
                customers.insert(theme, (n, v));
            }
        }
        None => {
            let today_items;
            (today_items, weekly_counts) = tokio::try_join!(
                tallies::stored_facts(db, today_start, as_of, segment),
                weekly(db, as_of, segment, trends)
            )?;
            sums = HashMap::new();
            customers = all_time_before(db, today, &today_items, segment, &mut sums).await?;
        }
    }

    let mut out = Tallies::default();
    if let Some(all) = sums.remove(&ALL) {
        out.all_scored = all.scored;
        out.all_score_units = all.score_units;
    }
    for (theme, s) in sums {
        let (n, value) = customers.remove(&theme).unwrap_or((0, 0.0));
        out.themes.insert(
            theme,
            Tally {
                volume: s.items,
                customers: n,
                value,
                scored: s.scored,
                score_units: s.score_units,
                tickets: s.tickets,
                priority_levels: s.priority_levels,
                weekly: [0; WEEKS],
            },
        );
    }
    for (theme, (n, value)) in customers {
        if theme != ALL && (n, value) != (0, 0.0) {
            let t = out.themes.entry(theme).or_default();
            t.customers = n;
            t.value = value;
        }
    }
    for (theme, weekly) in weekly_counts {
        out.themes.entry(theme).or_default().weekly = weekly;
    }
    // A theme with nothing in the period keeps no zero entry the full computation lacks.
    out.themes.retain(|_, t| *t != Tally::default());
    Ok(out)
}

fn add_facts(sums: &mut HashMap<i64, Sums>, facts: &[ItemFact], sign: i64) {
    for f in facts {
        for theme in std::iter::once(ALL).chain(f.theme) {
            sums.entry(theme).or_default().add(&Sums::of(f, sign));
        }
    }
}

/// Completes the distinct customers of the period `[since, as_of)` when nothing lies at or
/// after `as_of`: `customers` holds the pairs whose last item is on a day after `since`'s
/// day `first`; this adds those whose last item is on `first` itself at or after `since`
/// (among `after_since`, the first day's items from `since` on).
async fn add_last_on_first_day<C: ConnectionTrait>(
    db: &C,
    first: i32,
    after_since: &[ItemFact],
    customers: &mut HashMap<i64, (i64, f64)>,
) -> Result<()> {
    let edge: BTreeMap<(i64, i64), f64> = after_since
        .iter()
        .filter_map(|f| Some(((f.theme?, f.customer?), f.value)))
        .collect();
    let keys: Vec<(i64, i64)> = edge.keys().copied().collect();
    for pair in tallies::pairs_last_on(db, &keys, first).await? {
        let e = customers.entry(pair.0).or_insert((0, 0.0));
        e.0 += 1;
        e.1 += edge[&pair];
    }
    Ok(())
}

/// All time when items lie at or after `as_of` (a moment in the past): the running totals
/// less today's and later days, plus `today_items`; customers less the pairs seen only at
/// or after `as_of`.
async fn all_time_before<C: ConnectionTrait>(
    db: &C,
    today: i32,
    today_items: &[ItemFact],
    segment: Option<&str>,
    sums: &mut HashMap<i64, Sums>,
) -> Result<HashMap<i64, (i64, f64)>> {
    let totals = tallies::totals(db, segment).await?;
    let later = tallies::day_sums(db, today, i32::MAX, segment).await?;
    let mut customers = HashMap::new();
    for (theme, (s, n, v)) in totals {
        let e = sums.entry(theme).or_default();
        e.add(&s);
        if let Some(l) = later.get(&theme) {
            e.sub(l);
        }
        customers.insert(theme, (n, v));
    }
    add_facts(sums, today_items, 1);
    // Pairs whose items all lie at or after `as_of` are not customers yet.
    let recent = tallies::pairs_from_day(db, today, segment).await?;
    let keys: Vec<(i64, i64)> = recent.iter().map(|(t, c, _)| (*t, *c)).collect();
    let earlier = tallies::pairs_seen_before(db, &keys, today).await?;
    let today_pairs: BTreeSet<(i64, i64)> = today_items
        .iter()
        .filter_map(|f| Some((f.theme?, f.customer?)))
        .collect();
    for (theme, customer, value) in recent {
        let key = (theme, customer);
        if !earlier.contains(&key) && !today_pairs.contains(&key) {
            let e = customers.entry(theme).or_insert((0, 0.0));
            e.0 -= 1;
            e.1 -= value;
        }
    }
    Ok(customers)
}

/// Items per theme in each of the 12 weeks before `as_of`.
///
/// Week k (0: the newest) runs from just after `b(k+1)` to `b(k)` included, where
/// `b(k) = as_of - 7k days`; `as_of` itself and what follows belong to no week. Whole days
/// come from the day tallies. Each of the 13 boundary days is first counted whole on one
/// side of its boundary, then its items on the other side are moved across — on whichever
/// side has fewer hours of that day: before midday, the items up to the boundary; from
/// midday, those after it.
async fn weekly<C: ConnectionTrait>(
    db: &C,
    as_of: DateTime<Utc>,
    segment: Option<&str>,
    trends: Trends,
) -> Result<HashMap<i64, [i64; WEEKS]>> {
    let today = day_of(as_of);
    let weeks = WEEKS as i32;
    let early = as_of - day_start(today) < Duration::hours(12);
    // Slot = age + 1; slot 0 holds what lies at or after `as_of`, counted and dropped.
    let mut slots: HashMap<i64, [i64; WEEKS + 2]> = HashMap::new();
    // Day d is in week (today - d) / 7 when boundary days count on the older side, in
    // (today + 6 - d) / 7 - 1 when on the newer side.
    let (week_of, shift) = if early { (today + 6, 0) } else { (today, 1) };
    let ranges: Vec<_> = (0..=WEEKS)
        .map(|k| {
            let b = as_of - Duration::weeks(k as i64);
            let day = day_of(b);
            if early {
                let to = if k == 0 {
                    Bound::Excluded(b)
                } else {
                    Bound::Included(b)
                };
                (Bound::Included(day_start(day)), to)
            } else {
                let from = if k == 0 {
                    Bound::Included(b)
                } else {
                    Bound::Excluded(b)
                };
                (from, Bound::Excluded(day_start(day + 1)))
            }
        })
        .collect();
    let (whole_days, edges) = tokio::try_join!(
        tallies::weekly_counts(
            db,
            today - 7 * weeks,
            today,
            week_of,
            segment,
            trends.theme()
        ),
        tallies::counts_in(db, &ranges, segment, trends.theme()),
    )?;
    for (theme, week, n) in whole_days {
        slots.entry(theme).or_insert([0; WEEKS + 2])[(week + shift) as usize] += n;
    }
    for (theme, counts) in edges {
        let e = slots.entry(theme).or_insert([0; WEEKS + 2]);
        for (k, n) in counts.into_iter().enumerate() {
            // Early: the items up to b(k) leave the newer week (slot k) for the older
            // (slot k + 1); late: the items after b(k) leave slot k + 1 for slot k.
            let (from, to) = if early { (k, k + 1) } else { (k + 1, k) };
            e[from] -= n;
            e[to] += n;
        }
    }
    Ok(slots
        .into_iter()
        .map(|(theme, slots)| {
            let mut weekly = [0; WEEKS];
            for age in 0..WEEKS {
                weekly[WEEKS - 1 - age] = slots[age + 1];
            }
            (theme, weekly)
        })
        .collect())
}
