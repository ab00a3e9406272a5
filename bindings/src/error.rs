//! The one error type every exported function returns.

use callseal_core::ErrorKind;

/// A callseal failure: one variant per stable
/// [`ErrorKind`](callseal_core::ErrorKind), each with a human-readable
/// message. The message never holds key material.
///
/// Kotlin sees a sealed class `CallsealException` (`is
/// CallsealException.Replay -> ...` in a `when`), Swift an enum
/// `CallsealError` (`catch CallsealError.Replay(let message)`), Python the
/// exception `CallsealError.Replay`.
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
#[uniffi(flat_error)]
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

    /// The stable kebab-case code of this error's kind (`"replay"`, ...).
    pub fn code(&self) -> &'static str {
        self.kind().code()
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

/// The stable code of every error kind, in the core's order
/// (`ErrorKind::ALL`): the tests of the Kotlin and Swift `code` mappings and
/// of Python's check that they cover each. Conformance builds only.
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

    /// The hand-written `code` of the Kotlin and Swift packages (an
    /// exhaustive `when` / `switch`, which their compilers check against
    /// the generated enum) maps every variant to the core's code.
    #[test]
    fn the_kotlin_and_swift_code_mappings_are_the_cores() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let kotlin = std::fs::read_to_string(
            root.join("mobile/android/src/main/kotlin/org/callseal/CallsealApi.kt"),
        )
        .unwrap();
        let swift =
            std::fs::read_to_string(root.join("mobile/apple/Sources/Callseal/CallsealApi.swift"))
                .unwrap();
        for kind in ErrorKind::ALL {
            let variant = format!("{kind:?}");
            let code = kind.code();
            let line = format!("is CallsealException.{variant} -> \"{code}\"");
            assert!(kotlin.contains(&line), "CallsealApi.kt lacks `{line}`");
            let line = format!("case .{variant}: return \"{code}\"");
            assert!(swift.contains(&line), "CallsealApi.swift lacks `{line}`");
        }
        let count = |text: &str, needle: &str| text.matches(needle).count();
        assert_eq!(
            count(&kotlin, "is CallsealException."),
            ErrorKind::ALL.len()
        );
        assert_eq!(count(&swift, ": return \""), ErrorKind::ALL.len());
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
