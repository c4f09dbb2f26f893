//! The compact encoding of history records, and what a report reads of them.
//!
//! A compact value is [`COMPACT_V1`], the event's kind as one byte (so a
//! report skips the kinds it does not count without decoding them), then
//! postcard: the conversation, the time, who, and the kind's fields. Old
//! JSON values (`{`) still read; `compact` rewrites them when a store of an
//! older schema is opened.

use super::{Result, SledStore};
use crate::domain::{ConvKey, ConvStatus, TimestampMs};
use crate::store::StoreError;
use crate::team::{AgentName, HistoryEvent, HistoryKind, Priority, ReportRead};
use serde::{Deserialize, Serialize};

/// The first byte of a compact history value, version 1 (never the `{`
/// of a JSON one).
pub const COMPACT_V1: u8 = 0xC1;

/// The kind byte, the second of a compact value (the format: never reuse
/// a number).
mod code {
    pub const OPENED: u8 = 0;
    pub const STATUS: u8 = 1;
    pub const ASSIGNED: u8 = 2;
    pub const LABELS: u8 = 3;
    pub const PRIORITY: u8 = 4;
    pub const REPLIED: u8 = 5;
}

/// The kind's fields (postcard has no internally tagged enums, which the
/// JSON form of `HistoryKind` is); the variant is in the kind byte.
#[derive(Serialize, Deserialize)]
struct Status(ConvStatus, ConvStatus);
#[derive(Serialize, Deserialize)]
struct Assigned(Option<AgentName>, Option<AgentName>);
#[derive(Serialize, Deserialize)]
struct Labels(Vec<String>, Vec<String>);
#[derive(Serialize, Deserialize)]
struct PriorityChange(Priority, Priority);
#[derive(Serialize, Deserialize)]
struct Replied(Option<i64>, bool, bool);

/// The fields every event has (field order is the format).
#[derive(Serialize)]
struct HeadRef<'a>(&'a ConvKey, TimestampMs, Option<&'a AgentName>);
#[derive(Deserialize)]
struct Head(ConvKey, TimestampMs, Option<AgentName>);

fn postcard_into(v: &mut Vec<u8>, x: &impl Serialize) {
    let bytes = postcard::to_stdvec(x).expect("history records serialise");
    v.extend_from_slice(&bytes);
}

pub fn encode(e: &HistoryEvent) -> Vec<u8> {
    let mut v = Vec::with_capacity(64);
    v.push(COMPACT_V1);
    v.push(kind_code(&e.kind));
    postcard_into(&mut v, &HeadRef(&e.conv, e.at, e.by.as_ref()));
    match &e.kind {
        HistoryKind::Opened => {}
        HistoryKind::Status { from, to } => postcard_into(&mut v, &Status(*from, *to)),
        HistoryKind::Assigned { from, to } => {
            postcard_into(&mut v, &Assigned(from.clone(), to.clone()))
        }
        HistoryKind::Labels { added, removed } => {
            postcard_into(&mut v, &Labels(added.clone(), removed.clone()))
        }
        HistoryKind::Priority { from, to } => postcard_into(&mut v, &PriorityChange(*from, *to)),
        HistoryKind::Replied {
            waited_ms,
            first,
            in_window,
        } => postcard_into(&mut v, &Replied(*waited_ms, *first, *in_window)),
    }
    v
}

fn kind_code(k: &HistoryKind) -> u8 {
    match k {
        HistoryKind::Opened => code::OPENED,
        HistoryKind::Status { .. } => code::STATUS,
        HistoryKind::Assigned { .. } => code::ASSIGNED,
        HistoryKind::Labels { .. } => code::LABELS,
        HistoryKind::Priority { .. } => code::PRIORITY,
        HistoryKind::Replied { .. } => code::REPLIED,
    }
}

fn corrupt(e: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt(format!("history record: {e}"))
}

/// A history value in either format.
pub fn decode(v: &[u8]) -> Result<HistoryEvent> {
    let (kind, body) = match v {
        [COMPACT_V1, kind, body @ ..] => (*kind, body),
        _ => return serde_json::from_slice(v).map_err(corrupt),
    };
    let (Head(conv, at, by), rest) = postcard::take_from_bytes::<Head>(body).map_err(corrupt)?;
    fn fields<'a, T: Deserialize<'a>>(rest: &'a [u8]) -> Result<T> {
        postcard::from_bytes(rest).map_err(corrupt)
    }
    let kind = match kind {
        code::OPENED => HistoryKind::Opened,
        code::STATUS => {
            let Status(from, to) = fields(rest)?;
            HistoryKind::Status { from, to }
        }
        code::ASSIGNED => {
            let Assigned(from, to) = fields(rest)?;
            HistoryKind::Assigned { from, to }
        }
        code::LABELS => {
            let Labels(added, removed) = fields(rest)?;
            HistoryKind::Labels { added, removed }
        }
        code::PRIORITY => {
            let PriorityChange(from, to) = fields(rest)?;
            HistoryKind::Priority { from, to }
        }
        code::REPLIED => {
            let Replied(waited_ms, first, in_window) = fields(rest)?;
            HistoryKind::Replied {
                waited_ms,
                first,
                in_window,
            }
        }
        k => return Err(corrupt(format!("unknown kind {k}"))),
    };
    Ok(HistoryEvent { conv, at, by, kind })
}

/// Whether a value holds an event `read` wants, told from the kind byte
/// of a compact value (None: a JSON value, decode it to tell).
pub fn admits(read: ReportRead, v: &[u8]) -> Option<bool> {
    let kind = match v {
        [COMPACT_V1, kind, ..] => *kind,
        _ => return None,
    };
    Some(match kind {
        code::OPENED | code::STATUS => true,
        code::REPLIED => read == ReportRead::Counted,
        _ => false,
    })
}

/// The meta key saying every history value is compact (its own mark,
/// beside the schema version, which the message records' format owns).
const COMPACT_MARK: &str = "history_compact";

/// On open: rewrite an older store's JSON history once.
pub(super) fn compact_once(store: &SledStore) -> Result<()> {
    if store.meta_get::<bool>(COMPACT_MARK)? == Some(true) {
        return Ok(());
    }
    let started = std::time::Instant::now();
    let n = compact(&store.history)?;
    store.meta_put(COMPACT_MARK, &true)?;
    if n > 0 {
        store.db.flush()?;
        tracing::info!(
            history = n,
            ms = started.elapsed().as_millis() as u64,
            "history records migrated to the compact format"
        );
    }
    Ok(())
}

/// Rewrite every JSON value of the history tree compactly, in chunks (a
/// migration cut short leaves both formats, which read); the count done.
pub fn compact(history: &sled::Tree) -> Result<u64> {
    super::migrate::rewrite(history, |_, v| {
        Ok(match v.first() {
            Some(b'{') => Some(encode(&decode(v)?)),
            _ => None,
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Platform;

    fn events() -> Vec<HistoryEvent> {
        let conv = ConvKey::new(Platform::Instagram, "IG1", "U9");
        let ev = |by: Option<&str>, kind| HistoryEvent {
            conv: conv.clone(),
            at: TimestampMs(1_700_000_000_123),
            by: by.map(AgentName::new),
            kind,
        };
        vec![
            ev(None, HistoryKind::Opened),
            ev(
                Some("alice"),
                HistoryKind::Status {
                    from: ConvStatus::Open,
                    to: ConvStatus::Resolved,
                },
            ),
            ev(
                Some("bob"),
                HistoryKind::Assigned {
                    from: None,
                    to: Some(AgentName::new("bob")),
                },
            ),
            ev(
                Some("bob"),
                HistoryKind::Labels {
                    added: vec!["vip".into()],
                    removed: vec!["spam".into(), "x".into()],
                },
            ),
            ev(
                None,
                HistoryKind::Priority {
                    from: Priority::None,
                    to: Priority::Urgent,
                },
            ),
            ev(
                Some("alice"),
                HistoryKind::Replied {
                    waited_ms: Some(-5),
                    first: true,
                    in_window: false,
                },
            ),
            ev(
                None,
                HistoryKind::Replied {
                    waited_ms: None,
                    first: false,
                    in_window: true,
                },
            ),
        ]
    }

    #[test]
    fn every_kind_comes_back_equal_from_either_format() {
        for e in events() {
            let compact = encode(&e);
            assert_eq!(compact[0], COMPACT_V1);
            assert_eq!(decode(&compact).unwrap(), e);
            let json = serde_json::to_vec(&e).unwrap();
            assert_eq!(decode(&json).unwrap(), e);
            assert!(
                compact.len() < json.len() / 2,
                "{} vs {}",
                compact.len(),
                json.len()
            );
        }
    }

    #[test]
    fn the_kind_byte_says_what_a_report_reads_as_decoding_would() {
        for e in events() {
            for r in [ReportRead::Openings, ReportRead::Counted] {
                assert_eq!(admits(r, &encode(&e)), Some(r.admits(&e.kind)), "{e:?}");
                assert_eq!(admits(r, &serde_json::to_vec(&e).unwrap()), None);
            }
        }
        let replied = &events()[5].kind;
        assert!(ReportRead::Counted.admits(replied));
        assert!(!ReportRead::Openings.admits(replied));
    }

    #[test]
    fn a_truncated_or_unknown_record_is_an_error_not_a_panic() {
        let v = encode(&events()[5]);
        assert!(decode(&v[..v.len() - 2]).is_err());
        let mut unknown = v.clone();
        unknown[1] = 99;
        assert!(decode(&unknown).is_err());
    }

    #[test]
    fn compact_rewrites_json_values_and_leaves_compact_ones() {
        let db = sled::Config::new().temporary(true).open().unwrap();
        let t = db.open_tree("history").unwrap();
        let evs = events();
        for (i, e) in evs.iter().enumerate() {
            let v = if i % 2 == 0 {
                serde_json::to_vec(e).unwrap()
            } else {
                encode(e)
            };
            t.insert((i as u64).to_be_bytes(), v).unwrap();
        }
        assert_eq!(compact(&t).unwrap(), evs.len().div_ceil(2) as u64);
        for (i, r) in t.iter().enumerate() {
            let (_, v) = r.unwrap();
            assert_eq!(v[0], COMPACT_V1);
            assert_eq!(decode(&v).unwrap(), evs[i]);
        }
        assert_eq!(compact(&t).unwrap(), 0);
    }
}
