//! The codecs media mode knows, and the identifier each carries on the wire.

use core::fmt;

/// The codec of an encoded frame: it decides which bytes stay in clear.
///
/// Every protected frame carries its codec in-band (3 bits of the footer
/// byte), so a [`MediaReceiver`](super::MediaReceiver) needs no signalling to
/// decrypt. The identifiers are part of the wire format and never change.
///
/// | codec | id | clear bytes |
/// |---|---|---|
/// | [`Opus`](Codec::Opus) | 1 | the TOC byte |
/// | [`Vp8`](Codec::Vp8) | 2 | 10 (key frame) or 3 bytes of frame header |
/// | [`Vp9`](Codec::Vp9) | 3 | none |
/// | [`H264`](Codec::H264) | 4 | start codes, NAL headers, parameter sets, slice-header prefix |
/// | [`H265`](Codec::H265) | 5 | the same for H.265 |
/// | [`Av1`](Codec::Av1) | 6 | OBU headers and sizes, sequence headers |
/// | [`Generic`](Codec::Generic) | 7 | none |
///
/// ```
/// use callseal_core::frame::media::Codec;
///
/// let codec = Codec::from_mime_type("video/H264").ok_or("unknown codec")?;
/// assert_eq!(codec, Codec::H264);
/// assert_eq!(Codec::from_id(codec.id()), Some(codec));
/// assert_eq!(Codec::Av1.to_string(), "AV1");
/// # Ok::<(), &str>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Codec {
    /// Opus audio (RFC 6716): the TOC byte stays clear for SFUs and
    /// depacketizers that read frame duration and DTX.
    Opus,
    /// VP8 (RFC 6386): the frame tag, and on key frames the start code and
    /// dimensions, stay clear; the RTP depacketizer reads them.
    Vp8,
    /// VP9: fully encrypted; the RTP descriptor comes from codec-specific
    /// information, not from the bitstream.
    Vp9,
    /// H.264 Annex B byte stream.
    H264,
    /// H.265 Annex B byte stream.
    H265,
    /// AV1 low-overhead bitstream format (OBUs with size fields).
    Av1,
    /// Any other payload: fully encrypted.
    Generic,
}

impl Codec {
    /// Every codec, in identifier order.
    pub const ALL: [Codec; 7] = [
        Codec::Opus,
        Codec::Vp8,
        Codec::Vp9,
        Codec::H264,
        Codec::H265,
        Codec::Av1,
        Codec::Generic,
    ];

    /// The wire identifier, 1..=7 (0 is never used).
    pub fn id(self) -> u8 {
        match self {
            Codec::Opus => 1,
            Codec::Vp8 => 2,
            Codec::Vp9 => 3,
            Codec::H264 => 4,
            Codec::H265 => 5,
            Codec::Av1 => 6,
            Codec::Generic => 7,
        }
    }

    /// The codec of a wire identifier, `None` for 0 and values above 7.
    pub fn from_id(id: u8) -> Option<Codec> {
        Codec::ALL.into_iter().find(|c| c.id() == id)
    }

    /// The codec of a WebRTC MIME type such as `audio/opus` or `video/VP8`
    /// (case-insensitive), as found in `RTCEncodedVideoFrame` metadata and
    /// SDP. `None` for codecs media mode has no rule for; such frames can be
    /// sent as [`Codec::Generic`].
    pub fn from_mime_type(mime: &str) -> Option<Codec> {
        let (kind, name) = mime.split_once('/')?;
        let is = |s: &str| name.eq_ignore_ascii_case(s);
        if kind.eq_ignore_ascii_case("audio") {
            return is("opus").then_some(Codec::Opus);
        }
        if !kind.eq_ignore_ascii_case("video") {
            return None;
        }
        [
            ("VP8", Codec::Vp8),
            ("VP9", Codec::Vp9),
            ("H264", Codec::H264),
            ("H265", Codec::H265),
            ("HEVC", Codec::H265),
            ("AV1", Codec::Av1),
        ]
        .into_iter()
        .find_map(|(n, c)| is(n).then_some(c))
    }

    /// A short display name.
    pub fn name(self) -> &'static str {
        match self {
            Codec::Opus => "Opus",
            Codec::Vp8 => "VP8",
            Codec::Vp9 => "VP9",
            Codec::H264 => "H.264",
            Codec::H265 => "H.265",
            Codec::Av1 => "AV1",
            Codec::Generic => "generic",
        }
    }
}

impl fmt::Display for Codec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_1_to_7_and_round_trip() {
        for (i, c) in Codec::ALL.into_iter().enumerate() {
            assert_eq!(usize::from(c.id()), i + 1);
            assert_eq!(Codec::from_id(c.id()), Some(c));
        }
        assert_eq!(Codec::from_id(0), None);
        assert_eq!(Codec::from_id(8), None);
    }

    #[test]
    fn mime_types() {
        assert_eq!(Codec::from_mime_type("audio/OPUS"), Some(Codec::Opus));
        assert_eq!(Codec::from_mime_type("video/vp9"), Some(Codec::Vp9));
        assert_eq!(Codec::from_mime_type("video/hevc"), Some(Codec::H265));
        assert_eq!(Codec::from_mime_type("video/opus"), None);
        assert_eq!(Codec::from_mime_type("audio/red"), None);
        assert_eq!(Codec::from_mime_type("AV1"), None);
    }
}
