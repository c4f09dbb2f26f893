//! The search index of the embedded backend: one signature a conversation
//! in the `search` tree (see `crate::search`), written by apply's
//! transaction, and the query that reads it.

use super::txn::{Txn, T};
use super::{decode, keys, Result, SledStore};
use crate::domain::{Conversation, Message};
use crate::search::{Needle, SearchHit, SearchResults, Signature};
use std::collections::{HashMap, HashSet};
use std::ops::Bound;
use std::sync::{Arc, Weak};

/// Set in `meta` once the messages written before the index existed are in it.
const INDEXED: &str = "search_indexed";
/// Messages read per step of that one-time build (the apply lock is held
/// only while a step writes).
const BUILD_STEP: usize = 5_000;
/// Up to this many candidates are ordered by reading their rows; more are
/// picked out of the activity index in order instead.
const SORT_CANDIDATES: usize = 4_096;

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
    pub(super) fn search(&self, query: &str, limit: usize) -> Result<SearchResults> {
        let (Some(q), Some(needle)) = (Signature::of_query(query), Needle::new(query)) else {
            return Ok(SearchResults::default());
        };
        let probe = q.probe();
        let mut candidates = HashSet::new();
        for r in self.search.iter() {
            let (k, v) = r?;
            if probe.matches(&v) {
                candidates.insert(k.to_vec());
            }
        }
        let ordered = self.newest_first(candidates)?;
        let mut out = SearchResults {
            indexing: self.search_build.get(),
            ..SearchResults::default()
        };
        for (i, (key, row)) in ordered.iter().enumerate() {
            if out.hits.len() >= limit {
                out.more = i < ordered.len();
                break;
            }
            let Some(message) = self.newest_match(key, &needle)? else {
                continue;
            };
            let conv = match row {
                Some(c) => c.clone(),
                None => match self.conversations.get(key)? {
                    Some(v) => decode(&v)?,
                    None => continue,
                },
            };
            out.hits.push(SearchHit { conv, message });
        }
        Ok(out)
    }

    /// Candidate conversations (key bytes) in the list's order, with their
    /// rows when they were read to sort them.
    fn newest_first(
        &self,
        candidates: HashSet<Vec<u8>>,
    ) -> Result<Vec<(Vec<u8>, Option<Conversation>)>> {
        if candidates.len() > SORT_CANDIDATES {
            let mut out = Vec::with_capacity(candidates.len());
            for k in self.by_activity.iter().keys() {
                let k = k?;
                if let Some(conv) = k.get(8..).filter(|c| candidates.contains(*c)) {
                    out.push((conv.to_vec(), None));
                }
            }
            return Ok(out);
        }
        let mut rows = Vec::with_capacity(candidates.len());
        for k in candidates {
            if let Some(v) = self.conversations.get(&k)? {
                let c: Conversation = decode(&v)?;
                rows.push((k, Some(c)));
            }
        }
        rows.sort_by(|(ka, a), (kb, b)| {
            let ta = a.as_ref().map(|c| c.last_activity);
            let tb = b.as_ref().map(|c| c.last_activity);
            tb.cmp(&ta).then_with(|| ka.cmp(kb))
        });
        Ok(rows)
    }

    /// The conversation's newest message that contains the query.
    fn newest_match(&self, conv: &[u8], needle: &Needle) -> Result<Option<Message>> {
        for r in self.messages.scan_prefix(conv).rev() {
            let (k, v) = r?;
            let m: Message = super::record::decode_message(&k, &v)?;
            if needle.found_in(&m) {
                return Ok(Some(m));
            }
        }
        Ok(None)
    }
}
