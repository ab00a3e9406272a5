//! Whether a 1:1 call under a policy decision is end-to-end encrypted, and
//! what each side does when it is not (docs/POLICY.md, "Downgrades").

use super::CallError;
use crate::policy::{CallDecision, Reason};

/// How a 1:1 call runs under a policy decision.
///
/// ```
/// use callseal_core::call::{CallMode, call_mode};
/// use callseal_core::policy::{PolicyDocument, Reason};
///
/// let doc = PolicyDocument::new(); // Global: Disabled
/// let decision = doc.evaluate_call("alice", "bob");
/// assert_eq!(call_mode(&decision, false)?, CallMode::NotEndToEnd(Reason::PolicyDisabled));
/// assert!(call_mode(&decision, true).is_err());
/// # Ok::<(), callseal_core::call::CallError>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CallMode {
    /// End-to-end encrypted: start a [`CallSession`](super::CallSession)
    /// under the decision.
    EndToEnd,
    /// Not end-to-end encrypted, for this reason, which both sides show
    /// (the decision does not depend on who calls whom).
    NotEndToEnd(Reason),
}

/// The mode a caller starts a call in under `decision`. With `require_e2ee`
/// (the app allows no call without end-to-end encryption), a decision that
/// is not end-to-end encrypted fails instead of falling back.
///
/// # Errors
/// [`CallError::PolicyForbids`] with the decision's reason when
/// `require_e2ee` is set and the decision is not end-to-end encrypted;
/// [`CallError::InvalidUserId`] for a decision about an id the policy
/// cannot hold ([`Reason::InvalidId`]).
pub fn call_mode(decision: &CallDecision, require_e2ee: bool) -> Result<CallMode, CallError> {
    if decision.reason == Reason::InvalidId {
        return Err(CallError::InvalidUserId);
    }
    match (decision.e2ee, require_e2ee) {
        (true, _) => Ok(CallMode::EndToEnd),
        (false, true) => Err(CallError::PolicyForbids(decision.reason)),
        (false, false) => Ok(CallMode::NotEndToEnd(decision.reason)),
    }
}

/// The callee's check of a call that arrives without end-to-end
/// encryption (no Commit): allowed only when its own decision says the call
/// is not end-to-end encrypted, and the app does not require it. Returns
/// the reason to show.
///
/// ```
/// use callseal_core::ErrorKind;
/// use callseal_core::call::accept_plain_call;
/// use callseal_core::policy::{E2eeSetting, PolicyDocument, PolicyUpdate, Reason, UserUpdate};
///
/// let mut doc = PolicyDocument::new();
/// doc.update_policy("Global", PolicyUpdate { calling: Some(E2eeSetting::DisabledUserOverride), ..Default::default() })?;
/// // Bob has not turned the setting on: a plain call, and Bob sees why.
/// doc.update_user("alice", UserUpdate { e2ee_calls: Some(true), ..Default::default() })?;
/// assert_eq!(accept_plain_call(&doc.evaluate_call("bob", "alice"), false)?, Reason::UserSettingOff);
/// // Once he has, a plain call is a downgrade.
/// doc.update_user("bob", UserUpdate { e2ee_calls: Some(true), ..Default::default() })?;
/// let err = accept_plain_call(&doc.evaluate_call("bob", "alice"), false).unwrap_err();
/// assert_eq!(err.kind(), ErrorKind::ProtocolViolation);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// # Errors
/// [`CallError::Downgrade`] when the decision makes the call end-to-end
/// encrypted (a server or a peer dropped the encryption);
/// [`CallError::PolicyForbids`] when `require_e2ee` is set;
/// [`CallError::InvalidUserId`] for a decision about an id the policy
/// cannot hold ([`Reason::InvalidId`]).
pub fn accept_plain_call(decision: &CallDecision, require_e2ee: bool) -> Result<Reason, CallError> {
    // An id the policy cannot hold (`alice` + a zero-width space, shown as
    // `alice`) must not pass for a stranger whose calls are plain.
    if decision.reason == Reason::InvalidId {
        return Err(CallError::InvalidUserId);
    }
    if decision.e2ee {
        return Err(CallError::Downgrade);
    }
    if require_e2ee {
        return Err(CallError::PolicyForbids(decision.reason));
    }
    Ok(decision.reason)
}
