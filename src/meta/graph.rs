//! The one Graph API client used by everything that calls Meta.
//!
//! Tokens go in the `Authorization` header, never in URLs, and reqwest errors
//! are stripped of their URL, so no token reaches a log line.

use super::error::{parse_error, ErrorClass, GraphError};
use crate::config::{GraphConfig, Secret};
use crate::domain::{AccountId, Contact, ConvKey, Mid, Platform, UserId};
use crate::send::window::Plan;
use serde_json::{json, Value};
use std::time::Duration;

#[derive(Clone)]
pub struct GraphClient {
    http: reqwest::Client,
    base: String,
    version: String,
    max_retries: u32,
}

/// The Send API's answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SendResponse {
    pub recipient_id: Option<String>,
    pub message_id: Mid,
}

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
        }
    }

    /// Full URL for a Graph path like `me` or `{page}/messages`.
    pub fn url(&self, path: &str) -> String {
        if path.starts_with("http://") || path.starts_with("https://") {
            return path.to_string();
        }
        format!(
            "{}/{}/{}",
            self.base,
            self.version,
            path.trim_start_matches('/')
        )
    }

    /// One request with retries for transient failures (jittered back-off, capped).
    pub async fn request(
        &self,
        method: reqwest::Method,
        path: &str,
        token: &Secret,
        query: &[(&str, &str)],
        body: Option<&Value>,
    ) -> Result<Value, GraphError> {
        let mut attempt = 0;
        loop {
            match self
                .request_once(method.clone(), path, token, query, body)
                .await
            {
                Err(e) if e.class == ErrorClass::Transient && attempt < self.max_retries => {
                    attempt += 1;
                    let wait = backoff(attempt);
                    tracing::debug!(attempt, ?wait, error = %e, "transient Graph error; retrying");
                    tokio::time::sleep(wait).await;
                }
                other => return other,
            }
        }
    }

    async fn request_once(
        &self,
        method: reqwest::Method,
        path: &str,
        token: &Secret,
        query: &[(&str, &str)],
        body: Option<&Value>,
    ) -> Result<Value, GraphError> {
        let mut req = self
            .http
            .request(method, strip_token(&self.url(path)))
            .bearer_auth(token.expose())
            .query(query);
        if let Some(b) = body {
            req = req.json(b);
        }
        let resp = req.send().await.map_err(transport)?;
        let status = resp.status().as_u16();
        let text = resp.text().await.map_err(transport)?;
        let v: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
        // Errors may come with any status, even 200.
        if let Some(e) = parse_error(&v, Some(status)) {
            return Err(e);
        }
        if status >= 400 {
            return Err(GraphError {
                class: super::error::classify(None, None, Some(status), false),
                code: None,
                subcode: None,
                http_status: Some(status),
                message: format!("HTTP {status}"),
                retry_after: None,
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

    pub async fn get(
        &self,
        path: &str,
        token: &Secret,
        query: &[(&str, &str)],
    ) -> Result<Value, GraphError> {
        self.request(reqwest::Method::GET, path, token, query, None)
            .await
    }

    /// Send API: one text message. Never retried here on anything but
    /// transport-level trouble before Meta answered: a retried send could
    /// reach the customer twice.
    pub async fn send_text(
        &self,
        account: &AccountId,
        token: &Secret,
        recipient: &UserId,
        text: &str,
        plan: Plan,
        metadata: &str,
    ) -> Result<SendResponse, GraphError> {
        let mut body = json!({
            "recipient": {"id": recipient.as_str()},
            "messaging_type": plan.messaging_type(),
            "message": {"text": text, "metadata": metadata},
        });
        if let Some(t) = plan.tag() {
            body["tag"] = json!(t.as_str());
        }
        let v = self
            .request_once(
                reqwest::Method::POST,
                &format!("{account}/messages"),
                token,
                &[],
                Some(&body),
            )
            .await?;
        parse_send_response(&v)
    }

    /// A customer's profile: Messenger first/last name and picture,
    /// Instagram name, username and picture.
    pub async fn profile(&self, conv: &ConvKey, token: &Secret) -> Result<Contact, GraphError> {
        let fields = profile_fields(conv.platform);
        let v = self
            .get(conv.user.as_str(), token, &[("fields", fields)])
            .await?;
        Ok(parse_profile(conv, &v))
    }
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
            "https://graph.facebook.com/v23.0/1/conversations?access_token=SECRET&after=abc",
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
