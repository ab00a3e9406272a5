//! `media.json`: media-mode frames for every suite and codec, from small
//! synthetic encoded frames written by hand from the codec specifications.

use callseal_core::frame::media::{Codec, MediaReceiver, MediaSender};
use callseal_core::frame::{CipherSuite, Counter, Kid, Receiver, ReceiverConfig, Sender};
use serde::Serialize;

use super::fixed::{base_key, base_key_bytes, dec, err, hex, nonzero, pattern};

pub(super) const DESCRIPTION: &str = "MediaSender.startingAt(suite, kid, base_key, counter).encryptFrame(codec, frame) returns protected; a MediaReceiver with addKey(kid, suite, base_key) decrypts protected to decrypted (frame up to media mode's normalizations) with the same codec, kid and counter.";

#[derive(Serialize)]
pub(super) struct MediaCase {
    name: String,
    suite: u16,
    kid: String,
    counter: String,
    base_key: String,
    codec: &'static str,
    frame: String,
    protected: String,
    decrypted: String,
}

const START: [u8; 4] = [0, 0, 0, 1];

fn concat(parts: &[&[u8]]) -> Vec<u8> {
    parts.concat()
}

/// Opus: the TOC byte (config 15, stereo off, one frame), then the packet.
fn opus() -> Vec<u8> {
    concat(&[&[0x78], &nonzero(1, 40)])
}

/// VP8 key frame: frame tag (P = 0, show_frame), start code 9d 01 2a,
/// 320x240, then the first partition.
fn vp8_key() -> Vec<u8> {
    concat(&[
        &[0x50, 0x01, 0x00, 0x9d, 0x01, 0x2a, 0x40, 0x01, 0xf0, 0x00],
        &nonzero(2, 30),
    ])
}

/// VP8 delta frame: a 3-byte frame tag with P = 1.
fn vp8_delta() -> Vec<u8> {
    concat(&[&[0x31, 0x02, 0x00], &nonzero(3, 20)])
}

/// VP9: an uncompressed header start (frame marker, profile 0, key frame,
/// sync code 49 83 42), then data; media mode encrypts all of it.
fn vp9() -> Vec<u8> {
    concat(&[
        &[0x82, 0x49, 0x83, 0x42, 0x00, 0x13, 0xf0, 0x0e],
        &nonzero(4, 30),
    ])
}

/// H.264 Annex B access unit: SPS, PPS and an IDR slice (first_mb 0,
/// slice_type 7, pps 0) whose data holds an emulation-prevention byte.
fn h264() -> Vec<u8> {
    concat(&[
        &START,
        &[0x67, 0x42, 0xc0, 0x1e, 0xd9, 0x00, 0xa0, 0x47, 0xfe, 0xc8],
        &START,
        &[0x68, 0xce, 0x3c, 0x80],
        &START,
        &[
            0x65, 0x88, 0x84, 0x00, 0x21, 0xff, 0x00, 0x00, 0x03, 0x01, 0x7f,
        ],
        &nonzero(5, 24),
    ])
}

/// H.264 as a packetizer may hand it over: 3-byte start codes, an access
/// unit delimiter, a non-IDR slice and trailing zero bytes. Media mode
/// normalizes it (4-byte start codes, no trailing zeros).
fn h264_unnormalized() -> Vec<u8> {
    concat(&[
        &[0, 0, 1, 0x09, 0xf0],
        &[0, 0, 1, 0x41, 0x9a, 0x02, 0x0c],
        &nonzero(6, 16),
        &[0, 0],
    ])
}

/// H.265 access unit: VPS, SPS, PPS, then an IDR_W_RADL slice
/// (first_slice_segment_in_pic 1, no_output_of_prior_pics 0, pps 0).
fn h265() -> Vec<u8> {
    concat(&[
        &START,
        &[0x40, 0x01, 0x0c, 0x01, 0xff, 0xff, 0x01, 0x60],
        &START,
        &[0x42, 0x01, 0x01, 0x01, 0x60, 0x90, 0x7e],
        &START,
        &[0x44, 0x01, 0xc1, 0x72, 0xb4, 0x62, 0x40],
        &START,
        &[0x26, 0x01, 0xaf, 0x08, 0x00, 0x00, 0x03, 0x02, 0x41],
        &nonzero(7, 24),
    ])
}

/// AV1 temporal unit: temporal delimiter, sequence header, frame OBU, all
/// with size fields. The delimiter is dropped on the way, as WebRTC does.
fn av1() -> Vec<u8> {
    let frame = nonzero(8, 30);
    concat(&[
        &[0x12, 0x00],
        &[
            0x0a, 0x0b, 0x00, 0x00, 0x00, 0x24, 0xc4, 0xff, 0xdf, 0x00, 0x68, 0x02, 0x40,
        ],
        &[0x32, frame.len() as u8],
        &frame,
    ])
}

/// AV1 with a padding OBU and a last OBU without a size field: media mode
/// drops the padding and makes every size explicit and minimal.
fn av1_unnormalized() -> Vec<u8> {
    concat(&[&[0x7a, 0x03, 0xaa, 0xbb, 0xcc], &[0x30], &nonzero(9, 12)])
}

/// Anything else: fully encrypted, zero bytes included.
fn generic() -> Vec<u8> {
    pattern(10, 48)
}

/// The main sample of each codec, in codec-id order.
fn samples() -> [(Codec, Vec<u8>); 7] {
    [
        (Codec::Opus, opus()),
        (Codec::Vp8, vp8_key()),
        (Codec::Vp9, vp9()),
        (Codec::H264, h264()),
        (Codec::H265, h265()),
        (Codec::Av1, av1()),
        (Codec::Generic, generic()),
    ]
}

/// The file's name for a codec: the lowercase name without dots.
fn slug(codec: Codec) -> String {
    codec.name().to_lowercase().replace('.', "")
}

fn case(
    name: String,
    suite: CipherSuite,
    kid: u64,
    counter: u64,
    codec: Codec,
    frame: &[u8],
) -> Result<MediaCase, String> {
    let tag = (kid as u8) ^ (counter as u8).rotate_left(3);
    let key = base_key_bytes(suite, tag);
    let sender =
        Sender::starting_at(suite, Kid(kid), base_key(&key)?, Counter(counter)).map_err(err)?;
    let mut sender = MediaSender::new(sender);
    let mut protected = Vec::new();
    sender
        .encrypt_frame(codec, frame, &mut protected)
        .map_err(err)?;
    let mut receiver = MediaReceiver::new(Receiver::new(ReceiverConfig::default()));
    receiver
        .receiver_mut()
        .add_key(Kid(kid), suite, base_key(&key)?)
        .map_err(err)?;
    let mut decrypted = Vec::new();
    let info = receiver
        .decrypt_frame(&protected, &mut decrypted)
        .map_err(err)?;
    if (info.codec, info.kid, info.ctr) != (codec, Kid(kid), Counter(counter)) {
        return Err(format!("{name}: the frame came back with other parameters"));
    }
    Ok(MediaCase {
        name,
        suite: suite.id(),
        kid: dec(kid),
        counter: dec(counter),
        base_key: hex(&key),
        codec: codec.name(),
        frame: hex(frame),
        protected: hex(&protected),
        decrypted: hex(&decrypted),
    })
}

pub(super) fn cases() -> Result<Vec<MediaCase>, String> {
    let mut cases = Vec::new();
    for suite in CipherSuite::ALL {
        for (codec, frame) in samples() {
            let kid = u64::from(suite.id()) * 16 + u64::from(codec.id());
            let counter = u64::from(codec.id()) * 3;
            let name = format!("suite-{}/{}", suite.id(), slug(codec));
            cases.push(case(name, suite, kid, counter, codec, &frame)?);
        }
    }
    let suite = CipherSuite::AesGcm128Sha256;
    let variants: [(&str, Codec, Vec<u8>, u64, u64); 5] = [
        ("vp8-delta", Codec::Vp8, vp8_delta(), 3, 9),
        (
            "h264-unnormalized",
            Codec::H264,
            h264_unnormalized(),
            4,
            300,
        ),
        (
            "av1-unnormalized",
            Codec::Av1,
            av1_unnormalized(),
            6,
            70_000,
        ),
        ("opus-toc-only", Codec::Opus, vec![0xfc], 1, 0),
        (
            "generic-u64-ids",
            Codec::Generic,
            generic(),
            u64::MAX,
            (1 << 60) + 5,
        ),
    ];
    for (name, codec, frame, kid, counter) in variants {
        let name = format!("suite-{}/{name}", suite.id());
        cases.push(case(name, suite, kid, counter, codec, &frame)?);
    }
    Ok(cases)
}
