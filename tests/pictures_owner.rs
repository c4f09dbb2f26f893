//! Pictures are kept by the process that holds the store (issue 17): a
//! picture applied while no UI runs is fetched from Meta's CDN (wiremock)
//! into the cache soon after; a link the CDN refuses is asked once and then
//! answered with the placeholder; an attached UI gets the owner's bytes
//! through the control socket a bounded piece at a time.

mod common;

use common::wait::until;
use dmdesk::change::Change;
use dmdesk::config::Config;
use dmdesk::control::client::Remote;
use dmdesk::db::Db;
use dmdesk::domain::{Attachment, ConvKey, Message, Mid, Platform, TimestampMs};
use dmdesk::inbox::{Reply, Request};
use dmdesk::media::picture::{PicKey, PictureChunk, Unavailable};
use dmdesk::pictures::cache::{Cached, PictureCache};
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, SystemTime};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const WAIT: Duration = Duration::from_secs(20);

fn config(dir: &Path) -> Config {
    let text = format!(
        "[server]\nlisten = \"127.0.0.1:0\"\napp_secret = \"s\"\nverify_token = \"vt\"\n\
         [store]\npath = {:?}\ncache_mb = 8\n[graph]\nbase_url = \"http://127.0.0.1:9\"\n\
         [sync]\ninterval = \"off\"\n[media]\ncache_dir = {:?}\n\
         [[pages]]\nid = \"P1\"\nname = \"Shop\"\naccess_token = \"page-token\"\n",
        dir.join("store"),
        dir.join("pictures"),
    );
    Config::from_toml(&text, &|_| None).unwrap()
}

/// A customer's photo (`url`) applied to the store, as ingest would.
fn photo(store: &Db, mid: &str, url: &str) -> Message {
    let conv = ConvKey::new(Platform::Messenger, "P1", "U1");
    let mut m = Message::inbound(conv, Mid::from(mid), TimestampMs::now());
    m.attachments = vec![Attachment {
        kind: "image".into(),
        url: Some(url.to_string()),
        title: None,
    }];
    store
        .apply(&[Change::Message {
            msg: m.clone(),
            metadata: None,
            qualifying: true,
            from_sync: false,
        }])
        .unwrap();
    m
}

fn key(mid: &str) -> PicKey {
    PicKey {
        mid: Mid::from(mid),
        index: 0,
    }
}

fn bytes(n: usize, seed: u8) -> Vec<u8> {
    (0..n).map(|i| (i as u8).wrapping_mul(31) ^ seed).collect()
}

async fn cdn_serving(cdn: &MockServer, at: &str, body: Vec<u8>, times: u64) {
    Mock::given(method("GET"))
        .and(path(at))
        .respond_with(ResponseTemplate::new(200).set_body_bytes(body))
        .expect(times)
        .mount(cdn)
        .await;
}

/// The owner's cache as a reader of the same directory sees it.
fn kept(dir: &Path, mid: &str) -> Option<Cached> {
    let limits = dmdesk::media::cache::CacheLimits::default();
    let cache = PictureCache::open(dir.join("pictures"), limits).unwrap();
    cache.get(&key(mid).cache_name(), SystemTime::now())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn serve_keeps_a_picture_that_arrived_while_no_ui_ran_and_a_403_only_once() {
    let dir = tempfile::tempdir().unwrap();
    let cdn = MockServer::start().await;
    let photo_bytes = bytes(50_000, 7);
    cdn_serving(&cdn, "/ok.jpg", photo_bytes.clone(), 1).await;
    Mock::given(method("GET"))
        .and(path("/expired.jpg"))
        .respond_with(ResponseTemplate::new(403))
        .expect(1)
        .mount(&cdn)
        .await;
    cdn_serving(&cdn, "/later.jpg", bytes(10, 1), 1).await;
    let cfg = config(dir.path());
    let store = Db::open(&cfg.store.path, 8, "serve").unwrap();
    // Headless: no listener, no UI; the runtime alone.
    let running = dmdesk::runtime::start_with(Arc::new(cfg), store.clone(), None)
        .await
        .unwrap();

    photo(&store, "m_ok", &format!("{}/ok.jpg", cdn.uri()));
    let gone = photo(&store, "m_gone", &format!("{}/expired.jpg", cdn.uri()));
    until("the photo in the owner's cache", WAIT, || async {
        kept(dir.path(), "m_ok").is_some()
    })
    .await;
    assert_eq!(kept(dir.path(), "m_ok"), Some(Cached::Bytes(photo_bytes)));
    until("the refused link remembered", WAIT, || async {
        kept(dir.path(), "m_gone").is_some()
    })
    .await;
    assert_eq!(kept(dir.path(), "m_gone"), Some(Cached::Gone(403)));

    // The refused one announced again (a status change re-sends the
    // message) is not asked again; a later arrival still is, after it.
    for _ in 0..3 {
        store.publish(dmdesk::update::Update::Message(Box::new(gone.clone())));
    }
    photo(&store, "m_later", &format!("{}/later.jpg", cdn.uri()));
    until("the later photo kept", WAIT, || async {
        kept(dir.path(), "m_later").is_some()
    })
    .await;

    // An attached UI asking for the refused one gets the placeholder, from
    // the remembered refusal (the CDN is not asked a second time).
    let socket = dmdesk::control::socket_path(&dir.path().join("store"));
    let (remote, _, _pushed) = Remote::attach(&socket).await.unwrap();
    let r = dmdesk::tui::attached::picture(&remote, &key("m_gone"), 1 << 20).await;
    assert_eq!(r, Err(Unavailable::Expired));
    assert_eq!(
        Unavailable::Expired.placeholder(),
        "🖼 picture expired (Meta's link is no longer valid)"
    );
    remote.detach().await;
    running.shutdown().await;
    cdn.verify().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_attached_ui_gets_the_owners_picture_in_bounded_pieces() {
    let dir = tempfile::tempdir().unwrap();
    let cdn = MockServer::start().await;
    // Over two pieces; fetched by the keeper, and once more by the owner
    // after its cache lost the file.
    let big = bytes(dmdesk::pictures::chunks::CHUNK * 2 + 1234, 3);
    cdn_serving(&cdn, "/big.png", big.clone(), 2).await;
    let cfg = config(dir.path());
    let store = Db::open(&cfg.store.path, 8, "serve").unwrap();
    let running = dmdesk::runtime::start_with(Arc::new(cfg), store.clone(), None)
        .await
        .unwrap();
    photo(&store, "m_big", &format!("{}/big.png", cdn.uri()));
    until("the big photo in the owner's cache", WAIT, || async {
        kept(dir.path(), "m_big").is_some()
    })
    .await;

    let socket = dmdesk::control::socket_path(&dir.path().join("store"));
    let (remote, _, _pushed) = Remote::attach(&socket).await.unwrap();
    let got = dmdesk::tui::attached::picture(&remote, &key("m_big"), 10 << 20).await;
    assert_eq!(got.as_deref(), Ok(&big[..]), "the bytes the CDN gave");

    // Piece by piece: each under the socket's line limit, in order.
    let mut offset = 0;
    let mut pieces = 0;
    loop {
        let r = remote
            .inbox(Request::Picture {
                key: key("m_big"),
                offset,
            })
            .await
            .unwrap();
        let Reply::Picture(PictureChunk::Bytes { size, data, .. }) = &r else {
            panic!("a piece, not {r:?}");
        };
        let line = serde_json::to_string(&r).unwrap();
        assert!(line.len() < dmdesk::control::MAX_LINE / 2, "{}", line.len());
        pieces += 1;
        use base64::Engine as _;
        let piece = base64::engine::general_purpose::STANDARD
            .decode(data)
            .unwrap();
        assert!(piece.len() <= dmdesk::pictures::chunks::CHUNK);
        offset += piece.len() as u64;
        if offset >= *size || pieces > 10 {
            break;
        }
    }
    assert_eq!(pieces, 3);

    // A limit below the picture's size refuses it without taking it all.
    let small = dmdesk::tui::attached::picture(&remote, &key("m_big"), 1024).await;
    assert_eq!(small, Err(Unavailable::TooLarge(0)));

    // Evicted from the owner's cache: the owner fetches it again (the
    // stored attachment's link), never the attached agent.
    for e in std::fs::read_dir(dir.path().join("pictures")).unwrap() {
        std::fs::remove_file(e.unwrap().path()).unwrap();
    }
    let again = dmdesk::tui::attached::picture(&remote, &key("m_big"), 10 << 20).await;
    assert_eq!(again.as_deref(), Ok(&big[..]));
    // Not a picture of the store: refused, nothing fetched.
    let none = dmdesk::tui::attached::picture(&remote, &key("m_nowhere"), 1 << 20).await;
    assert!(matches!(none, Err(Unavailable::Failed(_))), "{none:?}");

    remote.detach().await;
    running.shutdown().await;
    cdn.verify().await;
}
