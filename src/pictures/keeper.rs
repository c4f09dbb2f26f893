//! The owner keeps every picture as it arrives: for each message the store
//! applies (webhook, sync, echo), its picture attachments are fetched off
//! the apply path, a few at a time, into the cache, so a UI opened later
//! (here or attached) finds the bytes after Meta's link has expired.
//!
//! One attempt per arrival: a refused link is remembered by the cache (and
//! never asked again); another failure is tried again when the message is
//! announced again (a reaction, a status) or a UI shows the picture. When more arrive than it can fetch, it falls behind on the
//! update bus and skips what the bus no longer keeps (said in the log).

use super::Source;
use crate::bus::{RecvError, Subscription};
use crate::media::picture::{pictures_of, PicKey, Unavailable};
use crate::update::Update;
use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use tokio::sync::Semaphore;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

/// Pictures fetched at once.
pub const CONCURRENCY: usize = 2;

/// Keep the pictures of everything `updates` announces until `stop`.
pub async fn run(source: Arc<Source>, mut updates: Subscription, stop: CancellationToken) {
    let permits = Arc::new(Semaphore::new(CONCURRENCY));
    let busy: Arc<Mutex<HashSet<PicKey>>> = Default::default();
    let mut fetches = JoinSet::new();
    loop {
        let next = tokio::select! {
            n = updates.recv() => n,
            _ = stop.cancelled() => break,
        };
        while fetches.try_join_next().is_some() {}
        let m = match next {
            Ok(p) => match &*p.update {
                Update::Message(m) => m.clone(),
                _ => continue,
            },
            Err(RecvError::Missed(missed)) => {
                tracing::warn!(%missed, "picture keeper fell behind: those pictures are fetched when shown");
                continue;
            }
            Err(RecvError::Closed) => break,
        };
        for (key, url) in pictures_of(&m) {
            // A status change re-sends the message: kept or asked once is enough.
            if source.cache.contains(&key.cache_name()) || !lock(&busy).insert(key.clone()) {
                continue;
            }
            let permit = tokio::select! {
                p = permits.clone().acquire_owned() => match p { Ok(p) => p, Err(_) => break },
                _ = stop.cancelled() => break,
            };
            let (source, busy, url) = (source.clone(), busy.clone(), url.to_string());
            fetches.spawn(async move {
                match source.bytes(&key, &url).await {
                    Ok(b) => tracing::debug!(mid = %key.mid, bytes = b.len(), "picture kept"),
                    Err(Unavailable::Expired) => {
                        tracing::info!(mid = %key.mid, "picture link already expired")
                    }
                    Err(u) => {
                        tracing::warn!(mid = %key.mid, why = %u.placeholder(), "picture not kept")
                    }
                }
                lock(&busy).remove(&key);
                drop(permit);
            });
        }
    }
    fetches.shutdown().await;
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}
