//! Rate limits on what anonymous visitors can post: the public survey page and sign-in.
//!
//! * Survey answers: per client IP (one visitor cannot file hundreds of answers) and per
//!   survey (a flood from many addresses cannot drown a survey's real answers).
//! * Sign-in: per client IP and per account (password guessing, from one address or
//!   spread over many), and a delay that doubles with each failure in a row for an
//!   account, so guessing slows down long before the limit.
//!
//! * Work that takes a core — embedding a draft for suggestions, running a search — goes
//!   through a [`Gate`]: a few at a time, a bounded queue behind them, and 429 with
//!   `Retry-After` past it, so a flood of either cannot starve the embedding worker, the
//!   other, or the memory of the process.
//!
//! The limiters are the generic cell rate algorithm of the `governor` crate, kept in memory
//! per process (limits are per replica; a flood spread over replicas gets each replica's
//! share). The client IP is the TCP peer: behind a reverse proxy every visitor shares the
//! proxy's address, so put the per-IP limits in the proxy there (docs/operations.md).

use std::collections::HashMap;
use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::Mutex;
use std::time::Duration;

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

use crate::{Config, Error, Result};

pub struct Limits {
    survey_per_ip: DefaultKeyedRateLimiter<IpAddr>,
    survey_total: DefaultKeyedRateLimiter<i64>,
    sign_in_per_ip: DefaultKeyedRateLimiter<IpAddr>,
    sign_in_per_account: DefaultKeyedRateLimiter<String>,
    /// Failed sign-ins in a row, per account (lower-cased email); a success clears it.
    failures: Mutex<HashMap<String, u32>>,
    /// Drafts being embedded for ticket suggestions.
    pub suggest: Gate,
    /// Searches (the API, the search page and the keyword half of suggestions).
    pub search: Gate,
}

/// At most `slots` holders at once and `4 × slots` waiting; a caller past that, or one
/// that waited [`GATE_WAIT`] in vain, gets 429 with `Retry-After: 1`.
pub struct Gate {
    slots: tokio::sync::Semaphore,
    waiting: std::sync::atomic::AtomicUsize,
    max_waiting: usize,
    busy: &'static str,
}

/// How long a caller waits in a [`Gate`]'s queue at most.
const GATE_WAIT: Duration = Duration::from_secs(2);

impl Gate {
    pub fn new(slots: u32, busy: &'static str) -> Self {
        Self {
            slots: tokio::sync::Semaphore::new(slots as usize),
            waiting: Default::default(),
            max_waiting: 4 * slots as usize,
            busy,
        }
    }

    /// A place, held until the permit is dropped.
    pub async fn enter(&self) -> Result<tokio::sync::SemaphorePermit<'_>> {
        use std::sync::atomic::Ordering;
        if let Ok(p) = self.slots.try_acquire() {
            return Ok(p);
        }
        let full = || Error::TooManyRequests {
            message: self.busy.into(),
            retry_after_secs: 1,
        };
        if self.waiting.fetch_add(1, Ordering::SeqCst) >= self.max_waiting {
            self.waiting.fetch_sub(1, Ordering::SeqCst);
            return Err(full());
        }
        let got = tokio::time::timeout(GATE_WAIT, self.slots.acquire()).await;
        self.waiting.fetch_sub(1, Ordering::SeqCst);
        match got {
            Ok(Ok(p)) => Ok(p),
            _ => Err(full()),
        }
    }
}

/// Sign-in attempts allowed per client IP per minute.
const SIGN_INS_PER_IP_MINUTE: u32 = 20;
/// Sign-in attempts allowed per account per 15 minutes (at once: the first 10).
const SIGN_INS_PER_ACCOUNT: u32 = 10;
/// The delay after the n-th failure in a row: 250 ms × 2^(n−2) from the second, at most 8 s.
const FIRST_DELAY: Duration = Duration::from_millis(250);
const MAX_DELAY: Duration = Duration::from_secs(8);
/// Accounts whose failure streak is remembered at most (memory stays bounded).
const MAX_TRACKED: usize = 10_000;

fn too_many(message: &str, until: governor::NotUntil<governor::clock::QuantaInstant>) -> Error {
    Error::TooManyRequests {
        message: message.into(),
        retry_after_secs: until
            .wait_time_from(DefaultClock::default().now())
            .as_secs()
            + 1,
    }
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
            sign_in_per_ip: RateLimiter::keyed(Quota::per_minute(nonzero(SIGN_INS_PER_IP_MINUTE))),
            sign_in_per_account: RateLimiter::keyed(
                Quota::with_period(Duration::from_secs(15 * 60) / SIGN_INS_PER_ACCOUNT)
                    .unwrap_or_else(|| Quota::per_minute(NonZeroU32::MIN))
                    .allow_burst(nonzero(SIGN_INS_PER_ACCOUNT)),
            ),
            failures: Mutex::new(HashMap::new()),
            suggest: Gate::new(
                config.suggest_slots,
                "too many suggestions are being worked out right now; try again in a second",
            ),
            search: Gate::new(
                config.search_slots,
                "too many searches are running right now; try again in a second",
            ),
        }
    }

    /// Takes one sign-in attempt for `email` from `ip`, or says when to try again (429).
    pub fn sign_in(&self, ip: IpAddr, email: &str) -> Result<()> {
        self.sign_in_per_ip.check_key(&ip).map_err(|u| {
            too_many(
                "too many sign-in attempts from your address; please wait",
                u,
            )
        })?;
        self.sign_in_per_account
            .check_key(&email.to_lowercase())
            .map_err(|u| too_many("too many sign-in attempts for this account; please wait", u))?;
        if self.sign_in_per_ip.len() > 10_000 {
            self.sign_in_per_ip.retain_recent();
            self.sign_in_per_account.retain_recent();
        }
        Ok(())
    }

    /// Records a sign-in's outcome; after a failure, how long to wait before answering.
    pub fn signed_in(&self, email: &str, ok: bool) -> Duration {
        let mut failures = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        let key = email.to_lowercase();
        if ok {
            failures.remove(&key);
            return Duration::ZERO;
        }
        if failures.len() > MAX_TRACKED {
            // Full: forget the accounts with a single failure first (they wait for nothing
            // yet), so a flood of made-up emails cannot wipe a guessed account's streak.
            failures.retain(|_, n| *n > 1);
            if failures.len() > MAX_TRACKED {
                failures.clear();
            }
        }
        let n = failures.entry(key).or_insert(0);
        *n = n.saturating_add(1);
        match *n {
            0 | 1 => Duration::ZERO,
            n => FIRST_DELAY
                .saturating_mul(1 << (n - 2).min(10))
                .min(MAX_DELAY),
        }
    }

    /// Takes one answer to `survey` from `ip`, or says when to try again (429).
    pub fn survey_answer(&self, ip: IpAddr, survey: i64) -> Result<()> {
        self.survey_per_ip.check_key(&ip).map_err(|u| {
            too_many(
                "too many answers from your address; please try again later",
                u,
            )
        })?;
        self.survey_total.check_key(&survey).map_err(|u| {
            too_many(
                "this survey is receiving too many answers right now; please try again in a minute",
                u,
            )
        })?;
        // Forget addresses that are back to a full allowance, so memory stays bounded.
        if self.survey_per_ip.len() > 10_000 {
            self.survey_per_ip.retain_recent();
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_flood_of_made_up_emails_keeps_a_guessed_accounts_delay() {
        let config = Config::from_settings(crate::config::Settings::default()).unwrap();
        let limits = Limits::new(&config);
        for _ in 0..3 {
            limits.signed_in("ana@corp.test", false);
        }
        for i in 0..=MAX_TRACKED {
            limits.signed_in(&format!("x{i}@corp.test"), false);
        }
        // The fourth failure in a row still waits 1 s.
        assert_eq!(
            limits.signed_in("ANA@corp.test", false),
            Duration::from_secs(1)
        );
        assert_eq!(limits.signed_in("ana@corp.test", true), Duration::ZERO);
        assert_eq!(limits.signed_in("ana@corp.test", false), Duration::ZERO);
    }
}
