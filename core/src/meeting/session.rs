//! The sans-IO meeting session (PROTOCOL.md §4).

use std::collections::{BTreeMap, VecDeque};

use crate::frame::media::{Codec, MediaError, MediaReceiver, MediaSender};
use crate::frame::{
    BaseKey, CipherSuite, Error as FrameError, Kid, Receiver, ReceiverConfig, Sender,
};
use crate::identity::SecurityCode;
use crate::policy::{
    MAX_E2EE_MEETING_PARTICIPANTS, MeetingDecision, Participant, Platform, PolicyDocument, Reason,
};

use super::mls::{CommitMessages, CommitSummary, MlsClient, MlsGroup, MlsRsGroup, SnapshotToken};
use super::roles::{Roles, SignatureKey};
use super::roster::{Role, RosterEntry};
use super::{KidLayout, MeetingError, meeting_code};
use crate::identity::{MemberKeyStore, PeerStatus, StoredIdentity};

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
    use crate::identity::Entropy;
    let mut nonce = [0u8; 16];
    crate::identity::OsEntropy
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
/// assert_eq!((config.update_every, config.update_after_ms), (32, 900_000));
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
    /// A member is due for a self-update after this many commits that added
    /// or removed members since its last commit with a path (PROTOCOL.md
    /// §4.8).
    pub update_every: u64,
    /// ...or after this many milliseconds.
    pub update_after_ms: u64,
}

impl Default for MeetingConfig {
    fn default() -> Self {
        Self {
            suite: CipherSuite::AesGcm128Sha256,
            layout: KidLayout::default(),
            grace_ms: 10_000,
            max_held_frames: 4096,
            max_held_bytes: 16 << 20,
            update_every: 32,
            update_after_ms: 900_000,
        }
    }
}

/// A member of the meeting.
///
/// ```
/// use callseal_core::meeting::{Member, Role};
/// use callseal_core::policy::Platform;
///
/// let m = Member {
///     index: 0,
///     user: "olga".into(),
///     platform: Platform::DesktopMac,
///     signature_key: [7; 32],
///     role: Role::Organizer,
/// };
/// assert!(m.role.is_committer());
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    /// The member's leaf index, which is also its sender index in KIDs.
    pub index: u32,
    /// The user.
    pub user: String,
    /// The platform the member joined from.
    pub platform: Platform,
    /// The member's MLS signature key: its meeting identity.
    pub signature_key: SignatureKey,
    /// The member's role in the current epoch.
    pub role: Role,
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
    /// The committer's leaf index (in the epoch before).
    pub committer: u32,
    /// Whether the commit was a self-update (no proposals, an update path).
    pub self_update: bool,
    /// Whether the commit changed the committer list.
    pub roles_changed: bool,
    /// Whether the organizer (the first listed committer present) is
    /// another member than before.
    pub organizer_changed: bool,
    /// Whether this member's own pending commit lost the race for the
    /// epoch and was discarded (commit again if still wanted).
    pub own_commit_discarded: bool,
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
    /// When this member last committed an update path (or joined).
    last_path_ms: u64,
    /// Commits that added or removed members since then.
    membership_changes_since_path: u64,
    /// Whether this member sent an update path since it joined: until then
    /// its periods are stretched by its leaf index, so members admitted
    /// together do not all update at once (PROTOCOL.md §4.8).
    updated_since_join: bool,
    /// The identity status of each member key, from the first
    /// [`check_identities`](Self::check_identities) that saw it.
    statuses: BTreeMap<SignatureKey, PeerStatus>,
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

    /// A participant joins from the Welcome a committer's commit made
    /// for `client`'s key package. The SFrame suite and KID layout come
    /// from the group, whatever `config` says; the rest of `config` (grace
    /// time, hold limits, update periods) is this member's.
    ///
    /// # Errors
    /// [`MeetingError::UnauthorizedCommitter`] if the Welcome's commit is not
    /// a committer's; [`MeetingError::KeyPackageUsed`] if `client` already
    /// joined with this key package; [`MeetingError::Malformed`],
    /// [`MeetingError::Mls`].
    pub fn join(
        client: &MlsClient,
        me: Participant,
        welcome: &[u8],
        policy: PolicyDocument,
        config: MeetingConfig,
        now_ms: u64,
    ) -> Result<Self, MeetingError> {
        let joined = client.join_group_unconsumed(welcome)?;
        let members = joined.group.members();
        let committers = joined.group.roles()?.effective(&member_keys(&members));
        let sender_key = members
            .iter()
            .find(|m| m.index == joined.welcome_sender)
            .map(|m| m.signature_key);
        if !sender_key.is_some_and(|k| committers.contains(&k)) {
            return Err(MeetingError::UnauthorizedCommitter {
                committer: joined.welcome_sender,
            });
        }
        let key_packages = joined.key_packages().to_vec();
        let session = Self::with_group(joined.group, me, policy, config, now_ms)?;
        // The key package is used up only once every check passed: a
        // refused Welcome must not cost the joiner its key package.
        client.consume(&key_packages)?;
        Ok(session)
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
        if config.grace_ms == 0
            || config.max_held_frames == 0
            || config.update_every == 0
            || config.update_after_ms == 0
        {
            return Err(MeetingError::InvalidConfig(
                "grace time, the frame hold and the update periods must be positive",
            ));
        }
        // A group without a valid committer list is not a meeting's.
        group.roles()?;
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
            code: SecurityCode::from_bytes([0; crate::identity::SECURITY_CODE_LEN]),
            removed: false,
            stats: MeetingStats::default(),
            scratch: Vec::new(),
            last_path_ms: now_ms,
            membership_changes_since_path: 0,
            updated_since_join: false,
            statuses: BTreeMap::new(),
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

    /// The members of the current epoch, by leaf index, with their roles. A
    /// member whose credential does not parse is shown with its raw
    /// identity and the default platform.
    pub fn members(&self) -> Vec<Member> {
        let mls_members = self.group.members();
        let committers = self.effective_committers_of(&mls_members);
        mls_members
            .into_iter()
            .map(|m| {
                let role = match committers.iter().position(|k| *k == m.signature_key) {
                    Some(0) => Role::Organizer,
                    Some(_) => Role::CoOrganizer,
                    None => Role::Participant,
                };
                let (user, platform) = match parse_credential_identity(&m.identity) {
                    Ok(p) => (p.user, p.platform),
                    Err(_) => (
                        String::from_utf8_lossy(&m.identity).into_owned(),
                        Platform::default(),
                    ),
                };
                Member {
                    index: m.index,
                    user,
                    platform,
                    signature_key: m.signature_key,
                    role,
                }
            })
            .collect()
    }

    /// The committer list of the current epoch, as the group context
    /// carries it (PROTOCOL.md §4.7).
    ///
    /// # Errors
    /// [`MeetingError::InvalidRoles`].
    pub fn roles(&self) -> Result<Roles, MeetingError> {
        self.group.roles()
    }

    /// The effective committers' keys: listed keys of current members,
    /// organizer first. Empty if the list does not parse (no one commits).
    fn effective_committers_of(&self, members: &[super::MlsMember]) -> Vec<SignatureKey> {
        self.group
            .roles()
            .map(|r| r.effective(&member_keys(members)))
            .unwrap_or_default()
    }

    /// The HPKE public key of the leaf at `index` in this member's tree
    /// (it changes with each update path the member sends).
    pub fn leaf_key(&self, index: u32) -> Option<Vec<u8>> {
        self.group.leaf_key(index)
    }

    /// This member's role in the current epoch.
    pub fn role(&self) -> Role {
        let own = self.group.own_index();
        self.members()
            .into_iter()
            .find(|m| m.index == own)
            .map_or(Role::Participant, |m| m.role)
    }

    /// The organizer's leaf index, if a committer is present.
    pub fn organizer(&self) -> Option<u32> {
        self.members()
            .into_iter()
            .find(|m| m.role == Role::Organizer)
            .map(|m| m.index)
    }

    fn require_can_commit(&self) -> Result<(), MeetingError> {
        if self.removed {
            return Err(MeetingError::Removed);
        }
        if self.group.has_pending_commit() {
            return Err(MeetingError::CommitPending);
        }
        Ok(())
    }

    fn require_committer(&self) -> Result<(), MeetingError> {
        self.require_can_commit()?;
        if !self.role().is_committer() {
            return Err(MeetingError::NotACommitter);
        }
        Ok(())
    }

    fn require_organizer(&self) -> Result<(), MeetingError> {
        self.require_can_commit()?;
        if self.role() != Role::Organizer {
            return Err(MeetingError::NotOrganizer);
        }
        Ok(())
    }

    /// A committer admits the owner of `key_package`: checks the policy
    /// (compliance recording, platform, the participant cap) and prepares
    /// the commit and Welcome. Nothing changes until
    /// [`commit_accepted`](Self::commit_accepted).
    ///
    /// # Errors
    /// [`MeetingError::NotACommitter`], [`MeetingError::CommitPending`],
    /// [`MeetingError::AdmissionRefused`], [`MeetingError::InvalidParticipant`],
    /// [`MeetingError::Malformed`], [`MeetingError::Mls`].
    pub fn add(&mut self, key_package: &[u8]) -> Result<CommitMessages, MeetingError> {
        let batch = self.change_membership(&[key_package.to_vec()], &[])?;
        match batch.refused.into_iter().next() {
            Some((user, reason)) => Err(MeetingError::AdmissionRefused { user, reason }),
            None => Ok(batch.messages),
        }
    }

    /// A committer removes `user` (every leaf of that user but its own).
    ///
    /// # Errors
    /// [`MeetingError::NotACommitter`], [`MeetingError::CommitPending`],
    /// [`MeetingError::NotAMember`], [`MeetingError::Mls`].
    pub fn remove(&mut self, user: &str) -> Result<CommitMessages, MeetingError> {
        Ok(self.change_membership(&[], &[user])?.messages)
    }

    /// A committer batches the joins and leaves that arrived together into
    /// one commit (PROTOCOL.md §4.2): each key package the policy admits is
    /// added (the others are reported in [`Batch::refused`]) and every leaf
    /// of each user in `remove` but this member's own is removed. One
    /// Welcome serves every joiner.
    ///
    /// # Errors
    /// [`MeetingError::NotACommitter`], [`MeetingError::CommitPending`];
    /// [`MeetingError::AdmissionRefused`] if every add was refused and
    /// nothing is removed; [`MeetingError::NotAMember`] for a user to remove
    /// who is not one; [`MeetingError::InvalidParticipant`],
    /// [`MeetingError::Malformed`], [`MeetingError::Mls`].
    pub fn change_membership(
        &mut self,
        key_packages: &[Vec<u8>],
        remove: &[&str],
    ) -> Result<Batch, MeetingError> {
        self.require_committer()?;
        let members = self.members();
        let own = self.group.own_index();
        let mut leaves: Vec<u32> = Vec::new();
        for user in remove {
            let theirs: Vec<u32> = members
                .iter()
                .filter(|m| m.user == *user && m.index != own)
                .map(|m| m.index)
                .collect();
            if theirs.is_empty() {
                return Err(MeetingError::NotAMember((*user).to_owned()));
            }
            // A user named twice is removed once.
            for index in theirs {
                if !leaves.contains(&index) {
                    leaves.push(index);
                }
            }
        }
        let mut count = members.len().saturating_sub(leaves.len());
        let mut admitted = Vec::new();
        let mut refused = Vec::new();
        for key_package in key_packages {
            let participant =
                parse_credential_identity(&self.group.key_package_identity(key_package)?)?;
            let reason = self.policy.admit(&participant, count);
            if reason == Reason::Ok {
                admitted.push(key_package.clone());
                count += 1;
            } else {
                refused.push((participant.user, reason));
            }
        }
        if admitted.is_empty() && leaves.is_empty() {
            return Err(match refused.into_iter().next() {
                Some((user, reason)) => MeetingError::AdmissionRefused { user, reason },
                None => MeetingError::InvalidParticipant("nothing to add or remove".to_owned()),
            });
        }
        let messages = self.group.commit(&admitted, &leaves, None)?;
        Ok(Batch { messages, refused })
    }

    /// The organizer makes the member at leaf `index` a co-organizer. Roles
    /// go to one device, named by its leaf index as [`roster`](Self::roster)
    /// shows it with its identity status, never to every device that claims
    /// a user name (the server can add one).
    ///
    /// # Errors
    /// [`MeetingError::NotOrganizer`], [`MeetingError::CommitPending`],
    /// [`MeetingError::NotAMember`], [`MeetingError::InvalidRoles`] past 32
    /// committers, [`MeetingError::Mls`].
    pub fn promote(&mut self, index: u32) -> Result<CommitMessages, MeetingError> {
        self.require_organizer()?;
        let key = self.member(index)?.signature_key;
        let roles = self.current_roles()?.promote(&[key])?;
        self.group.commit(&[], &[], Some(&roles))
    }

    /// The organizer makes the co-organizer at leaf `index` a participant
    /// again.
    ///
    /// # Errors
    /// [`MeetingError::NotOrganizer`], [`MeetingError::CommitPending`],
    /// [`MeetingError::NotAMember`], [`MeetingError::InvalidRoles`] (the
    /// organizer hands over instead of demoting itself), [`MeetingError::Mls`].
    pub fn demote(&mut self, index: u32) -> Result<CommitMessages, MeetingError> {
        self.require_organizer()?;
        let key = self.member(index)?.signature_key;
        if key == self.own_key() {
            return Err(MeetingError::InvalidRoles(
                "the organizer hands over instead of demoting itself",
            ));
        }
        let roles = self.current_roles()?.demote(&[key])?;
        self.group.commit(&[], &[], Some(&roles))
    }

    /// The organizer hands its role to the co-organizer at leaf `index`,
    /// and becomes the newest co-organizer (PROTOCOL.md §4.7). It may then
    /// leave.
    ///
    /// # Errors
    /// [`MeetingError::NotOrganizer`], [`MeetingError::CommitPending`],
    /// [`MeetingError::NotAMember`], [`MeetingError::InvalidRoles`] if that
    /// member is not a co-organizer, [`MeetingError::Mls`].
    pub fn hand_over(&mut self, index: u32) -> Result<CommitMessages, MeetingError> {
        self.require_organizer()?;
        let member = self.member(index)?;
        if member.role != Role::CoOrganizer {
            return Err(MeetingError::InvalidRoles(
                "the organizer hands over to a co-organizer",
            ));
        }
        let roles = self
            .current_roles()?
            .hand_over(&self.own_key(), &[member.signature_key])?;
        self.group.commit(&[], &[], Some(&roles))
    }

    /// Any member commits an update of its own leaf: a commit with no
    /// proposals and an update path (PROTOCOL.md §4.8). Nothing changes until
    /// [`commit_accepted`](Self::commit_accepted).
    ///
    /// # Errors
    /// [`MeetingError::Removed`], [`MeetingError::CommitPending`],
    /// [`MeetingError::Mls`].
    pub fn self_update(&mut self) -> Result<CommitMessages, MeetingError> {
        self.require_can_commit()?;
        self.group.commit(&[], &[], None)
    }

    /// Whether this member is due for a self-update at `now_ms`:
    /// [`MeetingConfig::update_every`] membership changes or
    /// [`MeetingConfig::update_after_ms`] since its last update path.
    pub fn update_due(&self, now_ms: u64) -> bool {
        let (every, after) = (self.config.update_every, self.config.update_after_ms);
        // Until its first update, a member's periods are stretched by
        // (leaf index mod 8) / 8 of themselves.
        let eighths = if self.updated_since_join {
            0
        } else {
            u64::from(self.group.own_index() % 8)
        };
        let every = every.saturating_add(every.saturating_mul(eighths) / 8);
        let after = after.saturating_add(after.saturating_mul(eighths) / 8);
        !self.removed
            && (self.membership_changes_since_path >= every
                || now_ms.saturating_sub(self.last_path_ms) >= after)
    }

    /// The committer list restricted to current members: what a roles
    /// change starts from (it also drops committers who left).
    fn current_roles(&self) -> Result<Roles, MeetingError> {
        self.group
            .roles()?
            .retain_members(&member_keys(&self.group.members()))
    }

    fn own_key(&self) -> SignatureKey {
        let own = self.group.own_index();
        self.group
            .members()
            .into_iter()
            .find(|m| m.index == own)
            .map(|m| m.signature_key)
            .unwrap_or_default()
    }

    fn member(&self, index: u32) -> Result<Member, MeetingError> {
        self.members()
            .into_iter()
            .find(|m| m.index == index)
            .ok_or_else(|| MeetingError::NotAMember(format!("leaf {index}")))
    }

    /// The server ordered this member's pending commit: apply it.
    ///
    /// # Errors
    /// [`MeetingError::NoPendingCommit`], [`MeetingError::Mls`].
    pub fn commit_accepted(&mut self, now_ms: u64) -> Result<EpochChange, MeetingError> {
        if !self.group.has_pending_commit() {
            return Err(MeetingError::NoPendingCommit);
        }
        let before = self.group.snapshot(&SnapshotToken::new());
        let organizer = self.organizer_key();
        let result = self
            .group
            .apply_pending_commit()
            .and_then(|s| self.after_commit(s, organizer, now_ms));
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
    /// If this member had a commit of its own pending, it lost the race for
    /// the epoch: it is discarded ([`EpochChange::own_commit_discarded`]).
    ///
    /// # Errors
    /// [`MeetingError::StaleCommit`] for an epoch already left (a duplicate);
    /// [`MeetingError::TooManyHeldCommits`] (then [`catch_up`](Self::catch_up));
    /// [`MeetingError::ExternalCommitRefused`];
    /// [`MeetingError::UnauthorizedCommitter`]; [`MeetingError::UnsupportedCommit`];
    /// [`MeetingError::InvalidRoles`]; [`MeetingError::AdmissionRefused`];
    /// [`MeetingError::Malformed`]; [`MeetingError::Mls`];
    /// [`MeetingError::Removed`]. The session is unchanged by any error.
    pub fn handle_commit(
        &mut self,
        commit: &[u8],
        now_ms: u64,
    ) -> Result<Vec<EpochChange>, MeetingError> {
        if self.removed {
            return Err(MeetingError::Removed);
        }
        self.expire(now_ms);
        if self.group.is_external_commit(commit)? {
            return Err(MeetingError::ExternalCommitRefused);
        }
        let epoch = self.group.message_epoch(commit)?;
        // Commits held for the current epoch (this member's own commit was
        // accepted after they arrived) apply first.
        let mut changes = Vec::new();
        self.apply_held(&mut changes, now_ms);
        let current = self.group.epoch();
        if epoch < current {
            if changes.is_empty() {
                return Err(MeetingError::StaleCommit { epoch, current });
            }
            return Ok(changes);
        }
        if self.removed {
            return Ok(changes);
        }
        if epoch > current {
            match self.hold_commit(epoch, current, commit) {
                Err(err) if changes.is_empty() => return Err(err),
                _ => return Ok(changes),
            }
        }
        match self.apply_commit(commit, now_ms) {
            Ok(change) => changes.push(change),
            Err(err) if changes.is_empty() => return Err(err),
            Err(_) => return Ok(changes),
        }
        self.apply_held(&mut changes, now_ms);
        Ok(changes)
    }

    /// Applies held commits while one is held for the current epoch. The
    /// first candidate that applies wins; the others (forgeries, or losers)
    /// are dropped, and the server resends if none did.
    fn apply_held(&mut self, changes: &mut Vec<EpochChange>, now_ms: u64) {
        while !self.removed {
            let next = self.group.epoch();
            self.held_commits.retain(|&e, _| e >= next);
            let Some(candidates) = self.held_commits.remove(&next) else {
                break;
            };
            let applied = candidates
                .iter()
                .find_map(|held| self.apply_commit(held, now_ms).ok());
            match applied {
                Some(change) => changes.push(change),
                None => break,
            }
        }
    }

    /// Catches up on the commits this member missed (PROTOCOL.md §4.2):
    /// after [`MeetingError::TooManyHeldCommits`] `{ current }`, the app asks
    /// the server for the commits from epoch `current` on and passes them
    /// here in epoch order. Each is checked as if it had arrived live;
    /// commits for epochs already reached are skipped.
    ///
    /// # Errors
    /// As [`handle_commit`](Self::handle_commit) for the first commit that
    /// is refused; the commits before it stay applied.
    pub fn catch_up(
        &mut self,
        commits: &[Vec<u8>],
        now_ms: u64,
    ) -> Result<Vec<EpochChange>, MeetingError> {
        let mut changes = Vec::new();
        for commit in commits {
            match self.handle_commit(commit, now_ms) {
                Ok(more) => changes.extend(more),
                Err(MeetingError::StaleCommit { .. }) => {}
                Err(err) => return Err(err),
            }
            if self.removed {
                break;
            }
        }
        Ok(changes)
    }

    /// The epoch from which this member needs commits it does not hold:
    /// `Some(current epoch)` while commits for later epochs wait for a
    /// missing one.
    pub fn missing_commits_from(&self) -> Option<u64> {
        (!self.held_commits.is_empty()).then(|| self.group.epoch())
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
        // The snapshot keeps any pending commit of ours: a refused message
        // must not cost a committer the commit it is waiting to have
        // ordered. (mls-rs applies our own commit itself if the server
        // echoes it.)
        let before = self.group.snapshot(&SnapshotToken::new());
        let had_pending = self.group.has_pending_commit();
        let prior = Prior {
            roles: self.group.roles(),
            members: self.group.members(),
        };
        let organizer = self.organizer_key();
        let result = self
            .group
            .process_commit(commit)
            .and_then(|s| self.check_commit(&prior, &s).map(|()| s))
            .and_then(|s| self.after_commit(s, organizer, now_ms));
        match result {
            Ok(mut change) => {
                if had_pending && self.group.has_pending_commit() {
                    self.group.discard_pending_commit();
                }
                change.own_commit_discarded = had_pending && change.committer != self.own_index();
                Ok(change)
            }
            Err(err) => {
                self.group = before;
                Err(err)
            }
        }
    }

    /// Every member's checks on a received commit (PROTOCOL.md §4.2),
    /// against the epoch before it (`prior`) and after it (the group now).
    fn check_commit(&self, prior: &Prior, summary: &CommitSummary) -> Result<(), MeetingError> {
        if summary.unsupported_proposal {
            return Err(MeetingError::UnsupportedCommit(
                "a proposal other than Add, Remove or GroupContextExtensions",
            ));
        }
        if summary.other_extensions_changed {
            return Err(MeetingError::UnsupportedCommit(
                "a group context extension other than the roles changed",
            ));
        }
        let unauthorized = MeetingError::UnauthorizedCommitter {
            committer: summary.committer,
        };
        let committer_key = prior
            .members
            .iter()
            .find(|m| m.index == summary.committer)
            .map(|m| m.signature_key)
            .ok_or(MeetingError::UnauthorizedCommitter {
                committer: summary.committer,
            })?;
        let committers = match &prior.roles {
            Ok(roles) => roles.effective(&member_keys(&prior.members)),
            Err(_) => Vec::new(),
        };
        let membership = !summary.added.is_empty() || !summary.removed.is_empty();
        if membership && !committers.contains(&committer_key) {
            return Err(unauthorized);
        }
        if summary.context_changed {
            if committers.first() != Some(&committer_key) {
                return Err(unauthorized);
            }
            if summary.removed_self {
                return Ok(());
            }
            let roles = self.group.roles()?;
            let keys = member_keys(&self.group.members());
            if roles.committers().iter().any(|k| !keys.contains(k)) {
                return Err(MeetingError::InvalidRoles(
                    "the committer list names a key of no member",
                ));
            }
        }
        if summary.removed_self {
            return Ok(());
        }
        let layout = self.config.layout;
        let members = self.group.members();
        if members
            .iter()
            .any(|m| layout.kid(summary.epoch, m.index).is_err())
        {
            return Err(MeetingError::InvalidConfig(
                "a member index does not fit the meeting's KID layout",
            ));
        }
        let count = members.len();
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

    /// The organizer's signature key in the current epoch, if any.
    fn organizer_key(&self) -> Option<SignatureKey> {
        self.effective_committers_of(&self.group.members())
            .first()
            .copied()
    }

    fn after_commit(
        &mut self,
        summary: CommitSummary,
        organizer_before: Option<SignatureKey>,
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
        let membership = !summary.added.is_empty() || !summary.removed.is_empty();
        let self_update = !membership && !summary.context_changed;
        let mut released = Vec::new();
        let mut organizer_changed = false;
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
            organizer_changed = self.organizer_key() != organizer_before;
            // Every commit but an Add-only one carries an update path.
            let path = !summary.removed.is_empty() || summary.context_changed || self_update;
            if path && summary.committer == self.group.own_index() {
                self.last_path_ms = now_ms;
                self.membership_changes_since_path = 0;
                self.updated_since_join = true;
            } else if membership {
                self.membership_changes_since_path += 1;
            }
        }
        Ok(EpochChange {
            epoch: summary.epoch,
            committer: summary.committer,
            self_update,
            roles_changed: summary.context_changed,
            organizer_changed,
            own_commit_discarded: false,
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
        let own_index = self.group.own_index();
        // Every member's KID but our own: our frames reflected back are
        // refused (PROTOCOL.md §4.3).
        for m in self
            .group
            .members()
            .into_iter()
            .filter(|m| m.index != own_index)
        {
            let key = BaseKey::new(&base).map_err(MediaError::from)?;
            keys.push((layout.kid(epoch, m.index)?, key));
        }
        let own = layout.kid(epoch, own_index)?;
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

    /// The members of the current epoch with their identity statuses (as
    /// the last [`check_identities`](Self::check_identities) found them).
    pub fn roster(&self) -> Vec<RosterEntry> {
        let own = self.group.own_index();
        self.members()
            .into_iter()
            .map(|member| {
                let status = if member.index == own {
                    Some(PeerStatus::Known { verified: true })
                } else {
                    self.statuses.get(&member.signature_key).copied()
                };
                RosterEntry { member, status }
            })
            .collect()
    }

    /// Gives every member whose key this session has not seen yet its
    /// identity status against `store`, records new keys there unverified
    /// (PROTOCOL.md §4.9), and returns the roster. Call it after joining
    /// and after each commit that adds members.
    ///
    /// # Errors
    /// [`MeetingError::Identity`] if the store fails; statuses found before
    /// the failure are kept.
    pub fn check_identities(
        &mut self,
        store: &mut dyn MemberKeyStore,
    ) -> Result<Vec<RosterEntry>, MeetingError> {
        let own = self.group.own_index();
        for member in self.members() {
            if member.index == own || self.statuses.contains_key(&member.signature_key) {
                continue;
            }
            let stored = store.keys(&member.user)?;
            let unverified = StoredIdentity {
                public_key: member.signature_key,
                verified: false,
            };
            let verified_elsewhere = stored
                .iter()
                .any(|e| e.verified && e.public_key != member.signature_key);
            let status = match stored.iter().find(|e| e.public_key == member.signature_key) {
                // A key stored unverified beside a verified key of the same
                // user stays flagged until the users verify it.
                Some(entry) if !entry.verified && verified_elsewhere => PeerStatus::Changed,
                Some(entry) => PeerStatus::Known {
                    verified: entry.verified,
                },
                None if stored.is_empty() => {
                    store.put_key(&member.user, unverified)?;
                    PeerStatus::New
                }
                None => {
                    store.put_key(&member.user, unverified)?;
                    PeerStatus::Changed
                }
            };
            self.statuses.insert(member.signature_key, status);
        }
        Ok(self.roster())
    }

    /// The users compared this epoch's meeting code and found it equal to
    /// `compared` (PROTOCOL.md §4.9): every member whose key is not
    /// `changed` is recorded as verified and becomes `known-verified`. A
    /// `changed` key stays flagged: equal codes show that everyone sees the
    /// same roster, not who holds a key the server may have added under a
    /// known user's name; [`verify_member`](Self::verify_member) confirms it.
    ///
    /// # Errors
    /// [`MeetingError::CodeChanged`] if `compared` is not the current code
    /// (a commit landed while the users compared); [`MeetingError::Identity`]
    /// if the store fails.
    pub fn mark_code_verified(
        &mut self,
        store: &mut dyn MemberKeyStore,
        compared: &SecurityCode,
    ) -> Result<(), MeetingError> {
        if *compared != self.code {
            return Err(MeetingError::CodeChanged);
        }
        let roster = self.check_identities(store)?;
        let own = self.group.own_index();
        for entry in roster {
            if entry.member.index == own || entry.status == Some(PeerStatus::Changed) {
                continue;
            }
            self.record_verified(store, &entry.member)?;
        }
        Ok(())
    }

    /// The user confirmed, out of band, that the device at leaf `index` is
    /// who it claims to be: its key is recorded as verified, `changed` or
    /// not.
    ///
    /// # Errors
    /// [`MeetingError::NotAMember`], [`MeetingError::Identity`].
    pub fn verify_member(
        &mut self,
        store: &mut dyn MemberKeyStore,
        index: u32,
    ) -> Result<(), MeetingError> {
        let member = self.member(index)?;
        self.record_verified(store, &member)
    }

    fn record_verified(
        &mut self,
        store: &mut dyn MemberKeyStore,
        member: &Member,
    ) -> Result<(), MeetingError> {
        let entry = StoredIdentity {
            public_key: member.signature_key,
            verified: true,
        };
        store.put_key(&member.user, entry)?;
        self.statuses
            .insert(member.signature_key, PeerStatus::Known { verified: true });
        Ok(())
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

/// The state a received commit is checked against: the epoch before it.
struct Prior {
    roles: Result<Roles, MeetingError>,
    members: Vec<super::MlsMember>,
}

/// The signature keys of `members`.
fn member_keys(members: &[super::MlsMember]) -> Vec<SignatureKey> {
    members.iter().map(|m| m.signature_key).collect()
}

/// A committer's batch of joins and leaves (PROTOCOL.md §4.2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Batch {
    /// The commit and the one Welcome for every joiner.
    pub messages: CommitMessages,
    /// The joiners the policy refused, and why; they are not in the commit.
    pub refused: Vec<(String, Reason)>,
}
