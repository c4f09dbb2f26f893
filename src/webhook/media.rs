//! Files served for a short time so Instagram can fetch them: its Send API
//! takes media only by URL (meta-api.md, Instagram differences), so dmdesk
//! puts the file under an unguessable path on its own webhook server
//! (`GET /media/{token}`, reached through the same HTTPS proxy as
//! `/webhook`) and sends `{[server] public_url}/media/{token}`.
//!
//! Bounded: the files live in a 0700 directory beside the store (each
//! 0600, named by a random 128-bit token), expire after [`SERVE_FOR`] (a
//! campaign's one file: `send::campaign::INSTAGRAM_SERVE_FOR`, 25 hours),
//! and are deleted on expiry (a timer per file, and a sweep on every publish
//! and lookup, which also covers a restart). At most [`MAX_FILES`] files
//! and [`MAX_TOTAL`] bytes are served at once.

use crate::domain::TimestampMs;
use axum::extract::{Path as UrlPath, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// How long a sent file stays fetchable (Meta fetches it during the call;
/// the margin covers its retries).
pub const SERVE_FOR: Duration = Duration::from_secs(3600);
/// Files served at once.
pub const MAX_FILES: usize = 64;
/// Bytes served at once (20 files at Meta's 25 MB limit).
pub const MAX_TOTAL: u64 = 500_000_000;
/// The directory's name inside the store directory.
pub const DIR: &str = "served";

/// The URL Meta fetches a served file from.
pub fn url(public_url: &str, token: &str) -> String {
    format!("{public_url}/media/{token}")
}

#[derive(Debug, Serialize, Deserialize)]
struct Meta {
    mime: String,
    expires_ms: i64,
    len: u64,
}

/// The served files of one store directory.
#[derive(Debug, Clone)]
pub struct ServedFiles {
    dir: PathBuf,
}

#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error("dmdesk already serves {MAX_FILES} files or {} MB for Instagram; try again when some expire (a reply's after an hour, a campaign's after 25 hours)", MAX_TOTAL / 1_000_000)]
    Full,
    #[error("cannot keep the file to serve it: {0}")]
    Io(#[from] std::io::Error),
}

/// A token has exactly this shape; anything else is not looked up.
fn is_token(t: &str) -> bool {
    t.len() == 32
        && t.bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

impl ServedFiles {
    pub fn under(store_dir: &Path) -> ServedFiles {
        ServedFiles {
            dir: store_dir.join(DIR),
        }
    }

    fn data(&self, token: &str) -> PathBuf {
        self.dir.join(token)
    }

    fn meta(&self, token: &str) -> PathBuf {
        self.dir.join(format!("{token}.json"))
    }

    fn ensure_dir(&self) -> std::io::Result<()> {
        crate::store::embedded::private_dir(&self.dir)
    }

    /// Keep `bytes` to serve as `mime` until `now + ttl`; the token.
    pub fn publish(
        &self,
        bytes: &[u8],
        mime: &str,
        now: TimestampMs,
        ttl: Duration,
    ) -> Result<String, ServeError> {
        self.ensure_dir()?;
        let (files, total) = self.sweep(now);
        if files >= MAX_FILES || total + bytes.len() as u64 > MAX_TOTAL {
            return Err(ServeError::Full);
        }
        let token = format!("{:032x}", rand::random::<u128>());
        let meta = Meta {
            mime: mime.to_string(),
            expires_ms: now.0.saturating_add(ttl.as_millis() as i64),
            len: bytes.len() as u64,
        };
        // The data first: a lookup needs the meta, so it never sees a
        // half-written file.
        write_private(&self.data(&token), bytes)?;
        let json = serde_json::to_vec(&meta).map_err(std::io::Error::other)?;
        let tmp = self.dir.join(format!("{token}.json.tmp"));
        write_private(&tmp, &json)?;
        std::fs::rename(&tmp, self.meta(&token))?;
        Ok(token)
    }

    /// The file's bytes and type, while it has not expired.
    pub fn open(&self, token: &str, now: TimestampMs) -> Option<(Vec<u8>, String)> {
        if !is_token(token) {
            return None;
        }
        let meta: Meta = serde_json::from_slice(&std::fs::read(self.meta(token)).ok()?).ok()?;
        if meta.expires_ms <= now.0 {
            self.remove(token);
            return None;
        }
        let bytes = std::fs::read(self.data(token)).ok()?;
        (bytes.len() as u64 == meta.len).then_some((bytes, meta.mime))
    }

    pub fn remove(&self, token: &str) {
        if is_token(token) {
            let _ = std::fs::remove_file(self.meta(token));
            let _ = std::fs::remove_file(self.data(token));
        }
    }

    /// Delete what has expired (and leftovers of an interrupted publish);
    /// the files and bytes still served.
    pub fn sweep(&self, now: TimestampMs) -> (usize, u64) {
        let Ok(entries) = std::fs::read_dir(&self.dir) else {
            return (0, 0);
        };
        let (mut files, mut total) = (0, 0);
        for e in entries.flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            let token = name.split('.').next().unwrap_or_default().to_string();
            if !is_token(&token) {
                continue;
            }
            if name.ends_with(".json.tmp") {
                let _ = std::fs::remove_file(e.path());
                continue;
            }
            if name != token {
                continue; // the meta file: counted with its data
            }
            let meta = std::fs::read(self.meta(&token))
                .ok()
                .and_then(|b| serde_json::from_slice::<Meta>(&b).ok());
            match meta {
                Some(m) if m.expires_ms > now.0 => {
                    files += 1;
                    total += m.len;
                }
                // Expired, or data whose publish never finished (older
                // than a minute, so not one being written now).
                Some(_) => self.remove(&token),
                None => {
                    let old = e
                        .metadata()
                        .and_then(|m| m.modified())
                        .ok()
                        .and_then(|t| t.elapsed().ok())
                        .is_some_and(|age| age > Duration::from_secs(60));
                    if old {
                        self.remove(&token);
                    }
                }
            }
        }
        (files, total)
    }
}

/// Write a file only its owner can read.
fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)?;
    f.write_all(bytes)?;
    f.sync_data()
}

/// `GET /media/{token}`: the file while it is served, else 404 (an
/// unknown, malformed and expired token look the same).
pub async fn serve(
    State(st): State<super::WebhookState>,
    UrlPath(token): UrlPath<String>,
) -> Response {
    let files = ServedFiles::under(st.store.path());
    let found = tokio::task::spawn_blocking(move || files.open(&token, TimestampMs::now()))
        .await
        .ok()
        .flatten();
    match found {
        Some((bytes, mime)) => (
            StatusCode::OK,
            [
                (header::CONTENT_TYPE, mime),
                (header::CACHE_CONTROL, "no-store".to_string()),
                (header::X_CONTENT_TYPE_OPTIONS, "nosniff".to_string()),
            ],
            bytes,
        )
            .into_response(),
        None => (StatusCode::NOT_FOUND, "not found").into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn published_files_are_private_expire_and_are_swept() {
        let dir = tempfile::tempdir().unwrap();
        let served = ServedFiles::under(dir.path());
        let now = TimestampMs(1_000_000);
        let token = served
            .publish(b"\x89PNG....", "image/png", now, Duration::from_secs(60))
            .unwrap();
        assert!(is_token(&token), "{token}");
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&dir.path().join(DIR)), 0o700);
        assert_eq!(mode(&dir.path().join(DIR).join(&token)), 0o600);
        assert_eq!(
            served.open(&token, now),
            Some((b"\x89PNG....".to_vec(), "image/png".into()))
        );
        assert_eq!(served.open("../../etc/passwd", now), None);
        assert_eq!(served.sweep(now), (1, 8));
        // Past its time: gone, files and all.
        let later = TimestampMs(now.0 + 60_000);
        assert_eq!(served.open(&token, later), None);
        assert!(!dir.path().join(DIR).join(&token).exists());
        let t2 = served
            .publish(b"x", "text/plain", now, Duration::from_secs(1))
            .unwrap();
        assert_eq!(served.sweep(later), (0, 0));
        assert!(!dir.path().join(DIR).join(&t2).exists());
    }

    #[test]
    fn the_number_of_files_served_at_once_is_bounded() {
        let dir = tempfile::tempdir().unwrap();
        let served = ServedFiles::under(dir.path());
        let now = TimestampMs(1_000);
        for _ in 0..MAX_FILES {
            served.publish(b"x", "text/plain", now, SERVE_FOR).unwrap();
        }
        assert!(matches!(
            served.publish(b"x", "text/plain", now, SERVE_FOR),
            Err(ServeError::Full)
        ));
        // Once they expired there is room again.
        let later = TimestampMs(now.0 + SERVE_FOR.as_millis() as i64);
        assert!(served.publish(b"x", "text/plain", later, SERVE_FOR).is_ok());
    }
}
