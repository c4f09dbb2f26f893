//! Configuration: TOML file, defaults, environment overrides for secrets,
//! and errors that name the key at fault.

use crate::domain::{AccountId, Platform};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

// Plain types that stand below the config (so the rooms that use them
// need not stand above it), read here from their keys.
use crate::media::notify::{NotifyConfig, NotifyVia};
use crate::meta::graph::GraphConfig;
use crate::rules::template::CannedReply;
use crate::secret::Secret;

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("config key `{key}`: {message}")]
    Key { key: String, message: String },
    #[error("config file {path}: {message}")]
    Syntax { path: PathBuf, message: String },
}

impl ConfigError {
    fn key(key: impl Into<String>, message: impl Into<String>) -> ConfigError {
        ConfigError::Key {
            key: key.into(),
            message: message.into(),
        }
    }
}

#[derive(Debug, Clone)]
pub struct Config {
    pub server: ServerConfig,
    pub store: StoreConfig,
    pub graph: GraphConfig,
    /// Every account dmdesk answers for: Facebook Pages (with their
    /// Instagram account) and `[[instagram]]` accounts (see
    /// [`PageConfig::is_instagram_login`]).
    pub pages: Vec<PageConfig>,
    /// The `[[instagram]]` blocks' token sources, by account.
    pub instagram: Vec<InstagramLogin>,
    pub sync: SyncConfig,
    pub send: SendConfig,
    pub ui: UiConfig,
    pub canned: Vec<CannedReply>,
    pub control: ControlConfig,
    /// `[team]`: the agents and how new conversations are assigned.
    pub team: TeamConfig,
    /// `[labels]`: a colour per label name (labels are free-form; these
    /// are drawn in their colour).
    pub labels: std::collections::BTreeMap<String, String>,
    /// `[media]`: the picture cache and fetch limits.
    pub media: MediaConfig,
    /// `[notify]`: desktop notifications besides the bell.
    pub notify: NotifyConfig,
    /// True when no config file existed and demo defaults are in use.
    pub demo: bool,
    pub source: Option<PathBuf>,
    /// Secrets named in the file but missing from the environment, as
    /// (key, message). Commands that go through a running owner need no
    /// secrets, so a lenient load keeps these here and only the commands
    /// that use tokens themselves call `require_secrets`.
    pub unresolved: Vec<(String, String)>,
}

#[derive(Debug, Clone)]
pub struct ServerConfig {
    pub listen: SocketAddr,
    pub path: String,
    pub verify_token: Secret,
    pub app_secret: Secret,
    pub app_id: Option<String>,
    /// The Instagram app's secret, for webhooks of an app set up with
    /// Instagram Login (signed with it instead of the Facebook app secret).
    pub instagram_app_secret: Option<Secret>,
    /// Start the embedded webhook server in the TUI (default true).
    pub enabled: bool,
    /// The HTTPS address Meta reaches this server at (no trailing `/`):
    /// Instagram fetches sent files from `{public_url}/media/{token}`.
    pub public_url: Option<String>,
}

#[derive(Debug, Clone)]
pub struct StoreConfig {
    pub path: PathBuf,
    pub cache_mb: u64,
    /// How long applied webhook bodies stay in the event log (sled backend).
    pub event_retention: Duration,
    /// Logged but unapplied events past which the webhook answers 503.
    pub max_apply_lag: u64,
    /// sled (default) or PostgreSQL with its URL (printed redacted).
    pub backend: crate::store::Backend,
}

#[derive(Debug, Clone)]
pub struct PageConfig {
    pub id: AccountId,
    pub name: String,
    pub access_token: Secret,
    pub instagram_id: Option<AccountId>,
    pub human_agent: bool,
}

impl crate::domain::PageIds for PageConfig {
    fn ids(&self) -> (&AccountId, Option<&AccountId>) {
        (&self.id, self.instagram_id.as_ref())
    }
}

impl PageConfig {
    /// An `[[instagram]]` account (Instagram Login, no Page): it stands in
    /// `pages` as a page whose only account is its Instagram one, so
    /// `instagram_id == id` (a real Page's ids always differ).
    pub fn is_instagram_login(&self) -> bool {
        self.instagram_id.as_ref() == Some(&self.id)
    }
}

/// Where an account's token came from: only a file can take a refreshed one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TokenSource {
    Inline,
    Env(String),
    File(PathBuf),
}

/// An `[[instagram]]` block: an Instagram professional account connected
/// with Instagram Login. Its token is in the matching `pages` entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InstagramLogin {
    pub id: AccountId,
    pub source: TokenSource,
}

/// Default of `[sync] messages_per_conversation` and `conversations_per_page`:
/// large first pages (Meta's maxima are not documented); sync halves them
/// when Meta answers that too much data was asked for.
pub const DEFAULT_PAGE_SIZE: u32 = 100;
/// Largest accepted `[sync]` page size.
pub const MAX_PAGE_SIZE: u32 = 500;
/// Default `[graph] version`.
pub const DEFAULT_GRAPH_VERSION: &str = "v25.0";

#[derive(Debug, Clone)]
pub struct SyncConfig {
    /// None disables scheduled syncs.
    pub interval: Option<Duration>,
    pub messages_per_conversation: u32,
    pub conversations_per_page: u32,
}

#[derive(Debug, Clone)]
pub struct SendConfig {
    pub max_per_second: u32,
    pub concurrency: usize,
}

#[derive(Debug, Clone)]
pub struct UiConfig {
    pub bell: bool,
    pub title: bool,
    pub keys: BTreeMap<String, Vec<String>>,
    /// Wrap the OSC 52 copy in tmux's DCS passthrough (needs tmux's
    /// `allow-passthrough on`). Off: plain OSC 52, which tmux takes into its
    /// paste buffer with `set-clipboard on`.
    pub osc52_passthrough: bool,
    /// ASCII borders and symbols: Some(true|false) forced, None from the locale.
    pub ascii: Option<bool>,
    /// `pictures = "auto"|"kitty"|"sixel"|"iterm2"|"halfblocks"|"off"`.
    pub pictures: crate::media::protocol::PicturesSetting,
}

/// The control socket (teams): where other agents' UIs and commands attach.
#[derive(Debug, Clone, Default)]
pub struct ControlConfig {
    /// Unix group whose members may attach besides the owner's user.
    pub group: Option<String>,
    /// Connection limits and idle bounds (not in the file; tests shorten them).
    pub limits: ControlLimits,
}

/// `[team]`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TeamConfig {
    /// Agents besides the Unix users known from peer credentials.
    pub agents: Vec<crate::team::AgentName>,
    pub auto_assign: AutoAssign,
    /// Open conversations an agent is given at most by auto-assignment.
    pub max_open_per_agent: Option<u32>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum AutoAssign {
    #[default]
    Off,
    /// New unassigned conversations go in turn to the agents attached now.
    RoundRobin,
}

/// Colours a label may have: the terminal's named colours or `#rrggbb`.
pub const LABEL_COLOURS: [&str; 16] = [
    "black",
    "red",
    "green",
    "yellow",
    "blue",
    "magenta",
    "cyan",
    "gray",
    "darkgray",
    "lightred",
    "lightgreen",
    "lightyellow",
    "lightblue",
    "lightmagenta",
    "lightcyan",
    "white",
];

fn check_colour(key: &str, c: &str) -> Result<String, ConfigError> {
    let lower = c.to_ascii_lowercase();
    let hex = lower.len() == 7
        && lower.starts_with('#')
        && lower[1..].chars().all(|ch| ch.is_ascii_hexdigit());
    if hex || LABEL_COLOURS.contains(&lower.as_str()) {
        Ok(lower)
    } else {
        Err(ConfigError::key(
            key,
            format!(
                "`{c}` is not a colour: use #rrggbb or one of {}",
                LABEL_COLOURS.join(", ")
            ),
        ))
    }
}

fn team_config(raw: RawTeam) -> Result<TeamConfig, ConfigError> {
    let mut agents = Vec::new();
    for a in raw.agents {
        let a = a.trim().to_string();
        if a.is_empty()
            || !a
                .chars()
                .all(|c| c.is_alphanumeric() || matches!(c, '_' | '-' | '.'))
        {
            return Err(ConfigError::key(
                "team.agents",
                format!("`{a}` is not an agent name (letters, digits, _ - .)"),
            ));
        }
        agents.push(crate::team::AgentName::new(a));
    }
    let auto_assign = match raw.auto_assign.as_deref() {
        None | Some("off") => AutoAssign::Off,
        Some("round-robin") => AutoAssign::RoundRobin,
        Some(other) => {
            return Err(ConfigError::key(
                "team.auto_assign",
                format!("`{other}`: use \"off\" or \"round-robin\""),
            ))
        }
    };
    if raw.max_open_per_agent == Some(0) {
        return Err(ConfigError::key(
            "team.max_open_per_agent",
            "must be at least 1 (leave it out for no cap)",
        ));
    }
    Ok(TeamConfig {
        agents,
        auto_assign,
        max_open_per_agent: raw.max_open_per_agent,
    })
}

fn labels_config(
    raw: std::collections::BTreeMap<String, String>,
) -> Result<std::collections::BTreeMap<String, String>, ConfigError> {
    raw.into_iter()
        .map(|(name, colour)| {
            let key = format!("labels.{name}");
            crate::change::check_label(&name).map_err(|m| ConfigError::key(&key, m))?;
            Ok((name, check_colour(&key, &colour)?))
        })
        .collect()
}

// ---- raw file shape -------------------------------------------------------

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    #[serde(default)]
    server: RawServer,
    #[serde(default)]
    store: RawStore,
    #[serde(default)]
    graph: RawGraph,
    #[serde(default)]
    pages: Vec<RawPage>,
    #[serde(default)]
    instagram: Vec<RawInstagram>,
    #[serde(default)]
    sync: RawSync,
    #[serde(default)]
    send: RawSend,
    #[serde(default)]
    ui: RawUi,
    #[serde(default)]
    canned: Vec<CannedReply>,
    #[serde(default)]
    control: RawControl,
    #[serde(default)]
    media: RawMedia,
    #[serde(default)]
    notify: RawNotify,
    #[serde(default)]
    team: RawTeam,
    #[serde(default)]
    labels: std::collections::BTreeMap<String, String>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawTeam {
    #[serde(default)]
    agents: Vec<String>,
    auto_assign: Option<String>,
    max_open_per_agent: Option<u32>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawControl {
    group: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawServer {
    listen: Option<String>,
    path: Option<String>,
    verify_token: Option<Secret>,
    app_secret: Option<Secret>,
    app_id: Option<toml::Value>,
    instagram_app_secret_file: Option<PathBuf>,
    enabled: Option<bool>,
    public_url: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawStore {
    path: Option<PathBuf>,
    cache_mb: Option<u64>,
    event_retention: Option<String>,
    max_apply_lag: Option<u64>,
    backend: Option<String>,
    url: Option<Secret>,
    url_env: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawGraph {
    base_url: Option<String>,
    version: Option<String>,
    conversations_per_second: Option<u32>,
    timeout: Option<String>,
    instagram_base_url: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawInstagram {
    id: Option<toml::Value>,
    name: Option<String>,
    access_token: Option<Secret>,
    access_token_env: Option<String>,
    access_token_file: Option<PathBuf>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPage {
    id: Option<toml::Value>,
    name: Option<String>,
    access_token: Option<Secret>,
    access_token_env: Option<String>,
    instagram_id: Option<toml::Value>,
    human_agent: Option<bool>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawSync {
    interval: Option<String>,
    messages_per_conversation: Option<u32>,
    conversations_per_page: Option<u32>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawSend {
    max_per_second: Option<u32>,
    concurrency: Option<usize>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawUi {
    bell: Option<bool>,
    title: Option<bool>,
    osc52_passthrough: Option<bool>,
    ascii: Option<toml::Value>,
    pictures: Option<String>,
    #[serde(default)]
    keys: BTreeMap<String, KeyList>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum KeyList {
    One(String),
    Many(Vec<String>),
}

/// Where to look for the config file when `--config` is not given.
pub fn default_config_path() -> Option<PathBuf> {
    dirs().map(|d| d.config_dir().join("config.toml"))
}

pub fn default_store_path() -> PathBuf {
    dirs()
        .map(|d| d.data_dir().join("store"))
        .unwrap_or_else(|| PathBuf::from("dmdesk-store"))
}

/// `$XDG_STATE_HOME/dmdesk` (falls back to the data dir where there is no state dir).
pub fn state_dir() -> PathBuf {
    dirs()
        .map(|d| {
            d.state_dir()
                .map(Path::to_path_buf)
                .unwrap_or_else(|| d.data_dir().to_path_buf())
        })
        .unwrap_or_else(std::env::temp_dir)
}

fn dirs() -> Option<directories::ProjectDirs> {
    directories::ProjectDirs::from("", "", "dmdesk")
}

/// `[store] event_retention` default: a week of bodies for `replay`/export.
pub const DEFAULT_EVENT_RETENTION: Duration = Duration::from_secs(7 * 86400);
/// `[store] max_apply_lag` default: a few seconds of applying at full speed.
pub const DEFAULT_MAX_APPLY_LAG: u64 = 100_000;

/// The longest duration any setting takes: longer ones are typos, and they
/// keep timer arithmetic far from overflow.
const MAX_DURATION: Duration = Duration::from_secs(366 * 86400);

/// Parse a duration like "24h", "30m", "90s", "2d" or "1h 30m" (humantime's
/// forms); None for anything else, zero, or more than a year.
pub fn parse_duration(s: &str) -> Option<Duration> {
    let d = humantime::parse_duration(s.trim()).ok()?;
    (!d.is_zero() && d <= MAX_DURATION).then_some(d)
}

// ---- [ui] pictures, [media], [notify] (issue 17) --------------------------

/// `[media]`: the picture cache under the data directory and fetch bounds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MediaConfig {
    /// Where pictures are kept; default `$XDG_DATA_HOME/dmdesk/pictures`.
    pub cache_dir: PathBuf,
    pub cache: crate::media::cache::CacheLimits,
    /// The largest picture fetched, in bytes.
    pub max_picture_bytes: u64,
}

/// How a desktop notification is sent.
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawMedia {
    cache_dir: Option<PathBuf>,
    cache_mb: Option<u64>,
    cache_files: Option<usize>,
    cache_max_age: Option<String>,
    max_picture_mb: Option<u64>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawNotify {
    desktop: Option<String>,
    command: Option<String>,
    min_interval: Option<String>,
    #[serde(default)]
    muted_pages: Vec<String>,
}

fn pictures_setting(
    v: Option<&str>,
) -> Result<crate::media::protocol::PicturesSetting, ConfigError> {
    use crate::media::protocol::PicturesSetting as P;
    Ok(match v.unwrap_or("auto") {
        "auto" => P::Auto,
        "kitty" => P::Kitty,
        "sixel" => P::Sixel,
        "iterm2" => P::Iterm2,
        "halfblocks" => P::Halfblocks,
        "off" => P::Off,
        _ => {
            return Err(ConfigError::key(
                "ui.pictures",
                "must be \"auto\", \"kitty\", \"sixel\", \"iterm2\", \"halfblocks\" or \"off\"",
            ))
        }
    })
}

fn media_config(raw: &RawMedia) -> Result<MediaConfig, ConfigError> {
    let d = crate::media::cache::CacheLimits::default();
    let positive = |key: &str, v: Option<u64>, default: u64| match v {
        Some(0) => Err(ConfigError::key(key, "must be at least 1")),
        Some(n) => Ok(n),
        None => Ok(default),
    };
    let max_age = match &raw.cache_max_age {
        None => d.max_age,
        Some(s) => parse_duration(s).ok_or_else(|| {
            ConfigError::key("media.cache_max_age", "must be a duration like \"30d\"")
        })?,
    };
    let mb = 1024 * 1024;
    Ok(MediaConfig {
        cache_dir: raw.cache_dir.clone().unwrap_or_else(|| {
            dirs()
                .map(|d| d.data_dir().join("pictures"))
                .unwrap_or_else(|| PathBuf::from("dmdesk-pictures"))
        }),
        cache: crate::media::cache::CacheLimits {
            max_bytes: positive("media.cache_mb", raw.cache_mb, d.max_bytes / mb)? * mb,
            max_files: positive(
                "media.cache_files",
                raw.cache_files.map(|n| n as u64),
                d.max_files as u64,
            )? as usize,
            max_age,
        },
        max_picture_bytes: positive("media.max_picture_mb", raw.max_picture_mb, 10)? * mb,
    })
}

fn notify_config(raw: RawNotify) -> Result<NotifyConfig, ConfigError> {
    let via = match raw.desktop.as_deref().unwrap_or("off") {
        "off" => NotifyVia::Off,
        "osc777" => NotifyVia::Osc777,
        "osc9" => NotifyVia::Osc9,
        "command" => {
            let words = raw
                .command
                .as_deref()
                .and_then(|c| shell_words::split(c).ok())
                .filter(|w| !w.is_empty())
                .ok_or_else(|| {
                    ConfigError::key(
                        "notify.command",
                        "is required with desktop = \"command\" (e.g. \"notify-send\")",
                    )
                })?;
            NotifyVia::Command(words)
        }
        _ => {
            return Err(ConfigError::key(
                "notify.desktop",
                "must be \"off\", \"osc777\", \"osc9\" or \"command\"",
            ))
        }
    };
    let min_interval = match &raw.min_interval {
        None => Duration::from_secs(30),
        Some(s) => parse_duration(s).ok_or_else(|| {
            ConfigError::key("notify.min_interval", "must be a duration like \"30s\"")
        })?,
    };
    Ok(NotifyConfig {
        via,
        min_interval,
        muted: raw.muted_pages.into_iter().collect(),
    })
}

/// Config files are a few KiB; a larger one is a mistake (or /dev/zero).
const MAX_CONFIG_BYTES: u64 = 1024 * 1024;

fn read_config(path: &Path) -> std::io::Result<String> {
    use std::io::Read;
    let mut text = String::new();
    std::fs::File::open(path)?
        .take(MAX_CONFIG_BYTES + 1)
        .read_to_string(&mut text)?;
    if text.len() as u64 > MAX_CONFIG_BYTES {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!("larger than {} KiB", MAX_CONFIG_BYTES / 1024),
        ));
    }
    Ok(text)
}

/// A secret that is set must be more than whitespace (a stray newline in
/// an environment file would otherwise verify nothing or everything).
/// `[store] backend`, `url`, `url_env`. The URL may hold a password: it is
/// read like a secret and errors show it redacted.
fn store_backend(
    raw: &RawStore,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<crate::store::Backend, ConfigError> {
    use crate::store::{postgres::PgUrl, Backend};
    match raw.backend.as_deref().unwrap_or("sled") {
        "sled" => {
            if raw.url.is_some() || raw.url_env.is_some() {
                return Err(ConfigError::key(
                    "store.url",
                    "is for backend = \"postgres\" (the sled store lives in store.path)",
                ));
            }
            Ok(Backend::Sled)
        }
        "postgres" => {
            let (key, text) = match (&raw.url_env, &raw.url) {
                (Some(_), Some(_)) => {
                    return Err(ConfigError::key(
                        "store.url",
                        "set either url or url_env, not both",
                    ))
                }
                (Some(var), None) => match env(var).filter(|v| !v.is_empty()) {
                    Some(v) => ("store.url_env", v),
                    None => {
                        return Err(ConfigError::key(
                            "store.url_env",
                            format!("environment variable `{var}` is not set"),
                        ))
                    }
                },
                (None, Some(u)) => ("store.url", u.expose().to_string()),
                (None, None) => {
                    return Err(ConfigError::key(
                        "store.url",
                        "is required with backend = \"postgres\" (or set url_env)",
                    ))
                }
            };
            PgUrl::parse(&text)
                .map(Backend::Postgres)
                .map_err(|m| ConfigError::key(key, m))
        }
        other => Err(ConfigError::key(
            "store.backend",
            format!("`{other}` is not a backend (use \"sled\" or \"postgres\")"),
        )),
    }
}

/// `[server] public_url` as configured: an `https://` (or, for a local
/// test, `http://`) address without query, fragment or trailing `/`.
fn check_public_url(u: &str) -> Result<String, String> {
    let u = u.trim().trim_end_matches('/');
    let rest = u
        .strip_prefix("https://")
        .or_else(|| u.strip_prefix("http://"))
        .ok_or_else(|| format!("`{u}` is not an https:// address"))?;
    if rest.is_empty() || rest.contains(['?', '#', ' ']) {
        return Err(format!(
            "`{u}` must be a plain address like https://dmdesk.example.com"
        ));
    }
    Ok(u.to_string())
}

fn check_secret(key: &str, s: &Secret) -> Result<(), ConfigError> {
    if !s.expose().is_empty() && s.expose().trim().is_empty() {
        return Err(ConfigError::key(key, "is only whitespace"));
    }
    Ok(())
}

fn id_value(key: &str, v: &toml::Value) -> Result<String, ConfigError> {
    match v {
        toml::Value::String(s) if !s.trim().is_empty() => Ok(s.trim().to_string()),
        toml::Value::Integer(i) if *i > 0 => Ok(i.to_string()),
        _ => Err(ConfigError::key(
            key,
            "must be a non-empty string (write ids in quotes)",
        )),
    }
}

// The campaign rule takes plain page facts, not the Config (the rule sits
// below the config); this is the one place that turns one into the other.
impl crate::rules::eligibility::Pages {
    pub fn from_config(cfg: &Config) -> Self {
        Self::new(cfg.page_infos())
    }
}

impl Config {
    /// The configured pages as front ends see them (no tokens).
    pub fn page_infos(&self) -> Vec<crate::domain::PageInfo> {
        self.pages
            .iter()
            .map(|p| crate::domain::PageInfo {
                id: p.id.clone(),
                name: p.name.clone(),
                instagram_id: p.instagram_id.clone(),
                human_agent: p.human_agent,
            })
            .collect()
    }

    /// Load from `path`, or from the default location. `Ok(None)` when no
    /// file was given and none exists at the default location (demo mode).
    pub fn load(path: Option<&Path>) -> Result<Option<Config>, ConfigError> {
        let cfg = Config::load_lenient(path)?;
        if let Some(c) = &cfg {
            c.require_secrets()?;
        }
        Ok(cfg)
    }

    /// Like `load`, but a token variable that is unset is not an error yet:
    /// it is kept in `unresolved` for `require_secrets`.
    pub fn load_lenient(path: Option<&Path>) -> Result<Option<Config>, ConfigError> {
        let (path, explicit) = match path {
            Some(p) => (p.to_path_buf(), true),
            None => match default_config_path() {
                Some(p) => (p, false),
                None => return Ok(None),
            },
        };
        let text = match read_config(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && !explicit => return Ok(None),
            Err(source) => return Err(ConfigError::Read { path, source }),
        };
        let mut cfg =
            Config::from_toml_lenient(&text, &|k| std::env::var(k).ok()).map_err(|e| match e {
                ConfigError::Syntax { message, .. } => ConfigError::Syntax {
                    path: path.clone(),
                    message,
                },
                other => other,
            })?;
        cfg.source = Some(path);
        Ok(Some(cfg))
    }

    /// Parse config text; `env` supplies environment variables (injected for tests).
    pub fn from_toml(
        text: &str,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Config, ConfigError> {
        let cfg = Config::from_toml_lenient(text, env)?;
        cfg.require_secrets()?;
        Ok(cfg)
    }

    /// The first secret the file names but the environment lacks, as the
    /// error a command that needs tokens exits with (2, naming the key).
    pub fn require_secrets(&self) -> Result<(), ConfigError> {
        match self.unresolved.first() {
            Some((key, message)) => Err(ConfigError::key(key.clone(), message.clone())),
            None => Ok(()),
        }
    }

    /// `from_toml` that keeps unset token variables in `unresolved`.
    pub fn from_toml_lenient(
        text: &str,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Config, ConfigError> {
        let mut unresolved = Vec::new();
        let raw: RawConfig = toml::from_str(text).map_err(|e| {
            // toml's message names the key and the line; keep it whole.
            ConfigError::Syntax {
                path: PathBuf::new(),
                message: e.to_string().trim().replace('\n', " "),
            }
        })?;
        let s = raw.server;
        let listen_text = s.listen.unwrap_or_else(|| "127.0.0.1:8080".into());
        let listen: SocketAddr = listen_text.parse().map_err(|_| {
            ConfigError::key(
                "server.listen",
                format!("`{listen_text}` is not an address like 127.0.0.1:8080"),
            )
        })?;
        let path = s.path.unwrap_or_else(|| "/webhook".into());
        if !path.starts_with('/') {
            return Err(ConfigError::key("server.path", "must start with `/`"));
        }
        let public_url = s
            .public_url
            .map(|u| check_public_url(&u))
            .transpose()
            .map_err(|e| ConfigError::key("server.public_url", e))?;
        if !path
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "/-_.~".contains(c))
        {
            return Err(ConfigError::key(
                "server.path",
                "may hold only letters, digits and / - _ . ~ (no route syntax)",
            ));
        }
        if ["/healthz", "/metrics"].contains(&path.trim_end_matches('/')) || path.len() > 256 {
            return Err(ConfigError::key(
                "server.path",
                format!("`{path}` is taken by dmdesk's own endpoints or too long"),
            ));
        }
        let verify_token = env("DMDESK_VERIFY_TOKEN")
            .map(Secret::new)
            .or(s.verify_token)
            .unwrap_or_default();
        let app_secret = env("DMDESK_APP_SECRET")
            .map(Secret::new)
            .or(s.app_secret)
            .unwrap_or_default();
        check_secret(
            "server.verify_token (or DMDESK_VERIFY_TOKEN)",
            &verify_token,
        )?;
        check_secret("server.app_secret (or DMDESK_APP_SECRET)", &app_secret)?;
        let app_id = s
            .app_id
            .as_ref()
            .map(|v| id_value("server.app_id", v))
            .transpose()?;

        let backend = store_backend(&raw.store, env)?;
        let store = StoreConfig {
            path: raw.store.path.unwrap_or_else(default_store_path),
            cache_mb: raw.store.cache_mb.unwrap_or(32),
            event_retention: match &raw.store.event_retention {
                None => DEFAULT_EVENT_RETENTION,
                Some(t) => parse_duration(t).ok_or_else(|| {
                    ConfigError::key(
                        "store.event_retention",
                        format!("`{t}` is not a duration like 7d (more than 0, at most a year)"),
                    )
                })?,
            },
            max_apply_lag: raw.store.max_apply_lag.unwrap_or(DEFAULT_MAX_APPLY_LAG),
            backend,
        };
        if store.max_apply_lag == 0 {
            return Err(ConfigError::key(
                "store.max_apply_lag",
                "must be at least 1",
            ));
        }
        if store.cache_mb == 0 {
            return Err(ConfigError::key("store.cache_mb", "must be at least 1"));
        }

        let g = raw.graph;
        let base_url = base_url_key("graph.base_url", g.base_url, "https://graph.facebook.com")?;
        let version = g.version.unwrap_or_else(|| DEFAULT_GRAPH_VERSION.into());
        if !version.starts_with('v') {
            return Err(ConfigError::key(
                "graph.version",
                format!("must look like {DEFAULT_GRAPH_VERSION}"),
            ));
        }
        let timeout = match g.timeout {
            Some(t) => parse_duration(&t).ok_or_else(|| {
                ConfigError::key(
                    "graph.timeout",
                    format!("`{t}` is not a duration like 30s (more than 0, at most a year)"),
                )
            })?,
            None => Duration::from_secs(30),
        };
        let instagram_base_url = base_url_key(
            "graph.instagram_base_url",
            g.instagram_base_url,
            "https://graph.instagram.com",
        )?;
        let mut graph = GraphConfig {
            base_url,
            version,
            conversations_per_second: g.conversations_per_second.unwrap_or(2).max(1),
            timeout,
            instagram_base_url,
            instagram_login_ids: Vec::new(),
        };

        let mut pages = Vec::new();
        for (i, p) in raw.pages.into_iter().enumerate() {
            let k = |f: &str| format!("pages[{i}].{f}");
            let id =
                p.id.as_ref()
                    .ok_or_else(|| ConfigError::key(k("id"), "is required"))
                    .and_then(|v| id_value(&k("id"), v))?;
            let access_token = match (&p.access_token_env, p.access_token) {
                (Some(var), tok) => match env(var) {
                    Some(v) if !v.is_empty() => Secret::new(v),
                    _ => tok.unwrap_or_else(|| {
                        unresolved.push((
                            k("access_token_env"),
                            format!("environment variable `{var}` is not set"),
                        ));
                        Secret::default()
                    }),
                },
                (None, Some(tok)) => tok,
                (None, None) => {
                    return Err(ConfigError::key(
                        k("access_token"),
                        "is required (or set access_token_env)",
                    ))
                }
            };
            let instagram_id = p
                .instagram_id
                .as_ref()
                .map(|v| id_value(&k("instagram_id"), v))
                .transpose()?
                .map(AccountId);
            if instagram_id.as_ref().is_some_and(|i| i.0 == id) {
                return Err(ConfigError::key(
                    k("instagram_id"),
                    "is the page's own id: an Instagram account without a Page goes in an [[instagram]] block",
                ));
            }
            if pages.iter().any(|q: &PageConfig| q.id.0 == id) {
                return Err(ConfigError::key(
                    k("id"),
                    format!("page {id} is listed twice"),
                ));
            }
            pages.push(PageConfig {
                name: p.name.unwrap_or_else(|| id.clone()),
                id: AccountId(id),
                access_token,
                instagram_id,
                human_agent: p.human_agent.unwrap_or(false),
            });
        }

        let instagram = instagram_blocks(raw.instagram, env, &mut pages, &mut unresolved)?;
        graph.instagram_login_ids = instagram.iter().map(|i| i.id.clone()).collect();
        let instagram_app_secret =
            instagram_app_secret(env, s.instagram_app_secret_file.as_deref(), &mut unresolved)?;

        let interval = match raw.sync.interval.as_deref() {
            None => Some(Duration::from_secs(24 * 3600)),
            Some("off") | Some("0") => None,
            Some(t) => Some(parse_duration(t).ok_or_else(|| {
                ConfigError::key(
                    "sync.interval",
                    format!(
                        "`{t}` is not a duration like 24h (more than 0, at most a year) or `off`"
                    ),
                )
            })?),
        };
        let page_size = |key: &str, v: Option<u32>| match v {
            None => Ok(DEFAULT_PAGE_SIZE),
            Some(n) if (1..=MAX_PAGE_SIZE).contains(&n) => Ok(n),
            Some(n) => Err(ConfigError::key(
                key,
                format!(
                    "{n} is out of range: 1 to {MAX_PAGE_SIZE} \
                     (sync halves it by itself when Meta asks for less data)"
                ),
            )),
        };
        let sync = SyncConfig {
            interval,
            messages_per_conversation: page_size(
                "sync.messages_per_conversation",
                raw.sync.messages_per_conversation,
            )?,
            conversations_per_page: page_size(
                "sync.conversations_per_page",
                raw.sync.conversations_per_page,
            )?,
        };

        let max_per_second = raw.send.max_per_second.unwrap_or(20);
        if max_per_second == 0 {
            return Err(ConfigError::key(
                "send.max_per_second",
                "must be at least 1",
            ));
        }
        let concurrency = raw.send.concurrency.unwrap_or(8);
        if concurrency == 0 {
            return Err(ConfigError::key("send.concurrency", "must be at least 1"));
        }

        let ascii = match &raw.ui.ascii {
            None => None,
            Some(toml::Value::Boolean(b)) => Some(*b),
            Some(toml::Value::String(v)) if v == "auto" => None,
            Some(_) => {
                return Err(ConfigError::key(
                    "ui.ascii",
                    "must be true, false or \"auto\"",
                ))
            }
        };
        let keys = raw
            .ui
            .keys
            .into_iter()
            .map(|(k, v)| {
                let list = match v {
                    KeyList::One(s) => vec![s],
                    KeyList::Many(v) => v,
                };
                (k, list)
            })
            .collect();
        for (i, c) in raw.canned.iter().enumerate() {
            if c.name.trim().is_empty() {
                return Err(ConfigError::key(
                    format!("canned[{i}].name"),
                    "must not be empty",
                ));
            }
            // The same variables as campaigns; a typo would reach customers.
            if let Err(e) = crate::rules::template::Template::parse(&c.text) {
                return Err(ConfigError::key(format!("canned[{i}].text"), e.to_string()));
            }
        }

        Ok(Config {
            server: ServerConfig {
                listen,
                path,
                verify_token,
                app_secret,
                app_id,
                instagram_app_secret,
                enabled: s.enabled.unwrap_or(true),
                public_url,
            },
            store,
            graph,
            pages,
            instagram,
            sync,
            send: SendConfig {
                max_per_second,
                concurrency,
            },
            ui: UiConfig {
                bell: raw.ui.bell.unwrap_or(true),
                title: raw.ui.title.unwrap_or(true),
                keys,
                osc52_passthrough: raw.ui.osc52_passthrough.unwrap_or(false),
                ascii,
                pictures: pictures_setting(raw.ui.pictures.as_deref())?,
            },
            media: media_config(&raw.media)?,
            notify: notify_config(raw.notify)?,
            canned: raw.canned,
            control: ControlConfig {
                group: raw.control.group.filter(|g| !g.trim().is_empty()),
                limits: Default::default(),
            },
            team: team_config(raw.team)?,
            labels: labels_config(raw.labels)?,
            demo: false,
            source: None,
            unresolved,
        })
    }

    /// Settings that must hold before the webhook server may run.
    pub fn check_server(&self) -> Result<(), ConfigError> {
        if self.server.app_secret.is_empty() {
            return Err(ConfigError::key(
                "server.app_secret",
                "is required to verify webhooks (or set DMDESK_APP_SECRET)",
            ));
        }
        if self.server.verify_token.is_empty() {
            return Err(ConfigError::key(
                "server.verify_token",
                "is required for webhook verification (or set DMDESK_VERIFY_TOKEN)",
            ));
        }
        Ok(())
    }

    /// The page that owns an account id (a page id or its Instagram id).
    /// An Instagram account connected both ways answers through its
    /// `[[instagram]]` block (its own host and token).
    pub fn page_for(&self, account: &AccountId) -> Option<(&PageConfig, Platform)> {
        crate::domain::page_for(&self.pages, account)
    }

    /// Instagram account ids, for routing webhook entries by id.
    pub fn instagram_ids(&self) -> Vec<AccountId> {
        self.pages
            .iter()
            .filter_map(|p| p.instagram_id.clone())
            .collect()
    }

    /// Defaults for a throwaway demo: the simulator plays Meta.
    pub fn demo(store: PathBuf, listen: SocketAddr, graph_base: String) -> Config {
        let mut cfg = Config::from_toml("", &|_| None).expect("empty config is valid");
        cfg.demo = true;
        cfg.store.path = store;
        cfg.server.listen = listen;
        cfg.server.app_secret = Secret::new("demo-app-secret");
        cfg.server.verify_token = Secret::new("demo-verify-token");
        cfg.server.app_id = Some("1000000000000001".into());
        cfg.graph.base_url = graph_base;
        cfg.graph.conversations_per_second = 50;
        cfg.sync.interval = None;
        cfg.pages = vec![PageConfig {
            id: AccountId::new("100200300"),
            name: "Demo Coffee Co.".into(),
            access_token: Secret::new("demo-page-token"),
            instagram_id: Some(AccountId::new("17840000000000001")),
            human_agent: true,
        }];
        cfg.canned = vec![
            CannedReply {
                name: "greeting".into(),
                text: "Hi {first_name}, thanks for writing to us! How can I help?".into(),
            },
            CannedReply {
                name: "shipping".into(),
                text: "Hi {first_name}, orders ship within 2 business days. You'll get a tracking link by email.".into(),
            },
            CannedReply {
                name: "closing".into(),
                text: "Glad I could help, {first_name}. Have a great day!".into(),
            },
        ];
        cfg
    }
}

// ---- Instagram Login accounts and the second app secret -------------------

/// A base URL key: default, trailing `/` trimmed, must parse.
fn base_url_key(key: &str, v: Option<String>, default: &str) -> Result<String, ConfigError> {
    let url = v
        .unwrap_or_else(|| default.into())
        .trim_end_matches('/')
        .to_string();
    if url::Url::parse(&url).is_err() {
        return Err(ConfigError::key(key, format!("`{url}` is not a URL")));
    }
    Ok(url)
}

/// A secret kept in a file (one line; surrounding whitespace dropped).
/// The error names the file and the failure, never the content.
pub fn read_secret_file(path: &Path) -> Result<Secret, String> {
    let text = read_config(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let s = text.trim();
    if s.is_empty() {
        return Err(format!("{} is empty", path.display()));
    }
    Ok(Secret::new(s.to_string()))
}

/// `[[instagram]]` blocks: each becomes a `pages` entry whose only account
/// is its Instagram one, plus where its token came from.
fn instagram_blocks(
    raw: Vec<RawInstagram>,
    env: &dyn Fn(&str) -> Option<String>,
    pages: &mut Vec<PageConfig>,
    unresolved: &mut Vec<(String, String)>,
) -> Result<Vec<InstagramLogin>, ConfigError> {
    let mut out: Vec<InstagramLogin> = Vec::new();
    for (i, b) in raw.into_iter().enumerate() {
        let k = |f: &str| format!("instagram[{i}].{f}");
        let id =
            b.id.as_ref()
                .ok_or_else(|| ConfigError::key(k("id"), "is required"))
                .and_then(|v| id_value(&k("id"), v))?;
        let id = AccountId(id);
        if out.iter().any(|o| o.id == id) || pages.iter().any(|p| p.id == id) {
            return Err(ConfigError::key(
                k("id"),
                format!("account {id} is listed twice"),
            ));
        }
        let given = [
            b.access_token.is_some(),
            b.access_token_env.is_some(),
            b.access_token_file.is_some(),
        ];
        if given.iter().filter(|g| **g).count() != 1 {
            return Err(ConfigError::key(
                k("access_token"),
                "give exactly one of access_token, access_token_env or access_token_file                  (a file lets dmdesk refresh the token)",
            ));
        }
        let (source, access_token) = if let Some(path) = b.access_token_file {
            let token = read_secret_file(&path).unwrap_or_else(|m| {
                unresolved.push((k("access_token_file"), m));
                Secret::default()
            });
            (TokenSource::File(path), token)
        } else if let Some(var) = b.access_token_env {
            let token = match env(&var) {
                Some(v) if !v.trim().is_empty() => Secret::new(v.trim().to_string()),
                _ => {
                    unresolved.push((
                        k("access_token_env"),
                        format!("environment variable `{var}` is not set"),
                    ));
                    Secret::default()
                }
            };
            (TokenSource::Env(var), token)
        } else {
            let token = b.access_token.unwrap_or_default();
            check_secret(&k("access_token"), &token)?;
            (TokenSource::Inline, token)
        };
        pages.push(PageConfig {
            name: b.name.unwrap_or_else(|| id.0.clone()),
            id: id.clone(),
            access_token,
            instagram_id: Some(id.clone()),
            human_agent: false,
        });
        out.push(InstagramLogin { id, source });
    }
    Ok(out)
}

/// The optional second webhook secret: `DMDESK_INSTAGRAM_APP_SECRET`, or
/// `[server] instagram_app_secret_file` (never inline: it would sit in the
/// config beside everything else).
fn instagram_app_secret(
    env: &dyn Fn(&str) -> Option<String>,
    file: Option<&Path>,
    unresolved: &mut Vec<(String, String)>,
) -> Result<Option<Secret>, ConfigError> {
    const KEY: &str = "server.instagram_app_secret_file";
    if let Some(v) = env("DMDESK_INSTAGRAM_APP_SECRET") {
        let s = Secret::new(v);
        check_secret("DMDESK_INSTAGRAM_APP_SECRET", &s)?;
        return Ok((!s.is_empty()).then_some(s));
    }
    match file.map(read_secret_file) {
        None => Ok(None),
        Some(Ok(s)) => Ok(Some(s)),
        Some(Err(m)) => {
            unresolved.push((KEY.into(), m));
            Ok(None)
        }
    }
}

/// How much of the owner one client, and one Unix user, may hold, and how
/// long an idle connection stays. Tests shorten these through
/// `Config::control.limits`; the config file does not set them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ControlLimits {
    /// Connections at once, all users together; more are refused.
    pub max_connections: usize,
    /// Connections at once from one Unix user (well below the total, so one
    /// user cannot lock the others out).
    pub per_user: usize,
    /// A connection that sends no request within this is closed.
    pub first_request: Duration,
    /// A connection that sends nothing for this long is closed. Clients
    /// send a `ping` every `control::client::PING_INTERVAL` (attached UIs and
    /// one-shot commands alike), so only a dead or stuck client reaches it.
    pub idle: Duration,
}

impl Default for ControlLimits {
    fn default() -> Self {
        ControlLimits {
            max_connections: 256,
            per_user: 64,
            first_request: Duration::from_secs(10),
            idle: Duration::from_secs(120),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn public_urls_are_plain_https_addresses() {
        assert_eq!(
            check_public_url("https://dm.example.com/").unwrap(),
            "https://dm.example.com"
        );
        assert_eq!(
            check_public_url("http://127.0.0.1:8080").unwrap(),
            "http://127.0.0.1:8080"
        );
        for bad in ["dm.example.com", "ftp://x", "https://", "https://x/?a=1"] {
            assert!(check_public_url(bad).is_err(), "{bad}");
        }
    }

    fn no_env(_: &str) -> Option<String> {
        None
    }

    #[test]
    fn ui_ascii_and_passthrough_keys() {
        let ui = |t: &str| Config::from_toml(t, &no_env).map(|c| c.ui);
        let d = ui("").unwrap();
        assert_eq!((d.ascii, d.osc52_passthrough), (None, false));
        assert_eq!(ui("[ui]\nascii = true").unwrap().ascii, Some(true));
        assert_eq!(ui("[ui]\nascii = false").unwrap().ascii, Some(false));
        assert_eq!(ui("[ui]\nascii = \"auto\"").unwrap().ascii, None);
        assert!(
            ui("[ui]\nosc52_passthrough = true")
                .unwrap()
                .osc52_passthrough
        );
        let err = ui("[ui]\nascii = \"yes\"").unwrap_err().to_string();
        assert!(err.contains("ui.ascii"), "{err}");
    }

    #[test]
    fn pictures_media_and_notify_sections() {
        use crate::media::protocol::PicturesSetting;
        let cfg = |t: &str| Config::from_toml(t, &no_env);
        let d = cfg("").unwrap();
        assert_eq!(d.ui.pictures, PicturesSetting::Auto);
        assert_eq!(d.media.max_picture_bytes, 10 * 1024 * 1024);
        assert_eq!(d.notify.via, NotifyVia::Off);
        let c = cfg(
            "[ui]\npictures = \"off\"\n[media]\ncache_mb = 5\ncache_files = 7\ncache_max_age = \"2d\"\n\
             [notify]\ndesktop = \"command\"\ncommand = \"notify-send -a dmdesk\"\nmuted_pages = [\"P1\"]",
        )
        .unwrap();
        assert_eq!(c.ui.pictures, PicturesSetting::Off);
        assert_eq!(c.media.cache.max_bytes, 5 * 1024 * 1024);
        assert_eq!(c.media.cache.max_files, 7);
        assert_eq!(c.media.cache.max_age, Duration::from_secs(2 * 86400));
        assert_eq!(
            c.notify.via,
            NotifyVia::Command(vec!["notify-send".into(), "-a".into(), "dmdesk".into()])
        );
        assert!(c.notify.muted.contains("P1"));
        for (text, key) in [
            ("[ui]\npictures = \"yes\"", "ui.pictures"),
            ("[media]\ncache_mb = 0", "media.cache_mb"),
            ("[notify]\ndesktop = \"command\"", "notify.command"),
            ("[notify]\ndesktop = \"popup\"", "notify.desktop"),
        ] {
            let err = cfg(text).unwrap_err().to_string();
            assert!(err.contains(key), "{text}: {err}");
        }
    }

    #[test]
    fn unset_token_variables_wait_for_require_secrets() {
        let text = "[[pages]]\nid = \"1\"\naccess_token_env = \"NOPE\"";
        let cfg = Config::from_toml_lenient(text, &no_env).unwrap();
        assert!(cfg.pages[0].access_token.is_empty());
        let err = cfg.require_secrets().unwrap_err().to_string();
        assert!(
            err.contains("pages[0].access_token_env") && err.contains("`NOPE` is not set"),
            "{err}"
        );
        // With the variable set there is nothing to require.
        let env = |k: &str| (k == "NOPE").then(|| "tok".to_string());
        let cfg = Config::from_toml_lenient(text, &env).unwrap();
        assert!(cfg.require_secrets().is_ok());
        assert!(
            Config::from_toml(text, &no_env).is_err(),
            "strict stays strict"
        );
    }

    #[test]
    fn defaults_match_design() {
        let c = Config::from_toml("", &no_env).unwrap();
        assert_eq!(c.server.listen.to_string(), "127.0.0.1:8080");
        assert_eq!(c.server.path, "/webhook");
        assert_eq!(c.graph.base_url, "https://graph.facebook.com");
        assert_eq!(c.graph.version, "v25.0");
        assert_eq!(c.sync.messages_per_conversation, 100);
        assert_eq!(c.sync.conversations_per_page, 100);
        assert_eq!(c.send.max_per_second, 20);
        assert_eq!(c.send.concurrency, 8);
        assert_eq!(c.graph.conversations_per_second, 2);
        assert_eq!(c.sync.interval, Some(Duration::from_secs(86400)));
    }

    #[test]
    fn sync_page_sizes_and_version_are_configurable() {
        let c = Config::from_toml(
            "[graph]\nversion = \"v24.0\"\n[sync]\nmessages_per_conversation = 500\nconversations_per_page = 1\n",
            &no_env,
        )
        .unwrap();
        assert_eq!(c.graph.version, "v24.0");
        assert_eq!(c.sync.messages_per_conversation, 500);
        assert_eq!(c.sync.conversations_per_page, 1);
    }

    #[test]
    fn env_overrides_secrets() {
        let text = r#"
[server]
app_secret = "file-secret"
verify_token = "file-token"
[[pages]]
id = "1"
access_token_env = "PAGE1"
"#;
        let env = |k: &str| match k {
            "DMDESK_APP_SECRET" => Some("env-secret".to_string()),
            "PAGE1" => Some("tok".to_string()),
            _ => None,
        };
        let c = Config::from_toml(text, &env).unwrap();
        assert_eq!(c.server.app_secret.expose(), "env-secret");
        assert_eq!(c.server.verify_token.expose(), "file-token");
        assert_eq!(c.pages[0].access_token.expose(), "tok");
    }

    #[test]
    fn errors_name_the_key() {
        let cases = [
            ("[server]\nlisten = \"nope\"", "server.listen"),
            ("[send]\nmax_per_second = 0", "send.max_per_second"),
            ("[sync]\ninterval = \"soon\"", "sync.interval"),
            (
                "[[pages]]\nname = \"x\"\naccess_token = \"t\"",
                "pages[0].id",
            ),
            ("[[pages]]\nid = \"1\"", "pages[0].access_token"),
            (
                "[[pages]]\nid = \"1\"\naccess_token_env = \"NOPE\"",
                "pages[0].access_token_env",
            ),
            ("[graph]\nbase_url = \"::\"", "graph.base_url"),
            ("[server]\nlisten_addr = \"x\"", "listen_addr"),
            ("[sync]\ninterval = \"0s\"", "sync.interval"),
            (
                "[sync]\ninterval = \"99999999999999999999d\"",
                "sync.interval",
            ),
            ("[sync]\ninterval = \"400d\"", "sync.interval"),
            ("[graph]\ntimeout = \"0ms\"", "graph.timeout"),
            ("[server]\npath = \"/healthz\"", "server.path"),
            ("[server]\npath = \"/metrics/\"", "server.path"),
            ("[server]\npath = \"/{id}\"", "server.path"),
            ("[server]\npath = \"/hook/*rest\"", "server.path"),
            ("[server]\napp_secret = \"  \"", "server.app_secret"),
            ("[server]\nverify_token = \"\\n\"", "server.verify_token"),
            (
                "[sync]\nmessages_per_conversation = 0",
                "sync.messages_per_conversation",
            ),
            (
                "[sync]\nmessages_per_conversation = 501",
                "sync.messages_per_conversation",
            ),
            (
                "[sync]\nconversations_per_page = 0",
                "sync.conversations_per_page",
            ),
            (
                "[sync]\nconversations_per_page = 1000",
                "sync.conversations_per_page",
            ),
        ];
        for (text, key) in cases {
            let err = Config::from_toml(text, &no_env).unwrap_err().to_string();
            assert!(err.contains(key), "{text:?} gave {err:?}, expected {key}");
        }
    }

    #[test]
    fn store_backend_defaults_to_sled_and_takes_a_postgres_url() {
        use crate::store::Backend;
        let c = Config::from_toml("", &no_env).unwrap();
        assert_eq!(c.store.backend, Backend::Sled);
        let text =
            "[store]\nbackend = \"postgres\"\nurl = \"postgres://ann:hunter2@db:5432/dmdesk\"";
        let c = Config::from_toml(text, &no_env).unwrap();
        let Backend::Postgres(url) = &c.store.backend else {
            panic!("postgres expected: {:?}", c.store.backend)
        };
        assert_eq!(url.expose(), "postgres://ann:hunter2@db:5432/dmdesk");
        assert!(
            !format!("{c:?}").contains("hunter2"),
            "Debug redacts the password"
        );
        let env = |k: &str| (k == "DB_URL").then(|| "postgres://bob:pw9@h/d".to_string());
        let text = "[store]\nbackend = \"postgres\"\nurl_env = \"DB_URL\"";
        let c = Config::from_toml(text, &env).unwrap();
        assert_eq!(
            c.store.backend.clone(),
            Backend::Postgres(url_of("postgres://bob:pw9@h/d"))
        );
    }

    fn url_of(s: &str) -> crate::store::postgres::PgUrl {
        crate::store::postgres::PgUrl::parse(s).unwrap()
    }

    #[test]
    fn store_errors_name_the_key_and_never_the_password() {
        let cases = [
            ("[store]\nbackend = \"mysql\"", "store.backend"),
            ("[store]\nbackend = \"postgres\"", "store.url"),
            (
                "[store]\nbackend = \"postgres\"\nurl_env = \"NOPE\"",
                "store.url_env",
            ),
            (
                "[store]\nbackend = \"postgres\"\nurl = \"http://ann:hunter2@h/d\"",
                "store.url",
            ),
            (
                "[store]\nbackend = \"postgres\"\nurl = \"postgres://h/d\"\nurl_env = \"X\"",
                "store.url",
            ),
            ("[store]\nurl = \"postgres://ann:hunter2@h/d\"", "store.url"),
            ("[store]\ndatabase = \"x\"", "database"),
        ];
        for (text, key) in cases {
            let err = Config::from_toml(text, &no_env).unwrap_err().to_string();
            assert!(err.contains(key), "{text:?} gave {err:?}, expected {key}");
            assert!(!err.contains("hunter2"), "{err}");
        }
    }

    #[test]
    fn secrets_never_print() {
        let s = Secret::new("hunter2");
        assert!(!format!("{s:?} {s}").contains("hunter2"));
        let c = Config::demo(
            "/tmp/x".into(),
            "127.0.0.1:0".parse().unwrap(),
            "http://127.0.0.1:1".into(),
        );
        let dbg = format!("{c:?}");
        assert!(!dbg.contains("demo-app-secret") && !dbg.contains("demo-page-token"));
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("24h"), Some(Duration::from_secs(86400)));
        assert_eq!(parse_duration("90s"), Some(Duration::from_secs(90)));
        assert_eq!(parse_duration("2d"), Some(Duration::from_secs(172800)));
        assert_eq!(parse_duration("1h 30m"), Some(Duration::from_secs(5400)));
        assert_eq!(parse_duration("h"), None);
        assert_eq!(parse_duration("0s"), None);
        assert_eq!(parse_duration("5y"), None, "more than a year");
        assert_eq!(parse_duration("99999999999999999999d"), None);
    }
}

#[cfg(test)]
mod team_tests {
    use super::*;

    fn load(text: &str) -> Result<Config, ConfigError> {
        Config::from_toml(text, &|_| None)
    }

    #[test]
    fn team_and_labels_parse_and_default_off() {
        let c = load(
            "[team]\nagents = [\"alice\", \"bob\"]\nauto_assign = \"round-robin\"\nmax_open_per_agent = 5\n\
             [labels]\nvip = \"Red\"\nrefund = \"#00aa11\"\n",
        )
        .unwrap();
        assert_eq!(c.team.agents, vec!["alice".into(), "bob".into()]);
        assert_eq!(c.team.auto_assign, AutoAssign::RoundRobin);
        assert_eq!(c.team.max_open_per_agent, Some(5));
        assert_eq!(c.labels["vip"], "red");
        assert_eq!(c.labels["refund"], "#00aa11");
        let d = load("").unwrap();
        assert_eq!(d.team, TeamConfig::default());
        assert!(d.labels.is_empty());
    }

    #[test]
    fn a_bad_colour_or_mode_names_its_key() {
        let e = load("[labels]\nvip = \"reddish\"\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains("labels.vip") && e.contains("reddish"), "{e}");
        let e = load("[team]\nauto_assign = \"random\"\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains("team.auto_assign"), "{e}");
        let e = load("[team]\nagents = [\"a b\"]\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains("team.agents"), "{e}");
        let e = load("[team]\nmax_open_per_agent = 0\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains("team.max_open_per_agent"), "{e}");
    }
}
