//! `Request::DeleteEvent` and `Request::Replay`: `dmdesk replay`'s work on
//! the event log, where the store is.

use crate::config::Config;
use crate::db::Db;
use crate::ingest::Ingest;
use crate::request::Reply;
use std::sync::Arc;

/// Delete event `seq` unapplied, if it is quarantined (else nothing changes
/// and the reply says so: the caller's mistake, not a failure).
pub fn delete(store: &Db, seq: u64) -> Result<Reply, String> {
    let deleted = store.delete_event(seq).map_err(|e| e.to_string())?;
    Ok(Reply::EventDeleted { seq, deleted })
}

/// Apply what is pending first (the quarantined events came before it),
/// then each quarantined event again; durable before the answer.
pub fn replay(store: &Db, config: &Config) -> Result<Reply, String> {
    let metrics = Arc::new(crate::metrics::Metrics::default());
    let ingest = Ingest::new(store.clone(), config, metrics, None);
    let run = || {
        let pending = ingest.apply_pending()?;
        let again = ingest.replay()?;
        store.flush()?;
        Ok::<_, crate::store::StoreError>(Reply::Replayed {
            applied: again.applied,
            quarantined: again.quarantined,
            pending_applied: pending.applied,
        })
    };
    run().map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use crate::config::Config;
    use crate::db::Db;
    use crate::domain::TimestampMs;
    use crate::inbox::{Caller, Inbox, Reply, Request};
    use crate::store::EventState;
    use std::sync::Arc;

    fn text(mid: &str) -> Vec<u8> {
        serde_json::json!({"object":"page","entry":[{"id":"P","time":1,"messaging":[
            {"sender":{"id":"U"},"recipient":{"id":"P"},"timestamp":1_700_000_000_000_i64,
             "message":{"mid":mid,"text":"hi"}}]}]})
        .to_string()
        .into_bytes()
    }

    /// Events 1 (applied), 2 (quarantined, never applies), 3 (quarantined,
    /// applies now), 4 (pending).
    fn store() -> (tempfile::TempDir, Db) {
        let dir = tempfile::tempdir().unwrap();
        let store = Db::open(&dir.path().join("store"), 8, "test").unwrap();
        for body in [text("m1"), b"not json".to_vec(), text("m3"), text("m4")] {
            store.append_event_nowait(&body, TimestampMs(1)).unwrap();
        }
        store.flush().unwrap();
        store.set_applied_seq(3).unwrap();
        store.quarantine_event(2, "test").unwrap();
        store.quarantine_event(3, "test").unwrap();
        (dir, store)
    }

    fn inbox(store: &Db) -> Inbox {
        let jobs = tokio::sync::mpsc::unbounded_channel().0;
        let config = Config::from_toml("", &|_| None).unwrap();
        Inbox::new(store.clone(), jobs).with_config(Arc::new(config))
    }

    const ME: Caller = Caller {
        session: 0,
        agent: None,
    };

    #[test]
    fn replay_applies_the_pending_first_then_the_quarantined_again() {
        let (_dir, store) = store();
        let inbox = inbox(&store);
        assert_eq!(
            inbox.handle(&ME, Request::Replay),
            Ok(Reply::Replayed {
                applied: 1,
                quarantined: 1,
                pending_applied: 1
            })
        );
        assert_eq!(store.quarantined().unwrap(), vec![2]);
        assert_eq!(store.applied_seq().unwrap(), 4);
        for mid in ["m3", "m4"] {
            let mid = crate::domain::Mid::new(mid);
            assert!(store.message(&mid).unwrap().is_some(), "{mid:?} applied");
        }
        assert_eq!(
            inbox.handle(&ME, Request::Replay),
            Ok(Reply::Replayed {
                applied: 0,
                quarantined: 1,
                pending_applied: 0
            }),
            "nothing new the second time"
        );
    }

    #[test]
    fn delete_says_whether_the_event_was_quarantined() {
        let (_dir, store) = store();
        let inbox = inbox(&store);
        let delete = |seq| inbox.handle(&ME, Request::DeleteEvent { seq });
        for seq in [1, 4, 9] {
            assert_eq!(
                delete(seq),
                Ok(Reply::EventDeleted {
                    seq,
                    deleted: false
                })
            );
        }
        assert_eq!(
            delete(2),
            Ok(Reply::EventDeleted {
                seq: 2,
                deleted: true
            })
        );
        assert_eq!(
            store.get_event(2).unwrap().unwrap().state,
            EventState::Deleted
        );
        assert_eq!(store.quarantined().unwrap(), vec![3]);
        assert_eq!(
            delete(2),
            Ok(Reply::EventDeleted {
                seq: 2,
                deleted: false
            }),
            "already gone"
        );
    }

    #[test]
    fn an_inbox_without_the_config_refuses_to_replay() {
        let (_dir, store) = store();
        let jobs = tokio::sync::mpsc::unbounded_channel().0;
        let bare = Inbox::new(store.clone(), jobs);
        assert!(bare
            .handle(&ME, Request::Replay)
            .unwrap_err()
            .contains("where the config is"));
        assert_eq!(store.quarantined().unwrap(), vec![2, 3], "nothing replayed");
    }
}
