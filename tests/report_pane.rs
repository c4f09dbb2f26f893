//! The report pane drawn from the hand-computed fixture (src/report/fixture.rs).

use dmdesk::report::fixture;
use dmdesk::ui::theme::Theme;
use ratatui::backend::TestBackend;
use ratatui::Terminal;

fn draw(w: u16, h: u16) -> Terminal<TestBackend> {
    let r = fixture::report();
    let mut t = Terminal::new(TestBackend::new(w, h)).unwrap();
    t.draw(|f| dmdesk::ui::report::render(&r, f, f.area(), Theme::new(false)))
        .unwrap();
    t
}

#[test]
fn report_pane_120x40() {
    insta::assert_snapshot!(draw(120, 40).backend());
}

#[test]
fn report_pane_80x24() {
    insta::assert_snapshot!(draw(80, 24).backend());
}

#[test]
fn report_pane_survives_a_tiny_terminal() {
    let t = draw(20, 5);
    let text: String = t
        .backend()
        .buffer()
        .content()
        .iter()
        .map(|c| c.symbol())
        .collect();
    assert!(text.contains("Report"), "{text}");
}
