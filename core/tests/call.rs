//! 1:1 call handshake, version 2: happy path, man in the middle, adversarial
//! messages, key continuity, identity stores and in-call rekeying
//! (PROTOCOL.md §3).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "call/identity_store.rs"]
mod identity_store;
#[path = "call/second_edition.rs"]
mod second_edition;

use callseal_core::call::{
    CallConfig, CallError, CallSession, CallState, ExpectedPeer, Handled, Ignored, Indicator,
    MessageType, Role,
};
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

/// Bytes before the body of every message: version, type, session id.
const HEADER: usize = 18;
/// Length of an ML-KEM-768 encapsulation key and ciphertext.
const KEM_EK: usize = 1184;
const KEM_CT: usize = 1088;

/// The default configuration: suite 0x0004, no short tags.
fn config() -> CallConfig {
    CallConfig::default()
}

/// The peer `uid`, any identity key.
fn peer(uid: &str) -> ExpectedPeer {
    ExpectedPeer::new(uid).unwrap()
}

/// Starts a call from `alice` (as "alice") to "bob".
fn initiate(alice: &IdentityKeyPair, seed: u64) -> (CallSession, Vec<u8>) {
    CallSession::initiate(
        alice,
        "alice",
        &peer("bob"),
        &config(),
        &mut Seeded::new(seed),
    )
    .unwrap()
}

/// Answers `commit` as "bob", expecting no caller in particular.
fn respond(bob: &IdentityKeyPair, commit: &[u8], seed: u64) -> (CallSession, Vec<u8>) {
    CallSession::respond(bob, "bob", None, commit, &config(), &mut Seeded::new(seed)).unwrap()
}

/// Handles a message that must be answered (and not ignored): the reply.
fn answer(session: &mut CallSession, msg: &[u8], store: &mut dyn IdentityStore) -> Vec<u8> {
    let handled = session.handle(msg, store).unwrap();
    assert!(handled.media.is_none());
    assert_eq!(handled.ignored, None);
    handled.reply.unwrap()
}

/// Handles a message that must be ignored for `why` without any reply.
fn ignored(session: &mut CallSession, msg: &[u8], why: Ignored) {
    let handled = session
        .handle(msg, &mut MemoryIdentityStore::new())
        .unwrap();
    assert_eq!(handled.ignored, Some(why));
    assert!(handled.reply.is_none());
    assert!(handled.media.is_none());
}

/// Handles a byte-identical repeat: the earlier reply comes again.
fn repeated(session: &mut CallSession, msg: &[u8], earlier_reply: &[u8]) {
    let handled = session
        .handle(msg, &mut MemoryIdentityStore::new())
        .unwrap();
    assert_eq!(handled.ignored, Some(Ignored::Repeat));
    assert_eq!(handled.reply.as_deref(), Some(earlier_reply));
    assert!(handled.media.is_none());
}

/// The four messages of one handshake.
struct Transcript {
    commit: Vec<u8>,
    response: Vec<u8>,
    reveal: Vec<u8>,
    confirm: Vec<u8>,
}

/// Runs a full handshake between `alice` (initiator, "alice") and `bob`
/// (responder, "bob").
fn handshake(
    alice: &IdentityKeyPair,
    bob: &IdentityKeyPair,
    seed: u64,
    alice_store: &mut dyn IdentityStore,
    bob_store: &mut dyn IdentityStore,
) -> (CallSession, CallSession, Transcript) {
    let (mut a, commit) = initiate(alice, seed);
    let (mut b, response) = respond(bob, &commit, !seed);
    let reveal = answer(&mut a, &response, alice_store);
    let confirm = answer(&mut b, &reveal, bob_store);
    let done = a.handle(&confirm, alice_store).unwrap();
    assert!(done.reply.is_none() && done.media.is_none() && done.ignored.is_none());
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

/// What a session did with a delivered message: `Ok(None)` if it used it,
/// `Ok(Some(why))` if it ignored it, or the error.
type Delivered = Result<Option<Ignored>, CallError>;

fn outcome(result: Result<Handled, CallError>) -> Delivered {
    result.map(|handled| handled.ignored)
}

/// Delivers `msg` in place of the message of `stage` to a session that waits
/// for it (a fresh one on seed `seed`), and returns that session (if one was
/// made) and what it did with the message.
fn deliver(seed: u64, stage: Stage, msg: &[u8]) -> (Option<CallSession>, Delivered) {
    let (alice, bob) = (key(1), key(2));
    let mut store = MemoryIdentityStore::new();
    let (mut a, commit) = initiate(&alice, seed);
    if stage == Stage::Commit {
        let r = CallSession::respond(&bob, "bob", None, msg, &config(), &mut Seeded::new(!seed));
        return match r {
            Ok((b, _)) => (Some(b), Ok(None)),
            Err(e) => (None, Err(e)),
        };
    }
    let (mut b, response) = respond(&bob, &commit, !seed);
    if stage == Stage::Response {
        let r = outcome(a.handle(msg, &mut store));
        return (Some(a), r);
    }
    let reveal = answer(&mut a, &response, &mut store);
    if stage == Stage::Reveal {
        let r = outcome(b.handle(msg, &mut store));
        return (Some(b), r);
    }
    answer(&mut b, &reveal, &mut store);
    let r = outcome(a.handle(msg, &mut store));
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
    assert!(matches!(session.rekey(), Err(CallError::NotEstablished)));
}

/// Asserts that `a` and `b`, established with each other, still are: same
/// state class, the same security code, epoch 0, and media flows both ways.
/// Takes their media keys.
fn assert_call_goes_on(a: &mut CallSession, b: &mut CallSession, code: SecurityCode) {
    for s in [&*a, &*b] {
        assert!(
            matches!(s.state(), CallState::Encrypted | CallState::Verified),
            "{s:?}"
        );
        assert!(s.indicator().shows_lock_and_shield());
        assert_eq!(s.security_code(), Some(code));
        assert_eq!(s.epoch(), 0);
        assert!(!s.rekey_pending());
    }
    let (mut a_tx, mut a_rx) = a.take_media().unwrap();
    let (mut b_tx, mut b_rx) = b.take_media().unwrap();
    let f = a_tx.encrypt(b"", b"still here").unwrap();
    assert_eq!(b_rx.decrypt(b"", &f).unwrap(), b"still here");
    let g = b_tx.encrypt(b"", b"me too").unwrap();
    assert_eq!(a_rx.decrypt(b"", &g).unwrap(), b"me too");
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
    let (mut a, commit) = initiate(&alice, 9);
    assert_eq!(
        (a.state(), a.indicator()),
        (CallState::Negotiating, Indicator::Hidden)
    );
    assert_eq!(
        (a.role(), a.uid(), a.suite()),
        (Role::Initiator, "alice", SUITE)
    );
    assert_eq!(commit[0..2], [0x02, MessageType::Commit as u8]);
    assert_eq!(commit.len(), 1270 + "alice".len() + "bob".len());

    let (mut b, response) = respond(&bob, &commit, 10);
    assert_eq!(b.session_id(), a.session_id());
    assert_eq!(
        (b.role(), b.uid(), b.suite()),
        (Role::Responder, "bob", SUITE)
    );
    assert_eq!(b.state(), CallState::Negotiating);
    assert_eq!(b.peer_uid(), Some("alice"));
    assert_eq!(b.security_code(), None);
    assert_eq!(response[0..2], [0x02, MessageType::Response as u8]);
    assert_eq!(response.len(), 1171 + "bob".len());

    let reveal = answer(&mut a, &response, &mut sa);
    assert_eq!(reveal[0..2], [0x02, MessageType::Reveal as u8]);
    assert_eq!(reveal.len(), 82);
    assert_eq!(a.state(), CallState::Negotiating);
    assert_eq!(a.peer_uid(), Some("bob"));
    let confirm = answer(&mut b, &reveal, &mut sb);
    assert_eq!(confirm[0..2], [0x02, MessageType::Confirm as u8]);
    assert_eq!(confirm.len(), 50);
    assert_eq!(b.state(), CallState::Encrypted);
    let done = a.handle(&confirm, &mut sa).unwrap();
    assert!(done.reply.is_none() && done.media.is_none() && done.ignored.is_none());

    for s in [&a, &b] {
        assert_eq!(s.state(), CallState::Encrypted);
        assert_eq!(s.indicator(), Indicator::LockAndShield);
        assert_eq!(s.peer_status(), Some(PeerStatus::New));
        assert_eq!(s.epoch(), 0);
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
        // 0x0003 and 0x0008 have 32-bit tags: both sides must opt in.
        let short = matches!(id, 3 | 8);
        let strict = CallConfig {
            suite,
            ..CallConfig::default()
        };
        let config = CallConfig {
            allow_short_tags: short,
            ..strict
        };
        let (alice, bob) = (key(3), key(4));
        let mut store = MemoryIdentityStore::new();
        let entropy = || Seeded::new(u64::from(id));
        if short {
            assert!(matches!(
                CallSession::initiate(&alice, "a", &peer("b"), &strict, &mut entropy()),
                Err(CallError::ShortTag(s)) if s == id
            ));
        }
        let (mut a, commit) =
            CallSession::initiate(&alice, "a", &peer("b"), &config, &mut entropy()).unwrap();
        assert_eq!(commit[18..20], id.to_be_bytes());
        if short {
            assert!(matches!(
                CallSession::respond(&bob, "b", None, &commit, &strict, &mut Seeded::new(99)),
                Err(CallError::ShortTag(s)) if s == id
            ));
        }
        // The responder follows the Commit's suite, whatever its own config names.
        let follower = CallConfig {
            suite: SUITE,
            ..config
        };
        let (mut b, response) =
            CallSession::respond(&bob, "b", None, &commit, &follower, &mut Seeded::new(99))
                .unwrap();
        assert_eq!(b.suite(), suite);
        let reveal = answer(&mut a, &response, &mut store);
        let confirm = answer(&mut b, &reveal, &mut store);
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
    let (mut a1, mut b1, _) = handshake(&alice, &bob, 1, &mut s, &mut MemoryIdentityStore::new());
    let (mut a2, mut b2, _) = handshake(&alice, &bob, 2, &mut s, &mut MemoryIdentityStore::new());
    assert_ne!(a1.security_code(), a2.security_code());
    assert_ne!(a1.session_id(), a2.session_id());
    // The media keys differ too: a frame of one call does not open in the
    // other, though the KIDs are the same.
    let (mut tx1, _) = a1.take_media().unwrap();
    let (mut tx2, _) = a2.take_media().unwrap();
    let (_, mut rx1) = b1.take_media().unwrap();
    let (_, mut rx2) = b2.take_media().unwrap();
    let f1 = tx1.encrypt(b"", b"same payload").unwrap();
    let f2 = tx2.encrypt(b"", b"same payload").unwrap();
    assert!(rx2.decrypt(b"", &f1).is_err());
    assert!(rx1.decrypt(b"", &f2).is_err());
    assert_eq!(rx1.decrypt(b"", &f1).unwrap(), b"same payload");
}

/// A relay that runs its own responder toward Alice and its own initiator
/// toward Bob, with its own identity key, and tries to make the codes match.
/// It impersonates consistently: toward Alice it answers as "bob" (the callee
/// Alice's Commit names), toward Bob it calls as "alice" and names "bob".
fn mitm_trial(seed: u64) -> (SecurityCode, SecurityCode) {
    let (alice, bob, mallory) = (key(1), key(2), key(seed.wrapping_add(1000)));
    let (mut sa, mut sb, mut sm) = (
        MemoryIdentityStore::new(),
        MemoryIdentityStore::new(),
        MemoryIdentityStore::new(),
    );
    let (mut a, commit_a) = initiate(&alice, seed << 2);
    // Toward Alice, Mallory answers as "bob".
    let (mut m_to_a, response_m) = respond(&mallory, &commit_a, (seed << 2) | 1);
    // Toward Bob, Mallory calls as "alice".
    let (mut m_to_b, commit_m) = CallSession::initiate(
        &mallory,
        "alice",
        &peer("bob"),
        &config(),
        &mut Seeded::new((seed << 2) | 2),
    )
    .unwrap();
    let (mut b, response_b) = respond(&bob, &commit_m, (seed << 2) | 3);
    let reveal_m = answer(&mut m_to_b, &response_b, &mut sm);
    let confirm_b = answer(&mut b, &reveal_m, &mut sb);
    m_to_b.handle(&confirm_b, &mut sm).unwrap();
    let reveal_a = answer(&mut a, &response_m, &mut sa);
    let confirm_m = answer(&mut m_to_a, &reveal_a, &mut sm);
    a.handle(&confirm_m, &mut sa).unwrap();
    // Each side completed a handshake (with Mallory) and shows the lock only.
    assert_eq!(a.state(), CallState::Encrypted);
    assert_eq!(b.state(), CallState::Encrypted);
    (a.security_code().unwrap(), b.security_code().unwrap())
}

/// MITM trials. Version 1 ran 10 000; a version-2 trial adds two ML-KEM-768
/// key generations, encapsulations and decapsulations, which the debug build
/// runs unoptimized (the generic ML-KEM code is instantiated in this
/// workspace's crate, so the opt-level 2 of dependencies does not apply):
/// about 16-19 ms of CPU per trial, 160 s for 10 000. 1500 trials keep the
/// test under 30 s. What it proves is unchanged in kind: no structural flaw
/// lets a relay make the codes equal with a noticeable probability. Zero
/// equal pairs in 1500 independent trials bound that probability below
/// 3/1500 = 2e-3 at 95% confidence (rule of three; 10 000 trials gave 3e-4).
/// The design's 10^-20 rests on the commitment and HKDF, not on this test.
const MITM_TRIALS: u64 = 1500;

#[test]
fn mitm_never_gets_equal_codes_in_1500_trials() {
    let mut equal = 0u32;
    for seed in 0..MITM_TRIALS {
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
    let (mut a, commit) = initiate(&alice, 5);
    let (mut b, _response_b) = respond(&bob, &commit, 6);
    let (_m, response_m) = respond(&mallory, &commit, 7);
    let reveal = answer(&mut a, &response_m, &mut store);
    assert!(matches!(
        b.handle(&reveal, &mut store),
        Err(CallError::BadMac)
    ));
    assert_failed(&mut b);
}

#[test]
fn reveal_not_matching_commitment_fails() {
    let t = transcript(11);
    for i in HEADER..HEADER + 32 {
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
    reveal[2..HEADER].copy_from_slice(&t.reveal[2..HEADER]);
    let (session, result) = deliver(11, Stage::Reveal, &reveal);
    assert!(matches!(result, Err(CallError::CommitmentMismatch)));
    assert_failed(&mut session.unwrap());
}

#[test]
fn messages_of_an_older_session_are_ignored() {
    let old = transcript(20);
    let new = transcript(21);
    for stage in [Stage::Response, Stage::Reveal, Stage::Confirm] {
        // Ignored while negotiating: the session waits on, and the message
        // of its own session then goes through.
        let (session, result) = deliver(21, stage, message(&old, stage));
        assert!(
            matches!(result, Ok(Some(Ignored::OtherSession))),
            "{stage:?}: {result:?}"
        );
        let mut s = session.unwrap();
        assert_eq!(s.state(), CallState::Negotiating);
        let handled = s
            .handle(message(&new, stage), &mut MemoryIdentityStore::new())
            .unwrap();
        assert_eq!(handled.ignored, None, "{stage:?}");
        let want = match stage {
            Stage::Response => Some(&new.reveal),
            Stage::Reveal => Some(&new.confirm),
            _ => None,
        };
        assert_eq!(handled.reply.as_ref(), want, "{stage:?}");
        if stage != Stage::Response {
            assert_eq!(s.state(), CallState::Encrypted, "{stage:?}");
        }
    }
    // Ignored once established too, and the call goes on.
    let (alice, bob) = (key(1), key(2));
    let (mut a, mut b, _) = handshake(
        &alice,
        &bob,
        21,
        &mut MemoryIdentityStore::new(),
        &mut MemoryIdentityStore::new(),
    );
    let code = a.security_code().unwrap();
    for msg in [&old.commit, &old.response, &old.reveal, &old.confirm] {
        ignored(&mut a, msg, Ignored::OtherSession);
        ignored(&mut b, msg, Ignored::OtherSession);
    }
    assert_call_goes_on(&mut a, &mut b, code);

    // Re-labelled with the new session id, an old Response is accepted by the
    // initiator (it carries no MAC) but the old Confirm cannot complete the
    // new session: EK_I is fresh, so the transcript and MAC keys differ.
    let sid = &new.commit[2..HEADER];
    let mut store = MemoryIdentityStore::new();
    let (mut a, _) = initiate(&alice, 21);
    let mut response = old.response.clone();
    response[2..HEADER].copy_from_slice(sid);
    answer(&mut a, &response, &mut store);
    let mut confirm = old.confirm.clone();
    confirm[2..HEADER].copy_from_slice(sid);
    assert!(matches!(
        a.handle(&confirm, &mut store),
        Err(CallError::BadMac)
    ));
    assert_failed(&mut a);
    // And an old Commit starts a responder session that an old Reveal cannot
    // complete with a new responder ephemeral key.
    let (mut b, _) = respond(&bob, &old.commit, 77);
    assert!(matches!(
        b.handle(&old.reveal, &mut store),
        Err(CallError::BadMac)
    ));
    assert_failed(&mut b);
}

#[test]
fn reordered_and_reflected_messages_are_unexpected_and_repeats_are_answered_again() {
    let t = transcript(30);
    let unexpected = |r: Delivered, got: MessageType, want: Option<MessageType>| match r {
        Err(CallError::UnexpectedMessage { received, expected }) => {
            assert_eq!((received, expected), (got, want));
        }
        other => panic!("{other:?}"),
    };
    // Reordered: Confirm before Response; Confirm in place of Reveal.
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
    let r = CallSession::respond(
        &bob,
        "bob",
        None,
        &t.response,
        &config(),
        &mut Seeded::new(1),
    );
    unexpected(
        r.map(|_| None),
        MessageType::Response,
        Some(MessageType::Commit),
    );

    // Duplicated: a byte-identical repeat of a message that the session
    // answered gets the same answer again, in every state, and changes
    // nothing (signalling may retransmit).
    let (mut sa, mut sb) = (MemoryIdentityStore::new(), MemoryIdentityStore::new());
    let (mut a, commit) = initiate(&alice, 30);
    assert_eq!(commit, t.commit);
    let (mut b, response) = respond(&bob, &t.commit, !30);
    assert_eq!(response, t.response);
    repeated(&mut b, &t.commit, &t.response);
    assert_eq!(b.state(), CallState::Negotiating);
    assert_eq!(answer(&mut a, &t.response, &mut sa), t.reveal);
    repeated(&mut a, &t.response, &t.reveal);
    assert_eq!(a.state(), CallState::Negotiating);
    assert_eq!(answer(&mut b, &t.reveal, &mut sb), t.confirm);
    assert_eq!(b.state(), CallState::Encrypted);
    repeated(&mut b, &t.reveal, &t.confirm);
    assert_eq!(b.state(), CallState::Encrypted);
    let done = a.handle(&t.confirm, &mut sa).unwrap();
    assert!(done.reply.is_none() && done.ignored.is_none());
    assert_eq!(a.state(), CallState::Encrypted);
    let code = a.security_code().unwrap();
    // Established: the Confirm (which got no answer) again is a stray
    // handshake message; the Response is still the last message answered.
    ignored(&mut a, &t.confirm, Ignored::Handshake);
    repeated(&mut a, &t.response, &t.reveal);
    // The Commit is no longer the last one the responder answered.
    ignored(&mut b, &t.commit, Ignored::Handshake);
    repeated(&mut b, &t.reveal, &t.confirm);
    assert_call_goes_on(&mut a, &mut b, code);

    // A second, different message of the type already handled is no repeat:
    // while negotiating it is unexpected. Mallory's Response relabelled with
    // the session id, after Bob's was answered:
    let (_, response_m) = respond(&key(3), &t.commit, 31);
    let (mut a, _) = initiate(&alice, 30);
    answer(&mut a, &t.response, &mut sa);
    unexpected(
        outcome(a.handle(&response_m, &mut sa)),
        MessageType::Response,
        Some(MessageType::Confirm),
    );
    assert_failed(&mut a);
    // For the responder the Reveal ends the handshake: another Reveal (here
    // with another MAC) after the real one is a stray handshake message.
    let (mut b, _) = respond(&bob, &t.commit, !30);
    answer(&mut b, &t.reveal, &mut sb);
    let mut reveal = t.reveal.clone();
    reveal[81] ^= 1;
    ignored(&mut b, &reveal, Ignored::Handshake);
    assert_eq!(b.state(), CallState::Encrypted);
}

#[test]
fn truncated_and_extended_messages_are_malformed() {
    let t = transcript(40);
    let (alice, bob) = (key(1), key(2));
    let (mut a, mut b, _) = handshake(
        &alice,
        &bob,
        40,
        &mut MemoryIdentityStore::new(),
        &mut MemoryIdentityStore::new(),
    );
    let code = a.security_code().unwrap();
    for stage in STAGES {
        let msg = message(&t, stage);
        let mut variants: Vec<Vec<u8>> = (0..msg.len()).map(|cut| msg[..cut].to_vec()).collect();
        for extra in [&[0u8][..], &[0xff; 32]] {
            let mut longer = msg.to_vec();
            longer.extend_from_slice(extra);
            variants.push(longer);
        }
        for v in &variants {
            // While negotiating: Malformed, and the session fails.
            let (s, r) = deliver(40, stage, v);
            assert!(
                matches!(r, Err(CallError::Malformed(_))),
                "{stage:?} length {} of {}: {r:?}",
                v.len(),
                msg.len()
            );
            if let Some(mut s) = s {
                assert_failed(&mut s);
            }
            // Once established: ignored, never an error. Without a full
            // header the message is malformed; with one it is also a stray
            // handshake message (the session currently says Handshake
            // without parsing the body; either reason is right).
            for s in [&mut a, &mut b] {
                let handled = s.handle(v, &mut MemoryIdentityStore::new()).unwrap();
                assert!(handled.reply.is_none() && handled.media.is_none());
                if v.len() < HEADER {
                    assert_eq!(handled.ignored, Some(Ignored::Malformed));
                } else {
                    assert!(
                        matches!(
                            handled.ignored,
                            Some(Ignored::Handshake | Ignored::Malformed)
                        ),
                        "{stage:?} length {}: {:?}",
                        v.len(),
                        handled.ignored
                    );
                }
            }
        }
    }
    assert_call_goes_on(&mut a, &mut b, code);
}

#[test]
fn unknown_versions_are_refused_and_other_session_ids_ignored() {
    let t = transcript(50);
    let (alice, bob) = (key(1), key(2));
    let (mut a, mut b, _) = handshake(
        &alice,
        &bob,
        50,
        &mut MemoryIdentityStore::new(),
        &mut MemoryIdentityStore::new(),
    );
    let code = a.security_code().unwrap();
    for stage in STAGES {
        // Version 1 (issue #3) and every other version but 2.
        for version in [0x00, 0x01, 0x03, 0x82, 0xff] {
            let mut msg = message(&t, stage).to_vec();
            msg[0] = version;
            let (s, r) = deliver(50, stage, &msg);
            assert!(matches!(r, Err(CallError::UnsupportedVersion(v)) if v == version));
            if let Some(mut s) = s {
                assert_failed(&mut s);
            }
            ignored(&mut a, &msg, Ignored::Malformed);
            ignored(&mut b, &msg, Ignored::Malformed);
        }
        if stage != Stage::Commit {
            for i in 2..HEADER {
                let mut msg = message(&t, stage).to_vec();
                msg[i] ^= 0x80;
                let (s, r) = deliver(50, stage, &msg);
                assert!(
                    matches!(r, Ok(Some(Ignored::OtherSession))),
                    "{stage:?} {i}: {r:?}"
                );
                assert_eq!(s.unwrap().state(), CallState::Negotiating);
                ignored(&mut a, &msg, Ignored::OtherSession);
                ignored(&mut b, &msg, Ignored::OtherSession);
            }
        }
    }
    assert_call_goes_on(&mut a, &mut b, code);
}

/// How a handshake with tampered messages ended.
enum Tampered {
    /// Both sides established.
    Completed,
    /// A side refused a message: the stage, the error, and whether that side
    /// is now Failed (a refused Commit makes no session: `true`).
    Refused(Stage, CallError, bool),
    /// A side ignored a message: the stage, why, and that side's state.
    Ignored(Stage, Ignored, CallState),
}

/// Runs a handshake where `tamper` may change each message on the way.
fn run_tampered(seed: u64, tamper: impl Fn(Stage, &mut Vec<u8>)) -> Tampered {
    let (alice, bob) = (key(1), key(2));
    let (mut sa, mut sb) = (MemoryIdentityStore::new(), MemoryIdentityStore::new());
    let (mut a, mut commit) = initiate(&alice, seed);
    tamper(Stage::Commit, &mut commit);
    let (mut b, mut response) = match CallSession::respond(
        &bob,
        "bob",
        None,
        &commit,
        &config(),
        &mut Seeded::new(!seed),
    ) {
        Ok(x) => x,
        Err(e) => return Tampered::Refused(Stage::Commit, e, true),
    };
    // Feeds one message to a side: its reply, or how the handshake ended.
    let step = |stage: Stage,
                s: &mut CallSession,
                msg: &[u8],
                store: &mut MemoryIdentityStore|
     -> Result<Option<Vec<u8>>, Tampered> {
        match s.handle(msg, store) {
            Ok(Handled {
                ignored: Some(why), ..
            }) => Err(Tampered::Ignored(stage, why, s.state())),
            Ok(handled) => Ok(handled.reply),
            Err(e) => Err(Tampered::Refused(stage, e, s.state() == CallState::Failed)),
        }
    };
    tamper(Stage::Response, &mut response);
    let mut reveal = match step(Stage::Response, &mut a, &response, &mut sa) {
        Ok(reply) => reply.unwrap(),
        Err(end) => return end,
    };
    tamper(Stage::Reveal, &mut reveal);
    let mut confirm = match step(Stage::Reveal, &mut b, &reveal, &mut sb) {
        Ok(reply) => reply.unwrap(),
        Err(end) => return end,
    };
    assert_eq!(
        a.state(),
        CallState::Negotiating,
        "initiator established before Confirm"
    );
    tamper(Stage::Confirm, &mut confirm);
    match step(Stage::Confirm, &mut a, &confirm, &mut sa) {
        Ok(reply) => assert!(reply.is_none()),
        Err(end) => return end,
    }
    Tampered::Completed
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
            let index = |s: Stage| STAGES.iter().position(|x| *x == s);
            // The handshake stops no later than the first MAC check that
            // covers the flipped byte: Bob's check of mac_I for Commit and
            // Response, the receiving side's check for Reveal and Confirm.
            let latest = match stage {
                Stage::Commit | Stage::Response | Stage::Reveal => Stage::Reveal,
                Stage::Confirm => Stage::Confirm,
            };
            let (failed_at, err, failed) = match result {
                Tampered::Completed => panic!("flip of {stage:?} byte {i} went unnoticed"),
                Tampered::Ignored(_, Ignored::Stale, state)
                    if stage == Stage::Confirm && i == 1 =>
                {
                    // The Confirm's type flipped into a rekey type: an early
                    // rekey message (it may overtake the Confirm), ignored;
                    // the initiator waits on for the real Confirm.
                    assert_eq!(state, CallState::Negotiating);
                    continue;
                }
                Tampered::Ignored(at, why, state) => {
                    // A flipped session id makes the message one of another
                    // session: ignored, the session waits on (a flipped id in
                    // the Commit gives Bob another session, whose Response
                    // Alice ignores).
                    assert!(
                        (2..HEADER).contains(&i),
                        "{stage:?} byte {i}: ignored at {at:?} ({why:?})"
                    );
                    assert_eq!(why, Ignored::OtherSession, "{stage:?} byte {i}");
                    assert_eq!(state, CallState::Negotiating, "{stage:?} byte {i}");
                    let want = match stage {
                        Stage::Commit => Stage::Response,
                        other => other,
                    };
                    assert_eq!(at, want, "{stage:?} byte {i}");
                    continue;
                }
                Tampered::Refused(at, err, failed) => (at, err, failed),
            };
            assert!(
                failed,
                "{stage:?} byte {i}: the side that refused is not Failed"
            );
            // The spec promises an abort at the latest at the MAC check: the
            // message's own checks, the intended peer, the commitment, or
            // the MAC.
            let allowed = match err {
                CallError::UnsupportedVersion(_)
                | CallError::Malformed(_)
                | CallError::UnexpectedMessage { .. }
                | CallError::CommitmentMismatch
                | CallError::BadMac => true,
                CallError::Frame(frame::Error::UnsupportedCipherSuite(_))
                | CallError::ShortTag(_)
                | CallError::Misaddressed { .. } => failed_at == Stage::Commit,
                CallError::WrongPeer { .. } => failed_at == Stage::Response,
                _ => false,
            };
            assert!(allowed, "{stage:?} byte {i}: {err:?} at {failed_at:?}");
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
    // Commit with an all-zero identity key (IK_I comes before KEM_ek_I and
    // the commitment).
    let mut commit = t.commit.clone();
    let ik = commit.len() - 32 - KEM_EK - 32;
    assert_eq!(commit[ik..ik + 32], key(1).public_key());
    commit[ik..ik + 32].fill(0);
    let (_, r) = deliver(70, Stage::Commit, &commit);
    assert!(matches!(
        r,
        Err(CallError::Malformed("low-order public key"))
    ));
    // Response with an all-zero ephemeral key, and with u = 1 (order 4).
    let ek = t.response.len() - KEM_CT - 32;
    for point in [[0u8; 32], {
        let mut one = [0u8; 32];
        one[0] = 1;
        one
    }] {
        let mut response = t.response.clone();
        response[ek..ek + 32].copy_from_slice(&point);
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
    let long = "u".repeat(255);
    for bad in ["", &"u".repeat(256)] {
        assert!(matches!(
            CallSession::initiate(&alice, bad, &peer("bob"), &config(), &mut Seeded::new(1)),
            Err(CallError::InvalidUserId)
        ));
        assert!(matches!(
            ExpectedPeer::new(bad),
            Err(CallError::InvalidUserId)
        ));
    }
    assert_eq!(ExpectedPeer::new(&long).unwrap().uid(), long);
    let (mut a, commit) =
        CallSession::initiate(&alice, &long, &peer("bob"), &config(), &mut Seeded::new(1)).unwrap();
    assert_eq!(commit.len(), 1270 + 255 + 3);
    assert!(matches!(a.take_media(), Err(CallError::NotEstablished)));
    assert!(matches!(
        a.mark_verified(&mut MemoryIdentityStore::new()),
        Err(CallError::NotEstablished)
    ));
    assert!(matches!(a.rekey(), Err(CallError::NotEstablished)));
    assert_eq!(a.state(), CallState::Negotiating);
    assert!(matches!(
        CallSession::respond(&key(2), "", None, &commit, &config(), &mut Seeded::new(2)),
        Err(CallError::InvalidUserId)
    ));
    let (b, response) = respond(&key(2), &commit, 2);
    assert_eq!(b.peer_uid().map(str::len), Some(255));
    assert_eq!(response.len(), 1171 + 3);
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
    // No temporary file is left behind (the store writes
    // `identities.json.tmp.<pid>.<n>` and renames it).
    let leftovers: Vec<String> = std::fs::read_dir(path.parent().unwrap())
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| name.contains(".tmp"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");

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
    let (mut a, commit) = initiate(&alice, 5);
    let (mut b, response) = respond(&bob, &commit, 6);
    let reveal = answer(&mut a, &response, &mut store);
    let confirm = answer(&mut b, &reveal, &mut MemoryIdentityStore::new());
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

/// The body length of each stage's message in `transcript` (user ids
/// "alice" and "bob").
fn body_len(stage: Stage) -> usize {
    let size = match stage {
        Stage::Commit => 1270 + 5 + 3,
        Stage::Response => 1171 + 3,
        Stage::Reveal => 82,
        Stage::Confirm => 50,
    };
    size - HEADER
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn arbitrary_bytes_never_panic(
        bytes in proptest::collection::vec(any::<u8>(), 0..1400),
        stage in 0usize..4,
    ) {
        let stage = STAGES[stage];
        let (s, r) = deliver(7, stage, &bytes);
        match r {
            // Random bytes are never used; with a full header they name
            // another session (whatever their version and type), which is
            // ignored.
            Ok(Some(Ignored::OtherSession)) => {
                prop_assert!(stage != Stage::Commit);
                prop_assert!(bytes.len() >= HEADER);
                prop_assert_eq!(s.unwrap().state(), CallState::Negotiating);
            }
            Ok(other) => prop_assert!(false, "{:?}: {:?}", stage, other),
            Err(_) => {
                if let Some(mut s) = s {
                    assert_failed(&mut s);
                }
            }
        }
    }

    #[test]
    fn arbitrary_bodies_behind_a_valid_header_never_panic(
        bytes in proptest::collection::vec(any::<u8>(), 1400),
        len in 0usize..1400,
        exact in any::<bool>(),
        stage in 0usize..4,
    ) {
        let t = transcript(7);
        let stage = STAGES[stage];
        // Half the bodies have the exact length of the stage's message, so
        // that the field checks run, not only the length checks.
        let body = &bytes[..if exact { body_len(stage) } else { len }];
        let mut msg = message(&t, stage)[..HEADER].to_vec();
        msg.extend_from_slice(body);
        let (s, r) = deliver(7, stage, &msg);
        // Only a Commit can be accepted without a secret: any body of the
        // right shape (calling "bob") starts a responder session.
        if stage == Stage::Commit && r.is_ok() {
            prop_assert_eq!(s.unwrap().state(), CallState::Negotiating);
        } else {
            prop_assert!(r.is_err(), "{:?}: {:?}", stage, r);
            if let Some(mut s) = s {
                assert_failed(&mut s);
            }
        }
    }
}
