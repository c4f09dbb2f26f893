//! Full-text search in the terminal UI: the keys (through the pure
//! update), Enter opening the thread at the matching message, and a
//! snapshot of the results pane.

use dmdesk::app::command::Command;
use dmdesk::app::event::{Event, Reply, ThreadData};
use dmdesk::app::fixtures::{self as fx};
use dmdesk::app::state::{Focus, State, THREAD_PAGE};
use dmdesk::app::update;
use dmdesk::domain::*;
use dmdesk::inbox::Request;
use dmdesk::search::{SearchFrom, SearchHit, SearchResults, PAGE};
use ratatui::backend::TestBackend;
use ratatui::crossterm::event::KeyCode;
use ratatui::style::Modifier;
use ratatui::Terminal;

fn searches(cmds: &[Command]) -> Vec<(String, u64)> {
    cmds.iter()
        .filter_map(|c| match c {
            Command::Inbox(Request::Search {
                query,
                generation,
                from: None,
            }) => Some((query.clone(), *generation)),
            _ => None,
        })
        .collect()
}

/// Type `text` into the open search pane; the last search asked.
fn type_query(s: &mut State, text: &str) -> (String, u64) {
    let mut last = None;
    for c in text.chars() {
        last = searches(&fx::press(s, KeyCode::Char(c))).pop().or(last);
    }
    last.expect("typing asks for a search")
}

fn answer(s: &mut State, generation: u64, hits: Vec<SearchHit>) {
    update(
        s,
        Event::Inbox(Reply::Search {
            query: String::new(),
            generation,
            results: Box::new(SearchResults {
                hits,
                next: None,
                indexing: None,
            }),
        }),
    );
}

/// A page of results that says where the search stopped; the commands.
fn answer_page(
    s: &mut State,
    generation: u64,
    hits: Vec<SearchHit>,
    next: Option<&Conversation>,
) -> Vec<Command> {
    update(
        s,
        Event::Inbox(Reply::Search {
            query: String::new(),
            generation,
            results: Box::new(SearchResults {
                hits,
                next: next.map(|c| SearchFrom {
                    activity: c.last_activity,
                    conv: c.key.clone(),
                }),
                indexing: None,
            }),
        }),
    )
}

/// The next pages asked for: (query, generation, after which conversation).
fn next_pages(cmds: &[Command]) -> Vec<(String, u64, String)> {
    cmds.iter()
        .filter_map(|c| match c {
            Command::Inbox(Request::Search {
                query,
                generation,
                from: Some(f),
            }) => Some((query.clone(), *generation, f.conv.user.0.clone())),
            _ => None,
        })
        .collect()
}

fn hit(c: &Conversation, m: &Message) -> SearchHit {
    SearchHit {
        conv: c.clone(),
        message: m.clone(),
    }
}

struct World {
    ann: Conversation,
    bo: Conversation,
    ann_msgs: Vec<Message>,
    bo_match: Message,
}

fn world() -> World {
    let ann = fx::conv(Platform::Messenger, "u1", "Ann Lee", 3, 0);
    let bo = fx::conv(Platform::Instagram, "u2", "陈波 Bo Chen", 75, 0);
    let ann_msgs: Vec<Message> = (0..30)
        .map(|i| {
            let text = if i == 10 {
                "Where is my ORDER 4411? It was due Monday".to_string()
            } else {
                format!("message {i}")
            };
            fx::inbound(&ann.key, &format!("a{i}"), 300 - i as i64, &text)
        })
        .collect();
    let bo_match = fx::inbound(&bo.key, "b1", 80, "订单 order 到了吗？❤️");
    World {
        ann,
        bo,
        ann_msgs,
        bo_match,
    }
}

#[test]
fn ctrl_f_typing_asks_the_worker_and_stale_answers_are_dropped() {
    let w = world();
    let mut s = fx::state(100, 30);
    fx::load_rows(&mut s, vec![w.ann.clone(), w.bo.clone()]);
    assert!(fx::ctrl(&mut s, 'f').is_empty());
    assert!(s.search.pane.is_some());
    let (q1, g1) = type_query(&mut s, "or");
    assert_eq!(q1, "or");
    let (q2, g2) = type_query(&mut s, "d");
    assert_eq!((q2.as_str(), g2 > g1), ("ord", true));
    // The answer to "or" arrives after "ord" was asked: ignored.
    answer(&mut s, g1, vec![hit(&w.bo, &w.bo_match)]);
    assert_eq!(s.search.pane.as_ref().unwrap().results, None);
    answer(
        &mut s,
        g2,
        vec![hit(&w.ann, &w.ann_msgs[10]), hit(&w.bo, &w.bo_match)],
    );
    let p = s.search.pane.as_ref().unwrap();
    assert_eq!(p.results.as_ref().map(|r| r.hits.len()), Some(2));
    // j and k are text here, not movement.
    fx::press(&mut s, KeyCode::Char('j'));
    assert_eq!(s.search.pane.as_ref().unwrap().input, "ordj");
    fx::press(&mut s, KeyCode::Backspace);
    // Esc closes and leaves the list as it was.
    fx::press(&mut s, KeyCode::Esc);
    assert!(s.search.pane.is_none());
    assert_eq!(s.focus, Focus::List);
    assert!(s.thread.is_none());
}

#[test]
fn enter_opens_the_thread_at_the_match_loading_back_to_it() {
    let w = world();
    let mut s = fx::state(100, 30);
    fx::load_rows(&mut s, vec![w.ann.clone(), w.bo.clone()]);
    fx::ctrl(&mut s, 'f');
    let (_, g) = type_query(&mut s, "order");
    answer(
        &mut s,
        g,
        vec![hit(&w.bo, &w.bo_match), hit(&w.ann, &w.ann_msgs[10])],
    );
    fx::press(&mut s, KeyCode::Down);
    let cmds = fx::press(&mut s, KeyCode::Enter);
    // Ann's thread (the second result) is what opens.
    assert!(cmds
        .iter()
        .any(|c| matches!(c, Command::Inbox(Request::Thread { conv, .. }) if *conv == w.ann.key)));
    assert!(s.search.pane.is_none());
    assert_eq!(s.open_key(), Some(&w.ann.key));
    // The newest page holds a20..a29: the match (a10) is older, so the
    // thread loads back to it.
    let newest = w.ann_msgs[20..].to_vec();
    let cmds = update(
        &mut s,
        Event::Inbox(Reply::Thread(Some(Box::new(ThreadData {
            conv: w.ann.clone(),
            contact: None,
            messages: newest,
            limit: 10,
            draft: None,
            notes: vec![],
            history: vec![],
        })))),
    );
    let older: Vec<&str> = cmds
        .iter()
        .filter_map(|c| match c {
            Command::Inbox(Request::Older { before, limit, .. }) => {
                assert_eq!(*limit, THREAD_PAGE);
                Some(before.mid.as_str())
            }
            _ => None,
        })
        .collect();
    assert_eq!(older, ["a20"]);
    update(
        &mut s,
        Event::Inbox(Reply::Older {
            conv: w.ann.key.clone(),
            messages: w.ann_msgs[..20].to_vec(),
            limit: THREAD_PAGE,
        }),
    );
    let t = s.thread.as_ref().unwrap();
    assert_eq!(t.cursor.as_ref().map(|m| m.as_str()), Some("a10"));
    assert_eq!(s.focus, Focus::Thread);
    assert!(t.scroll > 0, "scrolled up to the match");
    assert!(s.search.jump.is_none());
    // The thread pane marks it: its text is on screen.
    let screen = text(&draw(&s));
    assert!(screen.contains("Where is my ORDER 4411"), "{screen}");
}

#[test]
fn enter_on_a_match_among_the_newest_selects_it_at_once() {
    let w = world();
    let mut s = fx::state(100, 30);
    fx::load_rows(&mut s, vec![w.ann.clone(), w.bo.clone()]);
    fx::ctrl(&mut s, 'f');
    let (_, g) = type_query(&mut s, "订单");
    answer(&mut s, g, vec![hit(&w.bo, &w.bo_match)]);
    fx::press(&mut s, KeyCode::Enter);
    let older = fx::inbound(&w.bo.key, "b0", 90, "hi");
    let newer = fx::inbound(&w.bo.key, "b2", 70, "anyone?");
    let cmds = update(
        &mut s,
        Event::Inbox(Reply::Thread(Some(Box::new(ThreadData {
            conv: w.bo.clone(),
            contact: None,
            messages: vec![older, w.bo_match.clone(), newer],
            limit: THREAD_PAGE,
            draft: None,
            notes: vec![],
            history: vec![],
        })))),
    );
    assert!(!cmds
        .iter()
        .any(|c| matches!(c, Command::Inbox(Request::Older { .. }))));
    let t = s.thread.as_ref().unwrap();
    assert_eq!(t.cursor.as_ref().map(|m| m.as_str()), Some("b1"));
    assert_eq!(s.focus, Focus::Thread);
}

fn draw(s: &State) -> Terminal<TestBackend> {
    let mut t = Terminal::new(TestBackend::new(s.size.0, s.size.1)).unwrap();
    t.draw(|f| dmdesk::ui::render(s, f)).unwrap();
    t
}

fn text(t: &Terminal<TestBackend>) -> String {
    let b = t.backend().buffer();
    let mut out = String::new();
    for y in 0..b.area.height {
        for x in 0..b.area.width {
            out.push_str(b[(x, y)].symbol());
        }
        out.push('\n');
    }
    out
}

#[test]
fn results_pane_snapshot_with_the_match_styled() {
    let w = world();
    let mut s = fx::state(100, 20);
    fx::load_rows(&mut s, vec![w.ann.clone(), w.bo.clone()]);
    fx::ctrl(&mut s, 'f');
    let (_, g) = type_query(&mut s, "order");
    let long = fx::inbound(
        &w.ann.key,
        "a99",
        5,
        "I wrote to you three times already about this and still nobody could tell me where my order is",
    );
    answer(&mut s, g, vec![hit(&w.ann, &long), hit(&w.bo, &w.bo_match)]);
    let t = draw(&s);
    insta::assert_snapshot!(t.backend());
    // The match is drawn bold and underlined; the text around it is not.
    let b = t.backend().buffer();
    let screen = text(&t);
    let row = screen
        .lines()
        .position(|l| l.contains("到"))
        .expect("Bo's snippet on screen") as u16;
    let line: Vec<_> = (0..b.area.width).map(|x| &b[(x, row)]).collect();
    let styled: String = line
        .iter()
        .filter(|c| c.modifier.contains(Modifier::UNDERLINED | Modifier::BOLD))
        .map(|c| c.symbol())
        .collect();
    assert_eq!(styled, "order");
}

#[test]
fn a_short_first_page_asks_for_the_next_and_appends_it() {
    let w = world();
    let mut s = fx::state(100, 20);
    fx::load_rows(&mut s, vec![w.ann.clone(), w.bo.clone()]);
    fx::ctrl(&mut s, 'f');
    let (q, g) = type_query(&mut s, "order");
    // The search stopped at its budget after Bo: the next page is asked at
    // once, after Bo, and the title says the search goes on.
    let cmds = answer_page(&mut s, g, vec![hit(&w.bo, &w.bo_match)], Some(&w.bo));
    assert_eq!(next_pages(&cmds), [(q.clone(), g, "u2".to_string())]);
    let t = text(&draw(&s));
    assert!(t.contains("1, searching…"), "{t}");
    // Moving down meanwhile asks nothing more.
    assert!(next_pages(&fx::press(&mut s, KeyCode::Down)).is_empty());
    // The next page is appended, the last one: nothing more is asked.
    let cmds = answer_page(&mut s, g, vec![hit(&w.ann, &w.ann_msgs[10])], None);
    assert!(next_pages(&cmds).is_empty());
    let p = s.search.pane.as_ref().unwrap();
    let users: Vec<&str> = p
        .results
        .as_ref()
        .unwrap()
        .hits
        .iter()
        .map(|h| h.conv.key.user.0.as_str())
        .collect();
    assert_eq!(users, ["u2", "u1"]);
    assert!(text(&draw(&s)).contains("2 found"));
}

#[test]
fn scrolling_near_the_end_of_a_full_page_asks_for_the_next() {
    let w = world();
    let mut s = fx::state(100, 20);
    fx::load_rows(&mut s, vec![w.ann.clone(), w.bo.clone()]);
    fx::ctrl(&mut s, 'f');
    let (q, g) = type_query(&mut s, "message");
    let page: Vec<SearchHit> = (0..PAGE).map(|i| hit(&w.ann, &w.ann_msgs[i])).collect();
    // A full page: nothing is asked until the agent scrolls towards its end.
    let cmds = answer_page(&mut s, g, page, Some(&w.ann));
    assert!(next_pages(&cmds).is_empty());
    assert!(text(&draw(&s)).contains(&format!("{PAGE}+ found")));
    let mut asked = vec![];
    for _ in 0..PAGE {
        asked.extend(next_pages(&fx::press(&mut s, KeyCode::Down)));
    }
    assert_eq!(asked, [(q, g, "u1".to_string())], "asked once");
    // A new query drops the page on its way.
    let (_, g2) = type_query(&mut s, "x");
    let cmds = answer_page(&mut s, g, vec![hit(&w.bo, &w.bo_match)], None);
    assert!(next_pages(&cmds).is_empty());
    let p = s.search.pane.as_ref().unwrap();
    assert!(p.results.as_ref().unwrap().hits.len() == PAGE && p.generation == g2);
}
