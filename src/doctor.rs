//! `dmdesk doctor`: the answer to "no messages arrive". Checks the config
//! (including how long Meta still serves the configured Graph API version),
//! each page token, each page's webhook subscription, threads owned by
//! another app, and explains the HUMAN_AGENT setting. One line per finding,
//! each saying what to fix.

use crate::cli::{CliError, CliResult};
use crate::config::{Config, PageConfig};
use crate::db::Db;
use crate::meta::error::ErrorClass;
use crate::meta::graph::GraphClient;
use crate::tokens::check::LoginCheck;
use crate::tokens::dead_token;
use chrono::NaiveDate;
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

/// Graph API versions: (version, release date, the "available until" date
/// Meta published, if it did), oldest first. Source:
/// https://developers.facebook.com/docs/graph-api/changelog/versions/
/// (read 2026-11-29; v27.0 is not listed there yet). Meta's rule, for the
/// versions without a published date
/// (https://developers.facebook.com/docs/apps/versions): "A version will no
/// longer be usable two years after the date that the subsequent version is
/// released", and each is guaranteed at least two years from its own
/// release. Add a row when Meta releases a version.
pub const GRAPH_VERSIONS: &[(&str, &str, Option<&str>)] = &[
    ("v19.0", "2024-01-23", Some("2026-05-21")),
    ("v20.0", "2024-05-21", Some("2026-09-24")),
    ("v21.0", "2024-10-02", Some("2027-01-21")),
    ("v22.0", "2025-01-21", Some("2027-05-20")),
    ("v23.0", "2025-05-29", Some("2027-10-08")),
    ("v24.0", "2025-10-08", Some("2028-02-18")),
    ("v25.0", "2026-02-18", Some("2028-07-29")),
    ("v26.0", "2026-07-29", None),
];

/// Warn this many days before a version's end of life.
pub const VERSION_WARNING_DAYS: i64 = 90;

fn date(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").expect("GRAPH_VERSIONS dates are valid")
}

fn plus_two_years(d: NaiveDate) -> NaiveDate {
    d.checked_add_months(chrono::Months::new(24)).unwrap_or(d)
}

/// A version's end of life from [`GRAPH_VERSIONS`]: Meta's published date,
/// else two years after its successor's release, else (the newest) two
/// years after its own. The flag says whether the date is Meta's own.
/// None for a version not in the table.
pub fn graph_version_end(version: &str) -> Option<(NaiveDate, bool)> {
    let i = GRAPH_VERSIONS.iter().position(|(v, _, _)| *v == version)?;
    let (_, released, until) = GRAPH_VERSIONS[i];
    Some(match (until, GRAPH_VERSIONS.get(i + 1)) {
        (Some(u), _) => (date(u), true),
        (None, Some((_, next, _))) => (plus_two_years(date(next)), false),
        (None, None) => (plus_two_years(date(released)), false),
    })
}

/// The finding about `[graph] version` on `today`: fix when its end of life
/// is past or within [`VERSION_WARNING_DAYS`], a note when dmdesk does not
/// know the version.
pub fn check_graph_version(version: &str, today: NaiveDate) -> Finding {
    let newest = GRAPH_VERSIONS.last().map_or("", |(v, _, _)| *v);
    let oldest = GRAPH_VERSIONS.first().map_or("", |(v, _, _)| *v);
    let default = crate::config::DEFAULT_GRAPH_VERSION;
    let Some((end, published)) = graph_version_end(version) else {
        return note(format!(
            "graph.version = {version} is not in dmdesk's table of Graph API versions ({oldest} to {newest}): its end of life is unknown; see https://developers.facebook.com/docs/graph-api/changelog/versions/"
        ));
    };
    let when = if published {
        format!("{end}")
    } else {
        format!("about {end} (two years after the next version's release; Meta has not published the date)")
    };
    let days = (end - today).num_days();
    let set = format!("set [graph] version = \"{default}\" (or newer) and check Meta's changelog for what changed");
    if days < 0 {
        fix(format!(
            "graph.version = {version} reached its end of life on {when}: Meta answers calls to it with the oldest version it still serves; {set}"
        ))
    } else if days <= VERSION_WARNING_DAYS {
        fix(format!(
            "graph.version = {version} reaches its end of life on {when}, in {days} day(s): {set}"
        ))
    } else {
        ok(format!("graph.version = {version} is served until {when}"))
    }
}

/// Configuration checks that need no network, as of today.
pub fn check_config(config: &Config) -> Vec<Finding> {
    check_config_at(config, chrono::Utc::now().date_naive())
}

/// Configuration checks that need no network, as of `today`.
pub fn check_config_at(config: &Config, today: NaiveDate) -> Vec<Finding> {
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
    out.push(check_graph_version(&config.graph.version, today));
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
        // Nothing can be checked without an answer from Meta; the token,
        // subscription and Instagram checks would each blame the page.
        Err(e) if e.is_network() => {
            out.push(fix(format!(
                "{who}: cannot reach the Graph API at {} ({}): check this machine's network, proxy and graph.base_url; the token, webhook subscription and Instagram access were not checked",
                config.graph.base_url,
                e.describe()
            )));
            return out;
        }
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
    check_at(config, store, graph, chrono::Utc::now().date_naive()).await
}

/// [`check`] as of `today` (the Graph version's end of life).
pub async fn check_at(
    config: &Config,
    store: Option<&Db>,
    graph: &GraphClient,
    today: NaiveDate,
) -> Vec<Finding> {
    let mut out = check_config_at(config, today);
    match store {
        None => out.push(note("the store is held by another dmdesk process (or its database is unreachable): dead-token marks and standby threads were not checked")),
        Some(db) => {
            out.extend(check_database(db));
            out.extend(check_event_log(db));
        }
    }
    for (i, page) in config.pages.iter().enumerate() {
        if page.is_instagram_login() {
            out.extend(check_instagram_login(store, graph, page).await);
        } else {
            out.extend(check_page(config, store, graph, i, page).await);
        }
    }
    out.extend(token_lives(config, graph).await);
    out
}

/// The PostgreSQL backend: which database, its server and schema versions
/// (nothing for sled).
fn check_database(db: &Db) -> Option<Finding> {
    match db.database_info() {
        Ok(None) => None,
        Ok(Some(i)) if i.schema_version < i.schema_latest => Some(fix(format!(
            "database {}: PostgreSQL {}, schema {} of {}: start `dmdesk serve` once to upgrade it",
            i.database, i.server_version, i.schema_version, i.schema_latest
        ))),
        Ok(Some(i)) => Some(ok(format!(
            "database {}: PostgreSQL {}, schema {} (current)",
            i.database, i.server_version, i.schema_version
        ))),
        // The message names the database with its password redacted.
        Err(e) => Some(fix(format!("database unreachable: {e}"))),
    }
}

/// The event log: damaged tails that start-up cut off and kept aside
/// (`*.damaged-at-N` beside the sled backend's segments), and quarantined
/// events, whose bodies are kept until they are replayed or deleted.
pub fn check_event_log(db: &Db) -> Vec<Finding> {
    let mut out = Vec::new();
    if db.backend() == "sled" {
        let dir = db.path().join(crate::store::embedded::EVENT_LOG_DIR);
        let mut damaged: Vec<(std::path::PathBuf, u64)> = std::fs::read_dir(&dir)
            .into_iter()
            .flatten()
            .flatten()
            .filter(|e| e.file_name().to_string_lossy().contains(".damaged-at-"))
            .map(|e| (e.path(), e.metadata().map_or(0, |m| m.len())))
            .collect();
        damaged.sort();
        for (path, len) in damaged {
            out.push(fix(format!(
                "event log: a damaged tail ({len} bytes) was cut off at start-up and kept as {}; \
                 what it holds was not applied (a torn last write is normal after a power cut: it was never acknowledged). \
                 Look at it, then delete the file",
                path.display()
            )));
        }
    }
    match db.quarantined() {
        Ok(q) if q.is_empty() => {}
        Ok(q) => {
            let shown: Vec<String> = q.iter().take(10).map(u64::to_string).collect();
            let more = if q.len() > 10 { ", ..." } else { "" };
            out.push(note(format!(
                "{} quarantined event(s) (seq {}{more}), kept until replayed: `dmdesk replay` applies them again",
                q.len(),
                shown.join(", ")
            )));
        }
        Err(e) => out.push(fix(format!("cannot list quarantined events: {e}"))),
    }
    out
}

/// An `[[instagram]]` account: its token must be that account's, on the
/// Instagram host (it has no Page, subscription or Page permissions).
async fn check_instagram_login(
    store: Option<&Db>,
    graph: &GraphClient,
    page: &PageConfig,
) -> Vec<Finding> {
    let who = format!("instagram {} ({})", page.name, page.id);
    let mut out = Vec::new();
    if let Some(d) = store.and_then(|s| dead_token(s, page)) {
        out.push(fix(format!(
            "{who}: Meta rejected this token ({}); dmdesk stopped calling Meta for the account — put a new Instagram token in its access_token_file",
            d.reason
        )));
    }
    out.push(match crate::tokens::check::instagram_login(graph, page).await {
        Ok(LoginCheck::Works(user)) => ok(format!(
            "{who}: the Instagram token works{}",
            user.map(|u| format!(" (@{u})")).unwrap_or_default()
        )),
        Ok(LoginCheck::OtherAccount(other)) => fix(format!(
            "{who}: the token belongs to Instagram account {other}, not {}: put this account's token in its block",
            page.id
        )),
        Err(e) if e.is_network() => fix(format!(
            "{who}: cannot reach the Instagram API ({}): check this machine's network, proxy and graph.instagram_base_url",
            e.describe()
        )),
        Err(e) => fix(format!("{who}: the Instagram token does not work: {}", e.describe())),
    });
    out
}

/// Each token's lifetime (src/tokens/life.rs): a warning when the operator
/// must act soon, else when it expires.
async fn token_lives(config: &Config, graph: &GraphClient) -> Vec<Finding> {
    let now = crate::domain::TimestampMs::now();
    crate::tokens::life::inspect(config, graph)
        .await
        .into_iter()
        .map(|life| {
            let who = format!("token of {} ({})", life.name, life.account);
            // Its expiry could not be checked: worth knowing, but whether
            // the token works is the token check's finding.
            if let Some(p) = &life.problem {
                return note(format!("{who}: {p}"));
            }
            if let Some(w) = life.warning(now) {
                return fix(w);
            }
            let scopes = if life.scopes.is_empty() {
                String::new()
            } else {
                format!("; permissions: {}", life.scopes.join(", "))
            };
            let renew = if life.refreshable {
                "; dmdesk renews it by itself"
            } else {
                ""
            };
            match life.seconds_left(now) {
                Some(s) => ok(format!(
                    "{who} expires in {} day(s){renew}{scopes}",
                    s.div_euclid(86_400)
                )),
                None => ok(format!("{who} does not expire{scopes}")),
            }
        })
        .collect()
}

/// `dmdesk doctor`: findings on stdout; exit 1 when something needs fixing.
pub async fn cli_doctor(
    config: &Config,
    store: Option<Db>,
    console: &crate::console::Console,
) -> CliResult {
    cli_doctor_at(config, store, console, chrono::Utc::now().date_naive()).await
}

/// [`cli_doctor`] as of `today`.
pub async fn cli_doctor_at(
    config: &Config,
    store: Option<Db>,
    console: &crate::console::Console,
    today: NaiveDate,
) -> CliResult {
    let graph = GraphClient::new(&config.graph);
    let findings = check_at(config, store.as_ref(), &graph, today).await;
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

#[cfg(test)]
mod tests {
    use super::*;

    fn day(s: &str) -> NaiveDate {
        date(s)
    }

    #[test]
    fn version_table_is_ordered_and_matches_metas_rule() {
        for w in GRAPH_VERSIONS.windows(2) {
            assert!(date(w[0].1) < date(w[1].1), "{:?} before {:?}", w[0], w[1]);
        }
        for (v, released, until) in GRAPH_VERSIONS {
            let (end, published) = graph_version_end(v).unwrap();
            assert_eq!(published, until.is_some(), "{v}");
            // Each version lives at least about two years after its release.
            assert!((end - date(released)).num_days() >= 2 * 365 - 30, "{v}");
        }
        // Meta's published dates.
        assert_eq!(graph_version_end("v23.0"), Some((day("2027-10-08"), true)));
        assert_eq!(graph_version_end("v25.0"), Some((day("2028-07-29"), true)));
        // v26.0 has no published date and no successor in the table yet.
        assert_eq!(graph_version_end("v26.0"), Some((day("2028-07-29"), false)));
        assert_eq!(graph_version_end("v99.0"), None);
        assert_eq!(graph_version_end("v25"), None);
        // The default is in the table.
        assert!(graph_version_end(crate::config::DEFAULT_GRAPH_VERSION).is_some());
    }

    #[test]
    fn version_findings_by_date() {
        // v21.0 ends on 2027-01-21.
        let far = check_graph_version("v21.0", day("2026-10-22"));
        assert_eq!(far.level, Level::Ok, "{far}");
        assert!(far.text.contains("2027-01-21"));
        let near = check_graph_version("v21.0", day("2026-10-23"));
        assert_eq!(near.level, Level::Fix, "{near}");
        assert!(
            near.text.contains("in 90 day(s)") && near.text.contains("version = \"v25.0\""),
            "{near}"
        );
        let last = check_graph_version("v21.0", day("2027-01-21"));
        assert!(
            last.level == Level::Fix && last.text.contains("in 0 day(s)"),
            "{last}"
        );
        let past = check_graph_version("v21.0", day("2027-01-22"));
        assert!(
            past.level == Level::Fix && past.text.contains("reached its end of life"),
            "{past}"
        );
        // Without a published date the estimate says so.
        let est = check_graph_version("v26.0", day("2028-06-01"));
        assert!(
            est.level == Level::Fix && est.text.contains("about 2028-07-29"),
            "{est}"
        );
        // Unknown versions: a note, not a failure.
        let unknown = check_graph_version("v27.0", day("2026-11-29"));
        assert_eq!(unknown.level, Level::Note, "{unknown}");
        assert!(unknown.text.contains("not in dmdesk's table"));
    }

    #[test]
    fn config_check_includes_the_version() {
        let mut c = Config::from_toml("", &|_| None).unwrap();
        let today = day("2026-11-29");
        let f = check_config_at(&c, today);
        assert!(
            f.iter()
                .any(|f| f.level == Level::Ok && f.text.starts_with("graph.version = v25.0")),
            "{f:#?}"
        );
        c.graph.version = "v20.0".into();
        let f = check_config_at(&c, today);
        assert!(
            f.iter()
                .any(|f| f.level == Level::Fix && f.text.contains("2026-09-24")),
            "{f:#?}"
        );
    }
}
