//! Agent identity from the connecting process's Unix credentials (never a
//! name the client declares), and who may attach.

use nix::unistd::{Group, Uid, User};

/// The peer of a control connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Peer {
    pub uid: u32,
    pub gid: u32,
    pub name: String,
}

impl Peer {
    pub fn from_ids(uid: u32, gid: u32) -> Peer {
        Peer {
            uid,
            gid,
            name: user_name(uid),
        }
    }
}

/// The login name for a uid, or `uid:N` when the passwd database lacks it.
pub fn user_name(uid: u32) -> String {
    match User::from_uid(Uid::from_raw(uid)) {
        Ok(Some(u)) => u.name,
        _ => format!("uid:{uid}"),
    }
}

/// This process's user, as the agent of a local command or of the owner's own UI.
pub fn current_user() -> Option<String> {
    Some(user_name(Uid::effective().as_raw()))
}

/// Who may use the socket: the owner's user, root, and members of the
/// configured group. The socket file's mode enforces the same; this check
/// keeps it true if the file's permissions are loosened by hand.
#[derive(Debug, Clone)]
pub struct Policy {
    pub owner_uid: u32,
    pub group: Option<AllowedGroup>,
}

#[derive(Debug, Clone)]
pub struct AllowedGroup {
    pub gid: u32,
    pub members: Vec<String>,
}

impl Policy {
    pub fn for_this_process(group: Option<&str>) -> Result<Policy, String> {
        let group = match group {
            None => None,
            Some(name) => Some(lookup_group(name)?),
        };
        Ok(Policy {
            owner_uid: Uid::effective().as_raw(),
            group,
        })
    }

    pub fn allows(&self, peer: &Peer) -> bool {
        if peer.uid == self.owner_uid || peer.uid == 0 {
            return true;
        }
        match &self.group {
            Some(g) => peer.gid == g.gid || g.members.contains(&peer.name),
            None => false,
        }
    }
}

pub fn lookup_group(name: &str) -> Result<AllowedGroup, String> {
    match Group::from_name(name) {
        Ok(Some(g)) => Ok(AllowedGroup {
            gid: g.gid.as_raw(),
            members: g.mem,
        }),
        Ok(None) => Err(format!("no group named `{name}` on this system")),
        Err(e) => Err(format!("cannot look up group `{name}`: {e}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn peer(uid: u32, gid: u32, name: &str) -> Peer {
        Peer {
            uid,
            gid,
            name: name.into(),
        }
    }

    #[test]
    fn owner_and_root_only_without_a_group() {
        let p = Policy {
            owner_uid: 1000,
            group: None,
        };
        assert!(p.allows(&peer(1000, 1000, "owner")));
        assert!(p.allows(&peer(0, 0, "root")));
        assert!(!p.allows(&peer(1001, 1000, "mallory")));
    }

    #[test]
    fn a_group_admits_its_primary_and_listed_members() {
        let p = Policy {
            owner_uid: 1000,
            group: Some(AllowedGroup {
                gid: 500,
                members: vec!["bob".into()],
            }),
        };
        assert!(p.allows(&peer(1001, 500, "alice")));
        assert!(p.allows(&peer(1002, 100, "bob")));
        assert!(!p.allows(&peer(1003, 100, "eve")));
    }

    #[test]
    fn root_has_a_name() {
        assert_eq!(user_name(0), "root");
    }
}
