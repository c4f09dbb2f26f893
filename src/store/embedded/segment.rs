//! Segment files of the event log: naming, reading records back, and the
//! start-up check that cuts a torn or corrupt tail off.

use super::frame::{self, Decoded, Record};
use std::fs::File;
use std::io;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

/// `events-<first seq, 20 digits>.log`: names sort like the seqs.
pub fn file_name(first_seq: u64) -> String {
    format!("events-{first_seq:020}.log")
}

fn parse_name(name: &str) -> Option<u64> {
    name.strip_prefix("events-")?
        .strip_suffix(".log")?
        .parse()
        .ok()
}

/// One segment file: the seq its name promises first, and its path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Segment {
    pub first_seq: u64,
    pub path: PathBuf,
}

/// The segment files in `dir`, oldest first.
pub fn list(dir: &Path) -> io::Result<Vec<Segment>> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir)? {
        let e = e?;
        if let Some(first_seq) = e.file_name().to_str().and_then(parse_name) {
            out.push(Segment {
                first_seq,
                path: e.path(),
            });
        }
    }
    out.sort_by_key(|s| s.first_seq);
    Ok(out)
}

/// What was wrong at the end of a segment and where it was cut.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Damage {
    pub path: PathBuf,
    pub offset: u64,
    pub cut_bytes: u64,
    pub what: String,
    /// Where the cut bytes were kept.
    pub kept_in: PathBuf,
}

impl std::fmt::Display for Damage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "event log {}: {} at byte {}; {} bytes cut off (kept in {})",
            self.path.display(),
            self.what,
            self.offset,
            self.cut_bytes,
            self.kept_in.display()
        )
    }
}

/// A segment after the start-up check.
#[derive(Debug)]
pub struct Checked {
    /// Seq of its last complete record (None: it holds none).
    pub last_seq: Option<u64>,
    /// Bytes of complete records (the file's length after a cut).
    pub len: u64,
    pub damage: Option<Damage>,
}

/// Read every record of `seg`, in order; stop at the first byte that is not
/// a complete record with the next seq. Anything after that point is copied
/// to a side file, then cut off the segment and the cut made durable: the
/// segment then ends with its last complete record. Never panics.
pub fn check_and_repair(seg: &Segment) -> io::Result<Checked> {
    let data = std::fs::read(&seg.path)?;
    let mut off = 0usize;
    let mut last_seq = None;
    let problem = loop {
        match frame::decode(&data[off..]) {
            Decoded::Record(r, n) => {
                // Seqs rise; gaps come only from an imported older log.
                let ok = last_seq.map_or(r.seq == seg.first_seq, |s: u64| r.seq > s);
                if !ok {
                    break Some(format!("record with seq {} out of order", r.seq));
                }
                last_seq = Some(r.seq);
                off += n;
            }
            Decoded::End if data[off..].iter().all(|&b| b == 0) => break None,
            Decoded::End => break Some("garbage after zeros".to_string()),
            Decoded::Torn => break Some("torn record (cut short)".to_string()),
            Decoded::Corrupt(why) => break Some(why.to_string()),
        }
    };
    let damage = match problem {
        None if off == data.len() => None,
        // Zeros only: space never written. Trim them so appends follow the
        // last record.
        None => {
            truncate(&seg.path, off as u64)?;
            None
        }
        Some(what) => {
            let kept_in = seg.path.with_extension(format!("damaged-at-{off}"));
            std::fs::write(&kept_in, &data[off..])?;
            File::open(&kept_in)?.sync_all()?;
            truncate(&seg.path, off as u64)?;
            Some(Damage {
                path: seg.path.clone(),
                offset: off as u64,
                cut_bytes: (data.len() - off) as u64,
                what,
                kept_in,
            })
        }
    };
    Ok(Checked {
        last_seq,
        len: off as u64,
        damage,
    })
}

fn truncate(path: &Path, len: u64) -> io::Result<()> {
    let f = std::fs::OpenOptions::new().write(true).open(path)?;
    f.set_len(len)?;
    f.sync_all()
}

/// Reads one segment forward from a byte offset.
pub struct Reader {
    file: File,
    pub offset: u64,
    buf: Vec<u8>,
    start: usize,
}

/// How much is read at once (many records per read).
const CHUNK: usize = 256 * 1024;

impl Reader {
    pub fn open(path: &Path, offset: u64) -> io::Result<Reader> {
        Ok(Reader {
            file: File::open(path)?,
            offset,
            buf: Vec::new(),
            start: 0,
        })
    }

    /// The next complete record, or None at the end of what is written.
    /// `offset` then points just past the record returned.
    pub fn next_record(&mut self) -> io::Result<Option<Record>> {
        loop {
            match frame::decode(&self.buf[self.start..]) {
                Decoded::Record(r, n) => {
                    self.start += n;
                    self.offset += n as u64;
                    return Ok(Some(r));
                }
                // The writer may be in the middle of this record: not ours yet.
                Decoded::Corrupt(_) => return Ok(None),
                Decoded::End | Decoded::Torn => {
                    if !self.fill()? {
                        return Ok(None);
                    }
                }
            }
        }
    }

    /// Read more after what is buffered; false at the end of the file.
    fn fill(&mut self) -> io::Result<bool> {
        self.buf.drain(..self.start);
        self.start = 0;
        let have = self.buf.len();
        let want = CHUNK.max(have * 2);
        self.buf.resize(want, 0);
        let n = self
            .file
            .read_at(&mut self.buf[have..], self.offset + have as u64)?;
        self.buf.truncate(have + n);
        Ok(n > 0)
    }
}
