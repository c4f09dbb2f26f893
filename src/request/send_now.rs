//! `Request::Send`: a person's message sent now and answered with Meta's
//! mid (`dmdesk send`), where the UI queues a `Job` instead.

use crate::domain::Mid;
use crate::media::outgoing::Media;
use serde::{Deserialize, Serialize};

/// The file of a `Request::Send`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SendFile {
    /// A file the caller staged (`Request::Upload`), taken as its uploader.
    Upload(String),
    /// A file the process that serves the request read itself (`dmdesk
    /// send --file` where the store is open). Never on the socket: the
    /// process holding the store takes a client's file only as an upload.
    #[serde(skip)]
    Read(Media),
}

/// What a `Request::Send` did.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Sent {
    /// Meta's mid for each message that went, in order (the text first).
    pub mids: Vec<Mid>,
    /// Why the next one did not go (None: every one went).
    pub not_sent: Option<NotSent>,
}

/// Why a message of a `Request::Send` did not go.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NotSent {
    /// The file cannot be sent; it is checked before anything goes, so
    /// nothing was sent.
    File(String),
    /// Refused before any call to Meta (account, window, tag, token).
    Refused(String),
    /// Meta refused or could not be reached; the outbox record says why.
    Failed(String),
    /// The store failed.
    Store(String),
}
