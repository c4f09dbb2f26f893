//! Who owns the thread (Meta's handover protocol): a pass or take of
//! thread control, or any item that arrived in `standby[]`.

use crate::change::Change;
use crate::domain::{ConvKey, TimestampMs};
use crate::meta::lenient;
use serde_json::Value;

/// `kind` is `pass_thread_control` or `take_thread_control`, `h` its payload.
pub(super) fn handover(
    kind: &str,
    h: &Value,
    conv: ConvKey,
    at: TimestampMs,
    our_app_id: Option<&str>,
) -> Change {
    let new_owner = lenient::id(h.get("new_owner_app_id"));
    let ours = match (new_owner.as_deref(), our_app_id) {
        (Some(n), Some(a)) => n == a,
        // Without our app id, a pass names the receiver: assume us.
        _ => kind == "pass_thread_control",
    };
    Change::Handover {
        conv,
        standby: !ours,
        at,
    }
}

/// A standby item of no kind we read: the thread is elsewhere.
pub(super) fn standby(conv: ConvKey, at: TimestampMs) -> Change {
    Change::Handover {
        conv,
        standby: true,
        at,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Platform;
    use serde_json::json;

    /// Whether the thread ends up in standby for us.
    fn standby_after(kind: &str, h: Value, ours: Option<&str>) -> bool {
        let conv = ConvKey::new(Platform::Messenger, "P", "U");
        match handover(kind, &h, conv, TimestampMs(1), ours) {
            Change::Handover { standby, .. } => standby,
            other => panic!("expected a handover, got {other:?}"),
        }
    }

    #[test]
    fn the_new_owner_decides_when_we_know_our_app_id() {
        let to = |id: u64| json!({"new_owner_app_id": id, "metadata":"x"});
        assert!(!standby_after("pass_thread_control", to(42), Some("42")));
        assert!(standby_after("pass_thread_control", to(7), Some("42")));
        assert!(!standby_after("take_thread_control", to(42), Some("42")));
        assert!(standby_after("take_thread_control", to(7), Some("42")));
    }

    #[test]
    fn without_our_app_id_a_pass_is_to_us_and_a_take_is_from_us() {
        assert!(!standby_after(
            "pass_thread_control",
            json!({"new_owner_app_id":7}),
            None
        ));
        assert!(standby_after(
            "take_thread_control",
            json!({"previous_owner_app_id":42}),
            None
        ));
        // A pass naming no new owner: assume us as well.
        assert!(!standby_after("pass_thread_control", json!({}), Some("42")));
    }
}
