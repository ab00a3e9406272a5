//! `IdentityKeyPair`, `IdentityStore` and `CallSession`: the 1:1 call
//! handshake, its security code and its media keys.

use callseal_core::call::{CallSession as CoreSession, CallState, Indicator};
use callseal_core::identity::PeerStatus;
use callseal_core::identity::{
    Entropy, IdentityKeyPair as CoreIdentity, MemoryIdentityStore, OsEntropy, ScriptedEntropy,
};
use wasm_bindgen::JsValue;
use wasm_bindgen::prelude::wasm_bindgen;

use crate::convert;
use crate::error::{Failure, guard};
use crate::media::{MediaReceiver, MediaSender};

#[wasm_bindgen(typescript_custom_section)]
const CALL_TYPES: &'static str = r#"
/** A new session and the first message it sends. */
export interface CallStart {
  session: CallSession;
  /** The message to send to the peer (Commit or Response). */
  message: Uint8Array;
}

/** The media keys of an established call. */
export interface CallMedia {
  /** Encrypts this side's frames; `ratchet()` rekeys. */
  sender: MediaSender;
  /** Decrypts the peer's frames, following its ratchet. */
  receiver: MediaReceiver;
}

/** `negotiating`, `encrypted`, `verified` or `failed`. */
export type CallState = "negotiating" | "encrypted" | "verified" | "failed";
/** What the call UI shows next to the call. */
export type Indicator = "hidden" | "lock-and-shield" | "lock-and-shield-verified";
/** What the identity store said about the peer. */
export type PeerStatus = "new" | "known" | "known-verified" | "changed";
"#;

/// A long-term identity key pair (X25519). The secret leaves only through
/// `toBytes()`.
///
/// In JavaScript: `IdentityKeyPair.generate()`, `IdentityKeyPair.fromBytes(secret32)`,
/// `publicKey()`, `toBytes()`.
#[wasm_bindgen]
pub struct IdentityKeyPair {
    inner: CoreIdentity,
}

#[wasm_bindgen]
impl IdentityKeyPair {
    /// A new key pair from the platform's randomness.
    pub fn generate() -> Result<IdentityKeyPair, Failure> {
        guard(|| {
            Ok(Self {
                inner: CoreIdentity::generate()?,
            })
        })
    }

    /// The key pair of a 32-byte secret (as `toBytes()` returned it).
    #[wasm_bindgen(js_name = fromBytes)]
    pub fn from_bytes(secret: &[u8]) -> Result<IdentityKeyPair, Failure> {
        guard(|| {
            let secret: [u8; 32] = secret
                .try_into()
                .map_err(|_| Failure::invalid("an identity secret is 32 bytes"))?;
            Ok(Self {
                inner: CoreIdentity::from_bytes(secret),
            })
        })
    }

    /// The 32-byte public key.
    #[wasm_bindgen(js_name = publicKey)]
    pub fn public_key(&self) -> Vec<u8> {
        self.inner.public_key().to_vec()
    }

    /// The 32-byte secret, to store it (keep it secret).
    #[wasm_bindgen(js_name = toBytes)]
    pub fn to_bytes(&self) -> Vec<u8> {
        self.inner.to_bytes().to_vec()
    }
}

/// What the app remembers about peers' identity keys (key continuity).
///
/// In JavaScript: `IdentityStore.memory()`.
#[wasm_bindgen]
pub struct IdentityStore {
    inner: MemoryIdentityStore,
}

#[wasm_bindgen]
impl IdentityStore {
    /// An empty store in memory.
    pub fn memory() -> IdentityStore {
        Self {
            inner: MemoryIdentityStore::new(),
        }
    }
}

/// One side of a 1:1 call handshake.
///
/// In JavaScript: `CallSession.initiate(identity, uid, suite)` and
/// `CallSession.respond(identity, uid, commit)` return `{ session, message }`;
/// then `handle(message, store)` for each message received, `state`,
/// `indicator`, `securityCode`, `peerStatus`, `peerUid`,
/// `markVerified(store)`, `takeMedia()`.
#[wasm_bindgen]
pub struct CallSession {
    inner: CoreSession,
}

fn start(result: (CoreSession, Vec<u8>)) -> Result<JsValue, Failure> {
    let (inner, message) = result;
    convert::object(&[
        ("session", CallSession { inner }.into()),
        (
            "message",
            js_sys::Uint8Array::from(message.as_slice()).into(),
        ),
    ])
}

#[wasm_bindgen]
impl CallSession {
    /// Starts a call as initiator.
    #[wasm_bindgen(unchecked_return_type = "CallStart")]
    pub fn initiate(identity: &IdentityKeyPair, uid: &str, suite: u32) -> Result<JsValue, Failure> {
        guard(|| Self::initiate_with(identity, uid, suite, &mut OsEntropy))
    }

    /// Answers a received Commit as responder.
    #[wasm_bindgen(unchecked_return_type = "CallStart")]
    pub fn respond(
        identity: &IdentityKeyPair,
        uid: &str,
        commit: &[u8],
    ) -> Result<JsValue, Failure> {
        guard(|| Self::respond_with(identity, uid, commit, &mut OsEntropy))
    }

    /// `initiate` with fixed randomness (48 bytes: session id, ephemeral
    /// key) — for conformance files only, never for a real call.
    #[wasm_bindgen(js_name = initiateScripted, unchecked_return_type = "CallStart")]
    pub fn initiate_scripted(
        identity: &IdentityKeyPair,
        uid: &str,
        suite: u32,
        entropy: &[u8],
    ) -> Result<JsValue, Failure> {
        guard(|| {
            let mut entropy = ScriptedEntropy::new(entropy.to_vec());
            Self::initiate_with(identity, uid, suite, &mut entropy)
        })
    }

    /// `respond` with fixed randomness (32 bytes: ephemeral key) — for
    /// conformance files only, never for a real call.
    #[wasm_bindgen(js_name = respondScripted, unchecked_return_type = "CallStart")]
    pub fn respond_scripted(
        identity: &IdentityKeyPair,
        uid: &str,
        commit: &[u8],
        entropy: &[u8],
    ) -> Result<JsValue, Failure> {
        guard(|| {
            let mut entropy = ScriptedEntropy::new(entropy.to_vec());
            Self::respond_with(identity, uid, commit, &mut entropy)
        })
    }

    /// Whether call `feature` (kebab-case) may run: a session is end-to-end
    /// encrypted, so the gated features throw `feature-unavailable`.
    #[wasm_bindgen(js_name = checkFeature)]
    pub fn check_feature(&self, feature: &str) -> Result<(), Failure> {
        guard(|| {
            let feature: callseal_core::policy::CallFeature = feature.parse()?;
            Ok(self.inner.check_feature(feature)?)
        })
    }

    /// Processes one received message; returns the message to send, or
    /// `null`. Any error fails the session for good.
    #[wasm_bindgen(unchecked_return_type = "Uint8Array | null")]
    pub fn handle(
        &mut self,
        message: &[u8],
        store: &mut IdentityStore,
    ) -> Result<JsValue, Failure> {
        guard(|| {
            let reply = self.inner.handle(message, &mut store.inner)?;
            Ok(convert::or_null(
                reply.map(|r| js_sys::Uint8Array::from(r.as_slice())),
            ))
        })
    }

    /// `negotiating`, `encrypted`, `verified` or `failed`.
    #[wasm_bindgen(getter, unchecked_return_type = "CallState")]
    pub fn state(&self) -> String {
        match self.inner.state() {
            CallState::Negotiating => "negotiating",
            CallState::Encrypted => "encrypted",
            CallState::Verified => "verified",
            CallState::Failed => "failed",
        }
        .to_owned()
    }

    /// `hidden`, `lock-and-shield` or `lock-and-shield-verified`.
    #[wasm_bindgen(getter, unchecked_return_type = "Indicator")]
    pub fn indicator(&self) -> String {
        match self.inner.indicator() {
            Indicator::Hidden => "hidden",
            Indicator::LockAndShield => "lock-and-shield",
            Indicator::LockAndShieldVerified => "lock-and-shield-verified",
        }
        .to_owned()
    }

    /// The 20-digit code both sides show (`"12345 67890 12345 67890"`),
    /// once established; else `null`.
    #[wasm_bindgen(getter = securityCode, unchecked_return_type = "string | null")]
    pub fn security_code(&self) -> JsValue {
        convert::or_null(self.inner.security_code().map(|c| c.to_string()))
    }

    /// `new`, `known`, `known-verified` or `changed` once established; else
    /// `null`.
    #[wasm_bindgen(getter = peerStatus, unchecked_return_type = "PeerStatus | null")]
    pub fn peer_status(&self) -> JsValue {
        convert::or_null(self.inner.peer_status().map(|s| match s {
            PeerStatus::New => "new",
            PeerStatus::Known { verified: false } => "known",
            PeerStatus::Known { verified: true } => "known-verified",
            PeerStatus::Changed => "changed",
        }))
    }

    /// The peer's user id once known (authenticated once established);
    /// else `null`.
    #[wasm_bindgen(getter = peerUid, unchecked_return_type = "string | null")]
    pub fn peer_uid(&self) -> JsValue {
        convert::or_null(self.inner.peer_uid())
    }

    /// Records that the users compared the codes and they matched.
    #[wasm_bindgen(js_name = markVerified)]
    pub fn mark_verified(&mut self, store: &mut IdentityStore) -> Result<(), Failure> {
        guard(|| Ok(self.inner.mark_verified(&mut store.inner)?))
    }

    /// Moves the media keys out (once): `{ sender, receiver }`.
    #[wasm_bindgen(js_name = takeMedia, unchecked_return_type = "CallMedia")]
    pub fn take_media(&mut self) -> Result<JsValue, Failure> {
        guard(|| {
            let (sender, receiver) = self.inner.take_media()?;
            convert::object(&[
                ("sender", MediaSender::from_sender(sender).into()),
                ("receiver", MediaReceiver::from_receiver(receiver).into()),
            ])
        })
    }
}

impl CallSession {
    fn initiate_with(
        identity: &IdentityKeyPair,
        uid: &str,
        suite: u32,
        entropy: &mut dyn Entropy,
    ) -> Result<JsValue, Failure> {
        let suite = convert::suite(suite)?;
        start(CoreSession::initiate(&identity.inner, uid, suite, entropy)?)
    }

    fn respond_with(
        identity: &IdentityKeyPair,
        uid: &str,
        commit: &[u8],
        entropy: &mut dyn Entropy,
    ) -> Result<JsValue, Failure> {
        start(CoreSession::respond(&identity.inner, uid, commit, entropy)?)
    }

    /// `initiate` under a policy decision (the core refuses what it forbids).
    pub(crate) fn initiate_under(
        decision: &callseal_core::policy::CallDecision,
        identity: &IdentityKeyPair,
        uid: &str,
        suite: u32,
        entropy: &mut dyn Entropy,
    ) -> Result<JsValue, Failure> {
        let suite = convert::suite(suite)?;
        start(CoreSession::initiate_with_policy(
            decision,
            &identity.inner,
            uid,
            suite,
            entropy,
        )?)
    }

    /// `respond` under a policy decision (the core refuses what it forbids).
    pub(crate) fn respond_under(
        decision: &callseal_core::policy::CallDecision,
        identity: &IdentityKeyPair,
        uid: &str,
        commit: &[u8],
        entropy: &mut dyn Entropy,
    ) -> Result<JsValue, Failure> {
        start(CoreSession::respond_with_policy(
            decision,
            &identity.inner,
            uid,
            commit,
            entropy,
        )?)
    }
}
