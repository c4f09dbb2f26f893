//! The attach prompt's values: what the edge found for a typed path, the
//! prompt itself, the send it asks the edge for, and the pure completion.

use crate::domain::{ConvKey, Conversation};
use crate::media::outgoing::MediaKind;
use crate::rules::window::Tag;

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
pub fn dir_of(input: &str) -> &str {
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
