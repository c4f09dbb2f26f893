//! Waiting on observed events, bounded: a wait that runs out fails the test
//! and says what it waited for (never falls through silently).

use std::future::Future;
use std::time::Duration;

/// Poll `check` (every 20 ms) until it is true; panic after `limit`.
pub async fn until<F, Fut>(what: &str, limit: Duration, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + limit;
    loop {
        if check().await {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out after {limit:?} waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
