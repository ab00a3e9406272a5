//! `PolicyDocument`, `checkCallFeature`, `checkMeetingFeature`: policy
//! decisions and feature gating (docs/POLICY.md).

use callseal_core::policy::{
    self as core_policy, CallFeature, MeetingFeature, Participant, PolicyError,
};
use wasm_bindgen::prelude::wasm_bindgen;
use wasm_bindgen::{JsCast, JsValue};

use crate::error::{Failure, guard};

impl From<PolicyError> for Failure {
    fn from(err: PolicyError) -> Self {
        Self::new(err.kind(), err.to_string())
    }
}

impl From<core_policy::FeatureUnavailable> for Failure {
    fn from(err: core_policy::FeatureUnavailable) -> Self {
        Self::new(err.kind(), err.to_string())
    }
}

#[wasm_bindgen(typescript_custom_section)]
const POLICY_TYPES: &'static str = r#"
/** A 1:1 call decision, in the JSON form `callseal policy evaluate call --json` prints. */
export interface CallDecision {
  e2ee: boolean;
  /** `ok`, `policy-disabled`, `user-setting-off` or `compliance-recording`. */
  reason: string;
  unavailable_features: string[];
  not_end_to_end_encrypted: string[];
}

/** A meeting participant: `platform` is kebab-case (`desktop-mac`, `web`, ...). */
export interface MeetingParticipant {
  user: string;
  platform: string;
}

/** A meeting decision, in the JSON form `callseal policy evaluate meeting --json` prints. */
export interface MeetingDecision extends CallDecision {
  admitted: string[];
  refused: { user: string; reason: string }[];
}
"#;

/// Serializes a decision with the core's JSON shape and hands it to
/// JavaScript as a plain object.
fn to_js(value: &impl serde::Serialize) -> Result<JsValue, Failure> {
    let text = serde_json::to_string(value)
        .map_err(|e| Failure::new(callseal_core::ErrorKind::Internal, e.to_string()))?;
    js_sys::JSON::parse(&text)
        .map_err(|_| Failure::new(callseal_core::ErrorKind::Internal, "cannot build object"))
}

/// A tenant's policy document, from which every client makes the same
/// decisions.
///
/// In JavaScript: `new PolicyDocument()` (only Global),
/// `PolicyDocument.fromJson(json)`, `toJson()`,
/// `evaluateCall(caller, callee)`, `evaluateMeeting(organizer, organizerE2ee, participants)`.
#[wasm_bindgen]
pub struct PolicyDocument {
    inner: core_policy::PolicyDocument,
}

impl PolicyDocument {
    /// The core document.
    pub(crate) fn core(&self) -> &core_policy::PolicyDocument {
        &self.inner
    }
}

impl Default for PolicyDocument {
    fn default() -> Self {
        Self::new()
    }
}

#[wasm_bindgen]
impl PolicyDocument {
    /// A document holding only the Global policy (both settings `Disabled`).
    #[wasm_bindgen(constructor)]
    pub fn new() -> PolicyDocument {
        Self {
            inner: core_policy::PolicyDocument::new(),
        }
    }

    /// Parses and checks a document (`malformed` if it is not one).
    #[wasm_bindgen(js_name = fromJson)]
    pub fn from_json(json: &str) -> Result<PolicyDocument, Failure> {
        guard(|| {
            Ok(Self {
                inner: core_policy::PolicyDocument::from_json(json.as_bytes())?,
            })
        })
    }

    /// The document as JSON.
    #[wasm_bindgen(js_name = toJson)]
    pub fn to_json(&self) -> String {
        self.inner.to_json()
    }

    /// Decides a 1:1 call.
    #[wasm_bindgen(js_name = evaluateCall, unchecked_return_type = "CallDecision")]
    pub fn evaluate_call(&self, caller: &str, callee: &str) -> Result<JsValue, Failure> {
        guard(|| to_js(&self.inner.evaluate_call(caller, callee)))
    }

    /// Decides a meeting; `participants` is an array of `{ user, platform }`
    /// in the order they join (`invalid-argument` for an unknown platform).
    #[wasm_bindgen(js_name = evaluateMeeting, unchecked_return_type = "MeetingDecision")]
    pub fn evaluate_meeting(
        &self,
        organizer: &str,
        organizer_e2ee: bool,
        #[wasm_bindgen(unchecked_param_type = "MeetingParticipant[]")] participants: JsValue,
    ) -> Result<JsValue, Failure> {
        guard(|| {
            let list = participants
                .dyn_into::<js_sys::Array>()
                .map_err(|_| Failure::invalid("participants must be an array"))?;
            let mut parsed = Vec::with_capacity(list.length() as usize);
            for item in list.iter() {
                let field = |name: &str| -> Result<String, Failure> {
                    js_sys::Reflect::get(&item, &JsValue::from_str(name))
                        .ok()
                        .and_then(|v| v.as_string())
                        .ok_or_else(|| {
                            Failure::invalid(format!("a participant needs a string {name}"))
                        })
                };
                parsed.push(Participant::new(
                    field("user")?,
                    field("platform")?.parse()?,
                ));
            }
            to_js(
                &self
                    .inner
                    .evaluate_meeting(organizer, organizer_e2ee, &parsed),
            )
        })
    }
}

/// Whether call `feature` (kebab-case) may run in a call that is (`e2ee`) or
/// is not end-to-end encrypted: throws `feature-unavailable` if not,
/// `invalid-argument` for an unknown feature.
#[wasm_bindgen(js_name = checkCallFeature)]
pub fn check_call_feature(e2ee: bool, feature: &str) -> Result<(), Failure> {
    guard(|| {
        let feature: CallFeature = feature.parse()?;
        Ok(core_policy::gate_call_feature(e2ee, feature)?)
    })
}

/// Whether meeting `feature` (kebab-case) may run in a meeting that is
/// (`e2ee`) or is not end-to-end encrypted: throws `feature-unavailable` if
/// not, `invalid-argument` for an unknown feature.
#[wasm_bindgen(js_name = checkMeetingFeature)]
pub fn check_meeting_feature(e2ee: bool, feature: &str) -> Result<(), Failure> {
    guard(|| {
        let feature: MeetingFeature = feature.parse()?;
        Ok(core_policy::gate_meeting_feature(e2ee, feature)?)
    })
}
