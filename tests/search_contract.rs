//! Full-text search (`Store::search`), run against every backend in the
//! style of tests/store_contract.rs: each check is a function over a fresh
//! store; `contract!` turns the list into tests for one backend.

use dmdesk::change::Change;
use dmdesk::domain::{ConvKey, Message, Mid, Platform, TimestampMs};
use dmdesk::search::SearchResults;
use dmdesk::store::embedded::SledStore;
use dmdesk::store::postgres::PgStore;
use dmdesk::store::Store;
use proptest::prelude::*;
use std::sync::Arc;

#[path = "common/pg.rs"]
mod pg;
#[path = "common/raw_sled.rs"]
mod raw_sled;

/// A store under test and whatever keeps it alive.
pub struct Fixture {
    pub store: Arc<dyn Store>,
    _keep: Box<dyn std::any::Any>,
}

fn open_sled(_test: &str) -> Option<Fixture> {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = SledStore::open(dir.path(), 16, "test").expect("open");
    Some(Fixture {
        store,
        _keep: Box::new(dir),
    })
}

fn open_postgres(test: &str) -> Option<Fixture> {
    let temp = pg::TempDb::create(test)?;
    let dir = tempfile::tempdir().expect("tempdir");
    let store = PgStore::open(&temp.url, dir.path(), "test").expect("open postgres");
    Some(Fixture {
        store,
        _keep: Box::new((dir, temp)),
    })
}

fn conv(user: &str) -> ConvKey {
    ConvKey::new(Platform::Messenger, "P1", user)
}

fn says(user: &str, mid: &str, t: i64, text: &str) -> Change {
    let mut m = Message::inbound(conv(user), Mid::from(mid), TimestampMs(t));
    m.text = Some(text.to_string());
    Change::Message {
        msg: m,
        metadata: None,
        qualifying: true,
        from_sync: false,
    }
}

/// Every page of a search, following `next` to the end (a page may stop
/// short at the time budget), joined.
fn all_pages(s: &dyn Store, q: &str, limit: usize) -> SearchResults {
    let mut all = s.search(q, None, limit).expect("search");
    while let Some(from) = all.next.take() {
        let mut page = s.search(q, Some(&from), limit).expect("search");
        all.hits.append(&mut page.hits);
        all.next = page.next;
    }
    all
}

/// (user, mid of the matched message) of each hit, in order.
fn found(s: &dyn Store, q: &str) -> Vec<(String, String)> {
    let r: SearchResults = all_pages(s, q, 3);
    r.hits
        .iter()
        .map(|h| (h.conv.key.user.0.clone(), h.message.mid.0.clone()))
        .collect()
}

fn hit(user: &str, mid: &str) -> (String, String) {
    (user.to_string(), mid.to_string())
}

pub fn finds_any_message_in_any_case_newest_first(f: Fixture) {
    let s = &*f.store;
    s.apply(&[
        says("ann", "a1", 10, "Where is my ORDER?"),
        says("ann", "a2", 20, "thanks, got it"),
        says("bob", "b1", 30, "the order was late"),
        says("cyd", "c1", 40, "nothing to see"),
    ])
    .expect("apply");
    // Not the last message: ann's match is her older one.
    assert_eq!(found(s, "order"), vec![hit("bob", "b1"), hit("ann", "a1")]);
    assert_eq!(found(s, "OrDeR?"), vec![hit("ann", "a1")]);
    assert_eq!(found(s, "s my o"), vec![hit("ann", "a1")]);
    assert!(found(s, "refund").is_empty());
    assert!(found(s, "").is_empty());
    // Every conversation has an "e"; the newest activity comes first.
    let users: Vec<String> = found(s, "E").into_iter().map(|h| h.0).collect();
    assert_eq!(users, ["cyd", "bob", "ann"]);
}

pub fn finds_cjk_emoji_and_short_queries(f: Fixture) {
    let s = &*f.store;
    s.apply(&[
        says("kim", "k1", 10, "커피 정말 맛있어요 😋"),
        says("li", "l1", 20, "你好，我的订单在哪里？"),
        says("eve", "e1", 30, "love it ❤️ and 👍🏽"),
        says("zoe", "z1", 40, "Straße ÉCOLE"),
    ])
    .expect("apply");
    assert_eq!(found(s, "맛있"), vec![hit("kim", "k1")]);
    assert_eq!(found(s, "订"), vec![hit("li", "l1")]);
    assert_eq!(found(s, "订单"), vec![hit("li", "l1")]);
    assert_eq!(found(s, "😋"), vec![hit("kim", "k1")]);
    assert_eq!(found(s, "❤️"), vec![hit("eve", "e1")]);
    assert_eq!(found(s, "👍🏽"), vec![hit("eve", "e1")]);
    assert_eq!(found(s, "école"), vec![hit("zoe", "z1")]);
    assert_eq!(
        found(s, "STRASSE"),
        vec![],
        "to_lowercase, not full case folding"
    );
    assert_eq!(found(s, "ß"), vec![hit("zoe", "z1")]);
    assert!(found(s, "订单了").is_empty());
}

pub fn finds_edited_text_and_never_unsent(f: Fixture) {
    let s = &*f.store;
    s.apply(&[
        says("ann", "a1", 10, "my parcel is lost"),
        says("bob", "b1", 20, "parcel arrived broken"),
    ])
    .expect("apply");
    s.apply(&[Change::Edit {
        conv: conv("ann"),
        mid: Mid::from("a1"),
        text: "my package is lost".into(),
        at: TimestampMs(11),
    }])
    .expect("edit");
    s.apply(&[Change::Delete {
        conv: conv("bob"),
        mid: Mid::from("b1"),
        at: TimestampMs(21),
    }])
    .expect("unsend");
    assert!(found(s, "parcel").is_empty(), "{:?}", found(s, "parcel"));
    assert_eq!(found(s, "package"), vec![hit("ann", "a1")]);
    // An edit that arrives before its message is applied with it.
    s.apply(&[Change::Edit {
        conv: conv("cyd"),
        mid: Mid::from("c1"),
        text: "early edit wins".into(),
        at: TimestampMs(31),
    }])
    .expect("early edit");
    s.apply(&[says("cyd", "c1", 30, "original words")])
        .expect("message");
    assert_eq!(found(s, "early edit"), vec![hit("cyd", "c1")]);
    assert!(found(s, "original").is_empty());
}

pub fn limit_says_more(f: Fixture) {
    let s = &*f.store;
    let changes: Vec<Change> = (0..7)
        .map(|i| says(&format!("u{i}"), &format!("m{i}"), i, "same words"))
        .collect();
    s.apply(&changes).expect("apply");
    let r = s.search("words", None, 5).expect("search");
    assert_eq!(r.hits.len(), 5);
    assert!(r.more());
    assert_eq!(r.hits[0].conv.key.user.0, "u6");
    // The next page goes on after the fifth, and says it is the last.
    let next = s.search("words", r.next.as_ref(), 5).expect("search");
    let users = |r: &SearchResults| -> Vec<String> {
        r.hits.iter().map(|h| h.conv.key.user.0.clone()).collect()
    };
    assert_eq!(users(&next), ["u1", "u0"]);
    assert!(!next.more());
    let r = s.search("words", None, 7).expect("search");
    assert_eq!((r.hits.len(), r.more()), (7, false));
}

/// Texts from a small alphabet (so queries often hit), mixed scripts.
fn text() -> impl Strategy<Value = String> {
    proptest::collection::vec(
        prop_oneof![
            Just("a"),
            Just("B"),
            Just("b"),
            Just(" "),
            Just("好"),
            Just("世"),
            Just("👍"),
            Just("É"),
            Just("é")
        ],
        0..12,
    )
    .prop_map(|v| v.concat())
}

/// Against a naive scan: a conversation is found exactly when one of its
/// messages' latest text contains the query, ignoring case.
pub fn agrees_with_a_naive_scan(f: Fixture, cases: u32) {
    let s = &*f.store;
    let mut runner = proptest::test_runner::TestRunner::new(ProptestConfig {
        cases,
        failure_persistence: None,
        ..ProptestConfig::default()
    });
    let case = std::sync::atomic::AtomicU64::new(0);
    let strategy = (
        proptest::collection::vec((0..5u8, text()), 1..8),
        proptest::collection::vec(text(), 1..6),
    );
    runner
        .run(&strategy, |(msgs, queries)| {
            // Fresh users each case: the store keeps growing across cases.
            let n = case.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
            let changes: Vec<Change> = msgs
                .iter()
                .enumerate()
                .map(|(i, (u, t))| {
                    says(
                        &format!("c{n}u{u}"),
                        &format!("c{n}m{i}"),
                        (n * 100 + i as u64) as i64,
                        t,
                    )
                })
                .collect();
            s.apply(&changes).expect("apply");
            for q in queries {
                let mut want: Vec<String> = msgs
                    .iter()
                    .filter(|(_, t)| !q.is_empty() && t.to_lowercase().contains(&q.to_lowercase()))
                    .map(|(u, _)| format!("c{n}u{u}"))
                    .collect();
                want.sort();
                want.dedup();
                let r = all_pages(s, &q, 2);
                let mut got: Vec<String> = r
                    .hits
                    .iter()
                    .map(|h| h.conv.key.user.0.clone())
                    .filter(|u| u.starts_with(&format!("c{n}u")))
                    .collect();
                let listed = got.len();
                got.sort();
                got.dedup();
                prop_assert_eq!(listed, got.len(), "a conversation listed twice");
                prop_assert_eq!(&got, &want, "query {:?} over {:?}", q, msgs);
                for h in &r.hits {
                    let t = h.message.text.as_deref().unwrap_or_default().to_lowercase();
                    prop_assert!(t.contains(&q.to_lowercase()));
                }
            }
            Ok(())
        })
        .unwrap_or_else(|e| panic!("{e}"));
}

macro_rules! contract {
    ($backend:ident, $open:expr, $cases:expr) => {
        mod $backend {
            use super::*;
            macro_rules! check {
                ($name:ident) => {
                    #[test]
                    fn $name() {
                        if let Some(f) =
                            $open(concat!(stringify!($backend), "::", stringify!($name)))
                        {
                            super::$name(f);
                        }
                    }
                };
            }
            check!(finds_any_message_in_any_case_newest_first);
            check!(finds_cjk_emoji_and_short_queries);
            check!(finds_edited_text_and_never_unsent);
            check!(limit_says_more);
            #[test]
            fn agrees_with_a_naive_scan() {
                if let Some(f) = $open(concat!(stringify!($backend), "::agrees_with_a_naive_scan"))
                {
                    super::agrees_with_a_naive_scan(f, $cases);
                }
            }
        }
    };
}

contract!(sled, open_sled, 64);
contract!(postgres, open_postgres, 16);

/// Wait (bounded) until the one-time build says it is done.
fn until_indexed(s: &dyn Store) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while s.search("x", None, 1).expect("search").indexing.is_some() {
        assert!(
            std::time::Instant::now() < deadline,
            "timed out after 30 s waiting for the search index build to finish"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

#[test]
fn sled_store_written_before_the_index_is_indexed_at_open() {
    let dir = tempfile::tempdir().expect("tempdir");
    {
        let s = SledStore::open(dir.path(), 16, "test").expect("open");
        s.apply(&[says("ann", "a1", 10, "older words 你好")])
            .expect("apply");
    }
    // Make it a store from before the index: no signatures, no mark.
    {
        let db = raw_sled::open_raw(dir.path());
        db.drop_tree("search").expect("drop");
        db.open_tree("meta")
            .expect("meta")
            .remove("search_indexed")
            .expect("unmark");
        db.flush().expect("flush");
    }
    let s = SledStore::open(dir.path(), 16, "test").expect("reopen");
    s.apply(&[says("bob", "b1", 20, "newer words")])
        .expect("apply");
    until_indexed(&*s);
    assert_eq!(
        found(&*s, "words"),
        vec![hit("bob", "b1"), hit("ann", "a1")]
    );
    assert_eq!(found(&*s, "你"), vec![hit("ann", "a1")]);
}

#[test]
fn postgres_database_written_before_the_index_is_indexed_at_open() {
    let Some(temp) = pg::TempDb::create("postgres_database_written_before_the_index") else {
        return;
    };
    let dir = tempfile::tempdir().expect("tempdir");
    {
        let s = PgStore::open(&temp.url, dir.path(), "test").expect("open");
        s.apply(&[says("ann", "a1", 10, "older words 你好")])
            .expect("apply");
    }
    sql(
        &temp.url,
        "DELETE FROM search_sig; DELETE FROM meta WHERE key = 'search_indexed'",
    );
    let s = PgStore::open(&temp.url, dir.path(), "test").expect("reopen");
    s.apply(&[says("bob", "b1", 20, "newer words")])
        .expect("apply");
    until_indexed(&*s);
    assert_eq!(
        found(&*s, "words"),
        vec![hit("bob", "b1"), hit("ann", "a1")]
    );
    assert_eq!(found(&*s, "你"), vec![hit("ann", "a1")]);
    drop(s);
}

fn sql(url: &dmdesk::store::postgres::PgUrl, sql: &str) {
    let (url, sql) = (url.clone(), sql.to_string());
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        rt.block_on(async {
            let (client, conn) = tokio_postgres::connect(url.expose(), tokio_postgres::NoTls)
                .await
                .expect("connect");
            tokio::spawn(conn);
            client.batch_execute(&sql).await.expect("sql");
        })
    })
    .join()
    .expect("sql thread");
}
