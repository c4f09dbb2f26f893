//! A reaction to a message, or its removal (`unreact`).

use crate::change::Change;
use crate::domain::{ConvKey, Mid, TimestampMs};
use crate::meta::lenient;
use serde_json::Value;

/// `by` is whoever reacted: the customer, or the page on an echo.
pub(super) fn reaction(r: &Value, conv: ConvKey, by: String, at: TimestampMs) -> Change {
    let Some(target) = lenient::id(r.get("mid")) else {
        // Old payloads name no target; there is nothing to attach it to.
        return Change::Ignored {
            kind: "reaction without target mid".into(),
        };
    };
    let unreact = r.get("action").and_then(Value::as_str) == Some("unreact");
    let emoji = if unreact {
        None
    } else {
        Some(
            lenient::string(r.get("emoji"))
                .map(|e| lenient::decode_brace_escapes(&e))
                .or_else(|| lenient::string(r.get("reaction")))
                .unwrap_or_else(|| "?".into()),
        )
    };
    Change::Reaction {
        conv,
        target: Mid(target),
        emoji,
        by,
        at,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Platform;
    use serde_json::json;

    fn conv() -> ConvKey {
        ConvKey::new(Platform::Messenger, "P", "U")
    }

    fn emoji(r: Value) -> Option<String> {
        match reaction(&r, conv(), "U".into(), TimestampMs(1)) {
            Change::Reaction {
                emoji, target, by, ..
            } => {
                assert_eq!(target, Mid::from("m"));
                assert_eq!(by, "U");
                emoji
            }
            other => panic!("expected a reaction, got {other:?}"),
        }
    }

    #[test]
    fn unreact_has_no_emoji_and_brace_escapes_decode() {
        assert_eq!(
            emoji(
                json!({"mid":"m","action":"react","reaction":"love","emoji":"\\u{2764}\\u{FE0F}"})
            )
            .as_deref(),
            Some("\u{2764}\u{FE0F}")
        );
        assert_eq!(
            emoji(json!({"mid":"m","action":"unreact","emoji":"x"})),
            None
        );
    }

    #[test]
    fn without_an_emoji_the_reaction_name_then_a_question_mark() {
        assert_eq!(
            emoji(json!({"mid":"m","action":"react","reaction":"wow"})).as_deref(),
            Some("wow")
        );
        assert_eq!(emoji(json!({"mid":"m"})).as_deref(), Some("?"));
    }

    #[test]
    fn a_reaction_without_target_is_kept_only_in_the_log() {
        assert_eq!(
            reaction(
                &json!({"reaction":"like"}),
                conv(),
                "U".into(),
                TimestampMs(1)
            ),
            Change::Ignored {
                kind: "reaction without target mid".into()
            }
        );
    }
}
