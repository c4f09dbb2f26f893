//! The report's figures on `/metrics`: exposition text from the fixture
//! report (src/report/fixture.rs), and the background refresh.

use dmdesk::metrics::{refresh_report, Metrics};
use dmdesk::report::fixture;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::Duration;

#[test]
fn exposition_has_the_report_figures() {
    let m = Metrics::default();
    assert!(
        !m.render().contains("dmdesk_replies"),
        "nothing before the first report"
    );
    m.set_report(fixture::report());
    let t = m.render();
    let page = r#"platform="messenger",account="111""#;
    for want in [
        "# TYPE dmdesk_report_window_seconds gauge".to_string(),
        "dmdesk_report_window_seconds 604800".into(),
        "# TYPE dmdesk_conversations_opened gauge".into(),
        format!("dmdesk_conversations_opened{{{page}}} 3"),
        r#"dmdesk_conversations_opened{platform="instagram",account="222"} 1"#.into(),
        format!("dmdesk_conversations_resolved{{{page}}} 2"),
        r#"dmdesk_replies{agent="alice"} 2"#.into(),
        r#"dmdesk_replies{agent="(no agent)"} 1"#.into(),
        r#"dmdesk_replies_in_window{agent="(no agent)"} 0"#.into(),
        "# TYPE dmdesk_first_response_seconds histogram".into(),
        // 20, 40 and 120 minutes.
        format!("dmdesk_first_response_seconds_bucket{{{page},le=\"900\"}} 0"),
        format!("dmdesk_first_response_seconds_bucket{{{page},le=\"1800\"}} 1"),
        format!("dmdesk_first_response_seconds_bucket{{{page},le=\"3600\"}} 2"),
        format!("dmdesk_first_response_seconds_bucket{{{page},le=\"7200\"}} 3"),
        format!("dmdesk_first_response_seconds_bucket{{{page},le=\"+Inf\"}} 3"),
        format!("dmdesk_first_response_seconds_sum{{{page}}} 10800"),
        format!("dmdesk_first_response_seconds_count{{{page}}} 3"),
        // 1 h and 2 h.
        format!("dmdesk_resolution_seconds_bucket{{{page},le=\"3600\"}} 1"),
        format!("dmdesk_resolution_seconds_count{{{page}}} 2"),
        r#"dmdesk_resolution_seconds_count{platform="instagram",account="222"} 0"#.into(),
    ] {
        assert!(t.lines().any(|l| l == want), "missing {want:?} in\n{t}");
    }
    // Every sample line is `name{labels} number` or `name number`.
    for l in t.lines().filter(|l| !l.starts_with('#')) {
        let v = l.rsplit(' ').next().unwrap();
        assert!(v == "+Inf" || v.parse::<f64>().is_ok(), "bad sample {l:?}");
    }
}

#[test]
fn label_values_are_escaped() {
    let m = Metrics::default();
    let mut r = fixture::report();
    r.agents[0].agent = Some("a\"b\\c".into());
    m.set_report(r);
    assert!(m.render().contains(r#"dmdesk_replies{agent="a\"b\\c"} 2"#));
}

#[tokio::test(start_paused = true)]
async fn refresh_computes_off_the_request_path_every_interval() {
    let m = Arc::new(Metrics::default());
    let calls = Arc::new(AtomicU32::new(0));
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let cancel = tokio_util::sync::CancellationToken::new();
    let c = Arc::clone(&calls);
    let task = tokio::spawn(refresh_report(
        Arc::clone(&m),
        Duration::from_secs(60),
        cancel.clone(),
        move || {
            let n = c.fetch_add(1, Ordering::SeqCst);
            let _ = tx.send(n);
            // The second computation fails: the first report stays.
            (n == 0).then(fixture::report)
        },
    ));
    assert_eq!(rx.recv().await, Some(0), "computed at once");
    assert_eq!(rx.recv().await, Some(1), "and again after the interval");
    // The first report was stored before the second computation began.
    assert!(m.render().contains("dmdesk_replies{agent=\"alice\"} 2"));
    cancel.cancel();
    tokio::time::timeout(Duration::from_secs(1), task)
        .await
        .expect("refresh ends when cancelled")
        .unwrap();
    assert_eq!(calls.load(Ordering::SeqCst), 2);
}
