//! Wiring: the webhook server, ingest and background workers of one process,
//! started together and shut down in order (stop accepting, finish in-flight
//! requests, apply what was logged, flush).

use crate::config::Config;
use crate::db::Db;
use crate::domain::TimestampMs;
use crate::ingest::Ingest;
use crate::metrics::Metrics;
use crate::webhook::{router_with, serve, WebhookState};
use crate::workers::{Job, JobSender};
use std::net::SocketAddr;
use std::sync::Arc;
use tokio::sync::{mpsc, Notify};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

/// A running set of services.
pub struct Running {
    pub store: Db,
    pub config: Arc<Config>,
    pub metrics: Arc<Metrics>,
    /// Where the webhook server listens (None when it is disabled).
    pub local_addr: Option<SocketAddr>,
    pub jobs: JobSender,
    /// Who is viewing what, shared with attached UIs.
    pub presence: Arc<crate::inbox::presence::Presence>,
    /// The control socket, when it could be opened.
    pub control: Option<crate::control::server::ControlServer>,
    cancel: CancellationToken,
    server: Option<tokio::task::JoinHandle<()>>,
    workers: JoinSet<()>,
}

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("cannot listen on {addr}: {source} (config key server.listen)")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
    #[error(transparent)]
    Control(#[from] crate::control::server::ControlError),
}

/// Start ingest, workers and (if `serve_webhooks`) the webhook server on
/// `config.server.listen`.
pub async fn start(
    config: Arc<Config>,
    store: Db,
    serve_webhooks: bool,
) -> Result<Running, StartError> {
    let listener = if serve_webhooks {
        Some(
            tokio::net::TcpListener::bind(config.server.listen)
                .await
                .map_err(|source| StartError::Bind {
                    addr: config.server.listen,
                    source,
                })?,
        )
    } else {
        None
    };
    start_with(config, store, listener).await
}

/// Like [`start`], serving webhooks on a listener the caller bound (demo mode
/// binds first so the simulator knows where to post).
pub async fn start_with(
    config: Arc<Config>,
    store: Db,
    listener: Option<tokio::net::TcpListener>,
) -> Result<Running, StartError> {
    let metrics = Arc::new(Metrics::default());
    metrics.set_max_lag(config.store.max_apply_lag);
    // This process applies events, so it also retires old ones.
    crate::store::embedded::retain_events_for(config.store.event_retention);
    let cancel = CancellationToken::new();
    let mut workers = JoinSet::new();
    let graph = crate::meta::graph::GraphClient::new(&config.graph);

    // Profiles of new contacts are fetched in the background.
    let (profile_tx, profile_rx) = mpsc::channel(10_000);
    workers.spawn(crate::profiles::run_worker(
        store.clone(),
        config.clone(),
        graph.clone(),
        profile_rx,
        cancel.child_token(),
    ));

    // Pictures are kept as they arrive (Meta's links expire); subscribed
    // before the start-up apply so its pictures are kept too. Not in demo
    // mode: the simulator's links lead nowhere.
    if !config.demo {
        if let Some(source) = crate::pictures::Source::open(&config.media) {
            workers.spawn(crate::pictures::keeper::run(
                source,
                store.subscribe(),
                cancel.child_token(),
            ));
        }
    }

    // Apply what an earlier run logged but did not apply, before serving.
    let ingest = Ingest::new(store.clone(), &config, metrics.clone(), Some(profile_tx));
    let pending = {
        let ing = ingest.clone();
        tokio::task::spawn_blocking(move || ing.apply_pending())
            .await
            .map_err(|e| {
                crate::store::StoreError::Corrupt(format!("ingest at start-up panicked: {e}"))
            })??
    };
    if pending.applied + pending.quarantined > 0 {
        tracing::info!(
            applied = pending.applied,
            quarantined = pending.quarantined,
            "applied events left from the last run"
        );
    }
    let wake = Arc::new(Notify::new());
    workers.spawn(ingest.run(wake.clone(), cancel.child_token()));
    workers.spawn(watch_health(store.clone(), cancel.child_token()));
    workers.spawn(wake_snoozed(store.clone(), cancel.child_token()));
    // The team report's figures for /metrics, recomputed off the request
    // path. Not without a server: nothing can read them, and on a 1M-message
    // store a pass costs seconds of CPU and sled cache beside a starting TUI.
    if listener.is_some() {
        workers.spawn(crate::metrics::refresh_report(
            metrics.clone(),
            std::time::Duration::from_secs(60),
            cancel.child_token(),
            crate::inbox::report::for_metrics(store.clone()),
        ));
    }

    // Jobs from the UI and commands go to the send and sync workers.
    let (jobs, mut job_rx) = mpsc::unbounded_channel::<Job>();
    let (send_tx, send_rx) = mpsc::unbounded_channel::<Job>();
    let (sync_tx, sync_rx) = mpsc::unbounded_channel::<Job>();
    let stop = cancel.child_token();
    workers.spawn(async move {
        loop {
            let job = tokio::select! {
                j = job_rx.recv() => match j { Some(j) => j, None => return },
                _ = stop.cancelled() => return,
            };
            let to = match job {
                Job::Sync { .. } | Job::CancelSync => &sync_tx,
                _ => &send_tx,
            };
            let _ = to.send(job);
        }
    });
    // One send context (Graph client and pace) for the worker and the
    // one-shots this process runs for its clients.
    let send = crate::send::reply::SendCtx::new(store.clone(), config.clone(), graph.clone());
    workers.spawn(crate::send::worker::run_worker(
        send.clone(),
        send_rx,
        cancel.child_token(),
    ));
    // Token expiry and scopes (metrics, warnings); Instagram Login tokens
    // in files refreshed before they expire. Not in demo mode: no real tokens.
    if !config.demo {
        let refresher = crate::tokens::refresh::Refresher::new(
            store.clone(),
            config.clone(),
            graph.clone(),
            metrics.clone(),
            Default::default(),
        );
        workers.spawn(refresher.run(cancel.child_token()));
    }
    workers.spawn(crate::sync::run_worker(
        store.clone(),
        config.clone(),
        graph,
        sync_rx,
        cancel.child_token(),
    ));

    let (local_addr, server) = if let Some(listener) = listener {
        let addr = listener.local_addr().map_err(|source| StartError::Bind {
            addr: config.server.listen,
            source,
        })?;
        let limits = serve::Limits::for_this_process();
        tracing::info!(
            max_connections = limits.max_connections,
            header_timeout_s = limits.header_timeout.as_secs(),
            body_timeout_s = limits.body_timeout.as_secs(),
            large_bodies = limits.large_bodies,
            "webhook limits"
        );
        let app = router_with(
            WebhookState {
                store: store.clone(),
                app_secret: config.server.app_secret.clone(),
                instagram_app_secret: config.server.instagram_app_secret.clone(),
                verify_token: config.server.verify_token.clone(),
                metrics: metrics.clone(),
                ingest: wake,
            },
            &config.server.path,
            &limits,
        );
        let handle = tokio::spawn(serve::serve(listener, app, limits, cancel.clone()));
        tracing::info!(%addr, path = %config.server.path, "webhook server listening");
        (Some(addr), Some(handle))
    } else {
        (None, None)
    };

    // Other agents' UIs and one-shot commands attach here.
    let presence = crate::inbox::presence::Presence::new(store.clone());
    let control = match crate::control::server::start(
        crate::control::server::ControlCtx {
            store: store.clone(),
            config: config.clone(),
            owner: crate::oneshot::Owner {
                jobs: jobs.clone(),
                send,
            },
            presence: presence.clone(),
            mode: store.holder_mode().to_string(),
            listen: local_addr.map(|a| a.to_string()),
            demo: config.demo,
        },
        &crate::control::socket_path(store.path()),
        config.control.group.as_deref(),
        cancel.child_token(),
    )
    .await
    {
        Ok(c) => Some(c),
        // A misnamed group is a configuration error.
        Err(e @ crate::control::server::ControlError::Group(_)) => return Err(e.into()),
        // Without the socket the process still serves; other agents and
        // commands then get the "store is held" error.
        Err(e) => {
            tracing::error!(error = %e, "no control socket: other agents cannot attach");
            store.report_error(format!("no control socket: {e}"));
            None
        }
    };

    Ok(Running {
        store,
        config,
        metrics,
        local_addr,
        jobs,
        presence,
        control,
        cancel,
        server,
        workers,
    })
}

impl Running {
    /// Stop accepting, let in-flight requests finish, apply and flush.
    pub async fn shutdown(mut self) {
        if let Some(c) = self.control.take() {
            c.shutdown().await;
        }
        self.cancel.cancel();
        if let Some(s) = self.server.take() {
            let _ = s.await;
        }
        let deadline = tokio::time::sleep(std::time::Duration::from_secs(10));
        tokio::pin!(deadline);
        loop {
            tokio::select! {
                next = self.workers.join_next() => if next.is_none() { break },
                _ = &mut deadline => {
                    tracing::warn!(left = self.workers.len(), "workers did not stop within 10 s; aborting them");
                    self.workers.abort_all();
                    break;
                }
            }
        }
        if let Err(e) = self.store.flush() {
            tracing::error!(error = %e, "final flush failed");
        }
    }

    pub fn cancel_token(&self) -> CancellationToken {
        self.cancel.clone()
    }
}

/// Wait for SIGTERM or SIGINT.
/// Reopen snoozed conversations whose time has come, every half minute
/// (the list's open view already shows them from that minute on; this makes
/// it true in the store, for every agent, the export and the CLI).
async fn wake_snoozed(store: Db, stop: CancellationToken) {
    loop {
        tokio::select! {
            _ = tokio::time::sleep(std::time::Duration::from_secs(30)) => {}
            _ = stop.cancelled() => return,
        }
        let db = store.clone();
        let woke = tokio::task::spawn_blocking(move || db.wake_snoozed(TimestampMs::now())).await;
        match woke {
            Ok(Ok(0)) => {}
            Ok(Ok(n)) => tracing::info!(conversations = n, "snoozed conversations woke"),
            Ok(Err(e)) => tracing::warn!(error = %e, "waking snoozed conversations failed"),
            Err(e) => tracing::error!(error = %e, "snooze wake task panicked"),
        }
    }
}

/// Say on the status bar (once each way) when the store stops and starts
/// writing again. The UI keeps running; the composer keeps its text.
async fn watch_health(store: Db, stop: CancellationToken) {
    let mut was_ok = true;
    loop {
        tokio::select! {
            _ = tokio::time::sleep(std::time::Duration::from_secs(1)) => {}
            _ = stop.cancelled() => return,
        }
        let now = store.health();
        match (&now, was_ok) {
            (Err(why), true) => store.report_error(format!(
                "store unavailable: {why}; webhooks get 503 (Meta retries them)"
            )),
            (Ok(()), false) => store.publish(crate::update::Update::Notice(
                "the store writes again".into(),
            )),
            _ => {}
        }
        was_ok = now.is_ok();
    }
}

/// Resolves with the reason once `store` has been unable to write for
/// five checks in a row (a flush that fails once may succeed on retry).
pub async fn store_failure(store: &Db) -> String {
    // A database that went away comes back by itself (the store reconnects):
    // serve stays up answering 503 meanwhile instead of exiting.
    if store.backend() == "postgres" {
        return std::future::pending().await;
    }
    let mut bad = 0;
    loop {
        tokio::time::sleep(std::time::Duration::from_secs(1)).await;
        match store.health() {
            Ok(()) => bad = 0,
            Err(why) => {
                bad += 1;
                if bad >= 5 {
                    return why;
                }
            }
        }
    }
}

pub async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        let mut term = signal(SignalKind::terminate()).expect("install SIGTERM handler");
        tokio::select! {
            _ = term.recv() => {}
            _ = tokio::signal::ctrl_c() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}
