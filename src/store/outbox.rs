//! Outbound messages written by dmdesk: the outbox record comes first, then
//! the Send API call. The echo (metadata `dmdesk:<id>`) or the API answer,
//! whichever comes first, binds the record to Meta's mid; the other is a no-op.

use super::{decode, encode, ApplyCtx, Result, Store, StoreError, Update};
use crate::domain::{ConvKey, Direction, Message, Mid, MsgStatus, Origin, TimestampMs};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OutboxState {
    Pending,
    Sent,
    Failed,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutboxRecord {
    pub id: String,
    pub conv: ConvKey,
    pub text: String,
    pub tag: Option<String>,
    pub created: TimestampMs,
    pub state: OutboxState,
    /// Meta's mid once known.
    pub mid: Option<Mid>,
    pub error: Option<String>,
    pub agent: Option<String>,
    pub campaign: Option<String>,
}

impl OutboxRecord {
    /// The placeholder mid of the message until Meta names it.
    pub fn local_mid(&self) -> Mid {
        Mid(format!("local:{}", self.id))
    }
    /// What the Send API call carries as `metadata`.
    pub fn metadata(&self) -> String {
        format!("{}{}", crate::meta::webhook::METADATA_PREFIX, self.id)
    }
}

impl Store {
    /// Write the outbox record and a pending message in the thread.
    pub fn create_outbound(
        &self,
        conv: &ConvKey,
        text: &str,
        tag: Option<&str>,
        agent: Option<&str>,
        campaign: Option<&str>,
        now: TimestampMs,
    ) -> Result<OutboxRecord> {
        let _guard = self.apply_lock.lock().unwrap_or_else(|e| e.into_inner());
        let rec = OutboxRecord {
            id: format!("o{:x}", self.db.generate_id()?),
            conv: conv.clone(),
            text: text.to_string(),
            tag: tag.map(str::to_string),
            created: now,
            state: OutboxState::Pending,
            mid: None,
            error: None,
            agent: agent.map(str::to_string),
            campaign: campaign.map(str::to_string),
        };
        self.outbox.insert(rec.id.as_bytes(), encode(&rec))?;
        let mut m = Message::inbound(conv.clone(), rec.local_mid(), now);
        m.direction = Direction::Out;
        m.status = MsgStatus::Pending;
        m.origin = Some(Origin::Dmdesk);
        m.text = Some(text.to_string());
        m.agent = rec.agent.clone();
        m.tag = rec.tag.clone();
        self.insert_message(&m)?;
        let mut txn = super::apply::Txn::default();
        let c = self.txn_conv(&mut txn, conv, &mut ApplyCtx::default())?;
        c.message_count += 1;
        if now >= c.last_activity {
            c.last_activity = now;
            c.last_preview = m.preview();
            c.last_direction = Some(Direction::Out);
        }
        self.commit(txn)?;
        self.publish(Update::Message(Box::new(m)));
        Ok(rec)
    }

    pub fn outbox_get(&self, id: &str) -> Result<Option<OutboxRecord>> {
        self.outbox
            .get(id.as_bytes())?
            .map(|v| decode(&v))
            .transpose()
    }

    fn outbox_put(&self, rec: &OutboxRecord) -> Result<()> {
        self.outbox.insert(rec.id.as_bytes(), encode(rec))?;
        Ok(())
    }

    /// Records still pending (a send that may or may not have reached Meta).
    pub fn outbox_pending(&self) -> Result<Vec<OutboxRecord>> {
        let mut v = Vec::new();
        for r in self.outbox.iter().values() {
            let rec: OutboxRecord = decode(&r?)?;
            if rec.state == OutboxState::Pending {
                v.push(rec);
            }
        }
        Ok(v)
    }

    /// The Send API answered with a mid.
    pub fn outbound_sent(&self, id: &str, mid: &Mid) -> Result<()> {
        let _guard = self.apply_lock.lock().unwrap_or_else(|e| e.into_inner());
        if !self.resolve_outbound(id, mid, MsgStatus::Sent)? {
            return Err(StoreError::NotFound(format!("no outbox record {id}")));
        }
        Ok(())
    }

    /// Bind an outbox record to Meta's mid. Returns false when there is no
    /// such record. Callers hold the apply lock.
    pub(crate) fn resolve_outbound(&self, id: &str, mid: &Mid, status: MsgStatus) -> Result<bool> {
        let Some(mut rec) = self.outbox_get(id)? else {
            return Ok(false);
        };
        if rec.mid.is_some() {
            return Ok(true); // the echo or the answer already did it
        }
        rec.mid = Some(mid.clone());
        rec.state = OutboxState::Sent;
        rec.error = None;
        self.outbox_put(&rec)?;
        let local = rec.local_mid();
        let mut m = match self.message_by_mid(&local)? {
            Some((_, m)) => {
                self.remove_message(&m)?;
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
        if self.message_by_mid(mid)?.is_none() {
            self.insert_message(&m)?;
        }
        self.publish(Update::Message(Box::new(m)));
        Ok(true)
    }

    /// The send failed for good (or for now: it can be retried).
    pub fn outbound_failed(&self, id: &str, reason: &str) -> Result<()> {
        let _guard = self.apply_lock.lock().unwrap_or_else(|e| e.into_inner());
        let Some(mut rec) = self.outbox_get(id)? else {
            return Err(StoreError::NotFound(format!("no outbox record {id}")));
        };
        if rec.mid.is_some() {
            return Ok(()); // an echo proved it was sent
        }
        rec.state = OutboxState::Failed;
        rec.error = Some(reason.to_string());
        self.outbox_put(&rec)?;
        if let Some((key, mut m)) = self.message_by_mid(&rec.local_mid())? {
            m.status = MsgStatus::Failed;
            m.error = Some(reason.to_string());
            self.replace_message(&key, &m)?;
            self.publish(Update::Message(Box::new(m)));
        }
        Ok(())
    }

    /// Put a failed record back to pending for another attempt.
    pub fn outbound_retry(&self, id: &str) -> Result<OutboxRecord> {
        let _guard = self.apply_lock.lock().unwrap_or_else(|e| e.into_inner());
        let Some(mut rec) = self.outbox_get(id)? else {
            return Err(StoreError::NotFound(format!("no outbox record {id}")));
        };
        rec.state = OutboxState::Pending;
        rec.error = None;
        self.outbox_put(&rec)?;
        if let Some((key, mut m)) = self.message_by_mid(&rec.local_mid())? {
            m.status = MsgStatus::Pending;
            m.error = None;
            self.replace_message(&key, &m)?;
            self.publish(Update::Message(Box::new(m)));
        }
        Ok(rec)
    }

    /// Wait until everything written so far is durable (before a Send API call).
    pub async fn durable(&self) {
        self.flush.durable().await;
    }
}
