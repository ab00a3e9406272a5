//! The MLS group behind a meeting: a small trait of ours, and its
//! implementation over `mls-rs` (sync mode, RustCrypto provider).
//!
//! The meeting session needs only what this trait names, so another MLS
//! library could replace `mls-rs` by implementing it.

use mls_rs::client_builder::{BaseConfig, WithCryptoProvider, WithIdentityProvider};
use mls_rs::group::{CommitEffect, ReceivedMessage};
use mls_rs::identity::SigningIdentity;
use mls_rs::identity::basic::{BasicCredential, BasicIdentityProvider};
use mls_rs::{CipherSuite, CipherSuiteProvider, Client, CryptoProvider, MlsMessage};
use mls_rs_crypto_rustcrypto::RustCryptoProvider;
use zeroize::Zeroizing;

use super::MeetingError;

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
}

/// What a commit changed.
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
}

/// The messages a commit produces.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommitMessages {
    /// The commit, for the server to order and relay to members.
    pub commit: Vec<u8>,
    /// The Welcome for the members added, if any.
    pub welcome: Option<Vec<u8>>,
}

/// The operations a meeting needs from an MLS group.
pub trait MlsGroup: Clone {
    /// The group id (fixed at creation, authenticated in every epoch).
    fn group_id(&self) -> Vec<u8>;
    /// The current epoch.
    fn epoch(&self) -> u64;
    /// This member's leaf index.
    fn own_index(&self) -> u32;
    /// The members, by leaf index.
    fn members(&self) -> Vec<MlsMember>;
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
    /// The credential identity inside a key package.
    ///
    /// # Errors
    /// [`MeetingError::Malformed`] if `key_package` is not one.
    fn key_package_identity(&self, key_package: &[u8]) -> Result<Vec<u8>, MeetingError>;
    /// Prepares a commit adding `key_packages` and removing `remove`; it is
    /// applied only by [`apply_pending_commit`](Self::apply_pending_commit).
    ///
    /// # Errors
    /// [`MeetingError::Malformed`] for a bad key package, [`MeetingError::Mls`].
    fn commit(
        &mut self,
        key_packages: &[Vec<u8>],
        remove: &[u32],
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
}

type Config =
    WithCryptoProvider<RustCryptoProvider, WithIdentityProvider<BasicIdentityProvider, BaseConfig>>;

fn mls_err(err: impl std::fmt::Display) -> MeetingError {
    MeetingError::Mls(err.to_string())
}

fn parse(message: &[u8]) -> Result<MlsMessage, MeetingError> {
    MlsMessage::from_bytes(message).map_err(|e| MeetingError::Malformed(e.to_string()))
}

fn to_bytes(message: &MlsMessage) -> Result<Vec<u8>, MeetingError> {
    message.to_bytes().map_err(mls_err)
}

/// An MLS client: one user's signing key and the key packages it
/// published. Joining needs the client that made the key package.
///
/// ```
/// use callseal_core::meeting::MlsClient;
///
/// let client = MlsClient::new(b"alice:desktop-mac")?;
/// let key_package = client.key_package()?;
/// assert!(!key_package.is_empty());
/// # Ok::<(), callseal_core::meeting::MeetingError>(())
/// ```
#[derive(Clone)]
pub struct MlsClient {
    client: Client<Config>,
}

impl std::fmt::Debug for MlsClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MlsClient").finish_non_exhaustive()
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
        let client = Client::builder()
            .identity_provider(BasicIdentityProvider)
            .crypto_provider(crypto)
            .signing_identity(signing_identity, secret, suite)
            .build();
        Ok(Self { client })
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
    /// only member (leaf 0).
    ///
    /// # Errors
    /// [`MeetingError::Mls`], [`MeetingError::Entropy`].
    pub fn create_group(&self) -> Result<MlsRsGroup, MeetingError> {
        self.create_group_with_id(super::meeting_group_id(&super::MeetingConfig::default())?)
    }

    /// Creates a new group with `group_id`, this client its only member.
    ///
    /// # Errors
    /// [`MeetingError::Mls`].
    pub fn create_group_with_id(&self, group_id: Vec<u8>) -> Result<MlsRsGroup, MeetingError> {
        let group = self
            .client
            .create_group_with_id(group_id, Default::default(), Default::default(), None)
            .map_err(mls_err)?;
        Ok(MlsRsGroup { group })
    }

    /// Joins a group from a Welcome made for one of this client's key
    /// packages.
    ///
    /// # Errors
    /// [`MeetingError::Malformed`], [`MeetingError::Mls`].
    pub fn join_group(&self, welcome: &[u8]) -> Result<MlsRsGroup, MeetingError> {
        let welcome = parse(welcome)?;
        let (group, _) = self
            .client
            .join_group(None, &welcome, None)
            .map_err(mls_err)?;
        Ok(MlsRsGroup { group })
    }
}

/// [`MlsGroup`] over `mls-rs`.
#[derive(Clone)]
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
        let mut added = Vec::new();
        let mut removed = Vec::new();
        let mut epoch = self.group.current_epoch();
        if let Some(new_epoch) = new_epoch {
            epoch = new_epoch.epoch;
            for proposal in &new_epoch.applied_proposals {
                match &proposal.proposal {
                    mls_rs::group::proposal::Proposal::Add(add) => added.push(
                        add.signing_identity()
                            .credential
                            .as_basic()
                            .map(|b| b.identifier().to_vec())
                            .unwrap_or_default(),
                    ),
                    mls_rs::group::proposal::Proposal::Remove(r) => removed.push(r.to_remove()),
                    _ => {}
                }
            }
        }
        CommitSummary {
            epoch,
            committer,
            added,
            removed,
            removed_self,
        }
    }
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
            })
            .collect()
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
    ) -> Result<CommitMessages, MeetingError> {
        let mut builder = self.group.commit_builder();
        for kp in key_packages {
            builder = builder.add_member(parse(kp)?).map_err(mls_err)?;
        }
        for index in remove {
            builder = builder.remove_member(*index).map_err(mls_err)?;
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
                Ok(self.summary(description.committer, &description.effect))
            }
            _ => Err(MeetingError::Malformed("not a commit".to_owned())),
        }
    }
}
