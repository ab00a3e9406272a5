//! Policy decisions and feature gating (docs/POLICY.md): the document a
//! client receives (signed by the tenant admin, verified with the tenant
//! key), the decisions it makes from it, what a call does when the decision
//! is not end-to-end encrypted, and the features that refuse to run while
//! end-to-end encrypted.

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

/// The decision as the record shows it.
fn call_decision(d: &core_policy::CallDecision) -> CallDecision {
    CallDecision {
        e2ee: d.e2ee,
        reason: d.reason.code().to_owned(),
        unavailable_features: codes(d.unavailable_features()),
        not_end_to_end_encrypted: codes(d.not_end_to_end_encrypted()),
    }
}

impl TryFrom<&CallDecision> for core_policy::CallDecision {
    type Error = CallsealError;

    /// The core's decision from the record's `e2ee` and `reason`: an
    /// unknown reason, or one that contradicts `e2ee` (`ok` exactly when it
    /// is end-to-end encrypted), is `InvalidArgument`.
    fn try_from(d: &CallDecision) -> Result<Self, CallsealError> {
        Ok(core_policy::CallDecision::from_parts(d.e2ee, &d.reason)?)
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
        call_decision(&self.inner.evaluate_call(&caller, &callee))
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

/// The tenant admin's policy signing key (Ed25519): it signs the policy
/// documents clients verify with its tenant key (docs/POLICY.md, "Signed
/// policy documents"). Its debug form shows the tenant key, never the
/// secret.
///
/// ```
/// use std::sync::Arc;
/// use callseal_ffi::{PolicyDocument, PolicySigningKey, VerifiedPolicy};
///
/// let admin = PolicySigningKey::from_bytes(vec![7; 32])?;
/// let signed = admin.sign(Arc::new(PolicyDocument::new()), 1, 1_796_000_000)?;
/// let verified = VerifiedPolicy::verify(signed, admin.tenant_key(), 0)?;
/// assert_eq!(verified.serial(), 1);
/// assert!(!format!("{admin:?}").contains(&format!("{:?}", admin.to_bytes())));
/// assert_eq!(PolicySigningKey::from_bytes(vec![7; 31]).unwrap_err().code(), "invalid-argument");
/// # Ok::<(), callseal_ffi::CallsealError>(())
/// ```
#[derive(Debug, uniffi::Object)]
pub struct PolicySigningKey {
    inner: core_policy::PolicySigningKey,
}

#[uniffi::export]
impl PolicySigningKey {
    /// A fresh key from the operating system's randomness.
    ///
    /// # Errors
    /// `Entropy` if no randomness is available.
    #[uniffi::constructor]
    pub fn generate() -> Result<Self, CallsealError> {
        guard(|| {
            Ok(Self {
                inner: core_policy::PolicySigningKey::generate()?,
            })
        })
    }

    /// The key from its 32-byte secret seed (what [`to_bytes`](Self::to_bytes)
    /// returns).
    ///
    /// # Errors
    /// `InvalidArgument` unless `seed` is 32 bytes.
    #[uniffi::constructor]
    pub fn from_bytes(seed: Vec<u8>) -> Result<Self, CallsealError> {
        let seed = zeroize::Zeroizing::new(seed);
        guard(|| {
            let mut copy = zeroize::Zeroizing::new([0u8; 32]);
            if seed.len() != 32 {
                return Err(CallsealError::InvalidArgument(format!(
                    "a policy signing key is 32 bytes, not {}",
                    seed.len()
                )));
            }
            copy.copy_from_slice(&seed);
            Ok(Self {
                inner: core_policy::PolicySigningKey::from_zeroizing(copy),
            })
        })
    }

    /// The tenant key clients verify with: the 32-byte Ed25519 public key.
    pub fn tenant_key(&self) -> Vec<u8> {
        self.inner.tenant_key().to_bytes().to_vec()
    }

    /// The 32-byte **secret** seed: whoever holds it signs the tenant's
    /// policy. A copy that is the caller's to store safely and wipe.
    pub fn to_bytes(&self) -> Vec<u8> {
        self.inner.to_bytes().to_vec()
    }

    /// `document` signed with `serial` (from 1, raised with every new
    /// document) and `issued_at` (seconds since 1970-01-01 UTC): the exact
    /// bytes [`VerifiedPolicy::verify`] reads.
    ///
    /// # Errors
    /// `InvalidArgument` for a serial of 0 or either number above 2^53 − 1.
    pub fn sign(
        &self,
        document: Arc<PolicyDocument>,
        serial: u64,
        issued_at: u64,
    ) -> Result<Vec<u8>, CallsealError> {
        guard(|| Ok(self.inner.sign(document.core(), serial, issued_at)?))
    }
}

/// A policy document whose signature, tenant and serial were checked:
/// [`verify`](Self::verify) is the only way to make one, and calls and
/// meetings take nothing else. Keep its [`serial`](Self::serial) and pass
/// it as `last_seen_serial` next time, so an older document is refused.
///
/// ```
/// use std::sync::Arc;
/// use callseal_ffi::{PolicyDocument, PolicySigningKey, VerifiedPolicy};
///
/// let admin = PolicySigningKey::from_bytes(vec![7; 32])?;
/// let signed = admin.sign(Arc::new(PolicyDocument::new()), 3, 1_796_000_000)?;
/// let verified = VerifiedPolicy::verify(signed.clone(), admin.tenant_key(), 2)?;
/// assert_eq!((verified.serial(), verified.issued_at()), (3, 1_796_000_000));
/// assert_eq!(verified.document().to_json(), PolicyDocument::new().to_json());
/// assert_eq!(verified.evaluate_call("alice".into(), "bob".into()).reason, "policy-disabled");
/// // A newer document was seen already: this one is a rollback.
/// let err = VerifiedPolicy::verify(signed, admin.tenant_key(), 4).unwrap_err();
/// assert_eq!(err.code(), "replay");
/// # Ok::<(), callseal_ffi::CallsealError>(())
/// ```
#[derive(Debug, uniffi::Object)]
pub struct VerifiedPolicy {
    document: PolicyDocument,
    serial: u64,
    issued_at: u64,
}

impl VerifiedPolicy {
    /// The core document.
    pub(crate) fn core(&self) -> &core_policy::PolicyDocument {
        self.document.core()
    }
}

#[uniffi::export]
impl VerifiedPolicy {
    /// Verifies a signed policy document (docs/POLICY.md, "Signed policy
    /// documents") against the 32-byte tenant key and the serial of the
    /// newest document already accepted (0: none). Nothing of a refused
    /// document is used.
    ///
    /// # Errors
    /// `InvalidArgument` for a tenant key that is not an Ed25519 public key;
    /// `WrongPeer` for a document signed by another tenant's key;
    /// `AuthenticationFailed` for a bad signature; `Replay` for a serial
    /// below `last_seen_serial`; `Malformed` for anything that is not a
    /// signed document in its one byte form (a member name twice included)
    /// or carries a document `PolicyDocument.from_json` refuses.
    #[uniffi::constructor]
    pub fn verify(
        signed: Vec<u8>,
        tenant_key: Vec<u8>,
        last_seen_serial: u64,
    ) -> Result<Self, CallsealError> {
        guard(|| {
            let tenant_key = core_policy::TenantKey::from_bytes(&tenant_key)?;
            let verified =
                core_policy::PolicyDocument::verify(&signed, &tenant_key, last_seen_serial)?;
            let (serial, issued_at) = (verified.serial(), verified.issued_at());
            Ok(Self {
                document: PolicyDocument {
                    inner: verified.into_document(),
                },
                serial,
                issued_at,
            })
        })
    }

    /// The document's serial: store it, and pass it as `last_seen_serial`
    /// to the next [`verify`](Self::verify).
    pub fn serial(&self) -> u64 {
        self.serial
    }

    /// When the admin signed the document, in seconds since 1970-01-01 UTC.
    pub fn issued_at(&self) -> u64 {
        self.issued_at
    }

    /// A copy of the verified document (for `to_json`, or to sign again).
    pub fn document(&self) -> Arc<PolicyDocument> {
        Arc::new(PolicyDocument {
            inner: self.document.core().clone(),
        })
    }

    /// Decides a 1:1 call between `caller` and `callee`, as
    /// `PolicyDocument.evaluate_call`.
    pub fn evaluate_call(&self, caller: String, callee: String) -> CallDecision {
        self.document.evaluate_call(caller, callee)
    }

    /// Decides a meeting, as `PolicyDocument.evaluate_meeting`.
    ///
    /// # Errors
    /// `InvalidArgument` for an unknown platform.
    pub fn evaluate_meeting(
        &self,
        organizer: String,
        organizer_e2ee: bool,
        participants: Vec<MeetingParticipant>,
    ) -> Result<MeetingDecision, CallsealError> {
        self.document
            .evaluate_meeting(organizer, organizer_e2ee, participants)
    }
}

/// How a 1:1 call runs under a policy decision (docs/POLICY.md,
/// "Downgrades").
///
/// ```
/// use callseal_ffi::{CallMode, PolicyDocument, call_mode};
///
/// let decision = PolicyDocument::new().evaluate_call("alice".into(), "bob".into());
/// assert_eq!(call_mode(decision, false)?, CallMode::NotEndToEnd { reason: "policy-disabled".into() });
/// # Ok::<(), callseal_ffi::CallsealError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Enum)]
pub enum CallMode {
    /// End-to-end encrypted: start the call with
    /// `initiate_call_with_policy`.
    EndToEnd,
    /// Not end-to-end encrypted, for this kebab-case reason, which both
    /// sides show.
    NotEndToEnd {
        /// The decision's reason (`policy-disabled`, `user-setting-off`,
        /// ...).
        reason: String,
    },
}

/// The mode a caller starts a call in under `decision`. With
/// `require_e2ee` (the app allows no call without end-to-end encryption), a
/// decision that is not end-to-end encrypted fails instead of falling back.
///
/// # Errors
/// `PolicyForbids` with the decision's reason when `require_e2ee` is set and
/// the decision is not end-to-end encrypted; `InvalidArgument` for a record
/// whose `reason` is unknown or contradicts its `e2ee`.
///
/// ```
/// use callseal_ffi::{CallsealError, PolicyDocument, call_mode};
///
/// let decision = PolicyDocument::new().evaluate_call("alice".into(), "bob".into());
/// assert!(matches!(call_mode(decision, true), Err(CallsealError::PolicyForbids(_))));
/// ```
#[uniffi::export]
pub fn call_mode(decision: CallDecision, require_e2ee: bool) -> Result<CallMode, CallsealError> {
    guard(|| {
        let decision = core_policy::CallDecision::try_from(&decision)?;
        Ok(match core_call::call_mode(&decision, require_e2ee)? {
            core_call::CallMode::EndToEnd => CallMode::EndToEnd,
            core_call::CallMode::NotEndToEnd(reason) => CallMode::NotEndToEnd {
                reason: reason.code().to_owned(),
            },
        })
    })
}

/// The callee's check of a call that arrives without end-to-end encryption
/// (no Commit): allowed only when its own `decision` says the call is not
/// end-to-end encrypted and the app does not require it. Returns the
/// kebab-case reason to show.
///
/// # Errors
/// `ProtocolViolation` when the decision makes the call end-to-end
/// encrypted (a server or a peer dropped the encryption: a downgrade);
/// `PolicyForbids` when `require_e2ee` is set; `InvalidArgument` for a
/// record whose `reason` is unknown or contradicts its `e2ee`.
///
/// ```
/// use callseal_ffi::{CallDecision, PolicyDocument, accept_plain_call};
///
/// let plain = PolicyDocument::new().evaluate_call("bob".into(), "alice".into());
/// assert_eq!(accept_plain_call(plain, false)?, "policy-disabled");
/// let e2ee = CallDecision { e2ee: true, reason: "ok".into(), unavailable_features: vec![], not_end_to_end_encrypted: vec![] };
/// assert_eq!(accept_plain_call(e2ee, false).unwrap_err().code(), "protocol-violation");
/// # Ok::<(), callseal_ffi::CallsealError>(())
/// ```
#[uniffi::export]
pub fn accept_plain_call(
    decision: CallDecision,
    require_e2ee: bool,
) -> Result<String, CallsealError> {
    guard(|| {
        let decision = core_policy::CallDecision::try_from(&decision)?;
        Ok(core_call::accept_plain_call(&decision, require_e2ee)?
            .code()
            .to_owned())
    })
}

/// Starts a call to `peer` as initiator if the verified `policy` allows an end-to-end
/// encrypted call between `uid` and `peer.uid`: the call takes its mode
/// from the decision.
///
/// # Errors
/// `PolicyForbids` with the decision's reason; otherwise as `initiate_call`.
#[uniffi::export(default(config))]
pub fn initiate_call_with_policy(
    policy: Arc<VerifiedPolicy>,
    peer: ExpectedPeer,
    identity: Arc<IdentityKeyPair>,
    uid: String,
    config: CallConfig,
) -> Result<CallStart, CallsealError> {
    guard(|| {
        let decision = policy.core().evaluate_call(&uid, &peer.uid);
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

/// Answers a Commit from `peer_uid` as responder if the verified `policy` allows an
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
    policy: Arc<VerifiedPolicy>,
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
        let decision = policy.core().evaluate_call(&uid, &peer_uid);
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

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;
    use core_policy::Reason;

    fn record(e2ee: bool, reason: &str) -> CallDecision {
        CallDecision {
            e2ee,
            reason: reason.to_owned(),
            unavailable_features: vec![],
            not_end_to_end_encrypted: vec![],
        }
    }

    #[test]
    fn every_reason_reads_back_and_nothing_else() {
        for reason in Reason::ALL {
            let d = record(reason == Reason::Ok, reason.code());
            let core = core_policy::CallDecision::try_from(&d).unwrap();
            assert_eq!((core.e2ee, core.reason), (d.e2ee, reason));
        }
        for (e2ee, reason) in [
            (true, "maybe"),
            (false, "OK"),
            (true, "policy-disabled"),
            (false, "ok"),
        ] {
            let err = core_policy::CallDecision::try_from(&record(e2ee, reason)).unwrap_err();
            assert_eq!(err.code(), "invalid-argument", "{e2ee} {reason}");
        }
        let err = call_mode(record(false, "maybe"), false).unwrap_err();
        assert!(matches!(err, CallsealError::InvalidArgument(_)), "{err:?}");
    }

    #[test]
    fn modes_follow_the_decision() {
        assert_eq!(call_mode(record(true, "ok"), true), Ok(CallMode::EndToEnd));
        let plain = record(false, "user-setting-off");
        assert_eq!(
            call_mode(plain.clone(), false),
            Ok(CallMode::NotEndToEnd {
                reason: "user-setting-off".into()
            })
        );
        assert_eq!(
            call_mode(plain.clone(), true).unwrap_err().code(),
            "policy-forbids"
        );
        assert_eq!(
            accept_plain_call(plain.clone(), false).unwrap(),
            "user-setting-off"
        );
        assert_eq!(
            accept_plain_call(plain, true).unwrap_err().code(),
            "policy-forbids"
        );
        let err = accept_plain_call(record(true, "ok"), false).unwrap_err();
        assert!(
            matches!(err, CallsealError::ProtocolViolation(_)),
            "{err:?}"
        );
    }

    #[test]
    fn verified_documents_only_and_typed_refusals() {
        let admin = PolicySigningKey::from_bytes(vec![7; 32]).unwrap();
        let other = PolicySigningKey::from_bytes(vec![8; 32]).unwrap();
        let doc = Arc::new(PolicyDocument::new());
        let signed = admin.sign(doc.clone(), 5, 1_796_000_000).unwrap();
        let code = |signed: Vec<u8>, key: Vec<u8>, last: u64| {
            VerifiedPolicy::verify(signed, key, last)
                .unwrap_err()
                .code()
        };
        assert_eq!(code(signed.clone(), other.tenant_key(), 0), "wrong-peer");
        assert_eq!(code(signed.clone(), admin.tenant_key(), 6), "replay");
        assert_eq!(code(signed.clone(), vec![0; 31], 0), "invalid-argument");
        let mut tampered = signed.clone();
        let at = tampered.len() - 5; // the signature's last hex digit
        tampered[at] = if tampered[at] == b'0' { b'1' } else { b'0' };
        assert_eq!(
            code(tampered, admin.tenant_key(), 0),
            "authentication-failed"
        );
        assert_eq!(code(b"{}".to_vec(), admin.tenant_key(), 0), "malformed");
        assert_eq!(
            admin.sign(doc, 0, 0).unwrap_err().code(),
            "invalid-argument"
        );
        let verified = VerifiedPolicy::verify(signed, admin.tenant_key(), 5).unwrap();
        assert_eq!(
            (verified.serial(), verified.issued_at()),
            (5, 1_796_000_000)
        );
        let again = PolicySigningKey::from_bytes(admin.to_bytes()).unwrap();
        assert_eq!(again.tenant_key(), admin.tenant_key());
        assert_ne!(
            PolicySigningKey::generate().unwrap().tenant_key(),
            admin.tenant_key()
        );
        let debug = format!("{admin:?}");
        assert!(!debug.contains("[7, 7"), "{debug}");
    }
}
