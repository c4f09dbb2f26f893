//! Opening a link: the platform opener where the agent sits at the
//! machine's display, else the terminal's clipboard (OSC 52), because over
//! SSH `xdg-open` would open it on the server.

/// The program that opens a URL on this machine.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Opener {
    XdgOpen,
    MacOpen,
}

impl Opener {
    pub fn program(self) -> &'static str {
        match self {
            Self::XdgOpen => "xdg-open",
            Self::MacOpen => "open",
        }
    }
}

/// The opener to use, or None (copy instead). `os`: `std::env::consts::OS`.
/// An SSH session (`SSH_CONNECTION`/`SSH_TTY`) never opens locally: the
/// display would be the server's. On Linux and the BSDs a display must be
/// set (`DISPLAY` or `WAYLAND_DISPLAY`); macOS always has one.
pub fn choose(os: &str, var: &dyn Fn(&str) -> Option<String>) -> Option<Opener> {
    let set = |k: &str| var(k).is_some_and(|v| !v.is_empty());
    if set("SSH_CONNECTION") || set("SSH_TTY") || set("SSH_CLIENT") {
        return None;
    }
    match os {
        "macos" => Some(Opener::MacOpen),
        "linux" | "freebsd" | "openbsd" | "netbsd" | "dragonfly" => {
            (set("DISPLAY") || set("WAYLAND_DISPLAY")).then_some(Opener::XdgOpen)
        }
        _ => None,
    }
}

/// The first web link in `text` (what the open key opens in a message
/// with no attachment), trimmed of trailing punctuation.
pub fn first_link(text: &str) -> Option<&str> {
    links(text).next().map(|(s, e)| &text[s..e])
}

/// Byte ranges of the http(s) links in `text`.
pub fn links(text: &str) -> impl Iterator<Item = (usize, usize)> + '_ {
    let mut from = 0;
    std::iter::from_fn(move || {
        let rest = &text[from..];
        let at = ["https://", "http://"]
            .iter()
            .filter_map(|p| rest.find(p))
            .min()?;
        let start = from + at;
        let len = text[start..]
            .find(|c: char| c.is_whitespace() || matches!(c, '<' | '>' | '"'))
            .unwrap_or(text.len() - start);
        let mut end = start + len;
        while end > start && text[..end].ends_with(['.', ',', ';', ':', '!', '?', ')', '\'']) {
            end -= 1;
        }
        from = start + len.max(1);
        Some((start, end))
    })
}
