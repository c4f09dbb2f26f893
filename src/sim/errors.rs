//! Meta's Graph error envelope (meta-api.md §5) as the fake answers it.

use serde_json::{json, Value};

#[derive(Debug, Clone, PartialEq)]
pub struct GraphError {
    pub http: u16,
    pub code: i64,
    pub subcode: Option<i64>,
    pub message: String,
    pub kind: &'static str,
    pub transient: bool,
}

impl GraphError {
    pub fn new(
        http: u16,
        code: i64,
        subcode: Option<i64>,
        message: impl Into<String>,
    ) -> GraphError {
        GraphError {
            http,
            code,
            subcode,
            message: message.into(),
            kind: "OAuthException",
            transient: false,
        }
    }

    /// The error for a code/subcode pair, with Meta's wording where known.
    pub fn from_code(code: i64, subcode: Option<i64>) -> GraphError {
        let msg = match (code, subcode) {
            (10, Some(2018278)) => "(#10) This message is sent outside of allowed window. Learn more about the new policy here: https://developers.facebook.com/docs/messenger-platform/policy-overview",
            (10, Some(2534022)) => "(#10) This message is sent outside of allowed window.",
            (10, Some(2018108)) => "(#10) This person isn't receiving messages from you right now.",
            (551, _) => "(#551) This person isn't available right now.",
            (100, Some(2018001)) => "(#100) No matching user found",
            (100, _) => "(#100) Invalid parameter",
            (190, _) => "Invalid OAuth access token - Cannot parse access token",
            (613, _) => "(#613) Calls to this api have exceeded the rate limit.",
            (4, _) => "(#4) Application request limit reached",
            (32, _) => "(#32) Page request limit reached",
            (1200, _) => "Temporary send message failure. Please try again later",
            (2, _) => "An unexpected error has occurred. Please retry your request later.",
            (1, _) => "An unknown error occurred",
            (200, _) => "(#200) Permissions error",
            (230, _) => "(#230) Permissions disallow message to user",
            (368, _) => "(#368) The action attempted has been deemed abusive or is otherwise disallowed",
            _ => "An error occurred",
        };
        let http = match code {
            190 => 401,
            1200 | 2 | 1 => 500,
            _ => 400,
        };
        let mut e = GraphError::new(http, code, subcode, msg);
        e.transient = matches!(code, 1 | 2 | 4 | 17 | 32 | 613 | 1200);
        e
    }

    /// Meta's answer to a read that would return too much (code 1, HTTP
    /// 500, not marked transient: the same request fails again).
    pub fn too_much_data() -> GraphError {
        GraphError::new(
            500,
            1,
            None,
            "Please reduce the amount of data you're asking for, then retry your request",
        )
    }

    pub fn invalid(message: impl Into<String>) -> GraphError {
        GraphError::new(400, 100, None, message)
    }

    pub fn token() -> GraphError {
        GraphError::from_code(190, None)
    }

    pub fn outside_window(instagram: bool) -> GraphError {
        if instagram {
            GraphError::from_code(10, Some(2534022))
        } else {
            GraphError::from_code(10, Some(2018278))
        }
    }

    pub fn body(&self) -> Value {
        let mut e = json!({
            "message": self.message,
            "type": self.kind,
            "code": self.code,
            "fbtrace_id": "AsimFakeTraceId0001",
        });
        if let Some(s) = self.subcode {
            e["error_subcode"] = json!(s);
        }
        if self.transient {
            e["is_transient"] = json!(true);
        }
        json!({"error": e})
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn envelope_carries_code_and_subcode() {
        let b = GraphError::outside_window(false).body();
        assert_eq!(b["error"]["code"], 10);
        assert_eq!(b["error"]["error_subcode"], 2018278);
        assert_eq!(b["error"]["type"], "OAuthException");
        let t = GraphError::from_code(613, None);
        assert!(t.transient && t.body()["error"].get("error_subcode").is_none());
    }
}
