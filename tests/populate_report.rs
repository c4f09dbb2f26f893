//! A populated store has the team's history (recorded by the apply path),
//! so `dmdesk report` over it is not empty and its figures match what
//! `sim populate` did.

use assert_cmd::Command;
use dmdesk::cli::PopulateArgs;
use dmdesk::db::Db;
use dmdesk::sim::history::AGENTS;

#[test]
fn report_over_a_populated_store_counts_populates_replies() {
    let tmp = tempfile::tempdir().unwrap();
    let store = tmp.path().join("s");
    let args = PopulateArgs {
        conversations: 300,
        messages: 3000,
        store: store.clone(),
    };
    let pop = dmdesk::sim::populate(&args).unwrap();
    assert_eq!((pop.conversations, pop.messages), (300, 3000));
    assert!(pop.replies > 300, "replies made: {}", pop.replies);

    // Every reply was queued and sent: nothing left pending. The store's
    // flush thread lets go of the database a moment after the drop.
    let db = (0..50)
        .find_map(|_| {
            Db::open(&store, 16, "test").ok().or_else(|| {
                std::thread::sleep(std::time::Duration::from_millis(100));
                None
            })
        })
        .expect("store released within 5 s");
    assert!(db.outbox_pending().unwrap().is_empty());
    drop(db);

    let cfg = tmp.path().join("c.toml");
    std::fs::write(&cfg, format!("[store]\npath = {store:?}\n")).unwrap();
    let out = Command::cargo_bin("dmdesk")
        .unwrap()
        .env("XDG_CONFIG_HOME", "/nonexistent-dmdesk-test")
        .env("XDG_DATA_HOME", "/nonexistent-dmdesk-test")
        .arg("--config")
        .arg(&cfg)
        .args(["report", "--since", "60d", "--format", "json"])
        .timeout(std::time::Duration::from_secs(60))
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let r: serde_json::Value = serde_json::from_slice(&out).unwrap();
    let fig = |v: &serde_json::Value, k: &str| v[k].as_u64().unwrap_or_else(|| panic!("{k}: {v}"));
    let totals = &r["totals"];

    // The agents' replies are exactly the ones populate sent; the rest of
    // the replies came from the page inbox (no agent).
    let agents = r["agents"].as_array().unwrap();
    let by_agents: u64 = agents
        .iter()
        .filter(|a| !a["agent"].is_null())
        .map(|a| fig(a, "replies"))
        .sum();
    assert_eq!(by_agents, pop.replies, "{r}");
    assert!(agents
        .iter()
        .filter_map(|a| a["agent"].as_str())
        .all(|a| AGENTS.contains(&a)));
    let page_inbox = fig(totals, "replies") - by_agents;
    assert!(page_inbox > 0 && page_inbox < by_agents, "{page_inbox}");

    // Plausible figures: conversations opened and resolved (fewer than the
    // sessions), first responses measured and between a minute and a day.
    let opened = fig(totals, "opened");
    let resolved = fig(totals, "resolved");
    assert!(opened >= 270 && opened < fig(totals, "replies"), "{opened}");
    assert!(resolved > 0 && resolved <= opened + 270, "{resolved}");
    let first = &totals["first_response"];
    assert!(fig(first, "count") > 200, "{first}");
    let median = fig(first, "median_ms");
    assert!((60_000..=86_400_000).contains(&median), "{median}");
    // A tenth of the conversations predate the history.
    assert_eq!(fig(&r["coverage"], "predating"), 30, "{}", r["coverage"]);
}
