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

    pub(super) fn note_drafts(&self) -> Result<Vec<(ConvKey, String)>> {
        let mut v = Vec::new();
        for kv in self.note_drafts.iter() {
            let (k, text) = kv?;
            match keys::conv_from(&k) {
                Some((conv, _)) => v.push((conv, String::from_utf8_lossy(&text).into_owned())),
                None => tracing::warn!("a set-aside note under an unreadable key was skipped"),
            }
        }
        Ok(v)
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
