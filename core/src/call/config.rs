//! What the app decides before a call: the media suite, whether short tags
//! are allowed, how often to rekey, and whom it expects to talk to
//! (PROTOCOL.md §3.3, §3.6, §3.9).

use super::error::CallError;
use super::message::check_uid;
use crate::frame::CipherSuite;

/// The default interval between in-call rekeys: 10 minutes.
pub const DEFAULT_REKEY_EVERY_MS: u64 = 10 * 60 * 1000;

/// Call settings.
///
/// ```
/// use callseal_core::call::CallConfig;
/// use callseal_core::frame::CipherSuite;
///
/// let config = CallConfig::default();
/// assert_eq!(config.suite, CipherSuite::AesGcm128Sha256);
/// assert!(!config.allow_short_tags);
/// assert_eq!(config.rekey_every_ms, 600_000);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CallConfig {
    /// The SFrame suite of the call's media. The initiator picks it; the
    /// responder follows the suite the Commit names.
    pub suite: CipherSuite,
    /// Whether suites with tags shorter than 64 bits (0x0003, 0x0008) may be
    /// used, on either side. Off by default: with 32-bit tags a forged frame
    /// passes with probability 2^-32, and receivers cut such keys off after
    /// a limited number of failures (PROTOCOL.md §1.6).
    pub allow_short_tags: bool,
    /// How long an epoch lasts before [`rekey_due`](super::CallSession::rekey_due)
    /// says to rekey, in milliseconds; 0 turns periodic rekeys off.
    pub rekey_every_ms: u64,
}

impl Default for CallConfig {
    fn default() -> Self {
        Self {
            suite: CipherSuite::AesGcm128Sha256,
            allow_short_tags: false,
            rekey_every_ms: DEFAULT_REKEY_EVERY_MS,
        }
    }
}

impl CallConfig {
    /// Refuses `suite` if its tag is shorter than 64 bits and the app did
    /// not opt in.
    pub(crate) fn check_suite(&self, suite: CipherSuite) -> Result<(), CallError> {
        if suite.tag_len() < 8 && !self.allow_short_tags {
            Err(CallError::ShortTag(suite.id()))
        } else {
            Ok(())
        }
    }
}

/// The peer the app means to talk to: its user id and, if the app knows it,
/// its identity public key (PROTOCOL.md §3.6).
///
/// ```
/// use callseal_core::call::ExpectedPeer;
///
/// let bob = ExpectedPeer::new("bob")?.with_identity([7; 32]);
/// assert_eq!(bob.uid(), "bob");
/// assert_eq!(bob.identity(), Some([7; 32]));
/// assert!(ExpectedPeer::new("").is_err());
/// # Ok::<(), callseal_core::call::CallError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExpectedPeer {
    uid: String,
    identity: Option<[u8; 32]>,
}

impl ExpectedPeer {
    /// The peer with user id `uid`, any identity key.
    ///
    /// # Errors
    /// [`CallError::InvalidUserId`] unless `uid` is 1–255 bytes.
    pub fn new(uid: &str) -> Result<Self, CallError> {
        check_uid(uid)?;
        Ok(Self {
            uid: uid.to_owned(),
            identity: None,
        })
    }

    /// Pins the peer's identity public key as well.
    #[must_use]
    pub fn with_identity(mut self, identity: [u8; 32]) -> Self {
        self.identity = Some(identity);
        self
    }

    /// The expected user id.
    pub fn uid(&self) -> &str {
        &self.uid
    }

    /// The pinned identity key, if any.
    pub fn identity(&self) -> Option<[u8; 32]> {
        self.identity
    }

    /// Refuses a peer that presented another user id or key.
    pub(crate) fn check(&self, uid: &str, identity: &[u8; 32]) -> Result<(), CallError> {
        if uid != self.uid {
            return Err(CallError::WrongPeer {
                expected: self.uid.clone(),
                presented: uid.to_owned(),
            });
        }
        match self.identity {
            Some(pinned)
                if !bool::from(subtle::ConstantTimeEq::ct_eq(&pinned[..], &identity[..])) =>
            {
                Err(CallError::WrongPeerKey)
            }
            _ => Ok(()),
        }
    }
}
