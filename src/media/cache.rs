//! The picture cache's bounds (`[media]`): plain values the config reads.
//! The cache itself is src/pictures/cache.rs.

use std::time::Duration;

/// `[media]` cache bounds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CacheLimits {
    pub max_bytes: u64,
    pub max_files: usize,
    pub max_age: Duration,
}

impl Default for CacheLimits {
    fn default() -> Self {
        CacheLimits {
            max_bytes: 200 * 1024 * 1024,
            max_files: 2000,
            max_age: Duration::from_secs(30 * 86400),
        }
    }
}
