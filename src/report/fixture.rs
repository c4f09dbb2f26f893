//! A small history whose figures are computed by hand in
//! tests/report_figures.rs (and drawn in tests/report_pane.rs). Times are
//! local (UTC+01:00); "now" is 2026-12-07 13:00 local.
//!
//! - A (Messenger page 111): the customer writes at 09:00 and 09:10 on
//!   12-05; alice takes it and replies at 09:40 (first response 40 min,
//!   measured from the first unanswered message); bob replies at 10:30 (not
//!   a first response); alice resolves at 11:00 (2 h). The customer writes
//!   again on 12-06 08:00 (reopened), alice replies 08:20 (20 min) and
//!   resolves at 09:00 (1 h).
//! - B (page 111), never assigned: opened 12-06 10:00, carol replies 12:00.
//! - C (Instagram 222): last active on 11-25, before the history began
//!   (12-01 00:00): no figures.
//! - D (Instagram 222): opened before the history; replied from Meta's page
//!   inbox outside the window on 12-02 10:00, resolved by bob 10:05.
//! - E (Instagram 222): opened 12-07 08:00, bob replies 08:10.

use super::Params;
use crate::clock::Zone;
use crate::domain::{ConvKey, ConvStatus, Conversation, Platform, TimestampMs};
use crate::team::{AgentName, HistoryEvent, HistoryKind};

pub const OFFSET_S: i32 = 3600;
const MIN: i64 = 60_000;

/// 2026-12-`day` `h`:`m` local (UTC+01:00).
pub fn at(month: u32, day: u32, h: u32, m: u32) -> TimestampMs {
    let utc = chrono::NaiveDate::from_ymd_opt(2026, month, day)
        .and_then(|d| d.and_hms_opt(h, m, 0))
        .map(|d| d.and_utc().timestamp_millis())
        .unwrap_or(0);
    TimestampMs(utc - OFFSET_S as i64 * 1000)
}

pub fn conv(user: &str) -> ConvKey {
    match user {
        "a" | "b" => ConvKey::new(Platform::Messenger, "111", user),
        _ => ConvKey::new(Platform::Instagram, "222", user),
    }
}

pub fn params() -> Params {
    Params {
        now: at(12, 7, 13, 0),
        since_ms: super::DEFAULT_SINCE_MS,
        zone: Zone::Fixed(OFFSET_S),
        history_start: Some(at(12, 1, 0, 0)),
    }
}

fn ev(user: &str, at: TimestampMs, by: Option<&str>, kind: HistoryKind) -> HistoryEvent {
    HistoryEvent {
        conv: conv(user),
        at,
        by: by.map(AgentName::from),
        kind,
    }
}

fn replied(waited_min: Option<i64>, first: bool, in_window: bool) -> HistoryKind {
    HistoryKind::Replied {
        waited_ms: waited_min.map(|m| m * MIN),
        first,
        in_window,
    }
}

fn status(from: ConvStatus, to: ConvStatus) -> HistoryKind {
    HistoryKind::Status { from, to }
}

/// The history, in time order.
pub fn events() -> Vec<HistoryEvent> {
    use ConvStatus::*;
    let mut v = vec![
        ev("d", at(12, 2, 10, 0), None, replied(None, false, false)),
        ev(
            "d",
            at(12, 2, 10, 5),
            Some("bob"),
            status(Pending, Resolved),
        ),
        ev("a", at(12, 5, 9, 0), None, HistoryKind::Opened),
        ev(
            "a",
            at(12, 5, 9, 5),
            Some("alice"),
            HistoryKind::Assigned {
                from: None,
                to: Some("alice".into()),
            },
        ),
        ev(
            "a",
            at(12, 5, 9, 40),
            Some("alice"),
            replied(Some(40), true, true),
        ),
        ev(
            "a",
            at(12, 5, 10, 30),
            Some("bob"),
            replied(Some(30), false, true),
        ),
        ev("a", at(12, 5, 11, 0), Some("alice"), status(Open, Resolved)),
        ev("a", at(12, 6, 8, 0), None, HistoryKind::Opened),
        ev("a", at(12, 6, 8, 0), None, status(Resolved, Open)),
        ev(
            "a",
            at(12, 6, 8, 20),
            Some("alice"),
            replied(Some(20), true, true),
        ),
        ev("a", at(12, 6, 9, 0), Some("alice"), status(Open, Resolved)),
        ev("b", at(12, 6, 10, 0), None, HistoryKind::Opened),
        ev(
            "b",
            at(12, 6, 12, 0),
            Some("carol"),
            replied(Some(120), true, true),
        ),
        ev("e", at(12, 7, 8, 0), None, HistoryKind::Opened),
        ev(
            "e",
            at(12, 7, 8, 5),
            Some("bob"),
            HistoryKind::Labels {
                added: vec!["vip".into()],
                removed: vec![],
            },
        ),
        ev(
            "e",
            at(12, 7, 8, 10),
            Some("bob"),
            replied(Some(10), true, true),
        ),
    ];
    v.sort_by_key(|e| e.at);
    v
}

/// The store's conversations (A, B, D, E active in the history; C before).
pub fn conversations() -> Vec<Conversation> {
    let last = [
        ("a", at(12, 6, 9, 0)),
        ("b", at(12, 6, 12, 0)),
        ("c", at(11, 25, 15, 0)),
        ("d", at(12, 2, 10, 5)),
        ("e", at(12, 7, 8, 10)),
    ];
    last.into_iter()
        .map(|(u, t)| {
            let mut c = Conversation::new(conv(u), format!("Customer {u}"));
            c.last_activity = t;
            c
        })
        .collect()
}

/// The fixture's report.
pub fn report() -> super::Report {
    super::compute(params(), &events(), &conversations())
}
