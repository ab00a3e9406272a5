//! The MLS group behind a meeting: a small trait of ours, and its
//! implementation over `mls-rs` (sync mode, RustCrypto provider).
//!
//! The meeting session needs only what this trait names, so another MLS
//! library could replace `mls-rs` by implementing it.

use std::sync::{Arc, Mutex};

use mls_rs::client_builder::{BaseConfig, WithCryptoProvider, WithIdentityProvider, WithMlsRules};
use mls_rs::error::IntoAnyError;
use mls_rs::extension::ExtensionType;
use mls_rs::group::proposal::Proposal;
use mls_rs::group::{CommitEffect, ReceivedMessage, Roster, Sender};
use mls_rs::identity::basic::BasicCredential;
use mls_rs::identity::{CredentialType, SigningIdentity};
use mls_rs::mls_rules::{
    CommitDirection, CommitOptions, CommitSource, EncryptionOptions, ProposalBundle,
};
use mls_rs::time::MlsTime;
use mls_rs::{
    CipherSuite, CipherSuiteProvider, Client, CryptoProvider, Extension, ExtensionList,
    IdentityProvider, MlsMessage, MlsMessageDescription, MlsRules,
};
use mls_rs_core::identity::MemberValidationContext;
use mls_rs_crypto_rustcrypto::RustCryptoProvider;
use zeroize::Zeroizing;

use super::MeetingError;
use super::roles::{ROLES_EXTENSION_TYPE, Roles, SIGNATURE_KEY_LEN, SignatureKey};

/// The MLS cipher suite of meetings:
/// `MLS_128_DHKEMX25519_AES128GCM_SHA256_Ed25519`.
pub const MLS_CIPHER_SUITE: u16 = 1;

/// A member as the MLS roster shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MlsMember {
    /// The member's leaf index.
    pub index: u32,
    /// The identity bytes of the member's credential.
    pub identity: Vec<u8>,
    /// The member's signature public key: its meeting identity.
    pub signature_key: SignatureKey,
}

/// What a commit changed, and what it carried (for the checks of
/// PROTOCOL.md §4.2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommitSummary {
    /// The epoch the commit leads to.
    pub epoch: u64,
    /// The committer's leaf index.
    pub committer: u32,
    /// The identities of the members added.
    pub added: Vec<Vec<u8>>,
    /// The leaf indexes removed.
    pub removed: Vec<u32>,
    /// Whether this member was removed.
    pub removed_self: bool,
    /// Whether the commit carried a GroupContextExtensions proposal.
    pub context_changed: bool,
    /// Whether that proposal changed any extension other than the roles.
    pub other_extensions_changed: bool,
    /// Whether the commit carried any proposal other than Add, Remove and
    /// GroupContextExtensions (ReInit, ExternalInit, ...).
    pub unsupported_proposal: bool,
}

/// The messages a commit produces.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommitMessages {
    /// The commit, for the server to order and relay to members.
    pub commit: Vec<u8>,
    /// The Welcome for the members added, if any (one for all of them).
    pub welcome: Option<Vec<u8>>,
}

/// Permission to take a snapshot of a group: only the meeting session makes
/// one, to roll back a refused message. Two live copies of a group would
/// encrypt under the same keys and counters, so groups are not `Clone`.
#[derive(Debug)]
pub struct SnapshotToken(());

impl SnapshotToken {
    pub(crate) fn new() -> Self {
        Self(())
    }
}

/// The operations a meeting needs from an MLS group.
pub trait MlsGroup: Sized {
    /// The group id (fixed at creation, authenticated in every epoch).
    fn group_id(&self) -> Vec<u8>;
    /// The current epoch.
    fn epoch(&self) -> u64;
    /// This member's leaf index.
    fn own_index(&self) -> u32;
    /// The members, by leaf index.
    fn members(&self) -> Vec<MlsMember>;
    /// The HPKE public key of the leaf at `index` (it changes with every
    /// update path the member sends), if the leaf is not blank.
    fn leaf_key(&self, index: u32) -> Option<Vec<u8>>;
    /// How many of the ratchet tree's parent nodes are blank, and how many
    /// there are: a Remove encrypts its path to every non-blank resolution,
    /// so blank nodes make it cost more.
    fn blank_parents(&self) -> (usize, usize);
    /// The committer list of the current epoch (PROTOCOL.md §4.7).
    ///
    /// # Errors
    /// [`MeetingError::InvalidRoles`] if the group has none or it does not
    /// parse.
    fn roles(&self) -> Result<Roles, MeetingError>;
    /// `MLS-Exporter(label, context, len)` of the current epoch.
    ///
    /// # Errors
    /// [`MeetingError::Mls`].
    fn export_secret(
        &self,
        label: &[u8],
        context: &[u8],
        len: usize,
    ) -> Result<Zeroizing<Vec<u8>>, MeetingError>;
    /// The current epoch's authenticator.
    ///
    /// # Errors
    /// [`MeetingError::Mls`].
    fn epoch_authenticator(&self) -> Result<Zeroizing<Vec<u8>>, MeetingError>;
    /// The epoch a received handshake message belongs to.
    ///
    /// # Errors
    /// [`MeetingError::Malformed`].
    fn message_epoch(&self, message: &[u8]) -> Result<u64, MeetingError>;
    /// Whether a received handshake message is an external commit (its
    /// sender is a new member).
    ///
    /// # Errors
    /// [`MeetingError::Malformed`].
    fn is_external_commit(&self, message: &[u8]) -> Result<bool, MeetingError>;
    /// The credential identity inside a key package.
    ///
    /// # Errors
    /// [`MeetingError::Malformed`] if `key_package` is not one.
    fn key_package_identity(&self, key_package: &[u8]) -> Result<Vec<u8>, MeetingError>;
    /// Prepares a commit adding `key_packages`, removing `remove` and, with
    /// `roles`, replacing the committer list; with nothing to do it is a
    /// self-update (an update path alone). It is applied only by
    /// [`apply_pending_commit`](Self::apply_pending_commit).
    ///
    /// # Errors
    /// [`MeetingError::Malformed`] for a bad key package, [`MeetingError::Mls`].
    fn commit(
        &mut self,
        key_packages: &[Vec<u8>],
        remove: &[u32],
        roles: Option<&Roles>,
    ) -> Result<CommitMessages, MeetingError>;
    /// Applies the prepared commit.
    ///
    /// # Errors
    /// [`MeetingError::NoPendingCommit`], [`MeetingError::Mls`].
    fn apply_pending_commit(&mut self) -> Result<CommitSummary, MeetingError>;
    /// Forgets the prepared commit.
    fn discard_pending_commit(&mut self);
    /// Whether a prepared commit waits.
    fn has_pending_commit(&self) -> bool;
    /// Processes a received commit (which must be for the current epoch).
    ///
    /// # Errors
    /// [`MeetingError::Malformed`], [`MeetingError::Mls`].
    fn process_commit(&mut self, message: &[u8]) -> Result<CommitSummary, MeetingError>;
    /// A copy of the group's state, which the session keeps only to restore
    /// it if a message is refused.
    fn snapshot(&self, token: &SnapshotToken) -> Self;
}

type Config = WithMlsRules<
    MeetingRules,
    WithCryptoProvider<
        RustCryptoProvider,
        WithIdentityProvider<MeetingIdentityProvider, BaseConfig>,
    >,
>;

/// Why the identity provider or the rules refused something.
#[derive(Debug, Clone, Copy, thiserror::Error)]
enum Refusal {
    #[error("not a basic credential with an Ed25519 key")]
    Credential,
    #[error("meetings have no external senders")]
    ExternalSender,
    #[error("external commits are refused")]
    ExternalCommit,
}

impl IntoAnyError for Refusal {
    fn into_dyn_error(self) -> Result<Box<dyn std::error::Error + Send + Sync>, Self> {
        Ok(self.into())
    }
}

/// Basic credentials; a member's MLS identity is its signature key, so no
/// two leaves share one; a leaf may be replaced only by one with the same
/// signature key and credential (PROTOCOL.md §4.2).
#[derive(Debug, Clone, Copy, Default)]
struct MeetingIdentityProvider;

impl MeetingIdentityProvider {
    fn check(identity: &SigningIdentity) -> Result<(), Refusal> {
        if identity.credential.as_basic().is_none()
            || identity.signature_key.as_bytes().len() != SIGNATURE_KEY_LEN
        {
            return Err(Refusal::Credential);
        }
        Ok(())
    }
}

impl IdentityProvider for MeetingIdentityProvider {
    type Error = Refusal;

    fn validate_member(
        &self,
        signing_identity: &SigningIdentity,
        _timestamp: Option<MlsTime>,
        _context: MemberValidationContext<'_>,
    ) -> Result<(), Refusal> {
        Self::check(signing_identity)
    }

    fn validate_external_sender(
        &self,
        _signing_identity: &SigningIdentity,
        _timestamp: Option<MlsTime>,
        _extensions: Option<&ExtensionList>,
    ) -> Result<(), Refusal> {
        Err(Refusal::ExternalSender)
    }

    fn identity(
        &self,
        signing_identity: &SigningIdentity,
        _extensions: &ExtensionList,
    ) -> Result<Vec<u8>, Refusal> {
        Self::check(signing_identity)?;
        Ok(signing_identity.signature_key.as_bytes().to_vec())
    }

    fn valid_successor(
        &self,
        predecessor: &SigningIdentity,
        successor: &SigningIdentity,
        _extensions: &ExtensionList,
    ) -> Result<bool, Refusal> {
        Ok(predecessor.signature_key == successor.signature_key
            && predecessor.credential == successor.credential)
    }

    fn supported_types(&self) -> Vec<CredentialType> {
        vec![BasicCredential::credential_type()]
    }
}

/// MLS-level rules: external commits are refused in both directions;
/// commits use mls-rs's default options (the ratchet tree in the Welcome,
/// one Welcome for all joiners, no external commits allowed).
#[derive(Debug, Clone, Copy, Default)]
struct MeetingRules;

impl MlsRules for MeetingRules {
    type Error = Refusal;

    fn filter_proposals(
        &self,
        _direction: CommitDirection,
        source: CommitSource,
        _current_roster: &Roster,
        _current_context: &mls_rs::group::GroupContext,
        proposals: ProposalBundle,
    ) -> Result<ProposalBundle, Refusal> {
        match source {
            CommitSource::NewMember(_) => Err(Refusal::ExternalCommit),
            CommitSource::ExistingMember(_) => Ok(proposals),
        }
    }

    fn commit_options(
        &self,
        _new_roster: &Roster,
        _new_context: &mls_rs::group::GroupContext,
        _proposals: &ProposalBundle,
    ) -> Result<CommitOptions, Refusal> {
        Ok(CommitOptions::new())
    }

    fn encryption_options(
        &self,
        _current_roster: &Roster,
        _current_context: &mls_rs::group::GroupContext,
    ) -> Result<EncryptionOptions, Refusal> {
        Ok(EncryptionOptions::default())
    }
}

fn mls_err(err: impl std::fmt::Display) -> MeetingError {
    MeetingError::Mls(err.to_string())
}

fn parse(message: &[u8]) -> Result<MlsMessage, MeetingError> {
    MlsMessage::from_bytes(message).map_err(|e| MeetingError::Malformed(e.to_string()))
}

fn to_bytes(message: &MlsMessage) -> Result<Vec<u8>, MeetingError> {
    message.to_bytes().map_err(mls_err)
}

fn signature_key(identity: &SigningIdentity) -> SignatureKey {
    let mut key = [0u8; SIGNATURE_KEY_LEN];
    let bytes = identity.signature_key.as_bytes();
    // The identity provider admits 32-byte keys only.
    if bytes.len() == SIGNATURE_KEY_LEN {
        key.copy_from_slice(bytes);
    }
    key
}

fn roles_extension(roles: &Roles) -> Extension {
    Extension::new(ExtensionType::new(ROLES_EXTENSION_TYPE), roles.to_bytes())
}

/// An MLS client: one user's signing key and the key packages it
/// published. Joining needs the client that made the key package; each key
/// package joins once.
///
/// ```
/// use callseal_core::meeting::MlsClient;
///
/// let client = MlsClient::new(b"alice:desktop-mac")?;
/// let key_package = client.key_package()?;
/// assert!(!key_package.is_empty());
/// assert_eq!(client.signature_key().len(), 32);
/// # Ok::<(), callseal_core::meeting::MeetingError>(())
/// ```
#[derive(Clone)]
pub struct MlsClient {
    client: Client<Config>,
    signature_key: SignatureKey,
    /// References of the key packages this client joined with.
    used: Arc<Mutex<Vec<Vec<u8>>>>,
}

impl std::fmt::Debug for MlsClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MlsClient").finish_non_exhaustive()
    }
}

/// A group joined from a Welcome, and who made that Welcome.
#[derive(Debug)]
pub struct Joined {
    /// The group.
    pub group: MlsRsGroup,
    /// The leaf index of the member whose commit added this one.
    pub welcome_sender: u32,
    /// References of this client's key packages the Welcome named.
    key_packages: Vec<Vec<u8>>,
}

impl Joined {
    pub(crate) fn key_packages(&self) -> &[Vec<u8>] {
        &self.key_packages
    }
}

impl MlsClient {
    /// A client with a fresh Ed25519 signing key and a basic credential
    /// holding `identity`.
    ///
    /// # Errors
    /// [`MeetingError::Mls`] if key generation fails.
    pub fn new(identity: &[u8]) -> Result<Self, MeetingError> {
        let crypto = RustCryptoProvider::new();
        let suite = CipherSuite::from(MLS_CIPHER_SUITE);
        let provider = crypto
            .cipher_suite_provider(suite)
            .ok_or_else(|| MeetingError::Mls("cipher suite unavailable".to_owned()))?;
        let (secret, public) = provider.signature_key_generate().map_err(mls_err)?;
        let credential = BasicCredential::new(identity.to_vec()).into_credential();
        let signing_identity = SigningIdentity::new(credential, public);
        let signature_key = signature_key(&signing_identity);
        let client = Client::builder()
            .identity_provider(MeetingIdentityProvider)
            .crypto_provider(crypto)
            .mls_rules(MeetingRules)
            .extension_type(ExtensionType::new(ROLES_EXTENSION_TYPE))
            .signing_identity(signing_identity, secret, suite)
            .build();
        Ok(Self {
            client,
            signature_key,
            used: Arc::default(),
        })
    }

    /// This client's signature public key: its meeting identity.
    pub fn signature_key(&self) -> SignatureKey {
        self.signature_key
    }

    /// A new key package to publish.
    ///
    /// # Errors
    /// [`MeetingError::Mls`].
    pub fn key_package(&self) -> Result<Vec<u8>, MeetingError> {
        let message = self
            .client
            .generate_key_package_message(Default::default(), Default::default(), None)
            .map_err(mls_err)?;
        to_bytes(&message)
    }

    /// Creates a new meeting group with the default SFrame parameters
    /// ([`MeetingConfig::default`](super::MeetingConfig)), this client its
    /// only member (leaf 0) and its organizer.
    ///
    /// # Errors
    /// [`MeetingError::Mls`], [`MeetingError::Entropy`].
    pub fn create_group(&self) -> Result<MlsRsGroup, MeetingError> {
        self.create_group_with_id(super::meeting_group_id(&super::MeetingConfig::default())?)
    }

    /// Creates a new group with `group_id`, this client its only member
    /// and the only committer in the roles extension.
    ///
    /// # Errors
    /// [`MeetingError::Mls`].
    pub fn create_group_with_id(&self, group_id: Vec<u8>) -> Result<MlsRsGroup, MeetingError> {
        let roles = Roles::new(vec![self.signature_key])?;
        let mut extensions = ExtensionList::new();
        extensions.set(roles_extension(&roles));
        let group = self
            .client
            .create_group_with_id(group_id, extensions, Default::default(), None)
            .map_err(mls_err)?;
        Ok(MlsRsGroup { group })
    }

    /// Joins a group from a Welcome made for one of this client's key
    /// packages, and deletes that key package's private keys. This is the
    /// MLS-level join: [`MeetingSession::join`](super::MeetingSession::join)
    /// also checks who made the Welcome, and uses the key package only if
    /// every check passes.
    ///
    /// # Errors
    /// [`MeetingError::KeyPackageUsed`] if this client already joined with
    /// that key package; [`MeetingError::Malformed`], [`MeetingError::Mls`].
    pub fn join_group(&self, welcome: &[u8]) -> Result<Joined, MeetingError> {
        let joined = self.join_group_unconsumed(welcome)?;
        self.consume(&joined.key_packages)?;
        Ok(joined)
    }

    /// The MLS join, without using up the key package yet (a refused
    /// Welcome must not cost the joiner its key package).
    pub(crate) fn join_group_unconsumed(&self, welcome: &[u8]) -> Result<Joined, MeetingError> {
        let welcome = parse(welcome)?;
        let refs: Vec<Vec<u8>> = match welcome.description() {
            MlsMessageDescription::Welcome {
                key_package_refs, ..
            } => key_package_refs.iter().map(|r| r.to_vec()).collect(),
            _ => return Err(MeetingError::Malformed("not a Welcome".to_owned())),
        };
        let store = self.client.key_package_store();
        let ours: Vec<Vec<u8>> = refs
            .iter()
            .filter(|r| store.get(r).is_some())
            .cloned()
            .collect();
        if ours.is_empty() && refs.iter().any(|r| self.was_used(r)) {
            return Err(MeetingError::KeyPackageUsed);
        }
        let (group, info) = self
            .client
            .join_group(None, &welcome, None)
            .map_err(mls_err)?;
        Ok(Joined {
            group: MlsRsGroup { group },
            welcome_sender: info.sender,
            key_packages: ours,
        })
    }

    fn was_used(&self, key_package_ref: &[u8]) -> bool {
        self.used
            .lock()
            .map(|used| used.iter().any(|u| u.as_slice() == key_package_ref))
            .unwrap_or(true)
    }

    /// Uses up the key packages a join came from: deletes their private
    /// keys, and refuses if another join used them first.
    pub(crate) fn consume(&self, key_packages: &[Vec<u8>]) -> Result<(), MeetingError> {
        let mut used = self
            .used
            .lock()
            .map_err(|_| MeetingError::Mls("key package registry poisoned".to_owned()))?;
        if key_packages.iter().any(|r| used.contains(r)) {
            return Err(MeetingError::KeyPackageUsed);
        }
        let store = self.client.key_package_store();
        for r in key_packages {
            store.delete(r);
            used.push(r.clone());
        }
        Ok(())
    }
}

/// [`MlsGroup`] over `mls-rs`.
pub struct MlsRsGroup {
    group: mls_rs::Group<Config>,
}

impl std::fmt::Debug for MlsRsGroup {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MlsRsGroup")
            .field("epoch", &self.group.current_epoch())
            .field("index", &self.group.current_member_index())
            .finish_non_exhaustive()
    }
}

impl MlsRsGroup {
    fn summary(&self, committer: u32, effect: &CommitEffect) -> CommitSummary {
        let (new_epoch, removed_self) = match effect {
            CommitEffect::NewEpoch(e) => (Some(e), false),
            CommitEffect::Removed { new_epoch, .. } => (Some(new_epoch), true),
            CommitEffect::ReInit(_) => (None, false),
        };
        let mut summary = CommitSummary {
            epoch: self.group.current_epoch(),
            committer,
            added: Vec::new(),
            removed: Vec::new(),
            removed_self,
            context_changed: false,
            other_extensions_changed: false,
            unsupported_proposal: new_epoch.is_none(),
        };
        let Some(new_epoch) = new_epoch else {
            return summary;
        };
        summary.epoch = new_epoch.epoch;
        let old_extensions = &new_epoch.prior_state.context.extensions;
        for proposal in &new_epoch.applied_proposals {
            match &proposal.proposal {
                Proposal::Add(add) => summary.added.push(
                    add.signing_identity()
                        .credential
                        .as_basic()
                        .map(|b| b.identifier().to_vec())
                        .unwrap_or_default(),
                ),
                Proposal::Remove(r) => summary.removed.push(r.to_remove()),
                Proposal::GroupContextExtensions(new) => {
                    summary.context_changed = true;
                    summary.other_extensions_changed |= !same_except_roles(old_extensions, new);
                }
                _ => summary.unsupported_proposal = true,
            }
        }
        summary
    }
}

/// Whether two extension lists are equal apart from the roles extension.
fn same_except_roles(a: &ExtensionList, b: &ExtensionList) -> bool {
    let roles = ExtensionType::new(ROLES_EXTENSION_TYPE);
    let others = |l: &ExtensionList| -> Vec<Extension> {
        let mut v: Vec<Extension> = l
            .iter()
            .filter(|e| e.extension_type != roles)
            .cloned()
            .collect();
        v.sort_by_key(|e| e.extension_type);
        v
    };
    others(a) == others(b)
}

impl MlsGroup for MlsRsGroup {
    fn group_id(&self) -> Vec<u8> {
        self.group.group_id().to_vec()
    }

    fn epoch(&self) -> u64 {
        self.group.current_epoch()
    }

    fn own_index(&self) -> u32 {
        self.group.current_member_index()
    }

    fn members(&self) -> Vec<MlsMember> {
        self.group
            .roster()
            .members_iter()
            .map(|m| MlsMember {
                index: m.index,
                identity: m
                    .signing_identity
                    .credential
                    .as_basic()
                    .map(|b| b.identifier().to_vec())
                    .unwrap_or_default(),
                signature_key: signature_key(&m.signing_identity),
            })
            .collect()
    }

    fn leaf_key(&self, index: u32) -> Option<Vec<u8>> {
        let tree = self.group.export_tree();
        let node = usize::try_from(index).ok()?.checked_mul(2)?;
        match tree.nodes().get(node)? {
            Some(mls_rs::group::Node::Leaf(leaf)) => Some(leaf.public_key.as_ref().to_vec()),
            _ => None,
        }
    }

    fn blank_parents(&self) -> (usize, usize) {
        let tree = self.group.export_tree();
        // Parent nodes sit at the odd node indexes.
        let parents = tree.nodes().iter().skip(1).step_by(2);
        let total = parents.clone().count();
        (parents.filter(|n| n.is_none()).count(), total)
    }

    fn roles(&self) -> Result<Roles, MeetingError> {
        let extension = self
            .group
            .context()
            .extensions
            .get(ExtensionType::new(ROLES_EXTENSION_TYPE))
            .ok_or(MeetingError::InvalidRoles(
                "the group has no roles extension",
            ))?;
        Roles::from_bytes(&extension.extension_data)
    }

    fn export_secret(
        &self,
        label: &[u8],
        context: &[u8],
        len: usize,
    ) -> Result<Zeroizing<Vec<u8>>, MeetingError> {
        let secret = self
            .group
            .export_secret(label, context, len)
            .map_err(mls_err)?;
        Ok(Zeroizing::new(secret.as_bytes().to_vec()))
    }

    fn epoch_authenticator(&self) -> Result<Zeroizing<Vec<u8>>, MeetingError> {
        let secret = self.group.epoch_authenticator().map_err(mls_err)?;
        Ok(Zeroizing::new(secret.as_bytes().to_vec()))
    }

    fn message_epoch(&self, message: &[u8]) -> Result<u64, MeetingError> {
        parse(message)?
            .epoch()
            .ok_or_else(|| MeetingError::Malformed("not a group handshake message".to_owned()))
    }

    fn is_external_commit(&self, message: &[u8]) -> Result<bool, MeetingError> {
        Ok(matches!(
            parse(message)?.description(),
            MlsMessageDescription::PublicProtocolMessage {
                sender: Sender::NewMemberCommit,
                ..
            }
        ))
    }

    fn key_package_identity(&self, key_package: &[u8]) -> Result<Vec<u8>, MeetingError> {
        let package = parse(key_package)?
            .into_key_package()
            .ok_or_else(|| MeetingError::Malformed("not a key package".to_owned()))?;
        package
            .signing_identity()
            .credential
            .as_basic()
            .map(|b| b.identifier().to_vec())
            .ok_or_else(|| MeetingError::Malformed("not a basic credential".to_owned()))
    }

    fn commit(
        &mut self,
        key_packages: &[Vec<u8>],
        remove: &[u32],
        roles: Option<&Roles>,
    ) -> Result<CommitMessages, MeetingError> {
        let extensions = roles.map(|roles| {
            let mut extensions = self.group.context().extensions.clone();
            extensions.set(roles_extension(roles));
            extensions
        });
        let mut builder = self.group.commit_builder();
        for kp in key_packages {
            builder = builder.add_member(parse(kp)?).map_err(mls_err)?;
        }
        for index in remove {
            builder = builder.remove_member(*index).map_err(mls_err)?;
        }
        if let Some(extensions) = extensions {
            builder = builder.set_group_context_ext(extensions).map_err(mls_err)?;
        }
        let output = builder.build().map_err(mls_err)?;
        let welcome = match output.welcome_messages.first() {
            Some(w) => Some(to_bytes(w)?),
            None => None,
        };
        Ok(CommitMessages {
            commit: to_bytes(&output.commit_message)?,
            welcome,
        })
    }

    fn apply_pending_commit(&mut self) -> Result<CommitSummary, MeetingError> {
        if !self.group.has_pending_commit() {
            return Err(MeetingError::NoPendingCommit);
        }
        let own = self.group.current_member_index();
        let description = self.group.apply_pending_commit().map_err(mls_err)?;
        Ok(self.summary(own, &description.effect))
    }

    fn discard_pending_commit(&mut self) {
        self.group.clear_pending_commit();
    }

    fn has_pending_commit(&self) -> bool {
        self.group.has_pending_commit()
    }

    fn process_commit(&mut self, message: &[u8]) -> Result<CommitSummary, MeetingError> {
        let message = parse(message)?;
        match self
            .group
            .process_incoming_message(message)
            .map_err(mls_err)?
        {
            ReceivedMessage::Commit(description) => {
                let mut summary = self.summary(description.committer, &description.effect);
                summary.unsupported_proposal |= description.is_external;
                Ok(summary)
            }
            _ => Err(MeetingError::Malformed("not a commit".to_owned())),
        }
    }

    fn snapshot(&self, _token: &SnapshotToken) -> Self {
        Self {
            group: self.group.clone(),
        }
    }
}
