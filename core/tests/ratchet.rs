#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! RFC 9605 §5.1 sender-key ratchet: a `Sender::ratcheting` sender and a
//! `Receiver::add_ratcheting_sender` follower, checked against a ratchet
//! derived independently here with `hkdf`/`sha2`.

use callseal_core::frame::{
    BaseKey, CipherSuite, Counter, Error, Header, Kid, RatchetLayout, Receiver, ReceiverConfig,
    Sender,
};
use hkdf::Hkdf;
use proptest::prelude::*;
use sha2::{Sha256, Sha512};

const BASE: &[u8] = b"callseal ratchet test base key!!";
const GENERATION: u64 = 5;

/// `base_key[i+1] = HKDF-Expand(HKDF-Extract("", base_key[i]), "SFrame 1.0 Ratchet", Nh)`,
/// written out from RFC 9605 §5.1 without the crate's own key code. The
/// hash is chosen from the registry value: SHA-256 for 0x0001–0x0004,
/// SHA-512 for 0x0005–0x0008.
fn rfc_ratchet(suite: CipherSuite, base: &[u8]) -> Vec<u8> {
    const LABEL: &[u8] = b"SFrame 1.0 Ratchet";
    if suite.id() <= 0x0004 {
        let mut out = vec![0u8; 32];
        Hkdf::<Sha256>::new(Some(b""), base)
            .expand(LABEL, &mut out)
            .unwrap();
        out
    } else {
        let mut out = vec![0u8; 64];
        Hkdf::<Sha512>::new(Some(b""), base)
            .expand(LABEL, &mut out)
            .unwrap();
        out
    }
}

/// The base key after `steps` ratchet steps.
fn ratcheted(suite: CipherSuite, base: &[u8], steps: u64) -> Vec<u8> {
    (0..steps).fold(base.to_vec(), |key, _| rfc_ratchet(suite, &key))
}

/// A plain sender for ratchet step `step`, keyed with the independently
/// ratcheted base key, whose first frame uses counter `first`.
fn step_sender(suite: CipherSuite, layout: RatchetLayout, step: u64, first: u64) -> Sender {
    let key = ratcheted(suite, BASE, step);
    Sender::starting_at(
        suite,
        layout.kid(GENERATION, step).unwrap(),
        BaseKey::new(&key).unwrap(),
        Counter(first),
    )
    .unwrap()
}

fn config(max_ratchet_steps: u32, retained_ratchet_keys: u32) -> ReceiverConfig {
    ReceiverConfig {
        max_ratchet_steps,
        retained_ratchet_keys,
        ..ReceiverConfig::default()
    }
}

fn pair(suite: CipherSuite, layout: RatchetLayout, config: ReceiverConfig) -> (Sender, Receiver) {
    let sender =
        Sender::ratcheting(suite, layout, GENERATION, BaseKey::new(BASE).unwrap()).unwrap();
    let mut receiver = Receiver::with_config(config).unwrap();
    receiver
        .add_ratcheting_sender(suite, layout, GENERATION, BaseKey::new(BASE).unwrap())
        .unwrap();
    (sender, receiver)
}

fn kid_of(frame: &[u8]) -> Kid {
    Header::decode(frame).unwrap().0.kid
}

#[test]
fn ratcheting_sender_matches_independent_derivation() {
    let layout = RatchetLayout::new(8).unwrap();
    for suite in CipherSuite::ALL {
        let mut sender =
            Sender::ratcheting(suite, layout, GENERATION, BaseKey::new(BASE).unwrap()).unwrap();
        for step in 0..6u64 {
            if step > 0 {
                sender.ratchet().unwrap();
            }
            let kid = layout.kid(GENERATION, step).unwrap();
            assert_eq!(sender.kid(), kid);
            assert_eq!(sender.next_counter(), Some(Counter(0)), "counter restarts");
            let key = ratcheted(suite, BASE, step);
            let mut plain = Sender::new(suite, kid, BaseKey::new(&key).unwrap()).unwrap();
            for payload in [&b""[..], b"x", b"a media frame of some length"] {
                assert_eq!(
                    sender.encrypt(b"meta", payload).unwrap(),
                    plain.encrypt(b"meta", payload).unwrap(),
                    "{suite}, step {step}"
                );
            }
        }
    }
}

#[test]
fn step_zero_is_the_unratcheted_base_key() {
    // The ratchet must not be applied before the first frame.
    let layout = RatchetLayout::new(4).unwrap();
    for suite in CipherSuite::ALL {
        let mut sender =
            Sender::ratcheting(suite, layout, GENERATION, BaseKey::new(BASE).unwrap()).unwrap();
        let mut plain =
            Sender::new(suite, Kid(GENERATION << 4), BaseKey::new(BASE).unwrap()).unwrap();
        assert_eq!(
            sender.encrypt(b"", b"p").unwrap(),
            plain.encrypt(b"", b"p").unwrap()
        );
    }
}

#[test]
fn receiver_follows_steps_within_max() {
    let layout = RatchetLayout::new(8).unwrap();
    let max = 4;
    for suite in CipherSuite::ALL {
        let (mut sender, mut receiver) = pair(suite, layout, config(max, 2));
        let mut step = 0u64;
        for jump in [1u32, 2, 3, 4, 1, 4] {
            for _ in 0..jump {
                sender.ratchet().unwrap();
            }
            step += u64::from(jump);
            for i in 0..3u8 {
                let frame = sender.encrypt(&[i], &[step as u8, i]).unwrap();
                assert_eq!(kid_of(&frame), layout.kid(GENERATION, step).unwrap());
                assert_eq!(
                    receiver.decrypt(&[i], &frame).unwrap(),
                    [step as u8, i],
                    "{suite}: jump of {jump} to step {step}"
                );
            }
        }
    }
}

#[test]
fn receiver_rejects_more_than_max_steps_and_stays_put() {
    let layout = RatchetLayout::new(8).unwrap();
    let max = 4u32;
    for suite in CipherSuite::ALL {
        let (mut sender, mut receiver) = pair(suite, layout, config(max, 2));
        let first = sender.encrypt(b"", b"step 0").unwrap();
        assert_eq!(receiver.decrypt(b"", &first).unwrap(), b"step 0");
        for _ in 0..=max {
            sender.ratchet().unwrap();
        }
        let far = sender.encrypt(b"", b"too far").unwrap();
        let kid = layout.kid(GENERATION, u64::from(max) + 1).unwrap();
        assert_eq!(
            receiver.decrypt(b"", &far),
            Err(Error::RatchetTooFar {
                kid,
                steps: u64::from(max) + 1,
                max,
            })
        );
        // Still on step 0: its frames decrypt, and a frame `max` steps
        // ahead is still followed.
        let mut at_zero = step_sender(suite, layout, 0, 1);
        assert_eq!(
            receiver
                .decrypt(b"", &at_zero.encrypt(b"", b"again").unwrap())
                .unwrap(),
            b"again"
        );
        let mut at_max = step_sender(suite, layout, u64::from(max), 0);
        assert_eq!(
            receiver
                .decrypt(b"", &at_max.encrypt(b"", b"max").unwrap())
                .unwrap(),
            b"max"
        );
    }
}

#[test]
fn late_frames_within_retained_steps_decrypt_older_do_not() {
    let layout = RatchetLayout::new(8).unwrap();
    let retained = 3u32;
    for suite in CipherSuite::ALL {
        for step_by_step in [true, false] {
            let (mut sender, mut receiver) = pair(suite, layout, config(4, retained));
            // Per step 0..=4: one delivered frame and two held back.
            let mut held = Vec::new();
            for step in 0..=4u64 {
                if step > 0 {
                    sender.ratchet().unwrap();
                }
                let delivered = sender.encrypt(b"", &[step as u8]).unwrap();
                let late = [
                    sender.encrypt(b"late", &[step as u8, 1]).unwrap(),
                    sender.encrypt(b"late", &[step as u8, 2]).unwrap(),
                ];
                held.push(late);
                // Either every step arrives, or steps 1 and 2 are skipped.
                if step_by_step || step == 0 || step >= 3 {
                    assert_eq!(receiver.decrypt(b"", &delivered).unwrap(), [step as u8]);
                }
                if step == 3 {
                    // At step 3: steps 1, 2, 3 are the `retained` newest.
                    // Step 0 is kept only as the step current before the
                    // latest advance, i.e. when 1 and 2 were skipped.
                    for (s, late) in held.iter().enumerate() {
                        let result = receiver.decrypt(b"late", &late[0]);
                        if s >= 1 || !step_by_step {
                            assert_eq!(result.unwrap(), [s as u8, 1], "{suite}, step {s}");
                        } else {
                            let kid = layout.kid(GENERATION, 0).unwrap();
                            assert_eq!(result, Err(Error::UnknownKeyId(kid)), "{suite}");
                        }
                    }
                }
            }
            // At step 4: steps 2, 3, 4 are kept; 0 and 1 are gone.
            for (s, late) in held.iter().enumerate() {
                let result = receiver.decrypt(b"late", &late[1]);
                if s >= 2 {
                    assert_eq!(result.unwrap(), [s as u8, 2], "{suite}, step {s}");
                } else {
                    let kid = layout.kid(GENERATION, s as u64).unwrap();
                    assert_eq!(
                        result,
                        Err(Error::UnknownKeyId(kid)),
                        "{suite}, step {s}, step_by_step {step_by_step}"
                    );
                }
            }
        }
    }
}

#[test]
fn old_step_keys_are_dropped_once_beyond_retention() {
    // retained_ratchet_keys = 1: only the current step, plus the step that
    // was current before the latest advance.
    let layout = RatchetLayout::new(8).unwrap();
    for suite in [
        CipherSuite::AesGcm128Sha256,
        CipherSuite::AesCtr256HmacSha512_32,
    ] {
        let (mut sender, mut receiver) = pair(suite, layout, config(4, 1));
        let kid0 = sender.kid();
        let held0 = [
            sender.encrypt(b"", b"a").unwrap(),
            sender.encrypt(b"", b"b").unwrap(),
        ];
        sender.ratchet().unwrap();
        let kid1 = sender.kid();
        let held1 = sender.encrypt(b"", b"c").unwrap();
        let frame = sender.encrypt(b"", b"step 1").unwrap();
        assert_eq!(receiver.decrypt(b"", &frame).unwrap(), b"step 1");
        assert_eq!(receiver.decrypt(b"", &held0[0]).unwrap(), b"a");

        sender.ratchet().unwrap();
        let frame = sender.encrypt(b"", b"step 2").unwrap();
        assert_eq!(receiver.decrypt(b"", &frame).unwrap(), b"step 2");
        assert!(!receiver.has_key(kid0));
        assert!(receiver.has_key(kid1));
        assert_eq!(
            receiver.decrypt(b"", &held0[1]),
            Err(Error::UnknownKeyId(kid0))
        );
        assert_eq!(receiver.decrypt(b"", &held1).unwrap(), b"c");
    }
}

#[test]
fn step_wraps_around_beyond_two_to_the_r() {
    // R = 2: four KIDs per generation, so ten steps reuse each KID with a
    // new key; max_ratchet_steps must stay below 2^(R-1).
    let layout = RatchetLayout::new(2).unwrap();
    for suite in CipherSuite::ALL {
        for retained in [1, 2, 3] {
            let (mut sender, mut receiver) = pair(suite, layout, config(1, retained));
            for step in 0..=10u64 {
                if step > 0 {
                    sender.ratchet().unwrap();
                }
                let kid = layout.kid(GENERATION, step).unwrap();
                assert_eq!(kid, Kid((GENERATION << 2) | (step % 4)));
                assert_eq!(sender.kid(), kid);
                for i in 0..2u8 {
                    let frame = sender.encrypt(b"", &[step as u8, i]).unwrap();
                    // Same bytes as a plain sender on the independently
                    // ratcheted key.
                    let mut plain = step_sender(suite, layout, step, u64::from(i));
                    assert_eq!(frame, plain.encrypt(b"", &[step as u8, i]).unwrap());
                    assert_eq!(
                        receiver.decrypt(b"", &frame).unwrap(),
                        [step as u8, i],
                        "{suite}, retained {retained}, step {step}"
                    );
                }
            }
        }
    }
}

#[test]
fn ratchet_configuration_errors() {
    let layout = RatchetLayout::new(2).unwrap();
    let mut receiver = Receiver::with_config(config(2, 1)).unwrap();
    assert!(matches!(
        receiver.add_ratcheting_sender(
            CipherSuite::AesGcm128Sha256,
            layout,
            0,
            BaseKey::new(BASE).unwrap()
        ),
        Err(Error::InvalidConfig(_))
    ));
    let mut plain = Sender::new(
        CipherSuite::AesGcm128Sha256,
        Kid(1),
        BaseKey::new(BASE).unwrap(),
    )
    .unwrap();
    assert!(matches!(plain.ratchet(), Err(Error::InvalidConfig(_))));
    assert!(RatchetLayout::new(0).is_err());
    assert!(RatchetLayout::new(33).is_err());
    // A generation that does not fit 64 - R bits.
    assert!(matches!(
        Sender::ratcheting(
            CipherSuite::AesGcm128Sha256,
            RatchetLayout::new(8).unwrap(),
            1 << 56,
            BaseKey::new(BASE).unwrap()
        ),
        Err(Error::InvalidConfig(_))
    ));
}

/// With `retained_ratchet_keys + max_ratchet_steps > 2^R` the next steps'
/// KIDs would still name retained old keys, so the receiver could never
/// follow: such a configuration must be refused, and the largest allowed
/// one must keep following across wrap-around.
#[test]
fn retention_that_would_shadow_future_kids_is_refused() {
    let layout = RatchetLayout::new(2).unwrap();
    let mut receiver = Receiver::with_config(config(1, 4)).unwrap();
    assert!(matches!(
        receiver.add_ratcheting_sender(
            CipherSuite::AesGcm128Sha256,
            layout,
            GENERATION,
            BaseKey::new(BASE).unwrap()
        ),
        Err(Error::InvalidConfig(_))
    ));
    let layout = RatchetLayout::new(3).unwrap();
    let (mut sender, mut receiver) = pair(CipherSuite::AesGcm128Sha256, layout, config(3, 5));
    for step in 0..20u64 {
        if step > 0 {
            sender.ratchet().unwrap();
        }
        let frame = sender.encrypt(b"", &[step as u8]).unwrap();
        assert_eq!(
            receiver.decrypt(b"", &frame).unwrap(),
            [step as u8],
            "step {step}"
        );
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// A forged frame claiming a KID some steps ahead does not move the
    /// receiver: it fails to authenticate (or is too far), and afterwards
    /// the current step's genuine frames and the genuine next step still
    /// decrypt.
    #[test]
    fn forged_kid_ahead_does_not_move_receiver(
        suite in prop::sample::select(CipherSuite::ALL.to_vec()),
        ahead in 1u64..=12,
        ctr in any::<u64>(),
        body in prop::collection::vec(any::<u8>(), 0..64),
        metadata in prop::collection::vec(any::<u8>(), 0..8),
    ) {
        let layout = RatchetLayout::new(8).unwrap();
        let max = 4u32;
        let (mut sender, mut receiver) = pair(suite, layout, config(max, 2));
        let first = sender.encrypt(b"", b"genuine 0").unwrap();
        prop_assert_eq!(receiver.decrypt(b"", &first).unwrap(), b"genuine 0");

        let kid = layout.kid(GENERATION, ahead).unwrap();
        let mut forged = Header { kid, ctr: Counter(ctr) }.encode().as_bytes().to_vec();
        forged.extend_from_slice(&body);
        let result = receiver.decrypt(&metadata, &forged);
        if body.len() < suite.tag_len() {
            prop_assert_eq!(result, Err(Error::FrameTooShort));
        } else if ahead > u64::from(max) {
            prop_assert_eq!(result, Err(Error::RatchetTooFar { kid, steps: ahead, max }));
        } else {
            prop_assert_eq!(result, Err(Error::AuthenticationFailed));
        }
        prop_assert!(!receiver.has_key(kid));

        for i in 0..3u8 {
            let frame = sender.encrypt(b"", &[i]).unwrap();
            prop_assert_eq!(receiver.decrypt(b"", &frame).unwrap(), [i]);
        }
        sender.ratchet().unwrap();
        let next = sender.encrypt(b"", b"genuine 1").unwrap();
        prop_assert_eq!(receiver.decrypt(b"", &next).unwrap(), b"genuine 1");
    }
}
