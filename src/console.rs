//! Where a one-shot command's output goes and whom it acts for: this
//! process's terminal, or a client attached over the control socket. The
//! commands (`send`, `bulk`, `sync`, `export`, `replay`, `doctor`) write only
//! through this, so they print the same lines whichever process runs them.
//! For a client, the lines are [`Output`]s; the control socket frames them.

use crate::cli::CliError;
use std::io::{BufRead, IsTerminal, Write};
use std::sync::Arc;
use tokio::sync::{mpsc, Mutex, OwnedSemaphorePermit, Semaphore};
use tokio_util::sync::CancellationToken;

/// What a command running for a client says, in order.
#[derive(Debug, Clone, PartialEq)]
pub enum Output {
    /// Result text (the client's stdout).
    Out(String),
    /// Progress and messages (the client's stderr).
    Err(String),
    /// A yes/no question; the answer comes back on the console's channel.
    Ask(String),
    /// The command ended with this exit code (and message, if failed).
    Exit { code: u8, message: Option<String> },
}

/// An [`Output`] on its way to a client, holding a flow-control permit
/// until written.
pub struct Outgoing {
    pub output: Output,
    pub permit: Option<OwnedSemaphorePermit>,
}

impl From<Output> for Outgoing {
    fn from(output: Output) -> Outgoing {
        Outgoing {
            output,
            permit: None,
        }
    }
}

pub struct Console {
    /// The Unix user the command acts for ("sent by", "created by").
    pub agent: Option<String>,
    /// Ctrl-C here, or the attached client gone.
    pub cancel: CancellationToken,
    sink: Sink,
}

enum Sink {
    Local,
    Remote {
        frames: mpsc::UnboundedSender<Outgoing>,
        /// Bounds the export chunks queued for the client.
        permits: Arc<Semaphore>,
        answers: Mutex<mpsc::UnboundedReceiver<bool>>,
        stdin_tty: bool,
    },
}

impl Console {
    /// This terminal, acting for `agent` (this process's user); Ctrl-C cancels.
    pub fn local(agent: Option<String>) -> Console {
        let cancel = CancellationToken::new();
        let c = cancel.clone();
        tokio::spawn(async move {
            if tokio::signal::ctrl_c().await.is_ok() {
                c.cancel();
            }
        });
        Console {
            agent,
            cancel,
            sink: Sink::Local,
        }
    }

    /// An attached client's terminal: lines become frames, questions wait
    /// for the client's answer.
    pub fn remote(
        agent: String,
        frames: mpsc::UnboundedSender<Outgoing>,
        permits: Arc<Semaphore>,
        answers: mpsc::UnboundedReceiver<bool>,
        stdin_tty: bool,
        cancel: CancellationToken,
    ) -> Console {
        Console {
            agent: Some(agent),
            cancel,
            sink: Sink::Remote {
                frames,
                permits,
                answers: Mutex::new(answers),
                stdin_tty,
            },
        }
    }

    /// A result line (stdout).
    pub fn out(&self, line: &str) {
        self.line_sink().out(line)
    }

    /// A progress or message line (stderr).
    pub fn err(&self, line: &str) {
        self.line_sink().err(line)
    }

    /// The line outputs alone, for a progress task that outlives a borrow.
    pub fn line_sink(&self) -> Lines {
        match &self.sink {
            Sink::Local => Lines(None),
            Sink::Remote { frames, .. } => Lines(Some(frames.clone())),
        }
    }

    /// A writer for bulk results (`export`); remote output waits for the
    /// client to read (bounded), so a large export never piles up in memory.
    pub fn out_writer(&self) -> Box<dyn Write + Send> {
        match &self.sink {
            Sink::Local => Box::new(std::io::BufWriter::new(std::io::stdout())),
            Sink::Remote {
                frames, permits, ..
            } => Box::new(ChunkWriter {
                tx: frames.clone(),
                permits: permits.clone(),
                buf: Vec::with_capacity(CHUNK),
            }),
        }
    }

    /// Whether a progress bar may be drawn: only on this process's own
    /// terminal (a remote client gets plain lines).
    pub fn progress_bar(&self) -> bool {
        matches!(self.sink, Sink::Local) && std::io::stderr().is_terminal()
    }

    /// Whether someone can answer a question.
    pub fn can_ask(&self) -> bool {
        match &self.sink {
            Sink::Local => std::io::stdin().is_terminal(),
            Sink::Remote { stdin_tty, .. } => *stdin_tty,
        }
    }

    /// Ask `question [y/N]`; anything but y/yes is no.
    pub async fn confirm(&self, question: &str) -> Result<bool, CliError> {
        match &self.sink {
            Sink::Local => {
                eprint!("{question} [y/N] ");
                std::io::stderr().flush()?;
                let line = tokio::task::spawn_blocking(|| {
                    let mut line = String::new();
                    std::io::stdin().lock().read_line(&mut line).map(|_| line)
                })
                .await
                .map_err(|e| CliError::runtime(e.to_string()))??;
                Ok(is_yes(&line))
            }
            Sink::Remote {
                frames, answers, ..
            } => {
                let _ = frames.send(Output::Ask(format!("{question} [y/N] ")).into());
                let mut rx = answers.lock().await;
                tokio::select! {
                    a = rx.recv() => Ok(a.unwrap_or(false)),
                    _ = self.cancel.cancelled() => Ok(false),
                }
            }
        }
    }
}

pub fn is_yes(answer: &str) -> bool {
    matches!(answer.trim().to_ascii_lowercase().as_str(), "y" | "yes")
}

/// stdout/stderr lines of a command, here or at an attached client.
#[derive(Clone)]
pub struct Lines(Option<mpsc::UnboundedSender<Outgoing>>);

impl Lines {
    pub fn out(&self, line: &str) {
        match &self.0 {
            None => println!("{line}"),
            Some(tx) => {
                let _ = tx.send(Output::Out(format!("{line}\n")).into());
            }
        }
    }
    pub fn err(&self, line: &str) {
        match &self.0 {
            None => eprintln!("{line}"),
            Some(tx) => {
                let _ = tx.send(Output::Err(format!("{line}\n")).into());
            }
        }
    }
}

const CHUNK: usize = 64 * 1024;

/// Bytes to `Out` pieces of up to 64 KiB; used from a blocking thread. A
/// chunk waits for a permit, released when the client's writer wrote it.
struct ChunkWriter {
    tx: mpsc::UnboundedSender<Outgoing>,
    permits: Arc<Semaphore>,
    buf: Vec<u8>,
}

impl ChunkWriter {
    fn send(&mut self) -> std::io::Result<()> {
        if self.buf.is_empty() {
            return Ok(());
        }
        // Frames carry text; cut at a char boundary and keep the rest.
        let cut = match std::str::from_utf8(&self.buf) {
            Ok(_) => self.buf.len(),
            Err(e) => e.valid_up_to(),
        };
        let rest = self.buf.split_off(cut);
        let text = String::from_utf8(std::mem::replace(&mut self.buf, rest))
            .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e))?;
        let broken = || std::io::Error::from(std::io::ErrorKind::BrokenPipe);
        let permit = futures::executor::block_on(self.permits.clone().acquire_owned())
            .map_err(|_| broken())?;
        self.tx
            .send(Outgoing {
                output: Output::Out(text),
                permit: Some(permit),
            })
            .map_err(|_| broken())
    }
}

impl Write for ChunkWriter {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.buf.extend_from_slice(b);
        if self.buf.len() >= CHUNK {
            self.send()?;
        }
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.send()
    }
}

impl Drop for ChunkWriter {
    fn drop(&mut self) {
        let _ = self.send();
    }
}
