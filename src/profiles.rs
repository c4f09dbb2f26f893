//! Customer profiles in the background: new contacts promptly (in batch
//! requests of up to 50), failed ones again later with back-off. A failed
//! fetch leaves a usable contact ("Unknown (id)").

use crate::config::{Config, PageConfig};
use crate::db::Db;
use crate::domain::{Contact, ConvKey, ProfileState, TimestampMs};
use crate::meta::error::{ErrorClass, GraphError};
use crate::meta::graph::{parse_profile, profile_fields, GraphClient};
use crate::store::StoreError;
use crate::tokens::{dead_token, token_died};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

/// How often the store is checked for contacts due a (re)try.
pub const POLL: Duration = Duration::from_secs(60);
/// How long new contacts are gathered into one batch.
pub const GATHER: Duration = Duration::from_millis(100);
/// A fetched profile older than this is refreshed by sync (picture URLs expire).
pub const STALE_AFTER_MS: i64 = 7 * TimestampMs::DAY;
/// Most contacts handled per poll.
pub const POLL_LIMIT: usize = 500;

#[derive(Debug, thiserror::Error)]
pub enum ProfileError {
    #[error("{0}")]
    Graph(#[from] GraphError),
    #[error("{0}")]
    Store(#[from] StoreError),
}

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct ProfileTally {
    pub fetched: u64,
    pub failed: u64,
}

/// Whether a contact's profile should be fetched now. Failed fetches back
/// off: 1 min, 2, 4 ... capped at 6 h.
pub fn due(c: &Contact, now: TimestampMs, include_stale: bool) -> bool {
    match c.profile_state {
        ProfileState::Missing => true,
        ProfileState::Failed => {
            let wait = (60_000i64 << c.fetch_attempts.min(9)).min(6 * TimestampMs::HOUR);
            c.fetched_at.is_none_or(|t| now.0 - t.0 >= wait)
        }
        ProfileState::Fetched => {
            include_stale && c.fetched_at.is_none_or(|t| now.0 - t.0 >= STALE_AFTER_MS)
        }
    }
}

/// Contacts of configured accounts with live tokens that are due a fetch.
pub fn due_contacts(
    store: &Db,
    config: &Config,
    now: TimestampMs,
    limit: usize,
) -> Result<Vec<ConvKey>, StoreError> {
    let mut out = Vec::new();
    for c in store.all_contacts() {
        let c = c?;
        if !due(&c, now, false) {
            continue;
        }
        match config.page_for(&c.conv.account) {
            Some((page, _)) if dead_token(store, page).is_none() => out.push(c.conv),
            _ => {} // unconfigured account (no token) or dead token: nothing to call with
        }
        if out.len() >= limit {
            break;
        }
    }
    Ok(out)
}

/// Fetch profiles of `keys` (all of `page`'s accounts) and record each result.
/// A whole-batch failure marks every contact failed (retried later) and is
/// returned; a dead token is returned without marking anyone.
pub async fn fetch_for_page(
    store: &Db,
    graph: &GraphClient,
    page: &PageConfig,
    keys: &[ConvKey],
    now: TimestampMs,
) -> Result<ProfileTally, ProfileError> {
    let mut tally = ProfileTally::default();
    if keys.is_empty() {
        return Ok(tally);
    }
    let urls: Vec<String> = keys
        .iter()
        .map(|k| format!("{}?fields={}", k.user, profile_fields(k.platform)))
        .collect();
    let results = match graph
        .batch_get(page.id.as_str(), &page.access_token, &urls)
        .await
    {
        Ok(r) => r,
        Err(e) => {
            if e.class != ErrorClass::TokenInvalid {
                for k in keys {
                    store.profile_fetched(k, None, now)?;
                }
            }
            return Err(e.into());
        }
    };
    let mut dead = None;
    for (k, r) in keys.iter().zip(results) {
        match r {
            Ok(v) => {
                store.profile_fetched(k, Some(parse_profile(k, &v)), now)?;
                tally.fetched += 1;
            }
            Err(e) if e.class == ErrorClass::TokenInvalid => dead = Some(e),
            Err(e) => {
                tracing::debug!(conv = %k, error = %e, "profile fetch failed; retried later");
                store.profile_fetched(k, None, now)?;
                tally.failed += 1;
            }
        }
    }
    match dead {
        Some(e) => Err(e.into()),
        None => Ok(tally),
    }
}

/// Group keys by page and fetch; errors are logged, a dead token is marked.
pub async fn process(
    store: &Db,
    config: &Config,
    graph: &GraphClient,
    keys: Vec<ConvKey>,
) -> ProfileTally {
    let mut by_page: BTreeMap<String, (PageConfig, Vec<ConvKey>)> = BTreeMap::new();
    for k in keys {
        let Some((page, _)) = config.page_for(&k.account) else {
            // Events for accounts not in the config: no token, nothing to fetch.
            tracing::debug!(conv = %k, "no configured page for this account; profile not fetched");
            continue;
        };
        by_page
            .entry(page.id.0.clone())
            .or_insert_with(|| (page.clone(), Vec::new()))
            .1
            .push(k);
    }
    let mut total = ProfileTally::default();
    for (_, (page, keys)) in by_page {
        if dead_token(store, &page).is_some() {
            continue;
        }
        match fetch_for_page(store, graph, &page, &keys, TimestampMs::now()).await {
            Ok(t) => {
                total.fetched += t.fetched;
                total.failed += t.failed;
            }
            Err(ProfileError::Graph(e)) if e.class == ErrorClass::TokenInvalid => {
                token_died(store, &page, &e)
            }
            Err(e) => {
                tracing::warn!(page = %page.id, error = %e, "profile fetch failed; retried later")
            }
        }
    }
    total
}

/// The background worker: new contacts from ingest arrive on `new_contacts`;
/// failed and missed ones are picked up from the store every [`POLL`].
pub async fn run_worker(
    store: Db,
    config: Arc<Config>,
    graph: GraphClient,
    mut new_contacts: mpsc::Receiver<ConvKey>,
    cancel: CancellationToken,
) {
    let mut tick = tokio::time::interval(POLL);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut open = true;
    loop {
        let keys = tokio::select! {
            _ = cancel.cancelled() => break,
            k = new_contacts.recv(), if open => match k {
                Some(k) => {
                    // Let a burst queue up so it goes out as one batch.
                    tokio::select! {
                        _ = cancel.cancelled() => break,
                        _ = tokio::time::sleep(GATHER) => {}
                    }
                    let mut keys = vec![k];
                    while let Ok(k) = new_contacts.try_recv() {
                        keys.push(k);
                    }
                    keys.sort();
                    keys.dedup();
                    keys
                }
                None => {
                    open = false;
                    continue;
                }
            },
            _ = tick.tick() => match due_contacts(&store, &config, TimestampMs::now(), POLL_LIMIT) {
                Ok(k) => k,
                Err(e) => {
                    tracing::warn!(error = %e, "cannot list contacts needing a profile");
                    continue;
                }
            },
        };
        if keys.is_empty() {
            continue;
        }
        let t = process(&store, &config, &graph, keys).await;
        tracing::debug!(fetched = t.fetched, failed = t.failed, "profiles");
    }
}
