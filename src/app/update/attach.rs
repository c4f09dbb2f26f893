//! The composer's attach prompt: a path typed with tab completion, a
//! preview line (kind, name, size), and the send through the same job as
//! `dmdesk send --file`. Pure: the edge (src/tui/attach.rs) looks at the
//! file system (`Command::LookFile` → `Event::FileLooked`) and streams the
//! file to whoever holds the store (`Command::SendFile`).

use super::status::info;
use crate::app::attach::dir_of;
use crate::app::attach::{complete, human_size, AttachPrompt, FileLook, FileSend};
use crate::app::command::Command;
use crate::app::state::{Level, Overlay, State};
use crate::media::outgoing::check_for;
use crate::rules::window::{plan, Purpose};
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

/// The attach key in the composer: open the prompt for the open thread.
pub(super) fn open(s: &mut State, out: &mut Vec<Command>) {
    let Some(t) = &s.thread else { return };
    let prompt = AttachPrompt {
        conv: t.conv.clone(),
        input: String::new(),
        look: None,
        candidates: Vec::new(),
    };
    s.overlay = Some(Overlay::Attach(Box::new(prompt)));
    out.push(Command::LookFile(String::new()));
}

/// A key in the prompt; the prompt to keep open (None: closed).
pub(super) fn key(
    s: &mut State,
    mut p: Box<AttachPrompt>,
    k: KeyEvent,
    out: &mut Vec<Command>,
) -> Option<Overlay> {
    let typed = |p: &mut AttachPrompt, out: &mut Vec<Command>| {
        p.candidates.clear();
        out.push(Command::LookFile(p.input.clone()));
    };
    match k.code {
        KeyCode::Esc => return None,
        KeyCode::Enter => return send(s, p, out),
        KeyCode::Tab => {
            let entries = p
                .look
                .as_ref()
                .filter(|l| dir_of(&l.input) == dir_of(&p.input))
                .map(|l| l.entries.clone())
                .unwrap_or_default();
            let (input, candidates) = complete(&p.input, &entries);
            p.input = input;
            out.push(Command::LookFile(p.input.clone()));
            p.candidates = candidates;
        }
        KeyCode::Backspace => {
            p.input.pop();
            typed(&mut p, out);
        }
        KeyCode::Char('u') if k.modifiers.contains(KeyModifiers::CONTROL) => {
            p.input.clear();
            typed(&mut p, out);
        }
        KeyCode::Char(c)
            if !k
                .modifiers
                .intersects(KeyModifiers::CONTROL | KeyModifiers::ALT) =>
        {
            p.input.push(c);
            typed(&mut p, out);
        }
        _ => {}
    }
    Some(Overlay::Attach(p))
}

/// A paste into the prompt (bracketed paste) is typed in as one line: the
/// trailing newline a copied line carries is dropped, and of several lines
/// only the first is kept, saying so (a path is one line; terminals send a
/// pasted newline as `\r` or `\n`). Control characters cannot be typed
/// either, so they are left out.
pub(super) fn paste(s: &mut State, text: &str, out: &mut Vec<Command>) {
    let Some(Overlay::Attach(p)) = &mut s.overlay else {
        return;
    };
    let mut lines = text
        .trim_end_matches(['\r', '\n'])
        .split(['\r', '\n'])
        .filter(|l| !l.is_empty());
    let first = lines.next().unwrap_or_default();
    let more = lines.count();
    p.input.extend(first.chars().filter(|c| !c.is_control()));
    p.candidates.clear();
    out.push(Command::LookFile(p.input.clone()));
    if more > 0 {
        let msg = format!("pasted the first line only: a path is one line ({more} more ignored)");
        info(s, Level::Info, &msg);
    }
}

/// The edge's answer, if it is for what is typed now.
pub(super) fn looked(s: &mut State, look: FileLook) {
    if let Some(Overlay::Attach(p)) = &mut s.overlay {
        if p.input == look.input {
            p.look = Some(look);
        }
    }
}

/// Enter: every check the UI can make (the owner checks again), then the
/// send; a refusal keeps the prompt open and says why.
fn send(s: &mut State, p: Box<AttachPrompt>, out: &mut Vec<Command>) -> Option<Overlay> {
    let file = match p.look.as_ref().filter(|l| l.input == p.input) {
        Some(FileLook { file: Ok(f), .. }) => f.clone(),
        Some(FileLook { file: Err(e), .. }) if !e.is_empty() => {
            info(s, Level::Error, &format!("not sent: {e}"));
            return Some(Overlay::Attach(p));
        }
        _ => {
            info(s, Level::Error, "type the path of a file to send");
            return Some(Overlay::Attach(p));
        }
    };
    let conv = &p.conv;
    let refused = if !s.opts.configured.contains(&conv.key.account) {
        Some(format!(
            "account {} is not configured; add its [[pages]] block with a token to reply",
            conv.key.account
        ))
    } else {
        check_for(conv.key.platform, file.kind, file.mime, file.size)
            .err()
            .or_else(|| {
                plan(&s.facts(conv), s.now, s.composer.tag, Purpose::Reply)
                    .err()
                    .map(|r| r.0)
            })
    };
    if let Some(why) = refused {
        info(s, Level::Error, &format!("not sent: {why}"));
        return Some(Overlay::Attach(p));
    }
    let tag = plan(&s.facts(conv), s.now, s.composer.tag, Purpose::Reply)
        .ok()
        .and_then(|pl| pl.tag());
    out.push(Command::SendFile(FileSend {
        path: p.input.clone(),
        conv: conv.key.clone(),
        tag,
        agent: s.opts.me.clone(),
    }));
    let msg = format!(
        "sending {} ({}) to {}…",
        file.name,
        human_size(file.size),
        crate::app::names::who(s, conv)
    );
    info(s, Level::Info, &msg);
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn one_match_is_filled_in_several_extend_to_their_common_prefix() {
        let entries = names(&[
            "photos/",
            "photo.png",
            "receipt.pdf",
            ".hidden",
            "Ünïcode.txt",
        ]);
        assert_eq!(complete("r", &entries), ("receipt.pdf".into(), vec![]));
        assert_eq!(
            complete("~/in/pho", &entries),
            ("~/in/photo".into(), names(&["photos/", "photo.png"]))
        );
        assert_eq!(complete("x", &entries), ("x".into(), vec![]));
        // Hidden names only when asked for.
        assert_eq!(complete("", &names(&[".a", "b"])), ("b".into(), vec![]));
        assert_eq!(complete(".", &entries), (".hidden".into(), vec![]));
        // Multi-byte names cut at a character boundary.
        assert_eq!(
            complete("Ü", &names(&["Ünïcode.txt", "Ünïversal"])),
            ("Ünï".into(), names(&["Ünïcode.txt", "Ünïversal"]))
        );
        assert_eq!(
            complete("/tmp/Ü", &entries),
            ("/tmp/Ünïcode.txt".into(), vec![])
        );
    }

    #[test]
    fn sizes_read_like_metas_limits() {
        assert_eq!(human_size(999), "999 B");
        assert_eq!(human_size(1_200), "1.2 KB");
        assert_eq!(human_size(25_000_000), "25.0 MB");
    }
}
