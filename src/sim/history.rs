//! A team's workflow history for `sim populate` and the report benchmark:
//! agents, assignments, labels, priorities, replies and status changes over
//! the last 45 days, in time order, with the conversations they belong to
//! (some last active before the history began, as in a store that had
//! dmdesk before the team features).
//!
//! The events are made here directly; once the store records history
//! through the apply path, `populate` feeds the same decisions in as
//! changes instead.

use super::ids::Ids;
use crate::domain::{ConvKey, ConvStatus, Conversation, Platform, TimestampMs};
use crate::team::{AgentName, HistoryEvent, HistoryKind, Priority};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

pub const AGENTS: [&str; 6] = ["alice", "bob", "carol", "dave", "erin", "frank"];
pub const LABELS: [&str; 5] = ["vip", "refund", "shipping", "wholesale", "bug"];

const MIN: i64 = 60_000;
const HOUR: i64 = 60 * MIN;
const DAY: i64 = 24 * HOUR;
/// How far back the history reaches.
pub const HISTORY_DAYS: i64 = 45;

pub struct SimHistory {
    /// In time order.
    pub events: Vec<HistoryEvent>,
    pub conversations: Vec<Conversation>,
    /// The first event's time.
    pub start: TimestampMs,
    /// Messages the history stands for (customer messages and replies).
    pub messages: u64,
}

/// A wait from a minute to a day, most of them under an hour.
fn wait(rng: &mut StdRng) -> i64 {
    let u: f64 = rng.random();
    (MIN as f64 * (1440f64).powf(u * u)) as i64
}

/// `conversations` conversations holding `messages` messages in all
/// (a message each at least, the rest skewed to a few busy ones), ending at
/// `now`. A tenth of the conversations predate the history.
pub fn generate(conversations: u64, messages: u64, seed: u64, now: TimestampMs) -> SimHistory {
    let mut rng = StdRng::seed_from_u64(seed);
    let ids = Ids::demo();
    let n = conversations as usize;
    let mut counts = vec![1u32; n];
    for _ in 0..messages.saturating_sub(conversations) {
        let u: f64 = rng.random();
        counts[((u * u) * n as f64) as usize % n.max(1)] += 1;
    }
    let start = now.0 - HISTORY_DAYS * DAY;
    let mut events = Vec::with_capacity(messages as usize);
    let mut convs = Vec::with_capacity(n);
    let by = |a: Option<&str>| a.map(AgentName::from);
    for (i, &count) in counts.iter().enumerate() {
        let platform = if i % 3 == 2 {
            Platform::Instagram
        } else {
            Platform::Messenger
        };
        let conv = ConvKey::new(platform, ids.account(platform), format!("9{i:015}"));
        let mut c = Conversation::new(conv.clone(), format!("Customer {i}"));
        if i % 10 == 9 {
            // Before the history: no events at all.
            c.last_activity = TimestampMs(start - rng.random_range(DAY..90 * DAY));
            convs.push(c);
            continue;
        }
        let ev = |at: i64, who: Option<AgentName>, kind| HistoryEvent {
            conv: conv.clone(),
            at: TimestampMs(at),
            by: who,
            kind,
        };
        // Spread the conversation's messages over up to a few days.
        let mut t = rng.random_range(start..now.0 - HOUR);
        let mut left = count;
        let mut assignee: Option<&str> = None;
        let mut priority = Priority::None;
        let mut status = ConvStatus::Open;
        while left > 0 && t < now.0 {
            // A session: the customer opens, an agent may take it, replies
            // alternate with customer messages, maybe it is resolved.
            events.push(ev(t, None, HistoryKind::Opened));
            if status == ConvStatus::Resolved {
                events.push(ev(
                    t,
                    None,
                    HistoryKind::Status {
                        from: ConvStatus::Resolved,
                        to: ConvStatus::Open,
                    },
                ));
                status = ConvStatus::Open;
            }
            left -= 1;
            if assignee.is_none() && rng.random_bool(0.7) {
                let to = AGENTS[rng.random_range(0..AGENTS.len())];
                t += rng.random_range(MIN..10 * MIN);
                events.push(ev(
                    t,
                    by(Some(to)),
                    HistoryKind::Assigned {
                        from: None,
                        to: by(Some(to)),
                    },
                ));
                assignee = Some(to);
            }
            if rng.random_bool(0.25) {
                let l = LABELS[rng.random_range(0..LABELS.len())];
                events.push(ev(
                    t,
                    by(assignee.or(Some(AGENTS[0]))),
                    HistoryKind::Labels {
                        added: vec![l.into()],
                        removed: vec![],
                    },
                ));
            }
            if rng.random_bool(0.1) {
                let to = Priority::ALL[rng.random_range(1..Priority::ALL.len())];
                events.push(ev(
                    t,
                    by(assignee),
                    HistoryKind::Priority { from: priority, to },
                ));
                priority = to;
            }
            let mut first = true;
            let mut waiting = Some(t);
            while left > 0 {
                if waiting.is_some() {
                    let w = wait(&mut rng);
                    t += w;
                    // A tenth of the replies come from Meta's page inbox;
                    // unassigned conversations are answered by anyone.
                    let who = if rng.random_bool(0.1) {
                        None
                    } else {
                        Some(assignee.unwrap_or(AGENTS[rng.random_range(0..AGENTS.len())]))
                    };
                    let waited = waiting.map(|since| t - since);
                    events.push(ev(
                        t,
                        by(who),
                        HistoryKind::Replied {
                            waited_ms: waited,
                            first,
                            in_window: waited.is_none_or(|w| w < DAY),
                        },
                    ));
                    first = false;
                    waiting = None;
                } else {
                    t += wait(&mut rng);
                    waiting = Some(t);
                }
                left -= 1;
                if waiting.is_none() && rng.random_bool(0.3) {
                    break;
                }
            }
            if rng.random_bool(0.7) {
                t += wait(&mut rng);
                events.push(ev(
                    t,
                    by(assignee.or(Some(AGENTS[1]))),
                    HistoryKind::Status {
                        from: status,
                        to: ConvStatus::Resolved,
                    },
                ));
                status = ConvStatus::Resolved;
            }
            t += rng.random_range(HOUR..5 * DAY);
        }
        c.last_activity = TimestampMs(t.min(now.0));
        c.status = status;
        c.assignee = by(assignee);
        c.priority = priority;
        convs.push(c);
    }
    // Events past `now` would be the future: drop them.
    events.retain(|e| e.at <= now);
    events.sort_by_key(|e| e.at);
    SimHistory {
        start: events.first().map_or(now, |e| e.at),
        events,
        conversations: convs,
        messages,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn history_is_in_time_order_and_has_every_kind() {
        let now = TimestampMs(1_800_000_000_000);
        let h = generate(300, 3000, 7, now);
        assert_eq!(h.conversations.len(), 300);
        assert!(h.events.windows(2).all(|w| w[0].at <= w[1].at));
        assert!(h.events.iter().all(|e| e.at <= now && e.at >= h.start));
        let has = |f: fn(&HistoryKind) -> bool| h.events.iter().any(|e| f(&e.kind));
        assert!(has(|k| matches!(k, HistoryKind::Opened)));
        assert!(has(|k| matches!(k, HistoryKind::Assigned { .. })));
        assert!(has(|k| matches!(k, HistoryKind::Labels { .. })));
        assert!(has(|k| matches!(k, HistoryKind::Priority { .. })));
        assert!(has(|k| matches!(
            k,
            HistoryKind::Replied { first: true, .. }
        )));
        assert!(has(|k| matches!(
            k,
            HistoryKind::Status {
                from: ConvStatus::Resolved,
                ..
            }
        )));
        assert!(h
            .events
            .iter()
            .any(|e| e.by.is_none() && matches!(e.kind, HistoryKind::Replied { .. })));
        let predating = h
            .conversations
            .iter()
            .filter(|c| c.last_activity < h.start)
            .count();
        assert_eq!(predating, 30);
        // The same seed, the same history.
        assert_eq!(generate(300, 3000, 7, now).events, h.events);
    }
}
