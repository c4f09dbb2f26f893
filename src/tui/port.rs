//! Where the UI's inbox requests are answered: this process's inbox
//! ([`Local`]) or the owner's over the control socket (src/tui/attached.rs).

use crate::app::event::Event;
use crate::db::Db;
use crate::inbox::{Caller, Inbox, Reply, Request};
use crate::update::Update;
use crate::workers::JobSender;

/// Where inbox requests are answered. May block (it runs on the data
/// worker thread, never on the event loop).
pub trait Port: Send + Sync + 'static {
    fn call(&self, request: Request) -> Result<Reply, String>;
}

/// This process's inbox, asked as `caller` (session 0: the owner's own UI).
pub struct Local {
    pub inbox: Inbox,
    pub caller: Caller,
}

impl Local {
    /// This process's inbox over `store` and `jobs`, as a UI with no
    /// presence table (tests, benchmarks).
    pub fn new(store: Db, jobs: JobSender) -> Local {
        Local {
            inbox: Inbox::new(store, jobs),
            caller: Caller {
                session: 0,
                agent: None,
            },
        }
    }
}

impl Port for Local {
    fn call(&self, request: Request) -> Result<Reply, String> {
        self.inbox.handle(&self.caller, request)
    }
}

/// Run one request; the event to feed back, if any. `Done` carries nothing
/// the UI needs; errors become the status bar's error.
pub fn serve(port: &dyn Port, request: Request) -> Option<Event> {
    match port.call(request) {
        Ok(Reply::Done) => None,
        Ok(reply) => Some(Event::Inbox(reply)),
        Err(e) => {
            tracing::warn!(error = %e, "inbox request failed");
            Some(Event::Update(Update::Error(e)))
        }
    }
}
