//! `X-Hub-Signature-256`: HMAC-SHA256 of the raw body with the app secret.

use hmac::{Hmac, Mac};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

/// The header value Meta would send for `body`: `sha256=<lowercase hex>`.
pub fn sign(secret: &[u8], body: &[u8]) -> String {
    let mut mac = HmacSha256::new_from_slice(secret).expect("HMAC takes any key length");
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

/// Check a header value against the raw body in constant time. Hex is
/// compared case-insensitively (decoded first); anything malformed fails.
pub fn verify(secret: &[u8], body: &[u8], header: &str) -> bool {
    let Some(hex_sig) = header.trim().strip_prefix("sha256=") else {
        return false;
    };
    let Ok(sig) = hex::decode(hex_sig) else {
        return false;
    };
    let mut mac = HmacSha256::new_from_slice(secret).expect("HMAC takes any key length");
    mac.update(body);
    // verify_slice compares in constant time.
    mac.verify_slice(&sig).is_ok()
}

/// `verify` under each non-empty secret in turn: true when one matches.
pub fn verify_any<'a>(
    secrets: impl IntoIterator<Item = &'a crate::secret::Secret>,
    body: &[u8],
    header: &str,
) -> bool {
    secrets
        .into_iter()
        .filter(|s| !s.is_empty())
        .any(|s| verify(s.expose().as_bytes(), body, header))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_tamper() {
        let h = sign(b"s3cret", b"{\"a\":1}");
        assert!(verify(b"s3cret", b"{\"a\":1}", &h));
        assert!(verify(
            b"s3cret",
            b"{\"a\":1}",
            &h.to_uppercase().replace("SHA256=", "sha256=")
        ));
        assert!(!verify(b"s3cret", b"{\"a\":2}", &h));
        assert!(!verify(b"other", b"{\"a\":1}", &h));
        assert!(!verify(b"s3cret", b"{\"a\":1}", "sha1=abc"));
        assert!(!verify(b"s3cret", b"{\"a\":1}", "sha256=zz"));
        assert!(!verify(b"s3cret", b"{\"a\":1}", ""));
    }

    #[test]
    fn either_secret_and_never_an_empty_one() {
        use crate::secret::Secret;
        let (fb, ig) = (Secret::new("fb"), Secret::new("ig"));
        let body = b"{}";
        assert!(verify_any([&fb, &ig], body, &sign(b"ig", body)));
        assert!(verify_any([&fb, &ig], body, &sign(b"fb", body)));
        assert!(!verify_any([&fb, &ig], body, &sign(b"other", body)));
        // An unset secret verifies nothing, not everything.
        assert!(!verify_any([&Secret::default()], body, &sign(b"", body)));
    }
}
