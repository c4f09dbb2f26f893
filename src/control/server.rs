//! The owner's side of the control socket: accept, check the peer, serve
//! requests, forward updates. Each connection has its own tasks and bounded
//! buffers, so a slow or broken client can neither stall ingest (updates
//! are dropped for it and it is told to resynchronise) nor other clients.

use super::fanout::Hub;
use super::peer::{Peer, Policy};
use super::protocol::{Envelope, Frame, Reply, Request, MAX_LINE, VERSION};
use super::ControlLimits;
use crate::config::Config;
use crate::console::{Console, Outgoing, Output};
use crate::db::Db;
use crate::domain::ConvKey;
use crate::inbox::presence::Presence;
use crate::inbox::{self, Caller, Inbox};
use crate::oneshot::{self, OneShot};
use futures::StreamExt;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::AsyncWriteExt;
use tokio::net::{UnixListener, UnixStream};
use tokio::sync::{mpsc, Semaphore};
use tokio_util::codec::{FramedRead, LinesCodec, LinesCodecError};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

/// Frames a client may have queued before updates are dropped for it.
const CLIENT_BUFFER: usize = 1024;
/// A client that accepts no bytes for this long is disconnected.
const WRITE_TIMEOUT: Duration = Duration::from_secs(30);
/// Export chunks in flight per run (each up to 64 KiB).
const RUN_CHUNKS: usize = 8;
/// Store requests one client may have running at once.
const REQUESTS_IN_FLIGHT: usize = 8;
/// Largest page of rows or messages one request may ask for.
const MAX_ROWS: usize = 5_000;

/// What the owner serves from.
pub struct ControlCtx {
    pub store: Db,
    pub config: Arc<Config>,
    /// The job queue and send context of this process.
    pub owner: crate::oneshot::Owner,
    pub presence: Arc<Presence>,
    pub mode: String,
    pub listen: Option<String>,
    pub demo: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum ControlError {
    #[error("control socket {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("config key control.group: {0}")]
    Group(String),
}

pub struct ControlServer {
    pub path: PathBuf,
    cancel: CancellationToken,
    task: tokio::task::JoinHandle<()>,
    /// One-shot commands running for clients.
    runs: TaskTracker,
}

impl ControlServer {
    /// Stop accepting and tell running commands to stop (their clients are
    /// told why), then wait for them (bounded) so their writes are in the
    /// store before the final flush. The socket file goes.
    pub async fn shutdown(self) {
        self.cancel.cancel();
        let _ = self.task.await;
        self.runs.close();
        if tokio::time::timeout(Duration::from_secs(10), self.runs.wait())
            .await
            .is_err()
        {
            tracing::warn!("one-shot commands still running after 10 s; leaving them");
        }
        let _ = std::fs::remove_file(&self.path);
    }
}

/// Listen on `path` with owner-only permissions (group read/write when a
/// group is configured).
pub async fn start(
    ctx: ControlCtx,
    path: &Path,
    group: Option<&str>,
    cancel: CancellationToken,
) -> Result<ControlServer, ControlError> {
    let policy = Policy::for_this_process(group).map_err(ControlError::Group)?;
    let io = |source| ControlError::Io {
        path: path.to_path_buf(),
        source,
    };
    // Whoever holds the store owns the socket: a file left here is stale.
    let _ = std::fs::remove_file(path);
    // Bind under a temporary name and rename once the mode is right; during
    // that instant the peer check below still refuses other users.
    let tmp = path.with_extension(format!("sock.{}", std::process::id()));
    let _ = std::fs::remove_file(&tmp);
    let listener = UnixListener::bind(&tmp).map_err(io)?;
    set_mode(&tmp, policy.group.as_ref()).map_err(io)?;
    std::fs::rename(&tmp, path).map_err(io)?;
    tracing::info!(path = %path.display(), "control socket listening");

    let owner = || crate::update::OwnerStatus {
        pid: std::process::id(),
        listen: ctx.listen.clone(),
        dead: crate::tokens::dead_pages(&ctx.store, &ctx.config.pages),
        sync: crate::sync::last_synced(&ctx.store, &ctx.config.pages),
        ..Default::default()
    };
    let hub = Hub::start(&ctx.store, owner, cancel.child_token());
    if ctx.config.team.auto_assign == crate::config::AutoAssign::RoundRobin {
        tokio::spawn(super::auto_assign::run(
            ctx.store.clone(),
            ctx.presence.clone(),
            super::auto_assign::RoundRobin::new(ctx.config.team.max_open_per_agent),
            cancel.child_token(),
        ));
    }
    let inbox = Arc::new(
        Inbox::new(ctx.store.clone(), ctx.owner.jobs.clone())
            .with_send(ctx.owner.send.clone())
            .with_presence(Some(ctx.presence.clone()))
            .with_config(ctx.config.clone()),
    );
    let runs = TaskTracker::new();
    let tracked = runs.clone();
    let ctx = Arc::new(ctx);
    let policy = Arc::new(policy);
    let stop = cancel.clone();
    let limits = ctx.config.control.limits;
    let task = tokio::spawn(async move {
        let slots = Arc::new(Semaphore::new(limits.max_connections));
        let per_user = UserSlots::new(limits.per_user);
        // Refusals in progress (each holds its socket up to ~2 s): beyond
        // this many, a refused connection is just closed.
        let refusing = Arc::new(Semaphore::new(REFUSALS));
        let sessions = AtomicU64::new(1);
        loop {
            let (stream, _) = tokio::select! {
                r = listener.accept() => match r {
                    Ok(s) => s,
                    Err(e) => {
                        tracing::warn!(error = %e, "control socket accept failed");
                        tokio::time::sleep(Duration::from_millis(100)).await;
                        continue;
                    }
                },
                _ = stop.cancelled() => break,
            };
            let peer = match peer_of(&stream) {
                Ok(p) => p,
                Err(e) => {
                    tracing::warn!(error = %e, "control socket: no peer credentials; refused");
                    continue;
                }
            };
            // The user's own cap first: one user filling the owner must not
            // lock the others out.
            let Some(user_slot) = per_user.acquire(peer.uid) else {
                tracing::warn!(user = %peer.name, limit = limits.per_user, "control socket: too many connections from one user; refused");
                spawn_refusal(
                    &refusing,
                    stream,
                    format!(
                        "too many connections to this dmdesk from user {} (at most {}); close some (idle ones close after {} s)",
                        peer.name,
                        limits.per_user,
                        limits.idle.as_secs()
                    ),
                );
                continue;
            };
            let Ok(slot) = slots.clone().try_acquire_owned() else {
                tracing::warn!(
                    limit = limits.max_connections,
                    "control socket: too many connections; refused"
                );
                spawn_refusal(
                    &refusing,
                    stream,
                    format!(
                        "too many connections to this dmdesk (at most {} from all users)",
                        limits.max_connections
                    ),
                );
                continue;
            };
            let session = sessions.fetch_add(1, Ordering::Relaxed);
            let ctx = ctx.clone();
            let inbox = inbox.clone();
            let policy = policy.clone();
            let hub = hub.clone();
            let runs = runs.clone();
            let stop = stop.child_token();
            tokio::spawn(async move {
                let served = Served { ctx, inbox, hub };
                serve_connection(served, &policy, stream, peer, session, runs, stop, limits).await;
                drop(slot);
                drop(user_slot);
            });
        }
    });
    Ok(ControlServer {
        path: path.to_path_buf(),
        cancel,
        task,
        runs: tracked,
    })
}

fn set_mode(path: &Path, group: Option<&super::peer::AllowedGroup>) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let mode = match group {
        Some(g) => {
            std::os::unix::fs::chown(path, None, Some(g.gid))?;
            0o660
        }
        None => 0o600,
    };
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
}

/// Refused connections being told why at once (see `spawn_refusal`).
const REFUSALS: usize = 64;

fn spawn_refusal(refusing: &Arc<Semaphore>, stream: UnixStream, message: String) {
    let Ok(permit) = refusing.clone().try_acquire_owned() else {
        return;
    };
    tokio::spawn(async move {
        refuse(stream, message).await;
        drop(permit);
    });
}

/// Connections per Unix user.
struct UserSlots {
    limit: usize,
    held: Arc<Mutex<HashMap<u32, usize>>>,
}

/// One connection's place in its user's count; given back on drop.
struct UserSlot {
    uid: u32,
    held: Arc<Mutex<HashMap<u32, usize>>>,
}

impl UserSlots {
    fn new(limit: usize) -> UserSlots {
        UserSlots {
            limit,
            held: Arc::default(),
        }
    }

    fn acquire(&self, uid: u32) -> Option<UserSlot> {
        let mut held = self.held.lock().unwrap_or_else(|e| e.into_inner());
        let n = held.entry(uid).or_insert(0);
        if *n >= self.limit {
            return None;
        }
        *n += 1;
        Some(UserSlot {
            uid,
            held: self.held.clone(),
        })
    }
}

impl Drop for UserSlot {
    fn drop(&mut self) {
        let mut held = self.held.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(n) = held.get_mut(&self.uid) {
            *n -= 1;
            if *n == 0 {
                held.remove(&self.uid);
            }
        }
    }
}

/// Tell a client why it is turned away. The client may already be writing
/// its request: what it sends is read and dropped for a moment, so its
/// write does not fail before it has read the reason.
async fn refuse(stream: UnixStream, message: String) {
    let line = frame_line(&Frame::Error { id: None, message });
    let (mut read, mut write) = stream.into_split();
    let _ = tokio::time::timeout(Duration::from_secs(1), async {
        write.write_all(&line).await?;
        write.shutdown().await
    })
    .await;
    let _ = tokio::time::timeout(Duration::from_secs(1), async {
        let mut sink = [0u8; 4096];
        let mut left = MAX_LINE;
        while left > 0 {
            match tokio::io::AsyncReadExt::read(&mut read, &mut sink).await {
                Ok(0) | Err(_) => break,
                Ok(n) => left = left.saturating_sub(n),
            }
        }
    })
    .await;
}

fn frame_line(f: &Frame) -> Vec<u8> {
    let mut v = serde_json::to_vec(f).unwrap_or_else(|e| {
        format!(r#"{{"type":"error","id":null,"message":"cannot encode a frame: {e}"}}"#)
            .into_bytes()
    });
    v.push(b'\n');
    v
}

fn peer_of(stream: &UnixStream) -> std::io::Result<Peer> {
    let c = stream.peer_cred()?;
    Ok(Peer::from_ids(c.uid(), c.gid()))
}

/// What every connection serves from.
struct Served {
    ctx: Arc<ControlCtx>,
    inbox: Arc<Inbox>,
    hub: Arc<Hub>,
}

/// One connection: a reader loop dispatching requests, a writer task
/// draining this client's queues.
#[allow(clippy::too_many_arguments)]
async fn serve_connection(
    served: Served,
    policy: &Policy,
    stream: UnixStream,
    peer: Peer,
    session: u64,
    runs: TaskTracker,
    gone: CancellationToken,
    limits: ControlLimits,
) {
    if !policy.allows(&peer) {
        tracing::warn!(user = %peer.name, uid = peer.uid, "control socket: user not allowed; refused");
        refuse(
            stream,
            format!(
                "permission denied: user {} may not use this dmdesk (see control.group)",
                peer.name
            ),
        )
        .await;
        return;
    }
    tracing::info!(user = %peer.name, session, "control client connected");
    let (read, write) = stream.into_split();
    let (tx, rx) = mpsc::channel::<Frame>(CLIENT_BUFFER);
    let (run_tx, run_rx) = mpsc::unbounded_channel::<Outgoing>();
    let writer = tokio::spawn(write_frames(write, rx, run_rx, gone.clone()));

    let mut lines = FramedRead::new(read, LinesCodec::new_with_max_length(MAX_LINE));
    let Served { ctx, inbox, hub } = served;
    let mut conn = Conn {
        ctx: ctx.clone(),
        inbox: inbox.clone(),
        caller: Caller {
            session,
            agent: Some(peer.name.clone()),
        },
        peer,
        tx,
        run_tx,
        gone: gone.clone(),
        subscribed: false,
        answers: None,
        viewing: None,
        hub,
        runs,
        in_flight: Arc::new(Semaphore::new(REQUESTS_IN_FLIGHT)),
    };
    let mut first = true;
    loop {
        // A client that never asks anything, or goes silent (clients ping
        // every 30 s), gives its place back.
        let bound = if first {
            limits.first_request
        } else {
            limits.idle
        };
        let line = tokio::select! {
            l = tokio::time::timeout(bound, lines.next()) => match l {
                Ok(l) => l,
                Err(_) => {
                    tracing::info!(user = %conn.peer.name, session, "control client idle; closing");
                    conn.send(Frame::Error {
                        id: None,
                        message: format!(
                            "closing: no request for {} s",
                            bound.as_secs_f64()
                        ),
                    })
                    .await;
                    break;
                }
            },
            _ = gone.cancelled() => break,
        };
        first = false;
        match line {
            None => break,
            Some(Ok(line)) => {
                if line.trim().is_empty() {
                    continue;
                }
                match serde_json::from_str::<Envelope>(&line) {
                    Ok(env) => conn.handle(env).await,
                    Err(e) => {
                        let id = serde_json::from_str::<serde_json::Value>(&line)
                            .ok()
                            .and_then(|v| v.get("id").and_then(|i| i.as_u64()));
                        conn.send(Frame::Error {
                            id,
                            message: format!("bad request: {e}"),
                        })
                        .await;
                    }
                }
            }
            Some(Err(LinesCodecError::MaxLineLengthExceeded)) => {
                conn.send(Frame::Error {
                    id: None,
                    message: format!("request line over {MAX_LINE} bytes; closing"),
                })
                .await;
                break;
            }
            Some(Err(LinesCodecError::Io(e))) => {
                tracing::debug!(error = %e, "control client read failed");
                break;
            }
        }
    }
    // Let queued frames (the error above, a run's last lines) go out.
    drop(conn);
    gone.cancel();
    // With PostgreSQL, leaving is a query: off the async workers.
    let presence = ctx.presence.clone();
    let _ = tokio::task::spawn_blocking(move || presence.leave(session)).await;
    inbox.leave(session);
    let _ = writer.await;
    tracing::info!(session, "control client disconnected");
}

/// A one-shot command's output as the frame the client reads.
fn run_frame(o: Output) -> Frame {
    match o {
        Output::Out(text) => Frame::Out { text },
        Output::Err(text) => Frame::Err { text },
        Output::Ask(question) => Frame::Ask { question },
        Output::Exit { code, message } => Frame::Exit { code, message },
    }
}

async fn write_frames(
    write: tokio::net::unix::OwnedWriteHalf,
    mut rx: mpsc::Receiver<Frame>,
    mut run_rx: mpsc::UnboundedReceiver<Outgoing>,
    gone: CancellationToken,
) {
    let mut out = tokio::io::BufWriter::new(write);
    let mut open = (true, true);
    while open.0 || open.1 {
        let (frame, permit) = tokio::select! {
            f = rx.recv(), if open.0 => match f {
                Some(f) => (f, None),
                None => { open.0 = false; continue }
            },
            o = run_rx.recv(), if open.1 => match o {
                Some(o) => (run_frame(o.output), o.permit),
                None => { open.1 = false; continue }
            },
            _ = gone.cancelled(), if open.0 && open.1 => {
                // Reader gone: drain what is queued (bounded in time), then stop.
                let _ = tokio::time::timeout(Duration::from_secs(1), async {
                    while let Ok(f) = rx.try_recv() { out.write_all(&frame_line(&f)).await?; }
                    while let Ok(o) = run_rx.try_recv() { out.write_all(&frame_line(&run_frame(o.output))).await?; }
                    Ok::<_, std::io::Error>(())
                }).await;
                break;
            }
        };
        let line = frame_line(&frame);
        let wrote = tokio::time::timeout(WRITE_TIMEOUT, async {
            out.write_all(&line).await?;
            if rx.is_empty() && run_rx.is_empty() {
                out.flush().await?;
            }
            Ok::<_, std::io::Error>(())
        })
        .await;
        drop(permit);
        match wrote {
            Ok(Ok(())) => {}
            Ok(Err(_)) | Err(_) => {
                gone.cancel();
                return;
            }
        }
    }
    let _ = tokio::time::timeout(Duration::from_secs(1), out.flush()).await;
}

struct Conn {
    ctx: Arc<ControlCtx>,
    inbox: Arc<Inbox>,
    /// This connection to the inbox: its presence session and its user.
    caller: Caller,
    peer: Peer,
    tx: mpsc::Sender<Frame>,
    run_tx: mpsc::UnboundedSender<Outgoing>,
    gone: CancellationToken,
    subscribed: bool,
    answers: Option<mpsc::UnboundedSender<bool>>,
    /// The conversation this client's UI shows (from its presence reports).
    viewing: Option<ConvKey>,
    hub: Arc<Hub>,
    in_flight: Arc<Semaphore>,
    runs: TaskTracker,
}

impl Conn {
    async fn send(&self, f: Frame) {
        tokio::select! {
            _ = self.tx.send(f) => {}
            _ = self.gone.cancelled() => {}
        }
    }

    async fn handle(&mut self, env: Envelope) {
        let id = env.id;
        match env.request {
            Request::Subscribe => {
                if !self.subscribed {
                    self.subscribed = true;
                    self.ctx
                        .presence
                        .attach(self.caller.session, &self.peer.name);
                    self.hub.subscribe(
                        self.caller.session,
                        self.viewing.clone(),
                        self.tx.clone(),
                        self.gone.clone(),
                    );
                }
                self.reply(id, Ok(Reply::Done)).await;
            }
            // One command per connection: its frames carry no id.
            Request::Run { .. } if self.answers.is_some() => {
                self.reply(
                    id,
                    Err("a command is already running on this connection".into()),
                )
                .await;
            }
            Request::Run { command, stdin_tty } => self.run(id, command, stdin_tty),
            Request::Ping => self.reply(id, Ok(Reply::Done)).await,
            Request::Answer { yes } => {
                if let Some(a) = &self.answers {
                    let _ = a.send(yes);
                }
            }
            Request::Hello { version } => {
                let r = self.hello(version);
                self.reply(id, r).await;
            }
            Request::Inbox {
                request: request @ inbox::Request::Presence { .. },
            } => {
                // In order, here: the fan-out sends this client the thread it
                // views in full, and a later view report must win.
                if let inbox::Request::Presence { conv, .. } = &request {
                    self.viewing = conv.clone();
                    self.hub.set_viewing(self.caller.session, conv.clone());
                }
                let r = self.inbox.handle(&self.caller, request).map(Reply::Inbox);
                self.reply(id, r).await;
            }
            Request::Inbox { request } => {
                // Store reads may take a while: off this loop, answered in any
                // order, at most REQUESTS_IN_FLIGHT at once per client (a client
                // that pipelines without reading waits here, not in memory).
                let Ok(permit) = self.in_flight.clone().acquire_owned().await else {
                    return;
                };
                let request = request.clamp(MAX_ROWS);
                let inbox = self.inbox.clone();
                let caller = self.caller.clone();
                let tx = self.tx.clone();
                let gone = self.gone.clone();
                tokio::spawn(async move {
                    let _permit = permit;
                    let r = tokio::task::spawn_blocking(move || inbox.handle(&caller, request))
                        .await
                        .unwrap_or_else(|e| Err(format!("request failed: {e}")));
                    let f = reply_frame(id, r.map(Reply::Inbox));
                    tokio::select! {
                        _ = tx.send(f) => {}
                        _ = gone.cancelled() => {}
                    }
                });
            }
        }
    }

    /// Greet a client that speaks this protocol.
    fn hello(&self, version: u32) -> Result<Reply, String> {
        if version != VERSION {
            return Err(format!(
                "protocol version {version} is not supported (this dmdesk speaks {VERSION}); use the same dmdesk binary for both"
            ));
        }
        let ctx = &self.ctx;
        Ok(Reply::Hello {
            agent: self.peer.name.clone(),
            session: self.caller.session,
            owner_pid: std::process::id(),
            owner_mode: ctx.mode.clone(),
            listen: ctx.listen.clone(),
            demo: ctx.demo,
            pages: ctx.config.page_infos(),
            canned: ctx.config.canned.clone(),
        })
    }

    async fn reply(&self, id: u64, r: Result<Reply, String>) {
        self.send(reply_frame(id, r)).await;
    }

    fn run(&mut self, id: u64, command: OneShot, stdin_tty: bool) {
        let (ans_tx, ans_rx) = mpsc::unbounded_channel();
        self.answers = Some(ans_tx);
        let console = Console::remote(
            self.peer.name.clone(),
            self.run_tx.clone(),
            Arc::new(Semaphore::new(RUN_CHUNKS)),
            ans_rx,
            stdin_tty,
            self.gone.child_token(),
        );
        let ctx = self.ctx.clone();
        let run_tx = self.run_tx.clone();
        tracing::info!(user = %self.peer.name, command = command.name(), id, "one-shot command through the control socket");
        self.runs.spawn(async move {
            let r = oneshot::run(
                command,
                &ctx.config,
                Some(ctx.store.clone()),
                &console,
                Some(&ctx.owner),
            )
            .await;
            drop(console);
            let (code, message) = match r {
                Ok(()) => (0, None),
                Err(e) => (e.code, Some(e.message)),
            };
            let _ = run_tx.send(Output::Exit { code, message }.into());
        });
    }
}

fn reply_frame(id: u64, r: Result<Reply, String>) -> Frame {
    match r {
        Ok(result) => Frame::Reply {
            id,
            result: Box::new(result),
        },
        Err(message) => Frame::Error {
            id: Some(id),
            message,
        },
    }
}
