//! 1:1 calls: identity keys, identity stores and the handshake session.

use std::sync::{Arc, Mutex};

use callseal_core::call as core_call;
use callseal_core::identity::{
    self as core_identity, FileIdentityStore, MemoryIdentityStore, OsEntropy, ScriptedEntropy,
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
    pub fn to_bytes(&self) -> Vec<u8> {
        self.inner.to_bytes().to_vec()
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

/// A started call: the session and the message to send to the peer.
///
/// ```
/// use callseal_ffi::{IdentityKeyPair, initiate_call};
///
/// let start = initiate_call(IdentityKeyPair::generate()?.into(), "alice".into(), 4)?;
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
    /// Encrypts this side's media; ratchet it to rekey.
    pub sender: Arc<MediaSender>,
    /// Decrypts the peer's media, following its ratchet.
    pub receiver: Arc<MediaReceiver>,
}

/// One side of a 1:1 call handshake (docs/PROTOCOL.md §3): hand it every
/// message from the peer, send what it returns.
///
/// ```
/// use std::sync::Arc;
/// use callseal_ffi::{CallState, IdentityKeyPair, IdentityStore, initiate_call, respond_to_call};
///
/// let (alice_store, bob_store) = (Arc::new(IdentityStore::memory()), Arc::new(IdentityStore::memory()));
/// let alice = initiate_call(IdentityKeyPair::generate()?.into(), "alice".into(), 4)?;
/// let bob = respond_to_call(IdentityKeyPair::generate()?.into(), "bob".into(), alice.message)?;
/// let reveal = alice.session.handle(bob.message, alice_store.clone())?.unwrap_or_default();
/// let confirm = bob.session.handle(reveal, bob_store)?.unwrap_or_default();
/// assert_eq!(alice.session.handle(confirm, alice_store)?, None);
/// assert_eq!(alice.session.state(), CallState::Encrypted);
/// assert_eq!(alice.session.security_code(), bob.session.security_code());
///
/// let (a, b) = (alice.session.take_media()?, bob.session.take_media()?);
/// let frame = a.sender.encrypt_frame("generic".into(), b"hi".to_vec())?;
/// assert_eq!(b.receiver.decrypt_frame(frame)?.payload, b"hi");
/// # Ok::<(), callseal_ffi::CallsealError>(())
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

/// Starts a call as initiator: returns the session and the Commit to send.
///
/// # Errors
/// `InvalidArgument` for a bad uid (1–255 bytes) or suite; `Entropy`.
#[uniffi::export]
pub fn initiate_call(
    identity: Arc<IdentityKeyPair>,
    uid: String,
    suite: u16,
) -> Result<CallStart, CallsealError> {
    guard(|| {
        start(core_call::CallSession::initiate(
            &identity.inner,
            &uid,
            self::suite(suite)?,
            &mut OsEntropy,
        ))
    })
}

/// Answers a received Commit as responder: returns the session and the
/// Response to send.
///
/// # Errors
/// `Malformed`, `ProtocolViolation` (not a Commit), `InvalidArgument`,
/// `Entropy`.
#[uniffi::export]
pub fn respond_to_call(
    identity: Arc<IdentityKeyPair>,
    uid: String,
    commit: Vec<u8>,
) -> Result<CallStart, CallsealError> {
    guard(|| {
        start(core_call::CallSession::respond(
            &identity.inner,
            &uid,
            &commit,
            &mut OsEntropy,
        ))
    })
}

/// [`initiate_call`] with fixed randomness (48 bytes: session id, then
/// ephemeral secret). For conformance tests only: whoever knows `entropy`
/// knows the call's keys.
///
/// # Errors
/// As [`initiate_call`]; `Entropy` if `entropy` is too short.
#[uniffi::export]
pub fn initiate_call_scripted(
    identity: Arc<IdentityKeyPair>,
    uid: String,
    suite: u16,
    entropy: Vec<u8>,
) -> Result<CallStart, CallsealError> {
    guard(|| {
        start(core_call::CallSession::initiate(
            &identity.inner,
            &uid,
            self::suite(suite)?,
            &mut ScriptedEntropy::new(entropy),
        ))
    })
}

/// [`respond_to_call`] with fixed randomness (32 bytes: the ephemeral
/// secret). For conformance tests only.
///
/// # Errors
/// As [`respond_to_call`]; `Entropy` if `entropy` is too short.
#[uniffi::export]
pub fn respond_to_call_scripted(
    identity: Arc<IdentityKeyPair>,
    uid: String,
    commit: Vec<u8>,
    entropy: Vec<u8>,
) -> Result<CallStart, CallsealError> {
    guard(|| {
        start(core_call::CallSession::respond(
            &identity.inner,
            &uid,
            &commit,
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

    /// Processes one message from the peer; returns the message to send,
    /// if any. Once established, the peer's identity is looked up in (and
    /// recorded into) `store`.
    ///
    /// # Errors
    /// Any error fails the session for good: `Malformed`,
    /// `AuthenticationFailed`, `ProtocolViolation`, `Storage`.
    pub fn handle(
        &self,
        message: Vec<u8>,
        store: Arc<IdentityStore>,
    ) -> Result<Option<Vec<u8>>, CallsealError> {
        guard(|| {
            let mut session = lock(&self.inner)?;
            let mut store = lock(&store.inner)?;
            Ok(session.handle(&message, store.as_dyn())?)
        })
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

    /// The peer's user id, once known (authenticated once established).
    pub fn peer_uid(&self) -> Option<String> {
        guard(|| Ok(lock(&self.inner)?.peer_uid().map(str::to_owned)))
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

    /// Moves the media keys out (once): this side's sender and a receiver
    /// for the peer's frames, both ratcheting.
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
        objects_are_send_and_sync::<MediaSender>();
        objects_are_send_and_sync::<MediaReceiver>();
        objects_are_send_and_sync::<crate::FrameSender>();
        objects_are_send_and_sync::<crate::FrameReceiver>();
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
        let start = initiate_call(identity.clone(), "alice".into(), 4).unwrap();
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
            IdentityKeyPair::from_bytes(vec![1; 31]),
            Err(CallsealError::InvalidArgument(_))
        ));
        assert!(matches!(
            initiate_call_scripted(identity, "alice".into(), 4, vec![0; 47]),
            Err(CallsealError::Entropy(_))
        ));
    }
}
