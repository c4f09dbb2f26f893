//! The team's requests to the inbox and its answers: assignment (a
//! compare-and-set: the loser is told who won), labels, priority, notes,
//! and the agent's mail (mentions, takeovers), also what waited offline.

use super::status::info;
use crate::app::command::Command;
use crate::app::state::*;
use crate::domain::{ConvKey, Conversation};
use crate::request::{AssignTo, Assigned, Request};
use crate::team::{AgentName, MailItem, Priority};

/// What a team key asks the inbox for.
pub(super) enum Ask {
    /// Give it to an agent (None: nobody), if it is still whose it was.
    Assign(Conversation, Option<AgentName>),
    /// Add (true) or remove (false) a label.
    Label(Conversation, String, bool),
    Priority(Conversation, Priority),
    Note(ConvKey, String),
}

pub(super) fn ask(s: &mut State, a: Ask, out: &mut Vec<Command>) {
    let r = match a {
        Ask::Assign(c, to) => {
            let me = s.opts.me.as_deref();
            let target = match &to {
                Some(a) if Some(a.as_str()) == me => AssignTo::Me,
                Some(a) => AssignTo::Agent(a.clone()),
                None => AssignTo::Nobody,
            };
            Request::Assign {
                conv: c.key,
                to: target,
                expect: c.assignee,
            }
        }
        Ask::Label(c, l, add) => {
            let (add, remove) = if add {
                (vec![l], vec![])
            } else {
                (vec![], vec![l])
            };
            Request::Labels {
                conv: c.key,
                add,
                remove,
            }
        }
        Ask::Priority(c, priority) => Request::SetPriority {
            conv: c.key,
            priority,
        },
        Ask::Note(conv, text) => Request::Note { conv, text },
    };
    out.push(Command::Inbox(r));
}

/// How an assignment went: the status bar says so, naming whose it was
/// or, when another agent was first, who won.
pub(super) fn assigned(s: &mut State, a: Assigned) {
    let name = match &a {
        Assigned::Done { conv, .. } | Assigned::Taken { conv, .. } => {
            crate::app::names::of_key(s, conv)
        }
    };
    let me = s.opts.me.clone();
    let is_me = |a: &AgentName| Some(a.as_str()) == me.as_deref();
    let (level, msg) = match a {
        Assigned::Done { from, to, .. } => {
            let msg = match (&from, &to) {
                (Some(f), Some(t)) if is_me(t) && !is_me(f) => {
                    format!("{name}: taken over — it was {f}'s")
                }
                (_, Some(t)) if is_me(t) => format!("{name}: assigned to you"),
                (Some(f), Some(t)) => format!("{name}: assigned to {t} (was {f}'s)"),
                (None, Some(t)) => format!("{name}: assigned to {t}"),
                (Some(f), None) => format!("{name}: unassigned (was {f}'s)"),
                (None, None) => format!("{name}: unassigned"),
            };
            (Level::Info, msg)
        }
        Assigned::Taken { current, .. } => {
            let msg = match current {
                Some(c) if is_me(&c) => format!("{name}: already yours"),
                Some(c) => format!("{name}: {c} took it first — it is {c}'s now"),
                None => format!("{name}: someone unassigned it first — nothing changed"),
            };
            (Level::Error, msg)
        }
    };
    info(s, level, &msg);
}

/// Mail for this agent (live, or waiting since it was offline): shown on
/// the status bar and in the notices log, then acknowledged.
pub(super) fn mail(s: &mut State, items: Vec<MailItem>, out: &mut Vec<Command>) {
    let me = s.opts.me.clone();
    let mine: Vec<MailItem> = items
        .into_iter()
        .filter(|m| Some(m.agent.as_str()) == me.as_deref())
        .collect();
    if mine.is_empty() {
        return;
    }
    let lines: Vec<String> = mine
        .iter()
        .map(|m| {
            format!(
                "{}: {}",
                crate::app::names::of_key(s, &m.conv),
                m.describe()
            )
        })
        .collect();
    for l in &lines {
        info(s, Level::Info, l);
    }
    if mine.len() > 1 {
        let last = lines.last().cloned().unwrap_or_default();
        let msg = format!("{} for you (L lists them) · {last}", mine.len());
        info(s, Level::Info, &msg);
    }
    out.push(Command::Inbox(Request::MailAck {
        ids: mine.into_iter().map(|m| m.id).collect(),
    }));
}

/// Ask for the mail that waited while this agent was away.
pub(super) fn load_mailbox() -> Command {
    Command::Inbox(Request::Mailbox)
}
