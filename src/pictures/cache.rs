//! The on-disk picture cache (`[media] cache_dir`): the bytes of each
//! picture attachment (Meta's CDN links expire, so the bytes are what we
//! keep), bounded in total size, file count and age. The directory is
//! 0700 and every file 0600: customers' photos are private.
//!
//! Files are named by a hash of the attachment (message id and index), so
//! no customer data appears in names. A `.gone` file remembers that the
//! CDN refused the link (403/404), so it is not asked again.

use crate::media::cache::CacheLimits;
use sha2::{Digest, Sha256};
use std::fs;
use std::io::{self, Write};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

/// What the cache holds for an attachment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Cached {
    Bytes(Vec<u8>),
    /// The CDN answered this status: the link expired before we kept it.
    Gone(u16),
}

pub struct PictureCache {
    dir: PathBuf,
    limits: CacheLimits,
}

impl PictureCache {
    /// Open (creating, 0700) the cache directory.
    pub fn open(dir: impl Into<PathBuf>, limits: CacheLimits) -> io::Result<PictureCache> {
        let dir = dir.into();
        fs::create_dir_all(&dir)?;
        fs::set_permissions(&dir, fs::Permissions::from_mode(0o700))?;
        Ok(PictureCache { dir, limits })
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn path(&self, name: &str, gone: bool) -> PathBuf {
        let hash = hex::encode(Sha256::digest(name.as_bytes()));
        self.dir
            .join(if gone { format!("{hash}.gone") } else { hash })
    }

    /// The bytes (or the refusal) kept for `name`; a hit counts as a use
    /// for eviction. Past the age limit it is a miss.
    pub fn get(&self, name: &str, now: SystemTime) -> Option<Cached> {
        for gone in [false, true] {
            let p = self.path(name, gone);
            let Ok(meta) = fs::metadata(&p) else { continue };
            let age = meta
                .modified()
                .ok()
                .and_then(|m| now.duration_since(m).ok())
                .unwrap_or_default();
            if age > self.limits.max_age {
                let _ = fs::remove_file(&p);
                return None;
            }
            let data = fs::read(&p).ok()?;
            if gone {
                let status = String::from_utf8_lossy(&data).trim().parse().unwrap_or(404);
                return Some(Cached::Gone(status));
            }
            touch(&p, now);
            return Some(Cached::Bytes(data));
        }
        None
    }

    /// Up to `max` bytes of the picture kept for `name` from `offset`, and
    /// its whole size (a refusal too, as `Cached::Gone`); None on a miss.
    /// Reads only that range: a client takes a picture a chunk at a time.
    pub fn range(
        &self,
        name: &str,
        offset: u64,
        max: usize,
        now: SystemTime,
    ) -> Option<(u64, Result<Vec<u8>, u16>)> {
        use std::io::{Read, Seek, SeekFrom};
        if offset == 0 {
            // The first chunk goes through `get`: the age check and the use.
            return match self.get(name, now)? {
                Cached::Bytes(mut b) => {
                    let size = b.len() as u64;
                    b.truncate(max);
                    Some((size, Ok(b)))
                }
                Cached::Gone(status) => Some((0, Err(status))),
            };
        }
        let mut f = fs::File::open(self.path(name, false)).ok()?;
        let size = f.metadata().ok()?.len();
        f.seek(SeekFrom::Start(offset.min(size))).ok()?;
        let mut buf = Vec::with_capacity(max.min((size - offset.min(size)) as usize));
        f.take(max as u64).read_to_end(&mut buf).ok()?;
        Some((size, Ok(buf)))
    }

    /// Whether anything (bytes or a refusal) is kept for `name`, without
    /// reading it: a prefetch of a kept picture does nothing.
    pub fn contains(&self, name: &str) -> bool {
        self.path(name, false).exists() || self.path(name, true).exists()
    }

    /// Keep `bytes` for `name` (written aside, 0600, then renamed in), then
    /// evict down to the limits.
    pub fn put(&self, name: &str, bytes: &[u8], now: SystemTime) -> io::Result<()> {
        self.write(&self.path(name, false), bytes, now)?;
        self.evict(now)?;
        Ok(())
    }

    /// Remember that the CDN refused `name` with `status`.
    pub fn mark_gone(&self, name: &str, status: u16, now: SystemTime) -> io::Result<()> {
        self.write(&self.path(name, true), status.to_string().as_bytes(), now)
    }

    fn write(&self, path: &Path, bytes: &[u8], now: SystemTime) -> io::Result<()> {
        let mut tmp = tempfile::Builder::new()
            .prefix(".part-")
            .permissions(fs::Permissions::from_mode(0o600))
            .tempfile_in(&self.dir)?;
        tmp.write_all(bytes)?;
        tmp.as_file().set_modified(now)?;
        tmp.persist(path).map_err(|e| e.error)?;
        Ok(())
    }

    /// Remove what is past the age limit, then the least recently used
    /// pictures until both the size and the count are within bounds.
    /// Returns how many files were removed.
    pub fn evict(&self, now: SystemTime) -> io::Result<usize> {
        let mut files = Vec::new();
        for e in fs::read_dir(&self.dir)? {
            let e = e?;
            let name = e.file_name();
            if name.to_string_lossy().starts_with('.') {
                continue; // a write in progress
            }
            let meta = e.metadata()?;
            if !meta.is_file() {
                continue;
            }
            let modified = meta.modified().unwrap_or(SystemTime::UNIX_EPOCH);
            files.push((modified, meta.len(), e.path()));
        }
        let mut removed = 0;
        let max_age = self.limits.max_age;
        files.retain(|(m, _, p)| {
            let old = now.duration_since(*m).unwrap_or_default() > max_age;
            if old && fs::remove_file(p).is_ok() {
                removed += 1;
            }
            !old
        });
        files.sort_by_key(|(m, _, _)| *m); // oldest first
        let mut total: u64 = files.iter().map(|(_, len, _)| len).sum();
        let mut count = files.len();
        for (_, len, p) in files {
            if total <= self.limits.max_bytes && count <= self.limits.max_files {
                break;
            }
            if fs::remove_file(&p).is_ok() {
                removed += 1;
                total -= len;
                count -= 1;
            }
        }
        Ok(removed)
    }

    /// (bytes, files) held now.
    pub fn usage(&self) -> io::Result<(u64, usize)> {
        let mut bytes = 0;
        let mut files = 0;
        for e in fs::read_dir(&self.dir)? {
            let meta = e?.metadata()?;
            if meta.is_file() {
                bytes += meta.len();
                files += 1;
            }
        }
        Ok((bytes, files))
    }
}

/// Mark a file used (its mtime orders eviction).
fn touch(path: &Path, now: SystemTime) {
    if let Ok(f) = fs::OpenOptions::new().append(true).open(path) {
        let _ = f.set_modified(now);
    }
}
