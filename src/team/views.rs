//! The list's team views side by side: how many conversations are mine,
//! unassigned, and everyone's, counted in one pass.

use crate::domain::Conversation;
use crate::filter::{AssigneeFilter, ConvFilter};
use crate::team::AgentName;
use serde::{Deserialize, Serialize};

/// The three views' sizes under one filter (its assignee part aside).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ViewCounts {
    /// Assigned to the asker (0 when who asks is not known).
    pub mine: u64,
    pub unassigned: u64,
    pub all: u64,
}

impl ViewCounts {
    /// Counts `rows` that match `filter` with any assignee, in one pass.
    pub fn tally<C: std::borrow::Borrow<Conversation>>(
        me: Option<&AgentName>,
        filter: &ConvFilter,
        rows: impl IntoIterator<Item = C>,
    ) -> ViewCounts {
        let filter = any_assignee(filter);
        let mut n = ViewCounts::default();
        for c in rows {
            let c = c.borrow();
            if filter.matches(c) {
                n.count(me, c);
            }
        }
        n
    }

    /// Counts one row that matched.
    pub fn count(&mut self, me: Option<&AgentName>, c: &Conversation) {
        self.all += 1;
        match c.assignee.as_ref() {
            None => self.unassigned += 1,
            Some(a) if Some(a) == me => self.mine += 1,
            Some(_) => {}
        }
    }
}

/// `filter` without its assignee condition (the three views replace it).
pub fn any_assignee(filter: &ConvFilter) -> ConvFilter {
    ConvFilter {
        assignee: AssigneeFilter::Any,
        ..filter.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{ConvKey, ConvStatus, Platform, TimestampMs};
    use crate::filter::View;

    fn row(user: &str, assignee: Option<&str>, status: ConvStatus) -> Conversation {
        let mut c = Conversation::new(ConvKey::new(Platform::Messenger, "P1", user), user.into());
        c.assignee = assignee.map(AgentName::new);
        c.status = status;
        c
    }

    #[test]
    fn one_pass_counts_mine_unassigned_and_all_under_the_rest_of_the_filter() {
        let rows = [
            row("U1", Some("alice"), ConvStatus::Open),
            row("U2", Some("bob"), ConvStatus::Open),
            row("U3", None, ConvStatus::Open),
            row("U4", Some("alice"), ConvStatus::Resolved),
        ];
        let alice = AgentName::new("alice");
        let all = ConvFilter {
            assignee: AssigneeFilter::Unassigned, // set aside
            ..ConvFilter::default()
        };
        let n = ViewCounts::tally(Some(&alice), &all, &rows);
        assert_eq!((n.mine, n.unassigned, n.all), (2, 1, 4));
        let open = ConvFilter {
            view: View::Open { at: TimestampMs(5) },
            ..ConvFilter::default()
        };
        let n = ViewCounts::tally(Some(&alice), &open, &rows);
        assert_eq!((n.mine, n.unassigned, n.all), (1, 1, 3));
        assert_eq!(ViewCounts::tally(None, &open, &rows).mine, 0);
    }
}
