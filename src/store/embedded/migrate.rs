//! Rewrite a store's JSON records in the compact format (`record`), in
//! place, when a store of an older schema is opened.
//!
//! Each value is converted on its own and both formats read, so a migration
//! cut short (a crash, a full disk) leaves a working store and the next open
//! carries on. The schema version moves to the new one before the first
//! compact record is written (an older dmdesk then refuses the store rather
//! than misread it), and `migrating_from` in `meta` says a migration is
//! still to finish.

use super::{record, Result, SledStore};
use crate::domain::{Contact, Conversation};
use crate::store::{OutboxRecord, StoreError};
use serde::{de::DeserializeOwned, Serialize};
use std::ops::Bound;
use std::time::{Duration, Instant};

/// 2: message records and `mid_index` entries compact.
/// 3: conversation summaries, contacts and outbox records compact too.
pub(super) const SCHEMA_VERSION: u64 = 3;

/// Bring a store to [`SCHEMA_VERSION`] (a new store is marked with it).
pub(super) fn on_open(store: &SledStore) -> Result<()> {
    let stored = match store.meta_get::<u64>("schema_version")? {
        None => return store.meta_put("schema_version", &SCHEMA_VERSION),
        Some(v) if v > SCHEMA_VERSION => {
            return Err(StoreError::Corrupt(format!(
                "store schema {v} is newer than this dmdesk understands ({SCHEMA_VERSION})"
            )))
        }
        Some(v) => v,
    };
    let from = match store.meta_get::<u64>("migrating_from")? {
        Some(from) => from,
        None if stored == SCHEMA_VERSION => return Ok(()),
        None => stored,
    };
    let mut mark = sled::Batch::default();
    mark.insert("schema_version", super::encode(&SCHEMA_VERSION));
    mark.insert("migrating_from", super::encode(&from));
    store.meta.apply_batch(mark)?;
    store.db.flush()?;
    let m = to_compact(store, from)?;
    store.meta.remove("migrating_from")?;
    store.db.flush()?;
    tracing::info!(
        from,
        messages = m.messages,
        mid_entries = m.mid_entries,
        conversations = m.conversations,
        contacts = m.contacts,
        outbox = m.outbox,
        ms = m.elapsed.as_millis() as u64,
        "store records migrated to the compact format"
    );
    Ok(())
}

/// Values rewritten per sled batch.
const CHUNK: usize = 10_000;

#[derive(Debug, Default, Clone, PartialEq)]
pub struct Migrated {
    pub messages: u64,
    pub mid_entries: u64,
    pub conversations: u64,
    pub contacts: u64,
    pub outbox: u64,
    pub elapsed: Duration,
}

/// Convert every old value of the trees that schema `from` kept as JSON.
fn to_compact(store: &SledStore, from: u64) -> Result<Migrated> {
    let started = Instant::now();
    let mut m = Migrated::default();
    if from < 2 {
        m.messages = rewrite(&store.messages, |k, v| {
            Ok(match v.first() {
                Some(b'{') => Some(record::encode_message(&record::decode_message(k, v)?)),
                _ => None,
            })
        })?;
        m.mid_entries = rewrite(&store.mid_index, |mid, v| {
            // An old entry is the whole message key, which ends with the mid;
            // anything else is left as it is (reads take it as the whole key).
            match std::str::from_utf8(mid) {
                Ok(m) if !record::is_compact(v) && v.ends_with(mid) => {
                    Ok(Some(record::mid_entry(v, &crate::domain::Mid::from(m))))
                }
                _ => Ok(None),
            }
        })?;
    }
    if from < 3 {
        m.conversations = rewrite(&store.conversations, json_to_compact::<Conversation>)?;
        m.contacts = rewrite(&store.contacts, json_to_compact::<Contact>)?;
        m.outbox = rewrite(&store.outbox, json_to_compact::<OutboxRecord>)?;
    }
    m.elapsed = started.elapsed();
    Ok(m)
}

/// A JSON record of type `V` in the compact format (None: already compact).
fn json_to_compact<V: Serialize + DeserializeOwned>(_: &[u8], v: &[u8]) -> Result<Option<Vec<u8>>> {
    if record::is_compact(v) {
        return Ok(None);
    }
    let rec: V = record::decode_record(v)?;
    Ok(Some(record::encode_compact(&rec)))
}

/// Walk a tree in chunks, writing the values `convert` returns; the count
/// of values rewritten.
pub(super) fn rewrite(
    tree: &sled::Tree,
    convert: impl Fn(&[u8], &[u8]) -> Result<Option<Vec<u8>>>,
) -> Result<u64> {
    let mut after: Option<sled::IVec> = None;
    let mut done = 0u64;
    loop {
        let start = match &after {
            Some(k) => Bound::Excluded(k.clone()),
            None => Bound::Unbounded,
        };
        let mut batch = sled::Batch::default();
        let mut seen = 0;
        for r in tree.range::<sled::IVec, _>((start, Bound::Unbounded)) {
            let (k, v) = r?;
            if let Some(new) = convert(&k, &v)? {
                batch.insert(k.clone(), new);
                done += 1;
            }
            after = Some(k);
            seen += 1;
            if seen == CHUNK {
                break;
            }
        }
        tree.apply_batch(batch)?;
        if seen < CHUNK {
            return Ok(done);
        }
    }
}
