//! Decisions: may this call or meeting be end-to-end encrypted, and who may
//! join it.

use serde::Serialize;
use serde::ser::SerializeStruct;

use super::{
    CallFeature, FeatureUnavailable, MeetingFeature, Platform, PolicyDocument, PolicyError, Reason,
    gate_call_feature, gate_meeting_feature,
};

/// The most participants an end-to-end encrypted meeting admits.
pub const MAX_E2EE_MEETING_PARTICIPANTS: usize = 200;

/// Whether a 1:1 call is end-to-end encrypted, and why.
///
/// ```
/// use callseal_core::policy::{CallFeature, FeatureUnavailable, PolicyDocument, Reason};
///
/// let doc = PolicyDocument::new(); // Global: Disabled
/// let decision = doc.evaluate_call("alice", "bob");
/// assert!(!decision.e2ee);
/// assert_eq!(decision.reason, Reason::PolicyDisabled);
/// // Not end-to-end encrypted: every feature is available.
/// assert!(decision.unavailable_features().is_empty());
/// assert_eq!(decision.check_feature(CallFeature::Recording), Ok(()));
///
/// let json = serde_json::to_value(&decision)?;
/// assert_eq!(json["reason"], "policy-disabled");
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CallDecision {
    /// Whether the call is end-to-end encrypted.
    pub e2ee: bool,
    /// Why ([`Reason::Ok`] when it is).
    pub reason: Reason,
}

impl CallDecision {
    /// A decision as a wrapper reads it back from its own record: `e2ee`
    /// and the reason's code, checked as the core makes them (a known
    /// reason, `ok` exactly when end-to-end encrypted).
    ///
    /// # Errors
    /// [`PolicyError::InvalidValue`] for an unknown reason or one that
    /// contradicts `e2ee`.
    ///
    /// ```
    /// use callseal_core::policy::{CallDecision, Reason};
    ///
    /// assert_eq!(CallDecision::from_parts(false, "user-setting-off")?.reason, Reason::UserSettingOff);
    /// assert!(CallDecision::from_parts(true, "user-setting-off").is_err());
    /// assert!(CallDecision::from_parts(false, "nonsense").is_err());
    /// # Ok::<(), callseal_core::policy::PolicyError>(())
    /// ```
    pub fn from_parts(e2ee: bool, reason: &str) -> Result<CallDecision, PolicyError> {
        let invalid = |allowed| PolicyError::InvalidValue {
            what: "call decision reason",
            value: reason.to_owned(),
            allowed,
        };
        let code =
            Reason::from_code(reason).ok_or_else(|| invalid("a reason's kebab-case code"))?;
        if e2ee != (code == Reason::Ok) {
            return Err(invalid(
                "`ok` exactly when the decision is end-to-end encrypted",
            ));
        }
        Ok(CallDecision { e2ee, reason: code })
    }

    /// The features refused during this call.
    pub fn unavailable_features(&self) -> &'static [CallFeature] {
        if self.e2ee {
            CallFeature::UNAVAILABLE_IN_E2EE
        } else {
            &[]
        }
    }

    /// The features available during this call whose content is not
    /// end-to-end encrypted while the media is.
    pub fn not_end_to_end_encrypted(&self) -> &'static [CallFeature] {
        if self.e2ee {
            CallFeature::NOT_END_TO_END_ENCRYPTED
        } else {
            &[]
        }
    }

    /// Whether `feature` may run during this call.
    ///
    /// # Errors
    /// [`FeatureUnavailable::Call`] for a gated feature of an end-to-end
    /// encrypted call.
    pub fn check_feature(&self, feature: CallFeature) -> Result<(), FeatureUnavailable> {
        gate_call_feature(self.e2ee, feature)
    }
}

impl Serialize for CallDecision {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut s = serializer.serialize_struct("CallDecision", 4)?;
        s.serialize_field("e2ee", &self.e2ee)?;
        s.serialize_field("reason", &self.reason)?;
        s.serialize_field("unavailable_features", self.unavailable_features())?;
        s.serialize_field("not_end_to_end_encrypted", self.not_end_to_end_encrypted())?;
        s.end()
    }
}

/// Someone joining a meeting, and from where.
///
/// ```
/// use callseal_core::policy::{Participant, Platform};
///
/// let p = Participant::new("carol", Platform::Web);
/// assert_eq!(p.platform, Platform::Web);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Participant {
    /// The user.
    pub user: String,
    /// The platform they join from.
    pub platform: Platform,
}

impl Participant {
    /// A participant.
    pub fn new(user: impl Into<String>, platform: Platform) -> Self {
        Self {
            user: user.into(),
            platform,
        }
    }
}

/// A participant refused from an end-to-end encrypted meeting.
///
/// ```
/// use callseal_core::policy::{Reason, Refusal};
///
/// let r = Refusal { user: "dave".into(), reason: Reason::UnsupportedPlatform };
/// assert_eq!(serde_json::to_string(&r)?, r#"{"user":"dave","reason":"unsupported-platform"}"#);
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct Refusal {
    /// The user refused.
    pub user: String,
    /// Why.
    pub reason: Reason,
}

/// Whether a meeting is end-to-end encrypted, who is admitted and who is
/// refused, and why.
///
/// ```
/// use callseal_core::policy::{E2eeSetting, MeetingFeature, Participant, Platform, PolicyDocument, PolicyUpdate, Reason};
///
/// let mut doc = PolicyDocument::new();
/// doc.update_policy("Global", PolicyUpdate { meeting: Some(E2eeSetting::DisabledUserOverride), ..Default::default() })?;
/// let decision = doc.evaluate_meeting("olga", true, &[
///     Participant::new("olga", Platform::DesktopMac),
///     Participant::new("pete", Platform::Web),
/// ]);
/// assert!(decision.e2ee);
/// assert_eq!(decision.admitted, ["olga"]);
/// assert_eq!(decision.refused[0].reason, Reason::UnsupportedPlatform);
/// assert!(decision.check_feature(MeetingFeature::BreakoutRooms).is_err());
/// # Ok::<(), callseal_core::policy::PolicyError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MeetingDecision {
    /// Whether the meeting is end-to-end encrypted.
    pub e2ee: bool,
    /// Why ([`Reason::Ok`] when it is).
    pub reason: Reason,
    /// The users admitted, in the order they joined.
    pub admitted: Vec<String>,
    /// The users refused, in the order they tried to join.
    pub refused: Vec<Refusal>,
}

impl MeetingDecision {
    /// The features refused during this meeting.
    pub fn unavailable_features(&self) -> &'static [MeetingFeature] {
        if self.e2ee {
            MeetingFeature::UNAVAILABLE_IN_E2EE
        } else {
            &[]
        }
    }

    /// The features available during this meeting whose content is not
    /// end-to-end encrypted while the media is.
    pub fn not_end_to_end_encrypted(&self) -> &'static [MeetingFeature] {
        if self.e2ee {
            MeetingFeature::NOT_END_TO_END_ENCRYPTED
        } else {
            &[]
        }
    }

    /// Whether `feature` may run during this meeting.
    ///
    /// # Errors
    /// [`FeatureUnavailable::Meeting`] for a gated feature of an end-to-end
    /// encrypted meeting.
    pub fn check_feature(&self, feature: MeetingFeature) -> Result<(), FeatureUnavailable> {
        gate_meeting_feature(self.e2ee, feature)
    }
}

impl Serialize for MeetingDecision {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut s = serializer.serialize_struct("MeetingDecision", 6)?;
        s.serialize_field("e2ee", &self.e2ee)?;
        s.serialize_field("reason", &self.reason)?;
        s.serialize_field("admitted", &self.admitted)?;
        s.serialize_field("refused", &self.refused)?;
        s.serialize_field("unavailable_features", self.unavailable_features())?;
        s.serialize_field("not_end_to_end_encrypted", self.not_end_to_end_encrypted())?;
        s.end()
    }
}

impl PolicyDocument {
    /// Decides a 1:1 call between `caller` and `callee` (docs/POLICY.md):
    /// both effective policies allow it, else `policy-disabled`; both users
    /// turned the setting on, else `user-setting-off`; neither is under
    /// compliance recording, else `compliance-recording`. The result does
    /// not depend on who calls whom.
    pub fn evaluate_call(&self, caller: &str, callee: &str) -> CallDecision {
        let users = [caller, callee];
        let reason = if !users.iter().all(|u| valid_id(u)) {
            Reason::InvalidId
        } else if !users
            .iter()
            .all(|u| self.effective_policy(u).0.calling.allows_e2ee())
        {
            Reason::PolicyDisabled
        } else if !users.iter().all(|u| self.user(u).e2ee_calls) {
            Reason::UserSettingOff
        } else if users.iter().any(|u| self.user(u).compliance_recording) {
            Reason::ComplianceRecording
        } else {
            Reason::Ok
        };
        CallDecision {
            e2ee: reason == Reason::Ok,
            reason,
        }
    }

    /// Whether `organizer` may hold an end-to-end encrypted meeting, given
    /// whether they turned it on (`organizer_e2ee`: the meeting option, a
    /// template or a sensitivity label): [`Reason::Ok`],
    /// [`Reason::PolicyDisabled`] or [`Reason::OrganizerSettingOff`].
    pub fn meeting_mode(&self, organizer: &str, organizer_e2ee: bool) -> Reason {
        if !valid_id(organizer) {
            Reason::InvalidId
        } else if !self.effective_policy(organizer).0.meeting.allows_e2ee() {
            Reason::PolicyDisabled
        } else if !organizer_e2ee {
            Reason::OrganizerSettingOff
        } else {
            Reason::Ok
        }
    }

    /// Whether `participant` may join an end-to-end encrypted meeting that
    /// has `admitted` participants already: refused under compliance
    /// recording, on an unsupported platform, or when
    /// [`MAX_E2EE_MEETING_PARTICIPANTS`] are admitted; else [`Reason::Ok`].
    /// The meeting session asks this before it adds a member.
    ///
    /// ```
    /// use callseal_core::policy::{Participant, Platform, PolicyDocument, Reason};
    ///
    /// let doc = PolicyDocument::new();
    /// assert_eq!(doc.admit(&Participant::new("a", Platform::Android), 0), Reason::Ok);
    /// assert_eq!(doc.admit(&Participant::new("a", Platform::Android), 200), Reason::MeetingFull);
    /// assert_eq!(doc.admit(&Participant::new("a", Platform::SurfaceHub), 0), Reason::UnsupportedPlatform);
    /// ```
    pub fn admit(&self, participant: &Participant, admitted: usize) -> Reason {
        if !valid_id(&participant.user) {
            Reason::InvalidId
        } else if self.user(&participant.user).compliance_recording {
            Reason::ComplianceRecording
        } else if !participant.platform.supports_e2ee() {
            Reason::UnsupportedPlatform
        } else if admitted >= MAX_E2EE_MEETING_PARTICIPANTS {
            Reason::MeetingFull
        } else {
            Reason::Ok
        }
    }

    /// Decides a meeting: its mode ([`meeting_mode`](Self::meeting_mode)),
    /// then, if it is end-to-end encrypted, each participant in order
    /// ([`admit`](Self::admit)). A meeting that is not end-to-end encrypted
    /// admits everyone.
    pub fn evaluate_meeting(
        &self,
        organizer: &str,
        organizer_e2ee: bool,
        participants: &[Participant],
    ) -> MeetingDecision {
        let reason = self.meeting_mode(organizer, organizer_e2ee);
        let e2ee = reason == Reason::Ok;
        let mut admitted = Vec::new();
        let mut refused = Vec::new();
        for participant in participants {
            let verdict = if e2ee {
                self.admit(participant, admitted.len())
            } else {
                Reason::Ok
            };
            if verdict == Reason::Ok {
                admitted.push(participant.user.clone());
            } else {
                refused.push(Refusal {
                    user: participant.user.clone(),
                    reason: verdict,
                });
            }
        }
        MeetingDecision {
            e2ee,
            reason,
            admitted,
            refused,
        }
    }
}

/// Whether `id` is one the policy can hold (docs/POLICY.md, "Canonical
/// ids"): a decision about any other id says [`Reason::InvalidId`] instead
/// of treating it as a stranger with defaults.
fn valid_id(id: &str) -> bool {
    super::canonical_principal("user", id).is_ok()
}
