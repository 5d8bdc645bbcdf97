//! One scale for every score: 0.0 (worst) to 1.0 (best).
//!
//! NPS answers (0–10) map linearly from 0; CSAT and star ratings (1–5) map linearly from 1.
//! Later stages (rating impact, digests) compare items of different kinds on this scale.

pub fn nps(score: i32) -> f64 {
    f64::from(score.clamp(0, 10)) / 10.0
}

pub fn one_to_five(score: i32) -> f64 {
    f64::from(score.clamp(1, 5) - 1) / 4.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ends_of_each_scale_meet() {
        assert_eq!(nps(0), 0.0);
        assert_eq!(nps(10), 1.0);
        assert_eq!(one_to_five(1), 0.0);
        assert_eq!(one_to_five(5), 1.0);
        assert_eq!(one_to_five(3), 0.5);
        assert_eq!(nps(5), 0.5);
    }
}
