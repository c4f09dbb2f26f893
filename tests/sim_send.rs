//! The fake Send API: window rule, Meta's error envelopes, faults, usage
//! headers, and the echo / delivery / read that follow a send.

mod common;

use dmdesk::change::Change;
use dmdesk::domain::{Direction, Origin, Platform};
use dmdesk::meta::webhook::parse_body;
use dmdesk::sim::{CustomerInfo, Faults, SimConfig, SimHandle, Simulator, WindowClass};
use dmdesk::webhook::signature::verify;
use serde_json::{json, Value};
use std::time::Duration;

async fn sim(webhook: Option<String>) -> SimHandle {
    let mut cfg = SimConfig::demo(webhook);
    cfg.customers = 40;
    cfg.outside_fraction = 0.4;
    cfg.receipt_delay = Duration::from_millis(20);
    Simulator::start(cfg).await.unwrap()
}

fn pick(sim: &SimHandle, p: Platform, w: WindowClass) -> CustomerInfo {
    sim.customers()
        .into_iter()
        .find(|c| c.platform == p && c.window == w && c.reachable)
        .unwrap_or_else(|| panic!("a reachable {p} customer in {w:?}"))
}

async fn send(
    sim: &SimHandle,
    account: &str,
    body: Value,
) -> (u16, Value, reqwest::header::HeaderMap) {
    let r = reqwest::Client::new()
        .post(format!("{}/v23.0/{account}/messages", sim.graph_base_url))
        .query(&[("access_token", "demo-page-token")])
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    let headers = r.headers().clone();
    (status, r.json().await.unwrap(), headers)
}

fn text_to(user: &str, tag: Option<&str>) -> Value {
    let mut b = json!({"recipient": {"id": user}, "messaging_type": "RESPONSE",
        "message": {"text": "Hello from the test ☕", "metadata": "dmdesk:42"}});
    if let Some(t) = tag {
        b["messaging_type"] = json!("MESSAGE_TAG");
        b["tag"] = json!(t);
    }
    b
}

fn err(v: &Value) -> (i64, Option<i64>) {
    (
        v["error"]["code"].as_i64().expect("error envelope"),
        v["error"]["error_subcode"].as_i64(),
    )
}

#[tokio::test]
async fn window_rule_answers_like_meta() {
    let sim = sim(None).await;
    let page = sim.ids().page_id.clone();
    let open = pick(&sim, Platform::Messenger, WindowClass::Open);
    let (s, v, _) = send(&sim, &page, text_to(&open.user_id, None)).await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["recipient_id"], open.user_id.as_str());
    assert!(v["message_id"].as_str().unwrap().starts_with("m_"));

    let closed = pick(&sim, Platform::Messenger, WindowClass::Closed);
    let (s, v, _) = send(&sim, &page, text_to(&closed.user_id, None)).await;
    assert_eq!((s, err(&v)), (400, (10, Some(2018278))));
    let (_, v, _) = send(&sim, &page, text_to(&closed.user_id, Some("HUMAN_AGENT"))).await;
    assert_eq!(
        err(&v),
        (10, Some(2018278)),
        "HUMAN_AGENT ends after 7 days"
    );

    let week = pick(&sim, Platform::Messenger, WindowClass::HumanAgent);
    let (_, v, _) = send(&sim, &page, text_to(&week.user_id, None)).await;
    assert_eq!(err(&v), (10, Some(2018278)));
    let (s, v, _) = send(&sim, &page, text_to(&week.user_id, Some("HUMAN_AGENT"))).await;
    assert_eq!(s, 200, "{v}");

    // Instagram: outside the window only HUMAN_AGENT, and only within 7 days.
    let ig_week = pick(&sim, Platform::Instagram, WindowClass::HumanAgent);
    let (_, v, _) = send(&sim, &page, text_to(&ig_week.user_id, None)).await;
    assert_eq!(err(&v).0, 10);
    let (_, v, _) = send(
        &sim,
        &page,
        text_to(&ig_week.user_id, Some("POST_PURCHASE_UPDATE")),
    )
    .await;
    assert_eq!(err(&v).0, 100);
    // Retired tags fail like at Meta (2026): error 100, even on Messenger.
    let (s, v, _) = send(&sim, &page, text_to(&week.user_id, Some("ACCOUNT_UPDATE"))).await;
    assert_eq!((s, err(&v)), (400, (100, None)), "{v}");
    let (s, v, _) = send(
        &sim,
        &sim.ids().ig_id.clone(),
        text_to(&ig_week.user_id, Some("HUMAN_AGENT")),
    )
    .await;
    assert_eq!(s, 200, "{v}");
    let ig_open = pick(&sim, Platform::Instagram, WindowClass::Open);
    let (s, v, _) = send(&sim, &page, text_to(&ig_open.user_id, None)).await;
    assert_eq!(s, 200, "{v}");
    assert!(
        !v["message_id"].as_str().unwrap().starts_with("m_"),
        "IG-style id"
    );

    let stats = sim.stats();
    assert_eq!(stats.calls_to("send"), 10);
    assert_eq!(stats.sends_ok, 4);
    assert!(stats.max_sends_in_one_second >= 1);
}

#[tokio::test]
async fn errors_tokens_faults_and_usage_headers() {
    let sim = sim(None).await;
    let page = sim.ids().page_id.clone();
    let open = pick(&sim, Platform::Messenger, WindowClass::Open);

    let (_, v, _) = send(&sim, &page, text_to("2999999999999999", None)).await;
    assert_eq!(err(&v), (100, Some(2018001)));

    let r = reqwest::Client::new()
        .post(format!("{}/v23.0/me/messages", sim.graph_base_url))
        .query(&[("access_token", "wrong")])
        .json(&text_to(&open.user_id, None))
        .send()
        .await
        .unwrap();
    let v: Value = r.json().await.unwrap();
    assert_eq!(err(&v).0, 190);
    // Bearer works like the query parameter.
    let r = reqwest::Client::new()
        .post(format!("{}/v24.0/me/messages", sim.graph_base_url))
        .bearer_auth("demo-page-token")
        .json(&text_to(&open.user_id, None))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);

    let unreachable = sim.customers().into_iter().find(|c| !c.reachable);
    if let Some(u) = unreachable {
        let (_, v, _) = send(&sim, &page, text_to(&u.user_id, None)).await;
        assert_eq!(err(&v), (551, Some(1545041)));
    }

    let mut f = Faults::default();
    f.user_errors
        .insert(open.user_id.clone(), (551, Some(1545041)));
    sim.set_faults(f);
    let (_, v, _) = send(&sim, &page, text_to(&open.user_id, None)).await;
    assert_eq!(err(&v), (551, Some(1545041)));

    sim.set_faults(Faults {
        send_fail_fraction: 1.0,
        ..Faults::default()
    });
    let (s, v, _) = send(&sim, &page, text_to(&open.user_id, None)).await;
    assert_eq!((s, err(&v).0), (500, 1200));
    assert_eq!(v["error"]["is_transient"], true);

    sim.set_faults(Faults {
        send_limit_per_second: Some(2),
        ..Faults::default()
    });
    // Once the earlier calls have left the trailing second (observed at the
    // sim), two calls pass and the third within that second is refused.
    common::wait::until(
        "earlier sends to leave the sim's trailing second",
        Duration::from_secs(10),
        || async { sim.sends_in_last_second() == 0 },
    )
    .await;
    let t0 = std::time::Instant::now();
    let mut codes = vec![];
    for _ in 0..3 {
        let (_, v, _) = send(&sim, &page, text_to(&open.user_id, None)).await;
        codes.push(v["error"]["code"].as_i64());
    }
    let took = t0.elapsed();
    assert!(
        took < Duration::from_secs(1),
        "three loopback sends took {took:?}: too slow for a one-second window"
    );
    assert_eq!(codes, [None, None, Some(613)], "limit 2 a second");

    sim.set_faults(Faults::default());
    sim.set_usage(77);
    let (_, _, h) = send(&sim, &page, text_to(&open.user_id, None)).await;
    let app: Value = serde_json::from_str(h["x-app-usage"].to_str().unwrap()).unwrap();
    assert_eq!(app["call_count"], 77);
    let buc: Value =
        serde_json::from_str(h["x-business-use-case-usage"].to_str().unwrap()).unwrap();
    assert_eq!(buc[page.as_str()][0]["call_count"], 77);
    sim.set_usage(100);
    let (_, v, _) = send(&sim, &page, text_to(&open.user_id, None)).await;
    assert_eq!(err(&v).0, 613, "throttled at 100%");
}

#[tokio::test]
async fn echo_delivery_and_read_follow_a_send() {
    let mut recv = common::sim::receiver().await;
    let sim = sim(Some(recv.url.clone())).await;
    let open = pick(&sim, Platform::Messenger, WindowClass::Open);
    let (s, v, _) = send(
        &sim,
        &sim.ids().page_id.clone(),
        text_to(&open.user_id, None),
    )
    .await;
    assert_eq!(s, 200);
    let mid = v["message_id"].as_str().unwrap().to_string();

    let mut kinds = vec![];
    for _ in 0..3 {
        let r = recv.next(5).await.expect("a webhook after the send");
        assert!(verify(
            b"demo-app-secret",
            &r.body,
            r.signature.as_deref().unwrap()
        ));
        let parsed = parse_body(&r.body, &common::sim::parse_ctx()).unwrap();
        assert!(parsed.problems.is_empty());
        match parsed.changes.into_iter().next().unwrap() {
            Change::Message {
                msg,
                metadata,
                qualifying,
                ..
            } => {
                assert_eq!(msg.mid.as_str(), mid);
                assert_eq!(msg.direction, Direction::Out);
                assert_eq!(msg.origin, Some(Origin::Dmdesk));
                assert_eq!(metadata.as_deref(), Some("dmdesk:42"));
                assert!(!qualifying);
                kinds.push("echo");
            }
            Change::Delivery {
                mids, watermark, ..
            } => {
                assert_eq!(mids[0].as_str(), mid);
                assert!(watermark.is_some());
                kinds.push("delivery");
            }
            Change::Read { watermark, .. } => {
                assert!(watermark.is_some());
                kinds.push("read");
            }
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(kinds, ["echo", "delivery", "read"]);

    // Instagram: echo then a per-message seen, no delivery.
    let ig = pick(&sim, Platform::Instagram, WindowClass::Open);
    let (_, v, _) = send(&sim, &sim.ids().page_id.clone(), text_to(&ig.user_id, None)).await;
    let mid = v["message_id"].as_str().unwrap().to_string();
    let _echo = recv.next(5).await.expect("echo");
    let seen = recv.next(5).await.expect("seen");
    let parsed = parse_body(&seen.body, &common::sim::parse_ctx()).unwrap();
    match &parsed.changes[0] {
        Change::Read {
            mid: Some(m), conv, ..
        } => {
            assert_eq!(m.as_str(), mid);
            assert_eq!(conv.platform, Platform::Instagram);
        }
        other => panic!("expected IG seen, got {other:?}"),
    }
    assert!(
        recv.next(1).await.is_none(),
        "no customer reply at probability 0"
    );
}
