//! The real event loop on a TestBackend: data loads run on the data worker
//! and come back as frames; a quit key ends the loop with the draft saved.

use dmdesk::app::{fixtures, State};
use dmdesk::change::Change;
use dmdesk::db::Db;
use dmdesk::domain::*;
use dmdesk::tui::data::DataWorker;
use dmdesk::tui::port::Local;
use dmdesk::tui::{run_loop, Headless};
use ratatui::backend::TestBackend;
use ratatui::backend::{Backend, ClearType, WindowSize};
use ratatui::buffer::Cell;
use ratatui::crossterm::event::{Event as CtEvent, KeyCode, KeyEvent, KeyModifiers};
use ratatui::layout::{Position, Size};
use ratatui::Terminal;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// A TestBackend the test can read while the loop owns the terminal, so
/// keys are sent once the screen shows what they act on.
#[derive(Clone)]
struct Shared(Arc<Mutex<TestBackend>>);

impl Shared {
    fn screen(&self) -> String {
        let b = self.0.lock().unwrap();
        let w = b.buffer().area.width as usize;
        let cells: Vec<&str> = b.buffer().content.iter().map(|c| c.symbol()).collect();
        cells.chunks(w).map(|r| r.concat() + "\n").collect()
    }

    /// Wait (bounded) until the drawn screen satisfies `pred`.
    async fn wait_for(&self, what: &str, pred: impl Fn(&str) -> bool) {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        loop {
            let screen = self.screen();
            if pred(&screen) {
                return;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "timed out waiting for {what}; screen:\n{screen}"
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
}

impl Backend for Shared {
    type Error = <TestBackend as Backend>::Error;
    fn draw<'a, I>(&mut self, content: I) -> Result<(), Self::Error>
    where
        I: Iterator<Item = (u16, u16, &'a Cell)>,
    {
        self.0.lock().unwrap().draw(content)
    }
    fn hide_cursor(&mut self) -> Result<(), Self::Error> {
        self.0.lock().unwrap().hide_cursor()
    }
    fn show_cursor(&mut self) -> Result<(), Self::Error> {
        self.0.lock().unwrap().show_cursor()
    }
    fn get_cursor_position(&mut self) -> Result<Position, Self::Error> {
        self.0.lock().unwrap().get_cursor_position()
    }
    fn set_cursor_position<P: Into<Position>>(&mut self, position: P) -> Result<(), Self::Error> {
        self.0.lock().unwrap().set_cursor_position(position)
    }
    fn clear(&mut self) -> Result<(), Self::Error> {
        self.0.lock().unwrap().clear()
    }
    fn clear_region(&mut self, clear_type: ClearType) -> Result<(), Self::Error> {
        self.0.lock().unwrap().clear_region(clear_type)
    }
    fn size(&self) -> Result<Size, Self::Error> {
        self.0.lock().unwrap().size()
    }
    fn window_size(&mut self) -> Result<WindowSize, Self::Error> {
        self.0.lock().unwrap().window_size()
    }
    fn flush(&mut self) -> Result<(), Self::Error> {
        Backend::flush(&mut *self.0.lock().unwrap())
    }
}

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
    let mut data = DataWorker::start(Arc::new(Local::new(store.clone(), jobs))).expect("worker");
    let (tx, rx) = futures::channel::mpsc::unbounded();
    let screen = Shared(Arc::new(Mutex::new(TestBackend::new(100, 30))));
    let seen = screen.clone();
    let mut host = Headless {
        terminal: Terminal::new(screen.clone()).expect("terminal"),
        input: rx,
    };
    let mut state = State::new(fixtures::options(), fixtures::NOW, (100, 30));
    let updates = store.subscribe();
    let typist = tokio::spawn(async move {
        // Each key once the screen shows what it acts on: the row loaded,
        // the thread open, the composer open, the draft typed.
        seen.wait_for("the loaded row", |s| s.contains("hello from the loop te"))
            .await;
        tx.unbounded_send(key(KeyCode::Enter)).expect("send");
        seen.wait_for("the thread open", |s| {
            !s.contains("Select a conversation") && s.contains("hello from the loop test")
        })
        .await;
        tx.unbounded_send(key(KeyCode::Char('i'))).expect("send");
        seen.wait_for("the composer open", |s| s.contains("Reply to Unknown (u1)"))
            .await;
        for c in "draft!".chars() {
            tx.unbounded_send(key(KeyCode::Char(c))).expect("send");
        }
        seen.wait_for("the draft typed", |s| s.contains("draft!"))
            .await;
        for k in [KeyCode::Esc, KeyCode::Esc, KeyCode::Char('q')] {
            tx.unbounded_send(key(k)).expect("send");
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

    let screen = screen.screen();
    assert!(screen.contains("hello from the loop test"), "{screen}");
    assert_eq!(
        store.draft(&conv).expect("draft").as_deref(),
        Some("draft!")
    );
}
