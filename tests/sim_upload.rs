//! The simulator takes attachments like Meta: a file uploaded with the
//! message (multipart `filedata`), the Attachment Upload API returning an
//! `attachment_id` that later sends name, and Meta's refusals (unknown id,
//! over 25 MB). Driven through dmdesk's own Graph client.

use dmdesk::domain::{AccountId, Platform, UserId};
use dmdesk::media::outgoing::{Media, MediaKind};
use dmdesk::meta::graph::GraphConfig;
use dmdesk::meta::graph::{GraphClient, Outgoing};
use dmdesk::rules::window::Plan;
use dmdesk::secret::Secret;
use dmdesk::sim::{SimConfig, Simulator, WindowClass};
use std::time::Duration;

fn media(kind: MediaKind, len: usize) -> Media {
    Media {
        kind,
        mime: "image/png",
        name: "p.png".into(),
        bytes: vec![7u8; len].into(),
    }
}

#[tokio::test]
async fn uploads_and_attachment_sends_are_taken_like_meta() {
    let sim = Simulator::start(SimConfig::demo(None)).await.unwrap();
    let graph = GraphClient::new(&GraphConfig {
        base_url: sim.graph_base_url.clone(),
        version: "v23.0".into(),
        conversations_per_second: 100,
        timeout: Duration::from_secs(10),
        instagram_base_url: sim.graph_base_url.clone(),
        instagram_login_ids: Vec::new(),
    });
    let page = AccountId::new(sim.ids().page_id.clone());
    let token = Secret::new("demo-page-token");
    let user = sim
        .customers()
        .into_iter()
        .find(|c| c.platform == Platform::Messenger && c.window == WindowClass::Open && c.reachable)
        .expect("a reachable Messenger customer inside the window");
    let user = UserId::new(user.user_id.as_str());
    let file = media(MediaKind::Image, 1000);

    // The file with the message: one multipart call.
    let r = graph
        .send(
            &page,
            &token,
            &user,
            Outgoing::Upload(&file),
            Plan::Response,
            "dmdesk:o1",
        )
        .await
        .expect("multipart send accepted");
    assert!(
        r.message_id.as_str().starts_with("m_"),
        "{:?}",
        r.message_id
    );

    // Upload once, then send by id.
    let id = graph
        .upload_attachment(&page, &token, &file)
        .await
        .expect("upload accepted");
    assert_eq!(sim.stats().calls_to("upload"), 1);
    let by_id = |attachment_id: &str| {
        let (graph, page, token, user, attachment_id) = (
            graph.clone(),
            page.clone(),
            token.clone(),
            user.clone(),
            attachment_id.to_string(),
        );
        async move {
            graph
                .send(
                    &page,
                    &token,
                    &user,
                    Outgoing::Uploaded {
                        kind: MediaKind::Image,
                        attachment_id: &attachment_id,
                    },
                    Plan::Response,
                    "dmdesk:o2",
                )
                .await
        }
    };
    by_id(&id).await.expect("send by attachment_id accepted");
    by_id(&id).await.expect("and again: it is reusable");
    let e = by_id("999").await.expect_err("an unknown attachment_id");
    assert_eq!((e.code, e.subcode), (Some(100), Some(2018047)), "{e:?}");

    // Over Meta's limit: refused by the fake too (dmdesk checks first).
    let big = media(MediaKind::Image, 25 * 1024 * 1024 + 1);
    let e = graph
        .upload_attachment(&page, &token, &big)
        .await
        .expect_err("over 25 MB");
    assert_eq!((e.code, e.subcode), (Some(100), Some(2018047)), "{e:?}");
    sim.shutdown().await;
}
