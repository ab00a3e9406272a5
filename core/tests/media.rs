#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! Media mode: round trips, the clear-byte rules of every codec, H.26x
//! escaping, AV1 normalization, tampering and arbitrary input.
//!
//! The frame generators and reference normalizers here are written from the
//! codec specifications, independently of the library's parsers.

use callseal_core::frame::media::{
    Codec, MAX_UNITS, Malformed, MediaError, MediaReceiver, MediaSender,
};
use callseal_core::frame::{
    BaseKey, CipherSuite, Counter, Error, Header, Kid, Receiver, ReceiverConfig, Sender,
};
use proptest::prelude::*;

const KEY: [u8; 32] = [0x5a; 32];
const KID: Kid = Kid(0x1234);

fn pair(suite: CipherSuite) -> (MediaSender, MediaReceiver) {
    pair_at(suite, KID, 0)
}

fn pair_at(suite: CipherSuite, kid: Kid, ctr: u64) -> (MediaSender, MediaReceiver) {
    let key = &KEY;
    let sender = Sender::starting_at(suite, kid, BaseKey::new(key).unwrap(), Counter(ctr)).unwrap();
    let mut receiver = Receiver::new(ReceiverConfig::default());
    receiver
        .add_key(kid, suite, BaseKey::new(key).unwrap())
        .unwrap();
    (MediaSender::new(sender), MediaReceiver::new(receiver))
}

fn protect(sender: &mut MediaSender, codec: Codec, frame: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    sender.encrypt_frame(codec, frame, &mut out).unwrap();
    out
}

fn round_trip(suite: CipherSuite, codec: Codec, frame: &[u8]) -> (Vec<u8>, Vec<u8>) {
    let (mut tx, mut rx) = pair(suite);
    let protected = protect(&mut tx, codec, frame);
    let mut out = Vec::new();
    let info = rx.decrypt_frame(&protected, &mut out).unwrap();
    assert_eq!(info.codec, codec);
    assert_eq!(info.kid, KID);
    assert_eq!(info.ctr, Counter(0));
    (protected, out)
}

// ---------------------------------------------------------------------------
// Reference normalizers, from the specifications.

/// Annex B: NAL units between `00 00 01`, trailing zeros dropped, empty
/// ones skipped, each written after `00 00 00 01`. `None` if the stream does
/// not start with zeros and a start code.
fn annexb_nals(frame: &[u8]) -> Option<Vec<Vec<u8>>> {
    let starts: Vec<usize> = (0..frame.len().saturating_sub(2))
        .filter(|&i| frame[i..i + 3] == [0, 0, 1])
        .collect();
    let first = *starts.first()?;
    if frame[..first].iter().any(|&b| b != 0) {
        return None;
    }
    let mut nals = Vec::new();
    for (k, &s) in starts.iter().enumerate() {
        let end = starts.get(k + 1).copied().unwrap_or(frame.len());
        let mut nal = &frame[s + 3..end];
        while let [rest @ .., 0] = nal {
            nal = rest;
        }
        if !nal.is_empty() {
            nals.push(nal.to_vec());
        }
    }
    Some(nals)
}

fn annexb_join(nals: &[Vec<u8>]) -> Vec<u8> {
    let mut out = Vec::new();
    for n in nals {
        out.extend_from_slice(&[0, 0, 0, 1]);
        out.extend_from_slice(n);
    }
    out
}

fn leb128(mut v: u64) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let b = (v & 0x7f) as u8;
        v >>= 7;
        if v == 0 {
            out.push(b);
            return out;
        }
        out.push(b | 0x80);
    }
}

/// One AV1 OBU as (header byte, extension, payload).
type Obu = (u8, Option<u8>, Vec<u8>);

/// Parses OBUs; `None` if malformed.
fn av1_obus(frame: &[u8]) -> Option<Vec<Obu>> {
    let mut obus = Vec::new();
    let mut pos = 0;
    while pos < frame.len() {
        let h = frame[pos];
        pos += 1;
        let ext = if h & 4 != 0 {
            pos += 1;
            Some(*frame.get(pos - 1)?)
        } else {
            None
        };
        let size = if h & 2 != 0 {
            let mut v = 0u64;
            let mut i = 0;
            loop {
                let b = *frame.get(pos + i)?;
                v |= u64::from(b & 0x7f) << (7 * i);
                i += 1;
                if b & 0x80 == 0 {
                    break;
                }
                if i == 8 {
                    return None;
                }
            }
            if v > u64::from(u32::MAX) {
                return None;
            }
            pos += i;
            v as usize
        } else {
            frame.len() - pos
        };
        let payload = frame.get(pos..pos.checked_add(size)?)?.to_vec();
        pos += size;
        obus.push((h, ext, payload));
    }
    Some(obus)
}

/// What the WebRTC packetizer and depacketizer make of an AV1 frame.
fn av1_normalize(frame: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    for (h, ext, payload) in av1_obus(frame)? {
        if matches!((h >> 3) & 0xf, 2 | 8 | 15) {
            continue;
        }
        out.push(h | 2);
        out.extend(ext);
        out.extend(leb128(payload.len() as u64));
        out.extend_from_slice(&payload);
    }
    Some(out)
}

fn normalize(codec: Codec, frame: &[u8]) -> Option<Vec<u8>> {
    match codec {
        Codec::H264 | Codec::H265 => {
            let nals = annexb_nals(frame)?;
            (!nals.is_empty()).then(|| annexb_join(&nals))
        }
        Codec::Av1 => av1_normalize(frame),
        _ => Some(frame.to_vec()),
    }
}

/// `00 00` followed by 00, 01 or 02, at each position it occurs.
fn start_code_like(bytes: &[u8]) -> Vec<usize> {
    (0..bytes.len().saturating_sub(2))
        .filter(|&i| bytes[i] == 0 && bytes[i + 1] == 0 && bytes[i + 2] <= 2)
        .collect()
}

/// Checks that an H.26x output has exactly the start codes of its NAL units:
/// one `00 00 00 01` per NAL unit and nothing else resembling one.
fn assert_no_emulation(output: &[u8], nal_count: usize) {
    let hits = start_code_like(output);
    // Each `00 00 00 01` is two hits: `00 00 00` and `00 00 01`.
    assert_eq!(hits.len(), 2 * nal_count, "{output:02x?}");
    for pair in hits.chunks(2) {
        let i = pair[0];
        assert_eq!(pair[1], i + 1);
        assert_eq!(output[i..i + 4], [0, 0, 0, 1]);
    }
    assert_ne!(output.last(), Some(&0));
}

// ---------------------------------------------------------------------------
// Frame generators.

#[derive(Default)]
struct Bits {
    bytes: Vec<u8>,
    len: usize,
}

impl Bits {
    fn bit(&mut self, b: bool) {
        if self.len.is_multiple_of(8) {
            self.bytes.push(0);
        }
        if b {
            *self.bytes.last_mut().unwrap() |= 0x80 >> (self.len % 8);
        }
        self.len += 1;
    }
    fn ue(&mut self, v: u32) {
        let x = u64::from(v) + 1;
        let n = 64 - x.leading_zeros();
        for _ in 1..n {
            self.bit(false);
        }
        for i in (0..n).rev() {
            self.bit((x >> i) & 1 == 1);
        }
    }
    fn byte(&mut self, b: u8) {
        for i in (0..8).rev() {
            self.bit((b >> i) & 1 == 1);
        }
    }
}

/// Escapes an RBSP as an encoder does; returns the escaped bytes and, for
/// each RBSP byte, its escaped index.
fn escape_rbsp(rbsp: &[u8]) -> (Vec<u8>, Vec<usize>) {
    let mut out = Vec::new();
    let mut index = Vec::new();
    let mut zeros = 0;
    for &b in rbsp {
        if zeros >= 2 && b <= 3 {
            out.push(3);
            zeros = 0;
        }
        index.push(out.len());
        out.push(b);
        zeros = if b == 0 { zeros + 1 } else { 0 };
    }
    (out, index)
}

/// A generated NAL unit: its bytes and how many of them must stay clear.
#[derive(Debug, Clone)]
struct Nal {
    bytes: Vec<u8>,
    clear: usize,
}

fn h264_types() -> impl Strategy<Value = u8> {
    prop_oneof![
        4 => Just(1u8),
        4 => Just(5u8),
        6 => prop::sample::select(vec![2u8, 3, 4, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 19, 20, 21, 23]),
    ]
}

fn h265_types() -> impl Strategy<Value = u8> {
    prop_oneof![
        3 => Just(1u8),
        3 => Just(19u8),
        3 => 0u8..=31,
        4 => prop::sample::select(vec![32u8, 33, 34, 35, 36, 37, 38, 39, 40, 41, 47, 48, 63]),
    ]
}

fn payload_bytes(max: usize) -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(
        prop_oneof![3 => Just(0u8), 1 => Just(1u8), 1 => Just(3u8), 1 => any::<u8>()],
        0..max,
    )
}

fn ue_value() -> impl Strategy<Value = u32> {
    prop_oneof![4 => 0u32..8, 1 => 0u32..70_000, 1 => Just(u32::MAX - 1)]
}

/// A syntactically valid H.264 NAL unit of a generated type.
fn h264_nal() -> impl Strategy<Value = Nal> {
    (
        h264_types(),
        1u8..4,
        [ue_value(), ue_value(), ue_value()],
        payload_bytes(40),
    )
        .prop_map(|(ty, nri, ues, tail)| {
            let header = (nri << 5) | ty;
            let mut bits = Bits::default();
            let slice = matches!(ty, 1 | 5);
            if slice {
                for v in ues {
                    bits.ue(v);
                }
            }
            let prefix_bits = bits.len;
            for b in tail {
                bits.byte(b);
            }
            bits.bit(true); // rbsp_stop_one_bit
            let (escaped, index) = escape_rbsp(&bits.bytes);
            let mut bytes = vec![header];
            bytes.extend_from_slice(&escaped);
            let clear = match ty {
                7 | 8 | 9 | 10 | 11 | 13 | 15 => bytes.len(),
                _ if slice => 1 + index[prefix_bits.div_ceil(8) - 1] + 1,
                _ => 1,
            };
            Nal { bytes, clear }
        })
}

/// A syntactically valid H.265 NAL unit of a generated type.
fn h265_nal() -> impl Strategy<Value = Nal> {
    (
        h265_types(),
        0u8..64,
        1u8..8,
        any::<[bool; 2]>(),
        ue_value(),
        payload_bytes(40),
    )
        .prop_map(|(ty, layer, tid, flags, pps, tail)| {
            let header = [(ty << 1) | (layer >> 5), ((layer & 0x1f) << 3) | tid];
            let mut bits = Bits::default();
            let slice = ty <= 31;
            if slice {
                bits.bit(flags[0]);
                if (16..=23).contains(&ty) {
                    bits.bit(flags[1]);
                }
                bits.ue(pps);
            }
            let prefix_bits = bits.len;
            for b in tail {
                bits.byte(b);
            }
            bits.bit(true);
            let (escaped, index) = escape_rbsp(&bits.bytes);
            let mut bytes = header.to_vec();
            bytes.extend_from_slice(&escaped);
            let clear = match ty {
                32..=37 => bytes.len(),
                _ if slice => 2 + index[prefix_bits.div_ceil(8) - 1] + 1,
                _ => 2,
            };
            Nal { bytes, clear }
        })
}

/// An Annex B frame from NAL units, with 3- or 4-byte start codes, extra
/// leading zeros and trailing zero bytes mixed in.
fn annexb_frame(nals: &[Nal], style: &[u8]) -> Vec<u8> {
    let mut frame = Vec::new();
    for (i, nal) in nals.iter().enumerate() {
        let s = style.get(i).copied().unwrap_or(0);
        let zeros = match s % 4 {
            0 => 1,
            1 => 0,
            2 => 2,
            _ => 3,
        };
        frame.extend(std::iter::repeat_n(0, zeros));
        frame.extend_from_slice(&[0, 0, 1]);
        frame.extend_from_slice(&nal.bytes);
    }
    frame
}

fn h26x_frame(codec: Codec) -> BoxedStrategy<(Vec<Nal>, Vec<u8>)> {
    let nal = if codec == Codec::H264 {
        h264_nal().boxed()
    } else {
        h265_nal().boxed()
    };
    (
        prop::collection::vec(nal, 1..6),
        prop::collection::vec(any::<u8>(), 6),
    )
        .prop_map(|(nals, style)| {
            let frame = annexb_frame(&nals, &style);
            (nals, frame)
        })
        .boxed()
}

/// An AV1 OBU: (type, extension, has size, size padding, reserved bit, payload).
fn av1_frame() -> impl Strategy<Value = Vec<u8>> {
    let obu = (
        prop_oneof![3 => Just(6u8), 2 => Just(1u8), 1 => 0u8..16],
        prop::option::of(any::<u8>()),
        0usize..3,
        any::<bool>(),
        payload_bytes(40),
    );
    (prop::collection::vec(obu, 0..6), any::<bool>()).prop_map(|(obus, last_sizeless)| {
        let mut frame = Vec::new();
        let n = obus.len();
        for (i, (ty, ext, pad, reserved, payload)) in obus.into_iter().enumerate() {
            let sizeless = last_sizeless && i + 1 == n;
            let mut h = ty << 3 | u8::from(reserved);
            if ext.is_some() {
                h |= 4;
            }
            if !sizeless {
                h |= 2;
            }
            frame.push(h);
            frame.extend(ext);
            if !sizeless {
                let mut size = leb128(payload.len() as u64);
                for _ in 0..pad {
                    *size.last_mut().unwrap() |= 0x80;
                    size.push(0);
                }
                frame.extend(size);
            }
            frame.extend(payload);
        }
        frame
    })
}

fn suite() -> impl Strategy<Value = CipherSuite> {
    prop::sample::select(CipherSuite::ALL.to_vec())
}

fn whole_frame_codec() -> impl Strategy<Value = Codec> {
    prop::sample::select(vec![Codec::Opus, Codec::Vp8, Codec::Vp9, Codec::Generic])
}

// ---------------------------------------------------------------------------
// Whole-frame codecs.

#[test]
fn whole_frame_codecs_keep_their_prefix_clear() {
    let key_frame = [
        0x50, 0x2d, 0x01, 0x9d, 0x01, 0x2a, 0x80, 0x02, 0xe0, 0x01, 0x11, 0x22, 0x33,
    ];
    let delta = [0x31, 0x2d, 0x01, 0x44, 0x55, 0x66];
    let cases: [(Codec, &[u8], usize); 8] = [
        (Codec::Opus, &[0xfc, 0xff, 0xfe, 0x01], 1),
        (Codec::Opus, &[0xf8], 1),
        (Codec::Vp8, &key_frame, 10),
        (Codec::Vp8, &delta, 3),
        (Codec::Vp8, &key_frame[..7], 7),
        (Codec::Vp8, &delta[..2], 2),
        (Codec::Vp9, &[0x82, 0x49, 0x83, 0x42, 0x00], 0),
        (Codec::Generic, &[1, 2, 3, 4, 5, 6], 0),
    ];
    for suite in CipherSuite::ALL {
        for (codec, frame, clear) in cases {
            let (protected, out) = round_trip(suite, codec, frame);
            assert_eq!(out, frame, "{codec}");
            assert_eq!(protected[..clear], frame[..clear], "{codec}");
            // Ciphertext keeps the frame's length; then tag, header, footer.
            let header_len = usize::from(protected[protected.len() - 1] & 0x1f);
            assert_eq!(
                protected.len(),
                frame.len() + suite.tag_len() + header_len + 1
            );
            assert_eq!(protected.last().unwrap() >> 5, codec_id(codec));
            if frame.len() > clear + 3 {
                assert_ne!(protected[clear..frame.len()], frame[clear..], "{codec}");
            }
        }
    }
}

fn codec_id(codec: Codec) -> u8 {
    match codec {
        Codec::Opus => 1,
        Codec::Vp8 => 2,
        Codec::Vp9 => 3,
        Codec::H264 => 4,
        Codec::H265 => 5,
        Codec::Av1 => 6,
        Codec::Generic => 7,
    }
}

#[test]
fn suffix_is_tag_header_footer() {
    for codec in Codec::ALL {
        assert_eq!(codec.id(), codec_id(codec));
    }
    // KID 0x1234 (2 bytes) and CTR 0 (inline): a 3-byte header; then the
    // largest, 17 bytes.
    for (kid, ctr, header_len) in [(KID, 0, 3), (Kid(u64::MAX), u64::MAX - 1, 17)] {
        let (mut tx, mut rx) = pair_at(CipherSuite::AesGcm128Sha256, kid, ctr);
        let p = protect(&mut tx, Codec::Opus, &[0x78, 0x99]);
        assert_eq!(p.len(), 2 + 16 + header_len + 1);
        assert_eq!(p[0], 0x78);
        assert_eq!(p.last(), Some(&((1 << 5) | header_len as u8)));
        let header = Header::decode(&p[2 + 16..p.len() - 1]).unwrap();
        assert_eq!(
            header,
            (
                Header {
                    kid,
                    ctr: Counter(ctr)
                },
                header_len
            )
        );
        let mut out = Vec::new();
        rx.decrypt_frame(&p, &mut out).unwrap();
        assert_eq!(out, [0x78, 0x99]);
    }
}

#[test]
fn empty_frames_round_trip() {
    for codec in [
        Codec::Opus,
        Codec::Vp8,
        Codec::Vp9,
        Codec::Generic,
        Codec::Av1,
    ] {
        let (protected, out) = round_trip(CipherSuite::AesCtr128HmacSha256_32, codec, &[]);
        assert!(out.is_empty());
        assert!(!protected.is_empty());
    }
}

// ---------------------------------------------------------------------------
// H.264 / H.265.

/// A small but realistic H.264 access unit: AUD, SPS, PPS, SEI, IDR slice.
fn h264_access_unit() -> Vec<u8> {
    let mut f = vec![0, 0, 0, 1, 0x09, 0xf0];
    f.extend_from_slice(&[
        0, 0, 0, 1, 0x67, 0x42, 0xc0, 0x1e, 0xd9, 0x00, 0xa0, 0x47, 0xfe, 0xc8,
    ]);
    f.extend_from_slice(&[0, 0, 1, 0x68, 0xce, 0x3c, 0x80]);
    f.extend_from_slice(&[0, 0, 1, 0x06, 0x05, 0x04, 0xde, 0xad, 0xbe, 0xef, 0x80]);
    f.extend_from_slice(&[
        0, 0, 1, 0x65, 0x88, 0x84, 0x00, 0x00, 0x03, 0x00, 0x21, 0xff, 0x10,
    ]);
    f
}

#[test]
fn h264_access_unit_keeps_headers_clear() {
    for suite in CipherSuite::ALL {
        let frame = h264_access_unit();
        let (protected, out) = round_trip(suite, Codec::H264, &frame);
        let want = normalize(Codec::H264, &frame).unwrap();
        assert_eq!(out, want);
        let nals_in = annexb_nals(&frame).unwrap();
        let nals_out = annexb_nals(&protected).unwrap();
        assert_eq!(nals_out.len(), 5);
        assert_no_emulation(&protected, 5);
        // AUD, SPS, PPS whole; SEI header; slice header + 2 prefix bytes.
        assert_eq!(nals_out[0], nals_in[0]);
        assert_eq!(nals_out[1], nals_in[1]);
        assert_eq!(nals_out[2], nals_in[2]);
        assert_eq!(nals_out[3][0], 0x06);
        assert_ne!(nals_out[3][1..5], nals_in[3][1..5]);
        assert_eq!(nals_out[4][..3], nals_in[4][..3]);
    }
}

#[test]
fn h26x_normalizes_start_codes_and_receiver_accepts_short_ones() {
    let frame = h264_access_unit();
    let (mut tx, mut rx) = pair(CipherSuite::AesGcm128Sha256);
    let protected = protect(&mut tx, Codec::H264, &frame);
    // Every start code went out in the 4-byte form...
    assert_eq!(&protected[..4], &[0, 0, 0, 1]);
    // ...and a receiver that sees 3-byte ones (or extra zeros) still
    // decrypts: the layout is computed on NAL units.
    let nals = annexb_nals(&protected).unwrap();
    let mut short = vec![0, 0];
    for n in &nals {
        short.extend_from_slice(&[0, 0, 1]);
        short.extend_from_slice(n);
    }
    let mut out = Vec::new();
    rx.decrypt_frame(&short, &mut out).unwrap();
    assert_eq!(out, normalize(Codec::H264, &frame).unwrap());
}

#[test]
fn h26x_malformed_inputs_are_typed_errors_and_use_no_counter() {
    let cases: [(Codec, &[u8], Malformed); 11] = [
        (Codec::H264, &[], Malformed::MissingStartCode),
        (Codec::H264, &[0x65, 0x88], Malformed::MissingStartCode),
        (
            Codec::H264,
            &[1, 0, 0, 1, 0x65, 0x88, 0x80],
            Malformed::MissingStartCode,
        ),
        (Codec::H264, &[0, 0, 1], Malformed::NoNalUnit),
        (
            Codec::H264,
            &[0, 0, 0, 1, 0, 0, 1, 0, 0, 0, 1],
            Malformed::NoNalUnit,
        ),
        (
            Codec::H264,
            &[0, 0, 1, 0x65],
            Malformed::TruncatedSliceHeader,
        ),
        (
            Codec::H264,
            &[0, 0, 1, 0x41, 0x00, 0x00, 0x03, 0x01],
            Malformed::TruncatedSliceHeader,
        ),
        (
            Codec::H264,
            &[
                0, 0, 1, 0x41, 0x00, 0x00, 0x03, 0x00, 0x00, 0x03, 0x00, 0x01,
            ],
            Malformed::ExpGolomb,
        ),
        (Codec::H265, &[0, 0, 1, 0x26], Malformed::TruncatedNalHeader),
        (
            Codec::H265,
            &[0, 0, 1, 0x26, 0x01],
            Malformed::TruncatedSliceHeader,
        ),
        (
            Codec::H265,
            &[0, 0, 1, 0x42, 0x01, 0, 0, 1, 0x02],
            Malformed::TruncatedNalHeader,
        ),
    ];
    for (codec, frame, reason) in cases {
        let (mut tx, _) = pair(CipherSuite::AesGcm128Sha256);
        let mut out = vec![1, 2, 3];
        let err = tx.encrypt_frame(codec, frame, &mut out).unwrap_err();
        assert_eq!(err, MediaError::Malformed(reason), "{codec} {frame:02x?}");
        assert!(out.is_empty());
        assert_eq!(tx.sender().next_counter(), Some(Counter(0)));
    }
}

#[test]
fn h26x_last_nal_fully_clear_carries_the_suffix() {
    // The frame ends with an end-of-stream NAL unit (H.264 type 11), and
    // with an H.265 PPS: the suffix follows their clear bytes.
    for (codec, frame) in [
        (
            Codec::H264,
            vec![0, 0, 1, 0x65, 0xb8, 0x00, 0x00, 0x00, 0x01, 0x0b],
        ),
        (
            Codec::H265,
            vec![0, 0, 1, 0x44, 0x01, 0xc1, 0x72, 0xb0, 0x00, 0x00],
        ),
        (Codec::H264, vec![0, 0, 1, 0x67, 0x00, 0x00, 0x03, 0x01]),
    ] {
        for suite in CipherSuite::ALL {
            let (protected, out) = round_trip(suite, codec, &frame);
            assert_eq!(out, normalize(codec, &frame).unwrap());
            let n = annexb_nals(&frame).unwrap().len();
            assert_no_emulation(&protected, n);
        }
    }
}

/// Round trip of a generated Annex B frame, with the clear-byte rule, the
/// NAL structure and the absence of emulated start codes checked.
fn check_h26x(codec: Codec, nals: &[Nal], frame: &[u8], suite: CipherSuite, kid: u64, ctr: u64) {
    let (mut tx, mut rx) = pair_at(suite, Kid(kid), ctr);
    let protected = protect(&mut tx, codec, frame);
    let nals_out = annexb_nals(&protected).unwrap();
    assert_eq!(nals_out.len(), nals.len());
    assert_no_emulation(&protected, nals.len());
    for (n, o) in nals.iter().zip(&nals_out) {
        // The clear prefix is byte-identical...
        assert_eq!(o[..n.clear], n.bytes[..n.clear]);
        // ...and what follows is not (when there is enough to compare).
        let end = n.bytes.len().min(o.len());
        if end >= n.clear + 4 {
            assert_ne!(o[n.clear..end], n.bytes[n.clear..end]);
        }
    }
    let mut out = Vec::new();
    let info = rx.decrypt_frame(&protected, &mut out).unwrap();
    assert_eq!(
        (info.codec, info.kid, info.ctr),
        (codec, Kid(kid), Counter(ctr))
    );
    let want: Vec<Vec<u8>> = nals.iter().map(|n| n.bytes.clone()).collect();
    assert_eq!(out, annexb_join(&want));
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn h264_round_trip_and_clear_rule(
        (nals, frame) in h26x_frame(Codec::H264),
        suite in suite(),
        kid in prop_oneof![0u64..8, any::<u64>()],
        ctr in prop_oneof![0u64..8, 0u64..(1 << 40)],
    ) {
        check_h26x(Codec::H264, &nals, &frame, suite, kid, ctr);
    }

    #[test]
    fn h265_round_trip_and_clear_rule(
        (nals, frame) in h26x_frame(Codec::H265),
        suite in suite(),
        kid in prop_oneof![0u64..8, any::<u64>()],
        ctr in prop_oneof![0u64..8, 0u64..(1 << 40)],
    ) {
        check_h26x(Codec::H265, &nals, &frame, suite, kid, ctr);
    }
}

// ---------------------------------------------------------------------------
// AV1.

#[test]
fn av1_keeps_obu_headers_and_sizes_clear() {
    let frame = [
        0x12, 0x00, // temporal delimiter: dropped
        0x0a, 0x0b, 0x00, 0x00, 0x00, 0x24, 0xc4, 0xff, 0xdf, 0x00, 0x68, 0x02,
        0x10, // sequence header
        0x2a, 0x84, 0x00, 0x03, 0x04, 0x01, 0x02, // metadata OBU with a padded size
        0x7a, 0x02, 0x00, 0x00, // padding: dropped
        0x36, 0x28, 0x05, 0x10, 0x20, 0x30, 0x40, 0x50, // frame OBU with extension
        0x30, 0x61, 0x62, 0x63, // frame OBU without size field, last
    ];
    for suite in CipherSuite::ALL {
        let (protected, out) = round_trip(suite, Codec::Av1, &frame);
        let want = av1_normalize(&frame).unwrap();
        assert_eq!(out, want);
        let obus_in = av1_obus(&want).unwrap();
        let obus_out = av1_obus(&protected).unwrap();
        assert_eq!(obus_out.len(), obus_in.len() + 1);
        for (i, o) in obus_in.iter().zip(&obus_out) {
            assert_eq!((i.0, i.1, i.2.len()), (o.0, o.1, o.2.len()));
            if (i.0 >> 3) & 0xf == 1 {
                assert_eq!(i.2, o.2, "sequence header stays clear");
            } else {
                assert_ne!(i.2, o.2);
            }
        }
        // The suffix OBU: metadata, private type 31, tag || header || footer.
        let (h, ext, payload) = obus_out.last().unwrap();
        assert_eq!((*h, *ext), (0x2a, None));
        assert_eq!(payload[0], 31);
        assert_eq!(payload.len(), 1 + suite.tag_len() + 3 + 1);
        // The output is already in the form the depacketizer rebuilds.
        assert_eq!(av1_normalize(&protected).unwrap(), protected);
    }
}

#[test]
fn av1_receiver_tolerates_packetizer_rewrites() {
    let frame = [0x0a, 0x02, 0x01, 0x02, 0x32, 0x04, 0x05, 0x06, 0x07, 0x08];
    let (mut tx, mut rx) = pair(CipherSuite::AesGcm256Sha512);
    let protected = protect(&mut tx, Codec::Av1, &frame);
    // A temporal delimiter in front and padded sizes: both normalized away.
    let mut rewritten = vec![0x12, 0x00];
    for (h, ext, payload) in av1_obus(&protected).unwrap() {
        rewritten.push(h);
        rewritten.extend(ext);
        let mut size = leb128(payload.len() as u64);
        *size.last_mut().unwrap() |= 0x80;
        size.push(0);
        rewritten.extend(size);
        rewritten.extend(payload);
    }
    let mut out = Vec::new();
    rx.decrypt_frame(&rewritten, &mut out).unwrap();
    assert_eq!(out, frame);
}

#[test]
fn av1_malformed_inputs_are_typed_errors() {
    let cases: [(&[u8], Malformed); 5] = [
        (&[0x34], Malformed::TruncatedObu),
        (&[0x32], Malformed::Leb128),
        (
            &[0x32, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x00],
            Malformed::Leb128,
        ),
        (&[0x32, 0x05, 0x01], Malformed::ObuSize),
        (
            &[0x32, 0xff, 0xff, 0xff, 0xff, 0x0f, 0x01],
            Malformed::ObuSize,
        ),
    ];
    for (frame, reason) in cases {
        let (mut tx, _) = pair(CipherSuite::AesGcm128Sha256);
        let mut out = Vec::new();
        let err = tx.encrypt_frame(Codec::Av1, frame, &mut out).unwrap_err();
        assert_eq!(err, MediaError::Malformed(reason), "{frame:02x?}");
        assert_eq!(tx.sender().next_counter(), Some(Counter(0)));
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn av1_round_trip(frame in av1_frame(), suite in suite(), ctr in 0u64..100_000) {
        let (mut tx, mut rx) = pair_at(suite, KID, ctr);
        let protected = protect(&mut tx, Codec::Av1, &frame);
        let want = av1_normalize(&frame).unwrap();
        let obus_in = av1_obus(&want).unwrap();
        let obus_out = av1_obus(&protected).unwrap();
        prop_assert_eq!(obus_out.len(), obus_in.len() + 1);
        for (i, o) in obus_in.iter().zip(&obus_out) {
            prop_assert_eq!((i.0, i.1, i.2.len()), (o.0, o.1, o.2.len()));
            if (i.0 >> 3) & 0xf == 1 {
                prop_assert_eq!(&i.2, &o.2);
            }
        }
        let mut out = Vec::new();
        rx.decrypt_frame(&protected, &mut out).unwrap();
        prop_assert_eq!(out, want);
    }

    #[test]
    fn whole_frame_round_trip(
        codec in whole_frame_codec(),
        frame in prop::collection::vec(any::<u8>(), 0..200),
        suite in suite(),
        ctr in prop_oneof![0u64..8, any::<u64>()],
    ) {
        let (mut tx, mut rx) = pair_at(suite, Kid(ctr % 1000), ctr);
        let protected = protect(&mut tx, codec, &frame);
        let clear = match codec {
            Codec::Opus => frame.len().min(1),
            Codec::Vp8 if frame.first().is_some_and(|b| b & 1 == 0) => frame.len().min(10),
            Codec::Vp8 => frame.len().min(3),
            _ => 0,
        };
        prop_assert_eq!(&protected[..clear], &frame[..clear]);
        let mut out = Vec::new();
        rx.decrypt_frame(&protected, &mut out).unwrap();
        prop_assert_eq!(out, frame);
    }
}

// ---------------------------------------------------------------------------
// Tampering.

/// Every single-bit flip of `protected` is refused, with a typed error, and
/// the original still decrypts afterwards (failures leave no state).
fn assert_every_flip_rejected(rx: &mut MediaReceiver, protected: &[u8]) {
    let mut out = Vec::new();
    for i in 0..protected.len() {
        for bit in 0..8 {
            let mut forged = protected.to_vec();
            forged[i] ^= 1 << bit;
            match rx.decrypt_frame(&forged, &mut out) {
                Err(MediaError::Frame(_) | MediaError::Malformed(_)) => assert!(out.is_empty()),
                Err(e) => panic!("unexpected error {e:?}"),
                Ok(info) => panic!("flip of bit {bit} of byte {i} accepted: {info:?}"),
            }
        }
    }
    rx.decrypt_frame(protected, &mut out).unwrap();
}

#[test]
fn every_bit_flip_is_rejected_for_every_codec() {
    let vp8_key = [
        0x50, 0x2d, 0x01, 0x9d, 0x01, 0x2a, 0x80, 0x02, 0xe0, 0x01, 0x11, 0x22, 0x33,
    ];
    let h265 = [
        0, 0, 0, 1, 0x40, 0x01, 0x0c, 0x01, 0xff, 0xff, // VPS
        0, 0, 1, 0x42, 0x01, 0x01, 0x01, 0x60, // SPS
        0, 0, 1, 0x44, 0x01, 0xc1, 0x72, 0xb0, // PPS
        0, 0, 1, 0x26, 0x01, 0xaf, 0x00, 0x00, 0x03, 0x00, 0x42, 0x10, 0x00, 0x00, 0x03, 0x01,
        0x55, // IDR
    ];
    let av1 = [
        0x0a, 0x03, 0x00, 0x00, 0x00, 0x32, 0x04, 0x00, 0x00, 0x00, 0x01, 0x2a, 0x01, 0x00,
    ];
    let frames: [(Codec, Vec<u8>); 7] = [
        (Codec::Opus, vec![0xfc, 0x01, 0x02, 0x03]),
        (Codec::Vp8, vp8_key.to_vec()),
        (Codec::Vp9, vec![0x82, 0x49, 0x83, 0x42]),
        (Codec::H264, h264_access_unit()),
        (Codec::H265, h265.to_vec()),
        (Codec::Av1, av1.to_vec()),
        (Codec::Generic, vec![]),
    ];
    for suite in [
        CipherSuite::AesGcm128Sha256,
        CipherSuite::AesCtr128HmacSha256_32,
    ] {
        for (codec, frame) in &frames {
            let (mut tx, mut rx) = pair(suite);
            let protected = protect(&mut tx, *codec, frame);
            assert_every_flip_rejected(&mut rx, &protected);
        }
    }
}

#[test]
fn replay_unknown_key_and_codec_swap_are_refused() {
    let (mut tx, mut rx) = pair(CipherSuite::AesGcm128Sha256);
    let protected = protect(&mut tx, Codec::Vp9, &[1, 2, 3, 4]);
    let mut out = Vec::new();
    rx.decrypt_frame(&protected, &mut out).unwrap();
    assert!(matches!(
        rx.decrypt_frame(&protected, &mut out),
        Err(MediaError::Frame(Error::Replay { .. }))
    ));
    assert!(out.is_empty());

    // The same frame relabelled Generic: the footer is authenticated.
    let mut relabelled = protect(&mut tx, Codec::Vp9, &[1, 2, 3, 4]);
    *relabelled.last_mut().unwrap() ^= (3 ^ 7) << 5;
    assert_eq!(
        rx.decrypt_frame(&relabelled, &mut out),
        Err(MediaError::Frame(Error::AuthenticationFailed))
    );

    let (mut other, _) = pair_at(CipherSuite::AesGcm128Sha256, Kid(77), 0);
    let foreign = protect(&mut other, Codec::Opus, &[0x78, 1]);
    assert_eq!(
        rx.decrypt_frame(&foreign, &mut out),
        Err(MediaError::Frame(Error::UnknownKeyId(Kid(77))))
    );
    assert_eq!(
        rx.decrypt_frame(&[], &mut out),
        Err(MediaError::Malformed(Malformed::Empty))
    );
    assert_eq!(
        rx.decrypt_frame(&[0x00], &mut out),
        Err(MediaError::Malformed(Malformed::Footer(0)))
    );
    assert_eq!(
        rx.decrypt_frame(&[0x23], &mut out),
        Err(MediaError::Malformed(Malformed::TruncatedSuffix))
    );
}

/// A frame of `n` NAL units / OBUs: H.264 and H.265 access unit
/// delimiters (clear whole) and SEI (header clear), AV1 frame OBUs.
fn many_units(codec: Codec, n: usize) -> Vec<u8> {
    let unit: &[u8] = match codec {
        Codec::H264 => &[0, 0, 0, 1, 0x09, 0xf0, 0, 0, 1, 0x06, 0x05, 0x80],
        Codec::H265 => &[0, 0, 0, 1, 0x46, 0x01, 0x50, 0, 0, 1, 0x4e, 0x01, 0x80],
        Codec::Av1 => &[0x32, 0x01, 0x55, 0x32, 0x00],
        _ => unreachable!(),
    };
    let mut frame = unit.repeat(n / 2);
    if n % 2 == 1 {
        let second = match codec {
            Codec::H264 => 6,
            Codec::H265 => 7,
            _ => 3,
        };
        frame.extend_from_slice(&unit[..second]);
    }
    frame
}

/// The unit cap: a frame of `MAX_UNITS` NAL units or OBUs round trips, one
/// more is refused by the sender (using no counter) and, forged, by the
/// receiver before authentication (the genuine frame still decrypts after).
#[test]
fn frames_past_the_unit_cap_are_refused_on_both_sides() {
    let too_large = Some(MediaError::Malformed(Malformed::TooLarge));
    for codec in [Codec::H264, Codec::H265, Codec::Av1] {
        let (mut tx, mut rx) = pair(CipherSuite::AesCtr128HmacSha256_80);
        let mut out = Vec::new();

        let frame = many_units(codec, MAX_UNITS);
        let protected = protect(&mut tx, codec, &frame);
        let over = many_units(codec, MAX_UNITS + 1);
        assert_eq!(
            tx.encrypt_frame(codec, &over, &mut out).err(),
            too_large,
            "{codec}"
        );
        assert!(out.is_empty());
        assert_eq!(tx.sender().next_counter(), Some(Counter(1)));

        // One more unit in front of the genuine frame's.
        let extra: &[u8] = match codec {
            Codec::H264 => &[0, 0, 0, 1, 0x09, 0xf0],
            Codec::H265 => &[0, 0, 0, 1, 0x46, 0x01, 0x50],
            _ => &[0x32, 0x00],
        };
        let mut forged = extra.to_vec();
        forged.extend_from_slice(&protected);
        assert_eq!(
            rx.decrypt_frame(&forged, &mut out).err(),
            too_large,
            "{codec}"
        );
        assert!(out.is_empty());
        // A thousand times past the cap: the same, the walk stops early.
        let mut forged = extra.repeat(MAX_UNITS * 1000 / 8);
        forged.extend_from_slice(&protected);
        assert_eq!(
            rx.decrypt_frame(&forged, &mut out).err(),
            too_large,
            "{codec}"
        );

        rx.decrypt_frame(&protected, &mut out).unwrap();
        assert_eq!(out, normalize(codec, &frame).unwrap(), "{codec}");
    }

    // AV1 OBUs the packetizer drops do not count.
    let (mut tx, mut rx) = pair(CipherSuite::AesGcm128Sha256);
    let mut frame = many_units(Codec::Av1, MAX_UNITS);
    frame.extend([0x12, 0x00].repeat(100));
    frame.extend([0x7a, 0x01, 0xcc].repeat(100));
    let protected = protect(&mut tx, Codec::Av1, &frame);
    let mut forged = [0x12, 0x00].repeat(100);
    forged.extend_from_slice(&protected);
    let mut out = Vec::new();
    rx.decrypt_frame(&forged, &mut out).unwrap();
    assert_eq!(out, normalize(Codec::Av1, &frame).unwrap());
}

/// A received H.264/H.265 frame's suffix is found and its key looked up
/// before any NAL unit is collected: a frame of 100 000 NAL units (or none
/// at all) under an unknown KID is refused as `UnknownKeyId`, not as
/// `TooLarge` (`MissingStartCode`); under the known KID, as `TooLarge`.
#[test]
fn h26x_unknown_kid_is_refused_before_the_nal_units_are_walked() {
    let (_, mut rx) = pair(CipherSuite::AesGcm128Sha256);
    let mut out = Vec::new();
    for codec in [Codec::H264, Codec::H265] {
        for (kid, want) in [
            (Kid(77), MediaError::Frame(Error::UnknownKeyId(Kid(77)))),
            (KID, MediaError::Malformed(Malformed::TooLarge)),
        ] {
            let header = Header {
                kid,
                ctr: Counter(5),
            }
            .encode();
            let footer = (codec_id(codec) << 5) | header.as_bytes().len() as u8;
            let mut frame = [0, 0, 1, 0x09, 0xf0, 0, 0, 1, 0x46, 0x01, 0x50].repeat(50_000);
            frame.extend_from_slice(&[0, 0, 0, 1, 0x06, 0x05]);
            frame.extend_from_slice(&[0xa5; 16]);
            frame.extend_from_slice(header.as_bytes());
            frame.push(footer);
            assert_eq!(rx.decrypt_frame(&frame, &mut out), Err(want.clone()));

            // No start code at all: the key is looked up first too.
            let garbage = frame[frame.len() - 40..].to_vec();
            let want = if kid == KID {
                MediaError::Malformed(Malformed::MissingStartCode)
            } else {
                want
            };
            assert_eq!(rx.decrypt_frame(&garbage, &mut out), Err(want));
        }
    }
}

/// The H.26x suffix is walked back through the frame before the NAL units
/// are known, and must then lie inside the last NAL unit: a start code
/// inserted into the tag is refused.
#[test]
fn h26x_suffix_across_a_start_code_is_refused() {
    let suite = CipherSuite::AesGcm128Sha256;
    let (mut tx, mut rx) = pair(suite);
    let protected = protect(&mut tx, Codec::H264, &h264_access_unit());
    // The header (KID 0x1234, CTR 0) is 3 bytes; split the tag before its
    // last 4 bytes.
    let at = protected.len() - 1 - 3 - 4;
    let mut forged = protected[..at].to_vec();
    forged.extend_from_slice(&[0, 0, 1, 0x06]);
    forged.extend_from_slice(&protected[at..]);
    let mut out = Vec::new();
    assert_eq!(
        rx.decrypt_frame(&forged, &mut out),
        Err(MediaError::Malformed(Malformed::TruncatedSuffix))
    );
    rx.decrypt_frame(&protected, &mut out).unwrap();
}

#[test]
fn scratch_buffers_are_reused() {
    let (mut tx, mut rx) = pair(CipherSuite::AesGcm128Sha256);
    let frame = h264_access_unit();
    let (mut protected, mut out) = (Vec::with_capacity(256), Vec::with_capacity(256));
    let (p, o) = (protected.as_ptr(), out.as_ptr());
    for _ in 0..50 {
        tx.encrypt_frame(Codec::H264, &frame, &mut protected)
            .unwrap();
        rx.decrypt_frame(&protected, &mut out).unwrap();
    }
    assert_eq!((protected.as_ptr(), out.as_ptr()), (p, o));
    assert_eq!(tx.sender().next_counter(), Some(Counter(50)));
}

/// Builds a protected-looking frame for `codec` around arbitrary bytes:
/// a real header for the receiver's key (so parsing goes past the key
/// lookup), an arbitrary tag, and the codec's framing.
fn forge(codec: Codec, body: &[u8], ctr: u64, tag_len: usize, style: u8) -> Vec<u8> {
    let header = Header {
        kid: KID,
        ctr: Counter(ctr),
    }
    .encode();
    let footer = (codec_id(codec) << 5) | header.as_bytes().len() as u8;
    let mut f = Vec::new();
    match codec {
        Codec::H264 | Codec::H265 if style & 1 == 0 => f.extend_from_slice(&[0, 0, 0, 1]),
        _ => {}
    }
    f.extend_from_slice(body);
    if codec == Codec::Av1 && style & 2 == 0 {
        f.push(0x2a);
        f.extend(leb128((1 + tag_len + header.as_bytes().len() + 1) as u64));
        f.push(31);
    }
    f.extend(std::iter::repeat_n(0xa5, tag_len));
    f.extend_from_slice(header.as_bytes());
    f.push(footer);
    f
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn any_single_bit_flip_is_rejected(
        codec in prop::sample::select(Codec::ALL.to_vec()),
        seed in prop::collection::vec(any::<u8>(), 0..60),
        suite in suite(),
        at in any::<prop::sample::Index>(),
        bit in 0u8..8,
    ) {
        let frame = match codec {
            Codec::H264 => { let mut f = h264_access_unit(); f.extend_from_slice(&seed); f.push(0x80); f }
            Codec::H265 => { let mut f = vec![0, 0, 1, 0x02, 0x01, 0xd0]; f.extend_from_slice(&seed); f.push(0x80); f }
            Codec::Av1 => { let mut f = vec![0x32]; f.extend(leb128(seed.len() as u64)); f.extend_from_slice(&seed); f }
            _ => seed,
        };
        let (mut tx, mut rx) = pair(suite);
        let protected = protect(&mut tx, codec, &frame);
        let i = at.index(protected.len());
        let mut forged = protected.clone();
        forged[i] ^= 1 << bit;
        let mut out = Vec::new();
        prop_assert!(rx.decrypt_frame(&forged, &mut out).is_err());
        prop_assert!(out.is_empty());
        rx.decrypt_frame(&protected, &mut out).unwrap();
    }

    #[test]
    fn arbitrary_bytes_never_panic(
        bytes in prop::collection::vec(prop_oneof![3 => Just(0u8), 1 => Just(1u8), 1 => Just(3u8), 1 => any::<u8>()], 0..120),
    ) {
        let (_, mut rx) = pair(CipherSuite::AesCtr128HmacSha256_80);
        let mut out = Vec::new();
        prop_assert!(rx.decrypt_frame(&bytes, &mut out).is_err());
        // The same bytes as a sender's input, for every codec: either a typed
        // error, or a frame that decrypts to the normalized input.
        for codec in Codec::ALL {
            let (mut tx, mut rx) = pair(CipherSuite::AesCtr128HmacSha256_80);
            let mut protected = Vec::new();
            match tx.encrypt_frame(codec, &bytes, &mut protected) {
                Ok(()) => {
                    rx.decrypt_frame(&protected, &mut out).unwrap();
                    prop_assert_eq!(Some(out.clone()), normalize(codec, &bytes));
                }
                Err(MediaError::Malformed(_)) => prop_assert!(normalize(codec, &bytes).is_none() || matches!(codec, Codec::H264 | Codec::H265)),
                Err(e) => panic!("{e}"),
            }
        }
    }

    #[test]
    fn forged_frames_never_panic(
        codec in prop::sample::select(Codec::ALL.to_vec()),
        body in prop::collection::vec(prop_oneof![3 => Just(0u8), 1 => Just(1u8), 1 => Just(3u8), 1 => any::<u8>()], 0..80),
        ctr in prop_oneof![0u64..8, any::<u64>()],
        tag_len in prop::sample::select(vec![0usize, 4, 10, 16, 20]),
        style in any::<u8>(),
    ) {
        let (_, mut rx) = pair(CipherSuite::AesGcm128Sha256);
        let frame = forge(codec, &body, ctr, tag_len, style);
        let mut out = Vec::new();
        prop_assert!(rx.decrypt_frame(&frame, &mut out).is_err());
        prop_assert!(out.is_empty());
        for cut in [1, 2, 5, frame.len() / 2] {
            if let Some(prefix) = frame.get(cut..) {
                prop_assert!(rx.decrypt_frame(prefix, &mut out).is_err());
            }
        }
    }
}
