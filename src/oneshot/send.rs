//! `dmdesk send` and `dmdesk bulk`: results on stdout, progress and
//! messages on stderr (plain lines when stderr is not a terminal). A
//! campaign's preview, record and report come from the inbox service.

use super::Service;
use crate::cli::{CliError, CliResult, FileArg, SendArgs};
use crate::config::Config;
use crate::console::Console;
use crate::db::Db;
use crate::domain::{AccountId, ConvKey, Platform, TimestampMs, UserId};
use crate::inbox::{Audience, BulkContent, Reply, Request};
use crate::media::outgoing::Media;
use crate::meta::graph::GraphClient;
use crate::request::campaign::{CampaignReport, Preview};
use crate::request::send_now::{NotSent, SendFile};
use crate::rules::window::Tag;
use crate::send::attach;
use crate::send::campaign::{self, CampaignError, Tuning};
use crate::send::reply::{self, SendCtx};
use crate::store::{CampaignRecord, CampaignStatus};
use crate::update::Update;
use crate::webhook::media::ServedFiles;
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use tokio_util::sync::CancellationToken;

/// `bulk`'s arguments with the `--users` file already read by the client:
/// the owner never opens a path on a client's behalf.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BulkRequest {
    pub text: Option<String>,
    pub users: Option<UsersFile>,
    pub all: bool,
    pub tag: Option<String>,
    pub title: Option<String>,
    pub yes: bool,
    pub resume: Option<String>,
    /// `--file`: a path where the store is open here, an upload the client
    /// streamed first through a running dmdesk (src/control/upload.rs).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file: Option<FileArg>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UsersFile {
    /// As given on the command line, for messages.
    pub path: String,
    pub text: String,
}

/// `--tag` as typed: only tags Meta still accepts; a retired one is refused
/// here, before any call, with what to do instead (exit 2).
fn parse_tag(s: Option<&str>) -> Result<Option<Tag>, CliError> {
    match s {
        None => Ok(None),
        Some(s) => Tag::parse(s)
            .map(Some)
            .map_err(|e| CliError::usage(format!("--tag: {e}"))),
    }
}

fn conv_for(config: &Config, account: &str, user: &str) -> Result<ConvKey, CliError> {
    let account = AccountId::new(account.trim());
    let Some((_, platform)) = config.page_for(&account) else {
        return Err(CliError::usage(format!(
            "account {account} is not in the config: add a [[pages]] block with this id (or as its instagram_id) and a token"
        )));
    };
    Ok(ConvKey {
        platform,
        account,
        user: UserId::new(user.trim()),
    })
}

/// `dmdesk send`: prints Meta's mid alone on stdout, one line per message
/// (a text and a file are two messages, the text first). The inbox service
/// sends and waits for the API answer (not the echo): the one-shot command
/// must return the mid.
pub async fn cli_send(
    config: &Config,
    store: Db,
    args: &SendArgs,
    console: &Console,
    owner: Option<&super::Owner>,
) -> CliResult {
    let tag = parse_tag(args.tag.as_deref())?;
    let key = conv_for(config, &args.account, &args.user)?;
    // What can be checked without the store, before the request; the
    // service checks the file against Meta's rules before anything goes.
    let file = match &args.file {
        None => None,
        Some(FileArg::Remote(p)) => return Err(older_client(p)),
        // Streamed by the client; taken as the user who streamed it.
        Some(FileArg::Staged { id, .. }) => Some(SendFile::Upload(id.clone())),
        Some(FileArg::Local(p)) => {
            attach::check_platform(config, key.platform)
                .map_err(|r| CliError::usage(format!("--file: {r}")))?;
            if key.platform == crate::domain::Platform::Instagram {
                return Err(CliError::usage(format!(
                    "--file {}: Instagram fetches the file from dmdesk's webhook server, and none runs here: start `dmdesk serve` (or the TUI) and run this again",
                    p.display()
                )));
            }
            let media = Media::read(p).map_err(|e| CliError::usage(format!("--file {e}")))?;
            Some(SendFile::Read(media))
        }
    };
    if args.text.is_none() && file.is_none() {
        return Err(CliError::usage("give --text, --file or both"));
    }
    let send = Request::Send {
        conv: key,
        text: args.text.clone(),
        file,
        tag,
    };
    let sent = match Service::new(config, &store, console, owner)
        .ask(send)
        .await?
    {
        Reply::Sent(sent) => sent,
        other => return Err(unexpected(other)),
    };
    for mid in &sent.mids {
        console.out(mid.as_str());
    }
    let Some(why) = sent.not_sent else {
        return Ok(());
    };
    // After a message that went out (the text), say the file is what failed.
    let what = if sent.mids.is_empty() {
        ""
    } else {
        "the text was sent; the file "
    };
    Err(match why {
        NotSent::File(e) => CliError::usage(format!("--file: {e}")),
        NotSent::Refused(r) => CliError::runtime(format!("{what}not sent: {r}")),
        NotSent::Failed(reason) => CliError::runtime(format!("{what}send failed: {reason}")),
        NotSent::Store(e) => CliError::runtime(e),
    })
}

/// Read `account_id user_id` pairs, one a line (`#` comments and blank lines ignored).
fn read_users(config: &Config, users: &UsersFile) -> Result<Vec<ConvKey>, CliError> {
    parse_users(config, &users.text)
        .map_err(|e| CliError::usage(format!("--users {}: {}", users.path, e.message)))
}

/// Longest id accepted in a `--users` line (Meta's ids are far shorter).
const MAX_ID: usize = 64;

/// Whether `s` has the shape of a Meta id: 1–64 ASCII letters, digits,
/// `_`, `-` or `.`.
fn is_id(s: &str) -> bool {
    (1..=MAX_ID).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'))
}

/// The `--users` format: `account_id user_id` a line, separated by spaces
/// or tabs; blank lines and lines starting with `#` are skipped. Any other
/// line is refused naming its number, before anything is created: a
/// mistyped file must not become a campaign that quietly sends nothing.
pub fn parse_users(config: &Config, text: &str) -> Result<Vec<ConvKey>, CliError> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut out = Vec::new();
    for (n, raw) in text.lines().enumerate() {
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let bad = |why: &str| {
            // Show what was found, escaped and short: it may be anything.
            let shown: String = line.chars().take(60).collect();
            CliError::usage(format!("line {}: {why}, found {shown:?}", n + 1))
        };
        let mut parts = line.split([' ', '\t']).filter(|s| !s.is_empty());
        let (Some(account), Some(user), None) = (parts.next(), parts.next(), parts.next()) else {
            return Err(bad("expected `account_id user_id`"));
        };
        for id in [account, user] {
            if !is_id(id) {
                return Err(bad(&format!(
                    "`{}` is not an id (1-{MAX_ID} ASCII letters, digits, `_`, `-` or `.`)",
                    id.chars().take(MAX_ID + 1).collect::<String>()
                )));
            }
        }
        let account = AccountId::new(account);
        let Some((_, platform)) = config.page_for(&account) else {
            return Err(bad(&format!(
                "account {account} is not a configured page or Instagram account"
            )));
        };
        out.push(ConvKey {
            platform,
            account,
            user: UserId::new(user),
        });
    }
    if out.is_empty() {
        return Err(CliError::usage(
            "no `account_id user_id` line: nothing to send",
        ));
    }
    Ok(out)
}

fn print_preview(p: &Preview, console: &Console) {
    for l in p.lines() {
        console.err(&l);
    }
}

/// A campaign's requests, as this command's caller.
impl Service {
    async fn preview(&self, audience: Audience, content: BulkContent) -> Result<Preview, CliError> {
        match self.ask(Request::BulkPreview { audience, content }).await? {
            Reply::BulkPreview(p) => Ok(*p),
            other => Err(unexpected(other)),
        }
    }

    async fn create(
        &self,
        title: String,
        text: &str,
        tag: Option<Tag>,
        preview: Preview,
    ) -> Result<CampaignRecord, CliError> {
        let create = Request::BulkCreate {
            title,
            text: text.to_string(),
            tag,
            preview: Box::new(preview),
        };
        match self.ask(create).await? {
            Reply::Campaign(Some(c)) => Ok(*c),
            other => Err(unexpected(other)),
        }
    }

    async fn campaign(&self, id: &str) -> Result<Option<CampaignRecord>, CliError> {
        match self.ask(Request::Campaign { id: id.into() }).await? {
            Reply::Campaign(c) => Ok(c.map(|c| *c)),
            other => Err(unexpected(other)),
        }
    }

    async fn report(&self, id: &str) -> Result<CampaignReport, CliError> {
        match self.ask(Request::CampaignReport { id: id.into() }).await? {
            Reply::CampaignReport(r) => Ok(*r),
            other => Err(unexpected(other)),
        }
    }
}

fn unexpected(r: Reply) -> CliError {
    CliError::runtime(format!("the inbox answered out of turn: {r:?}"))
}

/// `dmdesk bulk`: preview, confirmation, the campaign with progress, the
/// report on stdout. Exit 0 when the campaign ran to its end, 1 when it
/// stopped or was interrupted, 2 for usage (HUMAN_AGENT, no `--yes` without
/// a terminal).
pub async fn cli_bulk(
    config: &Config,
    store: Db,
    args: &BulkRequest,
    console: &Console,
    owner: Option<&super::Owner>,
) -> CliResult {
    if let Some(file) = &args.file {
        return cli_bulk_file(config, store, args, file, console, owner).await;
    }
    let (service, ctx, tuning) = bulk_parts(config, &store, console, owner);

    let id = match &args.resume {
        Some(id) => {
            let c = service
                .campaign(id)
                .await?
                .ok_or_else(|| CliError::runtime(format!("no campaign {id} in the store")))?;
            match c.status {
                CampaignStatus::Done => console.err(&format!("campaign {id} already finished")),
                CampaignStatus::Cancelled => {
                    return Err(CliError::runtime(format!(
                        "campaign {id} was cancelled; it cannot be resumed"
                    )))
                }
                _ => console.err(&format!("resuming campaign {id} \"{}\"", c.title)),
            }
            c.id
        }
        None => create_from_args(&service, config, args, console).await?,
    };
    run_to_report(&ctx, &service, owner.is_some(), &tuning, &id, console).await
}

/// What a bulk run needs, text or file: the campaign service, the send
/// context and the runner's tuning.
fn bulk_parts(
    config: &Config,
    store: &Db,
    console: &Console,
    owner: Option<&super::Owner>,
) -> (Service, SendCtx, Tuning) {
    let service = Service::new(config, store, console, owner);
    let ctx = match owner {
        Some(o) => o.send.clone(),
        None => SendCtx::new(
            store.clone(),
            Arc::new(config.clone()),
            GraphClient::new(&config.graph),
        ),
    };
    let mut tuning = Tuning::from_config(config);
    // No webhook receiver runs in this process: an echo cannot arrive here,
    // so waiting for one is pointless (export still reconciles it later).
    tuning.unknown_grace = std::time::Duration::ZERO;
    (service, ctx, tuning)
}

/// `--file` named by a client older than the process holding the store
/// (it sent the path, not the file).
fn older_client(path: &str) -> CliError {
    CliError::runtime(format!(
        "--file {path}: this dmdesk client is older than the one holding the store; use the same binary"
    ))
}

/// Why Instagram recipients of `bulk --file` are skipped where the store is
/// not held by a running dmdesk.
const NO_SERVER: &str = "Instagram takes media only by URL, and no webhook server runs in this process to serve the file: run bulk --file while `dmdesk serve` (or the TUI) holds the store, with [server] public_url set";

/// `dmdesk bulk --file PATH`: the file is checked and read once, uploaded
/// once per page that has recipients (Attachment Upload API), and every
/// recipient is sent its `attachment_id`. Where the store is held, the
/// client streamed the file to the owner first and the owner's send worker
/// runs the campaign (as for a text campaign).
async fn cli_bulk_file(
    config: &Config,
    store: Db,
    args: &BulkRequest,
    file: &FileArg,
    console: &Console,
    owner: Option<&super::Owner>,
) -> CliResult {
    let media = match file {
        FileArg::Local(p) => Media::read(p).map_err(|e| CliError::usage(format!("--file {e}")))?,
        // Streamed by the client; taken as the user who streamed it.
        FileArg::Staged { id, .. } => {
            attach::take_staged(store.path(), id, console.agent.as_deref())
                .await
                .map_err(|e| CliError::usage(format!("--file: {e}")))?
        }
        FileArg::Remote(p) => return Err(older_client(p)),
    };
    let (service, ctx, tuning) = bulk_parts(config, &store, console, owner);
    campaign_tag(args)?;
    let audience = audience(config, args)?;
    let about = format!("[{}] {}", media.kind.as_str(), media.name);
    // Instagram fetches the file from the webhook server of the process
    // that runs the campaign: only an owner (serve, the TUI) has one.
    let instagram = if owner.is_some() {
        attach::check_media(config, Platform::Instagram, &media).map_err(|r| r.0)
    } else {
        Err(NO_SERVER.to_string())
    };
    let content = BulkContent::File {
        about: about.clone(),
        instagram,
    };
    let preview = service.preview(audience, content).await?;
    print_preview(&preview, console);
    confirm(&preview, args, console).await?;
    let inside = |p: Platform| {
        preview.rows.iter().filter(move |r| {
            r.eligibility == crate::request::campaign::Eligibility::Inside && r.conv.platform == p
        })
    };
    // One served copy for every Instagram recipient, for as long as the
    // campaign may send to them.
    let served = match inside(Platform::Instagram).next() {
        None => None,
        Some(_) => {
            let now = TimestampMs::now();
            let (url, token) = attach::serve(&ctx, &media, now, campaign::INSTAGRAM_SERVE_FOR)
                .await
                .map_err(|e| {
                    CliError::runtime(format!(
                        "serving {} for Instagram failed: {e}; nothing was sent",
                        media.name
                    ))
                })?;
            let until = campaign::INSTAGRAM_SEND_FOR.as_millis() as i64;
            let copy = campaign::ServedCopy {
                url,
                send_until_ms: now.0.saturating_add(until),
            };
            Some((copy, token))
        }
    };
    let unserve = |why: CliError| {
        if let Some((_, token)) = &served {
            ServedFiles::under(store.path()).remove(token);
        }
        why
    };
    // An attachment_id belongs to the page that uploaded it.
    let mut pages: Vec<&crate::config::PageConfig> = Vec::new();
    for row in inside(Platform::Messenger) {
        if let Ok(page) = reply::route(config, &row.conv) {
            if !pages.iter().any(|p| p.id == page.id) {
                pages.push(page);
            }
        }
    }
    let mut ids = std::collections::BTreeMap::new();
    for page in pages {
        let id = ctx
            .graph
            .upload_attachment(&page.id, &page.access_token, &media)
            .await
            .map_err(|e| {
                unserve(CliError::runtime(format!(
                    "uploading {} for page {} failed: {}; nothing was sent",
                    media.name,
                    page.name,
                    e.describe()
                )))
            })?;
        ids.insert(page.id.to_string(), id);
    }
    if !ids.is_empty() {
        console.err(&format!("{about} uploaded ({} bytes)", media.bytes.len()));
    }
    if served.is_some() {
        console.err(&format!(
            "{about} served for Instagram for {} h",
            campaign::INSTAGRAM_SERVE_FOR.as_secs() / 3600
        ));
    }
    let title = args.title.clone().unwrap_or_else(|| about.clone());
    let c = service
        .create(title, "", None, preview)
        .await
        .map_err(unserve)?;
    campaign::CampaignFile {
        kind: media.kind,
        name: media.name.clone(),
        attachment_ids: ids,
        served: served.map(|(copy, _)| copy),
    }
    .save(store.path(), &c.id)
    .map_err(|e| {
        CliError::runtime(format!(
            "campaign {}: cannot keep its file record: {e}",
            c.id
        ))
    })?;
    console.err(&format!(
        "campaign {} created (resume with `dmdesk bulk --resume {}` if interrupted)",
        c.id, c.id
    ));
    run_to_report(&ctx, &service, owner.is_some(), &tuning, &c.id, console).await
}

/// Run (or follow) a created campaign and print its report. `owner`: this
/// process holds the store for others (its send worker runs campaigns).
async fn run_to_report(
    ctx: &SendCtx,
    service: &Service,
    owner: bool,
    tuning: &Tuning,
    id: &str,
    console: &Console,
) -> CliResult {
    let store = &ctx.store;
    let id = id.to_string();
    let rep = if owner {
        // In the process that holds the store (through the control socket):
        // its send worker runs the campaign, so there is one runner and one
        // rate limit however many agents start or resume it.
        follow_in_owner(service, store, &id, console).await?
    } else {
        let cancel = CancellationToken::new();
        // Ctrl-C: stop starting sends, leave the campaign resumable.
        let shutdown = console.cancel.clone();
        let progress = spawn_progress(store, &id, console);
        let res = campaign::run(ctx, &id, tuning, &cancel, &shutdown).await;
        progress.abort();
        let _ = progress.await;
        match res {
            Ok(r) => r,
            Err(CampaignError::Store(e)) => return Err(e.into()),
            Err(e) => return Err(CliError::runtime(e.to_string())),
        }
    };
    console.out(&rep.to_string());
    match rep.status {
        CampaignStatus::Done => Ok(()),
        CampaignStatus::Stopped => Err(CliError::runtime(format!(
            "campaign {id} stopped: {}; fix it and run `dmdesk bulk --resume {id}`",
            rep.status_reason.as_deref().unwrap_or("see the report")
        ))),
        CampaignStatus::Cancelled => Err(CliError::runtime(format!("campaign {id} was cancelled"))),
        CampaignStatus::Running => Err(CliError::runtime(format!(
            "campaign {id} interrupted; continue with `dmdesk bulk --resume {id}`"
        ))),
    }
}

/// Hand the campaign to the owner's send worker and follow it to its end.
/// If the client goes away the campaign goes on in the owner.
async fn follow_in_owner(
    service: &Service,
    store: &Db,
    id: &str,
    console: &Console,
) -> Result<CampaignReport, CliError> {
    let mut updates = store.subscribe();
    let progress = spawn_progress(store, id, console);
    service.ask(Request::BulkStart { id: id.into() }).await?;
    let finished = async {
        loop {
            // The store says when it ended (a finished one sends no progress).
            match service.campaign(id).await {
                Ok(Some(c)) if c.status == CampaignStatus::Running => {}
                _ => return,
            }
            let wait = tokio::time::sleep(std::time::Duration::from_millis(500));
            tokio::select! {
                u = updates.recv() => match u {
                    Ok(p) if matches!(&*p.update, Update::Campaign(p) if p.id == id && !p.running) => return,
                    Err(crate::bus::RecvError::Closed) => return,
                    _ => {}
                },
                _ = wait => {}
            }
        }
    };
    tokio::select! {
        _ = finished => {}
        _ = console.cancel.cancelled() => {}
    }
    progress.abort();
    let _ = progress.await;
    service.report(id).await
}

/// `--tag` on a campaign: only ever refused (exit 2), with why.
fn campaign_tag(args: &BulkRequest) -> Result<Option<Tag>, CliError> {
    let tag = parse_tag(args.tag.as_deref()).map_err(|e| {
        CliError::usage(format!(
            "{}; a campaign needs no tag: without --tag it goes to everyone inside the 24-hour window",
            e.message
        ))
    })?;
    campaign::check_campaign_tag(tag).map_err(|r| CliError::usage(format!("--tag: {r}")))?;
    Ok(tag)
}

/// `--users FILE` or `--all`.
fn audience(config: &Config, args: &BulkRequest) -> Result<Audience, CliError> {
    Ok(match (&args.users, args.all) {
        (Some(users), false) => Audience::Listed(read_users(config, users)?),
        (None, true) => Audience::All,
        _ => return Err(CliError::usage("give --users FILE or --all")),
    })
}

/// `--yes`, or the agent's answer on a terminal.
async fn confirm(preview: &Preview, args: &BulkRequest, console: &Console) -> Result<(), CliError> {
    if args.yes {
        return Ok(());
    }
    if !console.can_ask() {
        return Err(CliError::usage(
            "bulk needs --yes when stdin is not a terminal (nothing was sent)",
        ));
    }
    if console
        .confirm(&format!("Send to {} recipient(s)?", preview.sendable()))
        .await?
    {
        Ok(())
    } else {
        Err(CliError::runtime("cancelled; nothing was sent"))
    }
}

async fn create_from_args(
    service: &Service,
    config: &Config,
    args: &BulkRequest,
    console: &Console,
) -> Result<String, CliError> {
    let Some(text) = args.text.as_deref() else {
        return Err(CliError::usage("--text is required (or --resume ID)"));
    };
    // A literal {variable} must never reach a customer: refuse before anything.
    crate::rules::template::Template::parse(text)
        .map_err(|e| CliError::usage(format!("--text: {e}; nothing was sent")))?;
    let tag = campaign_tag(args)?;
    let audience = audience(config, args)?;
    let content = BulkContent::Text {
        text: text.to_string(),
        tag,
    };
    let preview = service.preview(audience, content).await?;
    print_preview(&preview, console);
    confirm(&preview, args, console).await?;
    let title = args
        .title
        .clone()
        .unwrap_or_else(|| text.chars().take(40).collect::<String>());
    let c = service.create(title, text, tag, preview).await?;
    console.err(&format!(
        "campaign {} created (resume with `dmdesk bulk --resume {}` if interrupted)",
        c.id, c.id
    ));
    Ok(c.id)
}

/// A progress bar on a terminal, a plain line every few seconds otherwise.
fn spawn_progress(store: &Db, id: &str, console: &Console) -> tokio::task::JoinHandle<()> {
    let mut rx = store.subscribe();
    let id = id.to_string();
    let tty = console.progress_bar();
    let lines = console.line_sink();
    tokio::spawn(async move {
        let bar = tty.then(|| {
            let b = indicatif::ProgressBar::new(0);
            if let Ok(style) = indicatif::ProgressStyle::with_template(
                "{spinner} [{elapsed_precise}] {bar:30} {pos}/{len} {msg}",
            ) {
                b.set_style(style);
            }
            b
        });
        let mut last_line = std::time::Instant::now();
        loop {
            let u = match rx.recv().await {
                Ok(u) => u,
                Err(crate::bus::RecvError::Missed(_)) => continue,
                Err(crate::bus::RecvError::Closed) => break,
            };
            let Update::Campaign(p) = &*u.update else {
                continue;
            };
            if p.id != id {
                continue;
            }
            let msg = format!("sent {} failed {} skipped {}", p.sent, p.failed, p.skipped);
            match &bar {
                Some(b) => {
                    b.set_length(p.total);
                    b.set_position(p.done);
                    b.set_message(msg);
                    if !p.running {
                        b.finish();
                    }
                }
                None => {
                    if !p.running || last_line.elapsed() >= std::time::Duration::from_secs(2) {
                        lines.err(&format!("campaign {id}: {}/{} {msg}", p.done, p.total));
                        last_line = std::time::Instant::now();
                    }
                }
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Platform;

    fn cfg() -> Config {
        Config::from_toml(
            "[[pages]]\nid = \"p1\"\nname = \"P\"\naccess_token = \"t\"\ninstagram_id = \"ig1\"\n",
            &|_| None,
        )
        .unwrap()
    }

    #[test]
    fn users_file_platform_follows_the_account() {
        let v = parse_users(
            &cfg(),
            "\u{feff}# comment\np1 u1\n\n  ig1\tu2\r\np1  u.3-x_Y\n",
        )
        .unwrap();
        assert_eq!(v[0], ConvKey::new(Platform::Messenger, "p1", "u1"));
        assert_eq!(v[1], ConvKey::new(Platform::Instagram, "ig1", "u2"));
        assert_eq!(v[2], ConvKey::new(Platform::Messenger, "p1", "u.3-x_Y"));
    }

    #[test]
    fn users_file_refuses_any_other_line_naming_its_number() {
        let long = "u".repeat(65);
        let cases = [
            ("bad line", 1, "not a configured page"),
            ("p1 u1\nbad\n", 2, "expected"),
            ("p1 u1\n\n# c\np1 u2 extra\n", 4, "expected"),
            ("p1,u1\n", 1, "expected"),
            ("p1 u/1\n", 1, "not an id"),
            ("p1 ü\n", 1, "not an id"),
            ("zz u1\n", 1, "not a configured page"),
            ("p1 u1 # trailing comment\n", 1, "expected"),
        ];
        for (text, line, why) in cases {
            let e = parse_users(&cfg(), text).unwrap_err();
            assert_eq!(e.code, 2, "{text:?}");
            assert!(
                e.message.starts_with(&format!("line {line}: ")) && e.message.contains(why),
                "{text:?}: {}",
                e.message
            );
            assert!(!e.message.contains('\n'));
        }
        let e = parse_users(&cfg(), &format!("p1 {long}\n")).unwrap_err();
        assert!(e.message.contains("line 1") && e.message.contains("not an id"));
        assert!(parse_users(&cfg(), &format!("p1 {}\n", "u".repeat(64))).is_ok());
        let e = parse_users(&cfg(), "# only comments\n\n").unwrap_err();
        assert_eq!(e.code, 2);
    }

    #[test]
    fn tags_parse_or_fail_with_usage() {
        assert_eq!(
            parse_tag(Some("human_agent")).unwrap(),
            Some(Tag::HumanAgent)
        );
        assert_eq!(parse_tag(Some("nope")).unwrap_err().code, 2);
        let e = parse_tag(Some("POST_PURCHASE_UPDATE")).unwrap_err();
        assert_eq!(e.code, 2);
        assert!(e.message.contains("retired"), "{}", e.message);
    }
}
