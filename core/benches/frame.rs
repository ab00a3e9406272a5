#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]
//! SFrame frame-layer throughput: callseal vs the raw AEAD floor vs the
//! `sframe` crate, side by side.
//!
//! Groups are `{encrypt,decrypt}/{aes128gcm,aes128ctr_hmac80}/{100B,1KB,10KB,100KB}`,
//! each with the functions `callseal`, `raw` and `sframe`.
//!
//! What is timed, per frame:
//!
//! - encrypt, all three: copy the payload into an output buffer, build the
//!   nonce, encrypt in place, write the tag (callseal and sframe also write
//!   the SFrame header). callseal: `Sender::encrypt_into` into a preallocated
//!   buffer; sframe: `MediaFrameView::encrypt_into` into a reused `Vec`.
//! - decrypt, all three: one copy of the frame into a work buffer, then the
//!   receiver's full work. callseal: `Receiver::decrypt_in_place` (header
//!   parse, key lookup, replay check, AEAD open, window update); raw: nonce +
//!   AEAD open; sframe: `EncryptedFrameView::try_new` (header parse) +
//!   `validate` with a `ReplayAttackProtection` + `decrypt_into` from a
//!   `HashMap` key store (which does the copy itself).
//!
//! Decrypt works on genuine frames: a pool of frames with counters 0..K is
//! encrypted up front and decrypted in order. Before each pass over the pool
//! the receiver's state is reset outside the timed section (callseal: the
//! key is added again, so its replay window starts afresh; sframe: a new
//! replay protection), via `iter_custom`, so every timed decrypt is one a
//! real receiver would accept.
//!
//! Raw AEADs are keyed once. For AES-128-CTR-HMAC-SHA256-80 the raw peer
//! keeps the AES key schedule and the keyed HMAC state (inner/outer pads
//! already absorbed) and clones only the HMAC state per frame, because
//! `finalize` consumes it; the AES key is borrowed, not cloned.
//!
//! Samples are `Flat` (equal and short); BENCHMARKS.md reports criterion's
//! median, which the samples another process preempted barely move.
//! `scripts/bench` prints that table after a run.

use std::collections::HashMap;
use std::hint::black_box;
use std::time::{Duration, Instant};

use aes::Aes128;
use aes_gcm::Aes128Gcm;
use aes_gcm::aead::{AeadInOut, KeyInit};
use callseal_core::frame::{BaseKey, CipherSuite, Kid, Receiver, ReceiverConfig, Sender};
use criterion::{
    BenchmarkGroup, Criterion, SamplingMode, Throughput, criterion_group, criterion_main,
    measurement::WallTime,
};
use ctr::cipher::{InnerIvInit, StreamCipher};
use hmac::{Hmac, Mac};
use sha2::Sha256;
use subtle::ConstantTimeEq;

const SIZES: [(usize, &str); 4] = [
    (100, "100B"),
    (1_000, "1KB"),
    (10_000, "10KB"),
    (100_000, "100KB"),
];
const BASE_KEY: [u8; 16] = [0x42; 16];
const KID: u64 = 0x1234;
/// The raw contenders get the same input layout as an SFrame frame: a
/// 5-byte AAD (the length of callseal's header for KID 0x1234 and a 2-byte
/// counter) right before the body, so the body sits at the same offset and
/// the AEAD does exactly the work SFrame asks of it. What is left between
/// callseal and raw is callseal's own framing.
const RAW_HDR: usize = 5;
/// Bytes of frames in one decrypt pool (bounded so the pool stays in L2).
const POOL_BYTES: usize = 256 * 1024;

#[derive(Clone, Copy)]
enum Suite {
    Gcm,
    CtrHmac,
}

impl Suite {
    fn label(self) -> &'static str {
        match self {
            Suite::Gcm => "aes128gcm",
            Suite::CtrHmac => "aes128ctr_hmac80",
        }
    }

    fn callseal(self) -> CipherSuite {
        match self {
            Suite::Gcm => CipherSuite::AesGcm128Sha256,
            Suite::CtrHmac => CipherSuite::AesCtr128HmacSha256_80,
        }
    }

    fn sframe(self) -> sframe::CipherSuite {
        match self {
            Suite::Gcm => sframe::CipherSuite::AesGcm128Sha256,
            Suite::CtrHmac => sframe::CipherSuite::AesCtr128HmacSha256_80,
        }
    }

    fn raw(self) -> Box<dyn RawAead> {
        match self {
            Suite::Gcm => Box::new(RawGcm::new()),
            Suite::CtrHmac => Box::new(RawCtrHmac::new()),
        }
    }
}

// ---------------------------------------------------------------- raw AEADs

/// A keyed AEAD with a 12-byte salt; nonce = salt XOR counter, as in SFrame.
trait RawAead {
    fn tag_len(&self) -> usize;
    /// Encrypts `buf` in place, writes the tag into `tag`.
    fn seal(&self, ctr: u64, aad: &[u8], buf: &mut [u8], tag: &mut [u8]);
    /// Verifies and decrypts `buf` in place.
    fn open(&self, ctr: u64, aad: &[u8], buf: &mut [u8], tag: &[u8]) -> bool;
}

const SALT: [u8; 12] = [0x5a; 12];

#[inline(always)]
fn nonce(ctr: u64) -> [u8; 12] {
    let mut n = SALT;
    for (b, c) in n[4..].iter_mut().zip(ctr.to_be_bytes()) {
        *b ^= c;
    }
    n
}

struct RawGcm(Aes128Gcm);

impl RawGcm {
    fn new() -> Self {
        Self(Aes128Gcm::new_from_slice(&[7u8; 16]).unwrap())
    }
}

impl RawAead for RawGcm {
    fn tag_len(&self) -> usize {
        16
    }

    #[inline]
    fn seal(&self, ctr: u64, aad: &[u8], buf: &mut [u8], tag: &mut [u8]) {
        let t = self
            .0
            .encrypt_inout_detached(&nonce(ctr).into(), aad, buf.into())
            .unwrap();
        tag.copy_from_slice(&t);
    }

    #[inline]
    fn open(&self, ctr: u64, aad: &[u8], buf: &mut [u8], tag: &[u8]) -> bool {
        self.0
            .decrypt_inout_detached(&nonce(ctr).into(), aad, buf.into(), tag.try_into().unwrap())
            .is_ok()
    }
}

/// RFC 9605 §4.5.1 AES-128-CTR-HMAC-SHA256-80, keyed once.
struct RawCtrHmac {
    aes: Aes128,
    mac: Hmac<Sha256>,
}

impl RawCtrHmac {
    const TAG: usize = 10;

    fn new() -> Self {
        Self {
            aes: <Aes128 as KeyInit>::new_from_slice(&[7u8; 16]).unwrap(),
            mac: <Hmac<Sha256> as KeyInit>::new_from_slice(&[9u8; 32]).unwrap(),
        }
    }

    #[inline]
    fn keystream(&self, nonce: &[u8; 12], buf: &mut [u8]) {
        let mut iv = [0u8; 16];
        iv[..12].copy_from_slice(nonce);
        let core =
            ctr::CtrCore::<&Aes128, ctr::flavors::Ctr128BE>::inner_iv_init(&self.aes, &iv.into());
        ctr::Ctr128BE::<&Aes128>::from_core(core).apply_keystream(buf);
    }

    #[inline]
    fn tag(&self, nonce: &[u8; 12], aad: &[u8], ct: &[u8]) -> [u8; 32] {
        let mut m = self.mac.clone();
        m.update(&(aad.len() as u64).to_be_bytes());
        m.update(&(ct.len() as u64).to_be_bytes());
        m.update(&(Self::TAG as u64).to_be_bytes());
        m.update(nonce);
        m.update(aad);
        m.update(ct);
        m.finalize().into_bytes().into()
    }
}

impl RawAead for RawCtrHmac {
    fn tag_len(&self) -> usize {
        Self::TAG
    }

    #[inline]
    fn seal(&self, ctr: u64, aad: &[u8], buf: &mut [u8], tag: &mut [u8]) {
        let n = nonce(ctr);
        self.keystream(&n, buf);
        tag.copy_from_slice(&self.tag(&n, aad, buf)[..Self::TAG]);
    }

    #[inline]
    fn open(&self, ctr: u64, aad: &[u8], buf: &mut [u8], tag: &[u8]) -> bool {
        let n = nonce(ctr);
        let expected = self.tag(&n, aad, buf);
        if !bool::from(expected[..Self::TAG].ct_eq(tag)) {
            return false;
        }
        self.keystream(&n, buf);
        true
    }
}

// ---------------------------------------------------------------- helpers

fn payload(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i * 31 + 7) as u8).collect()
}

fn callseal_sender(suite: Suite) -> Sender {
    Sender::new(suite.callseal(), Kid(KID), BaseKey::new(&BASE_KEY).unwrap()).unwrap()
}

fn add_callseal_key(receiver: &mut Receiver, suite: Suite) {
    receiver
        .add_key(Kid(KID), suite.callseal(), BaseKey::new(&BASE_KEY).unwrap())
        .unwrap();
}

fn sframe_keys(
    suite: Suite,
) -> (
    sframe::key::EncryptionKey,
    HashMap<u64, sframe::key::DecryptionKey>,
) {
    let enc = sframe::key::EncryptionKey::derive_from(suite.sframe(), KID, BASE_KEY).unwrap();
    let dec = sframe::key::DecryptionKey::derive_from(suite.sframe(), KID, BASE_KEY).unwrap();
    (enc, HashMap::from([(KID, dec)]))
}

fn pool_len(size: usize) -> usize {
    (POOL_BYTES / size).clamp(4, 1024)
}

/// Times `iters` calls of `f(state, i)`, i = 0, 1, … in passes of at most
/// `pool` calls, running `reset(state)` untimed before each pass.
fn timed_passes<S>(
    iters: u64,
    pool: usize,
    state: &mut S,
    mut reset: impl FnMut(&mut S),
    mut f: impl FnMut(&mut S, usize),
) -> Duration {
    let mut total = Duration::ZERO;
    let mut left = iters;
    while left > 0 {
        let n = left.min(pool as u64) as usize;
        reset(state);
        let start = Instant::now();
        for i in 0..n {
            f(state, i);
        }
        total += start.elapsed();
        left -= n as u64;
    }
    total
}

// ---------------------------------------------------------------- encrypt

fn encrypt(g: &mut BenchmarkGroup<'_, WallTime>, suite: Suite, size: usize) {
    let data = payload(size);

    let mut sender = callseal_sender(suite);
    let mut out = vec![0u8; sender.frame_len(size) + 16];
    g.bench_function("callseal", |b| {
        b.iter(|| {
            let n = sender
                .encrypt_into(b"", black_box(&data), &mut out)
                .unwrap();
            black_box(&out[..n]);
        })
    });

    let raw = suite.raw();
    let tl = raw.tag_len();
    let mut out = vec![0xa5u8; RAW_HDR + size + tl];
    let mut ctr = 0u64;
    g.bench_function("raw", |b| {
        b.iter(|| {
            let (aad, rest) = out.split_at_mut(RAW_HDR);
            let (body, tag) = rest.split_at_mut(size);
            body.copy_from_slice(black_box(&data));
            raw.seal(ctr, aad, body, tag);
            ctr += 1;
            black_box(&out);
        })
    });

    let (enc, _) = sframe_keys(suite);
    let mut counter = sframe::frame::MonotonicCounter::default();
    let mut buf: Vec<u8> = Vec::with_capacity(size + 64);
    g.bench_function("sframe", |b| {
        b.iter(|| {
            let frame = sframe::frame::MediaFrameView::new(&mut counter, black_box(&data));
            let encrypted = frame.encrypt_into(&enc, &mut buf).unwrap();
            black_box(encrypted.cipher_text());
        })
    });
}

// ---------------------------------------------------------------- decrypt

fn decrypt(g: &mut BenchmarkGroup<'_, WallTime>, suite: Suite, size: usize) {
    let data = payload(size);
    let k = pool_len(size);

    // Genuine callseal frames, counters 0..k. The same frames are fed to
    // the sframe crate, which also checks that the two interoperate.
    let mut sender = callseal_sender(suite);
    let frames: Vec<Vec<u8>> = (0..k)
        .map(|_| sender.encrypt(b"", &data).unwrap())
        .collect();
    let max = frames.iter().map(Vec::len).max().unwrap();

    let mut receiver = Receiver::new(ReceiverConfig::default());
    let mut work = vec![0u8; max];
    g.bench_function("callseal", |b| {
        b.iter_custom(|iters| {
            timed_passes(
                iters,
                k,
                &mut receiver,
                |receiver| add_callseal_key(receiver, suite),
                |receiver, i| {
                    let frame = &frames[i];
                    let w = &mut work[..frame.len()];
                    w.copy_from_slice(frame);
                    let (_, plain) = receiver.decrypt_in_place(b"", w).unwrap();
                    black_box(plain);
                },
            )
        })
    });
    add_callseal_key(&mut receiver, suite);
    {
        let w = &mut work[..frames[0].len()];
        w.copy_from_slice(&frames[0]);
        assert_eq!(receiver.decrypt_in_place(b"", w).unwrap().1, &data[..]);
    }

    // Raw: aad || body || tag, counters 0..k.
    let raw = suite.raw();
    let tl = raw.tag_len();
    let raw_frames: Vec<Vec<u8>> = (0..k as u64)
        .map(|ctr| {
            let mut f = vec![0xa5u8; RAW_HDR];
            f.extend_from_slice(&data);
            f.resize(RAW_HDR + size + tl, 0);
            let (aad, rest) = f.split_at_mut(RAW_HDR);
            let (body, tag) = rest.split_at_mut(size);
            raw.seal(ctr, aad, body, tag);
            f
        })
        .collect();
    let mut work = vec![0u8; RAW_HDR + size + tl];
    g.bench_function("raw", |b| {
        b.iter_custom(|iters| {
            timed_passes(
                iters,
                k,
                &mut (),
                |_| {},
                |_, i| {
                    work.copy_from_slice(&raw_frames[i]);
                    let (aad, rest) = work.split_at_mut(RAW_HDR);
                    let (body, tag) = rest.split_at_mut(size);
                    assert!(raw.open(i as u64, aad, body, tag));
                    black_box(&body[..]);
                },
            )
        })
    });
    work.copy_from_slice(&raw_frames[0]);
    let (aad, rest) = work.split_at_mut(RAW_HDR);
    let (body, tag) = rest.split_at_mut(size);
    assert!(raw.open(0, aad, body, tag));
    assert_eq!(body, &data[..]);

    let (_, store) = sframe_keys(suite);
    let mut replay = sframe::frame::ReplayAttackProtection::with_tolerance(1024);
    let mut buf: Vec<u8> = Vec::with_capacity(max + 64);
    g.bench_function("sframe", |b| {
        b.iter_custom(|iters| {
            timed_passes(
                iters,
                k,
                &mut replay,
                |replay| *replay = sframe::frame::ReplayAttackProtection::with_tolerance(1024),
                |replay, i| {
                    let view = sframe::frame::EncryptedFrameView::try_new(&frames[i])
                        .unwrap()
                        .validate(replay)
                        .unwrap();
                    let media = view.decrypt_into(&store, &mut buf).unwrap();
                    black_box(media.payload());
                },
            )
        })
    });
    let view = sframe::frame::EncryptedFrameView::try_new(&frames[0]).unwrap();
    assert_eq!(
        view.decrypt_into(&store, &mut buf).unwrap().payload(),
        &data[..]
    );
}

// ---------------------------------------------------------------- main

fn frame(c: &mut Criterion) {
    type Op = fn(&mut BenchmarkGroup<'_, WallTime>, Suite, usize);
    let ops: [(&str, Op); 2] = [("encrypt", encrypt), ("decrypt", decrypt)];
    for (op, run) in ops {
        for suite in [Suite::Gcm, Suite::CtrHmac] {
            for (size, label) in SIZES {
                let mut g = c.benchmark_group(format!("{op}/{}/{label}", suite.label()));
                g.throughput(Throughput::Bytes(size as u64));
                // Equal, short samples: their median shrugs off the samples
                // another process preempted (see BENCHMARKS.md).
                g.sampling_mode(SamplingMode::Flat);
                run(&mut g, suite, size);
                g.finish();
            }
        }
    }
}

criterion_group! {
    name = benches;
    // 48 benchmarks × (1 s warm-up + 3 s measurement) ≈ 3.5 min on 2 cores.
    config = Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
        .sample_size(150);
    targets = frame
}
criterion_main!(benches);
