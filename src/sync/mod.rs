//! Graph API sync: backfill and catch-up through the Conversations API with
//! field expansion (one call per page of threads, not one per contact),
//! feeding the same apply path as webhooks.
//!
//! Per account: pages of conversations, newest first; each thread's nested
//! messages paged further where Meta says there are more. After the first
//! successful run only threads updated since the last sync are read
//! (`last_sync` advances only on success, so an interrupted run is simply
//! done again). Paging cursors are never persisted: they expire.

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
use crate::store::StoreError;
use crate::tokens::{dead_token, token_died};
use crate::update::{SyncProgress, Update};
use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

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
}

/// What one account's sync did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountReport {
    pub page: AccountId,
    pub platform: Platform,
    pub account: AccountId,
    /// Threads read.
    pub conversations: u64,
    /// Conversations new to the store.
    pub new_conversations: u64,
    /// Messages new to the store.
    pub messages: u64,
    pub profiles_fetched: u64,
    /// Graph calls made for this account.
    pub calls: u64,
    pub error: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SyncReport {
    pub accounts: Vec<AccountReport>,
    pub cancelled: bool,
}

impl SyncReport {
    pub fn failed(&self) -> usize {
        self.accounts.iter().filter(|a| a.error.is_some()).count()
    }
}

pub struct Syncer {
    store: Db,
    config: Arc<Config>,
    graph: GraphClient,
    progress: watch::Sender<SyncProgress>,
    ig_notice_given: Mutex<HashSet<AccountId>>,
}

impl Syncer {
    pub fn new(store: Db, config: Arc<Config>, graph: GraphClient) -> Syncer {
        Syncer {
            store,
            config,
            graph,
            progress: watch::channel(SyncProgress::default()).0,
            ig_notice_given: Mutex::new(HashSet::new()),
        }
    }

    /// Progress as it changes (the CLI's bar). The store gets every change too.
    pub fn watch_progress(&self) -> watch::Receiver<SyncProgress> {
        self.progress.subscribe()
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
            let mut targets = vec![(Platform::Messenger, page.id.clone())];
            if let Some(ig) = &page.instagram_id {
                targets.push((Platform::Instagram, ig.clone()));
            }
            // `--account IG_ID` syncs just that side of the page.
            if let Some(a) = only {
                if targets.iter().any(|(_, id)| id == a) {
                    targets.retain(|(_, id)| id == a);
                }
            }
            for (platform, account) in targets {
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
                    .sync_account(page, platform, &account, cancel, &mut r)
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

    /// One account (Messenger side of a page, or its Instagram account).
    pub async fn sync_account(
        &self,
        page: &PageConfig,
        platform: Platform,
        account: &AccountId,
        cancel: &CancellationToken,
        r: &mut AccountReport,
    ) -> Result<(), SyncError> {
        if let Some(d) = dead_token(&self.store, page) {
            return Err(SyncError::TokenDead(d.at));
        }
        let started = TimestampMs::now();
        let since = self
            .store
            .last_sync(account.as_str())?
            .map(|t| t.plus_ms(-SLACK_MS));
        let mut per_thread = self.config.sync.messages_per_conversation.max(1);
        if platform == Platform::Instagram {
            per_thread = per_thread.min(INSTAGRAM_HISTORY);
            self.instagram_notice(account);
        }
        let fields = format!(
            "participants,updated_time,messages.limit({per_thread}){{id,created_time,from,to,message,attachments}}"
        );
        let limit = self.config.sync.conversations_per_page.max(1).to_string();
        let path = format!("{}/conversations", page.id);
        let first_query = [
            ("platform", platform.as_str()),
            ("fields", fields.as_str()),
            ("limit", limit.as_str()),
        ];
        let token = &page.access_token;
        let mut next: Option<String> = None;
        let mut seen_links = HashSet::new();
        loop {
            if cancel.is_cancelled() {
                return Err(SyncError::Cancelled);
            }
            let answer = match &next {
                None => {
                    self.get(account, &path, token, &first_query, cancel)
                        .await?
                }
                Some(url) => self.get(account, url, token, &[], cancel).await?,
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
                // Long threads: follow the nested paging (not on Instagram,
                // whose older messages cannot be read).
                let mut more = thread.messages_next;
                let mut oldest = thread.oldest;
                while let Some(url) = more.take() {
                    if platform == Platform::Instagram
                        || cancel.is_cancelled()
                        || since.is_some_and(|s| oldest.is_some_and(|o| o < s))
                    {
                        break;
                    }
                    let page_v = self.get(account, &url, token, &[], cancel).await?;
                    let (mut ch, o, n) = convert::messages(&page_v, &conv, account);
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
        token: &crate::config::Secret,
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
