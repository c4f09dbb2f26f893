//! Which conversations a list shows: a plain value the UI builds and every
//! store backend applies the same way.

use crate::domain::{ConvStatus, Conversation, Platform, TimestampMs};

/// What the list pane shows (the `/` filter).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ConvFilter {
    /// Case-insensitive match on the name or the last message.
    pub text: Option<String>,
    pub unread_only: bool,
    pub platform: Option<Platform>,
    /// Only conversations whose 24 h window is open at this time.
    pub window_open_at: Option<TimestampMs>,
    pub status: Option<ConvStatus>,
}

impl ConvFilter {
    pub fn is_empty(&self) -> bool {
        *self == ConvFilter::default()
    }

    pub fn matches(&self, c: &Conversation) -> bool {
        if self.unread_only && c.unread == 0 {
            return false;
        }
        if self.platform.is_some_and(|p| p != c.key.platform) {
            return false;
        }
        if self.status.is_some_and(|s| s != c.status) {
            return false;
        }
        if let Some(now) = self.window_open_at {
            if c.last_inbound
                .is_none_or(|t| now.0 - t.0 >= TimestampMs::DAY)
            {
                return false;
            }
        }
        if let Some(q) = self.text.as_deref().filter(|q| !q.is_empty()) {
            let q = q.to_lowercase();
            if !c.name.to_lowercase().contains(&q)
                && !c.last_preview.to_lowercase().contains(&q)
                && !c.key.user.as_str().contains(&q)
            {
                return false;
            }
        }
        true
    }
}
