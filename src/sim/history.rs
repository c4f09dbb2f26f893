//! A team's workflow history for `sim populate` and the report benchmark:
//! agents, assignments, labels, priorities, replies and status changes over
//! the last 45 days, with the conversations they belong to (some last
//! active before the history began, as in a store that had dmdesk before
//! the team features).
//!
//! `plan` makes the decisions once, as steps per conversation; `populate`
//! applies them as changes (so the store records the history itself) and
//! `generate` folds them into the events the store would record, for the
//! in-memory report benchmark.

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

/// One thing that happens in a conversation, in time order.
#[derive(Debug, Clone, PartialEq)]
pub enum Step {
    /// A customer's message; `opens` starts a session.
    Customer {
        at: i64,
        opens: bool,
    },
    /// An agent's reply (None: from Meta's page inbox).
    Reply {
        at: i64,
        by: Option<AgentName>,
    },
    Assign {
        at: i64,
        to: AgentName,
    },
    Label {
        at: i64,
        by: AgentName,
        label: String,
    },
    Priority {
        at: i64,
        by: Option<AgentName>,
        to: Priority,
    },
    Resolve {
        at: i64,
        by: AgentName,
    },
}

impl Step {
    pub fn at(&self) -> i64 {
        match self {
            Step::Customer { at, .. }
            | Step::Reply { at, .. }
            | Step::Assign { at, .. }
            | Step::Label { at, .. }
            | Step::Priority { at, .. }
            | Step::Resolve { at, .. } => *at,
        }
    }

    fn set_at(&mut self, t: i64) {
        match self {
            Step::Customer { at, .. }
            | Step::Reply { at, .. }
            | Step::Assign { at, .. }
            | Step::Label { at, .. }
            | Step::Priority { at, .. }
            | Step::Resolve { at, .. } => *at = t,
        }
    }

    fn is_message(&self) -> bool {
        matches!(self, Step::Customer { .. } | Step::Reply { .. })
    }
}

/// A conversation's steps. `predating`: its messages are from before the
/// history (synced, no events); they alternate customer / reply.
pub struct ConvPlan {
    pub key: ConvKey,
    pub predating: bool,
    pub steps: Vec<Step>,
}

pub struct Plan {
    pub convs: Vec<ConvPlan>,
    /// The history's earliest possible time (`now` - HISTORY_DAYS).
    pub start: TimestampMs,
}

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

/// `conversations` conversations holding exactly `messages` messages in all
/// (a message each at least, the rest skewed to a few busy ones), ending by
/// `now`. A tenth of the conversations predate the history. `run` goes into
/// the customers' ids, so two runs into one store do not collide.
pub fn plan(conversations: u64, messages: u64, seed: u64, run: u32, now: TimestampMs) -> Plan {
    let mut rng = StdRng::seed_from_u64(seed);
    let ids = Ids::demo();
    let n = conversations as usize;
    let mut counts = vec![1u32; n];
    for _ in 0..messages.saturating_sub(conversations) {
        let u: f64 = rng.random();
        counts[((u * u) * n as f64) as usize % n.max(1)] += 1;
    }
    let start = now.0 - HISTORY_DAYS * DAY;
    let mut convs = Vec::with_capacity(n);
    let by = AgentName::from;
    for (i, &count) in counts.iter().enumerate() {
        let platform = if i % 3 == 2 {
            Platform::Instagram
        } else {
            Platform::Messenger
        };
        let key = ConvKey::new(
            platform,
            ids.account(platform),
            format!("9{:05}{i:010}", run % 100_000),
        );
        let mut steps = Vec::new();
        if i % 10 == 9 {
            // Before the history: synced messages, no events.
            let mut t = start - rng.random_range(DAY..90 * DAY) - i64::from(count) * MIN;
            for j in 0..count {
                t += rng.random_range(1..MIN);
                steps.push(if j % 2 == 0 {
                    Step::Customer {
                        at: t,
                        opens: false,
                    }
                } else {
                    Step::Reply { at: t, by: None }
                });
            }
            convs.push(ConvPlan {
                key,
                predating: true,
                steps,
            });
            continue;
        }
        // Spread the conversation's messages over up to a few days.
        let mut t = rng.random_range(start..now.0 - HOUR);
        let mut left = count;
        let mut assignee: Option<&str> = None;
        while left > 0 {
            // A session: the customer opens, an agent may take it, replies
            // alternate with customer messages, maybe it is resolved.
            steps.push(Step::Customer { at: t, opens: true });
            left -= 1;
            if assignee.is_none() && rng.random_bool(0.7) {
                let to = AGENTS[rng.random_range(0..AGENTS.len())];
                t += rng.random_range(MIN..10 * MIN);
                steps.push(Step::Assign { at: t, to: by(to) });
                assignee = Some(to);
            }
            if rng.random_bool(0.25) {
                let l = LABELS[rng.random_range(0..LABELS.len())];
                steps.push(Step::Label {
                    at: t,
                    by: by(assignee.unwrap_or(AGENTS[0])),
                    label: l.into(),
                });
            }
            if rng.random_bool(0.1) {
                let to = Priority::ALL[rng.random_range(1..Priority::ALL.len())];
                steps.push(Step::Priority {
                    at: t,
                    by: assignee.map(by),
                    to,
                });
            }
            let mut waiting = true;
            while left > 0 {
                if waiting {
                    t += wait(&mut rng);
                    // A tenth of the replies come from Meta's page inbox;
                    // unassigned conversations are answered by anyone.
                    let who = if rng.random_bool(0.1) {
                        None
                    } else {
                        Some(by(
                            assignee.unwrap_or(AGENTS[rng.random_range(0..AGENTS.len())])
                        ))
                    };
                    steps.push(Step::Reply { at: t, by: who });
                    waiting = false;
                } else {
                    t += wait(&mut rng);
                    steps.push(Step::Customer {
                        at: t,
                        opens: false,
                    });
                    waiting = true;
                }
                left -= 1;
                if !waiting && rng.random_bool(0.3) {
                    break;
                }
            }
            if rng.random_bool(0.7) {
                t += wait(&mut rng);
                steps.push(Step::Resolve {
                    at: t,
                    by: by(assignee.unwrap_or(AGENTS[1])),
                });
            }
            t += rng.random_range(HOUR..5 * DAY);
        }
        fit_before(&mut steps, now.0);
        convs.push(ConvPlan {
            key,
            predating: false,
            steps,
        });
    }
    Plan {
        convs,
        start: TimestampMs(start),
    }
}

/// Steps past `now` would be the future: the other kinds are dropped, the
/// messages (whose count is promised) are spread, in order, between the
/// last step before `now` and `now`.
fn fit_before(steps: &mut Vec<Step>, now: i64) {
    let Some(cut) = steps.iter().position(|s| s.at() > now) else {
        return;
    };
    let last = steps[..cut].last().map_or(now - HOUR, Step::at);
    let mut late: Vec<Step> = steps.drain(cut..).filter(Step::is_message).collect();
    let gap = (now - last) / (late.len() as i64 + 1);
    for (k, s) in late.iter_mut().enumerate() {
        s.set_at((last + gap.max(1) * (k as i64 + 1)).min(now));
    }
    steps.extend(late);
}

/// The events the store records for `plan`'s steps (its rules: a session's
/// opening message opens it and reopens a resolved one; a reply answers the
/// customer's waiting message), and the conversations as they end up.
pub fn generate(conversations: u64, messages: u64, seed: u64, now: TimestampMs) -> SimHistory {
    let plan = plan(conversations, messages, seed, 0, now);
    let mut events = Vec::with_capacity(messages as usize);
    let mut convs = Vec::with_capacity(plan.convs.len());
    for (i, p) in plan.convs.into_iter().enumerate() {
        let mut c = Conversation::new(p.key.clone(), format!("Customer {i}"));
        c.last_activity = TimestampMs(p.steps.last().map_or(plan.start.0, Step::at));
        if p.predating {
            convs.push(c);
            continue;
        }
        let conv = p.key;
        let ev = |at: i64, by: Option<AgentName>, kind| HistoryEvent {
            conv: conv.clone(),
            at: TimestampMs(at),
            by,
            kind,
        };
        let (mut status, mut priority) = (ConvStatus::Open, Priority::None);
        let mut assignee: Option<AgentName> = None;
        let mut waiting: Option<i64> = None;
        let mut first = false;
        let mut last_in = 0i64;
        let mut opened = false;
        let mut labels: Vec<String> = Vec::new();
        for s in p.steps {
            match s {
                Step::Customer { at, opens } => {
                    if opens && (!opened || status == ConvStatus::Resolved) {
                        opened = true;
                        events.push(ev(at, None, HistoryKind::Opened));
                        if status == ConvStatus::Resolved {
                            events.push(ev(
                                at,
                                None,
                                HistoryKind::Status {
                                    from: ConvStatus::Resolved,
                                    to: ConvStatus::Open,
                                },
                            ));
                            status = ConvStatus::Open;
                        }
                        first = true;
                    }
                    waiting = waiting.or(Some(at));
                    last_in = at;
                }
                Step::Reply { at, by } => {
                    let waited = waiting.take().map(|since| (at - since).max(0));
                    events.push(ev(
                        at,
                        by,
                        HistoryKind::Replied {
                            waited_ms: waited,
                            first: std::mem::take(&mut first),
                            in_window: at - last_in < DAY,
                        },
                    ));
                }
                Step::Assign { at, to } => {
                    events.push(ev(
                        at,
                        Some(to.clone()),
                        HistoryKind::Assigned {
                            from: assignee.take(),
                            to: Some(to.clone()),
                        },
                    ));
                    assignee = Some(to);
                }
                Step::Label { at, by, label } => {
                    // Adding a label it has changes nothing.
                    if !labels.contains(&label) {
                        labels.push(label.clone());
                        events.push(ev(
                            at,
                            Some(by),
                            HistoryKind::Labels {
                                added: vec![label],
                                removed: vec![],
                            },
                        ));
                    }
                }
                Step::Priority { at, by, to } if to != priority => {
                    events.push(ev(at, by, HistoryKind::Priority { from: priority, to }));
                    priority = to;
                }
                Step::Priority { .. } => {}
                Step::Resolve { at, by } => {
                    events.push(ev(
                        at,
                        Some(by),
                        HistoryKind::Status {
                            from: status,
                            to: ConvStatus::Resolved,
                        },
                    ));
                    status = ConvStatus::Resolved;
                    waiting = None;
                    first = false;
                }
            }
        }
        c.status = status;
        c.assignee = assignee;
        c.priority = priority;
        convs.push(c);
    }
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
