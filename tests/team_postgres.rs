//! V2__team.sql on PostgreSQL: applies on a fresh database and on one a
//! V1 dmdesk wrote, whose conversations then filter by assignee and label.

use dmdesk::bus::Bus;
use dmdesk::db::Db;
use dmdesk::domain::{ConvKey, Conversation, Platform, TimestampMs};
use dmdesk::filter::{AssigneeFilter, ConvFilter};
use dmdesk::store::postgres::{PgStore, PgUrl};
use dmdesk::team::AgentName;

#[path = "common/pg.rs"]
mod pg;

/// Statements on the test database, on a runtime of their own.
fn sql(url: &PgUrl, stmts: Vec<(String, Vec<u8>, String)>) {
    let url = url.clone();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async {
            let (client, conn) = tokio_postgres::connect(url.expose(), tokio_postgres::NoTls)
                .await
                .unwrap();
            tokio::spawn(conn);
            for (q, key, doc) in stmts {
                let doc: serde_json::Value = serde_json::from_str(&doc).unwrap();
                client.execute(&q, &[&key, &doc]).await.unwrap();
            }
        })
    })
    .join()
    .unwrap();
}

#[test]
fn v2_applies_on_a_fresh_database() {
    let Some(db) = pg::TempDb::create("team_postgres::fresh") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let store = PgStore::open(&db.url, dir.path(), "test").unwrap();
    let d = store.describe().unwrap();
    assert_eq!((d.schema_version, d.schema_latest), (2, 2));
    drop(store);
}

#[test]
fn v2_upgrades_a_v1_database_and_fills_the_team_columns() {
    let Some(db) = pg::TempDb::create("team_postgres::upgrade") else {
        return;
    };
    PgStore::migrate_only_to(&db.url, 1).unwrap();
    let key = |u: &str| ConvKey::new(Platform::Messenger, "P", u);
    // Rows as V1 wrote them: documents without the team's fields, and one
    // that carries them (a document is what V2 reads them from).
    let plain = Conversation::new(key("U1"), "one".into());
    let mut doc = serde_json::to_value(&plain).unwrap();
    let obj = doc.as_object_mut().unwrap();
    obj.remove("assignee");
    obj.remove("labels");
    obj.remove("priority");
    let mut with_team = Conversation::new(key("U2"), "two".into());
    with_team.last_activity = TimestampMs(5);
    with_team.assignee = Some(AgentName::from("alice"));
    with_team.labels = vec!["vip".into()];
    let insert = "INSERT INTO conversations (conv, last_activity, unread, doc) \
                  VALUES ($1, 0, 0, $2)"
        .to_string();
    sql(
        &db.url,
        vec![
            (
                insert.clone(),
                dmdesk::store::embedded::keys::conv(&key("U1")),
                doc.to_string(),
            ),
            (
                insert,
                dmdesk::store::embedded::keys::conv(&key("U2")),
                serde_json::to_string(&with_team).unwrap(),
            ),
        ],
    );
    let dir = tempfile::tempdir().unwrap();
    let store = PgStore::open(&db.url, dir.path(), "test").unwrap();
    assert_eq!(store.describe().unwrap().schema_version, 2);
    let db_ = Db::new(store, Bus::new());
    let users = |f: ConvFilter| -> Vec<String> {
        db_.conversations(&f, 0, 10)
            .unwrap()
            .into_iter()
            .map(|c| c.key.user.0)
            .collect()
    };
    assert_eq!(
        users(ConvFilter {
            assignee: AssigneeFilter::Mine("alice".into()),
            ..Default::default()
        }),
        vec!["U2"]
    );
    assert_eq!(
        users(ConvFilter {
            assignee: AssigneeFilter::Unassigned,
            ..Default::default()
        }),
        vec!["U1"]
    );
    assert_eq!(
        users(ConvFilter {
            label: Some("vip".into()),
            ..Default::default()
        }),
        vec!["U2"]
    );
    // The old row takes team changes like a new one.
    db_.set_labels(&key("U1"), &["vip".into()], &[], None, TimestampMs(9))
        .unwrap();
    assert_eq!(
        db_.count_matching(&ConvFilter {
            label: Some("vip".into()),
            ..Default::default()
        })
        .unwrap(),
        2
    );
    assert_eq!(db_.history(&key("U1")).unwrap().len(), 1);
}
