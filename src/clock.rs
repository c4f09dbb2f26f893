//! Local-time formatting from a given `now`; never reads the clock. The zone
//! is the agent's (`TZ`) in the app and the report, a fixed offset in tests
//! and for a caller elsewhere. Plain: the UI, the report and the inbox use it.

use crate::domain::TimestampMs;
use chrono::{DateTime, Datelike, Duration, FixedOffset, NaiveTime, Offset, TimeZone, Utc};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Zone {
    /// The process's local zone (`TZ`).
    Local,
    /// Seconds east of UTC (tests, or an explicit setting).
    Fixed(i32),
}

impl Zone {
    pub fn offset_at(self, t: TimestampMs) -> FixedOffset {
        let utc = DateTime::<Utc>::from_timestamp_millis(t.0).unwrap_or_default();
        match self {
            Zone::Local => chrono::Local
                .offset_from_utc_datetime(&utc.naive_utc())
                .fix(),
            Zone::Fixed(s) => FixedOffset::east_opt(s).unwrap_or_else(|| Utc.fix()),
        }
    }

    pub fn at(self, t: TimestampMs) -> DateTime<FixedOffset> {
        let utc = DateTime::<Utc>::from_timestamp_millis(t.0).unwrap_or_default();
        utc.with_timezone(&self.offset_at(t))
    }
}

/// "14:05"
pub fn clock(t: TimestampMs, z: Zone) -> String {
    z.at(t).format("%H:%M").to_string()
}

/// Days since the epoch in local time: equal for the same local day.
pub fn day_key(t: TimestampMs, z: Zone) -> i64 {
    z.at(t).date_naive().num_days_from_ce() as i64
}

/// "Today", "Yesterday", "Mon 3 Mar 2025".
pub fn day_label(t: TimestampMs, now: TimestampMs, z: Zone) -> String {
    let d = day_key(t, z);
    let n = day_key(now, z);
    if d == n {
        "Today".into()
    } else if d == n - 1 {
        "Yesterday".into()
    } else {
        z.at(t).format("%a %-d %b %Y").to_string()
    }
}

/// How long ago, compact: "now", "5m", "3h", "2d", "6w".
pub fn ago(t: TimestampMs, now: TimestampMs) -> String {
    let s = (now.0 - t.0).max(0) / 1000;
    match s {
        0..=59 => "now".into(),
        60..=3599 => format!("{}m", s / 60),
        3600..=86_399 => format!("{}h", s / 3600),
        86_400..=1_209_599 => format!("{}d", s / 86_400),
        _ => format!("{}w", s / 604_800),
    }
}

/// A duration, compact: "5h12m", "3d4h", "12m", "<1m".
pub fn span(ms: i64) -> String {
    let m = ms.max(0) / 60_000;
    if m < 1 {
        "<1m".into()
    } else if m < 60 {
        format!("{m}m")
    } else if m < 24 * 60 {
        format!("{}h{:02}m", m / 60, m % 60)
    } else {
        format!("{}d{}h", m / 1440, (m % 1440) / 60)
    }
}

/// Time left in a messaging window `length` ms long, compact. A window
/// never shows more than its own length: a message received this instant
/// (or stamped a little ahead of our clock) reads "23h59m", not "1d0h".
pub fn window_left(closes_at: TimestampMs, now: TimestampMs, length: i64) -> String {
    span((closes_at.0 - now.0).min(length - 1))
}

/// Local `hour`:00 on the day after `now`.
pub fn tomorrow_at(now: TimestampMs, z: Zone, hour: u32) -> TimestampMs {
    local_day_at(now, z, 1, hour)
}

/// Next Monday 09:00 local (a week from today when today is Monday).
pub fn next_week(now: TimestampMs, z: Zone) -> TimestampMs {
    let wd = z.at(now).weekday().num_days_from_monday() as i64;
    local_day_at(now, z, 7 - wd, 9)
}

fn local_day_at(now: TimestampMs, z: Zone, days: i64, hour: u32) -> TimestampMs {
    let local = z.at(now);
    let date = local.date_naive() + Duration::days(days);
    let naive = date.and_time(NaiveTime::from_hms_opt(hour, 0, 0).unwrap_or_default());
    // Use the offset at `now`; a DST change overnight shifts this by an hour at most.
    let off = local.offset().local_minus_utc() as i64;
    TimestampMs(naive.and_utc().timestamp_millis() - off * 1000)
}

#[cfg(test)]
mod tests {
    use super::*;

    // 2023-11-14 22:13:20 UTC (a Tuesday)
    const T: TimestampMs = TimestampMs(1_700_000_000_000);

    #[test]
    fn formats_in_the_given_zone() {
        assert_eq!(clock(T, Zone::Fixed(0)), "22:13");
        assert_eq!(clock(T, Zone::Fixed(3600)), "23:13");
        assert_eq!(day_label(T, T, Zone::Fixed(0)), "Today");
        // Two hours east it is already Wednesday: the message was "Yesterday"? no: same instant.
        assert_eq!(
            day_label(T.plus_ms(-TimestampMs::DAY), T, Zone::Fixed(0)),
            "Yesterday"
        );
        assert_eq!(
            day_label(T.plus_ms(-3 * TimestampMs::DAY), T, Zone::Fixed(0)),
            "Sat 11 Nov 2023"
        );
    }

    #[test]
    fn snooze_targets() {
        let z = Zone::Fixed(0);
        let t = tomorrow_at(T, z, 9);
        assert_eq!(
            z.at(t).format("%Y-%m-%d %H:%M").to_string(),
            "2023-11-15 09:00"
        );
        let w = next_week(T, z);
        assert_eq!(
            z.at(w).format("%a %Y-%m-%d %H:%M").to_string(),
            "Mon 2023-11-20 09:00"
        );
        let z2 = Zone::Fixed(2 * 3600); // already Wednesday 00:13 there
        assert_eq!(
            z2.at(tomorrow_at(T, z2, 9))
                .format("%Y-%m-%d %H:%M")
                .to_string(),
            "2023-11-16 09:00"
        );
    }

    #[test]
    fn compact_spans() {
        assert_eq!(span(5 * 3_600_000 + 12 * 60_000), "5h12m");
        assert_eq!(span(3 * 86_400_000 + 4 * 3_600_000), "3d4h");
        assert_eq!(span(30_000), "<1m");
        assert_eq!(ago(T.plus_ms(-90_000), T), "1m");
        assert_eq!(ago(T.plus_ms(-2 * TimestampMs::DAY), T), "2d");
    }

    #[test]
    fn a_window_never_reads_longer_than_itself() {
        use crate::rules::window::{HUMAN_AGENT_MS, STANDARD_MS};
        // Received just now: the full 24 hours left.
        assert_eq!(
            window_left(T.plus_ms(STANDARD_MS), T, STANDARD_MS),
            "23h59m"
        );
        // Stamped 30 s ahead of our clock.
        assert_eq!(
            window_left(T.plus_ms(STANDARD_MS + 30_000), T, STANDARD_MS),
            "23h59m"
        );
        assert_eq!(
            window_left(T.plus_ms(STANDARD_MS - 61 * 60_000), T, STANDARD_MS),
            "22h59m"
        );
        assert_eq!(window_left(T.plus_ms(30_000), T, STANDARD_MS), "<1m");
        assert_eq!(
            window_left(T.plus_ms(HUMAN_AGENT_MS), T, HUMAN_AGENT_MS),
            "6d23h"
        );
        assert_eq!(
            window_left(
                T.plus_ms(3 * TimestampMs::DAY + 4 * TimestampMs::HOUR),
                T,
                HUMAN_AGENT_MS
            ),
            "3d4h"
        );
    }
}
