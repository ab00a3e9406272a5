//! `PolicyDocument`, `checkCallFeature`, `checkMeetingFeature`: policy
//! decisions and feature gating (docs/POLICY.md).

use callseal_core::policy::{
    self as core_policy, CallFeature, MeetingFeature, Participant, PolicyError,
};
use serde::Serialize;
use tsify::Tsify;
use wasm_bindgen::prelude::wasm_bindgen;
use wasm_bindgen::{JsCast, JsValue};

use crate::convert::to_js;
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

/// A 1:1 call decision: the fields of `callseal policy evaluate call --json`,
/// in camelCase.
#[derive(Serialize, Tsify)]
#[serde(rename_all = "camelCase")]
#[tsify(missing_as_null, large_number_types_as_bigints)]
struct CallDecision {
    /// Whether the call is end-to-end encrypted.
    e2ee: bool,
    /// `ok`, `policy-disabled`, `user-setting-off` or `compliance-recording`.
    reason: String,
    /// The call features refused during this call (kebab-case).
    unavailable_features: Vec<String>,
    /// The features available whose content is not end-to-end encrypted
    /// while the media is (kebab-case).
    not_end_to_end_encrypted: Vec<String>,
}

impl From<&core_policy::CallDecision> for CallDecision {
    fn from(d: &core_policy::CallDecision) -> Self {
        Self {
            e2ee: d.e2ee,
            reason: d.reason.code().to_owned(),
            unavailable_features: codes(d.unavailable_features(), |f| f.code()),
            not_end_to_end_encrypted: codes(d.not_end_to_end_encrypted(), |f| f.code()),
        }
    }
}

/// A user the policy refused, and why.
#[derive(Serialize, Tsify)]
#[serde(rename_all = "camelCase")]
#[tsify(missing_as_null, large_number_types_as_bigints)]
pub(crate) struct Refusal {
    /// The user refused.
    pub(crate) user: String,
    /// Why, kebab-case (`unsupported-platform`, `meeting-full`, ...).
    pub(crate) reason: String,
}

/// A meeting decision: the fields of `callseal policy evaluate meeting
/// --json`, in camelCase.
#[derive(Serialize, Tsify)]
#[serde(rename_all = "camelCase")]
#[tsify(missing_as_null, large_number_types_as_bigints)]
struct MeetingDecision {
    /// Whether the meeting is end-to-end encrypted.
    e2ee: bool,
    /// `ok`, `policy-disabled`, `user-setting-off` or `compliance-recording`.
    reason: String,
    /// The users admitted, in the order they joined.
    admitted: Vec<String>,
    /// The users refused, in the order they tried to join.
    refused: Vec<Refusal>,
    /// The meeting features refused during this meeting (kebab-case).
    unavailable_features: Vec<String>,
    /// The features available whose content is not end-to-end encrypted
    /// while the media is (kebab-case).
    not_end_to_end_encrypted: Vec<String>,
}

impl From<&core_policy::MeetingDecision> for MeetingDecision {
    fn from(d: &core_policy::MeetingDecision) -> Self {
        Self {
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
            unavailable_features: codes(d.unavailable_features(), |f| f.code()),
            not_end_to_end_encrypted: codes(d.not_end_to_end_encrypted(), |f| f.code()),
        }
    }
}

/// A meeting participant, as `evaluateMeeting` reads it. Only declared:
/// the participants are read by hand, each field checked.
#[derive(Tsify)]
#[serde(rename_all = "camelCase")]
#[allow(dead_code)]
struct MeetingParticipant {
    /// The user.
    user: String,
    /// Kebab-case (`desktop-mac`, `web`, ...).
    platform: String,
}

/// The kebab-case codes of `items`.
fn codes<T: Copy>(items: &[T], code: impl Fn(T) -> &'static str) -> Vec<String> {
    items.iter().map(|&i| code(i).to_owned()).collect()
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

    /// A wrapper around a core document.
    pub(crate) fn from_core(inner: core_policy::PolicyDocument) -> Self {
        Self { inner }
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
        guard(|| {
            to_js(&CallDecision::from(
                &self.inner.evaluate_call(caller, callee),
            ))
        })
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
            to_js(&MeetingDecision::from(&self.inner.evaluate_meeting(
                organizer,
                organizer_e2ee,
                &parsed,
            )))
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
