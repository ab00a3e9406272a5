//! 1:1 calls: identity keys, identity stores and the handshake session.

use std::sync::{Arc, Mutex};

use callseal_core::call as core_call;
#[cfg(feature = "conformance")]
use callseal_core::identity::ScriptedEntropy;
use callseal_core::identity::{
    self as core_identity, FileIdentityStore, MemoryIdentityStore, OsEntropy,
};

use crate::error::CallsealError;
use crate::frame::suite;
use crate::guard::{guard, lock};
use crate::media::{MediaReceiver, MediaSender};

/// A long-term X25519 identity key pair. The secret leaves only through
/// [`to_bytes`](Self::to_bytes), for the app to persist.
///
/// ```
/// use callseal_ffi::IdentityKeyPair;
///
/// let key = IdentityKeyPair::generate()?;
/// let again = IdentityKeyPair::from_bytes(key.to_bytes())?;
/// assert_eq!(key.public_key(), again.public_key());
/// let secret: String = key.to_bytes().iter().map(|b| format!("{b:02x}")).collect();
/// assert!(!format!("{key:?}").contains(&secret));
/// # Ok::<(), callseal_ffi::CallsealError>(())
/// ```
#[derive(uniffi::Object)]
pub struct IdentityKeyPair {
    inner: core_identity::IdentityKeyPair,
}

impl std::fmt::Debug for IdentityKeyPair {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.inner.fmt(f)
    }
}

#[uniffi::export]
impl IdentityKeyPair {
    /// A fresh key pair from the operating system's randomness.
    ///
    /// # Errors
    /// `Entropy` if no randomness is available.
    #[uniffi::constructor]
    pub fn generate() -> Result<Self, CallsealError> {
        guard(|| {
            Ok(Self {
                inner: core_identity::IdentityKeyPair::generate()?,
            })
        })
    }

    /// The key pair of a persisted 32-byte secret.
    ///
    /// # Errors
    /// `InvalidArgument` unless `secret` is 32 bytes.
    #[uniffi::constructor]
    pub fn from_bytes(secret: Vec<u8>) -> Result<Self, CallsealError> {
        let secret: [u8; 32] = secret.as_slice().try_into().map_err(|_| {
            CallsealError::InvalidArgument(format!(
                "an identity secret is 32 bytes, not {}",
                secret.len()
            ))
        })?;
        Ok(Self {
            inner: core_identity::IdentityKeyPair::from_bytes(secret),
        })
    }

    /// The public key (32 bytes), as sent in the handshake.
    pub fn public_key(&self) -> Vec<u8> {
        self.inner.public_key().to_vec()
    }

    /// The 32-byte secret, for the app to persist in its secure storage.
    ///
    /// The returned bytes are the caller's copy, and the caller's to wipe
    /// once stored: Kotlin `secret.fill(0)` on the `ByteArray`, Swift
    /// `secret.resetBytes(in: 0..<secret.count)` on the `Data`. Python's
    /// `bytes` cannot be wiped: keep the reference short-lived. The core
    /// wipes its own copy; the buffer UniFFI carries the bytes across in is
    /// freed without wiping (UniFFI offers no hook for that).
    pub fn to_bytes(&self) -> Vec<u8> {
        let secret = self.inner.to_bytes();
        secret.to_vec()
    }
}

impl IdentityKeyPair {
    /// The core key pair.
    pub(crate) fn core(&self) -> &core_identity::IdentityKeyPair {
        &self.inner
    }
}

enum Store {
    Memory(MemoryIdentityStore),
    File(FileIdentityStore),
}

impl Store {
    fn as_dyn(&mut self) -> &mut dyn core_identity::IdentityStore {
        match self {
            Store::Memory(s) => s,
            Store::File(s) => s,
        }
    }
}

/// Where the app remembers its peers' identity keys and whether codes were
/// compared: in memory, or in a JSON file.
///
/// ```
/// use callseal_ffi::IdentityStore;
///
/// let _memory = IdentityStore::memory();
/// let path = std::env::temp_dir().join(format!("callseal-ffi-doc-{}.json", std::process::id()));
/// let _file = IdentityStore::open(path.display().to_string())?;
/// # Ok::<(), callseal_ffi::CallsealError>(())
/// ```
#[derive(uniffi::Object)]
pub struct IdentityStore {
    inner: Mutex<Store>,
}

impl std::fmt::Debug for IdentityStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("IdentityStore { .. }")
    }
}

#[uniffi::export]
impl IdentityStore {
    /// An empty store in memory.
    #[uniffi::constructor]
    pub fn memory() -> Self {
        Self {
            inner: Mutex::new(Store::Memory(MemoryIdentityStore::new())),
        }
    }

    /// The JSON file store at `path` (created on first write).
    ///
    /// # Errors
    /// `Storage` if the file cannot be read or is not a store.
    #[uniffi::constructor]
    pub fn open(path: String) -> Result<Self, CallsealError> {
        guard(|| {
            Ok(Self {
                inner: Mutex::new(Store::File(FileIdentityStore::open(&path)?)),
            })
        })
    }
}

/// The UI state of a call.
///
/// ```
/// use callseal_ffi::CallState;
///
/// assert_ne!(CallState::Encrypted, CallState::Verified);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum CallState {
    /// The handshake is under way.
    Negotiating,
    /// Established; compare the security codes.
    Encrypted,
    /// Established, and the codes were compared now or on an earlier call.
    Verified,
    /// Aborted; start a new call.
    Failed,
}

/// The encryption indicator next to the call.
///
/// ```
/// use callseal_ffi::Indicator;
///
/// assert_ne!(Indicator::Hidden, Indicator::LockAndShield);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum Indicator {
    /// Not (yet) end-to-end encrypted.
    Hidden,
    /// End-to-end encrypted, codes not compared.
    LockAndShield,
    /// End-to-end encrypted and verified.
    LockAndShieldVerified,
}

/// What the identity store said about the peer's identity key.
///
/// ```
/// use callseal_ffi::PeerStatus;
///
/// assert_ne!(PeerStatus::Known, PeerStatus::KnownVerified);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum PeerStatus {
    /// First call with this peer.
    New,
    /// The same key as before, codes not compared.
    Known,
    /// The same key as before, codes compared on an earlier call.
    KnownVerified,
    /// A different key than before: a new device, or an attack.
    Changed,
}

/// Whom the initiator calls (or whom the responder expects to call): a
/// user id and, optionally, the identity public key to pin (PROTOCOL.md
/// §3.6). A Response from anyone else, or with another key, fails with
/// `WrongPeer` before any media key exists.
///
/// ```
/// use callseal_ffi::ExpectedPeer;
///
/// let bob = ExpectedPeer { uid: "bob".into(), identity: None };
/// assert_eq!(bob.uid, "bob");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct ExpectedPeer {
    /// The peer's user id (1–255 bytes of UTF-8).
    pub uid: String,
    /// The peer's identity public key (32 bytes), to pin it; `None` accepts
    /// any key (key continuity then flags a changed one).
    #[uniffi(default = None)]
    pub identity: Option<Vec<u8>>,
}

impl ExpectedPeer {
    /// The core's expected peer.
    pub(crate) fn core(&self) -> Result<core_call::ExpectedPeer, CallsealError> {
        let peer = core_call::ExpectedPeer::new(&self.uid)?;
        Ok(match &self.identity {
            None => peer,
            Some(key) => {
                let key: [u8; 32] = key.as_slice().try_into().map_err(|_| {
                    CallsealError::InvalidArgument(format!(
                        "a pinned identity key is 32 bytes, not {}",
                        key.len()
                    ))
                })?;
                peer.with_identity(key)
            }
        })
    }
}

/// What the app decides before a call. The defaults (suite 4, no short
/// tags, a rekey every 10 minutes) are the core's `CallConfig::default()`.
///
/// ```
/// use callseal_ffi::CallConfig;
///
/// let config = CallConfig::default();
/// assert_eq!((config.suite, config.allow_short_tags, config.rekey_every_ms), (4, false, 600_000));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Record)]
pub struct CallConfig {
    /// The SFrame cipher suite of the media (1–8; the initiator's choice,
    /// the responder takes the Commit's).
    #[uniffi(default = 4)]
    pub suite: u16,
    /// Whether suites with a 32-bit tag (3 and 8) are accepted.
    #[uniffi(default = false)]
    pub allow_short_tags: bool,
    /// How often `CallSession::rekey_due` asks for a rekey (0: never).
    #[uniffi(default = 600000)]
    pub rekey_every_ms: u64,
}

impl Default for CallConfig {
    fn default() -> Self {
        let core = core_call::CallConfig::default();
        Self {
            suite: core.suite.id(),
            allow_short_tags: core.allow_short_tags,
            rekey_every_ms: core.rekey_every_ms,
        }
    }
}

impl CallConfig {
    /// The core's configuration.
    pub(crate) fn core(&self) -> Result<core_call::CallConfig, CallsealError> {
        Ok(core_call::CallConfig {
            suite: suite(self.suite)?,
            allow_short_tags: self.allow_short_tags,
            rekey_every_ms: self.rekey_every_ms,
        })
    }
}

/// A started call: the session and the message to send to the peer.
///
/// ```
/// use callseal_ffi::{CallConfig, ExpectedPeer, IdentityKeyPair, initiate_call};
///
/// let bob = ExpectedPeer { uid: "bob".into(), identity: None };
/// let start = initiate_call(IdentityKeyPair::generate()?.into(), "alice".into(), bob, CallConfig::default())?;
/// assert!(!start.message.is_empty());
/// # Ok::<(), callseal_ffi::CallsealError>(())
/// ```
#[derive(Debug, uniffi::Record)]
pub struct CallStart {
    /// The session, to hand every later message to.
    pub session: Arc<CallSession>,
    /// The Commit (initiator) or Response (responder) to send.
    pub message: Vec<u8>,
}

/// The media keys of an established call, one sender and one receiver.
///
/// ```
/// use callseal_ffi::{CallMedia, MediaReceiver, MediaSender};
///
/// let media = CallMedia {
///     sender: MediaSender::new(4, 1, vec![1; 16])?.into(),
///     receiver: MediaReceiver::new().into(),
/// };
/// assert_eq!(media.sender.kid(), 1);
/// # Ok::<(), callseal_ffi::CallsealError>(())
/// ```
#[derive(Debug, uniffi::Record)]
pub struct CallMedia {
    /// Encrypts this side's media; ratchet it to rekey within the epoch.
    pub sender: Arc<MediaSender>,
    /// Decrypts the peer's media, following its ratchet.
    pub receiver: Arc<MediaReceiver>,
}

/// New media keys from an in-call rekey (PROTOCOL.md §3.9): apply it to the
/// call's sender and receiver (from [`CallSession::take_media`]) as soon as
/// [`CallSession::handle`] returns it, in order.
///
/// Each half takes effect once: [`apply`](Self::apply) does both, or a
/// wrapper whose sender and receiver live apart uses
/// [`apply_to_sender`](Self::apply_to_sender) and
/// [`apply_to_receiver`](Self::apply_to_receiver); applying a half again
/// does nothing. Its `Debug` shows no key.
#[derive(uniffi::Object)]
pub struct MediaUpdate {
    inner: Mutex<core_call::MediaUpdate>,
}

impl std::fmt::Debug for MediaUpdate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.inner.lock() {
            Ok(update) => update.fmt(f),
            Err(_) => f.write_str("MediaUpdate { .. }"),
        }
    }
}

#[uniffi::export]
impl MediaUpdate {
    /// Installs the new keys: the receiver follows the peer's new
    /// generation (and forgets a retired one), then the sender switches if
    /// this update says so.
    ///
    /// # Errors
    /// `InvalidArgument` if the receiver's configuration cannot follow a
    /// ratcheting sender; `Internal`.
    pub fn apply(
        &self,
        sender: Arc<MediaSender>,
        receiver: Arc<MediaReceiver>,
    ) -> Result<(), CallsealError> {
        self.apply_to_receiver(receiver)?;
        self.apply_to_sender(sender)
    }

    /// Switches `sender` to this update's epoch, if the update changes the
    /// sender (once).
    ///
    /// # Errors
    /// `Internal`.
    pub fn apply_to_sender(&self, sender: Arc<MediaSender>) -> Result<(), CallsealError> {
        guard(|| {
            let mut update = lock(&self.inner)?;
            let mut sender = lock(sender.inner())?;
            Ok(update.apply_to_sender(sender.sender_mut())?)
        })
    }

    /// Makes `receiver` follow the peer's new generation and forget a
    /// retired one, if the update changes the receiver (once).
    ///
    /// # Errors
    /// `InvalidArgument` if the receiver's configuration cannot follow a
    /// ratcheting sender; `Internal`.
    pub fn apply_to_receiver(&self, receiver: Arc<MediaReceiver>) -> Result<(), CallsealError> {
        guard(|| {
            let mut update = lock(&self.inner)?;
            let mut receiver = lock(receiver.inner())?;
            Ok(update.apply_to_receiver(receiver.receiver_mut())?)
        })
    }

    /// The epoch whose keys this update carries.
    pub fn epoch(&self) -> u32 {
        guard(|| Ok(lock(&self.inner)?.epoch())).unwrap_or_default()
    }

    /// Whether applying it still changes the sender.
    pub fn changes_sender(&self) -> bool {
        guard(|| Ok(lock(&self.inner)?.changes_sender())).unwrap_or(false)
    }

    /// Whether applying it still changes the receiver.
    pub fn changes_receiver(&self) -> bool {
        guard(|| Ok(lock(&self.inner)?.changes_receiver())).unwrap_or(false)
    }
}

/// What [`CallSession::handle`] made of a message: send `reply` (if any),
/// apply `media` (if any) to the call's sender and receiver; `ignored` says
/// why nothing changed.
///
/// ```
/// use callseal_ffi::Handled;
///
/// let nothing = Handled { reply: None, media: None, ignored: Some("other-session".into()) };
/// assert!(nothing.reply.is_none());
/// ```
#[derive(Debug, uniffi::Record)]
pub struct Handled {
    /// The message to send to the peer.
    pub reply: Option<Vec<u8>>,
    /// New media keys to apply, in order.
    pub media: Option<Arc<MediaUpdate>>,
    /// Why the message changed nothing (kebab-case): `other-session`,
    /// `repeat` (with the earlier `reply` again, to resend), `handshake`,
    /// `malformed`, `bad-mac`, `stale`, `rekey-collision`.
    pub ignored: Option<String>,
}

impl From<core_call::Handled> for Handled {
    fn from(h: core_call::Handled) -> Self {
        Self {
            reply: h.reply,
            media: h.media.map(|update| {
                Arc::new(MediaUpdate {
                    inner: Mutex::new(update),
                })
            }),
            ignored: h.ignored.map(|why| why.as_str().to_owned()),
        }
    }
}

/// One side of a 1:1 call (docs/PROTOCOL.md §3): hand it every message from
/// the peer, send what it returns, apply the media updates it returns.
///
/// ```
/// use std::sync::Arc;
/// use callseal_ffi::{CallConfig, CallState, ExpectedPeer, IdentityKeyPair, IdentityStore, initiate_call, respond_to_call};
///
/// let (alice_store, bob_store) = (Arc::new(IdentityStore::memory()), Arc::new(IdentityStore::memory()));
/// let bob_uid = ExpectedPeer { uid: "bob".into(), identity: None };
/// let alice = initiate_call(IdentityKeyPair::generate()?.into(), "alice".into(), bob_uid, CallConfig::default())?;
/// let bob = respond_to_call(IdentityKeyPair::generate()?.into(), "bob".into(), alice.message, None, CallConfig::default())?;
/// let reveal = alice.session.handle(bob.message, alice_store.clone())?.reply.unwrap_or_default();
/// let confirm = bob.session.handle(reveal, bob_store.clone())?.reply.unwrap_or_default();
/// assert!(alice.session.handle(confirm, alice_store.clone())?.reply.is_none());
/// assert_eq!(alice.session.state(), CallState::Encrypted);
/// assert_eq!(alice.session.security_code(), bob.session.security_code());
///
/// let (a, b) = (alice.session.take_media()?, bob.session.take_media()?);
/// let frame = a.sender.encrypt_frame("generic".into(), b"hi".to_vec())?;
/// assert_eq!(b.receiver.decrypt_frame(frame)?.payload, b"hi");
///
/// // An in-call rekey: offer, answer, done; every side applies its updates.
/// let offer = bob.session.rekey()?;
/// let answered = alice.session.handle(offer, alice_store.clone())?;
/// answered.media.expect("keys").apply(a.sender.clone(), a.receiver.clone())?;
/// let done = bob.session.handle(answered.reply.unwrap_or_default(), bob_store.clone())?;
/// done.media.expect("keys").apply(b.sender.clone(), b.receiver.clone())?;
/// let last = alice.session.handle(done.reply.unwrap_or_default(), alice_store)?;
/// last.media.expect("keys").apply(a.sender.clone(), a.receiver.clone())?;
/// assert_eq!((alice.session.epoch(), bob.session.epoch()), (1, 1));
/// let frame = a.sender.encrypt_frame("generic".into(), b"later".to_vec())?;
/// assert_eq!(b.receiver.decrypt_frame(frame)?.payload, b"later");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(uniffi::Object)]
pub struct CallSession {
    inner: Mutex<core_call::CallSession>,
}

impl std::fmt::Debug for CallSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.inner.lock() {
            Ok(session) => session.fmt(f),
            Err(_) => f.write_str("CallSession { .. }"),
        }
    }
}

pub(crate) fn start(
    result: Result<(core_call::CallSession, Vec<u8>), core_call::CallError>,
) -> Result<CallStart, CallsealError> {
    let (session, message) = result?;
    Ok(CallStart {
        session: Arc::new(CallSession {
            inner: Mutex::new(session),
        }),
        message,
    })
}

/// Starts a call to `peer` as initiator: returns the session and the Commit
/// to send.
///
/// # Errors
/// `InvalidArgument` for a bad uid (1–255 bytes), pinned key (32 bytes) or
/// suite, or a short-tag suite that `config` does not allow; `Entropy`.
#[uniffi::export(default(config))]
pub fn initiate_call(
    identity: Arc<IdentityKeyPair>,
    uid: String,
    peer: ExpectedPeer,
    config: CallConfig,
) -> Result<CallStart, CallsealError> {
    guard(|| {
        start(core_call::CallSession::initiate(
            &identity.inner,
            &uid,
            &peer.core()?,
            &config.core()?,
            &mut OsEntropy,
        ))
    })
}

/// Answers a received Commit as responder `uid`, from the `expected` caller
/// if given: returns the session and the Response to send. The suite is the
/// Commit's (`config.suite` is not used); `config.allow_short_tags` and
/// `config.rekey_every_ms` apply.
///
/// # Errors
/// `Malformed`, `ProtocolViolation` (not a Commit), `WrongPeer` (the Commit
/// calls another user, or comes from another caller or key than
/// `expected`), `InvalidArgument`, `Entropy`.
#[uniffi::export(default(expected = None, config))]
pub fn respond_to_call(
    identity: Arc<IdentityKeyPair>,
    uid: String,
    commit: Vec<u8>,
    expected: Option<ExpectedPeer>,
    config: CallConfig,
) -> Result<CallStart, CallsealError> {
    guard(|| {
        let expected = expected.as_ref().map(ExpectedPeer::core).transpose()?;
        start(core_call::CallSession::respond(
            &identity.inner,
            &uid,
            expected.as_ref(),
            &commit,
            &config.core()?,
            &mut OsEntropy,
        ))
    })
}

/// [`initiate_call`] with fixed randomness (112 bytes: session id 16,
/// ephemeral secret 32, ML-KEM seed 64). Conformance builds only (Cargo
/// feature `conformance`): whoever knows `entropy` knows the call's keys.
///
/// # Errors
/// As [`initiate_call`]; `Entropy` if `entropy` is too short.
#[cfg(feature = "conformance")]
#[uniffi::export]
pub fn initiate_call_scripted(
    identity: Arc<IdentityKeyPair>,
    uid: String,
    peer: ExpectedPeer,
    config: CallConfig,
    entropy: Vec<u8>,
) -> Result<CallStart, CallsealError> {
    guard(|| {
        start(core_call::CallSession::initiate(
            &identity.inner,
            &uid,
            &peer.core()?,
            &config.core()?,
            &mut ScriptedEntropy::new(entropy),
        ))
    })
}

/// [`respond_to_call`] with fixed randomness (64 bytes: ephemeral secret
/// 32, ML-KEM encapsulation randomness 32). Conformance builds only.
///
/// # Errors
/// As [`respond_to_call`]; `Entropy` if `entropy` is too short.
#[cfg(feature = "conformance")]
#[uniffi::export]
pub fn respond_to_call_scripted(
    identity: Arc<IdentityKeyPair>,
    uid: String,
    commit: Vec<u8>,
    expected: Option<ExpectedPeer>,
    config: CallConfig,
    entropy: Vec<u8>,
) -> Result<CallStart, CallsealError> {
    guard(|| {
        let expected = expected.as_ref().map(ExpectedPeer::core).transpose()?;
        start(core_call::CallSession::respond(
            &identity.inner,
            &uid,
            expected.as_ref(),
            &commit,
            &config.core()?,
            &mut ScriptedEntropy::new(entropy),
        ))
    })
}

#[uniffi::export]
impl CallSession {
    /// Whether call `feature` (kebab-case) may run: a session is end-to-end
    /// encrypted, so the gated ones are refused.
    ///
    /// # Errors
    /// `FeatureUnavailable` for a gated feature; `InvalidArgument` for an
    /// unknown one.
    pub fn check_feature(&self, feature: String) -> Result<(), CallsealError> {
        guard(|| {
            let feature: callseal_core::policy::CallFeature = feature.parse()?;
            Ok(lock(&self.inner)?.check_feature(feature)?)
        })
    }

    /// Processes one message from the peer: the reply to send, the media
    /// update to apply, or why it was ignored (PROTOCOL.md §3.7). When the
    /// handshake completes, the peer's identity is looked up in (and
    /// recorded into) `store`. Messages of another session and repeats are
    /// ignored in every state.
    ///
    /// # Errors
    /// While negotiating, an error fails the session for good: `Malformed`,
    /// `AuthenticationFailed`, `ProtocolViolation`, `WrongPeer`, `Storage`
    /// (then `ProtocolViolation` for every later message). Once
    /// established, only `Entropy` (and the session stays as it was):
    /// anything else is ignored and says why.
    pub fn handle(
        &self,
        message: Vec<u8>,
        store: Arc<IdentityStore>,
    ) -> Result<Handled, CallsealError> {
        guard(|| {
            let mut session = lock(&self.inner)?;
            let mut store = lock(&store.inner)?;
            Ok(session.handle(&message, store.as_dyn())?.into())
        })
    }

    /// Starts an in-call rekey (PROTOCOL.md §3.9): the RekeyOffer to send.
    /// While this side's offer is unanswered it returns the same bytes
    /// again (to resend). Call it when [`rekey_due`](Self::rekey_due) says
    /// so, on demand, and when the receiver reports `UnknownKeyId` for a
    /// frame too many ratchet steps ahead.
    ///
    /// # Errors
    /// `ProtocolViolation` before establishment; `KeyExhausted` after
    /// 2^32 - 1 rekeys; `Entropy`.
    pub fn rekey(&self) -> Result<Vec<u8>, CallsealError> {
        guard(|| Ok(lock(&self.inner)?.rekey()?))
    }

    /// Whether a periodic rekey is due at `now_ms` (any monotonic clock in
    /// milliseconds): `config.rekey_every_ms` passed since the epoch began
    /// (as first observed by this method) and no offer of this side is
    /// pending. `false` before establishment.
    pub fn rekey_due(&self, now_ms: u64) -> bool {
        guard(|| Ok(lock(&self.inner)?.rekey_due(now_ms))).unwrap_or(false)
    }

    /// The current epoch: 0 after the handshake, `n` once rekey `n`
    /// completed on this side.
    pub fn epoch(&self) -> u32 {
        guard(|| Ok(lock(&self.inner)?.epoch())).unwrap_or_default()
    }

    /// Whether this side's rekey offer is waiting for its answer.
    pub fn rekey_pending(&self) -> bool {
        guard(|| Ok(lock(&self.inner)?.rekey_pending())).unwrap_or(false)
    }

    /// The UI state.
    pub fn state(&self) -> CallState {
        let state = guard(|| Ok(lock(&self.inner)?.state()));
        match state {
            Ok(core_call::CallState::Negotiating) => CallState::Negotiating,
            Ok(core_call::CallState::Encrypted) => CallState::Encrypted,
            Ok(core_call::CallState::Verified) => CallState::Verified,
            Ok(core_call::CallState::Failed) | Err(_) => CallState::Failed,
        }
    }

    /// The indicator to show.
    pub fn indicator(&self) -> Indicator {
        match self.state() {
            CallState::Encrypted => Indicator::LockAndShield,
            CallState::Verified => Indicator::LockAndShieldVerified,
            CallState::Negotiating | CallState::Failed => Indicator::Hidden,
        }
    }

    /// The security code (`"12345 67890 12345 67890"`), once established.
    pub fn security_code(&self) -> Option<String> {
        guard(|| Ok(lock(&self.inner)?.security_code().map(|c| c.to_string())))
            .ok()
            .flatten()
    }

    /// What the identity store said about the peer, once established.
    pub fn peer_status(&self) -> Option<PeerStatus> {
        let status = guard(|| Ok(lock(&self.inner)?.peer_status()))
            .ok()
            .flatten();
        status.map(|s| match s {
            callseal_core::identity::PeerStatus::New => PeerStatus::New,
            callseal_core::identity::PeerStatus::Known { verified: false } => PeerStatus::Known,
            callseal_core::identity::PeerStatus::Known { verified: true } => {
                PeerStatus::KnownVerified
            }
            callseal_core::identity::PeerStatus::Changed => PeerStatus::Changed,
        })
    }

    /// The peer's user id, once known (authenticated once established, and
    /// then the one the app expected).
    pub fn peer_uid(&self) -> Option<String> {
        guard(|| Ok(lock(&self.inner)?.peer_uid().map(str::to_owned)))
            .ok()
            .flatten()
    }

    /// The peer's identity public key (32 bytes), once known
    /// (authenticated once established): what an app pins in
    /// [`ExpectedPeer::identity`] for later calls.
    pub fn peer_identity(&self) -> Option<Vec<u8>> {
        guard(|| Ok(lock(&self.inner)?.peer_identity().map(|k| k.to_vec())))
            .ok()
            .flatten()
    }

    /// Records that the users compared the codes and they matched.
    ///
    /// # Errors
    /// `ProtocolViolation` before establishment; `Storage`.
    pub fn mark_verified(&self, store: Arc<IdentityStore>) -> Result<(), CallsealError> {
        guard(|| {
            let mut session = lock(&self.inner)?;
            let mut store = lock(&store.inner)?;
            Ok(session.mark_verified(store.as_dyn())?)
        })
    }

    /// Moves the epoch-0 media keys out (once): this side's sender and a
    /// receiver for the peer's frames, both ratcheting. Apply every
    /// [`MediaUpdate`] that [`handle`](Self::handle) returns to them.
    ///
    /// # Errors
    /// `ProtocolViolation` before establishment or on a second call.
    pub fn take_media(&self) -> Result<CallMedia, CallsealError> {
        guard(|| {
            let (sender, receiver) = lock(&self.inner)?.take_media()?;
            Ok(CallMedia {
                sender: Arc::new(MediaSender::wrap(sender)),
                receiver: Arc::new(MediaReceiver::wrap(receiver)),
            })
        })
    }
}

/// The fixed-randomness methods, for conformance builds only (Cargo feature
/// `conformance`).
#[cfg(feature = "conformance")]
#[uniffi::export]
impl CallSession {
    /// [`rekey`](Self::rekey) with fixed randomness (96 bytes: ephemeral
    /// secret 32, ML-KEM seed 64).
    ///
    /// # Errors
    /// As [`rekey`](Self::rekey); `Entropy` if `entropy` is too short.
    pub fn rekey_scripted(&self, entropy: Vec<u8>) -> Result<Vec<u8>, CallsealError> {
        guard(|| Ok(lock(&self.inner)?.rekey_with(&mut ScriptedEntropy::new(entropy))?))
    }

    /// [`handle`](Self::handle) with fixed randomness (answering a
    /// RekeyOffer draws 64 bytes: ephemeral secret 32, ML-KEM
    /// encapsulation randomness 32).
    ///
    /// # Errors
    /// As [`handle`](Self::handle); `Entropy` if `entropy` is too short.
    pub fn handle_scripted(
        &self,
        message: Vec<u8>,
        store: Arc<IdentityStore>,
        entropy: Vec<u8>,
    ) -> Result<Handled, CallsealError> {
        guard(|| {
            let mut session = lock(&self.inner)?;
            let mut store = lock(&store.inner)?;
            let mut entropy = ScriptedEntropy::new(entropy);
            Ok(session
                .handle_with(&message, store.as_dyn(), &mut entropy)?
                .into())
        })
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    fn objects_are_send_and_sync<T: Send + Sync>() {}

    #[test]
    fn every_object_is_send_and_sync() {
        objects_are_send_and_sync::<CallSession>();
        objects_are_send_and_sync::<IdentityStore>();
        objects_are_send_and_sync::<IdentityKeyPair>();
        objects_are_send_and_sync::<MediaUpdate>();
        objects_are_send_and_sync::<MediaSender>();
        objects_are_send_and_sync::<MediaReceiver>();
        objects_are_send_and_sync::<crate::FrameSender>();
        objects_are_send_and_sync::<crate::FrameReceiver>();
    }

    fn peer(uid: &str) -> ExpectedPeer {
        ExpectedPeer {
            uid: uid.into(),
            identity: None,
        }
    }

    /// A completed call: (initiator, responder, their stores).
    fn call(
        config: CallConfig,
    ) -> (
        Arc<CallSession>,
        Arc<CallSession>,
        Arc<IdentityStore>,
        Arc<IdentityStore>,
    ) {
        let (a_store, b_store) = (
            Arc::new(IdentityStore::memory()),
            Arc::new(IdentityStore::memory()),
        );
        let a = initiate_call(
            IdentityKeyPair::generate().unwrap().into(),
            "alice".into(),
            peer("bob"),
            config,
        )
        .unwrap();
        let b = respond_to_call(
            IdentityKeyPair::generate().unwrap().into(),
            "bob".into(),
            a.message,
            Some(peer("alice")),
            config,
        )
        .unwrap();
        let reveal = a.session.handle(b.message, a_store.clone()).unwrap();
        let confirm = b
            .session
            .handle(reveal.reply.unwrap(), b_store.clone())
            .unwrap();
        let last = a
            .session
            .handle(confirm.reply.unwrap(), a_store.clone())
            .unwrap();
        assert!(last.reply.is_none() && last.media.is_none() && last.ignored.is_none());
        (a.session, b.session, a_store, b_store)
    }

    #[test]
    fn the_record_defaults_are_the_cores() {
        // The literals of #[uniffi(default = ...)] on CallConfig.
        assert_eq!(
            CallConfig::default(),
            CallConfig {
                suite: 4,
                allow_short_tags: false,
                rekey_every_ms: 600_000
            }
        );
        assert_eq!(
            CallConfig::default().core().unwrap(),
            core_call::CallConfig::default()
        );
    }

    #[test]
    fn a_failed_handshake_reports_its_kind_and_keys_stay_out_of_debug() {
        let identity = Arc::new(IdentityKeyPair::from_bytes(vec![9; 32]).unwrap());
        let secret_hex: String = identity
            .to_bytes()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        assert!(!format!("{identity:?}").contains(&secret_hex));
        let start = initiate_call(
            identity.clone(),
            "alice".into(),
            peer("bob"),
            CallConfig::default(),
        )
        .unwrap();
        let store = Arc::new(IdentityStore::memory());
        // The Commit is not what the initiator expects back.
        let err = start
            .session
            .handle(start.message.clone(), store.clone())
            .unwrap_err();
        assert_eq!(err.code(), "protocol-violation");
        assert_eq!(start.session.state(), CallState::Failed);
        assert_eq!(start.session.indicator(), Indicator::Hidden);
        assert!(matches!(
            start.session.take_media(),
            Err(CallsealError::ProtocolViolation(_))
        ));
        assert!(matches!(
            start.session.rekey(),
            Err(CallsealError::ProtocolViolation(_))
        ));
        assert!(matches!(
            IdentityKeyPair::from_bytes(vec![1; 31]),
            Err(CallsealError::InvalidArgument(_))
        ));
        let pinned = ExpectedPeer {
            uid: "bob".into(),
            identity: Some(vec![1; 31]),
        };
        assert!(matches!(
            initiate_call(
                identity.clone(),
                "alice".into(),
                pinned,
                CallConfig::default()
            ),
            Err(CallsealError::InvalidArgument(_))
        ));
        let short = CallConfig {
            suite: 3,
            ..CallConfig::default()
        };
        assert!(matches!(
            initiate_call(identity, "alice".into(), peer("bob"), short),
            Err(CallsealError::InvalidArgument(_))
        ));
    }

    #[test]
    fn the_wrong_peer_is_refused() {
        let (alice, bob) = (
            Arc::new(IdentityKeyPair::generate().unwrap()),
            Arc::new(IdentityKeyPair::generate().unwrap()),
        );
        let eve = Arc::new(IdentityKeyPair::generate().unwrap());
        let config = CallConfig::default();
        let pinned = ExpectedPeer {
            uid: "bob".into(),
            identity: Some(bob.public_key()),
        };
        let a = initiate_call(alice.clone(), "alice".into(), pinned, config).unwrap();
        // The Commit calls bob: eve refuses it herself.
        let err = respond_to_call(eve.clone(), "eve".into(), a.message.clone(), None, config)
            .unwrap_err();
        assert_eq!(err.code(), "wrong-peer");
        // Bob expects carol, not alice.
        let err = respond_to_call(
            bob.clone(),
            "bob".into(),
            a.message.clone(),
            Some(peer("carol")),
            config,
        )
        .unwrap_err();
        assert!(matches!(err, CallsealError::WrongPeer(_)), "{err:?}");
        // Eve answers under bob's name with her own key: alice pinned bob's.
        let forged = respond_to_call(eve, "bob".into(), a.message, None, config).unwrap();
        let store = Arc::new(IdentityStore::memory());
        let err = a.session.handle(forged.message, store.clone()).unwrap_err();
        assert_eq!(err.code(), "wrong-peer");
        assert_eq!(a.session.state(), CallState::Failed);
    }

    #[test]
    fn a_rekey_runs_both_ways_and_strays_are_ignored() {
        let (a, b, a_store, b_store) = call(CallConfig::default());
        let (am, bm) = (a.take_media().unwrap(), b.take_media().unwrap());
        for (offerer, o_store, o_media, answerer, a_store2, a_media, epoch) in [
            (&b, &b_store, &bm, &a, &a_store, &am, 1),
            (&a, &a_store, &am, &b, &b_store, &bm, 2),
        ] {
            assert!(!offerer.rekey_pending());
            let offer = offerer.rekey().unwrap();
            assert!(offerer.rekey_pending());
            assert_eq!(offerer.rekey().unwrap(), offer, "resent as is");
            let answer = answerer.handle(offer, a_store2.clone()).unwrap();
            let update = answer.media.unwrap();
            assert_eq!(update.epoch(), epoch);
            assert!(update.changes_receiver());
            update
                .apply(a_media.sender.clone(), a_media.receiver.clone())
                .unwrap();
            assert!(!update.changes_receiver());
            let done = offerer
                .handle(answer.reply.unwrap(), o_store.clone())
                .unwrap();
            done.media
                .unwrap()
                .apply(o_media.sender.clone(), o_media.receiver.clone())
                .unwrap();
            let last = answerer
                .handle(done.reply.unwrap(), a_store2.clone())
                .unwrap();
            let last_update = last.media.unwrap();
            assert!(last_update.changes_sender());
            last_update.apply_to_sender(a_media.sender.clone()).unwrap();
            last_update
                .apply_to_receiver(a_media.receiver.clone())
                .unwrap();
            assert_eq!((a.epoch(), b.epoch()), (epoch, epoch));
            for (from, to) in [(&am, &bm), (&bm, &am)] {
                let frame = from
                    .sender
                    .encrypt_frame("generic".into(), b"after".to_vec())
                    .unwrap();
                assert_eq!(to.receiver.decrypt_frame(frame).unwrap().payload, b"after");
            }
        }
        let stray = a.handle(vec![2, 1, 0], a_store.clone()).unwrap();
        assert_eq!(stray.ignored.as_deref(), Some("malformed"));
        assert_eq!(a.state(), CallState::Encrypted);
        assert!(!a.rekey_due(0));
        assert!(!format!("{a:?}").is_empty());
    }

    #[cfg(feature = "conformance")]
    #[test]
    fn scripted_randomness_too_short_is_entropy() {
        let identity = Arc::new(IdentityKeyPair::from_bytes(vec![9; 32]).unwrap());
        assert!(matches!(
            initiate_call_scripted(
                identity,
                "alice".into(),
                peer("bob"),
                CallConfig::default(),
                vec![0; 111]
            ),
            Err(CallsealError::Entropy(_))
        ));
    }
}
