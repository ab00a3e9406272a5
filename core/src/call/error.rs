//! The error types of 1:1 calls.

use super::message::MessageType;
use crate::frame;
use crate::identity::{EntropyError, IdentityError};

/// Everything that can end or refuse a 1:1 call handshake.
///
/// An error returned by [`CallSession::handle`](super::CallSession::handle)
/// while the handshake is under way aborts the session: it moves to
/// [`CallState::Failed`](super::CallState) and every later call returns
/// [`CallError::SessionFailed`]. The caller starts a new call. Once the call
/// is established, `handle` never fails: what it cannot use it reports as
/// [`Ignored`](super::Ignored).
///
/// ```
/// use callseal_core::call::{CallConfig, CallError, CallSession};
/// use callseal_core::identity::IdentityKeyPair;
///
/// let bob = IdentityKeyPair::from_bytes([1; 32]);
/// let config = CallConfig::default();
/// // A Commit cut short after its type byte.
/// let result = CallSession::respond_random(&bob, "bob", None, &[0x02, 0x01], &config);
/// assert!(matches!(result, Err(CallError::Malformed(_))));
/// // Version 1 is no longer spoken.
/// let result = CallSession::respond_random(&bob, "bob", None, &[0x01; 100], &config);
/// assert!(matches!(result, Err(CallError::UnsupportedVersion(1))));
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CallError {
    /// A message is too short, too long, of an unknown type, or carries an
    /// invalid field (empty or non-UTF-8 user id, low-order public key).
    #[error("malformed message: {0}")]
    Malformed(&'static str),
    /// The message's version byte is not 0x02.
    #[error("unsupported protocol version 0x{0:02x}")]
    UnsupportedVersion(u8),
    /// A well-formed message that this session does not expect now: wrong
    /// type for the role or state, a repeat, or a reflected message.
    #[error("unexpected {received:?} message (expected {expected:?})")]
    UnexpectedMessage {
        /// The type of the message received.
        received: MessageType,
        /// The type the session waited for; `None` once established.
        expected: Option<MessageType>,
    },
    /// The initiator's ephemeral key does not match its commitment.
    #[error("revealed ephemeral key does not match the commitment")]
    CommitmentMismatch,
    /// A key-confirmation MAC did not verify.
    #[error("key confirmation failed")]
    BadMac,
    /// The peer presented another user id than the one expected
    /// (PROTOCOL.md §3.6).
    #[error("expected a call with {expected:?}, but {presented:?} answered")]
    WrongPeer {
        /// The user id the app expected.
        expected: String,
        /// The user id the peer's message carries.
        presented: String,
    },
    /// The peer presented the expected user id under another identity key
    /// than the one the app pinned.
    #[error("the peer's identity key is not the expected one")]
    WrongPeerKey,
    /// The Commit calls another user than this responder.
    #[error("the call is addressed to {to:?}, not to this user")]
    Misaddressed {
        /// The user id the Commit names as callee.
        to: String,
    },
    /// The suite's tag is shorter than 64 bits and the app did not opt in
    /// with [`CallConfig::allow_short_tags`](super::CallConfig).
    #[error("cipher suite 0x{0:04x} has a tag shorter than 64 bits; opt in to use it")]
    ShortTag(u16),
    /// The session ran out of rekey epochs (2^32 - 1); start a new call.
    #[error("no rekey epochs left; start a new call")]
    RekeyExhausted,
    /// The session failed earlier; start a new call.
    #[error("the session has failed; start a new call")]
    SessionFailed,
    /// A user id is empty or longer than 255 bytes.
    #[error("user ids must be 1 to 255 bytes")]
    InvalidUserId,
    /// The operation needs an established session.
    #[error("the session is not established")]
    NotEstablished,
    /// The media keys were already taken out of this session.
    #[error("the media keys were already taken")]
    MediaTaken,
    /// The entropy source failed.
    #[error("no randomness available")]
    Entropy,
    /// The identity store failed.
    #[error(transparent)]
    Identity(#[from] IdentityError),
    /// The frame layer refused a key or suite.
    #[error(transparent)]
    Frame(#[from] frame::Error),
    /// The policy decision does not allow an end-to-end encrypted call
    /// (docs/POLICY.md); the reason says why.
    #[error("end-to-end encryption is not allowed for this call: {0}")]
    PolicyForbids(crate::policy::Reason),
    /// A call arrived without end-to-end encryption although the policy
    /// decision makes it end-to-end encrypted: a downgrade by a server or
    /// the peer.
    #[error(
        "this call must be end-to-end encrypted under the policy; a call without it is a downgrade"
    )]
    Downgrade,
}

impl From<EntropyError> for CallError {
    fn from(_: EntropyError) -> Self {
        CallError::Entropy
    }
}
