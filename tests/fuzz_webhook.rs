//! Property tests over the webhook parser and the apply path (issue 14's
//! fuzz target): generated bodies — Meta's shapes with ids drawn from small
//! pools so events meet each other, and with fields swapped for wrong types
//! — never panic, apply without error, apply idempotently, and every
//! message they carry is in the store afterwards. Arbitrary bytes never
//! panic the parser. The conformance corpus (../shared/conformance/meta),
//! mutated — a value swapped for one of another type, a key dropped, the
//! bytes cut short — must not panic either, and applies idempotently. 256 cases per property by default (what CI runs);
//! `PROPTEST_CASES=N` for more.

mod common;

use dmdesk::change::Change;
use dmdesk::db::Db;
use dmdesk::domain::{AccountId, TimestampMs};
use dmdesk::meta::webhook::{parse_body, ParseCtx};
use proptest::prelude::*;
use serde_json::{json, Value};

/// Cases per property; `PROPTEST_CASES=N` runs more (or fewer).
fn cases() -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(256)
}

fn ctx() -> ParseCtx {
    ParseCtx {
        app_id: Some("42".into()),
        instagram_ids: vec![AccountId::from("IG1")],
        received: TimestampMs(1_760_000_000_000),
    }
}

/// A value of the wrong kind where a field was expected.
fn weird() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_map(|f| json!(f)),
        "\\PC{0,12}".prop_map(Value::from),
        Just(json!([])),
        Just(json!({})),
        Just(json!([{"id": null}])),
        Just(json!(true)),
    ]
}

/// Usually `normal`, sometimes something else entirely.
fn or_weird(normal: impl Strategy<Value = Value> + 'static) -> BoxedStrategy<Value> {
    prop_oneof![9 => normal, 1 => weird()].boxed()
}

fn user() -> BoxedStrategy<Value> {
    or_weird(
        prop::sample::select(vec!["U1", "U2", "U3", "1234567890123456789"]).prop_map(Value::from),
    )
}
fn account() -> BoxedStrategy<Value> {
    or_weird(prop::sample::select(vec!["P1", "IG1", "P9"]).prop_map(Value::from))
}
fn mid() -> BoxedStrategy<Value> {
    or_weird(
        prop::sample::select(vec!["m_1", "m_2", "m_3", "m_4", "aWdfZAG1"]).prop_map(Value::from),
    )
}

/// Timestamps in the forms Meta and its proxies send.
fn timestamp() -> BoxedStrategy<Value> {
    let ms = 1_700_000_000_000i64..1_800_000_000_000i64;
    or_weird(prop_oneof![
        ms.clone().prop_map(Value::from),
        ms.clone().prop_map(|m| Value::from(m / 1000)),
        ms.clone().prop_map(|m| Value::from(m.to_string())),
        ms.prop_map(|m| {
            let t = chrono::DateTime::from_timestamp_millis(m).unwrap();
            Value::from(t.to_rfc3339())
        }),
    ])
}

fn text() -> BoxedStrategy<Value> {
    or_weird("[a-zA-Z0-9 äß😀中]{0,24}".prop_map(Value::from))
}

fn attachment() -> impl Strategy<Value = Value> {
    (
        prop::sample::select(vec![
            "image", "video", "audio", "file", "sticker", "share", "fallback",
        ]),
        prop::option::of("https://x\\.test/[a-z]{1,8}"),
    )
        .prop_map(|(kind, url)| json!({"type": kind, "payload": {"url": url}}))
}

/// One `messaging` item of any kind Meta sends.
fn item() -> impl Strategy<Value = Value> {
    let who = (user(), account(), timestamp(), any::<bool>());
    let kind = prop_oneof![
        4 => (mid(), text(), prop::collection::vec(attachment(), 0..3), any::<bool>(), prop::option::of(mid()))
            .prop_map(|(mid, text, att, echo, reply_to)| {
                let mut m = json!({"mid": mid, "text": text});
                if !att.is_empty() { m["attachments"] = json!(att); }
                if echo { m["is_echo"] = json!(true); m["app_id"] = json!(42); }
                if let Some(r) = reply_to { m["reply_to"] = json!({"mid": r}); }
                ("message", m)
            }),
        1 => (mid(), timestamp()).prop_map(|(m, w)| ("delivery", json!({"mids": [m], "watermark": w}))),
        1 => timestamp().prop_map(|w| ("read", json!({"watermark": w}))),
        1 => (mid(), any::<bool>(), text()).prop_map(|(m, react, emoji)| ("reaction", json!({
            "mid": m, "action": if react { "react" } else { "unreact" }, "emoji": emoji, "reaction": "love"}))),
        1 => (mid(), text()).prop_map(|(m, t)| ("message_edit", json!({"mid": m, "text": t, "num_edit": 1}))),
        1 => mid().prop_map(|m| ("message", json!({"mid": m, "is_deleted": true}))),
        1 => (text(), text()).prop_map(|(t, p)| ("postback", json!({"title": t, "payload": p}))),
        1 => text().prop_map(|r| ("referral", json!({"ref": r, "source": "SHORTLINK", "type": "OPEN_THREAD"}))),
        1 => weird().prop_map(|w| ("unknown_field", w)),
    ];
    (who, kind).prop_map(|((user, account, ts, echo), (field, body))| {
        // An echo comes from the page to the customer.
        let (sender, recipient) = if echo && field == "message" {
            (account, user)
        } else {
            (user, account)
        };
        let mut it =
            json!({"sender": {"id": sender}, "recipient": {"id": recipient}, "timestamp": ts});
        it[field] = body;
        it
    })
}

fn body() -> impl Strategy<Value = Vec<u8>> {
    let entry = (
        account(),
        timestamp(),
        prop::collection::vec(item(), 0..6),
        any::<bool>(),
    )
        .prop_map(|(id, time, items, standby)| {
            let key = if standby { "standby" } else { "messaging" };
            json!({"id": id, "time": time, key: items})
        });
    (
        or_weird(prop::sample::select(vec!["page", "instagram"]).prop_map(Value::from)),
        prop::collection::vec(entry, 0..4),
    )
        .prop_map(|(object, entries)| {
            serde_json::to_vec(&json!({"object": object, "entry": entries})).unwrap()
        })
}

/// Every webhook-shaped body of the conformance corpus.
fn corpus() -> Vec<Value> {
    let root = common::shared("conformance/meta");
    let mut out = Vec::new();
    let mut dirs = vec![root];
    while let Some(d) = dirs.pop() {
        for e in std::fs::read_dir(&d).expect("conformance corpus (../shared)") {
            let p = e.expect("entry").path();
            if p.is_dir() {
                dirs.push(p);
            } else if p.extension().is_some_and(|x| x == "json") {
                let v: Value = serde_json::from_slice(&std::fs::read(&p).unwrap()).unwrap();
                let body = if v.get("entry").is_some() {
                    Some(v)
                } else {
                    v.get("body").filter(|b| b.get("entry").is_some()).cloned()
                };
                out.extend(body);
            }
        }
    }
    out.sort_by_key(|v| v.to_string());
    assert!(
        out.len() > 50,
        "the corpus has webhook bodies: {}",
        out.len()
    );
    out
}

/// How many nodes `v` has (itself included).
fn nodes(v: &Value) -> usize {
    1 + match v {
        Value::Object(m) => m.values().map(nodes).sum(),
        Value::Array(a) => a.iter().map(nodes).sum(),
        _ => 0,
    }
}

/// Apply `how` to the `n`-th node (depth first) of `v`.
fn mutate(v: &mut Value, n: &mut usize, how: &Mutation) -> bool {
    if *n == 0 {
        match how {
            Mutation::Replace(w) => *v = w.clone(),
            Mutation::DropKey => {
                if let Value::Object(m) = v {
                    if let Some(k) = m.keys().next().cloned() {
                        m.remove(&k);
                    }
                }
            }
        }
        return true;
    }
    *n -= 1;
    match v {
        Value::Object(m) => m.values_mut().any(|c| mutate(c, n, how)),
        Value::Array(a) => a.iter_mut().any(|c| mutate(c, n, how)),
        _ => false,
    }
}

#[derive(Debug, Clone)]
enum Mutation {
    Replace(Value),
    DropKey,
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        3 => weird().prop_map(Mutation::Replace),
        1 => Just(Mutation::DropKey),
    ]
}

/// Everything the apply path keeps, in a comparable form.
fn snapshot(db: &Db) -> Vec<String> {
    let mut v: Vec<String> = Vec::new();
    v.extend(db.all_conversations().map(|c| format!("{:?}", c.unwrap())));
    v.extend(db.all_messages().map(|m| format!("{:?}", m.unwrap())));
    v.extend(db.all_contacts().map(|c| format!("{:?}", c.unwrap())));
    v
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(cases()))]

    #[test]
    fn arbitrary_bytes_never_panic_the_parser(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
        let _ = parse_body(&bytes, &ctx());
    }

    #[test]
    fn mutated_corpus_bodies_never_panic_and_apply_idempotently(
        pick in any::<prop::sample::Index>(),
        muts in prop::collection::vec((any::<prop::sample::Index>(), mutation()), 1..4),
        cut in prop::option::weighted(0.2, any::<prop::sample::Index>()),
    ) {
        let corpus = CORPUS.get_or_init(corpus);
        let mut v = corpus[pick.index(corpus.len())].clone();
        for (at, how) in &muts {
            let mut n = at.index(nodes(&v));
            prop_assert!(mutate(&mut v, &mut n, how), "node {} exists", n);
        }
        let mut bytes = serde_json::to_vec(&v).unwrap();
        if let Some(c) = cut {
            bytes.truncate(c.index(bytes.len().max(1)));
        }
        check_body(&bytes)?;
    }

    #[test]
    fn generated_bodies_apply_idempotently_and_keep_every_message(body in body()) {
        check_body(&body)?;
    }
}

static CORPUS: std::sync::OnceLock<Vec<Value>> = std::sync::OnceLock::new();

/// Parse and apply `body`: no panic, no apply error, every message kept,
/// and a second apply changes nothing.
fn check_body(body: &[u8]) -> Result<(), TestCaseError> {
    let Ok(parsed) = parse_body(body, &ctx()) else {
        // Refused as a whole (not JSON of Meta's shape): quarantined, fine.
        return Ok(());
    };
    let dir = tempfile::tempdir().unwrap();
    let db = Db::open(&dir.path().join("store"), 8, "test").unwrap();
    let apply = |db: &Db| {
        db.apply(&parsed.changes)
            .map_err(|e| TestCaseError::fail(format!("apply: {e}")))
    };
    apply(&db)?;
    for c in &parsed.changes {
        if let Change::Message { msg, .. } = c {
            prop_assert!(
                db.message(&msg.mid).unwrap().is_some(),
                "{:?} missing",
                msg.mid
            );
        }
    }
    let once = snapshot(&db);
    prop_assert_eq!(apply(&db)?.new_messages, 0);
    prop_assert_eq!(
        snapshot(&db),
        once,
        "a second apply changed the store; body: {}",
        String::from_utf8_lossy(body)
    );
    Ok(())
}
