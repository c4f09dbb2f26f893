//! Send API pacing: a token bucket with a burst of 1, so calls are at least
//! `period` apart and any trailing one-second window holds at most
//! `max_per_second` of them (design.md, Decisions).
//!
//! Each caller reserves the next free slot under a lock, then sleeps until
//! it: callers are served in arrival order and a pause (Meta's rate-limit
//! error) simply pushes the next slot out for everyone. It runs on tokio's
//! clock so tests can drive it with a paused clock (governor's `until_ready`
//! sleeps on its own timer, which a paused clock cannot move).

use std::sync::Mutex;
use std::time::Duration;
use tokio::time::Instant;

/// Slack against network jitter between us and Meta: two calls sent exactly
/// one period apart may arrive closer; spacing by 10% more keeps the rate seen
/// at the far end within the limit.
const JITTER_MARGIN: f64 = 1.10;

#[derive(Debug)]
pub struct RateLimiter {
    period: Duration,
    next: Mutex<Option<Instant>>,
    /// Hard guard behind the bucket: the moments of the last `max` permits.
    /// A caller woken late (a loaded machine) could otherwise bunch up with
    /// the next one; a permit is only given when the permit `max` places
    /// back is more than a (widened) second old, measured when it is given.
    recent: Mutex<std::collections::VecDeque<Instant>>,
    max: usize,
}

impl RateLimiter {
    /// `max_per_second` = 0 means no limit (benchmarks only).
    pub fn per_second(max_per_second: u32) -> RateLimiter {
        let period = if max_per_second == 0 {
            Duration::ZERO
        } else {
            Duration::from_secs_f64(JITTER_MARGIN / f64::from(max_per_second))
        };
        RateLimiter {
            period,
            next: Mutex::new(None),
            recent: Mutex::new(std::collections::VecDeque::new()),
            max: max_per_second as usize,
        }
    }

    pub fn period(&self) -> Duration {
        self.period
    }

    /// Wait for this caller's slot.
    pub async fn acquire(&self) {
        if self.period.is_zero() {
            let until = *self.next.lock().unwrap_or_else(|e| e.into_inner());
            if let Some(t) = until.filter(|t| *t > Instant::now()) {
                tokio::time::sleep_until(t).await;
            }
            return;
        }
        let slot = {
            let mut next = self.next.lock().unwrap_or_else(|e| e.into_inner());
            let now = Instant::now();
            let slot = next.map_or(now, |n| n.max(now));
            *next = Some(slot + self.period);
            slot
        };
        tokio::time::sleep_until(slot).await;
        self.guard().await;
    }

    async fn guard(&self) {
        let window = Duration::from_secs_f64(JITTER_MARGIN);
        loop {
            let wait_until = {
                let mut recent = self.recent.lock().unwrap_or_else(|e| e.into_inner());
                let now = Instant::now();
                match recent.front() {
                    Some(oldest)
                        if recent.len() >= self.max && now.duration_since(*oldest) < window =>
                    {
                        *oldest + window
                    }
                    _ => {
                        recent.push_back(now);
                        while recent.len() > self.max {
                            recent.pop_front();
                        }
                        return;
                    }
                }
            };
            tokio::time::sleep_until(wait_until).await;
        }
    }

    /// No call before `now + d` (Meta said slow down).
    pub fn pause(&self, d: Duration) {
        let mut next = self.next.lock().unwrap_or_else(|e| e.into_inner());
        let until = Instant::now() + d;
        *next = Some(next.map_or(until, |n| n.max(until)));
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

    #[tokio::test(start_paused = true)]
    async fn never_more_than_the_limit_in_any_second() {
        let rl = Arc::new(RateLimiter::per_second(10));
        let times = Arc::new(Mutex::new(Vec::new()));
        let mut tasks = Vec::new();
        for _ in 0..50 {
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
        assert_eq!(ts.len(), 50);
        assert!(max_in_window(&ts, Duration::from_secs(1)) <= 10);
        // And it is not much slower than the limit: 50 calls in about 5 s.
        let span = ts[49].duration_since(ts[0]);
        assert!(span < Duration::from_millis(5500), "{span:?}");
    }

    /// Callers woken late (slots already past) must not bunch up: the guard
    /// holds any window to `max` permits whatever the bucket's slots said.
    #[tokio::test(start_paused = true)]
    async fn the_guard_holds_late_wakers_to_the_limit() {
        let rl = RateLimiter::per_second(5);
        let t0 = Instant::now();
        // Five permits at once, as if five slots were reached together.
        for _ in 0..5 {
            rl.guard().await;
        }
        assert_eq!(Instant::now(), t0);
        rl.guard().await;
        assert!(Instant::now().duration_since(t0) >= Duration::from_secs(1));
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
