//! `dmdesk doctor`: the answer to "no messages arrive". Checks the config,
//! each page token, each page's webhook subscription, threads owned by
//! another app, and explains the HUMAN_AGENT setting. One line per finding,
//! each saying what to fix.

use crate::cli::{CliError, CliResult};
use crate::config::{Config, PageConfig};
use crate::db::Db;
use crate::meta::error::ErrorClass;
use crate::meta::graph::GraphClient;
use crate::tokens::dead_token;
use serde_json::Value;
use std::collections::BTreeMap;
use std::fmt;

/// Webhook fields dmdesk relies on.
pub const NEEDED_FIELDS: &[&str] = &[
    "messages",
    "message_echoes",
    "message_deliveries",
    "message_reads",
    "message_reactions",
    "message_edits",
    "messaging_postbacks",
    "messaging_referrals",
    "messaging_optins",
    "messaging_handovers",
    "standby",
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    Ok,
    /// Worth knowing; nothing to change.
    Note,
    Fix,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    pub level: Level,
    pub text: String,
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let tag = match self.level {
            Level::Ok => "ok",
            Level::Note => "note",
            Level::Fix => "fix",
        };
        write!(f, "{tag}: {}", self.text)
    }
}

fn ok(text: impl Into<String>) -> Finding {
    Finding {
        level: Level::Ok,
        text: text.into(),
    }
}
fn note(text: impl Into<String>) -> Finding {
    Finding {
        level: Level::Note,
        text: text.into(),
    }
}
fn fix(text: impl Into<String>) -> Finding {
    Finding {
        level: Level::Fix,
        text: text.into(),
    }
}

/// Configuration checks that need no network.
pub fn check_config(config: &Config) -> Vec<Finding> {
    let mut out = Vec::new();
    if config.server.app_secret.is_empty() {
        out.push(fix("server.app_secret is not set (or DMDESK_APP_SECRET): webhooks cannot be verified and every POST gets 401; copy the App Secret from the App Dashboard → Settings → Basic"));
    } else {
        out.push(ok("server.app_secret is set"));
    }
    if config.server.verify_token.is_empty() {
        out.push(fix("server.verify_token is not set (or DMDESK_VERIFY_TOKEN): Meta's webhook verification will fail; choose a string and enter the same one in the App Dashboard's webhook settings"));
    } else {
        out.push(ok("server.verify_token is set"));
    }
    let listen = config.server.listen;
    let public = format!(
        "Meta must reach https://<your host>{} (a TLS reverse proxy in front of it)",
        config.server.path
    );
    if listen.ip().is_loopback() {
        out.push(note(format!(
            "server.listen = {listen} is loopback only: {public} on this machine"
        )));
    } else {
        out.push(ok(format!("server.listen = {listen}; {public}")));
    }
    if config.server.app_id.is_none() {
        out.push(note("server.app_id is not set: echoes of replies sent by dmdesk from another machine cannot be told from other apps'; set it to your Meta app id"));
    }
    if config.pages.is_empty() {
        out.push(fix("no [[pages]] in the config: add one per Facebook Page (id, access_token; instagram_id for its Instagram account)"));
    } else {
        out.push(ok(format!("{} page(s) configured", config.pages.len())));
    }
    out
}

fn field_names(app: &Value) -> Vec<String> {
    app.get("subscribed_fields")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|f| {
                    f.as_str()
                        .map(str::to_string)
                        .or_else(|| f.get("name").and_then(Value::as_str).map(str::to_string))
                })
                .collect()
        })
        .unwrap_or_default()
}

async fn check_page(
    config: &Config,
    store: Option<&Db>,
    graph: &GraphClient,
    i: usize,
    page: &PageConfig,
) -> Vec<Finding> {
    let mut out = Vec::new();
    let who = format!("page {} ({})", page.name, page.id);
    let tok = &page.access_token;
    if let Some(d) = store.and_then(|s| dead_token(s, page)) {
        out.push(fix(format!(
            "{who}: Meta rejected this token ({}); dmdesk stopped calling Meta for the page — put a new Page access token in pages[{i}].access_token",
            d.reason
        )));
    }
    // 1. The token.
    match graph.get("me", tok, &[("fields", "id,name")]).await {
        Ok(v) => {
            let id = crate::meta::lenient::id(v.get("id")).unwrap_or_default();
            if id == page.id.as_str() {
                out.push(ok(format!("{who}: token works")));
            } else {
                out.push(fix(format!(
                    "{who}: the token belongs to {id} ({}), not this page: use a Page access token of this page in pages[{i}].access_token",
                    crate::meta::lenient::string(v.get("name")).unwrap_or_default()
                )));
            }
        }
        Err(e) if e.class == ErrorClass::TokenInvalid => {
            out.push(fix(format!("{who}: {} — generate a new Page access token and put it in pages[{i}].access_token", e.describe())));
            return out; // nothing else can be checked with it
        }
        Err(e) => out.push(fix(format!(
            "{who}: cannot check the token: {}",
            e.describe()
        ))),
    }
    // 2. The webhook subscription.
    match graph
        .get(&format!("{}/subscribed_apps", page.id), tok, &[])
        .await
    {
        Ok(v) => {
            let apps: Vec<&Value> = v
                .get("data")
                .and_then(Value::as_array)
                .map(|a| a.iter().collect())
                .unwrap_or_default();
            let ours = match &config.server.app_id {
                Some(id) => apps
                    .iter()
                    .find(|a| crate::meta::lenient::id(a.get("id")).as_deref() == Some(id))
                    .copied(),
                None if apps.len() == 1 => apps.first().copied(),
                None => None,
            };
            let how = format!(
                "subscribe with POST /{}/subscribed_apps?subscribed_fields={} using the page token, or in the App Dashboard → Webhooks",
                page.id,
                NEEDED_FIELDS.join(",")
            );
            match ours {
                None if apps.is_empty() => out.push(fix(format!("{who}: no app is subscribed to the page's webhooks, so no messages arrive; {how}"))),
                None => out.push(fix(format!(
                    "{who}: {} app(s) subscribed but not ours{}; {how}",
                    apps.len(),
                    config.server.app_id.as_ref().map(|a| format!(" ({a})")).unwrap_or_else(|| " (set server.app_id to check which)".into())
                ))),
                Some(app) => {
                    let have = field_names(app);
                    let missing: Vec<&str> = NEEDED_FIELDS.iter().copied().filter(|f| !have.iter().any(|h| h == f)).collect();
                    if missing.is_empty() {
                        out.push(ok(format!("{who}: webhook subscription has every field dmdesk needs")));
                    } else {
                        out.push(fix(format!("{who}: webhook subscription lacks {}; {how}", missing.join(", "))));
                    }
                    if apps.len() > 1 {
                        out.push(note(format!(
                            "{who}: {} other app(s) also receive this page's messages; one of them may own threads (handover protocol)",
                            apps.len() - 1
                        )));
                    }
                }
            }
        }
        Err(e) => out.push(fix(format!(
            "{who}: cannot read the webhook subscription: {}",
            e.describe()
        ))),
    }
    // 3. Instagram access through the page token.
    if let Some(ig) = &page.instagram_id {
        match graph.get(ig.as_str(), tok, &[("fields", "id,username")]).await {
            Ok(v) => out.push(ok(format!(
                "{who}: Instagram account {ig} (@{}) is reachable; its webhooks are the app's `instagram` object, field `messages`",
                crate::meta::lenient::string(v.get("username")).unwrap_or_default()
            ))),
            Err(e) => out.push(fix(format!(
                "{who}: Instagram account {ig} is not reachable with this token ({}); link it to the page and grant instagram_manage_messages",
                e.describe()
            ))),
        }
    }
    // 4. Threads owned by another app (standby).
    if let Some(s) = store {
        let standby = s
            .all_conversations()
            .filter_map(Result::ok)
            .filter(|c| {
                c.standby
                    && config
                        .page_for(&c.key.account)
                        .is_some_and(|(p, _)| p.id == page.id)
            })
            .count();
        if standby > 0 {
            out.push(fix(format!(
                "{who}: {standby} conversation(s) are in standby: another app owns those threads, Meta delivers them as standby and replies fail; make dmdesk's app the primary receiver (Page settings → Advanced messaging) or have the other app pass thread control"
            )));
        }
    }
    // 5. HUMAN_AGENT.
    if page.human_agent {
        out.push(note(format!(
            "{who}: human_agent = true: replies from 24 h up to 7 days after the customer's last message go out with the HUMAN_AGENT tag; Meta refuses them (e.g. 10/2018065, 200) unless the app's Human Agent permission is approved"
        )));
    } else {
        out.push(note(format!(
            "{who}: human_agent is off: after 24 h without a customer message a reply needs another allowed tag"
        )));
    }
    out
}

/// Every check, in order. `store` is None when another process holds it.
pub async fn check(config: &Config, store: Option<&Db>, graph: &GraphClient) -> Vec<Finding> {
    let mut out = check_config(config);
    if store.is_none() {
        out.push(note("the store is held by another dmdesk process: dead-token marks and standby threads were not checked"));
    }
    for (i, page) in config.pages.iter().enumerate() {
        out.extend(check_page(config, store, graph, i, page).await);
    }
    out
}

/// `dmdesk doctor`: findings on stdout; exit 1 when something needs fixing.
pub async fn cli_doctor(
    config: &Config,
    store: Option<Db>,
    console: &crate::console::Console,
) -> CliResult {
    let graph = GraphClient::new(&config.graph);
    let findings = check(config, store.as_ref(), &graph).await;
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    for f in &findings {
        console.out(&f.to_string());
        *counts
            .entry(match f.level {
                Level::Ok => "ok",
                Level::Note => "note",
                Level::Fix => "fix",
            })
            .or_default() += 1;
    }
    match counts.get("fix").copied().unwrap_or(0) {
        0 => Ok(()),
        n => Err(CliError::runtime(format!(
            "doctor found {n} thing(s) to fix"
        ))),
    }
}
