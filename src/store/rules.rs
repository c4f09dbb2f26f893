//! The apply rules every backend shares, as pure functions over a message
//! and its conversation's summary: a rule is written (and fixed) once, and
//! the backends only read and write what these decide.

use crate::domain::{ConvStatus, Conversation, Direction, Message, MsgKind, MsgStatus, Reaction};
use serde::{Deserialize, Serialize};

/// A receipt, reaction, edit or unsend kept until its message lands. Both
/// backends store it as JSON: the shape is part of their stored data.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub(crate) enum Deferred {
    Status(MsgStatus),
    React { emoji: Option<String>, by: String },
    Edit(String),
    Delete,
}

pub(crate) fn apply_deferred(m: &mut Message, d: Deferred) {
    match d {
        Deferred::Status(s) => {
            if m.direction == Direction::Out && m.status >= MsgStatus::Sent && s > m.status {
                m.status = s;
            }
        }
        Deferred::React { emoji, by } => {
            m.reactions.retain(|r| r.by != by);
            if let Some(emoji) = emoji {
                m.reactions.push(Reaction { emoji, by });
            }
        }
        Deferred::Edit(text) => {
            if !m.deleted && m.text.as_deref() != Some(text.as_str()) {
                m.text = Some(text);
                m.edited = true;
            }
        }
        Deferred::Delete => {
            // The customer unsent it: drop the content, keep the fact.
            m.deleted = true;
            m.text = None;
            m.attachments.clear();
        }
    }
}

/// A message delivered again (a duplicate webhook, a replay, sync overlap)
/// merged into the stored one, never duplicated: whether it changed.
pub(crate) fn merge_redelivery(existing: &mut Message, msg: &Message) -> bool {
    let mut changed = false;
    if existing.text.is_none() && msg.text.is_some() && !existing.deleted {
        existing.text = msg.text.clone();
        changed = true;
    }
    // An unsent message stays empty: a redelivery must not bring back
    // what the customer took away.
    if existing.attachments.is_empty() && !msg.attachments.is_empty() && !existing.deleted {
        existing.attachments = msg.attachments.clone();
        changed = true;
    }
    if existing.origin.is_none() && msg.origin.is_some() {
        existing.origin = msg.origin;
        changed = true;
    }
    if existing.direction == Direction::Out && existing.status < msg.status {
        existing.status = msg.status;
        changed = true;
    }
    changed
}

/// An outbound message arriving after a watermark that covers it starts
/// out delivered or read.
pub(crate) fn status_from_watermarks(m: &mut Message, conv: &Conversation) {
    if m.direction == Direction::Out && m.status >= MsgStatus::Sent {
        if conv.read_watermark.is_some_and(|w| m.timestamp <= w) {
            m.status = MsgStatus::Read;
        } else if conv.delivered_watermark.is_some_and(|w| m.timestamp <= w) {
            m.status = MsgStatus::Delivered;
        }
    }
}

/// A new message in the conversation's summary: count, preview, window
/// times, unread, and a customer's message reopening the thread.
pub(crate) fn count_new_message(
    conv: &mut Conversation,
    m: &Message,
    qualifying: bool,
    from_sync: bool,
) {
    conv.message_count += 1;
    if m.timestamp >= conv.last_activity {
        conv.last_activity = m.timestamp;
        conv.last_preview = m.preview();
        conv.last_direction = Some(m.direction);
    }
    if m.direction == Direction::In {
        if qualifying && conv.last_inbound.is_none_or(|t| t < m.timestamp) {
            conv.last_inbound = Some(m.timestamp);
        }
        if m.kind == MsgKind::Message && conv.last_user_message.is_none_or(|t| t < m.timestamp) {
            conv.last_user_message = Some(m.timestamp);
        }
        if !from_sync {
            conv.unread += 1;
            // A customer's new message reopens a snoozed or resolved thread.
            if matches!(conv.status, ConvStatus::Snoozed | ConvStatus::Resolved) {
                conv.status = ConvStatus::Open;
                conv.snooze_until = None;
            }
        }
    }
}
