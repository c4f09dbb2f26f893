//! The webhook listener: hyper's HTTP/1 connections under limits, so that
//! unsigned traffic cannot cost memory or descriptors.
//!
//! - At most [`Limits::max_connections`] connections are open at once, far
//!   below the descriptor limit (the control socket, the store and one-shot
//!   commands need descriptors too). When the cap is reached, the oldest
//!   connection that is not handling a signed request is closed to make
//!   room; when every one is, the new connection is closed at once.
//! - Headers must arrive within [`Limits::header_timeout`]; hyper starts that
//!   clock whenever it waits for a request head, so it is also the idle
//!   keep-alive timeout.
//! - A body must arrive within [`Limits::body_timeout`] (408 and close).
//! - Bodies over [`SMALL_BODY`] (or of unknown length) are buffered only a
//!   few at a time ([`Limits::large_bodies`]); the excess gets 503 before
//!   anything is read. Meta retries a 503, so refusing is safe; losing an
//!   acknowledged event would not be.

use axum::extract::Request;
use axum::Router;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tower::ServiceExt;

/// Bodies up to this size (Meta's events are a few hundred bytes) are read
/// without waiting for a large-body slot; `max_connections` of them at most.
pub const SMALL_BODY: usize = 32 * 1024;

/// The server's limits. [`Limits::for_this_process`] gives the defaults.
#[derive(Debug, Clone)]
pub struct Limits {
    /// Open connections at once.
    pub max_connections: usize,
    /// Time to receive a request head (and idle time between requests).
    pub header_timeout: Duration,
    /// Time to receive a whole body.
    pub body_timeout: Duration,
    /// Bodies over [`SMALL_BODY`] being buffered at once.
    pub large_bodies: usize,
}

/// Default header (and keep-alive idle) timeout. Meta sends a whole request
/// at once; a proxy in front forwards it at once.
pub const HEADER_TIMEOUT: Duration = Duration::from_secs(10);
/// Default body timeout: 1 MiB arrives in well under this on any link Meta
/// uses, and Meta itself gives up after 20 s.
pub const BODY_TIMEOUT: Duration = Duration::from_secs(10);
/// Default number of large bodies buffered at once: 8 MiB at most.
pub const LARGE_BODIES: usize = 8;
/// Upper bound on the connection cap whatever the descriptor limit: with
/// small bodies buffered per connection, 1024 × 32 KiB = 32 MiB at most.
pub const MAX_CONNECTIONS: usize = 1024;

impl Limits {
    /// Defaults, with the connection cap derived from the current soft
    /// `RLIMIT_NOFILE`: a quarter of it (256 under the common 1024), at least
    /// 16, at most [`MAX_CONNECTIONS`].
    pub fn for_this_process() -> Limits {
        let soft = nofile_limit().map(|(soft, _)| soft).unwrap_or(1024);
        Limits {
            max_connections: connection_cap(soft),
            header_timeout: HEADER_TIMEOUT,
            body_timeout: BODY_TIMEOUT,
            large_bodies: LARGE_BODIES,
        }
    }
}

/// The connection cap for a soft descriptor limit.
pub fn connection_cap(soft_nofile: u64) -> usize {
    usize::try_from(soft_nofile / 4)
        .unwrap_or(MAX_CONNECTIONS)
        .clamp(16, MAX_CONNECTIONS)
}

/// The (soft, hard) descriptor limits, if they can be read.
pub fn nofile_limit() -> Option<(u64, u64)> {
    nix::sys::resource::getrlimit(nix::sys::resource::Resource::RLIMIT_NOFILE).ok()
}

/// Raise the soft descriptor limit to the hard one. Returns the limits in
/// force afterwards.
pub fn raise_nofile_limit() -> Option<(u64, u64)> {
    use nix::sys::resource::{setrlimit, Resource};
    let (soft, hard) = nofile_limit()?;
    if soft < hard {
        if let Err(e) = setrlimit(Resource::RLIMIT_NOFILE, hard, hard) {
            tracing::warn!(error = %e, soft, hard, "cannot raise the descriptor limit");
        }
    }
    nofile_limit()
}

/// One open connection, as the handler sees it (a request extension).
#[derive(Clone)]
pub struct ConnSlot(Arc<Slot>);

struct Slot {
    close: CancellationToken,
    /// Signed requests in progress: while above zero the connection is
    /// never closed to make room.
    busy: AtomicUsize,
}

/// Held by a handler while it works on a signed request.
pub struct Busy(Arc<Slot>);

impl ConnSlot {
    pub fn busy(&self) -> Busy {
        self.0.busy.fetch_add(1, Ordering::SeqCst);
        Busy(self.0.clone())
    }
}

impl Drop for Busy {
    fn drop(&mut self) {
        self.0.busy.fetch_sub(1, Ordering::SeqCst);
    }
}

/// The open connections, oldest first.
#[derive(Default)]
struct Registry {
    next: u64,
    open: BTreeMap<u64, Arc<Slot>>,
}

impl Registry {
    /// Make room for one more connection under `cap`; false when every open
    /// connection is busy with a signed request.
    fn make_room(&mut self, cap: usize) -> bool {
        if self.open.len() < cap {
            return true;
        }
        let victim = self
            .open
            .iter()
            .find(|(_, s)| s.busy.load(Ordering::SeqCst) == 0)
            .map(|(id, _)| *id);
        match victim {
            Some(id) => {
                if let Some(s) = self.open.remove(&id) {
                    s.close.cancel();
                }
                true
            }
            None => false,
        }
    }
}

/// Serve `app` on `listener` under `limits` until `shutdown`; then stop
/// accepting, let in-flight requests finish and return.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    limits: Limits,
    shutdown: CancellationToken,
) {
    let registry = Arc::new(Mutex::new(Registry::default()));
    let tracker = TaskTracker::new();
    let cap = limits.max_connections.max(1);
    loop {
        let accepted = tokio::select! {
            a = listener.accept() => a,
            _ = shutdown.cancelled() => break,
        };
        let stream = match accepted {
            Ok((stream, _peer)) => stream,
            Err(e) => {
                // Out of descriptors or a connection reset before accept:
                // wait a moment rather than spin.
                tracing::warn!(error = %e, "webhook accept failed");
                tokio::select! {
                    _ = tokio::time::sleep(Duration::from_millis(50)) => continue,
                    _ = shutdown.cancelled() => break,
                }
            }
        };
        let slot = {
            let mut reg = registry.lock().unwrap_or_else(|p| p.into_inner());
            if !reg.make_room(cap) {
                tracing::debug!(cap, "connection refused: every connection is busy");
                drop(stream);
                continue;
            }
            let slot = Arc::new(Slot {
                close: CancellationToken::new(),
                busy: AtomicUsize::new(0),
            });
            let id = reg.next;
            reg.next += 1;
            reg.open.insert(id, slot.clone());
            (id, slot)
        };
        let _ = stream.set_nodelay(true);
        let (id, slot) = slot;
        let ext = ConnSlot(slot.clone());
        let svc = app.clone().map_request(move |mut req: Request<Incoming>| {
            req.extensions_mut().insert(ext.clone());
            req
        });
        let conn = hyper::server::conn::http1::Builder::new()
            .timer(TokioTimer::new())
            .header_read_timeout(limits.header_timeout)
            .serve_connection(TokioIo::new(stream), TowerToHyperService::new(svc));
        let registry = registry.clone();
        let stop = shutdown.clone();
        tracker.spawn(async move {
            tokio::pin!(conn);
            tokio::select! {
                _ = conn.as_mut() => {}
                // Closed to make room: dropping the connection closes it.
                _ = slot.close.cancelled() => {}
                _ = stop.cancelled() => {
                    conn.as_mut().graceful_shutdown();
                    let _ = conn.as_mut().await;
                }
            }
            registry
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .open
                .remove(&id);
        });
    }
    drop(listener);
    tracker.close();
    tracker.wait().await;
}

/// What the POST handler needs of the limits (a router extension).
pub struct BodyLimits {
    pub timeout: Duration,
    pub large: Arc<Semaphore>,
}

impl BodyLimits {
    pub fn new(limits: &Limits) -> Arc<BodyLimits> {
        Arc::new(BodyLimits {
            timeout: limits.body_timeout,
            large: Arc::new(Semaphore::new(limits.large_bodies.max(1))),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cap_from_descriptor_limit() {
        assert_eq!(connection_cap(1024), 256);
        assert_eq!(connection_cap(20), 16);
        assert_eq!(connection_cap(1 << 20), MAX_CONNECTIONS);
    }

    #[test]
    fn room_is_made_by_closing_the_oldest_idle_connection() {
        let mut reg = Registry::default();
        let mk = || {
            Arc::new(Slot {
                close: CancellationToken::new(),
                busy: AtomicUsize::new(0),
            })
        };
        let (a, b) = (mk(), mk());
        reg.open.insert(0, a.clone());
        reg.open.insert(1, b.clone());
        let busy = ConnSlot(a.clone()).busy();
        assert!(reg.make_room(2));
        assert!(!a.close.is_cancelled(), "a busy connection is kept");
        assert!(b.close.is_cancelled(), "the oldest idle one is closed");
        reg.open.insert(2, mk());
        reg.open
            .get(&2)
            .map(|s| s.busy.fetch_add(1, Ordering::SeqCst));
        assert!(!reg.make_room(2), "all busy: no room");
        drop(busy);
        assert!(reg.make_room(2));
        assert!(a.close.is_cancelled());
    }
}
