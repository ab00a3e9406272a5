//! `VerifiedPolicy`, `PolicySigningKey`, `callMode`, `acceptPlainCall`:
//! signed policy documents and downgrades (docs/POLICY.md, "Signed policy
//! documents" and "Downgrades").

use callseal_core::call::{self as core_call, CallMode};
use callseal_core::policy::{self as core_policy, CallDecision, Reason, TenantKey};
use wasm_bindgen::JsValue;
use wasm_bindgen::prelude::wasm_bindgen;

use crate::convert::{self, bytes};
use crate::error::{Failure, guard};
use crate::policy::PolicyDocument;

/// A policy document whose signature, tenant and serial were checked: the
/// only kind calls and meetings under a policy take.
///
/// In JavaScript: `VerifiedPolicy.verify(signed, tenantKey, lastSeenSerial)`,
/// `serial`, `issuedAt`, `document()`, `evaluateCall`, `evaluateMeeting`.
#[wasm_bindgen]
pub struct VerifiedPolicy {
    document: PolicyDocument,
    serial: u64,
    issued_at: u64,
}

impl VerifiedPolicy {
    /// The verified core document.
    pub(crate) fn core(&self) -> &core_policy::PolicyDocument {
        self.document.core()
    }
}

#[wasm_bindgen]
impl VerifiedPolicy {
    /// Verifies a signed policy document (its exact bytes) against the
    /// tenant key (32 bytes) and the serial of the newest document already
    /// accepted (0: none). Throws `malformed`, `wrong-peer` (another
    /// tenant), `authentication-failed` (a changed byte) or `replay` (an
    /// older serial); nothing of a refused document is used.
    pub fn verify(
        signed: &[u8],
        #[wasm_bindgen(js_name = tenantKey)] tenant_key: &[u8],
        #[wasm_bindgen(js_name = lastSeenSerial, unchecked_param_type = "number")]
        last_seen_serial: JsValue,
    ) -> Result<VerifiedPolicy, Failure> {
        guard(|| {
            let last_seen = convert::to_u64(&last_seen_serial, "lastSeenSerial")?;
            let key = TenantKey::from_bytes(tenant_key)?;
            let verified = core_policy::PolicyDocument::verify(signed, &key, last_seen)?;
            let (serial, issued_at) = (verified.serial(), verified.issued_at());
            Ok(Self {
                document: PolicyDocument::from_core(verified.into_document()),
                serial,
                issued_at,
            })
        })
    }

    /// The serial: keep it and pass it as `lastSeenSerial` next time (at
    /// most 2^53 − 1, a safe JavaScript number).
    #[wasm_bindgen(getter)]
    pub fn serial(&self) -> f64 {
        self.serial as f64
    }

    /// When the admin signed it, in seconds since 1970-01-01 UTC.
    #[wasm_bindgen(getter, js_name = issuedAt)]
    pub fn issued_at(&self) -> f64 {
        self.issued_at as f64
    }

    /// A copy of the document.
    pub fn document(&self) -> PolicyDocument {
        PolicyDocument::from_core(self.core().clone())
    }

    /// Decides a 1:1 call (as `PolicyDocument.evaluateCall`).
    #[wasm_bindgen(js_name = evaluateCall, unchecked_return_type = "CallDecision")]
    pub fn evaluate_call(&self, caller: &str, callee: &str) -> Result<JsValue, Failure> {
        self.document.evaluate_call(caller, callee)
    }

    /// Decides a meeting (as `PolicyDocument.evaluateMeeting`).
    #[wasm_bindgen(js_name = evaluateMeeting, unchecked_return_type = "MeetingDecision")]
    pub fn evaluate_meeting(
        &self,
        organizer: &str,
        #[wasm_bindgen(js_name = organizerE2ee)] organizer_e2ee: bool,
        #[wasm_bindgen(unchecked_param_type = "MeetingParticipant[]")] participants: JsValue,
    ) -> Result<JsValue, Failure> {
        self.document
            .evaluate_meeting(organizer, organizer_e2ee, participants)
    }
}

/// The tenant admin's policy signing key (Ed25519), for admin tools and
/// tests: clients only verify.
///
/// In JavaScript: `PolicySigningKey.generate()`, `PolicySigningKey.fromBytes(seed)`,
/// `tenantKey()`, `toBytes()`, `sign(document, serial, issuedAt)`.
#[wasm_bindgen]
pub struct PolicySigningKey {
    inner: core_policy::PolicySigningKey,
}

#[wasm_bindgen]
impl PolicySigningKey {
    /// A fresh key (throws `entropy` without randomness).
    pub fn generate() -> Result<PolicySigningKey, Failure> {
        guard(|| {
            Ok(Self {
                inner: core_policy::PolicySigningKey::generate()
                    .map_err(|e| Failure::new(callseal_core::ErrorKind::Entropy, e.to_string()))?,
            })
        })
    }

    /// The key from its 32-byte secret seed (`invalid-argument` otherwise).
    #[wasm_bindgen(js_name = fromBytes)]
    pub fn from_bytes(seed: &[u8]) -> Result<PolicySigningKey, Failure> {
        guard(|| {
            let seed: [u8; 32] = seed
                .try_into()
                .map_err(|_| Failure::invalid("a policy signing key seed is 32 bytes"))?;
            Ok(Self {
                inner: core_policy::PolicySigningKey::from_bytes(seed),
            })
        })
    }

    /// The tenant key clients verify with (32 bytes).
    #[wasm_bindgen(js_name = tenantKey, unchecked_return_type = "Uint8Array")]
    pub fn tenant_key(&self) -> JsValue {
        bytes(&self.inner.tenant_key().to_bytes())
    }

    /// The secret seed (32 bytes): keep it as secret as the key.
    #[wasm_bindgen(js_name = toBytes, unchecked_return_type = "Uint8Array")]
    pub fn to_bytes(&self) -> JsValue {
        bytes(self.inner.to_bytes().as_slice())
    }

    /// `document` signed with `serial` (1 to 2^53 − 1) and `issuedAt`
    /// (seconds since 1970-01-01 UTC): the bytes `VerifiedPolicy.verify`
    /// reads.
    #[wasm_bindgen(unchecked_return_type = "Uint8Array")]
    pub fn sign(
        &self,
        document: &PolicyDocument,
        #[wasm_bindgen(unchecked_param_type = "number")] serial: JsValue,
        #[wasm_bindgen(js_name = issuedAt, unchecked_param_type = "number")] issued_at: JsValue,
    ) -> Result<JsValue, Failure> {
        guard(|| {
            let serial = convert::to_u64(&serial, "serial")?;
            let issued_at = convert::to_u64(&issued_at, "issuedAt")?;
            Ok(bytes(&self.inner.sign(
                document.core(),
                serial,
                issued_at,
            )?))
        })
    }
}

/// A call decision (`e2ee`, `reason`) as the app passes it back.
fn decision(value: &JsValue) -> Result<CallDecision, Failure> {
    let e2ee = js_sys::Reflect::get(value, &JsValue::from_str("e2ee"))
        .ok()
        .and_then(|v| v.as_bool())
        .ok_or_else(|| Failure::invalid("a call decision needs a boolean e2ee"))?;
    let reason = js_sys::Reflect::get(value, &JsValue::from_str("reason"))
        .ok()
        .and_then(|v| v.as_string())
        .ok_or_else(|| Failure::invalid("a call decision needs a string reason"))?;
    Ok(CallDecision::from_parts(e2ee, &reason)?)
}

/// How a call under `decision` (from `evaluateCall`) runs:
/// `{ e2ee: true, reason: 'ok' }` (start an end-to-end encrypted call) or
/// `{ e2ee: false, reason }` (a plain call; show the reason). With
/// `requireE2ee`, a decision that is not end-to-end encrypted throws
/// `policy-forbids` instead.
#[wasm_bindgen(js_name = callMode, unchecked_return_type = "{ e2ee: boolean; reason: string }")]
pub fn call_mode(
    #[wasm_bindgen(unchecked_param_type = "CallDecision")] decision_value: JsValue,
    #[wasm_bindgen(js_name = requireE2ee)] require_e2ee: bool,
) -> Result<JsValue, Failure> {
    guard(|| {
        let decided = decision(&decision_value)?;
        let (e2ee, reason) = match core_call::call_mode(&decided, require_e2ee)? {
            CallMode::EndToEnd => (true, Reason::Ok),
            CallMode::NotEndToEnd(reason) => (false, reason),
        };
        let out = js_sys::Object::new();
        let set = |k: &str, v: JsValue| js_sys::Reflect::set(&out, &JsValue::from_str(k), &v);
        set("e2ee", JsValue::from_bool(e2ee))
            .and_then(|_| set("reason", JsValue::from_str(reason.code())))
            .map_err(|_| {
                Failure::new(
                    callseal_core::ErrorKind::Internal,
                    "cannot build the result",
                )
            })?;
        Ok(out.into())
    })
}

/// The callee's check of a call that arrived without end-to-end
/// encryption, under its own `decision`: the reason to show; throws
/// `protocol-violation` when the decision makes the call end-to-end
/// encrypted (a downgrade), `policy-forbids` under `requireE2ee`.
#[wasm_bindgen(js_name = acceptPlainCall)]
pub fn accept_plain_call(
    #[wasm_bindgen(unchecked_param_type = "CallDecision")] decision_value: JsValue,
    #[wasm_bindgen(js_name = requireE2ee)] require_e2ee: bool,
) -> Result<String, Failure> {
    guard(|| {
        let decided = decision(&decision_value)?;
        Ok(core_call::accept_plain_call(&decided, require_e2ee)?
            .code()
            .to_owned())
    })
}
