//! The store and its update bus, as the program's workers hold them: reads
//! go straight to the store (`Db` derefs to it); writes go through `apply`,
//! which publishes what changed only after the store committed it.

use crate::bus::{Bus, Subscription};
use crate::change::Change;
use crate::domain::{Contact, ConvKey, ConvStatus, Mid, TimestampMs};
use crate::store::{self, Applied, OutboxRecord, Result, Store, StoreError, Swap};
use crate::team::{AgentName, Note, Priority};
use crate::update::Update;
use std::path::Path;
use std::sync::Arc;

#[derive(Clone)]
pub struct Db {
    store: Arc<dyn Store>,
    bus: Arc<Bus>,
}

impl std::ops::Deref for Db {
    type Target = dyn Store;
    fn deref(&self) -> &(dyn Store + 'static) {
        &*self.store
    }
}

impl Db {
    pub fn new(store: Arc<dyn Store>, bus: Arc<Bus>) -> Db {
        Db { store, bus }
    }

    /// Open the embedded store with a bus of its own.
    pub fn open(path: &Path, cache_mb: u64, mode: &str) -> Result<Db> {
        Ok(Db::new(store::open(path, cache_mb, mode)?, Bus::new()))
    }

    /// Open the configured backend (`[store] backend`) with a bus of its own.
    pub fn open_config(cfg: &crate::config::StoreConfig, mode: &str) -> Result<Db> {
        let store = store::open_backend(&cfg.backend, &cfg.path, cfg.cache_mb, mode)?;
        Ok(Db::new(store, Bus::new()))
    }

    pub fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }

    pub fn bus(&self) -> &Arc<Bus> {
        &self.bus
    }

    pub fn subscribe(&self) -> Subscription {
        self.bus.subscribe()
    }

    pub fn publish(&self, u: Update) {
        self.bus.publish(u);
    }

    /// Tell subscribers something went wrong (status bar).
    pub fn report_error(&self, text: impl Into<String>) {
        self.publish(Update::Error(text.into()));
    }

    /// Apply changes atomically, then publish what they changed.
    pub fn apply(&self, changes: &[Change]) -> Result<Applied> {
        let mut applied = self.store.apply(changes)?;
        self.bus.publish_all(std::mem::take(&mut applied.updates));
        Ok(applied)
    }

    /// Append a webhook body; once durable, say so on the bus.
    pub async fn append_event(&self, body: &[u8], received: TimestampMs) -> Result<u64> {
        let seq = self.store.append_event(body, received).await?;
        self.publish(Update::EventReceived { at: received });
        Ok(seq)
    }

    // ---- the outbox lifecycle, as changes -----------------------------------

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
        let id = format!("o{:x}", self.store.next_id()?);
        self.apply(&[Change::OutboundQueued {
            id: id.clone(),
            conv: conv.clone(),
            text: text.to_string(),
            tag: tag.map(str::to_string),
            agent: agent.map(str::to_string),
            campaign: campaign.map(str::to_string),
            at: now,
        }])?;
        self.outbox_get(&id)?
            .ok_or_else(|| StoreError::NotFound(format!("outbox record {id} vanished")))
    }

    /// The Send API answered with a mid.
    pub fn outbound_sent(&self, id: &str, mid: &Mid) -> Result<()> {
        self.apply(&[Change::OutboundSent {
            id: id.to_string(),
            mid: mid.clone(),
        }])
        .map(drop)
    }

    /// The send failed for good (or for now: it can be retried).
    pub fn outbound_failed(&self, id: &str, reason: &str) -> Result<()> {
        self.apply(&[Change::OutboundFailed {
            id: id.to_string(),
            reason: reason.to_string(),
        }])
        .map(drop)
    }

    /// Put a failed record back to pending for another attempt.
    pub fn outbound_retry(&self, id: &str) -> Result<OutboxRecord> {
        self.apply(&[Change::OutboundRetry { id: id.to_string() }])?;
        self.outbox_get(id)?
            .ok_or_else(|| StoreError::NotFound(format!("no outbox record {id}")))
    }

    // ---- agents' actions ------------------------------------------------

    pub fn mark_read(&self, conv: &ConvKey) -> Result<()> {
        self.apply(&[Change::MarkRead {
            conv: conv.clone(),
            read: true,
        }])
        .map(drop)
    }

    pub fn mark_unread(&self, conv: &ConvKey) -> Result<()> {
        self.apply(&[Change::MarkRead {
            conv: conv.clone(),
            read: false,
        }])
        .map(drop)
    }

    /// Set the status as dmdesk (no agent), now.
    pub fn set_status(
        &self,
        conv: &ConvKey,
        status: ConvStatus,
        snooze_until: Option<TimestampMs>,
    ) -> Result<()> {
        self.set_status_by(conv, status, snooze_until, None, TimestampMs::now())
    }

    /// Set the status as `by` (recorded in the history when it changed).
    pub fn set_status_by(
        &self,
        conv: &ConvKey,
        status: ConvStatus,
        snooze_until: Option<TimestampMs>,
        by: Option<&AgentName>,
        at: TimestampMs,
    ) -> Result<()> {
        self.apply(&[Change::Status {
            conv: conv.clone(),
            status,
            snooze_until,
            by: by.cloned(),
            at,
        }])
        .map(drop)
    }

    // ---- the team's workflow ----------------------------------------------

    /// Assign `conv` to `to` (None: unassign) if its assignee is still
    /// `expect`. `Swap::Lost(current)`: someone else changed it first (it
    /// is now `current`'s; None: nobody's) and nothing was written.
    pub fn assign(
        &self,
        conv: &ConvKey,
        expect: Option<&AgentName>,
        to: Option<&AgentName>,
        by: Option<&AgentName>,
        at: TimestampMs,
    ) -> Result<Swap<AgentName>> {
        let applied = self.apply(&[Change::Assign {
            conv: conv.clone(),
            expect: expect.cloned(),
            to: to.cloned(),
            by: by.cloned(),
            at,
        }])?;
        Ok(match applied.assign_lost.into_iter().next() {
            Some((_, current)) => Swap::Lost(current),
            None => Swap::Done,
        })
    }

    pub fn set_labels(
        &self,
        conv: &ConvKey,
        add: &[String],
        remove: &[String],
        by: Option<&AgentName>,
        at: TimestampMs,
    ) -> Result<()> {
        self.apply(&[Change::Labels {
            conv: conv.clone(),
            add: add.to_vec(),
            remove: remove.to_vec(),
            by: by.cloned(),
            at,
        }])
        .map(drop)
    }

    pub fn set_priority(
        &self,
        conv: &ConvKey,
        priority: Priority,
        by: Option<&AgentName>,
        at: TimestampMs,
    ) -> Result<()> {
        self.apply(&[Change::Priority {
            conv: conv.clone(),
            priority,
            by: by.cloned(),
            at,
        }])
        .map(drop)
    }

    /// Add a note (a fresh id; `@name`s in `mentions` get mail). Returns it.
    pub fn add_note(
        &self,
        conv: &ConvKey,
        author: &AgentName,
        text: &str,
        mentions: Vec<AgentName>,
        at: TimestampMs,
    ) -> Result<Note> {
        let note = Note {
            id: format!("n{:x}", self.store.next_id()?),
            conv: conv.clone(),
            author: author.clone(),
            text: text.to_string(),
            at,
            mentions,
        };
        self.apply(&[Change::Note(Box::new(note.clone()))])?;
        Ok(note)
    }

    /// Reopen snoozed conversations whose time has come. Returns how many.
    pub fn wake_snoozed(&self, now: TimestampMs) -> Result<usize> {
        let due: Vec<Change> = self
            .all_conversations()
            .filter_map(|c| c.ok())
            .filter(|c| c.status == ConvStatus::Snoozed && c.snooze_until.is_some_and(|t| t <= now))
            .map(|c| Change::Status {
                conv: c.key,
                status: ConvStatus::Open,
                snooze_until: None,
                by: None,
                at: now,
            })
            .collect();
        if !due.is_empty() {
            self.apply(&due)?;
        }
        Ok(due.len())
    }

    /// Save a contact and carry its name to the conversation row.
    pub fn put_contact(&self, c: &Contact) -> Result<()> {
        self.apply(&[Change::Contact(Box::new(c.clone()))])
            .map(drop)
    }

    /// Record a profile fetch result.
    pub fn profile_fetched(
        &self,
        conv: &ConvKey,
        profile: Option<Contact>,
        now: TimestampMs,
    ) -> Result<()> {
        self.apply(&[Change::Profile {
            conv: conv.clone(),
            profile: profile.map(Box::new),
            at: now,
        }])
        .map(drop)
    }
}
