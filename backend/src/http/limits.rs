//! Rate limits on what anonymous visitors can post: the public survey page.
//!
//! Per client IP (so one visitor cannot file hundreds of answers) and per survey (so a
//! flood from many addresses cannot drown a survey's real answers), both generic cell rate
//! algorithm limiters from the `governor` crate, kept in memory per process (limits are
//! per replica; a flood spread over replicas gets each replica's share). The client IP is
//! the TCP peer: behind a reverse proxy every visitor shares the proxy's address, so put
//! the per-IP limit in the proxy there (docs/operations.md).

use std::net::IpAddr;
use std::num::NonZeroU32;

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

use crate::{Config, Error, Result};

pub struct Limits {
    survey_per_ip: DefaultKeyedRateLimiter<IpAddr>,
    survey_total: DefaultKeyedRateLimiter<i64>,
}

fn nonzero(n: u32) -> NonZeroU32 {
    NonZeroU32::new(n).unwrap_or(NonZeroU32::MIN)
}

impl Limits {
    pub fn new(config: &Config) -> Self {
        Self {
            survey_per_ip: RateLimiter::keyed(Quota::per_hour(nonzero(
                config.survey_answers_per_ip_hour,
            ))),
            survey_total: RateLimiter::keyed(Quota::per_minute(nonzero(
                config.survey_answers_per_minute,
            ))),
        }
    }

    /// Takes one answer to `survey` from `ip`, or says when to try again (429).
    pub fn survey_answer(&self, ip: IpAddr, survey: i64) -> Result<()> {
        let clock = DefaultClock::default();
        let wait = |until: governor::NotUntil<_>| until.wait_time_from(clock.now()).as_secs() + 1;
        if let Err(until) = self.survey_per_ip.check_key(&ip) {
            return Err(Error::TooManyRequests {
                message: "too many answers from your address; please try again later".into(),
                retry_after_secs: wait(until),
            });
        }
        if let Err(until) = self.survey_total.check_key(&survey) {
            return Err(Error::TooManyRequests {
                message: "this survey is receiving too many answers right now; please try again in a minute".into(),
                retry_after_secs: wait(until),
            });
        }
        // Forget addresses that are back to a full allowance, so memory stays bounded.
        if self.survey_per_ip.len() > 10_000 {
            self.survey_per_ip.retain_recent();
        }
        Ok(())
    }
}
