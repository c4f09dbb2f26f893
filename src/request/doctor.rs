//! What `dmdesk doctor` finds, as plain data: the store's part is checked
//! where the store is (the inbox service) and travels back as findings.

use crate::domain::AccountId;
use serde::{Deserialize, Serialize};
use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Level {
    Ok,
    /// Worth knowing; nothing to change.
    Note,
    Fix,
}

/// One line of doctor's answer, saying what to fix if anything.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Finding {
    pub level: Level,
    pub text: String,
}

impl Finding {
    pub fn ok(text: impl Into<String>) -> Finding {
        Finding {
            level: Level::Ok,
            text: text.into(),
        }
    }

    pub fn note(text: impl Into<String>) -> Finding {
        Finding {
            level: Level::Note,
            text: text.into(),
        }
    }

    pub fn fix(text: impl Into<String>) -> Finding {
        Finding {
            level: Level::Fix,
            text: text.into(),
        }
    }
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let tag = match self.level {
            Level::Ok => "ok",
            Level::Note => "note",
            Level::Fix => "fix",
        };
        write!(f, "{tag}: {}", self.text)
    }
}

/// What the store says (`Request::StoreChecks`): about itself, and about
/// each configured page, whose findings doctor places among that page's
/// Graph checks.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct StoreChecks {
    /// The database and the event log.
    pub store: Vec<Finding>,
    pub pages: Vec<PageChecks>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PageChecks {
    pub page: AccountId,
    /// Meta refused the page's current token (shown before its checks).
    pub dead_token: Option<Finding>,
    /// Its conversations another app owns (shown after the Graph checks,
    /// when those got an answer).
    pub standby: Option<Finding>,
}

impl StoreChecks {
    /// The findings about `page` (None: the store said nothing of it).
    pub fn page(&self, page: &AccountId) -> Option<&PageChecks> {
        self.pages.iter().find(|p| &p.page == page)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::request::{Reply, Request};
    use serde_json::json;

    #[test]
    fn replay_and_doctor_requests_and_replies_travel_and_come_back_equal() {
        assert_eq!(
            serde_json::to_value(Request::DeleteEvent { seq: 7 }).unwrap(),
            json!({"op": "delete_event", "seq": 7})
        );
        assert_eq!(
            serde_json::to_value(Request::Replay).unwrap(),
            json!({"op": "replay"})
        );
        for r in [
            Request::DeleteEvent { seq: 7 },
            Request::Replay,
            Request::StoreChecks,
        ] {
            let text = serde_json::to_string(&r).unwrap();
            assert_eq!(serde_json::from_str::<Request>(&text).unwrap(), r, "{text}");
        }
        let checks = StoreChecks {
            store: vec![Finding::ok("database d: PostgreSQL 16, schema 2 (current)")],
            pages: vec![PageChecks {
                page: AccountId::new("P"),
                dead_token: Some(Finding::fix("page P (P): Meta rejected this token")),
                standby: None,
            }],
        };
        assert_eq!(
            serde_json::to_value(&checks.store[0]).unwrap(),
            json!({"level": "ok", "text": "database d: PostgreSQL 16, schema 2 (current)"})
        );
        for r in [
            Reply::EventDeleted {
                seq: 7,
                deleted: false,
            },
            Reply::Replayed {
                applied: 1,
                quarantined: 2,
                pending_applied: 3,
            },
            Reply::StoreChecks(Box::new(checks)),
        ] {
            let text = serde_json::to_string(&r).unwrap();
            assert_eq!(serde_json::from_str::<Reply>(&text).unwrap(), r, "{text}");
        }
    }

    #[test]
    fn a_finding_reads_as_its_level_then_its_text() {
        assert_eq!(Finding::note("n").to_string(), "note: n");
        assert_eq!(Finding::fix("f").to_string(), "fix: f");
        assert_eq!(Finding::ok("o").to_string(), "ok: o");
    }
}
