//! The client's side of the control socket: run a one-shot command through
//! the owner, or hold a connection for an attached UI (requests by id,
//! updates pushed), reconnecting when the owner restarts.

use super::protocol::{Envelope, Frame, Reply, Request, VERSION};
use super::ClientTimeouts;
use crate::cli::{CliError, CliResult};
use crate::oneshot::OneShot;
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

/// How often a client pings the owner while connected.
pub const PING_INTERVAL: Duration = Duration::from_secs(30);

/// Run `cmd` in the owner and relay its output here; the owner's exit code
/// becomes ours.
pub async fn run_oneshot(stream: UnixStream, cmd: OneShot) -> CliResult {
    run_oneshot_with(stream, cmd, ClientTimeouts::default()).await
}

/// [`run_oneshot`] with explicit timeouts: pings go out every
/// `timeouts.ping`, and an owner that sends nothing at all for
/// `timeouts.read` (not even the answer to a ping) is given up on.
pub async fn run_oneshot_with(
    stream: UnixStream,
    cmd: OneShot,
    timeouts: ClientTimeouts,
) -> CliResult {
    let (read, mut write) = stream.into_split();
    let mut frames = FramedRead::new(read, LinesCodec::new_with_max_length(MAX_FRAME));
    let cmd = super::upload::stage_for_oneshot(cmd, &mut write, &mut frames, timeouts.read).await?;
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
    let silent = || {
        CliError::runtime(format!(
            "the dmdesk process holding the store did not answer within {} s",
            timeouts.read.as_secs_f64()
        ))
    };
    // A refused connection may be closed before our request is written: the
    // owner's reason is still there to read, so a failed write is only
    // reported once reading found nothing.
    let mut wrote = write.write_all(&line(&req)).await.is_ok();
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    let (answer_tx, mut answer_rx) = mpsc::unbounded_channel::<bool>();
    let mut ping =
        tokio::time::interval_at(tokio::time::Instant::now() + timeouts.ping, timeouts.ping);
    ping.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut next_id = 2u64;
    let mut deadline = tokio::time::Instant::now() + timeouts.read;
    loop {
        let l = tokio::select! {
            l = tokio::time::timeout_at(deadline, frames.next()) => match l {
                Err(_) => return Err(silent()),
                Ok(None) => break,
                Ok(Some(l)) => l.map_err(|_| lost())?,
            },
            _ = ping.tick(), if wrote => {
                let p = Envelope { id: next_id, request: Request::Ping };
                next_id += 1;
                wrote = write.write_all(&line(&p)).await.is_ok();
                continue;
            }
            Some(yes) = answer_rx.recv() => {
                let a = Envelope { id: next_id, request: Request::Answer { yes } };
                next_id += 1;
                write.write_all(&line(&a)).await.map_err(|_| lost())?;
                continue;
            }
        };
        deadline = tokio::time::Instant::now() + timeouts.read;
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
                // Read the answer beside the loop: pings and the owner's
                // frames go on while the user thinks.
                let tx = answer_tx.clone();
                // A plain thread: if the owner goes away meanwhile, leaving
                // must not wait for a line on stdin.
                std::thread::spawn(move || {
                    let mut s = String::new();
                    let answer = std::io::stdin().lock().read_line(&mut s).map(|_| s);
                    let _ = tx.send(crate::console::is_yes(&answer.unwrap_or_default()));
                });
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
    /// The latest standing inbox request (where this agent is), re-sent
    /// after a reconnect so collision notices survive a restart.
    standing: Mutex<Option<Request>>,
    /// What the owner last said outside a reply (a refusal), for errors.
    refusal: Mutex<Option<String>>,
    /// Set by `detach`: do not reconnect.
    detached: std::sync::atomic::AtomicBool,
    timeouts: ClientTimeouts,
}

impl Remote {
    /// Connect, say hello, subscribe. Returns the hello reply and the stream
    /// of pushed frames; the connection reconnects by itself.
    pub async fn attach(
        path: &Path,
    ) -> Result<(Remote, Reply, mpsc::UnboundedReceiver<Pushed>), String> {
        Remote::attach_with(path, ClientTimeouts::default()).await
    }

    /// [`Remote::attach`] with explicit timeouts: a ping every
    /// `timeouts.ping`; nothing from the owner for `timeouts.read` counts as
    /// a lost connection (reconnect).
    pub async fn attach_with(
        path: &Path,
        timeouts: ClientTimeouts,
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
                standing: Mutex::new(None),
                refusal: Mutex::new(None),
                detached: std::sync::atomic::AtomicBool::new(false),
                timeouts,
            }),
        };
        let (tx, rx) = mpsc::unbounded_channel();
        let read = remote.install(stream).await;
        tokio::spawn(remote.clone().keep_connected(read, tx));
        tokio::spawn(keep_alive(Arc::downgrade(&remote.inner)));
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
        let wait = self.inner.timeouts.read;
        tokio::time::timeout(wait, both).await.unwrap_or_else(|_| {
            Err(format!(
                "the dmdesk owner did not answer within {} s",
                wait.as_secs_f64()
            ))
        })
    }

    /// Ask the owner's inbox; its reply, whatever the request was.
    pub async fn inbox(
        &self,
        request: crate::inbox::Request,
    ) -> Result<crate::inbox::Reply, String> {
        match self.request(Request::Inbox { request }).await? {
            Reply::Inbox(r) => Ok(r),
            other => Err(format!("unexpected answer from the owner: {other:?}")),
        }
    }

    /// Send a request and wait for its reply.
    pub async fn request(&self, request: Request) -> Result<Reply, String> {
        if matches!(&request, Request::Inbox { request } if request.is_standing()) {
            *self
                .inner
                .standing
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
                return Err(self.refusal().unwrap_or_else(not_connected));
            };
            if w.write_all(&line(&Envelope { id, request })).await.is_err() {
                self.forget(id);
                return Err(self.refusal().unwrap_or_else(not_connected));
            }
        }
        // Refused: the reader may have ended (and failed the waiting
        // requests) before this one was registered.
        if let Some(r) = self.refusal() {
            self.forget(id);
            return Err(r);
        }
        rx.await
            .unwrap_or_else(|_| Err(self.refusal().unwrap_or_else(not_connected)))
    }

    fn refusal(&self) -> Option<String> {
        self.inner
            .refusal
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
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
                *self.inner.refusal.lock().unwrap_or_else(|e| e.into_inner()) = None;
                let read = self.install(stream).await;
                // Replies arrive through the reader, so it runs during the greeting.
                let me = self.clone();
                let frames_tx = tx.clone();
                let reader = tokio::spawn(async move { me.read_frames(read, &frames_tx).await });
                match self.handshake().await {
                    Ok(hello) => {
                        let standing = self
                            .inner
                            .standing
                            .lock()
                            .unwrap_or_else(|e| e.into_inner())
                            .clone();
                        if let Some(r) = standing {
                            let _ = self.request(r).await;
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
        let wait = self.inner.timeouts.read;
        // Pings are answered: silence this long means the owner is stuck.
        loop {
            let l = match tokio::time::timeout(wait, frames.next()).await {
                Ok(Some(Ok(l))) => l,
                Ok(_) => break,
                Err(_) => {
                    tracing::warn!("the owner sent nothing for {wait:?}; reconnecting");
                    *self.inner.refusal.lock().unwrap_or_else(|e| e.into_inner()) = Some(format!(
                        "the dmdesk owner did not answer within {} s",
                        wait.as_secs_f64()
                    ));
                    break;
                }
            };
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

/// Ping the owner every `timeouts.ping` while the connection is up, so it
/// keeps a quiet UI's connection and its answer shows the owner is alive.
async fn keep_alive(inner: std::sync::Weak<Inner>) {
    let Some(every) = inner.upgrade().map(|i| i.timeouts.ping) else {
        return;
    };
    let mut tick = tokio::time::interval_at(tokio::time::Instant::now() + every, every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let Some(inner) = inner.upgrade() else {
            return;
        };
        if inner.detached.load(Ordering::Relaxed) {
            return;
        }
        let remote = Remote { inner };
        // Not connected: the reconnect loop is at work; nothing to keep.
        tokio::spawn(async move {
            let _ = remote.request(Request::Ping).await;
        });
    }
}
