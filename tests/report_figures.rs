//! The report's figures against a hand-computed fixture (src/report/fixture.rs
//! describes it), and its three output formats.

use dmdesk::clock::Zone;
use dmdesk::domain::{ConvStatus, TimestampMs};
use dmdesk::report::fixture::{self, at};
use dmdesk::report::{compute, format, Figures, Format, Params};
use dmdesk::team::{HistoryEvent, HistoryKind};

const MIN: i64 = 60_000;
const H: i64 = 60 * MIN;

/// (count, median, p90, mean) in ms.
fn times(t: &dmdesk::report::Times) -> (u64, Option<i64>, Option<i64>, Option<i64>) {
    (t.count, t.median_ms, t.p90_ms, t.mean_ms)
}

/// (opened, resolved, replies, in window)
fn counts(f: &Figures) -> (u64, u64, u64, u64) {
    (f.opened, f.resolved, f.replies, f.replies_in_window)
}

#[test]
fn totals_match_the_hand_computed_figures() {
    let r = fixture::report();
    assert_eq!(r.from_ms, at(11, 30, 13, 0).0);
    assert_eq!(r.to_ms, at(12, 7, 13, 0).0);
    assert_eq!(r.utc_offset, "+01:00");
    // Opened: A twice (new, then reopened by the customer), B, E.
    // Resolved: A twice, D. Replies: A 3, B 1, D 1 (page inbox, outside the window), E 1.
    assert_eq!(counts(&r.totals), (4, 3, 6, 5));
    assert_eq!(r.totals.in_window_share, Some(5.0 / 6.0));
    // First responses 40 (A, from 09:00 not 09:10), 20 (A reopened), 120 (B), 10 (E) min;
    // bob's second reply in A and the page inbox's in D are not first responses.
    assert_eq!(
        times(&r.totals.first_response),
        (4, Some(30 * MIN), Some(120 * MIN), Some(2_850_000))
    );
    // Resolution: A 09:00→11:00 and reopened 08:00→09:00; D's opening predates the history.
    assert_eq!(
        times(&r.totals.resolution),
        (2, Some(90 * MIN), Some(2 * H), Some(90 * MIN))
    );
    assert_eq!(r.coverage.conversations, 5);
    assert_eq!(
        r.coverage.predating, 1,
        "C was last active before the history"
    );
    assert_eq!(r.coverage.resolved_without_opening, 1, "D");
    assert_eq!(r.coverage.history_start_ms, Some(at(12, 1, 0, 0).0));
}

#[test]
fn per_agent_credits_who_replied_and_who_resolved() {
    let r = fixture::report();
    let names: Vec<_> = r.agents.iter().map(|a| a.agent.as_deref()).collect();
    assert_eq!(names, [Some("alice"), Some("bob"), Some("carol"), None]);
    let [alice, bob, carol, none] = &r.agents[..] else {
        panic!("four agent rows")
    };
    assert_eq!(counts(&alice.figures), (0, 2, 2, 2));
    assert_eq!(
        times(&alice.figures.first_response),
        (2, Some(30 * MIN), Some(40 * MIN), Some(30 * MIN))
    );
    assert_eq!(
        times(&alice.figures.resolution),
        (2, Some(90 * MIN), Some(2 * H), Some(90 * MIN))
    );
    // bob: a reply in alice's conversation (not first), E's first reply, and D resolved.
    assert_eq!(counts(&bob.figures), (0, 1, 2, 2));
    assert_eq!(
        times(&bob.figures.first_response),
        (1, Some(10 * MIN), Some(10 * MIN), Some(10 * MIN))
    );
    assert_eq!(bob.figures.resolution.count, 0);
    // carol answered the unassigned conversation B.
    assert_eq!(counts(&carol.figures), (0, 0, 1, 1));
    assert_eq!(carol.figures.first_response.median_ms, Some(2 * H));
    // The page inbox's reply in D, outside the window.
    assert_eq!(counts(&none.figures), (0, 0, 1, 0));
    assert_eq!(none.figures.in_window_share, Some(0.0));
}

#[test]
fn per_page_and_per_day() {
    let r = fixture::report();
    let pages: Vec<_> = r
        .pages
        .iter()
        .map(|p| {
            (
                p.platform.as_str(),
                p.account_id.as_str(),
                counts(&p.figures),
            )
        })
        .collect();
    assert_eq!(
        pages,
        [
            ("instagram", "222", (1, 1, 2, 1)),
            ("messenger", "111", (3, 2, 4, 4))
        ]
    );
    assert_eq!(
        times(&r.pages[1].figures.first_response),
        (3, Some(40 * MIN), Some(120 * MIN), Some(60 * MIN))
    );
    assert_eq!(r.pages[0].figures.in_window_share, Some(0.5));

    let days: Vec<_> = r
        .days
        .iter()
        .map(|d| (d.date.as_str(), d.figures.as_ref().map(counts)))
        .collect();
    assert_eq!(
        days,
        [
            ("2026-11-30", None), // before the history: no figures, not zero
            ("2026-12-01", Some((0, 0, 0, 0))),
            ("2026-12-02", Some((0, 1, 1, 0))),
            ("2026-12-03", Some((0, 0, 0, 0))),
            ("2026-12-04", Some((0, 0, 0, 0))),
            ("2026-12-05", Some((1, 1, 2, 2))),
            ("2026-12-06", Some((2, 1, 2, 2))),
            ("2026-12-07", Some((1, 0, 1, 1))),
        ]
    );
    let d6 = r.days[6].figures.as_ref().unwrap();
    assert_eq!(
        times(&d6.first_response),
        (2, Some(70 * MIN), Some(120 * MIN), Some(70 * MIN))
    );
    assert_eq!(d6.resolution.median_ms, Some(H));

    assert_eq!(r.last_7_days.len(), 7);
    assert_eq!(r.last_7_days[0].date, "2026-12-01");
    assert_eq!(r.last_7_days[..], r.days[1..]);
    assert_eq!(r.last_30_days.len(), 30);
    assert_eq!(r.last_30_days[0].date, "2026-11-08");
    assert_eq!(
        r.last_30_days
            .iter()
            .filter(|d| d.figures.is_none())
            .count(),
        23
    );
    assert!(r.notes.iter().any(|n| n.contains(
        "Conversations last active before the history began (2026-12-01 00:00): 1 of 5"
    )));
    assert!(r
        .notes
        .iter()
        .any(|n| n.contains("Business hours are not applied")));
    assert!(r
        .notes
        .iter()
        .any(|n| n.contains("opened before the history (or over 30 days before the period): 1,")));
}

/// A period starting mid-day: its first day counts only from the start, the
/// chart series count the whole day; an opening before the period (read as
/// context) still gives a resolution time.
#[test]
fn partial_first_day_and_openings_before_the_period() {
    let conv = fixture::conv("z");
    let ev = |t: TimestampMs, by: Option<&str>, kind| HistoryEvent {
        conv: conv.clone(),
        at: t,
        by: by.map(Into::into),
        kind,
    };
    let events = vec![
        ev(at(12, 4, 10, 0), None, HistoryKind::Opened),
        ev(at(12, 6, 9, 0), None, HistoryKind::Opened),
        ev(
            at(12, 6, 9, 30),
            Some("alice"),
            HistoryKind::Replied {
                waited_ms: Some(30 * MIN),
                first: true,
                in_window: true,
            },
        ),
        ev(
            at(12, 6, 14, 0),
            Some("alice"),
            HistoryKind::Status {
                from: ConvStatus::Open,
                to: ConvStatus::Resolved,
            },
        ),
        ev(
            at(12, 7, 9, 0),
            Some("alice"),
            HistoryKind::Status {
                from: ConvStatus::Open,
                to: ConvStatus::Resolved,
            },
        ),
        ev(at(12, 7, 14, 0), None, HistoryKind::Opened), // after now: ignored
    ];
    let p = Params {
        now: at(12, 7, 13, 0),
        since_ms: 30 * H, // from 12-06 07:00
        zone: Zone::Fixed(fixture::OFFSET_S),
        history_start: Some(at(11, 1, 0, 0)),
    };
    let r = compute(p, &events, &[]);
    // 12-04's opening is context; 12-06 09:00 opens again, resolved 14:00 (5 h);
    // the second resolution has no opening since.
    assert_eq!(counts(&r.totals), (1, 2, 1, 1));
    assert_eq!(
        times(&r.totals.resolution),
        (1, Some(5 * H), Some(5 * H), Some(5 * H))
    );
    assert_eq!(r.coverage.resolved_without_opening, 1);
    assert_eq!(r.days.len(), 2);
    assert_eq!(r.days[0].date, "2026-12-06");
    let wd = |d: &str| {
        r.last_7_days
            .iter()
            .find(|x| x.date == d)
            .and_then(|x| x.figures.clone())
            .unwrap()
    };
    assert_eq!(wd("2026-12-04").opened, 1, "the series counts whole days");
    assert_eq!(
        r.last_30_days
            .iter()
            .filter(|d| d.figures.is_none())
            .count(),
        0
    );
    // Reading from: the 30-day series starts 11-08 00:00, less 30 days of context.
    assert_eq!(p.read_from(), TimestampMs(at(11, 8, 0, 0).0 - 30 * 24 * H));
}

#[test]
fn no_history_yet_says_every_conversation_predates_it() {
    let mut p = fixture::params();
    p.history_start = None;
    let r = compute(p, &[], &fixture::conversations());
    assert_eq!(r.coverage.predating, 5);
    assert!(r.days.iter().all(|d| d.figures.is_none()));
    assert!(r
        .notes
        .iter()
        .any(|n| n.contains("No history is recorded yet: all 5 conversations")));
}

#[test]
fn json_is_one_document_with_the_documented_fields() {
    let r = fixture::report();
    let v: serde_json::Value = serde_json::from_str(&format::render(&r, Format::Json)).unwrap();
    assert_eq!(v["totals"]["first_response"]["median_ms"], 30 * MIN);
    assert_eq!(v["totals"]["first_response"]["p90_ms"], 120 * MIN);
    assert_eq!(v["totals"]["resolution"]["count"], 2);
    assert_eq!(v["totals"]["replies_in_window"], 5);
    assert_eq!(v["agents"][0]["agent"], "alice");
    assert_eq!(v["agents"][3]["agent"], serde_json::Value::Null);
    assert_eq!(v["agents"][1]["first_response"]["mean_ms"], 10 * MIN);
    assert_eq!(v["pages"][1]["account_id"], "111");
    assert_eq!(v["pages"][1]["platform"], "messenger");
    assert_eq!(v["days"][0]["date"], "2026-11-30");
    assert_eq!(v["days"][0]["figures"], serde_json::Value::Null);
    assert_eq!(v["days"][5]["figures"]["opened"], 1);
    assert_eq!(v["last_7_days"].as_array().unwrap().len(), 7);
    assert_eq!(v["last_30_days"].as_array().unwrap().len(), 30);
    assert_eq!(v["coverage"]["predating"], 1);
    assert_eq!(v["coverage"]["resolved_without_opening"], 1);
    assert_eq!(v["from_ms"], at(11, 30, 13, 0).0);
    assert_eq!(v["utc_offset"], "+01:00");
    assert!(v["notes"].as_array().unwrap().len() >= 4);
}

#[test]
fn csv_has_a_header_and_one_row_per_figure() {
    let r = fixture::report();
    let text = format::render(&r, Format::Csv);
    let lines: Vec<_> = text.lines().collect();
    assert_eq!(lines[0], "scope,key,figure,value");
    // 3 period rows + 13 figures × (total + 4 agents + 2 pages + 8 days).
    assert_eq!(lines.len(), 1 + 3 + 13 * (1 + 4 + 2 + 8));
    for want in [
        "period,,from_ms,1796040000000",
        "total,,first_response_median_ms,1800000",
        "total,,in_window_share,0.8333",
        "agent,alice,resolution_p90_ms,7200000",
        "agent,(no agent),replies,1",
        "agent,bob,resolution_median_ms,",
        "page,messenger/111,first_response_count,3",
        "day,2026-11-30,opened,",
        "day,2026-12-06,opened,2",
    ] {
        assert!(lines.contains(&want), "missing {want:?} in\n{text}");
    }
    assert!(lines.iter().skip(1).all(|l| l.split(',').count() == 4));
}

#[test]
fn table_is_aligned_plain_text() {
    let r = fixture::report();
    insta::assert_snapshot!(format::render(&r, Format::Table));
}
