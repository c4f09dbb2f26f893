//! What happened, in dmdesk's terms: the one input of the apply path.
//! Webhooks and Graph sync turn Meta's payloads into `Change`s; the outbox
//! and the agents' actions are `Change`s too, so one atomic `apply` writes
//! every conversation, message, contact and outbox record.

use crate::domain::{
    check_conv, check_id, check_mid, check_timestamp, Contact, ConvKey, ConvStatus, Message, Mid,
    TimestampMs,
};
use crate::team::{AgentName, Note, Priority};

#[derive(Debug, Clone, PartialEq)]
pub enum Change {
    /// A new message from the customer, or an outbound one (echo or sync).
    /// `metadata` is what our Send API call carried (outbox correlation).
    Message {
        msg: Message,
        metadata: Option<String>,
        /// Whether this is a customer action that opens the 24 h window.
        qualifying: bool,
        /// Came through sync (history) rather than live.
        from_sync: bool,
    },
    /// Messenger delivery receipt: listed mids and/or everything up to the watermark.
    Delivery {
        conv: ConvKey,
        mids: Vec<Mid>,
        watermark: Option<TimestampMs>,
    },
    /// Read receipt: a watermark on Messenger, a mid on Instagram.
    Read {
        conv: ConvKey,
        watermark: Option<TimestampMs>,
        mid: Option<Mid>,
    },
    Reaction {
        conv: ConvKey,
        target: Mid,
        /// None on unreact.
        emoji: Option<String>,
        by: String,
        at: TimestampMs,
    },
    Edit {
        conv: ConvKey,
        mid: Mid,
        text: String,
        at: TimestampMs,
    },
    /// Instagram unsend.
    Delete {
        conv: ConvKey,
        mid: Mid,
        at: TimestampMs,
    },
    /// Thread control moved (handover protocol); `ours` = dmdesk's app now owns it.
    Handover {
        conv: ConvKey,
        standby: bool,
        at: TimestampMs,
    },
    /// A contact's name or profile seen in a payload (sync participants).
    ContactSeen {
        conv: ConvKey,
        name: Option<String>,
        username: Option<String>,
    },
    /// dmdesk queued a message: the outbox record and a pending message in
    /// the thread, before the Send API is called.
    OutboundQueued {
        id: String,
        conv: ConvKey,
        text: String,
        tag: Option<String>,
        agent: Option<String>,
        campaign: Option<String>,
        at: TimestampMs,
    },
    /// The Send API answered with Meta's mid (the echo may come first).
    OutboundSent { id: String, mid: Mid },
    /// The send failed (for good, or until it is retried).
    OutboundFailed { id: String, reason: String },
    /// A failed send goes back to pending for another attempt.
    OutboundRetry { id: String },
    /// An agent read the conversation (or marked it unread again).
    MarkRead { conv: ConvKey, read: bool },
    /// An agent (`by`; None: dmdesk, a snooze waking) set the status; a
    /// snooze carries its wake time. Recorded in the history when it changed.
    Status {
        conv: ConvKey,
        status: ConvStatus,
        snooze_until: Option<TimestampMs>,
        by: Option<AgentName>,
        at: TimestampMs,
    },
    /// Give the conversation to `to` (None: unassign), only if its assignee
    /// is still `expect` (what the actor saw): a compare-and-set, so of two
    /// agents taking it at once one wins and the other finds it in
    /// `Applied::assign_lost`. A previous assignee other than `by` is told
    /// (mailbox), and so is a new one other than `by`.
    Assign {
        conv: ConvKey,
        expect: Option<AgentName>,
        to: Option<AgentName>,
        by: Option<AgentName>,
        at: TimestampMs,
    },
    /// Add and remove labels (adding one it has, or removing one it lacks,
    /// changes nothing).
    Labels {
        conv: ConvKey,
        add: Vec<String>,
        remove: Vec<String>,
        by: Option<AgentName>,
        at: TimestampMs,
    },
    Priority {
        conv: ConvKey,
        priority: Priority,
        by: Option<AgentName>,
        at: TimestampMs,
    },
    /// A private note (its id from `Store::next_id`: applied twice, one
    /// note); each mentioned agent other than the author gets mail.
    Note(Box<Note>),
    /// A contact learned from the Graph API; its name goes to the
    /// conversation row.
    Contact(Box<Contact>),
    /// A profile fetch finished (None: it failed and counts as an attempt).
    Profile {
        conv: ConvKey,
        profile: Option<Box<Contact>>,
        at: TimestampMs,
    },
    /// Something for the operator, not tied to a message (policy enforcement).
    Notice { text: String },
    /// A known-but-unused or unknown kind: kept in the event log, counted.
    Ignored { kind: String },
}

impl Change {
    pub fn conv(&self) -> Option<&ConvKey> {
        match self {
            Change::Message { msg, .. } => Some(&msg.conv),
            Change::Delivery { conv, .. }
            | Change::Read { conv, .. }
            | Change::Reaction { conv, .. }
            | Change::Edit { conv, .. }
            | Change::Delete { conv, .. }
            | Change::Handover { conv, .. }
            | Change::ContactSeen { conv, .. }
            | Change::OutboundQueued { conv, .. }
            | Change::MarkRead { conv, .. }
            | Change::Status { conv, .. }
            | Change::Assign { conv, .. }
            | Change::Labels { conv, .. }
            | Change::Priority { conv, .. }
            | Change::Profile { conv, .. } => Some(conv),
            Change::Contact(c) => Some(&c.conv),
            Change::Note(n) => Some(&n.conv),
            Change::OutboundSent { .. }
            | Change::OutboundFailed { .. }
            | Change::OutboundRetry { .. }
            | Change::Notice { .. }
            | Change::Ignored { .. } => None,
        }
    }
}

/// Every id and timestamp a change carries, checked against `domain::bounds`.
pub fn check_change(c: &Change) -> Result<(), String> {
    if let Some(conv) = c.conv() {
        check_conv(conv)?;
    }
    let ts = |what: &str, t: &Option<TimestampMs>| t.map_or(Ok(()), |t| check_timestamp(what, t));
    match c {
        Change::Message { msg, .. } => {
            check_mid(&msg.mid)?;
            check_timestamp("timestamp", msg.timestamp)?;
            if let Some(r) = &msg.reply_to {
                check_mid(r)?;
            }
            for r in &msg.reactions {
                check_id("reacting id", &r.by)?;
            }
            Ok(())
        }
        Change::Delivery {
            mids, watermark, ..
        } => {
            mids.iter().try_for_each(check_mid)?;
            ts("watermark", watermark)
        }
        Change::Read { watermark, mid, .. } => {
            if let Some(m) = mid {
                check_mid(m)?;
            }
            ts("watermark", watermark)
        }
        Change::Reaction { target, by, at, .. } => {
            check_mid(target)?;
            check_id("reacting id", by)?;
            check_timestamp("timestamp", *at)
        }
        Change::Edit { mid, at, .. } | Change::Delete { mid, at, .. } => {
            check_mid(mid)?;
            check_timestamp("timestamp", *at)
        }
        Change::Handover { at, .. }
        | Change::OutboundQueued { at, .. }
        | Change::Profile { at, .. } => check_timestamp("timestamp", *at),
        Change::OutboundSent { mid, .. } => check_mid(mid),
        Change::Status {
            snooze_until, at, ..
        } => {
            check_timestamp("timestamp", *at)?;
            ts("snooze time", snooze_until)
        }
        Change::Assign { at, .. } | Change::Priority { at, .. } => {
            check_timestamp("timestamp", *at)
        }
        Change::Labels {
            add, remove, at, ..
        } => {
            add.iter().chain(remove).try_for_each(|l| check_label(l))?;
            check_timestamp("timestamp", *at)
        }
        Change::Note(n) => {
            if n.id.is_empty() || n.text.trim().is_empty() {
                return Err("a note needs an id and some text".into());
            }
            check_timestamp("timestamp", n.at)
        }
        Change::ContactSeen { .. }
        | Change::Contact(_)
        | Change::OutboundFailed { .. }
        | Change::OutboundRetry { .. }
        | Change::MarkRead { .. }
        | Change::Notice { .. }
        | Change::Ignored { .. } => Ok(()),
    }
}

/// A label is a short name without spaces or commas (it is typed after a
/// key and listed comma-separated).
pub fn check_label(l: &str) -> Result<(), String> {
    if l.is_empty() || l.chars().count() > 64 {
        return Err(format!("label `{l}`: 1 to 64 characters"));
    }
    if l.chars()
        .any(|c| c.is_whitespace() || c.is_control() || c == ',')
    {
        return Err(format!("label `{l}`: no spaces or commas"));
    }
    Ok(())
}

/// Keep the changes that pass [`check_change`]; each one dropped adds its
/// reason to `problems`.
pub fn keep_valid(changes: Vec<Change>, problems: &mut Vec<String>) -> Vec<Change> {
    changes
        .into_iter()
        .filter(|c| match check_change(c) {
            Ok(()) => true,
            Err(r) => {
                problems.push(r);
                false
            }
        })
        .collect()
}
