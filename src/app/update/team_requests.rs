//! TEMPORARY until team-core's requests are merged.
use crate::app::command::Command;
use crate::app::state::*;
use crate::domain::{ConvKey, Conversation};
use crate::team::{AgentName, Priority};
#[allow(dead_code)]
pub(super) enum Ask {
    Assign(Conversation, Option<AgentName>),
    Label(Conversation, String, bool),
    Priority(Conversation, Priority),
    Note(ConvKey, String),
}
pub(super) fn ask(_s: &mut State, _a: Ask, _out: &mut Vec<Command>) {}
pub(super) fn mail(_s: &mut State, _items: Vec<crate::team::MailItem>, _out: &mut Vec<Command>) {}
