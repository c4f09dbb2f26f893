//! The event loop, generic over the ratatui backend and the input stream so
//! a benchmark or test drives the real loop on a `TestBackend`.
//!
//! One turn: wait for something (input, a store update, a data result, the
//! clock), drain everything already pending so a burst becomes one frame,
//! run `app::update` on each, hand data commands to the data worker (never
//! waiting for them), and draw once if anything changed.

use super::data::DataWorker;
use crate::app::command::Command;
use crate::app::event::Event;
use crate::app::{self, State};
use crate::bus::{RecvError, Subscription};
use crate::domain::TimestampMs;
use crate::inbox::Request;
use futures::{Stream, StreamExt};
use ratatui::backend::Backend;
use ratatui::crossterm::event::{Event as CtEvent, MouseEventKind};
use ratatui::Terminal;
use std::future::Future;
use std::io;
use std::task::Poll;
use std::time::Duration;

/// The clock tick: countdowns in the list and composer move with it.
pub const TICK: Duration = Duration::from_secs(5);
/// Cap on events handled before a frame is drawn, so a flood cannot starve drawing.
const MAX_BATCH: usize = 2000;

/// Where store updates come from: this process's store, or the owner's
/// over the control socket (attached UI).
pub trait Updates {
    /// The next update as an event; None once the source is closed.
    fn recv(&mut self) -> impl Future<Output = Option<Event>>;
    /// An update already waiting, if any.
    fn try_recv(&mut self) -> Option<Event>;
}

impl Updates for Subscription {
    async fn recv(&mut self) -> Option<Event> {
        match Subscription::recv(self).await {
            Ok(p) => Some(Event::Update((*p.update).clone())),
            Err(RecvError::Missed(_)) => Some(Event::Lagged),
            Err(RecvError::Closed) => None,
        }
    }
    fn try_recv(&mut self) -> Option<Event> {
        match Subscription::try_recv(self)? {
            Ok(p) => Some(Event::Update((*p.update).clone())),
            Err(RecvError::Missed(_)) => Some(Event::Lagged),
            Err(RecvError::Closed) => None,
        }
    }
}

impl Updates for tokio::sync::mpsc::UnboundedReceiver<Event> {
    async fn recv(&mut self) -> Option<Event> {
        tokio::sync::mpsc::UnboundedReceiver::recv(self).await
    }
    fn try_recv(&mut self) -> Option<Event> {
        tokio::sync::mpsc::UnboundedReceiver::try_recv(self).ok()
    }
}

/// The terminal side of the loop: where frames go, where input comes from,
/// and the effects that are not frames.
pub trait Host {
    type Backend: Backend;
    type Input: Stream<Item = io::Result<CtEvent>> + Unpin;
    fn terminal(&mut self) -> &mut Terminal<Self::Backend>;
    fn input(&mut self) -> &mut Self::Input;
    fn bell(&mut self);
    fn set_title(&mut self, title: &str);
    fn copy(&mut self, text: &str);
    /// Hand the terminal to $EDITOR on `text`; the edited text, or None.
    fn edit(&mut self, text: String) -> impl Future<Output = Option<String>>;
    /// Fetch/decode a picture off the loop (results come back as events);
    /// hosts without a picture worker ignore it.
    fn picture(&mut self, _request: crate::media::picture::PictureRequest) {}
    /// A desktop notification (`[notify]`).
    fn notify(&mut self, _title: &str, _body: &str) {}
    /// Open a link with the platform opener.
    fn open_link(&mut self, _url: &str) {}
}

/// A host without a real terminal (tests, benchmarks): frames go to the
/// backend, input comes from any stream, other effects do nothing and the
/// editor is never available.
pub struct Headless<B: Backend, I> {
    pub terminal: Terminal<B>,
    pub input: I,
}

impl<B: Backend, I: Stream<Item = io::Result<CtEvent>> + Unpin> Host for Headless<B, I> {
    type Backend = B;
    type Input = I;
    fn terminal(&mut self) -> &mut Terminal<B> {
        &mut self.terminal
    }
    fn input(&mut self) -> &mut I {
        &mut self.input
    }
    fn bell(&mut self) {}
    fn set_title(&mut self, _: &str) {}
    fn copy(&mut self, _: &str) {}
    async fn edit(&mut self, _: String) -> Option<String> {
        None
    }
}

pub fn to_event(e: CtEvent) -> Option<Event> {
    match e {
        CtEvent::Key(k) => Some(Event::Key(k)),
        // Motion without a button would redraw on every mouse move.
        CtEvent::Mouse(m) if m.kind == MouseEventKind::Moved => None,
        CtEvent::Mouse(m) => Some(Event::Mouse(m)),
        CtEvent::Paste(p) => Some(Event::Paste(p)),
        CtEvent::Resize(width, height) => Some(Event::Resize { width, height }),
        CtEvent::FocusGained => Some(Event::Focus(true)),
        CtEvent::FocusLost => Some(Event::Focus(false)),
    }
}

/// Run until the agent quits or the input ends. On return every command
/// the last events asked for has been handed to `data` (draft saves); the
/// caller restores the terminal first and then waits for `data.finish()`.
pub async fn run_loop<H: Host, U: Updates>(
    host: &mut H,
    state: &mut State,
    mut updates: U,
    data: &mut DataWorker,
) -> io::Result<()> {
    let mut tick = tokio::time::interval(TICK);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut updates_open = true;
    let mut pending = app::init(state);
    let mut dirty = true;

    loop {
        // Commands the last batch asked for; the editor feeds an event back.
        while !pending.is_empty() {
            let mut fed = Vec::new();
            dispatch(host, state, data, std::mem::take(&mut pending), &mut fed).await;
            for ev in fed {
                pending.extend(app::update(state, ev));
                dirty = true;
            }
        }
        if state.quit {
            return Ok(());
        }
        if dirty {
            // ratatui 0.30: each backend has its own error type (TestBackend's is
            // Infallible); the loop reports io::Error.
            host.terminal()
                .draw(|f| crate::ui::render(state, f))
                .map_err(|e| io::Error::other(e.to_string()))?;
            dirty = false;
        }

        // Wait for the next thing to happen...
        let first = tokio::select! {
            ev = host.input().next() => match ev {
                Some(Ok(e)) => to_event(e),
                Some(Err(e)) => return Err(e),
                None => return Ok(()),
            },
            r = data.results.recv() => r,
            u = updates.recv(), if updates_open => match u {
                Some(ev) => Some(ev),
                None => { updates_open = false; None }
            },
            _ = tick.tick() => Some(Event::Tick { now: TimestampMs::now() }),
        };
        // ...then take everything already pending, so a burst is one frame.
        let mut batch: Vec<Event> = first.into_iter().collect();
        while batch.len() < MAX_BATCH {
            let mut got = false;
            if updates_open {
                if let Some(ev) = updates.try_recv() {
                    batch.push(ev);
                    got = true;
                }
            }
            if let Ok(ev) = data.results.try_recv() {
                batch.push(ev);
                got = true;
            }
            // Polled with this task's own waker: crossterm's EventStream keeps
            // the waker of the poll that found it empty, so a throwaway waker
            // (`now_or_never`) would leave the next key unnoticed until
            // something else woke the loop (up to a clock tick, 5 s).
            let input = host.input();
            let next = std::future::poll_fn(|cx| Poll::Ready(input.poll_next_unpin(cx))).await;
            if let Poll::Ready(Some(Ok(e))) = next {
                batch.extend(to_event(e));
                got = true;
            }
            if !got {
                break;
            }
        }
        for ev in batch {
            pending.extend(app::update(state, ev));
            dirty = true;
        }
    }
}

/// Hand data commands to the worker (of several list loads only the last:
/// a burst of updates reorders the list once) and run the terminal ones.
async fn dispatch<H: Host>(
    host: &mut H,
    state: &mut State,
    data: &DataWorker,
    cmds: Vec<Command>,
    fed: &mut Vec<Event>,
) {
    let is_list = |c: &Command| matches!(c, Command::Inbox(Request::List { .. }));
    let last_list = cmds.iter().rposition(is_list);
    let any_count = cmds
        .iter()
        .any(|c| matches!(c, Command::Inbox(Request::List { count: true, .. })));
    for (i, mut c) in cmds.into_iter().enumerate() {
        if is_list(&c) && Some(i) != last_list {
            continue;
        }
        if let Command::Inbox(Request::List { count, .. }) = &mut c {
            *count |= any_count;
        }
        match c {
            Command::Inbox(r) => data.send(r),
            Command::OpenEditor { text } => {
                let text = host.edit(text).await;
                fed.push(Event::EditorDone { text });
            }
            Command::Copy(text) => host.copy(&text),
            Command::Bell => host.bell(),
            Command::SetTitle(t) => host.set_title(&t),
            Command::Picture(r) => host.picture(r),
            Command::Notify { title, body } => host.notify(&title, &body),
            Command::OpenLink(url) => host.open_link(&url),
            Command::LookFile(input) => fed.push(Event::FileLooked(super::attach::look(&input))),
            Command::SendFile(f) => data.send_file(f),
            Command::Quit => state.quit = true,
        }
    }
}
