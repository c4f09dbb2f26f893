//! The picture worker: the open thread's pictures, off the event loop, a
//! few at a time. Each one's bytes come from the store's owner (this
//! process's picture cache, or the owner's through the control socket),
//! then are decoded and encoded for the terminal on a blocking thread.
//! Results go back to the loop as events.

use crate::control::client::Remote;
use crate::media::picture::{Drawn, Outcome, PicKey, PictureRequest, Unavailable};
use crate::pictures::Source;
use ratatui::layout::Size;
use ratatui_image::picker::Picker;
use ratatui_image::sliced::SlicedProtocol;
use ratatui_image::Resize;
use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use tokio::sync::{mpsc, Semaphore};

/// Pictures fetched or decoded at once.
const CONCURRENCY: usize = 4;
/// Decoded pictures larger than this (pixels a side) are refused: a small
/// file can claim a huge canvas.
const MAX_SIDE: u32 = 8192;

/// Where a picture's bytes come from.
#[derive(Clone)]
pub enum Bytes {
    /// This process holds the store: its cache, fetched into if missing.
    Local(Arc<Source>),
    /// Attached: the owner's cache, a piece at a time; `max` bytes at most.
    Remote { remote: Remote, max: u64 },
}

impl Bytes {
    async fn of(&self, key: &PicKey, url: &str) -> Result<Vec<u8>, Unavailable> {
        match self {
            Bytes::Local(source) => source.bytes(key, url).await,
            Bytes::Remote { remote, max } => {
                super::super::attached::picture(remote, key, *max).await
            }
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
    /// Start on the current tokio runtime.
    pub fn start(
        source: Bytes,
        picker: Arc<Picker>,
        results: mpsc::UnboundedSender<(PicKey, Outcome)>,
    ) -> MediaWorker {
        let (tx, mut rx) = mpsc::unbounded_channel::<PictureRequest>();
        let permits = Arc::new(Semaphore::new(CONCURRENCY));
        let busy: Arc<Mutex<HashSet<PicKey>>> = Default::default();
        tokio::spawn(async move {
            while let Some(req) = rx.recv().await {
                // The same picture asked again while in flight: once is enough.
                let id = req.key.clone();
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
        // Arrivals are kept by the store's owner (src/pictures/keeper.rs):
        // only pictures to show are this worker's.
        if r.show {
            let _ = self.tx.send(r);
        }
    }
}

async fn run(source: &Bytes, picker: Arc<Picker>, req: &PictureRequest) -> Outcome {
    let bytes = match source.of(&req.key, &req.url).await {
        Ok(b) => b,
        Err(u) => return Outcome::Unavailable(u),
    };
    let (cols, rows) = (req.cols, req.rows);
    match tokio::task::spawn_blocking(move || decode(&picker, &bytes, cols, rows)).await {
        Ok(Ok(d)) => Outcome::Ready(d),
        Ok(Err(u)) => Outcome::Unavailable(u),
        Err(_) => Outcome::Unavailable(Unavailable::Failed("decoder crashed".into())),
    }
}
