//! The real event loop on a TestBackend: data loads run on the data worker
//! and come back as frames; a quit key ends the loop with the draft saved.

use dmdesk::app::{fixtures, State};
use dmdesk::change::Change;
use dmdesk::db::Db;
use dmdesk::domain::*;
use dmdesk::tui::data::{DataWorker, StoreData};
use dmdesk::tui::{run_loop, Headless};
use ratatui::backend::TestBackend;
use ratatui::crossterm::event::{Event as CtEvent, KeyCode, KeyEvent, KeyModifiers};
use ratatui::Terminal;
use std::sync::Arc;
use std::time::Duration;

fn key(code: KeyCode) -> std::io::Result<CtEvent> {
    Ok(CtEvent::Key(KeyEvent::new(code, KeyModifiers::NONE)))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn loop_draws_loaded_rows_and_quits_with_draft_saved() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Db::open(&dir.path().join("store"), 8, "test").expect("open");
    let conv = ConvKey::new(Platform::Messenger, fixtures::PAGE, "u1");
    let mut m = Message::inbound(conv.clone(), Mid::new("m1"), fixtures::NOW);
    m.text = Some("hello from the loop test".into());
    store
        .apply(&[Change::Message {
            msg: m,
            metadata: None,
            qualifying: true,
            from_sync: false,
        }])
        .expect("apply");

    let (jobs, _jobs_rx) = tokio::sync::mpsc::unbounded_channel();
    let mut data =
        DataWorker::start(Arc::new(StoreData::new(store.clone(), jobs))).expect("worker");
    let (tx, rx) = futures::channel::mpsc::unbounded();
    let mut host = Headless {
        terminal: Terminal::new(TestBackend::new(100, 30)).expect("terminal"),
        input: rx,
    };
    let mut state = State::new(fixtures::options(), fixtures::NOW, (100, 30));
    let updates = store.subscribe();
    let typist = tokio::spawn(async move {
        // Open the thread, write a draft, leave the composer, quit.
        tokio::time::sleep(Duration::from_millis(300)).await;
        for k in [KeyCode::Enter, KeyCode::Char('i')] {
            tx.unbounded_send(key(k)).expect("send");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        for c in "draft!".chars() {
            tx.unbounded_send(key(KeyCode::Char(c))).expect("send");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
        for k in [KeyCode::Esc, KeyCode::Esc, KeyCode::Char('q')] {
            tx.unbounded_send(key(k)).expect("send");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        tx
    });
    tokio::time::timeout(
        Duration::from_secs(10),
        run_loop(&mut host, &mut state, updates, &mut data),
    )
    .await
    .expect("the loop quits")
    .expect("loop ok");
    let _tx = typist.await.expect("typist");
    data.finish().await;

    let screen: String = host
        .terminal
        .backend()
        .buffer()
        .content
        .iter()
        .map(|c| c.symbol())
        .collect();
    assert!(screen.contains("hello from the loop test"), "{screen}");
    assert_eq!(
        store.draft(&conv).expect("draft").as_deref(),
        Some("draft!")
    );
}
