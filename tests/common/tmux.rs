//! tmux for the end-to-end tests: one place decides whether they run, and
//! each session runs on its own private tmux server (`tmux -L`, no user
//! config), never the user's own.

use std::process::{Command, Output};
use std::time::{Duration, Instant};

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

/// One detached session on a private tmux server; dropping it kills the
/// session (and with it that server).
pub struct Session {
    socket: String,
    name: String,
}

impl Session {
    /// A detached `cols`x`rows` session running `shell_cmd` in a plain bash.
    pub fn start(tag: &str, (cols, rows): (u16, u16), shell_cmd: &str) -> Session {
        let s = Session {
            socket: format!("dmdesk-test-{tag}-{}", std::process::id()),
            name: format!("dmdesk-{tag}"),
        };
        let (cols, rows) = (cols.to_string(), rows.to_string());
        let out = Command::new("tmux")
            .args(["-L", &s.socket, "-f", "/dev/null", "new-session", "-d"])
            .args(["-s", &s.name, "-x", &cols, "-y", &rows])
            .args(["bash", "--norc", "--noprofile", "-c", shell_cmd])
            .output()
            .expect("tmux available");
        assert!(out.status.success(), "tmux new-session: {out:?}");
        // Escape reaches the program at once instead of after tmux's
        // default 500 ms wait for a following key.
        s.tmux(&["set-option", "-s", "escape-time", "0"]);
        s
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// Any tmux command on this session's server.
    pub fn tmux(&self, args: &[&str]) -> Output {
        Command::new("tmux")
            .args(["-L", &self.socket])
            .args(args)
            .output()
            .expect("tmux runs (CI installs it)")
    }

    /// A tmux format string evaluated for this session (`#{alternate_on}`).
    pub fn display(&self, format: &str) -> String {
        let out = self.tmux(&["display-message", "-p", "-t", &self.name, format]);
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    }

    /// The screen as text.
    pub fn capture(&self) -> String {
        let out = self.tmux(&["capture-pane", "-p", "-t", &self.name]);
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// The screen with its colours and attributes as escape sequences.
    pub fn capture_ansi(&self) -> String {
        let out = self.tmux(&["capture-pane", "-p", "-e", "-t", &self.name]);
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Keys by tmux name (`Enter`, `Escape`, `C-s`, or literal words).
    pub fn keys(&self, keys: &[&str]) {
        let mut args = vec!["send-keys", "-t", self.name.as_str()];
        args.extend_from_slice(keys);
        self.tmux(&args);
    }

    /// Text typed literally.
    pub fn text(&self, text: &str) {
        self.tmux(&["send-keys", "-t", &self.name, "-l", text]);
    }

    /// Poll the screen until `pred` holds (bounded; the failure names what
    /// was awaited and shows the screen).
    pub fn wait_for(&self, what: &str, pred: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let screen = self.capture();
            if pred(&screen) {
                return screen;
            }
            assert!(
                Instant::now() < deadline,
                "timed out waiting for {what}; screen:\n{screen}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        // Only our session; the private server exits with its last session.
        let _ = self.tmux(&["kill-session", "-t", &self.name]);
    }
}
