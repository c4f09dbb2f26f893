//! The sled store's compact records: a store written with the old JSON
//! message records (schema 1) is opened, read and migrated in place.

use dmdesk::change::Change;
use dmdesk::db::Db;
use dmdesk::domain::{
    Attachment, ConvKey, Direction, Message, Mid, MsgStatus, Platform, TimestampMs,
};
use dmdesk::store::embedded::{keys, record};
use std::path::Path;

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

/// A store with a few conversations and varied messages; returns them as
/// the store reads them.
fn write_store(path: &Path) -> Vec<Message> {
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
    store.apply(&changes).unwrap();
    store.flush().unwrap();
    let all: Vec<Message> = store.all_messages().map(|m| m.unwrap()).collect();
    assert_eq!(all.len(), 30);
    all
}

/// Rewrite the store as dmdesk wrote it before the compact format: each
/// message value its JSON (`keep_compact` says which stay compact, as in a
/// migration cut short), each `mid_index` value the whole message key,
/// schema 1.
fn make_old(path: &Path, originals: &[Message], keep_compact: impl Fn(usize) -> bool) {
    let db = sled::open(path).unwrap();
    let messages = db.open_tree("messages").unwrap();
    let mid_index = db.open_tree("mid_index").unwrap();
    for (i, m) in originals.iter().enumerate() {
        let key = keys::message(&m.conv, m.timestamp, &m.mid);
        assert!(record::is_compact(&messages.get(&key).unwrap().unwrap()));
        if !keep_compact(i) {
            messages
                .insert(&key, serde_json::to_vec(m).unwrap())
                .unwrap();
        }
        mid_index.insert(m.mid.as_str(), key).unwrap();
    }
    let meta = db.open_tree("meta").unwrap();
    meta.insert("schema_version", &b"1"[..]).unwrap();
    db.flush().unwrap();
}

/// Count of message values and `mid_index` entries in the compact format,
/// and the schema version, read from sled directly.
fn formats(path: &Path) -> (usize, usize, String) {
    let db = sled::open(path).unwrap();
    let compact = |t: &str| {
        db.open_tree(t)
            .unwrap()
            .iter()
            .values()
            .filter(|v| record::is_compact(&v.as_ref().unwrap()[..]))
            .count()
    };
    let schema = db
        .open_tree("meta")
        .unwrap()
        .get("schema_version")
        .unwrap()
        .unwrap();
    (
        compact("messages"),
        compact("mid_index"),
        String::from_utf8_lossy(&schema).into_owned(),
    )
}

fn check_reads(store: &Db, originals: &[Message]) {
    let all: Vec<Message> = store.all_messages().map(|m| m.unwrap()).collect();
    assert_eq!(all, originals);
    for m in originals {
        assert_eq!(
            store.message(&m.mid).unwrap().as_ref(),
            Some(m),
            "by mid {}",
            m.mid
        );
    }
    let a = &originals
        .iter()
        .find(|m| m.conv.platform == Platform::Messenger)
        .unwrap()
        .conv;
    let latest = store.messages_latest(a, 5).unwrap();
    let want: Vec<&Message> = originals.iter().filter(|m| &m.conv == a).collect();
    assert_eq!(latest.iter().collect::<Vec<_>>(), want[want.len() - 5..]);
}

#[test]
fn a_json_store_is_read_and_migrated_on_open() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("store");
    let originals = write_store(&path);
    assert!(originals.iter().any(|m| !m.reactions.is_empty()));
    make_old(&path, &originals, |_| false);
    assert_eq!(formats(&path), (0, 0, "1".into()));

    let store = Db::open(&path, 16, "test").unwrap();
    check_reads(&store, &originals);
    // Writes after the migration find and change the migrated records.
    let a = originals[1].conv.clone();
    store
        .apply(&[
            Change::Edit {
                conv: a.clone(),
                mid: originals[1].mid.clone(),
                text: "edited".into(),
                at: TimestampMs(1_700_000_002_000),
            },
            change(msg(&a, "m_new", 1_700_000_003_000, "new")),
        ])
        .unwrap();
    let edited = store.message(&originals[1].mid).unwrap().unwrap();
    assert_eq!(edited.text.as_deref(), Some("edited"));
    assert!(edited.edited);
    store.flush().unwrap();
    drop(store);

    assert_eq!(
        formats(&path),
        (31, 31, "2".into()),
        "every record migrated"
    );
}

#[test]
fn a_migration_cut_short_finishes_on_the_next_open() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("store");
    let originals = write_store(&path);
    make_old(&path, &originals, |i| i % 2 == 0);
    assert_eq!(formats(&path), (15, 0, "1".into()));

    let store = Db::open(&path, 16, "test").unwrap();
    check_reads(&store, &originals);
    drop(store);
    assert_eq!(formats(&path), (30, 30, "2".into()));
}

#[test]
fn a_newer_schema_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("store");
    write_store(&path);
    {
        let db = sled::open(&path).unwrap();
        db.open_tree("meta")
            .unwrap()
            .insert("schema_version", &b"3"[..])
            .unwrap();
        db.flush().unwrap();
    }
    let err = Db::open(&path, 16, "test").err().expect("schema 3 refused");
    assert!(err.to_string().contains("newer"), "{err}");
}
