//! The one file a campaign sends: uploaded once before the campaign is
//! created, then named by its `attachment_id` in every recipient's send, so
//! the file is never read or uploaded again — not even by a resume in a
//! later process. The campaign record has no place for it, so it is kept
//! beside the store (`<store path>/campaign-files/<id>.json`, mode 0600),
//! written atomically.
//!
//! Instagram takes media only by URL: when the process that runs the
//! campaign has a webhook server at `[server] public_url`, the file is
//! served once for the whole campaign (src/webhook/media.rs) and every
//! Instagram recipient is sent that URL, for [`INSTAGRAM_SEND_FOR`].

use crate::domain::{Platform, TimestampMs};
use crate::media::outgoing::MediaKind;
use crate::meta::graph::Outgoing;
use crate::request::campaign::NOT_SERVED;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// How long after its creation a campaign sends its served URL to
/// Instagram customers. A campaign goes only to customers inside their
/// 24-hour window, so every recipient it could send to when it was created
/// is either sent or out of its window a day later. (One who wrote again
/// meanwhile is skipped after that, saying why.)
pub const INSTAGRAM_SEND_FOR: Duration = Duration::from_secs(24 * 3600);

/// How long the campaign's file is served: [`INSTAGRAM_SEND_FOR`], then
/// the hour a single send's file is served (Meta fetches it during the
/// call; the margin covers its retries). 25 hours.
pub const INSTAGRAM_SERVE_FOR: Duration =
    INSTAGRAM_SEND_FOR.saturating_add(crate::webhook::media::SERVE_FOR);

/// The campaign's file as Instagram fetches it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServedCopy {
    /// `{public_url}/media/{token}`.
    pub url: String,
    /// The last moment a send may name it (creation + [`INSTAGRAM_SEND_FOR`]).
    pub send_until_ms: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CampaignFile {
    pub kind: MediaKind,
    /// The file's name, shown in each recipient's thread.
    pub name: String,
    /// page id → its `attachment_id` (an upload belongs to the page that
    /// made it).
    pub attachment_ids: BTreeMap<String, String>,
    /// Instagram recipients' copy (None: they are not sent the file).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub served: Option<ServedCopy>,
}

impl CampaignFile {
    /// "[image] parcel.png": how previews and notices name it.
    pub fn about(&self) -> String {
        format!("[{}] {}", self.kind.as_str(), self.name)
    }

    /// What carries the file to a recipient on `platform` from `page` at
    /// `now`: the page's upload on Messenger, the served URL on Instagram.
    pub fn outgoing(
        &self,
        platform: Platform,
        page: &str,
        now: TimestampMs,
    ) -> Result<Outgoing<'_>, String> {
        match platform {
            Platform::Instagram => self
                .instagram_url(now)
                .map(|url| Outgoing::Url {
                    kind: self.kind,
                    url,
                })
                .map_err(str::to_string),
            // Its page joined after the upload (a resume with a new config).
            Platform::Messenger => match self.attachment_ids.get(page) {
                Some(id) => Ok(Outgoing::Uploaded {
                    kind: self.kind,
                    attachment_id: id,
                }),
                None => Err(format!("the file was not uploaded for page {page}")),
            },
        }
    }

    /// The URL to send an Instagram customer at `now`, or why there is none.
    pub fn instagram_url(&self, now: TimestampMs) -> Result<&str, &'static str> {
        match &self.served {
            Some(s) if now.0 < s.send_until_ms => Ok(&s.url),
            Some(_) => Err("the campaign's file was served for Instagram for 24 hours after the campaign was created, and that time is up; send it as a new campaign"),
            None => Err(NOT_SERVED),
        }
    }

    fn path(dir: &Path, campaign: &str) -> std::io::Result<PathBuf> {
        // Campaign ids are ours, but a path is built from it: refuse anything odd.
        if campaign.is_empty()
            || !campaign
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        {
            return Err(std::io::Error::other(format!(
                "campaign id {campaign:?} cannot name a file"
            )));
        }
        Ok(dir.join("campaign-files").join(format!("{campaign}.json")))
    }

    /// Write it for `campaign` under the store directory `dir`, durably.
    pub fn save(&self, dir: &Path, campaign: &str) -> std::io::Result<()> {
        let path = Self::path(dir, campaign)?;
        let parent = path.parent().unwrap_or(dir);
        std::fs::create_dir_all(parent)?;
        let mut tmp = tempfile::NamedTempFile::new_in(parent)?;
        tmp.write_all(&serde_json::to_vec(self).map_err(std::io::Error::other)?)?;
        tmp.as_file().sync_all()?;
        // NamedTempFile is created 0600 already.
        tmp.persist(&path).map_err(|e| e.error)?;
        Ok(())
    }

    /// The file of `campaign`, if it sends one.
    pub fn load(dir: &Path, campaign: &str) -> std::io::Result<Option<CampaignFile>> {
        match std::fs::read(Self::path(dir, campaign)?) {
            Ok(b) => serde_json::from_slice(&b)
                .map(Some)
                .map_err(std::io::Error::other),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn saved_then_loaded_and_private() {
        let dir = tempfile::tempdir().unwrap();
        let f = CampaignFile {
            kind: MediaKind::Image,
            name: "sale.png".into(),
            attachment_ids: [("p1".to_string(), "123".to_string())].into(),
            served: None,
        };
        assert_eq!(CampaignFile::load(dir.path(), "c1").unwrap(), None);
        f.save(dir.path(), "c1").unwrap();
        assert_eq!(CampaignFile::load(dir.path(), "c1").unwrap(), Some(f));
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(dir.path().join("campaign-files/c1.json"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
        assert!(CampaignFile::load(dir.path(), "../x").is_err());
    }

    #[test]
    fn instagram_is_sent_the_served_url_only_until_its_time() {
        let mut f = CampaignFile {
            kind: MediaKind::Image,
            name: "sale.png".into(),
            attachment_ids: BTreeMap::new(),
            served: None,
        };
        assert_eq!(f.instagram_url(TimestampMs(1)), Err(NOT_SERVED));
        f.served = Some(ServedCopy {
            url: "https://dm.example.com/media/abc".into(),
            send_until_ms: 1_000,
        });
        assert_eq!(
            f.instagram_url(TimestampMs(999)),
            Ok("https://dm.example.com/media/abc")
        );
        let late = f.instagram_url(TimestampMs(1_000)).unwrap_err();
        assert!(late.contains("24 hours"), "{late}");
        // A record written before Instagram copies existed still loads.
        let old: CampaignFile =
            serde_json::from_str(r#"{"kind":"image","name":"a.png","attachment_ids":{"p1":"9"}}"#)
                .unwrap();
        assert_eq!(old.served, None);
        assert_eq!(
            INSTAGRAM_SERVE_FOR,
            Duration::from_secs(25 * 3600),
            "the day of sends, then the hour Meta may fetch the last one"
        );
    }
}
