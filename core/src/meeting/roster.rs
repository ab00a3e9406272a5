//! Who is in the meeting: roles and identity statuses (PROTOCOL.md §4.7,
//! §4.9).

use crate::identity::PeerStatus;

use super::Member;

/// A member's role in an epoch (PROTOCOL.md §4.7).
///
/// ```
/// use callseal_core::meeting::Role;
///
/// assert!(Role::CoOrganizer.is_committer());
/// assert!(!Role::Participant.is_committer());
/// assert_eq!(Role::Organizer.to_string(), "organizer");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Role {
    /// The first listed committer present: adds, removes, changes roles.
    Organizer,
    /// Another listed committer present: adds and removes.
    CoOrganizer,
    /// Sends and receives media, updates its own leaf.
    Participant,
}

impl Role {
    /// Whether members accept this member's adds and removes.
    pub fn is_committer(self) -> bool {
        matches!(self, Role::Organizer | Role::CoOrganizer)
    }

    /// The kebab-case name every wrapper uses.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Organizer => "organizer",
            Role::CoOrganizer => "co-organizer",
            Role::Participant => "participant",
        }
    }
}

impl std::fmt::Display for Role {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A member and its identity status (PROTOCOL.md §4.9).
///
/// ```
/// use callseal_core::identity::PeerStatus;
/// use callseal_core::meeting::{Member, Role, RosterEntry};
/// use callseal_core::policy::Platform;
///
/// let entry = RosterEntry {
///     member: Member {
///         index: 1,
///         user: "pete".into(),
///         platform: Platform::Android,
///         signature_key: [3; 32],
///         role: Role::Participant,
///     },
///     status: Some(PeerStatus::New),
/// };
/// assert_eq!(entry.status_str(), "new");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RosterEntry {
    /// The member.
    pub member: Member,
    /// Its identity status, once
    /// [`check_identities`](super::MeetingSession::check_identities) saw
    /// its key; `None` before.
    pub status: Option<PeerStatus>,
}

impl RosterEntry {
    /// The status as the kebab-case name every wrapper uses: `new`,
    /// `known`, `known-verified`, `changed`, or `unchecked`.
    pub fn status_str(&self) -> &'static str {
        match self.status {
            None => "unchecked",
            Some(PeerStatus::New) => "new",
            Some(PeerStatus::Known { verified: false }) => "known",
            Some(PeerStatus::Known { verified: true }) => "known-verified",
            Some(PeerStatus::Changed) => "changed",
        }
    }
}
