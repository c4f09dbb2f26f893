//! The picture cache's bounds and privacy, and fetching through it with
//! wiremock as Meta's CDN: bytes kept once, a 403/404 remembered as
//! "expired", an oversized picture refused.

use dmdesk::domain::Mid;
use dmdesk::media::cache::CacheLimits;
use dmdesk::media::picture::{PicKey, Unavailable};
use dmdesk::pictures::cache::{Cached, PictureCache};
use dmdesk::pictures::fetch::Fetcher;
use dmdesk::pictures::Source;
use std::os::unix::fs::PermissionsExt;
use std::sync::Arc;
use std::time::{Duration, SystemTime};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

fn limits(max_bytes: u64, max_files: usize) -> CacheLimits {
    CacheLimits {
        max_bytes,
        max_files,
        max_age: Duration::from_secs(3600),
    }
}

fn at(s: u64) -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000 + s)
}

#[test]
fn files_are_private_and_named_by_hash() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("pictures");
    let c = PictureCache::open(&root, limits(1 << 20, 10)).unwrap();
    c.put("m_secret#0", b"JPEGDATA", at(0)).unwrap();
    let mode = std::fs::metadata(&root).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o700);
    let files: Vec<_> = std::fs::read_dir(&root)
        .unwrap()
        .map(|e| e.unwrap())
        .collect();
    assert_eq!(files.len(), 1);
    let name = files[0].file_name().to_string_lossy().into_owned();
    assert!(!name.contains("secret") && name.len() == 64, "{name}");
    let mode = files[0].metadata().unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    assert_eq!(
        c.get("m_secret#0", at(1)),
        Some(Cached::Bytes(b"JPEGDATA".to_vec()))
    );
    assert!(c.contains("m_secret#0") && !c.contains("m_other#0"));
}

#[test]
fn size_bound_evicts_the_least_recently_used() {
    let dir = tempfile::tempdir().unwrap();
    let c = PictureCache::open(dir.path(), limits(300, 100)).unwrap();
    c.put("a", &[1; 100], at(0)).unwrap();
    c.put("b", &[2; 100], at(1)).unwrap();
    c.put("c", &[3; 100], at(2)).unwrap();
    // "a" used again: "b" is now the oldest.
    assert!(c.get("a", at(3)).is_some());
    c.put("d", &[4; 100], at(4)).unwrap();
    assert_eq!(c.usage().unwrap(), (300, 3));
    assert!(c.get("b", at(5)).is_none(), "evicted");
    for k in ["a", "c", "d"] {
        assert!(c.get(k, at(5)).is_some(), "{k} kept");
    }
}

#[test]
fn count_bound_and_age_bound() {
    let dir = tempfile::tempdir().unwrap();
    let c = PictureCache::open(dir.path(), limits(1 << 20, 2)).unwrap();
    c.put("a", b"1", at(0)).unwrap();
    c.put("b", b"2", at(1)).unwrap();
    c.put("c", b"3", at(2)).unwrap();
    assert_eq!(c.usage().unwrap().1, 2);
    assert!(c.get("a", at(3)).is_none());
    // Past max_age (1 h) a picture is gone, on read and on eviction.
    assert!(c.get("b", at(1 + 3601)).is_none());
    assert_eq!(c.evict(at(2 + 3601)).unwrap(), 1);
    assert_eq!(c.usage().unwrap(), (0, 0));
}

fn source(dir: &std::path::Path, max_bytes: u64) -> Arc<Source> {
    Arc::new(Source {
        cache: PictureCache::open(dir, limits(1 << 20, 100)).unwrap(),
        fetcher: Fetcher::new(max_bytes),
    })
}

fn key(mid: &str) -> PicKey {
    PicKey {
        mid: Mid::new(mid),
        index: 0,
    }
}

#[tokio::test]
async fn bytes_are_fetched_once_then_served_from_the_cache() {
    let cdn = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/p.jpg"))
        .respond_with(ResponseTemplate::new(200).set_body_bytes(b"PICTURE".to_vec()))
        .expect(1)
        .mount(&cdn)
        .await;
    let dir = tempfile::tempdir().unwrap();
    let src = source(dir.path(), 1 << 20);
    let url = format!("{}/p.jpg", cdn.uri());
    assert_eq!(src.bytes(&key("m1"), &url).await.unwrap(), b"PICTURE");
    // The link may have expired since: the bytes are what was kept.
    assert_eq!(src.bytes(&key("m1"), &url).await.unwrap(), b"PICTURE");
    cdn.verify().await;
}

#[tokio::test]
async fn a_403_or_404_is_expired_and_not_asked_again() {
    let cdn = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/gone.jpg"))
        .respond_with(ResponseTemplate::new(403))
        .expect(1)
        .mount(&cdn)
        .await;
    Mock::given(method("GET"))
        .and(path("/missing.jpg"))
        .respond_with(ResponseTemplate::new(404))
        .expect(1)
        .mount(&cdn)
        .await;
    Mock::given(method("GET"))
        .and(path("/busy.jpg"))
        .respond_with(ResponseTemplate::new(503))
        .expect(2)
        .mount(&cdn)
        .await;
    let dir = tempfile::tempdir().unwrap();
    let src = source(dir.path(), 1 << 20);
    for (mid, p) in [("m403", "gone"), ("m404", "missing")] {
        let url = format!("{}/{p}.jpg", cdn.uri());
        for _ in 0..2 {
            assert_eq!(src.bytes(&key(mid), &url).await, Err(Unavailable::Expired));
        }
    }
    assert_eq!(
        Unavailable::Expired.placeholder(),
        "🖼 picture expired (Meta's link is no longer valid)"
    );
    // A server error is not an expiry: asked again next time.
    let url = format!("{}/busy.jpg", cdn.uri());
    for _ in 0..2 {
        let r = src.bytes(&key("m503"), &url).await;
        assert_eq!(
            r,
            Err(Unavailable::Failed("the server answered 503".into()))
        );
    }
    cdn.verify().await;
}

#[tokio::test]
async fn a_picture_over_the_limit_is_refused_and_not_kept() {
    let cdn = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(200).set_body_bytes(vec![7u8; 4096]))
        .mount(&cdn)
        .await;
    let dir = tempfile::tempdir().unwrap();
    let src = source(dir.path(), 1024);
    let url = format!("{}/big.jpg", cdn.uri());
    assert_eq!(
        src.bytes(&key("big"), &url).await,
        Err(Unavailable::TooLarge(0))
    );
    assert_eq!(src.cache.usage().unwrap(), (0, 0));
}

#[test]
fn undecodable_bytes_are_not_a_picture() {
    let picker = ratatui_image::picker::Picker::halfblocks();
    let r = dmdesk::tui::media::worker::decode(&picker, b"<html>not an image</html>", 40, 12);
    assert_eq!(r.err(), Some(Unavailable::NotAPicture));
}
