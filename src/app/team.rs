//! The team's workflow as the UI holds it: who the agents are, which labels
//! exist, the list's order, and the picker that assigns, labels and sets a
//! priority with completion. Plain values; `update/team.rs` changes them.

use crate::domain::{ConvKey, Conversation, TimestampMs};
use crate::team::{AgentName, Note, Priority};
use std::collections::{BTreeMap, BTreeSet};

/// The list's order: last activity, or priority then activity (both the
/// store's, `filter::ListOrder`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Sort {
    #[default]
    Activity,
    Priority,
}

impl Sort {
    pub fn name(self) -> &'static str {
        match self {
            Sort::Activity => "by activity",
            Sort::Priority => "by priority",
        }
    }
}

/// What the composer writes: a reply to the customer, or a private note
/// for the team (never sent to Meta).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum ComposeMode {
    #[default]
    Reply,
    Note,
}

/// What a picker chooses, and for which conversation (named when it
/// opened, so a list reload underneath cannot change its target).
#[derive(Debug, Clone, PartialEq)]
pub enum PickKind {
    Assign(Box<Conversation>),
    Label(Box<Conversation>),
    Priority(Box<Conversation>),
    /// The list's label filter.
    LabelFilter,
}

/// A small list with a typed filter (completion).
#[derive(Debug, Clone, PartialEq)]
pub struct Picker {
    pub kind: PickKind,
    pub query: String,
    pub options: Vec<String>,
    /// Index into `matches()`.
    pub selected: usize,
    /// What is typed may be new (a label, an agent not seen yet): it is
    /// offered after the options it completes to, so enter takes a
    /// completion and a new name is one ↓ away.
    pub free_form: bool,
}

/// The label filter's entry that clears it.
pub const ANY_LABEL: &str = "(any label)";

impl Picker {
    pub fn new(kind: PickKind, options: Vec<String>) -> Picker {
        Picker {
            kind,
            query: String::new(),
            options,
            selected: 0,
            free_form: false,
        }
    }

    /// The options the query matches: those starting with it first, then
    /// those containing it (case-insensitive).
    pub fn matches(&self) -> Vec<&str> {
        let q = self.query.to_lowercase();
        let (mut first, mut then) = (Vec::new(), Vec::new());
        for o in &self.options {
            let l = o.to_lowercase();
            if l.starts_with(&q) {
                first.push(o.as_str());
            } else if l.contains(&q) {
                then.push(o.as_str());
            }
        }
        first.extend(then);
        let q = self.query.trim();
        if self.free_form && !q.is_empty() && !self.options.iter().any(|o| o == q) {
            first.push(q);
        }
        first
    }

    /// The option under the cursor, if any matches.
    pub fn current(&self) -> Option<&str> {
        let m = self.matches();
        m.get(self.selected.min(m.len().saturating_sub(1))).copied()
    }

    /// What the picker is about, for its title.
    /// Its title, naming the conversation as `who` does (src/app/names.rs).
    pub fn title(&self, who: impl Fn(&Conversation) -> String) -> String {
        match &self.kind {
            PickKind::Assign(c) => format!("Assign {} to", who(c)),
            PickKind::Label(c) => format!("Label {} (enter adds/removes)", who(c)),
            PickKind::Priority(c) => format!("Priority of {}", who(c)),
            PickKind::LabelFilter => "Show only the label".to_string(),
        }
    }
}

/// What the UI knows of the team.
#[derive(Debug, Clone, Default)]
pub struct TeamState {
    /// Agents seen (assignees, note authors, viewers), besides `[team] agents`.
    pub known_agents: BTreeSet<AgentName>,
    /// Labels seen on conversations, besides `[labels]`.
    pub labels_seen: BTreeSet<String>,
    /// Assigned conversations seen and whose they are (the bell asks).
    pub assignees: BTreeMap<ConvKey, AgentName>,
    /// A reply being written when the composer turned to a note: it comes
    /// back when the note is done.
    pub reply_stash: Option<String>,
    /// Half-written notes of conversations the agent left, by conversation
    /// (in memory only: the draft store holds one reply text, no mode).
    pub notes_aside: BTreeMap<ConvKey, String>,
    /// The open view's sizes by whose, for the list's title.
    pub counts: CountsLoad,
}

/// How many open conversations are mine, unassigned, and in all.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ViewCounts {
    pub mine: u64,
    pub unassigned: u64,
    pub all: u64,
}

/// The view counts shown, and when to read them again: after a change
/// that may move them, at most every `COUNTS_EVERY_MS`, one at a time
/// (each is a scan, and a list load behind it would wait).
#[derive(Debug, Clone, Default)]
pub struct CountsLoad {
    pub shown: Option<ViewCounts>,
    /// Nothing changed since `shown` was read (false at start).
    pub fresh: bool,
    /// When the last request went out, and whether it is still unanswered.
    pub asked_at: Option<TimestampMs>,
    pub waiting: bool,
}

/// The shortest time between two view counts.
pub const COUNTS_EVERY_MS: i64 = 5_000;
/// An unanswered count is given up after this (its answer was an error).
const COUNTS_LOST_MS: i64 = 60_000;

impl CountsLoad {
    /// Whether to ask now.
    pub fn due(&self, now: TimestampMs) -> bool {
        let since = |ms| self.asked_at.is_none_or(|t| now.0 - t.0 >= ms);
        !self.fresh && since(COUNTS_EVERY_MS) && (!self.waiting || since(COUNTS_LOST_MS))
    }

    pub fn asked(&mut self, now: TimestampMs) {
        self.fresh = true;
        self.waiting = true;
        self.asked_at = Some(now);
    }

    pub fn answered(&mut self, counts: ViewCounts) {
        self.shown = Some(counts);
        self.waiting = false;
    }
}

impl TeamState {
    /// Remember what a conversation says about the team.
    pub fn saw(&mut self, c: &Conversation) {
        match &c.assignee {
            Some(a) => {
                self.known_agents.insert(a.clone());
                self.assignees.insert(c.key.clone(), a.clone());
            }
            None => {
                self.assignees.remove(&c.key);
            }
        }
        for l in &c.labels {
            if !self.labels_seen.contains(l) {
                self.labels_seen.insert(l.clone());
            }
        }
    }

    pub fn saw_note(&mut self, n: &Note) {
        self.known_agents.insert(n.author.clone());
    }

    /// Whom a conversation can go to (and whom a note can mention):
    /// `[team] agents`, this agent, then agents seen at work.
    pub fn agents(&self, configured: &[AgentName], me: Option<&str>) -> Vec<AgentName> {
        let mut v = configured.to_vec();
        let me = me.map(AgentName::new);
        for a in me.into_iter().chain(self.known_agents.iter().cloned()) {
            if !v.contains(&a) {
                v.push(a);
            }
        }
        v
    }
}

/// The short form of an agent's name for a list row ("alice" → "alice",
/// "alexander" → "alexan…" at 6).
pub fn short_agent(a: &AgentName, max: usize) -> String {
    crate::text::truncate(a.as_str(), max)
}

/// A priority's mark in the list: nothing for none.
pub fn priority_mark(p: Priority) -> &'static str {
    match p {
        Priority::None => "",
        Priority::Low => "▿low",
        Priority::Medium => "▵med",
        Priority::High => "▲high",
        Priority::Urgent => "‼urgent",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_picker_completes_prefixes_first_then_substrings() {
        let mut p = Picker::new(
            PickKind::LabelFilter,
            vec!["refund".into(), "vip".into(), "prefund".into()],
        );
        p.query = "ref".into();
        assert_eq!(p.matches(), ["refund", "prefund"]);
        assert_eq!(p.current(), Some("refund"));
        p.selected = 9;
        assert_eq!(p.current(), Some("prefund"), "clamped to the last match");
        p.query = "zzz".into();
        assert_eq!(p.current(), None);
        // A label may be new: offered after the completions.
        p.free_form = true;
        assert_eq!(p.matches(), ["zzz"]);
        p.query = "ref".into();
        assert_eq!(p.matches(), ["refund", "prefund", "ref"]);
        p.query = "vip".into();
        assert_eq!(p.matches(), ["vip"], "an existing one is not offered twice");
    }
}
