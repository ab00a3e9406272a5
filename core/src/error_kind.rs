//! The one set of error kinds every target reports.
//!
//! Each layer of the core has its own precise error enum. Callers on other
//! targets (JavaScript, Kotlin, Swift, Python) need a smaller, stable set
//! they can branch on, and it must be the same set everywhere. That set is
//! [`ErrorKind`]: every core error maps to exactly one kind here, and the
//! wrappers only translate, so a frame that fails with `replay` in Rust
//! fails with `replay` in a browser and on a phone.

/// The stable kind of a callseal error, shared by every target.
///
/// [`ErrorKind::code`] is the kebab-case string the wasm package puts in a
/// JavaScript error's `code`; the UniFFI enum has one variant per kind.
///
/// ```
/// use callseal_core::ErrorKind;
/// use callseal_core::frame::Header;
///
/// let err = Header::decode(&[]).unwrap_err();
/// assert_eq!(err.kind(), ErrorKind::Malformed);
/// assert_eq!(err.kind().code(), "malformed");
/// assert_eq!(ErrorKind::from_code("replay"), Some(ErrorKind::Replay));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorKind {
    /// Received bytes do not parse: a truncated or non-minimal header, a
    /// frame too short, a malformed media frame or handshake message, an
    /// unknown protocol version.
    Malformed,
    /// The caller passed a value the API refuses: a bad key, configuration,
    /// cipher suite, user id, buffer or payload size, or an unknown name.
    InvalidArgument,
    /// Authentication failed: wrong key, tampering, corruption, a failed key
    /// confirmation or a broken commitment.
    AuthenticationFailed,
    /// The frame was already accepted, or is older than the replay window.
    Replay,
    /// No key for this key id (or the key id is more ratchet steps ahead
    /// than the receiver follows).
    UnknownKeyId,
    /// A key is used up: a sender's counter ran out, or a receiver refuses
    /// a key under which too many frames failed authentication. Install a
    /// new key.
    KeyExhausted,
    /// A well-formed message that the protocol does not allow now: out of
    /// order, from another session, after a failure, before establishment.
    ProtocolViolation,
    /// The peer is not the one the app expected: another user answered the
    /// call, it presented another identity key than the pinned one, or the
    /// call was addressed to another user.
    WrongPeer,
    /// Admin policy or the users' settings do not allow end-to-end
    /// encryption here.
    PolicyForbids,
    /// The feature is unavailable while the call or meeting is end-to-end
    /// encrypted.
    FeatureUnavailable,
    /// A persistent store (identities, policies) could not be read or
    /// written, or is corrupt.
    Storage,
    /// No randomness was available.
    Entropy,
    /// A bug inside callseal: reported instead of crashing the host.
    Internal,
}

impl ErrorKind {
    /// Every kind, in a fixed order.
    pub const ALL: [ErrorKind; 13] = [
        ErrorKind::Malformed,
        ErrorKind::InvalidArgument,
        ErrorKind::AuthenticationFailed,
        ErrorKind::Replay,
        ErrorKind::UnknownKeyId,
        ErrorKind::KeyExhausted,
        ErrorKind::ProtocolViolation,
        ErrorKind::WrongPeer,
        ErrorKind::PolicyForbids,
        ErrorKind::FeatureUnavailable,
        ErrorKind::Storage,
        ErrorKind::Entropy,
        ErrorKind::Internal,
    ];

    /// The stable kebab-case code of this kind.
    pub const fn code(self) -> &'static str {
        match self {
            ErrorKind::Malformed => "malformed",
            ErrorKind::InvalidArgument => "invalid-argument",
            ErrorKind::AuthenticationFailed => "authentication-failed",
            ErrorKind::Replay => "replay",
            ErrorKind::UnknownKeyId => "unknown-key-id",
            ErrorKind::KeyExhausted => "key-exhausted",
            ErrorKind::ProtocolViolation => "protocol-violation",
            ErrorKind::WrongPeer => "wrong-peer",
            ErrorKind::PolicyForbids => "policy-forbids",
            ErrorKind::FeatureUnavailable => "feature-unavailable",
            ErrorKind::Storage => "storage",
            ErrorKind::Entropy => "entropy",
            ErrorKind::Internal => "internal",
        }
    }

    /// The kind with this code, if any.
    pub fn from_code(code: &str) -> Option<ErrorKind> {
        ErrorKind::ALL.into_iter().find(|kind| kind.code() == code)
    }
}

impl std::fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.code())
    }
}

impl crate::frame::Error {
    /// The stable [`ErrorKind`] of this error.
    pub const fn kind(&self) -> ErrorKind {
        use crate::frame::Error;
        match self {
            Error::TruncatedHeader | Error::NonMinimalHeader | Error::FrameTooShort => {
                ErrorKind::Malformed
            }
            Error::UnknownKeyId(_) | Error::RatchetTooFar { .. } => ErrorKind::UnknownKeyId,
            Error::AuthenticationFailed => ErrorKind::AuthenticationFailed,
            Error::Replay { .. } | Error::TooOld { .. } => ErrorKind::Replay,
            Error::CounterExhausted | Error::AuthFailureLimit { .. } => ErrorKind::KeyExhausted,
            Error::BufferTooSmall { .. }
            | Error::PayloadTooLong
            | Error::UnsupportedCipherSuite(_)
            | Error::InvalidKey(_)
            | Error::InvalidConfig(_) => ErrorKind::InvalidArgument,
        }
    }
}

impl crate::frame::media::MediaError {
    /// The stable [`ErrorKind`] of this error.
    pub const fn kind(&self) -> ErrorKind {
        match self {
            crate::frame::media::MediaError::Frame(err) => err.kind(),
            crate::frame::media::MediaError::Malformed(_) => ErrorKind::Malformed,
        }
    }
}

impl crate::call::CallError {
    /// The stable [`ErrorKind`] of this error.
    pub const fn kind(&self) -> ErrorKind {
        use crate::call::CallError;
        match self {
            CallError::Malformed(_) | CallError::UnsupportedVersion(_) => ErrorKind::Malformed,
            CallError::UnexpectedMessage { .. }
            | CallError::SessionFailed
            | CallError::NotEstablished
            | CallError::MediaTaken
            | CallError::Downgrade => ErrorKind::ProtocolViolation,
            CallError::CommitmentMismatch | CallError::BadMac => ErrorKind::AuthenticationFailed,
            CallError::InvalidUserId | CallError::ShortTag(_) => ErrorKind::InvalidArgument,
            CallError::WrongPeer { .. }
            | CallError::WrongPeerKey
            | CallError::Misaddressed { .. } => ErrorKind::WrongPeer,
            CallError::RekeyExhausted => ErrorKind::KeyExhausted,
            CallError::Entropy => ErrorKind::Entropy,
            CallError::Identity(_) => ErrorKind::Storage,
            CallError::Frame(err) => err.kind(),
            CallError::PolicyForbids(_) => ErrorKind::PolicyForbids,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::ErrorKind;

    #[test]
    fn codes_are_unique_and_round_trip() {
        for kind in ErrorKind::ALL {
            assert_eq!(ErrorKind::from_code(kind.code()), Some(kind));
            assert_eq!(kind.to_string(), kind.code());
        }
        let mut codes: Vec<_> = ErrorKind::ALL.iter().map(|k| k.code()).collect();
        codes.sort_unstable();
        codes.dedup();
        assert_eq!(codes.len(), ErrorKind::ALL.len());
        assert_eq!(ErrorKind::from_code("no-such-kind"), None);
    }
}
