//! Per-account pacing of Graph calls: a token bucket (burst 1) for the
//! Conversations API, a growing delay as Meta's usage headers approach 100%,
//! and a full stop while Meta says the account is throttled.
//!
//! Everything runs on tokio's clock (the pacing is `crate::pace`, governor
//! on a tokio-backed clock, the same design sends use), so tests drive it
//! with a paused clock.

use super::usage::Usage;
use crate::pace::{Pacer, TokioClock};
use std::collections::HashMap;
use std::num::NonZeroU32;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::time::Instant;

/// Usage above this percentage slows calls down.
pub const SLOW_FROM: u32 = 75;
/// The delay added per call just below 100%.
pub const MAX_DELAY: Duration = Duration::from_secs(5);
/// Pause when Meta throttles without saying for how long.
pub const DEFAULT_PAUSE: Duration = Duration::from_secs(60);
/// Longest pause for repeated rate-limit errors without a regain estimate.
pub const MAX_PAUSE: Duration = Duration::from_secs(15 * 60);

struct Account {
    paused_until: Option<Instant>,
    delay: Duration,
    strikes: u32,
    limiter: Arc<Pacer>,
}

pub struct Throttle {
    rate: NonZeroU32,
    clock: TokioClock,
    accounts: Mutex<HashMap<String, Account>>,
}

impl std::fmt::Debug for Throttle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Throttle")
            .field("rate", &self.rate)
            .finish()
    }
}

impl Throttle {
    /// `conversations_per_second`: the Conversations API budget per account.
    pub fn new(conversations_per_second: u32) -> Throttle {
        let rate = NonZeroU32::new(conversations_per_second.max(1)).unwrap_or(NonZeroU32::MIN);
        Throttle {
            // Burst 1: never two calls closer than 1/rate, so no trailing
            // one-second window sees more than `rate` calls.
            rate,
            clock: TokioClock::new(),
            accounts: Mutex::new(HashMap::new()),
        }
    }

    fn with<R>(&self, account: &str, f: impl FnOnce(&mut Account) -> R) -> R {
        let mut map = self.accounts.lock().unwrap_or_else(|e| e.into_inner());
        let a = map.entry(account.to_string()).or_insert_with(|| Account {
            paused_until: None,
            delay: Duration::ZERO,
            strikes: 0,
            limiter: Arc::new(Pacer::per_second(self.rate, self.clock.clone())),
        });
        f(a)
    }

    /// Wait until a call for `account` may go out. `conversations`: the call
    /// counts against the Conversations API rate.
    pub async fn before(&self, account: &str, conversations: bool) {
        loop {
            let until = self.with(account, |a| a.paused_until);
            match until {
                Some(t) if t > Instant::now() => {
                    tracing::info!(account, wait = ?(t - Instant::now()), "Graph calls paused by Meta's rate limit");
                    tokio::time::sleep_until(t).await;
                }
                _ => break,
            }
        }
        let (delay, limiter) = self.with(account, |a| (a.delay, a.limiter.clone()));
        if !delay.is_zero() {
            tokio::time::sleep(delay).await;
        }
        if conversations {
            limiter.ready().await;
        }
    }

    /// A successful answer's usage headers (or none).
    pub fn observe(&self, account: &str, usage: Option<Usage>) {
        let u = usage.unwrap_or_default();
        self.with(account, |a| {
            if u.throttled() {
                a.paused_until = Some(Instant::now() + u.regain.unwrap_or(DEFAULT_PAUSE));
                a.delay = MAX_DELAY;
            } else {
                a.strikes = 0;
                a.delay = slow_delay(u.percent);
            }
        });
    }

    /// Meta answered with a rate-limit error: stop this account until the
    /// regain estimate, or for a pause that grows with each strike. Returns it.
    pub fn rate_limited(&self, account: &str, usage: Option<Usage>) -> Duration {
        self.with(account, |a| {
            let pause = match usage.and_then(|u| u.regain) {
                Some(r) => r,
                None => (DEFAULT_PAUSE * 2u32.saturating_pow(a.strikes.min(8))).min(MAX_PAUSE),
            };
            a.strikes += 1;
            a.delay = MAX_DELAY;
            a.paused_until = Some(Instant::now() + pause);
            pause
        })
    }

    /// How long `account` is still paused, if it is.
    pub fn paused_for(&self, account: &str) -> Option<Duration> {
        let now = Instant::now();
        self.with(account, |a| {
            a.paused_until.filter(|t| *t > now).map(|t| t - now)
        })
    }

    /// The delay currently added before each call for `account`.
    pub fn delay_for(&self, account: &str) -> Duration {
        self.with(account, |a| a.delay)
    }
}

/// 0 up to SLOW_FROM, then growing linearly to MAX_DELAY at 100%.
pub fn slow_delay(percent: u32) -> Duration {
    if percent <= SLOW_FROM {
        return Duration::ZERO;
    }
    let over = percent.min(100) - SLOW_FROM;
    MAX_DELAY * over / (100 - SLOW_FROM)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delay_grows_above_threshold() {
        assert_eq!(slow_delay(10), Duration::ZERO);
        assert_eq!(slow_delay(75), Duration::ZERO);
        assert!(slow_delay(80) > Duration::ZERO);
        assert!(slow_delay(90) > slow_delay(80));
        assert_eq!(slow_delay(100), MAX_DELAY);
        assert_eq!(slow_delay(250), MAX_DELAY);
    }
}
