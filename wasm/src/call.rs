//! `IdentityKeyPair`, `IdentityStore`, `CallSession` and `MediaUpdate`: the
//! 1:1 call (PROTOCOL.md §3, version 2): the handshake with its intended
//! peer, the security code, the media keys and the in-call rekeys.

use callseal_core::ErrorKind;
use callseal_core::call::{
    CallConfig, CallSession as CoreSession, CallState as CoreState, ExpectedPeer,
    Handled as CoreHandled, Indicator as CoreIndicator, MediaUpdate as CoreUpdate,
};
use callseal_core::identity::PeerStatus as CorePeerStatus;
use callseal_core::identity::{
    Entropy, IdentityKeyPair as CoreIdentity, IdentityStore as _, MemoryIdentityStore, OsEntropy,
    StoredIdentity,
};
use callseal_core::policy::CallDecision;
use serde::Serialize;
use tsify::Tsify;
use wasm_bindgen::prelude::wasm_bindgen;
use wasm_bindgen::{JsCast, JsValue};

use crate::convert::{self, Options};
use crate::error::{Failure, guard};
use crate::media::{MediaReceiver, MediaSender};

// The options objects are read by hand (`convert::Options`: unknown names
// refused, numbers or bigints, 32-byte keys checked one by one), not
// deserialized, so no struct builds them: they stay declared here, and
// wasm/test/node/types.test.mjs checks that they name exactly the options
// `initiate` and `respond` accept. `Ignored` is declared here too: the
// core's enum is `#[non_exhaustive]`, so no mirror enum here could match it
// exhaustively; its values are the core's `as_str()` names. Everything else
// callseal returns is declared from the structs and enums below.
#[wasm_bindgen(typescript_custom_section)]
const CALL_TYPES: &'static str = r#"
/** The caller's settings (`CallSession.initiate`). */
export interface CallOptions {
  /** The SFrame suite of the call's media, 1–8 (default 4, AES-128-GCM). */
  suite?: number;
  /** Allow the 32-bit-tag suites 3 and 8 (default false: `invalid-argument`). */
  allowShortTags?: boolean;
  /** How long an epoch lasts before `rekeyDue` says so, in ms (default 600000; 0: never). */
  rekeyEveryMs?: number;
  /** The callee's 32-byte identity public key, if known: anyone else answering is refused (`wrong-peer`). */
  peerIdentity?: Uint8Array;
}

/** The callee's settings (`CallSession.respond`); the suite is the Commit's. */
export interface RespondOptions {
  /** Allow a Commit with a 32-bit-tag suite (3, 8); default false: `invalid-argument`. */
  allowShortTags?: boolean;
  /** How long an epoch lasts before `rekeyDue` says so, in ms (default 600000; 0: never). */
  rekeyEveryMs?: number;
  /** The caller the app expects: a Commit from anyone else is refused (`wrong-peer`). */
  expectedPeerUid?: string;
  /** The expected caller's 32-byte identity public key (needs `expectedPeerUid`). */
  expectedPeerIdentity?: Uint8Array;
}

/**
 * Why `handle` changed nothing: a message of another session, a repeat (its
 * earlier reply comes again), a handshake message after the handshake, a
 * malformed message, a rekey message with a bad MAC or a stale epoch, or the
 * responder's rekey offer that crossed the initiator's.
 */
export type Ignored =
  | "other-session"
  | "repeat"
  | "handshake"
  | "malformed"
  | "bad-mac"
  | "stale"
  | "rekey-collision";
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

    /// The 32-byte secret, to store it (keep it secret). The returned
    /// `Uint8Array` is a copy made from a buffer that callseal wipes on
    /// return: it is the caller's to wipe (`secret.fill(0)`) once stored.
    #[wasm_bindgen(js_name = toBytes)]
    pub fn to_bytes(&self) -> js_sys::Uint8Array {
        js_sys::Uint8Array::from(&self.inner.to_bytes()[..])
    }
}

/// What the app remembers about peers' identity keys (key continuity).
///
/// In JavaScript: `IdentityStore.memory()`; persist `JSON.stringify(store)`
/// (or `store.toJSON()`, an object `{ peerUid: { key, verified } }`) and
/// restore with `IdentityStore.fromJSON(textOrObject)`.
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

    /// The store as a plain object, `{ "peer uid": { key: "<64 hex>",
    /// verified: boolean } }` (what `JSON.stringify(store)` writes: the
    /// core's `MemoryIdentityStore::to_json` form).
    #[wasm_bindgen(js_name = toJSON, unchecked_return_type = "Record<string, { key: string; verified: boolean }>")]
    pub fn to_json(&self) -> Result<JsValue, Failure> {
        // Built as JavaScript objects rather than through serde_json, which
        // would add kilobytes to this module for one use. The peers go in
        // through `Object.fromEntries`, which defines own members: a peer
        // whose id is `__proto__` stays a peer (an assignment would set the
        // object's prototype instead, and the peer would vanish).
        let pairs = js_sys::Array::new();
        for (peer, entry) in self.inner.iter() {
            let item = js_sys::Object::new();
            set(&item, "key", &JsValue::from_str(&entry.key_hex()))?;
            set(&item, "verified", &JsValue::from_bool(entry.verified))?;
            pairs.push(&js_sys::Array::of2(&JsValue::from_str(peer), &item));
        }
        js_sys::Object::from_entries(&pairs)
            .map(JsValue::from)
            .map_err(|_| Failure::new(ErrorKind::Internal, "could not build the store object"))
    }

    /// A store from `toJSON()`'s object or its JSON text: every member a
    /// peer, each `{ key, verified }` and nothing else, the key 64 hex
    /// digits. Anything else refuses the whole store (code `storage`). In
    /// text, a peer named twice is refused too (the core's rule for store
    /// files), not left to the last one.
    #[wasm_bindgen(js_name = fromJSON)]
    pub fn from_json(
        #[wasm_bindgen(
            unchecked_param_type = "string | Record<string, { key: string; verified: boolean }>"
        )]
        json: JsValue,
    ) -> Result<IdentityStore, Failure> {
        guard(|| {
            let corrupt = |why: &str| {
                Failure::new(
                    ErrorKind::Storage,
                    format!("identity store is corrupt: {why}"),
                )
            };
            let value = match json.as_string() {
                Some(text) => {
                    callseal_core::identity::check_store_text(&text)?;
                    js_sys::JSON::parse(&text).map_err(|_| corrupt("not JSON"))?
                }
                None => json,
            };
            if !value.is_object() || js_sys::Array::is_array(&value) {
                return Err(corrupt("not an object of peers"));
            }
            let mut inner = MemoryIdentityStore::new();
            for pair in js_sys::Object::entries(value.unchecked_ref::<js_sys::Object>()).iter() {
                let pair: js_sys::Array = pair.unchecked_into();
                let peer = pair
                    .get(0)
                    .as_string()
                    .ok_or_else(|| corrupt("a peer id is not a string"))?;
                let item = pair.get(1);
                let fields = if item.is_object() && !js_sys::Array::is_array(&item) {
                    js_sys::Object::keys(item.unchecked_ref::<js_sys::Object>()).length()
                } else {
                    0
                };
                let key = js_sys::Reflect::get(&item, &JsValue::from_str("key"))
                    .ok()
                    .and_then(|k| k.as_string());
                let verified = js_sys::Reflect::get(&item, &JsValue::from_str("verified"))
                    .ok()
                    .and_then(|v| v.as_bool());
                let (Some(key), Some(verified), 2) = (key, verified, fields) else {
                    return Err(corrupt(
                        "an entry is not exactly { key: string, verified: boolean }",
                    ));
                };
                inner.put(&peer, StoredIdentity::from_hex(&key, verified)?)?;
            }
            Ok(Self { inner })
        })
    }
}

/// `object[name] = value`.
fn set(object: &js_sys::Object, name: &str, value: &JsValue) -> Result<(), Failure> {
    js_sys::Reflect::set(object, &JsValue::from_str(name), value)
        .map(|_| ())
        .map_err(|_| Failure::new(ErrorKind::Internal, "could not build the store object"))
}

/// One side of a 1:1 call: the handshake, then the in-call rekeys.
///
/// In JavaScript: `CallSession.initiate(identity, uid, peerUid, options?)`
/// and `CallSession.respond(identity, uid, commit, options?)` return
/// `{ session, message }`; then `handle(message, store)` for each message
/// received (`{ reply, media, ignored }`), `rekey()`, `rekeyDue(nowMs)`,
/// `epoch`, `rekeyPending`, `state`, `indicator`, `securityCode`,
/// `peerStatus`, `peerUid`, `peerIdentity`, `markVerified(store)`,
/// `takeMedia()`, `checkFeature(feature)`.
#[wasm_bindgen]
pub struct CallSession {
    inner: CoreSession,
}

/// New media keys from a rekey step, for the `MediaSender` and
/// `MediaReceiver` of this call's `takeMedia()`.
///
/// Apply every update `handle` returns, in order: `apply(sender, receiver)`,
/// or `applyToSender(sender)` and `applyToReceiver(receiver)` where they are
/// used apart. Each half applies once; applying it again does nothing. The
/// keys stay inside WebAssembly, and are wiped once applied (or on `free()`).
///
/// In JavaScript: `apply(sender, receiver)`, `applyToSender(sender)`,
/// `applyToReceiver(receiver)`, `epoch`, `changesSender`, `changesReceiver`.
#[wasm_bindgen]
pub struct MediaUpdate {
    inner: CoreUpdate,
}

#[wasm_bindgen]
impl MediaUpdate {
    /// Applies both halves: the receiver follows the peer's new keys (and
    /// forgets the older ones the peer no longer sends under), the sender
    /// switches to this side's new keys, if the update does.
    pub fn apply(
        &mut self,
        sender: &mut MediaSender,
        receiver: &mut MediaReceiver,
    ) -> Result<(), Failure> {
        guard(|| {
            self.inner.apply_to_receiver(receiver.core_mut())?;
            Ok(self.inner.apply_to_sender(sender.core_mut())?)
        })
    }

    /// Switches `sender` to the new epoch's key, if the update does.
    #[wasm_bindgen(js_name = applyToSender)]
    pub fn apply_to_sender(&mut self, sender: &mut MediaSender) -> Result<(), Failure> {
        guard(|| Ok(self.inner.apply_to_sender(sender.core_mut())?))
    }

    /// Makes `receiver` follow the peer's new key and forget the older ones
    /// the peer no longer sends under, if the update does.
    #[wasm_bindgen(js_name = applyToReceiver)]
    pub fn apply_to_receiver(&mut self, receiver: &mut MediaReceiver) -> Result<(), Failure> {
        guard(|| Ok(self.inner.apply_to_receiver(receiver.core_mut())?))
    }

    /// The epoch these keys belong to.
    #[wasm_bindgen(getter)]
    pub fn epoch(&self) -> u32 {
        self.inner.epoch()
    }

    /// Whether the update (still) switches the sender.
    #[wasm_bindgen(getter = changesSender)]
    pub fn changes_sender(&self) -> bool {
        self.inner.changes_sender()
    }

    /// Whether the update (still) changes the receiver.
    #[wasm_bindgen(getter = changesReceiver)]
    pub fn changes_receiver(&self) -> bool {
        self.inner.changes_receiver()
    }
}

/// The option names of `initiate` and `respond`.
const INITIATE_OPTIONS: &[&str] = &["suite", "allowShortTags", "rekeyEveryMs", "peerIdentity"];
const RESPOND_OPTIONS: &[&str] = &[
    "allowShortTags",
    "rekeyEveryMs",
    "expectedPeerUid",
    "expectedPeerIdentity",
];

/// The settings shared by both sides.
fn config(options: &Options) -> Result<CallConfig, Failure> {
    let mut config = CallConfig::default();
    if let Some(allow) = options.bool("allowShortTags")? {
        config.allow_short_tags = allow;
    }
    if let Some(ms) = options.u64("rekeyEveryMs")? {
        config.rekey_every_ms = ms;
    }
    Ok(config)
}

/// The initiator's expected peer and settings.
pub(crate) fn initiation(
    peer_uid: &str,
    options: &JsValue,
) -> Result<(ExpectedPeer, CallConfig), Failure> {
    let options = Options::new(options, INITIATE_OPTIONS)?;
    let mut config = config(&options)?;
    if let Some(suite) = options.u64("suite")? {
        let suite = u32::try_from(suite).map_err(|_| Failure::invalid("unknown cipher suite"))?;
        config.suite = convert::suite(suite)?;
    }
    let mut peer = ExpectedPeer::new(peer_uid)?;
    if let Some(key) = options.key32("peerIdentity")? {
        peer = peer.with_identity(key);
    }
    Ok((peer, config))
}

/// The responder's expected caller (if any) and settings. `default_uid` is
/// the caller a policy decision was made for: then `expectedPeerUid`, if
/// given, must be it.
pub(crate) fn response(
    options: &JsValue,
    default_uid: Option<&str>,
) -> Result<(Option<ExpectedPeer>, CallConfig), Failure> {
    let options = Options::new(options, RESPOND_OPTIONS)?;
    let config = config(&options)?;
    let key = options.key32("expectedPeerIdentity")?;
    let uid = match (options.string("expectedPeerUid")?, default_uid) {
        (Some(uid), Some(default)) if uid != default => {
            return Err(Failure::invalid(
                "options.expectedPeerUid differs from peerUid",
            ));
        }
        (uid, default) => uid.or(default.map(str::to_owned)),
    };
    let expected = match (uid, key) {
        (Some(uid), key) => {
            let peer = ExpectedPeer::new(&uid)?;
            Some(match key {
                Some(key) => peer.with_identity(key),
                None => peer,
            })
        }
        (None, Some(_)) => {
            return Err(Failure::invalid(
                "expectedPeerIdentity needs expectedPeerUid",
            ));
        }
        (None, None) => None,
    };
    Ok((expected, config))
}

/// `negotiating`, `encrypted`, `verified` or `failed`.
#[derive(Clone, Copy, Serialize, Tsify)]
#[serde(rename_all = "kebab-case")]
enum CallState {
    Negotiating,
    Encrypted,
    Verified,
    Failed,
}

impl From<CoreState> for CallState {
    fn from(s: CoreState) -> Self {
        match s {
            CoreState::Negotiating => Self::Negotiating,
            CoreState::Encrypted => Self::Encrypted,
            CoreState::Verified => Self::Verified,
            CoreState::Failed => Self::Failed,
        }
    }
}

/// What the call UI shows next to the call.
#[derive(Clone, Copy, Serialize, Tsify)]
#[serde(rename_all = "kebab-case")]
enum Indicator {
    Hidden,
    LockAndShield,
    LockAndShieldVerified,
}

impl From<CoreIndicator> for Indicator {
    fn from(i: CoreIndicator) -> Self {
        match i {
            CoreIndicator::Hidden => Self::Hidden,
            CoreIndicator::LockAndShield => Self::LockAndShield,
            CoreIndicator::LockAndShieldVerified => Self::LockAndShieldVerified,
        }
    }
}

/// What the identity store said about the peer.
#[derive(Clone, Copy, Serialize, Tsify)]
#[serde(rename_all = "kebab-case")]
pub(crate) enum PeerStatus {
    New,
    Known,
    KnownVerified,
    Changed,
}

impl From<CorePeerStatus> for PeerStatus {
    fn from(s: CorePeerStatus) -> Self {
        match s {
            CorePeerStatus::New => Self::New,
            CorePeerStatus::Known { verified: false } => Self::Known,
            CorePeerStatus::Known { verified: true } => Self::KnownVerified,
            CorePeerStatus::Changed => Self::Changed,
        }
    }
}

/// A new session and the first message it sends.
#[derive(Serialize, Tsify)]
#[serde(rename_all = "camelCase")]
#[tsify(missing_as_null, large_number_types_as_bigints)]
struct CallStart {
    /// The session.
    #[serde(with = "serde_wasm_bindgen::preserve")]
    #[tsify(type = "CallSession")]
    session: JsValue,
    /// The message to send to the peer (Commit or Response).
    #[serde(with = "serde_wasm_bindgen::preserve")]
    #[tsify(type = "Uint8Array")]
    message: JsValue,
}

/// What `CallSession.handle` gave for one received message.
#[derive(Serialize, Tsify)]
#[serde(rename_all = "camelCase")]
#[tsify(missing_as_null, large_number_types_as_bigints)]
struct Handled {
    /// The message to send to the peer, or null.
    #[serde(with = "serde_wasm_bindgen::preserve")]
    #[tsify(type = "Uint8Array | null")]
    reply: JsValue,
    /// New media keys to apply to this call's sender and receiver (in order), or null.
    #[serde(with = "serde_wasm_bindgen::preserve")]
    #[tsify(type = "MediaUpdate | null")]
    media: JsValue,
    /// Why the message changed nothing, or null.
    #[tsify(type = "Ignored | null")]
    ignored: Option<&'static str>,
}

/// The media keys of an established call.
#[derive(Serialize, Tsify)]
#[serde(rename_all = "camelCase")]
#[tsify(missing_as_null, large_number_types_as_bigints)]
struct CallMedia {
    /// Encrypts this side's frames; `ratchet()` rekeys.
    #[serde(with = "serde_wasm_bindgen::preserve")]
    #[tsify(type = "MediaSender")]
    sender: JsValue,
    /// Decrypts the peer's frames, following its ratchet.
    #[serde(with = "serde_wasm_bindgen::preserve")]
    #[tsify(type = "MediaReceiver")]
    receiver: JsValue,
}

fn start(result: (CoreSession, Vec<u8>)) -> Result<JsValue, Failure> {
    let (inner, message) = result;
    convert::to_js(&CallStart {
        session: CallSession { inner }.into(),
        message: convert::bytes(&message),
    })
}

/// `{ reply, media, ignored }` with nulls.
fn handled(handled: CoreHandled) -> Result<JsValue, Failure> {
    convert::to_js(&Handled {
        reply: convert::or_null(handled.reply.as_deref().map(convert::bytes)),
        media: convert::or_null(handled.media.map(|inner| MediaUpdate { inner })),
        ignored: handled.ignored.map(|i| i.as_str()),
    })
}

#[wasm_bindgen]
impl CallSession {
    /// Calls `peerUid` as initiator: returns the session and the Commit to
    /// send. A Response from anyone but `peerUid` (or, with
    /// `options.peerIdentity`, from another key) fails with `wrong-peer`.
    #[wasm_bindgen(unchecked_return_type = "CallStart")]
    pub fn initiate(
        identity: &IdentityKeyPair,
        #[wasm_bindgen(unchecked_param_type = "string")] uid: JsValue,
        #[wasm_bindgen(js_name = peerUid, unchecked_param_type = "string")] peer_uid: JsValue,
        #[wasm_bindgen(unchecked_optional_param_type = "CallOptions")] options: JsValue,
    ) -> Result<JsValue, Failure> {
        guard(|| Self::initiate_with(identity, &uid, &peer_uid, &options, &mut OsEntropy))
    }

    /// Answers a received Commit as responder `uid`: returns the session and
    /// the Response to send. A Commit addressed to another user, or (with
    /// `options.expectedPeerUid`) from another caller, fails with
    /// `wrong-peer`. The media suite is the Commit's.
    #[wasm_bindgen(unchecked_return_type = "CallStart")]
    pub fn respond(
        identity: &IdentityKeyPair,
        #[wasm_bindgen(unchecked_param_type = "string")] uid: JsValue,
        commit: &[u8],
        #[wasm_bindgen(unchecked_optional_param_type = "RespondOptions")] options: JsValue,
    ) -> Result<JsValue, Failure> {
        guard(|| Self::respond_with(identity, &uid, commit, &options, &mut OsEntropy))
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

    /// Processes one received message: `{ reply, media, ignored }`. Send
    /// `reply`, apply `media` to this call's sender and receiver, and
    /// `ignored` says why nothing changed. While negotiating, an error fails
    /// the session for good; once established, nothing received fails it.
    #[wasm_bindgen(unchecked_return_type = "Handled")]
    pub fn handle(
        &mut self,
        message: &[u8],
        store: &mut IdentityStore,
    ) -> Result<JsValue, Failure> {
        guard(|| handled(self.inner.handle(message, &mut store.inner)?))
    }

    /// Starts an in-call rekey: returns the RekeyOffer to send. While the
    /// offer is unanswered it returns the same bytes again (to resend).
    /// Call it when `rekeyDue(nowMs)` says so, on demand, or when a receiver
    /// fell too far behind the sender's ratchet. `protocol-violation` before
    /// the call is established.
    pub fn rekey(&mut self) -> Result<Vec<u8>, Failure> {
        guard(|| Ok(self.inner.rekey()?))
    }

    /// Whether a periodic rekey is due at `nowMs` (any monotonic clock in
    /// milliseconds, e.g. `performance.now()`): `rekeyEveryMs` passed since
    /// the epoch began, as first observed by this method, and no offer of
    /// this side is pending.
    #[wasm_bindgen(js_name = rekeyDue)]
    pub fn rekey_due(
        &mut self,
        #[wasm_bindgen(js_name = nowMs, unchecked_param_type = "number | bigint")] now_ms: JsValue,
    ) -> Result<bool, Failure> {
        guard(|| Ok(self.inner.rekey_due(convert::millis(&now_ms, "nowMs")?)))
    }

    /// The current epoch: 0 after the handshake, `n` once rekey `n`
    /// completed on this side.
    #[wasm_bindgen(getter)]
    pub fn epoch(&self) -> u32 {
        self.inner.epoch()
    }

    /// Whether this side's rekey offer is waiting for its answer.
    #[wasm_bindgen(getter = rekeyPending)]
    pub fn rekey_pending(&self) -> bool {
        self.inner.rekey_pending()
    }

    /// `negotiating`, `encrypted`, `verified` or `failed`.
    #[wasm_bindgen(getter, unchecked_return_type = "CallState")]
    pub fn state(&self) -> Result<JsValue, Failure> {
        guard(|| convert::to_js(&CallState::from(self.inner.state())))
    }

    /// `hidden`, `lock-and-shield` or `lock-and-shield-verified`.
    #[wasm_bindgen(getter, unchecked_return_type = "Indicator")]
    pub fn indicator(&self) -> Result<JsValue, Failure> {
        guard(|| convert::to_js(&Indicator::from(self.inner.indicator())))
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
    pub fn peer_status(&self) -> Result<JsValue, Failure> {
        guard(|| convert::to_js(&self.inner.peer_status().map(PeerStatus::from)))
    }

    /// The peer's user id once known (authenticated once established, and
    /// then the one the app expected); else `null`.
    #[wasm_bindgen(getter = peerUid, unchecked_return_type = "string | null")]
    pub fn peer_uid(&self) -> JsValue {
        convert::or_null(self.inner.peer_uid())
    }

    /// The peer's 32-byte identity public key once known (authenticated
    /// once established: pass it as `peerIdentity` to pin the next call);
    /// else `null`.
    #[wasm_bindgen(getter = peerIdentity, unchecked_return_type = "Uint8Array | null")]
    pub fn peer_identity(&self) -> JsValue {
        convert::or_null(
            self.inner
                .peer_identity()
                .map(|k| js_sys::Uint8Array::from(&k[..])),
        )
    }

    /// Records that the users compared the codes and they matched.
    #[wasm_bindgen(js_name = markVerified)]
    pub fn mark_verified(&mut self, store: &mut IdentityStore) -> Result<(), Failure> {
        guard(|| Ok(self.inner.mark_verified(&mut store.inner)?))
    }

    /// Moves the media keys out (once): `{ sender, receiver }`, epoch 0.
    /// Apply each `MediaUpdate` of a later rekey to these two objects.
    #[wasm_bindgen(js_name = takeMedia, unchecked_return_type = "CallMedia")]
    pub fn take_media(&mut self) -> Result<JsValue, Failure> {
        guard(|| {
            let (sender, receiver) = self.inner.take_media()?;
            convert::to_js(&CallMedia {
                sender: MediaSender::from_sender(sender).into(),
                receiver: MediaReceiver::from_receiver(receiver).into(),
            })
        })
    }
}

/// Fixed-randomness variants, for replaying the conformance files only
/// (the Cargo feature `conformance`; never in the shipped package).
#[cfg(feature = "conformance")]
#[wasm_bindgen]
impl CallSession {
    /// `initiate` drawing its randomness from `entropy` (112 bytes:
    /// session id, X25519 ephemeral key, ML-KEM seed). Conformance only.
    #[wasm_bindgen(js_name = initiateScripted, unchecked_return_type = "CallStart")]
    pub fn initiate_scripted(
        identity: &IdentityKeyPair,
        #[wasm_bindgen(unchecked_param_type = "string")] uid: JsValue,
        #[wasm_bindgen(js_name = peerUid, unchecked_param_type = "string")] peer_uid: JsValue,
        #[wasm_bindgen(unchecked_param_type = "CallOptions | undefined | null")] options: JsValue,
        entropy: &[u8],
    ) -> Result<JsValue, Failure> {
        guard(|| {
            let mut entropy = scripted(entropy);
            Self::initiate_with(identity, &uid, &peer_uid, &options, &mut entropy)
        })
    }

    /// `respond` drawing its randomness from `entropy` (64 bytes: X25519
    /// ephemeral key, ML-KEM encapsulation). Conformance only.
    #[wasm_bindgen(js_name = respondScripted, unchecked_return_type = "CallStart")]
    pub fn respond_scripted(
        identity: &IdentityKeyPair,
        #[wasm_bindgen(unchecked_param_type = "string")] uid: JsValue,
        commit: &[u8],
        #[wasm_bindgen(unchecked_param_type = "RespondOptions | undefined | null")]
        options: JsValue,
        entropy: &[u8],
    ) -> Result<JsValue, Failure> {
        guard(|| {
            let mut entropy = scripted(entropy);
            Self::respond_with(identity, &uid, commit, &options, &mut entropy)
        })
    }

    /// `rekey` drawing its randomness from `entropy` (96 bytes: X25519
    /// ephemeral key, ML-KEM seed). Conformance only.
    #[wasm_bindgen(js_name = rekeyScripted)]
    pub fn rekey_scripted(&mut self, entropy: &[u8]) -> Result<Vec<u8>, Failure> {
        guard(|| Ok(self.inner.rekey_with(&mut scripted(entropy))?))
    }

    /// `handle` drawing the randomness of a RekeyAnswer from `entropy` (64
    /// bytes: X25519 ephemeral key, ML-KEM encapsulation). Conformance only.
    #[wasm_bindgen(js_name = handleScripted, unchecked_return_type = "Handled")]
    pub fn handle_scripted(
        &mut self,
        message: &[u8],
        store: &mut IdentityStore,
        entropy: &[u8],
    ) -> Result<JsValue, Failure> {
        guard(|| {
            handled(
                self.inner
                    .handle_with(message, &mut store.inner, &mut scripted(entropy))?,
            )
        })
    }
}

/// Fixed randomness (conformance only).
#[cfg(feature = "conformance")]
fn scripted(entropy: &[u8]) -> callseal_core::identity::ScriptedEntropy {
    callseal_core::identity::ScriptedEntropy::new(entropy.to_vec())
}

impl CallSession {
    fn initiate_with(
        identity: &IdentityKeyPair,
        uid: &JsValue,
        peer_uid: &JsValue,
        options: &JsValue,
        entropy: &mut dyn Entropy,
    ) -> Result<JsValue, Failure> {
        let uid = convert::string(uid, "uid")?;
        let (peer, config) = initiation(&convert::string(peer_uid, "peerUid")?, options)?;
        start(CoreSession::initiate(
            &identity.inner,
            &uid,
            &peer,
            &config,
            entropy,
        )?)
    }

    fn respond_with(
        identity: &IdentityKeyPair,
        uid: &JsValue,
        commit: &[u8],
        options: &JsValue,
        entropy: &mut dyn Entropy,
    ) -> Result<JsValue, Failure> {
        let uid = convert::string(uid, "uid")?;
        let (expected, config) = response(options, None)?;
        start(CoreSession::respond(
            &identity.inner,
            &uid,
            expected.as_ref(),
            commit,
            &config,
            entropy,
        )?)
    }

    /// `initiate` under a policy decision (the core refuses what it forbids).
    pub(crate) fn initiate_under(
        decision: &CallDecision,
        identity: &IdentityKeyPair,
        uid: &str,
        peer: &ExpectedPeer,
        config: &CallConfig,
    ) -> Result<JsValue, Failure> {
        start(CoreSession::initiate_with_policy(
            decision,
            &identity.inner,
            uid,
            peer,
            config,
            &mut OsEntropy,
        )?)
    }

    /// `respond` under a policy decision (the core refuses what it forbids).
    pub(crate) fn respond_under(
        decision: &CallDecision,
        identity: &IdentityKeyPair,
        uid: &str,
        expected: Option<&ExpectedPeer>,
        commit: &[u8],
        config: &CallConfig,
    ) -> Result<JsValue, Failure> {
        start(CoreSession::respond_with_policy(
            decision,
            &identity.inner,
            uid,
            expected,
            commit,
            config,
            &mut OsEntropy,
        )?)
    }
}
