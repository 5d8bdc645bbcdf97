//! The backlog's figures from the stored tallies (`db::tallies`) instead of every item: the
//! same [`Tallies`] as [`score::tally`] over the same items, in a few small queries.
//!
//! Tallies are kept per UTC day, but a period runs from any moment to any moment (`as_of`
//! is usually "now"). So a period is its whole days from the tallies, corrected at the two
//! edges with the items of the edge days themselves (at most two days of items). The
//! weekly trend is the same with thirteen week boundaries, all at `as_of`'s time of day:
//! each boundary day is counted whole in the older week, then the items after the
//! boundary move to the newer one. All time is the running totals less whatever lies at or
//! after `as_of` (normally nothing but today's last hours).
//!
//! Distinct customers do not add up over days, so they are read as the distinct
//! theme × customer pairs of the period's whole days united with those of the edges, in one
//! query; for all time, the running totals less the pairs seen only at or after `as_of`.

use std::collections::{BTreeSet, HashMap};
use std::ops::Bound;

use chrono::{DateTime, Duration, Utc};
use sea_orm::ConnectionTrait;

use super::score::{Tallies, Tally, Window, WEEKS};
use crate::db::tallies::{self, day_of, day_start, ItemFact, Sums, ALL};
use crate::Result;

/// The tallies of `window` for customers in `segment` (all items when `None`).
pub async fn load<C: ConnectionTrait>(
    db: &C,
    window: Window,
    segment: Option<&str>,
) -> Result<Tallies> {
    let as_of = window.as_of;
    let today = day_of(as_of);
    let today_start = day_start(today);
    // Items of today before `as_of`: an edge of every period.
    let today_items = tallies::facts_between(db, today_start, as_of, segment).await?;

    let mut sums: HashMap<i64, Sums> = HashMap::new();
    let mut customers: HashMap<i64, (i64, f64)>;
    match window.since {
        Some(since) => {
            let first = day_of(since);
            sums = tallies::day_sums(db, first, today, segment).await?;
            let before_since = tallies::facts_between(db, day_start(first), since, segment).await?;
            add_facts(&mut sums, &before_since, -1);
            add_facts(&mut sums, &today_items, 1);
            let edges = if first == today {
                vec![(since, as_of)]
            } else {
                vec![(since, day_start(first + 1)), (today_start, as_of)]
            };
            customers = tallies::customers(db, first, today, &edges, segment).await?;
        }
        None => {
            let totals = tallies::totals(db, segment).await?;
            let later = tallies::day_sums(db, today, i32::MAX, segment).await?;
            customers = HashMap::new();
            for (theme, (s, n, v)) in totals {
                let e = sums.entry(theme).or_default();
                e.add(&s);
                if let Some(l) = later.get(&theme) {
                    e.sub(l);
                }
                customers.insert(theme, (n, v));
            }
            add_facts(&mut sums, &today_items, 1);
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
    for (theme, weekly) in weekly(db, as_of, segment).await? {
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

/// Items per theme in each of the 12 weeks before `as_of`.
async fn weekly<C: ConnectionTrait>(
    db: &C,
    as_of: DateTime<Utc>,
    segment: Option<&str>,
) -> Result<HashMap<i64, [i64; WEEKS]>> {
    let today = day_of(as_of);
    let weeks = WEEKS as i32;
    // Week k (0: the newest) is the 7 days before as_of - 7k days; the day of each boundary
    // is counted whole in week (today - day) / 7, the older side of it.
    let mut by_age: HashMap<i64, [i64; WEEKS + 1]> = HashMap::new();
    for (theme, week, n) in
        tallies::weekly_counts(db, today - 7 * weeks, today, today, segment).await?
    {
        by_age.entry(theme).or_insert([0; WEEKS + 1])[week as usize] += n;
    }
    // … and its items after the boundary belong to the newer week: a week runs from just
    // after one boundary to the next one included (an item exactly at `as_of - 7k days` is
    // k weeks ago). `as_of` itself and what follows it belong to no week.
    let ranges: Vec<_> = (0..=WEEKS)
        .map(|k| {
            let boundary = as_of - Duration::weeks(k as i64);
            let from = if k == 0 {
                Bound::Included(boundary)
            } else {
                Bound::Excluded(boundary)
            };
            (from, day_start(day_of(boundary) + 1))
        })
        .collect();
    for (theme, counts) in tallies::counts_in(db, &ranges, segment).await? {
        let e = by_age.entry(theme).or_insert([0; WEEKS + 1]);
        for (k, n) in counts.into_iter().enumerate() {
            e[k] -= n;
            if k > 0 {
                e[k - 1] += n;
            }
        }
    }
    Ok(by_age
        .into_iter()
        .map(|(theme, ages)| {
            let mut weekly = [0; WEEKS];
            for (age, n) in ages.iter().take(WEEKS).enumerate() {
                weekly[WEEKS - 1 - age] = *n;
            }
            (theme, weekly)
        })
        .collect())
}
