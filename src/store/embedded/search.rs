//! The search index of the embedded backend: one signature a conversation
//! in the `search` tree (see `crate::search`), written by apply's
//! transaction, and the query that reads it.

use super::txn::{Txn, T};
use super::{decode, keys, record, Result, SledStore};
use crate::domain::Message;
use crate::search::{Needle, SearchFrom, SearchHit, SearchResults, Signature, BUDGET};
use std::collections::HashMap;
use std::ops::Bound;
use std::sync::{Arc, Weak};
use std::time::Instant;

/// Set in `meta` once the messages written before the index existed are in it.
const INDEXED: &str = "search_indexed";
/// Messages read per step of that one-time build (the apply lock is held
/// only while a step writes).
const BUILD_STEP: usize = 5_000;

pub(super) fn write_pending(txn: &mut Txn) -> Result<()> {
    for (conv, sig) in txn.search.take() {
        let key = keys::conv(&conv);
        let stored = txn.get(T::Search, &key)?;
        let mut merged = stored
            .as_deref()
            .map(Signature::from_bytes)
            .unwrap_or_default();
        merged.union(&sig);
        if stored.as_deref() != Some(&merged.0[..]) {
            txn.put(T::Search, key, merged.0.to_vec());
        }
    }
    Ok(())
}

/// A store written before the index existed: index its messages once, in
/// the background (searches meanwhile say how far it got). New messages
/// are indexed by apply from the start, so nothing is missed in between.
pub(super) fn index_old_messages(store: &Arc<SledStore>) -> Result<()> {
    if store.meta_get::<u64>(INDEXED)?.is_some() {
        return Ok(());
    }
    if store.messages.is_empty() {
        return store.meta_put(INDEXED, &1u64);
    }
    store.search_build.set(Some(0));
    let weak = Arc::downgrade(store);
    let spawned = std::thread::Builder::new()
        .name("dmdesk-search-index".into())
        .spawn(move || {
            if let Err(e) = build(&weak) {
                tracing::warn!(error = %e, "building the search index stopped; it resumes at the next start");
            }
        });
    if let Err(e) = spawned {
        tracing::warn!(error = %e, "cannot start the search index build");
    }
    Ok(())
}

fn build(weak: &Weak<SledStore>) -> Result<()> {
    let mut after: Option<Vec<u8>> = None;
    let mut convs_done = 0u64;
    tracing::info!("building the search index of messages stored before it existed");
    // Hold the store only for one step, so closing it is never delayed long.
    while let Some(store) = weak.upgrade() {
        let range = match &after {
            Some(k) => store
                .messages
                .range((Bound::Excluded(k.clone()), Bound::Unbounded)),
            None => store.messages.range::<Vec<u8>, _>(..),
        };
        let mut step: HashMap<Vec<u8>, Signature> = HashMap::new();
        let mut read = 0;
        for r in range {
            let (k, v) = r?;
            let m: Message = super::record::decode_message(&k, &v)?;
            if let Some(t) = m.text.as_deref().filter(|_| !m.deleted) {
                step.entry(keys::conv(&m.conv)).or_default().add_text(t);
            }
            after = Some(k.to_vec());
            read += 1;
            if read >= BUILD_STEP {
                break;
            }
        }
        if read == 0 {
            store.meta_put(INDEXED, &1u64)?;
            store.search_build.set(None);
            tracing::info!("search index built");
            return Ok(());
        }
        convs_done += step.len() as u64;
        {
            let _guard = store.apply_lock.lock().unwrap_or_else(|e| e.into_inner());
            for (k, sig) in step {
                let mut merged = store
                    .search
                    .get(&k)?
                    .map(|v| Signature::from_bytes(&v))
                    .unwrap_or_default();
                merged.union(&sig);
                store.search.insert(k, merged.0.to_vec())?;
            }
        }
        let total = store.conversation_count()?.max(1);
        store.search_build.set_part(convs_done, total);
    }
    Ok(())
}

impl SledStore {
    /// Conversations in the list's order (newest activity first), each
    /// tested against its signature and verified as it comes, so a common
    /// query stops after about `limit` conversations instead of sorting
    /// every candidate first.
    pub(super) fn search(
        &self,
        query: &str,
        from: Option<&SearchFrom>,
        limit: usize,
    ) -> Result<SearchResults> {
        let started = Instant::now();
        let (Some(q), Some(needle)) = (Signature::of_query(query), Needle::new(query)) else {
            return Ok(SearchResults::default());
        };
        let probe = q.probe();
        let mut out = SearchResults {
            indexing: self.search_build.get(),
            ..SearchResults::default()
        };
        let range = match from {
            Some(f) => self.by_activity.range((
                Bound::Excluded(keys::activity(f.activity, &f.conv)),
                Bound::Unbounded,
            )),
            None => self.by_activity.range::<Vec<u8>, _>(..),
        };
        // The activity key of the last conversation looked at.
        let mut last: Option<sled::IVec> = None;
        for k in range.keys() {
            let k = k?;
            let Some(key) = k.get(8..) else { continue };
            let candidate = match self.search.get(key)? {
                Some(sig) => probe.matches(&sig),
                None => false,
            };
            if candidate
                && (out.hits.len() >= limit || (!out.hits.is_empty() && started.elapsed() > BUDGET))
            {
                out.next = last.as_deref().and_then(resume_point);
                break;
            }
            last = Some(k.clone());
            if !candidate {
                continue;
            }
            let Some(message) = self.newest_match(key, &needle)? else {
                continue;
            };
            let Some(conv) = self.conversations.get(key)? else {
                continue;
            };
            out.hits.push(SearchHit {
                conv: decode(&conv)?,
                message,
            });
        }
        Ok(out)
    }

    /// The conversation's newest message that contains the query (only
    /// the text and the unsent flag of the others are decoded).
    fn newest_match(&self, conv: &[u8], needle: &Needle) -> Result<Option<Message>> {
        for r in self.messages.scan_prefix(conv).rev() {
            let (k, v) = r?;
            let found = match record::text_and_deleted(&v)? {
                Some((text, deleted)) => !deleted && text.is_some_and(|t| needle.in_text(t)),
                None => needle.found_in(&record::decode_message(&k, &v)?),
            };
            if found {
                return record::decode_message(&k, &v).map(Some);
            }
        }
        Ok(None)
    }
}

/// The `SearchFrom` of an activity index key (`keys::activity`).
fn resume_point(k: &[u8]) -> Option<SearchFrom> {
    let inv: [u8; 8] = k.get(..8)?.try_into().ok()?;
    let ts = (u64::MAX - u64::from_be_bytes(inv)).to_be_bytes();
    Some(SearchFrom {
        activity: keys::ts_from(&ts),
        conv: keys::activity_conv(k)?,
    })
}
