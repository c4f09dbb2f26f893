//! Files streamed to the owner by a client (an attached agent's UI, or
//! `dmdesk send --file` through a running dmdesk): the client reads its
//! file and sends it in base64 chunks of at most [`CHUNK`] bytes (a
//! control line stays far under its 1 MiB limit); the owner appends them
//! to a 0600 file in a 0700 directory beside the store, and the send that
//! names the upload takes the file (and deletes it).
//!
//! Bounded: an upload is at most Meta's 25 MB; at most [`MAX_UPLOADS`]
//! and [`MAX_TOTAL`] bytes are staged at once; an upload untouched for
//! [`STALE`] is deleted by the next one that begins. Only its uploader
//! (the Unix user behind the connection) can add to it or send it.

use crate::domain::TimestampMs;
use crate::media::outgoing::{check_size, Media, MAX_BYTES};
use crate::request::upload::{UploadStep, Uploaded, CHUNK};
use base64::Engine as _;
use serde::{Deserialize, Serialize};
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Duration;

/// Uploads staged at once (all clients).
pub const MAX_UPLOADS: usize = 16;
/// Bytes staged at once (all clients): four files at Meta's limit.
pub const MAX_TOTAL: u64 = 4 * MAX_BYTES;
/// An upload nobody added to or sent for this long is dropped.
pub const STALE: Duration = Duration::from_secs(15 * 60);
/// The directory's name inside the store directory.
pub const DIR: &str = "uploads";

#[derive(Debug, Serialize, Deserialize)]
struct Record {
    name: String,
    size: u64,
    agent: Option<String>,
    touched_ms: i64,
    done: bool,
}

/// Appends to one upload are made one at a time (a client may pipeline).
static WRITES: Mutex<()> = Mutex::new(());

/// The uploads beside one store.
#[derive(Debug, Clone)]
pub struct Staging {
    dir: PathBuf,
}

fn is_id(t: &str) -> bool {
    t.len() == 32
        && t.bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// A client's file name, kept as a name only (Meta shows it).
fn clean_name(name: &str) -> String {
    let base = name.rsplit(['/', '\\']).next().unwrap_or_default();
    let clean: String = base.chars().filter(|c| !c.is_control()).take(200).collect();
    if clean.is_empty() || clean == "." || clean == ".." {
        "file".into()
    } else {
        clean
    }
}

impl Staging {
    pub fn under(store_dir: &Path) -> Staging {
        Staging {
            dir: store_dir.join(DIR),
        }
    }

    fn data(&self, id: &str) -> PathBuf {
        self.dir.join(format!("{id}.part"))
    }

    fn meta(&self, id: &str) -> PathBuf {
        self.dir.join(format!("{id}.json"))
    }

    /// One step for `agent` (None: the owner's own UI with no known user).
    pub fn handle(
        &self,
        agent: Option<&str>,
        step: UploadStep,
        now: TimestampMs,
    ) -> Result<Uploaded, String> {
        let io = |e: std::io::Error| format!("cannot stage the file: {e}");
        match step {
            UploadStep::Begin { name, size } => self.begin(agent, &name, size, now),
            UploadStep::Chunk { id, offset, data } => {
                let bytes = base64::engine::general_purpose::STANDARD
                    .decode(data.as_bytes())
                    .map_err(|_| "a chunk is not base64".to_string())?;
                if bytes.len() > CHUNK {
                    return Err(format!("a chunk is over {CHUNK} bytes"));
                }
                let _one = WRITES.lock().unwrap_or_else(|e| e.into_inner());
                let mut rec = self.record(agent, &id)?;
                if rec.done {
                    return Err("this upload is finished already".into());
                }
                let have = std::fs::metadata(self.data(&id)).map_err(io)?.len();
                if offset != have {
                    return Err(format!(
                        "chunk at byte {offset}, but {have} bytes were received"
                    ));
                }
                if have + bytes.len() as u64 > rec.size {
                    self.remove(&id);
                    return Err(format!(
                        "more bytes than the {} announced; upload dropped",
                        rec.size
                    ));
                }
                let mut f = std::fs::OpenOptions::new()
                    .append(true)
                    .open(self.data(&id))
                    .map_err(io)?;
                f.write_all(&bytes).map_err(io)?;
                rec.touched_ms = now.0;
                self.save(&id, &rec).map_err(io)?;
                Ok(Uploaded {
                    id,
                    received: have + bytes.len() as u64,
                    done: false,
                })
            }
            UploadStep::Finish { id } => {
                let _one = WRITES.lock().unwrap_or_else(|e| e.into_inner());
                let mut rec = self.record(agent, &id)?;
                let have = std::fs::metadata(self.data(&id)).map_err(io)?.len();
                if have != rec.size {
                    return Err(format!(
                        "{} of {} bytes received; the upload is not complete",
                        have, rec.size
                    ));
                }
                rec.done = true;
                rec.touched_ms = now.0;
                self.save(&id, &rec).map_err(io)?;
                Ok(Uploaded {
                    id,
                    received: have,
                    done: true,
                })
            }
            UploadStep::Discard { id } => {
                self.record(agent, &id)?;
                self.remove(&id);
                Ok(Uploaded {
                    id,
                    received: 0,
                    done: false,
                })
            }
        }
    }

    fn begin(
        &self,
        agent: Option<&str>,
        name: &str,
        size: u64,
        now: TimestampMs,
    ) -> Result<Uploaded, String> {
        let name = clean_name(name);
        check_size(&name, size).map_err(|e| e.to_string())?;
        let io = |e: std::io::Error| format!("cannot stage the file: {e}");
        self.ensure_dir().map_err(io)?;
        let (count, total) = self.sweep(now);
        if count >= MAX_UPLOADS || total + size > MAX_TOTAL {
            return Err(format!(
                "dmdesk is receiving {count} files ({} MB) already; try again in a moment",
                total / 1_000_000
            ));
        }
        let id = format!("{:032x}", rand::random::<u128>());
        {
            use std::os::unix::fs::OpenOptionsExt;
            std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o600)
                .open(self.data(&id))
                .map_err(io)?;
        }
        let rec = Record {
            name,
            size,
            agent: agent.map(str::to_string),
            touched_ms: now.0,
            done: false,
        };
        self.save(&id, &rec).map_err(io)?;
        Ok(Uploaded {
            id,
            received: 0,
            done: false,
        })
    }

    /// The finished upload `id` as a file to send, taken (deleted) from
    /// the staging directory. Only its uploader may take it.
    pub fn take(&self, agent: Option<&str>, id: &str) -> Result<Media, String> {
        let _one = WRITES.lock().unwrap_or_else(|e| e.into_inner());
        let rec = self.record(agent, id)?;
        if !rec.done {
            return Err("the file has not been received whole".into());
        }
        let bytes = std::fs::read(self.data(id));
        self.remove(id);
        let bytes = bytes.map_err(|e| format!("cannot read the staged file: {e}"))?;
        Media::from_bytes(&rec.name, bytes).map_err(|e| e.to_string())
    }

    /// The upload's record, if `agent` may use it.
    fn record(&self, agent: Option<&str>, id: &str) -> Result<Record, String> {
        let gone = || "no such upload (it may have expired): send the file again".to_string();
        if !is_id(id) {
            return Err(gone());
        }
        let rec: Record = std::fs::read(self.meta(id))
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok())
            .ok_or_else(gone)?;
        // A named uploader's file is its own; the owner's unnamed UI
        // (no identity) may use only what it staged itself.
        if rec.agent.is_some() && rec.agent.as_deref() != agent {
            return Err(gone());
        }
        Ok(rec)
    }

    fn save(&self, id: &str, rec: &Record) -> std::io::Result<()> {
        use std::os::unix::fs::OpenOptionsExt;
        let tmp = self.dir.join(format!("{id}.json.tmp"));
        let _ = std::fs::remove_file(&tmp);
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&tmp)?;
        f.write_all(&serde_json::to_vec(rec).map_err(std::io::Error::other)?)?;
        std::fs::rename(&tmp, self.meta(id))
    }

    fn remove(&self, id: &str) {
        let _ = std::fs::remove_file(self.meta(id));
        let _ = std::fs::remove_file(self.data(id));
    }

    fn ensure_dir(&self) -> std::io::Result<()> {
        crate::store::embedded::private_dir(&self.dir)
    }

    /// Drop stale uploads; the number and announced bytes of the others.
    fn sweep(&self, now: TimestampMs) -> (usize, u64) {
        let Ok(entries) = std::fs::read_dir(&self.dir) else {
            return (0, 0);
        };
        let (mut count, mut total) = (0, 0);
        for e in entries.flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            let Some(id) = name.strip_suffix(".json").filter(|i| is_id(i)) else {
                continue;
            };
            let rec = std::fs::read(e.path())
                .ok()
                .and_then(|b| serde_json::from_slice::<Record>(&b).ok());
            match rec {
                Some(r) if now.0 - r.touched_ms < STALE.as_millis() as i64 => {
                    count += 1;
                    total += r.size;
                }
                _ => self.remove(id),
            }
        }
        (count, total)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::media::outgoing::MediaKind;

    fn b64(b: &[u8]) -> String {
        base64::engine::general_purpose::STANDARD.encode(b)
    }

    fn begin(s: &Staging, agent: Option<&str>, size: u64) -> Result<String, String> {
        let step = UploadStep::Begin {
            name: "../../photo.png".into(),
            size,
        };
        s.handle(agent, step, TimestampMs(1_000)).map(|u| u.id)
    }

    fn chunk(
        s: &Staging,
        agent: Option<&str>,
        id: &str,
        offset: u64,
        b: &[u8],
    ) -> Result<u64, String> {
        let step = UploadStep::Chunk {
            id: id.into(),
            offset,
            data: b64(b),
        };
        s.handle(agent, step, TimestampMs(1_000))
            .map(|u| u.received)
    }

    #[test]
    fn chunks_in_order_make_the_file_its_uploader_takes_once() {
        let dir = tempfile::tempdir().unwrap();
        let s = Staging::under(dir.path());
        let png = b"\x89PNG\r\n\x1a\n-rest-of-the-picture";
        let id = begin(&s, Some("alice"), png.len() as u64).unwrap();
        assert_eq!(chunk(&s, Some("alice"), &id, 0, &png[..10]), Ok(10));
        // Out of order, or someone else's: refused, nothing written.
        assert!(chunk(&s, Some("alice"), &id, 20, &png[10..]).is_err());
        assert!(chunk(&s, Some("bob"), &id, 10, &png[10..]).is_err());
        let finish = |who| {
            s.handle(
                who,
                UploadStep::Finish { id: id.clone() },
                TimestampMs(1_000),
            )
        };
        assert!(finish(Some("alice")).unwrap_err().contains("not complete"));
        assert_eq!(
            chunk(&s, Some("alice"), &id, 10, &png[10..]),
            Ok(png.len() as u64)
        );
        assert!(finish(Some("alice")).unwrap().done);
        assert!(s.take(Some("bob"), &id).is_err());
        let m = s.take(Some("alice"), &id).unwrap();
        assert_eq!(
            (m.kind, m.mime, m.name.as_str()),
            (MediaKind::Image, "image/png", "photo.png")
        );
        assert_eq!(&m.bytes[..], &png[..]);
        assert!(s.take(Some("alice"), &id).is_err(), "taken once");
        assert_eq!(std::fs::read_dir(dir.path().join(DIR)).unwrap().count(), 0);
    }

    #[test]
    fn sizes_chunks_and_counts_are_bounded() {
        let dir = tempfile::tempdir().unwrap();
        let s = Staging::under(dir.path());
        assert!(begin(&s, None, MAX_BYTES + 1)
            .unwrap_err()
            .contains("25 MB"));
        assert!(begin(&s, None, 0).is_err());
        let id = begin(&s, None, 4).unwrap();
        assert!(chunk(&s, None, &id, 0, &vec![0; CHUNK + 1])
            .unwrap_err()
            .contains("over"));
        // More than announced: the upload is dropped.
        assert!(chunk(&s, None, &id, 0, b"12345").is_err());
        assert!(chunk(&s, None, &id, 0, b"1").is_err());
        for _ in 0..MAX_UPLOADS {
            begin(&s, None, 1).unwrap();
        }
        assert!(begin(&s, None, 1).unwrap_err().contains("try again"));
        // Stale ones go when the next begins.
        let later = TimestampMs(1_000 + STALE.as_millis() as i64);
        let step = UploadStep::Begin {
            name: "a.txt".into(),
            size: 1,
        };
        assert!(s.handle(None, step, later).is_ok());
    }
}
