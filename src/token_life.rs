//! What dmdesk knows of each account's token: when it expires, what it may
//! do, and whether dmdesk can renew it by itself. One plain type for
//! `doctor`, the status bar and `/metrics`; the checks that fill it (Graph
//! `debug_token`, the token files, the refresher) are in src/tokens/.

use crate::domain::{AccountId, TimestampMs};

/// A day, in milliseconds.
pub const DAY_MS: i64 = 86_400_000;
/// An Instagram Login token's life after issue or refresh.
pub const INSTAGRAM_LIFETIME_MS: i64 = 60 * DAY_MS;
/// Warn this long before a token that dmdesk cannot renew expires.
pub const WARN_BEFORE_MS: i64 = 10 * DAY_MS;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenKind {
    Page,
    InstagramLogin,
}

impl TokenKind {
    pub fn label(self) -> &'static str {
        match self {
            TokenKind::Page => "page",
            TokenKind::InstagramLogin => "instagram_login",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expiry {
    Never,
    At(TimestampMs),
    /// Not known exactly: no later than this (60 days after the token file
    /// was written; it may have been issued earlier).
    NoLaterThan(TimestampMs),
    Unknown,
}

impl Expiry {
    /// The latest moment the token may still work, if bounded.
    pub fn bound(self) -> Option<TimestampMs> {
        match self {
            Expiry::At(t) | Expiry::NoLaterThan(t) => Some(t),
            Expiry::Never | Expiry::Unknown => None,
        }
    }
}

/// One account's token, as far as dmdesk knows it. Holds no token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenLife {
    pub account: AccountId,
    pub name: String,
    pub kind: TokenKind,
    pub expiry: Expiry,
    /// Permissions Meta reports for it (Page tokens, from `debug_token`).
    pub scopes: Vec<String>,
    /// dmdesk renews it by itself (an Instagram Login token in a file).
    pub refreshable: bool,
    /// What went wrong or could not be checked, in a sentence.
    pub problem: Option<String>,
}

impl TokenLife {
    /// Seconds until it expires (negative once expired); None when it never
    /// expires or the expiry is unknown.
    pub fn seconds_left(&self, now: TimestampMs) -> Option<i64> {
        self.expiry.bound().map(|t| (t.0 - now.0).div_euclid(1000))
    }

    /// The sentence for `doctor` and the status bar when the operator must
    /// act: a problem, an expired token, or one dmdesk cannot renew that
    /// expires within [`WARN_BEFORE_MS`] (or whose expiry nobody can tell).
    pub fn warning(&self, now: TimestampMs) -> Option<String> {
        let who = format!("{} ({})", self.name, self.account);
        if let Some(p) = &self.problem {
            return Some(format!("token of {who}: {p}"));
        }
        let fix = match self.kind {
            TokenKind::Page => "generate a new Page access token and put it in the config",
            TokenKind::InstagramLogin => {
                "renew it and put it in an access_token_file, which dmdesk refreshes by itself"
            }
        };
        match (self.seconds_left(now), self.refreshable) {
            (Some(s), _) if s <= 0 => Some(format!("token of {who} has expired: {fix}")),
            (Some(s), false) if s * 1000 <= WARN_BEFORE_MS => Some(format!(
                "token of {who} expires in {} day(s): {fix}",
                (s + 86_399) / 86_400
            )),
            (None, false) if self.expiry == Expiry::Unknown => Some(format!(
                "token of {who}: dmdesk cannot tell when it expires nor renew it \
                 (Instagram tokens live 60 days): {fix}"
            )),
            _ => None,
        }
    }
}
