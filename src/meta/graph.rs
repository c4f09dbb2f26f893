//! The one Graph API client used by everything that calls Meta.
//!
//! Tokens go in the `Authorization` header, never in URLs, and reqwest errors
//! are stripped of their URL, so no token reaches a log line. (Two calls
//! must carry one in the query, as Meta defines them: `debug_token`'s
//! `input_token` and `refresh_access_token`'s `access_token`.)
//!
//! Calls on behalf of an account connected with Instagram Login go to the
//! Instagram host (`[graph] instagram_base_url`) with that account's current
//! token, so callers name the account and never the host.

use super::error::{parse_error, ErrorClass, GraphError};
use super::throttle::{Throttle, DEFAULT_PAUSE, MAX_PAUSE};
use super::usage::{self, Usage};
use crate::domain::{AccountId, Contact, ConvKey, Mid, Platform, UserId};
use crate::media::outgoing::{Media, MediaKind};
use crate::rules::window::Plan;
use crate::secret::Secret;
use serde_json::{json, Value};
use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Duration;

/// `[graph]`: where the Graph API is and how fast to ask it (read in
/// src/config.rs; kept beside the client that uses it).
#[derive(Debug, Clone)]
pub struct GraphConfig {
    pub base_url: String,
    pub version: String,
    pub conversations_per_second: u32,
    pub timeout: Duration,
    /// Host of accounts connected with Instagram Login.
    pub instagram_base_url: String,
    /// The accounts whose calls go to `instagram_base_url`: the ids of the
    /// `[[instagram]]` blocks (filled from them, not a key of its own).
    pub instagram_login_ids: Vec<AccountId>,
}

#[derive(Clone)]
pub struct GraphClient {
    http: reqwest::Client,
    base: String,
    version: String,
    max_retries: u32,
    /// Rate-limit waits allowed within one call before giving up.
    max_rate_waits: u32,
    throttle: Arc<Throttle>,
    calls: Arc<AtomicU64>,
    instagram: Arc<InstagramHost>,
}

/// The Instagram Login side: its host, its accounts, and the tokens that
/// replaced the configured ones after a refresh (shared by every clone).
struct InstagramHost {
    base: String,
    accounts: HashSet<String>,
    refreshed: RwLock<HashMap<String, Secret>>,
}

/// `refresh_access_token`'s answer.
#[derive(Debug, Clone)]
pub struct RefreshedToken {
    pub token: Secret,
    /// Seconds until the new token expires (`expires_in`), when given.
    pub expires_in: Option<u64>,
}

/// The Send API's answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SendResponse {
    pub recipient_id: Option<String>,
    pub message_id: Mid,
}

/// A request body.
#[derive(Debug, Clone, Copy)]
pub enum Body<'a> {
    None,
    Json(&'a Value),
    /// `application/x-www-form-urlencoded` (batch requests).
    Form(&'a [(&'a str, String)]),
    /// `multipart/form-data` (attachment uploads).
    Multipart(&'a Multipart),
}

/// A `multipart/form-data` body: text fields, then the file as `filedata`
/// (the field name Meta reads the upload from).
#[derive(Debug, Clone)]
pub struct Multipart {
    boundary: String,
    body: bytes::Bytes,
}

impl Multipart {
    pub fn new(fields: &[(&str, String)], file: &Media) -> Multipart {
        // Random, so no file content can contain it by accident.
        let boundary = format!("dmdesk-{:032x}", rand::random::<u128>());
        let mut body = Vec::with_capacity(file.bytes.len() + 1024);
        for (name, value) in fields {
            body.extend_from_slice(
                format!(
                    "--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n"
                )
                .as_bytes(),
            );
        }
        // Quotes and line breaks would end the header early.
        let filename: String = file
            .name
            .chars()
            .map(|c| if c == '"' || c.is_control() { '_' } else { c })
            .collect();
        body.extend_from_slice(
            format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"filedata\"; filename=\"{filename}\"\r\nContent-Type: {}\r\n\r\n",
                file.mime
            )
            .as_bytes(),
        );
        body.extend_from_slice(&file.bytes);
        body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
        Multipart {
            boundary,
            body: body.into(),
        }
    }

    pub fn content_type(&self) -> String {
        format!("multipart/form-data; boundary={}", self.boundary)
    }
}

/// What one Send API message carries: Meta takes text or an attachment.
#[derive(Debug, Clone, Copy)]
pub enum Outgoing<'a> {
    Text(&'a str),
    /// A file uploaded with the message itself (one multipart call).
    Upload(&'a Media),
    /// A file uploaded before (`upload_attachment`), named by its id.
    Uploaded {
        kind: MediaKind,
        attachment_id: &'a str,
    },
    /// A file Meta fetches from `url` (Instagram takes media only so).
    Url {
        kind: MediaKind,
        url: &'a str,
    },
}

/// Most requests one batch may hold (Meta's limit).
pub const BATCH_MAX: usize = 50;

impl GraphClient {
    pub fn new(cfg: &GraphConfig) -> GraphClient {
        let http = reqwest::Client::builder()
            .timeout(cfg.timeout)
            .connect_timeout(Duration::from_secs(10))
            .user_agent(concat!("dmdesk/", env!("CARGO_PKG_VERSION")))
            .build()
            .expect("reqwest client builds with rustls");
        GraphClient {
            http,
            base: cfg.base_url.trim_end_matches('/').to_string(),
            version: cfg.version.clone(),
            max_retries: 3,
            max_rate_waits: 3,
            throttle: Arc::new(Throttle::new(cfg.conversations_per_second)),
            calls: Arc::new(AtomicU64::new(0)),
            instagram: Arc::new(InstagramHost {
                base: cfg.instagram_base_url.trim_end_matches('/').to_string(),
                accounts: cfg
                    .instagram_login_ids
                    .iter()
                    .map(|a| a.0.clone())
                    .collect(),
                refreshed: RwLock::new(HashMap::new()),
            }),
        }
    }

    /// Whether `account` is connected with Instagram Login (its calls go
    /// to the Instagram host).
    pub fn is_instagram_login(&self, account: &str) -> bool {
        self.instagram.accounts.contains(account)
    }

    /// From now on, calls for this Instagram Login account carry `token`
    /// (it replaced the configured one in a refresh).
    pub fn use_token(&self, account: &AccountId, token: Secret) {
        self.instagram
            .refreshed
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .insert(account.0.clone(), token);
    }

    /// The token a call for `account` carries: a refreshed one if any.
    pub fn current_token(&self, account: Option<&str>, given: &Secret) -> Secret {
        account
            .and_then(|a| {
                self.instagram
                    .refreshed
                    .read()
                    .unwrap_or_else(|e| e.into_inner())
                    .get(a)
                    .cloned()
            })
            .unwrap_or_else(|| given.clone())
    }

    /// The host serving `account`.
    fn base_for(&self, account: Option<&str>) -> &str {
        match account {
            Some(a) if self.is_instagram_login(a) => &self.instagram.base,
            _ => &self.base,
        }
    }

    /// The per-account pacing shared by every clone of this client.
    pub fn throttle(&self) -> &Throttle {
        &self.throttle
    }

    /// HTTP requests sent so far by this client and its clones.
    pub fn calls_made(&self) -> u64 {
        self.calls.load(Ordering::Relaxed)
    }

    /// Full URL for a Graph path like `me` or `{page}/messages`.
    pub fn url(&self, path: &str) -> String {
        self.url_on(&self.base, path)
    }

    fn url_on(&self, base: &str, path: &str) -> String {
        if path.starts_with("http://") || path.starts_with("https://") {
            return path.to_string();
        }
        format!("{}/{}/{}", base, self.version, path.trim_start_matches('/'))
    }

    /// Whether an absolute URL (a paging link) points at our Graph host:
    /// the token is only ever sent there.
    pub fn same_origin(&self, url: &str) -> bool {
        same_origin(&self.base, url)
    }

    /// One request with retries for transient failures (jittered back-off, capped).
    /// Not paced per account: use [`GraphClient::call`] for that.
    pub async fn request(
        &self,
        method: reqwest::Method,
        path: &str,
        token: &Secret,
        query: &[(&str, &str)],
        body: Option<&Value>,
    ) -> Result<Value, GraphError> {
        let body = body.map_or(Body::None, Body::Json);
        self.call_inner(None, false, method, path, token, query, body)
            .await
    }

    /// A request on behalf of `account`: waits for the account's throttle
    /// (Conversations API rate when `conversations`), records the usage
    /// headers, retries transient errors with back-off and waits out rate
    /// limits (up to a few times, each at most [`MAX_PAUSE`]).
    #[allow(clippy::too_many_arguments)]
    pub async fn call(
        &self,
        account: &str,
        conversations: bool,
        method: reqwest::Method,
        path: &str,
        token: &Secret,
        query: &[(&str, &str)],
        body: Body<'_>,
    ) -> Result<Value, GraphError> {
        self.call_inner(
            Some(account),
            conversations,
            method,
            path,
            token,
            query,
            body,
        )
        .await
    }

    /// GET on behalf of an account (see [`GraphClient::call`]).
    pub async fn get_as(
        &self,
        account: &str,
        conversations: bool,
        path: &str,
        token: &Secret,
        query: &[(&str, &str)],
    ) -> Result<Value, GraphError> {
        self.call(
            account,
            conversations,
            reqwest::Method::GET,
            path,
            token,
            query,
            Body::None,
        )
        .await
    }

    #[allow(clippy::too_many_arguments)]
    async fn call_inner(
        &self,
        account: Option<&str>,
        conversations: bool,
        method: reqwest::Method,
        path: &str,
        token: &Secret,
        query: &[(&str, &str)],
        body: Body<'_>,
    ) -> Result<Value, GraphError> {
        let mut attempt = 0;
        let mut rate_waits = 0;
        loop {
            if let Some(a) = account {
                self.throttle.before(a, conversations).await;
            }
            let (result, usage) = self
                .request_once(account, method.clone(), path, token, query, body)
                .await;
            match result {
                Ok(v) => {
                    if let Some(a) = account {
                        self.throttle.observe(a, usage);
                    }
                    return Ok(v);
                }
                Err(mut e) if e.class == ErrorClass::RateLimited => {
                    let pause = match account {
                        Some(a) => self.throttle.rate_limited(a, usage),
                        None => usage.and_then(|u| u.regain).unwrap_or(DEFAULT_PAUSE),
                    };
                    e.retry_after = Some(pause);
                    if account.is_none() || rate_waits >= self.max_rate_waits || pause > MAX_PAUSE {
                        return Err(e);
                    }
                    rate_waits += 1;
                    tracing::warn!(account, ?pause, error = %e, "rate limited; pausing this account");
                }
                Err(e) if e.class == ErrorClass::Transient && attempt < self.max_retries => {
                    attempt += 1;
                    let wait = backoff(attempt);
                    tracing::debug!(attempt, ?wait, error = %e, "transient Graph error; retrying");
                    tokio::time::sleep(wait).await;
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// One HTTP request to the host serving `account` (the Graph host
    /// when None), with the account's current token.
    async fn request_once(
        &self,
        account: Option<&str>,
        method: reqwest::Method,
        path: &str,
        token: &Secret,
        query: &[(&str, &str)],
        body: Body<'_>,
    ) -> (Result<Value, GraphError>, Option<Usage>) {
        let base = self.base_for(account);
        let url = self.url_on(base, path);
        let token = self.current_token(account, token);
        if !same_origin(base, &url) {
            return (
                Err(GraphError {
                    class: ErrorClass::Unknown,
                    code: None,
                    subcode: None,
                    http_status: None,
                    message: "refusing to send the token to a link outside the Graph base URL"
                        .into(),
                    retry_after: None,
                }),
                None,
            );
        }
        let mut req = self
            .http
            .request(method, strip_token(&url))
            .bearer_auth(token.expose())
            .query(query);
        match body {
            Body::None => {}
            Body::Json(b) => req = req.json(b),
            Body::Form(f) => req = req.form(f),
            Body::Multipart(m) => {
                req = req
                    .header(reqwest::header::CONTENT_TYPE, m.content_type())
                    .body(m.body.clone())
            }
        }
        self.calls.fetch_add(1, Ordering::Relaxed);
        let resp = match req.send().await {
            Ok(r) => r,
            Err(e) => return (Err(transport(e)), None),
        };
        let status = resp.status().as_u16();
        let usage = usage::from_headers(|k| {
            resp.headers()
                .get(k)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string)
        });
        let text = match resp.text().await {
            Ok(t) => t,
            Err(e) => return (Err(transport(e)), usage),
        };
        (parse_answer(status, &text, usage), usage)
    }

    pub async fn get(
        &self,
        path: &str,
        token: &Secret,
        query: &[(&str, &str)],
    ) -> Result<Value, GraphError> {
        self.request(reqwest::Method::GET, path, token, query, None)
            .await
    }

    /// Send API: one text message (see [`GraphClient::send`]).
    pub async fn send_text(
        &self,
        account: &AccountId,
        token: &Secret,
        recipient: &UserId,
        text: &str,
        plan: Plan,
        metadata: &str,
    ) -> Result<SendResponse, GraphError> {
        self.send(
            account,
            token,
            recipient,
            Outgoing::Text(text),
            plan,
            metadata,
        )
        .await
    }

    /// Send API: one message, text or attachment. Never retried here on
    /// anything but transport-level trouble before Meta answered: a retried
    /// send could reach the customer twice.
    pub async fn send(
        &self,
        account: &AccountId,
        token: &Secret,
        recipient: &UserId,
        what: Outgoing<'_>,
        plan: Plan,
        metadata: &str,
    ) -> Result<SendResponse, GraphError> {
        let message = match what {
            Outgoing::Text(text) => json!({"text": text, "metadata": metadata}),
            Outgoing::Upload(m) => json!({
                "attachment": {"type": m.kind.as_str(), "payload": {"is_reusable": true}},
                "metadata": metadata,
            }),
            Outgoing::Uploaded {
                kind,
                attachment_id,
            } => json!({
                "attachment": {"type": kind.as_str(), "payload": {"attachment_id": attachment_id}},
                "metadata": metadata,
            }),
            Outgoing::Url { kind, url } => json!({
                "attachment": {"type": kind.as_str(), "payload": {"url": url}},
                "metadata": metadata,
            }),
        };
        let mut body = json!({
            "recipient": {"id": recipient.as_str()},
            "messaging_type": plan.messaging_type(),
            "message": message,
        });
        if let Some(t) = plan.tag() {
            body["tag"] = json!(t.as_str());
        }
        let form;
        let body = match what {
            Outgoing::Upload(m) => {
                // Multipart fields are strings: the objects go as JSON text.
                let fields: Vec<(&str, String)> = ["recipient", "messaging_type", "message", "tag"]
                    .into_iter()
                    .filter_map(|k| {
                        body.get(k).map(|v| match v {
                            Value::String(s) => (k, s.clone()),
                            v => (k, v.to_string()),
                        })
                    })
                    .collect();
                form = Multipart::new(&fields, m);
                Body::Multipart(&form)
            }
            _ => Body::Json(&body),
        };
        let (result, usage) = self
            .request_once(
                Some(account.as_str()),
                reqwest::Method::POST,
                &format!("{account}/messages"),
                token,
                &[],
                body,
            )
            .await;
        self.observe_send(account, usage, &result);
        let result = match plan.tag() {
            Some(t) => result.map_err(|e| e.on_tagged_send(t.as_str())),
            None => result,
        };
        parse_send_response(&result?)
    }

    /// Attachment Upload API: upload `media` once (reusable) and get the id
    /// that every later send names instead of the file. Like a send, not
    /// retried once Meta may have it (another upload is harmless but costly).
    pub async fn upload_attachment(
        &self,
        account: &AccountId,
        token: &Secret,
        media: &Media,
    ) -> Result<String, GraphError> {
        let message = json!({
            "attachment": {"type": media.kind.as_str(), "payload": {"is_reusable": true}},
        });
        let form = Multipart::new(&[("message", message.to_string())], media);
        let (result, usage) = self
            .request_once(
                Some(account.as_str()),
                reqwest::Method::POST,
                &format!("{account}/message_attachments"),
                token,
                &[],
                Body::Multipart(&form),
            )
            .await;
        self.observe_send(account, usage, &result);
        let v = result?;
        super::lenient::id(v.get("attachment_id")).ok_or_else(|| GraphError {
            class: ErrorClass::Unknown,
            code: None,
            subcode: None,
            http_status: None,
            message: "Attachment Upload API answer has no attachment_id".into(),
            retry_after: None,
        })
    }

    /// Sends share the account's usage picture with sync and profiles.
    fn observe_send(
        &self,
        account: &AccountId,
        usage: Option<Usage>,
        result: &Result<Value, GraphError>,
    ) {
        match result {
            Ok(_) => self.throttle.observe(account.as_str(), usage),
            Err(e) if e.class == ErrorClass::RateLimited => {
                self.throttle.rate_limited(account.as_str(), usage);
            }
            Err(_) => {}
        }
    }

    /// GET many relative URLs through batch requests of at most [`BATCH_MAX`].
    /// One result per URL, in order; the outer error is a failure of a whole
    /// batch call (a dead token, a rate limit that did not clear).
    pub async fn batch_get(
        &self,
        account: &str,
        token: &Secret,
        relative_urls: &[String],
    ) -> Result<Vec<Result<Value, GraphError>>, GraphError> {
        let mut out = Vec::with_capacity(relative_urls.len());
        if self.is_instagram_login(account) {
            // graph.instagram.com documents no batch endpoint: one GET each.
            for u in relative_urls {
                let r = self.get_as(account, false, u, token, &[]).await;
                match r {
                    Err(e) if e.class == ErrorClass::TokenInvalid => return Err(e),
                    r => out.push(r),
                }
            }
            return Ok(out);
        }
        for chunk in relative_urls.chunks(BATCH_MAX) {
            let reqs: Vec<Value> = chunk
                .iter()
                .map(|u| json!({"method": "GET", "relative_url": u}))
                .collect();
            let form = [
                ("batch", Value::Array(reqs).to_string()),
                ("include_headers", "false".to_string()),
            ];
            let v = self
                .call(
                    account,
                    false,
                    reqwest::Method::POST,
                    "",
                    token,
                    &[],
                    Body::Form(&form),
                )
                .await?;
            out.extend(parse_batch_reply(&v, chunk.len())?);
        }
        Ok(out)
    }

    /// A customer's profile: Messenger first/last name and picture,
    /// Instagram name, username and picture.
    pub async fn profile(&self, conv: &ConvKey, token: &Secret) -> Result<Contact, GraphError> {
        let fields = profile_fields(conv.platform);
        let account = Some(conv.account.as_str());
        let v = self
            .call_inner(
                account,
                false,
                reqwest::Method::GET,
                conv.user.as_str(),
                token,
                &[("fields", fields)],
                Body::None,
            )
            .await?;
        Ok(parse_profile(conv, &v))
    }

    /// `debug_token`: what Meta knows of `input` (validity, expiry, scopes),
    /// asked with the app token `{app-id}|{app-secret}`.
    /// <https://developers.facebook.com/docs/facebook-login/guides/access-tokens/debugging>
    pub async fn debug_token(
        &self,
        input: &Secret,
        app_token: &Secret,
    ) -> Result<Value, GraphError> {
        self.call_inner(
            None,
            false,
            reqwest::Method::GET,
            "debug_token",
            app_token,
            &[("input_token", input.expose())],
            Body::None,
        )
        .await
    }

    /// `GET {instagram host}/refresh_access_token?grant_type=ig_refresh_token`:
    /// a long-lived Instagram User token at least 24 h old and unexpired is
    /// exchanged for one valid 60 days from now. Unversioned, and the token
    /// goes in the query, as Meta's reference shows it.
    /// <https://developers.facebook.com/documentation/instagram-platform/reference/refresh_access_token>
    pub async fn refresh_instagram_token(
        &self,
        token: &Secret,
    ) -> Result<RefreshedToken, GraphError> {
        let url = format!("{}/refresh_access_token", self.instagram.base);
        self.calls.fetch_add(1, Ordering::Relaxed);
        let resp = self
            .http
            .get(url)
            .query(&[
                ("grant_type", "ig_refresh_token"),
                ("access_token", token.expose()),
            ])
            .send()
            .await
            .map_err(transport)?;
        let status = resp.status().as_u16();
        let text = resp.text().await.map_err(transport)?;
        let v = parse_answer(status, &text, None)?;
        match super::lenient::string(v.get("access_token")) {
            Some(t) if !t.trim().is_empty() => Ok(RefreshedToken {
                token: Secret::new(t.trim()),
                expires_in: v.get("expires_in").and_then(|e| {
                    e.as_u64()
                        .or_else(|| e.as_str().and_then(|s| s.trim().parse().ok()))
                }),
            }),
            _ => Err(GraphError {
                class: ErrorClass::Unknown,
                code: None,
                subcode: None,
                http_status: Some(status),
                message: "refresh_access_token answer has no access_token".into(),
                retry_after: None,
            }),
        }
    }
}

/// Whether `url` has the origin of `base`.
fn same_origin(base: &str, url: &str) -> bool {
    match (url::Url::parse(url), url::Url::parse(base)) {
        (Ok(a), Ok(b)) => a.origin() == b.origin(),
        _ => false,
    }
}

/// A Graph answer body (any status) into a value or a typed error.
pub fn parse_answer(status: u16, text: &str, usage: Option<Usage>) -> Result<Value, GraphError> {
    let v: Value = serde_json::from_str(text).unwrap_or(Value::Null);
    // Errors may come with any status, even 200.
    if let Some(mut e) = parse_error(&v, Some(status)) {
        e.retry_after = usage.and_then(|u| u.regain);
        return Err(e);
    }
    if status >= 400 {
        return Err(GraphError {
            class: super::error::classify(None, None, Some(status), false),
            code: None,
            subcode: None,
            http_status: Some(status),
            message: format!("HTTP {status}"),
            retry_after: usage.and_then(|u| u.regain),
        });
    }
    if v.is_null() && !text.trim().is_empty() && text.trim() != "null" {
        return Err(GraphError {
            class: ErrorClass::Transient,
            code: None,
            subcode: None,
            http_status: Some(status),
            message: "answer was not JSON".into(),
            retry_after: None,
        });
    }
    Ok(v)
}

/// A batch reply: `[{"code":200,"body":"<json>"}, null, ...]` in input order.
/// A `null` item (Meta timed that request out) or a missing one is transient.
pub fn parse_batch_reply(
    v: &Value,
    expected: usize,
) -> Result<Vec<Result<Value, GraphError>>, GraphError> {
    let Some(items) = v.as_array() else {
        return Err(GraphError {
            class: ErrorClass::Unknown,
            code: None,
            subcode: None,
            http_status: None,
            message: "batch answer is not a list".into(),
            retry_after: None,
        });
    };
    Ok((0..expected)
        .map(|i| match items.get(i) {
            Some(item) if item.is_object() => {
                let code = item
                    .get("code")
                    .and_then(Value::as_u64)
                    .and_then(|c| u16::try_from(c).ok())
                    .unwrap_or(200);
                let body = match item.get("body") {
                    Some(Value::String(s)) => s.clone(),
                    Some(other) => other.to_string(),
                    None => String::new(),
                };
                parse_answer(code, &body, None)
            }
            _ => Err(GraphError::transport("batch item has no answer")),
        })
        .collect())
}

/// A short, stable hash of a token, to recognise it later without keeping it.
pub fn token_fingerprint(token: &Secret) -> String {
    use sha2::{Digest, Sha256};
    let d = Sha256::digest(token.expose().as_bytes());
    hex::encode(&d[..8])
}

pub fn profile_fields(p: Platform) -> &'static str {
    match p {
        Platform::Messenger => "first_name,last_name,profile_pic",
        Platform::Instagram => "name,username,profile_pic",
    }
}

pub fn parse_profile(conv: &ConvKey, v: &Value) -> Contact {
    use super::lenient::string;
    let mut c = Contact::new(conv.clone(), "profile");
    c.name = string(v.get("name"));
    c.first_name = string(v.get("first_name"));
    c.last_name = string(v.get("last_name"));
    c.username = string(v.get("username"));
    c.profile_pic = string(v.get("profile_pic"));
    c
}

pub fn parse_send_response(v: &Value) -> Result<SendResponse, GraphError> {
    use super::lenient::id;
    match id(v.get("message_id")) {
        Some(mid) => Ok(SendResponse {
            recipient_id: id(v.get("recipient_id")),
            message_id: Mid(mid),
        }),
        None => Err(GraphError {
            class: ErrorClass::Unknown,
            code: None,
            subcode: None,
            http_status: None,
            message: "Send API answer has no message_id".into(),
            retry_after: None,
        }),
    }
}

fn transport(e: reqwest::Error) -> GraphError {
    let e = e.without_url();
    let what = if e.is_timeout() {
        "timed out"
    } else if e.is_connect() {
        "could not connect"
    } else {
        "request failed"
    };
    GraphError::transport(format!("{what}: {e}"))
}

/// Remove any `access_token` query parameter (Meta's paging URLs carry one);
/// we authenticate with the header instead.
pub fn strip_token(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut u) => {
            let pairs: Vec<(String, String)> = u
                .query_pairs()
                .filter(|(k, _)| k != "access_token")
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect();
            if pairs.is_empty() {
                u.set_query(None);
            } else {
                u.query_pairs_mut().clear().extend_pairs(pairs);
            }
            u.to_string()
        }
        Err(_) => url.to_string(),
    }
}

/// 200 ms, 400 ms, 800 ms ... plus up to 50% jitter, capped at 10 s.
pub fn backoff(attempt: u32) -> Duration {
    let base = 200u64.saturating_mul(1 << attempt.min(6)).min(10_000);
    let jitter = rand::random_range(0..=base / 2);
    Duration::from_millis((base + jitter).min(10_000))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_stripped_from_urls() {
        let u = strip_token(
            "https://graph.facebook.com/v25.0/1/conversations?access_token=SECRET&after=abc",
        );
        assert!(!u.contains("SECRET"));
        assert!(u.contains("after=abc"));
        assert_eq!(strip_token("http://x/y?access_token=a"), "http://x/y");
    }

    #[test]
    fn backoff_is_capped() {
        for a in 0..20 {
            assert!(backoff(a) <= Duration::from_secs(10));
        }
        assert!(backoff(1) >= Duration::from_millis(400));
    }

    #[test]
    fn send_response_shapes() {
        let r = parse_send_response(&json!({"recipient_id":"1","message_id":"m_1"})).unwrap();
        assert_eq!(r.message_id, Mid::from("m_1"));
        let r = parse_send_response(&json!({"message_id":"m_2"})).unwrap();
        assert!(r.recipient_id.is_none());
        assert!(parse_send_response(&json!({})).is_err());
    }
}
