//! Which conversations a list shows: a plain value the UI builds and every
//! store backend applies the same way.

use crate::domain::{AgentName, ConvStatus, Conversation, Platform, TimestampMs};

/// A named slice of the inbox that the list switches between (`f`). Views
/// by assignee or label are more variants here; `matches` is their one rule.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum View {
    /// Everything (export and the command line).
    #[default]
    All,
    /// Open and pending, and snoozed ones whose time has come by `at` (the
    /// list stamps `at` on every load, so a snooze wakes without a write).
    Open {
        at: TimestampMs,
    },
    Resolved,
    /// Snoozed and still asleep at `at`.
    Snoozed {
        at: TimestampMs,
    },
}

impl View {
    pub fn name(self) -> &'static str {
        match self {
            View::All => "all",
            View::Open { .. } => "open",
            View::Resolved => "resolved",
            View::Snoozed { .. } => "snoozed",
        }
    }

    /// The view after this one in the list's cycle (open first).
    pub fn next(self, now: TimestampMs) -> View {
        match self {
            View::Open { .. } => View::Resolved,
            View::Resolved => View::Snoozed { at: now },
            View::Snoozed { .. } => View::All,
            View::All => View::Open { at: now },
        }
    }

    /// The same view judged at `now`.
    pub fn at(self, now: TimestampMs) -> View {
        match self {
            View::Open { .. } => View::Open { at: now },
            View::Snoozed { .. } => View::Snoozed { at: now },
            v => v,
        }
    }

    pub fn matches(self, c: &Conversation) -> bool {
        // A snooze without a time sleeps until someone reopens it.
        let awake = |at: TimestampMs| c.snooze_until.is_some_and(|t| t <= at);
        match (self, c.status) {
            (View::All, _) => true,
            (View::Open { .. }, ConvStatus::Open | ConvStatus::Pending) => true,
            (View::Open { at }, ConvStatus::Snoozed) => awake(at),
            (View::Resolved, ConvStatus::Resolved) => true,
            (View::Snoozed { at }, ConvStatus::Snoozed) => !awake(at),
            _ => false,
        }
    }
}

/// Whose conversations the list shows (the team's views).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AssigneeFilter {
    /// Everyone's and nobody's.
    #[default]
    Any,
    /// Assigned to this agent (the UI passes its own name: "mine").
    Mine(AgentName),
    /// Assigned to nobody.
    Unassigned,
}

impl AssigneeFilter {
    pub fn matches(&self, assignee: Option<&AgentName>) -> bool {
        match self {
            AssigneeFilter::Any => true,
            AssigneeFilter::Mine(me) => assignee == Some(me),
            AssigneeFilter::Unassigned => assignee.is_none(),
        }
    }
}

/// The list's order.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ListOrder {
    /// Latest activity first.
    #[default]
    Activity,
    /// Most urgent priority first, then latest activity, then by key.
    Priority,
}

/// What the list pane shows (the `/` filter).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ConvFilter {
    /// Case-insensitive match on the name or the last message.
    pub text: Option<String>,
    pub unread_only: bool,
    pub platform: Option<Platform>,
    /// Only conversations whose 24 h window is open at this time.
    pub window_open_at: Option<TimestampMs>,
    pub status: Option<ConvStatus>,
    #[serde(default)]
    pub view: View,
    #[serde(default)]
    pub assignee: AssigneeFilter,
    /// Only conversations carrying this label.
    #[serde(default)]
    pub label: Option<String>,
    /// How the rows are ordered (which rows match does not depend on it).
    #[serde(default)]
    pub order: ListOrder,
}

impl ConvFilter {
    /// No condition: every conversation matches (in whatever order).
    pub fn is_empty(&self) -> bool {
        ConvFilter {
            order: ListOrder::Activity,
            ..self.clone()
        } == ConvFilter::default()
    }

    /// No filter besides the view.
    pub fn has_only_view(&self) -> bool {
        ConvFilter {
            view: View::All,
            ..self.clone()
        }
        .is_empty()
    }

    /// The same filter with its view judged at `now` (the list stamps every
    /// load, so a snooze that has run out shows in the open view).
    pub fn at(&self, now: TimestampMs) -> ConvFilter {
        ConvFilter {
            view: self.view.at(now),
            ..self.clone()
        }
    }

    /// The same filter without its team conditions (assignee, label): what
    /// is left when a backend has applied those itself.
    pub fn without_team(&self) -> ConvFilter {
        ConvFilter {
            assignee: AssigneeFilter::Any,
            label: None,
            ..self.clone()
        }
    }

    pub fn matches(&self, c: &Conversation) -> bool {
        if !self.view.matches(c) {
            return false;
        }
        if !self.assignee.matches(c.assignee.as_ref()) {
            return false;
        }
        if self.label.as_ref().is_some_and(|l| !c.labels.contains(l)) {
            return false;
        }
        if self.unread_only && c.unread == 0 {
            return false;
        }
        if self.platform.is_some_and(|p| p != c.key.platform) {
            return false;
        }
        if self.status.is_some_and(|s| s != c.status) {
            return false;
        }
        if let Some(now) = self.window_open_at {
            if c.last_inbound
                .is_none_or(|t| now.0 - t.0 >= TimestampMs::DAY)
            {
                return false;
            }
        }
        if let Some(q) = self.text.as_deref().filter(|q| !q.is_empty()) {
            let q = q.to_lowercase();
            if !c.name.to_lowercase().contains(&q)
                && !c.last_preview.to_lowercase().contains(&q)
                && !c.key.user.as_str().contains(&q)
            {
                return false;
            }
        }
        true
    }
}
