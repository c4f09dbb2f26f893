//! Drafts the store did not take (a database that is down): the data
//! worker keeps them, the newest per conversation, and saves them again
//! every `RETRY` until the store takes them, so an agent's unsent text
//! survives an outage as long as the UI runs.

use super::port::Port;
use crate::app::event::Event;
use crate::domain::ConvKey;
use crate::inbox::Request;
use crate::update::Update;
use std::time::{Duration, Instant};

/// How often kept drafts are offered to the store again.
pub const RETRY: Duration = Duration::from_secs(2);

#[derive(Default)]
pub struct Unsaved {
    drafts: Vec<(ConvKey, String)>,
    last_try: Option<Instant>,
}

impl Unsaved {
    /// Run one draft save; on failure keep the draft and say so.
    pub fn save(&mut self, port: &dyn Port, conv: ConvKey, text: String) -> Option<Event> {
        // A newer text of the conversation replaces a kept one either way.
        self.drafts.retain(|(c, _)| *c != conv);
        match offer(port, &conv, &text) {
            Ok(()) => None,
            Err(e) => {
                tracing::warn!(error = %e, "draft not saved; kept to save again");
                self.drafts.push((conv, text));
                self.last_try = Some(Instant::now());
                Some(Event::Update(Update::Error(format!(
                    "{e}; the draft is kept and saved when the store is back"
                ))))
            }
        }
    }

    /// When the kept drafts are next offered again (None: there are none).
    pub fn due(&self) -> Option<Instant> {
        if self.drafts.is_empty() {
            return None;
        }
        Some(self.last_try.map_or_else(Instant::now, |t| t + RETRY))
    }

    /// Offer every kept draft again; a notice once all are saved.
    pub fn retry(&mut self, port: &dyn Port) -> Option<Event> {
        self.last_try = Some(Instant::now());
        let before = self.drafts.len();
        self.drafts
            .retain(|(conv, text)| offer(port, conv, text).is_err());
        (self.drafts.is_empty() && before > 0).then(|| {
            Event::Update(Update::Notice(format!(
                "the store is back: {before} kept draft{} saved",
                if before == 1 { "" } else { "s" }
            )))
        })
    }
}

/// Ask the store to save one draft.
fn offer(port: &dyn Port, conv: &ConvKey, text: &str) -> Result<(), String> {
    port.call(Request::SaveDraft {
        conv: conv.clone(),
        text: text.to_string(),
    })
    .map(drop)
}
