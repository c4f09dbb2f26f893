//! What an apply adds to the index and how far a one-time build got: the
//! same for every backend.

use super::Signature;
use crate::domain::{ConvKey, Message};
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

/// Off only in the search benchmark, to measure apply without the index
/// in the same process (never turned off by dmdesk itself).
static INDEXING: AtomicBool = AtomicBool::new(true);

#[doc(hidden)]
pub fn bench_set_indexing(on: bool) {
    INDEXING.store(on, Ordering::Relaxed);
}

/// Texts an apply added, by conversation: merged into the stored
/// signatures once at commit (one read and one write a conversation, not
/// one a message or a gram).
#[derive(Debug, Default)]
pub struct Pending(HashMap<ConvKey, Signature>);

impl Pending {
    /// A new message, or an edited one's new text (unsent ones add nothing).
    pub fn add(&mut self, m: &Message) {
        if !INDEXING.load(Ordering::Relaxed) {
            return;
        }
        if let Some(t) = m.text.as_deref().filter(|_| !m.deleted) {
            self.0.entry(m.conv.clone()).or_default().add_text(t);
        }
    }

    pub fn take(&mut self) -> HashMap<ConvKey, Signature> {
        std::mem::take(&mut self.0)
    }
}

/// Progress of the one-time indexing of messages stored before the index
/// existed (None: not building). Shared with the thread or task doing it.
#[derive(Debug, Clone, Default)]
pub struct BuildProgress(Arc<Mutex<Option<u8>>>);

impl BuildProgress {
    pub fn set(&self, v: Option<u8>) {
        *self.0.lock().unwrap_or_else(|e| e.into_inner()) = v;
    }

    pub fn get(&self) -> Option<u8> {
        *self.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// `done` of `total` as a percentage below 100 (100 is "finished").
    pub fn set_part(&self, done: u64, total: u64) {
        self.set(Some((done * 100 / total.max(1)).min(99) as u8));
    }
}
