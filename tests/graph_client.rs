//! The Graph client against a local fake: error classes over HTTP, transient
//! retries, usage headers, batch requests; the throttle under a paused clock.

use dmdesk::config::Config;
use dmdesk::meta::error::ErrorClass;
use dmdesk::meta::graph::GraphClient;
use dmdesk::meta::throttle::{slow_delay, Throttle, DEFAULT_PAUSE};
use dmdesk::meta::usage::Usage;
use dmdesk::secret::Secret;
use serde_json::{json, Value};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use wiremock::matchers::{header, method, path};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

fn client(base: &str) -> GraphClient {
    let mut cfg = Config::from_toml("", &|_| None).unwrap();
    cfg.graph.base_url = base.to_string();
    cfg.graph.conversations_per_second = 1000;
    GraphClient::new(&cfg.graph)
}

fn err(code: i64, sub: Option<i64>) -> Value {
    let mut e =
        json!({"message": "x", "type": "OAuthException", "code": code, "fbtrace_id": "A/b"});
    if let Some(s) = sub {
        e["error_subcode"] = json!(s);
    }
    json!({ "error": e })
}

#[tokio::test]
async fn every_error_class_over_http() {
    let server = MockServer::start().await;
    let cases: Vec<(&str, u16, Value, ErrorClass)> = vec![
        (
            "window",
            400,
            err(10, Some(2018278)),
            ErrorClass::WindowClosed,
        ),
        (
            "window_ig",
            403,
            err(10, Some(2534022)),
            ErrorClass::WindowClosed,
        ),
        ("token", 400, err(190, Some(463)), ErrorClass::TokenInvalid),
        ("rate", 400, err(613, None), ErrorClass::RateLimited),
        ("buc", 400, err(80006, None), ErrorClass::RateLimited),
        (
            "unreachable",
            400,
            err(551, Some(1545041)),
            ErrorClass::UserUnreachable,
        ),
        (
            "nomatch",
            400,
            err(100, Some(2018001)),
            ErrorClass::NoMatchingUser,
        ),
        ("perm", 403, err(200, Some(2018028)), ErrorClass::Permission),
        ("unknown", 400, err(100, None), ErrorClass::Unknown),
        ("in200", 200, err(190, None), ErrorClass::TokenInvalid),
        ("html", 404, Value::Null, ErrorClass::Unknown),
    ];
    for (name, status, body, _) in &cases {
        let t = if body.is_null() {
            ResponseTemplate::new(*status).set_body_string("<html>not found</html>")
        } else {
            ResponseTemplate::new(*status).set_body_json(body)
        };
        Mock::given(path(format!("/v25.0/{name}")))
            .respond_with(t)
            .expect(1)
            .mount(&server)
            .await;
    }
    let g = client(&server.uri());
    let tok = Secret::new("s3cr3t-zz");
    for (name, _, _, class) in cases {
        // No account: rate limits come straight back instead of being waited out.
        let e = g.get(name, &tok, &[]).await.expect_err(name);
        assert_eq!(e.class, class, "{name}: {e}");
        assert!(!e.to_string().contains("s3cr3t"), "no token in errors");
    }
}

#[tokio::test]
async fn transient_errors_are_retried_then_succeed() {
    let server = MockServer::start().await;
    Mock::given(path("/v25.0/flaky"))
        .respond_with(ResponseTemplate::new(500).set_body_json(err(2, None)))
        .up_to_n_times(2)
        .expect(2)
        .mount(&server)
        .await;
    Mock::given(path("/v25.0/flaky"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"ok": true})))
        .expect(1)
        .mount(&server)
        .await;
    let g = client(&server.uri());
    let v = g.get("flaky", &Secret::new("t"), &[]).await.unwrap();
    assert_eq!(v["ok"], json!(true));
    assert_eq!(g.calls_made(), 3);
}

#[tokio::test]
async fn permanent_errors_are_not_retried() {
    let server = MockServer::start().await;
    Mock::given(path("/v25.0/bad"))
        .respond_with(ResponseTemplate::new(400).set_body_json(err(100, None)))
        .expect(1)
        .mount(&server)
        .await;
    let g = client(&server.uri());
    assert!(g.get("bad", &Secret::new("t"), &[]).await.is_err());
}

#[tokio::test]
async fn token_goes_in_the_header_not_the_url() {
    let server = MockServer::start().await;
    Mock::given(path("/v25.0/me"))
        .and(header("authorization", "Bearer s3cret"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"id": "1"})))
        .expect(2)
        .mount(&server)
        .await;
    let g = client(&server.uri());
    let tok = Secret::new("s3cret");
    g.get("me", &tok, &[]).await.unwrap();
    // A paging link carrying access_token is followed without it.
    let link = format!("{}/v25.0/me?access_token=OTHER&after=x", server.uri());
    g.get(&link, &tok, &[]).await.unwrap();
    for r in server.received_requests().await.unwrap() {
        assert!(!r.url.as_str().contains("access_token"), "{}", r.url);
    }
}

#[tokio::test]
async fn paging_links_to_other_hosts_are_refused() {
    let server = MockServer::start().await;
    let g = client(&server.uri());
    let e = g
        .get("http://127.0.0.1:9/v25.0/x?after=1", &Secret::new("t"), &[])
        .await
        .unwrap_err();
    assert_eq!(e.class, ErrorClass::Unknown);
    assert_eq!(g.calls_made(), 0);
}

#[tokio::test]
async fn usage_headers_pause_the_account() {
    let server = MockServer::start().await;
    let buc = r#"{"P1":[{"type":"pages","call_count":100,"total_cputime":10,"total_time":10,"estimated_time_to_regain_access":3}]}"#;
    Mock::given(path("/v25.0/P1/conversations"))
        .respond_with(
            ResponseTemplate::new(200)
                .insert_header("x-business-use-case-usage", buc)
                .set_body_json(json!({"data": []})),
        )
        .mount(&server)
        .await;
    Mock::given(path("/v25.0/P2/conversations"))
        .respond_with(
            ResponseTemplate::new(200)
                .insert_header(
                    "x-app-usage",
                    r#"{"call_count":90,"total_cputime":5,"total_time":5}"#,
                )
                .set_body_json(json!({"data": []})),
        )
        .mount(&server)
        .await;
    let g = client(&server.uri());
    let tok = Secret::new("t");
    g.get_as("P1", true, "P1/conversations", &tok, &[])
        .await
        .unwrap();
    g.get_as("P2", true, "P2/conversations", &tok, &[])
        .await
        .unwrap();
    let paused = g.throttle().paused_for("P1").expect("P1 paused");
    assert!(
        paused > Duration::from_secs(170) && paused <= Duration::from_secs(180),
        "{paused:?}"
    );
    assert!(
        g.throttle().paused_for("P2").is_none(),
        "other accounts go on"
    );
    assert_eq!(g.throttle().delay_for("P2"), slow_delay(90));
}

#[tokio::test]
async fn rate_limit_error_carries_the_regain_time() {
    let server = MockServer::start().await;
    Mock::given(path("/v25.0/x"))
        .respond_with(
            ResponseTemplate::new(400)
                .insert_header("x-business-use-case-usage", r#"{"1":[{"type":"messenger","call_count":100,"estimated_time_to_regain_access":2}]}"#)
                .set_body_json(err(80006, None)),
        )
        .mount(&server)
        .await;
    let g = client(&server.uri());
    let e = g.get("x", &Secret::new("t"), &[]).await.unwrap_err();
    assert_eq!(e.class, ErrorClass::RateLimited);
    assert_eq!(e.retry_after, Some(Duration::from_secs(120)));
}

/// Answers a batch with one profile per request and records batch sizes.
struct BatchResponder(Arc<Mutex<Vec<usize>>>);

impl Respond for BatchResponder {
    fn respond(&self, req: &Request) -> ResponseTemplate {
        let form: Vec<(String, String)> = url::form_urlencoded::parse(&req.body)
            .into_owned()
            .collect();
        let batch = &form
            .iter()
            .find(|(k, _)| k == "batch")
            .expect("batch field")
            .1;
        let reqs: Vec<Value> = serde_json::from_str(batch).unwrap();
        self.0.lock().unwrap().push(reqs.len());
        let out: Vec<Value> = reqs
            .iter()
            .map(|r| {
                assert_eq!(r["method"], "GET");
                let rel = r["relative_url"].as_str().unwrap();
                let user = rel.split('?').next().unwrap();
                if user.ends_with("x") {
                    json!({"code": 400, "body": err(100, Some(2018218)).to_string()})
                } else {
                    json!({"code": 200, "body": json!({"id": user, "first_name": format!("F{user}"), "last_name": "L"}).to_string()})
                }
            })
            .collect();
        ResponseTemplate::new(200).set_body_json(out)
    }
}

#[tokio::test]
async fn batch_get_splits_into_fifty_and_keeps_order() {
    let server = MockServer::start().await;
    let sizes = Arc::new(Mutex::new(Vec::new()));
    Mock::given(method("POST"))
        .and(path("/v25.0/"))
        .respond_with(BatchResponder(sizes.clone()))
        .expect(3)
        .mount(&server)
        .await;
    let g = client(&server.uri());
    let urls: Vec<String> = (0..120)
        .map(|i| {
            if i == 7 {
                "u7x?fields=first_name".to_string()
            } else {
                format!("u{i}?fields=first_name")
            }
        })
        .collect();
    let r = g.batch_get("P", &Secret::new("t"), &urls).await.unwrap();
    assert_eq!(*sizes.lock().unwrap(), vec![50, 50, 20]);
    assert_eq!(r.len(), 120);
    assert_eq!(r[119].as_ref().unwrap()["first_name"], "Fu119");
    assert_eq!(r[7].as_ref().unwrap_err().class, ErrorClass::Unknown);
}

// ---- throttle under tokio's paused clock ----------------------------------

#[tokio::test(start_paused = true)]
async fn throttle_slows_above_75_percent_and_stops_at_100() {
    let t = Throttle::new(1000);
    let start = tokio::time::Instant::now();
    t.before("A", false).await;
    assert_eq!(start.elapsed(), Duration::ZERO, "no usage: no delay");

    t.observe(
        "A",
        Some(Usage {
            percent: 90,
            regain: None,
        }),
    );
    let s = tokio::time::Instant::now();
    t.before("A", false).await;
    assert_eq!(s.elapsed(), slow_delay(90));
    assert!(slow_delay(90) > Duration::ZERO);

    t.observe(
        "A",
        Some(Usage {
            percent: 100,
            regain: Some(Duration::from_secs(120)),
        }),
    );
    let s = tokio::time::Instant::now();
    t.before("B", false).await;
    assert_eq!(
        s.elapsed(),
        Duration::ZERO,
        "another account is not held up"
    );
    t.before("A", false).await;
    assert!(s.elapsed() >= Duration::from_secs(120), "{:?}", s.elapsed());

    // Back under the threshold: full speed again.
    t.observe(
        "A",
        Some(Usage {
            percent: 20,
            regain: None,
        }),
    );
    let s = tokio::time::Instant::now();
    t.before("A", false).await;
    assert_eq!(s.elapsed(), Duration::ZERO);
}

#[tokio::test(start_paused = true)]
async fn rate_limit_errors_pause_with_growing_waits() {
    let t = Throttle::new(1000);
    assert_eq!(t.rate_limited("A", None), DEFAULT_PAUSE);
    assert_eq!(t.rate_limited("A", None), DEFAULT_PAUSE * 2);
    let s = tokio::time::Instant::now();
    t.before("A", false).await;
    assert!(s.elapsed() >= DEFAULT_PAUSE * 2);
    // Meta's estimate wins over our guess.
    let regain = Usage {
        percent: 100,
        regain: Some(Duration::from_secs(300)),
    };
    assert_eq!(t.rate_limited("A", Some(regain)), Duration::from_secs(300));
}

#[tokio::test(start_paused = true)]
async fn conversations_calls_keep_to_the_rate_per_account() {
    let t = Throttle::new(2);
    let s = tokio::time::Instant::now();
    for _ in 0..5 {
        t.before("A", true).await;
    }
    // Burst 1 at 2/s: calls at 0, .5, 1, 1.5, 2 s.
    let took = s.elapsed();
    assert!(
        took >= Duration::from_millis(1990) && took <= Duration::from_millis(2100),
        "{took:?}"
    );
    let s = tokio::time::Instant::now();
    t.before("B", true).await;
    assert!(
        s.elapsed() < Duration::from_millis(10),
        "own bucket per account"
    );
    // Non-Conversations calls are not counted against it.
    let s = tokio::time::Instant::now();
    t.before("A", false).await;
    assert_eq!(s.elapsed(), Duration::ZERO);
}
