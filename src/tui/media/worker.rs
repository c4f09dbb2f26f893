//! The picture worker: requests from the UI run off the event loop, a few
//! at a time. Each is looked up in the cache, fetched if missing (and
//! kept), and, when the UI shows it, decoded and encoded for the terminal
//! on a blocking thread. Results go back to the loop as events.

use super::cache::{Cached, PictureCache};
use super::fetch::{Fetched, Fetcher};
use crate::media::picture::{Drawn, Outcome, PicKey, PictureRequest, Unavailable};
use ratatui::layout::Size;
use ratatui_image::picker::Picker;
use ratatui_image::sliced::SlicedProtocol;
use ratatui_image::Resize;
use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::SystemTime;
use tokio::sync::{mpsc, Semaphore};

/// Pictures fetched or decoded at once.
const CONCURRENCY: usize = 4;
/// Decoded pictures larger than this (pixels a side) are refused: a small
/// file can claim a huge canvas.
const MAX_SIDE: u32 = 8192;

/// Where a picture's bytes come from.
pub struct Source {
    pub cache: PictureCache,
    pub fetcher: Fetcher,
}

impl Source {
    /// The bytes of `key`: from the cache, else fetched from `url` and kept.
    /// A refused link is remembered, so it is asked only once.
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

/// Decode `bytes` and encode them for `picker`'s protocol, fitted into
/// `cols` × `rows` cells. CPU work: call it on a blocking thread.
pub fn decode(picker: &Picker, bytes: &[u8], cols: u16, rows: u16) -> Result<Drawn, Unavailable> {
    let mut reader = image::ImageReader::new(std::io::Cursor::new(bytes))
        .with_guessed_format()
        .map_err(|_| Unavailable::NotAPicture)?;
    let mut limits = image::Limits::default();
    limits.max_image_width = Some(MAX_SIDE);
    limits.max_image_height = Some(MAX_SIDE);
    limits.max_alloc = Some(256 * 1024 * 1024);
    reader.limits(limits);
    let img = reader.decode().map_err(|_| Unavailable::NotAPicture)?;
    let sliced =
        SlicedProtocol::new_with_resize(picker, img, Size::new(cols, rows), Resize::Fit(None))
            .map_err(|e| Unavailable::Failed(e.to_string()))?;
    Ok(Drawn(Arc::new(sliced)))
}

/// The loop's handle: requests go in; results come out on the channel
/// given to `start`.
#[derive(Clone)]
pub struct MediaWorker {
    tx: mpsc::UnboundedSender<PictureRequest>,
}

impl MediaWorker {
    /// Start on the current tokio runtime. `picker`: None when pictures
    /// are off (requests then only fill the cache).
    pub fn start(
        source: Arc<Source>,
        picker: Option<Arc<Picker>>,
        results: mpsc::UnboundedSender<(PicKey, Outcome)>,
    ) -> MediaWorker {
        let (tx, mut rx) = mpsc::unbounded_channel::<PictureRequest>();
        let permits = Arc::new(Semaphore::new(CONCURRENCY));
        let busy: Arc<Mutex<HashSet<(PicKey, bool)>>> = Default::default();
        tokio::spawn(async move {
            while let Some(req) = rx.recv().await {
                // The same picture asked again while in flight: once is enough.
                let id = (req.key.clone(), req.show);
                if !busy
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .insert(id.clone())
                {
                    continue;
                }
                let Ok(permit) = permits.clone().acquire_owned().await else {
                    return;
                };
                let (source, picker, results, busy) = (
                    source.clone(),
                    picker.clone(),
                    results.clone(),
                    busy.clone(),
                );
                tokio::spawn(async move {
                    let outcome = run(&source, picker, &req).await;
                    busy.lock().unwrap_or_else(|e| e.into_inner()).remove(&id);
                    let _ = results.send((req.key, outcome));
                    drop(permit);
                });
            }
        });
        MediaWorker { tx }
    }

    pub fn request(&self, r: PictureRequest) {
        let _ = self.tx.send(r);
    }
}

async fn run(source: &Arc<Source>, picker: Option<Arc<Picker>>, req: &PictureRequest) -> Outcome {
    // A prefetch (a status change re-sends the message) of a kept picture.
    if !req.show && source.cache.contains(&req.key.cache_name()) {
        return Outcome::Cached;
    }
    let bytes = match source.bytes(&req.key, &req.url).await {
        Ok(b) => b,
        Err(u) => return Outcome::Unavailable(u),
    };
    let (Some(picker), true) = (picker, req.show) else {
        return Outcome::Cached;
    };
    let (cols, rows) = (req.cols, req.rows);
    match tokio::task::spawn_blocking(move || decode(&picker, &bytes, cols, rows)).await {
        Ok(Ok(d)) => Outcome::Ready(d),
        Ok(Err(u)) => Outcome::Unavailable(u),
        Err(_) => Outcome::Unavailable(Unavailable::Failed("decoder crashed".into())),
    }
}
