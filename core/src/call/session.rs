//! The sans-IO handshake state machine of a 1:1 call (PROTOCOL.md §3.6).

use core::fmt;

use x25519_dalek::{PublicKey, StaticSecret};
use zeroize::Zeroizing;

use super::error::CallError;
use super::message::{
    self, Commit, Confirm, Envelope, KEY_LEN, MessageType, Response, Reveal, SessionId,
};
use super::schedule::{self, Secret32, Secrets};
use crate::frame::{BaseKey, CipherSuite, RatchetLayout, Receiver, ReceiverConfig, Sender};
use crate::identity::{
    Entropy, IdentityKeyPair, IdentityStore, OsEntropy, PeerStatus, SecurityCode, StoredIdentity,
};
use crate::policy::{CallDecision, CallFeature, FeatureUnavailable, gate_call_feature};

/// `R` of the media ratchet: the low 8 bits of a KID count ratchet steps.
pub const MEDIA_RATCHET_BITS: u8 = 8;
/// Key generation of the initiator → responder media direction.
pub const INITIATOR_GENERATION: u64 = 1;
/// Key generation of the responder → initiator media direction.
pub const RESPONDER_GENERATION: u64 = 2;

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

/// What the call UI shows (PROTOCOL.md §3.6).
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

/// The state that moves with each message.
enum Phase {
    /// Initiator: Commit sent, waiting for Response.
    SentCommit {
        ephemeral: StaticSecret,
        ephemeral_public: [u8; KEY_LEN],
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
    },
    /// Handshake complete.
    Established(Box<Established>),
    /// Terminal.
    Failed,
}

struct Established {
    peer: Peer,
    status: PeerStatus,
    verified: bool,
    code: SecurityCode,
    /// `(own direction, peer's direction)`, until taken.
    media: Option<(Secret32, Secret32)>,
}

/// One side of a 1:1 call handshake: a sans-IO state machine.
///
/// The initiator calls [`initiate`](Self::initiate) and sends the Commit; the
/// responder builds its session from that Commit with
/// [`respond`](Self::respond) and sends the Response. Each side then feeds
/// every received message to [`handle`](Self::handle) and sends what it
/// returns. Once established, both show [`security_code`](Self::security_code)
/// and hand [`take_media`](Self::take_media)'s sender and receiver to the
/// media pipeline.
///
/// ```
/// use callseal_core::call::{CallSession, CallState};
/// use callseal_core::frame::CipherSuite;
/// use callseal_core::identity::{IdentityKeyPair, MemoryIdentityStore, OsEntropy};
///
/// let (alice, bob) = (IdentityKeyPair::generate()?, IdentityKeyPair::generate()?);
/// let (mut alice_store, mut bob_store) = (MemoryIdentityStore::new(), MemoryIdentityStore::new());
///
/// let (mut a, commit) =
///     CallSession::initiate(&alice, "alice", CipherSuite::AesGcm128Sha256, &mut OsEntropy)?;
/// let (mut b, response) = CallSession::respond(&bob, "bob", &commit, &mut OsEntropy)?;
/// let reveal = a.handle(&response, &mut alice_store)?.ok_or("no reveal")?;
/// let confirm = b.handle(&reveal, &mut bob_store)?.ok_or("no confirm")?;
/// assert_eq!(a.handle(&confirm, &mut alice_store)?, None);
///
/// assert_eq!(a.state(), CallState::Encrypted);
/// assert_eq!(a.security_code(), b.security_code());
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
    phase: Phase,
}

impl CallSession {
    /// Starts a call as initiator: picks a session id and an ephemeral key
    /// from `entropy` (16 then 32 bytes) and returns the session and the
    /// Commit to send.
    ///
    /// # Errors
    /// [`CallError::InvalidUserId`] unless `uid` is 1–255 bytes;
    /// [`CallError::Entropy`] if `entropy` fails.
    pub fn initiate<E: Entropy + ?Sized>(
        identity: &IdentityKeyPair,
        uid: &str,
        suite: CipherSuite,
        entropy: &mut E,
    ) -> Result<(Self, Vec<u8>), CallError> {
        message::check_uid(uid)?;
        let mut session_id = [0u8; 16];
        entropy.fill(&mut session_id)?;
        let session_id = SessionId(session_id);
        let ephemeral = random_secret(entropy)?;
        let ephemeral_public = PublicKey::from(&ephemeral).to_bytes();
        let identity_public = identity.public_key();
        let commit = Commit {
            suite: suite.id(),
            uid,
            identity: identity_public,
            commitment: schedule::commitment(&session_id, &identity_public, &ephemeral_public),
        }
        .encode(&session_id)?;
        let session = Self {
            role: Role::Initiator,
            suite,
            session_id,
            identity: identity.clone(),
            uid: uid.to_owned(),
            phase: Phase::SentCommit {
                ephemeral,
                ephemeral_public,
                commit: commit.clone(),
            },
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
        suite: CipherSuite,
    ) -> Result<(Self, Vec<u8>), CallError> {
        Self::initiate(identity, uid, suite, &mut OsEntropy)
    }

    /// Answers a received Commit as responder: picks an ephemeral key from
    /// `entropy` (32 bytes) and returns the session and the Response to send.
    /// The media suite is the one the Commit names.
    ///
    /// # Errors
    /// [`CallError::UnsupportedVersion`], [`CallError::Malformed`] (including
    /// a low-order identity key), [`CallError::UnexpectedMessage`] if `commit`
    /// is another message type, [`CallError::Frame`] for an unknown suite,
    /// [`CallError::InvalidUserId`], [`CallError::Entropy`].
    pub fn respond<E: Entropy + ?Sized>(
        identity: &IdentityKeyPair,
        uid: &str,
        commit: &[u8],
        entropy: &mut E,
    ) -> Result<(Self, Vec<u8>), CallError> {
        message::check_uid(uid)?;
        let envelope = message::open(commit)?;
        expect(&envelope, MessageType::Commit)?;
        let body = Commit::decode(envelope.body)?;
        let suite = CipherSuite::from_id(body.suite)?;
        let session_id = envelope.session_id;
        let ephemeral = random_secret(entropy)?;
        // dh1 = X25519(IK_I, EK_R): computed now, which also refuses a
        // low-order identity key before anything is sent.
        let dh1 = schedule::dh(&ephemeral, &body.identity)?;
        let response = Response {
            uid,
            identity: identity.public_key(),
            ephemeral: PublicKey::from(&ephemeral).to_bytes(),
        }
        .encode(&session_id)?;
        let session = Self {
            role: Role::Responder,
            suite,
            session_id,
            identity: identity.clone(),
            uid: uid.to_owned(),
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
            },
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
        commit: &[u8],
    ) -> Result<(Self, Vec<u8>), CallError> {
        Self::respond(identity, uid, commit, &mut OsEntropy)
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
    /// use callseal_core::call::{CallError, CallSession};
    /// use callseal_core::frame::CipherSuite;
    /// use callseal_core::identity::{IdentityKeyPair, OsEntropy};
    /// use callseal_core::policy::{PolicyDocument, Reason};
    ///
    /// let doc = PolicyDocument::new(); // Global policy: Disabled
    /// let decision = doc.evaluate_call("alice", "bob");
    /// let alice = IdentityKeyPair::from_bytes([1; 32]);
    /// let result = CallSession::initiate_with_policy(
    ///     &decision, &alice, "alice", CipherSuite::AesGcm128Sha256, &mut OsEntropy,
    /// );
    /// assert!(matches!(result, Err(CallError::PolicyForbids(Reason::PolicyDisabled))));
    /// ```
    pub fn initiate_with_policy<E: Entropy + ?Sized>(
        decision: &CallDecision,
        identity: &IdentityKeyPair,
        uid: &str,
        suite: CipherSuite,
        entropy: &mut E,
    ) -> Result<(Self, Vec<u8>), CallError> {
        require_e2ee(decision)?;
        Self::initiate(identity, uid, suite, entropy)
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
        commit: &[u8],
        entropy: &mut E,
    ) -> Result<(Self, Vec<u8>), CallError> {
        require_e2ee(decision)?;
        Self::respond(identity, uid, commit, entropy)
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
    /// use callseal_core::call::CallSession;
    /// use callseal_core::frame::CipherSuite;
    /// use callseal_core::identity::IdentityKeyPair;
    /// use callseal_core::policy::{CallFeature, FeatureUnavailable};
    ///
    /// let alice = IdentityKeyPair::from_bytes([1; 32]);
    /// let (session, _commit) = CallSession::initiate_random(&alice, "alice", CipherSuite::AesGcm128Sha256)?;
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

    /// Processes one received message and returns the message to send, if
    /// any. When the handshake completes, the peer's identity key is looked
    /// up in (and, if new or changed, recorded into) `store`.
    ///
    /// # Errors
    /// Any error aborts the session: it moves to [`CallState::Failed`], its
    /// secrets are wiped and every later call returns
    /// [`CallError::SessionFailed`]. See [`CallError`] for the variants.
    pub fn handle(
        &mut self,
        msg: &[u8],
        store: &mut dyn IdentityStore,
    ) -> Result<Option<Vec<u8>>, CallError> {
        let phase = core::mem::replace(&mut self.phase, Phase::Failed);
        if matches!(phase, Phase::Failed) {
            return Err(CallError::SessionFailed);
        }
        let (next, reply) = self.step(phase, msg, store)?;
        self.phase = next;
        Ok(reply)
    }

    fn step(
        &self,
        phase: Phase,
        msg: &[u8],
        store: &mut dyn IdentityStore,
    ) -> Result<(Phase, Option<Vec<u8>>), CallError> {
        let envelope = message::open(msg)?;
        if envelope.session_id != self.session_id {
            return Err(CallError::SessionMismatch);
        }
        match phase {
            Phase::SentCommit {
                ephemeral,
                ephemeral_public,
                commit,
            } => {
                expect(&envelope, MessageType::Response)?;
                let body = Response::decode(envelope.body)?;
                let dh1 = schedule::dh(self.identity.secret(), &body.ephemeral)?;
                let dh2 = schedule::dh(&ephemeral, &body.identity)?;
                let dh3 = schedule::dh(&ephemeral, &body.ephemeral)?;
                let th = schedule::transcript_hash(&commit, msg, &ephemeral_public);
                let secrets = Secrets::derive(&th, &dh1, &dh2, &dh3);
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
                expect(&envelope, MessageType::Confirm)?;
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
            } => {
                expect(&envelope, MessageType::Reveal)?;
                let body = Reveal::decode(envelope.body)?;
                let expected =
                    schedule::commitment(&self.session_id, &peer.identity, &body.ephemeral);
                if !schedule::ct_equal(&expected, &commitment) {
                    return Err(CallError::CommitmentMismatch);
                }
                let dh2 = schedule::dh(self.identity.secret(), &body.ephemeral)?;
                let dh3 = schedule::dh(&ephemeral, &body.ephemeral)?;
                let th = schedule::transcript_hash(&commit, &response, &body.ephemeral);
                let secrets = Secrets::derive(&th, &dh1, &dh2, &dh3);
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
    /// (it is authenticated only once established).
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

    /// Moves the media keys out: a [`Sender`] for this side's direction and
    /// a [`Receiver`] following the peer's, both ratcheting per §3.8
    /// (`R = 8`, generation 1 for I → R, 2 for R → I), the receiver with
    /// [`ReceiverConfig::default`]. Rekey with [`Sender::ratchet`]; the
    /// receiver follows from the KID alone.
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
        let (own_generation, peer_generation) = match self.role {
            Role::Initiator => (INITIATOR_GENERATION, RESPONDER_GENERATION),
            Role::Responder => (RESPONDER_GENERATION, INITIATOR_GENERATION),
        };
        let layout = RatchetLayout::new(MEDIA_RATCHET_BITS)?;
        let sender =
            Sender::ratcheting(self.suite, layout, own_generation, BaseKey::new(&own[..])?)?;
        let mut receiver = Receiver::with_config(config)?;
        receiver.add_ratcheting_sender(
            self.suite,
            layout,
            peer_generation,
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
            .finish_non_exhaustive()
    }
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

/// Key continuity (§3.7), then the established state.
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
    let (media_i, media_r) = secrets.into_media();
    let media = match role {
        Role::Initiator => (media_i, media_r),
        Role::Responder => (media_r, media_i),
    };
    Ok(Established {
        peer,
        verified: status == PeerStatus::Known { verified: true },
        status,
        code,
        media: Some(media),
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
