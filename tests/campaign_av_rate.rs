//! A campaign sending a video goes at most Meta's audio/video rate (10 a
//! second, measured at the fake over any trailing second) even when
//! `[send] max_per_second` allows more; an image goes at the usual rate.

mod common;

use common::send::*;
use dmdesk::domain::{ConvKey, TimestampMs};
use dmdesk::media::outgoing::{MediaKind, AV_PER_SECOND};
use dmdesk::send::campaign::{self, CampaignFile, Tuning};
use dmdesk::store::CampaignStatus;
use tokio_util::sync::CancellationToken;
use wiremock::matchers::method;
use wiremock::{Mock, MockServer};

const RECIPIENTS: usize = 15;

/// Run a campaign sending one file of `kind` to 15 Messenger customers at
/// up to 100 sends a second; the fake's record of the calls.
async fn run_file_campaign(kind: MediaKind) -> MetaFake {
    let server = MockServer::start().await;
    let fake = MetaFake::default();
    Mock::given(method("POST"))
        .respond_with(fake.clone())
        .expect(RECIPIENTS as u64)
        .mount(&server)
        .await;
    let env = env(&server.uri(), 100, 8);
    let keys: Vec<ConvKey> = (0..RECIPIENTS)
        .map(|i| messenger(&format!("u{i}")))
        .collect();
    for k in &keys {
        customer_wrote(&env.store, k, 60_000);
    }
    let file = CampaignFile {
        kind,
        name: "clip".into(),
        attachment_ids: [(PAGE.to_string(), "a_1".to_string())].into(),
        served: None,
    };
    let now = TimestampMs::now();
    let preview = campaign::preview_file_from_store(
        &env.store,
        &env.ctx.config,
        &keys,
        &file.about(),
        Err("not served"),
        now,
    )
    .unwrap();
    assert_eq!(preview.inside, RECIPIENTS);
    let c = campaign::create(&env.store, "t", "", None, None, &preview, now)
        .await
        .unwrap();
    file.save(env.store.path(), &c.id).unwrap();
    let rep = campaign::run(
        &env.ctx,
        &c.id,
        &Tuning::from_config(&env.ctx.config),
        &CancellationToken::new(),
        &CancellationToken::new(),
    )
    .await
    .unwrap();
    assert_eq!(rep.status, CampaignStatus::Done);
    assert_eq!(rep.counts.sent, RECIPIENTS as u64);
    fake
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_video_campaign_keeps_metas_audio_video_rate() {
    let fake = run_file_campaign(MediaKind::Video).await;
    let times = fake.times();
    assert_eq!(times.len(), RECIPIENTS);
    let peak = max_per_trailing_second(&times);
    assert!(
        peak <= AV_PER_SECOND as usize,
        "{peak} video sends within one second"
    );
    for (_, body) in fake.calls.lock().unwrap().iter() {
        assert_eq!(body["message"]["attachment"]["type"], "video", "{body}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_image_campaign_is_not_held_to_it() {
    // The control: the same campaign with an image goes faster than 10/s,
    // so the bound above is the audio/video rate, not the fixture's.
    let fake = run_file_campaign(MediaKind::Image).await;
    let peak = max_per_trailing_second(&fake.times());
    assert!(
        peak > AV_PER_SECOND as usize,
        "only {peak} image sends in the busiest second"
    );
}
