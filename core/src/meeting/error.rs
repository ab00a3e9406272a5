//! The error of meetings.

use crate::ErrorKind;
use crate::frame::media::MediaError;
use crate::policy::Reason;

/// Everything a meeting session can refuse. A refused message leaves the
/// session exactly as it was.
///
/// ```
/// use callseal_core::ErrorKind;
/// use callseal_core::meeting::MeetingError;
///
/// let err = MeetingError::StaleCommit { epoch: 3, current: 5 };
/// assert_eq!(err.kind(), ErrorKind::Replay);
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum MeetingError {
    /// The bytes are not an MLS message of the expected kind.
    #[error("malformed meeting message: {0}")]
    Malformed(String),
    /// MLS refused the message: bad signature, wrong group, failed
    /// decryption, invalid proposal.
    #[error("MLS refused the message: {0}")]
    Mls(String),
    /// A commit for an epoch already left: a duplicate or replay.
    #[error("commit for epoch {epoch}, already at epoch {current}")]
    StaleCommit {
        /// The commit's epoch.
        epoch: u64,
        /// The session's epoch.
        current: u64,
    },
    /// Too many commits are held waiting for a missing earlier one.
    #[error("too many commits held for a missing epoch (at epoch {current})")]
    TooManyHeldCommits {
        /// The session's epoch.
        current: u64,
    },
    /// The commit (or the Welcome's commit) comes from a member who may not
    /// commit it: only committers add and remove, only the organizer
    /// changes the roles.
    #[error("member {committer} may not make this commit")]
    UnauthorizedCommitter {
        /// The committer's leaf index.
        committer: u32,
    },
    /// An external commit: meetings admit members by Welcome only.
    #[error("external commits are refused")]
    ExternalCommitRefused,
    /// The commit carries a proposal meetings do not use (ReInit,
    /// ExternalInit, PreSharedKey, Update) or changes a group context
    /// extension other than the roles.
    #[error("unsupported commit: {0}")]
    UnsupportedCommit(&'static str),
    /// The committer list is malformed or the change is not allowed.
    #[error("invalid roles: {0}")]
    InvalidRoles(&'static str),
    /// The key package of this Welcome was already used to join: a second
    /// session at the same leaf would reuse the first one's nonces.
    #[error("this key package was already used to join")]
    KeyPackageUsed,
    /// The commit adds a participant the policy refuses.
    #[error("the commit adds {user}, whom the policy refuses: {reason}")]
    AdmissionRefused {
        /// The user refused.
        user: String,
        /// Why.
        reason: Reason,
    },
    /// The policy does not allow an end-to-end encrypted meeting.
    #[error("end-to-end encryption is not allowed for this meeting: {0}")]
    PolicyForbids(Reason),
    /// Only the organizer may do this (change the roles).
    #[error("only the organizer may do this")]
    NotOrganizer,
    /// Only the organizer and co-organizers add and remove members.
    #[error("only the organizer and co-organizers add and remove members")]
    NotACommitter,
    /// A commit of ours is waiting for the server's answer.
    #[error("a commit is already waiting for the server")]
    CommitPending,
    /// No commit of ours is waiting.
    #[error("no commit is waiting for the server")]
    NoPendingCommit,
    /// The user is not a member.
    #[error("{0} is not a member")]
    NotAMember(String),
    /// This member was removed from the meeting.
    #[error("removed from the meeting")]
    Removed,
    /// A configuration value is out of range.
    #[error("invalid meeting configuration: {0}")]
    InvalidConfig(&'static str),
    /// A user id or platform is invalid.
    #[error("invalid participant: {0}")]
    InvalidParticipant(String),
    /// No randomness was available.
    #[error("no randomness available")]
    Entropy,
    /// Media mode refused a frame.
    #[error(transparent)]
    Media(#[from] MediaError),
    /// The meeting code given is not a code.
    #[error(transparent)]
    InvalidCode(#[from] crate::identity::InvalidSecurityCode),
    /// The meeting code the users compared is no longer the current one.
    #[error("the meeting code changed while it was compared")]
    CodeChanged,
    /// The member key store failed.
    #[error(transparent)]
    Identity(#[from] crate::identity::IdentityError),
}

impl MeetingError {
    /// The stable [`ErrorKind`] of this error.
    pub fn kind(&self) -> ErrorKind {
        match self {
            MeetingError::Malformed(_) => ErrorKind::Malformed,
            MeetingError::Mls(_) => ErrorKind::AuthenticationFailed,
            MeetingError::StaleCommit { .. } => ErrorKind::Replay,
            MeetingError::TooManyHeldCommits { .. }
            | MeetingError::UnauthorizedCommitter { .. }
            | MeetingError::ExternalCommitRefused
            | MeetingError::UnsupportedCommit(_)
            | MeetingError::InvalidRoles(_)
            | MeetingError::KeyPackageUsed
            | MeetingError::NotOrganizer
            | MeetingError::NotACommitter
            | MeetingError::CommitPending
            | MeetingError::NoPendingCommit
            | MeetingError::Removed => ErrorKind::ProtocolViolation,
            MeetingError::AdmissionRefused { .. } | MeetingError::PolicyForbids(_) => {
                ErrorKind::PolicyForbids
            }
            MeetingError::NotAMember(_)
            | MeetingError::CodeChanged
            | MeetingError::InvalidCode(_)
            | MeetingError::InvalidConfig(_)
            | MeetingError::InvalidParticipant(_) => ErrorKind::InvalidArgument,
            MeetingError::Entropy => ErrorKind::Entropy,
            MeetingError::Media(err) => err.kind(),
            MeetingError::Identity(err) => err.kind(),
        }
    }
}
