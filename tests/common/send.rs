//! Fixtures for the send and campaign tests: a store, a config pointing at
//! a wiremock fake, conversations with a chosen last inbound time, and a
//! responder that answers the Send API like Meta (mid derived from the
//! recipient) while recording when each call arrived.

use dmdesk::change::Change;
use dmdesk::config::Config;
use dmdesk::db::Db;
use dmdesk::domain::{ConvKey, Message, Mid, Platform, TimestampMs};
use dmdesk::meta::graph::GraphClient;
use dmdesk::send::reply::SendCtx;
use serde_json::{json, Value};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use wiremock::{Request, Respond, ResponseTemplate};

pub const PAGE: &str = "p1";
pub const IG: &str = "ig1";
pub const TOKEN: &str = "page-token-secret";

pub fn config(base: &str, max_per_second: u32, concurrency: usize) -> Config {
    let toml = format!(
        r#"
[graph]
base_url = "{base}"
timeout = "1s"
[send]
max_per_second = {max_per_second}
concurrency = {concurrency}
[[pages]]
id = "{PAGE}"
name = "Shop"
access_token = "{TOKEN}"
instagram_id = "{IG}"
human_agent = true
"#
    );
    Config::from_toml(&toml, &|_| None).expect("test config")
}

pub struct Env {
    pub dir: tempfile::TempDir,
    pub store: Db,
    pub ctx: SendCtx,
}

pub fn env(base: &str, max_per_second: u32, concurrency: usize) -> Env {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Db::open(dir.path(), 16, "test").expect("store");
    let cfg = config(base, max_per_second, concurrency);
    let ctx = SendCtx::new(
        store.clone(),
        Arc::new(cfg.clone()),
        GraphClient::new(&cfg.graph),
    );
    Env { dir, store, ctx }
}

pub fn messenger(user: &str) -> ConvKey {
    ConvKey::new(Platform::Messenger, PAGE, user)
}

pub fn instagram(user: &str) -> ConvKey {
    ConvKey::new(Platform::Instagram, IG, user)
}

/// The customer wrote `ago_ms` before now.
pub fn customer_wrote(store: &Db, conv: &ConvKey, ago_ms: i64) {
    let at = TimestampMs(TimestampMs::now().0 - ago_ms);
    let mut m = Message::inbound(conv.clone(), Mid(format!("in_{}_{}", conv.user, at.0)), at);
    m.text = Some("hi".into());
    store
        .apply(&[Change::Message {
            msg: m,
            metadata: None,
            qualifying: true,
            from_sync: false,
        }])
        .expect("apply inbound");
}

/// Meta's echo of our send: same mid, our metadata.
pub fn echo(store: &Db, conv: &ConvKey, mid: &str, metadata: &str) {
    let mut m = Message::inbound(conv.clone(), Mid::from(mid), TimestampMs::now());
    m.direction = dmdesk::domain::Direction::Out;
    m.status = dmdesk::domain::MsgStatus::Sent;
    m.text = Some("echo".into());
    store
        .apply(&[Change::Message {
            msg: m,
            metadata: Some(metadata.to_string()),
            qualifying: false,
            from_sync: false,
        }])
        .expect("apply echo");
}

pub fn mid_for(user: &str) -> String {
    format!("m_{user}")
}

/// Answers like the Send API and records each call's arrival time and body.
#[derive(Clone, Default)]
pub struct MetaFake {
    pub calls: Arc<Mutex<Vec<(Instant, Value)>>>,
    pub delay: Duration,
    /// Cancel this token as the call with this number (1-based) arrives, so
    /// a test stops a campaign at a known point instead of after a sleep.
    pub cancel_at: Option<(usize, tokio_util::sync::CancellationToken)>,
}

impl Respond for MetaFake {
    fn respond(&self, req: &Request) -> ResponseTemplate {
        let body: Value = serde_json::from_slice(&req.body).unwrap_or(Value::Null);
        let n = {
            let mut calls = self.calls.lock().unwrap();
            calls.push((Instant::now(), body.clone()));
            calls.len()
        };
        if let Some((at, token)) = &self.cancel_at {
            if n == *at {
                token.cancel();
            }
        }
        let user = body["recipient"]["id"].as_str().unwrap_or("").to_string();
        ResponseTemplate::new(200)
            .set_body_json(json!({"recipient_id": user, "message_id": mid_for(&user)}))
            .set_delay(self.delay)
    }
}

impl MetaFake {
    pub fn times(&self) -> Vec<Instant> {
        let mut v: Vec<Instant> = self.calls.lock().unwrap().iter().map(|(t, _)| *t).collect();
        v.sort();
        v
    }
    pub fn count_for(&self, user: &str) -> usize {
        self.calls
            .lock()
            .unwrap()
            .iter()
            .filter(|(_, b)| b["recipient"]["id"] == user)
            .count()
    }
}

/// Answers the Conversations API's thread lookup (`GET /{page}/conversations
/// ?user_id=U`) from what a [`MetaFake`] received: each call to U appears in
/// U's thread as the page's message, as Meta would list it.
#[derive(Clone)]
pub struct ThreadFake(pub MetaFake);

impl Respond for ThreadFake {
    fn respond(&self, req: &Request) -> ResponseTemplate {
        let user = req
            .url
            .query_pairs()
            .find(|(k, _)| k == "user_id")
            .map(|(_, v)| v.into_owned())
            .unwrap_or_default();
        let now = chrono::Utc::now()
            .format("%Y-%m-%dT%H:%M:%S+0000")
            .to_string();
        let messages: Vec<Value> = self
            .0
            .calls
            .lock()
            .unwrap()
            .iter()
            .filter(|(_, b)| b["recipient"]["id"] == user.as_str())
            .map(|(_, b)| {
                json!({"id": mid_for(&user), "message": b["message"]["text"],
                       "from": {"id": PAGE}, "created_time": now})
            })
            .collect();
        let threads = if messages.is_empty() {
            vec![]
        } else {
            vec![json!({"id": format!("t_{user}"),
                "participants": {"data": [{"id": user}, {"id": PAGE}]},
                "messages": {"data": messages}})]
        };
        ResponseTemplate::new(200).set_body_json(json!({ "data": threads }))
    }
}

/// Largest number of calls inside any one-second window ending at a call.
pub fn max_per_trailing_second(ts: &[Instant]) -> usize {
    let mut best = 0;
    for (i, t) in ts.iter().enumerate() {
        let n = ts[..=i]
            .iter()
            .filter(|u| t.duration_since(**u) < Duration::from_secs(1))
            .count();
        best = best.max(n);
    }
    best
}

pub fn meta_error(status: u16, code: i64, subcode: Option<i64>) -> ResponseTemplate {
    let mut e = json!({"message": format!("(#{code}) test error"), "type": "OAuthException", "code": code, "fbtrace_id": "x"});
    if let Some(s) = subcode {
        e["error_subcode"] = json!(s);
    }
    ResponseTemplate::new(status).set_body_json(json!({ "error": e }))
}

/// One request an [`UploadFake`] received.
#[derive(Debug, Clone)]
pub struct Received {
    pub path: String,
    pub content_type: String,
    pub body: Vec<u8>,
}

impl Received {
    pub fn is_multipart(&self) -> bool {
        self.content_type
            .starts_with("multipart/form-data; boundary=")
    }
    /// A multipart text field, read from the raw body.
    pub fn field(&self, name: &str) -> Option<String> {
        let body = String::from_utf8_lossy(&self.body);
        let head = format!("Content-Disposition: form-data; name=\"{name}\"\r\n\r\n");
        let start = body.find(&head)? + head.len();
        let end = body[start..].find("\r\n--")? + start;
        Some(body[start..end].to_string())
    }
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or(Value::Null)
    }
}

/// Answers the Send API (`message_id` m_1, m_2, ... in arrival order) and
/// the Attachment Upload API (`attachment_id` a_1, ...), keeping each request.
#[derive(Clone, Default)]
pub struct UploadFake {
    pub calls: Arc<Mutex<Vec<Received>>>,
}

impl Respond for UploadFake {
    fn respond(&self, req: &Request) -> ResponseTemplate {
        let r = Received {
            path: req.url.path().to_string(),
            content_type: req
                .headers
                .get("content-type")
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default()
                .to_string(),
            body: req.body.clone(),
        };
        let mut calls = self.calls.lock().unwrap();
        calls.push(r.clone());
        let n = calls.len();
        if r.path.ends_with("/message_attachments") {
            ResponseTemplate::new(200).set_body_json(json!({"attachment_id": format!("a_{n}")}))
        } else {
            ResponseTemplate::new(200)
                .set_body_json(json!({"recipient_id": "u", "message_id": format!("m_{n}")}))
        }
    }
}

impl UploadFake {
    pub fn received(&self) -> Vec<Received> {
        self.calls.lock().unwrap().clone()
    }
}
