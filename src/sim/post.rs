//! Posting signed webhook bodies to the inbox, as Meta does: the exact bytes
//! signed with the app secret in `X-Hub-Signature-256`, retried a few times
//! on failure (Meta retries for hours; the simulator gives up quickly).

use super::stats::Stats;
use crate::webhook::signature::sign;
use std::sync::atomic::Ordering;
use std::time::Duration;

pub struct Poster {
    client: reqwest::Client,
    url: Option<String>,
    secret: Vec<u8>,
}

const ATTEMPTS: u32 = 3;

impl Poster {
    pub fn new(url: Option<String>, secret: &[u8]) -> Poster {
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .user_agent("facebookexternalua")
            .build()
            .unwrap_or_default();
        Poster {
            client,
            url,
            secret: secret.to_vec(),
        }
    }

    /// Sign and post; true when the receiver answered 2xx.
    pub async fn post(&self, stats: &Stats, body: Vec<u8>) -> bool {
        let Some(url) = &self.url else {
            return false;
        };
        let sig = sign(&self.secret, &body);
        for attempt in 0..ATTEMPTS {
            let r = self
                .client
                .post(url)
                .header("content-type", "application/json")
                .header("x-hub-signature-256", &sig)
                .body(body.clone())
                .send()
                .await;
            match r {
                Ok(resp) if resp.status().is_success() => {
                    stats.webhooks_posted.fetch_add(1, Ordering::Relaxed);
                    return true;
                }
                Ok(resp) => {
                    tracing::warn!(status = %resp.status(), attempt, "webhook receiver refused a simulated event")
                }
                Err(e) => tracing::warn!(attempt, "webhook post failed: {e}"),
            }
            tokio::time::sleep(Duration::from_millis(100 * 4u64.pow(attempt))).await;
        }
        stats.webhooks_failed.fetch_add(1, Ordering::Relaxed);
        false
    }
}
