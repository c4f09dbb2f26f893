//! A set of durations summarised: count, median, 90th percentile, mean, and
//! the Prometheus histogram buckets.

use serde::{Deserialize, Serialize};

/// Histogram bounds, seconds: a minute to a week.
pub const BUCKETS_SECONDS: [u64; 11] = [
    60, 300, 900, 1800, 3600, 7200, 14_400, 28_800, 86_400, 259_200, 604_800,
];

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Times {
    pub count: u64,
    /// The middle value (the mean of the two middle ones for an even count).
    pub median_ms: Option<i64>,
    /// Nearest rank: the smallest value at least 90 % of the values reach.
    pub p90_ms: Option<i64>,
    pub mean_ms: Option<i64>,
    #[serde(skip)]
    pub sum_ms: i64,
    /// Cumulative counts per `BUCKETS_SECONDS` bound (`le`).
    #[serde(skip)]
    pub buckets: [u64; BUCKETS_SECONDS.len()],
}

impl Times {
    /// Summarise `samples` (sorted in place).
    pub fn of(samples: &mut [i64]) -> Times {
        let n = samples.len();
        if n == 0 {
            return Times::default();
        }
        samples.sort_unstable();
        let median = if n % 2 == 1 {
            samples[n / 2]
        } else {
            (samples[n / 2 - 1] + samples[n / 2]) / 2
        };
        let p90 = samples[(n * 9).div_ceil(10) - 1];
        let sum: i64 = samples.iter().sum();
        let mut buckets = [0u64; BUCKETS_SECONDS.len()];
        for (b, le) in buckets.iter_mut().zip(BUCKETS_SECONDS) {
            *b = samples.partition_point(|&ms| ms <= le as i64 * 1000) as u64;
        }
        Times {
            count: n as u64,
            median_ms: Some(median),
            p90_ms: Some(p90),
            mean_ms: Some((sum as f64 / n as f64).round() as i64),
            sum_ms: sum,
            buckets,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_p90_mean_and_buckets() {
        let t = Times::of(&mut [40_000, 10_000, 30_000, 20_000]);
        assert_eq!(t.count, 4);
        assert_eq!(t.median_ms, Some(25_000));
        assert_eq!(t.p90_ms, Some(40_000));
        assert_eq!(t.mean_ms, Some(25_000));
        assert_eq!(t.buckets[0], 4);

        let mut ten: Vec<i64> = (1..=10).map(|m| m * 60_000).collect();
        let t = Times::of(&mut ten);
        assert_eq!(t.median_ms, Some(330_000));
        assert_eq!(t.p90_ms, Some(540_000));
        // le 60 s: 1; le 300 s: 5; le 900 s: all 10.
        assert_eq!(&t.buckets[..3], &[1, 5, 10]);

        assert_eq!(Times::of(&mut []), Times::default());
        assert_eq!(Times::of(&mut [7]).p90_ms, Some(7));
    }
}
