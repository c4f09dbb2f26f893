//! Whether an Instagram Login token works for its account: `GET /me` on
//! the Instagram host. `user_id` there is the Instagram professional
//! account id (the one webhooks carry as `entry.id`); `id` is app-scoped.
//! <https://developers.facebook.com/docs/instagram-platform/reference/me>,
//! <https://developers.facebook.com/documentation/instagram-platform/instagram-graph-api/reference/ig-user>

use crate::config::PageConfig;
use crate::meta::error::GraphError;
use crate::meta::graph::GraphClient;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LoginCheck {
    /// The token is this account's; its username.
    Works(Option<String>),
    /// The token belongs to another Instagram account (its id).
    OtherAccount(String),
}

/// For `doctor`: call `/me` as the `[[instagram]]` account `page`.
pub async fn instagram_login(
    graph: &GraphClient,
    page: &PageConfig,
) -> Result<LoginCheck, GraphError> {
    use crate::meta::lenient::{id, string};
    let v = graph
        .get_as(
            page.id.as_str(),
            false,
            "me",
            &page.access_token,
            &[("fields", "user_id,username")],
        )
        .await?;
    match id(v.get("user_id")) {
        Some(u) if u != page.id.as_str() => Ok(LoginCheck::OtherAccount(u)),
        _ => Ok(LoginCheck::Works(string(v.get("username")))),
    }
}
