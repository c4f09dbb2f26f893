//! The one file a campaign sends: uploaded once before the campaign is
//! created, then named by its `attachment_id` in every recipient's send, so
//! the file is never read or uploaded again — not even by a resume in a
//! later process. The campaign record has no place for it, so it is kept
//! beside the store (`<store path>/campaign-files/<id>.json`, mode 0600),
//! written atomically.

use crate::send::media::MediaKind;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CampaignFile {
    pub kind: MediaKind,
    /// The file's name, shown in each recipient's thread.
    pub name: String,
    /// page id → its `attachment_id` (an upload belongs to the page that
    /// made it).
    pub attachment_ids: BTreeMap<String, String>,
}

impl CampaignFile {
    /// "[image] parcel.png": how previews and notices name it.
    pub fn about(&self) -> String {
        format!("[{}] {}", self.kind.as_str(), self.name)
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
}
