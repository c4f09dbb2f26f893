//! The team's workflow as data: who a conversation belongs to, its labels
//! and priority, agents' private notes, and the history of those changes
//! that reports are computed from. Plain types; the store keeps them and
//! the apply path writes them.

pub mod views;

use crate::domain::{ConvKey, ConvStatus, TimestampMs};
use serde::{Deserialize, Serialize};

pub use crate::domain::{AgentName, Priority};
pub use views::ViewCounts;

/// A private note between agents: shown in the thread, never sent to Meta.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Note {
    /// Unique in the store (`Store::next_id`), so a note applied twice is one.
    pub id: String,
    pub conv: ConvKey,
    pub author: AgentName,
    pub text: String,
    pub at: TimestampMs,
    /// Agents named with `@name` in the text (they are notified).
    #[serde(default)]
    pub mentions: Vec<AgentName>,
}

/// One recorded change of a conversation's workflow state, or a moment the
/// reports measure (opened, replied). Who did it: None is the customer or
/// dmdesk itself (a snooze waking, a new conversation).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HistoryEvent {
    pub conv: ConvKey,
    pub at: TimestampMs,
    pub by: Option<AgentName>,
    pub kind: HistoryKind,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum HistoryKind {
    /// A customer message opened the conversation: the first one, or the
    /// first after it was resolved (the start of resolution time).
    Opened,
    Status {
        from: ConvStatus,
        to: ConvStatus,
    },
    Assigned {
        from: Option<AgentName>,
        to: Option<AgentName>,
    },
    Labels {
        added: Vec<String>,
        removed: Vec<String>,
    },
    Priority {
        from: Priority,
        to: Priority,
    },
    /// An agent's reply (not a campaign's message). `waited_ms`: from the
    /// customer's first unanswered message to this reply (None: nothing was
    /// waiting); `first`: the first reply since the conversation was opened;
    /// `in_window`: sent inside the 24-hour window.
    Replied {
        waited_ms: Option<i64>,
        first: bool,
        in_window: bool,
    },
}

/// Which history events a report reads (`Store::report_history`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReportRead {
    /// Openings and status changes only (when conversations were opened:
    /// the context before the report's days).
    Openings,
    /// Those and replies: what the report counts.
    Counted,
}

impl ReportRead {
    pub fn admits(self, kind: &HistoryKind) -> bool {
        match kind {
            HistoryKind::Opened | HistoryKind::Status { .. } => true,
            HistoryKind::Replied { .. } => self == ReportRead::Counted,
            HistoryKind::Assigned { .. }
            | HistoryKind::Labels { .. }
            | HistoryKind::Priority { .. } => false,
        }
    }
}

impl HistoryEvent {
    /// The one dim line the thread shows for it ("alice assigned bob").
    pub fn describe(&self) -> String {
        let who = self
            .by
            .as_ref()
            .map(|a| a.as_str().to_string())
            .unwrap_or_else(|| "customer".into());
        let or_none = |a: &Option<AgentName>| {
            a.as_ref()
                .map(|a| a.as_str().to_string())
                .unwrap_or_else(|| "nobody".into())
        };
        match &self.kind {
            HistoryKind::Opened => "conversation opened".into(),
            HistoryKind::Status { from, to } => {
                let who = self.by.as_ref().map_or("dmdesk", |a| a.as_str());
                format!("{who} changed status {} → {}", from.as_str(), to.as_str())
            }
            HistoryKind::Assigned { from, to } => {
                format!("{who} assigned {} → {}", or_none(from), or_none(to))
            }
            HistoryKind::Labels { added, removed } => {
                let mut parts = Vec::new();
                if !added.is_empty() {
                    parts.push(format!("+{}", added.join(" +")));
                }
                if !removed.is_empty() {
                    parts.push(format!("-{}", removed.join(" -")));
                }
                format!("{who} labels {}", parts.join(" "))
            }
            HistoryKind::Priority { from, to } => {
                format!("{who} priority {from} → {to}")
            }
            HistoryKind::Replied { .. } => format!("{who} replied"),
        }
    }
}

/// Whether `name` is an agent: in `[team] agents` or a Unix user here.
pub fn is_known_agent(name: &AgentName, configured: &[AgentName]) -> bool {
    configured.contains(name)
        || nix::unistd::User::from_name(name.as_str())
            .ok()
            .flatten()
            .is_some()
}

/// Agents named with `@name` in a note's text, in order, each once. A name
/// is letters, digits, `_`, `-` and `.` (a trailing `.` ends the sentence,
/// not the name).
pub fn mentions_in(text: &str) -> Vec<AgentName> {
    let mut out: Vec<AgentName> = Vec::new();
    let mut rest = text;
    while let Some(i) = rest.find('@') {
        // An address (`bob@example.com`) is not a mention.
        let after_word = rest[..i]
            .chars()
            .next_back()
            .is_some_and(|c| c.is_alphanumeric());
        rest = &rest[i + 1..];
        let end = rest
            .find(|c: char| !(c.is_alphanumeric() || matches!(c, '_' | '-' | '.')))
            .unwrap_or(rest.len());
        let name = rest[..end].trim_end_matches('.');
        if !after_word && !name.is_empty() && !out.iter().any(|a| a.as_str() == name) {
            out.push(AgentName::new(name));
        }
        rest = &rest[end..];
    }
    out
}

/// Something an agent should see the next time they look, kept until their
/// UI acknowledges it (an agent who is offline gets it on attach).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MailItem {
    /// Unique per agent: acknowledging names it.
    pub id: String,
    /// Whom it is for.
    pub agent: AgentName,
    pub conv: ConvKey,
    pub at: TimestampMs,
    /// Who caused it.
    pub by: Option<AgentName>,
    pub kind: MailKind,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum MailKind {
    /// `@agent` in a note.
    Mention { note_id: String, text: String },
    /// The agent's conversation went to someone else (`to`; None: unassigned).
    TakenOver { to: Option<AgentName> },
    /// Someone else assigned the conversation to this agent.
    Assigned,
}

impl MailItem {
    /// One line for the status bar or the mailbox list.
    pub fn describe(&self) -> String {
        let who = self.by.as_ref().map_or("dmdesk", |a| a.as_str());
        match &self.kind {
            MailKind::Mention { text, .. } => format!("{who} mentioned you: {text}"),
            MailKind::TakenOver { to: Some(to) } if Some(to) == self.by.as_ref() => {
                format!("{who} took over your conversation")
            }
            MailKind::TakenOver { to: Some(to) } => {
                format!("{who} handed your conversation to {to}")
            }
            MailKind::TakenOver { to: None } => format!("{who} unassigned your conversation"),
            MailKind::Assigned => format!("{who} assigned a conversation to you"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Platform;

    #[test]
    fn priority_orders_from_none_to_urgent_and_round_trips_its_name() {
        assert!(Priority::Urgent > Priority::High && Priority::Low > Priority::None);
        for p in Priority::ALL {
            assert_eq!(Priority::parse(p.as_str()), Some(p));
            assert_eq!(serde_json::to_value(p).unwrap(), p.as_str());
        }
        assert_eq!(Priority::parse("critical"), None);
    }

    #[test]
    fn mentions_are_at_names_each_once_and_not_addresses() {
        let names = |t: &str| -> Vec<String> { mentions_in(t).into_iter().map(|a| a.0).collect() };
        assert_eq!(
            names("@bob see this, @carol.x. and @bob again"),
            ["bob", "carol.x"]
        );
        assert_eq!(
            names("mail bob@example.com or @ alone"),
            Vec::<String>::new()
        );
        assert_eq!(names("(@dana)"), ["dana"]);
    }

    #[test]
    fn history_lines_name_who_and_from_to() {
        let ev = |by: Option<&str>, kind| HistoryEvent {
            conv: ConvKey::new(Platform::Messenger, "P", "U"),
            at: TimestampMs(0),
            by: by.map(AgentName::from),
            kind,
        };
        assert_eq!(
            ev(
                Some("alice"),
                HistoryKind::Assigned {
                    from: None,
                    to: Some("bob".into())
                }
            )
            .describe(),
            "alice assigned nobody → bob"
        );
        assert_eq!(
            ev(
                None,
                HistoryKind::Status {
                    from: ConvStatus::Snoozed,
                    to: ConvStatus::Open
                }
            )
            .describe(),
            "dmdesk changed status snoozed → open"
        );
        assert_eq!(
            ev(
                Some("bob"),
                HistoryKind::Labels {
                    added: vec!["vip".into(), "refund".into()],
                    removed: vec!["new".into()]
                }
            )
            .describe(),
            "bob labels +vip +refund -new"
        );
    }
}
