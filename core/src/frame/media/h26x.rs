//! Which bytes of an H.264 or H.265 NAL unit stay clear.
//!
//! - Parameter sets and other NAL units with no picture data stay clear:
//!   depacketizers parse SPS and PPS (ids, dimensions) to decide whether a
//!   key frame can be decoded. H.264: SPS 7, PPS 8, AUD 9, end of sequence
//!   10, end of stream 11, SPS extension 13, subset SPS 15. H.265: VPS 32,
//!   SPS 33, PPS 34, AUD 35, EOS 36, EOB 37.
//! - Slices keep their NAL header and the slice-header fields the libwebrtc
//!   depacketizer reads to link a slice to its PPS. H.264 types 1 and 5:
//!   `first_mb_in_slice`, `slice_type`, `pic_parameter_set_id`, all ue(v).
//!   H.265 types 0..=31: `first_slice_segment_in_pic_flag`,
//!   `no_output_of_prior_pics_flag` (types 16..=23 only),
//!   `slice_pic_parameter_set_id` ue(v). The fields are read from the RBSP
//!   (skipping emulation-prevention bytes) and the clear prefix is every
//!   escaped byte up to the one holding their last bit.
//! - Every other NAL unit (SEI, which can carry captions and user data,
//!   data partitions, reserved types, ...) keeps only its NAL header.

use super::error::Malformed;
use super::layout::{Lead, Span, Unit};

/// The H.26x family: the NAL header and slice syntax differ.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Family {
    H264,
    H265,
}

impl Family {
    /// The NAL unit type of a NAL unit starting with `header`.
    pub(crate) fn nal_type(self, header: u8) -> u8 {
        match self {
            Family::H264 => header & 0x1f,
            Family::H265 => (header >> 1) & 0x3f,
        }
    }

    /// NAL header length.
    pub(crate) fn header_len(self) -> usize {
        match self {
            Family::H264 => 1,
            Family::H265 => 2,
        }
    }
}

/// What stays clear of one NAL unit type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Rule {
    /// The whole NAL unit.
    Whole,
    /// The NAL header and the slice-header prefix.
    SlicePrefix,
    /// The NAL header only.
    Header,
}

/// The rule for `nal_type`.
pub(crate) fn rule(family: Family, nal_type: u8) -> Rule {
    match family {
        Family::H264 => match nal_type {
            7 | 8 | 9 | 10 | 11 | 13 | 15 => Rule::Whole,
            1 | 5 => Rule::SlicePrefix,
            _ => Rule::Header,
        },
        Family::H265 => match nal_type {
            32..=37 => Rule::Whole,
            0..=31 => Rule::SlicePrefix,
            _ => Rule::Header,
        },
    }
}

/// Bytes kept clear at the start of `nal` (a whole NAL unit, non-empty).
///
/// # Errors
/// [`Malformed::TruncatedNalHeader`], [`Malformed::TruncatedSliceHeader`],
/// [`Malformed::ExpGolomb`].
pub(crate) fn clear_len(family: Family, nal: &[u8]) -> Result<usize, Malformed> {
    let hl = family.header_len();
    if nal.len() < hl {
        return Err(Malformed::TruncatedNalHeader);
    }
    let first = nal.first().copied().ok_or(Malformed::TruncatedNalHeader)?;
    let nal_type = family.nal_type(first);
    match rule(family, nal_type) {
        Rule::Whole => Ok(nal.len()),
        Rule::Header => Ok(hl),
        Rule::SlicePrefix => {
            let mut bits = Rbsp::new(nal.get(hl..).unwrap_or(&[]));
            match family {
                Family::H264 => {
                    bits.ue()?; // first_mb_in_slice
                    bits.ue()?; // slice_type
                    bits.ue()?; // pic_parameter_set_id
                }
                Family::H265 => {
                    bits.bit()?; // first_slice_segment_in_pic_flag
                    if (16..=23).contains(&nal_type) {
                        bits.bit()?; // no_output_of_prior_pics_flag
                    }
                    bits.ue()?; // slice_pic_parameter_set_id
                }
            }
            Ok(hl + bits.consumed())
        }
    }
}

/// The unit of the NAL unit at `nal` in `src`: a normalized start code, its
/// clear prefix and the encrypted rest.
pub(crate) fn unit(family: Family, src: &[u8], nal: Span) -> Result<Unit, Malformed> {
    let clear = clear_len(family, nal.of(src))?;
    let mid = nal.start + clear;
    Ok(Unit {
        lead: Lead::START_CODE,
        clear: Span::new(nal.start, mid),
        enc: Span::new(mid, nal.end),
        plain_len: nal.len() - clear,
    })
}

/// A bit reader over the escaped bytes of a NAL unit payload that skips
/// emulation-prevention bytes as it loads each byte, so it never looks past
/// the byte holding the last bit read.
struct Rbsp<'a> {
    escaped: &'a [u8],
    /// Escaped bytes loaded so far.
    pos: usize,
    zeros: u8,
    byte: u8,
    bits_left: u8,
}

impl<'a> Rbsp<'a> {
    fn new(escaped: &'a [u8]) -> Self {
        Self {
            escaped,
            pos: 0,
            zeros: 0,
            byte: 0,
            bits_left: 0,
        }
    }

    fn bit(&mut self) -> Result<bool, Malformed> {
        if self.bits_left == 0 {
            loop {
                let b = *self
                    .escaped
                    .get(self.pos)
                    .ok_or(Malformed::TruncatedSliceHeader)?;
                self.pos += 1;
                if self.zeros >= 2 && b == 3 {
                    self.zeros = 0;
                    continue;
                }
                self.zeros = if b == 0 { (self.zeros + 1).min(2) } else { 0 };
                self.byte = b;
                self.bits_left = 8;
                break;
            }
        }
        self.bits_left -= 1;
        Ok((self.byte >> self.bits_left) & 1 == 1)
    }

    /// An unsigned Exp-Golomb code; only its length matters here.
    fn ue(&mut self) -> Result<u32, Malformed> {
        let mut leading = 0u32;
        while !self.bit()? {
            leading += 1;
            if leading > 31 {
                return Err(Malformed::ExpGolomb);
            }
        }
        let mut value = 0u64;
        for _ in 0..leading {
            value = (value << 1) | u64::from(self.bit()?);
        }
        let value = (1u64 << leading) - 1 + value;
        u32::try_from(value).map_err(|_| Malformed::ExpGolomb)
    }

    /// Escaped bytes holding the bits read so far.
    fn consumed(&self) -> usize {
        self.pos
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn exp_golomb_values() {
        // 1 | 010 | 011 | 00100 | 0 = 0b1010_0110_0100_0...
        let mut r = Rbsp::new(&[0b1010_0110, 0b0100_0000]);
        assert_eq!(r.ue(), Ok(0));
        assert_eq!(r.ue(), Ok(1));
        assert_eq!(r.ue(), Ok(2));
        assert_eq!(r.ue(), Ok(3));
        assert_eq!(r.consumed(), 2);
        // 32 leading zeros.
        let mut r = Rbsp::new(&[0, 0, 0, 0, 0x80]);
        assert_eq!(r.ue(), Err(Malformed::ExpGolomb));
        // 31 leading zeros: the largest value, 2^32 - 2.
        let mut r = Rbsp::new(&[0, 0, 0, 1, 0xff, 0xff, 0xff, 0xfe]);
        assert_eq!(r.ue(), Ok(u32::MAX - 1));
    }

    #[test]
    fn reader_skips_emulation_prevention() {
        // 00 00 03 01: RBSP 00 00 01, 23 zeros then a 1 → ue of 23 leading zeros.
        let mut r = Rbsp::new(&[0, 0, 3, 1, 0xff, 0xff, 0xff]);
        assert_eq!(r.ue(), Ok((1 << 23) - 1 + 0x7f_ffff));
        assert_eq!(r.consumed(), 7);
    }

    #[test]
    fn h264_rules() {
        // IDR slice: first_mb 0 (1), slice_type 7 (0001000), pps 0 (1): 1000 1000 | 1…
        let idr = [0x65, 0x88, 0x84, 0x00, 0x21];
        assert_eq!(clear_len(Family::H264, &idr), Ok(3));
        // Non-IDR slice, first_mb 0, slice_type 5 (00110), pps 1 (010): 1 00110 01|0
        let p = [0x41, 0x99, 0x00, 0x42];
        assert_eq!(clear_len(Family::H264, &p), Ok(3));
        assert_eq!(clear_len(Family::H264, &[0x67, 0x42, 0, 0x1f]), Ok(4));
        assert_eq!(clear_len(Family::H264, &[0x68, 0xce]), Ok(2));
        assert_eq!(clear_len(Family::H264, &[0x09, 0xf0]), Ok(2));
        assert_eq!(clear_len(Family::H264, &[0x06, 0x05, 0x10]), Ok(1));
        assert_eq!(clear_len(Family::H264, &[0x02, 0x88]), Ok(1));
        // Slice header cut off.
        assert_eq!(
            clear_len(Family::H264, &[0x65]),
            Err(Malformed::TruncatedSliceHeader)
        );
        assert_eq!(
            clear_len(Family::H264, &[0x41, 0x00]),
            Err(Malformed::TruncatedSliceHeader)
        );
        assert_eq!(
            clear_len(Family::H264, &[]),
            Err(Malformed::TruncatedNalHeader)
        );
    }

    #[test]
    fn h265_rules() {
        // IDR_W_RADL (19): header 26 01, flags 1 0, pps 0 (1) → 101x xxxx
        assert_eq!(clear_len(Family::H265, &[0x26, 0x01, 0xa0, 0x55]), Ok(3));
        // TRAIL_R (1): header 02 01, flag 0, pps 3 (00100) → 0001 00xx
        assert_eq!(clear_len(Family::H265, &[0x02, 0x01, 0x10, 0x55]), Ok(3));
        // pps 300 needs 17 bits after the flag: prefix spans 3 bytes.
        assert_eq!(
            clear_len(Family::H265, &[0x02, 0x01, 0x00, 0x4b, 0x40, 0x55]),
            Ok(5)
        );
        assert_eq!(clear_len(Family::H265, &[0x40, 0x01, 0x0c]), Ok(3)); // VPS
        assert_eq!(clear_len(Family::H265, &[0x42, 0x01]), Ok(2)); // SPS
        assert_eq!(clear_len(Family::H265, &[0x4e, 0x01, 0x05]), Ok(2)); // prefix SEI
        assert_eq!(
            clear_len(Family::H265, &[0x26]),
            Err(Malformed::TruncatedNalHeader)
        );
        assert_eq!(
            clear_len(Family::H265, &[0x26, 0x01]),
            Err(Malformed::TruncatedSliceHeader)
        );
    }

    proptest! {
        #[test]
        fn clear_len_is_within_the_nal(nal in proptest::collection::vec(any::<u8>(), 1..40)) {
            for family in [Family::H264, Family::H265] {
                if let Ok(n) = clear_len(family, &nal) {
                    prop_assert!(n >= family.header_len() && n <= nal.len());
                }
            }
        }

        /// The prefix depends only on its own bytes: what follows cannot
        /// change it (the receiver sees ciphertext there).
        #[test]
        fn clear_len_ignores_what_follows(
            nal in proptest::collection::vec(any::<u8>(), 1..24),
            tail in proptest::collection::vec(any::<u8>(), 0..24),
        ) {
            for family in [Family::H264, Family::H265] {
                if let Ok(n) = clear_len(family, &nal) {
                    let mut longer = nal[..n].to_vec();
                    longer.extend_from_slice(&tail);
                    let m = clear_len(family, &longer).unwrap();
                    prop_assert_eq!(if rule(family, family.nal_type(nal[0])) == Rule::Whole { longer.len() } else { n }, m);
                }
            }
        }
    }
}
