//! `dmdesk migrate --to postgres`: a sled store with messages, contacts,
//! an outbox record, a campaign, a draft, applied and quarantined events,
//! history, a note and a mention in a mailbox is
//! copied into an empty database; every export reads the same on both
//! backends; a second run adds nothing; a database holding other data is
//! refused. Skipped without `DMDESK_TEST_PG_URL` (see tests/common/pg.rs).

mod common;
#[path = "common/pg.rs"]
mod pg;

use common::{text_body, Harness};
use dmdesk::db::Db;
use dmdesk::domain::{ConvKey, Mid, Platform, TimestampMs};
use dmdesk::store::postgres::PgStore;
use dmdesk::store::NewRecipient;
use std::path::Path;
use std::process::{Command, Output};

fn dmdesk(cfg: &Path, db: &pg::TempDb, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_dmdesk"))
        .arg("--config")
        .arg(cfg)
        .args(args)
        .env("DMDESK_PG", db.url.expose())
        .output()
        .expect("run dmdesk")
}

fn text(o: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

/// The sled store every test copies: two conversations with messages, a
/// sent reply, a campaign, a draft, and a quarantined event.
fn populate(store: &Path) -> String {
    let dir = tempfile::tempdir().unwrap();
    let mut config = common::config_for(dir.path());
    config.store.path = store.to_path_buf();
    let db = Db::open(store, 16, "test").unwrap();
    let h = Harness::with(dir, config, db);
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        for (i, (user, words)) in [("U1", "hello"), ("U2", "hi there"), ("U1", "are you open?")]
            .into_iter()
            .enumerate()
        {
            let b = text_body(
                "P1",
                user,
                &format!("m_mig_{i}"),
                1_700_000_000_000 + i as i64,
                words,
            );
            assert_eq!(h.post(&b).await, 200);
        }
        // Signed but not JSON: logged, then quarantined by the applier.
        assert_eq!(h.post(b"not json at all").await, 200);
    });
    h.apply();
    assert_eq!(
        h.store.quarantined().unwrap().len(),
        1,
        "one quarantined event"
    );
    let u1 = ConvKey::new(Platform::Messenger, "P1", "U1");
    let u2 = ConvKey::new(Platform::Messenger, "P1", "U2");
    let now = TimestampMs(1_700_000_100_000);
    let rec = h
        .store
        .create_outbound(&u1, "we are open", None, Some("alice"), None, now)
        .unwrap();
    h.store
        .outbound_sent(&rec.id, &Mid("m_mig_reply".into()))
        .unwrap();
    h.store.set_draft(&u2, "half-written answer").unwrap();
    h.store.set_note_draft(&u2, "half-written note").unwrap();
    let alice = dmdesk::team::AgentName::from("alice");
    assert_eq!(
        h.store
            .assign(&u2, None, Some(&alice), Some(&alice), now)
            .unwrap(),
        dmdesk::store::Swap::Done
    );
    // A note mentioning bob (his mailbox gets an item).
    h.store
        .add_note(
            &u2,
            &alice,
            "@bob this one is yours tomorrow",
            vec![dmdesk::team::AgentName::from("bob")],
            now,
        )
        .unwrap();
    h.store
        .create_campaign(
            "spring",
            "hello {first_name}",
            None,
            Some("alice"),
            &[
                NewRecipient {
                    conv: u1,
                    skip: None,
                },
                NewRecipient {
                    conv: u2,
                    skip: Some("window closed".into()),
                },
            ],
            now,
        )
        .unwrap();
    h.store.set_last_sync("P1", now).unwrap();
    h.store.flush().unwrap();
    rec.id
}

fn configs(dir: &Path) -> (std::path::PathBuf, std::path::PathBuf) {
    let store = dir.join("store");
    let sled = dir.join("sled.toml");
    let pg = dir.join("pg.toml");
    let server = "[server]\napp_secret = \"s\"\nverify_token = \"v\"\n";
    std::fs::write(&sled, format!("{server}[store]\npath = {store:?}\n")).unwrap();
    std::fs::write(
        &pg,
        format!(
            "{server}[store]\npath = {store:?}\nbackend = \"postgres\"\nurl_env = \"DMDESK_PG\"\n"
        ),
    )
    .unwrap();
    (sled, pg)
}

/// The "added" column of migrate's table, by table.
fn added(stdout: &str) -> Vec<(String, u64)> {
    stdout
        .lines()
        .skip(1)
        .map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            (f[0].to_string(), f[2].parse().unwrap())
        })
        .collect()
}

#[test]
fn a_sled_store_copied_into_postgres_exports_the_same_and_a_second_run_adds_nothing() {
    let Some(db) = pg::TempDb::create("a_sled_store_copied_into_postgres") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let (sled, pgcfg) = configs(dir.path());
    let outbox_id = populate(&dir.path().join("store"));

    let first = dmdesk(&pgcfg, &db, &["migrate", "--to", "postgres"]);
    let (out, err) = text(&first);
    assert!(first.status.success(), "migrate: {out}\n{err}");
    assert!(err.contains("counts match"), "{err}");
    let first_added = added(&out);
    let get = |t: &str| first_added.iter().find(|(n, _)| n == t).unwrap().1;
    assert_eq!(get("messages"), 4, "3 inbound and the reply: {out}");
    assert_eq!(get("conversations"), 2);
    assert_eq!(get("outbox"), 1);
    assert_eq!(get("campaigns"), 1);
    assert_eq!(get("campaign_recipients"), 2);
    assert_eq!(get("drafts"), 1);
    assert_eq!(get("note_drafts"), 1);
    assert_eq!(get("events"), 4);
    assert_eq!(get("quarantine"), 1);
    assert_eq!(get("notes"), 1);
    assert_eq!(get("mailbox"), 1, "bob's mention");
    assert!(get("history") >= 3, "opened twice, assigned: {out}");

    for what in [
        "messages",
        "contacts",
        "conversations",
        "campaigns",
        "events",
    ] {
        let a = text(&dmdesk(&sled, &db, &["export", "--what", what])).0;
        let b = text(&dmdesk(&pgcfg, &db, &["export", "--what", what])).0;
        let (mut a, mut b): (Vec<&str>, Vec<&str>) = (a.lines().collect(), b.lines().collect());
        a.sort_unstable();
        b.sort_unstable();
        assert!(!a.is_empty(), "the sled export of {what} has lines");
        assert_eq!(a, b, "export --what {what} on both backends");
    }
    // Not in any export: the drafts and the outbox record.
    let pg = PgStore::open(&db.url, &dir.path().join("pg-local"), "test").unwrap();
    use dmdesk::store::Store;
    let u2 = ConvKey::new(Platform::Messenger, "P1", "U2");
    assert_eq!(
        pg.draft(&u2).unwrap().as_deref(),
        Some("half-written answer")
    );
    assert_eq!(
        pg.note_draft(&u2).unwrap().as_deref(),
        Some("half-written note")
    );
    let rec = pg.outbox_get(&outbox_id).unwrap().expect("outbox record");
    assert_eq!(rec.mid, Some(Mid("m_mig_reply".into())));
    assert_eq!(
        pg.last_sync("P1").unwrap(),
        Some(TimestampMs(1_700_000_100_000))
    );
    // The copied rows serve the views and search as applied ones do.
    let mine = dmdesk::filter::ConvFilter {
        assignee: dmdesk::filter::AssigneeFilter::Mine("alice".into()),
        ..Default::default()
    };
    let rows = pg.conversations(&mine, 0, 10).unwrap();
    assert_eq!(
        rows.iter().map(|c| c.key.clone()).collect::<Vec<_>>(),
        vec![u2.clone()],
        "alice's view after the copy"
    );
    let found = pg.search("OPEN?", None, 10).unwrap();
    assert_eq!(
        found
            .hits
            .iter()
            .map(|h| h.message.mid.as_str())
            .collect::<Vec<_>>(),
        ["m_mig_2"],
        "a copied message is found: {found:?}"
    );
    // The team's records: the note, bob's mail, and the history (equal,
    // ids and order included), which the report reads.
    let sled_store = Db::open(&dir.path().join("store"), 16, "test").unwrap();
    let notes = pg.notes(&u2).unwrap();
    assert_eq!(notes, sled_store.notes(&u2).unwrap());
    assert_eq!(notes.len(), 1);
    assert_eq!(notes[0].text, "@bob this one is yours tomorrow");
    let mail = pg.mailbox(&"bob".into()).unwrap();
    assert_eq!(mail, sled_store.mailbox(&"bob".into()).unwrap());
    assert_eq!(mail.len(), 1, "{mail:?}");
    let history: Vec<_> = pg.all_history().map(|r| r.unwrap()).collect();
    let sled_history: Vec<_> = sled_store.all_history().map(|r| r.unwrap()).collect();
    assert_eq!(history, sled_history);
    assert!(
        history.iter().any(|(_, e)| e.conv == u2
            && matches!(
                &e.kind,
                dmdesk::team::HistoryKind::Assigned { to: Some(a), .. } if a.as_str() == "alice"
            )),
        "alice's assignment in the copied history: {history:?}"
    );
    assert_eq!(pg.history(&u2).unwrap(), sled_store.history(&u2).unwrap());
    drop(sled_store);
    // A new record id never takes a copied one.
    assert!(pg.next_id().unwrap() > u64::from_str_radix(&outbox_id[1..], 16).unwrap());

    let second = dmdesk(&pgcfg, &db, &["migrate", "--to", "postgres"]);
    let (out2, err2) = text(&second);
    assert!(second.status.success(), "second migrate: {out2}\n{err2}");
    let again = added(&out2);
    assert_eq!(again.len(), first_added.len());
    assert!(
        again.iter().all(|(_, n)| *n == 0),
        "a second run adds nothing: {out2}"
    );
}

#[test]
fn a_database_holding_other_data_is_refused() {
    let Some(db) = pg::TempDb::create("a_database_holding_other_data_is_refused") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let (_, pgcfg) = configs(dir.path());
    populate(&dir.path().join("store"));
    {
        // Another team's data in the database.
        let pg = PgStore::open(&db.url, &dir.path().join("pg-local"), "test").unwrap();
        use dmdesk::store::Store;
        pg.append_event_nowait(b"{}", TimestampMs(1)).unwrap();
    }
    let o = dmdesk(&pgcfg, &db, &["migrate", "--to", "postgres"]);
    let (out, err) = text(&o);
    assert_eq!(o.status.code(), Some(1), "{out}\n{err}");
    assert!(err.contains("already holds other data (1 events)"), "{err}");
    assert!(out.is_empty(), "nothing reported copied: {out}");
}
