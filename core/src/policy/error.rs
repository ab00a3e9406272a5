//! The error of policy administration.

use crate::ErrorKind;

/// Everything policy administration and policy documents can refuse.
///
/// ```
/// use callseal_core::ErrorKind;
/// use callseal_core::policy::{PolicyDocument, PolicyError};
///
/// let mut doc = PolicyDocument::new();
/// let err = doc.remove_policy("Global").unwrap_err();
/// assert!(matches!(err, PolicyError::GlobalIsPermanent));
/// assert_eq!(err.kind(), ErrorKind::InvalidArgument);
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PolicyError {
    /// No policy has this identity.
    #[error("no policy named {0:?}")]
    UnknownPolicy(String),
    /// A policy with this identity exists already.
    #[error("a policy named {0:?} exists already")]
    PolicyExists(String),
    /// The Global policy cannot be removed.
    #[error("the Global policy cannot be removed")]
    GlobalIsPermanent,
    /// The policy is still granted and cannot be removed.
    #[error("policy {policy:?} is still granted to {holder}; unassign it first")]
    PolicyInUse {
        /// The policy.
        policy: String,
        /// Who holds it, e.g. `user "alice"`.
        holder: String,
    },
    /// A policy name, user id, group name or description is empty, too
    /// long, or uses characters it may not (docs/POLICY.md, "Canonical ids").
    #[error("invalid {what} {value:?}: {rule}")]
    InvalidName {
        /// What was named: `policy name`, `user`, `group`.
        what: &'static str,
        /// The value given.
        value: String,
        /// The rule it breaks.
        rule: &'static str,
    },
    /// A value is not one of the allowed ones.
    #[error("invalid {what} {value:?}; allowed values: {allowed}")]
    InvalidValue {
        /// What the value was for.
        what: &'static str,
        /// The value given.
        value: String,
        /// The allowed values, comma-separated.
        allowed: &'static str,
    },
    /// Group ranks start at 1.
    #[error("group ranks start at 1 (1 is the highest)")]
    InvalidRank,
    /// Another group holds this rank.
    #[error("rank {rank} is already held by group {group:?}")]
    RankTaken {
        /// The rank asked for.
        rank: u32,
        /// The group holding it.
        group: String,
    },
    /// The document would hold more than its limit of something
    /// (docs/POLICY.md, "Limits"): [`MAX_ENTRIES`](super::MAX_ENTRIES)
    /// policies, user grants, group grants or users, or
    /// [`MAX_DOCUMENT_BYTES`](super::MAX_DOCUMENT_BYTES) of JSON. A document
    /// read from a file over a limit is [`PolicyError::Corrupt`] instead.
    #[error("the policy document would hold more than {limit} {what}")]
    LimitReached {
        /// What is counted: `policies`, `user grants`, `group grants`,
        /// `users` or `bytes`.
        what: &'static str,
        /// The limit.
        limit: usize,
    },
    /// The document's version is not one this library reads.
    #[error("unsupported policy document version {0} (this library reads version 1)")]
    UnsupportedVersion(u64),
    /// The document does not parse or breaks an invariant.
    #[error("the policy document is corrupt: {0}")]
    Corrupt(String),
    /// The same member name appears twice in one JSON object of a policy
    /// document (the path of the second one, e.g. `$.users.alice`).
    #[error("the policy document has a duplicate member {0}")]
    DuplicateKey(String),
    /// A signed policy document names another signer than the tenant key
    /// the client trusts: a document of another tenant.
    #[error("the policy document is signed by {found}, not by the tenant key {expected}")]
    WrongTenant {
        /// The tenant key the client trusts (hex).
        expected: String,
        /// The key the document names (hex).
        found: String,
    },
    /// A signed policy document's signature does not verify: a byte of it
    /// was changed, or it was signed by another key.
    #[error("the policy document's signature does not verify")]
    BadSignature,
    /// A signed policy document older than one the client already holds.
    #[error("policy document serial {serial} is older than serial {last_seen}, seen already")]
    RolledBack {
        /// The document's serial.
        serial: u64,
        /// The serial of the newest document the client holds.
        last_seen: u64,
    },
    /// Reading or writing the store failed.
    #[error("policy store I/O on {path}: {source}")]
    Io {
        /// The file involved.
        path: String,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
}

impl PolicyError {
    /// The stable [`ErrorKind`] of this error.
    pub const fn kind(&self) -> ErrorKind {
        match self {
            PolicyError::UnknownPolicy(_)
            | PolicyError::PolicyExists(_)
            | PolicyError::GlobalIsPermanent
            | PolicyError::PolicyInUse { .. }
            | PolicyError::InvalidName { .. }
            | PolicyError::InvalidValue { .. }
            | PolicyError::InvalidRank
            | PolicyError::RankTaken { .. }
            | PolicyError::LimitReached { .. } => ErrorKind::InvalidArgument,
            PolicyError::UnsupportedVersion(_)
            | PolicyError::Corrupt(_)
            | PolicyError::DuplicateKey(_) => ErrorKind::Malformed,
            PolicyError::WrongTenant { .. } => ErrorKind::WrongPeer,
            PolicyError::BadSignature => ErrorKind::AuthenticationFailed,
            PolicyError::RolledBack { .. } => ErrorKind::Replay,
            PolicyError::Io { .. } => ErrorKind::Storage,
        }
    }
}
