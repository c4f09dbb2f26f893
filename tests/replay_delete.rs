//! `dmdesk replay --delete SEQ`: a quarantined event is deleted without
//! being applied; its body is no longer shown, kept for replay or exported,
//! and an event that is not quarantined is refused.

use assert_cmd::Command;
use dmdesk::domain::TimestampMs;
use dmdesk::store::EventState;

fn body(i: u64) -> Vec<u8> {
    format!(r#"{{"object":"page","entry":[{{"id":"P","time":{i},"messaging":[]}}],"n":{i}}}"#)
        .into_bytes()
}

fn dmdesk(cfg: &std::path::Path) -> Command {
    let mut c = Command::cargo_bin("dmdesk").expect("binary built");
    c.env("XDG_CONFIG_HOME", "/nonexistent-dmdesk-test")
        .env("XDG_DATA_HOME", "/nonexistent-dmdesk-test")
        .arg("--config")
        .arg(cfg);
    c
}

#[tokio::test]
async fn a_deleted_event_is_gone_from_replay_and_export_and_others_stay() {
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("store");
    {
        let store = dmdesk::db::Db::open(&path, 16, "test").unwrap();
        for i in 1..=3 {
            store
                .append_event(&body(i), TimestampMs(i as i64))
                .await
                .unwrap();
        }
        store.set_applied_seq(3).unwrap();
        store.quarantine_event(2, "test: cannot apply").unwrap();
        store
            .quarantine_event(3, "test: cannot apply either")
            .unwrap();
        store.flush().unwrap();
    }
    let cfg = tmp.path().join("c.toml");
    std::fs::write(&cfg, format!("[store]\npath = {path:?}\n")).unwrap();

    // Not quarantined: refused, nothing changes.
    let out = dmdesk(&cfg)
        .args(["replay", "--delete", "1"])
        .assert()
        .code(2)
        .get_output()
        .clone();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("event 1 is not quarantined"), "{err}");

    let out = dmdesk(&cfg)
        .args(["replay", "--delete", "2"])
        .assert()
        .success()
        .get_output()
        .clone();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("deleted quarantined event 2"), "{err}");

    // Export shows it deleted, without its body; the other is untouched.
    let out = dmdesk(&cfg)
        .args(["export", "--what", "events"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let text = String::from_utf8(out).unwrap();
    assert!(!text.contains(r#""n":2"#), "the body is gone: {text}");
    assert!(text.contains("deleted"), "{text}");
    assert_eq!(text.lines().count(), 3, "{text}");

    let store = dmdesk::db::Db::open(&path, 16, "test").unwrap();
    let ev = store.get_event(2).unwrap().unwrap();
    assert_eq!(ev.state, EventState::Deleted);
    assert!(ev.body.is_empty());
    assert_eq!(store.quarantined().unwrap(), vec![3]);
    let kept = store.get_event(3).unwrap().unwrap();
    assert!(matches!(kept.state, EventState::Quarantined(_)));
    assert_eq!(kept.body, body(3));
    assert_eq!(
        store.get_event(1).unwrap().unwrap().state,
        EventState::Applied
    );
    // A second delete of the same event: it is no longer quarantined.
    assert!(!store.delete_event(2).unwrap());
    assert!(store.delete_event(3).unwrap());
    assert!(store.quarantined().unwrap().is_empty());
}

#[path = "common/pg.rs"]
mod pg;

/// The store's side on a fresh store: delete releases a quarantined event
/// unapplied and hides its body; anything else is refused unchanged.
fn check_delete(store: &dmdesk::db::Db) {
    for i in 1..=3 {
        assert_eq!(
            store
                .append_event_nowait(&body(i), TimestampMs(i as i64))
                .unwrap(),
            i
        );
    }
    store.flush().unwrap();
    store.set_applied_seq(3).unwrap();
    store.quarantine_event(2, "test").unwrap();
    assert!(!store.delete_event(1).unwrap(), "not quarantined");
    assert!(!store.delete_event(9).unwrap(), "no such event");
    assert!(store.delete_event(2).unwrap());
    assert!(!store.delete_event(2).unwrap(), "already deleted");
    assert!(store.quarantined().unwrap().is_empty());
    let states: Vec<(u64, EventState, usize)> = store
        .all_events()
        .map(|e| {
            let e = e.unwrap();
            (e.seq, e.state, e.body.len())
        })
        .collect();
    assert_eq!(
        states,
        vec![
            (1, EventState::Applied, body(1).len()),
            (2, EventState::Deleted, 0),
            (3, EventState::Applied, body(3).len()),
        ]
    );
    // A new event gets a new seq, never the deleted one's.
    assert_eq!(
        store.append_event_nowait(&body(4), TimestampMs(4)).unwrap(),
        4
    );
}

#[test]
fn sled_deletes_a_quarantined_event() {
    let tmp = tempfile::tempdir().unwrap();
    check_delete(&dmdesk::db::Db::open(tmp.path(), 16, "test").unwrap());
}

#[test]
fn postgres_deletes_a_quarantined_event() {
    let Some(temp) = pg::TempDb::create("replay_delete") else {
        return; // pg.rs has said why PostgreSQL is not here
    };
    let dir = tempfile::tempdir().unwrap();
    let store = dmdesk::store::postgres::PgStore::open(&temp.url, dir.path(), "test").unwrap();
    let db = dmdesk::db::Db::new(store, dmdesk::bus::Bus::new());
    check_delete(&db);
    drop(db);
}
