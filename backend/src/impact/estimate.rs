//! The statistics of impact: pure arithmetic over weekly counts and customers' scores, so
//! the method is checked on generated data with a known effect (the tests below), apart
//! from how the counts are read.
//!
//! **Report rate.** A group's rate is the share of its feedback that is about the theme
//! (reports per 1,000 items), so growth of the whole product or of one cohort does not read
//! as a regression. Its change is the ratio after / before, estimated on the log scale with
//! the binomial delta-method variance `1/k − 1/n` per phase (k reports among n items), a
//! continuity half-report when a phase has none. Feedback comes in bursts, so the variance
//! is scaled by the overdispersion the weekly counts show (quasi-binomial: Pearson χ² over
//! its degrees of freedom, never below 1). The effect is the difference in differences on
//! that scale — the treated group's log change less the comparison group's — reported as a
//! relative change (ratio of ratios − 1). A multiplicative effect is what "reports fell 71 %"
//! means, and it does not depend on how large each cohort is.
//!
//! **Satisfaction.** The mean normalised score (0–100) of the customers who had reported the
//! theme, before and after; the effect is the treated change less the comparison change in
//! points. Its interval is a percentile bootstrap over customers (each resampled customer
//! brings all their scores, before and after, so a customer's scores are not treated as
//! independent); the resampling is seeded, so a page shows the same interval every time.

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde::Serialize;

/// The normal quantile of a two-sided 95 % interval.
const Z95: f64 = 1.959_963_984_540_054;
/// Fewer reports than this in a group, before and after together, say too little.
pub const MIN_REPORTS: u64 = 10;
/// Fewer scored customers than this in a group's phase say too little.
pub const MIN_CUSTOMERS: usize = 5;
/// Bootstrap resamples behind a satisfaction interval.
pub const RESAMPLES: usize = 2_000;

/// One group's feedback over one phase, week by week (oldest first): items about the
/// theme, and all items of the group.
#[derive(Debug, Clone, Default, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Weeks {
    pub theme: Vec<u64>,
    pub all: Vec<u64>,
}

impl Weeks {
    pub fn reports(&self) -> u64 {
        self.theme.iter().sum()
    }

    pub fn items(&self) -> u64 {
        self.all.iter().sum()
    }

    /// Reports per 1,000 items of the group's feedback (`None`: no feedback at all).
    pub fn per_thousand(&self) -> Option<f64> {
        let n = self.items();
        (n > 0).then(|| 1_000.0 * self.reports() as f64 / n as f64)
    }
}

/// A group before and after.
#[derive(Debug, Clone, Default, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Phases {
    pub before: Weeks,
    pub after: Weeks,
}

/// An estimate and its 95 % interval.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Estimate {
    pub value: f64,
    pub low: f64,
    pub high: f64,
}

impl Estimate {
    pub fn contains(&self, v: f64) -> bool {
        self.low <= v && v <= self.high
    }

    /// Clearly above or below zero (the interval leaves it out).
    pub fn excludes_zero(&self) -> bool {
        !self.contains(0.0)
    }
}

/// Why there is no number.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TooLittle {
    /// The group had no feedback at all in a phase.
    NoFeedback,
    /// Fewer than [`MIN_REPORTS`] reports before and after together.
    FewReports { reports: u64, needed: u64 },
    /// Fewer than [`MIN_CUSTOMERS`] scored customers in a phase.
    FewCustomers { customers: usize, needed: usize },
}

impl TooLittle {
    pub fn sentence(&self) -> String {
        match self {
            Self::NoFeedback => "no feedback from this group in one of the periods".into(),
            Self::FewReports { reports, needed } => {
                format!("only {reports} reports before and after (at least {needed} needed)")
            }
            Self::FewCustomers { customers, needed } => format!(
                "only {customers} customers with a rating in one of the periods \
                 (at least {needed} needed)"
            ),
        }
    }
}

/// How the report rate changed: relative changes (−0.71: fell 71 %).
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct RateImpact {
    /// The treated group's change, after / before − 1.
    pub treated: Estimate,
    /// The comparison group's change, when there is one.
    pub comparison: Option<Estimate>,
    /// The difference in differences as a relative change (ratio of the two ratios − 1);
    /// `None` without a comparison group.
    pub effect: Option<Estimate>,
    /// The overdispersion factor applied to the variances (1: plain binomial).
    pub dispersion: f64,
}

/// A group's log change in rate and its variance before the overdispersion factor.
fn log_change(p: &Phases) -> Result<(f64, f64), TooLittle> {
    let (n0, n1) = (p.before.items(), p.after.items());
    if n0 == 0 || n1 == 0 {
        return Err(TooLittle::NoFeedback);
    }
    let (k0, k1) = (p.before.reports(), p.after.reports());
    if k0 + k1 < MIN_REPORTS {
        return Err(TooLittle::FewReports {
            reports: k0 + k1,
            needed: MIN_REPORTS,
        });
    }
    // A phase without reports: half a report each side (and an item to match), so the
    // ratio and its variance stay finite.
    let (k0, k1, n0, n1) = if k0 == 0 || k1 == 0 {
        (
            k0 as f64 + 0.5,
            k1 as f64 + 0.5,
            n0 as f64 + 1.0,
            n1 as f64 + 1.0,
        )
    } else {
        (k0 as f64, k1 as f64, n0 as f64, n1 as f64)
    };
    let change = (k1 / n1).ln() - (k0 / n0).ln();
    let var = (1.0 / k0 - 1.0 / n0) + (1.0 / k1 - 1.0 / n1);
    Ok((change, var.max(0.0)))
}

/// Pearson χ² over its degrees of freedom across every week of `groups`, each phase with
/// its own rate (at least 1), and those degrees of freedom.
fn dispersion(groups: &[&Phases]) -> (f64, usize) {
    let (mut chi2, mut weeks, mut params) = (0.0, 0usize, 0usize);
    for phases in groups {
        for w in [&phases.before, &phases.after] {
            let n = w.items();
            if n == 0 {
                continue;
            }
            params += 1;
            let p = w.reports() as f64 / n as f64;
            for (&k, &n) in w.theme.iter().zip(&w.all) {
                if n == 0 {
                    continue;
                }
                weeks += 1;
                let expected = p * n as f64;
                let var = expected * (1.0 - p);
                if var > 0.0 {
                    chi2 += (k as f64 - expected).powi(2) / var;
                }
            }
        }
    }
    let df = weeks.saturating_sub(params);
    if df > 0 {
        ((chi2 / df as f64).max(1.0), df)
    } else {
        (1.0, 0)
    }
}

/// The two-sided 95 % quantile of Student's t with `df` degrees of freedom: the dispersion
/// is estimated from a handful of weeks, so its interval is a t interval (as in any
/// quasi-likelihood model), which a normal one would make too narrow. Beyond 30 degrees of
/// freedom, and without any, the normal quantile.
fn t95(df: usize) -> f64 {
    const T: [f64; 30] = [
        12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.160,
        2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086, 2.080, 2.074, 2.069, 2.064, 2.060, 2.056,
        2.052, 2.048, 2.045, 2.042,
    ];
    match df {
        1..=30 => T[df - 1],
        _ => Z95,
    }
}

fn relative(log: f64, var: f64, quantile: f64) -> Estimate {
    let half = quantile * var.sqrt();
    Estimate {
        value: log.exp() - 1.0,
        low: (log - half).exp() - 1.0,
        high: (log + half).exp() - 1.0,
    }
}

/// The report rate's change in the treated group, in the comparison group when there is
/// one, and the difference in differences.
pub fn rates(treated: &Phases, comparison: Option<&Phases>) -> Result<RateImpact, TooLittle> {
    let (t, t_var) = log_change(treated)?;
    // A comparison group with too little data is no comparison: say so by leaving it out.
    let c = comparison.and_then(|c| log_change(c).ok().map(|lc| (c, lc)));
    let groups: Vec<&Phases> = std::iter::once(treated)
        .chain(c.as_ref().map(|(p, _)| *p))
        .collect();
    let (phi, df) = dispersion(&groups);
    let q = t95(df);
    Ok(RateImpact {
        treated: relative(t, t_var * phi, q),
        comparison: c.map(|(_, (c, c_var))| relative(c, c_var * phi, q)),
        effect: c.map(|(_, (c, c_var))| relative(t - c, (t_var + c_var) * phi, q)),
        dispersion: phi,
    })
}

/// One customer's normalised scores (0–100) in each phase.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CustomerScores {
    pub before: Vec<f64>,
    pub after: Vec<f64>,
}

/// How the satisfaction of the customers who reported the theme changed, in points.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct SatisfactionImpact {
    pub treated_before: f64,
    pub treated_after: f64,
    /// The treated group's change (after − before) with its interval.
    pub treated: Estimate,
    pub comparison_before: Option<f64>,
    pub comparison_after: Option<f64>,
    /// The difference in differences; `None` without a comparison group.
    pub effect: Option<Estimate>,
    /// Customers behind the treated figures (with a score in either phase).
    pub customers: usize,
}

/// Pooled means before and after over `customers` (`None` for a phase without scores).
fn means<'a>(customers: impl Iterator<Item = &'a CustomerScores>) -> (Option<f64>, Option<f64>) {
    let (mut b, mut nb, mut a, mut na) = (0.0, 0usize, 0.0, 0usize);
    for c in customers {
        b += c.before.iter().sum::<f64>();
        nb += c.before.len();
        a += c.after.iter().sum::<f64>();
        na += c.after.len();
    }
    (
        (nb > 0).then(|| b / nb as f64),
        (na > 0).then(|| a / na as f64),
    )
}

fn enough(customers: &[CustomerScores]) -> Result<(), TooLittle> {
    let before = customers.iter().filter(|c| !c.before.is_empty()).count();
    let after = customers.iter().filter(|c| !c.after.is_empty()).count();
    if before.min(after) < MIN_CUSTOMERS {
        return Err(TooLittle::FewCustomers {
            customers: before.min(after),
            needed: MIN_CUSTOMERS,
        });
    }
    Ok(())
}

/// The change of a resample of `customers` (drawn with replacement), or `None` when the
/// draw has no scores in a phase.
fn resampled_change(customers: &[CustomerScores], rng: &mut StdRng) -> Option<f64> {
    let draw = (0..customers.len()).map(|_| &customers[rng.random_range(0..customers.len())]);
    let (b, a) = means(draw);
    Some(a? - b?)
}

/// The 2.5 % and 97.5 % points of `values`.
fn percentile_interval(value: f64, mut values: Vec<f64>) -> Estimate {
    values.sort_by(f64::total_cmp);
    let at = |q: f64| values[((values.len() - 1) as f64 * q).round() as usize];
    Estimate {
        value,
        low: at(0.025),
        high: at(0.975),
    }
}

/// The satisfaction change of the treated customers, of the comparison customers when
/// there are enough, and the difference in differences; `seed` fixes the resampling.
pub fn satisfaction(
    treated: &[CustomerScores],
    comparison: Option<&[CustomerScores]>,
    seed: u64,
) -> Result<SatisfactionImpact, TooLittle> {
    let treated: Vec<CustomerScores> = scored(treated);
    enough(&treated)?;
    let comparison: Option<Vec<CustomerScores>> =
        comparison.map(scored).filter(|c| enough(c).is_ok());
    let (Some(tb), Some(ta)) = means(treated.iter()) else {
        unreachable!("enough() found scores in both phases")
    };
    let (cb, ca) = comparison
        .as_ref()
        .map_or((None, None), |c| means(c.iter()));
    let mut rng = StdRng::seed_from_u64(seed);
    let mut changes = Vec::with_capacity(RESAMPLES);
    let mut effects = Vec::with_capacity(RESAMPLES);
    // A draw without scores in a phase is drawn again; with at least MIN_CUSTOMERS scored
    // customers per phase that is rare, and the attempts are bounded all the same.
    let mut attempts = 0;
    while changes.len() < RESAMPLES && attempts < 20 * RESAMPLES {
        attempts += 1;
        let Some(t) = resampled_change(&treated, &mut rng) else {
            continue;
        };
        if let Some(c) = &comparison {
            let Some(c) = resampled_change(c, &mut rng) else {
                continue;
            };
            effects.push(t - c);
        }
        changes.push(t);
    }
    if changes.len() < RESAMPLES / 2 {
        return Err(TooLittle::FewCustomers {
            customers: treated.len(),
            needed: MIN_CUSTOMERS,
        });
    }
    let effect = match (cb, ca) {
        (Some(cb), Some(ca)) => Some(percentile_interval((ta - tb) - (ca - cb), effects)),
        _ => None,
    };
    Ok(SatisfactionImpact {
        treated_before: tb,
        treated_after: ta,
        treated: percentile_interval(ta - tb, changes),
        comparison_before: cb,
        comparison_after: ca,
        effect,
        customers: treated.len(),
    })
}

/// The customers with a score in either phase (the others say nothing about satisfaction).
fn scored(customers: &[CustomerScores]) -> Vec<CustomerScores> {
    customers
        .iter()
        .filter(|c| !c.before.is_empty() || !c.after.is_empty())
        .cloned()
        .collect()
}

#[cfg(test)]
mod tests {
    //! Generated scenarios with a known effect. Each seed is a cohort and a comparison group
    //! over 4 weeks before and 4 after, with week-to-week bursts (the report share of a
    //! week is the phase's share times a log-normal factor), so the intervals are checked
    //! on data noisier than their own model. Coverage over many seeds must be ≥ 90 % (a 95 %
    //! interval); the figures are printed (`cargo test -p triage --release estimate --
    //! --nocapture`) and recorded in docs/impact.md.
    use super::*;

    const SEEDS: u64 = 300;

    /// A standard normal draw (Box–Muller).
    fn normal(rng: &mut StdRng) -> f64 {
        let (u, v): (f64, f64) = (rng.random_range(f64::EPSILON..1.0), rng.random());
        (-2.0 * u.ln()).sqrt() * (std::f64::consts::TAU * v).cos()
    }

    /// `weeks` weeks of `items` items a week (±20 %), each a report with probability
    /// `share` times that week's burst factor.
    fn weeks(rng: &mut StdRng, weeks: usize, items: u64, share: f64, burst: f64) -> Weeks {
        let mut w = Weeks::default();
        for _ in 0..weeks {
            let n = (items as f64 * rng.random_range(0.8..1.2)) as u64;
            let p = (share * (burst * normal(rng) - burst * burst / 2.0).exp()).min(1.0);
            let k = (0..n).filter(|_| rng.random_bool(p)).count() as u64;
            w.theme.push(k);
            w.all.push(n);
        }
        w
    }

    /// The sizes of a generated scenario: items a week and report share of the cohort and of
    /// the comparison group, the burst factor's σ, and the weeks before and after.
    struct Shape {
        cohort: (u64, f64),
        rest: (u64, f64),
        burst: f64,
        weeks: (usize, usize),
    }

    /// The shape the interval method was chosen on …
    const MAIN: Shape = Shape {
        cohort: (400, 0.04),
        rest: (1_200, 0.02),
        burst: 0.25,
        weeks: (4, 4),
    };
    /// … and one it was not: a small cohort with a common theme beside a large comparison
    /// group with a rare one, burstier weeks, a longer before and a shorter after.
    const HELD_OUT: Shape = Shape {
        cohort: (150, 0.08),
        rest: (3_000, 0.01),
        burst: 0.4,
        weeks: (6, 3),
    };

    /// A cohort whose report share goes from `share` to `share × (1 + effect)`, and a
    /// comparison group whose share is unchanged.
    fn scenario_of(shape: &Shape, seed: u64, effect: f64) -> (Phases, Phases) {
        let mut rng = StdRng::seed_from_u64(seed);
        let ((n, p), (m, q), b, (wb, wa)) = (shape.cohort, shape.rest, shape.burst, shape.weeks);
        let treated = Phases {
            before: weeks(&mut rng, wb, n, p, b),
            after: weeks(&mut rng, wa, n, p * (1.0 + effect), b),
        };
        let rest = Phases {
            before: weeks(&mut rng, wb, m, q, b),
            after: weeks(&mut rng, wa, m, q, b),
        };
        (treated, rest)
    }

    fn scenario(seed: u64, effect: f64) -> (Phases, Phases) {
        scenario_of(&MAIN, seed, effect)
    }

    fn coverage(shape: &Shape, effect: f64) -> (f64, f64) {
        let (mut covered, mut alone, mut n) = (0, 0, 0);
        for seed in 0..SEEDS {
            let (t, c) = scenario_of(shape, seed, effect);
            let Ok(r) = rates(&t, Some(&c)) else { continue };
            n += 1;
            covered += usize::from(r.effect.unwrap().contains(effect));
            // Without the comparison group: the before/after of the cohort alone (true
            // change = effect, since nothing else changes).
            alone += usize::from(rates(&t, None).unwrap().treated.contains(effect));
        }
        assert!(
            n as u64 >= SEEDS * 9 / 10,
            "{n} of {SEEDS} seeds had enough data"
        );
        (covered as f64 / n as f64, alone as f64 / n as f64)
    }

    #[test]
    fn rate_intervals_cover_a_known_drop_and_no_effect() {
        for (name, shape) in [("main", &MAIN), ("held-out", &HELD_OUT)] {
            for effect in [-0.5, 0.0] {
                let (did, before_after) = coverage(shape, effect);
                println!(
                    "report rate, {name} shape, true effect {effect:+.2}: coverage {did:.3} \
                     (difference in differences), {before_after:.3} (before/after, no \
                     comparison), {SEEDS} seeds"
                );
                assert!(did >= 0.90, "{name}: coverage {did} for effect {effect}");
                assert!(
                    before_after >= 0.90,
                    "{name}: coverage {before_after} for effect {effect}"
                );
            }
        }
    }

    #[test]
    fn a_large_drop_is_found_and_no_effect_mostly_is_not() {
        let found = (0..SEEDS)
            .filter(|&s| {
                let (t, c) = scenario(s, -0.7);
                rates(&t, Some(&c)).is_ok_and(|r| r.effect.unwrap().high < 0.0)
            })
            .count();
        // Power, not coverage: with these bursts (the comparison group's reports vary about
        // twice as much week to week as independent items would) a 70 % fall is told from
        // no change about 4 times in 5.
        println!("a 70 % fall found in {found} of {SEEDS} seeds");
        assert!(
            found as u64 >= SEEDS * 7 / 10,
            "a 70 % drop found in {found} of {SEEDS}"
        );
        let false_alarms = (0..SEEDS)
            .filter(|&s| {
                let (t, c) = scenario(s, 0.0);
                rates(&t, Some(&c)).is_ok_and(|r| r.effect.unwrap().excludes_zero())
            })
            .count();
        assert!(
            false_alarms as u64 <= SEEDS / 10,
            "{false_alarms} false alarms"
        );
    }

    #[test]
    fn a_whole_product_growing_is_not_a_change() {
        // Both groups' feedback doubles with the same report share: no change anywhere.
        let w = |k: u64, n: u64| Weeks {
            theme: vec![k; 4],
            all: vec![n; 4],
        };
        let t = Phases {
            before: w(20, 500),
            after: w(40, 1_000),
        };
        let r = rates(&t, Some(&t.clone())).unwrap();
        assert!(r.treated.value.abs() < 1e-12 && r.effect.unwrap().value.abs() < 1e-12);
        assert_eq!(r.dispersion, 1.0);
    }

    #[test]
    fn too_little_data_says_why() {
        let w = |k: u64| Weeks {
            theme: vec![k],
            all: vec![100],
        };
        let few = Phases {
            before: w(3),
            after: w(2),
        };
        assert_eq!(
            rates(&few, None),
            Err(TooLittle::FewReports {
                reports: 5,
                needed: MIN_REPORTS
            })
        );
        let silent = Phases {
            before: w(30),
            after: Weeks::default(),
        };
        assert_eq!(rates(&silent, None), Err(TooLittle::NoFeedback));
        // None after at all: a finite fall with an interval, not −100 % ± ∞.
        let gone = Phases {
            before: w(30),
            after: w(0),
        };
        let r = rates(&gone, None).unwrap();
        assert!(r.treated.value < -0.9 && r.treated.low > -1.0, "{r:?}");
    }

    /// Customers (40–80 of them) with 1–3 scores per phase around their own level; the
    /// treated ones gain `gain` points after.
    fn customers(rng: &mut StdRng, gain: f64) -> Vec<CustomerScores> {
        (0..rng.random_range(40..80))
            .map(|_| {
                let level = 60.0 + 15.0 * normal(rng);
                let draw = |shift: f64, rng: &mut StdRng| -> Vec<f64> {
                    (0..rng.random_range(0..4))
                        .map(|_| (level + shift + 12.0 * normal(rng)).clamp(0.0, 100.0))
                        .collect()
                };
                CustomerScores {
                    before: draw(0.0, rng),
                    after: draw(gain, rng),
                }
            })
            .collect()
    }

    #[test]
    fn satisfaction_intervals_cover_a_known_gain_and_no_effect() {
        for gain in [10.0, 0.0] {
            let (mut covered, mut n) = (0, 0);
            for seed in 0..SEEDS / 3 {
                let mut rng = StdRng::seed_from_u64(1_000 + seed);
                let t = customers(&mut rng, gain);
                let c = customers(&mut rng, 0.0);
                let Ok(s) = satisfaction(&t, Some(&c), seed) else {
                    continue;
                };
                n += 1;
                // Clamping at 0 and 100 trims a little of the gain: allow half a point.
                let e = s.effect.unwrap();
                covered += usize::from(e.low - 0.5 <= gain && gain <= e.high + 0.5);
            }
            let rate = covered as f64 / n as f64;
            println!("satisfaction, true gain {gain}: coverage {rate:.3} over {n} seeds");
            assert!(
                n >= 90 && rate >= 0.90,
                "coverage {rate} over {n} for gain {gain}"
            );
        }
    }

    #[test]
    fn satisfaction_needs_customers_in_both_phases_and_is_repeatable() {
        let one = |b: &[f64], a: &[f64]| CustomerScores {
            before: b.to_vec(),
            after: a.to_vec(),
        };
        let four: Vec<_> = (0..4).map(|_| one(&[50.0], &[70.0])).collect();
        assert!(matches!(
            satisfaction(&four, None, 1),
            Err(TooLittle::FewCustomers { customers: 4, .. })
        ));
        let mut rng = StdRng::seed_from_u64(7);
        let t = customers(&mut rng, 10.0);
        let first = satisfaction(&t, None, 3).unwrap();
        assert_eq!(first, satisfaction(&t, None, 3).unwrap());
        assert!(first.effect.is_none() && first.treated.contains(first.treated.value));
    }
}
