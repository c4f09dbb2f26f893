//! The embedded backend: one sled database in a local directory, held by
//! one process. Nothing outside this folder sees sled.

mod accounts;
mod apply;
mod campaign;
pub mod eventlog;
mod events;
mod facts;
pub mod flusher;
pub mod frame;
mod history;
pub mod keys;
pub mod log;
mod migrate;
mod note_drafts;
mod outbound;
mod outbox;
mod query;
pub mod record;
mod search;
pub mod segment;
mod team;
mod txn;

pub use events::retain_events_for;

use super::{
    Applied, CampaignRecord, DeadToken, EventRecord, NewRecipient, OutboxRecord, RecipientRecord,
    RecipientState, Result, Rows, Store, StoreError, Swap,
};
use crate::change::Change;
use crate::domain::{Contact, ConvKey, Conversation, Message, Mid, TimestampMs};
use crate::filter::ConvFilter;
use crate::team::{AgentName, HistoryEvent, MailItem, Note};
use crate::update::Viewer;
use futures::future::BoxFuture;
use log::GroupFlush;
use serde::{de::DeserializeOwned, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

impl From<sled::Error> for StoreError {
    fn from(e: sled::Error) -> StoreError {
        StoreError::Backend(e.to_string())
    }
}

pub struct SledStore {
    db: sled::Db,
    path: PathBuf,
    /// The mode named in the holder file (`serve`, `inbox`, ...).
    mode: String,
    quarantine: sled::Tree,
    /// Quarantined events deleted by the operator (seq → ()).
    deleted_events: sled::Tree,
    contacts: sled::Tree,
    conversations: sled::Tree,
    by_activity: sled::Tree,
    messages: sled::Tree,
    mid_index: sled::Tree,
    deferred: sled::Tree,
    /// False while `deferred` is empty, so the common case skips a tree op.
    deferred_any: AtomicBool,
    outbox: sled::Tree,
    drafts: sled::Tree,
    meta: sled::Tree,
    pub(crate) campaigns: sled::Tree,
    pub(crate) campaign_recipients: sled::Tree,
    /// The team's history by time (`ts, id` → event): reports read ranges.
    history: sled::Tree,
    /// The same events by conversation (`conv, ts, id` → ()).
    history_by_conv: sled::Tree,
    /// The report's facts by time (`ts, id` of their history event).
    report_facts: sled::Tree,
    /// Half-written private notes set aside, by conversation.
    note_drafts: sled::Tree,
    /// Notes (`conv, ts, id` → note).
    notes: sled::Tree,
    /// Unseen mentions and takeovers (`agent NUL, ts, id` → item).
    mailbox: sled::Tree,
    /// Search signatures by conversation (`search.rs`).
    search: sled::Tree,
    search_build: crate::search::BuildProgress,
    flush: Arc<GroupFlush>,
    /// Raw webhook bodies, fdatasync'd before they are acknowledged.
    log: eventlog::EventLog,
    applied_marks: Mutex<events::AppliedMarks>,
    /// Serialises apply: a webhook and a sync delivering one mid at once
    /// must not both insert it, and apply's reads see no other writer.
    apply_lock: Mutex<()>,
    /// Who views what (in memory: presence is not worth a disk write).
    presence: Mutex<BTreeMap<u64, Viewer>>,
    /// Failpoint for tests: the next commit aborts after this many writes.
    fail_commit_after: AtomicUsize,
}

impl Drop for SledStore {
    fn drop(&mut self) {
        self.flush.close();
    }
}

/// The event log's segment files, inside the store directory.
pub const EVENT_LOG_DIR: &str = "eventlog";

/// Written beside the store so a second process can say who holds it.
const HOLDER_FILE: &str = "dmdesk.holder";

/// The group the store is shared with (`[control] group`), set once at
/// start before the store is opened; None: owner only.
static SHARE_GROUP: std::sync::OnceLock<u32> = std::sync::OnceLock::new();

/// Share the store with a group: directories 0750 and files 0640, owned by
/// that group (agents in it reach the control socket inside the store
/// directory). Without it: 0700 and 0600. Call before opening the store.
pub fn share_with_group(gid: u32) {
    let _ = SHARE_GROUP.set(gid);
}

fn share_group() -> Option<u32> {
    SHARE_GROUP.get().copied()
}

/// The modes for a directory and a file.
fn modes(group: Option<u32>) -> (u32, u32) {
    match group {
        Some(_) => (0o750, 0o640),
        None => (0o700, 0o600),
    }
}

/// `create_dir_all` that creates every missing directory 0700 (the data
/// directory above the store included).
pub fn private_dir_all(path: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(path)
}

/// [`private_dir_all`], and the directory itself 0700 even if it existed
/// (a private spool that others must never read).
pub fn private_dir(path: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    private_dir_all(path)?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o700))
}

/// Give the store directory and everything in it the private modes (see
/// [`share_with_group`]); each path that was more open is logged. Sockets
/// and other special files are left to their owners (the control socket
/// sets its own mode). Returns the paths that were changed.
pub fn fix_modes(dir: &Path, group: Option<u32>) -> std::io::Result<Vec<std::path::PathBuf>> {
    use std::os::unix::fs::PermissionsExt;
    let (dir_mode, file_mode) = modes(group);
    let mut fixed = Vec::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(p) = todo.pop() {
        // Never follow a symlink out of the store.
        let meta = std::fs::symlink_metadata(&p)?;
        let want = if meta.is_dir() {
            for e in std::fs::read_dir(&p)? {
                todo.push(e?.path());
            }
            dir_mode
        } else if meta.is_file() {
            file_mode
        } else {
            continue;
        };
        if let Some(gid) = group {
            std::os::unix::fs::lchown(&p, None, Some(gid))?;
        }
        let have = meta.permissions().mode() & 0o7777;
        if have != want {
            std::fs::set_permissions(&p, std::fs::Permissions::from_mode(want))?;
            if have & !want != 0 {
                tracing::warn!(
                    path = %p.display(),
                    from = format!("{have:o}"),
                    to = format!("{want:o}"),
                    "store permissions were too open; fixed"
                );
            }
            fixed.push(p);
        }
    }
    Ok(fixed)
}

impl SledStore {
    /// Open (or create) the store. `mode` names this process in the holder file.
    pub fn open(path: &Path, cache_mb: u64, mode: &str) -> Result<Arc<SledStore>> {
        private_dir_all(path).map_err(|source| StoreError::Dir {
            path: path.to_path_buf(),
            source,
        })?;
        let config = sled::Config::new()
            .path(path)
            .cache_capacity(cache_mb * 1024 * 1024)
            // One thread flushes (store::log::GroupFlush), never two at once.
            .flush_every_ms(None);
        // A store this process dropped a moment ago may still be held by
        // sled's own I/O threads finishing with it: wait for them (bounded).
        let own_until = std::time::Instant::now() + std::time::Duration::from_secs(5);
        let db = loop {
            match config.open() {
                Ok(db) => break db,
                Err(sled::Error::Io(ref io)) if is_lock_error(io) => {
                    if held_by_this_process(path) && std::time::Instant::now() < own_until {
                        std::thread::sleep(std::time::Duration::from_millis(5));
                        continue;
                    }
                    return Err(StoreError::Held(held_message(path)));
                }
                Err(other) => return Err(other.into()),
            }
        };
        let _ = std::fs::write(
            path.join(HOLDER_FILE),
            format!("pid={} mode={}\n", std::process::id(), mode),
        );
        // Messages are private: the directory and every file sled made.
        if let Err(e) = fix_modes(path, share_group()) {
            tracing::warn!(path = %path.display(), error = %e, "cannot set the store's permissions");
        }
        let t = |n: &str| db.open_tree(n);
        // The old home of the events (moved into the log below).
        let events = t("events")?;
        let meta = t("meta")?;
        let applied: u64 = meta
            .get("ingest_applied")?
            .map(|v| decode(&v))
            .transpose()?
            .unwrap_or(0);
        let log = eventlog::EventLog::open(
            &path.join(EVENT_LOG_DIR),
            modes(share_group()).1,
            eventlog::SEGMENT_BYTES,
            applied + 1,
        )?;
        Self::import_sled_events(&events, &log)?;
        let store = SledStore {
            quarantine: t("quarantine")?,
            deleted_events: t("deleted_events")?,
            contacts: t("contacts")?,
            conversations: t("conversations")?,
            by_activity: t("conv_by_activity")?,
            messages: t("messages")?,
            mid_index: t("mid_index")?,
            deferred_any: AtomicBool::new(!t("deferred")?.is_empty()),
            deferred: t("deferred")?,
            outbox: t("outbox")?,
            drafts: t("drafts")?,
            meta,
            campaigns: t("campaigns")?,
            campaign_recipients: t("campaign_recipients")?,
            history: t("history")?,
            history_by_conv: t("history_by_conv")?,
            report_facts: t("report_facts")?,
            note_drafts: t("note_drafts")?,
            notes: t("notes")?,
            mailbox: t("mailbox")?,
            search: t("search")?,
            search_build: Default::default(),
            flush: GroupFlush::start(db.clone()),
            log,
            applied_marks: Mutex::default(),
            apply_lock: Mutex::new(()),
            presence: Mutex::new(BTreeMap::new()),
            fail_commit_after: AtomicUsize::new(0),
            path: path.to_path_buf(),
            mode: mode.to_string(),
            db,
        };
        migrate::on_open(&store)?;
        history::compact_once(&store)?;
        let store = Arc::new(store);
        search::index_old_messages(&store)?;
        facts::build_once(&store)?;
        Ok(store)
    }

    /// Failpoint for tests: the next `apply` fails after `writes` of its
    /// writes, inside its transaction (nothing of it may remain).
    pub fn fail_next_commit_after(&self, writes: usize) {
        self.fail_commit_after.store(writes, Ordering::Release);
    }

    pub(super) fn deferred_any(&self) -> bool {
        self.deferred_any.load(Ordering::Acquire)
    }

    pub(super) fn deferred_any_set(&self) {
        self.deferred_any.store(true, Ordering::Release);
    }

    // ---- meta -----------------------------------------------------------

    pub(super) fn meta_get<T: DeserializeOwned>(&self, key: &str) -> Result<Option<T>> {
        self.meta.get(key)?.map(|v| decode(&v)).transpose()
    }

    pub(super) fn meta_put<T: Serialize>(&self, key: &str, v: &T) -> Result<()> {
        self.meta.insert(key, encode(v))?;
        Ok(())
    }

    pub(super) fn last_sync(&self, account: &str) -> Result<Option<TimestampMs>> {
        self.meta_get(&format!("last_sync:{account}"))
    }

    pub(super) fn set_last_sync(&self, account: &str, at: TimestampMs) -> Result<()> {
        self.meta_put(&format!("last_sync:{account}"), &at)
    }
}

impl Store for SledStore {
    fn backend(&self) -> &'static str {
        "sled"
    }
    fn path(&self) -> &Path {
        &self.path
    }
    fn holder_mode(&self) -> &str {
        &self.mode
    }

    fn flush(&self) -> Result<()> {
        self.log.sync()?;
        self.db.flush()?;
        Ok(())
    }
    /// fdatasync calls of the event log (the flushes acknowledgements wait on).
    fn flush_count(&self) -> u64 {
        self.log.sync_count()
    }
    fn health(&self) -> std::result::Result<(), String> {
        if let Some(why) = self.log.failed() {
            return Err(format!("{why}; restart dmdesk once the disk is writable"));
        }
        match self.flush.failing() {
            Some(why) => Err(format!("the store cannot write: {why}")),
            None => Ok(()),
        }
    }
    fn durable(&self) -> BoxFuture<'_, ()> {
        Box::pin(self.flush.durable())
    }

    fn append_event<'a>(
        &'a self,
        body: &'a [u8],
        received: TimestampMs,
    ) -> BoxFuture<'a, Result<u64>> {
        Box::pin(SledStore::append_event(self, body, received))
    }
    fn append_event_nowait(&self, body: &[u8], received: TimestampMs) -> Result<u64> {
        SledStore::append_event_nowait(self, body, received)
    }
    fn applied_seq(&self) -> Result<u64> {
        SledStore::applied_seq(self)
    }
    fn set_applied_seq(&self, seq: u64) -> Result<()> {
        SledStore::set_applied_seq(self, seq)
    }
    fn events_after(&self, after: u64, limit: usize) -> Result<Vec<EventRecord>> {
        SledStore::events_after(self, after, limit)
    }
    fn get_event(&self, seq: u64) -> Result<Option<EventRecord>> {
        SledStore::get_event(self, seq)
    }
    fn quarantine_event(&self, seq: u64, reason: &str) -> Result<()> {
        SledStore::quarantine_event(self, seq, reason)
    }
    fn release_event(&self, seq: u64) -> Result<()> {
        SledStore::release_event(self, seq)
    }
    fn quarantined(&self) -> Result<Vec<u64>> {
        SledStore::quarantined(self)
    }
    fn delete_event(&self, seq: u64) -> Result<bool> {
        SledStore::delete_event(self, seq)
    }

    fn apply(&self, changes: &[Change]) -> Result<Applied> {
        self.apply_changes(changes)
    }
    fn next_id(&self) -> Result<u64> {
        Ok(self.db.generate_id()?)
    }

    fn conversation(&self, key: &ConvKey) -> Result<Option<Conversation>> {
        SledStore::conversation(self, key)
    }
    fn contact(&self, key: &ConvKey) -> Result<Option<Contact>> {
        SledStore::contact(self, key)
    }
    fn conversation_count(&self) -> Result<u64> {
        SledStore::conversation_count(self)
    }
    fn conversations(
        &self,
        filter: &ConvFilter,
        offset: usize,
        limit: usize,
    ) -> Result<Vec<Conversation>> {
        SledStore::conversations(self, filter, offset, limit)
    }
    fn count_matching(&self, filter: &ConvFilter) -> Result<u64> {
        SledStore::count_matching(self, filter)
    }
    fn unread_counts(&self) -> Result<Vec<(ConvKey, u32)>> {
        SledStore::unread_counts(self)
    }
    fn messages_latest(&self, conv: &ConvKey, limit: usize) -> Result<Vec<Message>> {
        SledStore::messages_latest(self, conv, limit)
    }
    fn messages_before(
        &self,
        conv: &ConvKey,
        before: &Message,
        limit: usize,
    ) -> Result<Vec<Message>> {
        SledStore::messages_before(self, conv, before, limit)
    }
    fn message(&self, mid: &Mid) -> Result<Option<Message>> {
        SledStore::message(self, mid)
    }
    fn all_messages(&self) -> Rows<'_, Message> {
        SledStore::all_messages(self)
    }
    fn all_contacts(&self) -> Rows<'_, Contact> {
        SledStore::all_contacts(self)
    }
    fn all_conversations(&self) -> Rows<'_, Conversation> {
        SledStore::all_conversations(self)
    }
    fn all_events(&self) -> Rows<'_, EventRecord> {
        SledStore::all_events(self)
    }

    fn history(&self, conv: &ConvKey) -> Result<Vec<HistoryEvent>> {
        SledStore::history(self, conv)
    }
    fn history_since(&self, since: TimestampMs) -> Rows<'_, HistoryEvent> {
        SledStore::history_since(self, since)
    }
    fn report_history(&self, context: TimestampMs, from: TimestampMs) -> Rows<'_, HistoryEvent> {
        SledStore::report_history(self, context, from)
    }
    fn all_history(&self) -> Rows<'_, (u64, HistoryEvent)> {
        SledStore::all_history(self)
    }
    fn report_facts(&self, from: TimestampMs) -> Result<Option<Rows<'_, crate::report::Fact>>> {
        SledStore::report_facts(self, from)
    }
    fn all_mail(&self) -> Rows<'_, MailItem> {
        SledStore::all_mail(self)
    }
    fn conversations_active_before(&self, t: TimestampMs) -> Result<u64> {
        SledStore::conversations_active_before(self, t)
    }
    fn notes(&self, conv: &ConvKey) -> Result<Vec<Note>> {
        SledStore::notes(self, conv)
    }
    fn all_notes(&self) -> Rows<'_, Note> {
        SledStore::all_notes(self)
    }
    fn mailbox(&self, agent: &AgentName) -> Result<Vec<MailItem>> {
        SledStore::mailbox(self, agent)
    }
    fn mailbox_ack(&self, agent: &AgentName, ids: &[String]) -> Result<()> {
        SledStore::mailbox_ack(self, agent, ids)
    }

    fn draft(&self, conv: &ConvKey) -> Result<Option<String>> {
        SledStore::draft(self, conv)
    }
    fn set_draft(&self, conv: &ConvKey, text: &str) -> Result<()> {
        SledStore::set_draft(self, conv, text)
    }
    fn note_draft(&self, conv: &ConvKey) -> Result<Option<String>> {
        SledStore::note_draft(self, conv)
    }
    fn set_note_draft(&self, conv: &ConvKey, text: &str) -> Result<()> {
        SledStore::set_note_draft(self, conv, text)
    }
    fn note_drafts(&self) -> Result<Vec<(ConvKey, String)>> {
        SledStore::note_drafts(self)
    }

    fn outbox_get(&self, id: &str) -> Result<Option<OutboxRecord>> {
        self.outbox_record(id)
    }
    fn outbox_pending(&self) -> Result<Vec<OutboxRecord>> {
        self.outbox_records(true)
    }
    fn all_outbox(&self) -> Result<Vec<OutboxRecord>> {
        self.outbox_records(false)
    }

    fn create_campaign(
        &self,
        title: &str,
        text: &str,
        tag: Option<&str>,
        created_by: Option<&str>,
        recipients: &[NewRecipient],
        now: TimestampMs,
    ) -> Result<CampaignRecord> {
        SledStore::create_campaign(self, title, text, tag, created_by, recipients, now)
    }
    fn campaign(&self, id: &str) -> Result<Option<CampaignRecord>> {
        SledStore::campaign(self, id)
    }
    fn campaigns_list(&self) -> Result<Vec<CampaignRecord>> {
        SledStore::campaigns_list(self)
    }
    fn put_campaign(&self, rec: &CampaignRecord) -> Result<()> {
        SledStore::put_campaign(self, rec)
    }
    fn campaign_recipients(&self, id: &str) -> Result<Vec<RecipientRecord>> {
        SledStore::campaign_recipients(self, id)
    }
    fn campaign_recipient(&self, id: &str, index: u32) -> Result<Option<RecipientRecord>> {
        SledStore::campaign_recipient(self, id, index)
    }
    fn put_recipient(&self, r: &RecipientRecord) -> Result<()> {
        SledStore::put_recipient(self, r)
    }
    fn swap_recipient(
        &self,
        r: &RecipientRecord,
        expect: RecipientState,
    ) -> Result<Swap<RecipientRecord>> {
        SledStore::swap_recipient(self, r, expect)
    }

    fn last_sync(&self, account: &str) -> Result<Option<TimestampMs>> {
        SledStore::last_sync(self, account)
    }
    fn set_last_sync(&self, account: &str, at: TimestampMs) -> Result<()> {
        SledStore::set_last_sync(self, account, at)
    }
    fn mark_token_dead(
        &self,
        page: &str,
        fingerprint: &str,
        reason: &str,
        at: TimestampMs,
    ) -> Result<()> {
        SledStore::mark_token_dead(self, page, fingerprint, reason, at)
    }
    fn token_dead(&self, page: &str, fingerprint: &str) -> Result<Option<DeadToken>> {
        SledStore::token_dead(self, page, fingerprint)
    }
    fn clear_token_dead(&self, page: &str) -> Result<()> {
        SledStore::clear_token_dead(self, page)
    }

    fn presence_get(&self, session: u64) -> Option<Viewer> {
        self.presence_lock().get(&session).cloned()
    }
    fn presence_put(&self, session: u64, viewer: Option<Viewer>) {
        let mut p = self.presence_lock();
        match viewer {
            Some(v) => p.insert(session, v),
            None => p.remove(&session),
        };
    }
    fn presence_list(&self) -> Vec<Viewer> {
        self.presence_lock().values().cloned().collect()
    }

    fn search(
        &self,
        query: &str,
        from: Option<&crate::search::SearchFrom>,
        limit: usize,
    ) -> Result<crate::search::SearchResults> {
        SledStore::search(self, query, from, limit)
    }
}

impl SledStore {
    fn presence_lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<u64, Viewer>> {
        self.presence.lock().unwrap_or_else(|e| e.into_inner())
    }
}

fn is_lock_error(e: &std::io::Error) -> bool {
    e.kind() == std::io::ErrorKind::WouldBlock
        || e.to_string().contains("lock")
        || e.raw_os_error() == Some(11)
}

/// The holder file's pid and mode, as far as it says them.
fn holder(path: &Path) -> (Option<String>, Option<String>) {
    let holder = std::fs::read_to_string(path.join(HOLDER_FILE)).unwrap_or_default();
    holder
        .split_whitespace()
        .fold((None, None), |(pid, mode), kv| match kv.split_once('=') {
            Some(("pid", p)) => (Some(p.to_string()), mode),
            Some(("mode", m)) => (pid, Some(m.to_string())),
            _ => (pid, mode),
        })
}

/// The holder file names this process.
fn held_by_this_process(path: &Path) -> bool {
    holder(path).0 == Some(std::process::id().to_string())
}

fn held_message(path: &Path) -> String {
    let who = holder(path);
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

/// A record in JSON or, for the trees that have it, the compact format
/// (`record::encode_compact`). Message records leave out what their key
/// holds: read them with [`record::decode_message`].
pub(crate) fn decode<T: DeserializeOwned>(v: &[u8]) -> Result<T> {
    record::decode_record(v)
}
