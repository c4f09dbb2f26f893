//! tmux for the end-to-end tests: one place decides whether they run, and
//! they run on a private tmux server (`tmux -L`), never the user's own.

use std::process::Command;

/// This test process's own tmux server (its socket name).
pub fn server() -> String {
    format!("dmdesk-test-{}", std::process::id())
}

/// `tmux -L <private server>`.
pub fn command() -> Command {
    let mut c = Command::new("tmux");
    c.args(["-L", &server()]);
    c
}

/// Whether a tmux test may run. Without tmux it says the test was skipped
/// and why, and returns false; under `CI=true` a missing tmux is a failure
/// (CI installs it, so the test must not pass by skipping there).
pub fn ready(test: &str) -> bool {
    let found = Command::new("tmux").arg("-V").output();
    let why = match found {
        Ok(out) if out.status.success() => return true,
        Ok(out) => format!(
            "`tmux -V` failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        ),
        Err(e) => format!("tmux not found: {e}"),
    };
    if std::env::var("CI").is_ok_and(|v| v == "true") {
        panic!("{test}: {why} (CI=true requires tmux)");
    }
    // Straight to stderr, past the test harness's capture: a skip must show.
    use std::io::Write;
    let _ = writeln!(
        std::io::stderr(),
        "SKIPPED {test}: {why}; install tmux to run it"
    );
    false
}
