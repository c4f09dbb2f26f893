//! Tolerant readers for Meta's JSON: ids as strings or numbers, timestamps as
//! ms, seconds, numeric strings or ISO 8601, booleans as `true` or `"true"`.

use crate::domain::TimestampMs;
use serde_json::Value;

/// An id as a string, whether Meta sent a string or a (possibly > 2^53) number.
pub fn id(v: Option<&Value>) -> Option<String> {
    match v? {
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// A timestamp in integer milliseconds. Values below 10^11 are taken as
/// seconds (Meta's `changes` entries use seconds; `messaging` uses ms).
pub fn timestamp(v: Option<&Value>) -> Option<TimestampMs> {
    let ms = match v? {
        Value::Number(n) => n.as_i64().or_else(|| n.as_f64().map(|f| f as i64))?,
        Value::String(s) => {
            let s = s.trim();
            if let Ok(n) = s.parse::<i64>() {
                n
            } else {
                return iso8601(s);
            }
        }
        _ => return None,
    };
    // unsigned_abs: i64::MIN has no absolute value (found by
    // tests/fuzz_webhook.rs); the range check downstream refuses it.
    Some(TimestampMs(if ms.unsigned_abs() < 100_000_000_000 {
        ms * 1000
    } else {
        ms
    }))
}

/// ISO 8601 as Meta writes it (`2021-09-08T06:34:04+0000`) or RFC 3339.
pub fn iso8601(s: &str) -> Option<TimestampMs> {
    chrono::DateTime::parse_from_rfc3339(s)
        .or_else(|_| chrono::DateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S%z"))
        .or_else(|_| chrono::DateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S%.f%z"))
        .ok()
        .map(|d| TimestampMs(d.timestamp_millis()))
}

pub fn boolean(v: Option<&Value>) -> bool {
    match v {
        Some(Value::Bool(b)) => *b,
        Some(Value::String(s)) => s.eq_ignore_ascii_case("true"),
        Some(Value::Number(n)) => n.as_i64() == Some(1),
        _ => false,
    }
}

pub fn string(v: Option<&Value>) -> Option<String> {
    match v? {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// Meta's sample payloads write emoji as the literal text `\u{2764}\u{FE0F}`;
/// turn that form into the characters it names. Anything else is kept.
pub fn decode_brace_escapes(s: &str) -> String {
    if !s.contains("\\u{") {
        return s.to_string();
    }
    let mut out = String::new();
    let mut rest = s;
    while let Some(i) = rest.find("\\u{") {
        out.push_str(&rest[..i]);
        let after = &rest[i + 3..];
        match after.find('}').and_then(|j| {
            u32::from_str_radix(&after[..j], 16)
                .ok()
                .and_then(char::from_u32)
                .map(|c| (c, j))
        }) {
            Some((c, j)) => {
                out.push(c);
                rest = &after[j + 1..];
            }
            None => {
                out.push_str("\\u{");
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn ids_of_every_shape() {
        assert_eq!(id(Some(&json!("12"))).as_deref(), Some("12"));
        assert_eq!(
            id(Some(&json!(184719329217930001u64))).as_deref(),
            Some("184719329217930001")
        );
        assert_eq!(id(Some(&json!(null))), None);
        assert_eq!(id(None), None);
    }

    #[test]
    fn extreme_numbers_are_not_a_panic() {
        assert_eq!(
            timestamp(Some(&json!(i64::MIN))),
            Some(TimestampMs(i64::MIN))
        );
        assert_eq!(
            timestamp(Some(&json!(i64::MAX))),
            Some(TimestampMs(i64::MAX))
        );
    }

    #[test]
    fn timestamps_of_every_shape() {
        assert_eq!(
            timestamp(Some(&json!(1458692752478i64))),
            Some(TimestampMs(1458692752478))
        );
        assert_eq!(
            timestamp(Some(&json!("1458692752478"))),
            Some(TimestampMs(1458692752478))
        );
        assert_eq!(
            timestamp(Some(&json!(1527459824))),
            Some(TimestampMs(1527459824000))
        );
        assert_eq!(
            timestamp(Some(&json!("1527459824"))),
            Some(TimestampMs(1527459824000))
        );
        assert_eq!(
            timestamp(Some(&json!("2021-09-08T06:34:04+0000"))),
            Some(TimestampMs(1631082844000))
        );
        assert_eq!(
            timestamp(Some(&json!("2021-09-08T06:34:04Z"))),
            Some(TimestampMs(1631082844000))
        );
        assert_eq!(timestamp(Some(&json!("soon"))), None);
    }

    #[test]
    fn brace_escapes() {
        assert_eq!(
            decode_brace_escapes("\\u{2764}\\u{FE0F}"),
            "\u{2764}\u{FE0F}"
        );
        assert_eq!(decode_brace_escapes("😀"), "😀");
        assert_eq!(decode_brace_escapes("a\\u{zz}b"), "a\\u{zz}b");
    }
}
