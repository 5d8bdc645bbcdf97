//! How much each score component counts, from `TRIAGE_BACKLOG_WEIGHTS`.
//!
//! The format is `name=weight` pairs separated by commas, e.g.
//! `volume=2,customer_value=0` — components not named keep their default. Weights are
//! relative: the score is always 0–100, so doubling every weight changes nothing.

use crate::{Error, Result};

/// The components of a theme's priority score, in the order they are shown.
pub const COMPONENTS: [&str; 6] = [
    "volume",
    "unique_customers",
    "velocity",
    "rating_impact",
    "customer_value",
    "ticket_priority",
];

#[derive(Debug, Clone, PartialEq)]
pub struct Weights(pub [f64; 6]);

impl Default for Weights {
    /// Volume and reach first, then how much the theme hurts satisfaction; growth, money
    /// and ticket urgency break ties.
    fn default() -> Self {
        Weights([3.0, 3.0, 1.0, 2.0, 1.0, 1.0])
    }
}

impl Weights {
    pub fn parse(text: &str) -> Result<Self> {
        let bad = |msg: String| Error::Config(format!("TRIAGE_BACKLOG_WEIGHTS: {msg}"));
        let mut w = Weights::default();
        for pair in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let (name, value) = pair
                .split_once('=')
                .ok_or_else(|| bad(format!("expected name=weight, got {pair:?}")))?;
            let slot = COMPONENTS
                .iter()
                .position(|c| *c == name.trim())
                .ok_or_else(|| {
                    bad(format!(
                        "unknown component {:?}; the components are {}",
                        name.trim(),
                        COMPONENTS.join(", ")
                    ))
                })?;
            w.0[slot] = value
                .trim()
                .parse::<f64>()
                .ok()
                .filter(|v| v.is_finite() && *v >= 0.0)
                .ok_or_else(|| bad(format!("{name} must be a number ≥ 0, got {value:?}")))?;
        }
        if w.total() <= 0.0 {
            return Err(bad("at least one weight must be above 0".into()));
        }
        Ok(w)
    }

    pub fn total(&self) -> f64 {
        self.0.iter().sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn named_weights_override_defaults() {
        let w = Weights::parse("volume=5, customer_value=0").unwrap();
        assert_eq!(w.0[0], 5.0);
        assert_eq!(w.0[4], 0.0);
        assert_eq!(w.0[1], Weights::default().0[1]);
    }

    #[test]
    fn bad_weights_name_the_problem() {
        let e = Weights::parse("volumes=1").unwrap_err().to_string();
        assert!(e.contains("volumes"), "{e}");
        let e = Weights::parse("volume=-1").unwrap_err().to_string();
        assert!(e.contains("≥ 0"), "{e}");
        assert!(Weights::parse("volume=0,unique_customers=0,velocity=0,rating_impact=0,customer_value=0,ticket_priority=0").is_err());
    }
}
