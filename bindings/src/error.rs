//! The one error type every exported function returns.

use callseal_core::ErrorKind;

/// A callseal failure: one variant per stable
/// [`ErrorKind`](callseal_core::ErrorKind), each with a human-readable
/// message. The message never holds key material.
///
/// Kotlin sees a sealed class `CallsealException` (`is
/// CallsealException.Replay -> ...` in a `when`), Swift an enum
/// `CallsealError` (`catch CallsealError.Replay(let message)`), Python the
/// exception `CallsealError.Replay`. Each has the method `code()`, exported
/// from [`CallsealError::code`]: the stable kebab-case code comes from the
/// core in every language, no wrapper keeps a table of its own.
///
/// The error is not flat: its message crosses the boundary as the variant's
/// one field (Kotlin `v1`, Swift the associated value, Python `e[0]`), so
/// the foreign side can hand the error back to Rust for `code()`.
///
/// ```
/// use callseal_ffi::{CallsealError, FrameReceiver};
///
/// let receiver = FrameReceiver::new();
/// match receiver.decrypt(vec![], vec![]) {
///     Err(CallsealError::Malformed(message)) => assert!(!message.is_empty()),
///     other => panic!("expected malformed, got {other:?}"),
/// }
/// assert_eq!(CallsealError::Replay("x".into()).code(), "replay");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, uniffi::Error)]
pub enum CallsealError {
    /// Received bytes do not parse.
    #[error("{0}")]
    Malformed(String),
    /// The caller passed a value the API refuses.
    #[error("{0}")]
    InvalidArgument(String),
    /// Wrong key, tampering, failed key confirmation or commitment.
    #[error("{0}")]
    AuthenticationFailed(String),
    /// Already accepted, or older than the replay window.
    #[error("{0}")]
    Replay(String),
    /// No key for this key id (or too many ratchet steps ahead).
    #[error("{0}")]
    UnknownKeyId(String),
    /// A key is used up: a sender's counter, or a receiver key refused after
    /// too many authentication failures. Install a new key.
    #[error("{0}")]
    KeyExhausted(String),
    /// A message the protocol does not allow now.
    #[error("{0}")]
    ProtocolViolation(String),
    /// The peer is not the one the app expected: another user answered the
    /// call, it presented another identity key than the pinned one, or the
    /// call was addressed to another user.
    #[error("{0}")]
    WrongPeer(String),
    /// Policy or settings do not allow end-to-end encryption.
    #[error("{0}")]
    PolicyForbids(String),
    /// The feature is unavailable while end-to-end encrypted.
    #[error("{0}")]
    FeatureUnavailable(String),
    /// A store could not be read or written, or is corrupt.
    #[error("{0}")]
    Storage(String),
    /// No randomness.
    #[error("{0}")]
    Entropy(String),
    /// A bug inside callseal, reported instead of crashing the host.
    #[error("{0}")]
    Internal(String),
}

impl CallsealError {
    /// The error of `kind` with `message`.
    pub(crate) fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        let message = message.into();
        match kind {
            ErrorKind::Malformed => Self::Malformed(message),
            ErrorKind::InvalidArgument => Self::InvalidArgument(message),
            ErrorKind::AuthenticationFailed => Self::AuthenticationFailed(message),
            ErrorKind::Replay => Self::Replay(message),
            ErrorKind::UnknownKeyId => Self::UnknownKeyId(message),
            ErrorKind::KeyExhausted => Self::KeyExhausted(message),
            ErrorKind::ProtocolViolation => Self::ProtocolViolation(message),
            ErrorKind::WrongPeer => Self::WrongPeer(message),
            ErrorKind::PolicyForbids => Self::PolicyForbids(message),
            ErrorKind::FeatureUnavailable => Self::FeatureUnavailable(message),
            ErrorKind::Storage => Self::Storage(message),
            ErrorKind::Entropy => Self::Entropy(message),
            ErrorKind::Internal => Self::Internal(message),
        }
    }

    /// The stable kind of this error.
    pub fn kind(&self) -> ErrorKind {
        match self {
            Self::Malformed(_) => ErrorKind::Malformed,
            Self::InvalidArgument(_) => ErrorKind::InvalidArgument,
            Self::AuthenticationFailed(_) => ErrorKind::AuthenticationFailed,
            Self::Replay(_) => ErrorKind::Replay,
            Self::UnknownKeyId(_) => ErrorKind::UnknownKeyId,
            Self::KeyExhausted(_) => ErrorKind::KeyExhausted,
            Self::ProtocolViolation(_) => ErrorKind::ProtocolViolation,
            Self::WrongPeer(_) => ErrorKind::WrongPeer,
            Self::PolicyForbids(_) => ErrorKind::PolicyForbids,
            Self::FeatureUnavailable(_) => ErrorKind::FeatureUnavailable,
            Self::Storage(_) => ErrorKind::Storage,
            Self::Entropy(_) => ErrorKind::Entropy,
            Self::Internal(_) => ErrorKind::Internal,
        }
    }

    /// The error's message.
    pub fn message(&self) -> &str {
        match self {
            Self::Malformed(m)
            | Self::InvalidArgument(m)
            | Self::AuthenticationFailed(m)
            | Self::Replay(m)
            | Self::UnknownKeyId(m)
            | Self::KeyExhausted(m)
            | Self::ProtocolViolation(m)
            | Self::WrongPeer(m)
            | Self::PolicyForbids(m)
            | Self::FeatureUnavailable(m)
            | Self::Storage(m)
            | Self::Entropy(m)
            | Self::Internal(m) => m,
        }
    }
}

#[uniffi::export]
impl CallsealError {
    /// The stable kebab-case code of this error's kind (`"replay"`, ...),
    /// the string the JavaScript package puts in `error.code`: Kotlin
    /// `e.code()`, Swift `error.code()`, Python `e.code()`.
    pub fn code(&self) -> String {
        self.kind().code().to_owned()
    }
}

/// The stable code of every error kind, in the core's order
/// (`ErrorKind::ALL`): the Kotlin, Swift and Python tests check that
/// `code()` of one error of each variant gives this list. Conformance
/// builds only.
#[cfg(feature = "conformance")]
#[uniffi::export]
pub fn error_codes() -> Vec<String> {
    ErrorKind::ALL
        .iter()
        .map(|kind| kind.code().to_owned())
        .collect()
}

impl From<callseal_core::frame::Error> for CallsealError {
    fn from(e: callseal_core::frame::Error) -> Self {
        Self::new(e.kind(), e.to_string())
    }
}

impl From<callseal_core::frame::media::MediaError> for CallsealError {
    fn from(e: callseal_core::frame::media::MediaError) -> Self {
        Self::new(e.kind(), e.to_string())
    }
}

impl From<callseal_core::call::CallError> for CallsealError {
    fn from(e: callseal_core::call::CallError) -> Self {
        Self::new(e.kind(), e.to_string())
    }
}

impl From<callseal_core::identity::IdentityError> for CallsealError {
    fn from(e: callseal_core::identity::IdentityError) -> Self {
        Self::new(e.kind(), e.to_string())
    }
}

impl From<callseal_core::identity::EntropyError> for CallsealError {
    fn from(e: callseal_core::identity::EntropyError) -> Self {
        Self::new(e.kind(), e.to_string())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn one_variant_per_kind_and_back() {
        for kind in ErrorKind::ALL {
            let e = CallsealError::new(kind, "why");
            assert_eq!(e.kind(), kind);
            assert_eq!(e.code(), kind.code());
            assert_eq!(e.message(), "why");
            assert_eq!(e.to_string(), "why");
        }
    }

    /// Every variant's `code()` is its kind's code, and each code is
    /// distinct (the foreign tests compare with `error_codes()`).
    #[test]
    fn every_code_is_the_cores_and_distinct() {
        let codes: Vec<String> = ErrorKind::ALL
            .iter()
            .map(|&kind| CallsealError::new(kind, "m").code())
            .collect();
        let mut unique = codes.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(unique.len(), ErrorKind::ALL.len());
        assert_eq!(CallsealError::Replay("x".into()).code(), "replay");
        assert_eq!(
            CallsealError::InvalidArgument("x".into()).code(),
            "invalid-argument"
        );
    }

    /// The Kotlin and Swift packages keep no code table of their own: their
    /// hand-written sources name no code (they call the exported `code()`).
    #[test]
    fn the_wrappers_keep_no_code_table() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        for file in [
            "mobile/android/src/main/kotlin/org/callseal/CallsealApi.kt",
            "mobile/apple/Sources/Callseal/CallsealApi.swift",
        ] {
            let text = std::fs::read_to_string(root.join(file)).unwrap();
            for kind in ErrorKind::ALL {
                let literal = format!("\"{}\"", kind.code());
                assert!(!text.contains(&literal), "{file} maps {literal} itself");
            }
        }
    }

    #[test]
    fn a_refused_receiver_key_is_key_exhausted() {
        use callseal_core::frame::{Error, Kid};
        let e = CallsealError::from(Error::AuthFailureLimit {
            kid: Kid(7),
            limit: 4096,
        });
        assert!(matches!(e, CallsealError::KeyExhausted(_)), "{e:?}");
        assert_eq!(e.code(), "key-exhausted");
    }
}
