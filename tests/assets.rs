//! The files in assets/ and the README that points to them agree: every
//! file is named in the README, every assets/ path the README names exists,
//! and the recipes point at what the example config sets up.

use std::path::Path;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn read(rel: &str) -> String {
    std::fs::read_to_string(root().join(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

#[test]
fn every_asset_is_in_the_readme_and_every_named_asset_exists() {
    let readme = read("README.md");
    let mut files: Vec<String> = std::fs::read_dir(root().join("assets"))
        .expect("assets/")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    files.sort();
    assert!(files.len() >= 4, "{files:?}");
    for f in &files {
        assert!(
            readme.contains(&format!("assets/{f}")),
            "README does not name assets/{f}"
        );
    }
    for (i, _) in readme.match_indices("assets/") {
        let name: String = readme[i + "assets/".len()..]
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || "._-".contains(*c))
            .collect();
        let name = name.trim_end_matches('.');
        assert!(
            files.iter().any(|f| f == name),
            "README names assets/{name}, which does not exist"
        );
    }
}

#[test]
fn the_unit_is_hardened_and_runs_serve_with_the_config_it_names() {
    let unit = read("assets/dmdesk.service");
    for directive in [
        "ExecStart=/usr/local/bin/dmdesk --config /etc/dmdesk/config.toml serve",
        "Restart=on-failure",
        "NoNewPrivileges=yes",
        "ProtectSystem=strict",
        "StateDirectory=dmdesk",
        "ConfigurationDirectory=dmdesk",
        "EnvironmentFile=/etc/dmdesk/secrets.env",
        "KillSignal=SIGTERM",
    ] {
        assert!(unit.contains(directive), "dmdesk.service lacks {directive}");
    }
    // The webhook server caps connections at a quarter of the descriptor
    // limit and at most 1,024: the unit's limit must leave room above that.
    let limit: u64 = unit
        .lines()
        .find_map(|l| l.strip_prefix("LimitNOFILE="))
        .expect("LimitNOFILE")
        .trim()
        .parse()
        .expect("a number");
    assert!(limit >= 4 * 1024, "LimitNOFILE={limit}");
    // The secrets file it reads names the variables dmdesk reads.
    let env = read("assets/secrets.env.example");
    for var in ["DMDESK_APP_SECRET=", "DMDESK_VERIFY_TOKEN="] {
        assert!(env.contains(var), "{var}");
    }
}

#[test]
fn the_proxies_forward_the_webhook_path_to_the_default_listen_address() {
    let example = read("config.example.toml");
    let listen = example
        .lines()
        .find_map(|l| l.trim().strip_prefix("listen = "))
        .expect("listen in config.example.toml")
        .trim_matches('"');
    let path = example
        .lines()
        .find_map(|l| l.trim().strip_prefix("path = \"/"))
        .map(|p| format!("/{}", p.trim_end_matches('"')))
        .expect("path in config.example.toml");
    let caddy = read("assets/Caddyfile");
    assert!(
        caddy.contains(&format!("reverse_proxy {path} {listen}")),
        "Caddyfile: {caddy}"
    );
    let nginx = read("assets/nginx.conf");
    assert!(nginx.contains(&format!("location {path} {{")), "{nginx}");
    assert!(
        nginx.contains(&format!("proxy_pass http://{listen};")),
        "{nginx}"
    );
    // Files sent to Instagram by URL are served under /media/ (src/webhook).
    assert!(
        caddy.contains(&format!("reverse_proxy /media/* {listen}")),
        "Caddyfile: {caddy}"
    );
    assert!(nginx.contains("location /media/ {"), "{nginx}");
}

#[test]
fn the_example_canned_replies_load_as_config() {
    let text = read("assets/canned-replies.toml");
    // The file is meant to be appended to a config: alone it is one.
    let cfg = dmdesk::config::Config::from_toml(&text, &|_| None)
        .unwrap_or_else(|e| panic!("assets/canned-replies.toml: {e}"));
    assert!(cfg.canned.len() >= 6, "{} replies", cfg.canned.len());
    let mut names: Vec<&str> = cfg.canned.iter().map(|c| c.name.as_str()).collect();
    names.sort();
    names.dedup();
    assert_eq!(names.len(), cfg.canned.len(), "names are unique");
}
