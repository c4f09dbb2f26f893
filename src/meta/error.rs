//! Meta's error envelope mapped to what dmdesk does about it.

use serde_json::Value;
use std::time::Duration;

/// What an error means for us. Branch on this, not on HTTP status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorClass {
    /// Outside the messaging window (10/2018278, 10/2534022): needs a tag.
    WindowClosed,
    /// Token invalid or expired (190): the page needs a new token.
    TokenInvalid,
    /// App, page, user or business-use-case limit: slow down and retry later.
    RateLimited,
    /// The person can't be reached (551, 10/2018108, 200/1545041).
    UserUnreachable,
    /// Bad or foreign PSID/IGSID (100/2018001).
    NoMatchingUser,
    /// Missing permission or feature (10/2018065, 200, 230, 2018028...).
    Permission,
    /// Temporary trouble on Meta's side (1, 2, 1200, 5xx, timeouts).
    Transient,
    /// Error 100 on a tagged send, or one whose message names the tag: the
    /// tag is not (or no longer) accepted — Meta retired the update tags in
    /// 2026 and answers them with a bare "(#100) Invalid parameter".
    TagRejected,
    /// Code 1 "Please reduce the amount of data you're asking for, then
    /// retry your request": the same request fails again; ask for smaller
    /// pages instead (sync halves its page sizes).
    TooMuchData,
    /// Anything else (bad parameter...): not retried.
    Unknown,
}

impl ErrorClass {
    pub fn retryable(self) -> bool {
        matches!(self, ErrorClass::Transient | ErrorClass::RateLimited)
    }
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorClass::WindowClosed => "window_closed",
            ErrorClass::TokenInvalid => "token_invalid",
            ErrorClass::RateLimited => "rate_limited",
            ErrorClass::UserUnreachable => "user_unreachable",
            ErrorClass::NoMatchingUser => "no_matching_user",
            ErrorClass::Permission => "permission",
            ErrorClass::Transient => "transient",
            ErrorClass::TagRejected => "tag_rejected",
            ErrorClass::TooMuchData => "too_much_data",
            ErrorClass::Unknown => "unknown",
        }
    }
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{}", self.describe())]
pub struct GraphError {
    pub class: ErrorClass,
    pub code: Option<i64>,
    pub subcode: Option<i64>,
    pub http_status: Option<u16>,
    pub message: String,
    /// Server-suggested wait (usage headers' estimated_time_to_regain_access).
    pub retry_after: Option<Duration>,
}

impl GraphError {
    pub fn transport(message: impl Into<String>) -> GraphError {
        GraphError {
            class: ErrorClass::Transient,
            code: None,
            subcode: None,
            http_status: None,
            message: message.into(),
            retry_after: None,
        }
    }

    /// The answer to a send that carried `tag`: a plain error 100 ("Invalid
    /// parameter", no subcode) is how Meta rejects a retired tag, so it is
    /// reported as the tag's fault, naming it.
    pub fn on_tagged_send(mut self, tag: &str) -> GraphError {
        if self.code == Some(100) && self.subcode.is_none() && self.class == ErrorClass::Unknown {
            self.class = ErrorClass::TagRejected;
            self.message = format!("tag {tag}: {}", self.message.trim());
        }
        self
    }

    /// The request got no answer from Meta at all (no connection, a
    /// timeout, a broken transfer): a network problem on the way to Meta,
    /// not something Meta said about the token or its permissions.
    pub fn is_network(&self) -> bool {
        self.class == ErrorClass::Transient
            && self.code.is_none()
            && self.http_status.is_none()
            && ["could not connect", "timed out", "request failed"]
                .iter()
                .any(|p| self.message.starts_with(p))
    }

    /// One line for the status bar and the thread: what happened and what to do.
    pub fn describe(&self) -> String {
        let code = match (self.code, self.subcode) {
            (Some(c), Some(s)) => format!(" ({c}/{s})"),
            (Some(c), None) => format!(" ({c})"),
            _ => String::new(),
        };
        let what = match self.class {
            ErrorClass::WindowClosed => "outside the messaging window; a tag is needed",
            ErrorClass::TokenInvalid => {
                "the page token is invalid or expired; put a new one in the config"
            }
            ErrorClass::RateLimited => "Meta's rate limit was reached; slowing down",
            ErrorClass::UserUnreachable => "this person isn't available right now",
            ErrorClass::NoMatchingUser => "no matching user (wrong id for this page)",
            ErrorClass::Permission => "the app lacks a permission for this",
            ErrorClass::Transient if self.is_network() => {
                "network problem: the Graph API did not answer"
            }
            ErrorClass::Transient => "temporary error at Meta",
            ErrorClass::TagRejected => "Meta refused the message tag (a retired tag fails like this); send inside the 24-hour window, or use HUMAN_AGENT for a person's reply",
            ErrorClass::TooMuchData => {
                "Meta asked for less data per request (smaller pages)"
            }
            ErrorClass::Unknown => "Meta refused the request",
        };
        let msg = self.message.trim();
        if msg.is_empty() {
            format!("{what}{code}")
        } else {
            format!("{what}{code}: {}", truncate(msg, 160))
        }
    }
}

fn truncate(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        s.to_string()
    } else {
        s.chars().take(n).collect::<String>() + "…"
    }
}

/// Classify by Meta's code and subcode (meta-api.md §5).
pub fn classify(
    code: Option<i64>,
    subcode: Option<i64>,
    http_status: Option<u16>,
    is_transient: bool,
) -> ErrorClass {
    match (code, subcode) {
        (Some(10), Some(2018278 | 2534022)) => ErrorClass::WindowClosed,
        (Some(10), Some(2018108)) => ErrorClass::UserUnreachable,
        (Some(551), _) | (Some(200), Some(1545041)) => ErrorClass::UserUnreachable,
        (Some(100), Some(2018001)) => ErrorClass::NoMatchingUser,
        (Some(190), _) | (Some(102), _) => ErrorClass::TokenInvalid,
        (Some(4 | 17 | 32 | 613), _) => ErrorClass::RateLimited,
        (Some(c), _) if (80000..=80014).contains(&c) => ErrorClass::RateLimited,
        // -1 is the Send API's "unexpected internal error" (Vlix fixture, 2018012).
        (Some(-1 | 1 | 2 | 1200), _) => ErrorClass::Transient,
        (Some(10 | 200 | 230 | 3), _) => ErrorClass::Permission,
        (Some(368), _) => ErrorClass::Permission,
        _ if is_transient => ErrorClass::Transient,
        _ => match http_status {
            Some(s) if s >= 500 => ErrorClass::Transient,
            Some(429) => ErrorClass::RateLimited,
            Some(401) => ErrorClass::TokenInvalid,
            _ => ErrorClass::Unknown,
        },
    }
}

/// Read an error from a response body, if it is one. Handles the standard
/// `{"error":{...}}` envelope and the flat form some OAuth errors take.
pub fn parse_error(body: &Value, http_status: Option<u16>) -> Option<GraphError> {
    use super::lenient;
    let e = match body.get("error") {
        Some(e) if e.is_object() => e,
        Some(Value::String(s)) => {
            // Flat OAuth form: {"error":"invalid_token","error_description":"..."}
            let message = body
                .get("error_description")
                .and_then(Value::as_str)
                .unwrap_or(s)
                .to_string();
            return Some(GraphError {
                class: classify(None, None, http_status, false),
                code: None,
                subcode: None,
                http_status,
                message,
                retry_after: None,
            });
        }
        // Old OAuth endpoints answer flat: {"error_type":..,"code":..,"error_message":..}.
        _ => match (body.get("error_type"), body.get("error_message")) {
            (Some(_), Some(msg)) => {
                let code = body.get("code").and_then(Value::as_i64);
                return Some(GraphError {
                    class: classify(code, None, http_status, false),
                    code,
                    subcode: None,
                    http_status,
                    message: lenient::string(Some(msg)).unwrap_or_default(),
                    retry_after: None,
                });
            }
            _ => return None,
        },
    };
    let num = |k: &str| {
        e.get(k).and_then(|v| {
            v.as_i64()
                .or_else(|| v.as_str().and_then(|s| s.parse().ok()))
        })
    };
    let code = num("code");
    let subcode = num("error_subcode");
    let message = lenient::string(e.get("error_user_msg"))
        .filter(|_| code != Some(190))
        .or_else(|| lenient::string(e.get("message")))
        .unwrap_or_default();
    let class = match classify(
        code,
        subcode,
        http_status,
        lenient::boolean(e.get("is_transient")),
    ) {
        // "(#100) Param tag must be one of ..." and the like.
        ErrorClass::Unknown if code == Some(100) && names_a_tag(&message) => {
            ErrorClass::TagRejected
        }
        // Code 1 is otherwise "unknown error, retry"; this one is not worth
        // retrying as it was asked.
        _ if code == Some(1) && asks_for_less_data(&message) => ErrorClass::TooMuchData,
        c => c,
    };
    Some(GraphError {
        class,
        code,
        subcode,
        http_status,
        message,
        retry_after: None,
    })
}

/// Meta's answer to a read whose answer would be too large: code 1 with
/// "Please reduce the amount of data you're asking for, then retry your
/// request" (seen in 2026, e.g. macbre/farerskie-kadry-feed#10; not in
/// meta-api.md's table, which lists code 1 only as "unknown, retry").
pub fn asks_for_less_data(message: &str) -> bool {
    message
        .to_ascii_lowercase()
        .contains("reduce the amount of data")
}

/// Whether Meta's message is about the `tag` parameter (a word, not "tagged"
/// inside another word).
fn names_a_tag(message: &str) -> bool {
    message
        .split(|c: char| !c.is_ascii_alphanumeric() && c != '_')
        .any(|w| w.eq_ignore_ascii_case("tag") || w.ends_with("_UPDATE") || w == "HUMAN_AGENT")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn classes_by_code() {
        let c = |code, sub| classify(Some(code), sub, Some(400), false);
        assert_eq!(c(10, Some(2018278)), ErrorClass::WindowClosed);
        assert_eq!(c(10, Some(2534022)), ErrorClass::WindowClosed);
        assert_eq!(c(551, Some(1545041)), ErrorClass::UserUnreachable);
        assert_eq!(c(100, Some(2018001)), ErrorClass::NoMatchingUser);
        assert_eq!(c(190, Some(460)), ErrorClass::TokenInvalid);
        assert_eq!(c(613, None), ErrorClass::RateLimited);
        assert_eq!(c(80006, None), ErrorClass::RateLimited);
        assert_eq!(c(2, None), ErrorClass::Transient);
        assert_eq!(c(10, Some(2018065)), ErrorClass::Permission);
        assert_eq!(c(100, None), ErrorClass::Unknown);
        assert_eq!(
            classify(None, None, Some(503), false),
            ErrorClass::Transient
        );
        assert_eq!(
            classify(Some(1), Some(1965014), Some(400), true),
            ErrorClass::Transient
        );
    }

    #[test]
    fn error_100_about_a_tag_is_reported_as_the_tag() {
        let named = parse_error(
            &json!({"error":{"message":"(#100) Param tag must be one of {HUMAN_AGENT}","type":"OAuthException","code":100}}),
            Some(400),
        )
        .unwrap();
        assert_eq!(named.class, ErrorClass::TagRejected);
        assert!(named.describe().contains("tag"));
        // Meta's bare answer to a retired tag: only the send knows the tag.
        let bare = parse_error(
            &json!({"error":{"message":"(#100) Invalid parameter","type":"OAuthException","code":100}}),
            Some(400),
        )
        .unwrap();
        assert_eq!(bare.class, ErrorClass::Unknown);
        let tagged = bare.clone().on_tagged_send("ACCOUNT_UPDATE");
        assert_eq!(tagged.class, ErrorClass::TagRejected);
        assert!(
            tagged.describe().contains("ACCOUNT_UPDATE"),
            "{}",
            tagged.describe()
        );
        // Other errors 100 keep their meaning.
        let user = parse_error(
            &json!({"error":{"message":"(#100) No matching user found","code":100,"error_subcode":2018001}}),
            Some(400),
        )
        .unwrap()
        .on_tagged_send("HUMAN_AGENT");
        assert_eq!(user.class, ErrorClass::NoMatchingUser);
        let text = parse_error(
            &json!({"error":{"message":"(#100) Length of param message[text] must be less than 2000","code":100}}),
            Some(400),
        )
        .unwrap();
        assert_eq!(text.class, ErrorClass::Unknown);
    }

    #[test]
    fn code_1_asking_for_less_data_is_not_a_plain_retry() {
        let less = parse_error(
            &json!({"error":{"code":1,"message":"Please reduce the amount of data you're asking for, then retry your request"}}),
            Some(500),
        )
        .unwrap();
        assert_eq!(less.class, ErrorClass::TooMuchData);
        assert!(!less.class.retryable());
        assert!(less.describe().contains("less data"), "{}", less.describe());
        // Marked transient by Meta or not, the message decides.
        let flagged = parse_error(
            &json!({"error":{"code":1,"is_transient":true,"message":"Please reduce the amount of data you're asking for, then retry your request","type":"OAuthException"}}),
            Some(500),
        )
        .unwrap();
        assert_eq!(flagged.class, ErrorClass::TooMuchData);
        // Other code-1 errors stay transient (retried with back-off).
        let unknown = parse_error(
            &json!({"error":{"code":1,"message":"An unknown error occurred"}}),
            Some(500),
        )
        .unwrap();
        assert_eq!(unknown.class, ErrorClass::Transient);
        // The wording alone, under another code, is not this error.
        let other = parse_error(
            &json!({"error":{"code":100,"message":"Please reduce the amount of data you're asking for"}}),
            Some(400),
        )
        .unwrap();
        assert_eq!(other.class, ErrorClass::Unknown);
    }

    #[test]
    fn envelope_forms() {
        let e = parse_error(
            &json!({"error":{"message":"(#10) outside window","type":"OAuthException","code":10,"error_subcode":2018278}}),
            Some(400),
        )
        .unwrap();
        assert_eq!(e.class, ErrorClass::WindowClosed);
        assert!(e.describe().contains("10/2018278"));
        let flat = parse_error(
            &json!({"error":"invalid_token","error_description":"bad"}),
            Some(401),
        )
        .unwrap();
        assert_eq!(flat.class, ErrorClass::TokenInvalid);
        assert!(parse_error(&json!({"recipient_id":"1","message_id":"m"}), Some(200)).is_none());
        let minimal = parse_error(
            &json!({"error":{"message":"Invalid OAuth access token."}}),
            Some(401),
        )
        .unwrap();
        assert_eq!(minimal.class, ErrorClass::TokenInvalid);
    }
}
