//! `policy-signed.json`: signed policy documents a server may deliver, which
//! every target's `PolicyDocument.verify` must accept or refuse with the
//! same error code (docs/POLICY.md, "Signed policy documents").

use base64ct::{Base64, Encoding};
use callseal_core::policy::{
    E2eeSetting, PolicyDocument, PolicySigningKey, PolicyUpdate, UserUpdate,
};
use ed25519_dalek::{Signer, SigningKey};
use serde::Serialize;

use super::fixed::{err, hex};

pub(super) const DESCRIPTION: &str = "PolicyDocument.verify(signed, tenant_key, last_seen_serial): either accepted with serial, issued_at and the document (its canonical JSON, as PolicyDocument.toJson gives it) and the call decision between alice and bob under it, or refused with error (the error code). signed is the document's exact bytes as a UTF-8 string.";

/// The tenant admin's key seed and another tenant's.
const ADMIN_SEED: [u8; 32] = [0x5a; 32];
const OTHER_SEED: [u8; 32] = [0x33; 32];
const ISSUED_AT: u64 = 1_796_169_600; // 2026-12-01T00:00:00Z

#[derive(Serialize)]
pub(super) struct SignedCase {
    name: &'static str,
    tenant_key: String,
    last_seen_serial: u64,
    signed: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    accepted: Option<Accepted>,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<&'static str>,
}

#[derive(Serialize)]
struct Accepted {
    serial: u64,
    issued_at: u64,
    document: String,
    call_e2ee: bool,
    call_reason: String,
}

/// Alice and Bob may make end-to-end encrypted calls.
fn document(calling: E2eeSetting) -> Result<PolicyDocument, String> {
    let mut doc = PolicyDocument::new();
    doc.update_policy(
        "Global",
        PolicyUpdate {
            calling: Some(calling),
            ..Default::default()
        },
    )
    .map_err(err)?;
    for user in ["alice", "bob"] {
        doc.update_user(
            user,
            UserUpdate {
                e2ee_calls: Some(true),
                ..Default::default()
            },
        )
        .map_err(err)?;
    }
    Ok(doc)
}

/// A signed document around `payload` exactly as given, written here
/// independently of the core (docs/POLICY.md's format), so that payloads
/// the core would never sign can be tested.
fn sign_raw(seed: [u8; 32], payload: &[u8]) -> String {
    let key = SigningKey::from_bytes(&seed);
    let mut message = b"callseal/policy/1\0".to_vec();
    message.extend_from_slice(payload);
    let signature = key.sign(&message);
    format!(
        "{{\n  \"format\": \"callseal-signed-policy/1\",\n  \"signer\": \"{}\",\n  \"payload\": \"{}\",\n  \"signature\": \"{}\"\n}}\n",
        hex(key.verifying_key().as_bytes()),
        Base64::encode_string(payload),
        hex(&signature.to_bytes()),
    )
}

fn payload(serial: u64, document: &str) -> String {
    format!(r#"{{"version":1,"serial":{serial},"issued_at":{ISSUED_AT},"document":{document}}}"#)
}

fn compact(doc: &PolicyDocument) -> Result<String, String> {
    let value: serde_json::Value = serde_json::from_str(&doc.to_json()).map_err(err)?;
    serde_json::to_string(&value).map_err(err)
}

pub(super) fn cases() -> Result<Vec<SignedCase>, String> {
    let admin = PolicySigningKey::from_bytes(ADMIN_SEED);
    let other = PolicySigningKey::from_bytes(OTHER_SEED);
    let tenant_key = admin.tenant_key().to_hex();
    let e2ee = document(E2eeSetting::DisabledUserOverride)?;
    let sign = |key: &PolicySigningKey, serial| -> Result<String, String> {
        String::from_utf8(key.sign(&e2ee, serial, ISSUED_AT).map_err(err)?).map_err(err)
    };
    let good = sign(&admin, 5)?;
    let signature_of = |text: &str| -> String {
        let at = text.find("\"signature\": \"").map_or(0, |i| i + 14);
        text[at..at + 128].to_owned()
    };
    let payload_of = |text: &str| -> String {
        let at = text.find("\"payload\": \"").map_or(0, |i| i + 12);
        let end = text[at..].find('"').map_or(at, |i| at + i);
        text[at..end].to_owned()
    };
    let flip = |s: &str, offset: usize| -> String {
        let mut bytes = s.as_bytes().to_vec();
        bytes[offset] = if bytes[offset] == b'A' { b'B' } else { b'A' };
        String::from_utf8(bytes).unwrap_or_default()
    };
    // The server's edit: calls no longer end-to-end encrypted, under the
    // admin's signature of the real document.
    let downgraded = String::from_utf8(
        admin
            .sign(&document(E2eeSetting::Disabled)?, 5, ISSUED_AT)
            .map_err(err)?,
    )
    .map_err(err)?;
    let swapped_payload = good.replace(&payload_of(&good), &payload_of(&downgraded));
    let sig = signature_of(&good);
    let mut sig_flipped = sig.clone();
    sig_flipped.replace_range(0..2, if &sig[0..2] == "00" { "01" } else { "00" });
    let doc = compact(&e2ee)?;
    let dup_doc = doc.replacen("\"bob\":", "\"alice\":", 1);
    let refused = |name, signed: String, last_seen_serial, error| SignedCase {
        name,
        tenant_key: tenant_key.clone(),
        last_seen_serial,
        signed,
        accepted: None,
        error: Some(error),
    };
    let decision = e2ee.evaluate_call("alice", "bob");
    let accepted = |name, signed: String, last_seen_serial, serial| SignedCase {
        name,
        tenant_key: tenant_key.clone(),
        last_seen_serial,
        signed,
        accepted: Some(Accepted {
            serial,
            issued_at: ISSUED_AT,
            document: e2ee.to_json(),
            call_e2ee: decision.e2ee,
            call_reason: decision.reason.to_string(),
        }),
        error: None,
    };
    Ok(vec![
        accepted("first document", good.clone(), 0, 5),
        accepted("the document already held", good.clone(), 5, 5),
        accepted("a newer document", sign(&admin, 9)?, 5, 9),
        refused("rolled back", good.clone(), 6, "replay"),
        refused("another tenant", sign(&other, 5)?, 0, "wrong-peer"),
        refused(
            "another tenant's document relabelled",
            sign(&other, 5)?.replace(&other.tenant_key().to_hex(), &tenant_key),
            0,
            "authentication-failed",
        ),
        refused(
            "payload swapped (calls downgraded)",
            swapped_payload,
            0,
            "authentication-failed",
        ),
        refused(
            "payload byte changed",
            flip(&good, good.find("\"payload\": \"").map_or(0, |i| i + 40)),
            0,
            "authentication-failed",
        ),
        refused(
            "signature byte changed",
            good.replace(&sig, &sig_flipped),
            0,
            "authentication-failed",
        ),
        refused(
            "another tenant, signature not hex (forms are checked first)",
            {
                let theirs = sign(&other, 5)?;
                let their_sig = signature_of(&theirs);
                theirs.replace(&their_sig, &"zz".repeat(64))
            },
            0,
            "malformed",
        ),
        refused(
            "white space added",
            good.replacen("{\n", "{ \n", 1),
            0,
            "malformed",
        ),
        refused(
            "signature in upper case",
            good.replace(&sig, &sig.to_uppercase()),
            0,
            "malformed",
        ),
        refused(
            "duplicate member in the envelope",
            good.replacen("{\n", "{\n  \"format\": \"callseal-signed-policy/1\",\n", 1),
            0,
            "malformed",
        ),
        refused(
            "duplicate user in a signed document",
            sign_raw(ADMIN_SEED, payload(5, &dup_doc).as_bytes()),
            0,
            "malformed",
        ),
        refused(
            "payload version 2",
            sign_raw(
                ADMIN_SEED,
                payload(5, &doc)
                    .replacen("\"version\":1", "\"version\":2", 1)
                    .as_bytes(),
            ),
            0,
            "malformed",
        ),
        refused(
            "unknown payload member",
            sign_raw(
                ADMIN_SEED,
                payload(5, &doc)
                    .replacen("{", "{\"expires\":0,", 1)
                    .as_bytes(),
            ),
            0,
            "malformed",
        ),
        refused(
            "serial 0",
            sign_raw(ADMIN_SEED, payload(0, &doc).as_bytes()),
            0,
            "malformed",
        ),
        refused("not JSON", "callseal".to_owned(), 0, "malformed"),
    ])
}
