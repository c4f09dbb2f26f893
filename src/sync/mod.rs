//! Graph API sync: backfill and catch-up through the Conversations API with
//! field expansion (one call per page of threads, not one per contact),
//! feeding the same apply path as webhooks.
//!
//! Per account: pages of conversations, newest first; each thread's nested
//! messages paged further where Meta says there are more. After the first
//! successful run only threads updated since the last sync are read
//! (`last_sync` advances only on success, so an interrupted run is simply
//! done again). Paging cursors are never persisted: they expire.
//!
//! Page sizes: reads start large (`[sync] conversations_per_page` and
//! `messages_per_conversation`, 100 each by default), so that ordinary
//! threads come whole with their page — one call per page of threads, not
//! one more per long thread. Meta's maxima are not documented; when it
//! answers code 1 "Please reduce the amount of data you're asking for"
//! ([`ErrorClass::TooMuchData`]) the larger of the two is halved and the
//! same page asked again (same cursor). The sizes that worked are kept per
//! account for the rest of the process (later scheduled or on-demand syncs
//! start there); they are not persisted, since the `Store` trait has no
//! per-account key for them.

mod cli;
pub mod convert;
mod worker;

pub use cli::cli_sync;
pub use worker::run_worker;

use crate::change::Change;
use crate::config::{Config, PageConfig};
use crate::db::Db;
use crate::domain::{AccountId, ConvKey, Platform, TimestampMs};
use crate::meta::error::{ErrorClass, GraphError};
use crate::meta::graph::GraphClient;
use crate::profiles;
use crate::request::sync::{AccountReport, Skipped, SyncReport};
use crate::store::StoreError;
use crate::tokens::{dead_token, token_died};
use crate::update::{SyncProgress, Update};
use futures::FutureExt;
use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

/// The job lock of an account's sync (one process at a time).
fn sync_lock(account: &AccountId) -> String {
    format!("sync:{account}")
}

/// Between two attempts to take a lost sync lock again.
const RELOCK_WAIT: std::time::Duration = std::time::Duration::from_secs(2);

/// Instagram lets apps read only this many recent messages of a thread.
pub const INSTAGRAM_HISTORY: u32 = 20;
/// Overlap with the previous run, for clock skew between us and Meta.
pub const SLACK_MS: i64 = 10 * 60 * 1000;

#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    #[error("{0}")]
    Graph(#[from] GraphError),
    #[error("{0}")]
    Store(#[from] StoreError),
    #[error("the page token was marked invalid at {0:?}; put a new token in the config")]
    TokenDead(TimestampMs),
    #[error("cancelled")]
    Cancelled,
    /// The account's job lock went away (its database connection was cut):
    /// another process may be syncing it now.
    #[error("{0}")]
    LockLost(String),
}

/// How much one Conversations API read asks for: threads per page and
/// messages per thread (field expansion).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageSizes {
    pub conversations: u32,
    pub messages: u32,
}

impl PageSizes {
    /// Smaller pages after Meta answered "reduce the amount of data": the
    /// larger of the two halved (threads per page on a tie, so that whole
    /// threads keep coming in one answer); None when both are already 1.
    pub fn halved(self) -> Option<PageSizes> {
        let PageSizes {
            conversations,
            messages,
        } = self;
        if conversations <= 1 && messages <= 1 {
            None
        } else if conversations >= messages {
            Some(PageSizes {
                conversations: (conversations / 2).max(1),
                messages,
            })
        } else {
            Some(PageSizes {
                conversations,
                messages: (messages / 2).max(1),
            })
        }
    }

    /// The `fields` expansion asking for `messages` per thread (Messenger
    /// messages also with their `sticker`, a field Instagram's lack).
    pub fn fields(self, platform: Platform) -> String {
        let sticker = match platform {
            Platform::Messenger => ",sticker",
            Platform::Instagram => "",
        };
        format!(
            "participants,updated_time,messages.limit({}){{id,created_time,from,to,message,attachments{sticker}}}",
            self.messages
        )
    }
}

/// A paging link rewritten to ask for `limit` items, and (when given)
/// `messages` nested messages per thread in its `fields` expansion. Cursors
/// and every other parameter stay.
pub fn resize_link(link: &str, limit: u32, messages: Option<u32>) -> String {
    let Ok(mut u) = url::Url::parse(link) else {
        return link.to_string();
    };
    let mut pairs: Vec<(String, String)> = u
        .query_pairs()
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    let mut has_limit = false;
    for (k, v) in &mut pairs {
        match k.as_str() {
            "limit" => {
                *v = limit.to_string();
                has_limit = true;
            }
            "fields" => {
                if let Some(m) = messages {
                    *v = with_messages_limit(v, m);
                }
            }
            _ => {}
        }
    }
    if !has_limit {
        pairs.push(("limit".into(), limit.to_string()));
    }
    u.query_pairs_mut().clear().extend_pairs(pairs);
    u.to_string()
}

/// `messages.limit(N)` in a `fields` expression set to `m`.
fn with_messages_limit(fields: &str, m: u32) -> String {
    const KEY: &str = "messages.limit(";
    match fields.find(KEY) {
        Some(at) => {
            let start = at + KEY.len();
            let end = fields[start..]
                .find(')')
                .map_or(fields.len(), |e| start + e);
            format!("{}{m}{}", &fields[..start], &fields[end..])
        }
        None => fields.to_string(),
    }
}

/// The `limit` parameter of a paging link, if any.
fn link_limit(link: &str) -> Option<u32> {
    url::Url::parse(link)
        .ok()?
        .query_pairs()
        .find(|(k, _)| k == "limit")
        .and_then(|(_, v)| v.parse().ok())
}

pub struct Syncer {
    store: Db,
    config: Arc<Config>,
    graph: GraphClient,
    progress: watch::Sender<SyncProgress>,
    ig_notice_given: Mutex<HashSet<AccountId>>,
    /// Page sizes Meta accepted per account, after it asked for less data:
    /// later runs of this process start there. (Not persisted: the Store
    /// trait has no per-account key for it.)
    sizes: Mutex<HashMap<AccountId, PageSizes>>,
}

impl Syncer {
    pub fn new(store: Db, config: Arc<Config>, graph: GraphClient) -> Syncer {
        Syncer {
            store,
            config,
            graph,
            progress: watch::channel(SyncProgress::default()).0,
            ig_notice_given: Mutex::new(HashSet::new()),
            sizes: Mutex::new(HashMap::new()),
        }
    }

    /// Progress into `progress` rather than a channel of its own: the one a
    /// one-shot `dmdesk sync` watches, handed to the inbox that runs it.
    pub fn with_progress(mut self, progress: watch::Sender<SyncProgress>) -> Syncer {
        self.progress = progress;
        self
    }

    /// The page sizes the next read for `account` starts with: the
    /// configured ones (at most [`INSTAGRAM_HISTORY`] messages on
    /// Instagram), or the smaller ones Meta accepted earlier in this process.
    pub fn page_sizes(&self, platform: Platform, account: &AccountId) -> PageSizes {
        let mut messages = self.config.sync.messages_per_conversation.max(1);
        if platform == Platform::Instagram {
            messages = messages.min(INSTAGRAM_HISTORY);
        }
        let configured = PageSizes {
            conversations: self.config.sync.conversations_per_page.max(1),
            messages,
        };
        let remembered = self
            .sizes
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(account)
            .copied();
        match remembered {
            Some(r) => PageSizes {
                conversations: r.conversations.min(configured.conversations),
                messages: r.messages.min(configured.messages),
            },
            None => configured,
        }
    }

    fn remember_sizes(&self, account: &AccountId, sizes: PageSizes) {
        self.sizes
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(account.clone(), sizes);
    }

    fn bump(&self, f: impl FnOnce(&mut SyncProgress)) {
        self.progress.send_modify(f);
        self.store
            .publish(Update::Sync(self.progress.borrow().clone()));
    }

    /// Accounts (page or Instagram ids) of configured pages never synced.
    pub fn never_synced(&self) -> Vec<AccountId> {
        self.config
            .pages
            .iter()
            .filter(|p| self.store.last_sync(p.id.as_str()).ok().flatten().is_none())
            .map(|p| p.id.clone())
            .collect()
    }

    /// Sync every configured page, or only the one owning `only` (a page or
    /// Instagram id). One failed page does not stop the others.
    pub async fn run(&self, only: Option<&AccountId>, cancel: &CancellationToken) -> SyncReport {
        let pages: Vec<PageConfig> = self
            .config
            .pages
            .iter()
            .filter(|p| only.is_none_or(|a| &p.id == a || p.instagram_id.as_ref() == Some(a)))
            .cloned()
            .collect();
        self.progress.send_replace(SyncProgress {
            running: true,
            ..SyncProgress::default()
        });
        self.bump(|_| {});
        let mut report = SyncReport::default();
        for page in &pages {
            if cancel.is_cancelled() {
                report.cancelled = true;
                break;
            }
            let mut targets = self.targets(page);
            // `--account IG_ID` syncs just that side of the page.
            if let Some(a) = only {
                targets.retain(|(_, id)| id == a);
                if targets.is_empty() {
                    continue;
                }
            }
            for (platform, account) in targets {
                // One sync of an account at a time across processes sharing
                // a database: the one that has it does it, the others skip.
                let syncing = match self.store.job_lock(&sync_lock(&account), false).await {
                    Ok(Some(g)) => g,
                    Ok(None) => {
                        tracing::info!(%account, "sync of this account runs in another process; skipped");
                        report.skipped.push(Skipped {
                            platform,
                            account,
                            why: "another dmdesk is syncing it now".into(),
                        });
                        continue;
                    }
                    Err(e) => {
                        tracing::warn!(%account, error = %e, "sync lock unavailable; skipped");
                        report.skipped.push(Skipped {
                            platform,
                            account,
                            why: format!("its sync lock is unavailable: {e}"),
                        });
                        continue;
                    }
                };
                let calls_before = self.graph.calls_made();
                let mut r = AccountReport {
                    page: page.id.clone(),
                    platform,
                    account: account.clone(),
                    conversations: 0,
                    new_conversations: 0,
                    messages: 0,
                    profiles_fetched: 0,
                    calls: 0,
                    error: None,
                };
                let result = self
                    .sync_guarded(page, platform, &account, cancel, &mut r, syncing)
                    .await;
                r.calls = self.graph.calls_made().saturating_sub(calls_before);
                let stop_page = match result {
                    Ok(()) => false,
                    Err(SyncError::Cancelled) => {
                        report.cancelled = true;
                        r.error = Some("cancelled".into());
                        true
                    }
                    Err(e) => {
                        let dead = matches!(&e, SyncError::TokenDead(_))
                            || matches!(&e, SyncError::Graph(g) if g.class == ErrorClass::TokenInvalid);
                        if let SyncError::Graph(g) = &e {
                            if g.class == ErrorClass::TokenInvalid {
                                token_died(&self.store, page, g);
                            }
                        }
                        let text = format!(
                            "sync of {} {} ({}) failed: {e}",
                            platform, account, page.name
                        );
                        tracing::warn!("{text}");
                        if !matches!(&e, SyncError::TokenDead(_)) {
                            self.store.report_error(text);
                        }
                        self.bump(|p| p.errors += 1);
                        r.error = Some(e.to_string());
                        // A dead token is the page's, Instagram included.
                        dead
                    }
                };
                report.accounts.push(r);
                if stop_page {
                    break;
                }
            }
            self.bump(|p| p.pages += 1);
            if report.cancelled {
                break;
            }
        }
        self.bump(|p| {
            p.running = false;
            p.finished_at = Some(TimestampMs::now());
        });
        report
    }

    /// Sync one account while holding its job lock. A lost lock stops the
    /// sync between two pages (another process may hold the lock now): it
    /// says so, waits for the lock again, and then resumes, unless another
    /// process finished the account meanwhile.
    async fn sync_guarded(
        &self,
        page: &PageConfig,
        platform: Platform,
        account: &AccountId,
        cancel: &CancellationToken,
        r: &mut AccountReport,
        mut held: crate::store::JobGuard,
    ) -> Result<(), SyncError> {
        let started = TimestampMs::now();
        let what = format!("{} {} ({})", platform, account, page.name);
        loop {
            let why = match self
                .sync_account(page, platform, account, cancel, r, &held)
                .await
            {
                Err(SyncError::LockLost(why)) => why,
                done => return done,
            };
            drop(held);
            let text = format!(
                "sync of {what} paused: {why}; it resumes when this process holds the lock again"
            );
            tracing::warn!("{text}");
            self.store.report_error(text);
            held = self.relock(&sync_lock(account), &what, cancel).await?;
            let finished = self.store.last_sync(account.as_str()).ok().flatten();
            if finished.is_some_and(|t| t >= started) {
                tracing::info!("sync of {what}: another process finished it meanwhile");
                return Ok(());
            }
            tracing::info!("sync of {what} resumes: this process holds its lock again");
            self.store
                .publish(Update::Notice(format!("sync of {what} resumed")));
        }
    }

    /// Wait for a lost sync lock to be free again (the database may still
    /// be away: try again every few seconds); Cancelled if cancelled first.
    async fn relock(
        &self,
        lock: &str,
        what: &str,
        cancel: &CancellationToken,
    ) -> Result<crate::store::JobGuard, SyncError> {
        loop {
            let e = tokio::select! {
                g = self.store.job_lock(lock, true) => match g {
                    Ok(Some(g)) => return Ok(g),
                    Ok(None) => "the lock was not granted".to_string(),
                    Err(e) => e.to_string(),
                },
                _ = cancel.cancelled() => return Err(SyncError::Cancelled),
            };
            tracing::warn!("sync of {what} paused: its lock cannot be taken yet ({e})");
            tokio::select! {
                _ = tokio::time::sleep(RELOCK_WAIT) => {}
                _ = cancel.cancelled() => return Err(SyncError::Cancelled),
            }
        }
    }

    /// The accounts one `pages` entry syncs: a Page's Messenger side and its
    /// Instagram account, or an Instagram Login account alone. An Instagram
    /// account connected both ways is synced once, through Instagram Login
    /// (same conversations: the ids are the same, so this saves calls).
    fn targets(&self, page: &PageConfig) -> Vec<(Platform, AccountId)> {
        if page.is_instagram_login() {
            return vec![(Platform::Instagram, page.id.clone())];
        }
        let mut targets = vec![(Platform::Messenger, page.id.clone())];
        if let Some(ig) = &page.instagram_id {
            let also_login = self
                .config
                .pages
                .iter()
                .any(|p| p.is_instagram_login() && &p.id == ig);
            if !also_login {
                targets.push((Platform::Instagram, ig.clone()));
            }
        }
        targets
    }

    /// One account (Messenger side of a page, or its Instagram account).
    pub async fn sync_account(
        &self,
        page: &PageConfig,
        platform: Platform,
        account: &AccountId,
        cancel: &CancellationToken,
        r: &mut AccountReport,
        lock: &crate::store::JobGuard,
    ) -> Result<(), SyncError> {
        // Checked between pages: a page under way is applied whole.
        let lost = || lock.lost().now_or_never().map(SyncError::LockLost);
        if let Some(d) = dead_token(&self.store, page) {
            return Err(SyncError::TokenDead(d.at));
        }
        let started = TimestampMs::now();
        let since = self
            .store
            .last_sync(account.as_str())?
            .map(|t| t.plus_ms(-SLACK_MS));
        if platform == Platform::Instagram {
            self.instagram_notice(account);
        }
        let mut sizes = self.page_sizes(platform, account);
        // Instagram Login: `me` on the Instagram host (the client routes by
        // account), `/me/conversations?platform=instagram`.
        let path = if page.is_instagram_login() {
            "me/conversations".to_string()
        } else {
            format!("{}/conversations", page.id)
        };
        let token = &page.access_token;
        let mut next: Option<String> = None;
        let mut seen_links = HashSet::new();
        loop {
            if cancel.is_cancelled() {
                return Err(SyncError::Cancelled);
            }
            if let Some(e) = lost() {
                return Err(e);
            }
            let result = match &next {
                None => {
                    let fields = sizes.fields(platform);
                    let limit = sizes.conversations.to_string();
                    let query = [
                        ("platform", platform.as_str()),
                        ("fields", fields.as_str()),
                        ("limit", limit.as_str()),
                    ];
                    self.get(account, &path, token, &query, cancel).await
                }
                Some(url) => self.get(account, url, token, &[], cancel).await,
            };
            let answer = match result {
                Err(SyncError::Graph(e)) if e.class == ErrorClass::TooMuchData => {
                    // Ask again for less: the same page (same cursor), smaller.
                    let Some(smaller) = sizes.halved() else {
                        return Err(SyncError::Graph(e));
                    };
                    tracing::info!(
                        %account,
                        conversations = smaller.conversations,
                        messages = smaller.messages,
                        "Meta asked for less data; smaller pages from now on"
                    );
                    sizes = smaller;
                    self.remember_sizes(account, sizes);
                    if let Some(url) = next.take() {
                        next = Some(resize_link(&url, sizes.conversations, Some(sizes.messages)));
                    }
                    continue;
                }
                r => r?,
            };
            let mut changes: Vec<Change> = Vec::new();
            let mut convs: Vec<ConvKey> = Vec::new();
            let mut reached_old = false;
            for t in convert::data(&answer) {
                let thread = convert::thread(t, platform, account);
                if since.is_some_and(|s| thread.updated.is_some_and(|u| u < s)) {
                    // Newest first: everything after this was seen by an earlier run.
                    reached_old = true;
                    break;
                }
                let Some(conv) = thread.conv.clone() else {
                    continue;
                };
                r.conversations += 1;
                if self.store.conversation(&conv)?.is_none() {
                    r.new_conversations += 1;
                }
                convs.push(conv.clone());
                changes.extend(thread.changes);
                // Long threads: follow the nested paging (on Instagram only
                // up to its 20 newest: older messages cannot be read, but
                // pages smaller than 20 must not lose the rest of those).
                let mut more = thread.messages_next;
                let mut oldest = thread.oldest;
                let mut read = thread.messages;
                while let Some(url) = more.take() {
                    if (platform == Platform::Instagram && read >= INSTAGRAM_HISTORY as usize)
                        || cancel.is_cancelled()
                        || since.is_some_and(|s| oldest.is_some_and(|o| o < s))
                    {
                        break;
                    }
                    let page_v = match self.get(account, &url, token, &[], cancel).await {
                        Err(SyncError::Graph(e)) if e.class == ErrorClass::TooMuchData => {
                            // This thread's next page, asked for in halves.
                            let limit = link_limit(&url).unwrap_or(sizes.messages);
                            if limit <= 1 {
                                return Err(SyncError::Graph(e));
                            }
                            more = Some(resize_link(&url, limit / 2, None));
                            continue;
                        }
                        r => r?,
                    };
                    let (mut ch, o, n) = convert::messages(&page_v, &conv, account);
                    read += n;
                    changes.append(&mut ch);
                    oldest = match (oldest, o) {
                        (Some(a), Some(b)) => Some(a.min(b)),
                        (a, b) => a.or(b),
                    };
                    more = convert::next_link(&page_v).filter(|n2| n2 != &url && n > 0);
                }
            }
            let ctx = self.apply(changes).await?;
            r.messages += ctx.new_messages;
            let n_convs = convs.len() as u64;
            self.bump(|p| {
                p.conversations += n_convs;
                p.messages += ctx.new_messages;
            });
            next = convert::next_link(&answer);
            if reached_old || next.as_ref().is_none_or(|n| !seen_links.insert(n.clone())) {
                break;
            }
        }
        if let Some(e) = lost() {
            return Err(e);
        }
        // Profiles missing or stale for this account, in batches of 50.
        r.profiles_fetched = self.refresh_profiles(page, account).await?;
        self.store.set_last_sync(account.as_str(), started)?;
        Ok(())
    }

    /// A Conversations API read that gives way to cancellation, even while
    /// waiting out a rate limit.
    async fn get(
        &self,
        account: &AccountId,
        path: &str,
        token: &crate::secret::Secret,
        query: &[(&str, &str)],
        cancel: &CancellationToken,
    ) -> Result<serde_json::Value, SyncError> {
        tokio::select! {
            r = self.graph.get_as(account.as_str(), true, path, token, query) => Ok(r?),
            _ = cancel.cancelled() => Err(SyncError::Cancelled),
        }
    }

    async fn apply(&self, changes: Vec<Change>) -> Result<crate::store::Applied, StoreError> {
        if changes.is_empty() {
            return Ok(Default::default());
        }
        let store = self.store.clone();
        tokio::task::spawn_blocking(move || store.apply(&changes))
            .await
            .unwrap_or_else(|e| Err(StoreError::Corrupt(format!("apply task failed: {e}"))))
    }

    async fn refresh_profiles(
        &self,
        page: &PageConfig,
        account: &AccountId,
    ) -> Result<u64, SyncError> {
        let now = TimestampMs::now();
        let mut keys = Vec::new();
        for c in self.store.all_contacts() {
            let c = c?;
            if &c.conv.account == account && profiles::due(&c, now, true) {
                keys.push(c.conv);
            }
        }
        if keys.is_empty() {
            return Ok(0);
        }
        match profiles::fetch_for_page(&self.store, &self.graph, page, &keys, now).await {
            Ok(t) => Ok(t.fetched),
            Err(profiles::ProfileError::Store(e)) => Err(e.into()),
            Err(profiles::ProfileError::Graph(e)) if e.class == ErrorClass::TokenInvalid => {
                Err(e.into())
            }
            Err(profiles::ProfileError::Graph(e)) => {
                // Messages are in; profiles are retried later by the profile worker.
                tracing::warn!(account = %account, error = %e, "profile refresh failed");
                Ok(0)
            }
        }
    }

    fn instagram_notice(&self, account: &AccountId) {
        let first = self
            .ig_notice_given
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(account.clone());
        if first {
            self.store.publish(Update::Notice(format!(
                "Instagram {account}: Meta lets apps read only the {INSTAGRAM_HISTORY} most recent messages of each thread; older Instagram history cannot be backfilled"
            )));
        }
    }
}

/// The status bar's sync state as a process starts: when every configured
/// page was last synced in full (the oldest of them), from the store, so a
/// restart does not say "not synced" of a synced inbox. None: a page never
/// was.
pub fn last_synced(store: &Db, pages: &[PageConfig]) -> Option<SyncProgress> {
    let each: Option<Vec<TimestampMs>> = pages
        .iter()
        .map(|p| store.last_sync(p.id.as_str()).ok().flatten())
        .collect();
    let oldest = each?.into_iter().min()?;
    Some(SyncProgress {
        finished_at: Some(oldest),
        ..Default::default()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A restart shows when the inbox was last synced in full, not "not
    /// synced" (found trying serve): the oldest page's sync, once every
    /// page has one.
    #[test]
    fn the_last_full_sync_is_the_oldest_pages() {
        let dir = tempfile::tempdir().unwrap();
        let store = Db::open(&dir.path().join("store"), 8, "test").unwrap();
        let cfg = Config::from_toml(
            "[[pages]]\nid = \"P1\"\naccess_token = \"a\"\n[[pages]]\nid = \"P2\"\naccess_token = \"b\"\n",
            &|_| None,
        )
        .unwrap();
        assert_eq!(last_synced(&store, &cfg.pages), None, "never synced");
        store.set_last_sync("P1", TimestampMs(5_000)).unwrap();
        assert_eq!(last_synced(&store, &cfg.pages), None, "P2 never was");
        store.set_last_sync("P2", TimestampMs(3_000)).unwrap();
        let p = last_synced(&store, &cfg.pages).expect("both synced");
        assert_eq!(
            (p.running, p.finished_at),
            (false, Some(TimestampMs(3_000)))
        );
        assert_eq!(last_synced(&store, &[]), None, "no pages, nothing synced");
    }

    #[test]
    fn halving_takes_the_larger_size_threads_first_on_a_tie() {
        let s = |conversations, messages| PageSizes {
            conversations,
            messages,
        };
        assert_eq!(s(100, 100).halved(), Some(s(50, 100)));
        assert_eq!(s(50, 100).halved(), Some(s(50, 50)));
        assert_eq!(s(100, 20).halved(), Some(s(50, 20)));
        assert_eq!(s(3, 1).halved(), Some(s(1, 1)));
        assert_eq!(s(1, 3).halved(), Some(s(1, 1)));
        assert_eq!(s(1, 1).halved(), None);
        let mut steps = 0;
        let mut x = s(500, 500);
        while let Some(y) = x.halved() {
            x = y;
            steps += 1;
        }
        assert_eq!((x, steps), (s(1, 1), 16));
    }

    #[test]
    fn resized_links_keep_cursor_and_other_parameters() {
        let link = "https://graph.facebook.com/v25.0/P/conversations?platform=instagram&fields=participants%2Cmessages.limit(100)%7Bid%2Cfrom%7D&limit=100&after=QVFI&access_token=T";
        let r = resize_link(link, 50, Some(40));
        let u = url::Url::parse(&r).unwrap();
        let q: HashMap<String, String> = u.query_pairs().into_owned().collect();
        assert_eq!(q["limit"], "50");
        assert_eq!(q["fields"], "participants,messages.limit(40){id,from}");
        assert_eq!(q["after"], "QVFI");
        assert_eq!(q["platform"], "instagram");
        assert_eq!(u.path(), "/v25.0/P/conversations");
        // A nested messages link: only its limit; one without gets one.
        let n = resize_link("http://h/v25.0/t_1/messages?after=x&limit=25", 12, None);
        assert!(n.ends_with("after=x&limit=12"), "{n}");
        assert_eq!(link_limit(&n), Some(12));
        let bare = resize_link("http://h/v25.0/t_1/messages?after=x", 7, None);
        assert_eq!(link_limit(&bare), Some(7));
        assert_eq!(resize_link("not a url", 3, None), "not a url");
    }
}
