//! The one error type of the frame layer.

use super::header::{Counter, Kid};

/// Everything that can go wrong while encrypting or decrypting a frame.
///
/// Each variant is something a caller can act on: drop the frame, wait for a
/// key, ask for a new key, or report a bug in its own use of the API.
///
/// ```
/// use callseal_core::frame::{Error, Header};
///
/// assert_eq!(Header::decode(&[]), Err(Error::TruncatedHeader));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The frame ends inside the SFrame header.
    #[error("the SFrame header is truncated")]
    TruncatedHeader,
    /// A KID or CTR is not encoded in the minimum number of bytes (RFC 9605 §4.3).
    #[error("the SFrame header is not minimally encoded")]
    NonMinimalHeader,
    /// The frame is shorter than header plus authentication tag.
    #[error("the frame is shorter than its header and authentication tag")]
    FrameTooShort,
    /// No key is registered for this key id.
    #[error("no key for key id {0}")]
    UnknownKeyId(Kid),
    /// The authentication tag did not verify: wrong key, tampering or corruption.
    #[error("authentication failed")]
    AuthenticationFailed,
    /// This (KID, CTR) was already accepted once.
    #[error("replayed frame: key id {kid}, counter {ctr}")]
    Replay {
        /// Key id of the replayed frame.
        kid: Kid,
        /// Counter of the replayed frame.
        ctr: Counter,
    },
    /// The counter is older than the replay window still remembers.
    #[error("frame too old for the replay window: key id {kid}, counter {ctr}")]
    TooOld {
        /// Key id of the frame.
        kid: Kid,
        /// Counter of the frame.
        ctr: Counter,
    },
    /// The sender has used every counter value of its key: install a new key.
    #[error("the sender's counter is exhausted; a new key is needed")]
    CounterExhausted,
    /// The output buffer cannot hold the result.
    #[error("output buffer too small: {needed} bytes needed")]
    BufferTooSmall {
        /// Bytes the operation needs.
        needed: usize,
    },
    /// The payload is longer than the AEAD can protect in one frame.
    #[error("payload too long for one frame")]
    PayloadTooLong,
    /// The cipher suite id is not one of 0x0001–0x0008.
    #[error("unsupported cipher suite 0x{0:04x}")]
    UnsupportedCipherSuite(u16),
    /// A key was empty or otherwise unusable.
    #[error("invalid key: {0}")]
    InvalidKey(&'static str),
    /// A configuration value is out of its allowed range.
    #[error("invalid configuration: {0}")]
    InvalidConfig(&'static str),
    /// A frame claims a ratchet step further ahead than the receiver follows.
    #[error("key id {kid} is {steps} ratchet steps ahead; at most {max} are followed")]
    RatchetTooFar {
        /// Key id of the frame.
        kid: Kid,
        /// How many steps ahead it is.
        steps: u64,
        /// The configured bound.
        max: u32,
    },
    /// So many frames failed authentication under this key that the
    /// receiver refuses it: its suite's
    /// [`forgery_limit`](super::CipherSuite::forgery_limit) was reached
    /// (RFC 9605 §7.5; docs/PROTOCOL.md §1.6). Every frame under the key,
    /// genuine or not, is refused without being decrypted until the
    /// application installs a new key for the KID (a rekey).
    #[error(
        "key id {kid} refused: {limit} frames failed authentication under it; a new key is needed"
    )]
    AuthFailureLimit {
        /// Key id of the refused key.
        kid: Kid,
        /// The limit reached: the number of failures counted.
        limit: u64,
    },
}
