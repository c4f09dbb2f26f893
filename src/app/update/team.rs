//! The team's keys: take, assign, unassign, labels, priority, the assignee
//! view, the label filter, the priority order, and opening a private note.
//! Each names and acts on one target: `list::target` (the open
//! conversation from the thread or composer, the selected row from the list).

use super::list::{filter_changed, open_selected, target};
use super::status::info;
use super::team_requests::{ask, Ask};
use crate::app::command::Command;
use crate::app::keymap::Action;
use crate::app::state::*;
use crate::app::team::ANY_LABEL;
use crate::domain::Conversation;
use crate::filter::AssigneeFilter;
use crate::team::{AgentName, Priority};
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

/// The team's actions in the list and thread (keys.rs hands them here).
pub(super) const TEAM: &[Action] = &[
    Action::Take,
    Action::Assign,
    Action::Unassign,
    Action::AssigneeView,
    Action::FilterLabel,
    Action::Label,
    Action::Priority,
    Action::Sort,
    Action::Note,
];

pub(super) fn team_key(s: &mut State, action: Action, out: &mut Vec<Command>) {
    match action {
        Action::Take => {
            let Some(c) = target(s) else { return };
            let Some(me) = me(s) else { return };
            if c.assignee.as_ref() == Some(&me) {
                info(s, Level::Info, &format!("{}: already yours", c.name));
                return;
            }
            let msg = match &c.assignee {
                Some(other) => format!("{}: taking over from {other}…", c.name),
                None => format!("{}: assigning to you…", c.name),
            };
            info(s, Level::Info, &msg);
            ask(s, Ask::Assign(c, Some(me)), out);
        }
        Action::Unassign => {
            let Some(c) = target(s) else { return };
            if c.assignee.is_none() {
                info(s, Level::Info, &format!("{}: not assigned", c.name));
                return;
            }
            info(s, Level::Info, &format!("{}: unassigning…", c.name));
            ask(s, Ask::Assign(c, None), out);
        }
        Action::Assign => {
            let Some(c) = target(s) else { return };
            let options = agents(s).into_iter().map(|a| a.0).collect();
            let mut p = Picker::new(PickKind::Assign(Box::new(c)), options);
            p.free_form = true;
            s.overlay = Some(Overlay::Pick(Box::new(p)));
        }
        Action::Label => {
            let Some(c) = target(s) else { return };
            let mut options = labels(s);
            for l in &c.labels {
                if !options.contains(l) {
                    options.push(l.clone());
                }
            }
            let mut p = Picker::new(PickKind::Label(Box::new(c)), options);
            p.free_form = true;
            s.overlay = Some(Overlay::Pick(Box::new(p)));
        }
        Action::Priority => {
            let Some(c) = target(s) else { return };
            let options = Priority::ALL.iter().map(|p| p.to_string()).collect();
            let current = Priority::ALL
                .iter()
                .position(|p| *p == c.priority)
                .unwrap_or(0);
            let mut p = Picker::new(PickKind::Priority(Box::new(c)), options);
            p.selected = current;
            s.overlay = Some(Overlay::Pick(Box::new(p)));
        }
        Action::FilterLabel => {
            let mut options = vec![ANY_LABEL.to_string()];
            options.extend(labels(s));
            let current = s
                .list
                .filter
                .label
                .as_ref()
                .and_then(|l| options.iter().position(|o| o == l))
                .unwrap_or(0);
            let mut p = Picker::new(PickKind::LabelFilter, options);
            p.selected = current;
            s.overlay = Some(Overlay::Pick(Box::new(p)));
        }
        Action::AssigneeView => {
            s.list.filter.assignee = match (&s.list.filter.assignee, s.opts.me.as_deref()) {
                (AssigneeFilter::Any, Some(me)) => AssigneeFilter::Mine(AgentName::new(me)),
                (AssigneeFilter::Any, None) | (AssigneeFilter::Mine(_), _) => {
                    AssigneeFilter::Unassigned
                }
                (AssigneeFilter::Unassigned, _) => AssigneeFilter::Any,
            };
            filter_changed(s, out);
        }
        Action::Sort => {
            s.list.sort = match s.list.sort {
                Sort::Activity => Sort::Priority,
                Sort::Priority => Sort::Activity,
            };
            sort_rows(s);
            let msg = match s.list.sort {
                Sort::Priority => "sorted by priority (the rows on screen; then by activity)",
                Sort::Activity => "sorted by activity",
            };
            info(s, Level::Info, msg);
        }
        Action::Note => {
            open_selected(s, out);
            if s.thread.is_some() {
                start_note(s);
                s.focus = Focus::Composer;
            }
        }
        _ => {}
    }
}

/// This agent's name, or an error notice that it is unknown.
fn me(s: &mut State) -> Option<AgentName> {
    let me = s.opts.me.clone().map(AgentName::new);
    if me.is_none() {
        info(
            s,
            Level::Error,
            "who you are is unknown here (no Unix user name): cannot take",
        );
    }
    me
}

/// Whom a conversation can go to: `[team] agents`, then agents seen at work.
pub(super) fn agents(s: &State) -> Vec<AgentName> {
    let mut v = s.opts.agents.clone();
    let seen = s.team.known_agents.iter();
    let me = s.opts.me.iter().map(|m| AgentName::new(m.as_str()));
    for a in me.chain(seen.cloned()) {
        if !v.contains(&a) {
            v.push(a);
        }
    }
    v
}

/// `[labels]`, then labels seen in use.
fn labels(s: &State) -> Vec<String> {
    let mut v: Vec<String> = s.opts.labels.keys().cloned().collect();
    for l in &s.team.labels_seen {
        if !v.contains(l) {
            v.push(l.clone());
        }
    }
    v
}

/// Keys in a picker: type to complete, ↑/↓ choose, tab fills the choice
/// in, enter takes it, esc closes.
pub(super) fn pick_key(
    s: &mut State,
    mut p: Box<Picker>,
    k: KeyEvent,
    out: &mut Vec<Command>,
) -> Option<Overlay> {
    let ctrl = k.modifiers.contains(KeyModifiers::CONTROL);
    match k.code {
        KeyCode::Esc => return None,
        KeyCode::Enter => {
            let choice = p.current().map(str::to_string);
            return match choice {
                Some(choice) => {
                    picked(s, p.kind, choice, out);
                    None
                }
                None => Some(Overlay::Pick(p)),
            };
        }
        KeyCode::Down => p.selected = (p.selected + 1).min(p.matches().len().saturating_sub(1)),
        KeyCode::Char('n') if ctrl => {
            p.selected = (p.selected + 1).min(p.matches().len().saturating_sub(1))
        }
        KeyCode::Up => p.selected = p.selected.saturating_sub(1),
        KeyCode::Char('p') if ctrl => p.selected = p.selected.saturating_sub(1),
        KeyCode::Tab => {
            if let Some(c) = p.current().map(str::to_string) {
                p.query = c;
                p.selected = 0;
            }
        }
        KeyCode::Backspace => {
            p.query.pop();
            p.selected = 0;
        }
        KeyCode::Char(c) if !ctrl => {
            p.query.push(c);
            p.selected = 0;
        }
        _ => {}
    }
    Some(Overlay::Pick(p))
}

fn picked(s: &mut State, kind: PickKind, choice: String, out: &mut Vec<Command>) {
    match kind {
        PickKind::Assign(c) => {
            let to = AgentName::new(choice);
            if c.assignee.as_ref() == Some(&to) {
                info(s, Level::Info, &format!("{}: already {to}'s", c.name));
                return;
            }
            info(s, Level::Info, &format!("{}: assigning to {to}…", c.name));
            ask(s, Ask::Assign(*c, Some(to)), out);
        }
        PickKind::Label(c) => {
            if let Err(e) = crate::change::check_label(&choice) {
                info(s, Level::Error, &e);
                return;
            }
            let has = c.labels.contains(&choice);
            let msg = if has {
                format!("{}: label -{choice}", c.name)
            } else {
                format!("{}: label +{choice}", c.name)
            };
            info(s, Level::Info, &msg);
            s.team.labels_seen.insert(choice.clone());
            ask(s, Ask::Label(*c, choice, !has), out);
        }
        PickKind::Priority(c) => {
            let Some(p) = Priority::parse(&choice) else {
                return;
            };
            info(s, Level::Info, &format!("{}: priority {p}", c.name));
            ask(s, Ask::Priority(*c, p), out);
        }
        PickKind::LabelFilter => {
            s.list.filter.label = (choice != ANY_LABEL).then_some(choice);
            filter_changed(s, out);
        }
    }
}

/// With "by priority", the loaded rows are ordered by priority, highest
/// first, keeping the store's order (activity) among equals. The store
/// has no priority order, so this sorts the window on screen only.
pub(super) fn sort_rows(s: &mut State) {
    if s.list.sort == Sort::Priority {
        s.list.rows.sort_by_key(|c| std::cmp::Reverse(c.priority));
    }
}

/// The composer becomes a private note's, keeping a reply being written.
pub(super) fn start_note(s: &mut State) {
    if s.composer.mode == ComposeMode::Note {
        return;
    }
    let reply = s.composer.text();
    s.team.reply_stash = (!reply.is_empty()).then_some(reply);
    s.composer = Composer::note();
}

/// Back to the reply (after a note was saved or abandoned), with the reply
/// that was being written.
pub(super) fn end_note(s: &mut State) {
    if s.composer.mode != ComposeMode::Note {
        return;
    }
    let reply = s.team.reply_stash.take().unwrap_or_default();
    s.composer = Composer::default();
    if !reply.is_empty() {
        s.composer.set_text(&reply);
    }
}

/// Tab in a note: complete the `@name` before the cursor from the agents.
pub(super) fn complete_mention(s: &mut State) {
    let ratatui_textarea::DataCursor(row, col) = s.composer.textarea.cursor();
    let Some(line) = s.composer.textarea.lines().get(row) else {
        return;
    };
    let before: String = line.chars().take(col).collect();
    let Some(at) = before.rfind('@') else {
        info(s, Level::Info, "type @ and the start of a name, then tab");
        return;
    };
    let partial = &before[at + 1..];
    if partial
        .chars()
        .any(|c| !(c.is_alphanumeric() || matches!(c, '_' | '-' | '.')))
    {
        return;
    }
    let names: Vec<String> = agents(s)
        .into_iter()
        .map(|a| a.0)
        .filter(|a| a.starts_with(partial))
        .collect();
    let Some(first) = names.first() else {
        info(s, Level::Error, &format!("no agent starts with @{partial}"));
        return;
    };
    // The longest start all candidates share.
    let common = names.iter().fold(first.clone(), |acc, n| {
        acc.chars()
            .zip(n.chars())
            .take_while(|(a, b)| a == b)
            .map(|(a, _)| a)
            .collect()
    });
    let rest = &common[partial.len()..];
    if names.len() == 1 {
        s.composer.textarea.insert_str(format!("{rest} "));
    } else {
        s.composer.textarea.insert_str(rest);
        let msg = format!("@: {}", names.join(", "));
        info(s, Level::Info, &msg);
    }
}

/// Whether a customer's new message here rings this agent's bell: not
/// when the conversation is someone else's (only its assignee's rings).
pub(super) fn rings_here(s: &State, conv: &crate::domain::ConvKey) -> bool {
    match s.team.assignees.get(conv) {
        Some(a) => s.opts.me.as_deref() == Some(a.as_str()),
        None => true,
    }
}

/// Remember what rows and updates say about the team.
pub(super) fn saw(s: &mut State, c: &Conversation) {
    s.team.saw(c);
}
