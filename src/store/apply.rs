//! The one apply path for webhooks and sync: idempotent, keyed by `mid`.
//! Receipts, reactions and edits that arrive before their message are kept
//! in `deferred` and applied when it lands.

use super::{decode, encode, keys, Result, Store, Update};
use crate::change::Change;
use crate::domain::{
    Contact, ConvKey, ConvStatus, Conversation, Direction, Message, Mid, MsgKind, MsgStatus,
    Reaction, TimestampMs,
};
use crate::meta::webhook::METADATA_PREFIX;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;

/// What an apply produced beyond the store writes.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct ApplyCtx {
    /// Conversations whose contact is new and needs a profile fetch.
    pub new_contacts: Vec<ConvKey>,
    /// Messages that were new to the store.
    pub new_messages: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
enum Deferred {
    Status(MsgStatus),
    React { emoji: Option<String>, by: String },
    Edit(String),
    Delete,
}

/// Conversation summaries touched by one `apply` call, written once at the
/// end: a sync page of 20 messages per thread costs one summary write, not 20.
#[derive(Default)]
pub(crate) struct Txn {
    convs: HashMap<ConvKey, Slot>,
}

struct Slot {
    conv: Conversation,
    /// The activity the row is indexed under in `conv_by_activity`, if any.
    indexed: Option<TimestampMs>,
    dirty: bool,
}

impl Store {
    /// Apply changes in order. Safe to call again with the same changes.
    pub fn apply(&self, changes: &[Change]) -> Result<ApplyCtx> {
        let _guard = self.apply_lock.lock().unwrap_or_else(|e| e.into_inner());
        let mut out = ApplyCtx::default();
        let mut txn = Txn::default();
        for ch in changes {
            self.apply_one(ch, &mut txn, &mut out)?;
        }
        self.commit(txn)?;
        Ok(out)
    }

    /// The conversation inside this apply, created with its contact if new.
    pub(crate) fn txn_conv<'t>(
        &self,
        txn: &'t mut Txn,
        key: &ConvKey,
        out: &mut ApplyCtx,
    ) -> Result<&'t mut Conversation> {
        use std::collections::hash_map::Entry;
        let slot = match txn.convs.entry(key.clone()) {
            Entry::Occupied(e) => e.into_mut(),
            Entry::Vacant(v) => {
                let slot = match self.conversation(key)? {
                    Some(c) => Slot {
                        indexed: Some(c.last_activity),
                        conv: c,
                        dirty: false,
                    },
                    None => Slot {
                        conv: self.new_conv(key, out)?,
                        indexed: None,
                        dirty: true,
                    },
                };
                v.insert(slot)
            }
        };
        slot.dirty = true;
        Ok(&mut slot.conv)
    }

    pub(crate) fn commit(&self, txn: Txn) -> Result<()> {
        for slot in txn.convs.into_values().filter(|s| s.dirty) {
            self.put_conv_indexed(&slot.conv, slot.indexed)?;
        }
        Ok(())
    }

    fn apply_one(&self, ch: &Change, txn: &mut Txn, out: &mut ApplyCtx) -> Result<()> {
        match ch {
            Change::Message {
                msg,
                metadata,
                qualifying,
                from_sync,
            } => self.apply_message(msg, metadata.as_deref(), *qualifying, *from_sync, txn, out),
            Change::Delivery {
                conv,
                mids,
                watermark,
            } => {
                for mid in mids {
                    self.update_or_defer(mid, Deferred::Status(MsgStatus::Delivered), txn)?;
                }
                if let Some(w) = watermark {
                    self.watermark(conv, *w, MsgStatus::Delivered, txn, out)?;
                }
                Ok(())
            }
            Change::Read {
                conv,
                watermark,
                mid,
            } => {
                if let Some(mid) = mid {
                    // Instagram: "seen" names one message; everything before it is seen too.
                    match self.message_by_mid(mid)? {
                        Some((_, m)) => {
                            self.watermark(conv, m.timestamp, MsgStatus::Read, txn, out)?
                        }
                        None => self.defer(mid, Deferred::Status(MsgStatus::Read))?,
                    }
                }
                if let Some(w) = watermark {
                    self.watermark(conv, *w, MsgStatus::Read, txn, out)?;
                }
                Ok(())
            }
            Change::Reaction {
                conv,
                target,
                emoji,
                by,
                at,
            } => {
                if by == conv.user.as_str() {
                    // A reaction is a qualifying customer action (see send::window).
                    let c = self.txn_conv(txn, conv, out)?;
                    if c.last_inbound.is_none_or(|t| t < *at) {
                        c.last_inbound = Some(*at);
                    }
                }
                let d = Deferred::React {
                    emoji: emoji.clone(),
                    by: by.clone(),
                };
                self.update_or_defer(target, d, txn)
            }
            Change::Edit { mid, text, .. } => {
                self.update_or_defer(mid, Deferred::Edit(text.clone()), txn)
            }
            Change::Delete { mid, .. } => self.update_or_defer(mid, Deferred::Delete, txn),
            Change::Handover { conv, standby, .. } => {
                self.txn_conv(txn, conv, out)?.standby = *standby;
                Ok(())
            }
            Change::ContactSeen {
                conv,
                name,
                username,
            } => {
                self.txn_conv(txn, conv, out)?;
                let mut contact = self
                    .contact(conv)?
                    .unwrap_or_else(|| Contact::new(conv.clone(), "sync"));
                let mut changed = false;
                if contact.name.is_none() && name.is_some() {
                    contact.name = name.clone();
                    changed = true;
                }
                if contact.username.is_none() && username.is_some() {
                    contact.username = username.clone();
                    changed = true;
                }
                if changed {
                    self.put_contact_raw(&contact)?;
                    self.txn_conv(txn, conv, out)?.name = contact.display_name();
                    self.publish(Update::Contact(Box::new(contact)));
                }
                Ok(())
            }
            Change::Notice { text } => {
                tracing::warn!("{text}");
                self.publish(Update::Notice(text.clone()));
                Ok(())
            }
            Change::Ignored { kind } => {
                tracing::debug!(kind, "event kind kept in the log only");
                Ok(())
            }
        }
    }

    fn apply_message(
        &self,
        msg: &Message,
        metadata: Option<&str>,
        qualifying: bool,
        from_sync: bool,
        txn: &mut Txn,
        out: &mut ApplyCtx,
    ) -> Result<()> {
        // Our own send coming back: bind the outbox record to Meta's mid.
        if let Some(id) = metadata.and_then(|m| m.strip_prefix(METADATA_PREFIX)) {
            if self.resolve_outbound(id, &msg.mid, MsgStatus::Sent)? {
                return Ok(());
            }
        }
        // One write claims the mid and says whether it was known (dedupe
        // without a separate read: sync applies many new messages).
        let key = keys::message(&msg.conv, msg.timestamp, &msg.mid);
        let known = match self.mid_index.insert(msg.mid.as_str(), key.as_slice())? {
            Some(old) => {
                if old != key {
                    self.mid_index.insert(msg.mid.as_str(), old.clone())?;
                }
                match self.messages.get(&old)? {
                    Some(v) => Some((old, decode::<Message>(&v)?)),
                    None => {
                        self.mid_index.insert(msg.mid.as_str(), key.as_slice())?;
                        None
                    }
                }
            }
            None => None,
        };
        if let Some((key, mut existing)) = known {
            // Duplicate delivery, replay, or sync overlap: merge, never duplicate.
            let mut changed = false;
            if existing.text.is_none() && msg.text.is_some() && !existing.deleted {
                existing.text = msg.text.clone();
                changed = true;
            }
            if existing.attachments.is_empty() && !msg.attachments.is_empty() {
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
            if changed {
                self.messages.insert(key, encode(&existing))?;
                self.publish(Update::Message(Box::new(existing)));
            }
            return Ok(());
        }

        let conv = self.txn_conv(txn, &msg.conv, out)?;
        let mut m = msg.clone();
        if m.direction == Direction::Out && m.status >= MsgStatus::Sent {
            if conv.read_watermark.is_some_and(|w| m.timestamp <= w) {
                m.status = MsgStatus::Read;
            } else if conv.delivered_watermark.is_some_and(|w| m.timestamp <= w) {
                m.status = MsgStatus::Delivered;
            }
        }
        for d in self.take_deferred(&m.mid)? {
            apply_deferred(&mut m, d);
        }
        self.messages.insert(&key, encode(&m))?; // mid_index already points here
        out.new_messages += 1;

        let conv = self.txn_conv(txn, &msg.conv, out)?;
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
            if m.kind == MsgKind::Message && conv.last_user_message.is_none_or(|t| t < m.timestamp)
            {
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
        self.publish(Update::Message(Box::new(m)));
        Ok(())
    }

    /// Move outbound messages at or before `w` to `status`.
    fn watermark(
        &self,
        conv: &ConvKey,
        w: TimestampMs,
        status: MsgStatus,
        txn: &mut Txn,
        out: &mut ApplyCtx,
    ) -> Result<()> {
        let c = self.txn_conv(txn, conv, out)?;
        let slot = match status {
            MsgStatus::Read => &mut c.read_watermark,
            _ => &mut c.delivered_watermark,
        };
        if slot.is_some_and(|old| old >= w) {
            return Ok(());
        }
        *slot = Some(w);
        let prefix = keys::conv(conv);
        let end = keys::message(conv, w.plus_ms(1), &Mid::default());
        for r in self.messages.range(prefix.clone()..end).rev() {
            let (k, v) = r?;
            let mut m: Message = decode(&v)?;
            if m.direction != Direction::Out || m.status < MsgStatus::Sent {
                continue;
            }
            if m.status >= status {
                break; // everything older already moved with an earlier watermark
            }
            m.status = status;
            self.messages.insert(k, encode(&m))?;
            self.publish(Update::Message(Box::new(m)));
        }
        Ok(())
    }

    fn update_or_defer(&self, mid: &Mid, d: Deferred, txn: &mut Txn) -> Result<()> {
        match self.message_by_mid(mid)? {
            Some((key, mut m)) => {
                let before = m.clone();
                apply_deferred(&mut m, d);
                if m != before {
                    self.messages.insert(key, encode(&m))?;
                    self.refresh_preview(&m, txn)?;
                    self.publish(Update::Message(Box::new(m)));
                }
                Ok(())
            }
            None => self.defer(mid, d),
        }
    }

    /// Keep the list preview in step with an edited or unsent last message.
    fn refresh_preview(&self, m: &Message, txn: &mut Txn) -> Result<()> {
        let preview = m.preview();
        let c = self.txn_conv(txn, &m.conv, &mut ApplyCtx::default())?;
        if c.last_activity == m.timestamp && c.last_preview != preview {
            c.last_preview = preview;
        }
        Ok(())
    }

    fn defer(&self, mid: &Mid, d: Deferred) -> Result<()> {
        let mut list: Vec<Deferred> = match self.deferred.get(mid.as_str())? {
            Some(v) => decode(&v)?,
            None => vec![],
        };
        if !list.contains(&d) {
            list.push(d);
            self.deferred_any
                .store(true, std::sync::atomic::Ordering::Release);
            self.deferred.insert(mid.as_str(), encode(&list))?;
        }
        Ok(())
    }

    fn take_deferred(&self, mid: &Mid) -> Result<Vec<Deferred>> {
        if !self.deferred_any.load(std::sync::atomic::Ordering::Acquire) {
            return Ok(vec![]);
        }
        match self.deferred.remove(mid.as_str())? {
            Some(v) => decode(&v),
            None => Ok(vec![]),
        }
    }

    // ---- record helpers -------------------------------------------------

    pub(crate) fn message_by_mid(&self, mid: &Mid) -> Result<Option<(sled::IVec, Message)>> {
        let Some(key) = self.mid_index.get(mid.as_str())? else {
            return Ok(None);
        };
        match self.messages.get(&key)? {
            Some(v) => Ok(Some((key, decode(&v)?))),
            None => Ok(None),
        }
    }

    pub(crate) fn insert_message(&self, m: &Message) -> Result<()> {
        let key = keys::message(&m.conv, m.timestamp, &m.mid);
        self.messages.insert(&key, encode(m))?;
        self.mid_index.insert(m.mid.as_str(), key)?;
        Ok(())
    }

    pub(crate) fn remove_message(&self, m: &Message) -> Result<()> {
        self.messages
            .remove(keys::message(&m.conv, m.timestamp, &m.mid))?;
        self.mid_index.remove(m.mid.as_str())?;
        Ok(())
    }

    pub(crate) fn replace_message(&self, key: &[u8], m: &Message) -> Result<()> {
        self.messages.insert(key, encode(m))?;
        Ok(())
    }

    /// A new conversation (and contact, if none): counted, not yet written.
    fn new_conv(&self, key: &ConvKey, out: &mut ApplyCtx) -> Result<Conversation> {
        let contact = match self.contact(key)? {
            Some(c) => c,
            None => {
                let c = Contact::new(key.clone(), "webhook");
                self.put_contact_raw(&c)?;
                out.new_contacts.push(key.clone());
                self.publish(Update::Contact(Box::new(c.clone())));
                c
            }
        };
        let n: u64 = self.meta_get("conv_count")?.unwrap_or(0);
        self.meta_put("conv_count", &(n + 1))?;
        Ok(Conversation::new(key.clone(), contact.display_name()))
    }

    /// Write a conversation summary, looking up where it is indexed.
    pub(crate) fn put_conv(&self, c: &Conversation) -> Result<()> {
        let prev = self
            .conversations
            .get(keys::conv(&c.key))?
            .map(|v| decode::<Conversation>(&v))
            .transpose()?
            .map(|p| p.last_activity);
        self.put_conv_indexed(c, prev)
    }

    /// Write a conversation summary and keep the activity index in step;
    /// `prev_activity` is what the row is indexed under now (None: not yet).
    fn put_conv_indexed(&self, c: &Conversation, prev_activity: Option<TimestampMs>) -> Result<()> {
        let ck = keys::conv(&c.key);
        if prev_activity != Some(c.last_activity) {
            if let Some(t) = prev_activity {
                self.by_activity.remove(keys::activity(t, &c.key))?;
            }
        }
        self.by_activity
            .insert(keys::activity(c.last_activity, &c.key), &[])?;
        self.conversations.insert(ck, encode(c))?;
        self.publish(Update::Conversation(Box::new(c.clone())));
        Ok(())
    }

    pub(crate) fn put_contact_raw(&self, c: &Contact) -> Result<()> {
        self.contacts.insert(keys::conv(&c.conv), encode(c))?;
        Ok(())
    }

    /// Save a contact and carry its name to the conversation row.
    pub fn put_contact(&self, c: &Contact) -> Result<()> {
        self.put_contact_raw(c)?;
        if let Some(mut conv) = self.conversation(&c.conv)? {
            let name = c.display_name();
            if conv.name != name {
                conv.name = name;
                self.put_conv(&conv)?;
            }
        }
        self.publish(Update::Contact(Box::new(c.clone())));
        Ok(())
    }
}

fn apply_deferred(m: &mut Message, d: Deferred) {
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
