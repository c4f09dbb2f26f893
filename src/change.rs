//! What happened, in dmdesk's terms: the one input of the apply path.
//! Webhooks and Graph sync both turn Meta's payloads into `Change`s.

use crate::domain::{ConvKey, Message, Mid, TimestampMs};

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
            | Change::ContactSeen { conv, .. } => Some(conv),
            Change::Notice { .. } | Change::Ignored { .. } => None,
        }
    }
}
