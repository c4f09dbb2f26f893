//! Who is viewing or typing in which conversation, for collision notices.
//! Kept by the owner per connection; published whole as `Update::Presence`.

use crate::domain::{ConvKey, TimestampMs};
use crate::store::{Store, Update};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Viewer {
    pub agent: String,
    /// Which UI (one agent may have two): shown only to tell them apart.
    pub session: u64,
    pub conv: ConvKey,
    /// When the agent last typed in this conversation's composer.
    pub typing_at: Option<TimestampMs>,
}

/// How long a keystroke counts as "typing".
pub const TYPING_FOR_MS: i64 = 8_000;

impl Viewer {
    pub fn typing(&self, now: TimestampMs) -> bool {
        self.typing_at.is_some_and(|t| now.0 - t.0 < TYPING_FOR_MS)
    }
}

/// The owner's presence table.
pub struct Presence {
    store: Arc<Store>,
    by_session: Mutex<BTreeMap<u64, Viewer>>,
}

impl Presence {
    pub fn new(store: Arc<Store>) -> Arc<Presence> {
        Arc::new(Presence {
            store,
            by_session: Mutex::new(BTreeMap::new()),
        })
    }

    /// Session `session` of `agent` now views `conv` (None: no thread open).
    pub fn set(&self, session: u64, agent: &str, conv: Option<ConvKey>, typing: bool) {
        let now = TimestampMs::now();
        let changed = {
            let mut m = self.by_session.lock().unwrap_or_else(|e| e.into_inner());
            let before = m.get(&session).cloned();
            match conv {
                None => {
                    m.remove(&session);
                }
                Some(conv) => {
                    // Typing stays on until it expires, not off at the next view report.
                    let typing_at = if typing {
                        Some(now)
                    } else {
                        before
                            .as_ref()
                            .filter(|b| b.conv == conv)
                            .and_then(|b| b.typing_at)
                    };
                    m.insert(
                        session,
                        Viewer {
                            agent: agent.to_string(),
                            session,
                            conv,
                            typing_at,
                        },
                    );
                }
            }
            before.as_ref() != m.get(&session)
        };
        if changed {
            self.publish();
        }
    }

    /// The session ended (detach, dropped SSH).
    pub fn leave(&self, session: u64) {
        let removed = self
            .by_session
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&session)
            .is_some();
        if removed {
            self.publish();
        }
    }

    pub fn list(&self) -> Vec<Viewer> {
        self.by_session
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .values()
            .cloned()
            .collect()
    }

    fn publish(&self) {
        self.store.publish(Update::Presence(self.list()));
    }
}

/// Others (not `me_session`) in `conv`, for the thread header: "alice viewing, bob typing".
pub fn others_in(
    viewers: &[Viewer],
    conv: &ConvKey,
    me_session: u64,
    now: TimestampMs,
) -> Vec<(String, bool)> {
    let mut out: Vec<(String, bool)> = Vec::new();
    for v in viewers
        .iter()
        .filter(|v| &v.conv == conv && v.session != me_session)
    {
        let typing = v.typing(now);
        match out.iter_mut().find(|(a, _)| *a == v.agent) {
            Some(e) => e.1 |= typing,
            None => out.push((v.agent.clone(), typing)),
        }
    }
    out
}
