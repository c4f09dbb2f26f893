//! The terminal side of pictures, notifications and links: picture-mode
//! detection and the picker at start, the picture worker whose results
//! join the store updates, desktop notifications, and the opener.

pub mod worker;

use super::event_loop::Updates;
use crate::app::event::Event;
use crate::app::state::Options;
use crate::config::Config;
use crate::media::notify::NotifyVia;
use crate::media::open::Opener;
use crate::media::picture::{Outcome, PicKey, PictureRequest};
use crate::media::protocol::{detect, Env, PictureMode};
use ratatui_image::picker::{Picker, ProtocolType};
use std::io::Write;
use std::process::Stdio;
use std::sync::Arc;
use tokio::sync::mpsc;
use worker::{Bytes, MediaWorker};

/// What the real terminal's host keeps for media.
#[derive(Default)]
pub struct TtyMedia {
    worker: Option<MediaWorker>,
    notify: Option<NotifyVia>,
    tmux: bool,
    opener: Option<Opener>,
}

/// Settle the picture mode, opener and links from the environment and the
/// config (into `opts`), start the picture worker, and merge its results
/// into `updates`. Pictures come from this process's cache, or through
/// `owner` when attached. Call before the terminal is taken (the picker
/// may query it).
pub fn setup<U: Updates>(
    config: &Config,
    opts: &mut Options,
    updates: U,
    owner: Option<&crate::control::client::Remote>,
) -> (TtyMedia, WithMedia<U>) {
    let var = |k: &str| std::env::var(k).ok();
    let tmux = var("TMUX").is_some_and(|v| !v.is_empty());
    let env = Env {
        var: &var,
        tmux_passthrough: tmux.then(tmux_passthrough).flatten(),
    };
    let mut mode = detect(config.ui.pictures, &env);
    if opts.ascii {
        // A terminal without UTF-8 cannot show half-blocks or kitty's
        // placeholder characters (the ASCII pass would turn them into `?`).
        mode = PictureMode::Off;
    }
    let picker = make_picker(&mut mode);
    tracing::info!(?mode, "pictures");
    opts.media.pictures = mode;
    opts.media.opener = crate::media::open::choose(std::env::consts::OS, &var);
    opts.media.hyperlinks = var("TERM").is_none_or(|t| t != "dumb");
    let (tx, rx) = mpsc::unbounded_channel();
    let bytes = || match owner {
        None => crate::pictures::Source::open(&config.media).map(Bytes::Local),
        Some(remote) => Some(Bytes::Remote {
            remote: remote.clone(),
            max: config.media.max_picture_bytes,
        }),
    };
    let worker =
        picker.and_then(|p| bytes().map(|bytes| MediaWorker::start(bytes, Arc::new(p), tx)));
    if worker.is_none() {
        opts.media.pictures = PictureMode::Off;
    }
    let media = TtyMedia {
        worker,
        notify: Some(opts.media.notify.via.clone()),
        tmux,
        opener: opts.media.opener,
    };
    let merged = WithMedia {
        inner: updates,
        inner_open: true,
        pictures: Some(rx),
    };
    (media, merged)
}

/// tmux's `allow-passthrough` for this pane (None when tmux cannot say).
fn tmux_passthrough() -> Option<bool> {
    let ask = |args: &[&str]| {
        let out = std::process::Command::new("tmux")
            .args(args)
            .stdin(Stdio::null())
            .stderr(Stdio::null())
            .output()
            .ok()?;
        let v = String::from_utf8_lossy(&out.stdout).trim().to_string();
        (!v.is_empty()).then_some(v)
    };
    let pane = std::env::var("TMUX_PANE").unwrap_or_default();
    let v = ask(&["show-options", "-Apv", "-t", &pane, "allow-passthrough"])
        .or_else(|| ask(&["show-options", "-gpv", "allow-passthrough"]))?;
    Some(matches!(v.as_str(), "on" | "all"))
}

/// The picker for `mode`; a graphics protocol needs the font's cell size,
/// asked of the terminal, and falls back to half-blocks when it does not answer.
fn make_picker(mode: &mut PictureMode) -> Option<Picker> {
    let protocol = match *mode {
        PictureMode::Off => return None,
        PictureMode::Halfblocks => return Some(Picker::halfblocks()),
        PictureMode::Kitty => ProtocolType::Kitty,
        PictureMode::Sixel => ProtocolType::Sixel,
        PictureMode::Iterm2 => ProtocolType::Iterm2,
    };
    match Picker::from_query_stdio() {
        Ok(mut p) => {
            p.set_protocol_type(protocol);
            Some(p)
        }
        Err(e) => {
            tracing::warn!(error = %e, "the terminal did not tell its cell size: half-blocks");
            *mode = PictureMode::Halfblocks;
            Some(Picker::halfblocks())
        }
    }
}

impl TtyMedia {
    pub fn picture(&mut self, request: PictureRequest) {
        if let Some(w) = &self.worker {
            w.request(request);
        }
    }

    pub fn notify(&mut self, title: &str, body: &str) {
        let Some(via) = &self.notify else { return };
        if let NotifyVia::Command(argv) = via {
            let Some((prog, args)) = argv.split_first() else {
                return;
            };
            // No shell: the customer's text is an argument, never code.
            let spawned = tokio::process::Command::new(prog)
                .args(args)
                .arg(crate::media::notify::clean(title, 60))
                .arg(crate::media::notify::clean(body, 160))
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn();
            if let Err(e) = spawned {
                tracing::warn!(error = %e, program = %prog, "notify command failed");
            }
            return;
        }
        if let Some(seq) = crate::media::notify::sequence(via, title, body, self.tmux) {
            let mut out = std::io::stdout();
            let _ = out.write_all(seq.as_bytes());
            let _ = out.flush();
        }
    }

    pub fn open_link(&mut self, url: &str) {
        let Some(opener) = self.opener else { return };
        // A web link only: never a path or something an opener takes as an option.
        if !(url.starts_with("https://") || url.starts_with("http://")) {
            return;
        }
        let spawned = tokio::process::Command::new(opener.program())
            .arg(url)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn();
        if let Err(e) = spawned {
            tracing::warn!(error = %e, "could not run {}", opener.program());
        }
    }
}

/// Store updates with the picture worker's results merged in.
pub struct WithMedia<U> {
    inner: U,
    inner_open: bool,
    pictures: Option<mpsc::UnboundedReceiver<(PicKey, Outcome)>>,
}

fn picture_event((key, outcome): (PicKey, Outcome)) -> Event {
    Event::Picture { key, outcome }
}

impl<U: Updates> Updates for WithMedia<U> {
    async fn recv(&mut self) -> Option<Event> {
        loop {
            let pictures_open = self.pictures.is_some();
            if !self.inner_open && !pictures_open {
                return None;
            }
            let next_picture = async {
                match &mut self.pictures {
                    Some(rx) => rx.recv().await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                u = self.inner.recv(), if self.inner_open => match u {
                    Some(ev) => return Some(ev),
                    None => self.inner_open = false,
                },
                p = next_picture, if pictures_open => match p {
                    Some(p) => return Some(picture_event(p)),
                    None => self.pictures = None,
                },
            }
        }
    }

    fn try_recv(&mut self) -> Option<Event> {
        if self.inner_open {
            if let Some(ev) = self.inner.try_recv() {
                return Some(ev);
            }
        }
        self.pictures.as_mut()?.try_recv().ok().map(picture_event)
    }
}
