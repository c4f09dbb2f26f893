//! Apply's steps for outbound messages written by dmdesk: the outbox record
//! comes first, then the Send API call. The echo (metadata `dmdesk:<id>`) or
//! the API answer, whichever comes first, binds the record to Meta's mid;
//! the other is a no-op.

use super::txn::{insert_message, message_by_mid, remove_message, Txn, T};
use super::{decode, record, Result};
use crate::domain::{ConvKey, Direction, Message, Mid, MsgStatus, Origin, TimestampMs};
use crate::store::{OutboxRecord, OutboxState, StoreError};
use crate::update::Update;

fn get(txn: &Txn, id: &str) -> Result<Option<OutboxRecord>> {
    txn.get(T::Outbox, id.as_bytes())?
        .map(|v| decode(&v))
        .transpose()
}

fn put(txn: &mut Txn, rec: &OutboxRecord) {
    txn.put(T::Outbox, rec.id.as_bytes(), record::encode_compact(rec));
}

/// The outbox record and a pending message in the thread.
#[allow(clippy::too_many_arguments)]
pub(super) fn queued(
    txn: &mut Txn,
    id: &str,
    conv: &ConvKey,
    text: &str,
    tag: &Option<String>,
    agent: &Option<String>,
    campaign: &Option<String>,
    now: TimestampMs,
) -> Result<()> {
    if get(txn, id)?.is_some() {
        return Ok(()); // applied before
    }
    let rec = OutboxRecord {
        id: id.to_string(),
        conv: conv.clone(),
        text: text.to_string(),
        tag: tag.clone(),
        created: now,
        state: OutboxState::Pending,
        mid: None,
        error: None,
        agent: agent.clone(),
        campaign: campaign.clone(),
    };
    put(txn, &rec);
    let mut m = Message::inbound(conv.clone(), rec.local_mid(), now);
    m.direction = Direction::Out;
    m.status = MsgStatus::Pending;
    m.origin = Some(Origin::Dmdesk);
    m.text = Some(text.to_string());
    m.agent = rec.agent.clone();
    m.tag = rec.tag.clone();
    insert_message(txn, &m);
    let c = txn.conv(conv)?;
    c.message_count += 1;
    crate::store::rules::take_preview(c, &m);
    txn.publish(Update::Message(Box::new(m)));
    Ok(())
}

/// Bind an outbox record to Meta's mid. Returns false when there is no
/// such record.
pub(super) fn resolve(txn: &mut Txn, id: &str, mid: &Mid, status: MsgStatus) -> Result<bool> {
    let Some(mut rec) = get(txn, id)? else {
        return Ok(false);
    };
    if rec.mid.is_some() {
        return Ok(true); // the echo or the answer already did it
    }
    rec.mid = Some(mid.clone());
    rec.state = OutboxState::Sent;
    rec.error = None;
    put(txn, &rec);
    let local = rec.local_mid();
    let mut m = match message_by_mid(txn, &local)? {
        Some((_, m)) => {
            remove_message(txn, &m);
            m
        }
        None => {
            let mut m = Message::inbound(rec.conv.clone(), mid.clone(), rec.created);
            m.direction = Direction::Out;
            m.text = Some(rec.text.clone());
            m.origin = Some(Origin::Dmdesk);
            m
        }
    };
    m.mid = mid.clone();
    m.status = m.status.max(status);
    m.error = None;
    if message_by_mid(txn, mid)?.is_none() {
        insert_message(txn, &m);
    }
    txn.publish(Update::Message(Box::new(m)));
    let c = txn.conv(&rec.conv)?;
    let history = crate::store::rules::reply_reached_meta(c, &rec);
    super::team::record(txn, history.into_iter().collect())?;
    Ok(true)
}

/// The send failed for good (or for now: it can be retried).
pub(super) fn failed(txn: &mut Txn, id: &str, reason: &str) -> Result<()> {
    let Some(mut rec) = get(txn, id)? else {
        return Err(StoreError::NotFound(format!("no outbox record {id}")));
    };
    if rec.mid.is_some() {
        return Ok(()); // an echo proved it was sent
    }
    rec.state = OutboxState::Failed;
    rec.error = Some(reason.to_string());
    put(txn, &rec);
    set_local_status(txn, &rec, MsgStatus::Failed, Some(reason))
}

/// Put a failed record back to pending for another attempt.
pub(super) fn retry(txn: &mut Txn, id: &str) -> Result<()> {
    let Some(mut rec) = get(txn, id)? else {
        return Err(StoreError::NotFound(format!("no outbox record {id}")));
    };
    if rec.mid.is_some() {
        return Ok(()); // sent after all: nothing to retry
    }
    rec.state = OutboxState::Pending;
    rec.error = None;
    put(txn, &rec);
    set_local_status(txn, &rec, MsgStatus::Pending, None)
}

fn set_local_status(
    txn: &mut Txn,
    rec: &OutboxRecord,
    status: MsgStatus,
    error: Option<&str>,
) -> Result<()> {
    if let Some((key, mut m)) = message_by_mid(txn, &rec.local_mid())? {
        m.status = status;
        m.error = error.map(str::to_string);
        txn.put(T::Messages, key, super::record::encode_message(&m));
        txn.publish(Update::Message(Box::new(m)));
    }
    Ok(())
}
