//! Keeping tokens alive: Instagram Login tokens given by `access_token_file`
//! are refreshed before they expire and written back to that file
//! atomically (mode 0600); every account's token life goes to the
//! [`TokenBook`], `/metrics` and, when the operator must act, a warning.
//!
//! Meta allows a refresh once a token is at least 24 hours old, and the new
//! token lives 60 days from the refresh
//! (<https://developers.facebook.com/documentation/instagram-platform/reference/refresh_access_token>).
//! The file's modification time stands for the token's age. With no exact
//! expiry known (a fresh start) the token is refreshed as soon as Meta
//! allows, which also tells its exact expiry; after that, when within
//! [`REFRESH_BEFORE_MS`] of it.

use super::life::{self, TokenBook};
use crate::config::{read_secret_file, Config, PageConfig, TokenSource};
use crate::db::Db;
use crate::domain::TimestampMs;
use crate::meta::error::ErrorClass;
use crate::meta::graph::GraphClient;
use crate::metrics::Metrics;
use crate::secret::Secret;
use crate::token_life::{self, Expiry, TokenLife};
use crate::update::Update;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

const HOUR_MS: i64 = 3_600_000;
/// Meta refuses to refresh a younger token.
pub const MIN_AGE_MS: i64 = 24 * HOUR_MS;
/// Refresh when the token has this little left.
pub const REFRESH_BEFORE_MS: i64 = 10 * 24 * HOUR_MS;
/// Standing warnings reach newly attached agents within this long.
const REPEAT_MS: i64 = 5 * 60_000;
/// Page tokens are checked again (and warnings repeated) this often.
const RECHECK_MS: i64 = 24 * HOUR_MS;
/// A refresh that failed for a passing reason is tried again after this.
const RETRY_MS: i64 = HOUR_MS;

/// When a file token should be refreshed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Due {
    Now,
    At(TimestampMs),
}

/// `written`: when the token file was last written; `expires`: the exact
/// expiry, if a refresh told it.
pub fn due(written: TimestampMs, expires: Option<TimestampMs>, now: TimestampMs) -> Due {
    let allowed = written.plus_ms(MIN_AGE_MS);
    if now < allowed {
        return Due::At(allowed);
    }
    match expires {
        None => Due::Now,
        Some(e) => {
            let at = e.plus_ms(-REFRESH_BEFORE_MS);
            if now >= at {
                Due::Now
            } else {
                Due::At(at)
            }
        }
    }
}

/// Replace the file's content with `token`: a temporary file beside it
/// (mode 0600), flushed, then renamed over it, so a reader sees the old
/// token or the new one, never a torn write.
pub fn write_token_file(path: &Path, token: &Secret) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
    // Through a symlink to the real file, which stays where it is.
    let path = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "token".into());
    let tmp = dir.join(format!(".{name}.dmdesk-{}.tmp", std::process::id()));
    let _ = std::fs::remove_file(&tmp); // left by a crash
    let result = (|| {
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&tmp)?;
        f.set_permissions(std::fs::Permissions::from_mode(0o600))?;
        f.write_all(token.expose().as_bytes())?;
        f.write_all(b"\n")?;
        f.sync_all()?;
        std::fs::rename(&tmp, &path)?;
        std::fs::File::open(dir)?.sync_all()
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

/// An Instagram Login account whose token lives in a file.
struct FileToken {
    page: PageConfig,
    path: PathBuf,
    token: Secret,
    written: TimestampMs,
    /// Exact expiry, once a refresh told it.
    expires: Option<TimestampMs>,
}

/// What one refresh did.
#[derive(Debug)]
pub enum Refreshed {
    /// New token in the file and in use; it expires then (if Meta said).
    Done(Expiry),
    /// Meta refused the token (190): the account is marked dead.
    Dead(String),
    /// Passing trouble (network, rate limit, the file): tried again later.
    Later(String),
}

pub struct Refresher {
    store: Db,
    config: Arc<Config>,
    graph: GraphClient,
    metrics: Arc<Metrics>,
    book: TokenBook,
}

impl Refresher {
    pub fn new(
        store: Db,
        config: Arc<Config>,
        graph: GraphClient,
        metrics: Arc<Metrics>,
        book: TokenBook,
    ) -> Refresher {
        Refresher {
            store,
            config,
            graph,
            metrics,
            book,
        }
    }

    /// Keep what was learned, and tell the operator when they must act.
    fn record(&self, life: TokenLife) {
        self.metrics.token_life(&life);
        if let Some(w) = life.warning(TimestampMs::now()) {
            tracing::warn!("{w}");
            self.store.publish(Update::Notice(w));
        }
        self.book.set(life);
        // What stays on every status bar until the token is renewed.
        self.store.publish(Update::TokenWarnings(
            self.book.warnings(TimestampMs::now()),
        ));
    }

    fn file_tokens(&self) -> Vec<FileToken> {
        let now = TimestampMs::now();
        self.config
            .instagram
            .iter()
            .filter_map(|i| match &i.source {
                TokenSource::File(path) => {
                    let (page, _) = self.config.page_for(&i.id)?;
                    Some(FileToken {
                        page: page.clone(),
                        path: path.clone(),
                        token: page.access_token.clone(),
                        written: life::file_written(path).unwrap_or(now),
                        expires: None,
                    })
                }
                _ => None,
            })
            .collect()
    }

    /// Refresh one file token now: Meta's answer written to the file, then
    /// used for every later call.
    async fn refresh(&self, ft: &mut FileToken) -> Refreshed {
        // The operator may have put a new token in the file meanwhile.
        if let Ok(t) = read_secret_file(&ft.path) {
            if t != ft.token {
                self.graph.use_token(&ft.page.id, t.clone());
                ft.token = t;
            }
        }
        let answer = match self.graph.refresh_instagram_token(&ft.token).await {
            Ok(a) => a,
            Err(e) if e.class == ErrorClass::TokenInvalid => {
                super::token_died(&self.store, &ft.page, &e);
                return Refreshed::Dead(e.describe());
            }
            Err(e) => return Refreshed::Later(format!("refresh failed: {}", e.describe())),
        };
        if let Err(e) = write_token_file(&ft.path, &answer.token) {
            // The old token still works until it expires; try again later.
            return Refreshed::Later(format!(
                "cannot write the refreshed token to {}: {e}",
                ft.path.display()
            ));
        }
        let now = TimestampMs::now();
        self.graph.use_token(&ft.page.id, answer.token.clone());
        ft.token = answer.token;
        ft.written = now;
        ft.expires = answer.expires_in.map(|s| {
            now.plus_ms(
                i64::try_from(s)
                    .unwrap_or(i64::MAX / 2)
                    .saturating_mul(1000),
            )
        });
        tracing::info!(
            account = %ft.page.id,
            file = %ft.path.display(),
            expires_in_days = answer.expires_in.map(|s| s / 86_400),
            "Instagram token refreshed and written back"
        );
        Refreshed::Done(match ft.expires {
            Some(t) => Expiry::At(t),
            None => Expiry::NoLaterThan(now.plus_ms(token_life::INSTAGRAM_LIFETIME_MS)),
        })
    }

    /// Check every token, then refresh file tokens on schedule until cancelled.
    pub async fn run(self, cancel: CancellationToken) {
        let mut files = self.file_tokens();
        let mut next_check = TimestampMs(i64::MIN);
        loop {
            let now = TimestampMs::now();
            if now >= next_check {
                for l in life::inspect(&self.config, &self.graph).await {
                    // A file token's exact expiry, once known, wins over the estimate.
                    let known = files
                        .iter()
                        .find(|f| f.page.id == l.account)
                        .and_then(|f| f.expires);
                    self.record(match known {
                        Some(t) => TokenLife {
                            expiry: Expiry::At(t),
                            ..l
                        },
                        None => l,
                    });
                }
                next_check = now.plus_ms(RECHECK_MS);
            }
            let mut wake = next_check;
            let mut dead = Vec::new();
            for (i, ft) in files.iter_mut().enumerate() {
                let at = match due(ft.written, ft.expires, TimestampMs::now()) {
                    Due::At(t) => t,
                    Due::Now => {
                        let mut l = life::instagram_life(&self.config, &ft.page);
                        let at = match self.refresh(ft).await {
                            Refreshed::Done(expiry) => {
                                l.expiry = expiry;
                                match due(ft.written, ft.expires, TimestampMs::now()) {
                                    Due::At(t) => t,
                                    Due::Now => TimestampMs::now().plus_ms(RETRY_MS),
                                }
                            }
                            Refreshed::Dead(why) => {
                                l.problem = Some(format!("Meta refused it: {why}"));
                                dead.push(i);
                                TimestampMs(i64::MAX)
                            }
                            Refreshed::Later(why) => {
                                tracing::warn!(account = %ft.page.id, "{why}");
                                l.expiry =
                                    self.book.get(&ft.page.id).map_or(l.expiry, |b| b.expiry);
                                TimestampMs::now().plus_ms(RETRY_MS)
                            }
                        };
                        self.record(l);
                        at
                    }
                };
                wake = wake.min(at);
            }
            for i in dead.into_iter().rev() {
                files.remove(i);
            }
            // Agents who attached since are told too (the bus has no
            // memory): warnings are repeated every few minutes.
            let warnings = self.book.warnings(TimestampMs::now());
            if !warnings.is_empty() {
                self.store.publish(Update::TokenWarnings(warnings));
            }
            let wait = (wake.0 - TimestampMs::now().0).clamp(1000, REPEAT_MS) as u64;
            tokio::select! {
                _ = cancel.cancelled() => return,
                _ = tokio::time::sleep(Duration::from_millis(wait)) => {}
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refresh_waits_for_24_hours_then_for_the_last_10_days() {
        let t0 = TimestampMs(1_000_000_000_000);
        let day = 24 * HOUR_MS;
        assert_eq!(due(t0, None, t0), Due::At(t0.plus_ms(day)));
        // Expiry unknown (a fresh start): as soon as Meta allows.
        assert_eq!(due(t0, None, t0.plus_ms(day)), Due::Now);
        let exp = t0.plus_ms(60 * day);
        assert_eq!(
            due(t0, Some(exp), t0.plus_ms(2 * day)),
            Due::At(t0.plus_ms(50 * day))
        );
        assert_eq!(due(t0, Some(exp), t0.plus_ms(50 * day)), Due::Now);
        // Even a short-lived answer waits the 24 hours Meta asks for.
        assert_eq!(
            due(t0, Some(t0.plus_ms(day / 2)), t0),
            Due::At(t0.plus_ms(day))
        );
    }

    #[test]
    fn token_file_is_replaced_whole_and_private() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ig.token");
        std::fs::write(&path, "old\n").unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        write_token_file(&path, &Secret::new("new-token")).unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "new-token\n");
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        // No temporary file left beside it.
        let names: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, [std::ffi::OsString::from("ig.token")]);
    }
}
