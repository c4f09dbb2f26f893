//! The attach prompt's edge: look at the typed path on this machine (the
//! agent's, also when attached to an owner elsewhere), and send a file by
//! streaming it through the data port (src/control/upload.rs), then asking
//! for the `Job::SendFile` that names the upload.

use super::port::Port;
use crate::app::attach::{FileFacts, FileLook, FileSend};
use crate::app::event::Event;
use crate::inbox::Request;
use crate::job::Job;
use crate::media::outgoing::{classify, MAX_BYTES};
use crate::update::Update;
use std::io::Read as _;
use std::path::PathBuf;

/// Directory entries read at most for completion (a huge directory must
/// not stall the loop).
const MAX_ENTRIES: usize = 2_000;

/// `~/x` → `$HOME/x`.
fn expand(input: &str) -> PathBuf {
    match (input.strip_prefix("~/"), std::env::var_os("HOME")) {
        (Some(rest), Some(home)) => PathBuf::from(home).join(rest),
        _ if input == "~" => {
            std::env::var_os("HOME").map_or_else(|| PathBuf::from("~"), PathBuf::from)
        }
        _ => PathBuf::from(input),
    }
}

/// The typed path's directory listing and, if it names a file, its facts.
pub fn look(input: &str) -> FileLook {
    let dir = match input.rfind('/') {
        Some(i) => expand(&input[..=i]),
        None => PathBuf::from("."),
    };
    let mut entries: Vec<String> = std::fs::read_dir(&dir)
        .into_iter()
        .flatten()
        .flatten()
        .take(MAX_ENTRIES)
        .map(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            // Through symlinks: a link to a directory completes as one.
            match std::fs::metadata(e.path()) {
                Ok(m) if m.is_dir() => format!("{name}/"),
                _ => name,
            }
        })
        .collect();
    entries.sort();
    let file = if input.is_empty() || input.ends_with('/') {
        Err(String::new())
    } else {
        facts(&expand(input))
    };
    FileLook {
        input: input.to_string(),
        entries,
        file,
    }
}

fn facts(path: &std::path::Path) -> Result<FileFacts, String> {
    let meta = std::fs::metadata(path).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => "no such file".to_string(),
        _ => e.to_string(),
    })?;
    if meta.is_dir() {
        return Err("a directory: type / to look inside".into());
    }
    if !meta.is_file() {
        return Err("not a regular file".into());
    }
    let size = meta.len();
    if size == 0 {
        return Err("the file is empty".into());
    }
    if size > MAX_BYTES {
        return Err(format!(
            "{} is over Meta's 25 MB limit",
            crate::app::attach::human_size(size)
        ));
    }
    let mut head = Vec::with_capacity(64);
    std::fs::File::open(path)
        .and_then(|f| f.take(64).read_to_end(&mut head))
        .map_err(|e| e.to_string())?;
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "file".into());
    let (kind, mime) = classify(&name, &head);
    Ok(FileFacts {
        name,
        size,
        kind,
        mime,
    })
}

/// Stream the file through `port` and ask for its send; an error is the
/// status bar's.
pub fn send(port: &dyn Port, f: FileSend) -> Option<Event> {
    let path = expand(&f.path);
    let sent =
        crate::control::upload::stage_with(&mut |r| port.call(r), &path).and_then(|staged| {
            port.call(Request::Job {
                job: Job::SendFile {
                    conv: f.conv,
                    upload: staged.id,
                    tag: f.tag,
                    agent: f.agent,
                },
            })
        });
    sent.err()
        .map(|e| Event::Update(Update::Error(format!("file not sent: {e}"))))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_look_lists_the_directory_and_names_the_file() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("sub")).unwrap();
        std::fs::write(dir.path().join("a.png"), b"\x89PNG\r\n\x1a\nxxxx").unwrap();
        std::fs::write(dir.path().join("empty"), b"").unwrap();
        let base = format!("{}/", dir.path().display());
        let l = look(&base);
        assert_eq!(l.entries, ["a.png", "empty", "sub/"]);
        assert_eq!(l.file, Err(String::new()));
        let l = look(&format!("{base}a.png"));
        let f = l.file.unwrap();
        assert_eq!(
            (f.name.as_str(), f.size, f.mime),
            ("a.png", 12, "image/png")
        );
        assert!(look(&format!("{base}empty"))
            .file
            .unwrap_err()
            .contains("empty"));
        assert!(look(&format!("{base}sub"))
            .file
            .unwrap_err()
            .contains("directory"));
        assert_eq!(
            look(&format!("{base}nope")).file.unwrap_err(),
            "no such file"
        );
    }
}
