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
}

impl SyncReport {
    pub fn failed(&self) -> usize {
        self.accounts.iter().filter(|a| a.error.is_some()).count()
    }
}
