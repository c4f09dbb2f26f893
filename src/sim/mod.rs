//! A simulator of Meta on 127.0.0.1: a fake Graph API (conversations,
//! profiles, batch, Send API with Meta's window rule and error envelopes)
//! and simulated customers who post signed webhooks to dmdesk over HTTP —
//! the real path, no shortcuts into the store. Used by demo mode, `dmdesk
//! sim`, tests and benchmarks.

pub mod customers;
pub mod errors;
pub mod fields;
pub mod graph;
pub mod history;
pub mod ids;
pub mod multipart;
pub mod payload;
pub mod populate;
pub mod post;
pub mod script;
pub mod send;
pub mod stats;
pub mod world;

pub use ids::Ids;
pub use populate::{populate, PopulateReport};
pub use stats::SimStats;
pub use world::WindowClass;

use crate::domain::Platform;
use crate::secret::Secret;
use rand::rngs::StdRng;
use rand::SeedableRng;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

#[derive(Debug, thiserror::Error)]
pub enum SimError {
    #[error("cannot listen on 127.0.0.1:{port}: {source}")]
    Bind { port: u16, source: std::io::Error },
    #[error("no simulated customer with id {0}")]
    NoCustomer(String),
    #[error("store: {0}")]
    Store(#[from] crate::store::StoreError),
    #[error("{0}")]
    Usage(String),
}

/// Error injection and latency, changeable while running (`SimHandle::set_faults`).
#[derive(Debug, Clone, Default)]
pub struct Faults {
    /// Share of Send API calls that fail with `send_fail_code`.
    pub send_fail_fraction: f64,
    /// (code, subcode) for those failures; default 1200 (temporary, retry).
    pub send_fail_code: Option<(i64, Option<i64>)>,
    /// Sends to these recipients always fail with this (code, subcode).
    pub user_errors: HashMap<String, (i64, Option<i64>)>,
    /// Every Graph call (any endpoint) fails with this, e.g. (190, Some(460)).
    pub fail_all: Option<(i64, Option<i64>)>,
    /// Added to every Graph answer (benchmarks).
    pub latency: Duration,
    /// Above this many Send API calls in a trailing second: 613.
    pub send_limit_per_second: Option<u32>,
    /// A Graph read asking for more than this many items (conversations ×
    /// nested messages per conversation, or messages of one page) gets
    /// Meta's code 1 "Please reduce the amount of data you're asking for".
    /// Meta does not document its limit; None: no limit.
    pub max_items_per_read: Option<usize>,
}

/// How to run the simulator.
#[derive(Debug, Clone)]
pub struct SimConfig {
    pub ids: Ids,
    /// Where customers and receipts are posted; None: Graph API only.
    pub webhook_url: Option<String>,
    pub customers: usize,
    pub seed: u64,
    /// Spontaneous customer events per second (0: none).
    pub rate: f64,
    /// Stop generating after this many customer events (0: no limit).
    pub count: u64,
    /// Port for the fake Graph API on 127.0.0.1 (0: any free port).
    pub graph_port: u16,
    /// Share of customers whose history is old (outside the 24 h window).
    pub outside_fraction: f64,
    /// Messages of history per thread (inclusive).
    pub history: (usize, usize),
    /// The page has the HUMAN_AGENT permission.
    pub human_agent: bool,
    /// Chance a customer answers after a send (0 in tests).
    pub reply_probability: f64,
    /// Chance a spontaneous event is a reaction to the page's last message.
    pub reaction_probability: f64,
    /// Chance a spontaneous event edits (Messenger) or unsends (Instagram)
    /// the customer's last text.
    pub edit_probability: f64,
    /// Pause between echo, delivery and read after a send.
    pub receipt_delay: Duration,
    pub faults: Faults,
    /// `call_count` reported in the usage headers (100 = throttled).
    pub usage_call_count: u32,
    /// Webhook posts in flight at once.
    pub post_concurrency: usize,
}

impl SimConfig {
    /// The demo identities, 20 customers, quiet (rate 0), deterministic.
    pub fn demo(webhook_url: Option<String>) -> SimConfig {
        SimConfig {
            ids: Ids::demo(),
            webhook_url,
            customers: 20,
            seed: 42,
            rate: 0.0,
            count: 0,
            graph_port: 0,
            outside_fraction: 0.25,
            history: (2, 12),
            human_agent: true,
            reply_probability: 0.0,
            reaction_probability: 0.1,
            edit_probability: 0.04,
            receipt_delay: Duration::from_millis(300),
            faults: Faults::default(),
            usage_call_count: 5,
            post_concurrency: 16,
        }
    }
}

/// A simulated customer as tests see it.
#[derive(Debug, Clone)]
pub struct CustomerInfo {
    pub platform: Platform,
    pub account: String,
    pub user_id: String,
    pub name: String,
    pub username: String,
    pub window: WindowClass,
    pub reachable: bool,
    pub profile_available: bool,
    /// Thread id on the fake Graph API.
    pub conv_id: String,
    pub messages: usize,
}

/// Shared state of a running simulator.
pub struct Inner {
    pub cfg: SimConfig,
    pub world: Mutex<World>,
    pub rng: Mutex<StdRng>,
    pub faults: RwLock<Faults>,
    pub usage: AtomicU32,
    pub stats: stats::Stats,
    pub poster: post::Poster,
    pub base_url: String,
    pub cancel: CancellationToken,
    /// Reusable attachments uploaded so far: attachment_id → type.
    pub uploads: Mutex<std::collections::HashMap<String, String>>,
}

use world::World;

impl Inner {
    pub(crate) fn world(&self) -> std::sync::MutexGuard<'_, World> {
        self.world.lock().unwrap_or_else(|e| e.into_inner())
    }
    pub(crate) fn rng(&self) -> std::sync::MutexGuard<'_, StdRng> {
        self.rng.lock().unwrap_or_else(|e| e.into_inner())
    }
    pub(crate) fn faults(&self) -> Faults {
        self.faults
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }
}

pub struct Simulator;

impl Simulator {
    /// Generate the world, serve the fake Graph API and start the customers.
    pub async fn start(cfg: SimConfig) -> Result<SimHandle, SimError> {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", cfg.graph_port))
            .await
            .map_err(|source| SimError::Bind {
                port: cfg.graph_port,
                source,
            })?;
        let addr = listener.local_addr().map_err(|source| SimError::Bind {
            port: cfg.graph_port,
            source,
        })?;
        let base_url = format!("http://{addr}");
        let mut rng = StdRng::seed_from_u64(cfg.seed);
        let shape = world::WorldShape {
            customers: cfg.customers,
            outside_fraction: cfg.outside_fraction,
            history: cfg.history,
        };
        let world = World::generate(cfg.ids.clone(), &shape, cfg.seed, &mut rng, world::now_ms());
        let cancel = CancellationToken::new();
        let inner = Arc::new(Inner {
            poster: post::Poster::new(cfg.webhook_url.clone(), cfg.ids.app_secret.as_bytes()),
            world: Mutex::new(world),
            rng: Mutex::new(StdRng::seed_from_u64(cfg.seed.wrapping_add(1))),
            faults: RwLock::new(cfg.faults.clone()),
            usage: AtomicU32::new(cfg.usage_call_count),
            stats: stats::Stats::default(),
            base_url: base_url.clone(),
            cancel: cancel.clone(),
            uploads: Mutex::default(),
            cfg,
        });
        let app = graph::router(inner.clone());
        let stop = cancel.clone();
        let server = tokio::spawn(async move {
            let r = axum::serve(listener, app)
                .with_graceful_shutdown(async move { stop.cancelled().await })
                .await;
            if let Err(e) = r {
                tracing::warn!("simulator Graph API stopped: {e}");
            }
        });
        let (done_tx, done_rx) = watch::channel(false);
        let customers = tokio::spawn(customers::run(inner.clone(), done_tx));
        tracing::info!(%base_url, "simulator Graph API listening");
        Ok(SimHandle {
            graph_base_url: base_url,
            addr,
            inner,
            cancel,
            done: done_rx,
            tasks: vec![server, customers],
        })
    }
}

/// A running simulator. Dropping it stops everything.
pub struct SimHandle {
    /// Point `[graph] base_url` here (no version segment; any `vNN.N` works).
    pub graph_base_url: String,
    pub addr: SocketAddr,
    inner: Arc<Inner>,
    cancel: CancellationToken,
    done: watch::Receiver<bool>,
    tasks: Vec<JoinHandle<()>>,
}

impl SimHandle {
    pub fn ids(&self) -> &Ids {
        &self.inner.cfg.ids
    }

    pub fn stats(&self) -> SimStats {
        self.inner.stats.snapshot()
    }

    /// Send API calls within the trailing second, as the simulated send
    /// limit counts them (rejected calls too).
    pub fn sends_in_last_second(&self) -> usize {
        self.inner
            .stats
            .sends_in_last_second(std::time::Instant::now())
    }

    /// Every simulated customer with their window as of now.
    pub fn customers(&self) -> Vec<CustomerInfo> {
        let now = world::now_ms();
        let w = self.inner.world();
        w.customers
            .iter()
            .zip(&w.threads)
            .map(|(c, t)| CustomerInfo {
                platform: c.platform,
                account: c.account.clone(),
                user_id: c.user_id.clone(),
                name: c.full_name(),
                username: c.username.clone(),
                window: t.window(now),
                reachable: c.reachable,
                profile_available: c.profile_available,
                conv_id: t.conv_id.clone(),
                messages: t.messages.len(),
            })
            .collect()
    }

    /// Total messages the fake Graph API holds (history + live).
    pub fn message_count(&self) -> usize {
        self.inner.world().message_count()
    }

    /// Make a customer write now (text, or a scripted line when None);
    /// waits until the signed webhook was posted. Returns the new mid.
    pub async fn customer_says(
        &self,
        user_id: &str,
        text: Option<&str>,
    ) -> Result<String, SimError> {
        let (mid, body) = customers::say(&self.inner, user_id, text.map(str::to_string))
            .ok_or_else(|| SimError::NoCustomer(user_id.to_string()))?;
        self.inner.poster.post(&self.inner.stats, body).await;
        Ok(mid)
    }

    pub fn set_faults(&self, f: Faults) {
        *self.inner.faults.write().unwrap_or_else(|e| e.into_inner()) = f;
    }

    pub fn set_usage(&self, call_count: u32) {
        self.inner.usage.store(call_count, Ordering::Relaxed);
    }

    /// Stops everything when cancelled (e.g. share with a Ctrl-C handler).
    pub fn cancel_token(&self) -> CancellationToken {
        self.cancel.clone()
    }

    /// Resolves when the customers stop generating: `count` events were
    /// generated and posted, the rate is 0 (nothing to generate), or the
    /// simulator was stopped.
    pub async fn customers_done(&self) {
        let mut rx = self.done.clone();
        let _ = rx.wait_for(|d| *d).await;
    }

    /// Stop the customers and the Graph API, and wait for them.
    pub async fn shutdown(mut self) {
        self.cancel.cancel();
        for t in self.tasks.drain(..) {
            let _ = tokio::time::timeout(Duration::from_secs(5), t).await;
        }
    }
}

impl Drop for SimHandle {
    fn drop(&mut self) {
        self.cancel.cancel();
    }
}

/// `dmdesk sim`: serve the fake Graph API, print its base URL on stdout,
/// run the customers until Ctrl-C or `count` events.
pub async fn run(args: &crate::cli::SimArgs, app_secret: &Secret) -> anyhow::Result<()> {
    let mut cfg = SimConfig::demo(Some(args.webhook.clone()));
    if !app_secret.is_empty() {
        cfg.ids.app_secret = app_secret.expose().to_string();
    }
    cfg.customers = args.customers.max(1);
    cfg.rate = args.rate.max(0.0);
    cfg.count = args.count;
    cfg.graph_port = args.graph_port;
    cfg.reply_probability = 0.3;
    cfg.receipt_delay = Duration::from_millis(800);
    cfg.seed = rand::random();
    // What a config needs to talk to it (the demo's made-up ids, never a
    // real token; the app secret is the config's and is not printed).
    let plays = format!(
        "dmdesk sim: it plays the page id = \"{}\" with instagram_id = \"{}\" and access_token = \"{}\" (a [[pages]] block); its webhooks are signed with the --config's [server] app_secret, else demo-app-secret",
        cfg.ids.page_id, cfg.ids.ig_id, cfg.ids.page_token
    );
    let handle = Simulator::start(cfg).await?;
    println!("{}", handle.graph_base_url);
    eprintln!(
        "dmdesk sim: fake Graph API at {} (set [graph] base_url to it); {} customers posting to {} at {}/s{}. Ctrl-C stops.",
        handle.graph_base_url,
        args.customers,
        args.webhook,
        args.rate,
        if args.count > 0 {
            format!(", {} events", args.count)
        } else {
            String::new()
        }
    );
    eprintln!("{plays}");
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = handle.customers_done(), if args.count > 0 => {}
    }
    let s = handle.stats();
    handle.shutdown().await;
    eprintln!(
        "dmdesk sim: {} customer events, {} webhooks posted ({} failed), {} sends ok, {} refused",
        s.customer_events, s.webhooks_posted, s.webhooks_failed, s.sends_ok, s.sends_failed
    );
    Ok(())
}
