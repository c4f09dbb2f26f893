//! What a sync did (plain values): the inbox answers a `Request::SyncNow`
//! with it and `dmdesk sync` prints it. Computed by src/sync/.

use crate::domain::{AccountId, Platform};
use serde::{Deserialize, Serialize};

/// What one account's sync did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountReport {
    pub page: AccountId,
    pub platform: Platform,
    pub account: AccountId,
    /// Threads read.
    pub conversations: u64,
    /// Conversations new to the store.
    pub new_conversations: u64,
    /// Messages new to the store.
    pub messages: u64,
    pub profiles_fetched: u64,
    /// Graph calls made for this account.
    pub calls: u64,
    pub error: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SyncReport {
    pub accounts: Vec<AccountReport>,
    pub cancelled: bool,
    /// Accounts not synced here, and why (another process was syncing
    /// them, sharing a database).
    #[serde(default)]
    pub skipped: Vec<Skipped>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Skipped {
    pub platform: Platform,
    pub account: AccountId,
    pub why: String,
}

impl SyncReport {
    pub fn failed(&self) -> usize {
        self.accounts.iter().filter(|a| a.error.is_some()).count()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::request::{Reply, Request};

    #[test]
    fn a_sync_and_its_report_travel_and_come_back_equal() {
        let ask = Request::SyncNow {
            account: Some("P1".into()),
        };
        assert_eq!(
            serde_json::to_value(&ask).unwrap(),
            serde_json::json!({"op": "sync_now", "account": "P1"})
        );
        let report = SyncReport {
            accounts: vec![AccountReport {
                page: "P1".into(),
                platform: Platform::Instagram,
                account: "IG1".into(),
                conversations: 3,
                new_conversations: 2,
                messages: 7,
                profiles_fetched: 2,
                calls: 4,
                error: Some("network problem".into()),
            }],
            cancelled: true,
            skipped: vec![Skipped {
                platform: Platform::Messenger,
                account: "P1".into(),
                why: "another dmdesk is syncing it now".into(),
            }],
        };
        let synced = Reply::Synced {
            report,
            graph_calls: 4,
        };
        for r in [ask, Request::SyncNow { account: None }] {
            let text = serde_json::to_string(&r).unwrap();
            assert_eq!(serde_json::from_str::<Request>(&text).unwrap(), r, "{text}");
        }
        let text = serde_json::to_string(&synced).unwrap();
        assert_eq!(
            serde_json::from_str::<Reply>(&text).unwrap(),
            synced,
            "{text}"
        );
    }
}
