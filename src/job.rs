//! Jobs the front end (TUI, CLI, attached clients) asks of the background
//! workers: plain values, so the pure UI can name them.

use crate::domain::{AccountId, ConvKey};
use crate::rules::window::Tag;

#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub enum Job {
    /// A person's reply: outbox record first, then the Send API.
    Reply {
        conv: ConvKey,
        text: String,
        tag: Option<Tag>,
        agent: Option<String>,
    },
    /// A person's reply with a file the caller staged (`Request::Upload`):
    /// the same checks and outbox as `dmdesk send --file`.
    SendFile {
        conv: ConvKey,
        upload: String,
        tag: Option<Tag>,
        agent: Option<String>,
    },
    /// Try a failed reply again.
    Retry {
        outbox_id: String,
    },
    /// Sync one account or all.
    Sync {
        account: Option<AccountId>,
    },
    CancelSync,
    /// Start a campaign to these conversations.
    Campaign {
        title: String,
        text: String,
        tag: Option<Tag>,
        recipients: Vec<ConvKey>,
        agent: Option<String>,
    },
    CancelCampaign {
        id: String,
    },
    /// Run (or resume) a campaign already in the store; nothing happens
    /// if it is running in this process already.
    RunCampaign {
        id: String,
    },
}
