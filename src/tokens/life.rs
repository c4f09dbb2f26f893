//! What dmdesk knows of each account's token: when it expires, what it may
//! do, and whether dmdesk can renew it by itself. One type for `doctor`,
//! the status bar and `/metrics`.
//!
//! Page tokens: Graph `debug_token`, asked with the app token
//! `{app-id}|{app-secret}` (`expires_at` 0 means it never expires; Pages
//! tokens from a long-lived user token do not). Instagram Login tokens live
//! 60 days from their issue or last refresh; Meta offers no way to ask, so
//! the expiry is the refresh answer's `expires_in`, or at the latest 60 days
//! after the token file was written.
//! <https://developers.facebook.com/docs/facebook-login/guides/access-tokens/debugging>,
//! <https://developers.facebook.com/documentation/instagram-platform/reference/refresh_access_token>

use crate::config::{Config, PageConfig, TokenSource};
use crate::domain::{AccountId, TimestampMs};
use crate::meta::graph::GraphClient;
use crate::secret::Secret;
use serde_json::Value;
use std::collections::BTreeMap;
use std::sync::{Arc, RwLock};

use crate::token_life::{Expiry, TokenKind, TokenLife, INSTAGRAM_LIFETIME_MS};

// Filling one from the config is the checks' business, not the plain type's.
impl TokenLife {
    fn new(page: &PageConfig, kind: TokenKind) -> TokenLife {
        TokenLife {
            account: page.id.clone(),
            name: page.name.clone(),
            kind,
            expiry: Expiry::Unknown,
            scopes: Vec::new(),
            refreshable: false,
            problem: None,
        }
    }
}

/// `debug_token`'s `data`: expiry, scopes, and Meta's verdict.
pub fn parse_debug_token(v: &Value) -> (Expiry, Vec<String>, Option<String>) {
    let d = v.get("data").unwrap_or(v);
    let secs = d.get("expires_at").and_then(|e| {
        e.as_i64()
            .or_else(|| e.as_str().and_then(|s| s.trim().parse().ok()))
    });
    let expiry = match secs {
        Some(0) => Expiry::Never,
        Some(s) if s > 0 => Expiry::At(TimestampMs(s.saturating_mul(1000))),
        _ => Expiry::Unknown,
    };
    let scopes = d
        .get("scopes")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|s| s.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default();
    let problem = match d.get("is_valid").and_then(Value::as_bool) {
        Some(false) => Some(format!(
            "Meta says it is not valid ({})",
            d.pointer("/error/message")
                .and_then(Value::as_str)
                .unwrap_or("no reason given")
        )),
        _ => None,
    };
    (expiry, scopes, problem)
}

/// The app token `{app-id}|{app-secret}` for `debug_token`; else the
/// config keys it lacks.
pub fn app_token(config: &Config) -> Result<Secret, &'static str> {
    let secret = &config.server.app_secret;
    match (config.server.app_id.as_deref(), secret.is_empty()) {
        (Some(id), false) => Ok(Secret::new(format!("{id}|{}", secret.expose()))),
        (None, false) => Err("[server] app_id"),
        (Some(_), true) => Err("[server] app_secret"),
        (None, true) => Err("[server] app_id and app_secret"),
    }
}

/// A Page token's life, from `debug_token`.
pub async fn page_life(
    graph: &GraphClient,
    app_token: Result<&Secret, &str>,
    page: &PageConfig,
) -> TokenLife {
    let mut life = TokenLife::new(page, TokenKind::Page);
    let app = match app_token {
        Ok(app) => app,
        Err(missing) => {
            life.problem = Some(format!(
                "cannot check its expiry and permissions: debug_token needs {missing}"
            ));
            return life;
        }
    };
    match graph.debug_token(&page.access_token, app).await {
        Ok(v) => {
            let (expiry, scopes, problem) = parse_debug_token(&v);
            life.expiry = expiry;
            life.scopes = scopes;
            life.problem = problem;
        }
        Err(e) => life.problem = Some(format!("debug_token failed: {}", e.describe())),
    }
    life
}

/// An Instagram Login token's life as far as the config tells: a file's
/// token expires at the latest 60 days after the file was written.
pub fn instagram_life(config: &Config, page: &PageConfig) -> TokenLife {
    let mut life = TokenLife::new(page, TokenKind::InstagramLogin);
    let source = config
        .instagram
        .iter()
        .find(|i| i.id == page.id)
        .map(|i| &i.source);
    if let Some(TokenSource::File(path)) = source {
        life.refreshable = true;
        if let Some(written) = file_written(path) {
            life.expiry = Expiry::NoLaterThan(written.plus_ms(INSTAGRAM_LIFETIME_MS));
        }
    }
    life
}

/// When a file was last written.
pub fn file_written(path: &std::path::Path) -> Option<TimestampMs> {
    let t = std::fs::metadata(path).ok()?.modified().ok()?;
    let ms = t.duration_since(std::time::UNIX_EPOCH).ok()?.as_millis();
    Some(TimestampMs(i64::try_from(ms).ok()?))
}

/// Every configured account's token, Page tokens checked with Meta: the
/// one call for `doctor` (one-shot) and the refresh worker's first look.
pub async fn inspect(config: &Config, graph: &GraphClient) -> Vec<TokenLife> {
    let app = app_token(config);
    let mut out = Vec::with_capacity(config.pages.len());
    for page in &config.pages {
        out.push(if page.is_instagram_login() {
            instagram_life(config, page)
        } else {
            page_life(graph, app.as_ref().map_err(|m| *m), page).await
        });
    }
    out
}

/// What the running process knows now (the refresh worker keeps it): the
/// status bar's and `/metrics`' source.
#[derive(Clone, Default)]
pub struct TokenBook(Arc<RwLock<BTreeMap<AccountId, TokenLife>>>);

impl TokenBook {
    pub fn set(&self, life: TokenLife) {
        self.0
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .insert(life.account.clone(), life);
    }

    pub fn get(&self, account: &AccountId) -> Option<TokenLife> {
        self.0
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(account)
            .cloned()
    }

    pub fn all(&self) -> Vec<TokenLife> {
        self.0
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .values()
            .cloned()
            .collect()
    }

    /// The warnings to show now, one per account that needs the operator.
    pub fn warnings(&self, now: TimestampMs) -> Vec<String> {
        self.all().iter().filter_map(|l| l.warning(now)).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::token_life::DAY_MS;
    use serde_json::json;

    /// From the agent trial: the message named both keys when only one
    /// was missing.
    #[test]
    fn the_app_token_names_the_keys_it_lacks() {
        let cfg =
            |server: &str| Config::from_toml(&format!("[server]\n{server}"), &|_| None).unwrap();
        assert_eq!(
            app_token(&cfg("app_secret = \"s\"")).err(),
            Some("[server] app_id")
        );
        assert_eq!(
            app_token(&cfg("app_id = \"1\"")).err(),
            Some("[server] app_secret")
        );
        assert_eq!(
            app_token(&cfg("")).err(),
            Some("[server] app_id and app_secret")
        );
        let both = app_token(&cfg("app_id = \"1\"\napp_secret = \"s\"")).unwrap();
        assert_eq!(both.expose(), "1|s");
    }

    fn life(kind: TokenKind, expiry: Expiry, refreshable: bool) -> TokenLife {
        TokenLife {
            account: AccountId::new("A"),
            name: "Shop".into(),
            kind,
            expiry,
            scopes: vec![],
            refreshable,
            problem: None,
        }
    }

    #[test]
    fn debug_token_answers() {
        let v = json!({"data": {"app_id": "42", "type": "PAGE", "expires_at": 1_900_000_000,
            "is_valid": true, "scopes": ["pages_messaging", "pages_manage_metadata"]}});
        let (e, scopes, problem) = parse_debug_token(&v);
        assert_eq!(e, Expiry::At(TimestampMs(1_900_000_000_000)));
        assert_eq!(scopes, ["pages_messaging", "pages_manage_metadata"]);
        assert_eq!(problem, None);
        let (e, _, _) = parse_debug_token(&json!({"data": {"expires_at": 0, "is_valid": true}}));
        assert_eq!(e, Expiry::Never);
        let (e, _, p) = parse_debug_token(&json!({"data": {"is_valid": false,
            "error": {"message": "Session has expired"}}}));
        assert_eq!(e, Expiry::Unknown);
        assert!(p.unwrap().contains("Session has expired"));
    }

    #[test]
    fn warnings_come_before_expiry_only_when_dmdesk_cannot_renew() {
        let now = TimestampMs(1_000 * DAY_MS);
        let soon = Expiry::At(now.plus_ms(3 * DAY_MS));
        let later = Expiry::At(now.plus_ms(30 * DAY_MS));
        let w = life(TokenKind::Page, soon, false).warning(now).unwrap();
        assert!(w.contains("expires in 3 day(s)"), "{w}");
        assert_eq!(life(TokenKind::Page, later, false).warning(now), None);
        assert_eq!(
            life(TokenKind::Page, Expiry::Never, false).warning(now),
            None
        );
        // A file token is refreshed before it gets there.
        assert_eq!(
            life(TokenKind::InstagramLogin, soon, true).warning(now),
            None
        );
        let w = life(TokenKind::InstagramLogin, Expiry::Unknown, false)
            .warning(now)
            .unwrap();
        assert!(w.contains("access_token_file"), "{w}");
        let gone = Expiry::At(now.plus_ms(-1));
        assert!(life(TokenKind::InstagramLogin, gone, true)
            .warning(now)
            .unwrap()
            .contains("has expired"));
        assert_eq!(
            life(TokenKind::Page, later, false).seconds_left(now),
            Some(30 * 86_400)
        );
    }
}
