//! The committed conformance files (`tests/conformance/`): `callseal
//! vectors` must write them byte for byte, and the core must replay every
//! case exactly as the files say (docs/BINDINGS.md, "Conformance files").

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use std::path::{Path, PathBuf};
use std::process::Command;

use callseal_core::ErrorKind;
use callseal_core::call::CallSession;
use callseal_core::frame::media::{Codec, MediaReceiver, MediaSender};
use callseal_core::frame::{BaseKey, CipherSuite, Counter, Kid, Receiver, ReceiverConfig, Sender};
use callseal_core::identity::{IdentityKeyPair, MemoryIdentityStore, ScriptedEntropy};
use serde_json::Value;

const FILES: [&str; 5] = [
    "frames.json",
    "media.json",
    "errors.json",
    "calls.json",
    "policy.json",
];

fn committed_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/conformance")
}

fn load(name: &str) -> Vec<Value> {
    let text = std::fs::read_to_string(committed_dir().join(name)).unwrap();
    let json: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(json["version"], 1, "{name}");
    let cases = json["cases"].as_array().unwrap().clone();
    assert!(!cases.is_empty(), "{name}");
    cases
}

fn bytes(case: &Value, field: &str) -> Vec<u8> {
    hex::decode(case[field].as_str().unwrap()).unwrap()
}

fn u64_of(case: &Value, field: &str) -> u64 {
    case[field].as_str().unwrap().parse().unwrap()
}

fn suite(case: &Value) -> CipherSuite {
    CipherSuite::from_id(case["suite"].as_u64().unwrap() as u16).unwrap()
}

fn codec(name: &str) -> Codec {
    Codec::ALL.into_iter().find(|c| c.name() == name).unwrap()
}

#[test]
fn regenerated_files_match_the_committed_ones() {
    let out = std::env::temp_dir().join(format!("callseal-conformance-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&out);
    let status = Command::new(env!("CARGO_BIN_EXE_callseal"))
        .args(["vectors", "--out"])
        .arg(&out)
        .output()
        .unwrap();
    assert!(status.status.success(), "{status:?}");
    let mut written: Vec<_> = std::fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    written.sort();
    let mut expected: Vec<_> = FILES.iter().map(|s| s.to_string()).collect();
    expected.sort();
    assert_eq!(written, expected);
    for name in FILES {
        let fresh = std::fs::read(out.join(name)).unwrap();
        let committed = std::fs::read(committed_dir().join(name)).unwrap();
        assert!(
            fresh == committed,
            "{name} differs from tests/conformance/{name}: run \
             `cargo run -p callseal-cli -- vectors --out tests/conformance` and review the diff"
        );
    }
    std::fs::remove_dir_all(&out).unwrap();
}

#[test]
fn frames_replay() {
    let cases = load("frames.json");
    let suites: std::collections::BTreeSet<_> = cases.iter().map(|c| suite(c).id()).collect();
    assert_eq!(suites.len(), 8, "every suite is covered");
    for case in &cases {
        let (kid, ctr) = (Kid(u64_of(case, "kid")), Counter(u64_of(case, "counter")));
        let key = bytes(case, "base_key");
        let mut sender =
            Sender::starting_at(suite(case), kid, BaseKey::new(&key).unwrap(), ctr).unwrap();
        let frame = sender
            .encrypt(&bytes(case, "metadata"), &bytes(case, "payload"))
            .unwrap();
        assert_eq!(frame, bytes(case, "frame"), "{}", case["name"]);
        let mut receiver = Receiver::new(ReceiverConfig::default());
        receiver
            .add_key(kid, suite(case), BaseKey::new(&key).unwrap())
            .unwrap();
        let payload = receiver.decrypt(&bytes(case, "metadata"), &frame).unwrap();
        assert_eq!(payload, bytes(case, "payload"), "{}", case["name"]);
    }
}

#[test]
fn media_replay() {
    let cases = load("media.json");
    let codecs: std::collections::BTreeSet<_> =
        cases.iter().map(|c| c["codec"].as_str().unwrap()).collect();
    assert_eq!(codecs.len(), Codec::ALL.len(), "every codec is covered");
    for case in &cases {
        let (kid, ctr) = (Kid(u64_of(case, "kid")), Counter(u64_of(case, "counter")));
        let key = bytes(case, "base_key");
        let codec = codec(case["codec"].as_str().unwrap());
        let sender =
            Sender::starting_at(suite(case), kid, BaseKey::new(&key).unwrap(), ctr).unwrap();
        let mut protected = Vec::new();
        MediaSender::new(sender)
            .encrypt_frame(codec, &bytes(case, "frame"), &mut protected)
            .unwrap();
        assert_eq!(protected, bytes(case, "protected"), "{}", case["name"]);
        let mut receiver = MediaReceiver::new(Receiver::new(ReceiverConfig::default()));
        receiver
            .receiver_mut()
            .add_key(kid, suite(case), BaseKey::new(&key).unwrap())
            .unwrap();
        let mut out = Vec::new();
        let info = receiver.decrypt_frame(&protected, &mut out).unwrap();
        assert_eq!((info.codec, info.kid, info.ctr), (codec, kid, ctr));
        assert_eq!(out, bytes(case, "decrypted"), "{}", case["name"]);
    }
}

/// The kind of the first failing step of an errors.json case, if any.
fn error_outcome(case: &Value) -> Option<ErrorKind> {
    let suite = match CipherSuite::from_id(case["suite"].as_u64().unwrap() as u16) {
        Ok(s) => s,
        Err(e) => return Some(e.kind()),
    };
    let key = match BaseKey::new(&bytes(case, "base_key")) {
        Ok(k) => k,
        Err(e) => return Some(e.kind()),
    };
    let mut receiver = Receiver::new(ReceiverConfig::default());
    if let Err(e) = receiver.add_key(Kid(u64_of(case, "kid")), suite, key) {
        return Some(e.kind());
    }
    let before: Vec<Vec<u8>> = case["before"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| hex::decode(v.as_str().unwrap()).unwrap())
        .collect();
    let input = bytes(case, "input");
    let metadata = bytes(case, "metadata");
    match case["operation"].as_str().unwrap() {
        "frame-decrypt" => {
            for frame in &before {
                receiver.decrypt(&metadata, frame).unwrap();
            }
            receiver.decrypt(&metadata, &input).err().map(|e| e.kind())
        }
        "media-decrypt" => {
            let mut receiver = MediaReceiver::new(receiver);
            let mut out = Vec::new();
            for frame in &before {
                receiver.decrypt_frame(frame, &mut out).unwrap();
            }
            receiver
                .decrypt_frame(&input, &mut out)
                .err()
                .map(|e| e.kind())
        }
        other => panic!("unknown operation {other}"),
    }
}

#[test]
fn errors_replay() {
    let cases = load("errors.json");
    for case in &cases {
        let expected = ErrorKind::from_code(case["error"].as_str().unwrap()).unwrap();
        assert_eq!(error_outcome(case), Some(expected), "{}", case["name"]);
    }
    let kinds: std::collections::BTreeSet<_> =
        cases.iter().map(|c| c["error"].as_str().unwrap()).collect();
    for kind in [
        "malformed",
        "authentication-failed",
        "replay",
        "unknown-key-id",
        "invalid-argument",
    ] {
        assert!(kinds.contains(kind), "no case for {kind}");
    }
}

#[test]
fn calls_replay() {
    for case in &load("calls.json") {
        let name = &case["name"];
        let party = |side: &str| {
            let p = &case[side];
            let secret: [u8; 32] = bytes(p, "identity_secret").try_into().unwrap();
            (
                IdentityKeyPair::from_bytes(secret),
                p["uid"].as_str().unwrap().to_owned(),
                ScriptedEntropy::new(bytes(p, "entropy")),
            )
        };
        let (i_id, i_uid, mut i_entropy) = party("initiator");
        let (r_id, r_uid, mut r_entropy) = party("responder");
        let messages: Vec<Vec<u8>> = case["messages"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| hex::decode(m.as_str().unwrap()).unwrap())
            .collect();
        assert_eq!(messages.len(), 4, "{name}");
        let (mut i_store, mut r_store) = (MemoryIdentityStore::new(), MemoryIdentityStore::new());

        let (mut i, commit) =
            CallSession::initiate(&i_id, &i_uid, suite(case), &mut i_entropy).unwrap();
        assert_eq!(commit, messages[0], "{name}: commit");
        let (mut r, response) =
            CallSession::respond(&r_id, &r_uid, &commit, &mut r_entropy).unwrap();
        assert_eq!(response, messages[1], "{name}: response");
        let reveal = i.handle(&response, &mut i_store).unwrap().unwrap();
        assert_eq!(reveal, messages[2], "{name}: reveal");
        let confirm = r.handle(&reveal, &mut r_store).unwrap().unwrap();
        assert_eq!(confirm, messages[3], "{name}: confirm");
        assert_eq!(i.handle(&confirm, &mut i_store).unwrap(), None);

        let code = case["security_code"].as_str().unwrap();
        assert_eq!(i.security_code().unwrap().to_string(), code, "{name}");
        assert_eq!(r.security_code().unwrap().to_string(), code, "{name}");
        assert_eq!(i.peer_uid(), Some(r_uid.as_str()));
        assert_eq!(r.peer_uid(), Some(i_uid.as_str()));

        let first = &case["first_frames"];
        assert_eq!(first["codec"], "generic");
        let payload = bytes(first, "payload");
        let (i_tx, i_rx) = i.take_media().unwrap();
        let (r_tx, r_rx) = r.take_media().unwrap();
        for (tx, rx, field) in [
            (i_tx, r_rx, "initiator_to_responder"),
            (r_tx, i_rx, "responder_to_initiator"),
        ] {
            let mut frame = Vec::new();
            MediaSender::new(tx)
                .encrypt_frame(Codec::Generic, &payload, &mut frame)
                .unwrap();
            assert_eq!(frame, bytes(first, field), "{name}: {field}");
            let mut out = Vec::new();
            MediaReceiver::new(rx)
                .decrypt_frame(&frame, &mut out)
                .unwrap();
            assert_eq!(out, payload, "{name}: {field}");
        }
    }
}

#[test]
fn policy_decisions_replay_exactly() {
    use callseal_core::policy::{Participant, PolicyDocument};
    let cases = load("policy.json");
    for c in &cases {
        let name = c["name"].as_str().unwrap();
        let doc = PolicyDocument::from_json(c["document"].as_str().unwrap().as_bytes()).unwrap();
        let got = match c["kind"].as_str().unwrap() {
            "call" => serde_json::to_value(
                doc.evaluate_call(c["caller"].as_str().unwrap(), c["callee"].as_str().unwrap()),
            )
            .unwrap(),
            "meeting" => {
                let participants: Vec<Participant> = c["participants"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|p| {
                        Participant::new(
                            p["user"].as_str().unwrap(),
                            p["platform"].as_str().unwrap().parse().unwrap(),
                        )
                    })
                    .collect();
                serde_json::to_value(doc.evaluate_meeting(
                    c["organizer"].as_str().unwrap(),
                    c["organizer_e2ee"].as_bool().unwrap(),
                    &participants,
                ))
                .unwrap()
            }
            other => panic!("unknown kind {other}"),
        };
        assert_eq!(got, c["decision"], "{name}");
    }
    let reasons: std::collections::BTreeSet<_> = cases
        .iter()
        .map(|c| c["decision"]["reason"].as_str().unwrap())
        .collect();
    for reason in [
        "ok",
        "policy-disabled",
        "user-setting-off",
        "compliance-recording",
        "organizer-setting-off",
    ] {
        assert!(reasons.contains(reason), "{reason}");
    }
}
