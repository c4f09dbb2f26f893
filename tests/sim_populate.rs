//! `sim populate` fills a store with exactly the requested counts.

use dmdesk::cli::PopulateArgs;
use dmdesk::db::Db;
use dmdesk::domain::{Direction, Platform};
use dmdesk::sim::populate::populate_store;

/// The store's background flush thread lets go of the database a moment
/// after the store is dropped; retry the open briefly.
fn reopen(path: &std::path::Path) -> dmdesk::db::Db {
    for _ in 0..50 {
        match Db::open(path, 16, "test") {
            Ok(s) => return s,
            Err(_) => std::thread::sleep(std::time::Duration::from_millis(100)),
        }
    }
    Db::open(path, 16, "test").expect("store released within 5 s")
}

#[test]
fn populate_produces_exact_counts_and_a_realistic_mix() {
    let dir = tempfile::tempdir().unwrap();
    let args = PopulateArgs {
        conversations: 60,
        messages: 700,
        store: dir.path().join("store"),
    };
    let report = dmdesk::sim::populate(&args).unwrap();
    assert_eq!((report.conversations, report.messages), (60, 700));
    assert!(report.messages_per_second() > 0.0);

    let store = reopen(&args.store);
    assert_eq!(store.conversation_count().unwrap(), 60);
    let msgs: Vec<_> = store.all_messages().map(|m| m.unwrap()).collect();
    assert_eq!(msgs.len(), 700);
    assert!(msgs.iter().any(|m| m.direction == Direction::Out));
    assert!(msgs.iter().any(|m| m.conv.platform == Platform::Instagram));
    assert!(msgs.iter().any(|m| m.conv.platform == Platform::Messenger));
    let now = dmdesk::domain::TimestampMs::now();
    let convs: Vec<_> = store.all_conversations().map(|c| c.unwrap()).collect();
    let outside = convs
        .iter()
        .filter(|c| c.last_inbound.is_none_or(|t| now.0 - t.0 > 24 * 3_600_000))
        .count();
    assert!(
        outside > 0 && outside < convs.len(),
        "some outside the window: {outside}"
    );

    // A second run adds exactly as many again (ids do not collide).
    populate_store(&store, 10, 25, 99).unwrap();
    assert_eq!(store.conversation_count().unwrap(), 70);
    assert_eq!(store.all_messages().count(), 725);
}

#[test]
fn populate_refuses_fewer_messages_than_conversations() {
    let dir = tempfile::tempdir().unwrap();
    let store = Db::open(dir.path(), 16, "test").unwrap();
    assert!(populate_store(&store, 10, 5, 1).is_err());
    assert_eq!(store.conversation_count().unwrap(), 0);
}
