//! The simulated identities and Meta-shaped ids: PSIDs/IGSIDs, thread ids,
//! `m_...` Messenger mids and Instagram's base64 item ids, paging cursors.

use crate::domain::Platform;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use rand::Rng;
use sha2::{Digest, Sha256};

/// Who the simulator plays: one Page with its Instagram account, one app.
#[derive(Clone)]
pub struct Ids {
    pub page_id: String,
    pub page_name: String,
    pub ig_id: String,
    pub ig_username: String,
    pub app_id: String,
    pub app_name: String,
    pub app_secret: String,
    pub page_token: String,
}

impl std::fmt::Debug for Ids {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print the secret or the token.
        f.debug_struct("Ids")
            .field("page_id", &self.page_id)
            .field("ig_id", &self.ig_id)
            .field("app_id", &self.app_id)
            .finish_non_exhaustive()
    }
}

impl Ids {
    /// The identities of `Config::demo`.
    pub fn demo() -> Ids {
        Ids {
            page_id: "100200300".into(),
            page_name: "Demo Coffee Co.".into(),
            ig_id: "17840000000000001".into(),
            ig_username: "democoffeeco".into(),
            app_id: "1000000000000001".into(),
            app_name: "dmdesk demo".into(),
            app_secret: "demo-app-secret".into(),
            page_token: "demo-page-token".into(),
        }
    }

    pub fn account(&self, p: Platform) -> &str {
        match p {
            Platform::Messenger => &self.page_id,
            Platform::Instagram => &self.ig_id,
        }
    }
}

/// A PSID (16 digits) or an IGSID (17 digits).
pub fn user_id<R: Rng>(rng: &mut R, p: Platform) -> String {
    match p {
        Platform::Messenger => format!("2{:015}", rng.random_range(0..1_000_000_000_000_000u64)),
        Platform::Instagram => format!("5{:016}", rng.random_range(0..10_000_000_000_000_000u64)),
    }
}

/// A thread id: `t_<digits>` on Messenger, base64 of an IG thread key on Instagram.
pub fn conv_id(ids: &Ids, p: Platform, user: &str) -> String {
    match p {
        Platform::Messenger => {
            let h = Sha256::digest(format!("thread:{}:{user}", ids.page_id));
            let n =
                u64::from_be_bytes(h[..8].try_into().expect("8 bytes")) % 10_000_000_000_000_000;
            format!("t_{n}")
        }
        Platform::Instagram => URL_SAFE_NO_PAD.encode(format!(
            "ig_message_thread:1:IGMessageThread:{}:{user}",
            ids.ig_id
        )),
    }
}

/// A message id, deterministic in (seed, counter): `m_<base64url>` on
/// Messenger, base64 of an IG message item key on Instagram.
pub fn mid(p: Platform, account: &str, user: &str, seed: u64, counter: u64) -> String {
    let h = Sha256::digest(format!("{seed}:{counter}:{user}"));
    match p {
        Platform::Messenger => format!("m_{}", URL_SAFE_NO_PAD.encode(&h[..30])),
        Platform::Instagram => {
            let item = u128::from_be_bytes(h[..16].try_into().expect("16 bytes")) >> 2;
            URL_SAFE_NO_PAD.encode(format!(
                "ig_message_item:1:IGMessageThread:{account}:{user}:{item}"
            ))
        }
    }
}

/// Opaque paging cursors (an offset, base64'd like Meta's).
pub fn cursor(offset: usize) -> String {
    URL_SAFE_NO_PAD.encode(format!("sim:{offset}"))
}

pub fn parse_cursor(c: &str) -> Option<usize> {
    let raw = URL_SAFE_NO_PAD.decode(c.trim_end_matches('=')).ok()?;
    std::str::from_utf8(&raw)
        .ok()?
        .strip_prefix("sim:")?
        .parse()
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_ids_look_like_meta() {
        assert_eq!(parse_cursor(&cursor(42)), Some(42));
        assert_eq!(parse_cursor("garbage!"), None);
        let m = mid(Platform::Messenger, "1", "2", 0, 1);
        assert!(m.starts_with("m_") && m.len() > 30);
        assert_ne!(m, mid(Platform::Messenger, "1", "2", 0, 2));
        let ig = mid(Platform::Instagram, "1", "2", 0, 1);
        assert!(ig.starts_with("aWdfbWVzc2FnZV9pdGVt"), "{ig}");
        let mut rng = <rand::rngs::StdRng as rand::SeedableRng>::seed_from_u64(3);
        assert_eq!(user_id(&mut rng, Platform::Messenger).len(), 16);
        assert_eq!(user_id(&mut rng, Platform::Instagram).len(), 17);
    }
}
