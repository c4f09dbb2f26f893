//! The rules a message obeys before anything is sent, as pure functions
//! over plain facts: Meta's messaging windows and text limits (`window`),
//! who a campaign may reach (`eligibility`), and text variables
//! (`template`). The composer, the bulk preview, `dmdesk send`/`bulk` and
//! the send workers all ask these, so the screen and the senders agree.

pub mod eligibility;
pub mod template;
pub mod window;
