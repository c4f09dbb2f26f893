//! Pure decisions of issue 17: the picture protocol from the environment,
//! the link opener, and whether a new message notifies.

use dmdesk::domain::TimestampMs;
use dmdesk::media::notify::{clean, sequence, should_notify, Facts};
use dmdesk::media::notify::{NotifyConfig, NotifyVia};
use dmdesk::media::open::{choose, first_link, Opener};
use dmdesk::media::protocol::{detect, Env, PictureMode as M, PicturesSetting as S};
use std::collections::HashMap;
use std::time::Duration;

fn mode(setting: S, vars: &[(&str, &str)], passthrough: Option<bool>) -> M {
    let map: HashMap<String, String> = vars
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let var = move |k: &str| map.get(k).cloned();
    detect(
        setting,
        &Env {
            var: &var,
            tmux_passthrough: passthrough,
        },
    )
}

#[test]
fn auto_recognises_terminals_from_their_variables() {
    let t = |vars: &[(&str, &str)]| mode(S::Auto, vars, None);
    assert_eq!(t(&[("TERM", "xterm-kitty")]), M::Kitty);
    assert_eq!(
        t(&[("TERM", "xterm-256color"), ("KITTY_WINDOW_ID", "3")]),
        M::Kitty
    );
    assert_eq!(t(&[("TERM_PROGRAM", "ghostty")]), M::Kitty);
    assert_eq!(t(&[("TERM_PROGRAM", "iTerm.app")]), M::Iterm2);
    assert_eq!(t(&[("LC_TERMINAL", "iTerm2")]), M::Iterm2);
    assert_eq!(t(&[("TERM_PROGRAM", "WezTerm")]), M::Iterm2);
    assert_eq!(t(&[("TERM", "foot")]), M::Sixel);
    assert_eq!(
        t(&[("TERM", "xterm-256color"), ("KONSOLE_VERSION", "230804")]),
        M::Sixel
    );
    assert_eq!(t(&[("TERM", "xterm-256color")]), M::Halfblocks);
    assert_eq!(t(&[]), M::Halfblocks);
}

#[test]
fn plain_text_under_no_color_dumb_or_off() {
    assert_eq!(
        mode(S::Auto, &[("TERM", "xterm-kitty"), ("NO_COLOR", "1")], None),
        M::Off
    );
    // An empty NO_COLOR does not count (no-color.org).
    assert_eq!(mode(S::Auto, &[("NO_COLOR", "")], None), M::Halfblocks);
    assert_eq!(mode(S::Auto, &[("TERM", "dumb")], None), M::Off);
    assert_eq!(mode(S::Kitty, &[("TERM", "dumb")], None), M::Off);
    assert_eq!(mode(S::Off, &[("TERM", "xterm-kitty")], None), M::Off);
}

#[test]
fn a_forced_protocol_wins_except_where_tmux_would_drop_it() {
    assert_eq!(mode(S::Sixel, &[("TERM", "xterm")], None), M::Sixel);
    assert_eq!(
        mode(S::Halfblocks, &[("TERM", "xterm-kitty")], None),
        M::Halfblocks
    );
    // The agent asked for it: NO_COLOR does not veto a forced protocol.
    assert_eq!(mode(S::Iterm2, &[("NO_COLOR", "1")], None), M::Iterm2);
    let tmux = [
        ("TMUX", "/tmp/tmux-0/default,1,0"),
        ("TERM", "tmux-256color"),
    ];
    let kitty_in_tmux = [tmux[0], tmux[1], ("KITTY_WINDOW_ID", "1")];
    assert_eq!(mode(S::Kitty, &tmux, Some(false)), M::Halfblocks);
    assert_eq!(mode(S::Kitty, &tmux, None), M::Halfblocks, "unknown: safe");
    assert_eq!(mode(S::Kitty, &tmux, Some(true)), M::Kitty);
    assert_eq!(mode(S::Auto, &kitty_in_tmux, Some(false)), M::Halfblocks);
    assert_eq!(mode(S::Auto, &kitty_in_tmux, Some(true)), M::Kitty);
}

#[test]
fn the_opener_needs_a_local_display() {
    let env = |vars: &'static [(&'static str, &'static str)]| {
        move |k: &str| {
            vars.iter()
                .find(|(n, _)| *n == k)
                .map(|(_, v)| v.to_string())
        }
    };
    assert_eq!(
        choose("linux", &env(&[("DISPLAY", ":0")])),
        Some(Opener::XdgOpen)
    );
    assert_eq!(
        choose("linux", &env(&[("WAYLAND_DISPLAY", "wayland-0")])),
        Some(Opener::XdgOpen)
    );
    assert_eq!(choose("linux", &env(&[])), None, "a console: copy");
    assert_eq!(choose("macos", &env(&[])), Some(Opener::MacOpen));
    // Over SSH the display (even a forwarded X11 one) is not where the link should go.
    let ssh = env(&[
        ("DISPLAY", "localhost:10.0"),
        ("SSH_CONNECTION", "10.0.0.2 5 10.0.0.1 22"),
    ]);
    assert_eq!(choose("linux", &ssh), None);
    assert_eq!(choose("macos", &env(&[("SSH_TTY", "/dev/pts/3")])), None);
    assert_eq!(choose("windows", &env(&[("DISPLAY", ":0")])), None);
}

#[test]
fn first_link_in_text_stops_at_spaces_and_trailing_punctuation() {
    assert_eq!(
        first_link("see https://shop.example/o/12?x=1. thanks"),
        Some("https://shop.example/o/12?x=1")
    );
    assert_eq!(
        first_link("(http://a.example/b)"),
        Some("http://a.example/b")
    );
    assert_eq!(first_link("no link here"), None);
}

fn config(via: NotifyVia) -> NotifyConfig {
    NotifyConfig {
        via,
        min_interval: Duration::from_secs(30),
        muted: ["MUTED".to_string()].into_iter().collect(),
    }
}

#[test]
fn notify_only_when_not_looking_rate_limited_and_per_page() {
    let on = config(NotifyVia::Osc777);
    let facts = |cfg: &NotifyConfig, account: &'static str, focused, open, last: Option<i64>| {
        should_notify(&Facts {
            config: cfg,
            account,
            focused,
            open,
            now: TimestampMs(100_000),
            last: last.map(TimestampMs),
        })
    };
    assert!(!facts(&on, "P1", true, true, None), "looking at it");
    assert!(
        facts(&on, "P1", false, true, None),
        "terminal in the background"
    );
    assert!(
        facts(&on, "P1", true, false, None),
        "another conversation open"
    );
    assert!(facts(&on, "P1", false, false, None));
    assert!(!facts(&on, "MUTED", false, false, None), "muted page");
    assert!(
        !facts(&config(NotifyVia::Off), "P1", false, false, None),
        "off"
    );
    // Rate limit: 30 s.
    assert!(!facts(&on, "P1", false, false, Some(100_000 - 29_999)));
    assert!(facts(&on, "P1", false, false, Some(100_000 - 30_000)));
}

#[test]
fn notification_sequences_carry_no_control_characters_from_customers() {
    let body = "hi\x1b]0;pwned\x07; there";
    let seq = sequence(&NotifyVia::Osc777, "dmdesk: Ann", body, false).unwrap();
    assert_eq!(seq, "\x1b]777;notify;dmdesk: Ann;hi ]0,pwned , there\x1b\\");
    let seq = sequence(&NotifyVia::Osc9, "dmdesk", "hello", false).unwrap();
    assert_eq!(seq, "\x1b]9;dmdesk: hello\x1b\\");
    let wrapped = sequence(&NotifyVia::Osc9, "dmdesk", "hello", true).unwrap();
    assert_eq!(
        wrapped,
        "\x1bPtmux;\x1b\x1b]9;dmdesk: hello\x1b\x1b\\\x1b\\"
    );
    assert!(sequence(&NotifyVia::Off, "a", "b", false).is_none());
    assert_eq!(clean("abcdef", 3), "abc…");
}
