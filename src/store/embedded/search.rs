//! The search index of the embedded backend: one signature a conversation
//! in the `search` tree (see `crate::search`), written by apply's
//! transaction, and the query that reads it.

use super::{decode, keys, record, Result, SledStore};
use crate::domain::{Conversation, Message};
use crate::search::{Needle, SearchFrom, SearchHit, SearchResults, Signature, BUDGET};
use std::collections::{HashMap, HashSet};
use std::ops::Bound;
use std::sync::{Arc, Weak};
use std::time::Instant;

/// Set in `meta` once the messages written before the index existed are in it.
const INDEXED: &str = "search_indexed";
/// Messages read per step of that one-time build (the apply lock is held
/// only while a step writes).
const BUILD_STEP: usize = 5_000;
/// Conversations whose signatures a search reads one by one, in the list's
/// order, before it scans the whole index (a scan costs about as much as
/// reading 10-20 times as many one by one).
#[cfg(not(test))]
const WALK_FIRST: usize = 2_000;
#[cfg(test)]
const WALK_FIRST: usize = 3;
/// Up to this many candidates (after that scan) are ordered by reading
/// their rows; more are picked out of the activity index in order.
#[cfg(not(test))]
const SORT_CANDIDATES: usize = 4_096;
#[cfg(test)]
const SORT_CANDIDATES: usize = 4;

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

/// One page being filled: conversations come in the list's order, each
/// said to be a candidate or not, and candidates are verified as they come.
struct Page<'a> {
    store: &'a SledStore,
    needle: Needle,
    limit: usize,
    started: Instant,
    out: SearchResults,
    /// The activity key of the last conversation looked at.
    last: Option<Vec<u8>>,
}

impl Page<'_> {
    /// Look at the conversation under activity key `k`; false once the
    /// page is full or out of time (`out.next` then says where it stopped).
    fn visit(&mut self, k: &[u8], candidate: bool) -> Result<bool> {
        let Some(key) = k.get(8..) else {
            return Ok(true);
        };
        if candidate
            && (self.out.hits.len() >= self.limit
                || (!self.out.hits.is_empty() && self.started.elapsed() > BUDGET))
        {
            self.out.next = self.last.as_deref().and_then(resume_point);
            return Ok(false);
        }
        self.last = Some(k.to_vec());
        if !candidate {
            return Ok(true);
        }
        let Some(message) = self.store.newest_match(key, &self.needle)? else {
            return Ok(true);
        };
        if let Some(conv) = self.store.conversations.get(key)? {
            self.out.hits.push(SearchHit {
                conv: decode(&conv)?,
                message,
            });
        }
        Ok(true)
    }
}

impl SledStore {
    /// Conversations in the list's order (newest activity first), verified
    /// as they come. The first `WALK_FIRST` have their signatures read one
    /// by one, which is enough for a common query; a rarer one then scans
    /// the whole index once for its candidates and goes on with those.
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
        let mut page = Page {
            store: self,
            needle,
            limit,
            started,
            out: SearchResults {
                indexing: self.search_build.get(),
                ..SearchResults::default()
            },
            last: from.map(|f| keys::activity(f.activity, &f.conv)),
        };
        let after = |k: &Option<Vec<u8>>| match k {
            Some(k) => (Bound::Excluded(k.clone()), Bound::Unbounded),
            None => (Bound::Unbounded, Bound::Unbounded),
        };
        let mut walk = self.by_activity.range(after(&page.last)).keys();
        for _ in 0..WALK_FIRST {
            let Some(k) = walk.next() else {
                return Ok(page.out);
            };
            let k = k?;
            let candidate = match k.get(8..).map(|c| self.search.get(c)).transpose()? {
                Some(Some(sig)) => probe.matches(&sig),
                _ => false,
            };
            if !page.visit(&k, candidate)? {
                return Ok(page.out);
            }
        }
        let mut candidates = HashSet::new();
        for r in self.search.iter() {
            let (k, v) = r?;
            if probe.matches(&v) {
                candidates.insert(k.to_vec());
            }
        }
        if candidates.len() > SORT_CANDIDATES {
            for k in walk {
                let k = k?;
                let candidate = k.get(8..).is_some_and(|c| candidates.contains(c));
                if !page.visit(&k, candidate)? {
                    break;
                }
            }
            return Ok(page.out);
        }
        // Few: their rows give their places in the list, past the walk's.
        let mut rest = Vec::with_capacity(candidates.len());
        for c in candidates {
            if let Some(v) = self.conversations.get(&c)? {
                let row: Conversation = decode(&v)?;
                let k = keys::activity(row.last_activity, &row.key);
                if page.last.as_ref().is_none_or(|last| k > *last) {
                    rest.push(k);
                }
            }
        }
        rest.sort();
        for k in rest {
            if !page.visit(&k, true)? {
                break;
            }
        }
        Ok(page.out)
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

#[cfg(test)]
mod tests {
    use crate::change::Change;
    use crate::domain::{ConvKey, Message, Mid, Platform, TimestampMs};
    use crate::search::SearchResults;
    use crate::store::Store;

    /// With the thresholds cut down (3 walked, 4 sorted), pages of two
    /// cross the walk, the sorted few and the activity order of many, and
    /// together list what a naive scan finds, in the list's order.
    #[test]
    fn pages_across_the_walk_and_the_scan_agree_with_a_naive_scan() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = super::SledStore::open(dir.path(), 16, "test").expect("open");
        let words = ["order", "café", "订单", "refund", "hello", "😋"];
        let mut texts: Vec<(usize, String)> = vec![];
        let mut changes = vec![];
        for i in 0..40usize {
            for j in 0..3usize {
                let mut text = format!("{} {}", words[(i * 7 + j * 3) % 6], words[(i + j * i) % 5]);
                if i % 13 == 0 && j == 1 {
                    // In four conversations: few enough to be sorted by row.
                    text.push_str(" rare");
                }
                let conv = ConvKey::new(Platform::Messenger, "P", format!("u{i:02}"));
                // Activity is not the key order: u39 is oldest, u00 newest.
                let ts = ((40 - i) * 10 + j) as i64;
                let mut m = Message::inbound(
                    conv,
                    Mid::from(format!("m{i}_{j}").as_str()),
                    TimestampMs(ts),
                );
                m.text = Some(text.clone());
                texts.push((i, text));
                changes.push(Change::Message {
                    msg: m,
                    metadata: None,
                    qualifying: true,
                    from_sync: false,
                });
            }
        }
        store.apply(&changes).expect("apply");
        for q in [
            "order", "ORDER", "café", "订", "😋", "refund", "o", "RARE", "zzz",
        ] {
            let mut want: Vec<String> = (0..40)
                .filter(|i| {
                    texts
                        .iter()
                        .any(|(c, t)| c == i && t.to_lowercase().contains(&q.to_lowercase()))
                })
                .map(|i| format!("u{i:02}"))
                .collect();
            want.sort(); // u00 (newest) first
            let mut all = store.search(q, None, 2).expect("search");
            while let Some(from) = all.next.take() {
                let page: SearchResults = store.search(q, Some(&from), 2).expect("search");
                assert!(page.hits.len() <= 2);
                all.hits.extend(page.hits);
                all.next = page.next;
            }
            let got: Vec<String> = all.hits.iter().map(|h| h.conv.key.user.0.clone()).collect();
            assert_eq!(got, want, "query {q:?}");
            for h in &all.hits {
                let t = h.message.text.as_deref().unwrap_or_default().to_lowercase();
                assert!(t.contains(&q.to_lowercase()), "{q:?} in {t:?}");
            }
        }
    }
}
