//! Reads for the UI, export and workers. The list and thread read only the
//! rows they show.

use super::{decode, keys, record, Result, SledStore};
use crate::domain::{Contact, ConvKey, Conversation, Message, Mid};
use crate::filter::{ConvFilter, ListOrder};
use crate::store::{Rows, StoreError};
use sled::transaction::{ConflictableTransactionError, TransactionError};
use sled::Transactional;
use std::cmp::{Ordering, Reverse};
use std::collections::BinaryHeap;

impl SledStore {
    pub fn conversation(&self, key: &ConvKey) -> Result<Option<Conversation>> {
        self.conversations
            .get(keys::conv(key))?
            .map(|v| decode(&v))
            .transpose()
    }

    pub fn contact(&self, key: &ConvKey) -> Result<Option<Contact>> {
        self.contacts
            .get(keys::conv(key))?
            .map(|v| decode(&v))
            .transpose()
    }

    pub fn conversation_count(&self) -> Result<u64> {
        Ok(self.meta_get("conv_count")?.unwrap_or(0))
    }

    /// Conversations by latest activity, skipping `offset`, at most `limit`,
    /// that match `filter`.
    pub fn conversations(
        &self,
        filter: &ConvFilter,
        offset: usize,
        limit: usize,
    ) -> Result<Vec<Conversation>> {
        if filter.order == ListOrder::Priority {
            return self.conversations_by_priority(filter, offset, limit);
        }
        let mut out = Vec::with_capacity(limit.min(1024));
        let mut skipped = 0;
        for r in self.by_activity.iter().keys() {
            let k = r?;
            let Some(key) = keys::activity_conv(&k) else {
                continue;
            };
            let c = if filter.is_empty() && skipped < offset {
                // No filter: skip without reading the row.
                skipped += 1;
                continue;
            } else {
                match self.conversation(&key)? {
                    Some(c) => c,
                    None => continue,
                }
            };
            if !filter.matches(&c) {
                continue;
            }
            if skipped < offset {
                skipped += 1;
                continue;
            }
            out.push(c);
            if out.len() >= limit {
                break;
            }
        }
        Ok(out)
    }

    /// By priority, then latest activity, then key: a scan of every
    /// conversation that keeps only the best `offset + limit` (a bounded
    /// heap), so memory is the window's, time the store's (no index to
    /// keep: a priority change would move a key in it on every write).
    fn conversations_by_priority(
        &self,
        filter: &ConvFilter,
        offset: usize,
        limit: usize,
    ) -> Result<Vec<Conversation>> {
        let keep = offset.saturating_add(limit);
        if limit == 0 {
            return Ok(Vec::new());
        }
        let mut heap = BinaryHeap::with_capacity(keep.min(4096) + 1);
        for v in self.conversations.iter().values() {
            let c: Conversation = decode(&v?)?;
            if !filter.matches(&c) {
                continue;
            }
            heap.push(ByPriority(c));
            if heap.len() > keep {
                heap.pop();
            }
        }
        Ok(heap
            .into_sorted_vec()
            .into_iter()
            .skip(offset)
            .map(|r| r.0)
            .collect())
    }

    /// Count of conversations matching a filter (the whole count is kept, a
    /// filtered one needs a scan).
    pub fn count_matching(&self, filter: &ConvFilter) -> Result<u64> {
        if filter.is_empty() {
            return self.conversation_count();
        }
        let mut n = 0;
        for v in self.conversations.iter().values() {
            let c: Conversation = decode(&v?)?;
            if filter.matches(&c) {
                n += 1;
            }
        }
        Ok(n)
    }

    /// Every conversation with unread messages, with its count (the UI's
    /// unread total). A full scan that decodes only the key and the count;
    /// callers run it off the UI loop.
    pub fn unread_counts(&self) -> Result<Vec<(ConvKey, u32)>> {
        let mut out = Vec::new();
        for v in self.conversations.iter().values() {
            let (key, unread) = record::conversation_unread(&v?)?;
            if unread > 0 {
                out.push((key, unread));
            }
        }
        Ok(out)
    }

    /// The newest `limit` messages of a conversation, oldest first.
    pub fn messages_latest(&self, conv: &ConvKey, limit: usize) -> Result<Vec<Message>> {
        let mut v = self
            .messages
            .scan_prefix(keys::conv(conv))
            .rev()
            .take(limit)
            .map(|r| {
                r.map_err(Into::into)
                    .and_then(|(k, v)| record::decode_message(&k, &v))
            })
            .collect::<Result<Vec<Message>>>()?;
        v.reverse();
        Ok(v)
    }

    /// Up to `limit` messages older than `before` (oldest first).
    pub fn messages_before(
        &self,
        conv: &ConvKey,
        before: &Message,
        limit: usize,
    ) -> Result<Vec<Message>> {
        let start = keys::conv(conv);
        let end = keys::message(conv, before.timestamp, &before.mid);
        let mut v = self
            .messages
            .range(start..end)
            .rev()
            .take(limit)
            .map(|r| {
                r.map_err(Into::into)
                    .and_then(|(k, v)| record::decode_message(&k, &v))
            })
            .collect::<Result<Vec<Message>>>()?;
        v.reverse();
        Ok(v)
    }

    pub fn message(&self, mid: &Mid) -> Result<Option<Message>> {
        let Some(entry) = self.mid_index.get(mid.as_str())? else {
            return Ok(None);
        };
        let key = record::message_key(mid.as_str().as_bytes(), &entry);
        self.messages
            .get(&key)?
            .map(|v| record::decode_message(&key, &v))
            .transpose()
    }

    pub fn all_messages(&self) -> Rows<'_, Message> {
        Box::new(self.messages.iter().map(|r| {
            r.map_err(Into::into)
                .and_then(|(k, v)| record::decode_message(&k, &v))
        }))
    }

    pub fn all_contacts(&self) -> Rows<'_, Contact> {
        Box::new(self.contacts.iter().values().map(|r| decode(&r?)))
    }

    pub fn all_conversations(&self) -> Rows<'_, Conversation> {
        Box::new(self.conversations.iter().values().map(|r| decode(&r?)))
    }

    pub fn draft(&self, conv: &ConvKey) -> Result<Option<String>> {
        Ok(self
            .drafts
            .get(keys::conv(conv))?
            .map(|v| String::from_utf8_lossy(&v).into_owned()))
    }

    /// Save a draft; an empty one is removed. The conversation's
    /// `has_draft` changes in the same transaction, under the apply lock so
    /// that no apply writes the row back from an older read.
    pub fn set_draft(&self, conv: &ConvKey, text: &str) -> Result<()> {
        let _guard = self.apply_lock.lock().unwrap_or_else(|e| e.into_inner());
        let k = keys::conv(conv);
        let row = match self.conversation(conv)? {
            Some(mut c) if c.has_draft == text.is_empty() => {
                c.has_draft = !text.is_empty();
                Some(record::encode_compact(&c))
            }
            _ => None,
        };
        let r = (&self.drafts, &self.conversations).transaction(|(drafts, convs)| {
            if text.is_empty() {
                drafts.remove(k.as_slice())?;
            } else {
                drafts.insert(k.as_slice(), text.as_bytes())?;
            }
            if let Some(row) = &row {
                convs.insert(k.as_slice(), row.as_slice())?;
            }
            Ok::<_, ConflictableTransactionError<()>>(())
        });
        r.map_err(|e| match e {
            TransactionError::Abort(()) => StoreError::Backend("draft save aborted".into()),
            TransactionError::Storage(e) => e.into(),
        })
    }
}

/// A row in the priority order: smaller is earlier in the list (more
/// urgent, then newer, then the smaller key).
struct ByPriority(Conversation);

impl ByPriority {
    fn rank(&self) -> (Reverse<crate::domain::Priority>, Reverse<i64>, &ConvKey) {
        let c = &self.0;
        (Reverse(c.priority), Reverse(c.last_activity.0), &c.key)
    }
}

impl PartialEq for ByPriority {
    fn eq(&self, o: &Self) -> bool {
        self.rank() == o.rank()
    }
}
impl Eq for ByPriority {}
impl PartialOrd for ByPriority {
    fn partial_cmp(&self, o: &Self) -> Option<Ordering> {
        Some(self.cmp(o))
    }
}
impl Ord for ByPriority {
    fn cmp(&self, o: &Self) -> Ordering {
        self.rank().cmp(&o.rank())
    }
}
