//! The error types of identities, identity stores and entropy.

use crate::ErrorKind;

/// Errors of an [`IdentityStore`](super::IdentityStore).
///
/// ```
/// use callseal_core::ErrorKind;
/// use callseal_core::identity::{FileIdentityStore, IdentityError};
///
/// let path = std::env::temp_dir().join("callseal-doc-corrupt-store.json");
/// std::fs::write(&path, b"{ not json")?;
/// let err = FileIdentityStore::open(&path).unwrap_err();
/// assert!(matches!(err, IdentityError::Corrupt(_)));
/// assert_eq!(err.kind(), ErrorKind::Storage);
/// # std::fs::remove_file(&path)?;
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum IdentityError {
    /// Reading or writing the store failed.
    #[error("identity store I/O: {0}")]
    Io(#[from] std::io::Error),
    /// The store file is not valid JSON of the expected shape.
    #[error("identity store is corrupt: {0}")]
    Corrupt(#[from] serde_json::Error),
    /// A stored key is not 64 hex digits.
    #[error("identity store holds an invalid key for a peer")]
    InvalidKey,
    /// The store's text names one member twice in an object (a peer listed
    /// twice, say), or does not hold together as JSON.
    #[error("identity store is corrupt: {0}")]
    NotStrict(String),
}

impl IdentityError {
    /// The stable [`ErrorKind`] of this error: always
    /// [`ErrorKind::Storage`].
    pub const fn kind(&self) -> ErrorKind {
        ErrorKind::Storage
    }
}

/// An [`Entropy`](super::Entropy) source had no randomness to give.
///
/// Call and meeting errors convert from it (to `CallError::Entropy` and
/// `MeetingError::Entropy`), so `?` works in both.
///
/// ```
/// use callseal_core::ErrorKind;
/// use callseal_core::call::CallError;
/// use callseal_core::identity::{Entropy, EntropyError, ScriptedEntropy};
///
/// let err = ScriptedEntropy::new(vec![]).fill(&mut [0u8; 1]).unwrap_err();
/// assert_eq!(err, EntropyError);
/// assert_eq!(err.kind(), ErrorKind::Entropy);
/// assert!(matches!(CallError::from(err), CallError::Entropy));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, thiserror::Error)]
#[error("no randomness available")]
pub struct EntropyError;

impl EntropyError {
    /// The stable [`ErrorKind`] of this error: always
    /// [`ErrorKind::Entropy`].
    pub const fn kind(&self) -> ErrorKind {
        ErrorKind::Entropy
    }
}

// `From<EntropyError> for CallError` lives beside `CallError`
// (call/error.rs); this one sits here to keep the meeting module untouched.
impl From<EntropyError> for crate::meeting::MeetingError {
    fn from(_: EntropyError) -> Self {
        crate::meeting::MeetingError::Entropy
    }
}
