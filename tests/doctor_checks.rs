//! `dmdesk doctor` against a local fake Graph API.

use chrono::NaiveDate;
use dmdesk::change::Change;
use dmdesk::config::Config;
use dmdesk::db::Db;
use dmdesk::doctor::{check_at, cli_doctor, cli_doctor_at, NEEDED_FIELDS};
use dmdesk::domain::{ConvKey, Platform, TimestampMs};
use dmdesk::meta::graph::{token_fingerprint, GraphClient};
use dmdesk::request::doctor::Level;
use serde_json::json;
use wiremock::matchers::{header, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

fn config(base: &str, extra: &str) -> Config {
    let text = format!(
        "[server]\napp_secret = \"s\"\nverify_token = \"v\"\napp_id = \"42\"\n[graph]\nbase_url = \"{base}\"\n{extra}"
    );
    Config::from_toml(&text, &|_| None).unwrap()
}

async fn good_page(server: &MockServer, id: &str) {
    Mock::given(path("/v25.0/me"))
        .and(header("authorization", format!("Bearer tok-{id}").as_str()))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"id": id, "name": "Shop"})))
        .mount(server)
        .await;
    Mock::given(path(format!("/v25.0/{id}/subscribed_apps")))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"data": [
            {"id": "42", "name": "dmdesk", "subscribed_fields": NEEDED_FIELDS}
        ]})))
        .mount(server)
        .await;
}

#[tokio::test]
async fn healthy_setup_passes() {
    let server = MockServer::start().await;
    good_page(&server, "P").await;
    let cfg = config(
        &server.uri(),
        "[[pages]]\nid = \"P\"\naccess_token = \"tok-P\"\n",
    );
    let findings = check_at(&cfg, None, &GraphClient::new(&cfg.graph), today()).await;
    assert!(
        findings.iter().all(|f| f.level != Level::Fix),
        "{findings:#?}"
    );
    assert!(findings
        .iter()
        .any(|f| f.to_string() == "ok: graph.version = v25.0 is served until 2028-07-29"));
    assert!(findings
        .iter()
        .any(|f| f.to_string() == "ok: page P (P): token works"));
    assert!(findings
        .iter()
        .any(|f| f.text.contains("HUMAN_AGENT") || f.text.contains("human_agent")));
    assert!(
        cli_doctor_at(&cfg, None, &dmdesk::console::Console::local(None), today())
            .await
            .is_ok()
    );
}

/// The day these tests pretend it is.
fn today() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 11, 29).unwrap()
}

#[tokio::test]
async fn a_graph_version_near_its_end_of_life_is_something_to_fix() {
    let server = MockServer::start().await;
    // The page checks go to the configured version.
    Mock::given(path("/v24.0/me"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"id": "P", "name": "Shop"})))
        .mount(&server)
        .await;
    Mock::given(path("/v24.0/P/subscribed_apps"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"data": [
            {"id": "42", "name": "dmdesk", "subscribed_fields": NEEDED_FIELDS}
        ]})))
        .mount(&server)
        .await;
    let cfg = config(
        &server.uri(),
        "version = \"v24.0\"\n[[pages]]\nid = \"P\"\naccess_token = \"tok-P\"\n",
    );
    let graph = GraphClient::new(&cfg.graph);
    let console = dmdesk::console::Console::local(None);
    // v24.0 is served until 2028-02-18 (Meta's changelog).
    let fine = NaiveDate::from_ymd_opt(2027, 11, 19).unwrap();
    let findings = check_at(&cfg, None, &graph, fine).await;
    assert!(
        findings.iter().all(|f| f.level != Level::Fix),
        "{findings:#?}"
    );
    assert!(cli_doctor_at(&cfg, None, &console, fine).await.is_ok());
    let near = NaiveDate::from_ymd_opt(2027, 11, 20).unwrap();
    let fixes: Vec<String> = check_at(&cfg, None, &graph, near)
        .await
        .iter()
        .filter(|f| f.level == Level::Fix)
        .map(|f| f.to_string())
        .collect();
    assert_eq!(
        fixes,
        vec!["fix: graph.version = v24.0 reaches its end of life on 2028-02-18, in 90 day(s): set [graph] version = \"v25.0\" (or newer) and check Meta's changelog for what changed".to_string()]
    );
    assert_eq!(
        cli_doctor_at(&cfg, None, &console, near)
            .await
            .unwrap_err()
            .code,
        1
    );
    // A version dmdesk does not know: a note, and doctor still passes.
    let mut unknown = cfg.clone();
    unknown.graph.version = "v27.0".into();
    let findings = check_at(&unknown, None, &graph, near).await;
    assert!(findings
        .iter()
        .any(|f| f.level == Level::Note && f.text.starts_with("graph.version = v27.0 is not in")));
}

#[tokio::test]
async fn problems_are_named_with_what_to_fix() {
    let server = MockServer::start().await;
    // Page A: token fine, subscription missing fields. Page B: dead token.
    Mock::given(path("/v25.0/me"))
        .and(header("authorization", "Bearer tok-A"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"id": "A"})))
        .mount(&server)
        .await;
    Mock::given(path("/v25.0/A/subscribed_apps"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"data": [
            {"id": "42", "subscribed_fields": ["messages", "message_echoes"]},
            {"id": "99", "subscribed_fields": ["messages"]}
        ]})))
        .mount(&server)
        .await;
    Mock::given(path("/v25.0/me"))
        .and(header("authorization", "Bearer tok-B"))
        .respond_with(ResponseTemplate::new(400).set_body_json(
            json!({"error": {"message": "Invalid OAuth access token.", "code": 190}}),
        ))
        .mount(&server)
        .await;
    Mock::given(path("/v25.0/B/subscribed_apps"))
        .respond_with(ResponseTemplate::new(200))
        .expect(0)
        .mount(&server)
        .await;
    let cfg = Config::from_toml(
        &format!(
            "[server]\napp_id = \"42\"\n[graph]\nbase_url = \"{}\"\n[[pages]]\nid = \"A\"\naccess_token = \"tok-A\"\nhuman_agent = true\n[[pages]]\nid = \"B\"\naccess_token = \"tok-B\"\n",
            server.uri()
        ),
        &|_| None,
    )
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let store = Db::open(dir.path(), 8, "test").unwrap();
    // A thread in standby on page A, and page B's token already marked dead.
    let conv = ConvKey::new(Platform::Messenger, "A", "U");
    store
        .apply(&[Change::Handover {
            conv,
            standby: true,
            at: TimestampMs(1),
        }])
        .unwrap();
    store
        .mark_token_dead(
            "B",
            &token_fingerprint(&cfg.pages[1].access_token),
            "expired",
            TimestampMs(1),
        )
        .unwrap();

    let findings = check_at(&cfg, Some(&store), &GraphClient::new(&cfg.graph), today()).await;
    let fixes: Vec<String> = findings
        .iter()
        .filter(|f| f.level == Level::Fix)
        .map(|f| f.to_string())
        .collect();
    let has = |s: &str| fixes.iter().any(|f| f.contains(s));
    assert!(has("server.app_secret"), "{fixes:#?}");
    assert!(has("server.verify_token"));
    assert!(
        has("lacks message_deliveries") && has("subscribed_apps?subscribed_fields="),
        "{fixes:#?}"
    );
    assert!(has("1 conversation(s) are in standby"));
    assert!(has("pages[1].access_token"), "{fixes:#?}");
    assert!(fixes
        .iter()
        .all(|f| f.starts_with("fix: ") && !f.contains("tok-")));
    let err = cli_doctor(&cfg, Some(store), &dmdesk::console::Console::local(None))
        .await
        .unwrap_err();
    assert_eq!(err.code, 1);
}

/// Graph unreachable (a closed loopback port): one finding per page saying
/// it is the network, no advice about tokens, permissions or linking.
#[tokio::test]
async fn unreachable_graph_is_reported_as_a_network_problem() {
    let cfg = config(
        "http://127.0.0.1:9",
        "[[pages]]\nid = \"P\"\naccess_token = \"tok-P\"\ninstagram_id = \"IG\"\n",
    );
    let findings = check_at(&cfg, None, &GraphClient::new(&cfg.graph), today()).await;
    let page: Vec<String> = findings
        .iter()
        .filter(|f| f.text.starts_with("page P (P)"))
        .map(|f| f.to_string())
        .collect();
    let fixes: Vec<&String> = page.iter().filter(|f| f.starts_with("fix:")).collect();
    assert_eq!(fixes.len(), 1, "{page:#?}");
    assert!(
        fixes[0].contains("cannot reach the Graph API at http://127.0.0.1:9")
            && fixes[0].contains("network problem"),
        "{page:#?}"
    );
    for f in &page {
        assert!(
            !f.contains("permission")
                && !f.contains("grant")
                && !f.contains("new Page access token"),
            "{f}"
        );
    }
}
