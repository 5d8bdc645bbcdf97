//! The priority score: pure arithmetic over per-item facts, so it can be tested without a
//! database and explained number by number.
//!
//! Each component is a plain figure a person can check (42 items, 30 customers, 1.8× …).
//! Its contribution is the figure scaled to 0–1 and multiplied by its weight; the score is
//! the weighted sum scaled to 0–100. Volume, customers, rating impact and customer value
//! are scaled against the largest value among the themes ranked together; velocity and
//! ticket priority have fixed scales, so one theme's growth does not shrink another's.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Duration, Utc};

use super::Weights;

/// Weeks of history behind the trend sparkline and the rising-theme test.
pub const WEEKS: usize = 12;
/// A theme is rising when this week's volume is this many standard deviations above its
/// weekly mean over the 8 weeks before …
pub const RISING_Z: f64 = 2.0;
/// … and it had at least this many items this week (3 items is not a trend).
pub const RISING_MIN_ITEMS: u32 = 3;
/// Velocity at which the velocity component is full: 3× the usual weekly volume.
const VELOCITY_FULL: f64 = 3.0;

/// What scoring needs to know about one feedback item (its theme, time, customer and the
/// customer's counted account value, score in twentieths, ticket priority level).
pub use crate::db::tallies::ItemFact as Fact;

/// The period being ranked: items in `[since, as_of)` count toward volume and the rest;
/// velocity and the weekly trend always look at the weeks before `as_of`.
#[derive(Debug, Clone, Copy)]
pub struct Window {
    pub as_of: DateTime<Utc>,
    pub since: Option<DateTime<Utc>>,
}

impl Window {
    fn in_period(&self, at: DateTime<Utc>) -> bool {
        at < self.as_of && self.since.is_none_or(|s| at >= s)
    }

    /// Whole weeks between `at` and `as_of` (0: the last 7 days), for items before `as_of`.
    fn weeks_ago(&self, at: DateTime<Utc>) -> Option<usize> {
        (at < self.as_of).then(|| ((self.as_of - at).num_seconds() / (7 * 86_400)) as usize)
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct ThemeScore {
    pub theme_id: i64,
    /// 0–100.
    pub score: f64,
    /// The raw figures, in `COMPONENTS` order.
    pub components: [f64; 6],
    /// Each component's share of `score`; they add up to it.
    pub contributions: [f64; 6],
    /// Items per week, oldest first; the last entry is the 7 days before `as_of`.
    pub weekly: [u32; WEEKS],
    /// This week's volume against the 8 weeks before, in standard deviations.
    pub z_score: f64,
    pub rising: bool,
    /// The theme's first item arrived in the last 7 days.
    pub is_new: bool,
}

impl ThemeScore {
    /// A theme with no items in the period.
    pub fn empty(theme_id: i64) -> Self {
        Self {
            theme_id,
            score: 0.0,
            components: [0.0; 6],
            contributions: [0.0; 6],
            weekly: [0; WEEKS],
            z_score: 0.0,
            rising: false,
            is_new: false,
        }
    }
}

/// One theme's figures over a period: what [`score`] turns into a score. Built either from
/// every item ([`tally`], the full computation) or from the stored tallies
/// (`backlog::tallied`); both must give the same.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Tally {
    pub volume: i64,
    pub customers: i64,
    /// The customers' counted account values, summed.
    pub value: f64,
    pub scored: i64,
    /// Scores in twentieths, summed.
    pub score_units: i64,
    pub tickets: i64,
    /// Priority levels (0–3), summed.
    pub priority_levels: i64,
    /// Items per week, oldest first; the last entry is the 7 days before `as_of`.
    pub weekly: [i64; WEEKS],
}

/// Every theme's [`Tally`] and the period's scores over all feedback (themed or not, in the
/// segment).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Tallies {
    pub themes: HashMap<i64, Tally>,
    pub all_scored: i64,
    pub all_score_units: i64,
}

/// The full computation: tallies every fact (items created before `as_of`, and at least
/// the 12 weeks before it when a period is shorter).
pub fn tally(facts: &[Fact], window: Window) -> Tallies {
    let mut out = Tallies::default();
    let mut seen: HashMap<i64, HashSet<i64>> = HashMap::new();
    for f in facts {
        let in_period = window.in_period(f.at);
        if in_period {
            if let Some(s) = f.score {
                out.all_score_units += s;
                out.all_scored += 1;
            }
        }
        let Some(theme) = f.theme else { continue };
        let t = out.themes.entry(theme).or_default();
        if let Some(w) = window.weeks_ago(f.at) {
            if w < WEEKS {
                t.weekly[WEEKS - 1 - w] += 1;
            }
        }
        if !in_period {
            continue;
        }
        t.volume += 1;
        if let Some(c) = f.customer {
            if seen.entry(theme).or_default().insert(c) {
                t.customers += 1;
                t.value += f.value;
            }
        }
        if let Some(s) = f.score {
            t.score_units += s;
            t.scored += 1;
        }
        if let Some(p) = f.priority {
            t.priority_levels += p;
            t.tickets += 1;
        }
    }
    out
}

/// Scores every theme that has items in `facts`. `first_seen` is each theme's oldest item
/// ever (it may predate the facts loaded).
pub fn score_themes(
    facts: &[Fact],
    first_seen: &HashMap<i64, DateTime<Utc>>,
    window: Window,
    weights: &Weights,
) -> Vec<ThemeScore> {
    score(&tally(facts, window), first_seen, window, weights)
}

/// Scores every theme with items in the period or the 12 weeks before `as_of`.
pub fn score(
    tallies: &Tallies,
    first_seen: &HashMap<i64, DateTime<Utc>>,
    window: Window,
    weights: &Weights,
) -> Vec<ThemeScore> {
    let (all_scored, all_units) = (tallies.all_scored, tallies.all_score_units);
    let mean_all = (all_scored > 0).then(|| units(all_units) / all_scored as f64);
    let mut out: Vec<ThemeScore> = tallies
        .themes
        .iter()
        .filter(|(_, t)| t.volume > 0 || t.weekly.iter().any(|w| *w > 0))
        .map(|(&theme_id, t)| {
            let this_week = t.weekly[WEEKS - 1];
            let prior_four_weeks: i64 = t.weekly[WEEKS - 5..WEEKS - 1].iter().sum();
            let velocity = (this_week as f64 + 1.0) / (prior_four_weeks as f64 / 4.0 + 1.0);
            let rating_impact = match mean_all {
                Some(mean) if t.scored < all_scored => {
                    let without = units(all_units - t.score_units) / (all_scored - t.scored) as f64;
                    (without - mean) * 100.0
                }
                _ => 0.0,
            };
            let priority = if t.tickets > 0 {
                t.priority_levels as f64 / 3.0 / t.tickets as f64
            } else {
                0.0
            };
            let weekly = t.weekly.map(|w| u32::try_from(w).unwrap_or(0));
            let z_score = z_score(&weekly);
            let is_new = first_seen
                .get(&theme_id)
                .is_some_and(|first| *first >= window.as_of - Duration::days(7));
            ThemeScore {
                theme_id,
                score: 0.0,
                components: [
                    t.volume as f64,
                    t.customers as f64,
                    velocity,
                    rating_impact,
                    t.value,
                    priority,
                ],
                contributions: [0.0; 6],
                weekly,
                z_score,
                rising: z_score >= RISING_Z && weekly[WEEKS - 1] >= RISING_MIN_ITEMS,
                is_new,
            }
        })
        .collect();

    let max_of = |i: usize| out.iter().map(|s| s.components[i]).fold(0.0_f64, f64::max);
    let maxima = [max_of(0), max_of(1), 0.0, max_of(3), max_of(4), 0.0];
    let total_weight = weights.total();
    for s in &mut out {
        let scaled = [
            ratio(s.components[0], maxima[0]),
            ratio(s.components[1], maxima[1]),
            ((s.components[2] - 1.0) / (VELOCITY_FULL - 1.0)).clamp(0.0, 1.0),
            ratio(s.components[3].max(0.0), maxima[3]),
            ratio(s.components[4], maxima[4]),
            s.components[5].clamp(0.0, 1.0),
        ];
        for (i, part) in scaled.iter().enumerate() {
            s.contributions[i] = round1(100.0 * weights.0[i] * part / total_weight);
        }
        s.score = round1(s.contributions.iter().sum());
        s.components[2] = round2(s.components[2]);
        s.components[3] = round2(s.components[3]);
        s.components[5] = round2(s.components[5]);
    }
    out.sort_by(|a, b| {
        b.score
            .total_cmp(&a.score)
            .then(a.theme_id.cmp(&b.theme_id))
    });
    out
}

/// This week against the 8 weeks before it. The spread is floored at one item, so a theme
/// that always had exactly 2 a week is not "infinitely" rising at 3.
fn z_score(weekly: &[u32; WEEKS]) -> f64 {
    let history: Vec<f64> = weekly[WEEKS - 9..WEEKS - 1]
        .iter()
        .map(|w| f64::from(*w))
        .collect();
    let mean = history.iter().sum::<f64>() / history.len() as f64;
    let var = history.iter().map(|w| (w - mean).powi(2)).sum::<f64>() / history.len() as f64;
    round2((f64::from(weekly[WEEKS - 1]) - mean) / var.sqrt().max(1.0))
}

/// Twentieths as a score on the 0–1 scale.
fn units(u: i64) -> f64 {
    u as f64 / 20.0
}

fn ratio(v: f64, max: f64) -> f64 {
    if max > 0.0 {
        v / max
    } else {
        0.0
    }
}

fn round1(v: f64) -> f64 {
    (v * 10.0).round() / 10.0
}

fn round2(v: f64) -> f64 {
    (v * 100.0).round() / 100.0
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::customers::MAX_ACCOUNT_VALUE;

    fn at(days_ago: i64) -> DateTime<Utc> {
        "2026-11-20T12:00:00Z".parse::<DateTime<Utc>>().unwrap() - Duration::days(days_ago)
    }

    fn fact(theme: i64, days_ago: i64) -> Fact {
        Fact {
            item_id: 0,
            theme: Some(theme),
            at: at(days_ago) - Duration::hours(1),
            segment: None,
            score: None,
            customer: None,
            value: 0.0,
            priority: None,
        }
    }

    fn window() -> Window {
        Window {
            as_of: at(0),
            since: Some(at(28)),
        }
    }

    fn by_id(scores: &[ThemeScore], id: i64) -> &ThemeScore {
        scores.iter().find(|s| s.theme_id == id).unwrap()
    }

    #[test]
    fn contributions_add_up_and_bigger_themes_rank_higher() {
        let mut facts: Vec<Fact> = (0..10).map(|d| fact(1, d)).collect();
        facts.extend((0..4).map(|d| fact(2, d)));
        let scores = score_themes(&facts, &HashMap::new(), window(), &Weights::default());
        assert_eq!(scores[0].theme_id, 1);
        for s in &scores {
            let sum: f64 = s.contributions.iter().sum();
            assert!((sum - s.score).abs() < 0.11, "{s:?}");
        }
        assert_eq!(by_id(&scores, 1).components[0], 10.0);
        assert_eq!(by_id(&scores, 2).components[0], 4.0);
    }

    #[test]
    fn rating_impact_is_the_rise_without_the_theme() {
        // Theme 1: two unhappy items (0.0); theme 2: two happy ones (1.0).
        let mut facts = Vec::new();
        for (theme, score) in [(1, 0), (1, 0), (2, 20), (2, 20)] {
            facts.push(Fact {
                score: Some(score),
                ..fact(theme, 3)
            });
        }
        let scores = score_themes(&facts, &HashMap::new(), window(), &Weights::default());
        // Mean is 0.5; without theme 1 it is 1.0: +50 points. Without theme 2: −50.
        assert_eq!(by_id(&scores, 1).components[3], 50.0);
        assert_eq!(by_id(&scores, 2).components[3], -50.0);
        assert_eq!(by_id(&scores, 2).contributions[3], 0.0);
    }

    #[test]
    fn customers_and_their_value_count_once() {
        let facts: Vec<Fact> = (0..3)
            .map(|d| Fact {
                customer: Some(7),
                value: 1000.0,
                ..fact(1, d)
            })
            .collect();
        let s = &score_themes(&facts, &HashMap::new(), window(), &Weights::default())[0];
        assert_eq!(s.components[1], 1.0);
        assert_eq!(s.components[4], 1000.0);
    }

    #[test]
    fn no_account_value_makes_a_score_nan_or_infinite() {
        // Rows stored before the intake bound: huge, infinite and NaN values.
        let facts: Vec<Fact> = [1e308, 1e308, f64::INFINITY, f64::NAN]
            .into_iter()
            .enumerate()
            .map(|(c, v)| Fact {
                customer: Some(c as i64),
                value: crate::db::tallies::counted_value(Some(v)),
                ..fact(1, 1)
            })
            .chain((0..20).map(|d| fact(2, d % 7)))
            .collect();
        let scores = score_themes(&facts, &HashMap::new(), window(), &Weights::default());
        for s in &scores {
            assert!(s.score.is_finite(), "{s:?}");
            assert!(s.components.iter().all(|c| c.is_finite()), "{s:?}");
        }
        // Two customers at the bound, the infinite and NaN ones count as unknown.
        assert_eq!(by_id(&scores, 1).components[4], 2.0 * MAX_ACCOUNT_VALUE);
    }

    #[test]
    fn a_spike_is_rising_and_a_steady_theme_is_not() {
        let mut facts = Vec::new();
        for week in 1..9 {
            facts.push(fact(1, week * 7 + 1));
            facts.push(fact(2, week * 7 + 1));
        }
        facts.extend((0..6).map(|d| fact(1, d)));
        facts.push(fact(2, 1));
        let scores = score_themes(&facts, &HashMap::new(), window(), &Weights::default());
        let spiking = by_id(&scores, 1);
        assert!(spiking.rising, "{spiking:?}");
        assert_eq!(spiking.weekly[WEEKS - 1], 6);
        assert!(
            spiking.components[2] > 3.0,
            "velocity {:?}",
            spiking.components
        );
        assert!(!by_id(&scores, 2).rising);
    }

    #[test]
    fn new_means_first_seen_this_week() {
        let facts = vec![fact(1, 2), fact(2, 2)];
        let first: HashMap<i64, DateTime<Utc>> = [(1, at(2)), (2, at(40))].into();
        let scores = score_themes(&facts, &first, window(), &Weights::default());
        assert!(by_id(&scores, 1).is_new);
        assert!(!by_id(&scores, 2).is_new);
    }

    #[test]
    fn weights_change_the_order() {
        // Theme 1 is bigger; theme 2's tickets are urgent.
        let mut facts: Vec<Fact> = (0..10).map(|d| fact(1, d)).collect();
        facts.extend((0..2).map(|d| Fact {
            priority: Some(3),
            ..fact(2, d)
        }));
        let urgent_first = Weights::parse("volume=0,unique_customers=0,velocity=0").unwrap();
        let scores = score_themes(&facts, &HashMap::new(), window(), &urgent_first);
        assert_eq!(scores[0].theme_id, 2);
        let scores = score_themes(&facts, &HashMap::new(), window(), &Weights::default());
        assert_eq!(scores[0].theme_id, 1);
    }
}
