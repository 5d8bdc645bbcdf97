//! What a theme's rollouts did: per cohort (the customers a rollout reached first), its
//! report rate and satisfaction before and after, against the customers not reached yet.
//!
//! * Cohorts ([`cohorts`]): each segment belongs to the first rollout that names it; a
//!   rollout without segments reaches everyone else (customers in no named segment, and
//!   items from no customer). Segments named only after an everyone-rollout are already
//!   reached by it.
//! * Windows: `weeks` whole weeks before the cohort's day, and from that day up to `weeks`
//!   weeks after — cut at the day the next cohort is reached (so the comparison group is
//!   untreated throughout) and at today (today itself is not whole yet). A cohort is
//!   measured once a whole week has passed.
//! * Counts come from the backlog's day tallies (theme 0 counts every item), so measuring
//!   reads a few hundred rows at any number of items; satisfaction reads the scored items of
//!   the customers who had reported the theme before the cohort's day.
//! * The statistics are [`super::estimate`]'s.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use chrono::{DateTime, Duration, NaiveDate, Utc};
use sea_orm::ConnectionTrait;
use serde::Serialize;

use super::estimate::{self, CustomerScores, Phases, RateImpact, SatisfactionImpact, Weeks};
use super::rollouts::Rollout;
use crate::db::tallies::{self, ALL};
use crate::Result;

/// Customers a rollout reached first, on one day.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cohort {
    pub starts_on: NaiveDate,
    /// `None`: everyone not in a named cohort reached earlier.
    pub segments: Option<BTreeSet<String>>,
}

impl Cohort {
    /// "enterprise, smb", "everyone else" (after named cohorts) or "everyone".
    fn label(&self, alone: bool) -> String {
        match &self.segments {
            Some(s) => s.iter().cloned().collect::<Vec<_>>().join(", "),
            None if alone => "everyone".into(),
            None => "everyone else".into(),
        }
    }
}

/// The cohorts of `rollouts`, earliest first.
pub fn cohorts(rollouts: &[Rollout]) -> Vec<Cohort> {
    let everyone = rollouts
        .iter()
        .filter(|r| r.segments.is_none())
        .map(|r| r.starts_on)
        .min();
    let mut first: BTreeMap<&str, NaiveDate> = BTreeMap::new();
    for r in rollouts {
        for s in r.segments.iter().flatten() {
            let day = first.entry(s).or_insert(r.starts_on);
            *day = (*day).min(r.starts_on);
        }
    }
    let mut by_day: BTreeMap<NaiveDate, BTreeSet<String>> = BTreeMap::new();
    for (s, day) in first {
        if everyone.is_none_or(|e| day < e) {
            by_day.entry(day).or_default().insert(s.to_string());
        }
    }
    let mut out: Vec<Cohort> = by_day
        .into_iter()
        .map(|(starts_on, s)| Cohort {
            starts_on,
            segments: Some(s),
        })
        .collect();
    if let Some(e) = everyone {
        out.push(Cohort {
            starts_on: e,
            segments: None,
        });
    }
    out
}

/// Which cohort (index into `cohorts`) a tally segment key belongs to; `None`: never
/// reached.
fn cohort_of(cohorts: &[Cohort], key: &str) -> Option<usize> {
    let name = key.strip_prefix('=');
    cohorts
        .iter()
        .position(|c| {
            c.segments
                .as_ref()
                .is_some_and(|s| name.is_some_and(|n| s.contains(n)))
        })
        .or_else(|| cohorts.iter().position(|c| c.segments.is_none()))
}

/// Per cohort: the figures, or why there are none yet.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct CohortImpact {
    /// "enterprise", "everyone else", "everyone".
    pub cohort: String,
    pub segments: Option<Vec<String>>,
    pub starts_on: NaiveDate,
    /// The days compared after the rollout (up to `weeks` weeks).
    pub days_after: i64,
    /// "the rest" when there is a comparison group (customers not reached yet).
    pub compared_with: Option<String>,
    /// Weekly counts behind the figures (oldest first): the cohort, and the comparison group.
    pub treated: Phases,
    pub comparison: Option<Phases>,
    pub rates: Option<RateImpact>,
    pub satisfaction: Option<SatisfactionImpact>,
    /// Why a figure is missing, in words (too early, too little data).
    pub missing: Vec<String>,
    /// The effect in one sentence.
    pub sentence: String,
}

impl CohortImpact {
    /// The headline figure: the difference in differences, or without a comparison group
    /// the cohort's own change (a relative change of the report rate).
    pub fn headline(&self) -> Option<estimate::Estimate> {
        self.rates.as_ref().map(|r| r.effect.unwrap_or(r.treated))
    }
}

/// Items per theme and day, each segment key apart: what the report rates are made of.
#[derive(Debug, Default)]
pub struct DayCounts(HashMap<(i64, i32), Vec<(String, i64)>>);

impl DayCounts {
    pub async fn read<C: ConnectionTrait>(
        db: &C,
        themes: &[i64],
        from_day: i32,
        to_day: i32,
    ) -> Result<Self> {
        let mut out: HashMap<(i64, i32), Vec<(String, i64)>> = HashMap::new();
        let mut themes = themes.to_vec();
        themes.push(ALL);
        for (theme, day, key, n) in tallies::items_per_day(db, &themes, from_day, to_day).await? {
            out.entry((theme, day)).or_default().push((key, n));
        }
        Ok(Self(out))
    }

    /// Items of `theme` on `day` whose segment key `counts`.
    fn sum(&self, theme: i64, day: i32, counts: &impl Fn(&str) -> bool) -> u64 {
        self.0.get(&(theme, day)).map_or(0, |rows| {
            rows.iter()
                .filter(|(k, _)| counts(k))
                .map(|(_, n)| (*n).max(0) as u64)
                .sum()
        })
    }

    /// Weekly counts over `[from, to)` (days), 7-day bins from `from` (the last may be
    /// shorter).
    fn weeks(&self, theme: i64, from: i32, to: i32, counts: &impl Fn(&str) -> bool) -> Weeks {
        let mut w = Weeks::default();
        let mut start = from;
        while start < to {
            let end = (start + 7).min(to);
            w.theme
                .push((start..end).map(|d| self.sum(theme, d, counts)).sum());
            w.all
                .push((start..end).map(|d| self.sum(ALL, d, counts)).sum());
            start = end;
        }
        w
    }
}

/// The day number (as in the tallies) of a date.
pub fn day_number(d: NaiveDate) -> i32 {
    tallies::day_of(d.and_hms_opt(0, 0, 0).unwrap_or_default().and_utc())
}

/// One customer's scored items: `(customer, segment key, time, score in twentieths)`.
pub type Score = (i64, String, DateTime<Utc>, i64);

/// Reads the scored items of a cohort's earlier reporters (see [`measure`]).
pub type ReadScores<'a> = &'a dyn Fn(&Cohort) -> Vec<Score>;

/// The window of a cohort: days `[before, start)` and `[start, end)`.
pub(super) struct Window {
    pub(super) before: i32,
    pub(super) start: i32,
    pub(super) end: i32,
}

/// Cohort `i`'s window: `weeks` weeks either side of its day, the after part cut where the
/// next cohort is reached and at `today`.
pub(super) fn window(cohorts: &[Cohort], i: usize, weeks: u32, today: i32) -> Window {
    let start = day_number(cohorts[i].starts_on);
    let next = cohorts
        .iter()
        .map(|c| day_number(c.starts_on))
        .filter(|d| *d > start)
        .min()
        .unwrap_or(i32::MAX);
    let span = 7 * weeks as i32;
    Window {
        before: start - span,
        start,
        end: (start + span).min(next).min(today).max(start),
    }
}

/// Every cohort's impact on `theme`, from `counts` (covering [`span`]) and, when given,
/// the scores of the customers who reported the theme before each cohort's day.
pub fn measure(
    theme: i64,
    rollouts: &[Rollout],
    counts: &DayCounts,
    scores: Option<ReadScores>,
    weeks: u32,
    today: i32,
) -> Vec<CohortImpact> {
    let cohorts = cohorts(rollouts);
    let alone = cohorts.len() == 1;
    (0..cohorts.len())
        .map(|i| {
            let c = &cohorts[i];
            let w = window(&cohorts, i, weeks, today);
            let treated_key = |k: &str| cohort_of(&cohorts, k) == Some(i);
            let untreated_key = |k: &str| {
                cohort_of(&cohorts, k).is_none_or(|j| day_number(cohorts[j].starts_on) > w.start)
            };
            let phases = |counts_key: &dyn Fn(&str) -> bool| Phases {
                before: counts.weeks(theme, w.before, w.start, &counts_key),
                after: counts.weeks(theme, w.start, w.end, &counts_key),
            };
            let treated = phases(&treated_key);
            let comparison =
                Some(phases(&untreated_key)).filter(|p| p.before.items() + p.after.items() > 0);
            let mut missing = Vec::new();
            let days_after = i64::from(w.end - w.start);
            let (rates, satisfaction) = if days_after < 7 {
                let on = c.starts_on + Duration::days(7);
                missing.push(format!("measured from {on}, a week after the rollout"));
                (None, None)
            } else {
                let rates = estimate::rates(&treated, comparison.as_ref())
                    .map_err(|e| missing.push(format!("report rate: {}", e.sentence())))
                    .ok();
                let satisfaction = scores.and_then(|read| {
                    let (t, rest) = reporters(&read(c), &w, &treated_key, &untreated_key);
                    estimate::satisfaction(&t, Some(&rest), theme as u64)
                        .map_err(|e| missing.push(format!("satisfaction: {}", e.sentence())))
                        .ok()
                });
                (rates, satisfaction)
            };
            let label = c.label(alone);
            let compared_with = comparison.as_ref().map(|_| "the rest".to_string());
            let sentence = sentence(&label, rates.as_ref(), &missing);
            CohortImpact {
                cohort: label,
                segments: c.segments.as_ref().map(|s| s.iter().cloned().collect()),
                starts_on: c.starts_on,
                days_after,
                compared_with,
                treated,
                comparison,
                rates,
                satisfaction,
                missing,
                sentence,
            }
        })
        .collect()
}

/// The scored customers of the cohort and of the rest, each with their scores (0–100)
/// before and after.
fn reporters(
    scores: &[Score],
    w: &Window,
    treated: &dyn Fn(&str) -> bool,
    untreated: &dyn Fn(&str) -> bool,
) -> (Vec<CustomerScores>, Vec<CustomerScores>) {
    let (mut t, mut rest): (BTreeMap<i64, CustomerScores>, BTreeMap<i64, CustomerScores>) =
        Default::default();
    for (customer, key, at, units) in scores {
        let day = tallies::day_of(*at);
        let group = if treated(key) {
            &mut t
        } else if untreated(key) {
            &mut rest
        } else {
            continue;
        };
        let c = group.entry(*customer).or_default();
        let points = *units as f64 * 5.0;
        if (w.before..w.start).contains(&day) {
            c.before.push(points);
        } else if (w.start..w.end).contains(&day) {
            c.after.push(points);
        }
    }
    (t.into_values().collect(), rest.into_values().collect())
}

/// −0.71 → "fell 71 %".
fn moved(e: f64) -> String {
    let p = (e * 100.0).abs().round();
    if e < 0.0 {
        format!("fell {p} %")
    } else {
        format!("rose {p} %")
    }
}

/// "Reports fell 71 % in enterprise (95 % CI 55–82 %) while the rest fell 6 %".
fn sentence(label: &str, rates: Option<&RateImpact>, missing: &[String]) -> String {
    let Some(r) = rates else {
        return format!("Not measured yet in {label}: {}.", missing.join("; "));
    };
    let t = r.treated;
    let pct = |v: f64| (v * 100.0).round();
    let own = if t.high < 0.0 {
        format!(
            "Reports fell {} % in {label} (95 % CI {}–{} %)",
            pct(-t.value),
            pct(-t.high),
            pct(-t.low)
        )
    } else if t.low > 0.0 {
        format!(
            "Reports rose {} % in {label} (95 % CI {}–{} %)",
            pct(t.value),
            pct(t.low),
            pct(t.high)
        )
    } else {
        format!(
            "Reports in {label} changed by {:+} % (95 % CI {:+} to {:+} %), no clear change",
            pct(t.value),
            pct(t.low),
            pct(t.high)
        )
    };
    match (r.comparison, r.effect) {
        (Some(c), Some(e)) => format!(
            "{own} while the rest {}; against them, {:+} % (95 % CI {:+} to {:+} %).",
            moved(c.value),
            pct(e.value),
            pct(e.low),
            pct(e.high)
        ),
        _ => format!("{own}; no comparison group."),
    }
}

/// Whether a shipped theme's reports came back: its report rate (over all feedback) in
/// each of the last two whole weeks is above the rate of the `weeks` weeks before its first
/// rollout, with at least [`REOPEN_MIN_REPORTS`] reports in each.
pub fn reopened(
    theme: i64,
    rollouts: &[Rollout],
    counts: &DayCounts,
    weeks: u32,
    today: i32,
) -> bool {
    let Some(first) = rollouts.iter().map(|r| day_number(r.starts_on)).min() else {
        return false;
    };
    if today - 14 < first {
        return false;
    }
    let every = |_: &str| true;
    let before = counts.weeks(theme, first - 7 * weeks as i32, first, &every);
    let Some(level) = before.per_thousand() else {
        return false;
    };
    let recent = counts.weeks(theme, today - 14, today, &every);
    recent
        .theme
        .iter()
        .zip(&recent.all)
        .all(|(&k, &n)| k >= REOPEN_MIN_REPORTS && 1_000.0 * k as f64 / n as f64 > level)
}

/// Reports a week must have to count toward "reopened" (one or two stray reports are not a
/// regression).
pub const REOPEN_MIN_REPORTS: u64 = 3;

/// The days [`DayCounts`] must cover for `rollouts` measured over `weeks` weeks.
pub fn span(rollouts: &[Rollout], weeks: u32, today: i32) -> Option<(i32, i32)> {
    let first = rollouts.iter().map(|r| day_number(r.starts_on)).min()?;
    Some(((first - 7 * weeks as i32).min(today - 14), today))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rollout(day: &str, segments: Option<&[&str]>) -> Rollout {
        Rollout {
            id: 0,
            theme_id: 1,
            starts_on: day.parse().unwrap(),
            segments: segments.map(|s| s.iter().map(|s| s.to_string()).collect()),
            note: String::new(),
            updated_at: Utc::now(),
        }
    }

    #[test]
    fn cohorts_take_each_segment_at_its_first_rollout_and_everyone_else_last() {
        let c = cohorts(&[
            rollout("2026-03-03", Some(&["enterprise"])),
            rollout("2026-03-10", Some(&["smb", "enterprise"])),
            rollout("2026-03-20", None),
            rollout("2026-03-25", Some(&["late"])),
        ]);
        let named: Vec<_> = c
            .iter()
            .map(|c| (c.starts_on.to_string(), c.segments.clone()))
            .collect();
        assert_eq!(
            named,
            vec![
                ("2026-03-03".into(), Some(["enterprise".to_string()].into())),
                ("2026-03-10".into(), Some(["smb".to_string()].into())),
                ("2026-03-20".into(), None),
            ]
        );
        assert_eq!(cohort_of(&c, "=enterprise"), Some(0));
        assert_eq!(cohort_of(&c, "=late"), Some(2));
        assert_eq!(cohort_of(&c, ""), Some(2));
        let only_named = cohorts(&[rollout("2026-03-03", Some(&["enterprise"]))]);
        assert_eq!(cohort_of(&only_named, "=smb"), None);
    }

    #[test]
    fn the_after_window_stops_where_the_comparison_group_is_reached() {
        let c = cohorts(&[
            rollout("2026-03-03", Some(&["enterprise"])),
            rollout("2026-03-13", None),
        ]);
        let today = day_number("2026-06-01".parse().unwrap());
        let w = window(&c, 0, 4, today);
        assert_eq!((w.start - w.before, w.end - w.start), (28, 10));
        let w = window(&c, 1, 4, today);
        assert_eq!(w.end - w.start, 28);
        let w = window(&c, 1, 4, day_number("2026-03-16".parse().unwrap()));
        assert_eq!(w.end - w.start, 3);
    }
}
