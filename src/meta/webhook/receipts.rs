//! Delivery and read receipts for what the page sent.

use crate::change::Change;
use crate::domain::{ConvKey, Mid};
use crate::meta::lenient;
use serde_json::Value;

/// Messenger's delivery: the listed mids and/or everything up to the watermark.
pub(super) fn delivery(d: &Value, conv: ConvKey) -> Change {
    let mids = d
        .get("mids")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|x| lenient::id(Some(x)))
                .map(Mid)
                .collect()
        })
        .unwrap_or_default();
    Change::Delivery {
        conv,
        mids,
        watermark: lenient::timestamp(d.get("watermark")),
    }
}

/// A watermark on Messenger, a mid on Instagram.
pub(super) fn read(r: &Value, conv: ConvKey) -> Change {
    Change::Read {
        conv,
        watermark: lenient::timestamp(r.get("watermark")),
        mid: lenient::id(r.get("mid")).map(Mid),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{Platform, TimestampMs};
    use serde_json::json;

    fn conv() -> ConvKey {
        ConvKey::new(Platform::Messenger, "P", "U")
    }

    #[test]
    fn a_delivery_lists_its_mids_and_watermark() {
        assert_eq!(
            delivery(
                &json!({"mids":["m1", 22, "", null],"watermark":1458668856253i64,"seq":37}),
                conv()
            ),
            Change::Delivery {
                conv: conv(),
                mids: vec![Mid::from("m1"), Mid::from("22")],
                watermark: Some(TimestampMs(1458668856253)),
            }
        );
        // Old payloads carry only the watermark, in seconds as a string.
        assert_eq!(
            delivery(&json!({"watermark":"1458668856"}), conv()),
            Change::Delivery {
                conv: conv(),
                mids: vec![],
                watermark: Some(TimestampMs(1458668856000)),
            }
        );
    }

    #[test]
    fn a_read_carries_a_watermark_or_a_mid() {
        assert_eq!(
            read(&json!({"watermark":1458668856253i64,"seq":38}), conv()),
            Change::Read {
                conv: conv(),
                watermark: Some(TimestampMs(1458668856253)),
                mid: None
            }
        );
        assert_eq!(
            read(&json!({"mid":"aWdfZA"}), conv()),
            Change::Read {
                conv: conv(),
                watermark: None,
                mid: Some(Mid::from("aWdfZA"))
            }
        );
    }
}
