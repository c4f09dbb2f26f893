//! What the UI keeps about media: the open thread's pictures, the picture
//! mode, and the notification state (focus, rate limit).

use crate::domain::TimestampMs;
use crate::media::notify::{NotifyConfig, NotifyVia};
use crate::media::picture::{Drawn, PicKey, Unavailable};
use crate::media::protocol::PictureMode;
use std::collections::HashMap;

/// Options fixed at start (config + terminal detection).
#[derive(Debug, Clone)]
pub struct MediaOpts {
    pub pictures: PictureMode,
    /// The box (columns, rows) a picture is fitted into.
    pub picture_box: (u16, u16),
    pub notify: NotifyConfig,
    /// Links open with the platform opener (a local display); else they
    /// are copied (OSC 52).
    pub opener: Option<crate::media::open::Opener>,
    /// Write links as OSC 8 hyperlinks (off in tests and dumb terminals).
    pub hyperlinks: bool,
}

impl Default for MediaOpts {
    fn default() -> Self {
        MediaOpts {
            pictures: PictureMode::Off,
            picture_box: (40, 12),
            notify: NotifyConfig {
                via: NotifyVia::Off,
                min_interval: std::time::Duration::from_secs(30),
                muted: Default::default(),
            },
            opener: None,
            hyperlinks: false,
        }
    }
}

/// One picture of the open thread.
#[derive(Debug, Clone)]
pub enum PicState {
    Loading,
    Ready(Drawn),
    Unavailable(Unavailable),
}

/// The open thread's pictures; `rev` is bumped on every change (the
/// layout memo's key).
#[derive(Debug, Clone, Default)]
pub struct Pictures {
    pub map: HashMap<PicKey, PicState>,
    pub rev: u64,
}

/// Focus and the notification rate limit.
#[derive(Debug, Clone)]
pub struct MediaState {
    /// The terminal has focus (assumed until it says otherwise: terminals
    /// without focus reporting never do).
    pub focused: bool,
    pub last_notified: Option<TimestampMs>,
}

impl Default for MediaState {
    fn default() -> Self {
        MediaState {
            focused: true,
            last_notified: None,
        }
    }
}
