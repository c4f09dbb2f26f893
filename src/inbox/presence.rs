//! Who is viewing or typing in which conversation, for collision notices.
//! The table is the store's (one per owner with sled; shared with a
//! database backend); every change is published whole as `Update::Presence`.

use crate::db::Db;
use crate::domain::{ConvKey, TimestampMs};
use crate::team::AgentName;
use crate::update::{Update, Viewer};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

pub struct Presence {
    db: Db,
    /// Sessions of attached UIs and their agents (auto-assignment's pool),
    /// whether or not they view a conversation.
    attached: Mutex<BTreeMap<u64, AgentName>>,
}

impl Presence {
    pub fn new(db: Db) -> Arc<Presence> {
        Arc::new(Presence {
            db,
            attached: Mutex::default(),
        })
    }

    /// An agent's UI attached (it subscribed to updates).
    pub fn attach(&self, session: u64, agent: &str) {
        self.attached_lock().insert(session, AgentName::from(agent));
    }

    /// The agents attached now, each once, in name order.
    pub fn attached_agents(&self) -> Vec<AgentName> {
        let mut v: Vec<AgentName> = self.attached_lock().values().cloned().collect();
        v.sort();
        v.dedup();
        v
    }

    fn attached_lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<u64, AgentName>> {
        self.attached.lock().unwrap_or_else(|e| e.into_inner())
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
        self.attached_lock().remove(&session);
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
