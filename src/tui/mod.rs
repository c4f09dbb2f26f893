//! The edge of the terminal UI: terminal setup and restore (Drop guard and a
//! panic hook that restores and exits), the real terminal's [`Host`], and
//! `run`, which wires the event loop (src/tui/event_loop.rs) to the data
//! worker (src/tui/data.rs) and through it to the inbox (src/inbox/).

pub mod attach;
pub mod attached;
pub mod data;
pub mod drafts;
pub mod event_loop;
pub mod media;
pub mod options;
pub mod port;

use crate::app::keymap::Keymap;
use crate::app::state::{Options, State};
use crate::config::Config;
use crate::db::Db;
use crate::domain::TimestampMs;
use crate::workers::JobSender;
use data::DataWorker;
pub use event_loop::{run_loop, Headless, Host};
use ratatui::backend::CrosstermBackend;
use ratatui::crossterm::event::{
    DisableBracketedPaste, DisableFocusChange, DisableMouseCapture, EnableBracketedPaste,
    EnableFocusChange, EnableMouseCapture, EventStream,
};
use ratatui::crossterm::terminal::{
    disable_raw_mode, enable_raw_mode, EnterAlternateScreen, LeaveAlternateScreen, SetTitle,
};
use ratatui::crossterm::{cursor, execute};
use ratatui::Terminal;
use std::io::{self, Stdout, Write};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

/// What `main` hands the TUI.
pub struct TuiCtx {
    /// The agent's config: keys and UI settings (pages too, when local).
    pub config: Arc<Config>,
    /// Webhook listening address, for the status bar.
    pub listen: Option<String>,
    pub demo: bool,
    pub source: Source,
}

/// Where the data is.
pub enum Source {
    /// This process holds the store and runs the workers.
    Local {
        store: Db,
        jobs: JobSender,
        presence: Option<Arc<crate::inbox::presence::Presence>>,
    },
    /// Attached to the process that holds it (teams).
    Attached {
        remote: crate::control::client::Remote,
        hello: Box<crate::control::protocol::Reply>,
        pushed: tokio::sync::mpsc::UnboundedReceiver<crate::control::client::Pushed>,
    },
}

/// True while the terminal is in raw/alternate mode.
static ACTIVE: AtomicBool = AtomicBool::new(false);

/// glibc arenas the inbox may use unless `MALLOC_ARENA_MAX` says otherwise.
/// glibc's default (8 per core) left about 30 MB of fragmented arenas after
/// sled's recovery on its IO threads (BENCHMARKS.md, issue 19).
pub const MALLOC_ARENAS: i32 = 2;

/// Cap glibc's malloc arenas; call first thing, before any thread starts.
pub fn limit_malloc_arenas() {
    if std::env::var_os("MALLOC_ARENA_MAX").is_some() {
        return;
    }
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only sets a tunable; called before other threads run.
    unsafe {
        libc::mallopt(libc::M_ARENA_MAX, MALLOC_ARENAS);
    }
}

/// Undo every mode `enter` set. Safe to call more than once.
pub fn restore_terminal() {
    if ACTIVE.swap(false, Ordering::SeqCst) {
        let mut out = io::stdout();
        let _ = execute!(
            out,
            DisableBracketedPaste,
            DisableFocusChange,
            DisableMouseCapture,
            LeaveAlternateScreen,
            cursor::Show
        );
        let _ = disable_raw_mode();
        let _ = out.flush();
    }
}

fn enter_terminal() -> io::Result<()> {
    enable_raw_mode()?;
    ACTIVE.store(true, Ordering::SeqCst);
    execute!(
        io::stdout(),
        EnterAlternateScreen,
        EnableMouseCapture,
        EnableBracketedPaste,
        // Focus reports decide desktop notifications (tmux: `focus-events on`).
        EnableFocusChange
    )?;
    Ok(())
}

/// A panic anywhere (also in a tokio task, which would otherwise leave the
/// UI running on a broken process) restores the terminal, reports, and exits.
fn install_panic_hook() {
    let prev = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let was_active = ACTIVE.load(Ordering::SeqCst);
        restore_terminal();
        prev(info);
        if was_active {
            std::process::exit(101);
        }
    }));
}

/// The real terminal. Restores it on every way out of `run` (return, `?`,
/// unwinding) by Drop.
struct Tty {
    terminal: Terminal<CrosstermBackend<Stdout>>,
    /// None while $EDITOR has the terminal: the stream must be dropped
    /// before a new one is made (see `edit_externally`).
    events: Option<EventStream>,
    /// `[ui] osc52_passthrough`: wrap copies for tmux's passthrough.
    passthrough: bool,
    /// Pictures, notifications, links (src/tui/media/).
    media: media::TtyMedia,
}

impl Tty {
    fn init() -> io::Result<Tty> {
        enter_terminal()?;
        let terminal = match Terminal::new(CrosstermBackend::new(io::stdout())) {
            Ok(t) => t,
            Err(e) => {
                restore_terminal();
                return Err(e);
            }
        };
        Ok(Tty {
            terminal,
            events: Some(EventStream::new()),
            passthrough: false,
            media: Default::default(),
        })
    }
}

impl Drop for Tty {
    fn drop(&mut self) {
        restore_terminal();
    }
}

impl Host for Tty {
    type Backend = CrosstermBackend<Stdout>;
    type Input = EventStream;

    fn terminal(&mut self) -> &mut Terminal<Self::Backend> {
        &mut self.terminal
    }

    fn input(&mut self) -> &mut EventStream {
        self.events.get_or_insert_with(EventStream::new)
    }

    fn bell(&mut self) {
        let mut out = io::stdout();
        let _ = out.write_all(b"\x07");
        let _ = out.flush();
    }

    fn set_title(&mut self, title: &str) {
        let _ = execute!(io::stdout(), SetTitle(title));
    }

    fn copy(&mut self, text: &str) {
        osc52(text, self.passthrough);
    }

    async fn edit(&mut self, text: String) -> Option<String> {
        edit_externally(self, text).await
    }

    fn picture(&mut self, request: crate::media::picture::PictureRequest) {
        self.media.picture(request);
    }

    fn notify(&mut self, title: &str, body: &str) {
        self.media.notify(title, body);
    }

    fn open_link(&mut self, url: &str) {
        self.media.open_link(url);
    }
}

/// Run the terminal inbox until the agent quits.
pub async fn run(ctx: TuiCtx) -> anyhow::Result<()> {
    // Configuration errors surface before the terminal changes.
    let keymap = Keymap::with_overrides(&ctx.config.ui.keys)?;
    let me = crate::control::peer::current_user();
    match ctx.source {
        Source::Local {
            store,
            jobs,
            presence,
        } => {
            let mut opts = options::from_config(&ctx.config, keymap);
            opts.listen = ctx.listen.clone();
            opts.demo = ctx.demo || ctx.config.demo;
            opts.me = me.clone();
            let data = port::Local {
                inbox: crate::inbox::Inbox::new(store.clone(), jobs)
                    .with_presence(presence)
                    .with_config(ctx.config.clone()),
                caller: crate::inbox::Caller {
                    session: 0,
                    agent: me,
                },
            };
            // Subscribe before the first read so no change falls between them.
            let updates = store.subscribe();
            opts.dead_tokens = crate::tokens::dead_pages(&store, &ctx.config.pages);
            opts.synced = crate::sync::last_synced(&store, &ctx.config.pages);
            drive(opts, &ctx.config, Arc::new(data), updates, None).await
        }
        Source::Attached {
            remote,
            hello,
            pushed,
        } => {
            let crate::control::protocol::Reply::Hello {
                agent,
                session,
                owner_pid,
                listen,
                demo,
                pages,
                canned,
                ..
            } = *hello
            else {
                anyhow::bail!("the owner did not greet this client");
            };
            // Pages and canned replies are the owner's; keys and bell are ours.
            let mut cfg = (*ctx.config).clone();
            cfg.pages = pages
                .into_iter()
                .map(|p| crate::config::PageConfig {
                    id: p.id,
                    name: p.name,
                    access_token: crate::secret::Secret::default(),
                    instagram_id: p.instagram_id,
                    human_agent: p.human_agent,
                })
                .collect();
            cfg.canned = canned;
            let mut opts = options::from_config(&cfg, keymap);
            opts.listen = Some(crate::app::state::attached_label(
                listen.as_deref(),
                owner_pid,
            ));
            opts.demo = demo;
            opts.me = Some(agent);
            opts.session = session;
            let data = attached::RemotePort {
                remote: remote.clone(),
                handle: tokio::runtime::Handle::current(),
            };
            let updates = attached::pump(pushed);
            drive(opts, &ctx.config, Arc::new(data), updates, Some(remote)).await
        }
    }
}

async fn drive(
    mut opts: Options,
    config: &Config,
    data: Arc<dyn port::Port>,
    updates: impl event_loop::Updates,
    owner: Option<crate::control::client::Remote>,
) -> anyhow::Result<()> {
    let ui = &config.ui;
    opts.no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
    if ui.ascii.is_none() {
        let var = |k| std::env::var(k).ok();
        opts.ascii = !crate::ui::symbols::locale_is_utf8(
            var("LC_ALL").as_deref(),
            var("LC_CTYPE").as_deref(),
            var("LANG").as_deref(),
        );
    }
    let mut data = DataWorker::start(data)?;
    // Before the terminal is taken: the picture setup may query it.
    let (tty_media, updates) = media::setup(config, &mut opts, updates, owner.as_ref());
    install_panic_hook();
    let mut tty = Tty::init()?;
    tty.passthrough = ui.osc52_passthrough;
    tty.media = tty_media;
    let size = tty.terminal.size()?;
    let mut state = State::new(opts, TimestampMs::now(), (size.width, size.height));
    if state.opts.title {
        tty.set_title("dmdesk");
    }
    let result = run_loop(&mut tty, &mut state, updates, &mut data).await;
    // The terminal comes back at once; queued writes (the draft) finish after.
    drop(tty);
    data.finish().await;
    Ok(result?)
}

/// The editor command for `$VISUAL`/`$EDITOR` (`vi` when unset) and the
/// file: the variable is split with shell-word rules, so quoted paths and
/// arguments (`code -w`, `"/opt/my editor/bin/ed" --wait`) work. None when
/// the variable cannot be split (an unclosed quote) or is blank.
pub fn editor_command(var: Option<&str>, file: &std::path::Path) -> Option<std::process::Command> {
    let var = var.filter(|v| !v.trim().is_empty()).unwrap_or("vi");
    let words = shell_words::split(var).ok()?;
    let (prog, args) = words.split_first()?;
    let mut cmd = std::process::Command::new(prog);
    cmd.args(args).arg(file);
    Some(cmd)
}

/// Leave the terminal to $EDITOR on a private temp file (created anew, 0600,
/// never a path an attacker can predict or plant a symlink at), then take the
/// terminal back. The event stream is dropped meanwhile so it does not steal
/// the editor's input.
async fn edit_externally(tty: &mut Tty, text: String) -> Option<String> {
    use std::io::Write;
    let mut file = tempfile::Builder::new()
        .prefix("dmdesk-draft-")
        .suffix(".txt")
        .tempfile()
        .ok()?;
    file.write_all(text.as_bytes()).ok()?;
    file.flush().ok()?;
    let path = file.path().to_path_buf();
    let editor = std::env::var("VISUAL")
        .ok()
        .filter(|v| !v.trim().is_empty())
        .or_else(|| std::env::var("EDITOR").ok());
    let Some(mut cmd) = editor_command(editor.as_deref(), &path) else {
        tracing::warn!("$VISUAL/$EDITOR cannot be split into a command (unclosed quote?)");
        return None;
    };
    // Drop the old stream first: its reader thread holds crossterm's event
    // reader lock while it waits for input, and `EventStream::new` takes
    // that lock, so making the new one first (`events = new()`) blocked
    // until the next key press, which then landed in the draft. Dropping
    // wakes that thread and it lets go.
    tty.events = None;
    restore_terminal();
    let status = tokio::task::spawn_blocking(move || cmd.status()).await;
    let _ = enter_terminal();
    let _ = tty.terminal.clear();
    tty.events = Some(EventStream::new());
    // Read by path: editors may replace the file rather than write into it.
    let result = match status {
        Ok(Ok(s)) if s.success() => std::fs::read_to_string(&path).ok(),
        _ => None,
    };
    drop(file); // removes it
    result
}

/// The OSC 52 sequence that puts `text` on the terminal's clipboard; wrapped
/// for tmux passthrough when `tmux` is true.
pub fn osc52_sequence(text: &str, tmux: bool) -> String {
    use base64::Engine;
    let b64 = base64::engine::general_purpose::STANDARD.encode(text.as_bytes());
    if tmux {
        format!("\x1bPtmux;\x1b\x1b]52;c;{b64}\x07\x1b\\")
    } else {
        format!("\x1b]52;c;{b64}\x07")
    }
}

/// Plain OSC 52 by default, also inside tmux: tmux drops DCS passthrough
/// unless `allow-passthrough` is on (off by default), while it takes a
/// plain OSC 52 into its buffer with `set-clipboard on`.
fn osc52(text: &str, passthrough: bool) {
    let seq = osc52_sequence(text, passthrough && std::env::var_os("TMUX").is_some());
    let mut out = io::stdout();
    let _ = out.write_all(seq.as_bytes());
    let _ = out.flush();
}

#[cfg(test)]
mod tests {
    use super::*;

    fn argv(var: Option<&str>) -> Option<Vec<String>> {
        let cmd = editor_command(var, std::path::Path::new("/tmp/d x.txt"))?;
        let mut v = vec![cmd.get_program().to_string_lossy().into_owned()];
        v.extend(cmd.get_args().map(|a| a.to_string_lossy().into_owned()));
        Some(v)
    }

    #[test]
    fn editor_is_split_with_shell_word_rules() {
        assert_eq!(
            argv(Some("code -w")).unwrap(),
            ["code", "-w", "/tmp/d x.txt"]
        );
        assert_eq!(
            argv(Some(r#""/opt/my editor/bin/ed" --wait"#)).unwrap(),
            ["/opt/my editor/bin/ed", "--wait", "/tmp/d x.txt"]
        );
        assert_eq!(
            argv(Some("emacsclient -a '' -c")).unwrap(),
            ["emacsclient", "-a", "", "-c", "/tmp/d x.txt"]
        );
        assert_eq!(argv(None).unwrap(), ["vi", "/tmp/d x.txt"]);
        assert_eq!(argv(Some("   ")).unwrap(), ["vi", "/tmp/d x.txt"]);
        assert!(argv(Some("vim 'unclosed")).is_none());
    }

    #[test]
    fn osc52_plain_and_tmux() {
        assert_eq!(osc52_sequence("hi", false), "\x1b]52;c;aGk=\x07");
        assert_eq!(
            osc52_sequence("hi", true),
            "\x1bPtmux;\x1b\x1b]52;c;aGk=\x07\x1b\\"
        );
    }
}
