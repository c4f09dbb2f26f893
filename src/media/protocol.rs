//! Which way the terminal can draw pictures, decided at start from the
//! environment and `[ui] pictures`. A pure function of its inputs, so the
//! rules are tested without a terminal.

use serde::Deserialize;

/// `[ui] pictures`: detect, force a protocol, or turn pictures off.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PicturesSetting {
    #[default]
    Auto,
    Kitty,
    Sixel,
    Iterm2,
    Halfblocks,
    Off,
}

/// How pictures are drawn in this terminal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PictureMode {
    Kitty,
    Sixel,
    Iterm2,
    /// Upper-half-block characters in colour: works in any colour terminal.
    Halfblocks,
    /// Plain text: the attachment's line only.
    Off,
}

impl PictureMode {
    /// A graphics protocol (needs the font's cell size and, in tmux, passthrough).
    pub fn is_graphics(self) -> bool {
        matches!(self, Self::Kitty | Self::Sixel | Self::Iterm2)
    }
}

/// What the environment says, read once at start. `tmux_passthrough`:
/// tmux's `allow-passthrough` (None when not in tmux or unknown).
pub struct Env<'a> {
    pub var: &'a dyn Fn(&str) -> Option<String>,
    pub tmux_passthrough: Option<bool>,
}

/// The picture mode for this terminal.
///
/// - `off`, `TERM=dumb`, and `NO_COLOR` with `auto` give plain text (a
///   forced protocol wins over NO_COLOR: the agent asked for it).
/// - A forced protocol is used as asked, except that kitty/sixel/iTerm2
///   inside tmux without `allow-passthrough` fall back to half-blocks
///   (tmux would drop their escapes).
/// - `auto` recognises kitty-graphics terminals (kitty, Ghostty), iTerm2's
///   protocol (iTerm2, WezTerm, VS Code, mintty, Tabby, Rio, Warp), sixel
///   terminals (foot, mlterm, Contour, Konsole, Black Box), else half-blocks.
pub fn detect(setting: PicturesSetting, env: &Env) -> PictureMode {
    let var = |k: &str| (env.var)(k).filter(|v| !v.is_empty());
    let term = var("TERM").unwrap_or_default();
    if setting == PicturesSetting::Off || term == "dumb" {
        return PictureMode::Off;
    }
    let wanted = match setting {
        PicturesSetting::Off => return PictureMode::Off,
        PicturesSetting::Halfblocks => return PictureMode::Halfblocks,
        PicturesSetting::Kitty => PictureMode::Kitty,
        PicturesSetting::Sixel => PictureMode::Sixel,
        PicturesSetting::Iterm2 => PictureMode::Iterm2,
        PicturesSetting::Auto => {
            if var("NO_COLOR").is_some() {
                return PictureMode::Off;
            }
            from_terminal(&var, &term)
        }
    };
    let in_tmux = var("TMUX").is_some() || term.starts_with("tmux");
    if wanted.is_graphics() && in_tmux && env.tmux_passthrough != Some(true) {
        return PictureMode::Halfblocks;
    }
    wanted
}

fn from_terminal(var: &dyn Fn(&str) -> Option<String>, term: &str) -> PictureMode {
    let program = var("TERM_PROGRAM").unwrap_or_default().to_lowercase();
    let lc_terminal = var("LC_TERMINAL").unwrap_or_default().to_lowercase();
    if var("KITTY_WINDOW_ID").is_some()
        || term == "xterm-kitty"
        || term == "xterm-ghostty"
        || program == "ghostty"
    {
        return PictureMode::Kitty;
    }
    const ITERM2: [&str; 8] = [
        "iterm",
        "wezterm",
        "vscode",
        "mintty",
        "tabby",
        "rio",
        "warpterminal",
        "hyper",
    ];
    if ITERM2.iter().any(|p| program.contains(p)) || lc_terminal.contains("iterm") {
        return PictureMode::Iterm2;
    }
    if term.starts_with("foot")
        || term.starts_with("mlterm")
        || term.starts_with("contour")
        || program.contains("contour")
        || var("KONSOLE_VERSION").is_some()
        || program.contains("blackbox")
    {
        return PictureMode::Sixel;
    }
    PictureMode::Halfblocks
}
