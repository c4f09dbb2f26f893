//! The one pacing design: governor's GCRA with a burst of 1 on tokio's
//! clock. Used for sends (`send::ratelimit`) and for Graph calls per
//! account (`meta::throttle`).
//!
//! With a burst of 1 a permit is only given at least one period after the
//! previous one, measured when it is given: a caller woken late cannot
//! bunch up with the next, so any trailing window of one second holds at
//! most `1 s / period` permits (design.md, Decisions). governor reads
//! tokio's clock here and waiting is a tokio sleep, so a paused clock
//! drives it in tests.

use governor::clock::Clock;
use governor::middleware::NoOpMiddleware;
use governor::state::{InMemoryState, NotKeyed};
use governor::{Quota, RateLimiter};
use std::num::NonZeroU32;
use std::time::Duration;
use tokio::time::Instant;

/// governor's clock, read from tokio's (pausable) clock.
#[derive(Clone, Debug)]
pub struct TokioClock {
    origin: Instant,
}

impl TokioClock {
    pub fn new() -> TokioClock {
        TokioClock {
            origin: Instant::now(),
        }
    }
}

impl Default for TokioClock {
    fn default() -> Self {
        TokioClock::new()
    }
}

impl Clock for TokioClock {
    type Instant = Duration;
    fn now(&self) -> Duration {
        self.origin.elapsed()
    }
}

type Limiter = RateLimiter<NotKeyed, InMemoryState, TokioClock, NoOpMiddleware<Duration>>;

/// Permits at least `period` apart (burst 1).
pub struct Pacer {
    limiter: Limiter,
    clock: TokioClock,
    period: Duration,
}

impl std::fmt::Debug for Pacer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pacer")
            .field("period", &self.period)
            .finish()
    }
}

impl Pacer {
    /// One permit every `period` (at least 1 ns).
    pub fn every(period: Duration, clock: TokioClock) -> Pacer {
        let period = period.max(Duration::from_nanos(1));
        let quota = Quota::with_period(period)
            .unwrap_or_else(|| Quota::per_second(NonZeroU32::MIN))
            .allow_burst(NonZeroU32::MIN);
        Pacer {
            limiter: RateLimiter::direct_with_clock(quota, clock.clone()),
            clock,
            period,
        }
    }

    /// `rate` permits a second, evenly spaced.
    pub fn per_second(rate: NonZeroU32, clock: TokioClock) -> Pacer {
        Pacer::every(Duration::from_secs(1) / rate.get(), clock)
    }

    pub fn period(&self) -> Duration {
        self.period
    }

    /// Wait for a permit.
    pub async fn ready(&self) {
        while let Err(not_until) = self.limiter.check() {
            tokio::time::sleep(not_until.wait_time_from(self.clock.now())).await;
        }
    }
}
