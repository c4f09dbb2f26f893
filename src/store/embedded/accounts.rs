//! Per-account state in the `meta` tree: a page token Meta declared dead (190).
//!
//! The mark carries a fingerprint of the token it was made for, so putting a
//! new token in the config lifts it without any other step.

use super::{Result, SledStore};
use crate::domain::TimestampMs;
use crate::store::DeadToken;

fn key(page: &str) -> String {
    format!("token_dead:{page}")
}

impl SledStore {
    /// Remember that `page`'s token (by fingerprint) is invalid.
    pub fn mark_token_dead(
        &self,
        page: &str,
        fingerprint: &str,
        reason: &str,
        at: TimestampMs,
    ) -> Result<()> {
        self.meta_put(
            &key(page),
            &DeadToken {
                at,
                reason: reason.to_string(),
                fingerprint: fingerprint.to_string(),
            },
        )
    }

    /// The dead mark for `page` if it was made for the token with this
    /// fingerprint; a mark for another (older) token is removed.
    pub fn token_dead(&self, page: &str, fingerprint: &str) -> Result<Option<DeadToken>> {
        match self.meta_get::<DeadToken>(&key(page))? {
            Some(d) if d.fingerprint == fingerprint => Ok(Some(d)),
            Some(_) => {
                self.meta.remove(key(page))?;
                Ok(None)
            }
            None => Ok(None),
        }
    }

    pub fn clear_token_dead(&self, page: &str) -> Result<()> {
        self.meta.remove(key(page))?;
        Ok(())
    }
}
