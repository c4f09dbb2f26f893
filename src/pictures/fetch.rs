//! Fetching one picture from Meta's CDN: bounded in size and time, and a
//! refused link (403/404/410, what an expired CDN URL answers) told apart
//! from other failures.

use std::time::Duration;

/// What the CDN gave.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fetched {
    Bytes(Vec<u8>),
    /// 403, 404 or 410: the link expired or was withdrawn.
    Gone(u16),
    /// The body is over the limit (bytes).
    TooLarge(u64),
    Failed(String),
}

pub struct Fetcher {
    http: reqwest::Client,
    max_bytes: u64,
}

impl Fetcher {
    pub fn new(max_bytes: u64) -> Fetcher {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .connect_timeout(Duration::from_secs(10))
            .build()
            .unwrap_or_default();
        Fetcher { http, max_bytes }
    }

    pub async fn fetch(&self, url: &str) -> Fetched {
        // Only web URLs: an attachment URL is data from outside.
        if !(url.starts_with("https://") || url.starts_with("http://")) {
            return Fetched::Failed("not a web link".into());
        }
        let resp = match self.http.get(url).send().await {
            Ok(r) => r,
            Err(e) => return Fetched::Failed(short(&e)),
        };
        let status = resp.status().as_u16();
        if matches!(status, 403 | 404 | 410) {
            return Fetched::Gone(status);
        }
        if !resp.status().is_success() {
            return Fetched::Failed(format!("the server answered {status}"));
        }
        if resp.content_length().is_some_and(|n| n > self.max_bytes) {
            return Fetched::TooLarge(self.max_bytes);
        }
        // Counted as it arrives: a missing or false Content-Length cannot
        // make us hold more than the limit.
        let mut body = Vec::new();
        let mut resp = resp;
        loop {
            match resp.chunk().await {
                Ok(Some(c)) => {
                    if body.len() as u64 + c.len() as u64 > self.max_bytes {
                        return Fetched::TooLarge(self.max_bytes);
                    }
                    body.extend_from_slice(&c);
                }
                Ok(None) => return Fetched::Bytes(body),
                Err(e) => return Fetched::Failed(short(&e)),
            }
        }
    }
}

/// A reqwest error in a few words, without the URL (CDN URLs carry tokens).
fn short(e: &reqwest::Error) -> String {
    if e.is_timeout() {
        "timed out".into()
    } else if e.is_connect() {
        "could not connect".into()
    } else {
        "network error".into()
    }
}
