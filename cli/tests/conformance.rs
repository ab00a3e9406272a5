//! The committed conformance files (`tests/conformance/`): `callseal
//! vectors` must write them byte for byte, and the core must replay every
//! case exactly as the files say (docs/BINDINGS.md, "Conformance files").

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use std::path::{Path, PathBuf};
use std::process::Command;

use callseal_core::ErrorKind;
use callseal_core::call::{
    CallConfig, CallSession, ExpectedPeer, Handled, MEDIA_RATCHET_BITS, Role, media_generation,
};
use callseal_core::frame::media::{Codec, MediaReceiver, MediaSender};
use callseal_core::frame::{BaseKey, CipherSuite, Counter, Kid, Receiver, ReceiverConfig, Sender};
use callseal_core::identity::{IdentityKeyPair, MemoryIdentityStore, ScriptedEntropy};
use serde_json::Value;

const FILES: [&str; 6] = [
    "frames.json",
    "media.json",
    "errors.json",
    "calls.json",
    "policy.json",
    "policy-signed.json",
];

fn committed_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/conformance")
}

fn load(name: &str) -> Vec<Value> {
    let text = std::fs::read_to_string(committed_dir().join(name)).unwrap();
    let json: Value = serde_json::from_str(&text).unwrap();
    // calls.json is at format version 2 (protocol version 2, issue #12).
    let version = if name == "calls.json" { 2 } else { 1 };
    assert_eq!(json["version"], version, "{name}");
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

fn hex_list(v: &Value) -> Vec<Vec<u8>> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|m| hex::decode(m.as_str().unwrap()).unwrap())
        .collect()
}

/// One side of a replayed call.
struct CallSide {
    session: CallSession,
    store: MemoryIdentityStore,
    tx: MediaSender,
    rx: MediaReceiver,
}

impl CallSide {
    /// Handles a rekey message with exactly `entropy`; applies the media
    /// update, which every rekey step gives; returns the reply.
    fn rekey_step(&mut self, msg: &[u8], entropy: Vec<u8>) -> Option<Vec<u8>> {
        let mut entropy = ScriptedEntropy::new(entropy);
        let handled: Handled = self
            .session
            .handle_with(msg, &mut self.store, &mut entropy)
            .unwrap();
        assert_eq!(entropy.remaining(), 0);
        assert_eq!(handled.ignored, None);
        handled
            .media
            .expect("a rekey step gives a media update")
            .apply(self.tx.sender_mut(), self.rx.receiver_mut())
            .unwrap();
        handled.reply
    }
}

/// Each side's sender encrypts `frames.payload` to exactly the given frame,
/// under `generation(role, epoch)` step 0; the other side decrypts it.
fn replay_frames(name: &Value, i: &mut CallSide, r: &mut CallSide, frames: &Value, epoch: u32) {
    assert_eq!(frames["codec"], "generic", "{name}");
    let payload = bytes(frames, "payload");
    for (role, field) in [
        (Role::Initiator, "initiator_to_responder"),
        (Role::Responder, "responder_to_initiator"),
    ] {
        let (from, to) = match role {
            Role::Initiator => (&mut *i, &mut *r),
            Role::Responder => (&mut *r, &mut *i),
        };
        let kid = Kid(media_generation(role, epoch) << MEDIA_RATCHET_BITS);
        assert_eq!(from.tx.sender().kid(), kid, "{name}: {field} key id");
        let mut frame = Vec::new();
        from.tx
            .encrypt_frame(Codec::Generic, &payload, &mut frame)
            .unwrap();
        assert_eq!(frame, bytes(frames, field), "{name}: epoch {epoch} {field}");
        let mut out = Vec::new();
        let info = to.rx.decrypt_frame(&frame, &mut out).unwrap();
        assert_eq!((info.kid, info.ctr), (kid, Counter(0)), "{name}: {field}");
        assert_eq!(out, payload, "{name}: epoch {epoch} {field}");
    }
}

#[test]
fn calls_replay() {
    let cases = load("calls.json");
    let mut offerers = std::collections::BTreeSet::new();
    let mut suites = std::collections::BTreeSet::new();
    for case in &cases {
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
        let messages = hex_list(&case["messages"]);
        assert_eq!(messages.len(), 4, "{name}");
        let config = CallConfig {
            suite: suite(case),
            allow_short_tags: case["allow_short_tags"].as_bool().unwrap(),
            ..CallConfig::default()
        };
        suites.insert(config.suite.id());
        let (mut i_store, mut r_store) = (MemoryIdentityStore::new(), MemoryIdentityStore::new());

        // The handshake.
        let peer = ExpectedPeer::new(&r_uid).unwrap();
        let (mut i, commit) =
            CallSession::initiate(&i_id, &i_uid, &peer, &config, &mut i_entropy).unwrap();
        assert_eq!(i_entropy.remaining(), 0, "{name}");
        assert_eq!(commit, messages[0], "{name}: commit");
        let (mut r, response) =
            CallSession::respond(&r_id, &r_uid, None, &commit, &config, &mut r_entropy).unwrap();
        assert_eq!(r_entropy.remaining(), 0, "{name}");
        assert_eq!(response, messages[1], "{name}: response");
        let handled = i.handle(&response, &mut i_store).unwrap();
        assert!(
            handled.media.is_none() && handled.ignored.is_none(),
            "{name}"
        );
        let reveal = handled.reply.unwrap();
        assert_eq!(reveal, messages[2], "{name}: reveal");
        let handled = r.handle(&reveal, &mut r_store).unwrap();
        assert!(
            handled.media.is_none() && handled.ignored.is_none(),
            "{name}"
        );
        let confirm = handled.reply.unwrap();
        assert_eq!(confirm, messages[3], "{name}: confirm");
        let handled = i.handle(&confirm, &mut i_store).unwrap();
        assert!(handled.reply.is_none() && handled.media.is_none(), "{name}");
        assert!(handled.ignored.is_none(), "{name}");

        let code = case["security_code"].as_str().unwrap();
        assert_eq!(i.security_code().unwrap().to_string(), code, "{name}");
        assert_eq!(r.security_code().unwrap().to_string(), code, "{name}");
        assert_eq!(i.peer_uid(), Some(r_uid.as_str()));
        assert_eq!(r.peer_uid(), Some(i_uid.as_str()));

        // Epoch 0 media.
        let (i_tx, i_rx) = i.take_media().unwrap();
        let (r_tx, r_rx) = r.take_media().unwrap();
        let mut i = CallSide {
            session: i,
            store: i_store,
            tx: MediaSender::new(i_tx),
            rx: MediaReceiver::new(i_rx),
        };
        let mut r = CallSide {
            session: r,
            store: r_store,
            tx: MediaSender::new(r_tx),
            rx: MediaReceiver::new(r_rx),
        };
        replay_frames(name, &mut i, &mut r, &case["first_frames"], 0);

        // The rekey: offer, answer, done; the media updates applied.
        let rekey = &case["rekey"];
        let rekey_messages = hex_list(&rekey["messages"]);
        assert_eq!(rekey_messages.len(), 3, "{name}");
        let offerer = rekey["offerer"].as_str().unwrap();
        offerers.insert(offerer.to_owned());
        let (o, a) = match offerer {
            "initiator" => (&mut i, &mut r),
            "responder" => (&mut r, &mut i),
            other => panic!("{name}: unknown offerer {other}"),
        };
        let mut o_entropy = ScriptedEntropy::new(bytes(rekey, "offerer_entropy"));
        let offer = o.session.rekey_with(&mut o_entropy).unwrap();
        assert_eq!(o_entropy.remaining(), 0, "{name}");
        assert_eq!(offer, rekey_messages[0], "{name}: rekey offer");
        let answer = a
            .rekey_step(&offer, bytes(rekey, "answerer_entropy"))
            .unwrap();
        assert_eq!(answer, rekey_messages[1], "{name}: rekey answer");
        let done = o.rekey_step(&answer, Vec::new()).unwrap();
        assert_eq!(done, rekey_messages[2], "{name}: rekey done");
        assert_eq!(a.rekey_step(&done, Vec::new()), None, "{name}");
        let epoch = u32::try_from(rekey["epoch"].as_u64().unwrap()).unwrap();
        assert_eq!(epoch, 1, "{name}");
        assert_eq!((i.session.epoch(), r.session.epoch()), (epoch, epoch));
        assert_eq!(i.session.security_code().unwrap().to_string(), code);
        replay_frames(name, &mut i, &mut r, &rekey["frames"], epoch);
    }
    assert_eq!(suites.len(), 8, "every suite is covered");
    assert_eq!(offerers.len(), 2, "both roles offer a rekey");
    assert!(cases.iter().any(|c| c["name"] == "unicode-uids"));
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

#[test]
fn signed_policies_replay_exactly() {
    use callseal_core::policy::{PolicyDocument, TenantKey};
    let cases = load("policy-signed.json");
    let mut codes = std::collections::BTreeSet::new();
    for c in &cases {
        let name = c["name"].as_str().unwrap();
        let key = TenantKey::from_hex(c["tenant_key"].as_str().unwrap()).unwrap();
        let got = PolicyDocument::verify(
            c["signed"].as_str().unwrap().as_bytes(),
            &key,
            c["last_seen_serial"].as_u64().unwrap(),
        );
        match (&got, c["error"].as_str()) {
            (Ok(verified), None) => {
                let want = &c["accepted"];
                assert_eq!(
                    verified.serial(),
                    want["serial"].as_u64().unwrap(),
                    "{name}"
                );
                assert_eq!(
                    verified.issued_at(),
                    want["issued_at"].as_u64().unwrap(),
                    "{name}"
                );
                assert_eq!(
                    verified.document().to_json(),
                    want["document"].as_str().unwrap(),
                    "{name}"
                );
                let decision = verified.document().evaluate_call("alice", "bob");
                assert_eq!(
                    decision.e2ee,
                    want["call_e2ee"].as_bool().unwrap(),
                    "{name}"
                );
                assert_eq!(
                    decision.reason.to_string(),
                    want["call_reason"].as_str().unwrap(),
                    "{name}"
                );
            }
            (Err(e), Some(code)) => {
                assert_eq!(e.kind().code(), code, "{name}: {e}");
                codes.insert(code);
            }
            _ => panic!("{name}: got {got:?}, want {:?}", c["error"]),
        }
    }
    assert_eq!(
        codes.into_iter().collect::<Vec<_>>(),
        ["authentication-failed", "malformed", "replay", "wrong-peer"]
    );
}
