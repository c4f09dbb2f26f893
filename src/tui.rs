//! The edge of the terminal UI: terminal setup and restore (Drop guard and a
//! panic hook that restores and exits), the event loop, and the execution of
//! the `Command`s that the pure `app::update` returns.

use crate::app::command::Command;
use crate::app::event::{Event, ListRows, ThreadData};
use crate::app::keymap::Keymap;
use crate::app::state::{Options, State};
use crate::app::{self};
use crate::config::Config;
use crate::domain::TimestampMs;
use crate::store::{Store, Update};
use crate::workers::JobSender;
use futures::{FutureExt, StreamExt};
use ratatui::backend::CrosstermBackend;
use ratatui::crossterm::event::{
    DisableBracketedPaste, DisableMouseCapture, EnableBracketedPaste, EnableMouseCapture,
    Event as CtEvent, EventStream, MouseEventKind,
};
use ratatui::crossterm::terminal::{
    disable_raw_mode, enable_raw_mode, EnterAlternateScreen, LeaveAlternateScreen, SetTitle,
};
use ratatui::crossterm::{cursor, execute};
use ratatui::Terminal;
use std::collections::VecDeque;
use std::io::{self, Stdout, Write};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::broadcast::error::TryRecvError;

/// What the lead's `main` hands the TUI.
pub struct TuiCtx {
    pub store: Arc<Store>,
    pub config: Arc<Config>,
    pub jobs: JobSender,
    /// Webhook listening address, for the status bar.
    pub listen: Option<String>,
    pub demo: bool,
    /// The owner's presence table (collision notices).
    pub presence: Option<Arc<crate::control::presence::Presence>>,
}

/// The clock tick: countdowns in the list and composer move with it.
const TICK: Duration = Duration::from_secs(5);
/// Cap on events handled before a frame is drawn, so a flood cannot starve drawing.
const MAX_BATCH: usize = 2000;

/// True while the terminal is in raw/alternate mode.
static ACTIVE: AtomicBool = AtomicBool::new(false);

/// Undo every mode `enter` set. Safe to call more than once.
pub fn restore_terminal() {
    if ACTIVE.swap(false, Ordering::SeqCst) {
        let mut out = io::stdout();
        let _ = execute!(
            out,
            DisableBracketedPaste,
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
        EnableBracketedPaste
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

/// Restores the terminal on every way out of `run` (return, `?`, unwinding).
struct Guard {
    terminal: Terminal<CrosstermBackend<Stdout>>,
}

impl Guard {
    fn init() -> io::Result<Guard> {
        enter_terminal()?;
        let terminal = match Terminal::new(CrosstermBackend::new(io::stdout())) {
            Ok(t) => t,
            Err(e) => {
                restore_terminal();
                return Err(e);
            }
        };
        Ok(Guard { terminal })
    }
}

impl Drop for Guard {
    fn drop(&mut self) {
        restore_terminal();
    }
}

/// Run the terminal inbox until the agent quits.
pub async fn run(ctx: TuiCtx) -> anyhow::Result<()> {
    // Configuration errors surface before the terminal changes.
    let keymap = Keymap::with_overrides(&ctx.config.ui.keys)?;
    let mut opts = Options::from_config(&ctx.config, keymap);
    opts.listen = ctx.listen.clone();
    opts.demo = ctx.demo || ctx.config.demo;
    opts.me = crate::control::peer::current_user();
    opts.no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
    // Subscribe before the first read so no change falls between them.
    let mut updates = ctx.store.subscribe();

    install_panic_hook();
    let mut guard = Guard::init()?;
    let size = guard.terminal.size()?;
    let mut state = State::new(opts, TimestampMs::now(), (size.width, size.height));
    let edge = Edge {
        store: ctx.store.clone(),
        jobs: ctx.jobs.clone(),
        presence: ctx.presence.clone(),
    };
    if state.opts.title {
        let _ = execute!(io::stdout(), SetTitle("dmdesk"));
    }

    let mut events = EventStream::new();
    let mut tick = tokio::time::interval(TICK);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut updates_open = true;
    let mut queue: VecDeque<Event> = VecDeque::new();
    let mut pending_cmds = app::init(&mut state);
    let mut dirty = true;

    loop {
        // Execute what the last batch asked for; loads feed events back.
        edge.execute(
            &mut state,
            &mut guard,
            &mut events,
            std::mem::take(&mut pending_cmds),
            &mut queue,
        )
        .await;
        while let Some(ev) = queue.pop_front() {
            let cmds = app::update(&mut state, ev);
            dirty = true;
            edge.execute(&mut state, &mut guard, &mut events, cmds, &mut queue)
                .await;
        }
        if state.quit {
            break;
        }
        if dirty {
            guard.terminal.draw(|f| crate::ui::render(&state, f))?;
            dirty = false;
        }

        // Wait for the next thing to happen...
        let first = tokio::select! {
            ev = events.next() => match ev {
                Some(Ok(e)) => to_event(e),
                Some(Err(e)) => return Err(e.into()),
                None => break,
            },
            u = updates.recv(), if updates_open => match u {
                Ok(u) => Some(Event::Update(u)),
                Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => Some(Event::Lagged),
                Err(tokio::sync::broadcast::error::RecvError::Closed) => { updates_open = false; None }
            },
            _ = tick.tick() => Some(Event::Tick { now: TimestampMs::now() }),
        };
        // ...then drain everything already pending, so a burst is one frame.
        let mut batch: Vec<Event> = first.into_iter().collect();
        while batch.len() < MAX_BATCH {
            let mut got = false;
            if updates_open {
                match updates.try_recv() {
                    Ok(u) => {
                        batch.push(Event::Update(u));
                        got = true;
                    }
                    Err(TryRecvError::Lagged(_)) => {
                        batch.push(Event::Lagged);
                        got = true;
                    }
                    Err(TryRecvError::Closed) => updates_open = false,
                    Err(TryRecvError::Empty) => {}
                }
            }
            if let Some(Some(Ok(e))) = events.next().now_or_never() {
                batch.extend(to_event(e));
                got = true;
            }
            if !got {
                break;
            }
        }
        for ev in batch {
            pending_cmds.extend(app::update(&mut state, ev));
            dirty = true;
        }
    }
    // Quit: run the last commands (draft saves), then restore via Drop.
    edge.execute(
        &mut state,
        &mut guard,
        &mut events,
        pending_cmds,
        &mut queue,
    )
    .await;
    drop(guard);
    Ok(())
}

fn to_event(e: CtEvent) -> Option<Event> {
    match e {
        CtEvent::Key(k) => Some(Event::Key(k)),
        // Motion without a button would redraw on every mouse move.
        CtEvent::Mouse(m) if m.kind == MouseEventKind::Moved => None,
        CtEvent::Mouse(m) => Some(Event::Mouse(m)),
        CtEvent::Paste(p) => Some(Event::Paste(p)),
        CtEvent::Resize(width, height) => Some(Event::Resize { width, height }),
        _ => None,
    }
}

struct Edge {
    store: Arc<Store>,
    jobs: JobSender,
    presence: Option<Arc<crate::control::presence::Presence>>,
}

impl Edge {
    /// Run commands in order; of several list loads only the last runs (a
    /// burst of updates reorders the list once).
    async fn execute(
        &self,
        state: &mut State,
        guard: &mut Guard,
        events: &mut EventStream,
        cmds: Vec<Command>,
        queue: &mut VecDeque<Event>,
    ) {
        let last_list = cmds
            .iter()
            .rposition(|c| matches!(c, Command::LoadList { .. }));
        for (i, c) in cmds.into_iter().enumerate() {
            if matches!(c, Command::LoadList { .. }) && Some(i) != last_list {
                continue;
            }
            if let Err(e) = self.one(state, guard, events, c, queue).await {
                tracing::warn!(error = %e, "UI command failed");
                queue.push_back(Event::Update(Update::Error(e)));
            }
        }
    }

    async fn one(
        &self,
        state: &mut State,
        guard: &mut Guard,
        events: &mut EventStream,
        c: Command,
        queue: &mut VecDeque<Event>,
    ) -> Result<(), String> {
        let st = &self.store;
        let err = |e: crate::store::StoreError| e.to_string();
        match c {
            Command::LoadList {
                filter,
                offset,
                limit,
                count,
                generation,
            } => {
                let rows = st.conversations(&filter, offset, limit).map_err(err)?;
                let total = if filter.is_empty() {
                    Some(st.conversation_count().map_err(err)?)
                } else if count {
                    Some(st.count_matching(&filter).map_err(err)?)
                } else {
                    None
                };
                queue.push_back(Event::ListLoaded(ListRows {
                    offset,
                    rows,
                    total,
                    generation,
                }));
            }
            Command::LoadThread { conv, limit } => {
                let Some(c) = st.conversation(&conv).map_err(err)? else {
                    return Ok(());
                };
                let data = ThreadData {
                    contact: st.contact(&conv).map_err(err)?,
                    messages: st.messages_latest(&conv, limit).map_err(err)?,
                    draft: st.draft(&conv).map_err(err)?,
                    conv: c,
                    limit,
                };
                queue.push_back(Event::ThreadLoaded(Box::new(data)));
            }
            Command::LoadOlder {
                conv,
                before,
                limit,
            } => {
                let messages = st.messages_before(&conv, &before, limit).map_err(err)?;
                queue.push_back(Event::OlderLoaded {
                    conv,
                    messages,
                    limit,
                });
            }
            Command::MarkRead(k) => st.mark_read(&k).map_err(err)?,
            Command::MarkUnread(k) => st.mark_unread(&k).map_err(err)?,
            Command::SetStatus {
                conv,
                status,
                snooze_until,
            } => st.set_status(&conv, status, snooze_until).map_err(err)?,
            Command::SaveDraft { conv, text } => st.set_draft(&conv, &text).map_err(err)?,
            Command::Job(j) => self
                .jobs
                .send(j)
                .map_err(|_| "the background workers have stopped; restart dmdesk".to_string())?,
            Command::LoadUnread { request } => {
                // A full scan: off the UI loop; the answer comes back in
                // order with the store's updates.
                let store = self.store.clone();
                drop(tokio::task::spawn_blocking(move || {
                    match store.unread_counts() {
                        Ok(counts) => store.publish(Update::Unread { request, counts }),
                        Err(e) => store.report_error(format!("counting unread: {e}")),
                    }
                }));
            }
            Command::FindUrgent => {
                let now = state.now;
                let found = app::urgent::pick(
                    st.all_conversations().filter_map(|c| c.ok()),
                    |c| state.human_agent_allowed(c),
                    now,
                );
                queue.push_back(Event::UrgentFound(found));
            }
            Command::OpenEditor { text } => {
                let result = edit_externally(guard, events, text).await;
                queue.push_back(Event::EditorDone { text: result });
            }
            Command::Copy(text) => osc52(&text),
            Command::Presence { conv, typing } => {
                if let (Some(p), Some(me)) = (&self.presence, &state.opts.me) {
                    p.set(state.opts.session, me, conv, typing);
                }
            }
            Command::Bell => {
                let mut out = io::stdout();
                let _ = out.write_all(b"\x07");
                let _ = out.flush();
            }
            Command::SetTitle(t) => {
                let _ = execute!(io::stdout(), SetTitle(t));
            }
            Command::Quit => state.quit = true,
        }
        Ok(())
    }
}

/// Leave the terminal to $EDITOR on a temp file, then take it back. The
/// event stream is dropped meanwhile so it does not steal the editor's input.
async fn edit_externally(
    guard: &mut Guard,
    events: &mut EventStream,
    text: String,
) -> Option<String> {
    let dir = std::env::temp_dir();
    let path = dir.join(format!("dmdesk-draft-{}.txt", std::process::id()));
    if std::fs::write(&path, &text).is_err() {
        return None;
    }
    *events = EventStream::new(); // drops the old stream's reader thread
    restore_terminal();
    let editor = std::env::var("VISUAL")
        .or_else(|_| std::env::var("EDITOR"))
        .unwrap_or_else(|_| "vi".to_string());
    let p = path.clone();
    let status = tokio::task::spawn_blocking(move || {
        // The editor string may carry arguments ("code -w").
        let mut parts = editor.split_whitespace();
        let prog = parts.next().unwrap_or("vi").to_string();
        std::process::Command::new(prog)
            .args(parts)
            .arg(&p)
            .status()
    })
    .await;
    let _ = enter_terminal();
    let _ = guard.terminal.clear();
    *events = EventStream::new();
    let result = match status {
        Ok(Ok(s)) if s.success() => std::fs::read_to_string(&path).ok(),
        _ => None,
    };
    let _ = std::fs::remove_file(&path);
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

fn osc52(text: &str) {
    let seq = osc52_sequence(text, std::env::var_os("TMUX").is_some());
    let mut out = io::stdout();
    let _ = out.write_all(seq.as_bytes());
    let _ = out.flush();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn osc52_plain_and_tmux() {
        assert_eq!(osc52_sequence("hi", false), "\x1b]52;c;aGk=\x07");
        assert_eq!(
            osc52_sequence("hi", true),
            "\x1bPtmux;\x1b\x1b]52;c;aGk=\x07\x1b\\"
        );
    }
}
