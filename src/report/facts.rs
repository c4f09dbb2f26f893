//! Report facts: what one history event adds to a report, its duration
//! already computed (a resolution's time from its opening, however long
//! before). The store records them at apply time, keyed by the event's
//! time, so a report reads only the facts of the days it shows (as
//! helpdesks keep "reporting events"); medians and p90s stay exact
//! because they come from the same samples.

use crate::domain::{AccountId, ConvKey, ConvStatus, Platform, TimestampMs};
use crate::team::{AgentName, HistoryEvent, HistoryKind};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Fact {
    pub at: TimestampMs,
    /// The page it counts for.
    pub platform: Platform,
    pub account: AccountId,
    /// The agent it counts for (openings belong to no agent).
    pub by: Option<AgentName>,
    pub kind: FactKind,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum FactKind {
    /// A customer message opened the conversation.
    Opened,
    /// Resolved; `took_ms`: since it was (re)opened (None: its opening is
    /// not in the history).
    Resolved { took_ms: Option<i64> },
    /// An agent's reply; `first_response_ms`: the wait it ended, when it
    /// was the first reply since the conversation opened.
    Replied {
        in_window: bool,
        first_response_ms: Option<i64>,
    },
}

/// Follows the conversations' openings through the history in time
/// order, so a resolution knows when it began.
#[derive(Default)]
pub struct Openings {
    opened_at: HashMap<ConvKey, i64>,
}

impl Openings {
    /// The fact `ev` makes, if it makes one (events in time order).
    pub fn fact(&mut self, ev: &HistoryEvent) -> Option<Fact> {
        let t = ev.at.0;
        let kind = match &ev.kind {
            HistoryKind::Opened => {
                self.opened_at.insert(ev.conv.clone(), t);
                FactKind::Opened
            }
            // An agent reopening a resolved conversation starts it again.
            HistoryKind::Status {
                from: ConvStatus::Resolved,
                to,
            } if *to != ConvStatus::Resolved => {
                self.opened_at.insert(ev.conv.clone(), t);
                return None;
            }
            HistoryKind::Status {
                to: ConvStatus::Resolved,
                ..
            } => FactKind::Resolved {
                took_ms: self.opened_at.remove(&ev.conv).map(|o| t - o),
            },
            HistoryKind::Replied { .. } => return replied(ev),
            _ => return None,
        };
        Some(of(ev, kind))
    }
}

fn of(ev: &HistoryEvent, kind: FactKind) -> Fact {
    Fact {
        at: ev.at,
        platform: ev.conv.platform,
        account: ev.conv.account.clone(),
        by: ev.by.clone(),
        kind,
    }
}

/// An opening's or a reply's fact: it needs nothing before it (None for
/// every other kind).
pub fn standalone(ev: &HistoryEvent) -> Option<Fact> {
    match ev.kind {
        HistoryKind::Opened => Some(of(ev, FactKind::Opened)),
        HistoryKind::Replied { .. } => replied(ev),
        _ => None,
    }
}

fn replied(ev: &HistoryEvent) -> Option<Fact> {
    let HistoryKind::Replied {
        waited_ms,
        first,
        in_window,
    } = ev.kind
    else {
        return None;
    };
    Some(of(
        ev,
        FactKind::Replied {
            in_window,
            first_response_ms: waited_ms.filter(|_| first).map(|w| w.max(0)),
        },
    ))
}

/// Whether a resolution's time can depend on this event (an opening or a
/// status change), so one arriving out of time order recomputes its
/// conversation's facts.
pub fn moves_openings(kind: &HistoryKind) -> bool {
    matches!(kind, HistoryKind::Opened | HistoryKind::Status { .. })
}

/// One conversation's facts from its whole history in time order: each
/// with the index of the event it comes from.
pub fn of_conversation<'a>(
    history: impl IntoIterator<Item = &'a HistoryEvent>,
) -> Vec<(usize, Fact)> {
    let mut o = Openings::default();
    history
        .into_iter()
        .enumerate()
        .filter_map(|(i, e)| o.fact(e).map(|f| (i, f)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::fixture;

    #[test]
    fn per_conversation_facts_are_the_facts_of_the_whole_history() {
        let events = fixture::events();
        let mut all = Openings::default();
        let whole: Vec<Fact> = events.iter().filter_map(|e| all.fact(e)).collect();
        let mut by_conv: Vec<Fact> = Vec::new();
        let mut convs: Vec<&ConvKey> = events.iter().map(|e| &e.conv).collect();
        convs.sort();
        convs.dedup();
        for c in convs {
            let mine: Vec<&HistoryEvent> = events.iter().filter(|e| &e.conv == c).collect();
            by_conv.extend(
                of_conversation(mine.iter().copied())
                    .into_iter()
                    .map(|(_, f)| f),
            );
        }
        by_conv.sort_by_key(|f| f.at);
        let mut sorted = whole.clone();
        sorted.sort_by_key(|f| f.at);
        assert_eq!(by_conv, sorted);
        // A's first resolution: opened 12-05 09:00, resolved 11:00.
        assert!(whole.contains(&Fact {
            at: fixture::at(12, 5, 11, 0),
            platform: Platform::Messenger,
            account: AccountId("111".into()),
            by: Some(AgentName::from("alice")),
            kind: FactKind::Resolved {
                took_ms: Some(2 * 3_600_000)
            },
        }));
        // Openings and replies need nothing before them.
        for e in &events {
            if !moves_openings(&e.kind) || matches!(e.kind, HistoryKind::Opened) {
                assert_eq!(standalone(e), Openings::default().fact(e), "{e:?}");
            }
        }
    }
}
