//! Where a picture's bytes come from: the cache, else Meta's CDN (and then
//! kept). A refused link is remembered, so it is asked only once.

use super::cache::{Cached, PictureCache};
use super::fetch::{Fetched, Fetcher};
use crate::config::MediaConfig;
use crate::media::picture::{PicKey, Unavailable};
use std::sync::Arc;
use std::time::SystemTime;

pub struct Source {
    pub cache: PictureCache,
    pub fetcher: Fetcher,
}

impl Source {
    /// The cache and fetcher `[media]` describes; None (and a warning)
    /// when the cache directory cannot be made.
    pub fn open(media: &MediaConfig) -> Option<Arc<Source>> {
        match PictureCache::open(&media.cache_dir, media.cache) {
            Ok(cache) => Some(Arc::new(Source {
                cache,
                fetcher: Fetcher::new(media.max_picture_bytes),
            })),
            Err(e) => {
                tracing::warn!(error = %e, dir = %media.cache_dir.display(), "picture cache unavailable");
                None
            }
        }
    }

    /// The bytes of `key`: from the cache, else fetched from `url` and kept.
    pub async fn bytes(self: &Arc<Self>, key: &PicKey, url: &str) -> Result<Vec<u8>, Unavailable> {
        let name = key.cache_name();
        let me = self.clone();
        let n = name.clone();
        let hit = tokio::task::spawn_blocking(move || me.cache.get(&n, SystemTime::now()))
            .await
            .ok()
            .flatten();
        match hit {
            Some(Cached::Bytes(b)) => return Ok(b),
            Some(Cached::Gone(_)) => return Err(Unavailable::Expired),
            None => {}
        }
        self.fetch_and_keep(name, url).await
    }

    /// Fetch `url` and keep what came (the bytes, or that the link is gone).
    async fn fetch_and_keep(
        self: &Arc<Self>,
        name: String,
        url: &str,
    ) -> Result<Vec<u8>, Unavailable> {
        let fetched = self.fetcher.fetch(url).await;
        let me = self.clone();
        let keep = fetched.clone();
        let kept = tokio::task::spawn_blocking(move || match &keep {
            Fetched::Bytes(b) => me.cache.put(&name, b, SystemTime::now()),
            Fetched::Gone(status) => me.cache.mark_gone(&name, *status, SystemTime::now()),
            _ => Ok(()),
        })
        .await;
        if let Ok(Err(e)) = kept {
            tracing::warn!(error = %e, "picture cache write failed");
        }
        match fetched {
            Fetched::Bytes(b) => Ok(b),
            Fetched::Gone(_) => Err(Unavailable::Expired),
            Fetched::TooLarge(max) => Err(Unavailable::TooLarge(max / (1024 * 1024))),
            Fetched::Failed(why) => Err(Unavailable::Failed(why)),
        }
    }
}
