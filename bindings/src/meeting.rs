//! Meetings (PROTOCOL.md §4): an MLS identity, the meeting session that
//! turns MLS epochs into SFrame keys and meeting codes, its roles
//! (§4.7), and the member key store behind the roster's identity statuses
//! (§4.9).

use std::sync::{Arc, Mutex};

use callseal_core::identity::{self as core_identity, PeerStatus};
use callseal_core::meeting::{self as core_meeting, MeetingConfig, MeetingError};
use callseal_core::policy as core_policy;

use crate::error::CallsealError;
use crate::frame::suite;
use crate::guard::{guard, lock};
use crate::media::codec;
use crate::policy::{Refusal, VerifiedPolicy};

impl From<MeetingError> for CallsealError {
    fn from(e: MeetingError) -> Self {
        Self::new(e.kind(), e.to_string())
    }
}

/// A user's MLS identity for meetings: a signing key and the key packages
/// it publishes. Joining needs the client that made the key package.
///
/// ```
/// use callseal_ffi::MeetingClient;
///
/// let client = MeetingClient::new("pete".into(), "android".into())?;
/// assert!(!client.key_package()?.is_empty());
/// assert!(MeetingClient::new("pete".into(), "linux".into()).is_err());
/// # Ok::<(), callseal_ffi::CallsealError>(())
/// ```
#[derive(uniffi::Object)]
pub struct MeetingClient {
    participant: core_policy::Participant,
    inner: core_meeting::MlsClient,
}

impl std::fmt::Debug for MeetingClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MeetingClient")
            .field("user", &self.participant.user)
            .finish_non_exhaustive()
    }
}

#[uniffi::export]
impl MeetingClient {
    /// A client for `user` joining from `platform` (kebab-case).
    ///
    /// # Errors
    /// `InvalidArgument` for a bad user id or platform.
    #[uniffi::constructor]
    pub fn new(user: String, platform: String) -> Result<Self, CallsealError> {
        guard(|| {
            core_policy::check_principal("user", &user)?;
            let participant = core_policy::Participant::new(user, platform.parse()?);
            let inner =
                core_meeting::MlsClient::new(&core_meeting::credential_identity(&participant))?;
            Ok(Self { participant, inner })
        })
    }

    /// A new key package to publish through the server. Each joins once:
    /// a second join from the same key package's Welcome is refused.
    ///
    /// # Errors
    /// `AuthenticationFailed` if MLS fails.
    pub fn key_package(&self) -> Result<Vec<u8>, CallsealError> {
        guard(|| Ok(self.inner.key_package()?))
    }

    /// This client's MLS signature public key (32 bytes): its meeting
    /// identity, the `signature_key` other members see for it.
    pub fn signature_key(&self) -> Vec<u8> {
        self.inner.signature_key().to_vec()
    }
}

/// Where the app remembers the meeting identity keys (MLS signature keys,
/// one per device) it has seen for each user, and whether the users
/// compared the meeting code (PROTOCOL.md §4.9). The store lives in
/// memory; persist it with `to_json()` and restore it with `from_json()`.
///
/// ```
/// use callseal_ffi::MemberKeyStore;
///
/// let store = MemberKeyStore::new();
/// assert_eq!(store.to_json()?, "{}");
/// let again = MemberKeyStore::from_json(store.to_json()?)?;
/// assert_eq!(again.to_json()?, "{}");
/// assert!(MemberKeyStore::from_json("[".into()).is_err());
/// # Ok::<(), callseal_ffi::CallsealError>(())
/// ```
#[derive(uniffi::Object)]
pub struct MemberKeyStore {
    inner: Mutex<core_identity::MemoryMemberKeyStore>,
}

impl std::fmt::Debug for MemberKeyStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MemberKeyStore { .. }")
    }
}

impl Default for MemberKeyStore {
    fn default() -> Self {
        Self::new()
    }
}

#[uniffi::export]
impl MemberKeyStore {
    /// An empty store.
    #[uniffi::constructor]
    pub fn new() -> Self {
        Self {
            inner: Mutex::new(core_identity::MemoryMemberKeyStore::new()),
        }
    }

    /// A store from the JSON `to_json()` made.
    ///
    /// # Errors
    /// `Storage` if it is not a store's JSON or a key is not 64 hex digits.
    #[uniffi::constructor]
    pub fn from_json(json: String) -> Result<Self, CallsealError> {
        guard(|| {
            Ok(Self {
                inner: Mutex::new(core_identity::MemoryMemberKeyStore::from_json(&json)?),
            })
        })
    }

    /// The store as JSON, for the app to persist:
    /// `{"user": [{"key": "<64 hex>", "verified": bool}, ...]}`.
    ///
    /// # Errors
    /// `Storage` if serialization fails.
    pub fn to_json(&self) -> Result<String, CallsealError> {
        guard(|| Ok(lock(&self.inner)?.to_json()?))
    }
}

/// The messages a commit produces.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct CommitMessages {
    /// The commit, for the server to order and relay.
    pub commit: Vec<u8>,
    /// The Welcome for the members added, if any (one for all of them).
    pub welcome: Option<Vec<u8>>,
}

/// A committer's batch of joins and leaves: one commit, one Welcome for
/// every joiner, and the joiners the policy refused (not in the commit).
///
/// ```
/// use callseal_ffi::{Batch, CommitMessages, Refusal};
///
/// let batch = Batch {
///     messages: CommitMessages { commit: vec![1], welcome: Some(vec![2]) },
///     refused: vec![Refusal { user: "walt".into(), reason: "unsupported-platform".into() }],
/// };
/// assert_eq!(batch.refused[0].user, "walt");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct Batch {
    /// The commit and the Welcome.
    pub messages: CommitMessages,
    /// The users refused, with the kebab-case reason.
    pub refused: Vec<Refusal>,
}

/// A member's role in the current epoch (PROTOCOL.md §4.7).
///
/// ```
/// use callseal_ffi::Role;
///
/// assert_ne!(Role::Organizer, Role::CoOrganizer);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum Role {
    /// Adds and removes members, promotes, demotes and hands over.
    Organizer,
    /// Adds and removes members.
    CoOrganizer,
    /// Sends and receives media, updates its own leaf.
    Participant,
}

impl From<core_meeting::Role> for Role {
    fn from(role: core_meeting::Role) -> Self {
        match role {
            core_meeting::Role::Organizer => Role::Organizer,
            core_meeting::Role::CoOrganizer => Role::CoOrganizer,
            core_meeting::Role::Participant => Role::Participant,
        }
    }
}

/// What the member key store says about a member's key (PROTOCOL.md
/// §4.9): `PeerStatus`'s cases, plus `Unchecked` until
/// `check_identities` saw the key.
///
/// ```
/// use callseal_ffi::IdentityStatus;
///
/// assert_ne!(IdentityStatus::Known, IdentityStatus::KnownVerified);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum IdentityStatus {
    /// No key stored for this user: stored now, unverified.
    New,
    /// A key stored earlier, codes not compared.
    Known,
    /// A key stored earlier, and verified: the users compared the meeting
    /// code, or the user confirmed this device (`verify_member`).
    KnownVerified,
    /// The user is known with other keys only: a new device, or a device
    /// the server added. Comparing codes does not clear it; the user
    /// confirms the device out of band (`verify_member`).
    Changed,
    /// `check_identities` has not seen this key yet.
    Unchecked,
}

impl From<Option<PeerStatus>> for IdentityStatus {
    fn from(status: Option<PeerStatus>) -> Self {
        match status {
            None => IdentityStatus::Unchecked,
            Some(PeerStatus::New) => IdentityStatus::New,
            Some(PeerStatus::Known { verified: false }) => IdentityStatus::Known,
            Some(PeerStatus::Known { verified: true }) => IdentityStatus::KnownVerified,
            Some(PeerStatus::Changed) => IdentityStatus::Changed,
        }
    }
}

/// A decrypted meeting frame.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct MeetingFrame {
    /// The sender's leaf index.
    pub sender: u32,
    /// The codec the sender declared.
    pub codec: String,
    /// The frame.
    pub payload: Vec<u8>,
}

/// What became of a received frame: decrypted, or held until this member
/// reaches the sender's epoch.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct MeetingReceived {
    /// The frame waits for a commit (it comes back in `EpochChange.released`).
    pub held: bool,
    /// The decrypted frame, unless held.
    pub frame: Option<MeetingFrame>,
}

/// What a commit changed.
///
/// ```
/// use callseal_ffi::EpochChange;
///
/// let change = EpochChange {
///     epoch: 2, committer: 0, self_update: false, roles_changed: true,
///     organizer_changed: false, own_commit_discarded: false,
///     code: "12345 67890 12345 67890".into(), added: vec![], removed: vec![],
///     removed_self: false, released: vec![],
/// };
/// assert!(change.roles_changed);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct EpochChange {
    /// The new epoch.
    pub epoch: u64,
    /// The committer's leaf index (in the epoch before).
    pub committer: u32,
    /// Whether the commit was a self-update (no proposals, an update path).
    pub self_update: bool,
    /// Whether the commit changed the committer list.
    pub roles_changed: bool,
    /// Whether the organizer is another member than before.
    pub organizer_changed: bool,
    /// Whether this member's own pending commit lost the race for the
    /// epoch and was discarded (commit again if still wanted).
    pub own_commit_discarded: bool,
    /// The new meeting code (`"12345 67890 12345 67890"`).
    pub code: String,
    /// The users added.
    pub added: Vec<String>,
    /// The leaf indexes removed.
    pub removed: Vec<u32>,
    /// Whether this member was removed.
    pub removed_self: bool,
    /// Held frames that decrypted under the new epoch.
    pub released: Vec<MeetingFrame>,
}

/// A member of the meeting.
///
/// ```
/// use callseal_ffi::{MeetingMember, Role};
///
/// let m = MeetingMember {
///     index: 0, user: "olga".into(), platform: "desktop-mac".into(),
///     signature_key: vec![7; 32], role: Role::Organizer,
/// };
/// assert_eq!(m.role, Role::Organizer);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct MeetingMember {
    /// Leaf (and sender) index.
    pub index: u32,
    /// The user.
    pub user: String,
    /// The platform, kebab-case.
    pub platform: String,
    /// The member's MLS signature key (32 bytes): its meeting identity.
    pub signature_key: Vec<u8>,
    /// The member's role in the current epoch.
    pub role: Role,
}

/// A member and what the member key store says about its key.
///
/// ```
/// use callseal_ffi::{IdentityStatus, MeetingMember, Role, RosterEntry};
///
/// let entry = RosterEntry {
///     member: MeetingMember {
///         index: 1, user: "pete".into(), platform: "android".into(),
///         signature_key: vec![3; 32], role: Role::Participant,
///     },
///     status: IdentityStatus::New,
/// };
/// assert_eq!(entry.status, IdentityStatus::New);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct RosterEntry {
    /// The member.
    pub member: MeetingMember,
    /// Its identity status (this member itself is `KnownVerified`).
    pub status: IdentityStatus,
}

fn frame(f: core_meeting::MeetingFrame) -> MeetingFrame {
    MeetingFrame {
        sender: f.sender,
        codec: f.codec.name().to_owned(),
        payload: f.payload,
    }
}

fn member(m: core_meeting::Member) -> MeetingMember {
    MeetingMember {
        index: m.index,
        user: m.user,
        platform: m.platform.code().to_owned(),
        signature_key: m.signature_key.to_vec(),
        role: m.role.into(),
    }
}

fn roster(entries: Vec<core_meeting::RosterEntry>) -> Vec<RosterEntry> {
    entries
        .into_iter()
        .map(|e| RosterEntry {
            member: member(e.member),
            status: e.status.into(),
        })
        .collect()
}

fn change(c: core_meeting::EpochChange) -> EpochChange {
    EpochChange {
        epoch: c.epoch,
        committer: c.committer,
        self_update: c.self_update,
        roles_changed: c.roles_changed,
        organizer_changed: c.organizer_changed,
        own_commit_discarded: c.own_commit_discarded,
        code: c.code.to_string(),
        added: c.added,
        removed: c.removed,
        removed_self: c.removed_self,
        released: c.released.into_iter().map(frame).collect(),
    }
}

fn changes(list: Vec<core_meeting::EpochChange>) -> Vec<EpochChange> {
    list.into_iter().map(change).collect()
}

fn messages(m: core_meeting::CommitMessages) -> CommitMessages {
    CommitMessages {
        commit: m.commit,
        welcome: m.welcome,
    }
}

/// One member's end-to-end encrypted meeting: sans-IO, the caller passes
/// the time in milliseconds and moves bytes through its server.
///
/// ```
/// use std::sync::Arc;
/// use callseal_ffi::{IdentityStatus, MeetingClient, MeetingSession, MemberKeyStore, PolicyDocument,
///     PolicySigningKey, Role, VerifiedPolicy};
///
/// let document = PolicyDocument::from_json(r#"{"version":1,"policies":[{"Identity":"Global",
///   "CallingEndtoEndEncryptionEnabledType":"Disabled","MeetingEndToEndEncryption":"DisabledUserOverride",
///   "Description":""}]}"#.into())?;
/// // The admin signs the document; every client verifies it with the tenant key.
/// let admin = PolicySigningKey::from_bytes(vec![7; 32])?;
/// let signed = admin.sign(Arc::new(document), 1, 1_796_000_000)?;
/// let policy = Arc::new(VerifiedPolicy::verify(signed, admin.tenant_key(), 0)?);
/// let olga = Arc::new(MeetingClient::new("olga".into(), "desktop-mac".into())?);
/// let pete = Arc::new(MeetingClient::new("pete".into(), "ios".into())?);
/// let organizer = MeetingSession::create(olga, policy.clone(), 4, 0)?;
/// let added = organizer.add(pete.key_package()?)?;
/// organizer.commit_accepted(0)?;
/// let member = MeetingSession::join(pete, added.welcome.unwrap_or_default(), policy, 0)?;
/// assert_eq!(organizer.code()?, member.code()?);
/// let frame = organizer.encrypt("Opus".into(), vec![0x78, 1, 2])?;
/// assert_eq!(member.decrypt(frame, 1)?.frame.map(|f| f.payload), Some(vec![0x78, 1, 2]));
///
/// // Roles go to one device: its leaf index, as members() shows it.
/// let pete_index = organizer.members()?[1].index;
/// organizer.promote(pete_index)?;
/// organizer.commit_accepted(2)?;
/// assert_eq!(organizer.members()?[1].role, Role::CoOrganizer);
///
/// // The users compared the code the app shows: codes from an older epoch
/// // are refused.
/// let store = Arc::new(MemberKeyStore::new());
/// organizer.check_identities(store.clone())?;
/// let old = member.code()?;
/// assert_eq!(organizer.mark_code_verified(store.clone(), old).unwrap_err().code(), "invalid-argument");
/// organizer.mark_code_verified(store.clone(), organizer.code()?)?;
/// assert_eq!(organizer.roster()?[1].status, IdentityStatus::KnownVerified);
/// # Ok::<(), callseal_ffi::CallsealError>(())
/// ```
#[derive(uniffi::Object)]
pub struct MeetingSession {
    inner: Mutex<core_meeting::MeetingSession>,
}

impl std::fmt::Debug for MeetingSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.inner.lock() {
            Ok(session) => session.fmt(f),
            Err(_) => f.write_str("MeetingSession { .. }"),
        }
    }
}

#[uniffi::export]
impl MeetingSession {
    /// The organizer starts a meeting with SFrame suite `suite_id`, if
    /// `policy` allows the organizer an end-to-end encrypted meeting.
    ///
    /// # Errors
    /// `PolicyForbids` with the decision's reason; `InvalidArgument`.
    #[uniffi::constructor]
    pub fn create(
        client: Arc<MeetingClient>,
        policy: Arc<VerifiedPolicy>,
        suite_id: u16,
        now_ms: u64,
    ) -> Result<Self, CallsealError> {
        guard(|| {
            let doc = policy.core().clone();
            let decision = doc.evaluate_meeting(&client.participant.user, true, &[]);
            let config = MeetingConfig {
                suite: suite(suite_id)?,
                ..MeetingConfig::default()
            };
            let session = core_meeting::MeetingSession::create(
                &client.inner,
                client.participant.clone(),
                &decision,
                doc,
                config,
                now_ms,
            )?;
            Ok(Self {
                inner: Mutex::new(session),
            })
        })
    }

    /// Joins from the Welcome a committer's commit made for `client`'s
    /// key package.
    ///
    /// # Errors
    /// `ProtocolViolation` (the Welcome's commit is not a committer's, or
    /// this key package already joined), `Malformed`,
    /// `AuthenticationFailed`.
    #[uniffi::constructor]
    pub fn join(
        client: Arc<MeetingClient>,
        welcome: Vec<u8>,
        policy: Arc<VerifiedPolicy>,
        now_ms: u64,
    ) -> Result<Self, CallsealError> {
        guard(|| {
            let session = core_meeting::MeetingSession::join(
                &client.inner,
                client.participant.clone(),
                &welcome,
                policy.core().clone(),
                MeetingConfig::default(),
                now_ms,
            )?;
            Ok(Self {
                inner: Mutex::new(session),
            })
        })
    }

    /// A committer (the organizer or a co-organizer) admits the owner of
    /// `key_package` (after the policy's admission check); applied once
    /// the server orders it.
    ///
    /// # Errors
    /// `PolicyForbids` (admission refused), `ProtocolViolation` (not a
    /// committer, or a commit already pending), `Malformed`.
    pub fn add(&self, key_package: Vec<u8>) -> Result<CommitMessages, CallsealError> {
        guard(|| Ok(messages(lock(&self.inner)?.add(&key_package)?)))
    }

    /// A committer removes `user` (every leaf of that user).
    ///
    /// # Errors
    /// `InvalidArgument` (not a member), `ProtocolViolation`.
    pub fn remove(&self, user: String) -> Result<CommitMessages, CallsealError> {
        guard(|| Ok(messages(lock(&self.inner)?.remove(&user)?)))
    }

    /// A committer batches joins and leaves into one commit with one
    /// Welcome: every key package the policy admits is added (the others
    /// come back in `refused`), every user in `remove` is removed.
    ///
    /// # Errors
    /// `ProtocolViolation` (not a committer, or a commit pending),
    /// `PolicyForbids` (every add refused and nothing removed),
    /// `InvalidArgument` (a user to remove is not a member), `Malformed`.
    pub fn change_membership(
        &self,
        key_packages: Vec<Vec<u8>>,
        remove: Vec<String>,
    ) -> Result<Batch, CallsealError> {
        guard(|| {
            let remove: Vec<&str> = remove.iter().map(String::as_str).collect();
            let batch = lock(&self.inner)?.change_membership(&key_packages, &remove)?;
            Ok(Batch {
                messages: messages(batch.messages),
                refused: batch
                    .refused
                    .into_iter()
                    .map(|(user, reason)| Refusal {
                        user,
                        reason: reason.code().to_owned(),
                    })
                    .collect(),
            })
        })
    }

    /// The organizer makes the member at leaf `index` (as `members()` and
    /// `roster()` show it) a co-organizer: that one device, not every
    /// device of its user.
    ///
    /// # Errors
    /// `ProtocolViolation` (not the organizer, a commit pending, or past 32
    /// committers), `InvalidArgument` (no member at `index`).
    pub fn promote(&self, index: u32) -> Result<CommitMessages, CallsealError> {
        guard(|| Ok(messages(lock(&self.inner)?.promote(index)?)))
    }

    /// The organizer makes the co-organizer at leaf `index` a participant
    /// again.
    ///
    /// # Errors
    /// `ProtocolViolation` (not the organizer, a commit pending, or the
    /// organizer itself), `InvalidArgument` (no member at `index`).
    pub fn demote(&self, index: u32) -> Result<CommitMessages, CallsealError> {
        guard(|| Ok(messages(lock(&self.inner)?.demote(index)?)))
    }

    /// The organizer hands its role to the co-organizer at leaf `index`
    /// and becomes a co-organizer; it may then leave.
    ///
    /// # Errors
    /// `ProtocolViolation` (not the organizer, a commit pending, or that
    /// member not a co-organizer), `InvalidArgument` (no member at `index`).
    pub fn hand_over(&self, index: u32) -> Result<CommitMessages, CallsealError> {
        guard(|| Ok(messages(lock(&self.inner)?.hand_over(index)?)))
    }

    /// Any member commits an update of its own leaf (fresh keys); applied
    /// once the server orders it. Do it when `update_due` says so.
    ///
    /// # Errors
    /// `ProtocolViolation` (removed, or a commit pending).
    pub fn self_update(&self) -> Result<CommitMessages, CallsealError> {
        guard(|| Ok(messages(lock(&self.inner)?.self_update()?)))
    }

    /// Whether this member is due for a self-update at `now_ms`.
    pub fn update_due(&self, now_ms: u64) -> Result<bool, CallsealError> {
        guard(|| Ok(lock(&self.inner)?.update_due(now_ms)))
    }

    /// The server ordered this member's pending commit: apply it.
    ///
    /// # Errors
    /// `ProtocolViolation` if none is pending.
    pub fn commit_accepted(&self, now_ms: u64) -> Result<EpochChange, CallsealError> {
        guard(|| Ok(change(lock(&self.inner)?.commit_accepted(now_ms)?)))
    }

    /// The server ordered another commit first: forget this member's.
    pub fn commit_rejected(&self) -> Result<(), CallsealError> {
        guard(|| {
            lock(&self.inner)?.commit_rejected();
            Ok(())
        })
    }

    /// Handles a commit the server relayed; returns the epochs it (and any
    /// held commits after it) moved to.
    ///
    /// # Errors
    /// `Replay` (a duplicate), `ProtocolViolation` (unauthorized committer,
    /// removed), `PolicyForbids` (admission), `Malformed`,
    /// `AuthenticationFailed`. The session is unchanged by any error.
    pub fn handle_commit(
        &self,
        commit: Vec<u8>,
        now_ms: u64,
    ) -> Result<Vec<EpochChange>, CallsealError> {
        guard(|| Ok(changes(lock(&self.inner)?.handle_commit(&commit, now_ms)?)))
    }

    /// Catches up on missed commits (after `handle_commit` refused one
    /// for holding too many, or while `missing_commits_from` names an
    /// epoch): the server's commits from that epoch on, in order. Commits
    /// for epochs already reached are skipped.
    ///
    /// # Errors
    /// As `handle_commit`, for the first commit refused; the ones before
    /// it stay applied.
    pub fn catch_up(
        &self,
        commits: Vec<Vec<u8>>,
        now_ms: u64,
    ) -> Result<Vec<EpochChange>, CallsealError> {
        guard(|| Ok(changes(lock(&self.inner)?.catch_up(&commits, now_ms)?)))
    }

    /// The epoch from which this member needs commits it does not hold,
    /// while later ones wait for a missing one; `None` otherwise.
    pub fn missing_commits_from(&self) -> Result<Option<u64>, CallsealError> {
        guard(|| Ok(lock(&self.inner)?.missing_commits_from()))
    }

    /// Encrypts one of this member's frames (`codec` as for `MediaSender`).
    ///
    /// # Errors
    /// `InvalidArgument` (codec), `Malformed` (frame), `ProtocolViolation`
    /// (removed).
    pub fn encrypt(&self, codec_name: String, frame: Vec<u8>) -> Result<Vec<u8>, CallsealError> {
        guard(|| {
            let codec = codec(&codec_name)?;
            Ok(lock(&self.inner)?.encrypt(codec, &frame)?)
        })
    }

    /// Decrypts a member's frame, or holds it for an epoch not reached yet.
    ///
    /// # Errors
    /// `AuthenticationFailed`, `Replay`, `UnknownKeyId`, `Malformed`.
    pub fn decrypt(&self, frame: Vec<u8>, now_ms: u64) -> Result<MeetingReceived, CallsealError> {
        guard(|| {
            Ok(match lock(&self.inner)?.decrypt(&frame, now_ms)? {
                core_meeting::Received::Frame(f) => MeetingReceived {
                    held: false,
                    frame: Some(self::frame(f)),
                },
                core_meeting::Received::Held => MeetingReceived {
                    held: true,
                    frame: None,
                },
            })
        })
    }

    /// Drops previous epochs and held frames whose grace time is over.
    pub fn expire(&self, now_ms: u64) -> Result<(), CallsealError> {
        guard(|| {
            lock(&self.inner)?.expire(now_ms);
            Ok(())
        })
    }

    /// The current epoch.
    pub fn epoch(&self) -> Result<u64, CallsealError> {
        guard(|| Ok(lock(&self.inner)?.epoch()))
    }

    /// The meeting code of the current epoch.
    pub fn code(&self) -> Result<String, CallsealError> {
        guard(|| Ok(lock(&self.inner)?.code().to_string()))
    }

    /// Whether this member was removed.
    pub fn is_removed(&self) -> Result<bool, CallsealError> {
        guard(|| Ok(lock(&self.inner)?.is_removed()))
    }

    /// The members of the current epoch, with their roles.
    pub fn members(&self) -> Result<Vec<MeetingMember>, CallsealError> {
        guard(|| {
            Ok(lock(&self.inner)?
                .members()
                .into_iter()
                .map(member)
                .collect())
        })
    }

    /// This member's role in the current epoch.
    pub fn role(&self) -> Result<Role, CallsealError> {
        guard(|| Ok(lock(&self.inner)?.role().into()))
    }

    /// The organizer's leaf index, if a committer is present.
    pub fn organizer(&self) -> Result<Option<u32>, CallsealError> {
        guard(|| Ok(lock(&self.inner)?.organizer()))
    }

    /// The HPKE public key of the leaf at `index` (it changes with each
    /// update path that member sends), if the leaf is not blank.
    pub fn leaf_key(&self, index: u32) -> Result<Option<Vec<u8>>, CallsealError> {
        guard(|| Ok(lock(&self.inner)?.leaf_key(index)))
    }

    /// The members with their identity statuses as the last
    /// `check_identities` found them.
    pub fn roster(&self) -> Result<Vec<RosterEntry>, CallsealError> {
        guard(|| Ok(roster(lock(&self.inner)?.roster())))
    }

    /// Gives every member not seen yet its identity status against `store`
    /// (recording new keys there, unverified) and returns the roster. Call
    /// it after joining and after each commit that adds members.
    ///
    /// # Errors
    /// `Storage` if the store fails.
    pub fn check_identities(
        &self,
        store: Arc<MemberKeyStore>,
    ) -> Result<Vec<RosterEntry>, CallsealError> {
        guard(|| {
            let mut session = lock(&self.inner)?;
            let mut store = lock(&store.inner)?;
            Ok(roster(session.check_identities(&mut *store)?))
        })
    }

    /// The users compared this epoch's meeting code and found it equal to
    /// `code` (as `code()` shows it): every member whose key is not
    /// `Changed` is recorded as verified in `store`. A `Changed` key stays
    /// flagged (equal codes do not show who holds a device the server may
    /// have added under a known user's name): `verify_member` confirms it.
    ///
    /// # Errors
    /// `InvalidArgument` if `code` is not a meeting code, or no longer the
    /// current one (a commit landed while the users compared); `Storage`
    /// if the store fails.
    pub fn mark_code_verified(
        &self,
        store: Arc<MemberKeyStore>,
        code: String,
    ) -> Result<(), CallsealError> {
        guard(|| {
            let compared = code
                .parse::<core_identity::SecurityCode>()
                .map_err(MeetingError::from)?;
            let mut session = lock(&self.inner)?;
            let mut store = lock(&store.inner)?;
            Ok(session.mark_code_verified(&mut *store, &compared)?)
        })
    }

    /// The user confirmed, out of band, that the device at leaf `index` is
    /// who it claims to be: its key is recorded as verified in `store`,
    /// `Changed` or not.
    ///
    /// # Errors
    /// `InvalidArgument` (no member at `index`), `Storage` if the store
    /// fails.
    pub fn verify_member(
        &self,
        store: Arc<MemberKeyStore>,
        index: u32,
    ) -> Result<(), CallsealError> {
        guard(|| {
            let mut session = lock(&self.inner)?;
            let mut store = lock(&store.inner)?;
            Ok(session.verify_member(&mut *store, index)?)
        })
    }
}
