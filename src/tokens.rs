//! Token health: a page token Meta declared invalid (190) is remembered by
//! its fingerprint, so dmdesk stops calling Meta for that page until the
//! token in the config changes. Shared by sync, profiles, sends and doctor.
//! `life`: each token's expiry and scopes; `refresh`: keeping Instagram
//! Login tokens alive; `check`: whether an Instagram Login token is its
//! account's.

pub mod check;
pub mod life;
pub mod refresh;

use crate::config::PageConfig;
use crate::db::Db;
use crate::domain::TimestampMs;
use crate::meta::error::GraphError;
use crate::meta::graph::token_fingerprint;
use crate::store::DeadToken;
use crate::update::{DeadPage, Update};

/// The dead-token mark for the page's current token, if Meta rejected it.
pub fn dead_token(store: &Db, page: &PageConfig) -> Option<DeadToken> {
    store
        .token_dead(page.id.as_str(), &token_fingerprint(&page.access_token))
        .unwrap_or_else(|e| {
            tracing::warn!(error = %e, "cannot read token state");
            None
        })
}

/// Meta said the page's token is invalid (190): remember it, stop calling
/// for that page, and tell the operator.
pub fn token_died(store: &Db, page: &PageConfig, e: &GraphError) {
    let at = TimestampMs::now();
    if let Err(se) = store.mark_token_dead(
        page.id.as_str(),
        &token_fingerprint(&page.access_token),
        &e.message,
        at,
    ) {
        tracing::warn!(error = %se, "cannot record the dead token");
    }
    let text = format!(
        "page {} ({}): {} — dmdesk stopped calling Meta for this page until the token is replaced",
        page.name,
        page.id,
        e.describe()
    );
    tracing::error!("{text}");
    store.report_error(text.clone());
    store.publish(Update::Notice(text));
    store.publish(Update::TokenDead(dead_page(page)));
}

/// The status bar's standing item for a page whose token is dead.
pub fn dead_page(page: &PageConfig) -> DeadPage {
    DeadPage {
        accounts: std::iter::once(page.id.clone())
            .chain(page.instagram_id.clone().filter(|i| *i != page.id))
            .collect(),
        text: format!(
            "token of {} ({}) is invalid: put a new one in the config",
            page.name, page.id
        ),
    }
}

/// The configured pages whose current token is marked dead in the store
/// (what the status bar shows from the start).
pub fn dead_pages(store: &Db, pages: &[PageConfig]) -> Vec<DeadPage> {
    pages
        .iter()
        .filter(|p| dead_token(store, p).is_some())
        .map(dead_page)
        .collect()
}
