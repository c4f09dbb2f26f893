//! What the fake saw: calls per endpoint, Send API call times (for rates
//! measured where Meta would see them), webhooks posted.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

#[derive(Default)]
pub struct Stats {
    calls: Mutex<BTreeMap<String, u64>>,
    send_times: Mutex<Vec<Instant>>,
    pub sends_ok: AtomicU64,
    pub sends_failed: AtomicU64,
    pub webhooks_posted: AtomicU64,
    pub webhooks_failed: AtomicU64,
    pub customer_events: AtomicU64,
}

/// A snapshot for tests and benchmarks.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SimStats {
    /// Calls per endpoint name (`send`, `conversations`, `messages`,
    /// `profile`, `batch`, `me`, `subscribed_apps`, `message`, `node`, ...).
    pub calls: BTreeMap<String, u64>,
    pub sends_ok: u64,
    pub sends_failed: u64,
    /// Webhook bodies answered 2xx by the receiver / given up on.
    pub webhooks_posted: u64,
    pub webhooks_failed: u64,
    /// Customer messages and reactions generated.
    pub customer_events: u64,
    /// Send API calls in each whole second since the first call.
    pub sends_per_second: Vec<u32>,
    /// Most Send API calls in any trailing one-second window.
    pub max_sends_in_one_second: u32,
}

impl SimStats {
    pub fn calls_to(&self, endpoint: &str) -> u64 {
        self.calls.get(endpoint).copied().unwrap_or(0)
    }
}

impl Stats {
    pub fn count(&self, endpoint: &str) {
        let mut c = self.calls.lock().unwrap_or_else(|e| e.into_inner());
        *c.entry(endpoint.to_string()).or_default() += 1;
    }

    pub fn send_call(&self, at: Instant) {
        self.send_times
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(at);
    }

    /// Send API calls within the trailing second (for the simulated limit).
    pub fn sends_in_last_second(&self, now: Instant) -> usize {
        let t = self.send_times.lock().unwrap_or_else(|e| e.into_inner());
        t.iter()
            .rev()
            .take_while(|x| now.duration_since(**x) < Duration::from_secs(1))
            .count()
    }

    pub fn snapshot(&self) -> SimStats {
        let calls = self.calls.lock().unwrap_or_else(|e| e.into_inner()).clone();
        let mut times = self
            .send_times
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        times.sort();
        let (per_second, max) = rates(&times);
        SimStats {
            calls,
            sends_ok: self.sends_ok.load(Ordering::Relaxed),
            sends_failed: self.sends_failed.load(Ordering::Relaxed),
            webhooks_posted: self.webhooks_posted.load(Ordering::Relaxed),
            webhooks_failed: self.webhooks_failed.load(Ordering::Relaxed),
            customer_events: self.customer_events.load(Ordering::Relaxed),
            sends_per_second: per_second,
            max_sends_in_one_second: max,
        }
    }
}

/// Per-second buckets and the busiest trailing one-second window of sorted times.
fn rates(times: &[Instant]) -> (Vec<u32>, u32) {
    let Some(first) = times.first() else {
        return (vec![], 0);
    };
    let mut buckets = vec![];
    let mut max = 0u32;
    let mut lo = 0;
    for (hi, t) in times.iter().enumerate() {
        let b = t.duration_since(*first).as_secs() as usize;
        if buckets.len() <= b {
            buckets.resize(b + 1, 0u32);
        }
        buckets[b] += 1;
        while t.duration_since(times[lo]) >= Duration::from_secs(1) {
            lo += 1;
        }
        max = max.max((hi - lo + 1) as u32);
    }
    (buckets, max)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trailing_window_max_and_buckets() {
        let t0 = Instant::now();
        let ms = |m| t0 + Duration::from_millis(m);
        let times = vec![ms(0), ms(100), ms(900), ms(1050), ms(1950), ms(2500)];
        let (b, max) = rates(&times);
        assert_eq!(b, vec![3, 2, 1]);
        // 900, 1050, 1950? no: 1950-900 >= 1000. 100..1050 holds 3 (100, 900, 1050).
        assert_eq!(max, 3);
    }
}
