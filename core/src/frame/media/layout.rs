//! The layout of a frame: which bytes stay clear and which are encrypted.
//!
//! Both sides describe a frame the same way, as a list of [`Unit`]s (one per
//! NAL unit or OBU, or one for a whole Opus/VP8/VP9/generic frame). A unit
//! is, in the normalized frame,
//!
//! ```text
//! lead || clear || encrypted
//! ```
//!
//! `lead` is up to 7 bytes the codec rule writes itself (a 4-byte start
//! code, a rewritten OBU header and minimal size), `clear` and `encrypted`
//! are spans of a source buffer: the frame being sent, or the received frame
//! (where, for H.26x, `encrypted` is still escaped). The sender and the
//! receiver compute the same units from the same clear bytes; the metadata
//! ([`super::metadata`]) and the output are functions of the units.

use super::codec::Codec;
use super::error::Malformed;
use super::h26x::{self, Family};
use super::{annexb, av1, vp8};

/// Longest lead: AV1 header, extension byte and a 5-byte leb128 size.
pub(crate) const MAX_LEAD: usize = 7;

/// The most layout units a frame may have: NAL units (H.264, H.265), or OBUs
/// other than the dropped temporal delimiters, tile lists and padding (AV1),
/// not counting a received frame's suffix OBU. An Opus, VP8, VP9 or generic
/// frame is always one unit, and the metadata never lists more runs than
/// units.
///
/// [`MediaSender::encrypt_frame`](super::MediaSender::encrypt_frame) and
/// [`MediaReceiver::decrypt_frame`](super::MediaReceiver::decrypt_frame)
/// refuse a frame with more with [`Malformed::TooLarge`]. The walk over the
/// frame stops at the first unit past the cap, before anything is kept for
/// it, so a forged frame costs the receiver at most this many units of
/// parsing, memory (48 bytes each) and metadata, however long it is; and
/// the receiver only walks a frame whose key it has.
///
/// Real encoders put a few NAL units or OBUs in a frame (in the ffmpeg
/// tests, `core/tests/media_ffmpeg.rs`: 3 to 7 NAL units with two slices a
/// picture, 1 or 2 OBUs), a few hundred at most when slices are sized to fit
/// RTP packets (H.264 packetization mode 0: ~1 200-byte slices, about 800
/// for a 1 MB key frame). 8192 covers every 1080p H.264 picture even at one slice per
/// macroblock (8160 slices), H.265 at any level (at most 600 slice segments
/// a picture) and AV1 even with one tile group OBU per tile at the format's
/// maximum of 64 × 64 tiles (levels allow at most 128).
pub const MAX_UNITS: usize = 8192;

/// Bytes written in front of a unit's clear source bytes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Lead {
    bytes: [u8; MAX_LEAD],
    len: u8,
}

impl Lead {
    /// The normalized Annex B start code.
    pub(crate) const START_CODE: Lead = Lead {
        bytes: [0, 0, 0, 1, 0, 0, 0],
        len: 4,
    };

    /// Appends a byte; a lead never needs more than [`MAX_LEAD`], extra
    /// bytes are ignored (callers write at most 7).
    pub(crate) fn push(&mut self, byte: u8) {
        if let Some(slot) = self.bytes.get_mut(usize::from(self.len)) {
            *slot = byte;
            self.len += 1;
        }
    }

    pub(crate) fn as_bytes(&self) -> &[u8] {
        self.bytes.get(..usize::from(self.len)).unwrap_or(&[])
    }

    pub(crate) fn len(&self) -> usize {
        usize::from(self.len)
    }

    pub(crate) fn first(&self) -> Option<u8> {
        self.as_bytes().first().copied()
    }
}

/// A half-open byte range of a source buffer.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Span {
    pub(crate) start: usize,
    pub(crate) end: usize,
}

impl Span {
    pub(crate) fn new(start: usize, end: usize) -> Self {
        debug_assert!(start <= end);
        Self { start, end }
    }

    /// The empty span at `at`.
    pub(crate) fn at(at: usize) -> Self {
        Self { start: at, end: at }
    }

    pub(crate) fn len(self) -> usize {
        self.end.saturating_sub(self.start)
    }

    /// The bytes of `src` in this span. Spans are built by the parsers from
    /// `src` itself and are always in bounds; an empty slice stands in
    /// rather than a panic should that ever fail.
    pub(crate) fn of(self, src: &[u8]) -> &[u8] {
        let bytes = src.get(self.start..self.end);
        debug_assert!(bytes.is_some(), "span {self:?} outside {} bytes", src.len());
        bytes.unwrap_or(&[])
    }
}

/// One NAL unit, OBU or whole frame: `lead || clear || encrypted`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Unit {
    pub(crate) lead: Lead,
    pub(crate) clear: Span,
    /// Encrypted bytes in the source (escaped, for a received H.26x frame).
    pub(crate) enc: Span,
    /// Length of the encrypted bytes once gathered (unescaped): the share of
    /// this unit in the AEAD buffer.
    pub(crate) plain_len: usize,
}

impl Unit {
    /// A unit with no lead whose first `clear` bytes of `whole` stay clear.
    pub(crate) fn split(whole: Span, clear: usize) -> Self {
        let mid = whole.start.saturating_add(clear).min(whole.end);
        Unit {
            lead: Lead::default(),
            clear: Span::new(whole.start, mid),
            enc: Span::new(mid, whole.end),
            plain_len: whole.end - mid,
        }
    }

    /// Bytes this unit keeps clear in the normalized frame.
    pub(crate) fn clear_len(&self) -> usize {
        self.lead.len() + self.clear.len()
    }
}

/// Bytes kept clear at the start of a whole-frame codec's frame.
pub(crate) fn whole_frame_clear_len(codec: Codec, frame: &[u8]) -> usize {
    match codec {
        Codec::Opus => frame.len().min(1),
        Codec::Vp8 => vp8::clear_len(frame),
        Codec::Vp9 | Codec::Generic | Codec::H264 | Codec::H265 | Codec::Av1 => 0,
    }
}

/// Describes a frame of a codec without inner structure (Opus, VP8, VP9,
/// generic) as one unit: its clear prefix and the encrypted rest.
pub(crate) fn whole_frame(codec: Codec, frame: &[u8], units: &mut Vec<Unit>) {
    let clear = whole_frame_clear_len(codec, frame);
    units.push(Unit::split(Span::new(0, frame.len()), clear));
}

/// Checks that `units` has room for one more of at most `max` units: the
/// walk over a frame calls it before each unit it keeps, and so stops at the
/// first unit past the cap.
///
/// # Errors
/// [`Malformed::TooLarge`] if `units` already holds `max`.
pub(crate) fn check_room(units: &[Unit], max: usize) -> Result<(), Malformed> {
    if units.len() < max {
        Ok(())
    } else {
        Err(Malformed::TooLarge)
    }
}

/// Describes a frame to send: its units, per its codec's rule, at most
/// [`MAX_UNITS`].
///
/// # Errors
/// The codec's [`Malformed`] reasons (H.26x, AV1), [`Malformed::TooLarge`]
/// past [`MAX_UNITS`] units; whole-frame codecs accept any bytes.
pub(crate) fn describe(codec: Codec, frame: &[u8], units: &mut Vec<Unit>) -> Result<(), Malformed> {
    let family = match codec {
        Codec::H264 => Family::H264,
        Codec::H265 => Family::H265,
        Codec::Av1 => return av1::units(frame, units, MAX_UNITS),
        Codec::Opus | Codec::Vp8 | Codec::Vp9 | Codec::Generic => {
            whole_frame(codec, frame, units);
            return Ok(());
        }
    };
    for nal in annexb::nal_units(frame)? {
        check_room(units, MAX_UNITS)?;
        units.push(h26x::unit(family, frame, nal)?);
    }
    if units.is_empty() {
        return Err(Malformed::NoNalUnit);
    }
    Ok(())
}

/// Total length of the normalized frame the units describe.
pub(crate) fn normalized_len(units: &[Unit]) -> Result<usize, Malformed> {
    units.iter().try_fold(0usize, |acc, u| {
        acc.checked_add(u.clear_len())
            .and_then(|a| a.checked_add(u.plain_len))
            .ok_or(Malformed::TooLarge)
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// Any bytes, any codec: either a typed error or units that tile
        /// the frame in order, in bounds, with leads that fit.
        #[test]
        fn describe_never_panics_and_stays_in_bounds(
            frame in proptest::collection::vec(prop_oneof![3 => Just(0u8), 1 => Just(1u8), 1 => Just(3u8), 3 => any::<u8>()], 0..96),
        ) {
            for codec in Codec::ALL {
                let mut units = Vec::new();
                if describe(codec, &frame, &mut units).is_err() {
                    continue;
                }
                let mut pos = 0;
                for u in &units {
                    prop_assert!(u.clear.start >= pos);
                    prop_assert!(u.clear.end == u.enc.start && u.enc.end <= frame.len());
                    prop_assert_eq!(u.plain_len, u.enc.len());
                    pos = u.enc.end;
                }
                prop_assert!(normalized_len(&units).is_ok());
            }
        }
    }

    #[test]
    fn describe_caps_units() {
        // MAX_UNITS access unit delimiters, then one more.
        let aud = [0, 0, 0, 1, 0x09, 0xf0];
        let mut frame = aud.repeat(MAX_UNITS);
        let mut units = Vec::new();
        describe(Codec::H264, &frame, &mut units).unwrap();
        assert_eq!(units.len(), MAX_UNITS);
        frame.extend_from_slice(&aud);
        units.clear();
        assert_eq!(
            describe(Codec::H264, &frame, &mut units),
            Err(Malformed::TooLarge)
        );
        assert_eq!(units.len(), MAX_UNITS);
        // AV1 likewise; whole-frame codecs are one unit whatever their size.
        let obu = [0x32, 0x01, 0x55];
        let mut frame = obu.repeat(MAX_UNITS);
        units.clear();
        describe(Codec::Av1, &frame, &mut units).unwrap();
        frame.extend_from_slice(&obu);
        units.clear();
        assert_eq!(
            describe(Codec::Av1, &frame, &mut units),
            Err(Malformed::TooLarge)
        );
        units.clear();
        describe(Codec::Generic, &frame, &mut units).unwrap();
        assert_eq!(units.len(), 1);
    }

    #[test]
    fn lead_ignores_overflow() {
        let mut lead = Lead::default();
        for b in 0..10 {
            lead.push(b);
        }
        assert_eq!(lead.as_bytes(), [0, 1, 2, 3, 4, 5, 6]);
        assert_eq!(Lead::START_CODE.as_bytes(), [0, 0, 0, 1]);
    }

    #[test]
    fn whole_frame_rules() {
        let clear = |codec, frame: &[u8]| {
            let mut units = Vec::new();
            whole_frame(codec, frame, &mut units);
            assert_eq!(units.len(), 1);
            assert_eq!(units[0].clear.len() + units[0].enc.len(), frame.len());
            units[0].clear.len()
        };
        assert_eq!(clear(Codec::Opus, &[]), 0);
        assert_eq!(clear(Codec::Opus, &[0x78]), 1);
        assert_eq!(clear(Codec::Opus, &[0x78, 1, 2]), 1);
        assert_eq!(clear(Codec::Vp9, &[1, 2, 3]), 0);
        assert_eq!(clear(Codec::Generic, &[1, 2, 3]), 0);
        assert_eq!(clear(Codec::Vp8, &[0x10; 20]), 10);
        assert_eq!(clear(Codec::Vp8, &[0x11; 20]), 3);
    }
}
