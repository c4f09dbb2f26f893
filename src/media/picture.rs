//! The types the pure front end knows pictures by: which attachment, what
//! became of it, and the drawable result (opaque to `app`).

use crate::domain::{Attachment, Message, Mid};
use ratatui_image::sliced::SlicedProtocol;
use serde::{Deserialize, Serialize};
use std::sync::Arc;

/// One attachment of one message.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct PicKey {
    pub mid: Mid,
    pub index: usize,
}

impl PicKey {
    /// The cache's name for it: the bytes are kept per attachment, never
    /// per URL (Meta's CDN URLs expire and change).
    pub fn cache_name(&self) -> String {
        format!("{}#{}", self.mid.as_str(), self.index)
    }
}

/// Attachment kinds that are (or carry) a picture Meta gives a URL for.
pub fn is_picture(a: &Attachment) -> bool {
    a.url.is_some() && matches!(a.kind.as_str(), "image" | "sticker" | "story_mention")
}

/// The picture attachments of a message with their URLs.
pub fn pictures_of(m: &Message) -> impl Iterator<Item = (PicKey, &str)> {
    m.attachments
        .iter()
        .enumerate()
        .filter(|(_, a)| is_picture(a) && !m.deleted)
        .filter_map(|(index, a)| {
            Some((
                PicKey {
                    mid: m.mid.clone(),
                    index,
                },
                a.url.as_deref()?,
            ))
        })
}

/// Fetch a picture (into the cache) and, when `show`, decode it for a box
/// of at most `cols` × `rows` cells.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PictureRequest {
    pub key: PicKey,
    pub url: String,
    pub show: bool,
    pub cols: u16,
    pub rows: u16,
}

/// Why a picture is not shown; each has a placeholder line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Unavailable {
    /// The CDN answered 403/404/410: Meta's link expired before we kept it.
    Expired,
    /// Over the size limit (MiB).
    TooLarge(u64),
    /// Not an image the decoders read (a video story, a corrupt file).
    NotAPicture,
    /// Anything else (network, disk), in a few words.
    Failed(String),
}

impl Unavailable {
    pub fn placeholder(&self) -> String {
        match self {
            Self::Expired => "🖼 picture expired (Meta's link is no longer valid)".into(),
            Self::TooLarge(mb) => format!("🖼 picture not loaded: over {mb} MiB"),
            Self::NotAPicture => "🖼 not a picture dmdesk can show".into(),
            Self::Failed(why) => format!("🖼 picture not loaded: {why}"),
        }
    }
}

/// One piece of a picture the store's owner keeps, as it travels to an
/// attached UI (`inbox::Request::Picture`): control-socket lines stay
/// under their 1 MiB limit however large the picture.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PictureChunk {
    /// `data`: base64 of the bytes from `offset` (at most
    /// `pictures::chunks::CHUNK`); `size`: the whole picture's.
    Bytes {
        size: u64,
        offset: u64,
        data: String,
    },
    Unavailable(Unavailable),
}

/// A decoded picture encoded for this terminal, ready to draw at any
/// vertical offset (sliced, so a half-scrolled picture draws its rows).
#[derive(Clone)]
pub struct Drawn(pub Arc<SlicedProtocol>);

impl Drawn {
    /// (columns, rows) it covers.
    pub fn size(&self) -> (u16, u16) {
        let s = self.0.size();
        (s.width, s.height)
    }
}

impl std::fmt::Debug for Drawn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let (w, h) = self.size();
        write!(f, "Drawn({w}x{h})")
    }
}

/// What became of a request.
#[derive(Debug, Clone)]
pub enum Outcome {
    /// Kept in the cache (not asked to show).
    Cached,
    Ready(Drawn),
    Unavailable(Unavailable),
}
