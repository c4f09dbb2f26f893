//! A file streamed to the owner in chunks (`Request::Upload`): the steps a
//! client takes and where an upload stands. Staged by src/send/staging.rs.

use serde::{Deserialize, Serialize};

/// Largest chunk, decoded (a 256 KiB chunk is ~350 KB of base64).
pub const CHUNK: usize = 256 * 1024;

/// One step of an upload, as the client asks it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "step", rename_all = "snake_case")]
pub enum UploadStep {
    /// A file of `size` bytes called `name` (no directory) is coming.
    Begin { name: String, size: u64 },
    /// `data` (base64 of at most [`CHUNK`] bytes) at byte `offset`.
    Chunk {
        id: String,
        offset: u64,
        data: String,
    },
    /// Every byte was sent: the upload can be sent.
    Finish { id: String },
    /// Drop it (the client gave up).
    Discard { id: String },
}

/// Where an upload stands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Uploaded {
    pub id: String,
    pub received: u64,
    pub done: bool,
}
