//! The composer's attach prompt: a path typed with tab completion, a
//! preview line (kind, name, size), and the send through the same job as
//! `dmdesk send --file`. Pure: the edge (src/tui/attach.rs) looks at the
//! file system (`Command::LookFile` → `Event::FileLooked`) and streams the
//! file to whoever holds the store (`Command::SendFile`).

use super::status::info;
use crate::app::command::Command;
use crate::app::state::{Level, Overlay, State};
use crate::domain::{ConvKey, Conversation};
use crate::send::media::{check_for, MediaKind};
use crate::send::window::{plan, Purpose, Tag};
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

/// What the edge found for a typed path.
#[derive(Debug, Clone, PartialEq)]
pub struct FileLook {
    /// The input it answers (a later one supersedes it).
    pub input: String,
    /// The names in the input's directory, sorted; directories end in `/`.
    pub entries: Vec<String>,
    /// The path as a file to send, or why it cannot be (empty: nothing
    /// to preview yet).
    pub file: Result<FileFacts, String>,
}

/// A file as the preview line names it.
#[derive(Debug, Clone, PartialEq)]
pub struct FileFacts {
    pub name: String,
    pub size: u64,
    pub kind: MediaKind,
    pub mime: &'static str,
}

/// The edge's part of a send: stream `path` to the store's owner, then
/// the `Job::SendFile` for `conv`.
#[derive(Debug, Clone, PartialEq)]
pub struct FileSend {
    pub path: String,
    pub conv: ConvKey,
    pub tag: Option<Tag>,
    pub agent: Option<String>,
}

/// The prompt, for the conversation named when it opened.
#[derive(Debug, Clone, PartialEq)]
pub struct AttachPrompt {
    pub conv: Conversation,
    pub input: String,
    pub look: Option<FileLook>,
    /// The candidates the last tab found (several: none was filled in).
    pub candidates: Vec<String>,
}

/// Complete the last part of `input` from `entries` (its directory's
/// names): one match is filled in, several extend to their longest common
/// prefix and are listed. Hidden names only when the part starts with `.`.
pub fn complete(input: &str, entries: &[String]) -> (String, Vec<String>) {
    let (dir, part) = match input.rfind('/') {
        Some(i) => input.split_at(i + 1),
        None => ("", input),
    };
    let hidden = part.starts_with('.');
    let found: Vec<&String> = entries
        .iter()
        .filter(|e| e.starts_with(part) && (hidden || !e.starts_with('.')))
        .collect();
    match found.as_slice() {
        [] => (input.to_string(), Vec::new()),
        [one] => (format!("{dir}{one}"), Vec::new()),
        many => {
            let mut common: &str = many[0];
            for e in &many[1..] {
                let n = common
                    .char_indices()
                    .zip(e.chars())
                    .take_while(|((_, a), b)| a == b)
                    .last()
                    .map_or(0, |((i, a), _)| i + a.len_utf8());
                common = &common[..n];
            }
            (
                format!("{dir}{common}"),
                many.iter().map(|e| e.to_string()).collect(),
            )
        }
    }
}

/// The directory part of a typed path (what its entries list).
fn dir_of(input: &str) -> &str {
    input.rfind('/').map_or("", |i| &input[..=i])
}

/// `1.2 MB`, decimal like Meta's limits.
pub fn human_size(n: u64) -> String {
    match n {
        0..1_000 => format!("{n} B"),
        1_000..1_000_000 => format!("{:.1} KB", n as f64 / 1e3),
        _ => format!("{:.1} MB", n as f64 / 1e6),
    }
}

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
        conv.name
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
