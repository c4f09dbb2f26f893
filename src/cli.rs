//! The command line: clap definitions. Exit codes: 0 ok, 1 runtime failure,
//! 2 usage or configuration error.

use clap::{Args, Parser, Subcommand};
use std::path::PathBuf;

#[derive(Debug, Parser)]
#[command(
    name = "dmdesk",
    version,
    about = "A terminal inbox for Facebook Messenger and Instagram"
)]
pub struct Cli {
    /// Configuration file [default: $XDG_CONFIG_HOME/dmdesk/config.toml]
    #[arg(long, global = true, value_name = "PATH")]
    pub config: Option<PathBuf>,
    /// Control socket of the dmdesk that holds the store (for agents who
    /// cannot read its config) [default: control.sock in the configured store]
    #[arg(long, global = true, value_name = "PATH", env = "DMDESK_SOCKET")]
    pub socket: Option<PathBuf>,
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the inbox with a built-in simulator playing Meta (no Meta app needed)
    Demo,
    /// Run headless: webhook server, ingest, sync schedule and send workers
    Serve,
    /// Print the store as JSON Lines
    Export(ExportArgs),
    /// Re-apply quarantined webhook events (or delete one with --delete)
    Replay(ReplayArgs),
    /// Sync conversations and profiles from the Graph API
    Sync(SyncArgs),
    /// Send one message through the outbox and print its mid
    Send(SendArgs),
    /// Send one message to many conversations (a campaign)
    Bulk(BulkArgs),
    /// Check the configuration, tokens and webhook subscriptions
    Doctor,
    /// Assign a conversation to an agent, to yourself, or to nobody
    Assign(AssignArgs),
    /// Add or remove a conversation's labels
    Label(LabelArgs),
    /// Add a private note to a conversation (never sent to the customer)
    Note(NoteArgs),
    /// Print the team report: response and resolution times, replies, per agent, page and day
    Report(ReportArgs),
    /// Run the Meta simulator alone (fake Graph API + simulated customers)
    Sim(SimArgs),
    /// Open the inbox attached to the running dmdesk that owns the store
    Attach(AttachArgs),
    /// Print shell completions (bash, zsh, fish, elvish, powershell)
    Completions(CompletionsArgs),
    /// Print the man page, or write every page into a folder
    Man(ManArgs),
    /// Copy the sled store (`[store] path`) into an empty PostgreSQL database
    Migrate(MigrateArgs),
}

#[derive(Debug, Clone, Args)]
pub struct MigrateArgs {
    /// The backend to copy into
    #[arg(long, value_enum)]
    pub to: MigrateTarget,
    /// The database URL (default: `[store] url`/`url_env` of the config)
    #[arg(long, value_name = "URL", conflicts_with = "url_env")]
    pub url: Option<String>,
    /// The environment variable holding the database URL
    #[arg(long, value_name = "NAME")]
    pub url_env: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum MigrateTarget {
    Postgres,
}

#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell to complete for
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}

#[derive(Debug, Args)]
pub struct ManArgs {
    /// The subcommand whose page to print (default: dmdesk's own)
    pub subcommand: Option<String>,
    /// Write dmdesk.1 and one dmdesk-SUBCOMMAND.1 per subcommand here
    #[arg(long, value_name = "DIR", conflicts_with = "subcommand")]
    pub dir: Option<PathBuf>,
}

/// Shell completions generated from these definitions.
pub fn completions(shell: clap_complete::Shell, out: &mut dyn std::io::Write) {
    let mut cmd = <Cli as clap::CommandFactory>::command();
    clap_complete::generate(shell, &mut cmd, "dmdesk", out);
}

/// Man pages generated from these definitions: dmdesk's own, or one
/// subcommand's (`sim-populate` for a nested one), named `dmdesk-SUB`.
pub fn man_page(subcommand: Option<&str>, out: &mut dyn std::io::Write) -> std::io::Result<()> {
    let mut page = <Cli as clap::CommandFactory>::command();
    if let Some(path) = subcommand {
        for part in path.split('-') {
            page = page.find_subcommand(part).cloned().ok_or_else(|| {
                std::io::Error::new(
                    std::io::ErrorKind::NotFound,
                    format!("no subcommand `{path}`"),
                )
            })?;
        }
        page = page.name(format!("dmdesk-{path}"));
    }
    clap_mangen::Man::new(page).render(out)
}

/// Every subcommand's page name (`serve`, `sim`, `sim-populate`, ...).
pub fn man_page_names() -> Vec<String> {
    fn walk(cmd: &clap::Command, prefix: &str, out: &mut Vec<String>) {
        for c in cmd.get_subcommands().filter(|c| c.get_name() != "help") {
            let name = format!("{prefix}{}", c.get_name());
            out.push(name.clone());
            walk(c, &format!("{name}-"), out);
        }
    }
    let mut out = Vec::new();
    walk(&<Cli as clap::CommandFactory>::command(), "", &mut out);
    out
}

/// Every page into `dir` (dmdesk.1, dmdesk-serve.1, ...); returns the files.
pub fn man_pages_into(dir: &std::path::Path) -> std::io::Result<Vec<PathBuf>> {
    std::fs::create_dir_all(dir)?;
    let mut names: Vec<Option<String>> = vec![None];
    names.extend(man_page_names().into_iter().map(Some));
    let mut files = Vec::new();
    for n in names {
        let file = dir.join(match &n {
            None => "dmdesk.1".to_string(),
            Some(s) => format!("dmdesk-{s}.1"),
        });
        let mut buf = Vec::new();
        man_page(n.as_deref(), &mut buf)?;
        std::fs::write(&file, buf)?;
        files.push(file);
    }
    Ok(files)
}

#[derive(Debug, Args)]
pub struct AttachArgs {
    /// The owner's control socket [default: control.sock in the configured store]
    pub socket: Option<PathBuf>,
}

// A request parameter of the inbox service; named here too for the CLI.
use crate::request::ExportWhat;

#[derive(Debug, Clone, PartialEq, Default, Args, serde::Serialize, serde::Deserialize)]
pub struct ReplayArgs {
    /// Delete this quarantined event instead of replaying (its seq, as
    /// `export --what events` and `doctor` show it); repeatable
    #[arg(long = "delete", value_name = "SEQ")]
    #[serde(default)]
    pub delete: Vec<u64>,
}

#[derive(Debug, Args)]
pub struct ExportArgs {
    #[arg(long, value_enum, default_value_t = ExportWhat::Messages)]
    pub what: ExportWhat,
}

#[derive(Debug, Args)]
pub struct ReportArgs {
    /// How far back the report reaches (e.g. 36h, 7d, 30d)
    #[arg(long, value_parser = humantime::parse_duration, default_value = "7d")]
    pub since: std::time::Duration,
    #[arg(long, value_enum, default_value_t = crate::report::Format::Table)]
    pub format: crate::report::Format,
}

#[derive(Debug, Clone, PartialEq, Args, serde::Serialize, serde::Deserialize)]
pub struct SyncArgs {
    /// Only this page or Instagram account id
    #[arg(long)]
    pub account: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Args, serde::Serialize, serde::Deserialize)]
#[command(group(clap::ArgGroup::new("content").args(["text", "file"]).required(true).multiple(true)))]
pub struct SendArgs {
    /// Page id or Instagram account id
    #[arg(long)]
    pub account: String,
    /// The customer's PSID or IGSID
    #[arg(long)]
    pub user: String,
    /// The text to send (give --text, --file or both)
    #[arg(long)]
    pub text: Option<String>,
    /// An image, video, audio or other file (at most 25 MB; Instagram: png/jpeg
    /// up to 8 MB, audio, video, through a running dmdesk with [server]
    /// public_url). With --text both are sent, the text first, and one mid is
    /// printed per line
    #[arg(long, value_name = "PATH", value_parser = FileArg::parse)]
    pub file: Option<FileArg>,
    /// Message tag for a send outside the 24-hour window. Only HUMAN_AGENT (a
    /// person's reply, up to 7 days, pages with the permission); Meta retired
    /// CONFIRMED_EVENT_UPDATE, POST_PURCHASE_UPDATE and ACCOUNT_UPDATE in 2026
    /// and they are refused (exit 2)
    #[arg(long)]
    pub tag: Option<String>,
}

/// `--file` as typed. Only the process that parsed the command line reads
/// it: through the control socket the client streams it first
/// (src/control/upload.rs) and names the upload, because the process holding
/// the store never opens a path on a client's behalf.
#[derive(Debug, Clone, PartialEq)]
pub enum FileArg {
    Local(PathBuf),
    /// A path that arrived over the socket (an older client): refused.
    Remote(String),
    /// A file the client streamed to the owner (`Request::Upload`).
    Staged {
        id: String,
        name: String,
    },
}

impl FileArg {
    fn parse(s: &str) -> Result<FileArg, String> {
        Ok(FileArg::Local(PathBuf::from(s)))
    }

    pub fn shown(&self) -> String {
        match self {
            FileArg::Local(p) => p.display().to_string(),
            FileArg::Remote(s) => s.clone(),
            FileArg::Staged { name, .. } => name.clone(),
        }
    }
}

/// On the wire: a path as a string, a staged file as `{"staged", "name"}`.
#[derive(serde::Serialize, serde::Deserialize)]
#[serde(untagged)]
enum FileWire {
    Path(String),
    Staged { staged: String, name: String },
}

impl serde::Serialize for FileArg {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            FileArg::Staged { id, name } => FileWire::Staged {
                staged: id.clone(),
                name: name.clone(),
            },
            other => FileWire::Path(other.shown()),
        }
        .serialize(s)
    }
}

impl<'de> serde::Deserialize<'de> for FileArg {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<FileArg, D::Error> {
        Ok(match FileWire::deserialize(d)? {
            FileWire::Path(p) => FileArg::Remote(p),
            FileWire::Staged { staged, name } => FileArg::Staged { id: staged, name },
        })
    }
}

#[derive(Debug, Args)]
pub struct BulkArgs {
    #[arg(long, required_unless_present_any = ["resume", "file"])]
    pub text: Option<String>,
    /// An image, video, audio or other file sent to every recipient
    /// (uploaded once; Instagram gets a URL a running dmdesk serves, with
    /// [server] public_url; at most 25 MB). Not with --text: Meta sends
    /// text and attachment as two messages, so send the text as its own campaign
    #[arg(long, value_name = "PATH", conflicts_with_all = ["text", "resume"])]
    pub file: Option<PathBuf>,
    /// File with one `account_id user_id` pair a line
    #[arg(long, conflicts_with = "all")]
    pub users: Option<PathBuf>,
    /// Every conversation in the store
    #[arg(long)]
    pub all: bool,
    /// No tag applies to a campaign: it goes only to customers inside the
    /// 24-hour window. HUMAN_AGENT is for a person's reply and Meta retired the
    /// update tags in 2026, so any --tag is refused (exit 2)
    #[arg(long)]
    pub tag: Option<String>,
    /// Campaign title
    #[arg(long)]
    pub title: Option<String>,
    /// Do not ask for confirmation
    #[arg(long)]
    pub yes: bool,
    /// Continue an interrupted campaign
    #[arg(long, value_name = "ID", conflicts_with_all = ["text", "users", "all"])]
    pub resume: Option<String>,
}

/// Which conversation a team command is about.
#[derive(Debug, Clone, PartialEq, Args, serde::Serialize, serde::Deserialize)]
pub struct ConvArgs {
    /// Page id or Instagram account id
    #[arg(long)]
    pub account: String,
    /// The customer's PSID or IGSID
    #[arg(long)]
    pub user: String,
}

#[derive(Debug, Clone, PartialEq, Args, serde::Serialize, serde::Deserialize)]
#[command(group = clap::ArgGroup::new("whom").required(true).args(["to", "me", "none"]))]
pub struct AssignArgs {
    #[command(flatten)]
    pub conv: ConvArgs,
    /// An agent from `[team] agents` or a Unix user
    #[arg(long, value_name = "AGENT")]
    pub to: Option<String>,
    /// Yourself (a colleague's conversation is taken over; they are told)
    #[arg(long)]
    pub me: bool,
    /// Nobody: unassign
    #[arg(long)]
    pub none: bool,
}

#[derive(Debug, Clone, PartialEq, Args, serde::Serialize, serde::Deserialize)]
#[command(group = clap::ArgGroup::new("change").required(true).multiple(true).args(["add", "remove"]))]
pub struct LabelArgs {
    #[command(flatten)]
    pub conv: ConvArgs,
    /// A label to add (repeat for more)
    #[arg(long, value_name = "LABEL")]
    pub add: Vec<String>,
    /// A label to remove (repeat for more)
    #[arg(long, value_name = "LABEL")]
    pub remove: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Args, serde::Serialize, serde::Deserialize)]
pub struct NoteArgs {
    #[command(flatten)]
    pub conv: ConvArgs,
    /// The note; `@agent` tells that agent
    #[arg(long)]
    pub text: String,
}

#[derive(Debug, Args)]
pub struct SimArgs {
    #[command(subcommand)]
    pub command: Option<SimCommand>,
    /// Where simulated customers post signed webhooks
    #[arg(long, default_value = "http://127.0.0.1:8080/webhook")]
    pub webhook: String,
    /// Customer messages per second
    #[arg(long, default_value_t = 1.0)]
    pub rate: f64,
    /// Number of simulated customers
    #[arg(long, default_value_t = 20)]
    pub customers: usize,
    /// Port of the fake Graph API on 127.0.0.1 (0: any free port)
    #[arg(long, default_value_t = 0)]
    pub graph_port: u16,
    /// Stop after this many messages (0: run until Ctrl-C)
    #[arg(long, default_value_t = 0)]
    pub count: u64,
}

#[derive(Debug, Subcommand)]
pub enum SimCommand {
    /// Generate a large store for benchmarks
    Populate(PopulateArgs),
}

#[derive(Debug, Args)]
pub struct PopulateArgs {
    #[arg(long)]
    pub conversations: u64,
    /// Messages in total
    #[arg(long)]
    pub messages: u64,
    #[arg(long)]
    pub store: PathBuf,
}

/// A command's failure with its exit code: 1 runtime, 2 usage/configuration.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct CliError {
    pub code: u8,
    pub message: String,
}

impl CliError {
    pub fn runtime(message: impl Into<String>) -> CliError {
        CliError {
            code: 1,
            message: message.into(),
        }
    }
    pub fn usage(message: impl Into<String>) -> CliError {
        CliError {
            code: 2,
            message: message.into(),
        }
    }
}

impl From<crate::store::StoreError> for CliError {
    fn from(e: crate::store::StoreError) -> CliError {
        CliError::runtime(e.to_string())
    }
}

impl From<crate::config::ConfigError> for CliError {
    fn from(e: crate::config::ConfigError) -> CliError {
        CliError::usage(e.to_string())
    }
}

impl From<std::io::Error> for CliError {
    fn from(e: std::io::Error) -> CliError {
        CliError::runtime(e.to_string())
    }
}

pub type CliResult = Result<(), CliError>;
