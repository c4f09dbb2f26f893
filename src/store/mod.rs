//! The store: the only way into dmdesk's data. Ingest, sync, send, export and
//! the UI call these methods and never touch sled trees, so another backend
//! can replace this one without changing them.

mod accounts;
mod apply;
mod campaign;
pub mod keys;
pub mod log;
mod outbox;
mod query;

pub use accounts::DeadToken;
pub use apply::ApplyCtx;
pub use campaign::{
    CampaignCounts, CampaignExport, CampaignRecord, CampaignStatus, NewRecipient, RecipientExport,
    RecipientRecord, RecipientState,
};
pub use log::{EventRecord, EventState};
pub use outbox::{OutboxRecord, OutboxState};
pub use query::ConvFilter;

use crate::domain::{Contact, ConvKey, Conversation, Message, TimestampMs};
use log::GroupFlush;
use serde::{de::DeserializeOwned, Serialize};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use tokio::sync::broadcast;

/// Something changed; the UI and attached clients redraw from these.
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize)]
pub enum Update {
    Conversation(Box<Conversation>),
    Message(Box<Message>),
    Contact(Box<Contact>),
    /// A webhook body was logged (status bar's "events today").
    EventReceived {
        at: TimestampMs,
    },
    /// For the operator: policy enforcement, a dead token, a failed sync.
    Notice(String),
    /// The last error, for the status bar.
    Error(String),
    /// Progress of a running sync.
    Sync(SyncProgress),
    /// Progress of a campaign.
    Campaign(CampaignProgress),
    /// Who is viewing or typing where (teams); the whole list each time.
    Presence(Vec<crate::control::presence::Viewer>),
    /// What an attached UI gets instead of every conversation and event
    /// while traffic is heavy: counts and the conversations that changed
    /// (with their unread counts); it reloads the rows it shows.
    Digest {
        events: u64,
        inbound: u64,
        /// Up to a few changed conversations with their unread counts...
        changed: Vec<(ConvKey, u32)>,
        /// ...or, when more changed, just that: reload what is shown.
        #[serde(default)]
        more: bool,
        /// Conversations with unread messages, all of them (window title).
        #[serde(default)]
        unread_conversations: Option<u64>,
    },
    /// Answer to a UI's `unread_counts` request (`request` is the UI's
    /// number for it); sent on this channel so it stays in order with the
    /// `Conversation` updates around it.
    Unread {
        request: u64,
        counts: Vec<(ConvKey, u32)>,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, serde::Deserialize)]
pub struct SyncProgress {
    pub running: bool,
    pub pages: u32,
    pub conversations: u64,
    pub messages: u64,
    pub errors: u32,
    pub finished_at: Option<TimestampMs>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, serde::Deserialize)]
pub struct CampaignProgress {
    pub id: String,
    pub title: String,
    pub total: u64,
    pub done: u64,
    pub sent: u64,
    pub failed: u64,
    pub skipped: u64,
    pub running: bool,
    /// The agent who started it (teams).
    #[serde(default)]
    pub created_by: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("{0}")]
    Held(String),
    #[error("store error: {0}")]
    Sled(#[from] sled::Error),
    #[error("store record is corrupt: {0}")]
    Corrupt(String),
    #[error("cannot create store directory {path}: {source}")]
    Dir {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{0}")]
    NotFound(String),
}

pub type Result<T> = std::result::Result<T, StoreError>;

const SCHEMA_VERSION: u64 = 1;

pub struct Store {
    db: sled::Db,
    path: PathBuf,
    /// The mode named in the holder file (`serve`, `inbox`, ...).
    mode: String,
    events: sled::Tree,
    quarantine: sled::Tree,
    contacts: sled::Tree,
    conversations: sled::Tree,
    by_activity: sled::Tree,
    messages: sled::Tree,
    mid_index: sled::Tree,
    deferred: sled::Tree,
    /// False while `deferred` is empty, so the common case skips a tree op.
    deferred_any: std::sync::atomic::AtomicBool,
    outbox: sled::Tree,
    drafts: sled::Tree,
    meta: sled::Tree,
    pub(crate) campaigns: sled::Tree,
    pub(crate) campaign_recipients: sled::Tree,
    flush: Arc<GroupFlush>,
    /// Serialises appends so seq order equals insertion order.
    append_lock: Mutex<u64>,
    /// Serialises apply: a webhook and a sync delivering one mid at once
    /// must not both insert it.
    apply_lock: Mutex<()>,
    updates: broadcast::Sender<Update>,
}

/// Written beside the store so a second process can say who holds it.
const HOLDER_FILE: &str = "dmdesk.holder";

impl Store {
    /// Open (or create) the store. `mode` names this process in the holder file.
    pub fn open(path: &Path, cache_mb: u64, mode: &str) -> Result<Arc<Store>> {
        std::fs::create_dir_all(path).map_err(|source| StoreError::Dir {
            path: path.to_path_buf(),
            source,
        })?;
        let db = sled::Config::new()
            .path(path)
            .cache_capacity(cache_mb * 1024 * 1024)
            // One thread flushes (store::log::GroupFlush), never two at once.
            .flush_every_ms(None)
            .open()
            .map_err(|e| match e {
                sled::Error::Io(ref io) if is_lock_error(io) => {
                    StoreError::Held(held_message(path))
                }
                other => StoreError::Sled(other),
            })?;
        let _ = std::fs::write(
            path.join(HOLDER_FILE),
            format!("pid={} mode={}\n", std::process::id(), mode),
        );
        let t = |n: &str| db.open_tree(n);
        let events = t("events")?;
        let next_seq = events
            .last()?
            .map(|(k, _)| keys::seq_from(&k) + 1)
            .unwrap_or(1);
        let (updates, _) = broadcast::channel(4096);
        let store = Store {
            quarantine: t("quarantine")?,
            contacts: t("contacts")?,
            conversations: t("conversations")?,
            by_activity: t("conv_by_activity")?,
            messages: t("messages")?,
            mid_index: t("mid_index")?,
            deferred_any: std::sync::atomic::AtomicBool::new(!t("deferred")?.is_empty()),
            deferred: t("deferred")?,
            outbox: t("outbox")?,
            drafts: t("drafts")?,
            meta: t("meta")?,
            campaigns: t("campaigns")?,
            campaign_recipients: t("campaign_recipients")?,
            events,
            flush: GroupFlush::start(db.clone()),
            append_lock: Mutex::new(next_seq),
            apply_lock: Mutex::new(()),
            updates,
            path: path.to_path_buf(),
            mode: mode.to_string(),
            db,
        };
        match store.meta_get::<u64>("schema_version")? {
            None => store.meta_put("schema_version", &SCHEMA_VERSION)?,
            Some(v) if v > SCHEMA_VERSION => {
                return Err(StoreError::Corrupt(format!(
                    "store schema {v} is newer than this dmdesk understands ({SCHEMA_VERSION})"
                )))
            }
            Some(_) => {}
        }
        Ok(Arc::new(store))
    }

    pub fn holder_mode(&self) -> &str {
        &self.mode
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// A receiver of every change applied from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<Update> {
        self.updates.subscribe()
    }

    /// Publish an update from a worker (sync progress, errors, notices).
    pub fn publish(&self, u: Update) {
        let _ = self.updates.send(u);
    }

    /// Flush everything to disk now (shutdown).
    pub fn flush(&self) -> Result<()> {
        self.db.flush()?;
        Ok(())
    }

    pub fn flush_count(&self) -> u64 {
        self.flush.flush_count()
    }

    // ---- event log ----------------------------------------------------

    /// Append a raw webhook body and wait until it is durable. Returns its seq.
    pub async fn append_event(&self, body: &[u8], received: TimestampMs) -> Result<u64> {
        let seq = self.append_event_nowait(body, received)?;
        self.flush.durable().await;
        self.publish(Update::EventReceived { at: received });
        Ok(seq)
    }

    /// Append without waiting for durability (tests, populate).
    pub fn append_event_nowait(&self, body: &[u8], received: TimestampMs) -> Result<u64> {
        let mut next = self.append_lock.lock().unwrap_or_else(|e| e.into_inner());
        let seq = *next;
        self.events
            .insert(keys::seq(seq), log::encode_event(received.0, body))?;
        *next += 1;
        Ok(seq)
    }

    /// Highest seq applied by ingest (events after it are pending).
    pub fn applied_seq(&self) -> Result<u64> {
        Ok(self.meta_get("ingest_applied")?.unwrap_or(0))
    }

    pub fn set_applied_seq(&self, seq: u64) -> Result<()> {
        self.meta_put("ingest_applied", &seq)
    }

    /// Events after `after`, in order, at most `limit`.
    pub fn events_after(&self, after: u64, limit: usize) -> Result<Vec<EventRecord>> {
        let applied = self.applied_seq()?;
        self.events
            .range(keys::seq(after + 1)..)
            .take(limit)
            .map(|r| {
                let (k, v) = r?;
                self.event_record(keys::seq_from(&k), &v, applied)
            })
            .collect()
    }

    fn event_record(&self, seq: u64, v: &[u8], applied: u64) -> Result<EventRecord> {
        let (received_ms, body) = log::decode_event(v);
        let state = match self.quarantine.get(keys::seq(seq))? {
            Some(r) => EventState::Quarantined(String::from_utf8_lossy(&r).into_owned()),
            None if seq <= applied => EventState::Applied,
            None => EventState::Pending,
        };
        Ok(EventRecord {
            seq,
            received_ms,
            state,
            body: body.to_vec(),
        })
    }

    pub fn get_event(&self, seq: u64) -> Result<Option<EventRecord>> {
        let applied = self.applied_seq()?;
        self.events
            .get(keys::seq(seq))?
            .map(|v| self.event_record(seq, &v, applied))
            .transpose()
    }

    pub fn quarantine_event(&self, seq: u64, reason: &str) -> Result<()> {
        self.quarantine.insert(keys::seq(seq), reason.as_bytes())?;
        Ok(())
    }

    pub fn release_event(&self, seq: u64) -> Result<()> {
        self.quarantine.remove(keys::seq(seq))?;
        Ok(())
    }

    pub fn quarantined(&self) -> Result<Vec<u64>> {
        self.quarantine
            .iter()
            .keys()
            .map(|k| Ok(keys::seq_from(&k?)))
            .collect()
    }

    /// All events in store order (export).
    pub fn all_events(&self) -> impl Iterator<Item = Result<EventRecord>> + '_ {
        let applied = self.applied_seq().unwrap_or(0);
        self.events.iter().map(move |r| {
            let (k, v) = r?;
            self.event_record(keys::seq_from(&k), &v, applied)
        })
    }

    // ---- meta -----------------------------------------------------------

    pub fn meta_get<T: DeserializeOwned>(&self, key: &str) -> Result<Option<T>> {
        self.meta.get(key)?.map(|v| decode(&v)).transpose()
    }

    pub fn meta_put<T: Serialize>(&self, key: &str, v: &T) -> Result<()> {
        self.meta.insert(key, encode(v))?;
        Ok(())
    }

    /// Last successful sync of an account (never paging cursors: they expire).
    pub fn last_sync(&self, account: &str) -> Result<Option<TimestampMs>> {
        self.meta_get(&format!("last_sync:{account}"))
    }

    pub fn set_last_sync(&self, account: &str, at: TimestampMs) -> Result<()> {
        self.meta_put(&format!("last_sync:{account}"), &at)
    }
}

fn is_lock_error(e: &std::io::Error) -> bool {
    e.kind() == std::io::ErrorKind::WouldBlock
        || e.to_string().contains("lock")
        || e.raw_os_error() == Some(11)
}

fn held_message(path: &Path) -> String {
    let holder = std::fs::read_to_string(path.join(HOLDER_FILE)).unwrap_or_default();
    let who = holder
        .split_whitespace()
        .fold((None, None), |(pid, mode), kv| match kv.split_once('=') {
            Some(("pid", p)) => (Some(p.to_string()), mode),
            Some(("mode", m)) => (pid, Some(m.to_string())),
            _ => (pid, mode),
        });
    match who {
        (Some(pid), Some(mode)) => format!(
            "store {} is held by another dmdesk process (pid {pid}, `dmdesk {mode}`); stop it first or run this command on a copy of the store",
            path.display()
        ),
        _ => format!(
            "store {} is held by another dmdesk process; stop it first or run this command on a copy of the store",
            path.display()
        ),
    }
}

pub(crate) fn encode<T: Serialize>(v: &T) -> Vec<u8> {
    serde_json::to_vec(v).expect("store records serialise")
}

pub(crate) fn decode<T: DeserializeOwned>(v: &[u8]) -> Result<T> {
    serde_json::from_slice(v).map_err(|e| StoreError::Corrupt(e.to_string()))
}
