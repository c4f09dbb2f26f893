//! Report facts on sled (`report::facts`): one small value per fact under
//! its history event's key (`ts, id`), written by apply in the same
//! transaction as the event. A report reads the range of the days it shows.
//!
//! Openings and replies are facts by themselves. A status change, or an
//! opening that arrives before events already recorded for its
//! conversation (a late webhook), recomputes that conversation's facts from
//! its history, so a resolution's time is always from its opening in time
//! order. A store written before facts existed builds them once, in the
//! background; reports read the history the old way until then.

use super::txn::{Txn, T};
use super::{history, keys, Result, SledStore};
use crate::domain::{AccountId, ConvKey, Platform, TimestampMs};
use crate::report::facts::{moves_openings, of_conversation, standalone};
use crate::report::{Fact, FactKind};
use crate::store::{Rows, StoreError};
use crate::team::{AgentName, HistoryEvent, HistoryKind};
use serde::{Deserialize, Serialize};
use std::ops::Bound;
use std::sync::{Arc, Weak};

/// The first byte of a fact value, version 1.
const FACT_V1: u8 = 0xF1;

/// The meta key: every history event has its fact.
const BUILT: &str = "report_facts_built";

/// Conversations per step of the build (one apply-lock hold).
const BUILD_STEP: usize = 2_000;

/// A fact's value (its time is in the key).
#[derive(Serialize)]
struct RowRef<'a>(Platform, &'a AccountId, Option<&'a AgentName>, FactKind);
#[derive(Deserialize)]
struct Row(Platform, AccountId, Option<AgentName>, FactKind);

fn encode(f: &Fact) -> Vec<u8> {
    let mut v = vec![FACT_V1];
    let row = RowRef(f.platform, &f.account, f.by.as_ref(), f.kind);
    v.extend_from_slice(&postcard::to_stdvec(&row).expect("facts serialise"));
    v
}

fn decode(k: &[u8], v: &[u8]) -> Result<Fact> {
    let corrupt = |e: &dyn std::fmt::Display| StoreError::Corrupt(format!("report fact: {e}"));
    let (ts, body) = match (k.get(..8), v) {
        (Some(ts), [FACT_V1, body @ ..]) => (ts, body),
        _ => return Err(corrupt(&"unknown format")),
    };
    let Row(platform, account, by, kind) = postcard::from_bytes(body).map_err(|e| corrupt(&e))?;
    Ok(Fact {
        at: keys::ts_from(ts),
        platform,
        account,
        by,
        kind,
    })
}

/// The exclusive end of a conversation prefix (`keys::conv` ends in 0).
fn prefix_end(prefix: &[u8]) -> Vec<u8> {
    let mut end = prefix.to_vec();
    if let Some(last) = end.last_mut() {
        *last = 1;
    }
    end
}

/// Apply's part: the facts of events just recorded (their history is
/// already in `txn`).
pub(super) fn record(txn: &mut Txn, events: &[(u64, HistoryEvent)]) -> Result<()> {
    let mut recompute: Vec<&ConvKey> = Vec::new();
    for (id, e) in events {
        if recompute.contains(&&e.conv) {
            continue;
        }
        let key = keys::history(e.at, *id);
        let in_order = !moves_openings(&e.kind)
            || (matches!(e.kind, HistoryKind::Opened) && newest_of_conv(txn, &e.conv)? <= key);
        if in_order {
            if let Some(f) = standalone(e) {
                txn.put(T::Facts, key, encode(&f));
            }
        } else {
            recompute.push(&e.conv);
        }
    }
    for conv in recompute {
        let prefix = keys::conv(conv);
        let mut keys_newest_first = Vec::new();
        txn.scan_rev(T::HistoryByConv, &prefix, &prefix_end(&prefix), |k, _| {
            keys_newest_first.push(k[prefix.len()..].to_vec());
            Ok(true)
        })?;
        let mut evs = Vec::with_capacity(keys_newest_first.len());
        for k in keys_newest_first.into_iter().rev() {
            if let Some(v) = txn.get(T::History, &k)? {
                evs.push((k, history::decode(&v)?));
            }
        }
        for (i, f) in of_conversation(evs.iter().map(|(_, e)| e)) {
            txn.put(T::Facts, evs[i].0.clone(), encode(&f));
        }
    }
    Ok(())
}

/// The time key of the conversation's newest history event (empty: none).
fn newest_of_conv(txn: &Txn, conv: &ConvKey) -> Result<Vec<u8>> {
    let prefix = keys::conv(conv);
    let mut newest = Vec::new();
    txn.scan_rev(T::HistoryByConv, &prefix, &prefix_end(&prefix), |k, _| {
        newest = k[prefix.len()..].to_vec();
        Ok(false)
    })?;
    Ok(newest)
}

impl SledStore {
    /// `Store::report_facts`: None until every history event has its fact.
    pub(super) fn report_facts(&self, from: TimestampMs) -> Result<Option<Rows<'_, Fact>>> {
        if self.meta_get::<bool>(BUILT)? != Some(true) {
            return Ok(None);
        }
        Ok(Some(Box::new(
            self.report_facts
                .range(keys::ts_bytes(from).to_vec()..)
                .map(|r| {
                    let (k, v) = r?;
                    decode(&k, &v)
                }),
        )))
    }
}

/// On open: a store with history but no facts builds them once, in the
/// background (an empty one has nothing to build).
pub(super) fn build_once(store: &Arc<SledStore>) -> Result<()> {
    if store.meta_get::<bool>(BUILT)? == Some(true) {
        return Ok(());
    }
    if store.history.is_empty() {
        return store.meta_put(BUILT, &true);
    }
    let weak = Arc::downgrade(store);
    let spawned = std::thread::Builder::new()
        .name("dmdesk-report-facts".into())
        .spawn(move || {
            if let Err(e) = build(&weak, BUILD_STEP) {
                tracing::warn!(error = %e, "building the report facts stopped; it starts again at the next open");
            }
        });
    if let Err(e) = spawned {
        tracing::warn!(error = %e, "cannot start building the report facts");
    }
    Ok(())
}

/// Every conversation's facts from its history, `BUILD_STEP`
/// conversations at a time under the apply lock (so apply never writes a
/// conversation's facts in between).
fn build(weak: &Weak<SledStore>, step: usize) -> Result<()> {
    let started = std::time::Instant::now();
    tracing::info!("building the report facts of history recorded before they existed");
    let mut after: Option<Vec<u8>> = None;
    let mut facts = 0u64;
    while let Some(store) = weak.upgrade() {
        let _guard = store.apply_lock.lock().unwrap_or_else(|e| e.into_inner());
        let range = match &after {
            Some(k) => store
                .history_by_conv
                .range((Bound::Excluded(k.clone()), Bound::Unbounded)),
            None => store.history_by_conv.range::<Vec<u8>, _>(..),
        };
        let mut batch = sled::Batch::default();
        let (mut convs, mut prefix, mut evs) = (0usize, Vec::new(), Vec::new());
        let mut last_done: Option<Vec<u8>> = None;
        let mut end = true;
        for k in range.keys() {
            let k = k?;
            let split = k.len().saturating_sub(16);
            if k[..split] != prefix[..] {
                if !prefix.is_empty() {
                    facts += conv_facts(&mut batch, &evs);
                    convs += 1;
                }
                if convs >= step {
                    end = false;
                    break;
                }
                prefix = k[..split].to_vec();
                evs.clear();
            }
            if let Some(v) = store.history.get(&k[split..])? {
                evs.push((k[split..].to_vec(), history::decode(&v)?));
            }
            last_done = Some(k.to_vec());
        }
        if end && !prefix.is_empty() {
            facts += conv_facts(&mut batch, &evs);
        }
        store.report_facts.apply_batch(batch)?;
        if end {
            store.meta_put(BUILT, &true)?;
            tracing::info!(
                facts,
                ms = started.elapsed().as_millis() as u64,
                "report facts built"
            );
            return Ok(());
        }
        // Resume after the last key of the last conversation done (the
        // loop stopped on the next one's first key, unread).
        after = last_done;
    }
    Ok(())
}

fn conv_facts(batch: &mut sled::Batch, evs: &[(Vec<u8>, HistoryEvent)]) -> u64 {
    let mut n = 0;
    for (i, f) in of_conversation(evs.iter().map(|(_, e)| e)) {
        batch.insert(evs[i].0.as_slice(), encode(&f));
        n += 1;
    }
    n
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::change::Change;
    use crate::domain::{ConvStatus, Message, Mid};
    use crate::store::Store;

    /// Built a few conversations a step, the facts are those apply wrote.
    #[test]
    fn the_build_in_steps_writes_the_facts_apply_wrote() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = SledStore::open(dir.path(), 16, "test").expect("open");
        for i in 0..7i64 {
            let conv = ConvKey::new(Platform::Messenger, "P", format!("u{i}"));
            let m = Message::inbound(
                conv.clone(),
                Mid::from(format!("m{i}").as_str()),
                TimestampMs(i * 1000),
            );
            let changes = [
                Change::Message {
                    msg: m,
                    metadata: None,
                    qualifying: true,
                    from_sync: false,
                },
                Change::Status {
                    conv,
                    status: ConvStatus::Resolved,
                    snooze_until: None,
                    by: Some("alice".into()),
                    at: TimestampMs(i * 1000 + 500 + i),
                },
            ];
            for c in changes {
                store.apply(&[c]).expect("apply");
            }
        }
        let all = |s: &SledStore| -> Vec<(Vec<u8>, Vec<u8>)> {
            s.report_facts
                .iter()
                .map(|r| r.map(|(k, v)| (k.to_vec(), v.to_vec())).expect("read"))
                .collect()
        };
        let written = all(&store);
        assert_eq!(written.len(), 14, "an opening and a resolution each");
        store.report_facts.clear().expect("clear");
        store.meta.remove(BUILT).expect("unmark");
        assert!(store.report_facts(TimestampMs(0)).expect("read").is_none());
        build(&Arc::downgrade(&store), 2).expect("build");
        assert_eq!(all(&store), written);
        assert!(store.report_facts(TimestampMs(0)).expect("read").is_some());
    }

    #[test]
    fn a_fact_comes_back_from_its_key_and_value() {
        let f = Fact {
            at: TimestampMs(1_700_000_000_123),
            platform: Platform::Instagram,
            account: AccountId("IG1".into()),
            by: Some(AgentName::from("alice")),
            kind: FactKind::Resolved {
                took_ms: Some(3_600_000),
            },
        };
        let k = keys::history(f.at, 42);
        let v = encode(&f);
        assert!(v.len() < 24, "{} bytes", v.len());
        assert_eq!(decode(&k, &v).unwrap(), f);
        assert!(decode(&k, &v[1..]).is_err());
    }
}
