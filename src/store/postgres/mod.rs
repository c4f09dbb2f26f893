//! The PostgreSQL backend: one database shared by every dmdesk process.
//!
//! `Store` is synchronous, so each call runs its queries on this store's own
//! small tokio runtime and the caller's thread waits on a std channel (safe
//! inside and outside a tokio context, unlike `block_on`). Records are the
//! same JSON documents the embedded backend keeps; columns beside them carry
//! the keys, uniqueness and order that queries and claims need.

mod apply;
mod campaign;
mod copy;
mod events;
mod facts;
mod feed;
mod feed_write;
mod keys;
mod locks;
mod note_drafts;
mod presence;
mod query;
mod rows;
mod schema;
mod search;
mod team;
mod url;

pub use copy::{CopyRows, TABLES};
pub use feed::APPLICATION as FEED_APPLICATION;
pub use schema::DatabaseInfo;
pub use url::PgUrl;

use super::{
    Applied, CampaignRecord, DeadToken, EventRecord, NewRecipient, OutboxRecord, RecipientRecord,
    RecipientState, Result, Rows, Store, StoreError, Swap,
};
use crate::change::Change;
use crate::domain::{Contact, ConvKey, Conversation, Message, Mid, TimestampMs};
use crate::filter::ConvFilter;
use crate::team::{AgentName, HistoryEvent, MailItem, Note};
use crate::update::Viewer;
use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod};
use futures::future::BoxFuture;
use serde::{de::DeserializeOwned, Serialize};
use std::future::Future;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Connections per process: enough for a webhook burst, few enough that
/// several receivers stay far below PostgreSQL's default 100.
const POOL_SIZE: usize = 16;
const WORKER_THREADS: usize = 2;

/// What went wrong inside a query task, before it becomes a `StoreError`.
#[derive(Debug)]
pub(crate) enum PgError {
    Db(tokio_postgres::Error),
    Pool(String),
    Store(StoreError),
}

impl From<tokio_postgres::Error> for PgError {
    fn from(e: tokio_postgres::Error) -> PgError {
        PgError::Db(e)
    }
}

impl From<StoreError> for PgError {
    fn from(e: StoreError) -> PgError {
        PgError::Store(e)
    }
}

impl From<deadpool_postgres::PoolError> for PgError {
    fn from(e: deadpool_postgres::PoolError) -> PgError {
        PgError::Pool(e.to_string())
    }
}

impl PgError {
    /// A conflict with another writer: the whole transaction may run again.
    fn is_retryable(&self) -> bool {
        use tokio_postgres::error::SqlState;
        match self {
            PgError::Db(e) => e.code().is_some_and(|c| {
                *c == SqlState::T_R_DEADLOCK_DETECTED
                    || *c == SqlState::T_R_SERIALIZATION_FAILURE
                    || *c == SqlState::UNIQUE_VIOLATION
            }),
            _ => false,
        }
    }
}

impl From<PgError> for StoreError {
    fn from(e: PgError) -> StoreError {
        match e {
            PgError::Db(e) => StoreError::Backend(db_message(&e)),
            PgError::Pool(m) => StoreError::Backend(format!("database pool: {m}")),
            PgError::Store(e) => e,
        }
    }
}

/// The server's own words when it sent some (the default text is "db error").
fn db_message(e: &tokio_postgres::Error) -> String {
    match e.as_db_error() {
        Some(d) => format!("database: {}", d.message()),
        // "error connecting to server" alone hides why: add the causes.
        None => {
            let mut text = format!("database: {e}");
            let mut cause = std::error::Error::source(e);
            while let Some(c) = cause {
                text.push_str(&format!(": {c}"));
                cause = c.source();
            }
            text
        }
    }
}

pub(crate) type PgResult<T> = std::result::Result<T, PgError>;

pub struct PgStore {
    pool: Pool,
    /// Owned so the queries never depend on the caller's runtime; shut down
    /// in the background on drop (dropping a runtime in async code panics).
    runtime: Option<tokio::runtime::Runtime>,
    path: PathBuf,
    mode: String,
    url: PgUrl,
    pg: tokio_postgres::Config,
    /// Names this store's rows in the change feed (see `feed`).
    origin: String,
    /// Why the database is unreachable, while it is (set by the feed's
    /// connection, which retries every few seconds; `health`).
    down: feed::Down,
    /// Who views what: this process's sessions, mirrored to the database.
    presence: Arc<presence::Table>,
    search_build: crate::search::BuildProgress,
    /// Group-commits webhook bodies (see `events`).
    appender: Arc<events::Appender>,
}

impl PgStore {
    /// Connect, bring the schema up to date, and keep a pool. `path` is the
    /// local directory beside the data (control socket, caches).
    pub fn open(url: &PgUrl, path: &Path, mode: &str) -> Result<Arc<PgStore>> {
        crate::store::embedded::private_dir_all(path).map_err(|source| StoreError::Dir {
            path: path.to_path_buf(),
            source,
        })?;
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(WORKER_THREADS)
            .thread_name("dmdesk-pg")
            .enable_all()
            .build()
            .map_err(|e| StoreError::Backend(format!("cannot start database threads: {e}")))?;
        let pg: tokio_postgres::Config = url
            .expose()
            .parse()
            .map_err(|e: tokio_postgres::Error| StoreError::Backend(url.scrub(&e.to_string())))?;
        let manager = Manager::from_config(
            pg.clone(),
            tokio_postgres::NoTls,
            ManagerConfig {
                recycling_method: RecyclingMethod::Fast,
            },
        );
        let pool = Pool::builder(manager)
            .max_size(POOL_SIZE)
            .runtime(deadpool_postgres::Runtime::Tokio1)
            .build()
            .map_err(|e| StoreError::Backend(format!("database pool: {e}")))?;
        let origin = feed::origin_id();
        let appender = Arc::new(events::Appender::start(
            runtime.handle(),
            pool.clone(),
            origin.clone(),
        ));
        let store = PgStore {
            presence: presence::Table::new(origin.clone()),
            pool,
            runtime: Some(runtime),
            path: path.to_path_buf(),
            mode: mode.to_string(),
            url: url.clone(),
            pg: pg.clone(),
            origin,
            down: feed::Down::default(),
            search_build: Default::default(),
            appender,
        };
        store
            .run(move |_| async move { schema::migrate(&pg).await })
            .map_err(|e| store.named(e))?;
        let progress = store.search_build.clone();
        store
            .run(move |p| search::index_old_messages(p, progress))
            .map_err(|e| store.named(e))?;
        store.run(facts::build_once).map_err(|e| store.named(e))?;
        Ok(Arc::new(store))
    }

    /// Bring a database's schema up to migration `version` only (tests of
    /// upgrades from an older schema).
    #[doc(hidden)]
    pub fn migrate_only_to(url: &PgUrl, version: u32) -> Result<()> {
        let pg: tokio_postgres::Config = url
            .expose()
            .parse()
            .map_err(|e: tokio_postgres::Error| StoreError::Backend(url.scrub(&e.to_string())))?;
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| StoreError::Backend(e.to_string()))?;
        std::thread::scope(|s| {
            s.spawn(|| rt.block_on(schema::migrate_to(&pg, Some(version))))
                .join()
                .map_err(|_| StoreError::Backend("migration thread panicked".into()))?
                .map_err(StoreError::from)
        })
    }

    /// Publish on `bus` what other processes commit, from now on, until
    /// this store is dropped (a task on the store's runtime with its own
    /// connection, reconnecting by itself).
    pub fn follow(&self, bus: Arc<crate::bus::Bus>) {
        // "Now" is when this call returns, not when the follower's own
        // connection is up: a commit in between is not skipped.
        let start = self
            .run(|pool| async move {
                let client = pool.get().await?;
                Ok(feed::Cursor::newest(&client).await?)
            })
            .ok();
        self.presence.set_bus(bus.clone());
        self.keep_presence();
        self.handle().spawn(feed::follow(
            self.pg.clone(),
            self.origin.clone(),
            bus,
            self.down.clone(),
            start,
            self.presence.clone(),
        ));
    }

    /// Start mirroring this store's presence to the database (once).
    fn keep_presence(&self) {
        if self.presence.start() {
            self.handle()
                .spawn(presence::keep(self.pool.clone(), self.presence.clone()));
        }
    }

    /// Database server version and schema version (`dmdesk doctor`).
    pub fn describe(&self) -> Result<DatabaseInfo> {
        self.run(|pool| async move { schema::describe(&pool).await })
            .map_err(|e| self.named(e))
    }

    /// An error that says which database (password redacted).
    fn named(&self, e: StoreError) -> StoreError {
        // The inner error's own words, not its "store error:" prefix again.
        let text = match &e {
            StoreError::Backend(m) => m.clone(),
            other => other.to_string(),
        };
        StoreError::Backend(format!("{} ({})", self.url.scrub(&text), self.url))
    }

    /// Run `f` on the store's runtime; the calling thread waits for it.
    fn run<T, F, Fut>(&self, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(Pool) -> Fut,
        Fut: Future<Output = PgResult<T>> + Send + 'static,
    {
        let (tx, rx) = std::sync::mpsc::sync_channel(1);
        let fut = f(self.pool.clone());
        self.handle().spawn(async move {
            let _ = tx.send(fut.await);
        });
        rx.recv()
            .map_err(|_| StoreError::Backend("the database task stopped".into()))?
            .map_err(StoreError::from)
    }

    /// The same as a future, for the trait's async methods.
    fn run_async<T, Fut>(&self, fut: Fut) -> impl Future<Output = Result<T>> + Send + 'static
    where
        T: Send + 'static,
        Fut: Future<Output = PgResult<T>> + Send + 'static,
    {
        let (tx, rx) = tokio::sync::oneshot::channel();
        self.handle().spawn(async move {
            let _ = tx.send(fut.await);
        });
        async move {
            rx.await
                .map_err(|_| StoreError::Backend("the database task stopped".into()))?
                .map_err(StoreError::from)
        }
    }

    fn handle(&self) -> &tokio::runtime::Handle {
        self.runtime
            .as_ref()
            .expect("runtime lives until drop")
            .handle()
    }
}

impl Drop for PgStore {
    fn drop(&mut self) {
        if self.presence.wrote() {
            // No stale "X is viewing" on the other processes after we go.
            let (pool, table) = (self.pool.clone(), self.presence.clone());
            let closed = self.run(move |_| async move {
                tokio::time::timeout(presence::CLOSE_WITHIN, presence::close(pool, table))
                    .await
                    .unwrap_or(Ok(()))
            });
            if let Err(e) = closed {
                tracing::warn!("presence rows left to expire: {e}");
            }
        }
        if let Some(rt) = self.runtime.take() {
            rt.shutdown_background();
        }
    }
}

pub(crate) fn encode<T: Serialize>(v: &T) -> serde_json::Value {
    serde_json::to_value(v).expect("store records serialise")
}

pub(crate) fn decode<T: DeserializeOwned>(v: serde_json::Value) -> PgResult<T> {
    serde_json::from_value(v).map_err(|e| PgError::Store(StoreError::Corrupt(e.to_string())))
}

fn to_i64(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

impl Store for PgStore {
    fn backend(&self) -> &'static str {
        "postgres"
    }
    fn path(&self) -> &Path {
        &self.path
    }
    fn holder_mode(&self) -> &str {
        &self.mode
    }

    // Every write is a committed transaction: durable when it returns.
    fn flush(&self) -> Result<()> {
        Ok(())
    }
    fn flush_count(&self) -> u64 {
        0
    }
    fn durable(&self) -> BoxFuture<'_, ()> {
        Box::pin(async {})
    }
    fn health(&self) -> std::result::Result<(), String> {
        match self.down.get() {
            Some(why) => Err(format!("database unavailable ({why})")),
            None => Ok(()),
        }
    }

    fn append_event<'a>(
        &'a self,
        body: &'a [u8],
        received: TimestampMs,
    ) -> BoxFuture<'a, Result<u64>> {
        let (appender, body) = (self.appender.clone(), body.to_vec());
        Box::pin(self.run_async(async move { appender.append(body, received).await }))
    }
    fn append_event_nowait(&self, body: &[u8], received: TimestampMs) -> Result<u64> {
        let (appender, body) = (self.appender.clone(), body.to_vec());
        self.run(|_| async move { appender.append(body, received).await })
    }
    fn applied_seq(&self) -> Result<u64> {
        self.run(|p| async move { events::applied_seq(&p).await })
    }
    fn set_applied_seq(&self, seq: u64) -> Result<()> {
        self.run(|p| async move { query::meta_put(&p, "ingest_applied", &seq).await })
    }
    fn events_after(&self, after: u64, limit: usize) -> Result<Vec<EventRecord>> {
        self.run(|p| async move { events::after(&p, after, limit).await })
    }
    fn get_event(&self, seq: u64) -> Result<Option<EventRecord>> {
        self.run(|p| async move { events::get(&p, seq).await })
    }
    fn quarantine_event(&self, seq: u64, reason: &str) -> Result<()> {
        let reason = reason.to_string();
        self.run(|p| async move { events::quarantine(&p, seq, &reason).await })
    }
    fn release_event(&self, seq: u64) -> Result<()> {
        self.run(|p| async move { events::release(&p, seq).await })
    }
    fn quarantined(&self) -> Result<Vec<u64>> {
        self.run(|p| async move { events::quarantined(&p).await })
    }
    fn delete_event(&self, seq: u64) -> Result<bool> {
        self.run(|p| async move { events::delete(&p, seq).await })
    }

    fn apply(&self, changes: &[Change]) -> Result<Applied> {
        let (changes, origin) = (changes.to_vec(), self.origin.clone());
        self.run(|p| async move { apply::apply(&p, &changes, &origin).await })
    }
    fn next_id(&self) -> Result<u64> {
        self.run(|p| async move { query::next_id(&p).await })
    }

    fn conversation(&self, key: &ConvKey) -> Result<Option<Conversation>> {
        let k = keys::conv(key);
        self.run(|p| async move { query::doc_by_key(&p, query::CONVERSATION, &k).await })
    }
    fn contact(&self, key: &ConvKey) -> Result<Option<Contact>> {
        let k = keys::conv(key);
        self.run(|p| async move { query::doc_by_key(&p, query::CONTACT, &k).await })
    }
    fn conversation_count(&self) -> Result<u64> {
        self.run(|p| async move { query::conversation_count(&p).await })
    }
    fn conversations(
        &self,
        filter: &ConvFilter,
        offset: usize,
        limit: usize,
    ) -> Result<Vec<Conversation>> {
        let filter = filter.clone();
        self.run(|p| async move { query::conversations(&p, &filter, offset, limit).await })
    }
    fn count_matching(&self, filter: &ConvFilter) -> Result<u64> {
        let filter = filter.clone();
        self.run(|p| async move { query::count_matching(&p, &filter).await })
    }
    fn unread_counts(&self) -> Result<Vec<(ConvKey, u32)>> {
        self.run(|p| async move { query::unread_counts(&p).await })
    }
    fn messages_latest(&self, conv: &ConvKey, limit: usize) -> Result<Vec<Message>> {
        let (start, end) = (keys::conv(conv), keys::conv_end(conv));
        self.run(|p| async move { query::messages_below(&p, &start, &end, limit).await })
    }
    fn messages_before(
        &self,
        conv: &ConvKey,
        before: &Message,
        limit: usize,
    ) -> Result<Vec<Message>> {
        let start = keys::conv(conv);
        let end = keys::message(conv, before.timestamp, &before.mid);
        self.run(|p| async move { query::messages_below(&p, &start, &end, limit).await })
    }
    fn message(&self, mid: &Mid) -> Result<Option<Message>> {
        let mid = mid.0.clone();
        self.run(|p| async move { query::message(&p, &mid).await })
    }
    fn all_messages(&self) -> Rows<'_, Message> {
        rows::paged(self, rows::Table::Messages)
    }
    fn all_contacts(&self) -> Rows<'_, Contact> {
        rows::paged(self, rows::Table::Contacts)
    }
    fn all_conversations(&self) -> Rows<'_, Conversation> {
        rows::paged(self, rows::Table::Conversations)
    }
    fn all_events(&self) -> Rows<'_, EventRecord> {
        events::all(self)
    }

    fn history(&self, conv: &ConvKey) -> Result<Vec<HistoryEvent>> {
        let k = keys::conv(conv);
        self.run(|p| async move { team::docs(&p, team::HISTORY, &k).await })
    }
    fn history_since(&self, since: TimestampMs) -> Rows<'_, HistoryEvent> {
        team::history_since(self, since)
    }
    fn report_history(&self, context: TimestampMs, from: TimestampMs) -> Rows<'_, HistoryEvent> {
        team::report_history(self, context, from)
    }
    fn all_history(&self) -> Rows<'_, (u64, HistoryEvent)> {
        team::all_history(self)
    }
    fn report_facts(&self, from: TimestampMs) -> Result<Option<Rows<'_, crate::report::Fact>>> {
        facts::report_facts(self, from)
    }
    fn rebuild_report_facts(&self) -> Result<()> {
        self.run(|p| async move { facts::fill(&p).await })
    }
    fn all_mail(&self) -> Rows<'_, MailItem> {
        team::all_mail(self)
    }
    fn conversations_active_before(&self, t: TimestampMs) -> Result<u64> {
        self.run(|p| async move { team::conversations_active_before(&p, t).await })
    }
    fn notes(&self, conv: &ConvKey) -> Result<Vec<Note>> {
        let k = keys::conv(conv);
        self.run(|p| async move { team::docs(&p, team::NOTES, &k).await })
    }
    fn all_notes(&self) -> Rows<'_, Note> {
        team::all_notes(self)
    }
    fn mailbox(&self, agent: &AgentName) -> Result<Vec<MailItem>> {
        let a = agent.as_str().to_string();
        self.run(|p| async move { team::docs(&p, team::MAILBOX, &a).await })
    }
    fn mailbox_ack(&self, agent: &AgentName, ids: &[String]) -> Result<()> {
        let (a, ids) = (agent.as_str().to_string(), ids.to_vec());
        self.run(|p| async move { team::mailbox_ack(&p, &a, &ids).await })
    }

    fn draft(&self, conv: &ConvKey) -> Result<Option<String>> {
        let k = keys::conv(conv);
        self.run(|p| async move { query::draft(&p, &k).await })
    }
    fn set_draft(&self, conv: &ConvKey, text: &str) -> Result<()> {
        let (k, text) = (keys::conv(conv), text.to_string());
        self.run(|p| async move { query::set_draft(&p, &k, &text).await })
    }
    fn note_draft(&self, conv: &ConvKey) -> Result<Option<String>> {
        let k = keys::conv(conv);
        self.run(|p| async move { note_drafts::get(&p, &k).await })
    }
    fn set_note_draft(&self, conv: &ConvKey, text: &str) -> Result<()> {
        let (k, text) = (keys::conv(conv), text.to_string());
        self.run(|p| async move { note_drafts::set(&p, &k, &text).await })
    }
    fn note_drafts(&self) -> Result<Vec<(ConvKey, String)>> {
        self.run(|p| async move { note_drafts::all(&p).await })
    }

    fn outbox_get(&self, id: &str) -> Result<Option<OutboxRecord>> {
        let id = id.to_string();
        self.run(|p| async move { query::outbox_get(&p, &id).await })
    }
    fn outbox_pending(&self) -> Result<Vec<OutboxRecord>> {
        self.run(|p| async move { query::outbox_records(&p, true).await })
    }
    fn all_outbox(&self) -> Result<Vec<OutboxRecord>> {
        self.run(|p| async move { query::outbox_records(&p, false).await })
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
        let new = campaign::NewCampaign {
            title: title.to_string(),
            text: text.to_string(),
            tag: tag.map(str::to_string),
            created_by: created_by.map(str::to_string),
            recipients: recipients.to_vec(),
            now,
        };
        self.run(|p| async move { campaign::create(&p, new).await })
    }
    fn campaign(&self, id: &str) -> Result<Option<CampaignRecord>> {
        let id = id.to_string();
        self.run(|p| async move { campaign::get(&p, &id).await })
    }
    fn campaigns_list(&self) -> Result<Vec<CampaignRecord>> {
        self.run(|p| async move { campaign::list(&p).await })
    }
    fn put_campaign(&self, rec: &CampaignRecord) -> Result<()> {
        let rec = rec.clone();
        self.run(|p| async move { campaign::put(&p, &rec).await })
    }
    fn campaign_recipients(&self, id: &str) -> Result<Vec<RecipientRecord>> {
        let id = id.to_string();
        self.run(|p| async move { campaign::recipients(&p, &id).await })
    }
    fn campaign_recipient(&self, id: &str, index: u32) -> Result<Option<RecipientRecord>> {
        let id = id.to_string();
        self.run(|p| async move { campaign::recipient(&p, &id, index).await })
    }
    fn put_recipient(&self, r: &RecipientRecord) -> Result<()> {
        let r = r.clone();
        self.run(|p| async move { campaign::put_recipient(&p, &r).await })
    }
    fn swap_recipient(
        &self,
        r: &RecipientRecord,
        expect: RecipientState,
    ) -> Result<Swap<RecipientRecord>> {
        let r = r.clone();
        self.run(|p| async move { campaign::swap_recipient(&p, &r, expect).await })
    }

    fn last_sync(&self, account: &str) -> Result<Option<TimestampMs>> {
        let key = format!("last_sync:{account}");
        self.run(|p| async move { query::meta_get(&p, &key).await })
    }
    fn set_last_sync(&self, account: &str, at: TimestampMs) -> Result<()> {
        let key = format!("last_sync:{account}");
        self.run(|p| async move { query::meta_put(&p, &key, &at).await })
    }
    fn mark_token_dead(
        &self,
        page: &str,
        fingerprint: &str,
        reason: &str,
        at: TimestampMs,
    ) -> Result<()> {
        let key = format!("token_dead:{page}");
        let mark = DeadToken {
            at,
            reason: reason.to_string(),
            fingerprint: fingerprint.to_string(),
        };
        self.run(|p| async move { query::meta_put(&p, &key, &mark).await })
    }
    fn token_dead(&self, page: &str, fingerprint: &str) -> Result<Option<DeadToken>> {
        let key = format!("token_dead:{page}");
        let fingerprint = fingerprint.to_string();
        self.run(|p| async move { query::token_dead(&p, &key, &fingerprint).await })
    }
    fn clear_token_dead(&self, page: &str) -> Result<()> {
        let key = format!("token_dead:{page}");
        self.run(|p| async move { query::meta_delete(&p, &key).await })
    }

    fn job_lock<'a>(
        &'a self,
        name: &'a str,
        wait: bool,
    ) -> BoxFuture<'a, Result<Option<crate::store::JobGuard>>> {
        let (pg, name) = (self.pg.clone(), name.to_string());
        Box::pin(self.run_async(locks::take(pg, name, wait)))
    }

    fn database_info(&self) -> Result<Option<DatabaseInfo>> {
        self.describe().map(Some)
    }

    // This process's sessions answer from memory at once; the database
    // adds the other processes' (see `presence`).
    fn presence_get(&self, session: u64) -> Option<Viewer> {
        self.presence.get(session)
    }
    fn presence_put(&self, session: u64, viewer: Option<Viewer>) {
        self.presence.put(session, viewer);
        self.keep_presence();
    }
    fn presence_list(&self) -> Vec<Viewer> {
        let table = self.presence.clone();
        self.run(|p| async move { presence::list(&p, &table).await })
            .unwrap_or_else(|e| {
                // Database down: this process's viewers are still right.
                tracing::debug!("presence of other processes unavailable: {e}");
                self.presence.mine()
            })
    }

    fn search(
        &self,
        query: &str,
        from: Option<&crate::search::SearchFrom>,
        limit: usize,
    ) -> Result<crate::search::SearchResults> {
        let (query, from, progress) = (query.to_string(), from.cloned(), self.search_build.clone());
        self.run(move |p| async move { search::search(&p, &query, from, limit, progress).await })
    }
}
