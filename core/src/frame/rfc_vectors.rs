//! The official RFC 9605 test vectors, committed in the repository.
//!
//! The folder is `tests/vectors/sframe-rfc9605` of the workspace, or
//! `$CALLSEAL_SFRAME_VECTORS`. A missing file fails the tests: every clone
//! holds them.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::PathBuf;

use serde_json::Value;
use zeroize::Zeroizing;

use super::aead::FrameCipher;
use super::header::{Counter, Header, Kid};
use super::key::{BaseKey, KeySalt, MAX_KEY_LEN, derive_key_salt};
use super::receiver::{Receiver, ReceiverConfig};
use super::sender::Sender;
use super::suite::CipherSuite;

fn vectors(file: &str) -> Value {
    let dir = std::env::var_os("CALLSEAL_SFRAME_VECTORS")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../tests/vectors/sframe-rfc9605")
        });
    let path = dir.join(file);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "the RFC 9605 vectors are missing at {}: {e}",
            path.display()
        )
    });
    serde_json::from_str(&text).expect("vector file is JSON")
}

fn hex(v: &Value, field: &str) -> Vec<u8> {
    hex::decode(
        v[field]
            .as_str()
            .unwrap_or_else(|| panic!("missing {field}")),
    )
    .unwrap()
}

fn num(v: &Value, field: &str) -> u64 {
    v[field]
        .as_u64()
        .unwrap_or_else(|| panic!("missing {field}"))
}

fn list<'a>(doc: &'a Value, key: &str) -> &'a Vec<Value> {
    doc[key]
        .as_array()
        .unwrap_or_else(|| panic!("missing {key}"))
}

#[test]
fn header_vectors() {
    let doc = vectors("test-vectors.json");
    let cases = list(&doc, "header");
    assert_eq!(cases.len(), 289);
    for case in cases {
        let header = Header {
            kid: Kid(num(case, "kid")),
            ctr: Counter(num(case, "ctr")),
        };
        let encoded = hex(case, "encoded");
        assert_eq!(header.encode().as_bytes(), &encoded[..], "{header:?}");
        assert_eq!(Header::decode(&encoded), Ok((header, encoded.len())));
    }
}

/// The CTR-HMAC AEAD alone: raw key, nonce, AAD.
#[test]
fn aes_ctr_hmac_vectors() {
    let doc = vectors("test-vectors.json");
    let mut seen = 0;
    for key in ["aes_ctr_hmac", "aes_256_ctr_hmac"] {
        for case in list(&doc, key) {
            let suite = CipherSuite::from_id(num(case, "cipher_suite") as u16).unwrap();
            let key = hex(case, "key");
            let enc_key = hex(case, "enc_key");
            let auth_key = hex(case, "auth_key");
            assert_eq!([enc_key, auth_key].concat(), key, "subkey split");
            let mut keys = KeySalt {
                key: Zeroizing::new([0; MAX_KEY_LEN]),
                key_len: key.len(),
                salt: hex(case, "nonce").try_into().unwrap(),
            };
            keys.key[..key.len()].copy_from_slice(&key);
            // With CTR = 0 the nonce is the salt itself.
            let cipher = FrameCipher::new(suite, &keys).unwrap();
            let (aad, pt, ct) = (hex(case, "aad"), hex(case, "pt"), hex(case, "ct"));
            let mut buf = pt.clone();
            let tag = cipher.seal(Counter(0), &aad, &mut buf).unwrap();
            assert_eq!([&buf[..], tag.as_bytes()].concat(), ct, "{suite}");
            let (body, tag) = ct.split_at(pt.len());
            let mut buf = body.to_vec();
            cipher.open(Counter(0), &aad, &mut buf, tag).unwrap();
            assert_eq!(buf, pt);
            seen += 1;
        }
    }
    assert_eq!(seen, 6);
}

/// End to end: key schedule, nonce, AAD, ciphertext, both directions.
#[test]
fn sframe_vectors() {
    let doc = vectors("test-vectors.json");
    let doc256 = vectors("test-vectors-aes256.json");
    let cases: Vec<&Value> = list(&doc, "sframe")
        .iter()
        .chain(list(&doc256, "sframe_aes_256_ctr_hmac"))
        .collect();
    assert_eq!(cases.len(), 8);
    for case in cases {
        let suite = CipherSuite::from_id(num(case, "cipher_suite") as u16).unwrap();
        let (kid, ctr) = (Kid(num(case, "kid")), Counter(num(case, "ctr")));
        let base = hex(case, "base_key");
        let mut key_label = b"SFrame 1.0 Secret key ".to_vec();
        key_label.extend(kid.0.to_be_bytes());
        key_label.extend(suite.id().to_be_bytes());
        assert_eq!(key_label, hex(case, "sframe_key_label"));
        let mut salt_label = b"SFrame 1.0 Secret salt ".to_vec();
        salt_label.extend(kid.0.to_be_bytes());
        salt_label.extend(suite.id().to_be_bytes());
        assert_eq!(salt_label, hex(case, "sframe_salt_label"));

        let keys = derive_key_salt(suite, kid, &BaseKey::new(&base).unwrap());
        assert_eq!(keys.key(), &hex(case, "sframe_key")[..], "{suite} key");
        assert_eq!(
            &keys.salt[..],
            &hex(case, "sframe_salt")[..],
            "{suite} salt"
        );
        let cipher = FrameCipher::new(suite, &keys).unwrap();
        assert_eq!(
            &cipher.nonce(ctr)[..],
            &hex(case, "nonce")[..],
            "{suite} nonce"
        );

        let metadata = hex(case, "metadata");
        let header = Header { kid, ctr }.encode();
        assert_eq!(
            [header.as_bytes(), &metadata[..]].concat(),
            hex(case, "aad"),
            "{suite} aad"
        );

        let (pt, ct) = (hex(case, "pt"), hex(case, "ct"));
        let mut sender =
            Sender::starting_at(suite, kid, BaseKey::new(&base).unwrap(), ctr).unwrap();
        assert_eq!(sender.encrypt(&metadata, &pt).unwrap(), ct, "{suite} ct");

        let mut receiver = Receiver::new(ReceiverConfig::default());
        receiver
            .add_key(kid, suite, BaseKey::new(&base).unwrap())
            .unwrap();
        assert_eq!(receiver.decrypt(&metadata, &ct).unwrap(), pt, "{suite} pt");
    }
}
