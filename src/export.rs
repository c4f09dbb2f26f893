//! `dmdesk export`: JSON Lines on stdout, one object a line, in store order.
//! The field names are a contract (design.md "Contracts" and "Decisions").

use crate::cli::ExportWhat;
use crate::db::Db;
use crate::domain::{Contact, Conversation, Message};
use crate::store::EventRecord;
use crate::team::Note;
use serde_json::{json, Value};
use std::io::Write;

pub fn message_json(m: &Message) -> Value {
    json!({
        "platform": m.conv.platform,
        "account_id": m.conv.account,
        "user_id": m.conv.user,
        "mid": m.mid,
        "direction": m.direction,
        "kind": m.kind,
        "text": m.text,
        "attachments": m.attachments.iter().map(|a| json!({"type": a.kind, "url": a.url, "title": a.title})).collect::<Vec<_>>(),
        "timestamp_ms": m.timestamp.0,
        "status": m.status,
        "reactions": m.reactions.iter().map(|r| json!({"emoji": r.emoji, "by": r.by})).collect::<Vec<_>>(),
        "deleted": m.deleted,
        "edited": m.edited,
        "unsupported": m.unsupported,
        "origin": m.origin,
        "reply_to": m.reply_to,
        "agent": m.agent,
        "tag": m.tag,
        "error": m.error,
    })
}

pub fn contact_json(c: &Contact) -> Value {
    json!({
        "platform": c.conv.platform,
        "account_id": c.conv.account,
        "user_id": c.conv.user,
        "name": c.display_name(),
        "first_name": c.first_name,
        "last_name": c.last_name,
        "username": c.username,
        "profile_pic": c.profile_pic,
        "profile_state": c.profile_state,
        "source": c.source,
    })
}

pub fn conversation_json(c: &Conversation) -> Value {
    json!({
        "platform": c.key.platform,
        "account_id": c.key.account,
        "user_id": c.key.user,
        "name": c.name,
        "last_inbound_ms": c.last_inbound.map(|t| t.0),
        "last_user_message_ms": c.last_user_message.map(|t| t.0),
        "last_activity_ms": c.last_activity.0,
        "unread": c.unread,
        "message_count": c.message_count,
        "status": c.status,
        "snooze_until_ms": c.snooze_until.map(|t| t.0),
        "standby": c.standby,
        "assignee": c.assignee,
        "labels": c.labels,
        "priority": c.priority,
    })
}

pub fn note_json(n: &Note) -> Value {
    json!({
        "platform": n.conv.platform,
        "account_id": n.conv.account,
        "user_id": n.conv.user,
        "id": n.id,
        "author": n.author,
        "text": n.text,
        "timestamp_ms": n.at.0,
        "mentions": n.mentions,
    })
}

pub fn event_json(e: &EventRecord) -> Value {
    json!({
        "seq": e.seq,
        "received_ms": e.received_ms,
        "state": e.state.name(),
        "reason": e.state.reason(),
        "body": String::from_utf8_lossy(&e.body),
    })
}

/// Write every record of one kind as JSON Lines.
pub fn export(store: &Db, what: ExportWhat, out: &mut dyn Write) -> Result<(), ExportError> {
    let mut line = |v: Value| -> Result<(), ExportError> {
        serde_json::to_writer(&mut *out, &v).map_err(|e| ExportError::Io(e.into()))?;
        out.write_all(b"\n")?;
        Ok(())
    };
    match what {
        ExportWhat::Messages => {
            for m in store.all_messages() {
                line(message_json(&m?))?;
            }
        }
        ExportWhat::Contacts => {
            for c in store.all_contacts() {
                line(contact_json(&c?))?;
            }
        }
        ExportWhat::Conversations => {
            for c in store.all_conversations() {
                line(conversation_json(&c?))?;
            }
        }
        ExportWhat::Events => {
            for e in store.all_events() {
                line(event_json(&e?))?;
            }
        }
        ExportWhat::Notes => {
            for n in store.all_notes() {
                line(note_json(&n?))?;
            }
        }
        ExportWhat::Campaigns => {
            for c in store.campaigns_export()? {
                line(serde_json::to_value(&c).map_err(|e| ExportError::Io(e.into()))?)?;
            }
        }
    }
    out.flush()?;
    Ok(())
}

#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error(transparent)]
    Io(#[from] std::io::Error),
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
}
