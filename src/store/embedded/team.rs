//! The team's records on sled: history (by time, and by conversation),
//! notes, and the agents' mailboxes. Apply writes them inside its
//! transaction; reads are ranges.

use super::history;
use super::txn::{Txn, T};
use super::{decode, encode, keys, Result, SledStore};
use crate::domain::{ConvKey, TimestampMs};
use crate::store::rules::Recorded;
use crate::store::Rows;
use crate::team::{AgentName, HistoryEvent, MailItem, Note, ReportRead};
use crate::update::Update;

/// Append history events (each under a fresh id) and publish them.
pub(super) fn record(txn: &mut Txn, events: Vec<HistoryEvent>) -> Result<()> {
    let mut recorded = Vec::with_capacity(events.len());
    for e in events {
        let id = txn.store.db.generate_id()?;
        txn.put(T::History, keys::history(e.at, id), history::encode(&e));
        txn.put(
            T::HistoryByConv,
            keys::history_conv(&e.conv, e.at, id),
            vec![],
        );
        recorded.push((id, e));
    }
    super::facts::record(txn, &recorded)?;
    for (_, e) in recorded {
        txn.publish(Update::History(Box::new(e)));
    }
    Ok(())
}

pub(super) fn mail(txn: &mut Txn, items: Vec<MailItem>) {
    for m in items {
        txn.put(
            T::Mailbox,
            keys::mail(m.agent.as_str(), m.at, &m.id),
            encode(&m),
        );
        txn.publish(Update::Mail(Box::new(m)));
    }
}

pub(super) fn recorded(txn: &mut Txn, r: Recorded) -> Result<()> {
    record(txn, r.history)?;
    mail(txn, r.mail);
    Ok(())
}

/// A note once: its key is fixed by its id, so a second apply finds it.
pub(super) fn note(txn: &mut Txn, n: &Note) -> Result<()> {
    let key = keys::note(&n.conv, n.at, &n.id);
    if txn.get(T::Notes, &key)?.is_some() {
        return Ok(());
    }
    txn.put(T::Notes, key, encode(n));
    mail(txn, crate::store::rules::note_mail(n));
    txn.publish(Update::Note(Box::new(n.clone())));
    Ok(())
}

impl SledStore {
    pub(super) fn history(&self, conv: &ConvKey) -> Result<Vec<HistoryEvent>> {
        let prefix = keys::conv(conv);
        let mut out = Vec::new();
        for k in self.history_by_conv.scan_prefix(&prefix).keys() {
            let k = k?;
            if let Some(v) = self.history.get(&k[prefix.len()..])? {
                out.push(history::decode(&v)?);
            }
        }
        Ok(out)
    }

    pub(super) fn history_since(&self, since: TimestampMs) -> Rows<'_, HistoryEvent> {
        Box::new(
            self.history
                .range(keys::ts_bytes(since).to_vec()..)
                .values()
                .map(|v| history::decode(&v?)),
        )
    }

    /// `Store::report_history`: the kind byte of a compact value decides
    /// before anything is decoded.
    pub(super) fn report_history(
        &self,
        context: TimestampMs,
        from: TimestampMs,
    ) -> Rows<'_, HistoryEvent> {
        let from_key = keys::ts_bytes(from);
        Box::new(
            self.history
                .range(keys::ts_bytes(context).to_vec()..)
                .filter_map(move |r| {
                    let (k, v) = match r {
                        Ok(kv) => kv,
                        Err(e) => return Some(Err(e.into())),
                    };
                    let read = if k[..8] < from_key[..] {
                        ReportRead::Openings
                    } else {
                        ReportRead::Counted
                    };
                    match history::admits(read, &v) {
                        Some(false) => None,
                        Some(true) => Some(history::decode(&v)),
                        None => match history::decode(&v) {
                            Ok(e) if !read.admits(&e.kind) => None,
                            r => Some(r),
                        },
                    }
                }),
        )
    }

    /// Conversations last active before `t`: a count of the activity
    /// index's keys (newest first), nothing decoded.
    pub(super) fn conversations_active_before(&self, t: TimestampMs) -> Result<u64> {
        // The key's head: the inverted time (see `keys::activity`).
        let last = keys::ts_bytes(TimestampMs(t.0.saturating_sub(1)));
        let start = (u64::MAX - u64::from_be_bytes(last)).to_be_bytes();
        let mut n = 0;
        for k in self.by_activity.range(start..).keys() {
            k?;
            n += 1;
        }
        Ok(n)
    }

    pub(super) fn all_history(&self) -> Rows<'_, (u64, HistoryEvent)> {
        Box::new(self.history.iter().map(|r| {
            let (k, v) = r?;
            let id = k
                .get(8..16)
                .map(keys::seq_from)
                .ok_or_else(|| crate::store::StoreError::Corrupt("a short history key".into()))?;
            Ok((id, history::decode(&v)?))
        }))
    }

    pub(super) fn all_mail(&self) -> Rows<'_, MailItem> {
        Box::new(self.mailbox.iter().values().map(|v| decode(&v?)))
    }

    pub(super) fn notes(&self, conv: &ConvKey) -> Result<Vec<Note>> {
        self.notes
            .scan_prefix(keys::conv(conv))
            .values()
            .map(|v| decode(&v?))
            .collect()
    }

    pub(super) fn all_notes(&self) -> Rows<'_, Note> {
        Box::new(self.notes.iter().values().map(|v| decode(&v?)))
    }

    pub(super) fn mailbox(&self, agent: &AgentName) -> Result<Vec<MailItem>> {
        self.mailbox
            .scan_prefix(keys::mailbox(agent.as_str()))
            .values()
            .map(|v| decode(&v?))
            .collect()
    }

    /// Remove the named items (unknown ids are ignored: acknowledged before).
    pub(super) fn mailbox_ack(&self, agent: &AgentName, ids: &[String]) -> Result<()> {
        for r in self.mailbox.scan_prefix(keys::mailbox(agent.as_str())) {
            let (k, v) = r?;
            let item: MailItem = decode(&v)?;
            if ids.contains(&item.id) {
                self.mailbox.remove(k)?;
            }
        }
        Ok(())
    }
}
