//! The inbox service's answer to the bulk popup's `BulkPreview`, for tests
//! of the pure update that have no service: the campaign's own pure rule
//! (`send::campaign::preview`, what the service runs over the store's
//! facts) over the marked rows and the pages the UI knows.

use dmdesk::app::command::Command;
use dmdesk::app::event::{Event, Reply};
use dmdesk::app::{update, State};
use dmdesk::inbox::{Audience, BulkContent, Request};
use dmdesk::rules::eligibility::Pages;
use dmdesk::send::campaign::{self, Known};

/// Answer every `BulkPreview` among `cmds`; whether there was one.
pub fn answer_bulk(s: &mut State, cmds: &[Command]) -> bool {
    let mut answered = false;
    for c in cmds {
        let Command::Inbox(Request::BulkPreview {
            audience: Audience::Listed(keys),
            content: BulkContent::Text { text, tag },
        }) = c
        else {
            continue;
        };
        let pages = Pages::new(s.opts.pages.clone());
        let known: Vec<Known> = keys
            .iter()
            .map(|k| Known {
                key: k.clone(),
                conv: s.marked.get(k).cloned(),
                contact: None,
            })
            .collect();
        let p = campaign::preview(&pages, &known, text, *tag, s.now);
        update(s, Event::Inbox(Reply::BulkPreview(Box::new(p))));
        answered = true;
    }
    answered
}
