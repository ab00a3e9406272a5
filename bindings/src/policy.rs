//! Policy decisions and feature gating (docs/POLICY.md): the document a
//! client receives, the decisions it makes from it, and the features that
//! refuse to run while end-to-end encrypted.

use std::sync::Arc;

use callseal_core::call as core_call;
use callseal_core::identity::OsEntropy;
use callseal_core::policy::{self as core_policy, CallFeature, MeetingFeature};

use crate::call::{CallConfig, CallStart, ExpectedPeer, IdentityKeyPair};
use crate::error::CallsealError;
use crate::guard::guard;

impl From<core_policy::PolicyError> for CallsealError {
    fn from(e: core_policy::PolicyError) -> Self {
        Self::new(e.kind(), e.to_string())
    }
}

impl From<core_policy::FeatureUnavailable> for CallsealError {
    fn from(e: core_policy::FeatureUnavailable) -> Self {
        Self::new(e.kind(), e.to_string())
    }
}

/// A tenant's policy document (versioned JSON, docs/POLICY.md), from which
/// every client makes the same decisions.
///
/// ```
/// use callseal_ffi::PolicyDocument;
///
/// let doc = PolicyDocument::new();
/// let decision = doc.evaluate_call("alice".into(), "bob".into());
/// assert!(!decision.e2ee);
/// assert_eq!(decision.reason, "policy-disabled");
/// let again = PolicyDocument::from_json(doc.to_json())?;
/// assert_eq!(again.to_json(), doc.to_json());
/// # Ok::<(), callseal_ffi::CallsealError>(())
/// ```
#[derive(Debug, uniffi::Object)]
pub struct PolicyDocument {
    inner: core_policy::PolicyDocument,
}

/// Whether a 1:1 call is end-to-end encrypted, and why.
///
/// ```
/// use callseal_ffi::PolicyDocument;
///
/// let d = PolicyDocument::new().evaluate_call("a".into(), "b".into());
/// assert!(d.unavailable_features.is_empty());
/// ```
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct CallDecision {
    /// Whether the call is end-to-end encrypted.
    pub e2ee: bool,
    /// The kebab-case reason (`ok`, `policy-disabled`, ...).
    pub reason: String,
    /// The features refused during the call.
    pub unavailable_features: Vec<String>,
    /// The features available but not end-to-end encrypted.
    pub not_end_to_end_encrypted: Vec<String>,
}

/// A meeting participant and the platform they join from.
///
/// ```
/// use callseal_ffi::MeetingParticipant;
///
/// let p = MeetingParticipant { user: "carol".into(), platform: "web".into() };
/// assert_eq!(p.platform, "web");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct MeetingParticipant {
    /// The user.
    pub user: String,
    /// `desktop-windows`, `desktop-mac`, `ios`, `android`, `web`, `vdi`,
    /// `cvi`, `rooms-windows`, `rooms-android` or `surface-hub`.
    pub platform: String,
}

/// A participant refused from an end-to-end encrypted meeting.
///
/// ```
/// use callseal_ffi::Refusal;
///
/// let r = Refusal { user: "dan".into(), reason: "unsupported-platform".into() };
/// assert_eq!(r.reason, "unsupported-platform");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct Refusal {
    /// The user.
    pub user: String,
    /// The kebab-case reason.
    pub reason: String,
}

/// Whether a meeting is end-to-end encrypted, who is admitted and who is
/// refused.
///
/// ```
/// use callseal_ffi::PolicyDocument;
///
/// let d = PolicyDocument::new().evaluate_meeting("o".into(), true, vec![])?;
/// assert_eq!(d.reason, "policy-disabled");
/// # Ok::<(), callseal_ffi::CallsealError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct MeetingDecision {
    /// Whether the meeting is end-to-end encrypted.
    pub e2ee: bool,
    /// The kebab-case reason.
    pub reason: String,
    /// The users admitted, in order.
    pub admitted: Vec<String>,
    /// The users refused, in order.
    pub refused: Vec<Refusal>,
    /// The features refused during the meeting.
    pub unavailable_features: Vec<String>,
    /// The features available but not end-to-end encrypted.
    pub not_end_to_end_encrypted: Vec<String>,
}

fn codes<T: std::fmt::Display>(items: &[T]) -> Vec<String> {
    items.iter().map(ToString::to_string).collect()
}

impl PolicyDocument {
    /// The core document.
    pub(crate) fn core(&self) -> &core_policy::PolicyDocument {
        &self.inner
    }
}

#[uniffi::export]
impl PolicyDocument {
    /// A document holding only the Global policy (both settings `Disabled`).
    #[uniffi::constructor]
    #[allow(clippy::new_without_default)]
    pub fn new() -> Self {
        Self {
            inner: core_policy::PolicyDocument::new(),
        }
    }

    /// Parses and checks a document.
    ///
    /// # Errors
    /// `Malformed` for a corrupt document or an unsupported version.
    #[uniffi::constructor]
    pub fn from_json(json: String) -> Result<Self, CallsealError> {
        guard(|| {
            Ok(Self {
                inner: core_policy::PolicyDocument::from_json(json.as_bytes())?,
            })
        })
    }

    /// The document as JSON.
    pub fn to_json(&self) -> String {
        self.inner.to_json()
    }

    /// Decides a 1:1 call between `caller` and `callee`.
    pub fn evaluate_call(&self, caller: String, callee: String) -> CallDecision {
        let d = self.inner.evaluate_call(&caller, &callee);
        CallDecision {
            e2ee: d.e2ee,
            reason: d.reason.code().to_owned(),
            unavailable_features: codes(d.unavailable_features()),
            not_end_to_end_encrypted: codes(d.not_end_to_end_encrypted()),
        }
    }

    /// Decides a meeting organized by `organizer`, who turned end-to-end
    /// encryption on (`organizer_e2ee`) or not, with `participants` in the
    /// order they join.
    ///
    /// # Errors
    /// `InvalidArgument` for an unknown platform.
    pub fn evaluate_meeting(
        &self,
        organizer: String,
        organizer_e2ee: bool,
        participants: Vec<MeetingParticipant>,
    ) -> Result<MeetingDecision, CallsealError> {
        guard(|| {
            let participants = participants
                .into_iter()
                .map(|p| Ok(core_policy::Participant::new(p.user, p.platform.parse()?)))
                .collect::<Result<Vec<_>, core_policy::PolicyError>>()?;
            let d = self
                .inner
                .evaluate_meeting(&organizer, organizer_e2ee, &participants);
            Ok(MeetingDecision {
                e2ee: d.e2ee,
                reason: d.reason.code().to_owned(),
                admitted: d.admitted.clone(),
                refused: d
                    .refused
                    .iter()
                    .map(|r| Refusal {
                        user: r.user.clone(),
                        reason: r.reason.code().to_owned(),
                    })
                    .collect(),
                unavailable_features: codes(d.unavailable_features()),
                not_end_to_end_encrypted: codes(d.not_end_to_end_encrypted()),
            })
        })
    }
}

/// Whether call `feature` (kebab-case, e.g. `recording`) may run in a call
/// that is (`e2ee`) or is not end-to-end encrypted.
///
/// # Errors
/// `FeatureUnavailable` for a gated feature of an end-to-end encrypted call;
/// `InvalidArgument` for an unknown feature.
///
/// ```
/// use callseal_ffi::{CallsealError, check_call_feature};
///
/// assert!(matches!(check_call_feature(true, "call-park".into()), Err(CallsealError::FeatureUnavailable(_))));
/// assert!(check_call_feature(true, "chat".into()).is_ok());
/// ```
#[uniffi::export]
pub fn check_call_feature(e2ee: bool, feature: String) -> Result<(), CallsealError> {
    guard(|| {
        let feature: CallFeature = feature.parse()?;
        Ok(core_policy::gate_call_feature(e2ee, feature)?)
    })
}

/// Whether meeting `feature` (kebab-case, e.g. `breakout-rooms`) may run in a
/// meeting that is (`e2ee`) or is not end-to-end encrypted.
///
/// # Errors
/// `FeatureUnavailable` for a gated feature of an end-to-end encrypted
/// meeting; `InvalidArgument` for an unknown feature.
///
/// ```
/// use callseal_ffi::check_meeting_feature;
///
/// assert!(check_meeting_feature(true, "breakout-rooms".into()).is_err());
/// assert!(check_meeting_feature(false, "breakout-rooms".into()).is_ok());
/// ```
#[uniffi::export]
pub fn check_meeting_feature(e2ee: bool, feature: String) -> Result<(), CallsealError> {
    guard(|| {
        let feature: MeetingFeature = feature.parse()?;
        Ok(core_policy::gate_meeting_feature(e2ee, feature)?)
    })
}

/// Starts a call to `peer` as initiator if `policy` allows an end-to-end
/// encrypted call between `uid` and `peer.uid`: the call takes its mode
/// from the decision.
///
/// # Errors
/// `PolicyForbids` with the decision's reason; otherwise as `initiate_call`.
#[uniffi::export(default(config))]
pub fn initiate_call_with_policy(
    policy: Arc<PolicyDocument>,
    peer: ExpectedPeer,
    identity: Arc<IdentityKeyPair>,
    uid: String,
    config: CallConfig,
) -> Result<CallStart, CallsealError> {
    guard(|| {
        let decision = policy.inner.evaluate_call(&uid, &peer.uid);
        crate::call::start(core_call::CallSession::initiate_with_policy(
            &decision,
            identity.core(),
            &uid,
            &peer.core()?,
            &config.core()?,
            &mut OsEntropy,
        ))
    })
}

/// Answers a Commit from `peer_uid` as responder if `policy` allows an
/// end-to-end encrypted call between `uid` and `peer_uid`. The decision is
/// about `peer_uid`, so the call must come from that user: a Commit from
/// anyone else is refused with `WrongPeer`. `expected` may pin the caller's
/// key; its `uid` must be `peer_uid`.
///
/// # Errors
/// `PolicyForbids` with the decision's reason; `InvalidArgument` if
/// `expected.uid` is not `peer_uid`; otherwise as `respond_to_call`.
#[uniffi::export(default(expected = None, config))]
pub fn respond_to_call_with_policy(
    policy: Arc<PolicyDocument>,
    peer_uid: String,
    identity: Arc<IdentityKeyPair>,
    uid: String,
    commit: Vec<u8>,
    expected: Option<ExpectedPeer>,
    config: CallConfig,
) -> Result<CallStart, CallsealError> {
    guard(|| {
        let expected = match expected {
            Some(peer) if peer.uid != peer_uid => {
                return Err(CallsealError::InvalidArgument(
                    "expected.uid differs from peer_uid".to_owned(),
                ));
            }
            Some(peer) => peer,
            None => ExpectedPeer {
                uid: peer_uid.clone(),
                identity: None,
            },
        };
        let decision = policy.inner.evaluate_call(&uid, &peer_uid);
        crate::call::start(core_call::CallSession::respond_with_policy(
            &decision,
            identity.core(),
            &uid,
            Some(&expected.core()?),
            &commit,
            &config.core()?,
            &mut OsEntropy,
        ))
    })
}
