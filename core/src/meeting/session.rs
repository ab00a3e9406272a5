//! The sans-IO meeting session (PROTOCOL.md §4).

use std::collections::{BTreeMap, VecDeque};

use crate::call::SecurityCode;
use crate::frame::media::{Codec, MediaError, MediaReceiver, MediaSender};
use crate::frame::{
    BaseKey, CipherSuite, Error as FrameError, Kid, Receiver, ReceiverConfig, Sender,
};
use crate::policy::{
    MAX_E2EE_MEETING_PARTICIPANTS, MeetingDecision, Participant, Platform, PolicyDocument, Reason,
};

use super::mls::{CommitMessages, CommitSummary, MlsClient, MlsGroup, MlsRsGroup};
use super::{KidLayout, MeetingError, meeting_code};

/// The MLS exporter label of SFrame base keys (RFC 9605 §5.2).
pub const SFRAME_BASE_KEY_LABEL: &[u8] = b"SFrame 1.0 Base Key";

/// The prefix of a meeting's MLS group id.
pub const GROUP_ID_PREFIX: &[u8] = b"callseal meeting 1 ";

/// Length of a meeting group id: prefix, suite (2), E (1), S (1),
/// context (8), a random nonce (16).
const GROUP_ID_LEN: usize = GROUP_ID_PREFIX.len() + 2 + 1 + 1 + 8 + 16;

/// A fresh group id for a meeting with `config`'s SFrame parameters
/// (PROTOCOL.md §4.3): every member reads the suite and KID layout from
/// the group itself, so no member can use others.
///
/// # Errors
/// [`MeetingError::Entropy`] if no randomness is available.
///
/// ```
/// use callseal_core::meeting::{MeetingConfig, meeting_group_id, group_parameters};
///
/// let config = MeetingConfig::default();
/// let id = meeting_group_id(&config)?;
/// assert_eq!(group_parameters(&id)?, (config.suite, config.layout));
/// assert_ne!(id, meeting_group_id(&config)?);
/// # Ok::<(), callseal_core::meeting::MeetingError>(())
/// ```
pub fn meeting_group_id(config: &MeetingConfig) -> Result<Vec<u8>, MeetingError> {
    use crate::call::Entropy;
    let mut nonce = [0u8; 16];
    crate::call::OsEntropy
        .fill(&mut nonce)
        .map_err(|_| MeetingError::Entropy)?;
    let layout = config.layout;
    let mut id = Vec::with_capacity(GROUP_ID_LEN);
    id.extend_from_slice(GROUP_ID_PREFIX);
    id.extend_from_slice(&config.suite.id().to_be_bytes());
    id.push(layout.epoch_bits());
    id.push(layout.index_bits());
    id.extend_from_slice(&layout.context().to_be_bytes());
    id.extend_from_slice(&nonce);
    Ok(id)
}

/// The SFrame suite and KID layout a meeting group id carries.
///
/// # Errors
/// [`MeetingError::Malformed`] if `group_id` is not a meeting's.
pub fn group_parameters(group_id: &[u8]) -> Result<(CipherSuite, KidLayout), MeetingError> {
    let bad = || MeetingError::Malformed("not a callseal meeting group".to_owned());
    let rest = group_id.strip_prefix(GROUP_ID_PREFIX).ok_or_else(bad)?;
    if group_id.len() != GROUP_ID_LEN {
        return Err(bad());
    }
    let suite = u16::from_be_bytes([rest[0], rest[1]]);
    let suite = CipherSuite::from_id(suite).map_err(|_| bad())?;
    let mut context = [0u8; 8];
    context.copy_from_slice(&rest[4..12]);
    let layout =
        KidLayout::new(rest[2], rest[3], u64::from_be_bytes(context)).map_err(|_| bad())?;
    Ok((suite, layout))
}

/// The leaf index of the organizer, the group's creator and only committer.
pub const ORGANIZER_INDEX: u32 = 0;

/// Commits held at most while an earlier one is missing; only epochs up to
/// this far ahead are held.
pub const MAX_HELD_COMMITS: usize = 64;

/// Candidates held at most for one epoch (the server, or someone posing as
/// it, may send several; the first that applies wins).
pub const MAX_CANDIDATES_PER_EPOCH: usize = 4;

/// The largest commit held (a Remove at 1,000 members is about 83 KB).
pub const MAX_HELD_COMMIT_BYTES: usize = 1 << 20;

/// How a meeting session behaves.
///
/// ```
/// use callseal_core::meeting::MeetingConfig;
///
/// let config = MeetingConfig::default();
/// assert_eq!(config.grace_ms, 10_000);
/// assert_eq!(config.layout.epoch_bits(), 8);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MeetingConfig {
    /// The SFrame cipher suite of the media.
    pub suite: CipherSuite,
    /// How KIDs carry sender index and epoch.
    pub layout: KidLayout,
    /// How long receivers keep a previous epoch's keys, and hold frames of
    /// an epoch not reached yet, in milliseconds.
    pub grace_ms: u64,
    /// The most frames held for an epoch not reached yet.
    pub max_held_frames: usize,
    /// The most bytes held for an epoch not reached yet.
    pub max_held_bytes: usize,
}

impl Default for MeetingConfig {
    fn default() -> Self {
        Self {
            suite: CipherSuite::AesGcm128Sha256,
            layout: KidLayout::default(),
            grace_ms: 10_000,
            max_held_frames: 4096,
            max_held_bytes: 16 << 20,
        }
    }
}

/// A member of the meeting.
///
/// ```
/// use callseal_core::meeting::Member;
/// use callseal_core::policy::Platform;
///
/// let m = Member { index: 0, user: "olga".into(), platform: Platform::DesktopMac };
/// assert_eq!(m.index, 0);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    /// The member's leaf index, which is also its sender index in KIDs.
    pub index: u32,
    /// The user.
    pub user: String,
    /// The platform the member joined from.
    pub platform: Platform,
}

/// A decrypted media frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MeetingFrame {
    /// The sender's leaf index.
    pub sender: u32,
    /// The low bits of the epoch the frame was sent in.
    pub epoch_tag: u64,
    /// The codec the sender declared.
    pub codec: Codec,
    /// The frame, as the sender's encoder made it (up to media mode's
    /// normalizations).
    pub payload: Vec<u8>,
}

/// What became of a received media frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Received {
    /// It decrypted.
    Frame(MeetingFrame),
    /// It names an epoch this member has not reached yet; it is held and
    /// comes back from the commit that reaches that epoch.
    Held,
}

/// What a commit changed, as the session applied it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EpochChange {
    /// The new epoch.
    pub epoch: u64,
    /// The meeting code of the new epoch.
    pub code: SecurityCode,
    /// The users added.
    pub added: Vec<String>,
    /// The leaf indexes removed.
    pub removed: Vec<u32>,
    /// Whether this member was removed (the session is over).
    pub removed_self: bool,
    /// Held frames that decrypted under the new epoch.
    pub released: Vec<MeetingFrame>,
}

/// Counters of what the session dropped.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MeetingStats {
    /// Held frames dropped: their epoch never came within the grace time, or
    /// the hold was full.
    pub held_frames_dropped: u64,
    /// Held frames that failed to authenticate once their epoch came.
    pub held_frames_rejected: u64,
}

struct EpochKeys {
    epoch: u64,
    kids: Vec<Kid>,
    /// When the keys go; `None` for the current epoch.
    expires_at: Option<u64>,
}

struct HeldFrame {
    bytes: Vec<u8>,
    arrived_ms: u64,
}

/// One member's view of an end-to-end encrypted meeting: its MLS group, its
/// SFrame sender for the current epoch, receivers for the current and the
/// previous epochs, and the meeting code. Sans-IO: the caller passes the
/// time in milliseconds and moves bytes between members and the server.
///
/// ```
/// use callseal_core::meeting::{MeetingConfig, MeetingSession, MlsClient, Received};
/// use callseal_core::frame::media::Codec;
/// use callseal_core::policy::{E2eeSetting, Participant, Platform, PolicyDocument, PolicyUpdate};
///
/// let mut policy = PolicyDocument::new();
/// policy.update_policy("Global", PolicyUpdate { meeting: Some(E2eeSetting::DisabledUserOverride), ..Default::default() })?;
/// let decision = policy.evaluate_meeting("olga", true, &[]);
///
/// let olga = Participant::new("olga", Platform::DesktopMac);
/// let olga_client = MlsClient::new(&callseal_core::meeting::credential_identity(&olga))?;
/// let mut organizer = MeetingSession::create(&olga_client, olga, &decision, policy.clone(), MeetingConfig::default(), 0)?;
///
/// let pete = Participant::new("pete", Platform::Android);
/// let pete_client = MlsClient::new(&callseal_core::meeting::credential_identity(&pete))?;
/// let messages = organizer.add(&pete_client.key_package()?)?;
/// organizer.commit_accepted(0)?; // the server ordered it
/// let mut member = MeetingSession::join(&pete_client, pete, messages.welcome.as_deref().unwrap_or_default(), policy, MeetingConfig::default(), 0)?;
///
/// assert_eq!(organizer.code(), member.code());
/// let frame = organizer.encrypt(Codec::Opus, &[0x78, 1, 2, 3])?;
/// let Received::Frame(got) = member.decrypt(&frame, 5)? else { panic!("held") };
/// assert_eq!(got.payload, [0x78, 1, 2, 3]);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct MeetingSession<G: MlsGroup = MlsRsGroup> {
    group: G,
    config: MeetingConfig,
    policy: PolicyDocument,
    me: Participant,
    sender: MediaSender,
    receiver: MediaReceiver,
    epochs: VecDeque<EpochKeys>,
    held_frames: VecDeque<HeldFrame>,
    held_bytes: usize,
    held_commits: BTreeMap<u64, Vec<Vec<u8>>>,
    code: SecurityCode,
    removed: bool,
    stats: MeetingStats,
    scratch: Vec<u8>,
}

impl<G: MlsGroup> std::fmt::Debug for MeetingSession<G> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MeetingSession")
            .field("user", &self.me.user)
            .field("epoch", &self.group.epoch())
            .field("index", &self.group.own_index())
            .field("code", &self.code)
            .field("removed", &self.removed)
            .finish_non_exhaustive()
    }
}

/// The identity an MLS credential carries for `participant`:
/// `user:platform` (PROTOCOL.md §4.1).
pub fn credential_identity(participant: &Participant) -> Vec<u8> {
    format!("{}:{}", participant.user, participant.platform).into_bytes()
}

/// Parses a credential identity back into a participant.
///
/// # Errors
/// [`MeetingError::InvalidParticipant`].
pub fn parse_credential_identity(identity: &[u8]) -> Result<Participant, MeetingError> {
    let text = std::str::from_utf8(identity)
        .map_err(|_| MeetingError::InvalidParticipant("credential is not UTF-8".to_owned()))?;
    let (user, platform) = text.split_once(':').ok_or_else(|| {
        MeetingError::InvalidParticipant(format!("{text:?} is not user:platform"))
    })?;
    crate::policy::check_principal("user", user)
        .map_err(|e| MeetingError::InvalidParticipant(e.to_string()))?;
    let platform = platform
        .parse()
        .map_err(|e: crate::policy::PolicyError| MeetingError::InvalidParticipant(e.to_string()))?;
    Ok(Participant::new(user, platform))
}

impl MeetingSession<MlsRsGroup> {
    /// The organizer starts the meeting: creates the MLS group, if the
    /// policy decision allows an end-to-end encrypted meeting.
    ///
    /// # Errors
    /// [`MeetingError::PolicyForbids`] with the decision's reason;
    /// [`MeetingError::Mls`].
    pub fn create(
        client: &MlsClient,
        me: Participant,
        decision: &MeetingDecision,
        policy: PolicyDocument,
        config: MeetingConfig,
        now_ms: u64,
    ) -> Result<Self, MeetingError> {
        if !decision.e2ee {
            return Err(MeetingError::PolicyForbids(decision.reason));
        }
        let group = client.create_group_with_id(meeting_group_id(&config)?)?;
        Self::with_group(group, me, policy, config, now_ms)
    }

    /// A participant joins from the Welcome the organizer's commit made
    /// for `client`'s key package. The SFrame suite and KID layout come
    /// from the group, whatever `config` says; the rest of `config` (grace
    /// time, hold limits) is this member's.
    ///
    /// # Errors
    /// [`MeetingError::Malformed`], [`MeetingError::Mls`].
    pub fn join(
        client: &MlsClient,
        me: Participant,
        welcome: &[u8],
        policy: PolicyDocument,
        config: MeetingConfig,
        now_ms: u64,
    ) -> Result<Self, MeetingError> {
        Self::with_group(client.join_group(welcome)?, me, policy, config, now_ms)
    }
}

impl<G: MlsGroup> MeetingSession<G> {
    /// A session over an MLS group that already exists. The SFrame suite
    /// and KID layout come from the group id ([`group_parameters`]).
    ///
    /// # Errors
    /// [`MeetingError::Malformed`] if the group is not a meeting's;
    /// [`MeetingError::InvalidConfig`], [`MeetingError::Mls`].
    pub fn with_group(
        group: G,
        me: Participant,
        policy: PolicyDocument,
        config: MeetingConfig,
        now_ms: u64,
    ) -> Result<Self, MeetingError> {
        let (suite, layout) = group_parameters(&group.group_id())?;
        let config = MeetingConfig {
            suite,
            layout,
            ..config
        };
        if config.grace_ms == 0 || config.max_held_frames == 0 {
            return Err(MeetingError::InvalidConfig(
                "grace time and the frame hold must be positive",
            ));
        }
        let placeholder =
            BaseKey::new(&vec![0u8; config.suite.key_len()]).map_err(MediaError::from)?;
        let sender = Sender::new(config.suite, Kid(0), placeholder).map_err(MediaError::from)?;
        let mut session = Self {
            group,
            config,
            policy,
            me,
            sender: MediaSender::new(sender),
            receiver: MediaReceiver::new(Receiver::new(ReceiverConfig::default())),
            epochs: VecDeque::new(),
            held_frames: VecDeque::new(),
            held_bytes: 0,
            held_commits: BTreeMap::new(),
            code: SecurityCode::from_bytes([0; crate::call::SECURITY_CODE_LEN]),
            removed: false,
            stats: MeetingStats::default(),
            scratch: Vec::new(),
        };
        session.install_epoch(now_ms)?;
        Ok(session)
    }

    /// The current epoch.
    pub fn epoch(&self) -> u64 {
        self.group.epoch()
    }

    /// The meeting's configuration (suite and layout as the group fixes
    /// them).
    pub fn config(&self) -> MeetingConfig {
        self.config
    }

    /// The meeting code of the current epoch.
    pub fn code(&self) -> SecurityCode {
        self.code
    }

    /// This member's leaf index.
    pub fn own_index(&self) -> u32 {
        self.group.own_index()
    }

    /// Whether this member was removed.
    pub fn is_removed(&self) -> bool {
        self.removed
    }

    /// Counters of dropped frames.
    pub fn stats(&self) -> MeetingStats {
        self.stats
    }

    /// Frames held for an epoch not reached yet.
    pub fn held_frames(&self) -> usize {
        self.held_frames.len()
    }

    /// The policy document used for admission.
    pub fn policy(&self) -> &PolicyDocument {
        &self.policy
    }

    /// Replaces the policy document used for admission (a newer copy from
    /// the app's server).
    pub fn set_policy(&mut self, policy: PolicyDocument) {
        self.policy = policy;
    }

    /// The members of the current epoch, by leaf index. A member whose
    /// credential does not parse is shown with its raw identity and the
    /// default platform.
    pub fn members(&self) -> Vec<Member> {
        self.group
            .members()
            .into_iter()
            .map(|m| match parse_credential_identity(&m.identity) {
                Ok(p) => Member {
                    index: m.index,
                    user: p.user,
                    platform: p.platform,
                },
                Err(_) => Member {
                    index: m.index,
                    user: String::from_utf8_lossy(&m.identity).into_owned(),
                    platform: Platform::default(),
                },
            })
            .collect()
    }

    fn require_organizer(&self) -> Result<(), MeetingError> {
        if self.removed {
            return Err(MeetingError::Removed);
        }
        if self.group.own_index() != ORGANIZER_INDEX {
            return Err(MeetingError::NotOrganizer);
        }
        if self.group.has_pending_commit() {
            return Err(MeetingError::CommitPending);
        }
        Ok(())
    }

    /// The organizer admits the owner of `key_package`: checks the policy
    /// (compliance recording, platform, the participant cap) and prepares
    /// the commit and Welcome. Nothing changes until
    /// [`commit_accepted`](Self::commit_accepted).
    ///
    /// # Errors
    /// [`MeetingError::NotOrganizer`], [`MeetingError::CommitPending`],
    /// [`MeetingError::AdmissionRefused`], [`MeetingError::InvalidParticipant`],
    /// [`MeetingError::Malformed`], [`MeetingError::Mls`].
    pub fn add(&mut self, key_package: &[u8]) -> Result<CommitMessages, MeetingError> {
        self.require_organizer()?;
        let participant =
            parse_credential_identity(&self.group.key_package_identity(key_package)?)?;
        let reason = self.policy.admit(&participant, self.group.members().len());
        if reason != Reason::Ok {
            return Err(MeetingError::AdmissionRefused {
                user: participant.user,
                reason,
            });
        }
        self.group.commit(&[key_package.to_vec()], &[])
    }

    /// The organizer removes `user` (every leaf of that user).
    ///
    /// # Errors
    /// [`MeetingError::NotOrganizer`], [`MeetingError::CommitPending`],
    /// [`MeetingError::NotAMember`], [`MeetingError::Mls`].
    pub fn remove(&mut self, user: &str) -> Result<CommitMessages, MeetingError> {
        self.require_organizer()?;
        let leaves: Vec<u32> = self
            .members()
            .into_iter()
            .filter(|m| m.user == user && m.index != ORGANIZER_INDEX)
            .map(|m| m.index)
            .collect();
        if leaves.is_empty() {
            return Err(MeetingError::NotAMember(user.to_owned()));
        }
        self.group.commit(&[], &leaves)
    }

    /// The server ordered this member's pending commit: apply it.
    ///
    /// # Errors
    /// [`MeetingError::NoPendingCommit`], [`MeetingError::Mls`].
    pub fn commit_accepted(&mut self, now_ms: u64) -> Result<EpochChange, MeetingError> {
        if !self.group.has_pending_commit() {
            return Err(MeetingError::NoPendingCommit);
        }
        let before = self.group.clone();
        let result = self
            .group
            .apply_pending_commit()
            .and_then(|s| self.after_commit(s, now_ms));
        if result.is_err() {
            self.group = before;
        }
        result
    }

    /// The server ordered another commit first: forget this member's.
    pub fn commit_rejected(&mut self) {
        self.group.discard_pending_commit();
    }

    /// Handles a commit the server relayed. A commit for the current epoch
    /// is checked and applied (and any held commits that follow it); one for
    /// a later epoch is held until the gap is filled and gives no change.
    ///
    /// # Errors
    /// [`MeetingError::StaleCommit`] for an epoch already left (a duplicate);
    /// [`MeetingError::TooManyHeldCommits`]; [`MeetingError::UnauthorizedCommitter`];
    /// [`MeetingError::AdmissionRefused`]; [`MeetingError::Malformed`];
    /// [`MeetingError::Mls`]; [`MeetingError::Removed`]. The session is
    /// unchanged by any error.
    pub fn handle_commit(
        &mut self,
        commit: &[u8],
        now_ms: u64,
    ) -> Result<Vec<EpochChange>, MeetingError> {
        if self.removed {
            return Err(MeetingError::Removed);
        }
        self.expire(now_ms);
        let epoch = self.group.message_epoch(commit)?;
        let current = self.group.epoch();
        if epoch < current {
            return Err(MeetingError::StaleCommit { epoch, current });
        }
        if epoch > current {
            self.hold_commit(epoch, current, commit)?;
            return Ok(Vec::new());
        }
        let mut changes = vec![self.apply_commit(commit, now_ms)?];
        while !self.removed {
            let next = self.group.epoch();
            self.held_commits.retain(|&e, _| e >= next);
            let Some(candidates) = self.held_commits.remove(&next) else {
                break;
            };
            // The first candidate that applies wins; the others (forgeries,
            // or losers) are dropped, and the server resends if none did.
            let applied = candidates
                .iter()
                .find_map(|held| self.apply_commit(held, now_ms).ok());
            match applied {
                Some(change) => changes.push(change),
                None => break,
            }
        }
        Ok(changes)
    }

    /// Holds a commit for a later epoch, within bounds: at most
    /// [`MAX_HELD_COMMITS`] epochs ahead and held in all, at most
    /// [`MAX_CANDIDATES_PER_EPOCH`] per epoch (the first ones kept), each at
    /// most [`MAX_HELD_COMMIT_BYTES`]. The epoch is read from an
    /// unauthenticated header, so nothing held is trusted until it applies.
    fn hold_commit(&mut self, epoch: u64, current: u64, commit: &[u8]) -> Result<(), MeetingError> {
        let too_far = epoch - current > MAX_HELD_COMMITS as u64;
        let held: usize = self.held_commits.values().map(Vec::len).sum();
        let candidates = self.held_commits.get(&epoch).map_or(0, Vec::len);
        if too_far
            || held >= MAX_HELD_COMMITS
            || candidates >= MAX_CANDIDATES_PER_EPOCH
            || commit.len() > MAX_HELD_COMMIT_BYTES
        {
            return Err(MeetingError::TooManyHeldCommits { current });
        }
        let entry = self.held_commits.entry(epoch).or_default();
        if !entry.iter().any(|c| c.as_slice() == commit) {
            entry.push(commit.to_vec());
        }
        Ok(())
    }

    /// Checks and applies one commit for the current epoch, rolling back on
    /// any refusal.
    fn apply_commit(&mut self, commit: &[u8], now_ms: u64) -> Result<EpochChange, MeetingError> {
        // The clone keeps any pending commit of ours: a refused message must
        // not cost the organizer the commit it is waiting to have ordered.
        // (mls-rs applies our own commit itself if the server echoes it.)
        let before = self.group.clone();
        let result = self
            .group
            .process_commit(commit)
            .and_then(|s| self.check_commit(&s).map(|()| s))
            .and_then(|s| self.after_commit(s, now_ms));
        if result.is_err() {
            self.group = before;
        }
        result
    }

    /// Every member's checks on a commit (PROTOCOL.md §4.2).
    fn check_commit(&self, summary: &CommitSummary) -> Result<(), MeetingError> {
        if summary.committer != ORGANIZER_INDEX {
            return Err(MeetingError::UnauthorizedCommitter {
                committer: summary.committer,
            });
        }
        if summary.removed_self {
            return Ok(());
        }
        let layout = self.config.layout;
        if self
            .group
            .members()
            .iter()
            .any(|m| layout.kid(summary.epoch, m.index).is_err())
        {
            return Err(MeetingError::InvalidConfig(
                "a member index does not fit the meeting's KID layout",
            ));
        }
        let count = self.group.members().len();
        for identity in &summary.added {
            let participant = parse_credential_identity(identity)?;
            let mut reason = self.policy.admit(&participant, 0);
            if reason == Reason::Ok && count > MAX_E2EE_MEETING_PARTICIPANTS {
                reason = Reason::MeetingFull;
            }
            if reason != Reason::Ok {
                return Err(MeetingError::AdmissionRefused {
                    user: participant.user,
                    reason,
                });
            }
        }
        Ok(())
    }

    fn after_commit(
        &mut self,
        summary: CommitSummary,
        now_ms: u64,
    ) -> Result<EpochChange, MeetingError> {
        let added = summary
            .added
            .iter()
            .map(|id| {
                parse_credential_identity(id)
                    .map(|p| p.user)
                    .unwrap_or_else(|_| String::from_utf8_lossy(id).into_owned())
            })
            .collect();
        let mut released = Vec::new();
        if summary.removed_self {
            self.removed = true;
            // Keep the old keys for their grace time; no new ones exist.
            for e in &mut self.epochs {
                e.expires_at
                    .get_or_insert(now_ms.saturating_add(self.config.grace_ms));
            }
            self.drop_held_frames();
        } else {
            self.install_epoch(now_ms)?;
            released = self.release_held(now_ms);
        }
        Ok(EpochChange {
            epoch: summary.epoch,
            code: self.code,
            added,
            removed: summary.removed,
            removed_self: summary.removed_self,
            released,
        })
    }

    /// Derives the current epoch's keys (RFC 9605 §5.2), makes them the
    /// sender's, adds every member's to the receiver, and starts the grace
    /// time of the previous epoch.
    fn install_epoch(&mut self, now_ms: u64) -> Result<(), MeetingError> {
        // Everything that can fail comes first, so a failure changes nothing.
        let epoch = self.group.epoch();
        let suite = self.config.suite;
        let layout = self.config.layout;
        let base = self
            .group
            .export_secret(SFRAME_BASE_KEY_LABEL, b"", suite.key_len())?;
        let code = meeting_code(&self.group.epoch_authenticator()?);
        let mut keys = Vec::new();
        for m in self.group.members() {
            let key = BaseKey::new(&base).map_err(MediaError::from)?;
            keys.push((layout.kid(epoch, m.index)?, key));
        }
        let own = layout.kid(epoch, self.group.own_index())?;
        let key = BaseKey::new(&base).map_err(MediaError::from)?;
        let sender = Sender::new(suite, own, key).map_err(MediaError::from)?;

        let tag = layout.epoch_tag(epoch);
        let expires = now_ms.saturating_add(self.config.grace_ms);
        for e in &mut self.epochs {
            e.expires_at.get_or_insert(expires);
        }
        // An older epoch with the same low bits would collide: drop it now.
        let (colliding, kept): (Vec<_>, Vec<_>) = self
            .epochs
            .drain(..)
            .partition(|e| layout.epoch_tag(e.epoch) == tag);
        self.epochs = kept.into();
        for e in colliding {
            self.remove_keys(&e);
        }
        let mut kids = Vec::with_capacity(keys.len());
        for (kid, key) in keys {
            // Cannot fail: the key has the suite's length (the sender above
            // accepted the same bytes).
            let _ = self.receiver.receiver_mut().add_key(kid, suite, key);
            kids.push(kid);
        }
        self.sender = MediaSender::new(sender);
        self.epochs.push_back(EpochKeys {
            epoch,
            kids,
            expires_at: None,
        });
        self.code = code;
        Ok(())
    }

    fn remove_keys(&mut self, keys: &EpochKeys) {
        for kid in &keys.kids {
            self.receiver.receiver_mut().remove_key(*kid);
        }
    }

    /// Drops epochs and held frames whose grace time is over.
    pub fn expire(&mut self, now_ms: u64) {
        let (expired, kept): (Vec<_>, Vec<_>) = self
            .epochs
            .drain(..)
            .partition(|e| e.expires_at.is_some_and(|t| t <= now_ms));
        self.epochs = kept.into();
        for e in expired {
            self.remove_keys(&e);
        }
        let grace = self.config.grace_ms;
        while let Some(front) = self.held_frames.front() {
            if front.arrived_ms.saturating_add(grace) > now_ms {
                break;
            }
            self.pop_held();
            self.stats.held_frames_dropped += 1;
        }
    }

    fn pop_held(&mut self) -> Option<HeldFrame> {
        let held = self.held_frames.pop_front()?;
        self.held_bytes -= held.bytes.len();
        Some(held)
    }

    fn drop_held_frames(&mut self) {
        self.stats.held_frames_dropped += self.held_frames.len() as u64;
        self.held_frames.clear();
        self.held_bytes = 0;
    }

    /// Encrypts one of this member's frames under the current epoch.
    ///
    /// # Errors
    /// [`MeetingError::Removed`]; [`MeetingError::Media`] as
    /// [`MediaSender::encrypt_frame`].
    pub fn encrypt(&mut self, codec: Codec, frame: &[u8]) -> Result<Vec<u8>, MeetingError> {
        if self.removed {
            return Err(MeetingError::Removed);
        }
        let mut out = Vec::new();
        self.sender.encrypt_frame(codec, frame, &mut out)?;
        Ok(out)
    }

    /// Decrypts a member's frame, or holds it if it names an epoch this
    /// member has not reached yet.
    ///
    /// # Errors
    /// [`MeetingError::Media`]: authentication failure, replay, a KID of no
    /// member, malformed frames.
    pub fn decrypt(&mut self, frame: &[u8], now_ms: u64) -> Result<Received, MeetingError> {
        self.expire(now_ms);
        match self.try_decrypt(frame) {
            Err(MediaError::Frame(FrameError::UnknownKeyId(kid)))
                if !self.removed && self.is_unreached_epoch(kid) =>
            {
                self.hold(frame, now_ms);
                Ok(Received::Held)
            }
            Err(err) => Err(err.into()),
            Ok(frame) => Ok(Received::Frame(frame)),
        }
    }

    fn try_decrypt(&mut self, frame: &[u8]) -> Result<MeetingFrame, MediaError> {
        let mut out = std::mem::take(&mut self.scratch);
        let result = self.receiver.decrypt_frame(frame, &mut out);
        let decoded = result.map(|d| {
            let (epoch_tag, sender) = self.config.layout.split(d.kid).unwrap_or_default();
            MeetingFrame {
                sender,
                epoch_tag,
                codec: d.codec,
                payload: out.clone(),
            }
        });
        out.clear();
        self.scratch = out;
        decoded
    }

    /// Whether `kid` is in this meeting's layout and names an epoch ahead of
    /// the current one: one the sender reached first. Epoch tags are the low
    /// `E` bits, so "ahead" is the half of the tag space after the current
    /// tag; a tag behind it is an epoch whose keys are gone.
    fn is_unreached_epoch(&self, kid: Kid) -> bool {
        let layout = self.config.layout;
        let Some((tag, _)) = layout.split(kid) else {
            return false;
        };
        let bits = u32::from(layout.epoch_bits());
        let current = layout.epoch_tag(self.group.epoch());
        let ahead = tag.wrapping_sub(current) & layout.epoch_tag(u64::MAX);
        let half = 1u64.checked_shl(bits.saturating_sub(1)).unwrap_or(u64::MAX);
        (1..=half).contains(&ahead)
    }

    fn hold(&mut self, frame: &[u8], now_ms: u64) {
        if frame.len() > self.config.max_held_bytes {
            self.stats.held_frames_dropped += 1;
            return;
        }
        while self.held_frames.len() >= self.config.max_held_frames
            || self.held_bytes + frame.len() > self.config.max_held_bytes
        {
            if self.pop_held().is_none() {
                break;
            }
            self.stats.held_frames_dropped += 1;
        }
        self.held_bytes += frame.len();
        self.held_frames.push_back(HeldFrame {
            bytes: frame.to_vec(),
            arrived_ms: now_ms,
        });
    }

    /// Retries held frames after a new epoch: those that decrypt are
    /// returned; those still unreached stay; the rest are dropped.
    fn release_held(&mut self, now_ms: u64) -> Vec<MeetingFrame> {
        let held: Vec<HeldFrame> = self.held_frames.drain(..).collect();
        self.held_bytes = 0;
        let mut released = Vec::new();
        for frame in held {
            match self.try_decrypt(&frame.bytes) {
                Ok(f) => released.push(f),
                Err(MediaError::Frame(FrameError::UnknownKeyId(kid)))
                    if self.is_unreached_epoch(kid) =>
                {
                    self.held_bytes += frame.bytes.len();
                    self.held_frames.push_back(frame);
                }
                Err(_) => self.stats.held_frames_rejected += 1,
            }
        }
        self.expire(now_ms);
        released
    }
}
