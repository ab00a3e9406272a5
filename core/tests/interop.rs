#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! Interoperability with the independent `sframe` crate (=1.4.3, RustCrypto
//! backend) for the RFC 9605 suites 0x0001–0x0005, in both directions.
//!
//! Facts established here about sframe 1.4.3:
//! - Without metadata the two agree byte for byte: same base key, KID, CTR
//!   and payload give identical frames, for every KID and CTR size.
//! - With metadata they do not: sframe authenticates `metadata || header`,
//!   RFC 9605 §4.4.3 says `header || metadata` (the RFC vectors rule, and
//!   callseal follows the RFC).
//! - Payloads shorter than the CTR-HMAC tag (including empty ones) work in
//!   both directions. sframe 1.4.0–1.4.2 could not decrypt such CTR-HMAC
//!   frames (callseal's or its own) with the RustCrypto backend; 1.4.3 fixed
//!   that, and the dependency is pinned to it.
//! - sframe's §5.1 ratchet is not the RFC's: it uses the label
//!   "Sframe 1.0 Ratchet" (lower-case f) and outputs `Nk` bytes, not `Nh`.
//! - sframe parses non-minimal headers; callseal refuses them.

use callseal_core::frame::{
    BaseKey, CipherSuite, Counter, Error, Header, Kid, RatchetLayout, Receiver, ReceiverConfig,
    Sender,
};
use hkdf::Hkdf;
use sframe::crypto::{Kdf, Ratcheting};
use sframe::error::SframeError;
use sframe::frame::{EncryptedFrameView, FrameCounter, MediaFrameView, MonotonicCounter};
use sframe::header::SframeHeader;
use sframe::key::{DecryptionKey, EncryptionKey};
use sha2::{Sha256, Sha512};

/// The suites both implement, paired.
const SUITES: [(CipherSuite, sframe::CipherSuite); 5] = [
    (
        CipherSuite::AesCtr128HmacSha256_80,
        sframe::CipherSuite::AesCtr128HmacSha256_80,
    ),
    (
        CipherSuite::AesCtr128HmacSha256_64,
        sframe::CipherSuite::AesCtr128HmacSha256_64,
    ),
    (
        CipherSuite::AesCtr128HmacSha256_32,
        sframe::CipherSuite::AesCtr128HmacSha256_32,
    ),
    (
        CipherSuite::AesGcm128Sha256,
        sframe::CipherSuite::AesGcm128Sha256,
    ),
    (
        CipherSuite::AesGcm256Sha512,
        sframe::CipherSuite::AesGcm256Sha512,
    ),
];

const KIDS: [u64; 9] = [
    0,
    7,
    8,
    255,
    256,
    0xffff_ffff,
    1 << 32,
    (1 << 56) - 1,
    u64::MAX,
];

/// First counters of the frame sequences; each sequence of 65 frames
/// crosses a change of encoded CTR length or ends at `u64::MAX`.
const FIRST_CTRS: [u64; 6] = [
    0,
    200,
    0xffff - 30,
    (1 << 32) - 30,
    (1 << 56) - 30,
    u64::MAX - 64,
];

fn base_key(suite: CipherSuite, kid: u64) -> Vec<u8> {
    // A key per (suite, KID), of the suite's key length.
    (0..suite.key_len().min(32))
        .map(|i| (i as u8).wrapping_mul(31) ^ (kid as u8) ^ (suite.id() as u8))
        .collect()
}

fn payload(len: usize, seed: u64) -> Vec<u8> {
    (0..len)
        .map(|i| (i as u64).wrapping_mul(0x9e37_79b9).wrapping_add(seed) as u8)
        .collect()
}

/// A counter that hands out one fixed value.
struct Fixed(u64);

impl FrameCounter for Fixed {
    fn next(&mut self) -> u64 {
        self.0
    }
}

/// sframe's frame `header || ciphertext || tag` (its buffer starts with
/// the metadata, which is not part of the frame on the wire).
fn sframe_encrypt(
    key: &EncryptionKey,
    counter: &mut impl FrameCounter,
    metadata: &[u8],
    payload: &[u8],
) -> Vec<u8> {
    let mut buf = Vec::new();
    MediaFrameView::with_meta_data(counter, payload, metadata)
        .encrypt_into(key, &mut buf)
        .unwrap();
    assert_eq!(&buf[..metadata.len()], metadata);
    buf.split_off(metadata.len())
}

fn sframe_decrypt(
    key: &DecryptionKey,
    metadata: &[u8],
    frame: &[u8],
) -> Result<Vec<u8>, SframeError> {
    let mut out = Vec::new();
    let view = EncryptedFrameView::try_with_meta_data(frame, metadata)?;
    let media = view.decrypt_into(key, &mut out)?;
    Ok(media.payload().to_vec())
}

/// One suite × every KID × counter sequence × payload length 0..=64:
/// callseal's and sframe's frames are byte-identical, and each decrypts the
/// other's.
fn both_directions_byte_exact(ours: CipherSuite, theirs: sframe::CipherSuite) {
    let mut frames = 0usize;
    for kid in KIDS {
        let key = base_key(ours, kid);
        let enc = EncryptionKey::derive_from(theirs, kid, &key).unwrap();
        let dec = DecryptionKey::derive_from(theirs, kid, &key).unwrap();
        for first in FIRST_CTRS {
            let mut sender =
                Sender::starting_at(ours, Kid(kid), BaseKey::new(&key).unwrap(), Counter(first))
                    .unwrap();
            let mut receiver = Receiver::new(ReceiverConfig::default());
            receiver
                .add_key(Kid(kid), ours, BaseKey::new(&key).unwrap())
                .unwrap();
            let mut counter = MonotonicCounter::with_start_value(first, u64::MAX);

            for len in 0..=64usize {
                let ctr = first + len as u64;
                let p = payload(len, ctr ^ kid);
                let from_us = sender.encrypt(b"", &p).unwrap();
                let from_them = sframe_encrypt(&enc, &mut counter, b"", &p);

                // sframe reads callseal's frame.
                let header = SframeHeader::deserialize(&from_us).unwrap();
                assert_eq!((header.key_id(), header.counter()), (kid, ctr));
                assert_eq!(
                    sframe_decrypt(&dec, b"", &from_us).unwrap(),
                    p,
                    "sframe decrypting callseal: {ours}, KID {kid}, CTR {ctr}, len {len}"
                );
                // callseal reads sframe's frame.
                let mut frame = from_them.clone();
                let (h, out) = receiver.decrypt_in_place(b"", &mut frame).unwrap();
                assert_eq!((h.kid, h.ctr), (Kid(kid), Counter(ctr)));
                assert_eq!(
                    out,
                    &p[..],
                    "callseal decrypting sframe: {ours}, KID {kid}, CTR {ctr}, len {len}"
                );
                // And both are deterministic: the same bytes.
                assert_eq!(
                    from_us, from_them,
                    "{ours}, KID {kid}, CTR {ctr}, len {len}"
                );
                frames += 1;
            }
            if first == u64::MAX - 64 {
                // The sequence used CTR = u64::MAX last.
                assert_eq!(sender.next_counter(), None);
                assert!(counter.is_exhausted());
            }
        }
    }
    assert_eq!(frames, KIDS.len() * FIRST_CTRS.len() * 65);
}

/// One suite, payloads from 255 bytes to 256 KiB, both directions.
fn big_payloads(ours: CipherSuite, theirs: sframe::CipherSuite) {
    let kid = 0x1234_5678_9abc;
    let key = base_key(ours, kid);
    let enc = EncryptionKey::derive_from(theirs, kid, &key).unwrap();
    let dec = DecryptionKey::derive_from(theirs, kid, &key).unwrap();
    let mut receiver = Receiver::new(ReceiverConfig::default());
    receiver
        .add_key(Kid(kid), ours, BaseKey::new(&key).unwrap())
        .unwrap();
    for (i, len) in [255usize, 256, 1200, 4096, 65_535, 65_536, 1 << 18]
        .into_iter()
        .enumerate()
    {
        let ctr = 1000 + 2 * i as u64;
        let p = payload(len, ctr);
        let mut sender =
            Sender::starting_at(ours, Kid(kid), BaseKey::new(&key).unwrap(), Counter(ctr)).unwrap();
        let from_us = sender.encrypt(b"", &p).unwrap();
        let from_them = sframe_encrypt(&enc, &mut Fixed(ctr), b"", &p);
        assert!(from_us == from_them, "{ours}, len {len}: frames differ");
        assert!(sframe_decrypt(&dec, b"", &from_us).unwrap() == p);
        assert!(receiver.decrypt(b"", &from_them).unwrap() == p);

        // A second, sframe-made frame at the next counter.
        let q = payload(len, !ctr);
        let from_them = sframe_encrypt(&enc, &mut Fixed(ctr + 1), b"", &q);
        assert!(receiver.decrypt(b"", &from_them).unwrap() == q);
    }
}

// One test per suite, so the harness runs them in parallel.
macro_rules! per_suite {
    ($($name:ident => $index:expr),* $(,)?) => {
        mod per_suite {
            $(
                #[test]
                fn $name() {
                    let (ours, theirs) = super::SUITES[$index];
                    super::both_directions_byte_exact(ours, theirs);
                    super::big_payloads(ours, theirs);
                }
            )*
        }
    };
}

per_suite! {
    aes_128_ctr_hmac_sha256_80 => 0,
    aes_128_ctr_hmac_sha256_64 => 1,
    aes_128_ctr_hmac_sha256_32 => 2,
    aes_128_gcm_sha256_128 => 3,
    aes_256_gcm_sha512_128 => 4,
}

/// Payloads shorter than the tag, empty included, for every suite (the
/// CTR-HMAC ones are the interesting case). With the pinned sframe 1.4.3
/// neither direction fails. sframe 1.4.0–1.4.2 (RustCrypto backend) did
/// fail callseal→sframe, and on its own frames too: its CTR-HMAC decryption
/// refused a ciphertext *without its tag* shorter than the tag, a leftover
/// check removed in 1.4.3 (sframe-rs commit 6fbc177, "decrypt short payloads
/// with rust crypto"). sframe→callseal always worked: callseal decrypts its
/// own and sframe's short frames.
#[test]
fn payloads_shorter_than_the_tag() {
    for (ours, theirs) in SUITES {
        let kid = 9u64;
        let key = base_key(ours, kid);
        let enc = EncryptionKey::derive_from(theirs, kid, &key).unwrap();
        let dec = DecryptionKey::derive_from(theirs, kid, &key).unwrap();
        let mut sender = Sender::new(ours, Kid(kid), BaseKey::new(&key).unwrap()).unwrap();
        // One receiver per origin: the two counter ranges are far apart.
        let mut receivers = [0, 1].map(|_| {
            let mut r = Receiver::new(ReceiverConfig::default());
            r.add_key(Kid(kid), ours, BaseKey::new(&key).unwrap())
                .unwrap();
            r
        });
        let mut counter = MonotonicCounter::with_start_value(1 << 20, u64::MAX);
        for len in 0..ours.tag_len() {
            let p = payload(len, len as u64);
            let from_us = sender.encrypt(b"", &p).unwrap();
            let from_them = sframe_encrypt(&enc, &mut counter, b"", &p);
            let (_, hl) = Header::decode(&from_us).unwrap();
            assert_eq!(from_us.len(), hl + len + ours.tag_len());
            // callseal: its own and sframe's.
            assert_eq!(
                receivers[0].decrypt(b"", &from_us).unwrap(),
                p,
                "{ours}, {len}"
            );
            assert_eq!(
                receivers[1].decrypt(b"", &from_them).unwrap(),
                p,
                "{ours}, {len}"
            );
            // sframe: its own and callseal's.
            assert_eq!(
                sframe_decrypt(&dec, b"", &from_them).unwrap(),
                p,
                "{ours}, {len}"
            );
            assert_eq!(
                sframe_decrypt(&dec, b"", &from_us).unwrap(),
                p,
                "{ours}, {len}"
            );
        }
    }
}

/// With metadata the two disagree: sframe's AAD is `metadata || header`,
/// RFC 9605's (and callseal's) `header || metadata`. Each still reads its
/// own frames, and moving the metadata in front of the header on
/// callseal's side reproduces sframe's tag exactly.
#[test]
fn metadata_is_authenticated_in_a_different_order() {
    let metadata = b"rtp header ext";
    for (ours, theirs) in SUITES {
        let kid = 0x42u64;
        let key = base_key(ours, kid);
        let enc = EncryptionKey::derive_from(theirs, kid, &key).unwrap();
        let dec = DecryptionKey::derive_from(theirs, kid, &key).unwrap();
        let mut receiver = Receiver::new(ReceiverConfig::default());
        receiver
            .add_key(Kid(kid), ours, BaseKey::new(&key).unwrap())
            .unwrap();
        for (i, len) in [0usize, 1, 5, 40].into_iter().enumerate() {
            let ctr = 10 * i as u64;
            let p = payload(len, ctr);
            let mut sender =
                Sender::starting_at(ours, Kid(kid), BaseKey::new(&key).unwrap(), Counter(ctr))
                    .unwrap();
            let from_us = sender.encrypt(metadata, &p).unwrap();
            let from_them = sframe_encrypt(&enc, &mut Fixed(ctr + 1), metadata, &p);

            // Each reads its own.
            assert_eq!(sframe_decrypt(&dec, metadata, &from_them).unwrap(), p);
            // Across, both refuse.
            assert_eq!(
                sframe_decrypt(&dec, metadata, &from_us),
                Err(SframeError::DecryptionFailure),
                "{ours}, len {len}"
            );
            assert_eq!(
                receiver.decrypt(metadata, &from_them),
                Err(Error::AuthenticationFailed),
                "{ours}, len {len}"
            );
            // callseal's own frame (after the failed attempt above, which
            // must not have consumed anything).
            assert_eq!(receiver.decrypt(metadata, &from_us).unwrap(), p);

            // The only difference is the order: with AAD = metadata ||
            // header built by hand, callseal authenticates sframe's frame.
            let (header, hl) = Header::decode(&from_them).unwrap();
            let mut aad_prefix = metadata.to_vec();
            aad_prefix.extend_from_slice(&from_them[..hl]);
            let mut body = from_them[hl..from_them.len() - ours.tag_len()].to_vec();
            let tag = &from_them[from_them.len() - ours.tag_len()..];
            receiver
                .decrypt_detached(&header, &aad_prefix, b"", &mut body, tag)
                .unwrap();
            assert_eq!(body, p);
        }
    }
}

#[test]
fn headers_encode_identically() {
    let values = [
        0u64,
        1,
        7,
        8,
        255,
        256,
        0xffff,
        0x1_0000,
        0xff_ffff,
        1 << 24,
        u32::MAX as u64,
        1 << 32,
        (1 << 40) + 5,
        (1 << 48) - 1,
        1 << 48,
        (1 << 56) - 1,
        1 << 56,
        u64::MAX - 1,
        u64::MAX,
    ];
    for kid in values {
        for ctr in values {
            let ours = Header {
                kid: Kid(kid),
                ctr: Counter(ctr),
            }
            .encode();
            let theirs = SframeHeader::new(kid, ctr);
            assert_eq!(theirs.len(), ours.len());
            let mut buf = vec![0u8; theirs.len()];
            theirs.serialize(&mut buf).unwrap();
            assert_eq!(buf, ours.as_bytes(), "KID {kid}, CTR {ctr}");
            let parsed = SframeHeader::deserialize(ours.as_bytes()).unwrap();
            assert_eq!((parsed.key_id(), parsed.counter()), (kid, ctr));
        }
    }
}

/// sframe parses a KID written in more bytes than needed; callseal refuses
/// it (RFC 9605 §4.3 asks for the minimal encoding).
#[test]
fn non_minimal_headers_sframe_parses_callseal_refuses() {
    for bytes in [&[0x80u8, 0x05][..], &[0x90, 0x00, 0x08], &[0x08, 0x03]] {
        assert!(SframeHeader::deserialize(bytes).is_ok(), "{bytes:02x?}");
        assert_eq!(Header::decode(bytes), Err(Error::NonMinimalHeader));
    }
}

/// sframe's ratchet (`Kdf::ratchet`) is not RFC 9605 §5.1's
/// `HKDF-Expand(HKDF-Extract("", key), "SFrame 1.0 Ratchet", Nh)`: it uses
/// the label "Sframe 1.0 Ratchet" and outputs `Nk` bytes. So a frame of a
/// callseal ratcheting sender after one step decrypts under the RFC's
/// ratcheted key, and not under sframe's.
#[test]
fn sframe_ratchet_is_not_the_rfc_ratchet() {
    let base = b"0123456789abcdef";
    let expand = |label: &[u8], len: usize| {
        let mut out = vec![0u8; len];
        Hkdf::<Sha256>::new(Some(b""), base)
            .expand(label, &mut out)
            .unwrap();
        out
    };
    // The SHA-256 suites: sframe's output is the lower-case-label HKDF.
    for (ours, theirs) in &SUITES[..4] {
        let next = Kdf::ratchet(*theirs, base).unwrap();
        assert_eq!(
            next,
            expand(b"Sframe 1.0 Ratchet", ours.key_len()),
            "{ours}"
        );
    }
    let layout = RatchetLayout::new(8).unwrap();
    for (ours, theirs) in SUITES {
        let mut sender = Sender::ratcheting(ours, layout, 1, BaseKey::new(base).unwrap()).unwrap();
        sender.ratchet().unwrap();
        let kid = sender.kid().0;
        let frame = sender.encrypt(b"", b"after one step").unwrap();

        let sframe_next = Kdf::ratchet(theirs, base).unwrap();
        assert_ne!(sframe_next.len(), ours.hash_len(), "{ours}: Nk != Nh");
        let dec = DecryptionKey::derive_from(theirs, kid, &sframe_next).unwrap();
        assert_eq!(
            sframe_decrypt(&dec, b"", &frame),
            Err(SframeError::DecryptionFailure),
            "{ours}"
        );

        let rfc_next = if ours.hash_len() == 32 {
            expand(b"SFrame 1.0 Ratchet", 32)
        } else {
            let mut out = vec![0u8; 64];
            Hkdf::<Sha512>::new(Some(b""), base)
                .expand(b"SFrame 1.0 Ratchet", &mut out)
                .unwrap();
            out
        };
        let dec = DecryptionKey::derive_from(theirs, kid, &rfc_next).unwrap();
        assert_eq!(
            sframe_decrypt(&dec, b"", &frame).unwrap(),
            b"after one step"
        );
    }
}
