//! Fixtures shared by the integration tests.
#![allow(dead_code)]

pub mod send;
pub mod serve;
pub mod sim;
pub mod tmux;
pub mod wait;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use dmdesk::config::Config;
use dmdesk::db::Db;
use dmdesk::ingest::Ingest;
use dmdesk::metrics::Metrics;
use dmdesk::secret::Secret;
use dmdesk::webhook::{router, signature, WebhookState};
use std::path::PathBuf;
use std::sync::Arc;
use tower::ServiceExt;

pub const SECRET: &str = "test-app-secret";
pub const VERIFY: &str = "test-verify-token";

pub fn shared(rel: &str) -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../shared")).join(rel)
}

pub struct Harness {
    pub dir: tempfile::TempDir,
    pub store: Db,
    pub config: Config,
    pub metrics: Arc<Metrics>,
    pub app: axum::Router,
    pub ingest: Ingest,
}

pub fn config_for(dir: &std::path::Path) -> Config {
    let mut c = Config::from_toml(
        r#"
[server]
app_id = "42"
[[pages]]
id = "P1"
access_token = "tok"
instagram_id = "IG1"
"#,
        &|_| None,
    )
    .expect("test config");
    c.server.app_secret = Secret::new(SECRET);
    c.server.verify_token = Secret::new(VERIFY);
    c.store.path = dir.join("store");
    c
}

impl Harness {
    pub fn new() -> Harness {
        let dir = tempfile::tempdir().expect("tempdir");
        let config = config_for(dir.path());
        let store = Db::open(&config.store.path, 16, "test").expect("open store");
        Harness::with(dir, config, store)
    }

    pub fn with(dir: tempfile::TempDir, config: Config, store: Db) -> Harness {
        let metrics = Arc::new(Metrics::default());
        let app = router(
            WebhookState {
                store: store.clone(),
                app_secret: config.server.app_secret.clone(),
                instagram_app_secret: config.server.instagram_app_secret.clone(),
                verify_token: config.server.verify_token.clone(),
                metrics: metrics.clone(),
                ingest: Arc::new(tokio::sync::Notify::new()),
            },
            "/webhook",
        );
        let ingest = Ingest::new(store.clone(), &config, metrics.clone(), None);
        Harness {
            dir,
            store,
            config,
            metrics,
            app,
            ingest,
        }
    }

    /// POST a body with the given signature header (None: no header).
    pub async fn post_raw(
        &self,
        body: Vec<u8>,
        sig: Option<String>,
        content_type: &str,
    ) -> (StatusCode, String) {
        let mut req = Request::post("/webhook").header("content-type", content_type);
        if let Some(s) = sig {
            req = req.header("x-hub-signature-256", s);
        }
        self.call(req.body(Body::from(body)).expect("request"))
            .await
    }

    /// POST a correctly signed body.
    pub async fn post(&self, body: &[u8]) -> StatusCode {
        let sig = signature::sign(SECRET.as_bytes(), body);
        self.post_raw(body.to_vec(), Some(sig), "application/json")
            .await
            .0
    }

    pub async fn get(&self, uri: &str) -> (StatusCode, String) {
        self.call(Request::get(uri).body(Body::empty()).expect("request"))
            .await
    }

    /// One request through the router: status and body text.
    async fn call(&self, req: Request<Body>) -> (StatusCode, String) {
        let resp = self.app.clone().oneshot(req).await.expect("router answers");
        let status = resp.status();
        let bytes = axum::body::to_bytes(resp.into_body(), usize::MAX)
            .await
            .expect("body");
        (status, String::from_utf8_lossy(&bytes).into_owned())
    }

    pub fn apply(&self) -> dmdesk::ingest::IngestReport {
        self.ingest.apply_pending().expect("ingest")
    }

    pub fn event_count(&self) -> usize {
        self.store.all_events().count()
    }
}

/// A Messenger text message body.
pub fn text_body(page: &str, user: &str, mid: &str, ts: i64, text: &str) -> Vec<u8> {
    serde_json::json!({"object":"page","entry":[{"id":page,"time":ts,"messaging":[
        {"sender":{"id":user},"recipient":{"id":page},"timestamp":ts,"message":{"mid":mid,"text":text}}]}]})
    .to_string()
    .into_bytes()
}
