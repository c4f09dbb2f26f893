//! Simulated customers post signed, parseable webhooks that agree with the
//! fake Graph API.

mod common;

use dmdesk::change::Change;
use dmdesk::meta::webhook::parse_body;
use dmdesk::sim::{SimConfig, Simulator};
use dmdesk::webhook::signature::verify;
use std::collections::HashSet;
use std::time::Duration;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn customers_post_signed_parseable_webhooks_consistent_with_graph() {
    let mut recv = common::sim::receiver().await;
    let mut cfg = SimConfig::demo(Some(recv.url.clone()));
    cfg.customers = 12;
    cfg.rate = 100.0;
    cfg.count = 40;
    cfg.reaction_probability = 0.2;
    cfg.edit_probability = 0.15;
    let sim = Simulator::start(cfg).await.unwrap();
    tokio::time::timeout(Duration::from_secs(20), sim.customers_done())
        .await
        .expect("40 events within 20 s");

    let client = reqwest::Client::new();
    let mut platforms = HashSet::new();
    let mut mids = vec![];
    let mut gone = vec![];
    let mut edits = 0;
    for n in 0..40 {
        let r = recv
            .next(5)
            .await
            .unwrap_or_else(|| panic!("webhook {n} arrived"));
        let sig = r.signature.expect("signed");
        assert!(
            verify(b"demo-app-secret", &r.body, &sig),
            "signature verifies"
        );
        assert!(!verify(b"wrong-secret", &r.body, &sig));
        assert!(r.body.is_ascii(), "Meta-style escaped serialisation");
        let parsed = parse_body(&r.body, &common::sim::parse_ctx()).expect("parses");
        assert!(parsed.problems.is_empty(), "{:?}", parsed.problems);
        assert_eq!(parsed.changes.len(), 1);
        match &parsed.changes[0] {
            Change::Message {
                msg, qualifying, ..
            } => {
                assert!(*qualifying);
                assert!(msg.text.is_some() || !msg.attachments.is_empty());
                platforms.insert(msg.conv.platform);
                mids.push(msg.mid.clone());
            }
            Change::Reaction { emoji, .. } => assert!(emoji.is_some()),
            Change::Edit { conv, text, .. } => {
                assert_eq!(conv.platform, dmdesk::domain::Platform::Messenger);
                assert!(text.ends_with("(edited)"));
                edits += 1;
            }
            Change::Delete { conv, mid, .. } => {
                assert_eq!(conv.platform, dmdesk::domain::Platform::Instagram);
                gone.push(mid.clone());
            }
            other => panic!("unexpected change {other:?}"),
        }
    }
    assert!(recv.next(1).await.is_none(), "exactly count events");
    assert!(
        edits + gone.len() > 0,
        "the seeded run edits or unsends something"
    );
    assert!(
        platforms.len() == 2,
        "both Messenger and Instagram: {platforms:?}"
    );
    let s = sim.stats();
    assert_eq!(s.customer_events, 40);
    assert_eq!(s.webhooks_posted, 40);

    // Every webhook message is in the fake Graph API under the same id.
    for mid in mids.iter().filter(|m| !gone.contains(m)) {
        let v: serde_json::Value = client
            .get(format!("{}/v23.0/{}", sim.graph_base_url, mid))
            .query(&[
                ("fields", "id,created_time,message,from"),
                ("access_token", "demo-page-token"),
            ])
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(v["id"].as_str(), Some(mid.as_str()), "{v}");
    }
    sim.shutdown().await;
}

#[tokio::test]
async fn customer_says_posts_one_signed_message() {
    let mut recv = common::sim::receiver().await;
    let sim = Simulator::start(SimConfig::demo(Some(recv.url.clone())))
        .await
        .unwrap();
    let who = sim.customers()[0].clone();
    let mid = sim
        .customer_says(&who.user_id, Some("¿Dónde está mi pedido? 📦"))
        .await
        .unwrap();
    let r = recv.next(5).await.expect("posted");
    assert!(verify(
        b"demo-app-secret",
        &r.body,
        r.signature.as_deref().unwrap()
    ));
    let parsed = parse_body(&r.body, &common::sim::parse_ctx()).unwrap();
    let Change::Message { msg, .. } = &parsed.changes[0] else {
        panic!("a message")
    };
    assert_eq!(msg.mid.as_str(), mid);
    assert_eq!(msg.text.as_deref(), Some("¿Dónde está mi pedido? 📦"));
    assert_eq!(msg.conv.user.as_str(), who.user_id);
    assert_eq!(msg.conv.account.as_str(), who.account);
    assert!(sim.customer_says("nobody", None).await.is_err());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn run_stops_after_count_with_the_given_secret() {
    let mut recv = common::sim::receiver().await;
    let args = dmdesk::cli::SimArgs {
        command: None,
        webhook: recv.url.clone(),
        rate: 200.0,
        customers: 5,
        graph_port: 0,
        count: 7,
    };
    let secret = dmdesk::secret::Secret::new("another-secret");
    tokio::time::timeout(Duration::from_secs(20), dmdesk::sim::run(&args, &secret))
        .await
        .expect("run returns after count")
        .unwrap();
    for _ in 0..7 {
        let r = recv.next(2).await.expect("posted before run returned");
        assert!(verify(
            b"another-secret",
            &r.body,
            r.signature.as_deref().unwrap()
        ));
    }
    assert!(recv.next(1).await.is_none());
}
