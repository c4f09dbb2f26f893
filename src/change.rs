//! What happened, in dmdesk's terms: the one input of the apply path.
//! Webhooks and Graph sync turn Meta's payloads into `Change`s; the outbox
//! and the agents' actions are `Change`s too, so one atomic `apply` writes
//! every conversation, message, contact and outbox record.

use crate::domain::{Contact, ConvKey, ConvStatus, Message, Mid, TimestampMs};

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
    /// An agent set the status; a snooze carries its wake time.
    Status {
        conv: ConvKey,
        status: ConvStatus,
        snooze_until: Option<TimestampMs>,
    },
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
            | Change::Profile { conv, .. } => Some(conv),
            Change::Contact(c) => Some(&c.conv),
            Change::OutboundSent { .. }
            | Change::OutboundFailed { .. }
            | Change::OutboundRetry { .. }
            | Change::Notice { .. }
            | Change::Ignored { .. } => None,
        }
    }
}
