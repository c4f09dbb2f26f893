//! The client's side of a staged upload (src/send/staging.rs): the process
//! that has the file reads it and sends it to the owner chunk by chunk, in
//! order, each chunk waiting for its answer (so at most one chunk is in
//! memory or in flight per file).

use crate::inbox::{Reply, Request};
use crate::media::outgoing::check_size;
use crate::request::upload::{UploadStep, Uploaded, CHUNK};
use base64::Engine as _;
use std::io::Read as _;
use std::path::Path;

/// A file read for streaming: its name (no directory), size, and reader.
pub struct LocalFile {
    pub name: String,
    pub size: u64,
    file: std::fs::File,
}

/// A finished upload the owner holds, named by its id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Staged {
    pub id: String,
    pub name: String,
    pub size: u64,
}

impl LocalFile {
    /// Open `path`, refusing what Meta would refuse for its size before
    /// anything is sent.
    pub fn open(path: &Path) -> Result<LocalFile, String> {
        let shown = path.display().to_string();
        let file = std::fs::File::open(path).map_err(|e| format!("{shown}: {e}"))?;
        let meta = file.metadata().map_err(|e| format!("{shown}: {e}"))?;
        if !meta.is_file() {
            return Err(format!("{shown} is not a regular file"));
        }
        check_size(&shown, meta.len()).map_err(|e| e.to_string())?;
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "file".into());
        Ok(LocalFile {
            name,
            size: meta.len(),
            file,
        })
    }

    pub fn begin(&self) -> Request {
        upload(UploadStep::Begin {
            name: self.name.clone(),
            size: self.size,
        })
    }

    /// The next chunk of upload `id` at `offset` (None once `size` bytes
    /// were read). A file that shrank meanwhile is an error.
    pub fn next_chunk(&mut self, id: &str, offset: u64) -> Result<Option<Request>, String> {
        if offset >= self.size {
            return Ok(None);
        }
        let want = (self.size - offset).min(CHUNK as u64) as usize;
        let mut buf = vec![0; want];
        self.file
            .read_exact(&mut buf)
            .map_err(|e| format!("{}: {e} (did it change while being sent?)", self.name))?;
        Ok(Some(upload(UploadStep::Chunk {
            id: id.to_string(),
            offset,
            data: base64::engine::general_purpose::STANDARD.encode(&buf),
        })))
    }

    pub fn finish(id: &str) -> Request {
        upload(UploadStep::Finish { id: id.to_string() })
    }
}

fn upload(step: UploadStep) -> Request {
    Request::Upload { step }
}

/// The owner's answer to an upload step.
pub fn uploaded(r: Result<Reply, String>) -> Result<Uploaded, String> {
    match r? {
        Reply::Upload(u) => Ok(u),
        other => Err(format!("unexpected answer to an upload: {other:?}")),
    }
}

/// Stage `path` through `call` (a blocking port to the inbox: this
/// process's, or the owner's over the control socket).
pub fn stage_with(
    call: &mut dyn FnMut(Request) -> Result<Reply, String>,
    path: &Path,
) -> Result<Staged, String> {
    let mut file = LocalFile::open(path)?;
    let id = uploaded(call(file.begin()))?.id;
    let mut offset = 0;
    let sent = (|| {
        while let Some(chunk) = file.next_chunk(&id, offset)? {
            offset = uploaded(call(chunk))?.received;
        }
        uploaded(call(LocalFile::finish(&id)))
    })();
    if let Err(e) = sent {
        let _ = call(upload(UploadStep::Discard { id }));
        return Err(e);
    }
    Ok(Staged {
        id,
        name: file.name,
        size: file.size,
    })
}

/// `dmdesk send --file` and `dmdesk bulk --file` through a running
/// dmdesk: stream the file to the owner on the command's connection before
/// the command itself, which then names the upload instead of the path.
/// Other commands pass as they are.
pub async fn stage_for_oneshot<W, R>(
    cmd: crate::oneshot::OneShot,
    write: &mut W,
    frames: &mut R,
    wait: std::time::Duration,
) -> Result<crate::oneshot::OneShot, crate::cli::CliError>
where
    W: tokio::io::AsyncWrite + Unpin,
    R: futures::Stream<Item = Result<String, tokio_util::codec::LinesCodecError>> + Unpin,
{
    use crate::cli::FileArg;
    use crate::oneshot::OneShot;
    Ok(match cmd {
        OneShot::Send(mut args) => {
            if let Some(FileArg::Local(path)) = &args.file {
                args.file = Some(stream_file(path, write, frames, wait).await?);
            }
            OneShot::Send(args)
        }
        OneShot::Bulk(mut req) => {
            if let Some(FileArg::Local(path)) = &req.file {
                req.file = Some(stream_file(path, write, frames, wait).await?);
            }
            OneShot::Bulk(req)
        }
        other => other,
    })
}

/// Stream `path` to the owner, chunk after answered chunk; the upload's name.
async fn stream_file<W, R>(
    path: &Path,
    write: &mut W,
    frames: &mut R,
    wait: std::time::Duration,
) -> Result<crate::cli::FileArg, crate::cli::CliError>
where
    W: tokio::io::AsyncWrite + Unpin,
    R: futures::Stream<Item = Result<String, tokio_util::codec::LinesCodecError>> + Unpin,
{
    use crate::cli::{CliError, FileArg};
    use crate::control::protocol::{self as proto, Envelope, Frame};
    use futures::StreamExt;
    use tokio::io::AsyncWriteExt;
    let shown = path.display().to_string();
    let fail = |e: String| CliError::usage(format!("--file {e}"));
    let mut file = LocalFile::open(path).map_err(fail)?;
    // Ids far from the command's own (1 and its pings).
    let mut next_id = 1u64 << 40;
    let mut ask = async |request: Request| -> Result<Uploaded, String> {
        let id = next_id;
        next_id += 1;
        let env = Envelope {
            id,
            request: proto::Request::Inbox { request },
        };
        let mut line = serde_json::to_vec(&env).map_err(|e| e.to_string())?;
        line.push(b'\n');
        write
            .write_all(&line)
            .await
            .map_err(|e| format!("the dmdesk holding the store went away: {e}"))?;
        loop {
            let l = match tokio::time::timeout(wait, frames.next()).await {
                Err(_) => return Err("the dmdesk holding the store did not answer".into()),
                Ok(None) | Ok(Some(Err(_))) => {
                    return Err("the dmdesk holding the store went away".into())
                }
                Ok(Some(Ok(l))) => l,
            };
            match serde_json::from_str::<Frame>(&l) {
                Ok(Frame::Reply { id: i, result }) if i == id => {
                    return match *result {
                        proto::Reply::Inbox(r) => uploaded(Ok(r)),
                        other => Err(format!("unexpected answer to an upload: {other:?}")),
                    }
                }
                Ok(Frame::Error { id: i, message }) if i == Some(id) || i.is_none() => {
                    return Err(message)
                }
                _ => continue,
            }
        }
    };
    let id = ask(file.begin())
        .await
        .map_err(|e| fail(format!("{shown}: {e}")))?
        .id;
    let mut offset = 0;
    loop {
        let chunk = file.next_chunk(&id, offset).map_err(fail)?;
        let Some(chunk) = chunk else { break };
        offset = ask(chunk)
            .await
            .map_err(|e| CliError::runtime(format!("--file {shown}: {e}")))?
            .received;
    }
    ask(LocalFile::finish(&id))
        .await
        .map_err(|e| CliError::runtime(format!("--file {shown}: {e}")))?;
    Ok(FileArg::Staged {
        id,
        name: file.name,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::TimestampMs;
    use crate::send::staging::Staging;

    #[test]
    fn a_file_larger_than_a_chunk_arrives_whole_through_the_steps() {
        let dir = tempfile::tempdir().unwrap();
        let owner = Staging::under(&dir.path().join("store"));
        let bytes: Vec<u8> = (0..CHUNK * 2 + 123).map(|i| (i * 7 % 251) as u8).collect();
        let path = dir.path().join("clip.bin");
        std::fs::write(&path, &bytes).unwrap();
        let mut calls = 0;
        let mut call = |r: Request| {
            calls += 1;
            let Request::Upload { step } = r else {
                return Err("not an upload".to_string());
            };
            // Every line stays far under the control socket's limit.
            assert!(serde_json::to_string(&step).unwrap().len() < crate::control::MAX_LINE / 2);
            owner
                .handle(Some("alice"), step, TimestampMs(1_000))
                .map(Reply::Upload)
        };
        let staged = stage_with(&mut call, &path).unwrap();
        assert_eq!(calls, 1 + 3 + 1, "begin, three chunks, finish");
        assert_eq!(staged.size, bytes.len() as u64);
        let m = owner.take(Some("alice"), &staged.id).unwrap();
        assert_eq!(&m.bytes[..], &bytes[..]);
        assert_eq!(m.name, "clip.bin");
    }

    #[test]
    fn a_refused_chunk_discards_the_upload() {
        let dir = tempfile::tempdir().unwrap();
        let owner = Staging::under(dir.path());
        let path = dir.path().join("a.txt");
        std::fs::write(&path, b"hello").unwrap();
        let mut discarded = false;
        let mut call = |r: Request| match r {
            Request::Upload {
                step: UploadStep::Chunk { .. },
            } => Err("disk full".to_string()),
            Request::Upload {
                step: step @ UploadStep::Discard { .. },
            } => {
                discarded = true;
                owner.handle(None, step, TimestampMs(1)).map(Reply::Upload)
            }
            Request::Upload { step } => owner.handle(None, step, TimestampMs(1)).map(Reply::Upload),
            _ => Err("not an upload".into()),
        };
        assert_eq!(stage_with(&mut call, &path).unwrap_err(), "disk full");
        assert!(discarded);
        assert_eq!(
            std::fs::read_dir(dir.path().join("uploads"))
                .unwrap()
                .count(),
            0
        );
    }
}
