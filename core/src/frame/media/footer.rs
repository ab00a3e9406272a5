//! The footer: the last byte of every protected frame.
//!
//! ```text
//!  7 6 5 4 3 2 1 0
//! +-+-+-+-+-+-+-+-+
//! |codec|  hlen   |   codec id 1..=7, SFrame header length 1..=17
//! +-+-+-+-+-+-+-+-+
//! ```
//!
//! A codec id is never 0, so the footer is at least 0x20: never zero, never
//! an H.26x emulation-prevention candidate (0x00..=0x03), and an H.26x frame
//! never ends in a zero byte that a depacketizer could take for part of a
//! start code.

use super::codec::Codec;
use super::error::Malformed;
use crate::frame::MAX_HEADER_LEN;

/// The footer for `codec` and an SFrame header of `header_len` bytes, or
/// `None` if the length is not 1..=17.
pub(crate) fn encode(codec: Codec, header_len: usize) -> Option<u8> {
    if !(1..=MAX_HEADER_LEN).contains(&header_len) {
        return None;
    }
    let len = u8::try_from(header_len).ok()?;
    Some((codec.id() << 5) | len)
}

/// Splits a footer into codec and header length.
pub(crate) fn decode(byte: u8) -> Result<(Codec, usize), Malformed> {
    let codec = Codec::from_id(byte >> 5).ok_or(Malformed::Footer(byte))?;
    let len = usize::from(byte & 0x1f);
    if !(1..=MAX_HEADER_LEN).contains(&len) {
        return Err(Malformed::Footer(byte));
    }
    Ok((codec, len))
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn every_footer_round_trips_and_is_at_least_0x20() {
        for codec in Codec::ALL {
            for len in 1..=MAX_HEADER_LEN {
                let f = encode(codec, len).unwrap();
                assert!(f >= 0x20);
                assert_eq!(decode(f), Ok((codec, len)));
            }
            assert_eq!(encode(codec, 0), None);
            assert_eq!(encode(codec, 18), None);
        }
    }

    #[test]
    fn invalid_footers_are_rejected() {
        let valid = (0..=255u8).filter(|&b| decode(b).is_ok()).count();
        assert_eq!(valid, 7 * 17);
        for b in [0x00, 0x03, 0x1f, 0x20, 0x32, 0x3f, 0xe0] {
            assert_eq!(decode(b), Err(Malformed::Footer(b)));
        }
    }
}
