//! A private note set aside half-written, one per conversation, beside
//! the reply drafts (its own tree: the reply drafts' keys are what
//! `has_draft` and `dmdesk migrate` read).

use super::{keys, Result, SledStore};
use crate::domain::ConvKey;

impl SledStore {
    pub(super) fn note_draft(&self, conv: &ConvKey) -> Result<Option<String>> {
        Ok(self
            .note_drafts
            .get(keys::conv(conv))?
            .map(|v| String::from_utf8_lossy(&v).into_owned()))
    }

    /// An empty text removes it.
    pub(super) fn set_note_draft(&self, conv: &ConvKey, text: &str) -> Result<()> {
        let k = keys::conv(conv);
        if text.is_empty() {
            self.note_drafts.remove(k)?;
        } else {
            self.note_drafts.insert(k, text.as_bytes())?;
        }
        Ok(())
    }
}
