//! A half-written private note set aside for a conversation is kept by the
//! store through the inbox service, so it comes back after the store is
//! closed and opened again (a restart), on both backends.

#[path = "common/pg.rs"]
mod pg;

use dmdesk::bus::Bus;
use dmdesk::db::Db;
use dmdesk::domain::{ConvKey, Platform};
use dmdesk::inbox::{Caller, Inbox, Reply, Request};
use dmdesk::store::postgres::PgStore;

fn inbox(store: Db) -> Inbox {
    let (jobs, _rx) = tokio::sync::mpsc::unbounded_channel();
    Inbox::new(store, jobs)
}

fn me() -> Caller {
    Caller {
        session: 0,
        agent: Some("alice".into()),
    }
}

fn stored(inbox: &Inbox, conv: &ConvKey) -> Option<String> {
    match inbox.handle(&me(), Request::NoteDraft { conv: conv.clone() }) {
        Ok(Reply::NoteDraft { conv: c, text }) if &c == conv => text,
        other => panic!("no note draft answer: {other:?}"),
    }
}

fn save(inbox: &Inbox, conv: &ConvKey, text: &str) {
    let r = inbox.handle(
        &me(),
        Request::SaveNoteDraft {
            conv: conv.clone(),
            text: text.into(),
        },
    );
    assert_eq!(r, Ok(Reply::Done));
}

/// Set aside, reopen (`open` twice), read back; then emptied, gone.
fn survives_reopening(open: impl Fn() -> Db) {
    let ann = ConvKey::new(Platform::Messenger, "P1", "ann");
    let bo = ConvKey::new(Platform::Instagram, "IG1", "bo");
    {
        let i = inbox(open());
        save(&i, &ann, "refund ok? @bob");
        save(&i, &bo, "first line\nsecond line");
        // The reply draft beside it is its own.
        let r = i.handle(
            &me(),
            Request::SaveDraft {
                conv: ann.clone(),
                text: "half a reply".into(),
            },
        );
        assert_eq!(r, Ok(Reply::Done));
    }
    {
        let i = inbox(open());
        assert_eq!(stored(&i, &ann).as_deref(), Some("refund ok? @bob"));
        assert_eq!(stored(&i, &bo).as_deref(), Some("first line\nsecond line"));
        save(&i, &bo, "");
    }
    let db = open();
    let i = inbox(db.clone());
    assert_eq!(stored(&i, &bo), None, "an emptied note is not kept");
    assert_eq!(stored(&i, &ann).as_deref(), Some("refund ok? @bob"));
    // The listing `dmdesk migrate` copies from: the kept one, by its key.
    assert_eq!(
        db.note_drafts().unwrap(),
        vec![(ann, "refund ok? @bob".to_string())]
    );
}

#[test]
fn sled_keeps_a_set_aside_note_across_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    survives_reopening(|| Db::open(dir.path(), 16, "test").unwrap());
}

#[test]
fn postgres_keeps_a_set_aside_note_across_a_restart() {
    let Some(db) = pg::TempDb::create("note_drafts::postgres") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    survives_reopening(|| {
        Db::new(
            PgStore::open(&db.url, dir.path(), "test").unwrap(),
            Bus::new(),
        )
    });
}
