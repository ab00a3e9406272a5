//! A receiver with keys for KIDs 0..=4 under several suites, plus a
//! followed §5.1 ratcheting sender (generation 1, R = 8: KIDs 256..=511),
//! decrypting arbitrary bytes with arbitrary metadata. It must never panic,
//! and `decrypt`, `decrypt_into` and `decrypt_in_place` must agree.
//!
//! Input layout: `[meta_len, mode, rest...]`. The first `meta_len % 32`
//! bytes of `rest` are the metadata, the remainder the frame. When `mode`
//! is odd the remainder is instead the payload of a genuine frame (KID
//! `mode / 2 % 5`), whose decryption must give that payload back; with
//! `mode & 2` a bit of it is then flipped (position from the payload's
//! first two bytes) and decryption must fail.
#![no_main]

use callseal_core::frame::{
    BaseKey, CipherSuite, Error, Kid, RatchetLayout, Receiver, ReceiverConfig, Sender,
};
use libfuzzer_sys::fuzz_target;

const SUITES: [CipherSuite; 5] = [
    CipherSuite::AesCtr128HmacSha256_80,
    CipherSuite::AesCtr128HmacSha256_32,
    CipherSuite::AesGcm128Sha256,
    CipherSuite::AesGcm256Sha512,
    CipherSuite::AesCtr256HmacSha512_64,
];

fn key(kid: u64) -> Vec<u8> {
    vec![0x5a ^ kid as u8; 16]
}

fn receiver() -> Receiver {
    let config = ReceiverConfig {
        replay_window: 64,
        max_ratchet_steps: 4,
        retained_ratchet_keys: 2,
    };
    let mut r = Receiver::with_config(config).unwrap();
    for (kid, suite) in SUITES.iter().enumerate() {
        let kid = kid as u64;
        r.add_key(Kid(kid), *suite, BaseKey::new(&key(kid)).unwrap())
            .unwrap();
    }
    let layout = RatchetLayout::new(8).unwrap();
    r.add_ratcheting_sender(
        CipherSuite::AesGcm128Sha256,
        layout,
        1,
        BaseKey::new(&key(0xff)).unwrap(),
    )
    .unwrap();
    r
}

/// The three decryption entry points on fresh receivers.
fn decrypt_all(metadata: &[u8], frame: &[u8]) -> Result<Vec<u8>, Error> {
    let a = receiver().decrypt(metadata, frame);
    let mut out = vec![0u8; frame.len()];
    let b = receiver()
        .decrypt_into(metadata, frame, &mut out)
        .map(|n| out[..n].to_vec());
    let mut buf = frame.to_vec();
    let c = receiver()
        .decrypt_in_place(metadata, &mut buf)
        .map(|(_, p)| p.to_vec());
    assert_eq!(a, b);
    assert_eq!(a, c);
    a
}

fuzz_target!(|data: &[u8]| {
    let [meta_len, mode, rest @ ..] = data else {
        return;
    };
    let (metadata, body) = rest.split_at((*meta_len as usize % 32).min(rest.len()));
    if mode & 1 == 0 {
        let _ = decrypt_all(metadata, body);
        return;
    }
    let kid = u64::from(mode / 2 % 5);
    let suite = SUITES[kid as usize];
    let mut sender = Sender::new(suite, Kid(kid), BaseKey::new(&key(kid)).unwrap()).unwrap();
    let mut frame = sender.encrypt(metadata, body).unwrap();
    if mode & 2 == 0 {
        assert_eq!(decrypt_all(metadata, &frame).as_deref(), Ok(body));
    } else {
        let pos = body
            .iter()
            .take(2)
            .fold(0usize, |acc, &b| acc << 8 | usize::from(b));
        let bit = pos % (frame.len() * 8);
        frame[bit / 8] ^= 1 << (bit % 8);
        assert!(decrypt_all(metadata, &frame).is_err());
    }
});
