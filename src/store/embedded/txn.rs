//! One `apply` as one sled transaction.
//!
//! Apply reads what it needs (under the store's apply lock, so nothing else
//! writes meanwhile) and buffers every write here; reads inside the same
//! apply see the buffered writes first. `commit` writes the whole buffer in
//! one multi-tree transaction: a crash or an error leaves all of it or none,
//! so a re-apply never finds a message whose conversation counts were lost.

use super::{decode, encode, keys, record, Result, SledStore};
use crate::domain::{ConvKey, Conversation, Message, Mid, TimestampMs};
use crate::store::{Applied, StoreError};
use crate::update::Update;
use sled::transaction::{ConflictableTransactionError, TransactionError};
use sled::Transactional;
use std::collections::{BTreeMap, HashMap};
use std::ops::Bound;
use std::sync::atomic::Ordering;

/// The trees an apply writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum T {
    Contacts,
    Conversations,
    ByActivity,
    Messages,
    MidIndex,
    Deferred,
    Outbox,
    Meta,
    History,
    HistoryByConv,
    Notes,
    Mailbox,
    Search,
    Facts,
}

const TREES: usize = 14;

/// Every tree, in the order of `T` (index = `t as usize`).
const ALL: [T; TREES] = [
    T::Contacts,
    T::Conversations,
    T::ByActivity,
    T::Messages,
    T::MidIndex,
    T::Deferred,
    T::Outbox,
    T::Meta,
    T::History,
    T::HistoryByConv,
    T::Notes,
    T::Mailbox,
    T::Search,
    T::Facts,
];

type Writes = BTreeMap<Vec<u8>, Option<Vec<u8>>>;

pub(super) struct Txn<'s> {
    pub(super) store: &'s SledStore,
    writes: [Writes; TREES],
    convs: HashMap<ConvKey, Slot>,
    /// Message texts to add to the search index at commit.
    pub(super) search: crate::search::Pending,
    pub(super) out: Applied,
}

struct Slot {
    conv: Conversation,
    /// As stored before this apply (None: new); unchanged rows are not written.
    before: Option<Conversation>,
}

impl SledStore {
    fn tree(&self, t: T) -> &sled::Tree {
        match t {
            T::Contacts => &self.contacts,
            T::Conversations => &self.conversations,
            T::ByActivity => &self.by_activity,
            T::Messages => &self.messages,
            T::MidIndex => &self.mid_index,
            T::Deferred => &self.deferred,
            T::Outbox => &self.outbox,
            T::Meta => &self.meta,
            T::History => &self.history,
            T::HistoryByConv => &self.history_by_conv,
            T::Notes => &self.notes,
            T::Mailbox => &self.mailbox,
            T::Search => &self.search,
            T::Facts => &self.report_facts,
        }
    }
}

impl<'s> Txn<'s> {
    pub(super) fn new(store: &'s SledStore) -> Txn<'s> {
        Txn {
            store,
            writes: Default::default(),
            convs: HashMap::new(),
            search: Default::default(),
            out: Applied::default(),
        }
    }

    pub(super) fn get(&self, t: T, key: &[u8]) -> Result<Option<Vec<u8>>> {
        if let Some(v) = self.writes[t as usize].get(key) {
            return Ok(v.clone());
        }
        Ok(self.store.tree(t).get(key)?.map(|v| v.to_vec()))
    }

    pub(super) fn put(&mut self, t: T, key: impl Into<Vec<u8>>, value: Vec<u8>) {
        self.writes[t as usize].insert(key.into(), Some(value));
    }

    pub(super) fn del(&mut self, t: T, key: impl Into<Vec<u8>>) {
        self.writes[t as usize].insert(key.into(), None);
    }

    pub(super) fn publish(&mut self, u: Update) {
        self.out.updates.push(u);
    }

    /// Visit `start..end` of a tree newest key first, buffered writes
    /// included, until `f` returns false.
    pub(super) fn scan_rev(
        &self,
        t: T,
        start: &[u8],
        end: &[u8],
        mut f: impl FnMut(&[u8], &[u8]) -> Result<bool>,
    ) -> Result<()> {
        let range = (
            Bound::Included(start.to_vec()),
            Bound::Excluded(end.to_vec()),
        );
        let mut buffered = self.writes[t as usize].range(range).rev().peekable();
        let mut stored = self.store.tree(t).range(start..end).rev().peekable();
        loop {
            let take_buffered = match (buffered.peek(), stored.peek()) {
                (None, None) => return Ok(()),
                (Some(_), None) => true,
                (None, Some(_)) => false,
                (Some((bk, _)), Some(Ok((sk, _)))) => bk.as_slice() >= sk.as_ref(),
                (_, Some(Err(_))) => false,
            };
            if take_buffered {
                let (k, v) = buffered.next().expect("peeked");
                // A buffered write shadows the stored value of the same key.
                if matches!(stored.peek(), Some(Ok((sk, _))) if sk.as_ref() == k.as_slice()) {
                    stored.next();
                }
                if let Some(v) = v {
                    if !f(k, v)? {
                        return Ok(());
                    }
                }
            } else {
                let (k, v) = stored.next().expect("peeked")?;
                if !f(&k, &v)? {
                    return Ok(());
                }
            }
        }
    }

    // ---- conversation summaries, written once at commit -------------------

    /// The conversation inside this apply, created with its contact if new.
    pub(super) fn conv(&mut self, key: &ConvKey) -> Result<&mut Conversation> {
        if !self.convs.contains_key(key) {
            let slot = match self.stored_conv(key)? {
                Some(c) => Slot {
                    before: Some(c.clone()),
                    conv: c,
                },
                None => Slot {
                    conv: self.new_conv(key)?,
                    before: None,
                },
            };
            self.convs.insert(key.clone(), slot);
        }
        Ok(&mut self.convs.get_mut(key).expect("inserted above").conv)
    }

    /// The conversation inside this apply if it exists (agent actions never
    /// create one).
    pub(super) fn existing_conv(&mut self, key: &ConvKey) -> Result<Option<&mut Conversation>> {
        if !self.convs.contains_key(key) {
            match self.stored_conv(key)? {
                Some(c) => {
                    self.convs.insert(
                        key.clone(),
                        Slot {
                            before: Some(c.clone()),
                            conv: c,
                        },
                    );
                }
                None => return Ok(None),
            }
        }
        Ok(self.convs.get_mut(key).map(|s| &mut s.conv))
    }

    fn stored_conv(&self, key: &ConvKey) -> Result<Option<Conversation>> {
        self.get(T::Conversations, &keys::conv(key))?
            .map(|v| decode(&v))
            .transpose()
    }

    /// A new conversation (and contact, if none): counted, not yet written.
    fn new_conv(&mut self, key: &ConvKey) -> Result<Conversation> {
        let contact = match self.contact(key)? {
            Some(c) => c,
            None => {
                let c = crate::domain::Contact::new(key.clone(), "webhook");
                self.put(T::Contacts, keys::conv(key), record::encode_compact(&c));
                self.out.new_contacts.push(key.clone());
                self.publish(Update::Contact(Box::new(c.clone())));
                c
            }
        };
        let n: u64 = self.meta_get("conv_count")?.unwrap_or(0);
        self.put(T::Meta, "conv_count", encode(&(n + 1)));
        Ok(Conversation::of_contact(key.clone(), &contact))
    }

    pub(super) fn contact(&self, key: &ConvKey) -> Result<Option<crate::domain::Contact>> {
        self.get(T::Contacts, &keys::conv(key))?
            .map(|v| decode(&v))
            .transpose()
    }

    fn meta_get<V: serde::de::DeserializeOwned>(&self, key: &str) -> Result<Option<V>> {
        self.get(T::Meta, key.as_bytes())?
            .map(|v| decode(&v))
            .transpose()
    }

    /// Write everything in one transaction; the updates are the caller's to
    /// publish only now that the writes are durable in order.
    pub(super) fn commit(mut self) -> Result<Applied> {
        self.write_search()?;
        let convs = std::mem::take(&mut self.convs);
        for slot in convs.into_values() {
            if slot.before.as_ref() == Some(&slot.conv) {
                continue;
            }
            let k = &slot.conv.key;
            let indexed = slot.before.as_ref().map(|b| b.last_activity);
            if let Some(t) = indexed.filter(|t| *t != slot.conv.last_activity) {
                self.del(T::ByActivity, keys::activity(t, k));
            }
            self.put(
                T::ByActivity,
                keys::activity(slot.conv.last_activity, k),
                vec![],
            );
            self.put(
                T::Conversations,
                keys::conv(k),
                record::encode_compact(&slot.conv),
            );
            self.publish(Update::Conversation(Box::new(slot.conv)));
        }
        let used: Vec<usize> = (0..TREES).filter(|&i| !self.writes[i].is_empty()).collect();
        if used.is_empty() {
            return Ok(self.out);
        }
        let trees: Vec<&sled::Tree> = used.iter().map(|&i| self.store.tree(ALL[i])).collect();
        let fail_after = self.store.fail_commit_after.swap(0, Ordering::AcqRel);
        let writes = &self.writes;
        let r = trees[..].transaction(|tx| {
            let mut n = 0usize;
            for (j, &i) in used.iter().enumerate() {
                for (k, v) in &writes[i] {
                    if fail_after > 0 && n == fail_after {
                        return Err(ConflictableTransactionError::Abort(
                            "injected failure between writes".to_string(),
                        ));
                    }
                    match v {
                        Some(v) => tx[j].insert(k.as_slice(), v.as_slice())?,
                        None => tx[j].remove(k.as_slice())?,
                    };
                    n += 1;
                }
            }
            Ok(())
        });
        match r {
            Ok(()) => Ok(self.out),
            Err(TransactionError::Abort(why)) => Err(StoreError::Backend(why)),
            Err(TransactionError::Storage(e)) => Err(e.into()),
        }
    }
}

/// Keys at or before `w` in a conversation's messages (watermarks).
pub(super) fn messages_through(conv: &ConvKey, w: TimestampMs) -> (Vec<u8>, Vec<u8>) {
    (
        keys::conv(conv),
        keys::message(conv, w.plus_ms(1), &Mid::default()),
    )
}

// ---- message records ------------------------------------------------------

pub(super) fn message_by_mid(txn: &Txn, mid: &Mid) -> Result<Option<(Vec<u8>, Message)>> {
    let Some(entry) = txn.get(T::MidIndex, mid.as_str().as_bytes())? else {
        return Ok(None);
    };
    let key = record::message_key(mid.as_str().as_bytes(), &entry);
    match txn.get(T::Messages, &key)? {
        Some(v) => Ok(Some((key.clone(), record::decode_message(&key, &v)?))),
        None => Ok(None),
    }
}

pub(super) fn insert_message(txn: &mut Txn, m: &Message) {
    let key = keys::message(&m.conv, m.timestamp, &m.mid);
    txn.put(T::MidIndex, m.mid.as_str(), record::mid_entry(&key, &m.mid));
    txn.put(T::Messages, key, record::encode_message(m));
    txn.search.add(m);
}

pub(super) fn remove_message(txn: &mut Txn, m: &Message) {
    txn.del(T::Messages, keys::message(&m.conv, m.timestamp, &m.mid));
    txn.del(T::MidIndex, m.mid.as_str());
}

impl Txn<'_> {
    /// Merge the search grams this transaction collected into the stored
    /// signatures (the index behind `Store::search`).
    fn write_search(&mut self) -> Result<()> {
        for (conv, sig) in self.search.take() {
            let key = keys::conv(&conv);
            let stored = self.get(T::Search, &key)?;
            let mut merged = stored
                .as_deref()
                .map(crate::search::Signature::from_bytes)
                .unwrap_or_default();
            merged.union(&sig);
            if stored.as_deref() != Some(&merged.0[..]) {
                self.put(T::Search, key, merged.0.to_vec());
            }
        }
        Ok(())
    }
}
