//! A file to send as an attachment: its kind as Meta names it (image,
//! video, audio, file), its MIME type, and Meta's size limit checked before
//! the file is read and before any call.

use std::path::Path;

/// Meta's limit for an uploaded attachment (25 MB; decimal, to stay under
/// whichever way Meta counts).
pub const MAX_BYTES: u64 = 25_000_000;

/// Meta's Send API rate for audio and video attachments, per page or
/// Instagram account (meta-api.md, rate limits): lower than for the rest.
pub const AV_PER_SECOND: u32 = 10;

/// Instagram's limit for an image (png or jpeg).
pub const INSTAGRAM_IMAGE_BYTES: u64 = 8_000_000;

/// The attachment `type` of the Send API.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MediaKind {
    Image,
    Video,
    Audio,
    File,
}

impl MediaKind {
    pub fn as_str(self) -> &'static str {
        match self {
            MediaKind::Image => "image",
            MediaKind::Video => "video",
            MediaKind::Audio => "audio",
            MediaKind::File => "file",
        }
    }

    /// Sent at Meta's lower audio/video rate.
    pub fn is_audio_or_video(self) -> bool {
        matches!(self, MediaKind::Audio | MediaKind::Video)
    }
}

/// Meta's type and size rules for a file on `platform`, checked before any
/// call. Messenger takes any file up to 25 MB (checked when it is read).
/// Instagram's Send API (Meta's "Send a Message" page, 2026) takes png or
/// jpeg images up to 8 MB, aac/m4a/wav/mp4 audio and mp4/ogg/avi/mov/webm
/// video up to 25 MB, and no documents.
pub fn check_for(
    platform: crate::domain::Platform,
    kind: MediaKind,
    mime: &str,
    len: u64,
) -> Result<(), String> {
    use crate::domain::Platform;
    if platform == Platform::Messenger {
        return Ok(());
    }
    let ok = match kind {
        MediaKind::Image => matches!(mime, "image/png" | "image/jpeg"),
        MediaKind::Audio => matches!(mime, "audio/mp4" | "audio/wav" | "audio/aac"),
        MediaKind::Video => matches!(
            mime,
            "video/mp4" | "video/quicktime" | "video/webm" | "video/x-msvideo" | "video/ogg"
        ),
        MediaKind::File => {
            return Err(format!(
                "Instagram takes images, videos and audio, not documents ({mime}); send a link in the text instead"
            ))
        }
    };
    if !ok {
        return Err(format!(
            "Instagram does not take {mime} as {}: images must be png or jpeg, audio aac/m4a/wav, video mp4/mov/webm/avi/ogg",
            kind.as_str()
        ));
    }
    if kind == MediaKind::Image && len > INSTAGRAM_IMAGE_BYTES {
        return Err(format!(
            "{len} bytes is over Instagram's 8 MB limit for an image"
        ));
    }
    Ok(())
}

/// A file read for sending, whole (it is sent in one request).
#[derive(Clone, PartialEq, Eq)]
pub struct Media {
    pub kind: MediaKind,
    pub mime: &'static str,
    /// The file's name without its directory (what Meta shows).
    pub name: String,
    pub bytes: bytes::Bytes,
}

impl std::fmt::Debug for Media {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Media")
            .field("kind", &self.kind)
            .field("mime", &self.mime)
            .field("name", &self.name)
            .field("len", &self.bytes.len())
            .finish()
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum MediaError {
    #[error("{path}: {size} bytes is over Meta's 25 MB attachment limit; nothing was sent")]
    TooLarge { path: String, size: u64 },
    #[error("{path} is empty; nothing was sent")]
    Empty { path: String },
    #[error("{path} is not a regular file")]
    NotAFile { path: String },
    #[error("{path}: {reason}")]
    Unreadable { path: String, reason: String },
}

impl Media {
    /// Read `path`, refusing (before reading) a file Meta would refuse for
    /// its size.
    pub fn read(path: &Path) -> Result<Media, MediaError> {
        let shown = path.display().to_string();
        let unreadable = |e: std::io::Error| MediaError::Unreadable {
            path: shown.clone(),
            reason: e.to_string(),
        };
        let meta = std::fs::metadata(path).map_err(unreadable)?;
        if !meta.is_file() {
            return Err(MediaError::NotAFile { path: shown });
        }
        check_size(&shown, meta.len())?;
        let bytes = std::fs::read(path).map_err(unreadable)?;
        // It may have grown between the two looks.
        check_size(&shown, bytes.len() as u64)?;
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "file".into());
        Media::from_bytes(&name, bytes)
    }

    /// A file received whole (read here, or streamed by a client): the
    /// same size checks and classification as [`Media::read`].
    pub fn from_bytes(name: &str, bytes: Vec<u8>) -> Result<Media, MediaError> {
        check_size(name, bytes.len() as u64)?;
        let (kind, mime) = classify(name, &bytes);
        Ok(Media {
            kind,
            mime,
            name: name.to_string(),
            bytes: bytes.into(),
        })
    }
}

pub fn check_size(path: &str, size: u64) -> Result<(), MediaError> {
    if size == 0 {
        return Err(MediaError::Empty { path: path.into() });
    }
    if size > MAX_BYTES {
        return Err(MediaError::TooLarge {
            path: path.into(),
            size,
        });
    }
    Ok(())
}

/// The kind and MIME type: the content's signature first (a renamed file
/// is still what it is), then the extension, else a plain file.
pub fn classify(name: &str, bytes: &[u8]) -> (MediaKind, &'static str) {
    sniff(bytes)
        .or_else(|| by_extension(name))
        .unwrap_or((MediaKind::File, "application/octet-stream"))
}

fn sniff(b: &[u8]) -> Option<(MediaKind, &'static str)> {
    use MediaKind::*;
    let at = |off: usize, sig: &[u8]| b.get(off..off + sig.len()) == Some(sig);
    Some(if at(0, b"\x89PNG\r\n\x1a\n") {
        (Image, "image/png")
    } else if at(0, b"\xff\xd8\xff") {
        (Image, "image/jpeg")
    } else if at(0, b"GIF87a") || at(0, b"GIF89a") {
        (Image, "image/gif")
    } else if at(0, b"RIFF") && at(8, b"WEBP") {
        (Image, "image/webp")
    } else if at(0, b"RIFF") && at(8, b"WAVE") {
        (Audio, "audio/wav")
    } else if at(0, b"RIFF") && at(8, b"AVI ") {
        (Video, "video/x-msvideo")
    } else if at(0, b"ID3") || at(0, b"\xff\xfb") || at(0, b"\xff\xf3") {
        (Audio, "audio/mpeg")
    } else if at(0, b"OggS") {
        (Audio, "audio/ogg")
    } else if at(0, b"\x1a\x45\xdf\xa3") {
        (Video, "video/webm")
    } else if at(4, b"ftypM4A") {
        (Audio, "audio/mp4")
    } else if at(4, b"ftypqt") {
        (Video, "video/quicktime")
    } else if at(4, b"ftyp") {
        (Video, "video/mp4")
    } else if at(0, b"%PDF-") {
        (File, "application/pdf")
    } else {
        return None;
    })
}

fn by_extension(name: &str) -> Option<(MediaKind, &'static str)> {
    use MediaKind::*;
    let ext = name.rsplit_once('.')?.1.to_ascii_lowercase();
    Some(match ext.as_str() {
        "png" => (Image, "image/png"),
        "jpg" | "jpeg" => (Image, "image/jpeg"),
        "gif" => (Image, "image/gif"),
        "webp" => (Image, "image/webp"),
        "mp4" | "m4v" => (Video, "video/mp4"),
        "mov" => (Video, "video/quicktime"),
        "webm" => (Video, "video/webm"),
        "avi" => (Video, "video/x-msvideo"),
        "mp3" => (Audio, "audio/mpeg"),
        "m4a" | "aac" => (Audio, "audio/mp4"),
        "wav" => (Audio, "audio/wav"),
        "ogg" | "oga" | "opus" => (Audio, "audio/ogg"),
        "pdf" => (File, "application/pdf"),
        "txt" => (File, "text/plain"),
        "csv" => (File, "text/csv"),
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_wins_over_the_extension() {
        assert_eq!(
            classify("receipt.pdf", b"\x89PNG\r\n\x1a\n...."),
            (MediaKind::Image, "image/png")
        );
        assert_eq!(
            classify("note.m4a", b"not a known signature"),
            (MediaKind::Audio, "audio/mp4")
        );
        assert_eq!(
            classify("clip", b"\0\0\0\x18ftypisom"),
            (MediaKind::Video, "video/mp4")
        );
        assert_eq!(
            classify("data.bin", b"xyz"),
            (MediaKind::File, "application/octet-stream")
        );
    }

    #[test]
    fn instagram_rules_refuse_documents_other_types_and_large_images() {
        use crate::domain::Platform::{Instagram, Messenger};
        use MediaKind::*;
        assert!(check_for(Messenger, File, "application/pdf", 20_000_000).is_ok());
        assert!(check_for(Messenger, Image, "image/gif", 20_000_000).is_ok());
        let pdf = check_for(Instagram, File, "application/pdf", 1_000).unwrap_err();
        assert!(pdf.contains("not documents"), "{pdf}");
        assert!(check_for(Instagram, Image, "image/png", INSTAGRAM_IMAGE_BYTES).is_ok());
        assert!(
            check_for(Instagram, Image, "image/jpeg", INSTAGRAM_IMAGE_BYTES + 1)
                .unwrap_err()
                .contains("8 MB")
        );
        assert!(check_for(Instagram, Image, "image/webp", 10).is_err());
        assert!(check_for(Instagram, Audio, "audio/mpeg", 10).is_err());
        assert!(check_for(Instagram, Audio, "audio/mp4", 20_000_000).is_ok());
        assert!(check_for(Instagram, Video, "video/mp4", 20_000_000).is_ok());
        assert!(Audio.is_audio_or_video() && Video.is_audio_or_video());
        assert!(!Image.is_audio_or_video() && !File.is_audio_or_video());
    }

    #[test]
    fn size_is_checked_before_reading() {
        let dir = tempfile::tempdir().unwrap();
        let big = dir.path().join("big.png");
        let f = std::fs::File::create(&big).unwrap();
        // Sparse: the limit is refused from the metadata alone.
        f.set_len(MAX_BYTES + 1).unwrap();
        assert!(matches!(
            Media::read(&big),
            Err(MediaError::TooLarge { size, .. }) if size == MAX_BYTES + 1
        ));
        let empty = dir.path().join("empty.png");
        std::fs::File::create(&empty).unwrap();
        assert!(matches!(Media::read(&empty), Err(MediaError::Empty { .. })));
        assert!(matches!(
            Media::read(dir.path()),
            Err(MediaError::NotAFile { .. })
        ));
    }
}
