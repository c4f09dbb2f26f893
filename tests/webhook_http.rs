//! The webhook endpoint's answers to good and bad input, and that nothing
//! valid is lost.

mod common;

use axum::http::StatusCode;
use common::{text_body, Harness, SECRET, VERIFY};
use dmdesk::store::EventState;
use dmdesk::webhook::signature::sign;

fn sig(body: &[u8]) -> Option<String> {
    Some(sign(SECRET.as_bytes(), body))
}

#[tokio::test]
async fn bad_inputs_table() {
    let good = text_body("P1", "U1", "m_good", 1_700_000_000_000, "hi");
    let deep = format!("{}{}", "[".repeat(5000), "]".repeat(5000)).into_bytes();
    let big = vec![b' '; dmdesk::webhook::MAX_BODY + 1];
    // (case, body, signature header, content type, status, logged?, quarantined?)
    type Case<'a> = (
        &'a str,
        Vec<u8>,
        Option<String>,
        &'a str,
        StatusCode,
        bool,
        bool,
    );
    let cases: Vec<Case> = vec![
        (
            "valid",
            good.clone(),
            sig(&good),
            "application/json",
            StatusCode::OK,
            true,
            false,
        ),
        (
            "missing signature",
            good.clone(),
            None,
            "application/json",
            StatusCode::UNAUTHORIZED,
            false,
            false,
        ),
        (
            "forged signature",
            good.clone(),
            Some(sign(b"wrong", &good)),
            "application/json",
            StatusCode::UNAUTHORIZED,
            false,
            false,
        ),
        (
            "legacy sha1 only",
            good.clone(),
            Some("sha1=0123456789abcdef0123456789abcdef01234567".into()),
            "application/json",
            StatusCode::UNAUTHORIZED,
            false,
            false,
        ),
        (
            "garbage signature",
            good.clone(),
            Some("sha256=not-hex".into()),
            "application/json",
            StatusCode::UNAUTHORIZED,
            false,
            false,
        ),
        (
            "upper-case hex",
            good.clone(),
            sig(&good).map(|s| format!("sha256={}", s[7..].to_uppercase())),
            "application/json",
            StatusCode::OK,
            true,
            false,
        ),
        (
            "oversized",
            big.clone(),
            sig(&big),
            "application/json",
            StatusCode::PAYLOAD_TOO_LARGE,
            false,
            false,
        ),
        (
            "invalid JSON, signed",
            b"{not json".to_vec(),
            sig(b"{not json"),
            "application/json",
            StatusCode::OK,
            true,
            true,
        ),
        (
            "empty body, signed",
            vec![],
            sig(b""),
            "application/json",
            StatusCode::OK,
            true,
            true,
        ),
        (
            "wrong content type, signed",
            good.clone(),
            sig(&good),
            "text/plain",
            StatusCode::OK,
            true,
            false,
        ),
        (
            "unknown object, signed",
            br#"{"object":"whatsapp_business_account","entry":[]}"#.to_vec(),
            sig(br#"{"object":"whatsapp_business_account","entry":[]}"#),
            "application/json",
            StatusCode::OK,
            true,
            true,
        ),
        (
            "deep nesting, signed",
            deep.clone(),
            sig(&deep),
            "application/json",
            StatusCode::OK,
            true,
            true,
        ),
        (
            "non-UTF-8, signed",
            vec![0xff, 0xfe, 0x00, 0x7b],
            sig(&[0xff, 0xfe, 0x00, 0x7b]),
            "application/json",
            StatusCode::OK,
            true,
            true,
        ),
    ];
    for (name, body, signature, ctype, want, logged, quarantined) in cases {
        let h = Harness::new();
        let (status, _) = h.post_raw(body.clone(), signature, ctype).await;
        assert_eq!(status, want, "{name}");
        assert_eq!(h.event_count(), usize::from(logged), "{name}: logged");
        h.apply();
        if logged {
            let ev = h.store.get_event(1).unwrap().expect("logged event");
            assert_eq!(ev.body, body, "{name}: the exact bytes are kept");
            assert_eq!(
                matches!(ev.state, EventState::Quarantined(_)),
                quarantined,
                "{name}: {:?}",
                ev.state
            );
        }
    }
}

#[tokio::test]
async fn verification_handshake() {
    let h = Harness::new();
    let ok =
        format!("/webhook?hub.mode=subscribe&hub.verify_token={VERIFY}&hub.challenge=1158201444");
    assert_eq!(h.get(&ok).await, (StatusCode::OK, "1158201444".to_string()));
    for bad in [
        "/webhook?hub.mode=subscribe&hub.verify_token=nope&hub.challenge=1",
        "/webhook?hub.mode=unsubscribe&hub.verify_token=test-verify-token&hub.challenge=1",
        "/webhook?hub.challenge=1",
        "/webhook",
    ] {
        assert_eq!(h.get(bad).await.0, StatusCode::FORBIDDEN, "{bad}");
    }
}

#[tokio::test]
async fn health_and_metrics() {
    let h = Harness::new();
    assert_eq!(h.get("/healthz").await.0, StatusCode::OK);
    let body = text_body("P1", "U1", "m1", 1_700_000_000_000, "x");
    h.post(&body).await;
    h.post_raw(body.clone(), None, "application/json").await;
    h.apply();
    let (status, text) = h.get("/metrics").await;
    assert_eq!(status, StatusCode::OK);
    assert!(text.contains("dmdesk_events_received_total 1"), "{text}");
    assert!(text.contains("dmdesk_events_applied_total 1"), "{text}");
    assert!(
        text.contains("dmdesk_requests_rejected_total{reason=\"missing_signature\"} 1"),
        "{text}"
    );
}

#[tokio::test]
async fn a_1000_event_batch_is_accepted_whole() {
    let h = Harness::new();
    let items: Vec<_> = (0..1000)
        .map(|i| serde_json::json!({"sender":{"id":format!("U{}", i % 50)},"recipient":{"id":"P1"},
            "timestamp":1_700_000_000_000i64 + i,"message":{"mid":format!("m_{i}"),"text":"hello there, a normal message"}}))
        .collect();
    let body =
        serde_json::json!({"object":"page","entry":[{"id":"P1","time":1,"messaging":items}]})
            .to_string();
    assert!(body.len() < dmdesk::webhook::MAX_BODY);
    assert_eq!(h.post(body.as_bytes()).await, StatusCode::OK);
    let r = h.apply();
    assert_eq!(r.applied, 1);
    assert_eq!(h.store.all_messages().count(), 1000);
    assert_eq!(h.store.conversation_count().unwrap(), 50);
}

#[tokio::test]
async fn past_the_apply_lag_the_webhook_answers_503_until_the_applier_catches_up() {
    let h = Harness::new();
    h.metrics.set_max_lag(2);
    let h = &h;
    let post = |i: i64| {
        let b = text_body("P1", "U1", &format!("m_{i}"), 1_700_000_000_000 + i, "x");
        async move { h.post(&b).await }
    };
    assert_eq!(post(1).await, StatusCode::OK);
    assert_eq!(post(2).await, StatusCode::OK);
    // Two logged, none applied: the third is refused and not logged.
    assert_eq!(post(3).await, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(h.event_count(), 2);
    let (_, text) = h.get("/metrics").await;
    assert!(text.contains("dmdesk_apply_lag_events 2\n"), "{text}");
    assert!(
        text.contains("dmdesk_requests_rejected_total{reason=\"apply_lag\"} 1"),
        "{text}"
    );
    assert_eq!(h.apply().applied, 2);
    let (_, text) = h.get("/metrics").await;
    assert!(text.contains("dmdesk_apply_lag_events 0\n"), "{text}");
    // Meta's retry of the refused body now lands.
    assert_eq!(post(3).await, StatusCode::OK);
    assert_eq!(h.apply().applied, 1);
    assert_eq!(h.store.all_messages().count(), 3);
}
