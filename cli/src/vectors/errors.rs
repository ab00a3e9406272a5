//! `errors.json`: inputs every target must refuse, and the error kind each
//! must report.

use callseal_core::ErrorKind;
use callseal_core::frame::media::{Codec, MediaReceiver, MediaSender};
use callseal_core::frame::{CipherSuite, Counter, Kid, Receiver, ReceiverConfig, Sender};
use serde::Serialize;

use super::fixed::{base_key, base_key_bytes, dec, err, hex, nonzero, pattern};

pub(super) const DESCRIPTION: &str = "A receiver with the default configuration, addKey(kid, suite, base_key), then every frame of before decrypted (each must succeed), then input decrypted (frame-decrypt: FrameReceiver.decrypt(metadata, input); media-decrypt: MediaReceiver.decryptFrame(input), metadata unused): the first step that fails must fail with error.";

#[derive(Serialize)]
pub(super) struct ErrorCase {
    name: String,
    operation: &'static str,
    suite: u16,
    kid: String,
    base_key: String,
    metadata: String,
    before: Vec<String>,
    input: String,
    error: &'static str,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Operation {
    Frame,
    Media,
}

/// One case before it is checked against the core.
struct Spec {
    name: &'static str,
    operation: Operation,
    suite: u16,
    kid: u64,
    key: Vec<u8>,
    metadata: Vec<u8>,
    before: Vec<Vec<u8>>,
    input: Vec<u8>,
    expect: ErrorKind,
}

const SUITE: CipherSuite = CipherSuite::AesGcm128Sha256;
const KID: u64 = 7;

fn key() -> Vec<u8> {
    base_key_bytes(SUITE, 0xe0)
}

fn other_key() -> Vec<u8> {
    base_key_bytes(SUITE, 0xe1)
}

fn frame(
    suite: CipherSuite,
    kid: u64,
    counter: u64,
    key: &[u8],
    metadata: &[u8],
) -> Result<Vec<u8>, String> {
    let mut sender =
        Sender::starting_at(suite, Kid(kid), base_key(key)?, Counter(counter)).map_err(err)?;
    sender.encrypt(metadata, &pattern(0xe2, 21)).map_err(err)
}

fn media(
    codec: Codec,
    frame: &[u8],
    kid: u64,
    counter: u64,
    key: &[u8],
) -> Result<Vec<u8>, String> {
    let sender =
        Sender::starting_at(SUITE, Kid(kid), base_key(key)?, Counter(counter)).map_err(err)?;
    let mut out = Vec::new();
    MediaSender::new(sender)
        .encrypt_frame(codec, frame, &mut out)
        .map_err(err)?;
    Ok(out)
}

fn flip(mut bytes: Vec<u8>, index: usize) -> Vec<u8> {
    if let Some(b) = bytes.get_mut(index) {
        *b ^= 0x01;
    }
    bytes
}

fn specs() -> Result<Vec<Spec>, String> {
    use ErrorKind as K;
    use Operation::{Frame, Media};
    let meta = b"rtp-metadata".to_vec();
    let ok = frame(SUITE, KID, 0, &key(), &meta)?;
    let vp8_key_frame = [
        &[0x50, 0x01, 0x00, 0x9d, 0x01, 0x2a, 0x40, 0x01, 0xf0, 0x00][..],
        &nonzero(0xe3, 16),
    ]
    .concat();
    let ok_media = media(Codec::Vp8, &vp8_key_frame, KID, 0, &key())?;
    let generic = media(Codec::Generic, &pattern(0xe4, 24), KID, 0, &key())?;
    let spec = |name, operation, input, expect| Spec {
        name,
        operation,
        suite: SUITE.id(),
        kid: KID,
        key: key(),
        metadata: if operation == Frame {
            meta.clone()
        } else {
            Vec::new()
        },
        before: Vec::new(),
        input,
        expect,
    };
    let mut header_only = vec![0x70];
    header_only.extend_from_slice(&[0xaa; 5]);
    let mut non_minimal = vec![0x80, 0x05];
    non_minimal.extend_from_slice(&[0xaa; 24]);
    let mut bad_footer = generic.clone();
    if let Some(last) = bad_footer.last_mut() {
        *last = 0x01;
    }
    Ok(vec![
        spec("frame/empty", Frame, Vec::new(), K::Malformed),
        spec("frame/truncated-header", Frame, vec![0x08], K::Malformed),
        spec("frame/non-minimal-header", Frame, non_minimal, K::Malformed),
        spec("frame/shorter-than-tag", Frame, header_only, K::Malformed),
        spec(
            "frame/wrong-key",
            Frame,
            frame(SUITE, KID, 0, &other_key(), &meta)?,
            K::AuthenticationFailed,
        ),
        spec(
            "frame/tampered-ciphertext",
            Frame,
            flip(ok.clone(), 3),
            K::AuthenticationFailed,
        ),
        // Counter 0 → 1 in the config byte: the header is authenticated.
        spec(
            "frame/tampered-header",
            Frame,
            flip(ok.clone(), 0),
            K::AuthenticationFailed,
        ),
        Spec {
            metadata: b"other-metadata".to_vec(),
            ..spec(
                "frame/wrong-metadata",
                Frame,
                ok.clone(),
                K::AuthenticationFailed,
            )
        },
        spec(
            "frame/suite-mismatch",
            Frame,
            frame(CipherSuite::AesCtr128HmacSha256_80, KID, 0, &key(), &meta)?,
            K::AuthenticationFailed,
        ),
        spec(
            "frame/unknown-kid",
            Frame,
            frame(SUITE, KID + 1, 0, &key(), &meta)?,
            K::UnknownKeyId,
        ),
        Spec {
            before: vec![ok.clone()],
            ..spec("frame/replay", Frame, ok.clone(), K::Replay)
        },
        Spec {
            before: vec![frame(SUITE, KID, 2000, &key(), &meta)?],
            ..spec("frame/older-than-window", Frame, ok.clone(), K::Replay)
        },
        Spec {
            key: Vec::new(),
            ..spec(
                "frame/empty-base-key",
                Frame,
                ok.clone(),
                K::InvalidArgument,
            )
        },
        Spec {
            suite: 9,
            ..spec("frame/unknown-suite", Frame, ok.clone(), K::InvalidArgument)
        },
        spec("media/empty", Media, Vec::new(), K::Malformed),
        spec("media/bad-footer", Media, bad_footer, K::Malformed),
        spec(
            "media/tampered-clear-byte",
            Media,
            flip(ok_media.clone(), 6),
            K::AuthenticationFailed,
        ),
        spec(
            "media/tampered-ciphertext",
            Media,
            flip(ok_media.clone(), 12),
            K::AuthenticationFailed,
        ),
        spec(
            "media/wrong-key",
            Media,
            media(Codec::Vp8, &vp8_key_frame, KID, 0, &other_key())?,
            K::AuthenticationFailed,
        ),
        spec(
            "media/unknown-kid",
            Media,
            media(Codec::Vp8, &vp8_key_frame, KID + 1, 0, &key())?,
            K::UnknownKeyId,
        ),
        Spec {
            before: vec![ok_media.clone()],
            ..spec("media/replay", Media, ok_media.clone(), K::Replay)
        },
    ])
}

/// Runs a case through the core: the kind of the first failing step.
fn outcome(spec: &Spec) -> Option<ErrorKind> {
    let suite = match CipherSuite::from_id(spec.suite) {
        Ok(suite) => suite,
        Err(e) => return Some(e.kind()),
    };
    let key = match callseal_core::frame::BaseKey::new(&spec.key) {
        Ok(key) => key,
        Err(e) => return Some(e.kind()),
    };
    let mut receiver = Receiver::new(ReceiverConfig::default());
    if let Err(e) = receiver.add_key(Kid(spec.kid), suite, key) {
        return Some(e.kind());
    }
    match spec.operation {
        Operation::Frame => {
            for input in spec.before.iter().chain([&spec.input]) {
                if let Err(e) = receiver.decrypt(&spec.metadata, input) {
                    return Some(e.kind());
                }
            }
        }
        Operation::Media => {
            let mut receiver = MediaReceiver::new(receiver);
            let mut out = Vec::new();
            for input in spec.before.iter().chain([&spec.input]) {
                if let Err(e) = receiver.decrypt_frame(input, &mut out) {
                    return Some(e.kind());
                }
            }
        }
    }
    None
}

pub(super) fn cases() -> Result<Vec<ErrorCase>, String> {
    specs()?
        .into_iter()
        .map(|spec| {
            let got = outcome(&spec);
            if got != Some(spec.expect) {
                return Err(format!(
                    "{}: expected {}, the core gave {:?}",
                    spec.name, spec.expect, got
                ));
            }
            Ok(ErrorCase {
                name: spec.name.to_owned(),
                operation: match spec.operation {
                    Operation::Frame => "frame-decrypt",
                    Operation::Media => "media-decrypt",
                },
                suite: spec.suite,
                kid: dec(spec.kid),
                base_key: hex(&spec.key),
                metadata: hex(&spec.metadata),
                before: spec.before.iter().map(|b| hex(b)).collect(),
                input: hex(&spec.input),
                error: spec.expect.code(),
            })
        })
        .collect()
}
