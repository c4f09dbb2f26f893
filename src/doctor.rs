//! `dmdesk doctor`: the answer to "no messages arrive". Checks the config
//! (including how long Meta still serves the configured Graph API version),
//! each page token, each page's webhook subscription, threads owned by
//! another app, and explains the HUMAN_AGENT setting. One line per finding,
//! each saying what to fix. What the store knows (database, event log, dead
//! tokens, standby threads) is asked of the inbox service
//! (`Request::StoreChecks`, src/inbox/doctor.rs).

use crate::cli::{CliError, CliResult};
use crate::config::{Config, PageConfig};
use crate::db::Db;
use crate::inbox::{Caller, Inbox, Reply, Request};
use crate::meta::error::ErrorClass;
use crate::meta::graph::GraphClient;
use crate::request::doctor::{Finding, Level, PageChecks, StoreChecks};
use crate::tokens::check::LoginCheck;
use chrono::NaiveDate;
use serde_json::Value;
use std::collections::BTreeMap;
use std::sync::Arc;

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
        return Finding::note(format!(
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
        Finding::fix(format!(
            "graph.version = {version} reached its end of life on {when}: Meta answers calls to it with the oldest version it still serves; {set}"
        ))
    } else if days <= VERSION_WARNING_DAYS {
        Finding::fix(format!(
            "graph.version = {version} reaches its end of life on {when}, in {days} day(s): {set}"
        ))
    } else {
        Finding::ok(format!("graph.version = {version} is served until {when}"))
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
        out.push(Finding::fix("server.app_secret is not set (or DMDESK_APP_SECRET): webhooks cannot be verified and every POST gets 401; copy the App Secret from the App Dashboard → Settings → Basic"));
    } else {
        out.push(Finding::ok("server.app_secret is set"));
    }
    if config.server.verify_token.is_empty() {
        out.push(Finding::fix("server.verify_token is not set (or DMDESK_VERIFY_TOKEN): Meta's webhook verification will fail; choose a string and enter the same one in the App Dashboard's webhook settings"));
    } else {
        out.push(Finding::ok("server.verify_token is set"));
    }
    let listen = config.server.listen;
    let public = format!(
        "Meta must reach https://<your host>{} (a TLS reverse proxy in front of it)",
        config.server.path
    );
    if listen.ip().is_loopback() {
        out.push(Finding::note(format!(
            "server.listen = {listen} is loopback only: {public} on this machine"
        )));
    } else {
        out.push(Finding::ok(format!("server.listen = {listen}; {public}")));
    }
    if config.server.app_id.is_none() {
        out.push(Finding::note("server.app_id is not set: echoes of replies sent by dmdesk from another machine cannot be told from other apps'; set it to your Meta app id"));
    }
    if config.pages.is_empty() {
        out.push(Finding::fix("no [[pages]] in the config: add one per Facebook Page (id, access_token; instagram_id for its Instagram account)"));
    } else {
        out.push(Finding::ok(format!(
            "{} page(s) configured",
            config.pages.len()
        )));
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

/// A Page's checks; `stored`: what the store said of it (None: the store
/// was not checked).
async fn check_page(
    config: &Config,
    stored: Option<&PageChecks>,
    graph: &GraphClient,
    i: usize,
    page: &PageConfig,
) -> Vec<Finding> {
    let mut out = Vec::new();
    let who = format!("page {} ({})", page.name, page.id);
    let tok = &page.access_token;
    out.extend(stored.and_then(|s| s.dead_token.clone()));
    // 1. The token.
    match graph.get("me", tok, &[("fields", "id,name")]).await {
        // Nothing can be checked without an answer from Meta; the token,
        // subscription and Instagram checks would each blame the page.
        Err(e) if e.is_network() => {
            out.push(Finding::fix(format!(
                "{who}: cannot reach the Graph API at {} ({}): check this machine's network, proxy and graph.base_url; the token, webhook subscription and Instagram access were not checked",
                config.graph.base_url,
                e.describe()
            )));
            return out;
        }
        Ok(v) => {
            let id = crate::meta::lenient::id(v.get("id")).unwrap_or_default();
            if id == page.id.as_str() {
                out.push(Finding::ok(format!("{who}: token works")));
            } else {
                out.push(Finding::fix(format!(
                    "{who}: the token belongs to {id} ({}), not this page: use a Page access token of this page in pages[{i}].access_token",
                    crate::meta::lenient::string(v.get("name")).unwrap_or_default()
                )));
            }
        }
        Err(e) if e.class == ErrorClass::TokenInvalid => {
            out.push(Finding::fix(format!("{who}: {} — generate a new Page access token and put it in pages[{i}].access_token", e.describe())));
            return out; // nothing else can be checked with it
        }
        Err(e) => out.push(Finding::fix(format!(
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
                None if apps.is_empty() => out.push(Finding::fix(format!("{who}: no app is subscribed to the page's webhooks, so no messages arrive; {how}"))),
                None => out.push(Finding::fix(format!(
                    "{who}: {} app(s) subscribed but not ours{}; {how}",
                    apps.len(),
                    config.server.app_id.as_ref().map(|a| format!(" ({a})")).unwrap_or_else(|| " (set server.app_id to check which)".into())
                ))),
                Some(app) => {
                    let have = field_names(app);
                    let missing: Vec<&str> = NEEDED_FIELDS.iter().copied().filter(|f| !have.iter().any(|h| h == f)).collect();
                    if missing.is_empty() {
                        out.push(Finding::ok(format!("{who}: webhook subscription has every field dmdesk needs")));
                    } else {
                        out.push(Finding::fix(format!("{who}: webhook subscription lacks {}; {how}", missing.join(", "))));
                    }
                    if apps.len() > 1 {
                        out.push(Finding::note(format!(
                            "{who}: {} other app(s) also receive this page's messages; one of them may own threads (handover protocol)",
                            apps.len() - 1
                        )));
                    }
                }
            }
        }
        Err(e) => out.push(Finding::fix(format!(
            "{who}: cannot read the webhook subscription: {}",
            e.describe()
        ))),
    }
    // 3. Instagram access through the page token.
    if let Some(ig) = &page.instagram_id {
        match graph.get(ig.as_str(), tok, &[("fields", "id,username")]).await {
            Ok(v) => out.push(Finding::ok(format!(
                "{who}: Instagram account {ig} (@{}) is reachable; its webhooks are the app's `instagram` object, field `messages`",
                crate::meta::lenient::string(v.get("username")).unwrap_or_default()
            ))),
            Err(e) => out.push(Finding::fix(format!(
                "{who}: Instagram account {ig} is not reachable with this token ({}); link it to the page and grant instagram_manage_messages",
                e.describe()
            ))),
        }
    }
    // 4. Threads owned by another app (standby).
    out.extend(stored.and_then(|s| s.standby.clone()));
    // 5. HUMAN_AGENT.
    if page.human_agent {
        out.push(Finding::note(format!(
            "{who}: human_agent = true: replies from 24 h up to 7 days after the customer's last message go out with the HUMAN_AGENT tag; Meta refuses them (e.g. 10/2018065, 200) unless the app's Human Agent permission is approved"
        )));
    } else {
        out.push(Finding::note(format!(
            "{who}: human_agent is off: 24 h after the customer's last message no reply can be sent until they write again (Meta retired the other tags in 2026); set human_agent = true once the app has Meta's Human Agent permission"
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
    let stored = match store {
        None => {
            out.push(Finding::note("the store is held by another dmdesk process (or its database is unreachable): dead-token marks and standby threads were not checked"));
            None
        }
        Some(db) => match store_checks(config, db).await {
            Ok(s) => {
                out.extend(s.store.iter().cloned());
                Some(s)
            }
            Err(e) => {
                out.push(Finding::fix(format!("cannot check the store: {e}")));
                None
            }
        },
    };
    for (i, page) in config.pages.iter().enumerate() {
        let stored = stored.as_ref().and_then(|s| s.page(&page.id));
        if page.is_instagram_login() {
            out.extend(check_instagram_login(stored, graph, page).await);
        } else {
            out.extend(check_page(config, stored, graph, i, page).await);
        }
    }
    out.extend(token_lives(config, graph).await);
    out
}

/// The store's part, asked of the inbox service (the store's checks are
/// its own), on a blocking thread.
async fn store_checks(config: &Config, db: &Db) -> Result<StoreChecks, String> {
    let jobs = tokio::sync::mpsc::unbounded_channel().0;
    let inbox = Inbox::new(db.clone(), jobs).with_config(Arc::new(config.clone()));
    let me = Caller {
        session: 0,
        agent: None,
    };
    match tokio::task::spawn_blocking(move || inbox.handle(&me, Request::StoreChecks))
        .await
        .map_err(|e| e.to_string())??
    {
        Reply::StoreChecks(s) => Ok(*s),
        _ => Err("the inbox answered the store checks with something else".into()),
    }
}

/// An `[[instagram]]` account: its token must be that account's, on the
/// Instagram host (it has no Page, subscription or Page permissions).
async fn check_instagram_login(
    stored: Option<&PageChecks>,
    graph: &GraphClient,
    page: &PageConfig,
) -> Vec<Finding> {
    let who = format!("instagram {} ({})", page.name, page.id);
    let mut out = Vec::new();
    out.extend(stored.and_then(|s| s.dead_token.clone()));
    out.push(match crate::tokens::check::instagram_login(graph, page).await {
        Ok(LoginCheck::Works(user)) => Finding::ok(format!(
            "{who}: the Instagram token works{}",
            user.map(|u| format!(" (@{u})")).unwrap_or_default()
        )),
        Ok(LoginCheck::OtherAccount(other)) => Finding::fix(format!(
            "{who}: the token belongs to Instagram account {other}, not {}: put this account's token in its block",
            page.id
        )),
        Err(e) if e.is_network() => Finding::fix(format!(
            "{who}: cannot reach the Instagram API ({}): check this machine's network, proxy and graph.instagram_base_url",
            e.describe()
        )),
        Err(e) => Finding::fix(format!("{who}: the Instagram token does not work: {}", e.describe())),
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
                return Finding::note(format!("{who}: {p}"));
            }
            if let Some(w) = life.warning(now) {
                return Finding::fix(w);
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
                Some(s) => Finding::ok(format!(
                    "{who} expires in {} day(s){renew}{scopes}",
                    s.div_euclid(86_400)
                )),
                None => Finding::ok(format!("{who} does not expire{scopes}")),
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
