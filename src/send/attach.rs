//! A file as a message: the same outbox record, metadata and echo binding
//! as a text, so it is sent exactly once like one; the thread shows it as
//! an attachment of its kind (with the file's name) while it is pending.
//! The record keeps no copy of the file, so a failed one is not retried:
//! the agent sends the file again.

use super::media::{Media, MediaKind};
use super::reply::{prepare_reply, send_record_as, SendCtx, SendError};
use super::window::{Refusal, Tag};
use crate::change::Change;
use crate::db::Db;
use crate::domain::{
    Attachment, ConvKey, Direction, Message, Mid, MsgStatus, Origin, Platform, TimestampMs,
};
use crate::meta::graph::Outgoing;
use crate::store::{OutboxRecord, Result, StoreError};

/// Instagram takes media only by URL (meta-api.md, Instagram differences):
/// refused before anything is read or recorded.
pub fn check_platform(platform: Platform) -> std::result::Result<(), Refusal> {
    match platform {
        Platform::Messenger => Ok(()),
        Platform::Instagram => Err(Refusal(
            "Instagram takes media only by URL and dmdesk cannot serve files yet; send a link in --text instead".into(),
        )),
    }
}

/// Write the outbox record and its pending thread message carrying the
/// attachment, in one atomic apply.
#[allow(clippy::too_many_arguments)]
pub fn create_outbound_file(
    store: &Db,
    conv: &ConvKey,
    kind: MediaKind,
    name: &str,
    tag: Option<&str>,
    agent: Option<&str>,
    campaign: Option<&str>,
    now: TimestampMs,
) -> Result<OutboxRecord> {
    let id = format!("o{:x}", store.next_id()?);
    // The record's text stays empty (a file record); the message queued
    // with it gets the attachment merged in by the second change.
    let local = Mid(format!("local:{id}"));
    let mut msg = Message::inbound(conv.clone(), local, now);
    msg.direction = Direction::Out;
    msg.status = MsgStatus::Pending;
    msg.origin = Some(Origin::Dmdesk);
    msg.attachments = vec![Attachment {
        kind: kind.as_str().to_string(),
        url: None,
        title: Some(name.to_string()),
    }];
    store.apply(&[
        Change::OutboundQueued {
            id: id.clone(),
            conv: conv.clone(),
            text: String::new(),
            tag: tag.map(str::to_string),
            agent: agent.map(str::to_string),
            campaign: campaign.map(str::to_string),
            at: now,
        },
        Change::Message {
            msg,
            metadata: None,
            qualifying: false,
            from_sync: false,
        },
    ])?;
    store
        .outbox_get(&id)?
        .ok_or_else(|| StoreError::NotFound(format!("outbox record {id} vanished")))
}

/// Send a file as a person's reply: the same checks as a text (window,
/// tag, token) but the text rules, then one multipart Send API call.
pub async fn reply_file(
    ctx: &SendCtx,
    key: &ConvKey,
    media: &Media,
    tag: Option<Tag>,
    agent: Option<&str>,
) -> std::result::Result<Mid, SendError> {
    check_platform(key.platform).map_err(SendError::Refused)?;
    let now = TimestampMs::now();
    let prep = prepare_reply(ctx, key, None, tag, now)?;
    let rec = create_outbound_file(
        &ctx.store,
        key,
        media.kind,
        &media.name,
        tag.map(Tag::as_str),
        agent,
        None,
        now,
    )?;
    ctx.store.durable().await;
    send_record_as(ctx, &rec, &prep, Outgoing::Upload(media)).await
}
