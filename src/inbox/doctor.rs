//! `Request::StoreChecks`: `dmdesk doctor`'s checks that read the store,
//! run where the store is. The database, the event log, and what the store
//! knows of each configured page: a token Meta refused, threads another app
//! owns. Doctor (src/doctor.rs) places them among its config and Graph checks.

use crate::config::{Config, PageConfig};
use crate::db::Db;
use crate::domain::AccountId;
use crate::request::doctor::{Finding, PageChecks, StoreChecks};
use std::collections::HashMap;

pub fn store_checks(db: &Db, config: &Config) -> StoreChecks {
    let mut store: Vec<Finding> = check_database(db).into_iter().collect();
    store.extend(check_event_log(db));
    let standby = standby_by_page(db, config);
    let pages = config
        .pages
        .iter()
        .enumerate()
        .map(|(i, page)| PageChecks {
            page: page.id.clone(),
            dead_token: dead_token(db, i, page),
            // An Instagram login has no Page whose threads another app owns.
            standby: match standby.get(&page.id) {
                Some(&n) if !page.is_instagram_login() => Some(Finding::fix(format!(
                    "{}: {n} conversation(s) are in standby: another app owns those threads, Meta delivers them as standby and replies fail; make dmdesk's app the primary receiver (Page settings → Advanced messaging) or have the other app pass thread control",
                    who(page)
                ))),
                _ => None,
            },
        })
        .collect();
    StoreChecks { store, pages }
}

fn who(page: &PageConfig) -> String {
    match page.is_instagram_login() {
        true => format!("instagram {} ({})", page.name, page.id),
        false => format!("page {} ({})", page.name, page.id),
    }
}

/// Meta refused the page's current token (the mark the workers left).
fn dead_token(db: &Db, i: usize, page: &PageConfig) -> Option<Finding> {
    let d = crate::tokens::dead_token(db, page)?;
    let (what, put) = match page.is_instagram_login() {
        true => (
            "account",
            "put a new Instagram token in its access_token_file".to_string(),
        ),
        false => (
            "page",
            format!("put a new Page access token in pages[{i}].access_token"),
        ),
    };
    Some(Finding::fix(format!(
        "{}: Meta rejected this token ({}); dmdesk stopped calling Meta for the {what} — {put}",
        who(page),
        d.reason
    )))
}

/// Conversations in standby, by the configured page they belong to (one
/// pass over the conversations for all pages).
fn standby_by_page(db: &Db, config: &Config) -> HashMap<AccountId, usize> {
    let mut n = HashMap::new();
    for c in db.all_conversations().filter_map(Result::ok) {
        if let Some((page, _)) = c.standby.then(|| config.page_for(&c.key.account)).flatten() {
            *n.entry(page.id.clone()).or_default() += 1;
        }
    }
    n
}

/// The PostgreSQL backend: which database, its server and schema versions
/// (nothing for sled).
fn check_database(db: &Db) -> Option<Finding> {
    match db.database_info() {
        Ok(None) => None,
        Ok(Some(i)) if i.schema_version < i.schema_latest => Some(Finding::fix(format!(
            "database {}: PostgreSQL {}, schema {} of {}: start `dmdesk serve` once to upgrade it",
            i.database, i.server_version, i.schema_version, i.schema_latest
        ))),
        Ok(Some(i)) => Some(Finding::ok(format!(
            "database {}: PostgreSQL {}, schema {} (current)",
            i.database, i.server_version, i.schema_version
        ))),
        // The message names the database with its password redacted.
        Err(e) => Some(Finding::fix(format!("database unreachable: {e}"))),
    }
}

/// The event log: damaged tails that start-up cut off and kept aside
/// (`*.damaged-at-N` beside the sled backend's segments), and quarantined
/// events, whose bodies are kept until they are replayed or deleted.
pub fn check_event_log(db: &Db) -> Vec<Finding> {
    let mut out = Vec::new();
    if db.backend() == "sled" {
        let dir = db.path().join(crate::store::embedded::EVENT_LOG_DIR);
        let mut damaged: Vec<(std::path::PathBuf, u64)> = std::fs::read_dir(&dir)
            .into_iter()
            .flatten()
            .flatten()
            .filter(|e| e.file_name().to_string_lossy().contains(".damaged-at-"))
            .map(|e| (e.path(), e.metadata().map_or(0, |m| m.len())))
            .collect();
        damaged.sort();
        for (path, len) in damaged {
            out.push(Finding::fix(format!(
                "event log: a damaged tail ({len} bytes) was cut off at start-up and kept as {}; \
                 what it holds was not applied (a torn last write is normal after a power cut: it was never acknowledged). \
                 Look at it, then delete the file",
                path.display()
            )));
        }
    }
    match db.quarantined() {
        Ok(q) if q.is_empty() => {}
        Ok(q) => {
            let shown: Vec<String> = q.iter().take(10).map(u64::to_string).collect();
            let more = if q.len() > 10 { ", ..." } else { "" };
            out.push(Finding::note(format!(
                "{} quarantined event(s) (seq {}{more}), kept until replayed: `dmdesk replay` applies them again",
                q.len(),
                shown.join(", ")
            )));
        }
        Err(e) => out.push(Finding::fix(format!("cannot list quarantined events: {e}"))),
    }
    out
}

#[cfg(test)]
mod tests {
    use crate::change::Change;
    use crate::config::Config;
    use crate::db::Db;
    use crate::domain::{AccountId, ConvKey, Platform, TimestampMs};
    use crate::inbox::{Caller, Inbox, Reply, Request};
    use crate::meta::graph::token_fingerprint;
    use crate::request::doctor::{Finding, PageChecks, StoreChecks};
    use std::sync::Arc;

    fn standby(store: &Db, platform: Platform, account: &str, user: &str) {
        store
            .apply(&[Change::Handover {
                conv: ConvKey::new(platform, account, user),
                standby: true,
                at: TimestampMs(1),
            }])
            .unwrap();
    }

    #[test]
    fn the_store_says_what_it_knows_of_itself_and_of_each_page() {
        let config = Config::from_toml(
            "[[pages]]\nid = \"A\"\nname = \"Shop\"\naccess_token = \"tok-A\"\n\
             [[pages]]\nid = \"B\"\naccess_token = \"tok-B\"\n\
             [[instagram]]\nid = \"IG\"\nname = \"Shop IG\"\naccess_token = \"tok-IG\"\n",
            &|_| None,
        )
        .unwrap();
        let dir = tempfile::tempdir().unwrap();
        let store = Db::open(&dir.path().join("store"), 8, "test").unwrap();
        // Two threads of page A and one of the Instagram login in standby,
        // one of page B not; B's and the login's tokens refused.
        standby(&store, Platform::Messenger, "A", "U1");
        standby(&store, Platform::Messenger, "A", "U2");
        standby(&store, Platform::Instagram, "IG", "U3");
        store
            .apply(&[Change::Handover {
                conv: ConvKey::new(Platform::Messenger, "B", "U4"),
                standby: false,
                at: TimestampMs(1),
            }])
            .unwrap();
        for (i, why) in [(1, "expired"), (2, "revoked")] {
            let page = &config.pages[i];
            let print = token_fingerprint(&page.access_token);
            store
                .mark_token_dead(page.id.as_str(), &print, why, TimestampMs(1))
                .unwrap();
        }
        store.append_event_nowait(b"{}", TimestampMs(1)).unwrap();
        store.flush().unwrap();
        store.set_applied_seq(1).unwrap();
        store.quarantine_event(1, "test").unwrap();

        let jobs = tokio::sync::mpsc::unbounded_channel().0;
        let inbox = Inbox::new(store, jobs).with_config(Arc::new(config));
        let me = Caller {
            session: 0,
            agent: None,
        };
        let page = |id: &str, dead_token: Option<&str>, standby: Option<&str>| PageChecks {
            page: AccountId::new(id),
            dead_token: dead_token.map(Finding::fix),
            standby: standby.map(Finding::fix),
        };
        let expected = StoreChecks {
            store: vec![Finding::note(
                "1 quarantined event(s) (seq 1), kept until replayed: `dmdesk replay` applies them again",
            )],
            pages: vec![
                page("A", None, Some("page Shop (A): 2 conversation(s) are in standby: another app owns those threads, Meta delivers them as standby and replies fail; make dmdesk's app the primary receiver (Page settings → Advanced messaging) or have the other app pass thread control")),
                page("B", Some("page B (B): Meta rejected this token (expired); dmdesk stopped calling Meta for the page — put a new Page access token in pages[1].access_token"), None),
                page("IG", Some("instagram Shop IG (IG): Meta rejected this token (revoked); dmdesk stopped calling Meta for the account — put a new Instagram token in its access_token_file"), None),
            ],
        };
        assert_eq!(
            inbox.handle(&me, Request::StoreChecks),
            Ok(Reply::StoreChecks(Box::new(expected)))
        );
    }
}
