//! 1:1 call handshake: happy path, man in the middle, adversarial messages,
//! key continuity, identity stores and in-call rekeying (PROTOCOL.md §3).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use callseal_core::call::{CallError, CallSession, CallState, Indicator, MessageType, Role};
use callseal_core::frame::{self, CipherSuite, Kid};
use callseal_core::identity::PeerStatus;
use callseal_core::identity::{
    Entropy, EntropyError, FileIdentityStore, IdentityError, IdentityKeyPair, IdentityStore,
    MemoryIdentityStore, SecurityCode, StoredIdentity,
};
use proptest::prelude::*;
use sha2::{Digest, Sha256};

/// Deterministic entropy for tests: SHA-256(seed || counter) blocks.
struct Seeded {
    seed: u64,
    counter: u64,
}

impl Seeded {
    fn new(seed: u64) -> Self {
        Self { seed, counter: 0 }
    }
}

impl Entropy for Seeded {
    fn fill(&mut self, dest: &mut [u8]) -> Result<(), EntropyError> {
        for chunk in dest.chunks_mut(32) {
            let block = Sha256::new()
                .chain_update(self.seed.to_be_bytes())
                .chain_update(self.counter.to_be_bytes())
                .finalize();
            self.counter += 1;
            chunk.copy_from_slice(&block[..chunk.len()]);
        }
        Ok(())
    }
}

fn key(seed: u64) -> IdentityKeyPair {
    IdentityKeyPair::generate_with(&mut Seeded::new(seed ^ 0x1d_e7_17_7e)).unwrap()
}

const SUITE: CipherSuite = CipherSuite::AesGcm128Sha256;

/// The four messages of one handshake.
struct Transcript {
    commit: Vec<u8>,
    response: Vec<u8>,
    reveal: Vec<u8>,
    confirm: Vec<u8>,
}

/// Runs a full handshake between `alice` (initiator) and `bob`.
fn handshake(
    alice: &IdentityKeyPair,
    bob: &IdentityKeyPair,
    seed: u64,
    alice_store: &mut dyn IdentityStore,
    bob_store: &mut dyn IdentityStore,
) -> (CallSession, CallSession, Transcript) {
    let (mut a, commit) =
        CallSession::initiate(alice, "alice", SUITE, &mut Seeded::new(seed)).unwrap();
    let (mut b, response) =
        CallSession::respond(bob, "bob", &commit, &mut Seeded::new(!seed)).unwrap();
    let reveal = a.handle(&response, alice_store).unwrap().unwrap();
    let confirm = b.handle(&reveal, bob_store).unwrap().unwrap();
    assert_eq!(a.handle(&confirm, alice_store).unwrap(), None);
    let t = Transcript {
        commit,
        response,
        reveal,
        confirm,
    };
    (a, b, t)
}

/// Messages of a fresh handshake, with both stores empty.
fn transcript(seed: u64) -> Transcript {
    let (alice, bob) = (key(1), key(2));
    handshake(
        &alice,
        &bob,
        seed,
        &mut MemoryIdentityStore::new(),
        &mut MemoryIdentityStore::new(),
    )
    .2
}

/// Which session a message of a given stage is fed to, freshly set up so
/// that it expects exactly that message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Stage {
    Commit,
    Response,
    Reveal,
    Confirm,
}

const STAGES: [Stage; 4] = [
    Stage::Commit,
    Stage::Response,
    Stage::Reveal,
    Stage::Confirm,
];

fn message(t: &Transcript, stage: Stage) -> &[u8] {
    match stage {
        Stage::Commit => &t.commit,
        Stage::Response => &t.response,
        Stage::Reveal => &t.reveal,
        Stage::Confirm => &t.confirm,
    }
}

/// Delivers `msg` in place of the message of `stage` to a session that waits
/// for it (a fresh one on seed `seed`), and returns that session (if one was
/// made) and the result.
fn deliver(seed: u64, stage: Stage, msg: &[u8]) -> (Option<CallSession>, Result<(), CallError>) {
    let (alice, bob) = (key(1), key(2));
    let mut store = MemoryIdentityStore::new();
    let (mut a, commit) =
        CallSession::initiate(&alice, "alice", SUITE, &mut Seeded::new(seed)).unwrap();
    if stage == Stage::Commit {
        let r = CallSession::respond(&bob, "bob", msg, &mut Seeded::new(!seed));
        return match r {
            Ok((b, _)) => (Some(b), Ok(())),
            Err(e) => (None, Err(e)),
        };
    }
    let (mut b, response) =
        CallSession::respond(&bob, "bob", &commit, &mut Seeded::new(!seed)).unwrap();
    if stage == Stage::Response {
        let r = a.handle(msg, &mut store).map(drop);
        return (Some(a), r);
    }
    let reveal = a.handle(&response, &mut store).unwrap().unwrap();
    if stage == Stage::Reveal {
        let r = b.handle(msg, &mut store).map(drop);
        return (Some(b), r);
    }
    b.handle(&reveal, &mut store).unwrap().unwrap();
    let r = a.handle(msg, &mut store).map(drop);
    (Some(a), r)
}

fn assert_failed(session: &mut CallSession) {
    assert_eq!(session.state(), CallState::Failed);
    assert_eq!(session.indicator(), Indicator::Hidden);
    assert_eq!(session.security_code(), None);
    assert!(matches!(
        session.handle(&[1; 50], &mut MemoryIdentityStore::new()),
        Err(CallError::SessionFailed)
    ));
    assert!(matches!(
        session.take_media(),
        Err(CallError::NotEstablished)
    ));
}

fn is_code(text: &str) -> bool {
    let groups: Vec<&str> = text.split(' ').collect();
    text.len() == 23
        && groups.len() == 4
        && groups
            .iter()
            .all(|g| g.len() == 5 && g.bytes().all(|b| b.is_ascii_digit()))
}

#[test]
fn happy_path_codes_states_and_media_both_ways() {
    let (alice, bob) = (key(1), key(2));
    let (mut sa, mut sb) = (MemoryIdentityStore::new(), MemoryIdentityStore::new());
    let (mut a, commit) =
        CallSession::initiate(&alice, "alice", SUITE, &mut Seeded::new(9)).unwrap();
    assert_eq!(
        (a.state(), a.indicator()),
        (CallState::Negotiating, Indicator::Hidden)
    );
    assert_eq!(
        (a.role(), a.uid(), a.suite()),
        (Role::Initiator, "alice", SUITE)
    );
    assert_eq!(commit[0..2], [0x01, MessageType::Commit as u8]);
    assert_eq!(commit.len(), 18 + 2 + 1 + 5 + 32 + 32);

    let (mut b, response) =
        CallSession::respond(&bob, "bob", &commit, &mut Seeded::new(10)).unwrap();
    assert_eq!(b.session_id(), a.session_id());
    assert_eq!(b.state(), CallState::Negotiating);
    assert_eq!(b.peer_uid(), Some("alice"));
    assert_eq!(b.security_code(), None);
    assert_eq!(response.len(), 18 + 1 + 3 + 64);

    let reveal = a.handle(&response, &mut sa).unwrap().unwrap();
    assert_eq!(reveal.len(), 18 + 64);
    assert_eq!(a.state(), CallState::Negotiating);
    let confirm = b.handle(&reveal, &mut sb).unwrap().unwrap();
    assert_eq!(confirm.len(), 18 + 32);
    assert_eq!(b.state(), CallState::Encrypted);
    assert_eq!(a.handle(&confirm, &mut sa).unwrap(), None);

    for s in [&a, &b] {
        assert_eq!(s.state(), CallState::Encrypted);
        assert_eq!(s.indicator(), Indicator::LockAndShield);
        assert_eq!(s.peer_status(), Some(PeerStatus::New));
    }
    let code = a.security_code().unwrap();
    assert_eq!(Some(code), b.security_code());
    assert!(is_code(&code.to_string()), "{code}");
    assert_eq!(a.peer_identity(), Some(bob.public_key()));
    assert_eq!(b.peer_identity(), Some(alice.public_key()));
    assert_eq!(
        sa.get("bob").unwrap(),
        Some(StoredIdentity {
            public_key: bob.public_key(),
            verified: false
        })
    );

    let (mut a_tx, mut a_rx) = a.take_media().unwrap();
    let (mut b_tx, mut b_rx) = b.take_media().unwrap();
    assert!(matches!(a.take_media(), Err(CallError::MediaTaken)));
    assert_eq!(a_tx.kid(), Kid(1 << 8));
    assert_eq!(b_tx.kid(), Kid(2 << 8));
    for i in 0..20u8 {
        let f = a_tx.encrypt(&[i], &[i; 33]).unwrap();
        assert_eq!(b_rx.decrypt(&[i], &f).unwrap(), [i; 33]);
        let g = b_tx.encrypt(b"m", &[i; 7]).unwrap();
        assert_eq!(a_rx.decrypt(b"m", &g).unwrap(), [i; 7]);
        // A side cannot read its own direction: the keys differ per direction.
        assert!(a_rx.decrypt(&[i], &f).is_err());
    }
}

#[test]
fn every_suite_agrees_and_carries_media() {
    for id in 1..=8u16 {
        let suite = CipherSuite::from_id(id).unwrap();
        let (alice, bob) = (key(3), key(4));
        let mut store = MemoryIdentityStore::new();
        let (mut a, commit) =
            CallSession::initiate(&alice, "a", suite, &mut Seeded::new(u64::from(id))).unwrap();
        let (mut b, response) =
            CallSession::respond(&bob, "b", &commit, &mut Seeded::new(99)).unwrap();
        assert_eq!(b.suite(), suite);
        let reveal = a.handle(&response, &mut store).unwrap().unwrap();
        let confirm = b.handle(&reveal, &mut store).unwrap().unwrap();
        a.handle(&confirm, &mut store).unwrap();
        assert_eq!(a.security_code(), b.security_code());
        let (mut tx, _) = b.take_media().unwrap();
        let (_, mut rx) = a.take_media().unwrap();
        let f = tx.encrypt(b"", b"x").unwrap();
        assert_eq!(rx.decrypt(b"", &f).unwrap(), b"x");
    }
}

#[test]
fn different_sessions_give_different_codes_and_keys() {
    let (alice, bob) = (key(1), key(2));
    let mut s = MemoryIdentityStore::new();
    let (a1, _, _) = handshake(&alice, &bob, 1, &mut s, &mut MemoryIdentityStore::new());
    let (a2, _, _) = handshake(&alice, &bob, 2, &mut s, &mut MemoryIdentityStore::new());
    assert_ne!(a1.security_code(), a2.security_code());
}

/// A relay that runs its own responder toward Alice and its own initiator
/// toward Bob, with its own identity key, and tries to make the codes match.
fn mitm_trial(seed: u64) -> (SecurityCode, SecurityCode) {
    let (alice, bob, mallory) = (key(1), key(2), key(seed.wrapping_add(1000)));
    let (mut sa, mut sb, mut sm) = (
        MemoryIdentityStore::new(),
        MemoryIdentityStore::new(),
        MemoryIdentityStore::new(),
    );
    let (mut a, commit_a) =
        CallSession::initiate(&alice, "alice", SUITE, &mut Seeded::new(seed << 2)).unwrap();
    // Toward Alice, Mallory answers as "bob".
    let (mut m_to_a, response_m) = CallSession::respond(
        &mallory,
        "bob",
        &commit_a,
        &mut Seeded::new((seed << 2) | 1),
    )
    .unwrap();
    // Toward Bob, Mallory calls as "alice".
    let (mut m_to_b, commit_m) =
        CallSession::initiate(&mallory, "alice", SUITE, &mut Seeded::new((seed << 2) | 2)).unwrap();
    let (mut b, response_b) =
        CallSession::respond(&bob, "bob", &commit_m, &mut Seeded::new((seed << 2) | 3)).unwrap();
    let reveal_m = m_to_b.handle(&response_b, &mut sm).unwrap().unwrap();
    let confirm_b = b.handle(&reveal_m, &mut sb).unwrap().unwrap();
    m_to_b.handle(&confirm_b, &mut sm).unwrap();
    let reveal_a = a.handle(&response_m, &mut sa).unwrap().unwrap();
    let confirm_m = m_to_a.handle(&reveal_a, &mut sm).unwrap().unwrap();
    a.handle(&confirm_m, &mut sa).unwrap();
    // Each side completed a handshake (with Mallory) and shows the lock only.
    assert_eq!(a.state(), CallState::Encrypted);
    assert_eq!(b.state(), CallState::Encrypted);
    (a.security_code().unwrap(), b.security_code().unwrap())
}

#[test]
fn mitm_never_gets_equal_codes_in_10000_trials() {
    let mut equal = 0u32;
    for seed in 0..10_000u64 {
        let (a, b) = mitm_trial(seed);
        if a == b {
            equal += 1;
        }
    }
    assert_eq!(equal, 0);
}

#[test]
fn relay_forwarding_commit_but_swapping_response_fails_at_mac() {
    // Mallory forwards Alice's Commit to Bob but answers Alice herself: she
    // cannot produce a Reveal Bob accepts, since she does not know EK_I's
    // secret and Alice's Reveal carries a MAC over another transcript.
    let (alice, bob, mallory) = (key(1), key(2), key(3));
    let mut store = MemoryIdentityStore::new();
    let (mut a, commit) =
        CallSession::initiate(&alice, "alice", SUITE, &mut Seeded::new(5)).unwrap();
    let (mut b, _response_b) =
        CallSession::respond(&bob, "bob", &commit, &mut Seeded::new(6)).unwrap();
    let (_m, response_m) =
        CallSession::respond(&mallory, "bob", &commit, &mut Seeded::new(7)).unwrap();
    let reveal = a.handle(&response_m, &mut store).unwrap().unwrap();
    assert!(matches!(
        b.handle(&reveal, &mut store),
        Err(CallError::BadMac)
    ));
    assert_failed(&mut b);
}

#[test]
fn reveal_not_matching_commitment_fails() {
    let t = transcript(11);
    for i in 18..50 {
        let mut reveal = t.reveal.clone();
        reveal[i] ^= 0x20;
        let (session, result) = deliver(11, Stage::Reveal, &reveal);
        assert!(
            matches!(result, Err(CallError::CommitmentMismatch)),
            "byte {i}"
        );
        assert_failed(&mut session.unwrap());
    }
    // A Reveal of another session, re-labelled with this session's id, does
    // not match the commitment either.
    let other = transcript(12);
    let mut reveal = other.reveal.clone();
    reveal[2..18].copy_from_slice(&t.reveal[2..18]);
    let (session, result) = deliver(11, Stage::Reveal, &reveal);
    assert!(matches!(result, Err(CallError::CommitmentMismatch)));
    assert_failed(&mut session.unwrap());
}

#[test]
fn messages_of_an_older_session_are_refused() {
    let old = transcript(20);
    for stage in [Stage::Response, Stage::Reveal, Stage::Confirm] {
        let (session, result) = deliver(21, stage, message(&old, stage));
        assert!(
            matches!(result, Err(CallError::SessionMismatch)),
            "{stage:?}"
        );
        assert_failed(&mut session.unwrap());
    }
    // Re-labelled with the new session id, an old Response is accepted by the
    // initiator (it carries no MAC) but the old Confirm cannot complete the
    // new session: EK_I is fresh, so the transcript and MAC keys differ.
    let new = transcript(21);
    let sid = &new.commit[2..18];
    let (alice, bob) = (key(1), key(2));
    let mut store = MemoryIdentityStore::new();
    let (mut a, _) = CallSession::initiate(&alice, "alice", SUITE, &mut Seeded::new(21)).unwrap();
    let mut response = old.response.clone();
    response[2..18].copy_from_slice(sid);
    a.handle(&response, &mut store).unwrap().unwrap();
    let mut confirm = old.confirm.clone();
    confirm[2..18].copy_from_slice(sid);
    assert!(matches!(
        a.handle(&confirm, &mut store),
        Err(CallError::BadMac)
    ));
    assert_failed(&mut a);
    // And an old Commit starts a responder session that an old Reveal cannot
    // complete with a new responder ephemeral key.
    let (mut b, _) = CallSession::respond(&bob, "bob", &old.commit, &mut Seeded::new(77)).unwrap();
    assert!(matches!(
        b.handle(&old.reveal, &mut store),
        Err(CallError::BadMac)
    ));
    assert_failed(&mut b);
}

#[test]
fn reordered_duplicated_and_reflected_messages_are_unexpected() {
    let t = transcript(30);
    let unexpected = |r: Result<(), CallError>, got: MessageType, want: Option<MessageType>| match r
    {
        Err(CallError::UnexpectedMessage { received, expected }) => {
            assert_eq!((received, expected), (got, want));
        }
        other => panic!("{other:?}"),
    };
    // Reordered: Confirm before Response; Commit in place of Reveal.
    let (s, r) = deliver(30, Stage::Response, &t.confirm);
    unexpected(r, MessageType::Confirm, Some(MessageType::Response));
    assert_failed(&mut s.unwrap());
    let (s, r) = deliver(30, Stage::Reveal, &t.confirm);
    unexpected(r, MessageType::Confirm, Some(MessageType::Reveal));
    assert_failed(&mut s.unwrap());
    // Reflected: each side's own message sent back to it.
    for (stage, own, kind) in [
        (Stage::Response, &t.commit, MessageType::Commit),
        (Stage::Reveal, &t.response, MessageType::Response),
        (Stage::Confirm, &t.reveal, MessageType::Reveal),
    ] {
        let (s, r) = deliver(30, stage, own);
        let want = match stage {
            Stage::Response => MessageType::Response,
            Stage::Reveal => MessageType::Reveal,
            _ => MessageType::Confirm,
        };
        unexpected(r, kind, Some(want));
        assert_failed(&mut s.unwrap());
    }
    // The responder is built only from a Commit.
    let (alice, bob) = (key(1), key(2));
    let r = CallSession::respond(&bob, "bob", &t.response, &mut Seeded::new(1)).map(drop);
    unexpected(r, MessageType::Response, Some(MessageType::Commit));
    // Duplicated: every message again after it was accepted.
    let (mut sa, mut sb) = (MemoryIdentityStore::new(), MemoryIdentityStore::new());
    let (mut a, _) = CallSession::initiate(&alice, "alice", SUITE, &mut Seeded::new(30)).unwrap();
    let (mut b, _) = CallSession::respond(&bob, "bob", &t.commit, &mut Seeded::new(!30)).unwrap();
    a.handle(&t.response, &mut sa).unwrap();
    unexpected(
        a.handle(&t.response, &mut sa).map(drop),
        MessageType::Response,
        Some(MessageType::Confirm),
    );
    assert_failed(&mut a);
    b.handle(&t.reveal, &mut sb).unwrap();
    assert_eq!(b.state(), CallState::Encrypted);
    unexpected(
        b.handle(&t.reveal, &mut sb).map(drop),
        MessageType::Reveal,
        None,
    );
    assert_failed(&mut b);
    let (mut a, _, t2) = handshake(&alice, &bob, 31, &mut sa, &mut sb);
    unexpected(
        a.handle(&t2.confirm, &mut sa).map(drop),
        MessageType::Confirm,
        None,
    );
    assert_failed(&mut a);
}

#[test]
fn truncated_and_extended_messages_are_malformed() {
    let t = transcript(40);
    for stage in STAGES {
        let msg = message(&t, stage);
        for cut in 0..msg.len() {
            let (s, r) = deliver(40, stage, &msg[..cut]);
            assert!(
                matches!(r, Err(CallError::Malformed(_))),
                "{stage:?} cut {cut}: {r:?}"
            );
            if let Some(mut s) = s {
                assert_failed(&mut s);
            }
        }
        for extra in [&[0u8][..], &[0xff; 32]] {
            let mut longer = msg.to_vec();
            longer.extend_from_slice(extra);
            let (s, r) = deliver(40, stage, &longer);
            assert!(
                matches!(r, Err(CallError::Malformed(_))),
                "{stage:?} +{}",
                extra.len()
            );
            if let Some(mut s) = s {
                assert_failed(&mut s);
            }
        }
    }
}

#[test]
fn unknown_version_and_wrong_session_id_are_refused() {
    let t = transcript(50);
    for stage in STAGES {
        for version in [0x00, 0x02, 0xff] {
            let mut msg = message(&t, stage).to_vec();
            msg[0] = version;
            let (s, r) = deliver(50, stage, &msg);
            assert!(matches!(r, Err(CallError::UnsupportedVersion(v)) if v == version));
            if let Some(mut s) = s {
                assert_failed(&mut s);
            }
        }
        if stage != Stage::Commit {
            for i in 2..18 {
                let mut msg = message(&t, stage).to_vec();
                msg[i] ^= 0x80;
                let (s, r) = deliver(50, stage, &msg);
                assert!(
                    matches!(r, Err(CallError::SessionMismatch)),
                    "{stage:?} {i}"
                );
                assert_failed(&mut s.unwrap());
            }
        }
    }
}

/// Runs a handshake where `tamper` may change each message on the way.
/// Returns the first error and whether the side that raised it is Failed,
/// or the two final sessions if all went through.
fn run_tampered(
    seed: u64,
    tamper: impl Fn(Stage, &mut Vec<u8>),
) -> Result<(CallSession, CallSession), (Stage, CallError, bool)> {
    let (alice, bob) = (key(1), key(2));
    let (mut sa, mut sb) = (MemoryIdentityStore::new(), MemoryIdentityStore::new());
    let (mut a, mut commit) =
        CallSession::initiate(&alice, "alice", SUITE, &mut Seeded::new(seed)).unwrap();
    tamper(Stage::Commit, &mut commit);
    let (mut b, mut response) = CallSession::respond(&bob, "bob", &commit, &mut Seeded::new(!seed))
        .map_err(|e| (Stage::Commit, e, true))?;
    tamper(Stage::Response, &mut response);
    let mut reveal = match a.handle(&response, &mut sa) {
        Ok(m) => m.unwrap(),
        Err(e) => return Err((Stage::Response, e, a.state() == CallState::Failed)),
    };
    tamper(Stage::Reveal, &mut reveal);
    let mut confirm = match b.handle(&reveal, &mut sb) {
        Ok(m) => m.unwrap(),
        Err(e) => return Err((Stage::Reveal, e, b.state() == CallState::Failed)),
    };
    assert_eq!(
        a.state(),
        CallState::Negotiating,
        "initiator established before Confirm"
    );
    tamper(Stage::Confirm, &mut confirm);
    if let Err(e) = a.handle(&confirm, &mut sa) {
        return Err((Stage::Confirm, e, a.state() == CallState::Failed));
    }
    Ok((a, b))
}

#[test]
fn a_bit_flip_anywhere_aborts_the_handshake() {
    let t = transcript(60);
    for stage in STAGES {
        let len = message(&t, stage).len();
        for i in 0..len {
            let bit = 1u8 << (i % 8);
            let result = run_tampered(60, |s, msg| {
                if s == stage {
                    msg[i] ^= bit;
                }
            });
            let (failed_at, err, failed) = match result {
                Ok(_) => panic!("flip of {stage:?} byte {i} went unnoticed"),
                Err(e) => e,
            };
            assert!(
                failed,
                "{stage:?} byte {i}: the side that refused is not Failed"
            );
            // The spec promises an abort at the latest at the MAC check: the
            // message's own checks, the commitment, or the MAC.
            let allowed = match err {
                CallError::UnsupportedVersion(_)
                | CallError::Malformed(_)
                | CallError::UnexpectedMessage { .. }
                | CallError::SessionMismatch
                | CallError::CommitmentMismatch
                | CallError::BadMac => true,
                CallError::Frame(frame::Error::UnsupportedCipherSuite(_)) => stage == Stage::Commit,
                _ => false,
            };
            assert!(allowed, "{stage:?} byte {i}: {err:?} at {failed_at:?}");
            // The abort comes no later than the first MAC check that covers
            // the flipped byte: Bob's check of mac_I for Commit and Response,
            // the receiving side's check for Reveal and Confirm.
            let latest = match stage {
                Stage::Commit | Stage::Response | Stage::Reveal => Stage::Reveal,
                Stage::Confirm => Stage::Confirm,
            };
            let index = |s: Stage| STAGES.iter().position(|x| *x == s);
            assert!(
                index(failed_at) <= index(latest),
                "{stage:?} byte {i} failed at {failed_at:?}"
            );
            assert!(
                index(failed_at) >= index(stage),
                "{stage:?} byte {i} failed at {failed_at:?}"
            );
        }
    }
}

#[test]
fn low_order_keys_are_malformed() {
    let t = transcript(70);
    // Commit with an all-zero identity key.
    let mut commit = t.commit.clone();
    let ik = commit.len() - 64;
    commit[ik..ik + 32].fill(0);
    let (_, r) = deliver(70, Stage::Commit, &commit);
    assert!(matches!(
        r,
        Err(CallError::Malformed("low-order public key"))
    ));
    // Response with an all-zero ephemeral key, and with u = 1 (order 4).
    for point in [[0u8; 32], {
        let mut one = [0u8; 32];
        one[0] = 1;
        one
    }] {
        let mut response = t.response.clone();
        let n = response.len();
        response[n - 32..].copy_from_slice(&point);
        let (s, r) = deliver(70, Stage::Response, &response);
        assert!(matches!(
            r,
            Err(CallError::Malformed("low-order public key"))
        ));
        assert_failed(&mut s.unwrap());
    }
}

#[test]
fn bad_user_ids_and_not_established_are_typed() {
    let alice = key(1);
    assert!(matches!(
        CallSession::initiate(&alice, "", SUITE, &mut Seeded::new(1)),
        Err(CallError::InvalidUserId)
    ));
    assert!(matches!(
        CallSession::initiate(&alice, &"u".repeat(256), SUITE, &mut Seeded::new(1)),
        Err(CallError::InvalidUserId)
    ));
    let (mut a, commit) =
        CallSession::initiate(&alice, &"u".repeat(255), SUITE, &mut Seeded::new(1)).unwrap();
    assert!(matches!(a.take_media(), Err(CallError::NotEstablished)));
    assert!(matches!(
        a.mark_verified(&mut MemoryIdentityStore::new()),
        Err(CallError::NotEstablished)
    ));
    assert_eq!(a.state(), CallState::Negotiating);
    assert!(matches!(
        CallSession::respond(&key(2), "", &commit, &mut Seeded::new(2)),
        Err(CallError::InvalidUserId)
    ));
    let (b, _) = CallSession::respond(&key(2), "bob", &commit, &mut Seeded::new(2)).unwrap();
    assert_eq!(b.peer_uid().map(str::len), Some(255));
}

#[test]
fn continuity_new_verified_known_and_changed() {
    let (alice, bob) = (key(1), key(2));
    let (mut sa, mut sb) = (MemoryIdentityStore::new(), MemoryIdentityStore::new());

    // First call: new on both sides; the users compare codes.
    let (mut a, mut b, _) = handshake(&alice, &bob, 80, &mut sa, &mut sb);
    assert_eq!(a.peer_status(), Some(PeerStatus::New));
    a.mark_verified(&mut sa).unwrap();
    b.mark_verified(&mut sb).unwrap();
    assert_eq!(
        (a.state(), a.indicator()),
        (CallState::Verified, Indicator::LockAndShieldVerified)
    );
    assert_eq!(b.state(), CallState::Verified);
    assert!(sa.get("bob").unwrap().unwrap().verified);

    // Second call, same identity keys: verified without comparing.
    let (a, b, _) = handshake(&alice, &bob, 81, &mut sa, &mut sb);
    for s in [&a, &b] {
        assert_eq!(s.peer_status(), Some(PeerStatus::Known { verified: true }));
        assert_eq!(s.state(), CallState::Verified);
        assert_eq!(s.indicator(), Indicator::LockAndShieldVerified);
    }

    // Bob's key changes (new device or an attacker): flagged, not verified.
    let bob2 = key(22);
    let (a, b, _) = handshake(&alice, &bob2, 82, &mut sa, &mut sb);
    assert_eq!(a.peer_status(), Some(PeerStatus::Changed));
    assert_eq!(
        (a.state(), a.indicator()),
        (CallState::Encrypted, Indicator::LockAndShield)
    );
    assert_eq!(b.peer_status(), Some(PeerStatus::Known { verified: true }));
    assert_eq!(
        sa.get("bob").unwrap(),
        Some(StoredIdentity {
            public_key: bob2.public_key(),
            verified: false
        })
    );

    // Next call with the new key: known but not verified until compared.
    let (a, _, _) = handshake(&alice, &bob2, 83, &mut sa, &mut sb);
    assert_eq!(a.peer_status(), Some(PeerStatus::Known { verified: false }));
    assert_eq!(a.state(), CallState::Encrypted);
}

#[test]
fn a_mitm_against_verified_identities_is_flagged() {
    let (alice, bob, mallory) = (key(1), key(2), key(3));
    let (mut sa, mut sb) = (MemoryIdentityStore::new(), MemoryIdentityStore::new());
    let (mut a, mut b, _) = handshake(&alice, &bob, 90, &mut sa, &mut sb);
    a.mark_verified(&mut sa).unwrap();
    b.mark_verified(&mut sb).unwrap();
    // Mallory answers as "bob" with her own identity key: Changed, no shield.
    let (a, _, _) = handshake(
        &alice,
        &mallory,
        91,
        &mut sa,
        &mut MemoryIdentityStore::new(),
    );
    assert_eq!(a.peer_status(), Some(PeerStatus::Changed));
    assert_eq!(a.state(), CallState::Encrypted);
}

fn temp_path(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("callseal-call-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir.join("identities.json")
}

#[test]
fn mark_verified_persists_through_the_file_store() {
    let (alice, bob) = (key(1), key(2));
    let path = temp_path("persist");
    {
        let mut sa = FileIdentityStore::open(&path).unwrap();
        assert!(!path.exists());
        let (mut a, _, _) = handshake(&alice, &bob, 100, &mut sa, &mut MemoryIdentityStore::new());
        assert!(path.exists());
        assert!(!sa.get("bob").unwrap().unwrap().verified);
        a.mark_verified(&mut sa).unwrap();
    }
    let text = std::fs::read_to_string(&path).unwrap();
    let json: serde_json::Value = serde_json::from_str(&text).unwrap();
    let hex: String = bob
        .public_key()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    assert_eq!(json["bob"]["key"], serde_json::Value::String(hex));
    assert_eq!(json["bob"]["verified"], serde_json::Value::Bool(true));
    assert!(!path.with_file_name("identities.json.tmp").exists());

    let mut reopened = FileIdentityStore::open(&path).unwrap();
    assert_eq!(reopened.path(), path.as_path());
    let (a, _, _) = handshake(
        &alice,
        &bob,
        101,
        &mut reopened,
        &mut MemoryIdentityStore::new(),
    );
    assert_eq!(a.state(), CallState::Verified);
    assert_eq!(a.peer_status(), Some(PeerStatus::Known { verified: true }));
    let _ = std::fs::remove_dir_all(path.parent().unwrap());
}

#[test]
fn corrupt_or_unwritable_file_store_gives_typed_errors() {
    let path = temp_path("corrupt");
    for (text, want_corrupt) in [
        (&b"{ not json"[..], true),
        (b"[1, 2]", true),
        (b"{\"bob\": {\"key\": \"00\", \"verified\": true}}", false),
        (b"{\"bob\": {\"key\": 7, \"verified\": true}}", true),
        (b"\xff\xfe", true),
    ] {
        std::fs::write(&path, text).unwrap();
        match FileIdentityStore::open(&path) {
            Err(IdentityError::Corrupt(_)) if want_corrupt => {}
            Err(IdentityError::InvalidKey) if !want_corrupt => {}
            other => panic!("{:?}: {other:?}", String::from_utf8_lossy(text)),
        }
    }
    // A directory where the file should be: the read fails with Io.
    let dir_path = temp_path("is-a-dir");
    std::fs::create_dir_all(&dir_path).unwrap();
    assert!(matches!(
        FileIdentityStore::open(&dir_path),
        Err(IdentityError::Io(_))
    ));

    // A store whose directory vanished: the handshake's write fails, the
    // session fails with a typed error and nothing is half-written.
    let gone = temp_path("gone");
    let mut store = FileIdentityStore::open(&gone).unwrap();
    std::fs::remove_dir_all(gone.parent().unwrap()).unwrap();
    let (alice, bob) = (key(1), key(2));
    let (mut a, commit) =
        CallSession::initiate(&alice, "alice", SUITE, &mut Seeded::new(5)).unwrap();
    let (mut b, response) =
        CallSession::respond(&bob, "bob", &commit, &mut Seeded::new(6)).unwrap();
    let reveal = a.handle(&response, &mut store).unwrap().unwrap();
    let confirm = b
        .handle(&reveal, &mut MemoryIdentityStore::new())
        .unwrap()
        .unwrap();
    assert!(matches!(
        a.handle(&confirm, &mut store),
        Err(CallError::Identity(IdentityError::Io(_)))
    ));
    assert_failed(&mut a);
    assert_eq!(store.get("bob").unwrap(), None);
    for p in [path, dir_path] {
        let _ = std::fs::remove_dir_all(p.parent().unwrap());
    }
}

#[test]
fn security_code_format_and_hand_computed_example() {
    let mut bytes = [0u8; 20];
    bytes[0..5].copy_from_slice(&[0xff; 5]); // 2^40 - 1 = 1099511627775 → 27775
    bytes[5..10].copy_from_slice(&[0, 0, 0, 0, 1]); // 1 → 00001
    bytes[10..15].copy_from_slice(&[1, 2, 3, 4, 5]); // 4328719365 → 19365
    bytes[15..20].copy_from_slice(&[0, 0, 0x01, 0x86, 0xa0]); // 100000 → 00000
    let code = SecurityCode::from_bytes(bytes);
    assert_eq!(code.to_string(), "27775 00001 19365 00000");
    assert_eq!(code.groups(), [27775, 1, 19365, 0]);
    assert_eq!(format!("{code:?}"), "SecurityCode(27775 00001 19365 00000)");
    assert!(is_code(&code.to_string()));
    assert!(!is_code("27775 00001 19365 0000"));
    assert!(!is_code("27775-00001 19365 00000"));
    for seed in 0..50u8 {
        let code = SecurityCode::from_bytes(core::array::from_fn(|i| {
            (i as u8).wrapping_mul(seed.wrapping_mul(31).wrapping_add(7))
        }));
        assert!(is_code(&code.to_string()));
        assert!(code.groups().iter().all(|g| *g < 100_000));
    }
}

#[test]
fn keys_are_redacted_in_debug() {
    let alice = key(1);
    let secret_hex: String = alice
        .to_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let shown = format!("{alice:?}");
    assert!(shown.contains("[redacted]"));
    assert!(!shown.contains(&secret_hex));
    assert!(!shown.contains(&format!("{:?}", *alice.to_bytes())));

    let (mut a, b, _) = handshake(
        &alice,
        &key(2),
        110,
        &mut MemoryIdentityStore::new(),
        &mut MemoryIdentityStore::new(),
    );
    for s in [format!("{a:?}"), format!("{b:?}")] {
        assert!(!s.contains(&secret_hex), "{s}");
        assert!(s.contains("CallSession"));
    }
    let (tx, rx) = a.take_media().unwrap();
    assert!(!format!("{tx:?}{rx:?}").contains(&secret_hex));
}

/// A lossy, reordering channel: drops ~10% and delivers the rest shuffled
/// within a window of 8.
fn lossy_reordering(frames: Vec<Vec<u8>>, seed: u64) -> Vec<Vec<u8>> {
    let mut rng = Seeded::new(seed);
    let mut byte = || {
        let mut b = [0u8; 1];
        rng.fill(&mut b).unwrap();
        b[0]
    };
    let mut kept: Vec<Vec<u8>> = frames.into_iter().filter(|_| byte() >= 26).collect();
    for chunk in kept.chunks_mut(8) {
        for i in (1..chunk.len()).rev() {
            let j = usize::from(byte()) % (i + 1);
            chunk.swap(i, j);
        }
    }
    kept
}

#[test]
fn rekeying_every_100_frames_under_loss_and_reordering_loses_nothing_delivered() {
    let (alice, bob) = (key(1), key(2));
    let (mut a, mut b, _) = handshake(
        &alice,
        &bob,
        120,
        &mut MemoryIdentityStore::new(),
        &mut MemoryIdentityStore::new(),
    );
    let (mut a_tx, mut a_rx) = a.take_media().unwrap();
    let (mut b_tx, mut b_rx) = b.take_media().unwrap();
    for (tx, rx, seed) in [(&mut a_tx, &mut b_rx, 1u64), (&mut b_tx, &mut a_rx, 2)] {
        let mut frames = Vec::new();
        for n in 0u32..3000 {
            if n > 0 && n % 100 == 0 {
                tx.ratchet().unwrap();
            }
            frames.push(tx.encrypt(b"meta", &n.to_be_bytes()).unwrap());
        }
        let delivered = lossy_reordering(frames, seed);
        assert!(
            delivered.len() > 2500 && delivered.len() < 2900,
            "{}",
            delivered.len()
        );
        let mut seen = std::collections::BTreeSet::new();
        for f in &delivered {
            let payload = rx.decrypt(b"meta", f).unwrap();
            assert!(seen.insert(payload));
        }
        assert_eq!(seen.len(), delivered.len());
        // The KID walked through 30 ratchet steps: 3000 frames / 100.
        assert_eq!(tx.kid().0 & 0xff, 29);
        // Replays of delivered frames are still refused after the rekeys.
        assert!(
            rx.decrypt(b"meta", &delivered[delivered.len() - 1])
                .is_err()
        );
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..200), stage in 0usize..4) {
        let (s, r) = deliver(7, STAGES[stage], &bytes);
        prop_assert!(r.is_err());
        if let Some(mut s) = s {
            assert_failed(&mut s);
        }
    }

    #[test]
    fn arbitrary_bodies_behind_a_valid_header_never_panic(
        body in proptest::collection::vec(any::<u8>(), 0..120),
        stage in 0usize..4,
    ) {
        let t = transcript(7);
        let stage = STAGES[stage];
        let mut msg = message(&t, stage)[..18].to_vec();
        msg.extend_from_slice(&body);
        let (s, r) = deliver(7, stage, &msg);
        // Only a Commit can be accepted without a secret: any body of the
        // right shape starts a responder session.
        if stage == Stage::Commit && r.is_ok() {
            prop_assert_eq!(s.unwrap().state(), CallState::Negotiating);
        } else {
            prop_assert!(r.is_err());
        }
    }
}
