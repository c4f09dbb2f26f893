//! The sled store's compact records: a store written by an older encoding
//! (schema 1: every record JSON; schema 2: messages compact, summaries,
//! contacts and outbox records JSON) is opened, read and migrated in place
//! to schema 3.

use dmdesk::change::Change;
use dmdesk::db::Db;
use dmdesk::domain::{
    Attachment, Contact, ConvKey, Conversation, Direction, Message, Mid, MsgStatus, Platform,
    ProfileState, TimestampMs,
};
use dmdesk::store::embedded::{keys, record};
use dmdesk::store::OutboxRecord;
use std::path::Path;

#[path = "common/raw_sled.rs"]
mod raw_sled;
use raw_sled::open_raw;

fn msg(conv: &ConvKey, mid: &str, ts: i64, text: &str) -> Message {
    let mut m = Message::inbound(conv.clone(), Mid::from(mid), TimestampMs(ts));
    m.text = Some(text.to_string());
    m
}

fn change(m: Message) -> Change {
    Change::Message {
        msg: m,
        metadata: None,
        qualifying: true,
        from_sync: false,
    }
}

/// What a store holds, as it reads it.
#[derive(Debug, PartialEq)]
struct Snapshot {
    messages: Vec<Message>,
    conversations: Vec<Conversation>,
    contacts: Vec<Contact>,
    outbox: Vec<OutboxRecord>,
}

const OUTBOX_ID: &str = "ob1";

fn snapshot(store: &Db) -> Snapshot {
    Snapshot {
        messages: store.all_messages().map(|m| m.unwrap()).collect(),
        conversations: store.all_conversations().map(|c| c.unwrap()).collect(),
        contacts: store.all_contacts().map(|c| c.unwrap()).collect(),
        outbox: store.outbox_get(OUTBOX_ID).unwrap().into_iter().collect(),
    }
}

/// A store with a few conversations and varied messages, a named contact
/// and an outbox record; returns what it holds.
fn write_store(path: &Path) -> Snapshot {
    let store = Db::open(path, 16, "test").unwrap();
    let a = ConvKey::new(Platform::Messenger, "P1", "U1");
    let b = ConvKey::new(Platform::Instagram, "I1", "U2");
    let mut changes = vec![];
    for i in 0..30 {
        let conv = if i % 3 == 0 { &b } else { &a };
        let mut m = msg(
            conv,
            &format!("m_{i}_{}", "x".repeat(i)),
            1_700_000_000_000 + i as i64,
            &format!("text {i} é❤"),
        );
        if i % 5 == 0 {
            m.attachments = vec![Attachment {
                kind: "image".into(),
                url: Some(format!("https://cdn.invalid/{i}.jpg")),
                title: (i % 10 == 0).then(|| "a title".to_string()),
            }];
        }
        if i % 4 == 1 {
            m.direction = Direction::Out;
            m.status = MsgStatus::Sent;
        }
        changes.push(change(m));
    }
    changes.push(Change::Reaction {
        conv: a.clone(),
        target: Mid::from("m_1_x"),
        emoji: Some("👍".into()),
        by: "U1".into(),
        at: TimestampMs(1_700_000_001_000),
    });
    let mut named = Contact::new(b.clone(), "profile");
    named.name = Some("Zoë Ünicode".into());
    named.username = Some("zoe".into());
    named.profile_state = ProfileState::Fetched;
    named.fetched_at = Some(TimestampMs(1_700_000_000_500));
    changes.push(Change::Contact(Box::new(named)));
    changes.push(Change::Labels {
        conv: a.clone(),
        add: vec!["vip".into()],
        remove: vec![],
        by: Some("alice".into()),
        at: TimestampMs(1_700_000_001_100),
    });
    changes.push(Change::OutboundQueued {
        id: OUTBOX_ID.into(),
        conv: b.clone(),
        text: "on its way".into(),
        tag: Some("POST_PURCHASE_UPDATE".into()),
        agent: Some("alice".into()),
        campaign: None,
        at: TimestampMs(1_700_000_002_000),
    });
    store.apply(&changes).unwrap();
    store.flush().unwrap();
    let snap = snapshot(&store);
    assert_eq!(snap.messages.len(), 31, "30 and the queued reply");
    assert_eq!(snap.conversations.len(), 2);
    assert_eq!(snap.contacts.len(), 2);
    assert_eq!(snap.outbox.len(), 1);
    assert!(snap.conversations.iter().any(|c| c.labels == ["vip"]));
    snap
}

/// Rewrite the store as an older dmdesk wrote it: schema 1, every record
/// JSON and each `mid_index` value the whole message key; schema 2, only
/// the summaries, contacts and outbox records JSON. `keep_compact` says
/// which records stay compact (as in a migration cut short).
fn make_old(path: &Path, old: &Snapshot, schema: u8, keep_compact: impl Fn(usize) -> bool) {
    let db = open_raw(path);
    let tree = |n: &str| db.open_tree(n).unwrap();
    let (messages, mid_index) = (tree("messages"), tree("mid_index"));
    let mut i = 0;
    let mut json = |t: &sled::Tree, key: &[u8], v: Vec<u8>| {
        assert!(record::is_compact(&t.get(key).unwrap().unwrap()));
        if !keep_compact(i) {
            t.insert(key, v).unwrap();
        }
        i += 1;
    };
    if schema < 2 {
        for m in &old.messages {
            let key = keys::message(&m.conv, m.timestamp, &m.mid);
            json(&messages, &key, serde_json::to_vec(m).unwrap());
            mid_index.insert(m.mid.as_str(), key).unwrap();
        }
    }
    let conversations = tree("conversations");
    for c in &old.conversations {
        json(
            &conversations,
            &keys::conv(&c.key),
            serde_json::to_vec(c).unwrap(),
        );
    }
    let contacts = tree("contacts");
    for c in &old.contacts {
        json(
            &contacts,
            &keys::conv(&c.conv),
            serde_json::to_vec(c).unwrap(),
        );
    }
    let outbox = tree("outbox");
    for r in &old.outbox {
        json(&outbox, r.id.as_bytes(), serde_json::to_vec(r).unwrap());
    }
    let meta = tree("meta");
    meta.insert("schema_version", schema.to_string().as_bytes())
        .unwrap();
    db.flush().unwrap();
}

/// Per tree, the count of values in the compact format; the schema version
/// and whether a migration is marked unfinished, read from sled directly.
#[derive(Debug, PartialEq)]
struct Formats {
    compact: [usize; 5],
    schema: String,
    migrating: bool,
}

/// The trees of `Formats::compact`, in its order.
const TREES: [&str; 5] = [
    "messages",
    "mid_index",
    "conversations",
    "contacts",
    "outbox",
];

fn formats(path: &Path) -> Formats {
    let db = open_raw(path);
    let compact = TREES.map(|t| {
        db.open_tree(t)
            .unwrap()
            .iter()
            .values()
            .filter(|v| record::is_compact(&v.as_ref().unwrap()[..]))
            .count()
    });
    let meta = db.open_tree("meta").unwrap();
    let schema = meta.get("schema_version").unwrap().unwrap();
    Formats {
        compact,
        schema: String::from_utf8_lossy(&schema).into_owned(),
        migrating: meta.get("migrating_from").unwrap().is_some(),
    }
}

fn all_compact(messages: usize) -> Formats {
    Formats {
        compact: [messages, messages, 2, 2, 1],
        schema: "3".into(),
        migrating: false,
    }
}

fn check_reads(store: &Db, old: &Snapshot) {
    assert_eq!(&snapshot(store), old);
    let originals = &old.messages;
    for m in originals {
        assert_eq!(
            store.message(&m.mid).unwrap().as_ref(),
            Some(m),
            "by mid {}",
            m.mid
        );
    }
    for c in &old.conversations {
        assert_eq!(store.conversation(&c.key).unwrap().as_ref(), Some(c));
        assert!(store.contact(&c.key).unwrap().is_some());
    }
    let mut unread = store.unread_counts().unwrap();
    unread.sort();
    let mut want: Vec<(ConvKey, u32)> = old
        .conversations
        .iter()
        .filter(|c| c.unread > 0)
        .map(|c| (c.key.clone(), c.unread))
        .collect();
    want.sort();
    assert!(!want.is_empty());
    assert_eq!(unread, want);
    let a = &originals
        .iter()
        .find(|m| m.conv.platform == Platform::Messenger)
        .unwrap()
        .conv;
    let latest = store.messages_latest(a, 5).unwrap();
    let want: Vec<&Message> = originals.iter().filter(|m| &m.conv == a).collect();
    assert_eq!(latest.iter().collect::<Vec<_>>(), want[want.len() - 5..]);
}

/// Open a store of `schema`, check that it reads as written, then that
/// writes after the migration find and change the migrated records.
fn migrate_and_write(schema: u8) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("store");
    let old = write_store(&path);
    assert!(old.messages.iter().any(|m| !m.reactions.is_empty()));
    make_old(&path, &old, schema, |_| false);
    let n = old.messages.len();
    let before = if schema < 2 { 0 } else { n };
    assert_eq!(
        formats(&path),
        Formats {
            compact: [before, before, 0, 0, 0],
            schema: schema.to_string(),
            migrating: false,
        }
    );

    let store = Db::open(&path, 16, "test").unwrap();
    check_reads(&store, &old);
    let a = old.messages[1].conv.clone();
    store
        .apply(&[
            Change::Edit {
                conv: a.clone(),
                mid: old.messages[1].mid.clone(),
                text: "edited".into(),
                at: TimestampMs(1_700_000_002_000),
            },
            change(msg(&a, "m_new", 1_700_000_003_000, "new")),
            Change::OutboundSent {
                id: OUTBOX_ID.into(),
                mid: Mid::from("m_sent"),
            },
        ])
        .unwrap();
    let edited = store.message(&old.messages[1].mid).unwrap().unwrap();
    assert_eq!(edited.text.as_deref(), Some("edited"));
    assert!(edited.edited);
    let conv = store.conversation(&a).unwrap().unwrap();
    assert_eq!(conv.labels, ["vip"]);
    assert_eq!(conv.last_preview, "new");
    let sent = store.outbox_get(OUTBOX_ID).unwrap().unwrap();
    assert_eq!(sent.mid, Some(Mid::from("m_sent")));
    assert_eq!(sent.agent.as_deref(), Some("alice"));
    store.flush().unwrap();
    drop(store);

    assert_eq!(formats(&path), all_compact(n + 1), "every record migrated");
}

#[test]
fn a_schema_1_store_is_read_and_migrated_on_open() {
    migrate_and_write(1);
}

#[test]
fn a_schema_2_store_is_read_and_migrated_on_open() {
    migrate_and_write(2);
}

#[test]
fn a_migration_cut_short_finishes_on_the_next_open() {
    for schema in [1, 2] {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("store");
        let old = write_store(&path);
        make_old(&path, &old, schema, |i| i % 2 == 0);
        // As an open that stopped part way leaves it: the new schema and
        // where the migration started.
        {
            let db = open_raw(&path);
            let meta = db.open_tree("meta").unwrap();
            meta.insert("schema_version", &b"3"[..]).unwrap();
            meta.insert("migrating_from", schema.to_string().as_bytes())
                .unwrap();
            db.flush().unwrap();
        }
        let left = formats(&path);
        assert!(left.migrating);
        assert!(left.compact[2..] != [2, 2, 1], "{left:?}");

        let store = Db::open(&path, 16, "test").unwrap();
        check_reads(&store, &old);
        drop(store);
        assert_eq!(
            formats(&path),
            all_compact(old.messages.len()),
            "from {schema}"
        );
    }
}

#[test]
fn a_new_store_is_compact_from_the_start() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("store");
    let old = write_store(&path);
    assert_eq!(formats(&path), all_compact(old.messages.len()));
}

#[test]
fn a_newer_schema_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("store");
    write_store(&path);
    {
        let db = open_raw(&path);
        db.open_tree("meta")
            .unwrap()
            .insert("schema_version", &b"4"[..])
            .unwrap();
        db.flush().unwrap();
    }
    let err = Db::open(&path, 16, "test").err().expect("schema 4 refused");
    assert!(err.to_string().contains("newer"), "{err}");
}
