//! Instagram Login accounts (`[[instagram]]`) and token lifecycle, against
//! wiremock fakes of graph.instagram.com and graph.facebook.com.

mod common;

use common::{Harness, SECRET};
use dmdesk::config::Config;
use dmdesk::db::Db;
use dmdesk::domain::{AccountId, ConvKey, Platform, TimestampMs};
use dmdesk::meta::graph::GraphClient;
use dmdesk::meta::webhook::{parse_body, ParseCtx};
use dmdesk::metrics::Metrics;
use dmdesk::secret::Secret;
use dmdesk::send::reply::{reply, SendCtx};
use dmdesk::sync::Syncer;
use dmdesk::token_life::{Expiry, TokenKind};
use dmdesk::tokens::life::{self, TokenBook};
use dmdesk::tokens::refresh::Refresher;
use dmdesk::webhook::signature;
use serde_json::json;
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;
use wiremock::matchers::{header, method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

const IGID: &str = "17841400000000999";
const CUSTOMER: &str = "734111222333444";
const IG_TOKEN: &str = "IGAA-old-token-secret";
const IG_SECRET: &str = "instagram-app-secret";

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/instagram_login")
            .join(name),
    )
    .expect("fixture")
}

fn config(fb: &str, ig: &str, blocks: &str) -> Config {
    let text = format!(
        "[server]\napp_id = \"42\"\napp_secret = \"{SECRET}\"\nverify_token = \"v\"\n\
         [graph]\nbase_url = \"{fb}\"\ninstagram_base_url = \"{ig}\"\ntimeout = \"2s\"\n\
         conversations_per_second = 1000\n[sync]\ninterval = \"off\"\n{blocks}"
    );
    Config::from_toml(&text, &|_| None).expect("config")
}

fn ig_block(token_line: &str) -> String {
    format!("[[instagram]]\nid = \"{IGID}\"\nname = \"Shop IG\"\n{token_line}\n")
}

fn harness(cfg: Config) -> Harness {
    let dir = tempfile::tempdir().unwrap();
    let store = Db::open(&dir.path().join("store"), 16, "test").unwrap();
    Harness::with(dir, cfg, store)
}

fn key() -> ConvKey {
    ConvKey::new(Platform::Instagram, IGID, CUSTOMER)
}

#[test]
fn instagram_blocks_parse_and_route() {
    let cfg = config(
        "http://127.0.0.1:1",
        "http://127.0.0.1:2",
        &ig_block(&format!("access_token = \"{IG_TOKEN}\"")),
    );
    assert_eq!(cfg.graph.instagram_base_url, "http://127.0.0.1:2");
    let (page, platform) = cfg.page_for(&AccountId::new(IGID)).expect("configured");
    assert_eq!(platform, Platform::Instagram);
    assert!(page.is_instagram_login());
    assert_eq!(page.access_token.expose(), IG_TOKEN);
    assert!(cfg.instagram_ids().contains(&AccountId::new(IGID)));
    let default = Config::from_toml("", &|_| None).unwrap();
    assert_eq!(
        default.graph.instagram_base_url,
        "https://graph.instagram.com"
    );

    let bad = |blocks: &str| {
        Config::from_toml(blocks, &|_| None)
            .unwrap_err()
            .to_string()
    };
    let e = bad("[[instagram]]\nid = \"1\"\naccess_token = \"a\"\naccess_token_env = \"B\"");
    assert!(e.contains("instagram[0].access_token"), "{e}");
    let e = bad("[[instagram]]\nname = \"x\"\naccess_token = \"a\"");
    assert!(e.contains("instagram[0].id"), "{e}");
    let e = bad("[[instagram]]\nid = \"1\"\naccess_token_file = \"/nonexistent/dmdesk-token\"");
    assert!(e.contains("instagram[0].access_token_file"), "{e}");
    let e = bad("[[pages]]\nid = \"1\"\naccess_token = \"a\"\ninstagram_id = \"1\"");
    assert!(e.contains("pages[0].instagram_id"), "{e}");
    let e = bad("[[pages]]\nid = \"1\"\naccess_token = \"a\"\n[[instagram]]\nid = \"1\"\naccess_token = \"b\"");
    assert!(e.contains("listed twice"), "{e}");
}

#[test]
fn secrets_never_print() {
    let dir = tempfile::tempdir().unwrap();
    let tok = dir.path().join("ig.token");
    let sec = dir.path().join("ig.secret");
    std::fs::write(&tok, format!("{IG_TOKEN}\n")).unwrap();
    std::fs::write(&sec, IG_SECRET).unwrap();
    let text = format!(
        "[server]\ninstagram_app_secret_file = {sec:?}\n{}",
        ig_block(&format!("access_token_file = {tok:?}"))
    );
    let cfg = Config::from_toml(&text, &|_| None).unwrap();
    assert_eq!(
        cfg.server.instagram_app_secret.as_ref().map(Secret::expose),
        Some(IG_SECRET)
    );
    let dbg = format!("{cfg:?} {:?}", cfg.graph);
    assert!(!dbg.contains(IG_TOKEN) && !dbg.contains(IG_SECRET), "{dbg}");
    // The environment wins over the file, as for the other secrets.
    let env = |k: &str| (k == "DMDESK_INSTAGRAM_APP_SECRET").then(|| "from-env".to_string());
    let cfg = Config::from_toml(&text, &env).unwrap();
    assert_eq!(
        cfg.server.instagram_app_secret.as_ref().map(Secret::expose),
        Some("from-env")
    );
}

#[tokio::test]
async fn conformance_fixtures_parse_and_apply_under_the_instagram_account() {
    let h = harness(config(
        "http://127.0.0.1:1",
        "http://127.0.0.1:2",
        &ig_block("access_token = \"t\""),
    ));
    let ctx = ParseCtx {
        app_id: Some("42".into()),
        instagram_ids: h.config.instagram_ids(),
        received: TimestampMs::now(),
    };
    let names = [
        "message.json",
        "story_reply.json",
        "echo.json",
        "reaction.json",
        "seen.json",
        "postback.json",
    ];
    for name in names {
        let body = fixture(name);
        let parsed = parse_body(&body, &ctx).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert!(parsed.problems.is_empty(), "{name}: {:?}", parsed.problems);
        assert!(!parsed.changes.is_empty(), "{name}: nothing to apply");
        assert_eq!(h.post(&body).await, 200, "{name}");
    }
    let report = h.ingest.apply_pending().unwrap();
    assert_eq!((report.applied, report.quarantined), (6, 0));
    let conv = h
        .store
        .conversation(&key())
        .unwrap()
        .expect("one conversation");
    assert!(conv.last_inbound.is_some());
    let msgs = h.store.messages_latest(&key(), 50).unwrap();
    let mids: Vec<&str> = msgs.iter().map(|m| m.mid.as_str()).collect();
    assert_eq!(
        msgs.len(),
        4,
        "message, story reply, echo, postback: {mids:?}"
    );
    let echo = msgs
        .iter()
        .find(|m| m.mid.as_str().ends_with("E3ODQz"))
        .expect("echo");
    assert_eq!(
        echo.reactions.len(),
        1,
        "the reaction lands on the echoed message"
    );
}

#[tokio::test]
async fn second_secret_is_accepted_and_neither_is_401() {
    let mut cfg = config(
        "http://127.0.0.1:1",
        "http://127.0.0.1:2",
        &ig_block("access_token = \"t\""),
    );
    cfg.server.instagram_app_secret = Some(Secret::new(IG_SECRET));
    let h = harness(cfg);
    let body = fixture("message.json");
    let sig = |k: &str| Some(signature::sign(k.as_bytes(), &body));
    let post = |s| h.post_raw(body.clone(), s, "application/json");
    assert_eq!(post(sig(IG_SECRET)).await.0, 200);
    assert_eq!(post(sig(SECRET)).await.0, 200);
    assert_eq!(post(sig("neither")).await.0, 401);
    assert_eq!(post(None).await.0, 401);
    // Without the second secret configured, its signature is refused.
    let h2 = harness(config(
        "http://127.0.0.1:1",
        "http://127.0.0.1:2",
        &ig_block("access_token = \"t\""),
    ));
    assert_eq!(
        h2.post_raw(body.clone(), sig(IG_SECRET), "application/json")
            .await
            .0,
        401
    );
}

#[tokio::test]
async fn connected_both_ways_is_one_conversation() {
    let blocks = format!(
        "[[pages]]\nid = \"P1\"\naccess_token = \"page-tok\"\ninstagram_id = \"{IGID}\"\n{}",
        ig_block("access_token = \"t\"")
    );
    let mut cfg = config("http://127.0.0.1:1", "http://127.0.0.1:2", &blocks);
    cfg.server.instagram_app_secret = Some(Secret::new(IG_SECRET));
    // Replies go through Instagram Login (its own host and token).
    let (page, _) = cfg.page_for(&AccountId::new(IGID)).unwrap();
    assert!(page.is_instagram_login());
    let h = harness(cfg);
    // Meta delivers to both subscriptions: once signed by each app.
    let body = fixture("message.json");
    for k in [SECRET, IG_SECRET] {
        let s = signature::sign(k.as_bytes(), &body);
        assert_eq!(
            h.post_raw(body.clone(), Some(s), "application/json")
                .await
                .0,
            200
        );
    }
    h.ingest.apply_pending().unwrap();
    assert_eq!(h.store.messages_latest(&key(), 10).unwrap().len(), 1);
    let convs: Vec<_> = h
        .store
        .all_contacts()
        .filter_map(|c| c.ok())
        .map(|c| c.conv)
        .collect();
    assert_eq!(convs, [key()], "one customer, one conversation");
}

/// A fake graph.facebook.com that must not be called.
async fn untouched_facebook() -> MockServer {
    let fb = MockServer::start().await;
    Mock::given(wiremock::matchers::any())
        .respond_with(ResponseTemplate::new(500))
        .expect(0)
        .named("graph.facebook.com (must not be called)")
        .mount(&fb)
        .await;
    fb
}

#[tokio::test]
async fn sync_and_reply_go_to_the_instagram_host_with_the_instagram_token() {
    let fb = untouched_facebook().await;
    let ig = MockServer::start().await;
    let bearer = format!("Bearer {IG_TOKEN}");
    let now = chrono::Utc::now();
    let at = |ago: i64| {
        (now - chrono::Duration::seconds(ago))
            .format("%Y-%m-%dT%H:%M:%S+0000")
            .to_string()
    };
    Mock::given(method("GET"))
        .and(path("/v25.0/me/conversations"))
        .and(query_param("platform", "instagram"))
        .and(header("authorization", bearer.as_str()))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"data": [{
            "id": "aWdfZAG06MTpJR01lc3NhZA2VUaHJlYWQ",
            "updated_time": at(60),
            "participants": {"data": [{"id": IGID, "username": "shop"}, {"id": CUSTOMER, "username": "ann"}]},
            "messages": {"data": [
                {"id": "aWdfZAG1_m2", "created_time": at(60), "from": {"id": CUSTOMER, "username": "ann"},
                 "to": {"data": [{"id": IGID, "username": "shop"}]}, "message": "still there?"},
                {"id": "aWdfZAG1_m1", "created_time": at(120), "from": {"id": CUSTOMER, "username": "ann"},
                 "to": {"data": [{"id": IGID, "username": "shop"}]}, "message": "hello"}
            ]}
        }]})))
        .expect(1)
        .mount(&ig)
        .await;
    // Profiles: one GET per customer (no batch endpoint on this host).
    Mock::given(method("GET"))
        .and(path(format!("/v25.0/{CUSTOMER}")))
        .and(header("authorization", bearer.as_str()))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({"name": "Ann", "username": "ann"})),
        )
        .expect(1)
        .mount(&ig)
        .await;
    Mock::given(method("POST"))
        .and(path(format!("/v25.0/{IGID}/messages")))
        .and(header("authorization", bearer.as_str()))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"recipient_id": CUSTOMER, "message_id": "aWdfZAG1_reply"})),
        )
        .expect(1)
        .mount(&ig)
        .await;

    let cfg = Arc::new(config(
        &fb.uri(),
        &ig.uri(),
        &ig_block(&format!("access_token = \"{IG_TOKEN}\"")),
    ));
    let dir = tempfile::tempdir().unwrap();
    let store = Db::open(dir.path(), 16, "test").unwrap();
    let graph = GraphClient::new(&cfg.graph);
    let syncer = Syncer::new(store.clone(), cfg.clone(), graph.clone());
    let report = syncer.run(None, &CancellationToken::new()).await;
    assert_eq!(report.failed(), 0, "{report:?}");
    assert_eq!(report.accounts.len(), 1, "one account, Instagram only");
    assert_eq!(report.accounts[0].platform, Platform::Instagram);
    assert_eq!(report.accounts[0].messages, 2);
    assert_eq!(report.accounts[0].profiles_fetched, 1);
    let contact = store.contact(&key()).unwrap().expect("contact");
    assert_eq!(contact.username.as_deref(), Some("ann"));

    let ctx = SendCtx::new(store.clone(), cfg.clone(), graph);
    let mid = reply(&ctx, &key(), "Yes, how can I help?", None, None)
        .await
        .expect("reply sent");
    assert_eq!(mid.as_str(), "aWdfZAG1_reply");
    // Mocks' `expect` counts are checked when the servers drop.
}

#[tokio::test]
async fn debug_token_gives_page_expiry_and_scopes_and_metrics_show_it() {
    let fb = MockServer::start().await;
    let expires = 1_900_000_000i64;
    Mock::given(method("GET"))
        .and(path("/v25.0/debug_token"))
        .and(query_param("input_token", "page-tok"))
        .and(header(
            "authorization",
            format!("Bearer 42|{SECRET}").as_str(),
        ))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"data": {
            "app_id": "42", "type": "PAGE", "application": "dmdesk", "expires_at": expires,
            "is_valid": true, "scopes": ["pages_messaging", "pages_manage_metadata"]}})))
        .expect(1)
        .mount(&fb)
        .await;
    let cfg = config(
        &fb.uri(),
        "http://127.0.0.1:1",
        &format!(
            "[[pages]]\nid = \"P1\"\nname = \"Shop\"\naccess_token = \"page-tok\"\n{}",
            ig_block("access_token = \"t\"")
        ),
    );
    let lives = life::inspect(&cfg, &GraphClient::new(&cfg.graph)).await;
    assert_eq!(lives.len(), 2);
    let page = &lives[0];
    assert_eq!(page.kind, TokenKind::Page);
    assert_eq!(page.expiry, Expiry::At(TimestampMs(expires * 1000)));
    assert_eq!(page.scopes, ["pages_messaging", "pages_manage_metadata"]);
    assert_eq!(page.problem, None);
    // An inline Instagram token: dmdesk can neither renew it nor tell its expiry.
    let ig = &lives[1];
    assert_eq!(
        (ig.kind, ig.refreshable),
        (TokenKind::InstagramLogin, false)
    );
    let w = ig.warning(TimestampMs::now()).expect("a warning");
    assert!(w.contains("access_token_file"), "{w}");

    let m = Metrics::default();
    m.token_life(page);
    let text = m.render();
    let line = text
        .lines()
        .find(|l| l.starts_with("dmdesk_token_expiry_seconds{account=\"P1\""))
        .unwrap_or_else(|| panic!("no gauge line in\n{text}"));
    let secs: i64 = line.rsplit(' ').next().unwrap().parse().unwrap();
    let expect = expires - TimestampMs::now().0 / 1000;
    assert!((secs - expect).abs() <= 5, "{line} vs {expect}");

    // Without app_id, the page's life says what it cannot check.
    let mut no_id = cfg.clone();
    no_id.server.app_id = None;
    let lives = life::inspect(&no_id, &GraphClient::new(&no_id.graph)).await;
    assert!(lives[0]
        .problem
        .as_deref()
        .is_some_and(|p| p.contains("app_id")));
}

/// Log lines written while the test runs (the current-thread runtime keeps
/// every task on this thread, under this subscriber).
#[derive(Clone, Default)]
struct Logs(Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for Logs {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(b);
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test(flavor = "current_thread")]
async fn refresh_rewrites_the_file_atomically_and_the_new_token_is_used() {
    use std::os::unix::fs::PermissionsExt;
    let logs = Logs::default();
    let sink = logs.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::DEBUG)
        .with_ansi(false)
        .with_writer(move || sink.clone())
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let fb = untouched_facebook().await;
    let ig = MockServer::start().await;
    const NEW: &str = "IGAA-new-token-secret";
    Mock::given(method("GET"))
        .and(path("/refresh_access_token"))
        .and(query_param("grant_type", "ig_refresh_token"))
        .and(query_param("access_token", IG_TOKEN))
        .respond_with(ResponseTemplate::new(200).set_body_json(
            json!({"access_token": NEW, "token_type": "bearer", "expires_in": 5_184_000}),
        ))
        .expect(1)
        .mount(&ig)
        .await;
    Mock::given(method("POST"))
        .and(path(format!("/v25.0/{IGID}/messages")))
        .and(header("authorization", format!("Bearer {NEW}").as_str()))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"recipient_id": CUSTOMER, "message_id": "aWdfZAG1_after"})),
        )
        .expect(1)
        .mount(&ig)
        .await;

    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("ig.token");
    std::fs::write(&file, format!("{IG_TOKEN}\n")).unwrap();
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o640)).unwrap();
    // Written two days ago: old enough for Meta to refresh it.
    let two_days = std::time::SystemTime::now() - Duration::from_secs(2 * 86_400);
    std::fs::File::options()
        .write(true)
        .open(&file)
        .unwrap()
        .set_modified(two_days)
        .unwrap();
    let cfg = Arc::new(config(
        &fb.uri(),
        &ig.uri(),
        &ig_block(&format!("access_token_file = {file:?}")),
    ));
    assert_eq!(cfg.pages[0].access_token.expose(), IG_TOKEN);
    let store = Db::open(&dir.path().join("store"), 16, "test").unwrap();
    let graph = GraphClient::new(&cfg.graph);
    let metrics = Arc::new(Metrics::default());
    let book = TokenBook::default();
    let cancel = CancellationToken::new();
    let worker = tokio::spawn(
        Refresher::new(
            store.clone(),
            cfg.clone(),
            graph.clone(),
            metrics.clone(),
            book.clone(),
        )
        .run(cancel.clone()),
    );
    common::wait::until(
        "the token file to hold the refreshed token",
        Duration::from_secs(10),
        || async { std::fs::read_to_string(&file).is_ok_and(|t| t.trim() == NEW) },
    )
    .await;
    common::wait::until(
        "the book to know the exact expiry",
        Duration::from_secs(10),
        || async {
            book.get(&AccountId::new(IGID))
                .is_some_and(|l| matches!(l.expiry, Expiry::At(_)))
        },
    )
    .await;
    cancel.cancel();
    worker.await.unwrap();

    let mode = std::fs::metadata(&file).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    let left: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains("tmp"))
        .collect();
    assert!(left.is_empty(), "temporary files left: {left:?}");
    let life = book.get(&AccountId::new(IGID)).unwrap();
    let left_s = life.seconds_left(TimestampMs::now()).unwrap();
    assert!((5_184_000 - 60..=5_184_000).contains(&left_s), "{left_s}");
    assert_eq!(life.warning(TimestampMs::now()), None);
    assert!(metrics.render().contains(&format!(
        "dmdesk_token_expiry_seconds{{account=\"{IGID}\",kind=\"instagram_login\",exact=\"true\"}}"
    )));

    // The next call carries the new token (the mock only answers to it).
    let ctx = SendCtx::new(store.clone(), cfg.clone(), graph.clone());
    let conv = key();
    store
        .apply(&[dmdesk::change::Change::Message {
            msg: {
                let mut m = dmdesk::domain::Message::inbound(
                    conv.clone(),
                    dmdesk::domain::Mid("aWdfZAG1_in".into()),
                    TimestampMs::now(),
                );
                m.text = Some("hi".into());
                m
            },
            metadata: None,
            qualifying: true,
            from_sync: false,
        }])
        .unwrap();
    let mid = reply(&ctx, &conv, "hello again", None, None)
        .await
        .expect("sent with the new token");
    assert_eq!(mid.as_str(), "aWdfZAG1_after");

    let text = String::from_utf8(logs.0.lock().unwrap().clone()).unwrap();
    assert!(
        text.contains("Instagram token refreshed"),
        "the refresh is logged:\n{text}"
    );
    assert!(
        !text.contains(IG_TOKEN) && !text.contains(NEW),
        "a token reached the log:\n{text}"
    );
    assert!(!format!("{life:?} {:?}", book.all()).contains(NEW));
}

#[tokio::test]
async fn campaigns_include_instagram_login_accounts() {
    use dmdesk::send::campaign::{self, Tuning};
    use dmdesk::store::RecipientState;
    let fb = untouched_facebook().await;
    let ig = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(format!("/v25.0/{IGID}/messages")))
        .and(header(
            "authorization",
            format!("Bearer {IG_TOKEN}").as_str(),
        ))
        .and(wiremock::matchers::body_partial_json(
            json!({"recipient": {"id": CUSTOMER}, "message": {"text": "Thanks, Ann!"}}),
        ))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"recipient_id": CUSTOMER, "message_id": "aWdfZAG1_camp"})),
        )
        .expect(1)
        .mount(&ig)
        .await;
    let cfg = Arc::new(config(
        &fb.uri(),
        &ig.uri(),
        &ig_block(&format!("access_token = \"{IG_TOKEN}\"")),
    ));
    let dir = tempfile::tempdir().unwrap();
    let store = Db::open(dir.path(), 16, "test").unwrap();
    let mut m = dmdesk::domain::Message::inbound(
        key(),
        dmdesk::domain::Mid("aWdfZAG1_in".into()),
        TimestampMs::now(),
    );
    m.text = Some("hi".into());
    store
        .apply(&[dmdesk::change::Change::Message {
            msg: m,
            metadata: None,
            qualifying: true,
            from_sync: false,
        }])
        .unwrap();
    let now = TimestampMs::now();
    let p =
        campaign::preview_from_store(&store, &cfg, &[key()], "Thanks, Ann!", None, now).unwrap();
    assert_eq!((p.inside, p.skipped), (1, 0), "{:?}", p.rows);
    let id = campaign::create(&store, "t", "Thanks, Ann!", None, Some("ann"), &p, now)
        .await
        .unwrap()
        .id;
    let ctx = SendCtx::new(store.clone(), cfg.clone(), GraphClient::new(&cfg.graph));
    campaign::run(
        &ctx,
        &id,
        &Tuning::from_config(&cfg),
        &CancellationToken::new(),
        &CancellationToken::new(),
    )
    .await
    .unwrap();
    let r = store.campaign_recipients(&id).unwrap();
    assert_eq!(r.len(), 1);
    assert_eq!(r[0].state, RecipientState::Sent);
    assert_eq!(r[0].mid.as_ref().map(|m| m.as_str()), Some("aWdfZAG1_camp"));
}

#[tokio::test]
async fn doctor_check_of_an_instagram_login_token_asks_the_instagram_host() {
    use dmdesk::tokens::check::{instagram_login, LoginCheck};
    let fb = untouched_facebook().await;
    let ig = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/v25.0/me"))
        .and(query_param("fields", "user_id,username"))
        .and(header(
            "authorization",
            format!("Bearer {IG_TOKEN}").as_str(),
        ))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(
                json!({"id": "26000000000000001", "user_id": IGID, "username": "shop"}),
            ),
        )
        .expect(1)
        .mount(&ig)
        .await;
    Mock::given(method("GET"))
        .and(path("/v25.0/me"))
        .and(header("authorization", "Bearer someone-elses"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"id": "26000000000000002", "user_id": "17841400000000111"})),
        )
        .expect(1)
        .mount(&ig)
        .await;
    let cfg = config(
        &fb.uri(),
        &ig.uri(),
        &ig_block(&format!("access_token = \"{IG_TOKEN}\"")),
    );
    let graph = GraphClient::new(&cfg.graph);
    let mut page = cfg.pages[0].clone();
    assert_eq!(
        instagram_login(&graph, &page).await.unwrap(),
        LoginCheck::Works(Some("shop".into()))
    );
    page.access_token = Secret::new("someone-elses");
    assert_eq!(
        instagram_login(&graph, &page).await.unwrap(),
        LoginCheck::OtherAccount("17841400000000111".into())
    );
}

#[tokio::test]
async fn a_token_meta_refuses_at_refresh_marks_the_account_dead() {
    let fb = untouched_facebook().await;
    let ig = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/refresh_access_token"))
        .respond_with(ResponseTemplate::new(400).set_body_json(json!({"error": {
            "message": "Error validating access token: Session has expired",
            "type": "IGApiException", "code": 190, "error_subcode": 463}})))
        .expect(1)
        .mount(&ig)
        .await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("ig.token");
    std::fs::write(&file, IG_TOKEN).unwrap();
    let two_days = std::time::SystemTime::now() - Duration::from_secs(2 * 86_400);
    std::fs::File::options()
        .write(true)
        .open(&file)
        .unwrap()
        .set_modified(two_days)
        .unwrap();
    let cfg = Arc::new(config(
        &fb.uri(),
        &ig.uri(),
        &ig_block(&format!("access_token_file = {file:?}")),
    ));
    let store = Db::open(&dir.path().join("store"), 16, "test").unwrap();
    let book = TokenBook::default();
    let cancel = CancellationToken::new();
    let worker = tokio::spawn(
        Refresher::new(
            store.clone(),
            cfg.clone(),
            GraphClient::new(&cfg.graph),
            Arc::new(Metrics::default()),
            book.clone(),
        )
        .run(cancel.clone()),
    );
    let page = cfg.pages[0].clone();
    common::wait::until(
        "the account's token to be marked dead",
        Duration::from_secs(10),
        || async { dmdesk::tokens::dead_token(&store, &page).is_some() },
    )
    .await;
    common::wait::until("the book to say why", Duration::from_secs(10), || async {
        book.get(&AccountId::new(IGID))
            .and_then(|l| l.problem)
            .is_some_and(|p| p.contains("refused"))
    })
    .await;
    cancel.cancel();
    worker.await.unwrap();
    // The file keeps what the operator put there.
    assert_eq!(std::fs::read_to_string(&file).unwrap(), IG_TOKEN);
}
