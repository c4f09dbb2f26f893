//! Reads for the UI, export and workers. The list and thread read only the
//! rows they show.

use super::{decode, keys, Result, Store, Update};
use crate::domain::{
    Contact, ConvKey, ConvStatus, Conversation, Message, Mid, Platform, ProfileState, TimestampMs,
};

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

impl Store {
    pub fn conversation(&self, key: &ConvKey) -> Result<Option<Conversation>> {
        self.conversations
            .get(keys::conv(key))?
            .map(|v| decode(&v))
            .transpose()
    }

    pub fn contact(&self, key: &ConvKey) -> Result<Option<Contact>> {
        self.contacts
            .get(keys::conv(key))?
            .map(|v| decode(&v))
            .transpose()
    }

    pub fn conversation_count(&self) -> Result<u64> {
        Ok(self.meta_get("conv_count")?.unwrap_or(0))
    }

    /// Conversations by latest activity, skipping `offset`, at most `limit`,
    /// that match `filter`.
    pub fn conversations(
        &self,
        filter: &ConvFilter,
        offset: usize,
        limit: usize,
    ) -> Result<Vec<Conversation>> {
        let mut out = Vec::with_capacity(limit.min(1024));
        let mut skipped = 0;
        for r in self.by_activity.iter().keys() {
            let k = r?;
            let Some(key) = keys::activity_conv(&k) else {
                continue;
            };
            let c = if filter.is_empty() && skipped < offset {
                // No filter: skip without reading the row.
                skipped += 1;
                continue;
            } else {
                match self.conversation(&key)? {
                    Some(c) => c,
                    None => continue,
                }
            };
            if !filter.matches(&c) {
                continue;
            }
            if skipped < offset {
                skipped += 1;
                continue;
            }
            out.push(c);
            if out.len() >= limit {
                break;
            }
        }
        Ok(out)
    }

    /// Count of conversations matching a filter (the whole count is kept, a
    /// filtered one needs a scan).
    pub fn count_matching(&self, filter: &ConvFilter) -> Result<u64> {
        if filter.is_empty() {
            return self.conversation_count();
        }
        let mut n = 0;
        for v in self.conversations.iter().values() {
            let c: Conversation = decode(&v?)?;
            if filter.matches(&c) {
                n += 1;
            }
        }
        Ok(n)
    }

    /// Every conversation with unread messages, with its count (the UI's
    /// unread total). A full scan that decodes only the key and the count;
    /// callers run it off the UI loop.
    pub fn unread_counts(&self) -> Result<Vec<(ConvKey, u32)>> {
        #[derive(serde::Deserialize)]
        struct Row {
            key: ConvKey,
            unread: u32,
        }
        let mut out = Vec::new();
        for v in self.conversations.iter().values() {
            let r: Row = decode(&v?)?;
            if r.unread > 0 {
                out.push((r.key, r.unread));
            }
        }
        Ok(out)
    }

    /// The newest `limit` messages of a conversation, oldest first.
    pub fn messages_latest(&self, conv: &ConvKey, limit: usize) -> Result<Vec<Message>> {
        let mut v = self
            .messages
            .scan_prefix(keys::conv(conv))
            .values()
            .rev()
            .take(limit)
            .map(|r| decode(&r?))
            .collect::<Result<Vec<Message>>>()?;
        v.reverse();
        Ok(v)
    }

    /// Up to `limit` messages older than `before` (oldest first).
    pub fn messages_before(
        &self,
        conv: &ConvKey,
        before: &Message,
        limit: usize,
    ) -> Result<Vec<Message>> {
        let start = keys::conv(conv);
        let end = keys::message(conv, before.timestamp, &before.mid);
        let mut v = self
            .messages
            .range(start..end)
            .values()
            .rev()
            .take(limit)
            .map(|r| decode(&r?))
            .collect::<Result<Vec<Message>>>()?;
        v.reverse();
        Ok(v)
    }

    pub fn message(&self, mid: &Mid) -> Result<Option<Message>> {
        Ok(self.message_by_mid(mid)?.map(|(_, m)| m))
    }

    pub fn all_messages(&self) -> impl Iterator<Item = Result<Message>> + '_ {
        self.messages.iter().values().map(|r| decode(&r?))
    }

    pub fn all_contacts(&self) -> impl Iterator<Item = Result<Contact>> + '_ {
        self.contacts.iter().values().map(|r| decode(&r?))
    }

    pub fn all_conversations(&self) -> impl Iterator<Item = Result<Conversation>> + '_ {
        self.conversations.iter().values().map(|r| decode(&r?))
    }

    // ---- agent actions ---------------------------------------------------

    pub fn draft(&self, conv: &ConvKey) -> Result<Option<String>> {
        Ok(self
            .drafts
            .get(keys::conv(conv))?
            .map(|v| String::from_utf8_lossy(&v).into_owned()))
    }

    /// Save a draft; an empty one is removed.
    pub fn set_draft(&self, conv: &ConvKey, text: &str) -> Result<()> {
        if text.is_empty() {
            self.drafts.remove(keys::conv(conv))?;
        } else {
            self.drafts.insert(keys::conv(conv), text.as_bytes())?;
        }
        Ok(())
    }

    fn edit_conv(
        &self,
        conv: &ConvKey,
        f: impl FnOnce(&mut Conversation),
    ) -> Result<Option<Conversation>> {
        let _guard = self.apply_lock.lock().unwrap_or_else(|e| e.into_inner());
        let Some(mut c) = self.conversation(conv)? else {
            return Ok(None);
        };
        let before = c.clone();
        f(&mut c);
        if c != before {
            self.put_conv(&c)?;
        }
        Ok(Some(c))
    }

    pub fn mark_read(&self, conv: &ConvKey) -> Result<()> {
        self.edit_conv(conv, |c| c.unread = 0).map(|_| ())
    }

    pub fn mark_unread(&self, conv: &ConvKey) -> Result<()> {
        self.edit_conv(conv, |c| c.unread = c.unread.max(1))
            .map(|_| ())
    }

    pub fn set_status(
        &self,
        conv: &ConvKey,
        status: ConvStatus,
        snooze_until: Option<TimestampMs>,
    ) -> Result<()> {
        self.edit_conv(conv, |c| {
            c.status = status;
            c.snooze_until = if status == ConvStatus::Snoozed {
                snooze_until
            } else {
                None
            };
        })
        .map(|_| ())
    }

    /// Reopen snoozed conversations whose time has come. Returns how many.
    pub fn wake_snoozed(&self, now: TimestampMs) -> Result<usize> {
        let due: Vec<ConvKey> = self
            .all_conversations()
            .filter_map(|c| c.ok())
            .filter(|c| c.status == ConvStatus::Snoozed && c.snooze_until.is_some_and(|t| t <= now))
            .map(|c| c.key)
            .collect();
        for k in &due {
            self.set_status(k, ConvStatus::Open, None)?;
        }
        Ok(due.len())
    }

    /// Record a profile fetch result.
    pub fn profile_fetched(
        &self,
        conv: &ConvKey,
        profile: Option<Contact>,
        now: TimestampMs,
    ) -> Result<()> {
        let mut c = self
            .contact(conv)?
            .unwrap_or_else(|| Contact::new(conv.clone(), "profile"));
        match profile {
            Some(p) => {
                c.name = p.name.or(c.name);
                c.first_name = p.first_name.or(c.first_name);
                c.last_name = p.last_name.or(c.last_name);
                c.username = p.username.or(c.username);
                c.profile_pic = p.profile_pic.or(c.profile_pic);
                c.profile_state = ProfileState::Fetched;
                c.source = "profile".into();
            }
            None => {
                c.profile_state = ProfileState::Failed;
                c.fetch_attempts += 1;
            }
        }
        c.fetched_at = Some(now);
        self.put_contact(&c)
    }

    /// Tell subscribers something went wrong (status bar).
    pub fn report_error(&self, text: impl Into<String>) {
        self.publish(Update::Error(text.into()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::change::Change;
    use crate::domain::Direction;

    fn inbound(store: &Store, user: &str, mid: &str, t: i64) {
        let conv = ConvKey::new(Platform::Messenger, "P1", user);
        let mut m = Message::inbound(conv, Mid::from(mid), TimestampMs(t));
        m.text = Some("hi".into());
        assert_eq!(m.direction, Direction::In);
        store
            .apply(&[Change::Message {
                msg: m,
                metadata: None,
                qualifying: true,
                from_sync: false,
            }])
            .expect("apply");
    }

    #[test]
    fn unread_counts_cover_every_conversation() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Store::open(dir.path(), 16, "test").expect("open");
        assert!(store.unread_counts().expect("scan").is_empty());
        // More conversations than any list window would show.
        for i in 0..300 {
            inbound(&store, &format!("U{i}"), &format!("m{i}"), 1_000 + i);
        }
        inbound(&store, "U7", "m7b", 5_000);
        let key = |u: &str| ConvKey::new(Platform::Messenger, "P1", u);
        store.mark_read(&key("U3")).expect("read");
        store.mark_read(&key("U4")).expect("read");
        store.mark_unread(&key("U4")).expect("unread");
        let counts: std::collections::HashMap<ConvKey, u32> =
            store.unread_counts().expect("scan").into_iter().collect();
        assert_eq!(counts.len(), 299, "all but the one marked read");
        assert_eq!(counts.get(&key("U7")), Some(&2));
        assert_eq!(counts.get(&key("U4")), Some(&1));
        assert_eq!(counts.get(&key("U299")), Some(&1));
        assert!(!counts.contains_key(&key("U3")));
    }
}
