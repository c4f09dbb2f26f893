//! The one-shot commands as data, so the same function runs them in this
//! process or in the process that holds the store (through the socket):
//! same output, same exit codes.

use crate::cli::{
    AssignArgs, BulkArgs, CliError, CliResult, Command, LabelArgs, NoteArgs, ReplayArgs, SendArgs,
    SyncArgs,
};
use crate::config::Config;
use crate::console::Console;
use crate::db::Db;
use crate::inbox::{Caller, Inbox, Reply, Request};
use crate::request::ExportWhat;
pub use send::{BulkRequest, UsersFile};
use serde::{Deserialize, Serialize};
use std::sync::Arc;

pub mod export;
pub mod send;
pub mod team;

/// Largest `--users` file: it travels in one control request line (at most
/// `control::MAX_LINE`, 1 MiB) when the store is held, with room to spare.
pub const MAX_USERS_FILE: usize = 960 * 1024;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "command", rename_all = "snake_case")]
pub enum OneShot {
    Send(SendArgs),
    Bulk(BulkRequest),
    Sync(SyncArgs),
    Export {
        what: ExportWhat,
    },
    /// `{"command":"replay"}` from an older client is a replay of all.
    Replay(ReplayArgs),
    Doctor,
    Assign(AssignArgs),
    Label(LabelArgs),
    Note(NoteArgs),
    /// `utc_offset_s`: the caller's zone, so an owner elsewhere cuts the
    /// days where the agent's are.
    Report {
        since_ms: i64,
        format: crate::report::Format,
        utc_offset_s: i32,
    },
}

impl OneShot {
    /// The one-shot form of a command line; `None` for the modes that are
    /// not one-shots (TUI, serve, demo, sim).
    pub fn from_command(c: &Command) -> Result<Option<OneShot>, CliError> {
        Ok(Some(match c {
            Command::Send(a) => OneShot::Send(a.clone()),
            Command::Bulk(a) => OneShot::Bulk(read_bulk(a)?),
            Command::Sync(a) => OneShot::Sync(a.clone()),
            Command::Export(a) => OneShot::Export { what: a.what },
            Command::Replay(a) => OneShot::Replay(a.clone()),
            Command::Doctor => OneShot::Doctor,
            Command::Assign(a) => OneShot::Assign(a.clone()),
            Command::Label(a) => OneShot::Label(a.clone()),
            Command::Note(a) => OneShot::Note(a.clone()),
            Command::Report(a) => OneShot::Report {
                since_ms: i64::try_from(a.since.as_millis()).unwrap_or(i64::MAX),
                format: a.format,
                utc_offset_s: crate::clock::Zone::Local
                    .offset_at(crate::domain::TimestampMs::now())
                    .local_minus_utc(),
            },
            Command::Demo
            | Command::Serve
            | Command::Sim(_)
            | Command::Attach(_)
            | Command::Completions(_)
            | Command::Man(_)
            | Command::Migrate(_) => return Ok(None),
        }))
    }

    pub fn name(&self) -> &'static str {
        match self {
            OneShot::Send(_) => "send",
            OneShot::Bulk(_) => "bulk",
            OneShot::Sync(_) => "sync",
            OneShot::Export { .. } => "export",
            OneShot::Replay(_) => "replay",
            OneShot::Doctor => "doctor",
            OneShot::Assign(_) => "assign",
            OneShot::Label(_) => "label",
            OneShot::Note(_) => "note",
            OneShot::Report { .. } => "report",
        }
    }

    /// Whether the command needs a config file (not just defaults).
    pub fn needs_config(&self) -> bool {
        !matches!(
            self,
            OneShot::Export { .. }
                | OneShot::Replay(_)
                | OneShot::Report { .. }
                | OneShot::Assign(_)
                | OneShot::Label(_)
                | OneShot::Note(_)
        )
    }
}

/// `bulk`'s arguments with its `--users` file read here, on the client.
fn read_bulk(a: &BulkArgs) -> Result<BulkRequest, CliError> {
    let users = match &a.users {
        None => None,
        Some(p) => {
            let text = std::fs::read_to_string(p)
                .map_err(|e| CliError::usage(format!("--users {}: {e}", p.display())))?;
            if text.len() > MAX_USERS_FILE {
                return Err(CliError::usage(format!(
                    "--users {}: larger than {} KiB; split it into several campaigns",
                    p.display(),
                    MAX_USERS_FILE / 1024
                )));
            }
            Some(UsersFile {
                path: p.display().to_string(),
                text,
            })
        }
    };
    Ok(BulkRequest {
        text: a.text.clone(),
        users,
        all: a.all,
        tag: a.tag.clone(),
        title: a.title.clone(),
        yes: a.yes,
        resume: a.resume.clone(),
        file: a.file.clone().map(crate::cli::FileArg::Local),
    })
}

/// Run a one-shot command against `store` (None only for `doctor` when the
/// store is held and no owner answers on the socket). Its reads and writes
/// of the store go through the inbox service, as the caller (`console`'s
/// agent).
///
/// `owner`: what the running process lends when this is the owner: its
/// send worker then runs campaigns, and sends share its pace (one runner
/// and one rate limit per process).
pub async fn run(
    cmd: OneShot,
    cfg: &Config,
    store: Option<Db>,
    console: &Console,
    owner: Option<&Owner>,
) -> CliResult {
    let store_or_err =
        |store: Option<Db>| store.ok_or_else(|| CliError::runtime("the store is not open"));
    let me = Caller {
        session: 0,
        agent: console.agent.clone(),
    };
    match cmd {
        OneShot::Send(a) => {
            let store = store_or_err(store)?;
            let r = send::cli_send(cfg, store.clone(), &a, console, owner).await;
            store.flush()?;
            r
        }
        OneShot::Bulk(a) => {
            let store = store_or_err(store)?;
            let r = send::cli_bulk(cfg, store.clone(), &a, console, owner).await;
            store.flush()?;
            r
        }
        OneShot::Sync(a) => {
            let inbox = inbox(cfg, store_or_err(store)?, owner);
            let ask =
                move |sync, cancel, progress| inbox.with_sync(cancel, progress).handle(&me, sync);
            crate::sync::cli_sync(cfg, &a, console, ask).await
        }
        OneShot::Doctor => crate::doctor::cli_doctor(cfg, store, console).await,
        OneShot::Export { what } => {
            let inbox = inbox(cfg, store_or_err(store)?, owner);
            let mut out = console.out_writer();
            let r = tokio::task::spawn_blocking(move || export::write(&inbox, &me, what, &mut out))
                .await
                .map_err(|e| CliError::runtime(format!("export stopped: {e}")))?;
            match r {
                Ok(()) => Ok(()),
                // A reader that went away (`| head`) is not a failure.
                Err(export::ExportError::Io(e)) if e.kind() == std::io::ErrorKind::BrokenPipe => {
                    Ok(())
                }
                Err(e) => Err(CliError::runtime(e.to_string())),
            }
        }
        OneShot::Assign(a) => team::assign(cfg, &store_or_err(store)?, &a, console),
        OneShot::Label(a) => team::label(cfg, &store_or_err(store)?, &a, console),
        OneShot::Note(a) => team::note(cfg, &store_or_err(store)?, &a, console),
        OneShot::Report {
            since_ms,
            format,
            utc_offset_s,
        } => {
            let ask = Request::Report {
                since_ms,
                utc_offset_s,
            };
            let service = Service::new(cfg, &store_or_err(store)?, console, owner);
            let Reply::Report(r) = service.ask(ask).await? else {
                return Err(CliError::runtime(
                    "the inbox answered a report with something else",
                ));
            };
            let mut out = console.out_writer();
            out.write_all(crate::report::format::render(&r, format).as_bytes())
                .and_then(|()| out.flush())
                .or_else(|e| match e.kind() {
                    std::io::ErrorKind::BrokenPipe => Ok(()),
                    _ => Err(CliError::runtime(format!("report: {e}"))),
                })
        }
        OneShot::Replay(ReplayArgs { delete }) if !delete.is_empty() => {
            let service = Service::new(cfg, &store_or_err(store)?, console, owner);
            for seq in delete {
                match service.ask(Request::DeleteEvent { seq }).await? {
                    Reply::EventDeleted { deleted: true, .. } => {
                        console.err(&format!("deleted quarantined event {seq}"))
                    }
                    Reply::EventDeleted { deleted: false, .. } => {
                        return Err(CliError::usage(format!(
                            "event {seq} is not quarantined (see `dmdesk export --what events`)"
                        )))
                    }
                    _ => {
                        return Err(CliError::runtime(
                            "the inbox answered a delete with something else",
                        ))
                    }
                }
            }
            Ok(())
        }
        OneShot::Replay(_) => {
            let service = Service::new(cfg, &store_or_err(store)?, console, owner);
            let r = service.ask(Request::Replay).await?;
            let Reply::Replayed {
                applied,
                quarantined,
                pending_applied,
            } = r
            else {
                return Err(CliError::runtime(
                    "the inbox answered a replay with something else",
                ));
            };
            console.err(&format!(
                "replayed: {applied} applied, {quarantined} still quarantined{}",
                if pending_applied > 0 {
                    format!(" ({pending_applied} pending events applied first)")
                } else {
                    String::new()
                }
            ));
            Ok(())
        }
    }
}

/// The inbox service as this command's caller; each request runs on a
/// blocking thread (store reads may block).
pub(crate) struct Service {
    inbox: Arc<Inbox>,
    me: Caller,
}

impl Service {
    fn new(config: &Config, store: &Db, console: &Console, owner: Option<&Owner>) -> Service {
        Service {
            inbox: Arc::new(inbox(config, store.clone(), owner)),
            me: Caller {
                session: 0,
                agent: console.agent.clone(),
            },
        }
    }

    async fn ask(&self, r: Request) -> Result<Reply, CliError> {
        let (inbox, me) = (self.inbox.clone(), self.me.clone());
        tokio::task::spawn_blocking(move || inbox.handle(&me, r))
            .await
            .map_err(|e| CliError::runtime(format!("the inbox stopped: {e}")))?
            .map_err(CliError::runtime)
    }
}

/// What the process holding the store lends the one-shots it runs (for
/// its clients): its job queue, whose send worker runs campaigns, and that
/// worker's send context, so every send of the process keeps one pace.
#[derive(Clone)]
pub struct Owner {
    pub jobs: crate::workers::JobSender,
    pub send: crate::send::reply::SendCtx,
}

/// The inbox service for one command: over `store`, with the owner's
/// workers and send pace when this process has them (a command run where no
/// owner answers queues no jobs: it runs them itself).
pub fn inbox(cfg: &Config, store: Db, owner: Option<&Owner>) -> Inbox {
    let inbox = match owner {
        Some(o) => Inbox::new(store, o.jobs.clone()).with_send(o.send.clone()),
        None => Inbox::new(store, tokio::sync::mpsc::unbounded_channel().0),
    };
    inbox.with_config(Arc::new(cfg.clone()))
}

use std::io::Write as _;
