#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! Property tests of the frame layer, for every cipher suite.

use callseal_core::frame::{
    BaseKey, CipherSuite, Counter, Error, Header, Kid, MAX_HEADER_LEN, Receiver, ReceiverConfig,
    Sender,
};
use hkdf::Hkdf;
use proptest::prelude::*;
use sha2::{Sha256, Sha512};

fn suite() -> impl Strategy<Value = CipherSuite> {
    prop::sample::select(CipherSuite::ALL.to_vec())
}

fn key() -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(any::<u8>(), 1..=64)
}

fn bytes(max: usize) -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(any::<u8>(), 0..=max)
}

fn sender_at(suite: CipherSuite, key: &[u8], kid: u64, ctr: u64) -> Sender {
    Sender::starting_at(suite, Kid(kid), BaseKey::new(key).unwrap(), Counter(ctr)).unwrap()
}

fn receiver_with(suite: CipherSuite, key: &[u8], kid: u64, window: u32) -> Receiver {
    let mut receiver = Receiver::with_config(ReceiverConfig {
        replay_window: window,
        ..ReceiverConfig::default()
    })
    .unwrap();
    receiver
        .add_key(Kid(kid), suite, BaseKey::new(key).unwrap())
        .unwrap();
    receiver
}

/// The frame for (KID, CTR): a fresh sender per counter, so any counter
/// can be reached directly.
fn frame_at(
    suite: CipherSuite,
    key: &[u8],
    kid: u64,
    ctr: u64,
    metadata: &[u8],
    payload: &[u8],
) -> Vec<u8> {
    sender_at(suite, key, kid, ctr)
        .encrypt(metadata, payload)
        .unwrap()
}

fn header_len(frame: &[u8]) -> usize {
    Header::decode(frame).unwrap().1
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn round_trip(
        suite in suite(),
        key in key(),
        kid in any::<u64>(),
        ctr in any::<u64>(),
        payload in bytes(4096),
        metadata in bytes(256),
    ) {
        let mut sender = sender_at(suite, &key, kid, ctr);
        let expected_len = sender.frame_len(payload.len());
        let frame = sender.encrypt(&metadata, &payload).unwrap();
        prop_assert_eq!(frame.len(), expected_len);
        prop_assert_eq!(frame.len(), header_len(&frame) + payload.len() + suite.tag_len());
        if payload.len() >= 16 {
            // Encrypted: the payload does not appear in clear.
            prop_assert!(!frame.windows(payload.len()).any(|w| w == &payload[..]));
        }
        let mut receiver = receiver_with(suite, &key, kid, 64);
        let mut buf = frame.clone();
        let (header, out) = receiver.decrypt_in_place(&metadata, &mut buf).unwrap();
        prop_assert_eq!(header, Header { kid: Kid(kid), ctr: Counter(ctr) });
        prop_assert_eq!(&out[..], &payload[..]);
    }

    /// Any single flipped bit, in the frame (header, ciphertext, tag) or in
    /// the metadata, is rejected.
    #[test]
    fn any_bit_flip_is_rejected(
        suite in suite(),
        key in key(),
        kid in any::<u64>(),
        ctr in any::<u64>(),
        payload in bytes(128),
        metadata in bytes(32),
        position in any::<prop::sample::Index>(),
        bit in 0u8..8,
    ) {
        let frame = frame_at(suite, &key, kid, ctr, &metadata, &payload);
        let mut frame_mut = frame.clone();
        let mut metadata_mut = metadata.clone();
        let i = position.index(frame.len() + metadata.len());
        match frame_mut.get_mut(i) {
            Some(b) => *b ^= 1 << bit,
            None => metadata_mut[i - frame.len()] ^= 1 << bit,
        }
        let mut receiver = receiver_with(suite, &key, kid, 64);
        let result = receiver.decrypt(&metadata_mut, &frame_mut);
        prop_assert!(result.is_err(), "flip at {} accepted: {:?}", i, result);
        // The receiver was not disturbed: the genuine frame still decrypts.
        prop_assert_eq!(receiver.decrypt(&metadata, &frame).unwrap(), payload);
    }

    /// Every truncation gives the error of the part it cuts into.
    #[test]
    fn truncation_is_rejected_with_a_typed_error(
        suite in suite(),
        key in key(),
        kid in any::<u64>(),
        ctr in any::<u64>(),
        payload in bytes(64),
    ) {
        let frame = frame_at(suite, &key, kid, ctr, b"", &payload);
        let hl = header_len(&frame);
        let mut receiver = receiver_with(suite, &key, kid, 64);
        for cut in 0..frame.len() {
            let result = receiver.decrypt(b"", &frame[..cut]);
            let expected = if cut < hl {
                Error::TruncatedHeader
            } else if cut < hl + suite.tag_len() {
                Error::FrameTooShort
            } else {
                Error::AuthenticationFailed
            };
            prop_assert_eq!(result, Err(expected), "cut at {}", cut);
        }
        prop_assert_eq!(receiver.decrypt(b"", &frame).unwrap(), payload);
    }

    #[test]
    fn replay_is_rejected(
        suite in suite(),
        key in key(),
        kid in any::<u64>(),
        first in 0u64..u64::MAX - 64,
        n in 1usize..16,
        replayed in any::<prop::sample::Index>(),
    ) {
        let mut sender = sender_at(suite, &key, kid, first);
        let frames: Vec<_> = (0..n).map(|i| sender.encrypt(b"", &[i as u8]).unwrap()).collect();
        let mut receiver = receiver_with(suite, &key, kid, 64);
        for (i, f) in frames.iter().enumerate() {
            prop_assert_eq!(receiver.decrypt(b"", f).unwrap(), [i as u8]);
        }
        let i = replayed.index(n);
        prop_assert_eq!(
            receiver.decrypt(b"", &frames[i]),
            Err(Error::Replay { kid: Kid(kid), ctr: Counter(first + i as u64) })
        );
    }

    /// A permutation of N frames within the window: every frame accepted
    /// exactly once, then every one a replay.
    #[test]
    fn reordering_within_the_window_is_accepted_once(
        suite in suite(),
        key in key(),
        kid in any::<u64>(),
        first in any::<u64>(),
        window in 1u32..=96,
        order in Just((0..96usize).collect::<Vec<_>>()).prop_shuffle(),
    ) {
        let n = window as usize;
        let first = first.min(u64::MAX - n as u64);
        let mut sender = sender_at(suite, &key, kid, first);
        let frames: Vec<_> = (0..n).map(|i| sender.encrypt(&[7], &i.to_be_bytes()).unwrap()).collect();
        let order: Vec<usize> = order.into_iter().filter(|&i| i < n).collect();
        let mut receiver = receiver_with(suite, &key, kid, window);
        for &i in &order {
            let (header, out) = receiver.decrypt_in_place(&[7], &mut frames[i].clone())
                .map(|(h, p)| (h, p.to_vec()))
                .unwrap();
            prop_assert_eq!(header.ctr, Counter(first + i as u64));
            prop_assert_eq!(out, i.to_be_bytes());
        }
        for &i in &order {
            prop_assert_eq!(
                receiver.decrypt(&[7], &frames[i]),
                Err(Error::Replay { kid: Kid(kid), ctr: Counter(first + i as u64) })
            );
        }
    }

    /// Once counter `h` was accepted, `h - window` and older are too old;
    /// `h - (window - 1)` is still inside.
    #[test]
    fn frames_older_than_the_window_are_too_old(
        suite in suite(),
        key in key(),
        kid in any::<u64>(),
        window in 1u32..=65_536,
        highest in any::<u64>(),
        older in any::<u64>(),
    ) {
        let w = u64::from(window);
        let highest = highest.max(w);
        // Any counter at least `window` below `highest`.
        let old = older % (highest - w + 1);
        let mut receiver = receiver_with(suite, &key, kid, window);
        let top = frame_at(suite, &key, kid, highest, b"", b"top");
        prop_assert_eq!(receiver.decrypt(b"", &top).unwrap(), b"top");
        let stale = frame_at(suite, &key, kid, old, b"", b"stale");
        prop_assert_eq!(
            receiver.decrypt(b"", &stale),
            Err(Error::TooOld { kid: Kid(kid), ctr: Counter(old) })
        );
        if window > 1 {
            let edge = highest - (w - 1);
            let frame = frame_at(suite, &key, kid, edge, b"", b"edge");
            prop_assert_eq!(receiver.decrypt(b"", &frame).unwrap(), b"edge");
        }
    }

    /// Any arrival order, duplicates included, against a model of the
    /// window: a counter `window` or more below the highest accepted is too
    /// old (seen or not: the window cannot tell), one seen before is a
    /// replay, anything else is accepted.
    #[test]
    fn replay_window_matches_a_model(
        suite in prop::sample::select(vec![CipherSuite::AesGcm128Sha256, CipherSuite::AesCtr128HmacSha256_32]),
        base in any::<u64>(),
        window in 1u32..=200,
        arrivals in prop::collection::vec(0u64..400, 1..200),
    ) {
        let base = base.min(u64::MAX - 400);
        let key = b"model key";
        let mut receiver = receiver_with(suite, key, 9, window);
        let mut seen = std::collections::HashSet::new();
        let mut highest: Option<u64> = None;
        for offset in arrivals {
            let ctr = base + offset;
            let frame = frame_at(suite, key, 9, ctr, b"", &offset.to_be_bytes());
            let expected = if highest.is_some_and(|h| h > ctr && h - ctr >= u64::from(window)) {
                Err(Error::TooOld { kid: Kid(9), ctr: Counter(ctr) })
            } else if seen.contains(&ctr) {
                Err(Error::Replay { kid: Kid(9), ctr: Counter(ctr) })
            } else {
                seen.insert(ctr);
                highest = highest.max(Some(ctr));
                Ok(offset.to_be_bytes().to_vec())
            };
            prop_assert_eq!(receiver.decrypt(b"", &frame), expected, "counter {}", ctr);
        }
    }

    #[test]
    fn wrong_key_fails_authentication(
        suite in suite(),
        key in key(),
        other in key(),
        kid in any::<u64>(),
        ctr in any::<u64>(),
        payload in bytes(64),
        metadata in bytes(16),
    ) {
        prop_assume!(key != other);
        let frame = frame_at(suite, &key, kid, ctr, &metadata, &payload);
        let mut receiver = receiver_with(suite, &other, kid, 64);
        prop_assert_eq!(receiver.decrypt(&metadata, &frame), Err(Error::AuthenticationFailed));
    }

    #[test]
    fn unknown_kid_is_reported(
        suite in suite(),
        key in key(),
        kid in any::<u64>(),
        installed in any::<u64>(),
        ctr in any::<u64>(),
        payload in bytes(64),
    ) {
        prop_assume!(kid != installed);
        let frame = frame_at(suite, &key, kid, ctr, b"", &payload);
        let mut receiver = receiver_with(suite, &key, installed, 64);
        prop_assert_eq!(receiver.decrypt(b"", &frame), Err(Error::UnknownKeyId(Kid(kid))));
    }

    /// `decrypt_in_place`, `decrypt_into` and `decrypt` give the same
    /// result on the same input, genuine or damaged.
    #[test]
    fn decrypt_variants_agree(
        suite in suite(),
        key in key(),
        kid in 0u64..4,
        ctr in any::<u64>(),
        payload in bytes(256),
        metadata in bytes(16),
        damage in prop::option::of((any::<prop::sample::Index>(), 1u8..=255)),
        cut in prop::option::of(any::<prop::sample::Index>()),
    ) {
        let mut frame = frame_at(suite, &key, kid, ctr, &metadata, &payload);
        if let Some((i, x)) = damage {
            let i = i.index(frame.len());
            frame[i] ^= x;
        }
        if let Some(cut) = cut {
            // Strictly shorter than the frame.
            frame.truncate(cut.index(frame.len()));
        }
        let mut receivers: Vec<_> = (0..3).map(|_| receiver_with(suite, &key, 2, 64)).collect();
        for r in &mut receivers {
            r.add_key(Kid(0), suite, BaseKey::new(&key).unwrap()).unwrap();
        }

        let mut in_place = frame.clone();
        let a = receivers[0]
            .decrypt_in_place(&metadata, &mut in_place)
            .map(|(_, p)| p.to_vec());
        let mut out = vec![0u8; frame.len()];
        let b = receivers[1]
            .decrypt_into(&metadata, &frame, &mut out)
            .map(|n| out[..n].to_vec());
        let c = receivers[2].decrypt(&metadata, &frame);
        prop_assert_eq!(&a, &b);
        prop_assert_eq!(&a, &c);
        if damage.is_none() && cut.is_none() && (kid == 0 || kid == 2) {
            prop_assert_eq!(a.unwrap(), payload);
        } else {
            prop_assert!(a.is_err());
        }
    }

    #[test]
    fn decrypt_into_too_small_a_buffer(
        suite in suite(),
        key in key(),
        payload in bytes(64).prop_filter("non-empty", |p| !p.is_empty()),
        short in any::<prop::sample::Index>(),
    ) {
        let frame = frame_at(suite, &key, 1, 5, b"", &payload);
        let mut receiver = receiver_with(suite, &key, 1, 64);
        let mut out = vec![0u8; short.index(payload.len())];
        prop_assert_eq!(
            receiver.decrypt_into(b"", &frame, &mut out),
            Err(Error::BufferTooSmall { needed: payload.len() })
        );
        // Nothing was recorded: the frame is still accepted.
        let mut out = vec![0u8; payload.len()];
        prop_assert_eq!(receiver.decrypt_into(b"", &frame, &mut out), Ok(payload.len()));
        prop_assert_eq!(out, payload);
    }

    /// Too small an output buffer: `BufferTooSmall`, no counter used, and
    /// the next frame still uses the same counter.
    #[test]
    fn encrypt_into_too_small_a_buffer_uses_no_counter(
        suite in suite(),
        key in key(),
        kid in any::<u64>(),
        ctr in any::<u64>(),
        payload in bytes(256),
        short in any::<prop::sample::Index>(),
    ) {
        let mut sender = sender_at(suite, &key, kid, ctr);
        let needed = sender.frame_len(payload.len());
        let mut out = vec![0u8; short.index(needed)];
        prop_assert_eq!(
            sender.encrypt_into(b"", &payload, &mut out),
            Err(Error::BufferTooSmall { needed })
        );
        prop_assert_eq!(sender.next_counter(), Some(Counter(ctr)));
        let mut out = vec![0u8; needed + 3];
        prop_assert_eq!(sender.encrypt_into(b"", &payload, &mut out), Ok(needed));
        prop_assert_eq!(Header::decode(&out).unwrap().0.ctr, Counter(ctr));
        prop_assert_eq!(&out[..needed], &frame_at(suite, &key, kid, ctr, b"", &payload)[..]);
    }

    /// `starting_at(u64::MAX)` encrypts exactly one frame, which the
    /// receiver accepts; then every way to encrypt is `CounterExhausted`.
    #[test]
    fn counter_exhaustion(
        suite in suite(),
        key in key(),
        kid in any::<u64>(),
        payload in bytes(64),
    ) {
        let mut sender = sender_at(suite, &key, kid, u64::MAX);
        let frame = sender.encrypt(b"m", &payload).unwrap();
        prop_assert_eq!(sender.next_counter(), None);
        prop_assert_eq!(sender.encrypt(b"m", &payload), Err(Error::CounterExhausted));
        let mut out = vec![0u8; sender.frame_len(payload.len())];
        prop_assert_eq!(sender.encrypt_into(b"m", &payload, &mut out), Err(Error::CounterExhausted));
        let mut buf = payload.clone();
        prop_assert!(matches!(
            sender.encrypt_detached(b"m", &mut buf),
            Err(Error::CounterExhausted)
        ));
        prop_assert_eq!(&buf, &payload);

        let mut receiver = receiver_with(suite, &key, kid, 64);
        let mut frame_buf = frame.clone();
        let (header, out) = receiver.decrypt_in_place(b"m", &mut frame_buf).unwrap();
        prop_assert_eq!(header.ctr, Counter(u64::MAX));
        prop_assert_eq!(&out[..], &payload[..]);
        prop_assert_eq!(
            receiver.decrypt(b"m", &frame),
            Err(Error::Replay { kid: Kid(kid), ctr: Counter(u64::MAX) })
        );
    }

    #[test]
    fn header_decode_never_panics(data in bytes(40)) {
        if let Ok((header, len)) = Header::decode(&data) {
            prop_assert!(len <= data.len() && len <= MAX_HEADER_LEN);
            let encoded = header.encode();
            prop_assert_eq!(encoded.as_bytes(), &data[..len]);
        }
    }

    #[test]
    fn header_round_trip(kid in any::<u64>(), ctr in any::<u64>(), tail in bytes(8)) {
        let header = Header { kid: Kid(kid), ctr: Counter(ctr) };
        let encoded = header.encode();
        prop_assert!(encoded.len() <= MAX_HEADER_LEN);
        prop_assert_eq!(Header::decode(encoded.as_bytes()), Ok((header, encoded.len())));
        // Trailing bytes (the ciphertext) are not part of the header.
        let mut with_tail = encoded.as_bytes().to_vec();
        with_tail.extend_from_slice(&tail);
        prop_assert_eq!(Header::decode(&with_tail), Ok((header, encoded.len())));
    }

    /// KID or CTR written in more bytes than needed (a value 0–7 in an
    /// extension, or a leading zero byte) is refused.
    #[test]
    fn non_minimal_headers_are_rejected(
        raw in any::<u64>(),
        shift in 8u32..64,
        extra in any::<usize>(),
        other in any::<u64>(),
        in_kid in any::<bool>(),
    ) {
        // Values below 2^56 of every size, so a longer form exists.
        let value = raw >> shift;
        let minimal = if value < 8 { 0 } else { 8 - value.leading_zeros() as usize / 8 };
        let len = minimal + 1 + extra % (8 - minimal);
        let field: Vec<u8> = value.to_be_bytes()[8 - len..].to_vec();
        let nibble = 0x08 | (len as u8 - 1);
        // The other field, minimally encoded.
        let other_header = Header { kid: Kid(other), ctr: Counter(other) }.encode();
        let other_nibble = other_header.as_bytes()[0] & 0x0f;
        let other_field = &other_header.as_bytes()[1..][..(other_header.len() - 1) / 2];
        let mut bytes = Vec::new();
        if in_kid {
            bytes.push((nibble << 4) | other_nibble);
            bytes.extend_from_slice(&field);
            bytes.extend_from_slice(other_field);
        } else {
            bytes.push((other_nibble << 4) | nibble);
            bytes.extend_from_slice(other_field);
            bytes.extend_from_slice(&field);
        }
        prop_assert_eq!(Header::decode(&bytes), Err(Error::NonMinimalHeader), "{:02x?}", bytes);
    }

    /// `Debug` of keys, senders and receivers shows neither the base key
    /// nor the derived key and salt, in hex or as a list of numbers.
    #[test]
    fn debug_output_hides_key_material(
        suite in suite(),
        key in prop::collection::vec(any::<u8>(), 8..=128),
        kid in any::<u64>(),
    ) {
        let base = BaseKey::new(&key).unwrap();
        let sender = Sender::new(suite, Kid(kid), BaseKey::new(&key).unwrap()).unwrap();
        let receiver = receiver_with(suite, &key, kid, 64);
        let (derived_key, derived_salt) = derive_key_salt(suite, kid, &key);
        let printed = [
            format!("{base:?}"),
            format!("{base:#?}"),
            format!("{sender:?}"),
            format!("{sender:#?}"),
            format!("{receiver:?}"),
            format!("{receiver:#?}"),
        ];
        for secret in [&key, &derived_key, &derived_salt] {
            let forms = secret_forms(secret);
            for text in &printed {
                for form in &forms {
                    prop_assert!(!text.contains(form.as_str()), "{} leaks {}", text, form);
                }
            }
        }
    }
}

/// How a byte string could show up in text: hex (either case), and
/// `{:?}` / `{:#?}` of a slice, also without the brackets. Only the first 8
/// bytes are used, so a partial leak is caught too.
fn secret_forms(secret: &[u8]) -> Vec<String> {
    let head = &secret[..secret.len().min(8)];
    let hex: String = head.iter().map(|b| format!("{b:02x}")).collect();
    let list = format!("{head:?}");
    let inner = list
        .trim_start_matches('[')
        .trim_end_matches(']')
        .to_string();
    let pretty: String = head.iter().map(|b| format!("    {b},\n")).collect();
    vec![hex.to_uppercase(), hex, list, inner, pretty]
}

/// RFC 9605 §4.4.2, written out here: `sframe_key` and `sframe_salt`.
fn derive_key_salt(suite: CipherSuite, kid: u64, base: &[u8]) -> (Vec<u8>, Vec<u8>) {
    let info = |label: &[u8]| {
        let mut info = label.to_vec();
        info.extend_from_slice(&kid.to_be_bytes());
        info.extend_from_slice(&suite.id().to_be_bytes());
        info
    };
    let mut key = vec![0u8; suite.key_len()];
    let mut salt = vec![0u8; 12];
    let key_info = info(b"SFrame 1.0 Secret key ");
    let salt_info = info(b"SFrame 1.0 Secret salt ");
    if suite.hash_len() == 32 {
        let h = Hkdf::<Sha256>::new(Some(b""), base);
        h.expand(&key_info, &mut key).unwrap();
        h.expand(&salt_info, &mut salt).unwrap();
    } else {
        let h = Hkdf::<Sha512>::new(Some(b""), base);
        h.expand(&key_info, &mut key).unwrap();
        h.expand(&salt_info, &mut salt).unwrap();
    }
    (key, salt)
}

/// The key schedule written out above is the crate's: AES-GCM keyed with
/// it, nonce `salt XOR (0^4 || CTR)` and AAD `header || metadata` gives the
/// crate's frame byte for byte. This keeps `debug_output_hides_key_material`
/// honest: it searches for the real derived key and salt.
#[test]
fn independent_key_schedule_matches() {
    use aes_gcm::aead::{AeadInOut, KeyInit};
    use aes_gcm::{Aes128Gcm, Aes256Gcm};

    let base = b"independent key schedule";
    for (kid, ctr) in [(0u64, 0u64), (0x123, 0x4567), (u64::MAX, u64::MAX)] {
        for suite in [CipherSuite::AesGcm128Sha256, CipherSuite::AesGcm256Sha512] {
            let (key, salt) = derive_key_salt(suite, kid, base);
            let mut nonce = [0u8; 12];
            for (i, n) in nonce.iter_mut().enumerate() {
                let c = if i < 4 { 0 } else { ctr.to_be_bytes()[i - 4] };
                *n = salt[i] ^ c;
            }
            let header = Header {
                kid: Kid(kid),
                ctr: Counter(ctr),
            }
            .encode();
            let mut aad = header.as_bytes().to_vec();
            aad.extend_from_slice(b"meta");
            let mut body = b"payload".to_vec();
            let tag = if suite == CipherSuite::AesGcm128Sha256 {
                Aes128Gcm::new_from_slice(&key)
                    .unwrap()
                    .encrypt_inout_detached(&nonce.into(), &aad, body.as_mut_slice().into())
                    .unwrap()
                    .to_vec()
            } else {
                Aes256Gcm::new_from_slice(&key)
                    .unwrap()
                    .encrypt_inout_detached(&nonce.into(), &aad, body.as_mut_slice().into())
                    .unwrap()
                    .to_vec()
            };
            let mut expected = header.as_bytes().to_vec();
            expected.extend_from_slice(&body);
            expected.extend_from_slice(&tag);
            assert_eq!(
                frame_at(suite, base, kid, ctr, b"meta", b"payload"),
                expected,
                "{suite}"
            );
        }
    }
}

#[test]
fn header_decode_exhaustive_short_inputs() {
    // Every 1- and 2-byte input, and every config byte with a zeroed tail:
    // no panic, and a decoded header re-encodes to the consumed prefix.
    let mut inputs: Vec<Vec<u8>> = (0..=255u8).map(|a| vec![a]).collect();
    for a in 0..=255u8 {
        for b in 0..=255u8 {
            inputs.push(vec![a, b]);
        }
        inputs.push([a].into_iter().chain([0u8; 16]).collect());
        inputs.push([a].into_iter().chain([0xffu8; 16]).collect());
    }
    let mut ok = 0;
    for input in &inputs {
        match Header::decode(input) {
            Ok((header, len)) => {
                assert_eq!(header.encode().as_bytes(), &input[..len]);
                ok += 1;
            }
            Err(e) => assert!(
                matches!(e, Error::TruncatedHeader | Error::NonMinimalHeader),
                "{input:02x?}: {e:?}"
            ),
        }
    }
    assert!(ok > 0);
}

/// The leak search would find the usual ways of printing a key.
#[test]
fn secret_forms_catch_a_printed_key() {
    let key: Vec<u8> = (100u8..140).collect();
    let forms = secret_forms(&key);
    for leaked in [
        format!("{key:?}"),
        format!("Key {{ bytes: {key:#?} }}"),
        hex::encode(&key),
        hex::encode_upper(&key),
        format!("{:?}", &key[..8]),
    ] {
        assert!(
            forms.iter().any(|f| leaked.contains(f.as_str())),
            "{leaked}"
        );
    }
}
