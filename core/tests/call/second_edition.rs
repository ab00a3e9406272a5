//! Calls, second edition (issue #12; PROTOCOL.md §3): the intended peer,
//! stable established sessions, the ML-KEM half of the key agreement, and
//! the in-call rekey exchange with recovery.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use callseal_core::call::{
    CallConfig, CallError, CallSession, CallState, ExpectedPeer, Ignored, MediaUpdate, Role,
    media_generation,
};
use callseal_core::frame::{
    self, BaseKey, CipherSuite, Kid, RatchetLayout, Receiver, ReceiverConfig, Sender,
};
use callseal_core::identity::{
    Entropy, EntropyError, IdentityKeyPair, IdentityStore, MemoryIdentityStore, PeerStatus,
    StoredIdentity,
};
use hkdf::Hkdf;
use sha2::{Digest, Sha256};
use x25519_dalek::{PublicKey, StaticSecret};

/// Deterministic entropy: SHA-256(seed || counter) blocks, with a record of
/// every byte handed out (to play the adversary who later learns them).
struct Recorded {
    seed: u64,
    counter: u64,
    given: Vec<u8>,
}

impl Recorded {
    fn new(seed: u64) -> Self {
        Self {
            seed,
            counter: 0,
            given: Vec::new(),
        }
    }
}

impl Entropy for Recorded {
    fn fill(&mut self, dest: &mut [u8]) -> Result<(), EntropyError> {
        for chunk in dest.chunks_mut(32) {
            let block = Sha256::new()
                .chain_update(b"second-edition")
                .chain_update(self.seed.to_be_bytes())
                .chain_update(self.counter.to_be_bytes())
                .finalize();
            self.counter += 1;
            chunk.copy_from_slice(&block[..chunk.len()]);
        }
        self.given.extend_from_slice(dest);
        Ok(())
    }
}

fn identity(seed: u64) -> IdentityKeyPair {
    IdentityKeyPair::generate_with(&mut Recorded::new(seed ^ 0x5eed)).unwrap()
}

fn bob() -> ExpectedPeer {
    ExpectedPeer::new("bob").unwrap()
}

struct Call {
    a: CallSession,
    b: CallSession,
    a_store: MemoryIdentityStore,
    b_store: MemoryIdentityStore,
    commit: Vec<u8>,
    response: Vec<u8>,
    reveal: Vec<u8>,
    confirm: Vec<u8>,
    a_entropy: Recorded,
    b_entropy: Recorded,
}

/// Alice (initiator, expecting bob) and Bob complete a handshake.
fn call(seed: u64, config: &CallConfig) -> Call {
    let (alice, bob_key) = (identity(1), identity(2));
    let (mut a_store, mut b_store) = (MemoryIdentityStore::new(), MemoryIdentityStore::new());
    let mut a_entropy = Recorded::new(seed);
    let mut b_entropy = Recorded::new(!seed);
    let (mut a, commit) =
        CallSession::initiate(&alice, "alice", &bob(), config, &mut a_entropy).unwrap();
    let (mut b, response) =
        CallSession::respond(&bob_key, "bob", None, &commit, config, &mut b_entropy).unwrap();
    let reveal = a.handle(&response, &mut a_store).unwrap().reply.unwrap();
    let confirm = b.handle(&reveal, &mut b_store).unwrap().reply.unwrap();
    let done = a.handle(&confirm, &mut a_store).unwrap();
    assert!(done.reply.is_none() && done.ignored.is_none());
    assert_eq!(a.security_code(), b.security_code());
    Call {
        a,
        b,
        a_store,
        b_store,
        commit,
        response,
        reveal,
        confirm,
        a_entropy,
        b_entropy,
    }
}

fn apply(update: Option<MediaUpdate>, tx: &mut Sender, rx: &mut Receiver) {
    update.expect("a media update").apply(tx, rx).unwrap();
}

// ---------------------------------------------------------------- finding 1

#[test]
fn responder_with_another_uid_is_refused() {
    // Carol is a contact Alice verified earlier. Alice calls Bob; the relay
    // hands the call to Carol, who answers under her own user id and key.
    let (alice, carol) = (identity(1), identity(3));
    let mut a_store = MemoryIdentityStore::new();
    a_store
        .put(
            "carol",
            StoredIdentity {
                public_key: carol.public_key(),
                verified: true,
            },
        )
        .unwrap();
    let config = CallConfig::default();

    // Carol's own client refuses a Commit that calls "bob".
    let (_, commit_to_bob) =
        CallSession::initiate(&alice, "alice", &bob(), &config, &mut Recorded::new(7)).unwrap();
    let refused = CallSession::respond_random(&carol, "carol", None, &commit_to_bob, &config);
    assert!(
        matches!(&refused, Err(CallError::Misaddressed { to }) if to == "bob"),
        "{refused:?}"
    );

    // A hostile Carol answers anyway: she builds her Response for the same
    // session (same randomness, so the same session id and keys) as if the
    // call were to her.
    let carol_peer = ExpectedPeer::new("carol").unwrap();
    let (mut to_carol, commit_to_carol) =
        CallSession::initiate(&alice, "alice", &carol_peer, &config, &mut Recorded::new(7))
            .unwrap();
    assert_eq!(commit_to_carol[2..18], commit_to_bob[2..18]);
    let (mut c, response) =
        CallSession::respond_random(&carol, "carol", None, &commit_to_carol, &config).unwrap();

    // Alice's session expects Bob: refused before any key exists.
    let (mut a, _) =
        CallSession::initiate(&alice, "alice", &bob(), &config, &mut Recorded::new(7)).unwrap();
    let result = a.handle(&response, &mut a_store);
    assert!(
        matches!(&result, Err(CallError::WrongPeer { expected, presented })
            if expected == "bob" && presented == "carol"),
        "{result:?}"
    );
    assert_eq!(
        result.unwrap_err().kind(),
        callseal_core::ErrorKind::WrongPeer
    );
    assert_eq!(a.state(), CallState::Failed);
    assert_eq!(a.security_code(), None);
    assert!(matches!(a.take_media(), Err(CallError::NotEstablished)));

    // Control: the very same Response completes a call meant for Carol, and
    // that one shows Verified — which is what Alice's screen showed for
    // Bob's call before the check.
    let reveal = to_carol
        .handle(&response, &mut a_store)
        .unwrap()
        .reply
        .unwrap();
    let confirm = c
        .handle(&reveal, &mut MemoryIdentityStore::new())
        .unwrap()
        .reply
        .unwrap();
    to_carol.handle(&confirm, &mut a_store).unwrap();
    assert_eq!(to_carol.state(), CallState::Verified);
    assert_eq!(to_carol.peer_uid(), Some("carol"));
}

#[test]
fn pinned_identity_key_and_expected_caller_are_enforced() {
    let (alice, bob_key, mallory) = (identity(1), identity(2), identity(9));
    let config = CallConfig::default();
    let pinned = bob().with_identity(bob_key.public_key());

    // Mallory answers as "bob" with her own key: the pin refuses it.
    let (mut a, commit) = CallSession::initiate_random(&alice, "alice", &pinned, &config).unwrap();
    let (_, response) =
        CallSession::respond_random(&mallory, "bob", None, &commit, &config).unwrap();
    let result = a.handle(&response, &mut MemoryIdentityStore::new());
    assert!(matches!(result, Err(CallError::WrongPeerKey)), "{result:?}");
    assert_eq!(a.state(), CallState::Failed);

    // The real Bob passes the pin.
    let (mut a, commit) = CallSession::initiate_random(&alice, "alice", &pinned, &config).unwrap();
    let (_, response) =
        CallSession::respond_random(&bob_key, "bob", None, &commit, &config).unwrap();
    assert!(
        a.handle(&response, &mut MemoryIdentityStore::new())
            .unwrap()
            .reply
            .is_some()
    );

    // A responder that expects Alice refuses Mallory calling as "mallory",
    // and Mallory calling as "alice" under another key than Alice's.
    let expect_alice = ExpectedPeer::new("alice")
        .unwrap()
        .with_identity(alice.public_key());
    let (_, from_mallory) =
        CallSession::initiate_random(&mallory, "mallory", &bob(), &config).unwrap();
    assert!(matches!(
        CallSession::respond_random(&bob_key, "bob", Some(&expect_alice), &from_mallory, &config),
        Err(CallError::WrongPeer { .. })
    ));
    let (_, as_alice) = CallSession::initiate_random(&mallory, "alice", &bob(), &config).unwrap();
    assert!(matches!(
        CallSession::respond_random(&bob_key, "bob", Some(&expect_alice), &as_alice, &config),
        Err(CallError::WrongPeerKey)
    ));
    let (_, real) = CallSession::initiate_random(&alice, "alice", &bob(), &config).unwrap();
    assert!(
        CallSession::respond_random(&bob_key, "bob", Some(&expect_alice), &real, &config).is_ok()
    );
}

// ---------------------------------------------------------------- finding 2

#[test]
fn stray_messages_do_not_end_an_established_call() {
    let mut c = call(21, &CallConfig::default());
    let code = c.a.security_code();
    let other = call(22, &CallConfig::default());

    // The finding's case: an 18-byte message of another session.
    let mut header_only = vec![0x02, 0x04];
    header_only.extend_from_slice(&other.commit[2..18]);
    assert_eq!(header_only.len(), 18);

    let mut version_1 = c.confirm.clone();
    version_1[0] = 0x01;
    let mut truncated_rekey = c.confirm[..18].to_vec();
    truncated_rekey[1] = 0x05;
    let mut forged_done = c.confirm[..18].to_vec();
    forged_done[1] = 0x07;
    forged_done.extend_from_slice(&0u32.to_be_bytes());
    forged_done.extend_from_slice(&[0xab; 32]);
    let mut forged_offer = c.confirm[..18].to_vec();
    forged_offer[1] = 0x05;
    forged_offer.extend_from_slice(&1u32.to_be_bytes());
    forged_offer.extend_from_slice(&[9; 32 + 1184 + 32]);

    let strays: [(&str, &[u8], Ignored); 11] = [
        ("18-byte other session", &header_only, Ignored::OtherSession),
        (
            "another session's Confirm",
            &other.confirm,
            Ignored::OtherSession,
        ),
        (
            "another session's Commit",
            &other.commit,
            Ignored::OtherSession,
        ),
        ("duplicated Confirm", &c.confirm, Ignored::Handshake),
        ("own Commit reflected", &c.commit, Ignored::Handshake),
        ("own Reveal reflected", &c.reveal, Ignored::Handshake),
        ("version 1", &version_1, Ignored::Malformed),
        ("empty", &[], Ignored::Malformed),
        ("truncated rekey", &truncated_rekey, Ignored::Malformed),
        ("forged RekeyDone", &forged_done, Ignored::Stale),
        ("forged RekeyOffer", &forged_offer, Ignored::BadMac),
    ];
    for (what, msg, why) in strays {
        let handled = c.a.handle(msg, &mut c.a_store).unwrap();
        assert_eq!(handled.ignored, Some(why), "{what}");
        assert!(handled.reply.is_none() && handled.media.is_none(), "{what}");
        assert_eq!(c.a.state(), CallState::Encrypted, "{what}");
        assert_eq!(c.a.security_code(), code, "{what}");
    }
    // The responder: a duplicated Reveal gets the same Confirm again (the
    // initiator may resend it when the Confirm was lost); an older
    // handshake message is ignored.
    for _ in 0..2 {
        let handled = c.b.handle(&c.reveal, &mut c.b_store).unwrap();
        assert_eq!(handled.ignored, Some(Ignored::Repeat));
        assert_eq!(handled.reply.as_ref(), Some(&c.confirm));
    }
    for msg in [
        &header_only,
        &other.reveal,
        &c.commit,
        &c.response,
        &c.confirm,
    ] {
        let handled = c.b.handle(msg, &mut c.b_store).unwrap();
        assert!(handled.ignored.is_some() && handled.reply.is_none());
    }
    assert_eq!(c.b.state(), CallState::Encrypted);

    // The media keys were not wiped: both directions still work.
    let (mut a_tx, mut a_rx) = c.a.take_media().unwrap();
    let (mut b_tx, mut b_rx) = c.b.take_media().unwrap();
    let f = a_tx.encrypt(b"", b"still here").unwrap();
    assert_eq!(b_rx.decrypt(b"", &f).unwrap(), b"still here");
    let g = b_tx.encrypt(b"", b"me too").unwrap();
    assert_eq!(a_rx.decrypt(b"", &g).unwrap(), b"me too");
}

#[test]
fn stray_messages_while_negotiating_are_ignored_or_fail_as_specified() {
    let config = CallConfig::default();
    let (alice, bob_key) = (identity(1), identity(2));
    let other = call(30, &config);
    let (mut a, commit) =
        CallSession::initiate(&alice, "alice", &bob(), &config, &mut Recorded::new(31)).unwrap();
    // Another session's Response: ignored, the handshake goes on.
    let handled = a
        .handle(&other.response, &mut MemoryIdentityStore::new())
        .unwrap();
    assert_eq!(handled.ignored, Some(Ignored::OtherSession));
    let (mut b, response) = CallSession::respond(
        &bob_key,
        "bob",
        None,
        &commit,
        &config,
        &mut Recorded::new(32),
    )
    .unwrap();
    let reveal = a
        .handle(&response, &mut MemoryIdentityStore::new())
        .unwrap()
        .reply
        .unwrap();
    // The Response again: the same Reveal again.
    let again = a
        .handle(&response, &mut MemoryIdentityStore::new())
        .unwrap();
    assert_eq!(again.ignored, Some(Ignored::Repeat));
    assert_eq!(again.reply, Some(reveal.clone()));
    // A message of this session of the wrong type still aborts.
    let result = b.handle(&response, &mut MemoryIdentityStore::new());
    assert!(
        matches!(result, Err(CallError::UnexpectedMessage { .. })),
        "{result:?}"
    );
    assert_eq!(b.state(), CallState::Failed);
}

// ---------------------------------------------------------------- hybrid

fn hkdf_expand(prk: &Hkdf<Sha256>, label: &[u8]) -> [u8; 32] {
    let mut out = [0u8; 32];
    prk.expand(label, &mut out).unwrap();
    out
}

fn receiver_for(generation: u64, key: &[u8; 32]) -> Receiver {
    let mut rx = Receiver::new(ReceiverConfig::default());
    rx.add_ratcheting_sender(
        CipherSuite::AesGcm128Sha256,
        RatchetLayout::new(8).unwrap(),
        generation,
        BaseKey::new(key).unwrap(),
    )
    .unwrap();
    rx
}

#[test]
fn recorded_call_needs_the_kem_secret() {
    // The adversary records the whole call and later breaks X25519: it
    // knows every X25519 private key (both identities, both ephemerals), so
    // it can compute dh1, dh2, dh3 and TH. It does not know the ML-KEM
    // shared secret.
    let mut c = call(41, &CallConfig::default());
    let (mut a_tx, _) = c.a.take_media().unwrap();
    let recorded_frame = a_tx.encrypt(b"", b"harvest now, decrypt later").unwrap();

    let ik_i = StaticSecret::from(*identity(1).to_bytes());
    let ik_r = StaticSecret::from(*identity(2).to_bytes());
    let ek_i = StaticSecret::from(<[u8; 32]>::try_from(&c.a_entropy.given[16..48]).unwrap());
    let ek_r = StaticSecret::from(<[u8; 32]>::try_from(&c.b_entropy.given[..32]).unwrap());
    let ek_i_pub: [u8; 32] = c.reveal[18..50].try_into().unwrap();
    assert_eq!(PublicKey::from(&ek_i).to_bytes(), ek_i_pub);
    // Response = header | len | "bob" | IK_R | EK_R | KEM_ct.
    let ek_r_pub: [u8; 32] = c.response[18 + 4 + 32..18 + 4 + 64].try_into().unwrap();
    assert_eq!(PublicKey::from(&ek_r).to_bytes(), ek_r_pub);
    let dh1 = ik_i.diffie_hellman(&PublicKey::from(ek_r_pub)).to_bytes();
    let dh2 = ek_i
        .diffie_hellman(&PublicKey::from(identity(2).public_key()))
        .to_bytes();
    assert_eq!(
        dh2,
        ik_r.diffie_hellman(&PublicKey::from(ek_i_pub)).to_bytes()
    );
    let dh3 = ek_i.diffie_hellman(&PublicKey::from(ek_r_pub)).to_bytes();
    let th: [u8; 32] = Sha256::new()
        .chain_update(b"callseal/2 transcript")
        .chain_update(&c.commit)
        .chain_update(&c.response)
        .chain_update(ek_i_pub)
        .finalize()
        .into();
    let media_i = |ikm: &[u8]| {
        hkdf_expand(
            &Hkdf::<Sha256>::new(Some(&th), ikm),
            b"callseal/2 media initiator",
        )
    };
    let opens = |key: [u8; 32]| receiver_for(1, &key).decrypt(b"", &recorded_frame).is_ok();
    let classical = [dh1, dh2, dh3].concat();
    // Without the KEM secret: every guess fails.
    assert!(!opens(media_i(&classical)), "the X25519 secrets alone");
    for guess in [[0u8; 32], [0xff; 32], dh3] {
        let ikm = [classical.as_slice(), &guess].concat();
        assert!(!opens(media_i(&ikm)), "a guessed KEM secret");
    }
    // Control: with the ML-KEM secret (here decapsulated with the
    // initiator's KEM seed, which only Alice's device had) the same
    // computation opens the frame — the schedule above is the real one.
    let seed: [u8; 64] = c.a_entropy.given[48..112].try_into().unwrap();
    let dk = ml_kem::ml_kem_768::DecapsulationKey::from_seed(seed.into());
    let ct: [u8; 1088] = c.response[c.response.len() - 1088..].try_into().unwrap();
    let ss = ml_kem::Decapsulate::decapsulate(&dk, &ct.into());
    let ikm = [classical.as_slice(), ss.as_slice()].concat();
    assert!(opens(media_i(&ikm)));
    // And the rekeyed epochs depend on a fresh KEM secret too: after a
    // rekey, the handshake's secrets do not open the new frames.
    let (mut b_tx, mut b_rx) = c.b.take_media().unwrap();
    let offer = c.a.rekey().unwrap();
    let answered = c.b.handle(&offer, &mut c.b_store).unwrap();
    apply(answered.media, &mut b_tx, &mut b_rx);
    let done =
        c.a.handle(&answered.reply.unwrap(), &mut c.a_store)
            .unwrap();
    let mut a_rx = Receiver::new(ReceiverConfig::default());
    apply(done.media, &mut a_tx, &mut a_rx);
    let after = a_tx.encrypt(b"", b"epoch 1").unwrap();
    assert_eq!(b_rx.decrypt(b"", &after).unwrap(), b"epoch 1");
    assert!(
        receiver_for(3, &media_i(&ikm))
            .decrypt(b"", &after)
            .is_err()
    );
}

// ---------------------------------------------------------------- rekey

/// Both sides' media ends.
struct Media {
    a_tx: Sender,
    a_rx: Receiver,
    b_tx: Sender,
    b_rx: Receiver,
}

fn media(c: &mut Call) -> Media {
    let (a_tx, a_rx) = c.a.take_media().unwrap();
    let (b_tx, b_rx) = c.b.take_media().unwrap();
    Media {
        a_tx,
        a_rx,
        b_tx,
        b_rx,
    }
}

#[test]
fn dh_rekey_gives_new_keys_without_loss() {
    let mut c = call(51, &CallConfig::default());
    let mut m = media(&mut c);
    let mut sent = 0u32;
    let mut decrypted = 0u32;
    // Frames in flight: sent, delivered later (late frames across a switch).
    let mut a_in_flight: Vec<Vec<u8>> = Vec::new();
    let mut b_in_flight: Vec<Vec<u8>> = Vec::new();
    let mut send = |m: &mut Media, a_fl: &mut Vec<Vec<u8>>, b_fl: &mut Vec<Vec<u8>>, n: u32| {
        for i in 0..n {
            a_fl.push(m.a_tx.encrypt(b"", &i.to_be_bytes()).unwrap());
            b_fl.push(m.b_tx.encrypt(b"", &i.to_be_bytes()).unwrap());
            sent += 2;
        }
    };
    let mut deliver = |m: &mut Media, a_fl: &mut Vec<Vec<u8>>, b_fl: &mut Vec<Vec<u8>>| {
        for f in a_fl.drain(..) {
            m.b_rx.decrypt(b"", &f).unwrap();
            decrypted += 1;
        }
        for f in b_fl.drain(..) {
            m.a_rx.decrypt(b"", &f).unwrap();
            decrypted += 1;
        }
    };

    let kid0 = (m.a_tx.kid(), m.b_tx.kid());
    assert_eq!(kid0, (Kid(1 << 8), Kid(2 << 8)));
    for round in 1..=3u32 {
        // Alternate the offerer; frames flow at every step of the exchange
        // and are delivered only after the next step (late frames).
        let (offerer_is_a, epoch) = (round % 2 == 1, round);
        send(&mut m, &mut a_in_flight, &mut b_in_flight, 5);
        m.a_tx.ratchet().unwrap(); // ratchet steps inside an epoch still work
        let offer = if offerer_is_a {
            c.a.rekey().unwrap()
        } else {
            c.b.rekey().unwrap()
        };
        send(&mut m, &mut a_in_flight, &mut b_in_flight, 5);
        let (answer, done) = if offerer_is_a {
            let h = c.b.handle(&offer, &mut c.b_store).unwrap();
            apply(h.media, &mut m.b_tx, &mut m.b_rx);
            send(&mut m, &mut a_in_flight, &mut b_in_flight, 5);
            let answer = h.reply.unwrap();
            let h = c.a.handle(&answer, &mut c.a_store).unwrap();
            apply(h.media, &mut m.a_tx, &mut m.a_rx);
            (answer, h.reply.unwrap())
        } else {
            let h = c.a.handle(&offer, &mut c.a_store).unwrap();
            apply(h.media, &mut m.a_tx, &mut m.a_rx);
            send(&mut m, &mut a_in_flight, &mut b_in_flight, 5);
            let answer = h.reply.unwrap();
            let h = c.b.handle(&answer, &mut c.b_store).unwrap();
            apply(h.media, &mut m.b_tx, &mut m.b_rx);
            (answer, h.reply.unwrap())
        };
        assert_eq!((offer.len(), answer.len(), done.len()), (1270, 1174, 54));
        // Late frames of the old epoch, sent before the switch, decrypt.
        send(&mut m, &mut a_in_flight, &mut b_in_flight, 5);
        deliver(&mut m, &mut a_in_flight, &mut b_in_flight);
        let h = if offerer_is_a {
            c.b.handle(&done, &mut c.b_store).unwrap()
        } else {
            c.a.handle(&done, &mut c.a_store).unwrap()
        };
        let update = h.media.unwrap();
        // The Done switches the answerer's sender, and from epoch 2 on it
        // also retires the offerer's generation of two epochs ago.
        assert!(update.changes_sender());
        assert_eq!(update.changes_receiver(), epoch >= 2);
        if offerer_is_a {
            update.apply(&mut m.b_tx, &mut m.b_rx).unwrap();
        } else {
            update.apply(&mut m.a_tx, &mut m.a_rx).unwrap();
        }
        assert_eq!((c.a.epoch(), c.b.epoch()), (epoch, epoch));
        // New generations: fresh keys at step 0.
        assert_eq!(
            m.a_tx.kid(),
            Kid(media_generation(Role::Initiator, epoch) << 8)
        );
        assert_eq!(
            m.b_tx.kid(),
            Kid(media_generation(Role::Responder, epoch) << 8)
        );
        send(&mut m, &mut a_in_flight, &mut b_in_flight, 5);
        deliver(&mut m, &mut a_in_flight, &mut b_in_flight);
    }
    assert_eq!(decrypted, sent, "no frame lost across three rekeys");
    // The keys are new: a receiver holding only epoch 0's keys cannot open
    // an epoch 3 frame, and epoch 1's keys are forgotten after epoch 3.
    let f = m.a_tx.encrypt(b"", b"x").unwrap();
    let mut c0 = call(51, &CallConfig::default());
    let (_, mut epoch0_rx) = c0.b.take_media().unwrap();
    assert!(epoch0_rx.decrypt(b"", &f).is_err());
    assert!(
        !m.b_rx
            .has_key(Kid(media_generation(Role::Initiator, 1) << 8))
    );
    assert!(
        m.b_rx
            .has_key(Kid(media_generation(Role::Initiator, 2) << 8))
    );
}

#[test]
fn rekey_messages_under_attack() {
    let mut c = call(61, &CallConfig::default());
    let mut m = media(&mut c);
    let offer = c.b.rekey().unwrap();
    // Resending: the same Offer again while pending.
    assert_eq!(c.b.rekey().unwrap(), offer);
    assert!(c.b.rekey_pending());
    // Reflected to its sender: the MAC key is the sender role's.
    let reflected = c.b.handle(&offer, &mut c.b_store).unwrap();
    assert_eq!(reflected.ignored, Some(Ignored::BadMac));
    // Tampered in transit.
    let mut tampered = offer.clone();
    tampered[100] ^= 1;
    assert_eq!(
        c.a.handle(&tampered, &mut c.a_store).unwrap().ignored,
        Some(Ignored::BadMac)
    );
    let answered = c.a.handle(&offer, &mut c.a_store).unwrap();
    let answer = answered.reply.clone().unwrap();
    apply(answered.media, &mut m.a_tx, &mut m.a_rx);
    // The Offer duplicated: the same Answer, no new keys.
    let again = c.a.handle(&offer, &mut c.a_store).unwrap();
    assert_eq!(again.ignored, Some(Ignored::Repeat));
    assert_eq!(again.reply.as_ref(), Some(&answer));
    assert!(again.media.is_none());
    // The Answer reflected back to A fails its MAC/epoch checks.
    assert!(
        c.a.handle(&answer, &mut c.a_store)
            .unwrap()
            .ignored
            .is_some()
    );
    let done_h = c.b.handle(&answer, &mut c.b_store).unwrap();
    apply(done_h.media, &mut m.b_tx, &mut m.b_rx);
    let done = done_h.reply.unwrap();
    // The Done is lost. B already sends under epoch 1; A follows it.
    let f = m.b_tx.encrypt(b"", b"b1").unwrap();
    assert_eq!(m.a_rx.decrypt(b"", &f).unwrap(), b"b1");
    // A still sends under epoch 0, which B still follows.
    let g = m.a_tx.encrypt(b"", b"a0").unwrap();
    assert_eq!(m.b_rx.decrypt(b"", &g).unwrap(), b"a0");
    // The next rekey (B offers again) proves B has epoch 1: A switches.
    let offer2 = c.b.rekey().unwrap();
    let h = c.a.handle(&offer2, &mut c.a_store).unwrap();
    let update = h.media.unwrap();
    assert!(update.changes_sender(), "the held epoch-1 key is used now");
    update.apply(&mut m.a_tx, &mut m.a_rx).unwrap();
    assert_eq!(m.a_tx.kid(), Kid(media_generation(Role::Initiator, 1) << 8));
    let g = m.a_tx.encrypt(b"", b"a1").unwrap();
    assert_eq!(m.b_rx.decrypt(b"", &g).unwrap(), b"a1");
    // The old Done arrives late: stale.
    assert_eq!(
        c.a.handle(&done, &mut c.a_store).unwrap().ignored,
        Some(Ignored::Stale)
    );
    // A replayed first Offer: already answered earlier, but not the last
    // message answered, and its epoch is past.
    assert_eq!(
        c.a.handle(&offer, &mut c.a_store).unwrap().ignored,
        Some(Ignored::Stale)
    );
}

#[test]
fn crossed_offers_resolve_to_the_initiators() {
    let mut c = call(71, &CallConfig::default());
    let mut m = media(&mut c);
    let from_a = c.a.rekey().unwrap();
    let from_b = c.b.rekey().unwrap();
    // A (initiator) ignores B's offer; B drops its own and answers A's.
    let collided = c.a.handle(&from_b, &mut c.a_store).unwrap();
    assert_eq!(collided.ignored, Some(Ignored::RekeyCollision));
    // The initiator sends its own offer again, in case it was lost.
    assert_eq!(collided.reply.as_ref(), Some(&from_a));
    let h = c.b.handle(&from_a, &mut c.b_store).unwrap();
    assert!(!c.b.rekey_pending());
    apply(h.media, &mut m.b_tx, &mut m.b_rx);
    let h2 = c.a.handle(&h.reply.unwrap(), &mut c.a_store).unwrap();
    apply(h2.media, &mut m.a_tx, &mut m.a_rx);
    let h3 = c.b.handle(&h2.reply.unwrap(), &mut c.b_store).unwrap();
    apply(h3.media, &mut m.b_tx, &mut m.b_rx);
    assert_eq!((c.a.epoch(), c.b.epoch()), (1, 1));
    let f = m.b_tx.encrypt(b"", b"ok").unwrap();
    assert_eq!(m.a_rx.decrypt(b"", &f).unwrap(), b"ok");
}

#[test]
fn rekey_is_due_after_the_configured_interval() {
    let config = CallConfig {
        rekey_every_ms: 1000,
        ..CallConfig::default()
    };
    let mut c = call(81, &config);
    assert!(!c.a.rekey_due(10_000)); // starts the epoch clock
    assert!(!c.a.rekey_due(10_999));
    assert!(c.a.rekey_due(11_000));
    let offer = c.a.rekey().unwrap();
    assert!(!c.a.rekey_due(20_000), "not while an offer is pending");
    let h = c.b.handle(&offer, &mut c.b_store).unwrap();
    c.a.handle(&h.reply.unwrap(), &mut c.a_store).unwrap();
    assert!(!c.a.rekey_due(20_000), "a new epoch restarts the clock");
    assert!(c.a.rekey_due(21_000));
    let off = CallConfig {
        rekey_every_ms: 0,
        ..CallConfig::default()
    };
    let mut c = call(82, &off);
    assert!(!c.a.rekey_due(0) && !c.a.rekey_due(u64::MAX));
    // Before establishment there is nothing to rekey.
    let (mut fresh, _) =
        CallSession::initiate_random(&identity(1), "alice", &bob(), &config).unwrap();
    assert!(!fresh.rekey_due(u64::MAX));
    assert!(matches!(fresh.rekey(), Err(CallError::NotEstablished)));
}

// ---------------------------------------------------------------- finding 5

#[test]
fn receiver_far_behind_recovers_by_rekey() {
    let mut c = call(91, &CallConfig::default());
    let mut m = media(&mut c);
    // Alice ratchets every frame; a long outage drops 40 frames, so Bob is
    // more ratchet steps behind than his receiver follows (16).
    let mut next = 0u32;
    let mut frame = |m: &mut Media| {
        m.a_tx.ratchet().unwrap();
        next += 1;
        m.a_tx.encrypt(b"", &next.to_be_bytes()).unwrap()
    };
    for _ in 0..3 {
        let f = frame(&mut m);
        m.b_rx.decrypt(b"", &f).unwrap();
    }
    for _ in 0..40 {
        frame(&mut m); // lost
    }
    let f = frame(&mut m);
    let err = m.b_rx.decrypt(b"", &f).unwrap_err();
    assert!(matches!(err, frame::Error::RatchetTooFar { .. }), "{err:?}");
    // Before this issue, that was the end of Alice's media for the call:
    // every later frame is further ahead still.
    let mut lost_during_recovery = 1;
    for _ in 0..3 {
        let f = frame(&mut m);
        assert!(m.b_rx.decrypt(b"", &f).is_err());
        lost_during_recovery += 1;
    }

    // Bob asks for a rekey; one round trip and a half later Alice sends
    // under fresh keys at step 0.
    let offer = c.b.rekey().unwrap();
    let h = c.a.handle(&offer, &mut c.a_store).unwrap();
    apply(h.media, &mut m.a_tx, &mut m.a_rx);
    // Frames Alice sends meanwhile are still under the old chain: lost.
    let f = frame(&mut m);
    assert!(m.b_rx.decrypt(b"", &f).is_err());
    lost_during_recovery += 1;
    let h2 = c.b.handle(&h.reply.unwrap(), &mut c.b_store).unwrap();
    apply(h2.media, &mut m.b_tx, &mut m.b_rx);
    let h3 = c.a.handle(&h2.reply.unwrap(), &mut c.a_store).unwrap();
    apply(h3.media, &mut m.a_tx, &mut m.a_rx);
    // Recovered: every frame from here on decrypts, ratchet steps included.
    for i in 0..50u32 {
        if i % 3 == 0 {
            m.a_tx.ratchet().unwrap();
        }
        let f = m.a_tx.encrypt(b"", &i.to_be_bytes()).unwrap();
        assert_eq!(m.b_rx.decrypt(b"", &f).unwrap(), i.to_be_bytes());
    }
    assert_eq!(lost_during_recovery, 5);
    // Bob's own direction never stopped.
    let g = m.b_tx.encrypt(b"", b"fine").unwrap();
    assert_eq!(m.a_rx.decrypt(b"", &g).unwrap(), b"fine");
}

// ---------------------------------------------------------------- item 8

#[test]
fn short_tag_suites_need_an_explicit_opt_in() {
    let (alice, bob_key) = (identity(1), identity(2));
    for id in [0x0003u16, 0x0008] {
        let suite = CipherSuite::from_id(id).unwrap();
        let strict = CallConfig {
            suite,
            ..CallConfig::default()
        };
        assert!(matches!(
            CallSession::initiate_random(&alice, "alice", &bob(), &strict),
            Err(CallError::ShortTag(s)) if s == id
        ));
        let opted_in = CallConfig {
            allow_short_tags: true,
            ..strict
        };
        let (_, commit) = CallSession::initiate_random(&alice, "alice", &bob(), &opted_in).unwrap();
        // A responder that did not opt in refuses the Commit.
        assert!(matches!(
            CallSession::respond_random(&bob_key, "bob", None, &commit, &CallConfig::default()),
            Err(CallError::ShortTag(s)) if s == id
        ));
        let opted = CallConfig {
            allow_short_tags: true,
            ..CallConfig::default()
        };
        let (b, _) = CallSession::respond_random(&bob_key, "bob", None, &commit, &opted).unwrap();
        assert_eq!(b.suite(), suite);
    }
    // 64-bit tags are fine without opting in.
    for id in [0x0002u16, 0x0007] {
        let config = CallConfig {
            suite: CipherSuite::from_id(id).unwrap(),
            ..CallConfig::default()
        };
        assert!(CallSession::initiate_random(&alice, "alice", &bob(), &config).is_ok());
    }
}

#[test]
fn established_peer_is_the_expected_one() {
    let c = call(95, &CallConfig::default());
    assert_eq!(c.a.peer_uid(), Some("bob"));
    assert_eq!(c.a.peer_status(), Some(PeerStatus::New));
}

#[test]
fn answerer_offering_before_its_done_loses_nothing() {
    // Bob answers epoch 1; its RekeyDone is still on the way when Bob
    // offers epoch 2. Bob still sends under epoch 0 until he learns that
    // Alice has epoch 1, so Alice must keep following his epoch-0 keys.
    let mut c = call(97, &CallConfig::default());
    let mut m = media(&mut c);
    let offer1 = c.a.rekey().unwrap();
    let h = c.b.handle(&offer1, &mut c.b_store).unwrap();
    apply(h.media, &mut m.b_tx, &mut m.b_rx);
    let h = c.a.handle(&h.reply.unwrap(), &mut c.a_store).unwrap();
    apply(h.media, &mut m.a_tx, &mut m.a_rx);
    let done1 = h.reply.unwrap();
    let offer2 = c.b.rekey().unwrap();
    assert_eq!(m.b_tx.kid(), Kid(media_generation(Role::Responder, 0) << 8));
    let h = c.a.handle(&offer2, &mut c.a_store).unwrap();
    apply(h.media, &mut m.a_tx, &mut m.a_rx);
    let f = m.b_tx.encrypt(b"", b"epoch 0, still").unwrap();
    assert_eq!(m.a_rx.decrypt(b"", &f).unwrap(), b"epoch 0, still");
    // Bob completes epoch 2 and switches; the late Done of epoch 1 is stale.
    let h = c.b.handle(&h.reply.unwrap(), &mut c.b_store).unwrap();
    apply(h.media, &mut m.b_tx, &mut m.b_rx);
    let done2 = h.reply.unwrap();
    assert_eq!(
        c.b.handle(&done1, &mut c.b_store).unwrap().ignored,
        Some(Ignored::Stale)
    );
    let f = m.b_tx.encrypt(b"", b"epoch 2").unwrap();
    assert_eq!(m.a_rx.decrypt(b"", &f).unwrap(), b"epoch 2");
    // Alice's Done of epoch 2 makes her stop following Bob's epoch 0.
    let h = c.a.handle(&done2, &mut c.a_store).unwrap();
    let update = h.media.unwrap();
    assert!(update.changes_receiver());
    apply(Some(update), &mut m.a_tx, &mut m.a_rx);
    assert!(
        !m.a_rx
            .has_key(Kid(media_generation(Role::Responder, 0) << 8))
    );
    assert!(
        m.a_rx
            .has_key(Kid(media_generation(Role::Responder, 1) << 8))
    );
    let g = m.a_tx.encrypt(b"", b"alice epoch 2").unwrap();
    assert_eq!(m.b_rx.decrypt(b"", &g).unwrap(), b"alice epoch 2");
}

#[test]
fn a_lost_initiator_offer_does_not_stop_rekeying() {
    // The relay drops the initiator's offer. Its periodic timer fires
    // again and resends it; the responder's own offer gets it resent too.
    let config = CallConfig {
        rekey_every_ms: 1000,
        ..CallConfig::default()
    };
    let mut c = call(98, &config);
    let mut m = media(&mut c);
    assert!(!c.a.rekey_due(0));
    assert!(c.a.rekey_due(1000));
    let dropped = c.a.rekey().unwrap();
    assert!(!c.a.rekey_due(1500));
    assert!(c.a.rekey_due(2500), "due again: resend");
    assert_eq!(c.a.rekey().unwrap(), dropped);
    // The responder's receiver fell behind and it asks for a rekey itself.
    let from_b = c.b.rekey().unwrap();
    let h = c.a.handle(&from_b, &mut c.a_store).unwrap();
    assert_eq!(h.ignored, Some(Ignored::RekeyCollision));
    let resent = h.reply.unwrap();
    let h = c.b.handle(&resent, &mut c.b_store).unwrap();
    apply(h.media, &mut m.b_tx, &mut m.b_rx);
    let h = c.a.handle(&h.reply.unwrap(), &mut c.a_store).unwrap();
    apply(h.media, &mut m.a_tx, &mut m.a_rx);
    let h = c.b.handle(&h.reply.unwrap(), &mut c.b_store).unwrap();
    apply(h.media, &mut m.b_tx, &mut m.b_rx);
    assert_eq!((c.a.epoch(), c.b.epoch()), (1, 1));
    let f = m.b_tx.encrypt(b"", b"rekeyed").unwrap();
    assert_eq!(m.a_rx.decrypt(b"", &f).unwrap(), b"rekeyed");
}

#[test]
fn other_sessions_and_early_offers_do_not_break_a_negotiation() {
    let config = CallConfig::default();
    let (alice, bob_key) = (identity(1), identity(2));
    let mut a_store = MemoryIdentityStore::new();
    let (mut a, commit) =
        CallSession::initiate(&alice, "alice", &bob(), &config, &mut Recorded::new(99)).unwrap();
    // Another session's message of an unknown type or another version.
    for (version, kind) in [(0x02u8, 0x08u8), (0x01, 0x04), (0x7f, 0xff)] {
        let mut stray = vec![version, kind];
        stray.extend_from_slice(&[0xee; 16]);
        let h = a.handle(&stray, &mut a_store).unwrap();
        assert_eq!(h.ignored, Some(Ignored::OtherSession));
        assert_eq!(a.state(), CallState::Negotiating);
    }
    // The responder rekeys at once; its offer overtakes the Confirm.
    let (mut b, response) = CallSession::respond(
        &bob_key,
        "bob",
        None,
        &commit,
        &config,
        &mut Recorded::new(100),
    )
    .unwrap();
    let reveal = a.handle(&response, &mut a_store).unwrap().reply.unwrap();
    let confirm = b
        .handle(&reveal, &mut MemoryIdentityStore::new())
        .unwrap()
        .reply
        .unwrap();
    let early = b.rekey().unwrap();
    assert_eq!(
        a.handle(&early, &mut a_store).unwrap().ignored,
        Some(Ignored::Stale)
    );
    a.handle(&confirm, &mut a_store).unwrap();
    assert_eq!(
        (a.state(), b.state()),
        (CallState::Encrypted, CallState::Encrypted)
    );
    // The resent offer then runs.
    let h = a.handle(&b.rekey().unwrap(), &mut a_store).unwrap();
    assert!(h.reply.is_some() && h.media.is_some());
}
