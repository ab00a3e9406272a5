//! `initiateCallWithPolicy`, `respondToCallWithPolicy`: a 1:1 call that
//! starts only if the policy allows it end-to-end encrypted (the calls
//! module only; the meetings module has policy without calls).

use wasm_bindgen::JsValue;
use wasm_bindgen::prelude::wasm_bindgen;

use crate::call::{self, CallSession, IdentityKeyPair};
use crate::error::{Failure, guard};
use crate::policy_signed::VerifiedPolicy;

/// Calls `peerUid` as initiator (options as `CallSession.initiate`) if
/// `policy` (a verified document) allows an end-to-end encrypted call between `uid` and `peerUid`
/// (else throws `policy-forbids`).
#[wasm_bindgen(js_name = initiateCallWithPolicy, unchecked_return_type = "CallStart")]
pub fn initiate_call_with_policy(
    policy: &VerifiedPolicy,
    #[wasm_bindgen(js_name = peerUid, unchecked_param_type = "string")] peer_uid: JsValue,
    identity: &IdentityKeyPair,
    #[wasm_bindgen(unchecked_param_type = "string")] uid: JsValue,
    #[wasm_bindgen(unchecked_optional_param_type = "CallOptions")] options: JsValue,
) -> Result<JsValue, Failure> {
    guard(|| {
        let peer_uid = crate::convert::string(&peer_uid, "peerUid")?;
        let uid = crate::convert::string(&uid, "uid")?;
        let (peer, config) = call::initiation(&peer_uid, &options)?;
        let decision = policy.core().evaluate_call(&uid, &peer_uid);
        CallSession::initiate_under(&decision, identity, &uid, &peer, &config)
    })
}

/// Answers a Commit from `peerUid` (options as `CallSession.respond`) if
/// `policy` (a verified document) allows an end-to-end encrypted call between `uid` and `peerUid`
/// (else throws `policy-forbids`). The decision is about `peerUid`, so a
/// Commit from anyone else is refused with `wrong-peer`;
/// `options.expectedPeerUid`, if given, must be `peerUid`.
#[wasm_bindgen(js_name = respondToCallWithPolicy, unchecked_return_type = "CallStart")]
pub fn respond_to_call_with_policy(
    policy: &VerifiedPolicy,
    #[wasm_bindgen(js_name = peerUid, unchecked_param_type = "string")] peer_uid: JsValue,
    identity: &IdentityKeyPair,
    #[wasm_bindgen(unchecked_param_type = "string")] uid: JsValue,
    commit: &[u8],
    #[wasm_bindgen(unchecked_optional_param_type = "RespondOptions")] options: JsValue,
) -> Result<JsValue, Failure> {
    guard(|| {
        let peer_uid = crate::convert::string(&peer_uid, "peerUid")?;
        let uid = crate::convert::string(&uid, "uid")?;
        let (expected, config) = call::response(&options, Some(&peer_uid))?;
        let decision = policy.core().evaluate_call(&uid, &peer_uid);
        CallSession::respond_under(
            &decision,
            identity,
            &uid,
            expected.as_ref(),
            commit,
            &config,
        )
    })
}
