//! Meetings (PROTOCOL.md §4): an MLS identity, and the meeting session that
//! turns MLS epochs into SFrame keys and meeting codes.

use std::sync::{Arc, Mutex};

use callseal_core::meeting::{self as core_meeting, MeetingConfig, MeetingError};
use callseal_core::policy as core_policy;

use crate::error::CallsealError;
use crate::frame::suite;
use crate::guard::{guard, lock};
use crate::media::codec;
use crate::policy::PolicyDocument;

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

    /// A new key package to publish through the server.
    ///
    /// # Errors
    /// `AuthenticationFailed` if MLS fails.
    pub fn key_package(&self) -> Result<Vec<u8>, CallsealError> {
        guard(|| Ok(self.inner.key_package()?))
    }
}

/// The messages a commit produces.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct CommitMessages {
    /// The commit, for the server to order and relay.
    pub commit: Vec<u8>,
    /// The Welcome for the member added, if any.
    pub welcome: Option<Vec<u8>>,
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
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct EpochChange {
    /// The new epoch.
    pub epoch: u64,
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
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct MeetingMember {
    /// Leaf (and sender) index.
    pub index: u32,
    /// The user.
    pub user: String,
    /// The platform, kebab-case.
    pub platform: String,
}

fn frame(f: core_meeting::MeetingFrame) -> MeetingFrame {
    MeetingFrame {
        sender: f.sender,
        codec: f.codec.name().to_owned(),
        payload: f.payload,
    }
}

fn change(c: core_meeting::EpochChange) -> EpochChange {
    EpochChange {
        epoch: c.epoch,
        code: c.code.to_string(),
        added: c.added,
        removed: c.removed,
        removed_self: c.removed_self,
        released: c.released.into_iter().map(frame).collect(),
    }
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
/// use callseal_ffi::{MeetingClient, MeetingSession, PolicyDocument};
///
/// let policy = Arc::new(PolicyDocument::from_json(r#"{"version":1,"policies":[{"Identity":"Global",
///   "CallingEndtoEndEncryptionEnabledType":"Disabled","MeetingEndToEndEncryption":"DisabledUserOverride",
///   "Description":""}]}"#.into())?);
/// let olga = Arc::new(MeetingClient::new("olga".into(), "desktop-mac".into())?);
/// let pete = Arc::new(MeetingClient::new("pete".into(), "ios".into())?);
/// let organizer = MeetingSession::create(olga, policy.clone(), 4, 0)?;
/// let added = organizer.add(pete.key_package()?)?;
/// organizer.commit_accepted(0)?;
/// let member = MeetingSession::join(pete, added.welcome.unwrap_or_default(), policy, 0)?;
/// assert_eq!(organizer.code()?, member.code()?);
/// let frame = organizer.encrypt("Opus".into(), vec![0x78, 1, 2])?;
/// assert_eq!(member.decrypt(frame, 1)?.frame.map(|f| f.payload), Some(vec![0x78, 1, 2]));
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
        policy: Arc<PolicyDocument>,
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

    /// Joins from the Welcome the organizer's commit made for `client`'s
    /// key package.
    ///
    /// # Errors
    /// `Malformed`, `AuthenticationFailed`.
    #[uniffi::constructor]
    pub fn join(
        client: Arc<MeetingClient>,
        welcome: Vec<u8>,
        policy: Arc<PolicyDocument>,
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

    /// The organizer admits the owner of `key_package` (after the policy's
    /// admission check); applied once the server orders it.
    ///
    /// # Errors
    /// `PolicyForbids` (admission refused), `ProtocolViolation` (not the
    /// organizer, or a commit already pending), `Malformed`.
    pub fn add(&self, key_package: Vec<u8>) -> Result<CommitMessages, CallsealError> {
        guard(|| Ok(messages(lock(&self.inner)?.add(&key_package)?)))
    }

    /// The organizer removes `user`.
    ///
    /// # Errors
    /// `InvalidArgument` (not a member), `ProtocolViolation`.
    pub fn remove(&self, user: String) -> Result<CommitMessages, CallsealError> {
        guard(|| Ok(messages(lock(&self.inner)?.remove(&user)?)))
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
        guard(|| {
            let changes = lock(&self.inner)?.handle_commit(&commit, now_ms)?;
            Ok(changes.into_iter().map(change).collect())
        })
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

    /// The members of the current epoch.
    pub fn members(&self) -> Result<Vec<MeetingMember>, CallsealError> {
        guard(|| {
            Ok(lock(&self.inner)?
                .members()
                .into_iter()
                .map(|m| MeetingMember {
                    index: m.index,
                    user: m.user,
                    platform: m.platform.code().to_owned(),
                })
                .collect())
        })
    }
}
