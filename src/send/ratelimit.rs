//! Send API pacing: `crate::pace` (governor, burst 1, on tokio's clock,
//! the same design as the Graph calls' throttle), so calls are at least
//! `period` apart and any trailing one-second window holds at most
//! `max_per_second` of them (design.md, Decisions). A pause (Meta's
//! rate-limit error) holds every caller until it ends.
//!
//! The period is 10 % wider than `1 / max_per_second`: two calls sent
//! exactly one period apart may arrive closer at Meta (network jitter).
//! governor gives a permit only a full period after the previous one,
//! measured when it is given, so a caller woken late cannot bunch up with
//! the next one.

use crate::pace::{Pacer, TokioClock};
use std::sync::Mutex;
use std::time::Duration;
use tokio::time::Instant;

/// Slack against network jitter between us and Meta: two calls sent exactly
/// one period apart may arrive closer; spacing by 10% more keeps the rate seen
/// at the far end within the limit.
const JITTER_MARGIN: f64 = 1.10;

#[derive(Debug)]
pub struct RateLimiter {
    /// `None`: no limit (benchmarks only).
    pacer: Option<Pacer>,
    /// No permit before this (Meta said slow down).
    paused_until: Mutex<Option<Instant>>,
}

impl RateLimiter {
    /// `max_per_second` = 0 means no limit (benchmarks only).
    pub fn per_second(max_per_second: u32) -> RateLimiter {
        let pacer = (max_per_second > 0).then(|| {
            Pacer::every(
                Duration::from_secs_f64(JITTER_MARGIN / f64::from(max_per_second)),
                TokioClock::new(),
            )
        });
        RateLimiter {
            pacer,
            paused_until: Mutex::new(None),
        }
    }

    pub fn period(&self) -> Duration {
        self.pacer.as_ref().map_or(Duration::ZERO, Pacer::period)
    }

    /// Wait for this caller's permit.
    pub async fn acquire(&self) {
        loop {
            let until = *self.paused_until.lock().unwrap_or_else(|e| e.into_inner());
            match until {
                Some(t) if t > Instant::now() => tokio::time::sleep_until(t).await,
                _ => break,
            }
        }
        if let Some(p) = &self.pacer {
            p.ready().await;
        }
    }

    /// No call before `now + d` (Meta said slow down).
    pub fn pause(&self, d: Duration) {
        let mut until = self.paused_until.lock().unwrap_or_else(|e| e.into_inner());
        let t = Instant::now() + d;
        *until = Some(until.map_or(t, |u| u.max(t)));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    /// Largest number of instants inside any half-open window of `w`.
    fn max_in_window(ts: &[Instant], w: Duration) -> usize {
        let mut best = 0;
        for (i, t) in ts.iter().enumerate() {
            let n = ts[..=i]
                .iter()
                .filter(|u| t.duration_since(**u) < w)
                .count();
            best = best.max(n);
        }
        best
    }

    /// `n` callers acquire at once; when each got its permit, sorted.
    async fn permit_times(rl: &Arc<RateLimiter>, n: usize) -> Vec<Instant> {
        let times = Arc::new(Mutex::new(Vec::new()));
        let mut tasks = Vec::new();
        for _ in 0..n {
            let rl = rl.clone();
            let times = times.clone();
            tasks.push(tokio::spawn(async move {
                rl.acquire().await;
                times.lock().unwrap().push(Instant::now());
            }));
        }
        for t in tasks {
            t.await.unwrap();
        }
        let mut ts = times.lock().unwrap().clone();
        ts.sort();
        ts
    }

    #[tokio::test(start_paused = true)]
    async fn never_more_than_the_limit_in_any_second() {
        let rl = Arc::new(RateLimiter::per_second(10));
        let ts = permit_times(&rl, 50).await;
        assert_eq!(ts.len(), 50);
        assert!(max_in_window(&ts, Duration::from_secs(1)) <= 10);
        // And it is not much slower than the limit: 50 calls in about 5 s.
        let span = ts[49].duration_since(ts[0]);
        assert!(span < Duration::from_millis(5500), "{span:?}");
    }

    /// Callers woken late (a stalled runtime) must not bunch up: permits
    /// are a full period apart measured when they are given.
    #[tokio::test(start_paused = true)]
    async fn late_wakers_do_not_bunch_up() {
        let rl = Arc::new(RateLimiter::per_second(5));
        rl.acquire().await;
        // Everyone arrives long after the last permit, all at once.
        tokio::time::advance(Duration::from_secs(10)).await;
        let ts = permit_times(&rl, 6).await;
        for w in ts.windows(2) {
            assert!(w[1].duration_since(w[0]) >= rl.period(), "{ts:?}");
        }
        assert!(max_in_window(&ts, Duration::from_secs(1)) <= 5);
    }

    #[tokio::test(start_paused = true)]
    async fn pause_delays_everyone() {
        let rl = RateLimiter::per_second(100);
        rl.acquire().await;
        let t0 = Instant::now();
        rl.pause(Duration::from_secs(3));
        rl.acquire().await;
        assert!(Instant::now().duration_since(t0) >= Duration::from_secs(3));
        let unlimited = RateLimiter::per_second(0);
        unlimited.pause(Duration::from_secs(1));
        let t1 = Instant::now();
        unlimited.acquire().await;
        assert!(Instant::now().duration_since(t1) >= Duration::from_secs(1));
    }
}
