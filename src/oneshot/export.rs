//! `dmdesk export`: JSON Lines on stdout, one object a line, in store
//! order, written a page at a time as the inbox service hands them out
//! (the records' shapes are in src/inbox/export.rs).

use crate::db::Db;
use crate::inbox::{Caller, Inbox, Reply, Request};
use crate::request::ExportWhat;
use std::io::Write;

/// Lines asked for at a time (a page also stops at `inbox::export::PAGE_BYTES`).
const PAGE: usize = 1_000;

/// Write every record of one kind, asking `inbox` page by page as `who`.
pub fn write(
    inbox: &Inbox,
    who: &Caller,
    what: ExportWhat,
    out: &mut dyn Write,
) -> Result<(), ExportError> {
    let mut from = 0;
    loop {
        let page = Request::Export {
            what,
            from,
            limit: PAGE,
        };
        let Reply::Export { lines, done } = inbox.handle(who, page).map_err(ExportError::Inbox)?
        else {
            return Err(ExportError::Inbox(
                "the inbox answered an export page with something else".into(),
            ));
        };
        for line in &lines {
            out.write_all(line.as_bytes())?;
            out.write_all(b"\n")?;
        }
        from += lines.len() as u64;
        if done {
            break;
        }
    }
    out.flush()?;
    Ok(())
}

/// [`write`] straight from `store` (no owner, no workers).
pub fn export(store: &Db, what: ExportWhat, out: &mut dyn Write) -> Result<(), ExportError> {
    let (jobs, _none) = tokio::sync::mpsc::unbounded_channel();
    let me = Caller {
        session: 0,
        agent: None,
    };
    write(&Inbox::new(store.clone(), jobs), &me, what, out)
}

#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error(transparent)]
    Io(#[from] std::io::Error),
    /// The store could not be read (the service's sentence).
    #[error("{0}")]
    Inbox(String),
}
