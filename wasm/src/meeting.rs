//! `MeetingClient` and `MeetingSession`: end-to-end encrypted meetings over
//! MLS (PROTOCOL.md §4).

use callseal_core::meeting::{self as core_meeting, MeetingConfig, MeetingError};
use callseal_core::policy::{self as core_policy, PolicyError};
use wasm_bindgen::JsValue;
use wasm_bindgen::prelude::wasm_bindgen;

use crate::convert;
use crate::error::{Failure, guard};
use crate::policy::PolicyDocument;

impl From<MeetingError> for Failure {
    fn from(err: MeetingError) -> Self {
        Self::new(err.kind(), err.to_string())
    }
}

#[wasm_bindgen(typescript_custom_section)]
const MEETING_TYPES: &'static str = r#"
/** The messages a commit produces: the commit for the server, and a Welcome for the member added. */
export interface CommitMessages {
  commit: Uint8Array;
  welcome: Uint8Array | null;
}

/** A decrypted meeting frame. */
export interface MeetingFrame {
  sender: number;
  codec: string;
  payload: Uint8Array;
}

/** What a commit changed. */
export interface EpochChange {
  epoch: bigint;
  code: string;
  added: string[];
  removed: number[];
  removedSelf: boolean;
  released: MeetingFrame[];
}
"#;

fn bytes(b: &[u8]) -> JsValue {
    js_sys::Uint8Array::from(b).into()
}

fn frame(f: &core_meeting::MeetingFrame) -> Result<JsValue, Failure> {
    convert::object(&[
        ("sender", JsValue::from(f.sender)),
        ("codec", JsValue::from_str(f.codec.name())),
        ("payload", bytes(&f.payload)),
    ])
}

fn change(c: &core_meeting::EpochChange) -> Result<JsValue, Failure> {
    let added = js_sys::Array::new();
    for user in &c.added {
        added.push(&JsValue::from_str(user));
    }
    let removed = js_sys::Array::new();
    for index in &c.removed {
        removed.push(&JsValue::from(*index));
    }
    let released = js_sys::Array::new();
    for f in &c.released {
        released.push(&frame(f)?);
    }
    convert::object(&[
        ("epoch", JsValue::from(c.epoch)),
        ("code", JsValue::from_str(&c.code.to_string())),
        ("added", added.into()),
        ("removed", removed.into()),
        ("removedSelf", JsValue::from_bool(c.removed_self)),
        ("released", released.into()),
    ])
}

fn messages(m: &core_meeting::CommitMessages) -> Result<JsValue, Failure> {
    convert::object(&[
        ("commit", bytes(&m.commit)),
        ("welcome", convert::or_null(m.welcome.as_deref().map(bytes))),
    ])
}

/// A user's MLS identity for meetings.
///
/// In JavaScript: `new MeetingClient(user, platform)`, `keyPackage()`.
#[wasm_bindgen]
pub struct MeetingClient {
    participant: core_policy::Participant,
    inner: core_meeting::MlsClient,
}

#[wasm_bindgen]
impl MeetingClient {
    /// A client for `user` joining from `platform` (kebab-case).
    #[wasm_bindgen(constructor)]
    pub fn new(user: &str, platform: &str) -> Result<MeetingClient, Failure> {
        guard(|| {
            core_policy::check_principal("user", user)?;
            let platform = platform
                .parse()
                .map_err(|e: PolicyError| Failure::from(e))?;
            let participant = core_policy::Participant::new(user, platform);
            let inner =
                core_meeting::MlsClient::new(&core_meeting::credential_identity(&participant))?;
            Ok(Self { participant, inner })
        })
    }

    /// A new key package to publish through the server.
    #[wasm_bindgen(js_name = keyPackage)]
    pub fn key_package(&self) -> Result<Vec<u8>, Failure> {
        guard(|| Ok(self.inner.key_package()?))
    }
}

/// One member's end-to-end encrypted meeting (sans-IO: pass the time in
/// milliseconds, move bytes through your server).
///
/// In JavaScript: `MeetingSession.create(client, policy, suite, nowMs)`,
/// `MeetingSession.join(client, welcome, policy, nowMs)`, `add(keyPackage)`,
/// `remove(user)`, `commitAccepted(nowMs)`, `commitRejected()`,
/// `handleCommit(commit, nowMs)`, `encrypt(codec, frame)`,
/// `decrypt(frame, nowMs)` (a `MeetingFrame`, or `null` when held),
/// `expire(nowMs)`, `epoch`, `code`, `isRemoved`, `members()`.
#[wasm_bindgen]
pub struct MeetingSession {
    inner: core_meeting::MeetingSession,
}

#[wasm_bindgen]
impl MeetingSession {
    /// The organizer starts a meeting, if the policy allows it.
    pub fn create(
        client: &MeetingClient,
        policy: &PolicyDocument,
        suite: u32,
        now_ms: f64,
    ) -> Result<MeetingSession, Failure> {
        guard(|| {
            let doc = policy.core().clone();
            let decision = doc.evaluate_meeting(&client.participant.user, true, &[]);
            let config = MeetingConfig {
                suite: convert::suite(suite)?,
                ..MeetingConfig::default()
            };
            let inner = core_meeting::MeetingSession::create(
                &client.inner,
                client.participant.clone(),
                &decision,
                doc,
                config,
                ms(now_ms),
            )?;
            Ok(Self { inner })
        })
    }

    /// Joins from a Welcome made for `client`'s key package.
    pub fn join(
        client: &MeetingClient,
        welcome: &[u8],
        policy: &PolicyDocument,
        now_ms: f64,
    ) -> Result<MeetingSession, Failure> {
        guard(|| {
            let inner = core_meeting::MeetingSession::join(
                &client.inner,
                client.participant.clone(),
                welcome,
                policy.core().clone(),
                MeetingConfig::default(),
                ms(now_ms),
            )?;
            Ok(Self { inner })
        })
    }

    /// The organizer admits the owner of `key_package`.
    #[wasm_bindgen(unchecked_return_type = "CommitMessages")]
    pub fn add(&mut self, key_package: &[u8]) -> Result<JsValue, Failure> {
        guard(|| messages(&self.inner.add(key_package)?))
    }

    /// The organizer removes `user`.
    #[wasm_bindgen(unchecked_return_type = "CommitMessages")]
    pub fn remove(&mut self, user: &str) -> Result<JsValue, Failure> {
        guard(|| messages(&self.inner.remove(user)?))
    }

    /// The server ordered this member's commit: apply it.
    #[wasm_bindgen(js_name = commitAccepted, unchecked_return_type = "EpochChange")]
    pub fn commit_accepted(&mut self, now_ms: f64) -> Result<JsValue, Failure> {
        guard(|| change(&self.inner.commit_accepted(ms(now_ms))?))
    }

    /// The server ordered another commit first.
    #[wasm_bindgen(js_name = commitRejected)]
    pub fn commit_rejected(&mut self) {
        self.inner.commit_rejected();
    }

    /// Handles a relayed commit; returns the epoch changes it caused.
    #[wasm_bindgen(js_name = handleCommit, unchecked_return_type = "EpochChange[]")]
    pub fn handle_commit(&mut self, commit: &[u8], now_ms: f64) -> Result<JsValue, Failure> {
        guard(|| {
            let list = js_sys::Array::new();
            for c in self.inner.handle_commit(commit, ms(now_ms))? {
                list.push(&change(&c)?);
            }
            Ok(list.into())
        })
    }

    /// Encrypts one of this member's frames.
    pub fn encrypt(&mut self, codec: &str, frame: &[u8]) -> Result<Vec<u8>, Failure> {
        guard(|| {
            let codec = convert::codec(codec)?;
            Ok(self.inner.encrypt(codec, frame)?)
        })
    }

    /// Decrypts a frame; `null` when it is held for an epoch not reached
    /// yet (it comes back in `EpochChange.released`).
    #[wasm_bindgen(unchecked_return_type = "MeetingFrame | null")]
    pub fn decrypt(&mut self, frame: &[u8], now_ms: f64) -> Result<JsValue, Failure> {
        guard(|| match self.inner.decrypt(frame, ms(now_ms))? {
            core_meeting::Received::Frame(f) => self::frame(&f),
            core_meeting::Received::Held => Ok(JsValue::NULL),
        })
    }

    /// Drops previous epochs and held frames whose grace time is over.
    pub fn expire(&mut self, now_ms: f64) {
        self.inner.expire(ms(now_ms));
    }

    /// The current epoch.
    #[wasm_bindgen(getter)]
    pub fn epoch(&self) -> u64 {
        self.inner.epoch()
    }

    /// The current meeting code.
    #[wasm_bindgen(getter)]
    pub fn code(&self) -> String {
        self.inner.code().to_string()
    }

    /// Whether this member was removed.
    #[wasm_bindgen(getter, js_name = isRemoved)]
    pub fn is_removed(&self) -> bool {
        self.inner.is_removed()
    }

    /// The members: `{ index, user, platform }`.
    #[wasm_bindgen(unchecked_return_type = "{ index: number; user: string; platform: string }[]")]
    pub fn members(&self) -> Result<JsValue, Failure> {
        let list = js_sys::Array::new();
        for m in self.inner.members() {
            list.push(&convert::object(&[
                ("index", JsValue::from(m.index)),
                ("user", JsValue::from_str(&m.user)),
                ("platform", JsValue::from_str(m.platform.code())),
            ])?);
        }
        Ok(list.into())
    }
}

/// Milliseconds from JavaScript (a number); negative or NaN counts as 0.
fn ms(now: f64) -> u64 {
    if now.is_finite() && now > 0.0 {
        now as u64
    } else {
        0
    }
}
