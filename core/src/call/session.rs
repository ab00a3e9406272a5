//! The sans-IO state machine of a 1:1 call (PROTOCOL.md §3.7): the
//! handshake, then the in-call rekey exchange (§3.9).

use core::fmt;

use x25519_dalek::{PublicKey, StaticSecret};
use zeroize::Zeroizing;

use super::config::{CallConfig, ExpectedPeer};
use super::error::CallError;
use super::kem::{self, KemKeyPair};
use super::media::{self, MediaUpdate, media_generation};
use super::message::{
    self, Commit, Confirm, Envelope, KEY_LEN, MAC_LEN, MessageType, Rekey, Response, Reveal,
    SessionId,
};
use super::outcome::{Handled, Ignored};
use super::schedule::{self, Secret32, Secrets};
use crate::frame::{BaseKey, CipherSuite, Receiver, ReceiverConfig, Sender};
use crate::identity::{
    Entropy, IdentityKeyPair, IdentityStore, OsEntropy, PeerStatus, SecurityCode, StoredIdentity,
};
use crate::policy::{CallDecision, CallFeature, FeatureUnavailable, gate_call_feature};

/// Which side of the handshake a session is.
///
/// ```
/// use callseal_core::call::Role;
///
/// assert_ne!(Role::Initiator, Role::Responder);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Role {
    /// Sends Commit and Reveal.
    Initiator,
    /// Sends Response and Confirm.
    Responder,
}

/// What the call UI shows (PROTOCOL.md §3.7).
///
/// ```
/// use callseal_core::call::{CallState, Indicator};
///
/// assert_eq!(CallState::Verified.indicator(), Indicator::LockAndShieldVerified);
/// assert_eq!(CallState::Encrypted.indicator(), Indicator::LockAndShield);
/// assert_eq!(CallState::Negotiating.indicator(), Indicator::Hidden);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CallState {
    /// The handshake is under way.
    Negotiating,
    /// Established; the peer's identity is new or changed: compare codes.
    Encrypted,
    /// Established, and the users compared codes now or on an earlier call.
    Verified,
    /// Aborted; start a new call.
    Failed,
}

impl CallState {
    /// The indicator for this state.
    pub fn indicator(self) -> Indicator {
        match self {
            Self::Negotiating | Self::Failed => Indicator::Hidden,
            Self::Encrypted => Indicator::LockAndShield,
            Self::Verified => Indicator::LockAndShieldVerified,
        }
    }
}

/// The encryption indicator next to the call: the lock-and-shield shows
/// whenever the call is end-to-end encrypted, and says whether the codes
/// were compared.
///
/// ```
/// use callseal_core::call::Indicator;
///
/// assert!(Indicator::LockAndShield.shows_lock_and_shield());
/// assert!(Indicator::LockAndShieldVerified.shows_lock_and_shield());
/// assert!(!Indicator::Hidden.shows_lock_and_shield());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Indicator {
    /// Nothing: not (yet) end-to-end encrypted.
    Hidden,
    /// Lock-and-shield: end-to-end encrypted, codes not (yet) compared.
    LockAndShield,
    /// Lock-and-shield, verified: the codes were compared now or before.
    LockAndShieldVerified,
}

impl Indicator {
    /// Whether the lock-and-shield shows (end-to-end encryption established).
    pub fn shows_lock_and_shield(self) -> bool {
        !matches!(self, Self::Hidden)
    }
}

/// The peer as its handshake message presented it.
#[derive(Clone)]
struct Peer {
    uid: String,
    identity: [u8; KEY_LEN],
}

/// The state that moves with each handshake message.
enum Phase {
    /// Initiator: Commit sent, waiting for Response.
    SentCommit {
        ephemeral: StaticSecret,
        ephemeral_public: [u8; KEY_LEN],
        kem: KemKeyPair,
        commit: Vec<u8>,
    },
    /// Initiator: Reveal sent, waiting for Confirm.
    SentReveal {
        peer: Peer,
        secrets: Secrets,
        mac_r: [u8; KEY_LEN],
    },
    /// Responder: Response sent, waiting for Reveal.
    SentResponse {
        peer: Peer,
        ephemeral: StaticSecret,
        commit: Vec<u8>,
        response: Vec<u8>,
        commitment: [u8; KEY_LEN],
        dh1: Secret32,
        ss: Secret32,
    },
    /// Handshake complete.
    Established(Box<Established>),
    /// Terminal.
    Failed,
}

/// This side's pending RekeyOffer.
struct Offer {
    epoch: u32,
    ephemeral: StaticSecret,
    kem: KemKeyPair,
    bytes: Vec<u8>,
}

struct Established {
    peer: Peer,
    status: PeerStatus,
    verified: bool,
    code: SecurityCode,
    /// `(own direction, peer's direction)` of epoch 0, until taken.
    media: Option<(Secret32, Secret32)>,
    /// The current epoch: 0 after the handshake, `n` after rekey `n`.
    epoch: u32,
    /// `chain_epoch`.
    chain: Secret32,
    /// This side's offer for `epoch + 1`, while unanswered.
    offer: Option<Offer>,
    /// As answerer of `epoch`: this side's send key of `epoch`, held until
    /// the offerer shows it has the keys.
    pending_send: Option<Secret32>,
    /// When the current epoch began, as first observed by `rekey_due`.
    epoch_started_ms: Option<u64>,
    /// The oldest epoch whose peer generation the receiver still follows.
    peer_oldest: u32,
}

/// One side of a 1:1 call: a sans-IO state machine for the handshake and
/// the in-call rekeys.
///
/// The initiator calls [`initiate`](Self::initiate) with the peer it
/// expects and sends the Commit; the responder builds its session from that
/// Commit with [`respond`](Self::respond) and sends the Response. Each side
/// then feeds every received message to [`handle`](Self::handle), sends the
/// [`Handled::reply`] and applies the [`Handled::media`]. Once established,
/// both show [`security_code`](Self::security_code) and hand
/// [`take_media`](Self::take_media)'s sender and receiver to the media
/// pipeline; [`rekey`](Self::rekey) starts a rekey when
/// [`rekey_due`](Self::rekey_due) says so or a receiver fell behind.
///
/// ```
/// use callseal_core::call::{CallConfig, CallSession, CallState, ExpectedPeer};
/// use callseal_core::identity::{IdentityKeyPair, MemoryIdentityStore, OsEntropy};
///
/// let (alice, bob) = (IdentityKeyPair::generate()?, IdentityKeyPair::generate()?);
/// let (mut alice_store, mut bob_store) = (MemoryIdentityStore::new(), MemoryIdentityStore::new());
/// let config = CallConfig::default();
///
/// let (mut a, commit) =
///     CallSession::initiate(&alice, "alice", &ExpectedPeer::new("bob")?, &config, &mut OsEntropy)?;
/// let (mut b, response) = CallSession::respond(&bob, "bob", None, &commit, &config, &mut OsEntropy)?;
/// let reveal = a.handle(&response, &mut alice_store)?.reply.ok_or("no reveal")?;
/// let confirm = b.handle(&reveal, &mut bob_store)?.reply.ok_or("no confirm")?;
/// assert!(a.handle(&confirm, &mut alice_store)?.reply.is_none());
///
/// assert_eq!(a.state(), CallState::Encrypted);
/// assert_eq!(a.security_code(), b.security_code());
/// assert_eq!(a.peer_uid(), Some("bob"));
///
/// let (mut a_tx, _a_rx) = a.take_media()?;
/// let (_b_tx, mut b_rx) = b.take_media()?;
/// let frame = a_tx.encrypt(b"", b"hello")?;
/// assert_eq!(b_rx.decrypt(b"", &frame)?, b"hello");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct CallSession {
    role: Role,
    suite: CipherSuite,
    session_id: SessionId,
    identity: IdentityKeyPair,
    uid: String,
    config: CallConfig,
    /// The initiator's expected responder, or the responder's expected
    /// initiator.
    expected: Option<ExpectedPeer>,
    phase: Phase,
    /// The last message that made this session reply, and that reply: a
    /// byte-identical repeat gets the same reply again.
    last: Option<(Vec<u8>, Vec<u8>)>,
}

impl CallSession {
    /// Starts a call to `peer` as initiator: picks a session id, an X25519
    /// ephemeral key and an ML-KEM-768 key pair from `entropy` (16, 32 and 64
    /// bytes) and returns the session and the Commit to send. The media suite
    /// is `config.suite`.
    ///
    /// # Errors
    /// [`CallError::InvalidUserId`] unless `uid` is 1–255 bytes;
    /// [`CallError::ShortTag`] for a suite with a tag shorter than 64 bits
    /// unless `config` allows it; [`CallError::Entropy`] if `entropy` fails.
    pub fn initiate<E: Entropy + ?Sized>(
        identity: &IdentityKeyPair,
        uid: &str,
        peer: &ExpectedPeer,
        config: &CallConfig,
        entropy: &mut E,
    ) -> Result<(Self, Vec<u8>), CallError> {
        message::check_uid(uid)?;
        config.check_suite(config.suite)?;
        let mut session_id = [0u8; 16];
        entropy.fill(&mut session_id)?;
        let session_id = SessionId(session_id);
        let ephemeral = random_secret(entropy)?;
        let ephemeral_public = PublicKey::from(&ephemeral).to_bytes();
        let kem = KemKeyPair::generate(entropy)?;
        let kem_ek = Box::new(kem.public_bytes());
        let identity_public = identity.public_key();
        let commit = Commit {
            suite: config.suite.id(),
            uid,
            to: peer.uid(),
            identity: identity_public,
            commitment: schedule::commitment(
                &session_id,
                &identity_public,
                &ephemeral_public,
                &kem_ek,
            ),
            kem_ek,
        }
        .encode(&session_id)?;
        let session = Self {
            role: Role::Initiator,
            suite: config.suite,
            session_id,
            identity: identity.clone(),
            uid: uid.to_owned(),
            config: *config,
            expected: Some(peer.clone()),
            phase: Phase::SentCommit {
                ephemeral,
                ephemeral_public,
                kem,
                commit: commit.clone(),
            },
            last: None,
        };
        Ok((session, commit))
    }

    /// [`initiate`](Self::initiate) with the operating system's randomness.
    ///
    /// # Errors
    /// As [`initiate`](Self::initiate).
    pub fn initiate_random(
        identity: &IdentityKeyPair,
        uid: &str,
        peer: &ExpectedPeer,
        config: &CallConfig,
    ) -> Result<(Self, Vec<u8>), CallError> {
        Self::initiate(identity, uid, peer, config, &mut OsEntropy)
    }

    /// Answers a received Commit as responder `uid`: checks that the Commit
    /// calls `uid` and, if given, comes from the `expected` caller; picks an
    /// X25519 ephemeral key (32 bytes from `entropy`), encapsulates to the
    /// initiator's ML-KEM key (32 more bytes) and returns the session and the
    /// Response to send. The media suite is the one the Commit names.
    ///
    /// # Errors
    /// [`CallError::UnsupportedVersion`], [`CallError::Malformed`] (including
    /// a low-order identity key or an invalid ML-KEM key),
    /// [`CallError::UnexpectedMessage`] if `commit` is another message type,
    /// [`CallError::Misaddressed`], [`CallError::WrongPeer`],
    /// [`CallError::WrongPeerKey`], [`CallError::Frame`] for an unknown
    /// suite, [`CallError::ShortTag`], [`CallError::InvalidUserId`],
    /// [`CallError::Entropy`].
    pub fn respond<E: Entropy + ?Sized>(
        identity: &IdentityKeyPair,
        uid: &str,
        expected: Option<&ExpectedPeer>,
        commit: &[u8],
        config: &CallConfig,
        entropy: &mut E,
    ) -> Result<(Self, Vec<u8>), CallError> {
        message::check_uid(uid)?;
        let envelope = message::open(commit)?;
        expect(&envelope, MessageType::Commit)?;
        let body = Commit::decode(envelope.body)?;
        if body.to != uid {
            return Err(CallError::Misaddressed {
                to: body.to.to_owned(),
            });
        }
        if let Some(expected) = expected {
            expected.check(body.uid, &body.identity)?;
        }
        let suite = CipherSuite::from_id(body.suite)?;
        config.check_suite(suite)?;
        let session_id = envelope.session_id;
        let ephemeral = random_secret(entropy)?;
        // dh1 = X25519(IK_I, EK_R): computed now, which also refuses a
        // low-order identity key before anything is sent.
        let dh1 = schedule::dh(&ephemeral, &body.identity)?;
        let (kem_ct, ss) = kem::encapsulate(&body.kem_ek, entropy)?;
        let response = Response {
            uid,
            identity: identity.public_key(),
            ephemeral: PublicKey::from(&ephemeral).to_bytes(),
            kem_ct: Box::new(kem_ct),
        }
        .encode(&session_id)?;
        let session = Self {
            role: Role::Responder,
            suite,
            session_id,
            identity: identity.clone(),
            uid: uid.to_owned(),
            config: *config,
            expected: expected.cloned(),
            phase: Phase::SentResponse {
                peer: Peer {
                    uid: body.uid.to_owned(),
                    identity: body.identity,
                },
                ephemeral,
                commit: commit.to_vec(),
                response: response.clone(),
                commitment: body.commitment,
                dh1,
                ss,
            },
            last: Some((commit.to_vec(), response.clone())),
        };
        Ok((session, response))
    }

    /// [`respond`](Self::respond) with the operating system's randomness.
    ///
    /// # Errors
    /// As [`respond`](Self::respond).
    pub fn respond_random(
        identity: &IdentityKeyPair,
        uid: &str,
        expected: Option<&ExpectedPeer>,
        commit: &[u8],
        config: &CallConfig,
    ) -> Result<(Self, Vec<u8>), CallError> {
        Self::respond(identity, uid, expected, commit, config, &mut OsEntropy)
    }

    /// [`initiate`](Self::initiate), but only under a policy decision that
    /// allows an end-to-end encrypted call: the call takes its mode from the
    /// decision (docs/POLICY.md).
    ///
    /// # Errors
    /// [`CallError::PolicyForbids`] with the decision's reason when it does
    /// not allow end-to-end encryption; otherwise as [`initiate`](Self::initiate).
    ///
    /// ```
    /// use callseal_core::call::{CallConfig, CallError, CallSession, ExpectedPeer};
    /// use callseal_core::identity::{IdentityKeyPair, OsEntropy};
    /// use callseal_core::policy::{PolicyDocument, Reason};
    ///
    /// let doc = PolicyDocument::new(); // Global policy: Disabled
    /// let decision = doc.evaluate_call("alice", "bob");
    /// let alice = IdentityKeyPair::from_bytes([1; 32]);
    /// let bob = ExpectedPeer::new("bob")?;
    /// let result = CallSession::initiate_with_policy(
    ///     &decision, &alice, "alice", &bob, &CallConfig::default(), &mut OsEntropy,
    /// );
    /// assert!(matches!(result, Err(CallError::PolicyForbids(Reason::PolicyDisabled))));
    /// # Ok::<(), CallError>(())
    /// ```
    pub fn initiate_with_policy<E: Entropy + ?Sized>(
        decision: &CallDecision,
        identity: &IdentityKeyPair,
        uid: &str,
        peer: &ExpectedPeer,
        config: &CallConfig,
        entropy: &mut E,
    ) -> Result<(Self, Vec<u8>), CallError> {
        require_e2ee(decision)?;
        Self::initiate(identity, uid, peer, config, entropy)
    }

    /// [`respond`](Self::respond), but only under a policy decision that
    /// allows an end-to-end encrypted call.
    ///
    /// # Errors
    /// [`CallError::PolicyForbids`] with the decision's reason when it does
    /// not allow end-to-end encryption; otherwise as [`respond`](Self::respond).
    pub fn respond_with_policy<E: Entropy + ?Sized>(
        decision: &CallDecision,
        identity: &IdentityKeyPair,
        uid: &str,
        expected: Option<&ExpectedPeer>,
        commit: &[u8],
        config: &CallConfig,
        entropy: &mut E,
    ) -> Result<(Self, Vec<u8>), CallError> {
        require_e2ee(decision)?;
        Self::respond(identity, uid, expected, commit, config, entropy)
    }

    /// Whether `feature` may run during this call. A session exists only
    /// for an end-to-end encrypted call, so the gated features are refused
    /// with the same error a [`CallDecision`] gives.
    ///
    /// # Errors
    /// [`FeatureUnavailable::Call`] for a feature unavailable in end-to-end
    /// encrypted calls.
    ///
    /// ```
    /// use callseal_core::call::{CallConfig, CallSession, ExpectedPeer};
    /// use callseal_core::identity::IdentityKeyPair;
    /// use callseal_core::policy::{CallFeature, FeatureUnavailable};
    ///
    /// let alice = IdentityKeyPair::from_bytes([1; 32]);
    /// let bob = ExpectedPeer::new("bob")?;
    /// let (session, _commit) = CallSession::initiate_random(&alice, "alice", &bob, &CallConfig::default())?;
    /// assert_eq!(
    ///     session.check_feature(CallFeature::CallTransfer),
    ///     Err(FeatureUnavailable::Call(CallFeature::CallTransfer))
    /// );
    /// assert_eq!(session.check_feature(CallFeature::Chat), Ok(()));
    /// # Ok::<(), callseal_core::call::CallError>(())
    /// ```
    pub fn check_feature(&self, feature: CallFeature) -> Result<(), FeatureUnavailable> {
        gate_call_feature(true, feature)
    }

    /// [`handle_with`](Self::handle_with) with the operating system's
    /// randomness (needed to answer a rekey).
    ///
    /// # Errors
    /// As [`handle_with`](Self::handle_with).
    pub fn handle(
        &mut self,
        msg: &[u8],
        store: &mut dyn IdentityStore,
    ) -> Result<Handled, CallError> {
        self.handle_with(msg, store, &mut OsEntropy)
    }

    /// Processes one received message: returns the reply to send, the media
    /// keys to install, or why the message was ignored (PROTOCOL.md §3.7).
    /// When the handshake completes, the peer's identity key is looked up in
    /// (and, if new or changed, recorded into) `store`. Answering a rekey
    /// draws 64 bytes from `entropy`.
    ///
    /// # Errors
    /// While the handshake is under way, any error aborts the session: it
    /// moves to [`CallState::Failed`], its secrets are wiped and every later
    /// call returns [`CallError::SessionFailed`]. Messages of another session
    /// and byte-identical repeats are ignored, never errors. Once
    /// established, only a failing `entropy` is an error (and the session
    /// stays as it was); everything else is [`Handled::ignored`].
    pub fn handle_with<E: Entropy + ?Sized>(
        &mut self,
        msg: &[u8],
        store: &mut dyn IdentityStore,
        entropy: &mut E,
    ) -> Result<Handled, CallError> {
        if matches!(self.phase, Phase::Failed) {
            return Err(CallError::SessionFailed);
        }
        if let Some((trigger, reply)) = &self.last
            && trigger.as_slice() == msg
        {
            return Ok(Handled {
                reply: Some(reply.clone()),
                ignored: Some(Ignored::Repeat),
                ..Handled::default()
            });
        }
        if matches!(self.phase, Phase::Established(_)) {
            return self.in_call(msg, entropy);
        }
        // Another session's message is ignored whatever its version or type.
        if msg
            .get(2..message::HEADER_LEN)
            .is_some_and(|id| id != self.session_id.0)
        {
            return Ok(Handled::ignored(Ignored::OtherSession));
        }
        let envelope = match message::open(msg) {
            Ok(envelope) => envelope,
            Err(e) => {
                self.phase = Phase::Failed;
                return Err(e);
            }
        };
        if envelope.kind.is_rekey() && matches!(self.phase, Phase::SentReveal { .. }) {
            // The responder is established once it checked the Reveal and
            // may rekey at once; its offer can overtake the Confirm.
            return Ok(Handled::ignored(Ignored::Stale));
        }
        let phase = core::mem::replace(&mut self.phase, Phase::Failed);
        let (next, reply) = self.step(phase, &envelope, msg, store)?;
        self.phase = next;
        if let Some(reply) = &reply {
            self.last = Some((msg.to_vec(), reply.clone()));
        }
        Ok(Handled {
            reply,
            ..Handled::default()
        })
    }

    fn step(
        &self,
        phase: Phase,
        envelope: &Envelope<'_>,
        msg: &[u8],
        store: &mut dyn IdentityStore,
    ) -> Result<(Phase, Option<Vec<u8>>), CallError> {
        match phase {
            Phase::SentCommit {
                ephemeral,
                ephemeral_public,
                kem,
                commit,
            } => {
                expect(envelope, MessageType::Response)?;
                let body = Response::decode(envelope.body)?;
                if let Some(expected) = &self.expected {
                    expected.check(body.uid, &body.identity)?;
                }
                let dh1 = schedule::dh(self.identity.secret(), &body.ephemeral)?;
                let dh2 = schedule::dh(&ephemeral, &body.identity)?;
                let dh3 = schedule::dh(&ephemeral, &body.ephemeral)?;
                let ss = kem.decapsulate(&body.kem_ct);
                let th = schedule::transcript_hash(&commit, msg, &ephemeral_public);
                let secrets = Secrets::derive(&th, [&dh1, &dh2, &dh3], &ss);
                let mac_i = secrets.mac_i(&th);
                let mac_r = secrets.mac_r(&th, &mac_i);
                let reveal = Reveal {
                    ephemeral: ephemeral_public,
                    mac: mac_i,
                }
                .encode(&self.session_id);
                let peer = Peer {
                    uid: body.uid.to_owned(),
                    identity: body.identity,
                };
                Ok((
                    Phase::SentReveal {
                        peer,
                        secrets,
                        mac_r,
                    },
                    Some(reveal),
                ))
            }
            Phase::SentReveal {
                peer,
                secrets,
                mac_r,
            } => {
                expect(envelope, MessageType::Confirm)?;
                let body = Confirm::decode(envelope.body)?;
                if !schedule::ct_equal(&body.mac, &mac_r) {
                    return Err(CallError::BadMac);
                }
                let established = establish(self.role, peer, secrets, store)?;
                Ok((Phase::Established(Box::new(established)), None))
            }
            Phase::SentResponse {
                peer,
                ephemeral,
                commit,
                response,
                commitment,
                dh1,
                ss,
            } => {
                expect(envelope, MessageType::Reveal)?;
                let body = Reveal::decode(envelope.body)?;
                let commit_body = message::open(&commit).and_then(|e| Commit::decode(e.body))?;
                let expected = schedule::commitment(
                    &self.session_id,
                    &peer.identity,
                    &body.ephemeral,
                    &commit_body.kem_ek,
                );
                if !schedule::ct_equal(&expected, &commitment) {
                    return Err(CallError::CommitmentMismatch);
                }
                let dh2 = schedule::dh(self.identity.secret(), &body.ephemeral)?;
                let dh3 = schedule::dh(&ephemeral, &body.ephemeral)?;
                let th = schedule::transcript_hash(&commit, &response, &body.ephemeral);
                let secrets = Secrets::derive(&th, [&dh1, &dh2, &dh3], &ss);
                if !schedule::ct_equal(&secrets.mac_i(&th), &body.mac) {
                    return Err(CallError::BadMac);
                }
                let confirm = Confirm {
                    mac: secrets.mac_r(&th, &body.mac),
                }
                .encode(&self.session_id);
                let established = establish(self.role, peer, secrets, store)?;
                Ok((Phase::Established(Box::new(established)), Some(confirm)))
            }
            Phase::Established(_) | Phase::Failed => Err(CallError::UnexpectedMessage {
                received: envelope.kind,
                expected: None,
            }),
        }
    }

    /// A message received once established: only this session's valid
    /// rekey messages change anything (PROTOCOL.md §3.7, §3.9).
    fn in_call<E: Entropy + ?Sized>(
        &mut self,
        msg: &[u8],
        entropy: &mut E,
    ) -> Result<Handled, CallError> {
        let Ok(envelope) = message::open(msg) else {
            return Ok(Handled::ignored(Ignored::Malformed));
        };
        if envelope.session_id != self.session_id {
            return Ok(Handled::ignored(Ignored::OtherSession));
        }
        if !envelope.kind.is_rekey() {
            return Ok(Handled::ignored(Ignored::Handshake));
        }
        let Ok((rekey, mac)) = Rekey::decode(envelope.kind, envelope.body) else {
            return Ok(Handled::ignored(Ignored::Malformed));
        };
        let (role, suite, session_id) = (self.role, self.suite, self.session_id);
        let Phase::Established(e) = &mut self.phase else {
            return Ok(Handled::ignored(Ignored::Stale));
        };
        let signed = msg
            .get(..msg.len().saturating_sub(MAC_LEN))
            .unwrap_or_default();
        let peer_role = role.peer();
        let handled = match rekey {
            Rekey::Offer {
                epoch,
                ephemeral,
                kem_ek,
            } => {
                if Some(epoch) != e.epoch.checked_add(1) {
                    return Ok(Handled::ignored(Ignored::Stale));
                }
                if !verify(&e.chain, peer_role, signed, &mac) {
                    return Ok(Handled::ignored(Ignored::BadMac));
                }
                if role == Role::Initiator
                    && let Some(own) = e.offer.as_ref().filter(|o| o.epoch == epoch)
                {
                    // The initiator's offer wins; it is sent again, in case
                    // it was lost (otherwise neither side could rekey).
                    return Ok(Handled {
                        reply: Some(own.bytes.clone()),
                        ignored: Some(Ignored::RekeyCollision),
                        ..Handled::default()
                    });
                }
                let own = random_secret(entropy)?;
                let Ok(dh) = schedule::dh(&own, &ephemeral) else {
                    return Ok(Handled::ignored(Ignored::Malformed));
                };
                let (kem_ct, ss) = match kem::encapsulate(&kem_ek, entropy) {
                    Ok(encapsulated) => encapsulated,
                    Err(CallError::Entropy) => return Err(CallError::Entropy),
                    Err(_) => return Ok(Handled::ignored(Ignored::Malformed)),
                };
                // The offer proves the peer holds chain_epoch: a held send
                // key of this epoch may be used now.
                let send = e
                    .pending_send
                    .take()
                    .map(|key| (media_generation(role, e.epoch), key));
                let answer = sign(
                    Rekey::Answer {
                        epoch,
                        ephemeral: PublicKey::from(&own).to_bytes(),
                        kem_ct: Box::new(kem_ct),
                    }
                    .encode_unsigned(&session_id),
                    &e.chain,
                    role,
                );
                let th = schedule::rekey_transcript_hash(msg, &answer);
                let (own_key, peer_key, chain) =
                    schedule::rekey(&th, &e.chain, &dh, &ss).split(role);
                e.offer = None;
                e.enter(epoch, chain);
                e.pending_send = Some(own_key);
                self.last = Some((msg.to_vec(), answer.clone()));
                Handled {
                    reply: Some(answer),
                    // No generation retires yet: the offerer may still send
                    // under epoch - 2 until it sees this answer (it may have
                    // missed the RekeyDone of epoch - 1).
                    media: Some(MediaUpdate {
                        epoch,
                        suite,
                        send,
                        follow: Some((media_generation(peer_role, epoch), peer_key)),
                        retire: Vec::new(),
                    }),
                    ignored: None,
                }
            }
            Rekey::Answer {
                epoch,
                ephemeral,
                kem_ct,
            } => {
                let Some(offer) = e.offer.take_if(|o| o.epoch == epoch) else {
                    return Ok(Handled::ignored(Ignored::Stale));
                };
                if !verify(&e.chain, peer_role, signed, &mac) {
                    e.offer = Some(offer);
                    return Ok(Handled::ignored(Ignored::BadMac));
                }
                let Ok(dh) = schedule::dh(&offer.ephemeral, &ephemeral) else {
                    e.offer = Some(offer);
                    return Ok(Handled::ignored(Ignored::Malformed));
                };
                let ss = offer.kem.decapsulate(&kem_ct);
                let th = schedule::rekey_transcript_hash(&offer.bytes, msg);
                let (own_key, peer_key, chain) =
                    schedule::rekey(&th, &e.chain, &dh, &ss).split(role);
                let done = sign(
                    Rekey::Done { epoch }.encode_unsigned(&session_id),
                    &chain,
                    role,
                );
                // The answer proves the peer holds chain_{epoch-1}; a held
                // send key of that epoch is superseded by this one.
                e.pending_send = None;
                e.enter(epoch, chain);
                // The answerer sends under epoch - 1 at least: it answered
                // an offer MACed under chain_{epoch-1}, after switching.
                let retire = e.retire_through(peer_role, epoch);
                self.last = Some((msg.to_vec(), done.clone()));
                Handled {
                    reply: Some(done),
                    media: Some(MediaUpdate {
                        epoch,
                        suite,
                        send: Some((media_generation(role, epoch), own_key)),
                        follow: Some((media_generation(peer_role, epoch), peer_key)),
                        retire,
                    }),
                    ignored: None,
                }
            }
            Rekey::Done { epoch } => {
                if epoch != e.epoch || e.pending_send.is_none() {
                    return Ok(Handled::ignored(Ignored::Stale));
                }
                if !verify(&e.chain, peer_role, signed, &mac) {
                    return Ok(Handled::ignored(Ignored::BadMac));
                }
                let send = e
                    .pending_send
                    .take()
                    .map(|key| (media_generation(role, epoch), key));
                // The offerer switched to this epoch before sending Done.
                let retire = e.retire_through(peer_role, epoch);
                Handled {
                    media: Some(MediaUpdate {
                        epoch,
                        suite,
                        send,
                        follow: None,
                        retire,
                    }),
                    ..Handled::default()
                }
            }
        };
        Ok(handled)
    }

    /// [`rekey_with`](Self::rekey_with) with the operating system's
    /// randomness.
    ///
    /// # Errors
    /// As [`rekey_with`](Self::rekey_with).
    pub fn rekey(&mut self) -> Result<Vec<u8>, CallError> {
        self.rekey_with(&mut OsEntropy)
    }

    /// Starts an in-call rekey (PROTOCOL.md §3.9): returns the RekeyOffer to
    /// send, drawing a fresh X25519 key (32 bytes) and ML-KEM-768 seed (64)
    /// from `entropy`. While this side's offer is unanswered, it returns the
    /// same Offer again (to resend) and draws nothing.
    ///
    /// Call it when [`rekey_due`](Self::rekey_due) says so, on demand, and
    /// when the call's [`Receiver`] reports
    /// [`RatchetTooFar`](crate::frame::Error::RatchetTooFar): the rekey
    /// gives both directions fresh keys.
    ///
    /// # Errors
    /// [`CallError::NotEstablished`] before the handshake completed (or after
    /// it failed); [`CallError::RekeyExhausted`] after 2^32 - 1 rekeys;
    /// [`CallError::Entropy`].
    pub fn rekey_with<E: Entropy + ?Sized>(
        &mut self,
        entropy: &mut E,
    ) -> Result<Vec<u8>, CallError> {
        let Phase::Established(e) = &mut self.phase else {
            return Err(CallError::NotEstablished);
        };
        if let Some(offer) = &e.offer {
            e.epoch_started_ms = None;
            return Ok(offer.bytes.clone());
        }
        let epoch = e.epoch.checked_add(1).ok_or(CallError::RekeyExhausted)?;
        let ephemeral = random_secret(entropy)?;
        let kem = KemKeyPair::generate(entropy)?;
        let bytes = sign(
            Rekey::Offer {
                epoch,
                ephemeral: PublicKey::from(&ephemeral).to_bytes(),
                kem_ek: Box::new(kem.public_bytes()),
            }
            .encode_unsigned(&self.session_id),
            &e.chain,
            self.role,
        );
        e.offer = Some(Offer {
            epoch,
            ephemeral,
            kem,
            bytes: bytes.clone(),
        });
        // The clock restarts: if no answer comes within another interval,
        // `rekey_due` says so again and `rekey` resends this offer.
        e.epoch_started_ms = None;
        Ok(bytes)
    }

    /// Whether a periodic rekey is due at `now_ms` (any monotonic clock in
    /// milliseconds): `config.rekey_every_ms` passed since the current epoch
    /// began or this side last sent its offer, as first observed by this
    /// method. While an offer is unanswered, "due" means "resend it":
    /// [`rekey`](Self::rekey) returns the same bytes. Always `false` before
    /// establishment or with `rekey_every_ms = 0`.
    pub fn rekey_due(&mut self, now_ms: u64) -> bool {
        let every = self.config.rekey_every_ms;
        let Phase::Established(e) = &mut self.phase else {
            return false;
        };
        let started = *e.epoch_started_ms.get_or_insert(now_ms);
        every > 0 && now_ms.saturating_sub(started) >= every
    }

    /// The current epoch: 0 after the handshake, `n` once rekey `n`
    /// completed on this side; 0 before establishment.
    pub fn epoch(&self) -> u32 {
        match &self.phase {
            Phase::Established(e) => e.epoch,
            _ => 0,
        }
    }

    /// Whether this side's rekey offer is waiting for its answer.
    pub fn rekey_pending(&self) -> bool {
        matches!(&self.phase, Phase::Established(e) if e.offer.is_some())
    }

    /// The UI state.
    pub fn state(&self) -> CallState {
        match &self.phase {
            Phase::Established(e) if e.verified => CallState::Verified,
            Phase::Established(_) => CallState::Encrypted,
            Phase::Failed => CallState::Failed,
            _ => CallState::Negotiating,
        }
    }

    /// The indicator to show: a lock once established, with a shield once
    /// verified.
    pub fn indicator(&self) -> Indicator {
        self.state().indicator()
    }

    /// The security code, once established (and not failed).
    pub fn security_code(&self) -> Option<SecurityCode> {
        match &self.phase {
            Phase::Established(e) => Some(e.code),
            _ => None,
        }
    }

    /// What the identity store said about the peer, once established.
    pub fn peer_status(&self) -> Option<PeerStatus> {
        match &self.phase {
            Phase::Established(e) => Some(e.status),
            _ => None,
        }
    }

    /// The peer's user id as its handshake message presented it, once known
    /// (authenticated once established, and then the one the app expected).
    pub fn peer_uid(&self) -> Option<&str> {
        self.peer().map(|p| p.uid.as_str())
    }

    /// The peer's identity public key, once known (authenticated only once
    /// established).
    pub fn peer_identity(&self) -> Option<[u8; 32]> {
        self.peer().map(|p| p.identity)
    }

    fn peer(&self) -> Option<&Peer> {
        match &self.phase {
            Phase::SentReveal { peer, .. } | Phase::SentResponse { peer, .. } => Some(peer),
            Phase::Established(e) => Some(&e.peer),
            Phase::SentCommit { .. } | Phase::Failed => None,
        }
    }

    /// This side's role.
    pub fn role(&self) -> Role {
        self.role
    }

    /// The session id.
    pub fn session_id(&self) -> SessionId {
        self.session_id
    }

    /// The SFrame cipher suite of the call's media.
    pub fn suite(&self) -> CipherSuite {
        self.suite
    }

    /// This side's user id.
    pub fn uid(&self) -> &str {
        &self.uid
    }

    /// Records that the users compared the security codes and they matched:
    /// the peer's key is stored as verified and the state becomes
    /// [`CallState::Verified`]. Later calls under the same keys are verified
    /// without comparing again.
    ///
    /// # Errors
    /// [`CallError::NotEstablished`] before the handshake completed (or after
    /// it failed); [`CallError::Identity`] if the store fails (the state is
    /// then unchanged).
    pub fn mark_verified(&mut self, store: &mut dyn IdentityStore) -> Result<(), CallError> {
        let Phase::Established(e) = &mut self.phase else {
            return Err(CallError::NotEstablished);
        };
        store.put(
            &e.peer.uid,
            StoredIdentity {
                public_key: e.peer.identity,
                verified: true,
            },
        )?;
        e.verified = true;
        Ok(())
    }

    /// Moves the epoch-0 media keys out: a [`Sender`] for this side's
    /// direction and a [`Receiver`] following the peer's, both ratcheting per
    /// PROTOCOL.md §3.9 (`R = 8`, generation 1 for I → R, 2 for R → I), the
    /// receiver with [`ReceiverConfig::default`]. Rekey within the epoch with
    /// [`Sender::ratchet`]; the receiver follows from the KID alone. Apply
    /// every [`MediaUpdate`] that [`handle`](Self::handle) returns to them.
    ///
    /// # Errors
    /// [`CallError::NotEstablished`], [`CallError::MediaTaken`] on a second
    /// call.
    pub fn take_media(&mut self) -> Result<(Sender, Receiver), CallError> {
        self.take_media_with(ReceiverConfig::default())
    }

    /// [`take_media`](Self::take_media) with a chosen receiver configuration.
    ///
    /// # Errors
    /// As [`take_media`](Self::take_media); [`CallError::Frame`] if `config`
    /// does not suit `R = 8` (see [`Receiver::add_ratcheting_sender`]), in
    /// which case the keys stay in the session.
    pub fn take_media_with(
        &mut self,
        config: ReceiverConfig,
    ) -> Result<(Sender, Receiver), CallError> {
        let Phase::Established(e) = &mut self.phase else {
            return Err(CallError::NotEstablished);
        };
        let (own, peer) = e.media.as_ref().ok_or(CallError::MediaTaken)?;
        let layout = media::layout()?;
        let sender = Sender::ratcheting(
            self.suite,
            layout,
            media_generation(self.role, 0),
            BaseKey::new(&own[..])?,
        )?;
        let mut receiver = Receiver::with_config(config)?;
        receiver.add_ratcheting_sender(
            self.suite,
            layout,
            media_generation(self.role.peer(), 0),
            BaseKey::new(&peer[..])?,
        )?;
        e.media = None;
        Ok((sender, receiver))
    }
}

impl fmt::Debug for CallSession {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CallSession")
            .field("role", &self.role)
            .field("state", &self.state())
            .field("session_id", &self.session_id)
            .field("suite", &self.suite)
            .field("epoch", &self.epoch())
            .finish_non_exhaustive()
    }
}

impl Role {
    /// The other side's role.
    pub fn peer(self) -> Self {
        match self {
            Self::Initiator => Self::Responder,
            Self::Responder => Self::Initiator,
        }
    }
}

impl Established {
    /// Moves to `epoch` with its chain secret; the previous one is wiped.
    fn enter(&mut self, epoch: u32, chain: Secret32) {
        self.epoch = epoch;
        self.chain = chain;
        self.epoch_started_ms = None;
    }

    /// The peer generations to stop following once the peer is known to
    /// send under `epoch - 1` or later: those of every epoch up to
    /// `epoch - 2` still followed.
    fn retire_through(&mut self, peer_role: Role, epoch: u32) -> Vec<u64> {
        let Some(last) = epoch.checked_sub(2) else {
            return Vec::new();
        };
        let retired = (self.peer_oldest..=last)
            .map(|old| media_generation(peer_role, old))
            .collect();
        self.peer_oldest = self.peer_oldest.max(last + 1);
        retired
    }
}

/// Appends `HMAC(k_rekey_role(chain), unsigned)` to a rekey message.
fn sign(mut unsigned: Vec<u8>, chain: &Secret32, role: Role) -> Vec<u8> {
    let mac = schedule::mac(&schedule::rekey_mac_key(chain, role), &unsigned);
    unsigned.extend_from_slice(&mac);
    unsigned
}

/// Checks a rekey message's MAC under `k_rekey_role(chain)`.
fn verify(chain: &Secret32, role: Role, signed: &[u8], mac: &[u8; MAC_LEN]) -> bool {
    let expected = schedule::mac(&schedule::rekey_mac_key(chain, role), signed);
    schedule::ct_equal(&expected, mac)
}

/// Refuses a message of another type than `kind`.
fn expect(envelope: &Envelope<'_>, kind: MessageType) -> Result<(), CallError> {
    if envelope.kind == kind {
        Ok(())
    } else {
        Err(CallError::UnexpectedMessage {
            received: envelope.kind,
            expected: Some(kind),
        })
    }
}

fn random_secret<E: Entropy + ?Sized>(entropy: &mut E) -> Result<StaticSecret, CallError> {
    let mut bytes = Zeroizing::new([0u8; 32]);
    entropy.fill(&mut bytes[..])?;
    Ok(StaticSecret::from(*bytes))
}

/// Key continuity (§3.8), then the established state.
fn establish(
    role: Role,
    peer: Peer,
    secrets: Secrets,
    store: &mut dyn IdentityStore,
) -> Result<Established, CallError> {
    let unverified = StoredIdentity {
        public_key: peer.identity,
        verified: false,
    };
    let status = match store.get(&peer.uid)? {
        None => {
            store.put(&peer.uid, unverified)?;
            PeerStatus::New
        }
        Some(stored) if stored.public_key == peer.identity => PeerStatus::Known {
            verified: stored.verified,
        },
        Some(_) => {
            store.put(&peer.uid, unverified)?;
            PeerStatus::Changed
        }
    };
    let code = SecurityCode::from_bytes(*secrets.code);
    let (own, theirs, chain) = secrets.keys.split(role);
    Ok(Established {
        peer,
        verified: status == PeerStatus::Known { verified: true },
        status,
        code,
        media: Some((own, theirs)),
        epoch: 0,
        chain,
        offer: None,
        pending_send: None,
        epoch_started_ms: None,
        peer_oldest: 0,
    })
}

/// Refuses unless `decision` allows an end-to-end encrypted call.
fn require_e2ee(decision: &CallDecision) -> Result<(), CallError> {
    if decision.e2ee {
        Ok(())
    } else {
        Err(CallError::PolicyForbids(decision.reason))
    }
}
