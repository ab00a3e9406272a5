//! `MeetingClient`, `MeetingSession` and `MemberKeyStore`: end-to-end
//! encrypted meetings over MLS (PROTOCOL.md §4), their roles (§4.7) and
//! the members' identity statuses (§4.9).

use callseal_core::identity::{MemoryMemberKeyStore, PeerStatus, SecurityCode};
use callseal_core::meeting::{self as core_meeting, MeetingConfig, MeetingError};
use callseal_core::policy::{self as core_policy, PolicyError};
use serde::Serialize;
use tsify::Tsify;
use wasm_bindgen::prelude::wasm_bindgen;
use wasm_bindgen::{JsCast, JsValue};

use crate::convert;
use crate::error::{Failure, guard};
use crate::policy::Refusal;
use crate::policy_signed::VerifiedPolicy;

impl From<MeetingError> for Failure {
    fn from(err: MeetingError) -> Self {
        Self::new(err.kind(), err.to_string())
    }
}

/// A member's role in the current epoch: the organizer and co-organizers
/// add and remove members; the organizer also promotes, demotes and hands
/// over.
#[derive(Clone, Copy, Serialize, Tsify)]
#[serde(rename_all = "kebab-case")]
enum Role {
    Organizer,
    CoOrganizer,
    Participant,
}

impl From<core_meeting::Role> for Role {
    fn from(r: core_meeting::Role) -> Self {
        match r {
            core_meeting::Role::Organizer => Self::Organizer,
            core_meeting::Role::CoOrganizer => Self::CoOrganizer,
            core_meeting::Role::Participant => Self::Participant,
        }
    }
}

/// What the member key store says about a member's key; `unchecked` until
/// `checkIdentities` saw it. `changed`: a key the store does not know for a
/// known user (a new device, or one the server added); comparing codes does
/// not clear it, `verifyMember` does.
#[derive(Clone, Copy, Serialize, Tsify)]
#[serde(rename_all = "kebab-case")]
enum IdentityStatus {
    New,
    Known,
    KnownVerified,
    Changed,
    Unchecked,
}

impl From<Option<PeerStatus>> for IdentityStatus {
    fn from(s: Option<PeerStatus>) -> Self {
        match s {
            None => Self::Unchecked,
            Some(PeerStatus::New) => Self::New,
            Some(PeerStatus::Known { verified: false }) => Self::Known,
            Some(PeerStatus::Known { verified: true }) => Self::KnownVerified,
            Some(PeerStatus::Changed) => Self::Changed,
        }
    }
}

/// The messages a commit produces: the commit for the server, and one
/// Welcome for the members added.
#[derive(Serialize, Tsify)]
#[serde(rename_all = "camelCase")]
#[tsify(missing_as_null, large_number_types_as_bigints)]
struct CommitMessages {
    /// The commit, for the server to order.
    #[serde(with = "serde_wasm_bindgen::preserve")]
    #[tsify(type = "Uint8Array")]
    commit: JsValue,
    /// The Welcome of the members added, or null.
    #[serde(with = "serde_wasm_bindgen::preserve")]
    #[tsify(type = "Uint8Array | null")]
    welcome: JsValue,
}

impl From<&core_meeting::CommitMessages> for CommitMessages {
    fn from(m: &core_meeting::CommitMessages) -> Self {
        Self {
            commit: convert::bytes(&m.commit),
            welcome: convert::or_null(m.welcome.as_deref().map(convert::bytes)),
        }
    }
}

/// A committer's batch of joins and leaves: one commit, one Welcome, and
/// the joiners the policy refused (not in the commit).
#[derive(Serialize, Tsify)]
#[serde(rename_all = "camelCase")]
#[tsify(missing_as_null, large_number_types_as_bigints)]
struct Batch {
    /// The commit and its Welcome.
    messages: CommitMessages,
    /// The joiners refused; `reason` is kebab-case (`unsupported-platform`, `meeting-full`, ...).
    refused: Vec<Refusal>,
}

/// A member of the meeting.
#[derive(Serialize, Tsify)]
#[serde(rename_all = "camelCase")]
#[tsify(missing_as_null, large_number_types_as_bigints)]
struct MeetingMember {
    /// Leaf (and sender) index.
    index: u32,
    /// The member's user.
    user: String,
    /// Kebab-case (`desktop-mac`, `android`, ...).
    platform: &'static str,
    /// The member's MLS signature key (32 bytes): its meeting identity.
    #[serde(with = "serde_wasm_bindgen::preserve")]
    #[tsify(type = "Uint8Array")]
    signature_key: JsValue,
    /// The member's role in the current epoch.
    role: Role,
}

impl From<&core_meeting::Member> for MeetingMember {
    fn from(m: &core_meeting::Member) -> Self {
        Self {
            index: m.index,
            user: m.user.clone(),
            platform: m.platform.code(),
            signature_key: convert::bytes(&m.signature_key),
            role: Role::from(m.role),
        }
    }
}

/// A member and its identity status (this member itself is `known-verified`).
#[derive(Serialize, Tsify)]
#[serde(rename_all = "camelCase")]
#[tsify(missing_as_null, large_number_types_as_bigints)]
struct RosterEntry {
    /// The member.
    member: MeetingMember,
    /// Its identity status.
    status: IdentityStatus,
}

/// A decrypted meeting frame.
#[derive(Serialize, Tsify)]
#[serde(rename_all = "camelCase")]
#[tsify(missing_as_null, large_number_types_as_bigints)]
struct MeetingFrame {
    /// The sender's leaf index.
    sender: u32,
    /// The codec the sender declared (`Opus`, `VP8`, `H.264`, ...).
    codec: &'static str,
    /// The encoded frame.
    #[serde(with = "serde_wasm_bindgen::preserve")]
    #[tsify(type = "Uint8Array")]
    payload: JsValue,
}

impl From<&core_meeting::MeetingFrame> for MeetingFrame {
    fn from(f: &core_meeting::MeetingFrame) -> Self {
        Self {
            sender: f.sender,
            codec: f.codec.name(),
            payload: convert::bytes(&f.payload),
        }
    }
}

/// What a commit changed.
#[derive(Serialize, Tsify)]
#[serde(rename_all = "camelCase")]
#[tsify(missing_as_null, large_number_types_as_bigints)]
struct EpochChange {
    /// The new epoch.
    epoch: u64,
    /// The committer's leaf index (in the epoch before).
    committer: u32,
    /// A commit with no proposals: the committer updated its own leaf.
    self_update: bool,
    /// The commit changed the committer list.
    roles_changed: bool,
    /// The organizer is another member than before.
    organizer_changed: bool,
    /// This member's own pending commit lost the race for the epoch and was discarded.
    own_commit_discarded: bool,
    /// The new meeting code.
    code: String,
    /// The users added.
    added: Vec<String>,
    /// The leaf indexes removed.
    removed: Vec<u32>,
    /// Whether this member was removed.
    removed_self: bool,
    /// The held frames this epoch released, decrypted.
    released: Vec<MeetingFrame>,
}

impl From<&core_meeting::EpochChange> for EpochChange {
    fn from(c: &core_meeting::EpochChange) -> Self {
        Self {
            epoch: c.epoch,
            committer: c.committer,
            self_update: c.self_update,
            roles_changed: c.roles_changed,
            organizer_changed: c.organizer_changed,
            own_commit_discarded: c.own_commit_discarded,
            code: c.code.to_string(),
            added: c.added.clone(),
            removed: c.removed.clone(),
            removed_self: c.removed_self,
            released: c.released.iter().map(MeetingFrame::from).collect(),
        }
    }
}

fn change(c: &core_meeting::EpochChange) -> Result<JsValue, Failure> {
    convert::to_js(&EpochChange::from(c))
}

fn changes(list: Vec<core_meeting::EpochChange>) -> Result<JsValue, Failure> {
    convert::to_js(&list.iter().map(EpochChange::from).collect::<Vec<_>>())
}

fn messages(m: &core_meeting::CommitMessages) -> Result<JsValue, Failure> {
    convert::to_js(&CommitMessages::from(m))
}

fn roster(entries: &[core_meeting::RosterEntry]) -> Result<JsValue, Failure> {
    convert::to_js(
        &entries
            .iter()
            .map(|e| RosterEntry {
                member: MeetingMember::from(&e.member),
                status: IdentityStatus::from(e.status),
            })
            .collect::<Vec<_>>(),
    )
}

/// The elements of a JavaScript array, each converted by `item`.
fn array_of<T>(
    value: JsValue,
    what: &str,
    item: impl Fn(JsValue) -> Option<T>,
) -> Result<Vec<T>, Failure> {
    let list = value
        .dyn_into::<js_sys::Array>()
        .map_err(|_| Failure::invalid(format!("{what} must be an array")))?;
    list.iter()
        .map(|v| {
            item(v)
                .ok_or_else(|| Failure::invalid(format!("{what} has an element of the wrong type")))
        })
        .collect()
}

fn byte_arrays(value: JsValue, what: &str) -> Result<Vec<Vec<u8>>, Failure> {
    array_of(value, what, |v| {
        v.dyn_into::<js_sys::Uint8Array>().ok().map(|a| a.to_vec())
    })
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

    /// A new key package to publish through the server (each joins once).
    #[wasm_bindgen(js_name = keyPackage)]
    pub fn key_package(&self) -> Result<Vec<u8>, Failure> {
        guard(|| Ok(self.inner.key_package()?))
    }

    /// This client's MLS signature key (32 bytes): the `signatureKey`
    /// other members see for it.
    #[wasm_bindgen(js_name = signatureKey)]
    pub fn signature_key(&self) -> Vec<u8> {
        self.inner.signature_key().to_vec()
    }
}

/// The meeting identity keys the app has seen for each user (one per
/// device) and whether codes were compared (PROTOCOL.md §4.9). In memory;
/// persist `toJson()` and restore with `MemberKeyStore.fromJson(json)`.
///
/// In JavaScript: `new MemberKeyStore()`, `MemberKeyStore.fromJson(json)`,
/// `toJson()`.
#[wasm_bindgen]
#[derive(Default)]
pub struct MemberKeyStore {
    inner: MemoryMemberKeyStore,
}

#[wasm_bindgen]
impl MemberKeyStore {
    /// An empty store.
    #[wasm_bindgen(constructor)]
    pub fn new() -> MemberKeyStore {
        Self::default()
    }

    /// A store from the JSON `toJson()` made (`storage` if it is not one).
    #[wasm_bindgen(js_name = fromJson)]
    pub fn from_json(json: &str) -> Result<MemberKeyStore, Failure> {
        guard(|| {
            Ok(Self {
                inner: MemoryMemberKeyStore::from_json(json)?,
            })
        })
    }

    /// The store as JSON: `{"user": [{"key": "<64 hex>", "verified": bool}, ...]}`.
    #[wasm_bindgen(js_name = toJson)]
    pub fn to_json(&self) -> Result<String, Failure> {
        guard(|| Ok(self.inner.to_json()?))
    }
}

/// One member's end-to-end encrypted meeting (sans-IO: pass the time in
/// milliseconds, move bytes through your server).
///
/// In JavaScript: `MeetingSession.create(client, policy, suite, nowMs)`,
/// `MeetingSession.join(client, welcome, policy, nowMs)`, `add(keyPackage)`,
/// `remove(user)`, `changeMembership(keyPackages, users)`, `promote(index)`,
/// `demote(index)`, `handOver(index)` (a member's leaf index, as `members()`
/// shows it), `selfUpdate()`, `updateDue(nowMs)`,
/// `commitAccepted(nowMs)`, `commitRejected()`,
/// `handleCommit(commit, nowMs)`, `catchUp(commits, nowMs)`,
/// `missingCommitsFrom`, `encrypt(codec, frame)`,
/// `decrypt(frame, nowMs)` (a `MeetingFrame`, or `null` when held),
/// `expire(nowMs)`, `epoch`, `code`, `isRemoved`, `role`, `organizer`,
/// `members()`, `leafKey(index)`, `roster()`, `checkIdentities(store)`,
/// `markCodeVerified(store, code)`, `verifyMember(store, index)`.
#[wasm_bindgen]
pub struct MeetingSession {
    inner: core_meeting::MeetingSession,
}

#[wasm_bindgen]
impl MeetingSession {
    /// The organizer starts a meeting, if the policy allows it.
    pub fn create(
        client: &MeetingClient,
        policy: &VerifiedPolicy,
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
        policy: &VerifiedPolicy,
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

    /// A committer admits the owner of `key_package`.
    #[wasm_bindgen(unchecked_return_type = "CommitMessages")]
    pub fn add(&mut self, key_package: &[u8]) -> Result<JsValue, Failure> {
        guard(|| messages(&self.inner.add(key_package)?))
    }

    /// A committer removes `user` (every leaf of that user).
    #[wasm_bindgen(unchecked_return_type = "CommitMessages")]
    pub fn remove(&mut self, user: &str) -> Result<JsValue, Failure> {
        guard(|| messages(&self.inner.remove(user)?))
    }

    /// A committer batches joins and leaves into one commit with one
    /// Welcome; joiners the policy refuses come back in `refused`.
    #[wasm_bindgen(js_name = changeMembership, unchecked_return_type = "Batch")]
    pub fn change_membership(
        &mut self,
        #[wasm_bindgen(unchecked_param_type = "Uint8Array[]")] key_packages: JsValue,
        #[wasm_bindgen(unchecked_param_type = "string[]")] remove: JsValue,
    ) -> Result<JsValue, Failure> {
        guard(|| {
            let key_packages = byte_arrays(key_packages, "keyPackages")?;
            let remove = array_of(remove, "remove", |v| v.as_string())?;
            let remove: Vec<&str> = remove.iter().map(String::as_str).collect();
            let batch = self.inner.change_membership(&key_packages, &remove)?;
            convert::to_js(&Batch {
                messages: CommitMessages::from(&batch.messages),
                refused: batch
                    .refused
                    .iter()
                    .map(|(user, reason)| Refusal {
                        user: user.clone(),
                        reason: reason.code().to_owned(),
                    })
                    .collect(),
            })
        })
    }

    /// The organizer makes the member at leaf `index` (as `members()` and
    /// `roster()` show it) a co-organizer: that one device, not every
    /// device of its user.
    #[wasm_bindgen(unchecked_return_type = "CommitMessages")]
    pub fn promote(&mut self, index: u32) -> Result<JsValue, Failure> {
        guard(|| messages(&self.inner.promote(index)?))
    }

    /// The organizer makes the co-organizer at leaf `index` a participant
    /// again.
    #[wasm_bindgen(unchecked_return_type = "CommitMessages")]
    pub fn demote(&mut self, index: u32) -> Result<JsValue, Failure> {
        guard(|| messages(&self.inner.demote(index)?))
    }

    /// The organizer hands its role to the co-organizer at leaf `index`.
    #[wasm_bindgen(js_name = handOver, unchecked_return_type = "CommitMessages")]
    pub fn hand_over(&mut self, index: u32) -> Result<JsValue, Failure> {
        guard(|| messages(&self.inner.hand_over(index)?))
    }

    /// Any member commits an update of its own leaf.
    #[wasm_bindgen(js_name = selfUpdate, unchecked_return_type = "CommitMessages")]
    pub fn self_update(&mut self) -> Result<JsValue, Failure> {
        guard(|| messages(&self.inner.self_update()?))
    }

    /// Whether this member is due for a self-update.
    #[wasm_bindgen(js_name = updateDue)]
    pub fn update_due(&self, now_ms: f64) -> bool {
        self.inner.update_due(ms(now_ms))
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
        guard(|| changes(self.inner.handle_commit(commit, ms(now_ms))?))
    }

    /// Catches up on missed commits (the server's, from
    /// `missingCommitsFrom` on, in order); commits already applied are
    /// skipped.
    #[wasm_bindgen(js_name = catchUp, unchecked_return_type = "EpochChange[]")]
    pub fn catch_up(
        &mut self,
        #[wasm_bindgen(unchecked_param_type = "Uint8Array[]")] commits: JsValue,
        now_ms: f64,
    ) -> Result<JsValue, Failure> {
        guard(|| {
            let commits = byte_arrays(commits, "commits")?;
            changes(self.inner.catch_up(&commits, ms(now_ms))?)
        })
    }

    /// The epoch from which commits are missing while later ones wait;
    /// `null` otherwise.
    #[wasm_bindgen(getter = missingCommitsFrom, unchecked_return_type = "bigint | null")]
    pub fn missing_commits_from(&self) -> JsValue {
        convert::or_null(self.inner.missing_commits_from())
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
            core_meeting::Received::Frame(f) => convert::to_js(&MeetingFrame::from(&f)),
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

    /// This member's role in the current epoch.
    #[wasm_bindgen(getter, unchecked_return_type = "Role")]
    pub fn role(&self) -> Result<JsValue, Failure> {
        guard(|| convert::to_js(&Role::from(self.inner.role())))
    }

    /// The organizer's leaf index, or `null` if no committer is present.
    #[wasm_bindgen(getter, unchecked_return_type = "number | null")]
    pub fn organizer(&self) -> JsValue {
        convert::or_null(self.inner.organizer())
    }

    /// The members, with their signature keys and roles.
    #[wasm_bindgen(unchecked_return_type = "MeetingMember[]")]
    pub fn members(&self) -> Result<JsValue, Failure> {
        guard(|| {
            convert::to_js(
                &self
                    .inner
                    .members()
                    .iter()
                    .map(MeetingMember::from)
                    .collect::<Vec<_>>(),
            )
        })
    }

    /// The HPKE public key of the leaf at `index` (it changes with each
    /// update path), or `null` for a blank leaf.
    #[wasm_bindgen(js_name = leafKey, unchecked_return_type = "Uint8Array | null")]
    pub fn leaf_key(&self, index: u32) -> JsValue {
        convert::or_null(self.inner.leaf_key(index).as_deref().map(convert::bytes))
    }

    /// The members with their identity statuses, as the last
    /// `checkIdentities` found them.
    #[wasm_bindgen(unchecked_return_type = "RosterEntry[]")]
    pub fn roster(&self) -> Result<JsValue, Failure> {
        guard(|| roster(&self.inner.roster()))
    }

    /// Gives every member not seen yet its identity status against `store`
    /// (recording new keys unverified) and returns the roster.
    #[wasm_bindgen(js_name = checkIdentities, unchecked_return_type = "RosterEntry[]")]
    pub fn check_identities(&mut self, store: &mut MemberKeyStore) -> Result<JsValue, Failure> {
        guard(|| roster(&self.inner.check_identities(&mut store.inner)?))
    }

    /// The users compared this epoch's meeting code and found it equal to
    /// `code` (as the `code` getter shows it): every member whose key is
    /// not `changed` is recorded as verified in `store`. A `changed` key
    /// stays flagged until `verifyMember` confirms it. `invalid-argument`
    /// if `code` is not a code, or no longer the current one.
    #[wasm_bindgen(js_name = markCodeVerified)]
    pub fn mark_code_verified(
        &mut self,
        store: &mut MemberKeyStore,
        code: &str,
    ) -> Result<(), Failure> {
        guard(|| {
            let compared = code.parse::<SecurityCode>().map_err(MeetingError::from)?;
            Ok(self.inner.mark_code_verified(&mut store.inner, &compared)?)
        })
    }

    /// The user confirmed, out of band, that the device at leaf `index` is
    /// who it claims to be: its key is recorded as verified in `store`,
    /// `changed` or not. `invalid-argument` if no member is at `index`.
    #[wasm_bindgen(js_name = verifyMember)]
    pub fn verify_member(&mut self, store: &mut MemberKeyStore, index: u32) -> Result<(), Failure> {
        guard(|| Ok(self.inner.verify_member(&mut store.inner, index)?))
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

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    /// The roles reach JavaScript under the core's names (the ones the
    /// other wrappers and the docs use).
    #[test]
    fn role_names_are_the_cores() {
        for role in [
            core_meeting::Role::Organizer,
            core_meeting::Role::CoOrganizer,
            core_meeting::Role::Participant,
        ] {
            assert_eq!(
                serde_json::to_value(Role::from(role)).unwrap(),
                role.as_str()
            );
        }
    }
}
