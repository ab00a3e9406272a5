//! Signed policy documents (docs/POLICY.md, "Signed policy documents"): what
//! a server that delivers the policy can try, each refused with its own
//! error kind, and nothing of a refused document used.

use base64ct::{Base64, Encoding};
use callseal_core::ErrorKind;
use callseal_core::policy::{
    E2eeSetting, PolicyDocument, PolicyError, PolicySigningKey, PolicyUpdate, TenantKey, UserUpdate,
};
use proptest::prelude::*;

const ISSUED: u64 = 1_796_169_600; // 2026-12-01T00:00:00Z

fn admin() -> PolicySigningKey {
    PolicySigningKey::from_bytes([0x5a; 32])
}

/// Alice and Bob may make end-to-end encrypted calls.
fn e2ee_doc() -> PolicyDocument {
    let mut doc = PolicyDocument::new();
    doc.update_policy(
        "Global",
        PolicyUpdate {
            calling: Some(E2eeSetting::DisabledUserOverride),
            ..Default::default()
        },
    )
    .unwrap();
    for user in ["alice", "bob"] {
        doc.update_user(
            user,
            UserUpdate {
                e2ee_calls: Some(true),
                ..Default::default()
            },
        )
        .unwrap();
    }
    doc
}

fn signed(serial: u64) -> Vec<u8> {
    admin().sign(&e2ee_doc(), serial, ISSUED).unwrap()
}

/// The payload's bytes, decoded from a signed document.
fn payload_of(signed: &[u8]) -> Vec<u8> {
    let v: serde_json::Value = serde_json::from_slice(signed).unwrap();
    Base64::decode_vec(v["payload"].as_str().unwrap()).unwrap()
}

#[test]
fn a_signed_policy_verifies_and_round_trips() {
    let verified = PolicyDocument::verify(&signed(7), &admin().tenant_key(), 0).unwrap();
    assert_eq!(verified.serial(), 7);
    assert_eq!(verified.issued_at(), ISSUED);
    assert_eq!(verified.document(), &e2ee_doc());
    assert!(verified.document().evaluate_call("alice", "bob").e2ee);
    // Signing is deterministic (Ed25519): the same inputs, the same bytes.
    assert_eq!(signed(7), signed(7));
    // The same serial again is the document already held: accepted.
    assert!(PolicyDocument::verify(&signed(7), &admin().tenant_key(), 7).is_ok());
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    /// Any byte changed anywhere is refused: the signature (payload,
    /// signature), the signer check, or the one canonical form (everything
    /// else, white space included).
    #[test]
    fn tampered_signed_policy_is_refused(index in any::<prop::sample::Index>(), flip in 1u8..=255) {
        let mut bytes = signed(3);
        let i = index.index(bytes.len());
        bytes[i] ^= flip;
        let err = PolicyDocument::verify(&bytes, &admin().tenant_key(), 0).unwrap_err();
        prop_assert!(
            matches!(
                err,
                PolicyError::BadSignature | PolicyError::Corrupt(_) | PolicyError::WrongTenant { .. }
                    | PolicyError::DuplicateKey(_)
            ),
            "byte {i}: {err:?}"
        );
    }
}

#[test]
fn tampered_signed_policy_is_refused_in_every_part() {
    let good = signed(3);
    let text = String::from_utf8(good.clone()).unwrap();
    let key = admin().tenant_key();
    let value_at = |name: &str| text.find(&format!("\"{name}\": \"")).unwrap() + name.len() + 5;
    // A byte of the payload (still base64) or the signature (still hex):
    // the signature fails.
    for name in ["payload", "signature"] {
        let mut bytes = good.clone();
        let i = value_at(name) + 10;
        bytes[i] = if bytes[i] == b'a' { b'b' } else { b'a' };
        let err = PolicyDocument::verify(&bytes, &key, 0).unwrap_err();
        assert!(matches!(err, PolicyError::BadSignature), "{name}: {err:?}");
        assert_eq!(err.kind(), ErrorKind::AuthenticationFailed);
    }
    // The server rewrites the whole payload (turning encryption off for
    // everyone) and keeps the signature: refused.
    let mut open = e2ee_doc();
    open.update_policy(
        "Global",
        PolicyUpdate {
            calling: Some(E2eeSetting::Disabled),
            ..Default::default()
        },
    )
    .unwrap();
    let forged_payload = payload_of(&admin().sign(&open, 3, ISSUED).unwrap());
    let good_sig: serde_json::Value = serde_json::from_slice(&good).unwrap();
    let forged = text.replace(
        good_sig["payload"].as_str().unwrap(),
        &Base64::encode_string(&forged_payload),
    );
    let mut forged = forged.into_bytes();
    // Keep the real signature of the real payload.
    assert_ne!(forged, good);
    let sig_of_open: serde_json::Value =
        serde_json::from_slice(&admin().sign(&open, 3, ISSUED).unwrap()).unwrap();
    assert_ne!(sig_of_open["signature"], good_sig["signature"]);
    assert!(matches!(
        PolicyDocument::verify(&forged, &key, 0),
        Err(PolicyError::BadSignature)
    ));
    // White space added: one canonical form only.
    forged = good.clone();
    forged.insert(1, b' ');
    assert!(matches!(
        PolicyDocument::verify(&forged, &key, 0),
        Err(PolicyError::Corrupt(_))
    ));
    // Upper-case hex in the signature names the same bytes, but is not the
    // canonical form.
    let upper = text.replace(
        good_sig["signature"].as_str().unwrap(),
        &good_sig["signature"].as_str().unwrap().to_uppercase(),
    );
    assert!(matches!(
        PolicyDocument::verify(upper.as_bytes(), &key, 0),
        Err(PolicyError::Corrupt(_))
    ));
}

#[test]
fn rolled_back_policy_is_refused() {
    let key = admin().tenant_key();
    let err = PolicyDocument::verify(&signed(4), &key, 5).unwrap_err();
    assert!(
        matches!(
            err,
            PolicyError::RolledBack {
                serial: 4,
                last_seen: 5
            }
        ),
        "{err:?}"
    );
    assert_eq!(err.kind(), ErrorKind::Replay);
    assert_eq!(
        PolicyDocument::verify(&signed(6), &key, 5)
            .unwrap()
            .serial(),
        6
    );
    // Serial 0 is never signed.
    assert!(matches!(
        admin().sign(&e2ee_doc(), 0, ISSUED),
        Err(PolicyError::InvalidValue { what: "serial", .. })
    ));
    assert!(admin().sign(&e2ee_doc(), 1 << 53, ISSUED).is_err());
}

#[test]
fn policy_from_another_tenant_is_refused() {
    let other = PolicySigningKey::from_bytes([0x33; 32]);
    let theirs = other.sign(&e2ee_doc(), 9, ISSUED).unwrap();
    let err = PolicyDocument::verify(&theirs, &admin().tenant_key(), 0).unwrap_err();
    assert!(matches!(err, PolicyError::WrongTenant { .. }), "{err:?}");
    assert_eq!(err.kind(), ErrorKind::WrongPeer);
    // Their document relabelled with our key as signer: the signature fails.
    let relabelled = String::from_utf8(theirs)
        .unwrap()
        .replace(&other.tenant_key().to_hex(), &admin().tenant_key().to_hex());
    let err = PolicyDocument::verify(relabelled.as_bytes(), &admin().tenant_key(), 0).unwrap_err();
    assert!(matches!(err, PolicyError::BadSignature), "{err:?}");
    // Tenant keys that are no keys.
    assert!(TenantKey::from_hex("00").is_err());
    assert!(TenantKey::from_bytes(&[0u8; 32]).is_err(), "small order");
    assert!(TenantKey::from_hex(&"zz".repeat(32)).is_err());
}

#[test]
fn duplicate_json_keys_are_refused() {
    let key = admin().tenant_key();
    // In an unsigned document, at the top and deep inside.
    let doc = e2ee_doc().to_json();
    for (from, to) in [
        ("\"version\": 1,", "\"version\": 1, \"version\": 1,"),
        (
            "\"e2ee_calls\": true,",
            "\"e2ee_calls\": false, \"e2ee_calls\": true,",
        ),
    ] {
        let dup = doc.replacen(from, to, 1);
        assert_ne!(dup, doc);
        let err = PolicyDocument::from_json(dup.as_bytes()).unwrap_err();
        assert!(matches!(err, PolicyError::DuplicateKey(_)), "{err:?}");
        assert_eq!(err.kind(), ErrorKind::Malformed);
    }
    // Two entries for one user: the last one would have won.
    let two_alices = doc.replacen("\"bob\":", "\"alice\":", 1);
    assert!(matches!(
        PolicyDocument::from_json(two_alices.as_bytes()),
        Err(PolicyError::DuplicateKey(path)) if path == "$.users.alice"
    ));
    // Inside a validly signed payload (an admin tool that wrote it twice):
    // refused although the signature verifies.
    let payload = String::from_utf8(payload_of(&signed(2))).unwrap();
    let dup_payload = payload.replacen("\"bob\":", "\"alice\":", 1);
    assert_ne!(dup_payload, payload);
    let resigned = sign_raw(&admin(), dup_payload.as_bytes());
    let err = PolicyDocument::verify(&resigned, &key, 0).unwrap_err();
    assert!(
        matches!(&err, PolicyError::DuplicateKey(p) if p == "$.document.users.alice"),
        "{err:?}"
    );
    // And in the envelope.
    let text = String::from_utf8(signed(2)).unwrap();
    let dup_env = text.replacen("{\n", "{\n  \"format\": \"x\",\n", 1);
    assert!(matches!(
        PolicyDocument::verify(dup_env.as_bytes(), &key, 0),
        Err(PolicyError::DuplicateKey(_))
    ));
}

/// A signed document around `payload` as given (to sign payloads `sign`
/// would never write).
fn sign_raw(key: &PolicySigningKey, payload: &[u8]) -> Vec<u8> {
    use ed25519_dalek::Signer;
    let signing = ed25519_dalek::SigningKey::from_bytes(&key.to_bytes());
    let mut message = b"callseal/policy/1\0".to_vec();
    message.extend_from_slice(payload);
    let signature = signing.sign(&message);
    format!(
        "{{\n  \"format\": \"callseal-signed-policy/1\",\n  \"signer\": \"{}\",\n  \"payload\": \"{}\",\n  \"signature\": \"{}\"\n}}\n",
        key.tenant_key().to_hex(),
        Base64::encode_string(payload),
        hex::encode(signature.to_bytes()),
    )
    .into_bytes()
}

#[test]
fn signed_payloads_are_checked_like_documents() {
    let key = admin().tenant_key();
    // The raw signer agrees with `sign` (the format in docs/POLICY.md).
    let payload = payload_of(&signed(5));
    assert_eq!(sign_raw(&admin(), &payload), signed(5));
    for (payload, want) in [
        (
            r#"{"version":2,"serial":1,"issued_at":0,"document":{}}"#,
            "version",
        ),
        (
            r#"{"version":1,"serial":0,"issued_at":0,"document":{"version":1,"policies":[]}}"#,
            "corrupt",
        ),
        (
            r#"{"version":1,"serial":1,"issued_at":0,"extra":1,"document":{}}"#,
            "corrupt",
        ),
        (
            r#"{"version":1,"serial":1,"issued_at":0,"document":{"version":1,"policies":[]}}"#,
            "corrupt",
        ),
        (r#"[1]"#, "corrupt"),
    ] {
        let err =
            PolicyDocument::verify(&sign_raw(&admin(), payload.as_bytes()), &key, 0).unwrap_err();
        match want {
            "version" => assert!(matches!(err, PolicyError::UnsupportedVersion(2)), "{err:?}"),
            _ => assert!(matches!(err, PolicyError::Corrupt(_)), "{payload}: {err:?}"),
        }
        assert_eq!(err.kind(), ErrorKind::Malformed);
    }
    // Not JSON, and too large.
    assert!(matches!(
        PolicyDocument::verify(b"nope", &key, 0),
        Err(PolicyError::Corrupt(_))
    ));
    let huge = vec![b' '; callseal_core::policy::MAX_SIGNED_POLICY_LEN + 1];
    assert!(matches!(
        PolicyDocument::verify(&huge, &key, 0),
        Err(PolicyError::Corrupt(_))
    ));
}

#[test]
fn the_signing_key_never_shows() {
    let admin = admin();
    let shown = format!("{admin:?}");
    assert!(shown.contains(&admin.tenant_key().to_hex()));
    assert!(!shown.contains(&"5a".repeat(32)), "{shown}");
    assert!(!shown.contains(&"90, ".repeat(8)), "{shown}");
}
