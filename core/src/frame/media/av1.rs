//! AV1 low-overhead bitstream format: a sequence of OBUs.
//!
//! ```text
//!  0 1 2 3 4 5 6 7
//! +-+-+-+-+-+-+-+-+
//! |F| type  |X|S|R|   forbidden bit, OBU type, extension flag, has-size flag, reserved
//! +-+-+-+-+-+-+-+-+
//! [extension byte if X] [leb128 size if S] payload
//! ```
//!
//! Each OBU keeps its header, extension byte and size clear and has its
//! payload encrypted; a sequence header (type 1) stays clear whole, since
//! packetizers and SFUs read it (key frames, scalability, dimensions).
//! The frame is normalized the way the WebRTC AV1 packetizer and
//! depacketizer will rebuild it: temporal delimiters (2), tile lists (8) and
//! padding (15) are dropped, every OBU gets a size field, and every size is
//! written in its minimal leb128 form.

use super::error::Malformed;
use super::layout::{Lead, Span, Unit, check_room};

/// OBU_SEQUENCE_HEADER.
pub(crate) const OBU_SEQUENCE_HEADER: u8 = 1;
/// OBU_TEMPORAL_DELIMITER.
pub(crate) const OBU_TEMPORAL_DELIMITER: u8 = 2;
/// OBU_METADATA.
pub(crate) const OBU_METADATA: u8 = 5;
/// OBU_TILE_LIST.
pub(crate) const OBU_TILE_LIST: u8 = 8;
/// OBU_PADDING.
pub(crate) const OBU_PADDING: u8 = 15;

const HAS_EXTENSION: u8 = 0x04;
const HAS_SIZE: u8 = 0x02;

/// Header of the suffix OBU: OBU_METADATA, no extension, size present.
pub(crate) const SUFFIX_HEADER: u8 = (OBU_METADATA << 3) | HAS_SIZE;
/// The suffix OBU's `metadata_type`: 31, in the range AV1 leaves
/// "unregistered user private" (6..=31); decoders skip metadata they do not
/// know, and the WebRTC packetizer forwards metadata OBUs unchanged.
pub(crate) const SUFFIX_METADATA_TYPE: u8 = 31;

/// The OBU type in a header byte.
pub(crate) fn obu_type(header: u8) -> u8 {
    (header >> 3) & 0x0f
}

/// OBU types the WebRTC packetizer drops, and media mode drops first.
pub(crate) fn is_dropped(obu_type: u8) -> bool {
    matches!(
        obu_type,
        OBU_TEMPORAL_DELIMITER | OBU_TILE_LIST | OBU_PADDING
    )
}

/// Reads a leb128 value (at most 8 bytes, below 2^32) at the start of
/// `data`; returns it and its length.
pub(crate) fn read_leb128(data: &[u8]) -> Result<(u32, usize), Malformed> {
    let mut value = 0u64;
    for (i, &b) in data.iter().take(8).enumerate() {
        value |= u64::from(b & 0x7f) << (7 * i);
        if b & 0x80 == 0 {
            let value = u32::try_from(value).map_err(|_| Malformed::Leb128)?;
            return Ok((value, i + 1));
        }
    }
    Err(Malformed::Leb128)
}

/// A minimal leb128 encoding (1..=5 bytes).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Leb128 {
    bytes: [u8; 5],
    len: usize,
}

impl Leb128 {
    pub(crate) fn new(value: u32) -> Self {
        let mut bytes = [0u8; 5];
        let mut len = 0;
        let mut v = value;
        for slot in bytes.iter_mut() {
            // The low 7 bits; the cast keeps exactly them.
            let low = (v & 0x7f) as u8;
            v >>= 7;
            len += 1;
            if v == 0 {
                *slot = low;
                break;
            }
            *slot = low | 0x80;
        }
        Self { bytes, len }
    }

    pub(crate) fn as_bytes(&self) -> &[u8] {
        self.bytes.get(..self.len).unwrap_or(&[])
    }
}

/// Describes the OBUs of `frame` as units, normalized (see module docs), at
/// most `max` of them (dropped OBUs do not count): the walk stops at the
/// first OBU past the cap.
///
/// # Errors
/// [`Malformed::TruncatedObu`], [`Malformed::Leb128`], [`Malformed::ObuSize`],
/// [`Malformed::TooLarge`] (an OBU of 2^32 bytes or more, or more than
/// `max` OBUs).
pub(crate) fn units(frame: &[u8], units: &mut Vec<Unit>, max: usize) -> Result<(), Malformed> {
    let mut pos = 0;
    while let Some(&header) = frame.get(pos) {
        pos += 1;
        let extension = if header & HAS_EXTENSION != 0 {
            let e = *frame.get(pos).ok_or(Malformed::TruncatedObu)?;
            pos += 1;
            Some(e)
        } else {
            None
        };
        let size = if header & HAS_SIZE != 0 {
            let (size, n) = read_leb128(frame.get(pos..).unwrap_or(&[]))?;
            pos += n;
            usize::try_from(size).map_err(|_| Malformed::TooLarge)?
        } else {
            // Without a size field the OBU runs to the end of the frame.
            frame.len() - pos
        };
        let end = pos
            .checked_add(size)
            .filter(|&end| end <= frame.len())
            .ok_or(Malformed::ObuSize)?;
        let payload = Span::new(pos, end);
        pos = end;
        let ty = obu_type(header);
        if is_dropped(ty) {
            continue;
        }
        check_room(units, max)?;
        let size = u32::try_from(size).map_err(|_| Malformed::TooLarge)?;
        let mut lead = Lead::default();
        lead.push(header | HAS_SIZE);
        if let Some(e) = extension {
            lead.push(e);
        }
        for &b in Leb128::new(size).as_bytes() {
            lead.push(b);
        }
        let (clear, enc) = if ty == OBU_SEQUENCE_HEADER {
            (payload, Span::at(end))
        } else {
            (Span::at(payload.start), payload)
        };
        units.push(Unit {
            lead,
            clear,
            enc,
            plain_len: enc.len(),
        });
    }
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn normalized(frame: &[u8]) -> Result<Vec<u8>, Malformed> {
        let mut us = Vec::new();
        units(frame, &mut us, usize::MAX)?;
        let mut out = Vec::new();
        for u in &us {
            out.extend_from_slice(u.lead.as_bytes());
            out.extend_from_slice(u.clear.of(frame));
            out.extend_from_slice(u.enc.of(frame));
        }
        Ok(out)
    }

    #[test]
    fn leb128_values() {
        assert_eq!(read_leb128(&[0x00]), Ok((0, 1)));
        assert_eq!(read_leb128(&[0x7f, 0xff]), Ok((127, 1)));
        assert_eq!(read_leb128(&[0x80, 0x01]), Ok((128, 2)));
        // Padded (non-minimal) encodings are valid.
        assert_eq!(read_leb128(&[0x85, 0x80, 0x80, 0x00]), Ok((5, 4)));
        assert_eq!(
            read_leb128(&[0xff, 0xff, 0xff, 0xff, 0x0f]),
            Ok((u32::MAX, 5))
        );
        assert_eq!(
            read_leb128(&[0x80, 0x80, 0x80, 0x80, 0x10]),
            Err(Malformed::Leb128)
        );
        assert_eq!(read_leb128(&[0x80; 8]), Err(Malformed::Leb128));
        assert_eq!(read_leb128(&[0x80; 9]), Err(Malformed::Leb128));
        assert_eq!(read_leb128(&[0x80]), Err(Malformed::Leb128));
        assert_eq!(read_leb128(&[]), Err(Malformed::Leb128));
        // Eight bytes, the last without continuation: allowed if small.
        assert_eq!(
            read_leb128(&[0x81, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x00]),
            Ok((1, 8))
        );
        for v in [0, 1, 127, 128, 16383, 16384, u32::MAX] {
            let e = Leb128::new(v);
            assert_eq!(read_leb128(e.as_bytes()), Ok((v, e.as_bytes().len())));
        }
        assert_eq!(Leb128::new(u32::MAX).as_bytes().len(), 5);
    }

    #[test]
    fn normalizes_like_the_packetizer() {
        let frame = [
            0x12, 0x00, // temporal delimiter
            0x0a, 0x82, 0x00, 0xaa, 0xbb, // sequence header, padded size 2
            0x7a, 0x01, 0xcc, // padding
            0x36, 0x10, 0x03, 0x01, 0x02, 0x03, // frame OBU with extension
            0x30, 0x04, 0x05, // frame OBU without size: runs to the end
        ];
        assert_eq!(
            normalized(&frame).unwrap(),
            [
                0x0a, 0x02, 0xaa, 0xbb, 0x36, 0x10, 0x03, 0x01, 0x02, 0x03, 0x32, 0x02, 0x04, 0x05
            ]
        );
        let mut us = Vec::new();
        units(&frame, &mut us, usize::MAX).unwrap();
        assert_eq!(us.len(), 3);
        assert_eq!((us[0].clear.len(), us[0].enc.len()), (2, 0));
        assert_eq!((us[1].clear.len(), us[1].enc.len()), (0, 3));
        assert_eq!(us[2].lead.as_bytes(), [0x32, 0x02]);
    }

    #[test]
    fn malformed_obus() {
        assert_eq!(normalized(&[]).unwrap(), Vec::<u8>::new());
        assert_eq!(normalized(&[0x34]), Err(Malformed::TruncatedObu));
        assert_eq!(normalized(&[0x32]), Err(Malformed::Leb128));
        assert_eq!(normalized(&[0x32, 0x05, 1, 2]), Err(Malformed::ObuSize));
        assert_eq!(
            normalized(&[0x32, 0xff, 0xff, 0xff, 0xff, 0x0f, 1]),
            Err(Malformed::ObuSize)
        );
        // A dropped OBU must still be well-formed to be skipped.
        assert_eq!(normalized(&[0x7a, 0x09]), Err(Malformed::ObuSize));
        // Without a size field, an empty payload is fine.
        assert_eq!(normalized(&[0x30]).unwrap(), [0x32, 0x00]);
    }

    #[test]
    fn unit_cap_counts_kept_obus_only() {
        // Three frame OBUs, with a temporal delimiter and padding around.
        let frame = [
            0x12, 0x00, 0x32, 0x00, 0x7a, 0x01, 0xcc, 0x32, 0x00, 0x12, 0x00, 0x32, 0x00,
        ];
        let mut us = Vec::new();
        assert_eq!(units(&frame, &mut us, 3), Ok(()));
        assert_eq!(us.len(), 3);
        us.clear();
        assert_eq!(units(&frame, &mut us, 2), Err(Malformed::TooLarge));
        // The walk stopped at the third frame OBU: nothing kept for it.
        assert_eq!(us.len(), 2);
    }

    proptest! {
        #[test]
        fn normalization_is_idempotent(frame in proptest::collection::vec(any::<u8>(), 0..48)) {
            if let Ok(once) = normalized(&frame) {
                let twice = normalized(&once).unwrap();
                prop_assert_eq!(once, twice);
            }
        }
    }
}
