//! Who is viewing or typing in which conversation, for collision notices.
//! The table is the store's (one per owner with sled; shared with a
//! database backend); every change is published whole as `Update::Presence`.

use crate::db::Db;
use crate::domain::{ConvKey, TimestampMs};
use crate::update::{Update, Viewer};
use std::sync::Arc;

pub struct Presence {
    db: Db,
}

impl Presence {
    pub fn new(db: Db) -> Arc<Presence> {
        Arc::new(Presence { db })
    }

    /// Session `session` of `agent` now views `conv` (None: no thread open).
    pub fn set(&self, session: u64, agent: &str, conv: Option<ConvKey>, typing: bool) {
        let now = TimestampMs::now();
        let before = self.db.presence_get(session);
        let after = conv.map(|conv| {
            // Typing stays on until it expires, not off at the next view report.
            let typing_at = if typing {
                Some(now)
            } else {
                before
                    .as_ref()
                    .filter(|b| b.conv == conv)
                    .and_then(|b| b.typing_at)
            };
            Viewer {
                agent: agent.to_string(),
                session,
                conv,
                typing_at,
            }
        });
        if before != after {
            self.db.presence_put(session, after);
            self.publish();
        }
    }

    /// The session ended (detach, dropped SSH).
    pub fn leave(&self, session: u64) {
        if self.db.presence_get(session).is_some() {
            self.db.presence_put(session, None);
            self.publish();
        }
    }

    pub fn list(&self) -> Vec<Viewer> {
        self.db.presence_list()
    }

    fn publish(&self) {
        self.db.publish(Update::Presence(self.list()));
    }
}
