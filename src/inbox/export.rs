//! `dmdesk export`'s pages: every record of one kind as JSON Lines, in
//! store order, a page at a time. A scan runs on its own thread at most one
//! page ahead of its reader, so a large store is never held in memory, and
//! the caller's next page continues where the last one stopped. The field
//! names are a contract (design.md "Contracts" and "Decisions").

use crate::db::Db;
use crate::domain::{Contact, Conversation, Message};
use crate::request::ExportWhat;
use crate::store::EventRecord;
use crate::team::Note;
use serde_json::{json, Value};
use std::collections::HashMap;
use std::sync::mpsc::{sync_channel, Receiver, SyncSender};
use std::sync::Mutex;

/// A page stops growing at this many bytes of lines (it always holds one),
/// so it fits a control-socket frame whatever its records weigh.
pub const PAGE_BYTES: usize = 256 * 1024;

pub fn message_json(m: &Message) -> Value {
    json!({
        "platform": m.conv.platform,
        "account_id": m.conv.account,
        "user_id": m.conv.user,
        "mid": m.mid,
        "direction": m.direction,
        "kind": m.kind,
        "text": m.text,
        "attachments": m.attachments.iter().map(|a| json!({"type": a.kind, "url": a.url, "title": a.title})).collect::<Vec<_>>(),
        "timestamp_ms": m.timestamp.0,
        "status": m.status,
        "reactions": m.reactions.iter().map(|r| json!({"emoji": r.emoji, "by": r.by})).collect::<Vec<_>>(),
        "deleted": m.deleted,
        "edited": m.edited,
        "unsupported": m.unsupported,
        "origin": m.origin,
        "reply_to": m.reply_to,
        "agent": m.agent,
        "tag": m.tag,
        "error": m.error,
    })
}

pub fn contact_json(c: &Contact) -> Value {
    json!({
        "platform": c.conv.platform,
        "account_id": c.conv.account,
        "user_id": c.conv.user,
        "name": c.display_name(),
        "first_name": c.first_name,
        "last_name": c.last_name,
        "username": c.username,
        "profile_pic": c.profile_pic,
        "profile_state": c.profile_state,
        "source": c.source,
    })
}

pub fn conversation_json(c: &Conversation) -> Value {
    json!({
        "platform": c.key.platform,
        "account_id": c.key.account,
        "user_id": c.key.user,
        "name": c.name,
        "last_inbound_ms": c.last_inbound.map(|t| t.0),
        "last_user_message_ms": c.last_user_message.map(|t| t.0),
        "last_activity_ms": c.last_activity.0,
        "unread": c.unread,
        "message_count": c.message_count,
        "status": c.status,
        "snooze_until_ms": c.snooze_until.map(|t| t.0),
        "standby": c.standby,
        "assignee": c.assignee,
        "labels": c.labels,
        "priority": c.priority,
    })
}

pub fn note_json(n: &Note) -> Value {
    json!({
        "platform": n.conv.platform,
        "account_id": n.conv.account,
        "user_id": n.conv.user,
        "id": n.id,
        "author": n.author,
        "text": n.text,
        "timestamp_ms": n.at.0,
        "mentions": n.mentions,
    })
}

pub fn event_json(e: &EventRecord) -> Value {
    json!({
        "seq": e.seq,
        "received_ms": e.received_ms,
        "state": e.state.name(),
        "reason": e.state.reason(),
        "body": String::from_utf8_lossy(&e.body),
    })
}

/// One page of lines (no newlines), and whether the export ends with it.
type Page = Result<(Vec<String>, bool), String>;

/// One caller's export in progress.
struct Scan {
    what: ExportWhat,
    /// Lines handed out so far.
    next: u64,
    pages: Receiver<Page>,
}

/// The export scans in progress, one per caller session.
#[derive(Default)]
pub struct Scans {
    by_session: Mutex<HashMap<u64, Scan>>,
}

impl Scans {
    /// Up to `limit` lines of `what` after the first `from`. The caller's
    /// scan goes on if it stopped exactly there; otherwise a new one starts
    /// (and skips `from` records).
    pub fn page(
        &self,
        store: &Db,
        session: u64,
        what: ExportWhat,
        from: u64,
        limit: usize,
    ) -> Page {
        let held = self.lock().remove(&session);
        let mut scan = match held {
            Some(s) if s.what == what && s.next == from => s,
            _ => Scan {
                what,
                next: from,
                pages: start(store.clone(), what, from, limit.max(1)),
            },
        };
        let (lines, done) = scan
            .pages
            .recv()
            .map_err(|_| "the export stopped".to_string())??;
        if !done {
            scan.next += lines.len() as u64;
            self.lock().insert(session, scan);
        }
        Ok((lines, done))
    }

    /// The session is gone: its scan (if any) stops at its next page.
    pub fn leave(&self, session: u64) {
        self.lock().remove(&session);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<u64, Scan>> {
        self.by_session.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Scan `what` on a thread, a page ahead of the reader; the thread ends
/// when the reader drops its end.
fn start(store: Db, what: ExportWhat, skip: u64, limit: usize) -> Receiver<Page> {
    let (tx, rx) = sync_channel(1);
    let spawned = std::thread::Builder::new()
        .name("dmdesk-export".into())
        .spawn({
            let tx = tx.clone();
            move || scan(&store, what, skip, limit, &tx)
        });
    if let Err(e) = spawned {
        let _ = tx.send(Err(format!("cannot start the export: {e}")));
    }
    rx
}

fn scan(store: &Db, what: ExportWhat, skip: u64, limit: usize, tx: &SyncSender<Page>) {
    fn lines<'a, T: 'a>(
        rows: impl Iterator<Item = crate::store::Result<T>> + 'a,
        json: impl Fn(&T) -> Value + 'a,
    ) -> Box<dyn Iterator<Item = Result<String, String>> + 'a> {
        Box::new(rows.map(move |r| r.map_err(|e| e.to_string()).map(|t| json(&t).to_string())))
    }
    let campaigns;
    let mut rows: Box<dyn Iterator<Item = Result<String, String>>> = match what {
        ExportWhat::Messages => lines(store.all_messages(), message_json),
        ExportWhat::Contacts => lines(store.all_contacts(), contact_json),
        ExportWhat::Conversations => lines(store.all_conversations(), conversation_json),
        ExportWhat::Events => lines(store.all_events(), event_json),
        ExportWhat::Notes => lines(store.all_notes(), note_json),
        ExportWhat::Campaigns => match store.campaigns_export() {
            Ok(c) => {
                campaigns = c;
                // Through a `Value`, as the other kinds (its keys in its order).
                Box::new(campaigns.iter().map(|c| {
                    serde_json::to_value(c)
                        .map(|v| v.to_string())
                        .map_err(|e| e.to_string())
                }))
            }
            Err(e) => {
                let _ = tx.send(Err(e.to_string()));
                return;
            }
        },
    };
    for _ in 0..skip {
        match rows.next() {
            Some(Ok(_)) => {}
            Some(Err(e)) => {
                let _ = tx.send(Err(e));
                return;
            }
            None => break,
        }
    }
    let mut rows = rows.peekable();
    loop {
        let (mut page, mut bytes) = (Vec::new(), 0);
        while page.len() < limit && (page.is_empty() || bytes < PAGE_BYTES) {
            match rows.next() {
                Some(Ok(line)) => {
                    bytes += line.len() + 1;
                    page.push(line);
                }
                Some(Err(e)) => {
                    // What came before the error is the caller's first.
                    if !page.is_empty() && tx.send(Ok((page, false))).is_err() {
                        return;
                    }
                    let _ = tx.send(Err(e));
                    return;
                }
                None => break,
            }
        }
        let done = rows.peek().is_none();
        if tx.send(Ok((page, done))).is_err() || done {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::change::Change;
    use crate::domain::{ConvKey, Mid, Platform, TimestampMs};

    fn store_with(n: i64) -> (tempfile::TempDir, Db) {
        let dir = tempfile::tempdir().unwrap();
        let store = Db::open(&dir.path().join("store"), 8, "test").unwrap();
        let conv = ConvKey::new(Platform::Messenger, "P1", "U1");
        let changes: Vec<Change> = (0..n)
            .map(|i| Change::Message {
                msg: Message::inbound(conv.clone(), Mid::new(format!("m{i}")), TimestampMs(i)),
                metadata: None,
                qualifying: true,
                from_sync: false,
            })
            .collect();
        store.apply(&changes).unwrap();
        (dir, store)
    }

    fn all(scans: &Scans, store: &Db, session: u64, limit: usize) -> Vec<Vec<String>> {
        let mut pages = Vec::new();
        let mut from = 0;
        loop {
            let (lines, done) = scans
                .page(store, session, ExportWhat::Messages, from, limit)
                .unwrap();
            from += lines.len() as u64;
            pages.push(lines);
            if done {
                return pages;
            }
        }
    }

    #[test]
    fn pages_join_into_the_whole_export_in_store_order() {
        let (_dir, store) = store_with(7);
        let scans = Scans::default();
        let pages = all(&scans, &store, 1, 3);
        assert_eq!(
            pages.iter().map(Vec::len).collect::<Vec<_>>(),
            [3, 3, 1],
            "three pages, the last one short"
        );
        let whole: Vec<String> = store
            .all_messages()
            .map(|m| message_json(&m.unwrap()).to_string())
            .collect();
        assert_eq!(pages.concat(), whole);
        assert!(scans.lock().is_empty(), "a finished scan is let go");
        // An exact multiple of the page size still ends, with no empty tail.
        assert_eq!(all(&scans, &store, 1, 7).len(), 1);
        // An empty kind is one empty, final page.
        let notes = scans.page(&store, 2, ExportWhat::Notes, 0, 5).unwrap();
        assert_eq!(notes, (vec![], true));
    }

    #[test]
    fn a_page_asked_out_of_turn_starts_over_from_there() {
        let (_dir, store) = store_with(5);
        let scans = Scans::default();
        let (first, _) = scans.page(&store, 1, ExportWhat::Messages, 0, 2).unwrap();
        // Asked again from 0 (say, a retry): the same lines, not the next.
        let (again, _) = scans.page(&store, 1, ExportWhat::Messages, 0, 2).unwrap();
        assert_eq!(first, again);
        let (tail, done) = scans.page(&store, 1, ExportWhat::Messages, 4, 2).unwrap();
        assert_eq!((tail.len(), done), (1, true));
        scans.page(&store, 3, ExportWhat::Messages, 0, 2).unwrap();
        scans.leave(3);
        assert!(scans.lock().is_empty());
    }
}
