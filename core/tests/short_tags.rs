#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! RFC 9605 §7.5 ("Risks Due to Short Tags"): a receiver counts the frames
//! that fail authentication under each key and refuses the key once the
//! count reaches its suite's `forgery_limit` (docs/PROTOCOL.md §1.6).
//!
//! Every frame here is real: forged frames are SFrame ciphertexts sealed by
//! a `Sender` under the right KID but a key the receiver does not hold, so
//! they are exactly what an attacker without the key can send.

use callseal_core::ErrorKind;
use callseal_core::frame::media::{Codec, MediaError, MediaReceiver, MediaSender};
use callseal_core::frame::{
    BaseKey, CipherSuite, Error, Kid, RatchetLayout, Receiver, ReceiverConfig, Sender,
};

const KID: Kid = Kid(0x51);
const KEY: [u8; 16] = [0x11; 16];
const FORGER_KEY: [u8; 16] = [0x66; 16];
const GENERATION: u64 = 3;

fn key(bytes: &[u8]) -> BaseKey {
    BaseKey::new(bytes).unwrap()
}

fn receiver(suite: CipherSuite) -> Receiver {
    let mut r = Receiver::new(ReceiverConfig::default());
    r.add_key(KID, suite, key(&KEY)).unwrap();
    r
}

/// Sends `n` forged frames; each must fail authentication.
fn forge(r: &mut Receiver, forger: &mut Sender, n: u64) {
    for i in 0..n {
        let frame = forger.encrypt(b"meta", b"forged payload").unwrap();
        assert_eq!(
            r.decrypt(b"meta", &frame),
            Err(Error::AuthenticationFailed),
            "forged frame {i}"
        );
    }
}

#[test]
fn limits_follow_the_tag_length() {
    for suite in CipherSuite::ALL {
        let limit = suite.forgery_limit();
        let tag_bits = 8 * suite.tag_len() as u32;
        if tag_bits < 128 {
            // CTR-HMAC: limit / 2^tag_bits = 2^-20 exactly.
            assert_eq!(u128::from(limit) << 20, 1u128 << tag_bits, "{suite}");
        } else {
            // AES-GCM: RFC 9001 §6.6's 2^52.
            assert_eq!(limit, 1 << 52, "{suite}");
        }
    }
    assert_eq!(CipherSuite::AesCtr128HmacSha256_32.forgery_limit(), 4096);
    assert_eq!(CipherSuite::AesCtr256HmacSha512_32.forgery_limit(), 4096);
}

/// 0x0003 and 0x0008: the key survives `limit - 1` forgeries, still takes
/// genuine frames, fails the `limit`-th forgery, and from then on refuses
/// every frame, genuine or forged, without counting further.
#[test]
fn a_32_bit_key_is_refused_after_exactly_limit_forgeries() {
    for suite in [
        CipherSuite::AesCtr128HmacSha256_32,
        CipherSuite::AesCtr256HmacSha512_32,
    ] {
        let limit = suite.forgery_limit();
        let mut r = receiver(suite);
        let mut genuine = Sender::new(suite, KID, key(&KEY)).unwrap();
        let mut forger = Sender::new(suite, KID, key(&FORGER_KEY)).unwrap();

        forge(&mut r, &mut forger, limit - 1);
        assert_eq!(r.auth_failures(KID), limit - 1);
        let frame = genuine.encrypt(b"meta", b"still fine").unwrap();
        assert_eq!(r.decrypt(b"meta", &frame).unwrap(), b"still fine");
        // A genuine frame does not reset the count.
        assert_eq!(r.auth_failures(KID), limit - 1);

        forge(&mut r, &mut forger, 1);
        assert_eq!(r.auth_failures(KID), limit);

        let refused = Error::AuthFailureLimit { kid: KID, limit };
        let frame = genuine.encrypt(b"meta", b"refused").unwrap();
        assert_eq!(r.decrypt(b"meta", &frame), Err(refused.clone()));
        // Every decrypt entry point refuses, and nothing more is counted.
        let mut out = vec![0; frame.len()];
        assert_eq!(
            r.decrypt_into(b"meta", &frame, &mut out),
            Err(refused.clone())
        );
        let mut in_place = frame.clone();
        assert_eq!(
            r.decrypt_in_place(b"meta", &mut in_place).map(|_| ()),
            Err(refused.clone())
        );
        let forged = forger.encrypt(b"meta", b"forged").unwrap();
        assert_eq!(r.decrypt(b"meta", &forged), Err(refused));
        assert_eq!(r.auth_failures(KID), limit);
        assert!(r.has_key(KID), "refused, not removed");

        let err = Error::AuthFailureLimit { kid: KID, limit };
        assert_eq!(err.kind(), ErrorKind::KeyExhausted);
        assert!(err.to_string().contains("4096"), "{err}");
    }
}

#[test]
fn a_new_key_resets_the_count() {
    let suite = CipherSuite::AesCtr128HmacSha256_32;
    let limit = suite.forgery_limit();
    let mut r = receiver(suite);
    let mut forger = Sender::new(suite, KID, key(&FORGER_KEY)).unwrap();
    forge(&mut r, &mut forger, limit);
    let mut genuine = Sender::new(suite, KID, key(&KEY)).unwrap();
    let frame = genuine.encrypt(b"", b"x").unwrap();
    assert!(matches!(
        r.decrypt(b"", &frame),
        Err(Error::AuthFailureLimit { .. })
    ));

    // The application rekeys: a new key for the KID starts a fresh count.
    let new_key = [0x22; 16];
    r.add_key(KID, suite, key(&new_key)).unwrap();
    assert_eq!(r.auth_failures(KID), 0);
    let mut rekeyed = Sender::new(suite, KID, key(&new_key)).unwrap();
    let frame = rekeyed.encrypt(b"", b"after the rekey").unwrap();
    assert_eq!(r.decrypt(b"", &frame).unwrap(), b"after the rekey");
    forge(&mut r, &mut forger, 3);
    assert_eq!(r.auth_failures(KID), 3);

    // Removing the key forgets its count.
    assert!(r.remove_key(KID));
    assert_eq!(r.auth_failures(KID), 0);
}

#[test]
fn counts_are_per_key() {
    let suite = CipherSuite::AesCtr128HmacSha256_32;
    let other = Kid(0x52);
    let mut r = receiver(suite);
    r.add_key(other, suite, key(&KEY)).unwrap();
    let mut forger = Sender::new(suite, KID, key(&FORGER_KEY)).unwrap();
    forge(&mut r, &mut forger, suite.forgery_limit());

    let mut genuine = Sender::new(suite, other, key(&KEY)).unwrap();
    let frame = genuine.encrypt(b"", b"other key").unwrap();
    assert_eq!(r.decrypt(b"", &frame).unwrap(), b"other key");
    assert_eq!(r.auth_failures(other), 0);
    assert_eq!(r.auth_failures(Kid(0x99)), 0, "no key, no count");
}

/// A 128-bit GCM key (and the 64- and 80-bit CTR-HMAC keys) shrug off a
/// few thousand forgeries: all counted, none refusing the key.
#[test]
fn long_tags_are_not_cut_off_by_thousands_of_forgeries() {
    for (suite, key_len) in [
        (CipherSuite::AesGcm128Sha256, 16),
        (CipherSuite::AesGcm256Sha512, 32),
        (CipherSuite::AesCtr128HmacSha256_64, 16),
        (CipherSuite::AesCtr128HmacSha256_80, 16),
    ] {
        let mut r = Receiver::new(ReceiverConfig::default());
        r.add_key(KID, suite, key(&[0x11; 32][..key_len])).unwrap();
        let mut forger = Sender::new(suite, KID, key(&[0x66; 32][..key_len])).unwrap();
        forge(&mut r, &mut forger, 5000);
        assert_eq!(r.auth_failures(KID), 5000, "{suite}");
        let mut genuine = Sender::new(suite, KID, key(&[0x11; 32][..key_len])).unwrap();
        let frame = genuine.encrypt(b"", b"still accepted").unwrap();
        assert_eq!(
            r.decrypt(b"", &frame).unwrap(),
            b"still accepted",
            "{suite}"
        );
    }
}

/// Tampered genuine frames count too: corruption and forgery look the same.
#[test]
fn tampered_frames_count() {
    let suite = CipherSuite::AesCtr128HmacSha256_32;
    let mut r = receiver(suite);
    let mut genuine = Sender::new(suite, KID, key(&KEY)).unwrap();
    let mut frame = genuine.encrypt(b"", b"payload").unwrap();
    let last = frame.len() - 1;
    frame[last] ^= 1;
    assert_eq!(r.decrypt(b"", &frame), Err(Error::AuthenticationFailed));
    // Wrong metadata is an authentication failure as well.
    frame[last] ^= 1;
    assert_eq!(
        r.decrypt(b"other", &frame),
        Err(Error::AuthenticationFailed)
    );
    assert_eq!(r.auth_failures(KID), 2);
    // Replays are refused before the AEAD and are not counted.
    assert_eq!(r.decrypt(b"", &frame).unwrap(), b"payload");
    assert!(matches!(r.decrypt(b"", &frame), Err(Error::Replay { .. })));
    assert_eq!(r.auth_failures(KID), 2);
}

/// The media mode reports the refusal as a frame error.
#[test]
fn media_receivers_refuse_too() {
    let suite = CipherSuite::AesCtr128HmacSha256_32;
    let limit = suite.forgery_limit();
    let mut forger = MediaSender::new(Sender::new(suite, KID, key(&FORGER_KEY)).unwrap());
    let mut genuine = MediaSender::new(Sender::new(suite, KID, key(&KEY)).unwrap());
    let mut rx = MediaReceiver::new(receiver(suite));
    let (mut sealed, mut out) = (Vec::new(), Vec::new());
    for _ in 0..limit {
        sealed.clear();
        forger
            .encrypt_frame(Codec::Opus, &[0x78, 1, 2, 3], &mut sealed)
            .unwrap();
        assert_eq!(
            rx.decrypt_frame(&sealed, &mut out).map(|_| ()),
            Err(MediaError::Frame(Error::AuthenticationFailed))
        );
    }
    assert_eq!(rx.receiver().auth_failures(KID), limit);
    sealed.clear();
    genuine
        .encrypt_frame(Codec::Opus, &[0x78, 1, 2, 3], &mut sealed)
        .unwrap();
    assert_eq!(
        rx.decrypt_frame(&sealed, &mut out).map(|_| ()),
        Err(MediaError::Frame(Error::AuthFailureLimit {
            kid: KID,
            limit
        }))
    );
}

/// A followed ratcheting sender: the current step's key counts, and so does
/// a step ahead whose key was only derived as a candidate; a refused
/// candidate stays refused once the follower moves past it, and
/// re-installing the sender starts afresh.
#[test]
fn ratchet_followers_count_current_and_candidate_keys() {
    let suite = CipherSuite::AesCtr128HmacSha256_32;
    let limit = suite.forgery_limit();
    let layout = RatchetLayout::new(8).unwrap();
    let kid = |step| layout.kid(GENERATION, step).unwrap();
    let mut r = Receiver::new(ReceiverConfig::default());
    r.add_ratcheting_sender(suite, layout, GENERATION, key(&KEY))
        .unwrap();
    let mut genuine = Sender::ratcheting(suite, layout, GENERATION, key(&KEY)).unwrap();
    let mut forger = Sender::ratcheting(suite, layout, GENERATION, key(&FORGER_KEY)).unwrap();

    // Step 0, the installed key.
    forge(&mut r, &mut forger, 5);
    assert_eq!(r.auth_failures(kid(0)), 5);

    // Step 2, a candidate: counted before it is committed.
    forger.ratchet().unwrap();
    forger.ratchet().unwrap();
    forge(&mut r, &mut forger, limit);
    assert!(
        !r.has_key(kid(2)),
        "a candidate is not committed by forgeries"
    );
    assert_eq!(r.auth_failures(kid(2)), limit);
    assert_eq!(r.auth_failures(kid(1)), 0);

    // The genuine sender at step 2: its key is refused.
    genuine.ratchet().unwrap();
    let step1 = genuine.encrypt(b"", b"step 1").unwrap();
    genuine.ratchet().unwrap();
    let step2 = genuine.encrypt(b"", b"step 2").unwrap();
    let refused = Err(Error::AuthFailureLimit { kid: kid(2), limit });
    assert_eq!(r.decrypt(b"", &step2), refused);
    // Step 1 is untouched and commits; step 2 is then one ahead, still refused.
    assert_eq!(r.decrypt(b"", &step1).unwrap(), b"step 1");
    assert_eq!(r.auth_failures(kid(2)), limit);
    assert_eq!(r.decrypt(b"", &step2), refused);

    // The sender moves on to step 3: followed; step 2's key, now retained,
    // is still refused.
    genuine.ratchet().unwrap();
    let step3 = genuine.encrypt(b"", b"step 3").unwrap();
    assert_eq!(r.decrypt(b"", &step3).unwrap(), b"step 3");
    assert!(r.has_key(kid(2)));
    assert_eq!(r.decrypt(b"", &step2), refused);

    // The current step's key is cut off like any other.
    forger.ratchet().unwrap();
    // Past counter 0, which the genuine step-3 frame took (a replay is
    // refused before the AEAD and would not count).
    forger.encrypt(b"", b"").unwrap();
    forge(&mut r, &mut forger, limit);
    let step3_again = genuine.encrypt(b"", b"refused").unwrap();
    assert_eq!(
        r.decrypt(b"", &step3_again),
        Err(Error::AuthFailureLimit { kid: kid(3), limit })
    );

    // Re-installing the sender (a new key) starts every count afresh.
    r.add_ratcheting_sender(suite, layout, GENERATION, key(&KEY))
        .unwrap();
    assert_eq!(r.auth_failures(kid(0)), 0);
    assert_eq!(r.auth_failures(kid(2)), 0);
    let mut restarted = Sender::ratcheting(suite, layout, GENERATION, key(&KEY)).unwrap();
    let frame = restarted.encrypt(b"", b"fresh").unwrap();
    assert_eq!(r.decrypt(b"", &frame).unwrap(), b"fresh");
}
