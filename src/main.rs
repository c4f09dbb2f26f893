//! Parse the command line, load the config, set up logging, run the mode.

use clap::Parser;
use dmdesk::cli::{Cli, CliError, CliResult, Command};
use dmdesk::config::Config;
use dmdesk::db::Db;
use dmdesk::oneshot::OneShot;
use std::process::ExitCode;
use std::sync::Arc;

fn main() -> ExitCode {
    let cli = Cli::parse();
    if matches!(cli.command, None | Some(Command::Demo)) {
        dmdesk::tui::limit_malloc_arenas();
    }
    // Every descriptor the system allows this process: the webhook server's
    // connection cap is derived from it, far below it (see webhook::serve).
    let _ = dmdesk::webhook::serve::raise_nofile_limit();
    // Files this process creates (store, logs, drafts) are its user's alone;
    // where a group shares the store, start-up widens the store's modes.
    nix::sys::stat::umask(nix::sys::stat::Mode::from_bits_truncate(0o077));
    warn_if_config_readable(cli.config.as_deref());
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("dmdesk: cannot start the async runtime: {e}");
            return ExitCode::from(1);
        }
    };
    match rt.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("dmdesk: {}", e.message);
            ExitCode::from(e.code)
        }
    }
}

/// Logs go to stderr for headless and one-shot commands, to a file for the TUI.
fn log_to_stderr(default: &str) {
    let filter = tracing_subscriber::EnvFilter::try_from_env("DMDESK_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    use std::io::IsTerminal;
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::stderr().is_terminal())
        .with_writer(std::io::stderr)
        .try_init();
}

/// A config file that holds secrets and that other users can read gets a
/// warning, as ssh gives for keys.
fn warn_if_config_readable(explicit: Option<&std::path::Path>) {
    use std::os::unix::fs::PermissionsExt;
    let Some(path) = explicit
        .map(std::path::Path::to_path_buf)
        .or_else(dmdesk::config::default_config_path)
    else {
        return;
    };
    let Ok(meta) = std::fs::metadata(&path) else {
        return;
    };
    let mode = meta.permissions().mode() & 0o777;
    // Only a regular file of a config's size (the loader refuses the rest,
    // e.g. /dev/zero, without reading it to the end).
    if mode & 0o044 == 0 || !meta.is_file() || meta.len() > 1024 * 1024 {
        return;
    }
    let Ok(text) = std::fs::read_to_string(&path) else {
        return;
    };
    if let Some(key) = secret_in_file(&text) {
        eprintln!(
            "dmdesk: warning: {} holds a secret ({key}) and other users can read it (mode {mode:o}); run `chmod 600 {}` or move the secret to the environment",
            path.display(),
            path.display()
        );
    }
}

/// The first secret written in a config file's text, by key name.
fn secret_in_file(text: &str) -> Option<String> {
    let v: toml::Value = toml::from_str(text).ok()?;
    let set = |v: Option<&toml::Value>| {
        v.and_then(|v| v.as_str())
            .is_some_and(|s| !s.trim().is_empty())
    };
    for key in ["app_secret", "verify_token"] {
        if set(v.get("server").and_then(|s| s.get(key))) {
            return Some(format!("server.{key}"));
        }
    }
    for table in ["pages", "instagram"] {
        let blocks = v.get(table).and_then(|p| p.as_array());
        if blocks.is_some_and(|b| b.iter().any(|p| set(p.get("access_token")))) {
            return Some(format!("{table}.access_token"));
        }
    }
    // A database URL with a password in it.
    let url = v
        .get("store")
        .and_then(|s| s.get("url"))
        .and_then(|u| u.as_str());
    if url
        .and_then(|u| url::Url::parse(u).ok())
        .is_some_and(|u| u.password().is_some())
    {
        return Some("store.url".into());
    }
    None
}

/// The data directory above the default store and the state directory are
/// private (0700); an existing one that is more open is fixed, with a notice.
fn fix_dir_mode(dir: &std::path::Path) {
    use std::os::unix::fs::PermissionsExt;
    let Ok(meta) = std::fs::symlink_metadata(dir) else {
        return;
    };
    let have = meta.permissions().mode() & 0o7777;
    if meta.is_dir() && have & 0o077 != 0 {
        match std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700)) {
            Ok(()) => {
                tracing::warn!(path = %dir.display(), from = format!("{have:o}"), "directory was readable by others; now 700")
            }
            Err(e) => {
                tracing::warn!(path = %dir.display(), error = %e, "directory is readable by others and cannot be fixed")
            }
        }
    }
}

fn log_to_file() -> Option<tracing_appender::non_blocking::WorkerGuard> {
    let dir = dmdesk::config::state_dir();
    dmdesk::store::embedded::private_dir_all(&dir).ok()?;
    let appender = tracing_appender::rolling::daily(&dir, "dmdesk.log");
    let (writer, guard) = tracing_appender::non_blocking(appender);
    let filter = tracing_subscriber::EnvFilter::try_from_env("DMDESK_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(false)
        .with_writer(writer)
        .try_init()
        .ok()?;
    fix_dir_mode(&dir);
    Some(guard)
}

/// The config for one-shot commands: the file if there is one, else defaults.
/// Lenient about unset token variables: a command that may go through a
/// running owner needs no secrets; `require_secrets` before using them.
fn config_or_defaults(cli: &Cli) -> Result<Config, CliError> {
    Ok(match Config::load_lenient(cli.config.as_deref())? {
        Some(c) => c,
        None => Config::from_toml("", &|k| std::env::var(k).ok())?,
    })
}

/// Lenient like `config_or_defaults`.
fn config_required(cli: &Cli, what: &str) -> Result<Config, CliError> {
    Config::load_lenient(cli.config.as_deref())?.ok_or_else(|| {
        let at = dmdesk::config::default_config_path()
            .map(|p| p.display().to_string())
            .unwrap_or_else(|| "$XDG_CONFIG_HOME/dmdesk/config.toml".into());
        CliError::usage(format!(
            "`dmdesk {what}` needs a config file: none at {at} (pass --config PATH; see config.example.toml, or run `dmdesk demo`)"
        ))
    })
}

/// `[control] group` must name a group of this system (exit 2 otherwise).
fn check_control_group(cfg: &Config) -> Result<(), CliError> {
    match &cfg.control.group {
        Some(g) => dmdesk::control::peer::lookup_group(g)
            .map(|_| ())
            .map_err(|e| CliError::usage(format!("config key control.group: {e}"))),
        None => Ok(()),
    }
}

fn open_store(cfg: &Config, mode: &str) -> Result<Db, CliError> {
    // With `[control] group` the store is shared with that group (0750/0640).
    if let Some(g) = &cfg.control.group {
        if let Ok(g) = dmdesk::control::peer::lookup_group(g) {
            dmdesk::store::embedded::share_with_group(g.gid);
        }
    }
    if cfg.store.path == dmdesk::config::default_store_path() {
        if let Some(data) = cfg.store.path.parent() {
            fix_dir_mode(data);
        }
    }
    Ok(Db::open_config(&cfg.store, mode)?)
}

async fn run(cli: Cli) -> CliResult {
    match &cli.command {
        Some(Command::Serve) => {
            log_to_stderr("info");
            let cfg = config_required(&cli, "serve")?;
            cfg.require_secrets()?;
            cfg.check_server()?;
            check_control_group(&cfg)?;
            let store = open_store(&cfg, "serve")?;
            let running = dmdesk::runtime::start(Arc::new(cfg), store.clone(), true)
                .await
                .map_err(|e| CliError::runtime(e.to_string()))?;
            // A store that can no longer write (a full disk, a failed
            // fdatasync) ends serve with exit 1, so the service manager
            // restarts it: the event log is checked at start, and once the
            // disk has room Meta's retries are acknowledged again.
            let failed = tokio::select! {
                _ = dmdesk::runtime::shutdown_signal() => None,
                why = dmdesk::runtime::store_failure(&store) => Some(why),
            };
            tracing::info!("shutting down: finishing in-flight requests");
            running.shutdown().await;
            match failed {
                None => {
                    tracing::info!("stopped");
                    Ok(())
                }
                Some(why) => Err(CliError::runtime(format!("store unavailable: {why}"))),
            }
        }
        Some(Command::Sim(args)) => {
            log_to_stderr("info");
            match &args.command {
                Some(dmdesk::cli::SimCommand::Populate(p)) => {
                    let r = dmdesk::sim::populate(p)
                        .map_err(|e| CliError::runtime(format!("{e:#}")))?;
                    eprintln!(
                        "populated {}: {} conversations, {} messages in {:.1} s ({:.0} messages/s)",
                        p.store.display(),
                        r.conversations,
                        r.messages,
                        r.elapsed.as_secs_f64(),
                        r.messages_per_second()
                    );
                    Ok(())
                }
                None => {
                    // Sign with the configured app secret when there is a
                    // config; the simulator needs no page token.
                    let secret = Config::load_lenient(cli.config.as_deref())?
                        .map(|c| c.server.app_secret)
                        .unwrap_or_default();
                    dmdesk::sim::run(args, &secret)
                        .await
                        .map_err(|e| CliError::runtime(format!("{e:#}")))
                }
            }
        }
        Some(
            cmd @ (Command::Export(_)
            | Command::Replay(_)
            | Command::Sync(_)
            | Command::Send(_)
            | Command::Bulk(_)
            | Command::Doctor
            | Command::Report(_)
            | Command::Assign(_)
            | Command::Label(_)
            | Command::Note(_)),
        ) => {
            log_to_stderr("warn");
            let Some(shot) = OneShot::from_command(cmd)? else {
                return Err(CliError::usage("not a one-shot command"));
            };
            // An explicit socket needs no config: the owner has it.
            if let Some(socket) = &cli.socket {
                let Some(stream) = dmdesk::control::client::connect(socket).await else {
                    return Err(CliError::runtime(format!(
                        "no dmdesk answers on {} (is `dmdesk serve` running?)",
                        socket.display()
                    )));
                };
                return dmdesk::control::client::run_oneshot(stream, shot).await;
            }
            let cfg = if shot.needs_config() {
                config_required(&cli, shot.name())?
            } else {
                config_or_defaults(&cli)?
            };
            // A running dmdesk holds the store: it runs the command for us,
            // with the same output and exit code.
            let socket = dmdesk::control::socket_path(&cfg.store.path);
            if let Some(stream) = dmdesk::control::client::connect(&socket).await {
                return dmdesk::control::client::run_oneshot(stream, shot).await;
            }
            // No owner: this process opens the store and uses the tokens.
            cfg.require_secrets()?;
            let store = match shot {
                // The store is optional for doctor: it reports what it could not check.
                OneShot::Doctor => Db::open_config(&cfg.store, "doctor").ok(),
                _ => Some(open_store(&cfg, shot.name())?),
            };
            let console = dmdesk::console::Console::local(dmdesk::control::peer::current_user());
            dmdesk::oneshot::run(shot, &cfg, store, &console, None).await
        }
        Some(Command::Migrate(args)) => {
            log_to_stderr("warn");
            let cfg = config_required(&cli, "migrate")?;
            let args = args.clone();
            tokio::task::spawn_blocking(move || dmdesk::migrate::cli::run(&cfg, &args))
                .await
                .map_err(|e| CliError::runtime(format!("migrate: {e}")))?
        }
        Some(Command::Demo) => run_demo().await,
        Some(Command::Completions(a)) => {
            dmdesk::cli::completions(a.shell, &mut std::io::stdout());
            Ok(())
        }
        Some(Command::Man(a)) => match &a.dir {
            Some(dir) => {
                for f in dmdesk::cli::man_pages_into(dir)? {
                    println!("{}", f.display());
                }
                Ok(())
            }
            None => dmdesk::cli::man_page(a.subcommand.as_deref(), &mut std::io::stdout()).map_err(
                |e| match e.kind() {
                    std::io::ErrorKind::NotFound => CliError::usage(e.to_string()),
                    _ => CliError::runtime(e.to_string()),
                },
            ),
        },
        Some(Command::Attach(args)) => {
            // The config is optional: agents may not be allowed to read it.
            let cfg = config_or_defaults(&cli)?;
            dmdesk::app::keymap::Keymap::with_overrides(&cfg.ui.keys)
                .map_err(|e| CliError::usage(format!("config key {e}")))?;
            let _log = log_to_file();
            let socket = args
                .socket
                .clone()
                .or_else(|| cli.socket.clone())
                .unwrap_or_else(|| dmdesk::control::socket_path(&cfg.store.path));
            run_attached(cfg, &socket).await
        }
        None => match (Config::load_lenient(cli.config.as_deref())?, &cli.socket) {
            // A named socket: attach to that owner (no config needed).
            (cfg, Some(socket)) => {
                let cfg = match cfg {
                    Some(c) => c,
                    None => config_or_defaults(&cli)?,
                };
                let _log = log_to_file();
                run_attached(cfg, socket).await
            }
            (Some(cfg), None) => run_inbox(cfg).await,
            (None, None) => run_demo().await,
        },
    }
}

/// The inbox: TUI with the webhook server, ingest and workers in this process.
async fn run_inbox(cfg: Config) -> CliResult {
    check_control_group(&cfg)?;
    // A bad key binding is a configuration error (exit 2), found before the
    // terminal changes.
    dmdesk::app::keymap::Keymap::with_overrides(&cfg.ui.keys)
        .map_err(|e| CliError::usage(format!("config key {e}")))?;
    let _log = log_to_file();
    // Another dmdesk holds the store: attach to it (teams).
    let socket = dmdesk::control::socket_path(&cfg.store.path);
    if dmdesk::control::client::connect(&socket).await.is_some() {
        return run_attached(cfg, &socket).await;
    }
    // The owner resolves the tokens; an attached UI needs none.
    cfg.require_secrets()?;
    if cfg.server.enabled {
        cfg.check_server()?;
    }
    let store = open_store(&cfg, "inbox")?;
    let serve = cfg.server.enabled;
    let running = dmdesk::runtime::start(Arc::new(cfg), store, serve)
        .await
        .map_err(|e| CliError::runtime(e.to_string()))?;
    run_tui(running, false).await
}

/// Demo: the simulator plays Meta on loopback; the store is temporary.
async fn run_demo() -> CliResult {
    let _log = log_to_file();
    let dir = std::env::temp_dir().join(format!("dmdesk-demo-{}", std::process::id()));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let mut sim_cfg = dmdesk::sim::SimConfig::demo(Some(format!("http://{addr}/webhook")));
    sim_cfg.rate = 0.2;
    sim_cfg.reply_probability = 0.5;
    sim_cfg.seed = rand::random();
    let sim = dmdesk::sim::Simulator::start(sim_cfg)
        .await
        .map_err(|e| CliError::runtime(format!("demo simulator: {e}")))?;
    let cfg = Config::demo(dir.join("store"), addr, sim.graph_base_url.clone());
    let store = open_store(&cfg, "demo")?;
    let running = dmdesk::runtime::start_with(Arc::new(cfg), store, Some(listener))
        .await
        .map_err(|e| CliError::runtime(e.to_string()))?;
    let result = run_tui(running, true).await;
    sim.shutdown().await;
    tracing::info!("simulator stopped");
    let _ = std::fs::remove_dir_all(&dir);
    result
}

/// The inbox attached to the process that owns the store.
async fn run_attached(cfg: Config, socket: &std::path::Path) -> CliResult {
    let (remote, hello, pushed) = dmdesk::control::client::Remote::attach(socket)
        .await
        .map_err(|e| {
            CliError::runtime(format!(
                "{e} (is `dmdesk serve` running, and may this user use its socket? see control.group)"
            ))
        })?;
    tracing::info!(socket = %socket.display(), "attached to the owning dmdesk");
    let ctx = dmdesk::tui::TuiCtx {
        config: Arc::new(cfg),
        listen: None,
        demo: false,
        source: dmdesk::tui::Source::Attached {
            remote,
            hello: Box::new(hello),
            pushed,
        },
    };
    dmdesk::tui::run(ctx)
        .await
        .map_err(|e| CliError::runtime(format!("{e:#}")))
}

async fn run_tui(running: dmdesk::runtime::Running, demo: bool) -> CliResult {
    let ctx = dmdesk::tui::TuiCtx {
        config: running.config.clone(),
        listen: running.local_addr.map(|a| a.to_string()),
        demo,
        source: dmdesk::tui::Source::Local {
            store: running.store.clone(),
            jobs: running.jobs.clone(),
            presence: Some(running.presence.clone()),
        },
    };
    let result = dmdesk::tui::run(ctx).await;
    tracing::info!("TUI closed; stopping workers");
    running.shutdown().await;
    tracing::info!("workers stopped");
    result.map_err(|e| CliError::runtime(format!("{e:#}")))
}
