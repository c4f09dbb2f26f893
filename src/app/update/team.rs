//! The team's keys: take, assign, unassign, labels, priority, the assignee
//! view, the label filter, the priority order, and opening a private note.
//! Each names and acts on one target: `list::target` (the open
//! conversation from the thread or composer, the selected row from the list).

use super::list::{filter_changed, sort_rows, target};
use super::note::{agents, start_note};
use super::status::info;
use super::team_requests::{ask, Ask};
use super::thread::open_selected;
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
                info(
                    s,
                    Level::Info,
                    &format!("{}: already yours", crate::app::names::who(s, &c)),
                );
                return;
            }
            let msg = match &c.assignee {
                Some(other) => format!(
                    "{}: taking over from {other}…",
                    crate::app::names::who(s, &c)
                ),
                None => format!("{}: assigning to you…", crate::app::names::who(s, &c)),
            };
            info(s, Level::Info, &msg);
            ask(s, Ask::Assign(c, Some(me)), out);
        }
        Action::Unassign => {
            let Some(c) = target(s) else { return };
            if c.assignee.is_none() {
                info(
                    s,
                    Level::Info,
                    &format!("{}: not assigned", crate::app::names::who(s, &c)),
                );
                return;
            }
            info(
                s,
                Level::Info,
                &format!("{}: unassigning…", crate::app::names::who(s, &c)),
            );
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
            // The store orders the whole list; the rows on screen are
            // sorted at once so the key answers before the reload does.
            s.list.filter.order = match s.list.sort {
                Sort::Priority => {
                    sort_rows(s);
                    crate::filter::ListOrder::Priority
                }
                Sort::Activity => crate::filter::ListOrder::Activity,
            };
            out.push(super::list::load_list(s, false));
            let msg = match s.list.sort {
                Sort::Priority => "sorted by priority, then by activity",
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
                info(
                    s,
                    Level::Info,
                    &format!("{}: already {to}'s", crate::app::names::who(s, &c)),
                );
                return;
            }
            info(
                s,
                Level::Info,
                &format!("{}: assigning to {to}…", crate::app::names::who(s, &c)),
            );
            ask(s, Ask::Assign(*c, Some(to)), out);
        }
        PickKind::Label(c) => {
            if let Err(e) = crate::change::check_label(&choice) {
                info(s, Level::Error, &e);
                return;
            }
            let has = c.labels.contains(&choice);
            let msg = if has {
                format!("{}: label -{choice}", crate::app::names::who(s, &c))
            } else {
                format!("{}: label +{choice}", crate::app::names::who(s, &c))
            };
            info(s, Level::Info, &msg);
            s.team.labels_seen.insert(choice.clone());
            ask(s, Ask::Label(*c, choice, !has), out);
        }
        PickKind::Priority(c) => {
            let Some(p) = Priority::parse(&choice) else {
                return;
            };
            info(
                s,
                Level::Info,
                &format!("{}: priority {p}", crate::app::names::who(s, &c)),
            );
            ask(s, Ask::Priority(*c, p), out);
        }
        PickKind::LabelFilter => {
            s.list.filter.label = (choice != ANY_LABEL).then_some(choice);
            filter_changed(s, out);
        }
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

#[cfg(test)]
mod tests {
    use crate::app::command::Command;
    use crate::app::event::{Event, Reply};
    use crate::app::fixtures::{self as fx, NOW};
    use crate::app::state::*;
    use crate::app::update;
    use crate::domain::*;
    use crate::filter::AssigneeFilter;
    use crate::request::{AssignTo, Assigned, Request};
    use crate::team::{AgentName, HistoryEvent, HistoryKind, MailItem, MailKind, Note, Priority};
    use crate::update::Update;
    use ratatui::crossterm::event::KeyCode;

    fn owned_by(mut c: Conversation, who: Option<&str>) -> Conversation {
        c.assignee = who.map(AgentName::from);
        c
    }

    fn inbox_requests(cmds: &[Command]) -> Vec<&Request> {
        cmds.iter()
            .filter_map(|c| match c {
                Command::Inbox(r) => Some(r),
                _ => None,
            })
            .collect()
    }

    fn notice(s: &State) -> (Level, String) {
        s.status.message.clone().expect("a status-bar notice")
    }

    #[test]
    fn take_on_a_colleagues_row_takes_it_over_and_says_whose_it_was() {
        let mut s = fx::state(100, 30);
        let rows = fx::three();
        let bobs = owned_by(rows[0].clone(), Some("bob"));
        fx::load_rows(&mut s, vec![bobs.clone(), rows[1].clone(), rows[2].clone()]);
        let cmds = fx::press(&mut s, KeyCode::Char('T'));
        assert_eq!(
            inbox_requests(&cmds),
            [&Request::Assign {
                conv: bobs.key.clone(),
                to: AssignTo::Me,
                expect: Some("bob".into()),
            }]
        );
        assert_eq!(
            notice(&s).1,
            format!("{}: taking over from bob…", bobs.name)
        );
        update(
            &mut s,
            Event::Inbox(Reply::Assigned(Assigned::Done {
                conv: bobs.key.clone(),
                from: Some("bob".into()),
                to: Some("alice".into()),
            })),
        );
        assert_eq!(
            notice(&s),
            (
                Level::Info,
                format!("{}: taken over — it was bob's", bobs.name)
            )
        );
    }

    /// The wave-2 trial's defect: a refused assignment (an error, no
    /// `Assigned` answer) left later answers naming the conversation before.
    #[test]
    fn after_a_refused_assignment_the_next_answer_names_its_own_conversation() {
        let mut s = fx::state(100, 30);
        let rows = fx::three();
        fx::load_rows(&mut s, rows.clone());
        assert_eq!(
            inbox_requests(&fx::press(&mut s, KeyCode::Char('T'))).len(),
            1
        );
        update(
            &mut s,
            Event::Update(crate::update::Update::Error(
                "`bob` is not an agent: name one from [team] agents or a Unix user".into(),
            )),
        );
        fx::press(&mut s, KeyCode::Char('j'));
        let cmds = fx::press(&mut s, KeyCode::Char('T'));
        assert!(
            matches!(inbox_requests(&cmds)[..], [Request::Assign { conv, .. }] if conv == &rows[1].key),
            "T asks for the row under the cursor: {cmds:?}"
        );
        update(
            &mut s,
            Event::Inbox(Reply::Assigned(Assigned::Done {
                conv: rows[1].key.clone(),
                from: None,
                to: Some("alice".into()),
            })),
        );
        assert_eq!(
            notice(&s),
            (Level::Info, format!("{}: assigned to you", rows[1].name))
        );
    }

    #[test]
    fn the_loser_of_two_takes_is_told_who_won() {
        let mut s = fx::state(100, 30);
        fx::load_rows(&mut s, fx::three());
        let c = s.list.rows[0].clone();
        let cmds = fx::press(&mut s, KeyCode::Char('T'));
        assert!(matches!(
            inbox_requests(&cmds)[..],
            [Request::Assign {
                expect: None,
                to: AssignTo::Me,
                ..
            }]
        ));
        update(
            &mut s,
            Event::Inbox(Reply::Assigned(Assigned::Taken {
                conv: c.key.clone(),
                current: Some("carol".into()),
            })),
        );
        assert_eq!(
            notice(&s),
            (
                Level::Error,
                format!("{}: carol took it first — it is carol's now", c.name)
            )
        );
        // Taking one's own does not ask.
        let mut s = fx::state(100, 30);
        fx::load_rows(&mut s, vec![owned_by(c, Some("alice"))]);
        assert!(inbox_requests(&fx::press(&mut s, KeyCode::Char('T'))).is_empty());
        assert!(notice(&s).1.ends_with("already yours"));
    }

    #[test]
    fn from_the_thread_team_keys_act_on_the_open_conversation_not_the_row() {
        let mut s = fx::state(100, 30);
        let rows = fx::three();
        fx::load_rows(&mut s, rows.clone());
        let open = owned_by(rows[2].clone(), Some("alice"));
        fx::open_with(&mut s, open.clone(), vec![]);
        s.focus = Focus::Thread;
        // The list's cursor is on row 0; X unassigns the open one.
        let cmds = fx::press(&mut s, KeyCode::Char('X'));
        assert_eq!(
            inbox_requests(&cmds),
            [&Request::Assign {
                conv: open.key.clone(),
                to: AssignTo::Nobody,
                expect: Some("alice".into()),
            }]
        );
        update(
            &mut s,
            Event::Inbox(Reply::Assigned(Assigned::Done {
                conv: open.key.clone(),
                from: Some("alice".into()),
                to: None,
            })),
        );
        assert_eq!(
            notice(&s).1,
            format!("{}: unassigned (was alice's)", open.name)
        );
    }

    #[test]
    fn assign_picks_an_agent_with_completion() {
        let mut s = fx::state(100, 30);
        fx::load_rows(&mut s, fx::three());
        let c = s.list.rows[1].clone();
        fx::press(&mut s, KeyCode::Char('j'));
        fx::press(&mut s, KeyCode::Char('@'));
        let Some(Overlay::Pick(p)) = &s.overlay else {
            panic!("the assign picker: {:?}", s.overlay)
        };
        assert_eq!(p.options, ["alice", "bob", "carol"]);
        fx::typ(&mut s, "ca");
        let cmds = fx::press(&mut s, KeyCode::Enter);
        assert!(s.overlay.is_none());
        assert_eq!(
            inbox_requests(&cmds),
            [&Request::Assign {
                conv: c.key,
                to: AssignTo::Agent("carol".into()),
                expect: None,
            }]
        );
        // Esc closes without asking.
        fx::press(&mut s, KeyCode::Char('@'));
        assert!(inbox_requests(&fx::press(&mut s, KeyCode::Esc)).is_empty());
        assert!(s.overlay.is_none());
    }

    #[test]
    fn labels_are_added_and_removed_with_completion_and_checked() {
        let mut s = fx::state(100, 30);
        let mut rows = fx::three();
        rows[0].labels = vec!["vip".into()];
        rows[1].labels = vec!["shipping".into()];
        fx::load_rows(&mut s, rows.clone());
        let key = rows[0].key.clone();
        // Completion from [labels] and labels in use.
        fx::press(&mut s, KeyCode::Char('+'));
        let Some(Overlay::Pick(p)) = &s.overlay else {
            panic!("the label picker")
        };
        assert_eq!(p.options, ["refund", "vip", "shipping"]);
        fx::typ(&mut s, "sh");
        let cmds = fx::press(&mut s, KeyCode::Enter);
        assert_eq!(
            inbox_requests(&cmds),
            [&Request::Labels {
                conv: key.clone(),
                add: vec!["shipping".into()],
                remove: vec![],
            }]
        );
        // A label it has comes off.
        fx::press(&mut s, KeyCode::Char('+'));
        fx::typ(&mut s, "vip");
        let cmds = fx::press(&mut s, KeyCode::Enter);
        assert_eq!(
            inbox_requests(&cmds),
            [&Request::Labels {
                conv: key.clone(),
                add: vec![],
                remove: vec!["vip".into()],
            }]
        );
        // A new one is free-form; one with a space is refused.
        fx::press(&mut s, KeyCode::Char('+'));
        fx::typ(&mut s, "late-delivery");
        let cmds = fx::press(&mut s, KeyCode::Enter);
        assert!(matches!(
            inbox_requests(&cmds)[..],
            [Request::Labels { add, .. }] if add == &["late-delivery".to_string()]
        ));
        fx::press(&mut s, KeyCode::Char('+'));
        fx::typ(&mut s, "two words");
        let cmds = fx::press(&mut s, KeyCode::Enter);
        assert!(inbox_requests(&cmds).is_empty());
        assert_eq!(notice(&s).0, Level::Error);
    }

    #[test]
    fn priority_is_set_from_its_picker() {
        let mut s = fx::state(100, 30);
        fx::load_rows(&mut s, fx::three());
        let c = s.list.rows[0].clone();
        fx::press(&mut s, KeyCode::Char('P'));
        fx::typ(&mut s, "hi");
        let cmds = fx::press(&mut s, KeyCode::Enter);
        assert_eq!(
            inbox_requests(&cmds),
            [&Request::SetPriority {
                conv: c.key,
                priority: Priority::High,
            }]
        );
        assert_eq!(notice(&s).1, format!("{}: priority high", c.name));
    }

    #[test]
    fn the_assignee_view_cycles_mine_unassigned_all_and_reloads() {
        let mut s = fx::state(100, 30);
        fx::load_rows(&mut s, fx::three());
        let g = s.list.generation;
        let cmds = fx::press(&mut s, KeyCode::Char('m'));
        assert_eq!(s.list.filter.assignee, AssigneeFilter::Mine("alice".into()));
        assert!(matches!(
            inbox_requests(&cmds)[..],
            [Request::List { filter, count: true, generation, .. }]
                if filter.assignee == AssigneeFilter::Mine("alice".into()) && *generation == g + 1
        ));
        fx::press(&mut s, KeyCode::Char('m'));
        assert_eq!(s.list.filter.assignee, AssigneeFilter::Unassigned);
        fx::press(&mut s, KeyCode::Char('m'));
        assert_eq!(s.list.filter.assignee, AssigneeFilter::Any);
        // `c` clears filters, and the assignee view is one.
        fx::press(&mut s, KeyCode::Char('m'));
        fx::press(&mut s, KeyCode::Char('c'));
        assert_eq!(s.list.filter.assignee, AssigneeFilter::Any);
    }

    #[test]
    fn the_label_filter_is_picked_and_cleared() {
        let mut s = fx::state(100, 30);
        fx::load_rows(&mut s, fx::three());
        fx::press(&mut s, KeyCode::Char('#'));
        fx::typ(&mut s, "ref");
        let cmds = fx::press(&mut s, KeyCode::Enter);
        assert_eq!(s.list.filter.label.as_deref(), Some("refund"));
        assert!(matches!(
            inbox_requests(&cmds)[..],
            [Request::List { filter, .. }] if filter.label.as_deref() == Some("refund")
        ));
        fx::press(&mut s, KeyCode::Char('#'));
        fx::press(&mut s, KeyCode::Up);
        fx::press(&mut s, KeyCode::Enter);
        assert_eq!(s.list.filter.label, None);
    }

    #[test]
    fn sort_by_priority_asks_the_store_for_that_order_and_back_reloads() {
        let mut s = fx::state(100, 30);
        let mut rows = fx::three();
        rows[2].priority = Priority::Urgent;
        rows[1].priority = Priority::Low;
        let names: Vec<String> = rows.iter().map(|c| c.name.clone()).collect();
        fx::load_rows(&mut s, rows.clone());
        let cmds = fx::press(&mut s, KeyCode::Char('O'));
        assert_eq!(s.list.sort, Sort::Priority);
        assert!(matches!(
            &inbox_requests(&cmds)[..],
            [Request::List { filter, .. }] if filter.order == crate::filter::ListOrder::Priority
        ));
        let now: Vec<&str> = s.list.rows.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(now, [&names[2], &names[1], &names[0]]);
        // A reload keeps the order.
        fx::load_rows(&mut s, rows);
        assert_eq!(s.list.rows[0].name, names[2]);
        let cmds = fx::press(&mut s, KeyCode::Char('O'));
        assert_eq!(s.list.sort, Sort::Activity);
        assert!(matches!(
            &inbox_requests(&cmds)[..],
            [Request::List { filter, .. }] if filter.order == crate::filter::ListOrder::Activity
        ));
    }

    #[test]
    fn a_note_has_its_own_composer_completes_mentions_and_keeps_the_reply() {
        let mut s = fx::state(100, 30);
        let c = fx::conv(Platform::Messenger, "u1", "Ann", 5, 0);
        fx::open_with(&mut s, c.clone(), vec![]);
        fx::press(&mut s, KeyCode::Char('i'));
        fx::typ(&mut s, "half a reply");
        fx::press(&mut s, KeyCode::Esc);
        fx::press(&mut s, KeyCode::Char('n'));
        assert_eq!(s.focus, Focus::Composer);
        assert_eq!(s.composer.mode, ComposeMode::Note);
        assert_eq!(s.composer.text(), "");
        fx::typ(&mut s, "refund ok? @b");
        fx::press(&mut s, KeyCode::Tab);
        assert_eq!(s.composer.text(), "refund ok? @bob ");
        let cmds = fx::press(&mut s, KeyCode::Enter);
        assert_eq!(
            inbox_requests(&cmds),
            [
                &Request::Note {
                    conv: c.key.clone(),
                    text: "refund ok? @bob".into(),
                },
                // Saved: the store keeps nothing set aside for it.
                &Request::SaveNoteDraft {
                    conv: c.key.clone(),
                    text: String::new(),
                }
            ]
        );
        // Never a reply job.
        assert!(fx::jobs(&cmds).is_empty());
        assert_eq!(s.composer.mode, ComposeMode::Reply);
        assert_eq!(s.composer.text(), "half a reply");
        assert_eq!(notice(&s).1, "note saved on Ann · tells @bob");
        // The answer puts it in the thread once, even if the bus brings it too.
        let note = Note {
            id: "n1".into(),
            conv: c.key.clone(),
            author: "alice".into(),
            text: "refund ok? @bob".into(),
            at: NOW,
            mentions: vec!["bob".into()],
        };
        update(&mut s, Event::Inbox(Reply::Note(Box::new(note.clone()))));
        update(&mut s, Event::Update(Update::Note(Box::new(note))));
        assert_eq!(s.thread.as_ref().unwrap().notes.len(), 1);
    }

    #[test]
    fn a_draft_saved_while_writing_a_note_is_the_reply() {
        let mut s = fx::state(100, 30);
        let c = fx::conv(Platform::Messenger, "u1", "Ann", 5, 0);
        fx::open_with(&mut s, c.clone(), vec![]);
        fx::press(&mut s, KeyCode::Char('i'));
        fx::typ(&mut s, "the reply");
        fx::press(&mut s, KeyCode::Esc);
        fx::press(&mut s, KeyCode::Char('n'));
        fx::typ(&mut s, "private words");
        let cmds = fx::ctrl(&mut s, 'c');
        assert!(cmds.contains(&Command::Inbox(Request::SaveDraft {
            conv: c.key,
            text: "the reply".into()
        })));
    }

    #[test]
    fn the_bell_rings_only_for_the_assignee_of_an_assigned_conversation() {
        let mut s = fx::state(100, 30);
        let rows = fx::three();
        fx::load_rows(
            &mut s,
            vec![
                owned_by(rows[0].clone(), Some("bob")),
                owned_by(rows[1].clone(), Some("alice")),
                rows[2].clone(),
            ],
        );
        let rings = |s: &mut State, c: &Conversation, mid: &str| {
            let m = fx::inbound(&c.key, mid, 0, "hello?");
            update(s, Event::Update(Update::Message(Box::new(m)))).contains(&Command::Bell)
        };
        assert!(!rings(&mut s, &rows[0], "m1"), "bob's: not alice's bell");
        assert!(rings(&mut s, &rows[1], "m2"), "alice's own");
        assert!(rings(&mut s, &rows[2], "m3"), "nobody's: everyone's");
        // Taken over live: the update moves the bell with it.
        let mut now_alices = owned_by(rows[0].clone(), Some("alice"));
        now_alices.unread = 1;
        update(
            &mut s,
            Event::Update(Update::Conversation(Box::new(now_alices))),
        );
        assert!(rings(&mut s, &rows[0], "m4"));
        // An attached UI's digest: quiet when it names only colleagues'.
        let bobs = owned_by(rows[1].clone(), Some("bob"));
        update(
            &mut s,
            Event::Update(Update::Conversation(Box::new(bobs.clone()))),
        );
        let digest = |changed: Vec<ConvKey>| Update::Digest {
            events: 1,
            inbound: 1,
            changed: changed.into_iter().map(|k| (k, 1)).collect(),
            more: false,
            unread_conversations: None,
        };
        let cmds = update(&mut s, Event::Update(digest(vec![bobs.key.clone()])));
        assert!(!cmds.contains(&Command::Bell));
        let cmds = update(
            &mut s,
            Event::Update(digest(vec![bobs.key.clone(), rows[2].key.clone()])),
        );
        assert!(cmds.contains(&Command::Bell));
    }

    #[test]
    fn mail_for_this_agent_shows_and_is_acknowledged_others_is_not() {
        let mut s = fx::state(100, 30);
        let item = |agent: &str, id: &str, kind| MailItem {
            id: id.into(),
            agent: agent.into(),
            conv: fx::key(Platform::Messenger, "u1"),
            at: NOW,
            by: Some("bob".into()),
            kind,
        };
        let taken = item(
            "alice",
            "a1",
            MailKind::TakenOver {
                to: Some("bob".into()),
            },
        );
        let cmds = update(&mut s, Event::Update(Update::Mail(Box::new(taken))));
        assert_eq!(notice(&s).1, "u1: bob took over your conversation");
        assert_eq!(
            inbox_requests(&cmds),
            [&Request::MailAck {
                ids: vec!["a1".into()]
            }]
        );
        let cmds = update(
            &mut s,
            Event::Update(Update::Mail(Box::new(item(
                "carol",
                "c1",
                MailKind::Assigned,
            )))),
        );
        assert!(inbox_requests(&cmds).is_empty());
        // What waited while away comes on attach, all acknowledged.
        let mention = |id: &str| MailKind::Mention {
            note_id: id.into(),
            text: "@alice look".into(),
        };
        let cmds = update(
            &mut s,
            Event::Inbox(Reply::Mailbox(vec![
                item("alice", "m1", mention("n1")),
                item("alice", "m2", mention("n2")),
            ])),
        );
        assert_eq!(
            inbox_requests(&cmds),
            [&Request::MailAck {
                ids: vec!["m1".into(), "m2".into()]
            }]
        );
        assert!(notice(&s).1.starts_with("2 for you"), "{:?}", notice(&s));
    }

    #[test]
    fn the_urgent_jump_names_the_priority_it_weighed() {
        let mut s = fx::state(100, 30);
        let mut c = fx::conv(Platform::Messenger, "u1", "Ann", 60, 1);
        c.priority = Priority::Urgent;
        update(&mut s, Event::Inbox(Reply::Urgent(Some(Box::new(c)))));
        let (_, msg) = notice(&s);
        assert!(
            msg.starts_with("most urgent: Ann (priority urgent, window closes in"),
            "{msg}"
        );
    }

    #[test]
    fn history_arriving_for_the_open_thread_is_laid_out_once() {
        let mut s = fx::state(100, 30);
        let c = fx::conv(Platform::Messenger, "u1", "Ann", 5, 0);
        fx::open_with(&mut s, c.clone(), vec![fx::inbound(&c.key, "m1", 5, "hi")]);
        let before = s
            .thread
            .as_ref()
            .unwrap()
            .line_count(60, s.opts.zone, s.now);
        let h = HistoryEvent {
            conv: c.key.clone(),
            at: NOW,
            by: Some("bob".into()),
            kind: HistoryKind::Priority {
                from: Priority::None,
                to: Priority::High,
            },
        };
        update(&mut s, Event::Update(Update::History(Box::new(h.clone()))));
        update(&mut s, Event::Update(Update::History(Box::new(h))));
        let t = s.thread.as_ref().unwrap();
        assert_eq!(t.history.len(), 1);
        assert_eq!(t.line_count(60, s.opts.zone, s.now), before + 1);
    }

    #[test]
    fn d_asks_the_owner_for_the_report_and_its_pane_opens_then_any_key_closes_it() {
        let mut s = fx::state(120, 40);
        fx::load_rows(&mut s, fx::three());
        let cmds = fx::press(&mut s, KeyCode::Char('D'));
        assert!(
            matches!(
                inbox_requests(&cmds)[..],
                [Request::Report { since_ms, .. }] if *since_ms == crate::report::DEFAULT_SINCE_MS
            ),
            "{cmds:?}"
        );
        assert!(s.overlay.is_none(), "nothing to show before the answer");
        let r = crate::report::fixture::report();
        update(&mut s, Event::Inbox(Reply::Report(Box::new(r.clone()))));
        assert!(matches!(&s.overlay, Some(Overlay::Report(got)) if **got == r));
        // It travels the control socket as JSON with every figure the pane
        // shows (the histogram sums stay with /metrics, which is local).
        let sent = serde_json::to_value(Reply::Report(Box::new(r))).unwrap();
        let back: Reply = serde_json::from_value(sent.clone()).unwrap();
        assert_eq!(serde_json::to_value(back).unwrap(), sent);
        fx::press(&mut s, KeyCode::Char('x'));
        assert!(s.overlay.is_none());
    }
}
