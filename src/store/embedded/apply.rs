//! The one apply path for webhooks, sync, the outbox and agents' actions:
//! idempotent, keyed by `mid`, one transaction per call (see `txn`).
//! Receipts, reactions and edits that arrive before their message are kept
//! in `deferred` and applied when it lands.

use super::team;
use super::txn::{insert_message, message_by_mid, messages_through, Txn, T};
use super::{decode, encode, keys, record, Result, SledStore};
use crate::change::Change;
use crate::domain::{Contact, ConvKey, Direction, Message, Mid, MsgStatus, TimestampMs};
use crate::meta::webhook::METADATA_PREFIX;
use crate::store::rules::{
    self, apply_deferred, count_new_message, merge_redelivery, status_from_watermarks, Deferred,
};
use crate::store::Applied;
use crate::update::Update;

impl SledStore {
    /// Apply changes in order, in one transaction. Safe to call again with
    /// the same changes.
    pub(super) fn apply_changes(&self, changes: &[Change]) -> Result<Applied> {
        let _guard = self.apply_lock.lock().unwrap_or_else(|e| e.into_inner());
        let mut txn = Txn::new(self);
        for ch in changes {
            apply_one(&mut txn, ch)?;
        }
        txn.commit()
    }
}

fn apply_one(txn: &mut Txn, ch: &Change) -> Result<()> {
    match ch {
        Change::Message {
            msg,
            metadata,
            qualifying,
            from_sync,
        } => apply_message(txn, msg, metadata.as_deref(), *qualifying, *from_sync),
        Change::Delivery {
            conv,
            mids,
            watermark,
        } => {
            for mid in mids {
                update_or_defer(txn, mid, Deferred::Status(MsgStatus::Delivered))?;
            }
            if let Some(w) = watermark {
                watermark_to(txn, conv, *w, MsgStatus::Delivered)?;
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
                match message_by_mid(txn, mid)? {
                    Some((_, m)) => watermark_to(txn, conv, m.timestamp, MsgStatus::Read)?,
                    None => defer(txn, mid, Deferred::Status(MsgStatus::Read))?,
                }
            }
            if let Some(w) = watermark {
                watermark_to(txn, conv, *w, MsgStatus::Read)?;
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
                // A reaction is a qualifying customer action (see rules::window).
                let c = txn.conv(conv)?;
                if c.last_inbound.is_none_or(|t| t < *at) {
                    c.last_inbound = Some(*at);
                }
            }
            let d = Deferred::React {
                emoji: emoji.clone(),
                by: by.clone(),
            };
            update_or_defer(txn, target, d)
        }
        Change::Edit { mid, text, .. } => update_or_defer(txn, mid, Deferred::Edit(text.clone())),
        Change::Delete { mid, .. } => update_or_defer(txn, mid, Deferred::Delete),
        Change::Handover { conv, standby, .. } => {
            txn.conv(conv)?.standby = *standby;
            Ok(())
        }
        Change::ContactSeen {
            conv,
            name,
            username,
        } => {
            txn.conv(conv)?;
            let mut contact = txn
                .contact(conv)?
                .unwrap_or_else(|| Contact::new(conv.clone(), "sync"));
            if rules::fill_seen(&mut contact, name, username) {
                put_contact(txn, &contact)?;
            }
            Ok(())
        }
        Change::OutboundQueued {
            id,
            conv,
            text,
            tag,
            agent,
            campaign,
            at,
        } => super::outbound::queued(txn, id, conv, text, tag, agent, campaign, *at),
        Change::OutboundSent { id, mid } => {
            if !super::outbound::resolve(txn, id, mid, MsgStatus::Sent)? {
                return Err(crate::store::StoreError::NotFound(format!(
                    "no outbox record {id}"
                )));
            }
            Ok(())
        }
        Change::OutboundFailed { id, reason } => super::outbound::failed(txn, id, reason),
        Change::OutboundRetry { id } => super::outbound::retry(txn, id),
        Change::MarkRead { conv, read } => {
            if let Some(c) = txn.existing_conv(conv)? {
                c.unread = if *read { 0 } else { c.unread.max(1) };
            }
            Ok(())
        }
        Change::Status {
            conv,
            status,
            snooze_until,
            by,
            at,
        } => {
            let Some(c) = txn.existing_conv(conv)? else {
                return Ok(());
            };
            let e = rules::set_status(c, *status, *snooze_until, by.clone(), *at);
            team::record(txn, e.into_iter().collect())
        }
        Change::Assign {
            conv,
            expect,
            to,
            by,
            at,
        } => {
            let Some(c) = txn.existing_conv(conv)? else {
                return Ok(());
            };
            match rules::assign(c, expect, to, by, *at) {
                Ok(r) => team::recorded(txn, r),
                Err(current) => {
                    txn.out.assign_lost.push((conv.clone(), current));
                    Ok(())
                }
            }
        }
        Change::Labels {
            conv,
            add,
            remove,
            by,
            at,
        } => {
            let Some(c) = txn.existing_conv(conv)? else {
                return Ok(());
            };
            let e = rules::labels(c, add, remove, by, *at);
            team::record(txn, e.into_iter().collect())
        }
        Change::Priority {
            conv,
            priority,
            by,
            at,
        } => {
            let Some(c) = txn.existing_conv(conv)? else {
                return Ok(());
            };
            let e = rules::priority(c, *priority, by, *at);
            team::record(txn, e.into_iter().collect())
        }
        Change::Note(n) => {
            if txn.existing_conv(&n.conv)?.is_none() {
                return Ok(());
            }
            team::note(txn, n)
        }
        Change::Contact(c) => put_contact(txn, c),
        Change::Profile { conv, profile, at } => {
            let mut c = txn
                .contact(conv)?
                .unwrap_or_else(|| Contact::new(conv.clone(), "profile"));
            rules::take_profile(&mut c, profile.as_deref(), *at);
            put_contact(txn, &c)
        }
        Change::Notice { text } => {
            tracing::warn!("{text}");
            txn.publish(Update::Notice(text.clone()));
            Ok(())
        }
        Change::Ignored { kind } => {
            tracing::debug!(kind, "event kind kept in the log only");
            Ok(())
        }
    }
}

/// Save a contact and carry its name to the conversation row, if any.
fn put_contact(txn: &mut Txn, c: &Contact) -> Result<()> {
    txn.put(T::Contacts, keys::conv(&c.conv), record::encode_compact(c));
    let named = crate::domain::Conversation::of_contact(c.conv.clone(), c);
    if let Some(conv) = txn.existing_conv(&c.conv)? {
        if (&conv.name, &conv.handle) != (&named.name, &named.handle) {
            (conv.name, conv.handle) = (named.name, named.handle);
        }
    }
    txn.publish(Update::Contact(Box::new(c.clone())));
    Ok(())
}

fn apply_message(
    txn: &mut Txn,
    msg: &Message,
    metadata: Option<&str>,
    qualifying: bool,
    from_sync: bool,
) -> Result<()> {
    // Our own send coming back: bind the outbox record to Meta's mid.
    if let Some(id) = metadata.and_then(|m| m.strip_prefix(METADATA_PREFIX)) {
        if super::outbound::resolve(txn, id, &msg.mid, MsgStatus::Sent)? {
            return Ok(());
        }
    }
    if let Some((key, mut existing)) = message_by_mid(txn, &msg.mid)? {
        // Duplicate delivery, replay, or sync overlap: merge, never duplicate.
        let changed = merge_redelivery(&mut existing, msg);
        if changed {
            txn.put(T::Messages, key, record::encode_message(&existing));
            // A redelivery may bring the content the row previews.
            refresh_preview(txn, &existing)?;
            txn.publish(Update::Message(Box::new(existing)));
        }
        return Ok(());
    }

    let conv = txn.conv(&msg.conv)?;
    let mut m = msg.clone();
    status_from_watermarks(&mut m, conv);
    for d in take_deferred(txn, &m.mid)? {
        apply_deferred(&mut m, d);
    }
    insert_message(txn, &m);
    txn.out.new_messages += 1;

    let conv = txn.conv(&msg.conv)?;
    let history = count_new_message(conv, &m, qualifying, from_sync);
    txn.publish(Update::Message(Box::new(m)));
    team::record(txn, history)
}

/// Move outbound messages at or before `w` to `status`.
fn watermark_to(txn: &mut Txn, conv: &ConvKey, w: TimestampMs, status: MsgStatus) -> Result<()> {
    let c = txn.conv(conv)?;
    let slot = match status {
        MsgStatus::Read => &mut c.read_watermark,
        _ => &mut c.delivered_watermark,
    };
    if slot.is_some_and(|old| old >= w) {
        return Ok(());
    }
    *slot = Some(w);
    let (start, end) = messages_through(conv, w);
    let mut moved = Vec::new();
    txn.scan_rev(T::Messages, &start, &end, |k, v| {
        let mut m = record::decode_message(k, v)?;
        if m.direction != Direction::Out || m.status < MsgStatus::Sent {
            return Ok(true);
        }
        if m.status >= status {
            return Ok(false); // everything older already moved with an earlier watermark
        }
        m.status = status;
        moved.push((k.to_vec(), m));
        Ok(true)
    })?;
    for (k, m) in moved {
        txn.put(T::Messages, k, record::encode_message(&m));
        txn.publish(Update::Message(Box::new(m)));
    }
    Ok(())
}

fn update_or_defer(txn: &mut Txn, mid: &Mid, d: Deferred) -> Result<()> {
    match message_by_mid(txn, mid)? {
        Some((key, mut m)) => {
            let before = m.clone();
            apply_deferred(&mut m, d);
            if m != before {
                if m.text != before.text {
                    txn.search.add(&m); // an edit: its new text is found
                }
                txn.put(T::Messages, key, record::encode_message(&m));
                refresh_preview(txn, &m)?;
                txn.publish(Update::Message(Box::new(m)));
            }
            Ok(())
        }
        None => defer(txn, mid, d),
    }
}

/// Keep the list preview in step with an edited or unsent last message.
fn refresh_preview(txn: &mut Txn, m: &Message) -> Result<()> {
    let preview = m.preview();
    let c = txn.conv(&m.conv)?;
    if rules::is_previewed(c, m) && c.last_preview != preview {
        c.last_preview = preview;
    }
    Ok(())
}

fn defer(txn: &mut Txn, mid: &Mid, d: Deferred) -> Result<()> {
    let mut list: Vec<Deferred> = match txn.get(T::Deferred, mid.as_str().as_bytes())? {
        Some(v) => decode(&v)?,
        None => vec![],
    };
    if !list.contains(&d) {
        list.push(d);
        txn.store.deferred_any_set();
        txn.put(T::Deferred, mid.as_str(), encode(&list));
    }
    Ok(())
}

fn take_deferred(txn: &mut Txn, mid: &Mid) -> Result<Vec<Deferred>> {
    if !txn.store.deferred_any() {
        return Ok(vec![]);
    }
    match txn.get(T::Deferred, mid.as_str().as_bytes())? {
        Some(v) => {
            txn.del(T::Deferred, mid.as_str());
            decode(&v)
        }
        None => Ok(vec![]),
    }
}
