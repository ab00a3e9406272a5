//! The error of media mode.

use crate::frame::Error;

/// Why media mode could not protect or unprotect a frame.
///
/// Two kinds a caller can act on: [`Frame`](MediaError::Frame) comes from
/// the SFrame layer (authentication failed, replay, unknown key id, counter
/// exhausted, ...); [`Malformed`](MediaError::Malformed) means the bytes do
/// not have the structure media mode needs: on the sending side a frame that
/// does not follow its codec's syntax, on the receiving side a frame that is
/// not a well-formed protected frame. Either way the frame should be
/// dropped. A sender that fails consumes no counter; a receiver that fails
/// leaves its replay window untouched.
///
/// ```
/// use callseal_core::frame::media::{Malformed, MediaError};
///
/// let err = MediaError::from(Malformed::MissingStartCode);
/// assert!(matches!(err, MediaError::Malformed(Malformed::MissingStartCode)));
/// assert_eq!(err.to_string(), "malformed media frame: no Annex B start code at the start of the frame");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum MediaError {
    /// The SFrame layer refused the frame.
    #[error(transparent)]
    Frame(#[from] Error),
    /// The frame's bytes do not have the structure media mode needs.
    #[error("malformed media frame: {0}")]
    Malformed(#[from] Malformed),
}

/// What is wrong with a malformed frame. Each variant is a stable reason a
/// wrapper can report as a code.
///
/// ```
/// use callseal_core::frame::media::Malformed;
///
/// assert_eq!(Malformed::Leb128.to_string(), "invalid leb128 OBU size");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, thiserror::Error)]
#[non_exhaustive]
pub enum Malformed {
    /// A received frame is empty: it has no footer.
    #[error("the frame is empty")]
    Empty,
    /// The footer byte names no codec or an impossible header length.
    #[error("footer byte {0:#04x} names no codec or an impossible header length")]
    Footer(u8),
    /// A received frame is too short to hold its SFrame header and tag.
    #[error("the frame is too short for its SFrame header and tag")]
    TruncatedSuffix,
    /// The SFrame header's length is not the one the footer announces.
    #[error("the SFrame header length does not match the footer")]
    HeaderLength,
    /// An H.264/H.265 frame does not start with an Annex B start code.
    #[error("no Annex B start code at the start of the frame")]
    MissingStartCode,
    /// An H.264/H.265 frame holds no NAL unit.
    #[error("the Annex B frame holds no NAL unit")]
    NoNalUnit,
    /// An H.265 NAL unit is shorter than its two-byte header.
    #[error("a NAL unit is shorter than its header")]
    TruncatedNalHeader,
    /// A slice NAL unit ends before the slice-header fields kept in clear.
    #[error("a slice header ends before the fields kept in clear")]
    TruncatedSliceHeader,
    /// An Exp-Golomb code in a slice header is longer than 32 bits.
    #[error("an Exp-Golomb code is longer than 32 bits")]
    ExpGolomb,
    /// An OBU header or extension byte is cut off.
    #[error("an OBU header is truncated")]
    TruncatedObu,
    /// An OBU size is not a valid leb128 value below 2^32.
    #[error("invalid leb128 OBU size")]
    Leb128,
    /// An OBU size reaches past the end of the frame.
    #[error("an OBU size reaches past the end of the frame")]
    ObuSize,
    /// A received AV1 frame does not end with the callseal suffix OBU.
    #[error("the AV1 frame does not end with the suffix OBU")]
    SuffixObu,
    /// A frame of 2^32 bytes or more, or with more than
    /// [`MAX_UNITS`](super::MAX_UNITS) NAL units or OBUs.
    #[error("the frame is too large: 2^32 bytes or more, or more than MAX_UNITS NAL units or OBUs")]
    TooLarge,
}
