//! Meta's rules for files, checked before the call: audio and video go at
//! Meta's lower Send API rate (10 calls/s) whatever `[send]
//! max_per_second` allows, and Instagram needs a public URL to fetch from.

mod common;

use common::send::*;
use dmdesk::media::outgoing::{Media, MediaKind, AV_PER_SECOND};
use dmdesk::send::attach::reply_file;
use dmdesk::send::reply::SendError;
use wiremock::matchers::method;
use wiremock::{Mock, MockServer};

fn media(kind: MediaKind, mime: &'static str, name: &str) -> Media {
    Media {
        kind,
        mime,
        name: name.into(),
        bytes: b"some bytes".to_vec().into(),
    }
}

/// Send `kind` to `n` customers at once; the arrival times at the fake.
async fn burst(kind: MediaKind, mime: &'static str, n: usize) -> Vec<std::time::Instant> {
    let server = MockServer::start().await;
    let fake = MetaFake::default();
    Mock::given(method("POST"))
        .respond_with(fake.clone())
        .expect(n as u64)
        .mount(&server)
        .await;
    // A general limit far above 10/s: only the audio/video pace can
    // hold them to it.
    let env = env(&server.uri(), 1000, 16);
    let users: Vec<String> = (0..n).map(|i| format!("u{i}")).collect();
    for u in &users {
        customer_wrote(&env.store, &messenger(u), 60_000);
    }
    let m = media(kind, mime, "f");
    let sends = users.iter().map(|u| {
        let (ctx, m, conv) = (&env.ctx, &m, messenger(u));
        async move { reply_file(ctx, &conv, m, None, Some("alice")).await }
    });
    for r in futures::future::join_all(sends).await {
        r.expect("sent");
    }
    fake.times()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn audio_and_video_go_at_metas_lower_rate_pictures_do_not() {
    let n = AV_PER_SECOND as usize + 3;
    let audio = burst(MediaKind::Audio, "audio/mp4", n).await;
    assert_eq!(audio.len(), n);
    let most = max_per_trailing_second(&audio);
    assert!(
        most <= AV_PER_SECOND as usize,
        "{most} audio sends inside one second"
    );
    let video = burst(MediaKind::Video, "video/mp4", n).await;
    assert!(max_per_trailing_second(&video) <= AV_PER_SECOND as usize);
    // The same burst of pictures is not held to it.
    let images = burst(MediaKind::Image, "image/png", n).await;
    assert_eq!(max_per_trailing_second(&images), n);
}

#[tokio::test]
async fn instagram_without_a_public_url_is_refused_before_anything_is_recorded() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(MetaFake::default())
        .expect(0)
        .mount(&server)
        .await;
    let env = env(&server.uri(), 20, 4);
    let conv = instagram("i1");
    customer_wrote(&env.store, &conv, 60_000);
    let e = reply_file(
        &env.ctx,
        &conv,
        &media(MediaKind::Image, "image/png", "p.png"),
        None,
        None,
    )
    .await
    .expect_err("no public URL");
    assert!(
        matches!(&e, SendError::Refused(r) if r.0.contains("public_url")),
        "{e:?}"
    );
    let out = env.store.messages_latest(&conv, 10).unwrap();
    assert_eq!(out.len(), 1, "only the customer's message: {out:?}");
    assert!(env.store.outbox_get("o1").unwrap().is_none());
}
