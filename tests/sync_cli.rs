//! `dmdesk sync` as an agent runs it (the binary, stderr not a terminal):
//! its plain progress line, its summary and its exit codes, in a process
//! of its own and through a running owner (the control socket), against
//! the simulator as Meta.

use dmdesk::config::Config;
use dmdesk::db::Db;
use dmdesk::domain::{Platform, TimestampMs};
use dmdesk::sim::{SimConfig, SimHandle, Simulator};
use std::path::{Path, PathBuf};
use std::sync::Arc;

fn run(config: &Path, args: &[&str]) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_dmdesk"))
        .arg("--config")
        .arg(config)
        .args(args)
        .env_remove("DMDESK_APP_SECRET")
        .env_remove("DMDESK_VERIFY_TOKEN")
        // The summary, not the log, is under test.
        .env("DMDESK_LOG", "off")
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap()
}

async fn run_blocking(config: &Path, args: &[&'static str]) -> (Option<i32>, String, String) {
    let (config, args) = (config.to_path_buf(), args.to_vec());
    let o = tokio::task::spawn_blocking(move || run(&config, &args))
        .await
        .unwrap();
    (
        o.status.code(),
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

/// Six customers (seed 42: the same threads every run).
async fn sim() -> SimHandle {
    let mut cfg = SimConfig::demo(None);
    cfg.customers = 6;
    Simulator::start(cfg).await.unwrap()
}

/// A config with the simulator's page (and its Instagram account) whose
/// token is `token` (`pages = false`: no page at all).
fn config(dir: &Path, sim: &SimHandle, token: &str, pages: bool) -> (PathBuf, Config) {
    let ids = sim.ids();
    let page = format!(
        "[[pages]]\nid = \"{}\"\nname = \"Shop\"\naccess_token = \"{token}\"\ninstagram_id = \"{}\"\n",
        ids.page_id, ids.ig_id
    );
    let text = format!(
        "[server]\nlisten = \"127.0.0.1:0\"\napp_secret = \"s\"\nverify_token = \"vt\"\n[store]\npath = {:?}\ncache_mb = 8\n[graph]\nbase_url = \"{}\"\ntimeout = \"5s\"\nconversations_per_second = 100000\n[sync]\ninterval = \"off\"\n{}",
        dir.join("store"),
        sim.graph_base_url,
        if pages { page.as_str() } else { "" },
    );
    let path = dir.join("config.toml");
    std::fs::write(&path, &text).unwrap();
    // Its secret is for the owner's eyes only (else a warning is printed).
    std::fs::set_permissions(&path, std::os::unix::fs::PermissionsExt::from_mode(0o600)).unwrap();
    (path, Config::from_toml_lenient(&text, &|_| None).unwrap())
}

/// What the simulator's Graph API answered: conversation pages, nested
/// message pages and profile batches.
fn sim_calls(sim: &SimHandle) -> u64 {
    let s = sim.stats();
    s.calls_to("conversations") + s.calls_to("messages") + s.calls_to("batch")
}

/// The stderr of a whole sync of the simulator's page, from what the
/// simulator holds: one progress line, one line per account, the total.
fn expected(sim: &SimHandle) -> String {
    let ids = sim.ids();
    let side = |p: Platform| {
        let cs: Vec<_> = sim
            .customers()
            .into_iter()
            .filter(|c| c.platform == p)
            .collect();
        let msgs: u64 = cs
            .iter()
            .map(|c| c.messages.min(dmdesk::sync::INSTAGRAM_HISTORY as usize) as u64)
            .sum();
        (cs.len() as u64, msgs)
    };
    let (fb, ig) = (side(Platform::Messenger), side(Platform::Instagram));
    assert!(fb.0 > 0 && ig.0 > 0, "both sides have customers");
    let (convs, msgs) = (fb.0 + ig.0, fb.1 + ig.1);
    let calls = |p: &str| sim.stats().calls_to(p);
    // One page of threads per side, one profile batch per side.
    assert_eq!(
        (calls("conversations"), calls("messages"), calls("batch")),
        (2, 0, 2),
        "{:?}",
        sim.stats().calls
    );
    format!(
        "sync: page 1/1 · {convs} conversations · {msgs} new messages · 0 errors\n\
         ok: messenger {page}: {} conversations read ({} new), {} messages added, {} profiles, 2 calls\n\
         ok: instagram {ig_id}: {} conversations read ({} new), {} messages added, {} profiles, 2 calls\n\
         sync: {convs} conversations added, {msgs} messages added, {} Graph calls, 0 errors\n",
        fb.0,
        fb.0,
        fb.1,
        fb.0,
        ig.0,
        ig.0,
        ig.1,
        ig.0,
        sim_calls(sim),
        page = ids.page_id,
        ig_id = ids.ig_id,
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_sync_here_prints_its_progress_and_summary_and_exits_0() {
    let sim = sim().await;
    let dir = tempfile::tempdir().unwrap();
    let (path, cfg) = config(dir.path(), &sim, &sim.ids().page_token, true);
    let (code, out, err) = run_blocking(&path, &["sync"]).await;
    assert_eq!((code, out.as_str()), (Some(0), ""), "{err}");
    assert_eq!(err, expected(&sim));
    // What it said it added is in the store.
    let store = Db::open(&cfg.store.path, 8, "test").unwrap();
    assert_eq!(store.all_conversations().count(), sim.customers().len());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_sync_through_the_owner_prints_the_same_and_the_owner_holds_the_result() {
    let sim = sim().await;
    let dir = tempfile::tempdir().unwrap();
    let (path, cfg) = config(dir.path(), &sim, &sim.ids().page_token, true);
    let store = Db::open(&cfg.store.path, 8, "serve").unwrap();
    // Synced once long ago, so the owner starts no sync of its own and the
    // one asked for reads every thread (as a first sync does).
    let long_ago = TimestampMs(978_307_200_000);
    for a in [&sim.ids().page_id, &sim.ids().ig_id] {
        store.set_last_sync(a, long_ago).unwrap();
    }
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let running = dmdesk::runtime::start_with(Arc::new(cfg), store, Some(listener))
        .await
        .unwrap();
    let (code, out, err) = run_blocking(&path, &["sync"]).await;
    assert_eq!((code, out.as_str()), (Some(0), ""), "{err}");
    assert_eq!(err, expected(&sim));
    assert_eq!(
        running.store.all_conversations().count(),
        sim.customers().len()
    );
    running.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_refused_token_fails_the_page_and_exits_1() {
    let sim = sim().await;
    let dir = tempfile::tempdir().unwrap();
    let (path, _) = config(dir.path(), &sim, "not-the-token", true);
    let (code, _, err) = run_blocking(&path, &["sync"]).await;
    assert_eq!(code, Some(1), "{err}");
    let page = &sim.ids().page_id;
    let lines: Vec<&str> = err.lines().collect();
    assert_eq!(lines.len(), 4, "{err}");
    assert_eq!(
        lines[0],
        "sync: page 1/1 · 0 conversations · 0 new messages · 1 errors"
    );
    // A dead token is the page's: its Instagram side is not tried.
    assert!(
        lines[1].starts_with(&format!("failed: messenger {page}: ")),
        "{err}"
    );
    assert_eq!(
        lines[2],
        "sync: 0 conversations added, 0 messages added, 1 Graph calls, 1 errors"
    );
    assert_eq!(lines[3], "dmdesk: sync failed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn no_pages_or_an_unknown_account_is_a_usage_error() {
    let sim = sim().await;
    let dir = tempfile::tempdir().unwrap();
    let (path, _) = config(dir.path(), &sim, "t", false);
    let (code, _, err) = run_blocking(&path, &["sync"]).await;
    assert_eq!(
        (code, err.as_str()),
        (
            Some(2),
            "dmdesk: config key `pages`: no [[pages]] or [[instagram]] configured, nothing to sync\n"
        )
    );
    let (path, _) = config(dir.path(), &sim, "t", true);
    let (code, _, err) = run_blocking(&path, &["sync", "--account", "nosuch"]).await;
    assert_eq!(
        (code, err.as_str()),
        (
            Some(2),
            "dmdesk: --account nosuch: not a configured page or Instagram account id\n"
        )
    );
    assert_eq!(sim_calls(&sim), 0, "no call before the checks pass");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_interrupted_sync_says_so_exits_1_and_calls_nobody() {
    let sim = sim().await;
    let dir = tempfile::tempdir().unwrap();
    let (_, cfg) = config(dir.path(), &sim, &sim.ids().page_token, true);
    let store = Db::open(&cfg.store.path, 8, "test").unwrap();
    // Ctrl-C before the first call.
    let console = dmdesk::console::Console::local(None);
    console.cancel.cancel();
    let sync = dmdesk::oneshot::OneShot::Sync(dmdesk::cli::SyncArgs { account: None });
    let e = dmdesk::oneshot::run(sync, &cfg, Some(store), &console, None)
        .await
        .unwrap_err();
    assert_eq!(
        (e.code, e.message.as_str()),
        (1, "sync interrupted; run it again to resume")
    );
    assert_eq!(sim_calls(&sim), 0);
}
