#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! Media mode on frames of real encoders: ffmpeg encodes a test pattern
//! with libx264, libx265, libvpx (VP8, VP9), an AV1 encoder, and a tone
//! with Opus; each frame is protected, checked against its codec's rule,
//! decrypted, and tampered with.
//!
//! Without `ffmpeg` on the PATH the tests print `skipped: ffmpeg not found`
//! and pass, unless `CI=true`, where they fail; likewise for a missing
//! encoder.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{SystemTime, UNIX_EPOCH};

use callseal_core::frame::media::{Codec, MediaError, MediaReceiver, MediaSender};
use callseal_core::frame::{BaseKey, CipherSuite, Kid, Receiver, ReceiverConfig, Sender};

// ---------------------------------------------------------------------------
// ffmpeg plumbing.

fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true" || v == "1")
}

/// Why a test cannot run here: a failure in CI, a printed skip elsewhere.
fn skip(reason: &str) {
    if in_ci() {
        panic!("{reason} (CI=true: media_ffmpeg tests must run)");
    }
    println!("skipped: {reason}");
}

/// ffmpeg's encoder list, or `None` (with a skip) if ffmpeg is missing.
fn ffmpeg_encoders() -> Option<String> {
    match Command::new("ffmpeg")
        .args(["-hide_banner", "-encoders"])
        .output()
    {
        Ok(out) if out.status.success() => Some(String::from_utf8_lossy(&out.stdout).into_owned()),
        _ => {
            skip("ffmpeg not found");
            None
        }
    }
}

/// The first of `wanted` that ffmpeg has, or `None` (with a skip).
fn encoder(wanted: &[&'static str]) -> Option<&'static str> {
    let list = ffmpeg_encoders()?;
    let found = wanted.iter().copied().find(|name| {
        list.lines()
            .any(|l| l.split_whitespace().nth(1) == Some(*name))
    });
    if found.is_none() {
        skip(&format!("no ffmpeg encoder among {wanted:?}"));
    }
    found
}

/// A directory under the system temp dir, removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new(label: &str) -> Self {
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0);
        let dir = std::env::temp_dir().join(format!(
            "callseal-media-{label}-{}-{nanos}",
            std::process::id()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        Self(dir)
    }

    fn path(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

const VIDEO_SOURCE: &str = "testsrc=size=176x144:rate=15";

/// Runs ffmpeg on a lavfi source and returns the output file's bytes.
fn encode(source: &str, args: &[&str], out: &Path) -> Vec<u8> {
    let result = Command::new("ffmpeg")
        .args(["-hide_banner", "-loglevel", "error", "-nostdin", "-y"])
        .args(["-f", "lavfi", "-i", source])
        .args(args)
        .arg(out)
        .output()
        .unwrap();
    assert!(
        result.status.success(),
        "ffmpeg {args:?} failed: {}",
        String::from_utf8_lossy(&result.stderr)
    );
    std::fs::read(out).unwrap()
}

fn video(args: &[&str], dir: &TempDir, name: &str) -> Vec<u8> {
    let mut all = vec!["-frames:v", "20", "-pix_fmt", "yuv420p", "-g", "8"];
    all.extend_from_slice(args);
    encode(VIDEO_SOURCE, &all, &dir.path(name))
}

// ---------------------------------------------------------------------------
// Containers.

/// Frames of an IVF file: 32-byte file header, then per frame a 12-byte
/// header (size u32 LE, timestamp u64 LE) and the frame.
fn ivf_frames(data: &[u8]) -> Vec<Vec<u8>> {
    assert_eq!(&data[..4], b"DKIF");
    let header_len = usize::from(u16::from_le_bytes([data[6], data[7]]));
    let mut pos = header_len;
    let mut frames = Vec::new();
    while pos + 12 <= data.len() {
        let size = u32::from_le_bytes(data[pos..pos + 4].try_into().unwrap()) as usize;
        pos += 12;
        frames.push(data[pos..pos + size].to_vec());
        pos += size;
    }
    assert_eq!(pos, data.len());
    frames
}

/// Packets of an Ogg stream (one logical stream): pages start with
/// `OggS`; the segment table's lacing values of 255 continue a packet.
fn ogg_packets(data: &[u8]) -> Vec<Vec<u8>> {
    let mut packets = Vec::new();
    let mut partial = Vec::new();
    let mut pos = 0;
    while pos < data.len() {
        assert_eq!(&data[pos..pos + 4], b"OggS");
        let segments = usize::from(data[pos + 26]);
        let table = &data[pos + 27..pos + 27 + segments];
        let mut body = pos + 27 + segments;
        for &lacing in table {
            let n = usize::from(lacing);
            partial.extend_from_slice(&data[body..body + n]);
            body += n;
            if lacing < 255 {
                packets.push(std::mem::take(&mut partial));
            }
        }
        pos = body;
    }
    packets
}

/// Splits an Annex B stream into access units at its access unit
/// delimiters (ffmpeg inserts one per access unit).
fn access_units(stream: &[u8], is_aud: impl Fn(&[u8]) -> bool) -> Vec<Vec<u8>> {
    let mut starts: Vec<usize> = Vec::new();
    for (begin, nal) in nal_ranges(stream) {
        if is_aud(&stream[nal..]) {
            starts.push(begin);
        }
    }
    assert_eq!(
        starts.first(),
        Some(&0),
        "stream does not start with an AUD"
    );
    let mut units = Vec::new();
    for (k, &s) in starts.iter().enumerate() {
        let end = starts.get(k + 1).copied().unwrap_or(stream.len());
        units.push(stream[s..end].to_vec());
    }
    units
}

/// For each start code: where its zero bytes begin and where the NAL unit
/// after it begins.
fn nal_ranges(stream: &[u8]) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    let mut i = 0;
    while i + 3 <= stream.len() {
        if stream[i..i + 3] == [0, 0, 1] {
            let mut begin = i;
            while begin > 0 && stream[begin - 1] == 0 {
                begin -= 1;
            }
            out.push((begin, i + 3));
            i += 3;
        } else {
            i += 1;
        }
    }
    out
}

/// NAL units of an Annex B frame (trailing zeros dropped, empty skipped).
fn nals(frame: &[u8]) -> Vec<Vec<u8>> {
    let ranges = nal_ranges(frame);
    let mut out = Vec::new();
    for (k, &(_, start)) in ranges.iter().enumerate() {
        let end = ranges.get(k + 1).map_or(frame.len(), |r| r.0);
        let mut nal = &frame[start..end];
        while let [rest @ .., 0] = nal {
            nal = rest;
        }
        if !nal.is_empty() {
            out.push(nal.to_vec());
        }
    }
    out
}

fn join_nals(nals: &[Vec<u8>]) -> Vec<u8> {
    let mut out = Vec::new();
    for n in nals {
        out.extend_from_slice(&[0, 0, 0, 1]);
        out.extend_from_slice(n);
    }
    out
}

/// AV1 OBUs as (header, extension, payload); panics if malformed.
fn obus(frame: &[u8]) -> Vec<(u8, Option<u8>, Vec<u8>)> {
    let mut out = Vec::new();
    let mut pos = 0;
    while pos < frame.len() {
        let h = frame[pos];
        pos += 1;
        let ext = (h & 4 != 0).then(|| {
            pos += 1;
            frame[pos - 1]
        });
        let size = if h & 2 != 0 {
            let mut v = 0usize;
            let mut shift = 0;
            loop {
                let b = frame[pos];
                pos += 1;
                v |= usize::from(b & 0x7f) << shift;
                shift += 7;
                if b & 0x80 == 0 {
                    break;
                }
            }
            v
        } else {
            frame.len() - pos
        };
        out.push((h, ext, frame[pos..pos + size].to_vec()));
        pos += size;
    }
    out
}

// ---------------------------------------------------------------------------
// The slice-header prefix, computed independently of the library.

/// Bits of an escaped NAL payload, with the escaped index of each RBSP byte.
struct Rbsp {
    bytes: Vec<u8>,
    escaped_index: Vec<usize>,
    bit: usize,
}

impl Rbsp {
    fn new(escaped: &[u8]) -> Self {
        let (mut bytes, mut escaped_index) = (Vec::new(), Vec::new());
        let mut zeros = 0;
        for (i, &b) in escaped.iter().enumerate() {
            if zeros >= 2 && b == 3 {
                zeros = 0;
                continue;
            }
            zeros = if b == 0 { zeros + 1 } else { 0 };
            bytes.push(b);
            escaped_index.push(i);
        }
        Self {
            bytes,
            escaped_index,
            bit: 0,
        }
    }
    fn u1(&mut self) -> u32 {
        let b = (self.bytes[self.bit / 8] >> (7 - self.bit % 8)) & 1;
        self.bit += 1;
        u32::from(b)
    }
    fn ue(&mut self) -> u32 {
        let mut zeros = 0;
        while self.u1() == 0 {
            zeros += 1;
        }
        let mut v = 1u64;
        for _ in 0..zeros {
            v = (v << 1) | u64::from(self.u1());
        }
        (v - 1) as u32
    }
    /// Escaped bytes up to the one holding the last bit read.
    fn escaped_len(&self) -> usize {
        self.escaped_index[(self.bit - 1) / 8] + 1
    }
}

/// Bytes of `nal` that must stay clear, from the rules in PROTOCOL.md.
fn expected_clear(codec: Codec, nal: &[u8]) -> usize {
    match codec {
        Codec::H264 => match nal[0] & 0x1f {
            7 | 8 | 9 | 10 | 11 | 13 | 15 => nal.len(),
            1 | 5 => {
                let mut r = Rbsp::new(&nal[1..]);
                r.ue();
                r.ue();
                r.ue();
                1 + r.escaped_len()
            }
            _ => 1,
        },
        _ => {
            let ty = (nal[0] >> 1) & 0x3f;
            match ty {
                32..=37 => nal.len(),
                0..=31 => {
                    let mut r = Rbsp::new(&nal[2..]);
                    r.u1();
                    if (16..=23).contains(&ty) {
                        r.u1();
                    }
                    r.ue();
                    2 + r.escaped_len()
                }
                _ => 2,
            }
        }
    }
}

// ---------------------------------------------------------------------------
// Checks common to every codec.

fn pair(suite: CipherSuite) -> (MediaSender, MediaReceiver) {
    let key = [0x42u8; 32];
    let sender = Sender::new(suite, Kid(0x2a), BaseKey::new(&key).unwrap()).unwrap();
    let mut receiver = Receiver::new(ReceiverConfig::default());
    receiver
        .add_key(Kid(0x2a), suite, BaseKey::new(&key).unwrap())
        .unwrap();
    (MediaSender::new(sender), MediaReceiver::new(receiver))
}

/// A small deterministic generator for which bits to flip.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self, bound: usize) -> usize {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        ((self.0 >> 33) as usize) % bound
    }
}

/// Flips bits of `protected` (every byte of short frames, a sample plus the
/// clear head and the suffix of long ones) and checks each is refused.
fn assert_flips_rejected(rx: &mut MediaReceiver, protected: &[u8], rng: &mut Lcg) {
    let len = protected.len();
    let mut positions: Vec<usize> = if len <= 64 {
        (0..len).collect()
    } else {
        let mut p: Vec<usize> = (0..24).chain(len - 40..len).collect();
        p.extend((0..24).map(|_| rng.next(len)));
        p
    };
    positions.dedup();
    let mut out = Vec::new();
    for i in positions {
        let mut forged = protected.to_vec();
        forged[i] ^= 1 << rng.next(8);
        match rx.decrypt_frame(&forged, &mut out) {
            Err(MediaError::Frame(_) | MediaError::Malformed(_)) => {}
            Err(e) => panic!("unexpected error {e:?}"),
            Ok(_) => panic!("bit flip at byte {i} of {len} accepted"),
        }
    }
}

/// Protects every frame, decrypts it, compares it with `expected(frame)`
/// and runs `check(input, protected)`; flips bits of every frame.
fn run_frames(
    codec: Codec,
    frames: &[Vec<u8>],
    expected: impl Fn(&[u8]) -> Vec<u8>,
    check: impl Fn(&[u8], &[u8]),
) {
    assert!(frames.len() >= 10, "only {} frames", frames.len());
    let mut rng = Lcg(u64::from(codec.id()));
    for suite in [
        CipherSuite::AesGcm128Sha256,
        CipherSuite::AesCtr128HmacSha256_80,
    ] {
        let (mut tx, mut rx) = pair(suite);
        let (mut protected, mut out) = (Vec::new(), Vec::new());
        for (n, frame) in frames.iter().enumerate() {
            tx.encrypt_frame(codec, frame, &mut protected).unwrap();
            check(frame, &protected);
            assert_flips_rejected(&mut rx, &protected, &mut rng);
            let info = rx.decrypt_frame(&protected, &mut out).unwrap();
            assert_eq!(info.codec, codec);
            assert_eq!(info.ctr.0, n as u64);
            assert_eq!(out, expected(frame), "{codec} frame {n}");
        }
    }
}

// ---------------------------------------------------------------------------
// H.264 and H.265.

fn check_annexb(codec: Codec, input: &[u8], protected: &[u8]) {
    let nals_in = nals(input);
    let nals_out = nals(protected);
    // Same NAL units, in the same order, with the same types...
    assert_eq!(nals_in.len(), nals_out.len());
    // ...and no start code besides theirs: each is `00 00 00 01`, and
    // nothing else reads as `00 00 0x` with x <= 2.
    let hits: Vec<usize> = (0..protected.len() - 2)
        .filter(|&i| protected[i] == 0 && protected[i + 1] == 0 && protected[i + 2] <= 2)
        .collect();
    assert_eq!(hits.len(), 2 * nals_in.len(), "emulated start code");
    for w in hits.chunks(2) {
        assert_eq!(protected[w[0]..w[0] + 4], [0, 0, 0, 1]);
    }
    assert_ne!(protected.last(), Some(&0));
    for (i, o) in nals_in.iter().zip(&nals_out) {
        let clear = expected_clear(codec, i);
        assert_eq!(o[..clear], i[..clear], "clear prefix of a NAL unit");
        if clear == i.len() {
            continue;
        }
        let end = i.len().min(o.len());
        if end >= clear + 8 {
            assert_ne!(o[clear..end], i[clear..end], "NAL unit left in clear");
        }
    }
}

fn annexb_test(codec: Codec, encoder_name: &'static str, args: &[&str], aud_type: u8) {
    let Some(enc) = encoder(&[encoder_name]) else {
        return;
    };
    let dir = TempDir::new(enc);
    let mut all = vec!["-c:v", enc];
    all.extend_from_slice(args);
    let stream = video(&all, &dir, "out.bin");
    let is_aud = |nal: &[u8]| match codec {
        Codec::H264 => nal[0] & 0x1f == aud_type,
        _ => (nal[0] >> 1) & 0x3f == aud_type,
    };
    let frames = access_units(&stream, is_aud);
    let types = |f: &[u8]| -> Vec<u8> {
        nals(f)
            .iter()
            .map(|n| match codec {
                Codec::H264 => n[0] & 0x1f,
                _ => (n[0] >> 1) & 0x3f,
            })
            .collect()
    };
    // The stream really exercises the rules: parameter sets, SEI, key and
    // delta slices.
    let seen: Vec<u8> = frames.iter().flat_map(|f| types(f)).collect();
    let (need, irap): (&[u8], _) = match codec {
        Codec::H264 => (&[9, 7, 8, 6, 1], 5..=5),
        // x265 writes IDR_N_LP (20) and CRA (21) pictures: 16..=23 carry
        // the extra no_output_of_prior_pics_flag.
        _ => (&[35, 32, 33, 34, 39, 1], 16..=23),
    };
    for t in need {
        assert!(
            seen.contains(t),
            "{codec}: no NAL unit of type {t} in {seen:?}"
        );
    }
    assert!(
        seen.iter().any(|t| irap.contains(t)),
        "{codec}: no key picture"
    );
    run_frames(
        codec,
        &frames,
        |f| join_nals(&nals(f)),
        |input, protected| {
            assert_eq!(types(input), types(protected));
            check_annexb(codec, input, protected);
        },
    );
}

#[test]
fn h264_libx264_frames() {
    annexb_test(
        Codec::H264,
        "libx264",
        &[
            "-preset",
            "ultrafast",
            "-x264-params",
            "slices=2:bframes=0",
            "-bsf:v",
            "h264_metadata=aud=insert",
            "-f",
            "h264",
        ],
        9,
    );
}

#[test]
fn h265_libx265_frames() {
    annexb_test(
        Codec::H265,
        "libx265",
        &[
            "-preset",
            "ultrafast",
            "-x265-params",
            "log-level=error:slices=2:bframes=0:info=1",
            "-bsf:v",
            "hevc_metadata=aud=insert",
            "-f",
            "hevc",
        ],
        35,
    );
}

// ---------------------------------------------------------------------------
// VP8 and VP9.

#[test]
fn vp8_libvpx_frames() {
    let Some(enc) = encoder(&["libvpx"]) else {
        return;
    };
    let dir = TempDir::new("vp8");
    let frames = ivf_frames(&video(&["-c:v", enc, "-f", "ivf"], &dir, "out.ivf"));
    let keys = frames.iter().filter(|f| f[0] & 1 == 0).count();
    assert!(keys >= 2 && keys < frames.len(), "{keys} key frames");
    run_frames(Codec::Vp8, &frames, <[u8]>::to_vec, |input, protected| {
        let key = input[0] & 1 == 0;
        let clear = if key { 10 } else { 3 };
        assert_eq!(protected[..clear], input[..clear]);
        if key {
            // The key-frame start code and the 176x144 dimensions.
            assert_eq!(protected[3..10], [0x9d, 0x01, 0x2a, 176, 0, 144, 0]);
        }
        assert_ne!(protected[clear..input.len()], input[clear..]);
    });
}

#[test]
fn vp9_libvpx_frames() {
    let Some(enc) = encoder(&["libvpx-vp9"]) else {
        return;
    };
    let dir = TempDir::new("vp9");
    let args = [
        "-c:v",
        enc,
        "-deadline",
        "realtime",
        "-cpu-used",
        "8",
        "-f",
        "ivf",
    ];
    let frames = ivf_frames(&video(&args, &dir, "out.ivf"));
    run_frames(Codec::Vp9, &frames, <[u8]>::to_vec, |input, protected| {
        // Nothing stays clear.
        let n = input.len().min(8);
        assert_ne!(protected[..n], input[..n]);
    });
}

// ---------------------------------------------------------------------------
// AV1.

#[test]
fn av1_frames() {
    let Some(enc) = encoder(&["libaom-av1", "libsvtav1", "librav1e"]) else {
        return;
    };
    let dir = TempDir::new("av1");
    let mut args = vec!["-c:v", enc];
    match enc {
        "libaom-av1" => args.extend(["-cpu-used", "8", "-usage", "realtime"]),
        "libsvtav1" => args.extend(["-preset", "12"]),
        _ => args.extend(["-speed", "10"]),
    }
    args.extend(["-f", "ivf"]);
    let frames = ivf_frames(&video(&args, &dir, "out.ivf"));
    let kept = |f: &[u8]| -> Vec<(u8, Option<u8>, Vec<u8>)> {
        obus(f)
            .into_iter()
            .filter(|(h, _, _)| !matches!((h >> 3) & 0xf, 2 | 8 | 15))
            .collect()
    };
    let normalized = |f: &[u8]| -> Vec<u8> {
        let mut out = Vec::new();
        for (h, ext, payload) in kept(f) {
            out.push(h | 2);
            out.extend(ext);
            let mut v = payload.len();
            loop {
                let b = (v & 0x7f) as u8;
                v >>= 7;
                if v == 0 {
                    out.push(b);
                    break;
                }
                out.push(b | 0x80);
            }
            out.extend(payload);
        }
        out
    };
    let seq_headers = frames
        .iter()
        .filter(|f| kept(f).iter().any(|o| (o.0 >> 3) & 0xf == 1))
        .count();
    assert!(seq_headers >= 1);
    run_frames(Codec::Av1, &frames, normalized, |input, protected| {
        let obus_in = kept(input);
        let obus_out = obus(protected);
        // Same OBU types, extensions and sizes, plus the suffix OBU.
        assert_eq!(obus_out.len(), obus_in.len() + 1);
        for (i, o) in obus_in.iter().zip(&obus_out) {
            assert_eq!((i.0 | 2, i.1, i.2.len()), (o.0, o.1, o.2.len()));
            if (i.0 >> 3) & 0xf == 1 {
                assert_eq!(i.2, o.2, "sequence header stays clear");
            } else if i.2.len() >= 8 {
                assert_ne!(i.2, o.2, "OBU payload left in clear");
            }
        }
        let suffix = obus_out.last().unwrap();
        assert_eq!((suffix.0, suffix.1, suffix.2[0]), (0x2a, None, 31));
    });
}

// ---------------------------------------------------------------------------
// Opus.

#[test]
fn opus_frames() {
    let Some(enc) = encoder(&["libopus", "opus"]) else {
        return;
    };
    let dir = TempDir::new("opus");
    let mut args = vec!["-c:a", enc, "-b:a", "24k", "-f", "ogg"];
    if enc == "opus" {
        args.extend(["-strict", "-2", "-ac", "2"]);
    }
    let ogg = encode(
        "sine=frequency=440:duration=0.6",
        &args,
        &dir.path("out.ogg"),
    );
    let packets = ogg_packets(&ogg);
    assert!(packets[0].starts_with(b"OpusHead"));
    assert!(packets[1].starts_with(b"OpusTags"));
    let frames = &packets[2..];
    run_frames(Codec::Opus, frames, <[u8]>::to_vec, |input, protected| {
        assert_eq!(protected[0], input[0], "TOC byte stays clear");
        if input.len() > 8 {
            assert_ne!(protected[1..input.len()], input[1..]);
        }
    });
}
