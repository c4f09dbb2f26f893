//! The client's side of the control socket: run a one-shot command through
//! the owner, or hold a connection for an attached UI (requests by id,
//! updates pushed), reconnecting when the owner restarts.

use super::oneshot::OneShot;
use super::protocol::{Envelope, Frame, Reply, Request, VERSION};
use crate::cli::{CliError, CliResult};
use futures::StreamExt;
use std::collections::HashMap;
use std::io::{BufRead, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::AsyncWriteExt;
use tokio::net::unix::OwnedWriteHalf;
use tokio::net::UnixStream;
use tokio::sync::{mpsc, oneshot};
use tokio_util::codec::{FramedRead, LinesCodec};

/// Frames from the owner can be large (a thread page); this only guards
/// against a broken stream.
const MAX_FRAME: usize = 256 * 1024 * 1024;

/// Connect if an owner is listening. `None` when nobody answers (no socket,
/// or a stale file from a process that died).
pub async fn connect(path: &Path) -> Option<UnixStream> {
    UnixStream::connect(path).await.ok()
}

fn line(e: &Envelope) -> Vec<u8> {
    let mut v = serde_json::to_vec(e).unwrap_or_default();
    v.push(b'\n');
    v
}

/// Run `cmd` in the owner and relay its output here; the owner's exit code
/// becomes ours.
pub async fn run_oneshot(stream: UnixStream, cmd: OneShot) -> CliResult {
    let (read, mut write) = stream.into_split();
    let mut frames = FramedRead::new(read, LinesCodec::new_with_max_length(MAX_FRAME));
    let stdin_tty = std::io::stdin().is_terminal();
    let req = Envelope {
        id: 1,
        request: Request::Run {
            command: cmd,
            stdin_tty,
        },
    };
    let lost = || {
        CliError::runtime(
            "the dmdesk process holding the store went away before the command finished",
        )
    };
    write.write_all(&line(&req)).await.map_err(|_| lost())?;
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    while let Some(l) = frames.next().await {
        let l = l.map_err(|_| lost())?;
        let frame: Frame = serde_json::from_str(&l)
            .map_err(|e| CliError::runtime(format!("unreadable answer from the owner: {e}")))?;
        match frame {
            Frame::Out { text } => {
                if let Err(e) = out.write_all(text.as_bytes()) {
                    // `| head`: stop quietly, as a local export does.
                    if e.kind() == std::io::ErrorKind::BrokenPipe {
                        return Ok(());
                    }
                    return Err(e.into());
                }
            }
            Frame::Err { text } => {
                let _ = out.flush();
                eprint!("{text}");
            }
            Frame::Ask { question } => {
                let _ = out.flush();
                eprint!("{question}");
                let _ = std::io::stderr().flush();
                let answer = tokio::task::spawn_blocking(|| {
                    let mut s = String::new();
                    std::io::stdin().lock().read_line(&mut s).map(|_| s)
                })
                .await
                .ok()
                .and_then(|r| r.ok())
                .unwrap_or_default();
                let yes = crate::console::is_yes(&answer);
                let a = Envelope {
                    id: 2,
                    request: Request::Answer { yes },
                };
                write.write_all(&line(&a)).await.map_err(|_| lost())?;
            }
            Frame::Exit { code, message } => {
                if let Err(e) = out.flush() {
                    if e.kind() != std::io::ErrorKind::BrokenPipe {
                        return Err(e.into());
                    }
                }
                return match (code, message) {
                    (0, _) => Ok(()),
                    (code, message) => Err(CliError {
                        code,
                        message: message.unwrap_or_else(|| "failed".into()),
                    }),
                };
            }
            Frame::Error { message, .. } => return Err(CliError::runtime(message)),
            Frame::Reply { .. } | Frame::Update { .. } | Frame::Lagged { .. } => {}
        }
    }
    Err(lost())
}

/// What an attached UI hears besides replies.
#[derive(Debug, Clone, PartialEq)]
pub enum Pushed {
    Update(Box<crate::update::Update>),
    /// Updates were missed: reload what is shown.
    Lagged,
    /// The owner went away; reconnecting.
    Lost,
    /// Connected again (after `Lost`): reload everything.
    Back {
        hello: Box<Reply>,
    },
}

type Pending = Arc<Mutex<HashMap<u64, oneshot::Sender<Result<Reply, String>>>>>;

/// A connection for an attached UI. Cheap to clone; requests from any task.
#[derive(Clone)]
pub struct Remote {
    inner: Arc<Inner>,
}

struct Inner {
    path: PathBuf,
    next_id: AtomicU64,
    pending: Pending,
    writer: tokio::sync::Mutex<Option<OwnedWriteHalf>>,
    /// Re-sent after a reconnect so collision notices survive a restart.
    presence: Mutex<Option<Request>>,
    /// What the owner last said outside a reply (a refusal), for errors.
    refusal: Mutex<Option<String>>,
    /// Set by `detach`: do not reconnect.
    detached: std::sync::atomic::AtomicBool,
}

impl Remote {
    /// Connect, say hello, subscribe. Returns the hello reply and the stream
    /// of pushed frames; the connection reconnects by itself.
    pub async fn attach(
        path: &Path,
    ) -> Result<(Remote, Reply, mpsc::UnboundedReceiver<Pushed>), String> {
        let stream = UnixStream::connect(path)
            .await
            .map_err(|e| format!("cannot connect to {}: {e}", path.display()))?;
        let remote = Remote {
            inner: Arc::new(Inner {
                path: path.to_path_buf(),
                next_id: AtomicU64::new(1),
                pending: Arc::new(Mutex::new(HashMap::new())),
                writer: tokio::sync::Mutex::new(None),
                presence: Mutex::new(None),
                refusal: Mutex::new(None),
                detached: std::sync::atomic::AtomicBool::new(false),
            }),
        };
        let (tx, rx) = mpsc::unbounded_channel();
        let read = remote.install(stream).await;
        tokio::spawn(remote.clone().keep_connected(read, tx));
        let hello = remote.handshake().await?;
        Ok((remote, hello, rx))
    }

    /// Use `stream` from now on; returns its read half for the reader loop.
    async fn install(&self, stream: UnixStream) -> tokio::net::unix::OwnedReadHalf {
        let (read, write) = stream.into_split();
        *self.inner.writer.lock().await = Some(write);
        read
    }

    /// Hello and subscribe; the reader must already be running.
    async fn handshake(&self) -> Result<Reply, String> {
        let hello = self.request(Request::Hello { version: VERSION });
        let sub = self.request(Request::Subscribe);
        let both = async {
            let (h, s) = futures::join!(hello, sub);
            s?;
            h
        };
        tokio::time::timeout(Duration::from_secs(10), both)
            .await
            .unwrap_or_else(|_| Err("the owner did not answer within 10 s".into()))
    }

    /// Send a request and wait for its reply.
    pub async fn request(&self, request: Request) -> Result<Reply, String> {
        if let Request::Presence { .. } = &request {
            *self
                .inner
                .presence
                .lock()
                .unwrap_or_else(|e| e.into_inner()) = Some(request.clone());
        }
        let id = self.inner.next_id.fetch_add(1, Ordering::Relaxed);
        let (tx, rx) = oneshot::channel();
        self.inner
            .pending
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(id, tx);
        let not_connected = || "not connected to the dmdesk owner (reconnecting)".to_string();
        {
            let mut w = self.inner.writer.lock().await;
            let Some(w) = w.as_mut() else {
                self.forget(id);
                return Err(not_connected());
            };
            if w.write_all(&line(&Envelope { id, request })).await.is_err() {
                self.forget(id);
                return Err(not_connected());
            }
        }
        rx.await.unwrap_or_else(|_| {
            let refusal = self
                .inner
                .refusal
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .clone();
            Err(refusal.unwrap_or_else(not_connected))
        })
    }

    /// Close the connection for good (no reconnect).
    pub async fn detach(&self) {
        self.inner.detached.store(true, Ordering::Relaxed);
        if let Some(mut w) = self.inner.writer.lock().await.take() {
            let _ = w.shutdown().await;
        }
    }

    fn forget(&self, id: u64) {
        self.inner
            .pending
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&id);
    }

    /// Read frames until the connection drops, then reconnect (every
    /// half second) and start over; tells the UI both ways.
    async fn keep_connected(
        self,
        first: tokio::net::unix::OwnedReadHalf,
        tx: mpsc::UnboundedSender<Pushed>,
    ) {
        self.read_frames(first, &tx).await;
        loop {
            if self.inner.detached.load(Ordering::Relaxed) {
                return;
            }
            *self.inner.writer.lock().await = None;
            // Requests in flight will not be answered.
            self.inner
                .pending
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .clear();
            if tx.send(Pushed::Lost).is_err() {
                return;
            }
            loop {
                tokio::time::sleep(Duration::from_millis(500)).await;
                if tx.is_closed() {
                    return;
                }
                let Ok(stream) = UnixStream::connect(&self.inner.path).await else {
                    continue;
                };
                let read = self.install(stream).await;
                // Replies arrive through the reader, so it runs during the greeting.
                let me = self.clone();
                let frames_tx = tx.clone();
                let reader = tokio::spawn(async move { me.read_frames(read, &frames_tx).await });
                match self.handshake().await {
                    Ok(hello) => {
                        let presence = self
                            .inner
                            .presence
                            .lock()
                            .unwrap_or_else(|e| e.into_inner())
                            .clone();
                        if let Some(p) = presence {
                            let _ = self.request(p).await;
                        }
                        if tx
                            .send(Pushed::Back {
                                hello: Box::new(hello),
                            })
                            .is_err()
                        {
                            return;
                        }
                        let _ = reader.await;
                        break;
                    }
                    Err(_) => {
                        reader.abort();
                        *self.inner.writer.lock().await = None;
                    }
                }
            }
        }
    }

    async fn read_frames(
        &self,
        read: tokio::net::unix::OwnedReadHalf,
        tx: &mpsc::UnboundedSender<Pushed>,
    ) {
        let mut frames = FramedRead::new(read, LinesCodec::new_with_max_length(MAX_FRAME));
        // Whatever happens below, requests waiting on this connection fail
        // when it ends (a greeting must not wait forever).
        struct FailPending<'a>(&'a Remote);
        impl Drop for FailPending<'_> {
            fn drop(&mut self) {
                self.0
                    .inner
                    .pending
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .clear();
            }
        }
        let _fail = FailPending(self);
        while let Some(Ok(l)) = frames.next().await {
            let Ok(frame) = serde_json::from_str::<Frame>(&l) else {
                tracing::warn!("unreadable frame from the owner");
                continue;
            };
            match frame {
                Frame::Reply { id, result } => self.resolve(id, Ok(*result)),
                Frame::Error {
                    id: Some(id),
                    message,
                } => self.resolve(id, Err(message)),
                Frame::Error { id: None, message } => {
                    tracing::warn!(%message, "control socket error");
                    *self.inner.refusal.lock().unwrap_or_else(|e| e.into_inner()) = Some(message);
                }
                Frame::Update { update } => {
                    let _ = tx.send(Pushed::Update(update));
                }
                Frame::Lagged { .. } => {
                    let _ = tx.send(Pushed::Lagged);
                }
                Frame::Out { .. } | Frame::Err { .. } | Frame::Ask { .. } | Frame::Exit { .. } => {}
            }
        }
    }

    fn resolve(&self, id: u64, r: Result<Reply, String>) {
        let waiter = self
            .inner
            .pending
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&id);
        if let Some(w) = waiter {
            let _ = w.send(r);
        }
    }
}
