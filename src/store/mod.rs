//! The store boundary: everything the rest of dmdesk may do with its data.
//!
//! `Store` is a synchronous, object-safe trait: the embedded backend (sled)
//! answers from memory in microseconds, and callers on the async runtime
//! already run the heavy calls (ingest, the UI's data worker, export) on
//! blocking threads. The two calls that wait for the disk (`append_event`,
//! `durable`) are futures. A backend whose calls wait on a network runs them
//! on its own threads behind the same methods.
//!
//! Writes to conversations, messages, contacts and the outbox go through one
//! call, `apply`, which is atomic and idempotent and returns the updates it
//! made; the caller publishes them (`crate::db::Db` does both).

pub mod embedded;
pub mod postgres;
mod records;
pub(crate) mod rules;

pub use records::*;

use crate::change::Change;
use crate::domain::{Contact, ConvKey, Conversation, Message, Mid, TimestampMs};
use crate::filter::ConvFilter;
use crate::team::{AgentName, HistoryEvent, MailItem, Note};
use crate::update::{Update, Viewer};
use futures::future::BoxFuture;
use std::path::{Path, PathBuf};
use std::sync::Arc;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("{0}")]
    Held(String),
    #[error("store error: {0}")]
    Backend(String),
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

/// What one `apply` did beyond its writes.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Applied {
    /// Conversations whose contact is new and needs a profile fetch.
    pub new_contacts: Vec<ConvKey>,
    /// Messages that were new to the store.
    pub new_messages: u64,
    /// What changed, in order, for the update bus (published after commit).
    pub updates: Vec<Update>,
    /// Assignments whose compare-and-set lost: the conversation and who
    /// has it now (nothing of those was written).
    pub assign_lost: Vec<(ConvKey, Option<AgentName>)>,
}

/// A compare-and-set that found something else than it expected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Swap<T> {
    Done,
    /// The current value (None: there is none); nothing was written.
    Lost(Option<T>),
}

/// A cluster-wide job lock (`Store::job_lock`), held until dropped.
pub struct JobGuard {
    _hold: Box<dyn std::any::Any + Send + Sync>,
    /// Some(why) once the lock went away under its holder.
    lost: tokio::sync::watch::Receiver<Option<String>>,
}

impl JobGuard {
    /// `hold` keeps the lock; `lost` says when (and why) it went away.
    pub fn new(
        hold: impl std::any::Any + Send + Sync,
        lost: tokio::sync::watch::Receiver<Option<String>>,
    ) -> JobGuard {
        JobGuard {
            _hold: Box::new(hold),
            lost,
        }
    }

    /// A lock that cannot be lost (a store only this process opens).
    pub fn local() -> JobGuard {
        JobGuard::new((), tokio::sync::watch::channel(None).1)
    }

    /// Resolves, with why, once the lock is lost while still held (its
    /// database connection was cut): the holder must stop its job. Never
    /// resolves for a lock that cannot be lost.
    pub async fn lost(&self) -> String {
        let mut rx = self.lost.clone();
        let why = rx
            .wait_for(Option::is_some)
            .await
            .ok()
            .and_then(|w| (*w).clone());
        match why {
            Some(why) => why,
            // The watcher is gone without a loss: it never will be lost.
            None => std::future::pending().await,
        }
    }
}

pub type Rows<'a, T> = Box<dyn Iterator<Item = Result<T>> + Send + 'a>;

pub trait Store: Send + Sync {
    /// "sled", "postgres", ...
    fn backend(&self) -> &'static str;
    /// The local directory beside the data (control socket, caches).
    fn path(&self) -> &Path;
    /// The mode this process named when it opened the store (`serve`, ...).
    fn holder_mode(&self) -> &str;

    // ---- durability ------------------------------------------------------

    /// Make everything written so far durable now (shutdown).
    fn flush(&self) -> Result<()>;
    /// Flushes so far (metrics, benchmarks).
    fn flush_count(&self) -> u64;
    /// Whether the store can write now; why not, in a sentence (`/healthz`,
    /// the status bar, `serve`'s exit).
    fn health(&self) -> std::result::Result<(), String> {
        Ok(())
    }
    /// Resolves once everything written before the call is durable.
    fn durable(&self) -> BoxFuture<'_, ()>;

    // ---- webhook event log ------------------------------------------------

    /// Append a raw webhook body; resolves once it is durable. Its seq.
    fn append_event<'a>(
        &'a self,
        body: &'a [u8],
        received: TimestampMs,
    ) -> BoxFuture<'a, Result<u64>>;
    /// Append without waiting for durability (tests, populate).
    fn append_event_nowait(&self, body: &[u8], received: TimestampMs) -> Result<u64>;
    /// Highest seq applied by ingest (events after it are pending).
    fn applied_seq(&self) -> Result<u64>;
    fn set_applied_seq(&self, seq: u64) -> Result<()>;
    /// Events after `after`, in order, at most `limit`.
    fn events_after(&self, after: u64, limit: usize) -> Result<Vec<EventRecord>>;
    fn get_event(&self, seq: u64) -> Result<Option<EventRecord>>;
    fn quarantine_event(&self, seq: u64, reason: &str) -> Result<()>;
    fn release_event(&self, seq: u64) -> Result<()>;
    fn quarantined(&self) -> Result<Vec<u64>>;
    /// Delete a quarantined event without applying it: its body is no
    /// longer shown or replayed (state `Deleted`). False, and nothing
    /// changes, when `seq` is not quarantined.
    fn delete_event(&self, seq: u64) -> Result<bool>;

    // ---- the one write path ------------------------------------------------

    /// Apply changes in order, all or nothing. Applying the same changes
    /// again changes nothing.
    fn apply(&self, changes: &[Change]) -> Result<Applied>;
    /// A number never handed out before by this store (record ids).
    fn next_id(&self) -> Result<u64>;

    // ---- reads ------------------------------------------------------------

    fn conversation(&self, key: &ConvKey) -> Result<Option<Conversation>>;
    fn contact(&self, key: &ConvKey) -> Result<Option<Contact>>;
    fn conversation_count(&self) -> Result<u64>;
    /// Conversations by latest activity matching `filter`, skipping `offset`.
    fn conversations(
        &self,
        filter: &ConvFilter,
        offset: usize,
        limit: usize,
    ) -> Result<Vec<Conversation>>;
    fn count_matching(&self, filter: &ConvFilter) -> Result<u64>;
    /// How many conversations matching `filter` (its assignee aside) are
    /// `me`'s, nobody's, and in all: one pass for the three views.
    fn view_counts(
        &self,
        me: Option<&AgentName>,
        filter: &ConvFilter,
    ) -> Result<crate::team::ViewCounts> {
        let filter = crate::team::views::any_assignee(filter);
        let mut n = crate::team::ViewCounts::default();
        for c in self.all_conversations() {
            let c = c?;
            if filter.matches(&c) {
                n.count(me, &c);
            }
        }
        Ok(n)
    }
    /// Every conversation with unread messages, with its count.
    fn unread_counts(&self) -> Result<Vec<(ConvKey, u32)>>;
    /// The newest `limit` messages of a conversation, oldest first.
    fn messages_latest(&self, conv: &ConvKey, limit: usize) -> Result<Vec<Message>>;
    /// Up to `limit` messages older than `before` (oldest first).
    fn messages_before(
        &self,
        conv: &ConvKey,
        before: &Message,
        limit: usize,
    ) -> Result<Vec<Message>>;
    fn message(&self, mid: &Mid) -> Result<Option<Message>>;
    /// Whole-store scans in store order (export, sweeps).
    fn all_messages(&self) -> Rows<'_, Message>;
    fn all_contacts(&self) -> Rows<'_, Contact>;
    fn all_conversations(&self) -> Rows<'_, Conversation>;
    fn all_events(&self) -> Rows<'_, EventRecord>;

    // ---- the team's records (written by `apply`) ------------------------

    /// A conversation's history (status, assignment, labels, priority,
    /// opened, replied), in time order.
    fn history(&self, conv: &ConvKey) -> Result<Vec<HistoryEvent>>;
    /// The whole store's history at or after `since`, in time order: a
    /// range read (reports).
    fn history_since(&self, since: TimestampMs) -> Rows<'_, HistoryEvent>;
    /// What a report reads of the history, in time order: from `from` on,
    /// the events it counts (openings, status changes, replies); from
    /// `context` to `from`, only openings and status changes (when the
    /// conversations it sees resolved were opened).
    fn report_history(&self, context: TimestampMs, from: TimestampMs) -> Rows<'_, HistoryEvent> {
        Box::new(self.history_since(context).filter(move |e| {
            e.as_ref().map_or(true, |e| {
                let read = if e.at < from {
                    crate::team::ReportRead::Openings
                } else {
                    crate::team::ReportRead::Counted
                };
                read.admits(&e.kind)
            })
        }))
    }
    /// How many conversations were last active before `t` (the report's
    /// coverage: those predate the history).
    fn conversations_active_before(&self, t: TimestampMs) -> Result<u64> {
        let mut n = 0;
        for c in self.all_conversations() {
            n += u64::from(c?.last_activity < t);
        }
        Ok(n)
    }
    /// The whole history with each event's id in the store (its order
    /// among events of one millisecond): what `dmdesk migrate` copies.
    fn all_history(&self) -> Rows<'_, (u64, HistoryEvent)>;
    /// The report's facts at or after `from` (`report::facts`, recorded
    /// by apply with their durations): None while a store written before
    /// they existed is still building them (read the history instead).
    fn report_facts(&self, from: TimestampMs) -> Result<Option<Rows<'_, crate::report::Fact>>> {
        let _ = from;
        Ok(None)
    }
    /// Compute every report fact again from the history (after `dmdesk
    /// migrate` copied history in without them).
    fn rebuild_report_facts(&self) -> Result<()> {
        Ok(())
    }
    /// A conversation's notes, in time order.
    fn notes(&self, conv: &ConvKey) -> Result<Vec<Note>>;
    /// Every note (export).
    fn all_notes(&self) -> Rows<'_, Note>;
    /// An agent's unseen mentions and takeovers, oldest first.
    fn mailbox(&self, agent: &AgentName) -> Result<Vec<MailItem>>;
    /// Every agent's unseen items (`dmdesk migrate`).
    fn all_mail(&self) -> Rows<'_, MailItem>;
    /// The agent saw these (by id): they leave the mailbox.
    fn mailbox_ack(&self, agent: &AgentName, ids: &[String]) -> Result<()>;

    // ---- drafts ---------------------------------------------------------

    fn draft(&self, conv: &ConvKey) -> Result<Option<String>>;
    /// Save a draft; an empty one is removed.
    fn set_draft(&self, conv: &ConvKey, text: &str) -> Result<()>;
    /// A private note set aside half-written (one per conversation).
    fn note_draft(&self, conv: &ConvKey) -> Result<Option<String>>;
    /// Keep a half-written note; an empty one is removed.
    fn set_note_draft(&self, conv: &ConvKey, text: &str) -> Result<()>;
    /// Every note set aside, with its conversation (`dmdesk migrate`).
    fn note_drafts(&self) -> Result<Vec<(ConvKey, String)>>;

    // ---- outbox (written by `apply`) ---------------------------------------

    fn outbox_get(&self, id: &str) -> Result<Option<OutboxRecord>>;
    /// Records still pending (a send that may or may not have reached Meta).
    fn outbox_pending(&self) -> Result<Vec<OutboxRecord>>;
    /// Every record, in id order (`dmdesk migrate`).
    fn all_outbox(&self) -> Result<Vec<OutboxRecord>>;

    // ---- campaigns ---------------------------------------------------------

    /// Write a campaign and all its recipients (queued, or skipped with the
    /// preview's reason). Callers make it durable before sending.
    fn create_campaign(
        &self,
        title: &str,
        text: &str,
        tag: Option<&str>,
        created_by: Option<&str>,
        recipients: &[NewRecipient],
        now: TimestampMs,
    ) -> Result<CampaignRecord>;
    fn campaign(&self, id: &str) -> Result<Option<CampaignRecord>>;
    /// Every campaign, oldest first.
    fn campaigns_list(&self) -> Result<Vec<CampaignRecord>>;
    fn put_campaign(&self, rec: &CampaignRecord) -> Result<()>;
    /// A campaign's recipients in the order they were given.
    fn campaign_recipients(&self, id: &str) -> Result<Vec<RecipientRecord>>;
    fn campaign_recipient(&self, id: &str, index: u32) -> Result<Option<RecipientRecord>>;
    /// Write one recipient's state (not yet durable: call `durable()`).
    fn put_recipient(&self, r: &RecipientRecord) -> Result<()>;
    /// Write `r` only if the stored recipient is still in state `expect`
    /// (claiming a recipient: one runner wins).
    fn swap_recipient(
        &self,
        r: &RecipientRecord,
        expect: RecipientState,
    ) -> Result<Swap<RecipientRecord>>;

    // ---- accounts ---------------------------------------------------------

    /// Last successful sync of an account (never paging cursors: they expire).
    fn last_sync(&self, account: &str) -> Result<Option<TimestampMs>>;
    fn set_last_sync(&self, account: &str, at: TimestampMs) -> Result<()>;
    /// Remember that `page`'s token (by fingerprint) is invalid.
    fn mark_token_dead(
        &self,
        page: &str,
        fingerprint: &str,
        reason: &str,
        at: TimestampMs,
    ) -> Result<()>;
    /// The dead mark for `page` if it was made for the token with this
    /// fingerprint; a mark for another (older) token is removed.
    fn token_dead(&self, page: &str, fingerprint: &str) -> Result<Option<DeadToken>>;
    fn clear_token_dead(&self, page: &str) -> Result<()>;

    // ---- presence (who views what; not durable) -----------------------------
    // Sessions are this process's; a store several processes share also
    // lists the others' (under numbers none of this process's sessions has)
    // and tells them of changes through its feed. Infallible on purpose:
    // presence is a hint, so a store that cannot reach its database answers
    // with this process's own entries and shares them once it can.

    /// This process's session `session`.
    fn presence_get(&self, session: u64) -> Option<Viewer>;
    /// Set (Some) or clear (None) one UI session's entry.
    fn presence_put(&self, session: u64, viewer: Option<Viewer>);
    /// Every viewer the store knows: this process's, then the others'.
    fn presence_list(&self) -> Vec<Viewer>;

    /// Hold the lock `name` across every process on this store until the
    /// guard drops (or the process dies): one campaign runner per page, one
    /// sync per account. `wait`: until it is free; otherwise None if another
    /// process holds it. A store only one process opens has nothing to lock.
    fn job_lock<'a>(
        &'a self,
        name: &'a str,
        wait: bool,
    ) -> BoxFuture<'a, Result<Option<JobGuard>>> {
        let _ = (name, wait);
        Box::pin(async { Ok(Some(JobGuard::local())) })
    }

    /// The database server behind the store, for `dmdesk doctor` (None:
    /// an embedded store, nothing to report beyond its path).
    fn database_info(&self) -> Result<Option<postgres::DatabaseInfo>> {
        Ok(None)
    }

    // ---- derived, the same for every backend --------------------------------

    /// Campaigns that were running (to resume at start).
    fn campaigns_running(&self) -> Result<Vec<CampaignRecord>> {
        Ok(self
            .campaigns_list()?
            .into_iter()
            .filter(|c| c.status == CampaignStatus::Running)
            .collect())
    }

    /// Set a campaign's status (and why), stamping the finish time.
    fn set_campaign_status(
        &self,
        id: &str,
        status: CampaignStatus,
        reason: Option<&str>,
        now: TimestampMs,
    ) -> Result<CampaignRecord> {
        let mut rec = self
            .campaign(id)?
            .ok_or_else(|| StoreError::NotFound(format!("no campaign {id}")))?;
        rec.status = status;
        rec.status_reason = reason.map(str::to_string);
        rec.finished_at = (status != CampaignStatus::Running).then_some(now);
        self.put_campaign(&rec)?;
        Ok(rec)
    }

    fn campaign_counts(&self, id: &str) -> Result<CampaignCounts> {
        let mut c = CampaignCounts::default();
        for r in self.campaign_recipients(id)? {
            c.add(self.effective_state(&r)?.0);
        }
        Ok(c)
    }

    /// A recipient's state with what the outbox knows since: an in-flight or
    /// unknown send whose echo arrived later is sent.
    fn effective_state(&self, r: &RecipientRecord) -> Result<(RecipientState, Option<Mid>)> {
        if matches!(r.state, RecipientState::InFlight | RecipientState::Unknown) {
            if let Some(o) = r
                .outbox_id
                .as_deref()
                .map(|id| self.outbox_get(id))
                .transpose()?
                .flatten()
            {
                if let (OutboxState::Sent, Some(mid)) = (o.state, o.mid) {
                    return Ok((RecipientState::Sent, Some(mid)));
                }
            }
        }
        Ok((r.state, r.mid.clone()))
    }

    /// Every campaign with its recipients, for `dmdesk export --what campaigns`.
    fn campaigns_export(&self) -> Result<Vec<CampaignExport>> {
        let mut out = Vec::new();
        for c in self.campaigns_list()? {
            let mut counts = CampaignCounts::default();
            let mut recipients = Vec::new();
            for r in self.campaign_recipients(&c.id)? {
                let (state, mid) = self.effective_state(&r)?;
                counts.add(state);
                recipients.push(RecipientExport {
                    platform: r.conv.platform.as_str().to_string(),
                    account_id: r.conv.account.0.clone(),
                    user_id: r.conv.user.0.clone(),
                    state,
                    reason: r.reason.clone(),
                    mid: mid.map(|m| m.0),
                });
            }
            out.push(CampaignExport {
                id: c.id,
                title: c.title,
                status: c.status,
                status_reason: c.status_reason,
                text: c.text,
                tag: c.tag,
                created_by: c.created_by,
                created_at_ms: c.created_at.0,
                finished_at_ms: c.finished_at.map(|t| t.0),
                counts,
                recipients,
            });
        }
        Ok(out)
    }

    // ---- search -------------------------------------------------------------

    /// Conversations with a message whose latest text contains `query`
    /// (case-insensitive substring, any script; unsent messages excluded),
    /// newest activity first, at most `limit` (after `from`, where an
    /// earlier page stopped), each with its newest matching message.
    /// Answered from the index the apply path keeps (`crate::search`),
    /// never by reading every message.
    fn search(
        &self,
        query: &str,
        from: Option<&crate::search::SearchFrom>,
        limit: usize,
    ) -> Result<crate::search::SearchResults>;
}

/// Where the data lives (`[store] backend`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Backend {
    /// The embedded store in `[store] path` (the default: no database needed).
    #[default]
    Sled,
    /// A PostgreSQL database shared by several processes.
    Postgres(postgres::PgUrl),
}

/// Open the embedded store at `path` (the default backend).
pub fn open(path: &Path, cache_mb: u64, mode: &str) -> Result<Arc<dyn Store>> {
    Ok(embedded::SledStore::open(path, cache_mb, mode)?)
}

/// Open the configured backend. `path` is the local directory either way
/// (the data itself with sled; the control socket and caches with both).
pub fn open_backend(
    backend: &Backend,
    path: &Path,
    cache_mb: u64,
    mode: &str,
) -> Result<Arc<dyn Store>> {
    match backend {
        Backend::Sled => open(path, cache_mb, mode),
        Backend::Postgres(url) => Ok(postgres::PgStore::open(url, path, mode)?),
    }
}
