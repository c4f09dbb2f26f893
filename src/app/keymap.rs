//! Keys are data: each action has a name, compiled-in defaults, and the user's
//! `[ui.keys]` entries replace an action's defaults. One table says what a
//! key does in each place (list and thread, reply, note), so a key is looked
//! up once: a user's binding wins over any default, and two of the user's
//! on one key in one place are a configuration error. The help overlay is
//! built from the same table, so help and behaviour cannot drift.

use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use std::collections::{BTreeMap, HashMap};

macro_rules! actions {
    ($( $v:ident = $name:literal, $help:literal, [$($k:literal),*]; )*) => {
        /// Everything a key can do.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum Action { $($v),* }

        impl Action {
            pub const ALL: &'static [Action] = &[$(Action::$v),*];
            pub fn name(self) -> &'static str {
                match self { $(Action::$v => $name),* }
            }
            pub fn help(self) -> &'static str {
                match self { $(Action::$v => $help),* }
            }
            pub fn defaults(self) -> &'static [&'static str] {
                match self { $(Action::$v => &[$($k),*]),* }
            }
            pub fn parse(name: &str) -> Option<Action> {
                match name { $($name => Some(Action::$v),)* _ => None }
            }
        }
    };
}

actions! {
    Quit = "quit", "quit", ["q", "ctrl-c"];
    Down = "down", "next row or message", ["j", "down"];
    Up = "up", "previous row/message", ["k", "up"];
    Open = "open", "open conversation", ["enter", "l", "right"];
    Back = "back", "back / close popup", ["esc", "h", "left"];
    Compose = "compose", "focus composer", ["i", "tab"];
    Help = "help", "this help", ["?"];
    Search = "search", "search name or preview", ["/"];
    SearchMessages = "search_messages", "search all messages", ["ctrl-f"];
    FilterUnread = "filter_unread", "filter: unread only", ["u"];
    FilterPlatform = "filter_platform", "filter: platform (cycle)", ["p"];
    FilterWindow = "filter_window", "filter: window open", ["w"];
    View = "view", "switch view (open, …)", ["f"];
    ClearFilter = "clear_filter", "clear all filters", ["c"];
    MarkRead = "mark_read", "mark read", ["r"];
    MarkUnread = "mark_unread", "mark unread", ["R"];
    Status = "status", "set status / snooze", ["s"];
    Editor = "editor", "compose in $EDITOR", ["e", "ctrl-e"];
    Sync = "sync", "sync now", ["S"];
    Mark = "mark", "mark for bulk send", ["space"];
    MarkAll = "mark_all", "mark the shown rows", ["a"];
    MarkMatching = "mark_matching", "mark all matching", ["A"];
    UnmarkAll = "unmark_all", "unmark all", ["U"];
    Bulk = "bulk", "bulk send to marked", ["B"];
    CancelCampaign = "cancel_campaign", "cancel a running campaign…", ["C"];
    PageUp = "page_up", "list/thread page up", ["pgup", "ctrl-u"];
    PageDown = "page_down", "list/thread page down", ["pgdn", "ctrl-d"];
    Top = "top", "first row / oldest msg", ["g", "home"];
    Bottom = "bottom", "last row / newest msg", ["G", "end"];
    Retry = "retry", "retry failed send", ["t"];
    Urgent = "urgent", "jump to most urgent", ["!"];
    Copy = "copy", "copy selected message", ["y"];
    OpenLink = "open_link", "open link/attachment", ["o"];
    Notices = "notices", "notices log, in full", ["L"];
    Report = "report", "team report (7 days)", ["D"];
    Take = "take", "take: assign to me", ["T"];
    Assign = "assign", "assign to an agent…", ["@"];
    Unassign = "unassign", "unassign", ["X"];
    AssigneeView = "assignee_view", "whose: mine/none/all", ["m"];
    FilterLabel = "filter_label", "filter: label…", ["#"];
    Label = "label", "add/remove a label…", ["+"];
    Priority = "priority", "set priority…", ["P"];
    Sort = "sort", "toggle priority sort", ["O"];
    Note = "note", "write a private note", ["n"];
    Send = "send", "composer: send", ["enter"];
    Newline = "newline", "composer: new line", ["alt-enter"];
    Canned = "canned", "composer: canned reply", ["ctrl-r"];
    ToggleTag = "toggle_tag", "composer: HUMAN_AGENT tag", ["ctrl-t"];
    Undo = "undo", "composer: undo", ["ctrl-z"];
    Redo = "redo", "composer: redo", ["alt-z"];
    ClearText = "clear_text", "composer: clear (undo restores)", ["ctrl-l"];
    Attach = "attach", "composer: attach a file…", ["ctrl-o"];
    Mention = "mention", "composer: complete @name (note)", ["tab"];
}

/// Where a key is looked up: each place has its own keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Scope {
    /// The list and the thread (no popup open).
    Main,
    /// The composer writing a reply.
    Reply,
    /// The composer writing a private note.
    Note,
}

impl Action {
    /// Actions only the composer takes (the help shows them on its page).
    pub fn composer_only(self) -> bool {
        !self.scopes().contains(&Scope::Main)
    }

    /// Where this action's keys act.
    pub fn scopes(self) -> &'static [Scope] {
        use Action::*;
        match self {
            Send | Newline | Canned | ToggleTag | Undo | Redo | ClearText => {
                &[Scope::Reply, Scope::Note]
            }
            Mention => &[Scope::Note],
            Attach => &[Scope::Reply],
            Quit | Back | Compose | Editor | PageUp | PageDown => {
                &[Scope::Main, Scope::Reply, Scope::Note]
            }
            _ => &[Scope::Main],
        }
    }
}

/// The composer's own editing keys (ratatui-textarea's defaults that no
/// action above takes from it), for the help overlay. Not configurable.
pub const TEXT_KEYS: &[(&str, &str)] = &[
    ("←/→, ↑/↓", "move by character / line"),
    ("alt-b/f, ctrl-←/→", "move by word"),
    ("home/ctrl-a, end", "start / end of line"),
    ("alt-< / alt->", "first / last line"),
    ("⌫/ctrl-h, del", "delete character"),
    ("ctrl-w, alt-⌫", "delete word before"),
    ("alt-d, alt-del", "delete word after"),
    ("ctrl-k / ctrl-j", "delete to end / start"),
    ("ctrl-y", "paste what was deleted"),
];

/// One key chord.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct KeySpec {
    pub code: KeyCode,
    pub ctrl: bool,
    pub alt: bool,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum KeymapError {
    #[error("ui.keys: unknown action `{0}`")]
    UnknownAction(String),
    #[error("ui.keys.{action}: cannot read key `{key}`")]
    BadKey { action: String, key: String },
    #[error("ui.keys.{action}: key `{key}` is also bound to ui.keys.{other}; give one of them another key")]
    Conflict {
        action: String,
        key: String,
        other: String,
    },
}

impl KeySpec {
    /// "ctrl-d", "alt-enter", "g", "G", "pgup", "space", "f5".
    pub fn parse(s: &str) -> Option<KeySpec> {
        let mut ctrl = false;
        let mut alt = false;
        let mut shift = false;
        let mut rest = s;
        loop {
            let lower = rest.to_ascii_lowercase();
            if let Some(r) = lower
                .strip_prefix("ctrl-")
                .or_else(|| lower.strip_prefix("c-"))
            {
                ctrl = true;
                rest = &rest[rest.len() - r.len()..];
            } else if let Some(r) = lower
                .strip_prefix("alt-")
                .or_else(|| lower.strip_prefix("m-"))
            {
                alt = true;
                rest = &rest[rest.len() - r.len()..];
            } else if let Some(r) = lower.strip_prefix("shift-") {
                shift = true;
                rest = &rest[rest.len() - r.len()..];
            } else {
                break;
            }
        }
        let code = match rest.to_ascii_lowercase().as_str() {
            "enter" | "return" => KeyCode::Enter,
            "esc" | "escape" => KeyCode::Esc,
            "tab" => KeyCode::Tab,
            "backtab" => KeyCode::BackTab,
            "space" => KeyCode::Char(' '),
            "up" => KeyCode::Up,
            "down" => KeyCode::Down,
            "left" => KeyCode::Left,
            "right" => KeyCode::Right,
            "pgup" | "pageup" => KeyCode::PageUp,
            "pgdn" | "pagedown" => KeyCode::PageDown,
            "home" => KeyCode::Home,
            "end" => KeyCode::End,
            "backspace" => KeyCode::Backspace,
            "delete" | "del" => KeyCode::Delete,
            f if f.len() > 1 && f.starts_with('f') && f[1..].parse::<u8>().is_ok() => {
                KeyCode::F(f[1..].parse().ok()?)
            }
            _ => {
                let mut chars = rest.chars();
                let c = chars.next()?;
                if chars.next().is_some() {
                    return None;
                }
                let c = if shift { c.to_ascii_uppercase() } else { c };
                let c = if ctrl { c.to_ascii_lowercase() } else { c };
                KeyCode::Char(c)
            }
        };
        // Shift on a named key is not distinguishable on many terminals;
        // "shift-enter" is kept as written for terminals that report it.
        let alt = alt || (shift && code == KeyCode::Enter);
        Some(KeySpec { code, ctrl, alt })
    }

    pub fn of(k: &KeyEvent) -> KeySpec {
        let code = match k.code {
            KeyCode::Char(c) if k.modifiers.contains(KeyModifiers::CONTROL) => {
                KeyCode::Char(c.to_ascii_lowercase())
            }
            c => c,
        };
        KeySpec {
            code,
            ctrl: k.modifiers.contains(KeyModifiers::CONTROL),
            alt: k.modifiers.contains(KeyModifiers::ALT)
                || (k.code == KeyCode::Enter && k.modifiers.contains(KeyModifiers::SHIFT)),
        }
    }

    pub fn label(&self) -> String {
        let mut s = String::new();
        if self.ctrl {
            s.push_str("ctrl-");
        }
        if self.alt {
            s.push_str("alt-");
        }
        match self.code {
            KeyCode::Char(' ') => s.push_str("space"),
            KeyCode::Char(c) => s.push(c),
            KeyCode::Enter => s.push_str("enter"),
            KeyCode::Esc => s.push_str("esc"),
            KeyCode::Tab => s.push_str("tab"),
            KeyCode::Up => s.push('↑'),
            KeyCode::Down => s.push('↓'),
            KeyCode::Left => s.push('←'),
            KeyCode::Right => s.push('→'),
            KeyCode::PageUp => s.push_str("pgup"),
            KeyCode::PageDown => s.push_str("pgdn"),
            KeyCode::Home => s.push_str("home"),
            KeyCode::End => s.push_str("end"),
            KeyCode::F(n) => s.push_str(&format!("f{n}")),
            other => s.push_str(&format!("{other:?}").to_lowercase()),
        }
        s
    }
}

/// Which keys do what.
#[derive(Debug, Clone)]
pub struct Keymap {
    /// The one table: what a key does in each place.
    table: HashMap<(Scope, KeySpec), Action>,
    /// Each action's keys that reach it somewhere, in the order written
    /// (help and hints).
    bindings: BTreeMap<Action, Vec<KeySpec>>,
}

impl Default for Keymap {
    fn default() -> Self {
        Keymap::build(&BTreeMap::new()).expect("the defaults bind no key twice")
    }
}

fn default_keys(a: Action) -> Vec<KeySpec> {
    a.defaults()
        .iter()
        .filter_map(|k| KeySpec::parse(k))
        .collect()
}

/// Action names older configs used, still read: `f` cycled a status filter
/// before it switched views.
fn renamed(name: &str) -> Option<Action> {
    match name {
        "filter_status" => Some(Action::View),
        _ => None,
    }
}

impl Keymap {
    /// Defaults with the user's entries replacing whole actions.
    pub fn with_overrides(user: &BTreeMap<String, Vec<String>>) -> Result<Keymap, KeymapError> {
        let mut bound: BTreeMap<Action, (String, Vec<KeySpec>)> = BTreeMap::new();
        for (name, keys) in user {
            let action = Action::parse(name)
                .or_else(|| renamed(name))
                .ok_or_else(|| KeymapError::UnknownAction(name.clone()))?;
            let specs = keys
                .iter()
                .map(|k| {
                    KeySpec::parse(k).ok_or_else(|| KeymapError::BadKey {
                        action: name.clone(),
                        key: k.clone(),
                    })
                })
                .collect::<Result<Vec<_>, _>>()?;
            // An old name and its new one together: both lists count.
            let entry = bound
                .entry(action)
                .or_insert_with(|| (name.clone(), Vec::new()));
            entry.1.extend(specs);
        }
        Keymap::build(&bound)
    }

    /// The table from the defaults and the user's bindings (action → its
    /// config name and keys).
    fn build(user: &BTreeMap<Action, (String, Vec<KeySpec>)>) -> Result<Keymap, KeymapError> {
        let mut table = HashMap::new();
        // Defaults, the narrower an action's places the later, so that in
        // a note its own key (tab: complete a name) beats the composer's.
        let mut defaults: Vec<Action> = Action::ALL
            .iter()
            .copied()
            .filter(|a| !user.contains_key(a))
            .collect();
        defaults.sort_by_key(|a| std::cmp::Reverse(a.scopes().len()));
        for a in defaults {
            for k in default_keys(a) {
                for sc in a.scopes() {
                    table.insert((*sc, k), a);
                }
            }
        }
        // The user's bindings win over any default.
        let mut claimed: HashMap<(Scope, KeySpec), &str> = HashMap::new();
        for (a, (name, keys)) in user {
            for k in keys {
                for sc in a.scopes() {
                    match claimed.insert((*sc, *k), name) {
                        Some(other) if other != name => {
                            return Err(KeymapError::Conflict {
                                action: name.clone(),
                                key: k.label(),
                                other: other.to_string(),
                            })
                        }
                        _ => {}
                    }
                    table.insert((*sc, *k), *a);
                }
            }
        }
        let bindings = Action::ALL
            .iter()
            .map(|a| {
                let listed = match user.get(a) {
                    Some((_, keys)) => keys.clone(),
                    None => default_keys(*a),
                };
                let reach =
                    |k: &KeySpec| a.scopes().iter().any(|sc| table.get(&(*sc, *k)) == Some(a));
                let mut keys: Vec<KeySpec> = Vec::new();
                for k in listed.into_iter().filter(reach) {
                    if !keys.contains(&k) {
                        keys.push(k);
                    }
                }
                (*a, keys)
            })
            .collect();
        Ok(Keymap { table, bindings })
    }

    /// What this key does here: one lookup.
    pub fn action(&self, scope: Scope, k: &KeyEvent) -> Option<Action> {
        self.table.get(&(scope, KeySpec::of(k))).copied()
    }

    pub fn keys(&self, a: Action) -> &[KeySpec] {
        self.bindings.get(&a).map(Vec::as_slice).unwrap_or(&[])
    }

    /// "j/↓" for help and hints.
    pub fn label(&self, a: Action) -> String {
        self.keys(a)
            .iter()
            .map(KeySpec::label)
            .collect::<Vec<_>>()
            .join("/")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_key_strings() {
        assert_eq!(
            KeySpec::parse("ctrl-d"),
            Some(KeySpec {
                code: KeyCode::Char('d'),
                ctrl: true,
                alt: false
            })
        );
        assert_eq!(
            KeySpec::parse("G").map(|k| k.code),
            Some(KeyCode::Char('G'))
        );
        assert_eq!(
            KeySpec::parse("pgup").map(|k| k.code),
            Some(KeyCode::PageUp)
        );
        assert_eq!(
            KeySpec::parse("alt-enter"),
            Some(KeySpec {
                code: KeyCode::Enter,
                ctrl: false,
                alt: true
            })
        );
        assert_eq!(KeySpec::parse("f5").map(|k| k.code), Some(KeyCode::F(5)));
        assert_eq!(KeySpec::parse("nonsense"), None);
    }

    fn user(entries: &[(&str, &str)]) -> BTreeMap<String, Vec<String>> {
        let mut m: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for (a, k) in entries {
            m.entry(a.to_string()).or_default().push(k.to_string());
        }
        m
    }

    fn press(spec: &str) -> KeyEvent {
        let k = KeySpec::parse(spec).unwrap();
        let mut m = KeyModifiers::NONE;
        if k.ctrl {
            m |= KeyModifiers::CONTROL;
        }
        if k.alt {
            m |= KeyModifiers::ALT;
        }
        KeyEvent::new(k.code, m)
    }

    #[test]
    fn user_entries_replace_defaults() {
        let km = Keymap::with_overrides(&user(&[("quit", "ctrl-q")])).unwrap();
        assert_eq!(km.action(Scope::Main, &press("q")), None);
        assert_eq!(km.action(Scope::Main, &press("ctrl-q")), Some(Action::Quit));
        // Others keep their defaults.
        assert_eq!(km.action(Scope::Main, &press("j")), Some(Action::Down));
    }

    #[test]
    fn a_user_binding_wins_over_any_default() {
        // T is take's by default: bound to sync, T syncs, and take has no
        // key left (help shows none); S no longer syncs.
        let km = Keymap::with_overrides(&user(&[("sync", "T")])).unwrap();
        assert_eq!(km.action(Scope::Main, &press("T")), Some(Action::Sync));
        assert_eq!(km.action(Scope::Main, &press("S")), None);
        assert!(km.keys(Action::Take).is_empty());
        assert_eq!(km.label(Action::Sync), "T");
        // Over a default in one place only: enter sends in the composer,
        // and opens in the list as before.
        let km = Keymap::with_overrides(&user(&[("newline", "enter")])).unwrap();
        assert_eq!(
            km.action(Scope::Reply, &press("enter")),
            Some(Action::Newline)
        );
        assert_eq!(
            km.action(Scope::Note, &press("enter")),
            Some(Action::Newline)
        );
        assert_eq!(km.action(Scope::Main, &press("enter")), Some(Action::Open));
        assert!(km.keys(Action::Send).is_empty());
    }

    #[test]
    fn two_user_bindings_on_one_key_in_one_place_are_an_error_naming_both() {
        let e = Keymap::with_overrides(&user(&[("sync", "x"), ("take", "x")])).unwrap_err();
        assert_eq!(
            e.to_string(),
            "ui.keys.take: key `x` is also bound to ui.keys.sync; give one of them another key"
        );
        // One key in two places is no conflict: the composer's and the list's.
        let km = Keymap::with_overrides(&user(&[("send", "ctrl-s"), ("sync", "ctrl-s")])).unwrap();
        assert_eq!(
            km.action(Scope::Reply, &press("ctrl-s")),
            Some(Action::Send)
        );
        assert_eq!(km.action(Scope::Main, &press("ctrl-s")), Some(Action::Sync));
        // Quit and back act in the list and the composer alike.
        let e = Keymap::with_overrides(&user(&[("quit", "ctrl-x"), ("clear_text", "ctrl-x")]));
        assert!(matches!(e, Err(KeymapError::Conflict { .. })), "{e:?}");
    }

    #[test]
    fn every_default_key_reaches_its_action_except_tab_in_a_note() {
        let km = Keymap::default();
        for a in Action::ALL {
            for k in a.defaults() {
                for sc in a.scopes() {
                    let got = km.action(*sc, &press(k));
                    let expect = match (a, *k, sc) {
                        (Action::Compose, "tab", Scope::Note) => Action::Mention,
                        _ => *a,
                    };
                    assert_eq!(got, Some(expect), "{k} in {sc:?}");
                }
            }
        }
        assert_eq!(km.label(Action::Compose), "i/tab");
    }

    #[test]
    fn unknown_action_or_key_is_an_error() {
        let mut user = BTreeMap::new();
        user.insert("fly".to_string(), vec!["x".to_string()]);
        assert!(matches!(
            Keymap::with_overrides(&user),
            Err(KeymapError::UnknownAction(_))
        ));
        let mut user = BTreeMap::new();
        user.insert("quit".to_string(), vec!["hyper-x-y".to_string()]);
        assert!(matches!(
            Keymap::with_overrides(&user),
            Err(KeymapError::BadKey { .. })
        ));
    }

    #[test]
    fn shifted_letters_match_as_typed() {
        let km = Keymap::default();
        let big_g = KeyEvent::new(KeyCode::Char('G'), KeyModifiers::SHIFT);
        assert_eq!(km.action(Scope::Main, &big_g), Some(Action::Bottom));
        let g = KeyEvent::new(KeyCode::Char('g'), KeyModifiers::NONE);
        assert_eq!(km.action(Scope::Main, &g), Some(Action::Top));
    }
}
