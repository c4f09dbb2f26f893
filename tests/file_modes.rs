//! Files are private: the store directory is 0700 and its files 0600
//! (0750/0640 when shared with a group), an existing open store is fixed at
//! start with a notice, and a config file holding secrets that others can
//! read gets a warning.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Command;

fn mode(p: &Path) -> u32 {
    std::fs::symlink_metadata(p).unwrap().permissions().mode() & 0o7777
}

/// Every directory and regular file under `dir` (itself included).
fn walk(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = vec![dir.to_path_buf()];
    let mut i = 0;
    while i < out.len() {
        let p = out[i].clone();
        if std::fs::symlink_metadata(&p).unwrap().is_dir() {
            for e in std::fs::read_dir(&p).unwrap() {
                out.push(e.unwrap().path());
            }
        }
        i += 1;
    }
    out
}

fn assert_modes(dir: &Path, dir_mode: u32, file_mode: u32) {
    let all = walk(dir);
    assert!(all.len() > 2, "the store has files: {all:?}");
    for p in all {
        let meta = std::fs::symlink_metadata(&p).unwrap();
        if meta.is_dir() {
            assert_eq!(mode(&p), dir_mode, "{}", p.display());
        } else if meta.is_file() {
            assert_eq!(mode(&p), file_mode, "{}", p.display());
        }
    }
}

#[test]
fn a_new_store_is_private() {
    let tmp = tempfile::tempdir().unwrap();
    // Parents that do not exist yet are created private too.
    let path = tmp.path().join("data/dmdesk/store");
    let db = dmdesk::db::Db::open(&path, 8, "test").unwrap();
    assert_modes(&path, 0o700, 0o600);
    assert_eq!(mode(&tmp.path().join("data/dmdesk")), 0o700);
    assert!(path.join("db").is_file(), "sled's db file is checked");
    drop(db);
}

#[test]
fn shared_with_a_group_the_modes_are_0750_and_0640() {
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("store");
    std::fs::create_dir(&path).unwrap();
    std::fs::write(path.join("db"), b"x").unwrap();
    std::fs::create_dir(path.join("blobs")).unwrap();
    std::fs::write(path.join("blobs/1"), b"x").unwrap();
    let gid = nix::unistd::getegid().as_raw();
    dmdesk::store::embedded::fix_modes(&path, Some(gid)).unwrap();
    assert_modes(&path, 0o750, 0o640);
    dmdesk::store::embedded::fix_modes(&path, None).unwrap();
    assert_modes(&path, 0o700, 0o600);
}

fn write_config(dir: &Path, file_mode: u32) -> std::path::PathBuf {
    let cfg = dir.join("c.toml");
    std::fs::write(
        &cfg,
        format!(
            "[server]\napp_secret = \"s3\"\nverify_token = \"v\"\n[store]\npath = {:?}\n",
            dir.join("store")
        ),
    )
    .unwrap();
    std::fs::set_permissions(&cfg, std::fs::Permissions::from_mode(file_mode)).unwrap();
    cfg
}

fn export(cfg: &Path) -> (bool, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_dmdesk"))
        .args([
            "--config",
            cfg.to_str().unwrap(),
            "export",
            "--what",
            "events",
        ])
        .env("DMDESK_LOG", "warn")
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn an_existing_open_store_is_fixed_at_start_with_a_notice() {
    let tmp = tempfile::tempdir().unwrap();
    let cfg = write_config(tmp.path(), 0o600);
    let store = tmp.path().join("store");
    let (ok, err) = export(&cfg);
    assert!(ok, "{err}");
    assert!(
        !err.contains("too open"),
        "a new store needs no fixing: {err}"
    );
    // As older versions left it.
    std::fs::set_permissions(&store, std::fs::Permissions::from_mode(0o755)).unwrap();
    std::fs::set_permissions(store.join("db"), std::fs::Permissions::from_mode(0o644)).unwrap();
    let (ok, err) = export(&cfg);
    assert!(ok, "{err}");
    assert!(
        err.contains("store permissions were too open; fixed"),
        "{err}"
    );
    assert_modes(&store, 0o700, 0o600);
}

#[test]
fn a_config_with_secrets_readable_by_others_gets_a_warning() {
    let tmp = tempfile::tempdir().unwrap();
    let cfg = write_config(tmp.path(), 0o644);
    let (ok, err) = export(&cfg);
    assert!(ok, "{err}");
    assert!(
        err.contains("holds a secret (server.app_secret) and other users can read it (mode 644)"),
        "{err}"
    );
    std::fs::set_permissions(&cfg, std::fs::Permissions::from_mode(0o600)).unwrap();
    let (ok, err) = export(&cfg);
    assert!(ok, "{err}");
    assert!(!err.contains("other users can read"), "{err}");
    // Without secrets in the file (they come from the environment): no warning.
    std::fs::write(
        &cfg,
        format!("[store]\npath = {:?}\n", tmp.path().join("store")),
    )
    .unwrap();
    std::fs::set_permissions(&cfg, std::fs::Permissions::from_mode(0o644)).unwrap();
    let (ok, err) = export(&cfg);
    assert!(ok, "{err}");
    assert!(!err.contains("other users can read"), "{err}");
}
