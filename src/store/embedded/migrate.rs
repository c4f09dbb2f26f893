//! Rewrite a store's JSON message records and `mid_index` entries in the
//! compact format (`record`), in place, when a store of schema 1 is opened.
//!
//! Each value is converted on its own and both formats read, so a migration
//! cut short (a crash, a full disk) leaves a working store and the next open
//! carries on; the schema version moves to 2 only once everything is done.

use super::{record, Result};
use std::ops::Bound;
use std::time::{Duration, Instant};

/// Values rewritten per sled batch.
const CHUNK: usize = 10_000;

#[derive(Debug, Default, Clone, PartialEq)]
pub struct Migrated {
    pub messages: u64,
    pub mid_entries: u64,
    pub elapsed: Duration,
}

/// Convert every old value of `messages` and `mid_index`.
pub(super) fn to_compact(messages: &sled::Tree, mid_index: &sled::Tree) -> Result<Migrated> {
    let started = Instant::now();
    let messages_done = rewrite(messages, |k, v| {
        Ok(match v.first() {
            Some(b'{') => Some(record::encode_message(&record::decode_message(k, v)?)),
            _ => None,
        })
    })?;
    let mid_done = rewrite(mid_index, |mid, v| {
        // An old entry is the whole message key, which ends with the mid;
        // anything else is left as it is (reads take it as the whole key).
        match std::str::from_utf8(mid) {
            Ok(m) if !record::is_compact(v) && v.ends_with(mid) => {
                Ok(Some(record::mid_entry(v, &crate::domain::Mid::from(m))))
            }
            _ => Ok(None),
        }
    })?;
    Ok(Migrated {
        messages: messages_done,
        mid_entries: mid_done,
        elapsed: started.elapsed(),
    })
}

/// Walk a tree in chunks, writing the values `convert` returns; the count
/// of values rewritten.
fn rewrite(
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
