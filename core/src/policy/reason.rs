//! Why a decision came out the way it did.

use serde::{Deserialize, Serialize};

/// The reason of a call or meeting decision, or of a participant's refusal,
/// in words a UI can show. Its code is kebab-case and stable.
///
/// ```
/// use callseal_core::policy::Reason;
///
/// assert_eq!(Reason::UserSettingOff.code(), "user-setting-off");
/// assert_eq!(serde_json::to_string(&Reason::MeetingFull)?, "\"meeting-full\"");
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Reason {
    /// Everything allows end-to-end encryption (or admission).
    Ok,
    /// An effective policy does not allow end-to-end encryption.
    PolicyDisabled,
    /// A user has not turned on "End-to-end encrypted calls".
    UserSettingOff,
    /// A user is under compliance recording, which needs the media in clear.
    ComplianceRecording,
    /// The organizer did not turn end-to-end encryption on for the meeting.
    OrganizerSettingOff,
    /// The participant's platform cannot join end-to-end encrypted meetings.
    UnsupportedPlatform,
    /// The end-to-end encrypted meeting already has its maximum of
    /// participants.
    MeetingFull,
    /// A user id the policy cannot hold (an invisible, bidirectional or
    /// control character, not NFC, ...): never a stranger with defaults.
    InvalidId,
}

impl Reason {
    /// Every reason.
    pub const ALL: [Reason; 8] = [
        Reason::Ok,
        Reason::PolicyDisabled,
        Reason::UserSettingOff,
        Reason::ComplianceRecording,
        Reason::OrganizerSettingOff,
        Reason::UnsupportedPlatform,
        Reason::MeetingFull,
        Reason::InvalidId,
    ];

    /// The reason whose [`code`](Self::code) is `code`.
    ///
    /// ```
    /// use callseal_core::policy::Reason;
    ///
    /// assert_eq!(Reason::from_code("meeting-full"), Some(Reason::MeetingFull));
    /// assert_eq!(Reason::from_code("Meeting-Full"), None);
    /// ```
    pub fn from_code(code: &str) -> Option<Reason> {
        Self::ALL.into_iter().find(|r| r.code() == code)
    }

    /// The stable kebab-case code.
    pub const fn code(self) -> &'static str {
        match self {
            Reason::Ok => "ok",
            Reason::PolicyDisabled => "policy-disabled",
            Reason::UserSettingOff => "user-setting-off",
            Reason::ComplianceRecording => "compliance-recording",
            Reason::OrganizerSettingOff => "organizer-setting-off",
            Reason::UnsupportedPlatform => "unsupported-platform",
            Reason::MeetingFull => "meeting-full",
            Reason::InvalidId => "invalid-id",
        }
    }

    /// A sentence for people.
    pub const fn describe(self) -> &'static str {
        match self {
            Reason::Ok => "end-to-end encryption is allowed",
            Reason::PolicyDisabled => "an admin policy does not allow end-to-end encryption",
            Reason::UserSettingOff => {
                "end-to-end encrypted calls are turned off in a user's settings"
            }
            Reason::ComplianceRecording => "a user is under compliance recording",
            Reason::OrganizerSettingOff => {
                "the organizer did not turn on end-to-end encryption for this meeting"
            }
            Reason::UnsupportedPlatform => {
                "this platform cannot join end-to-end encrypted meetings"
            }
            Reason::MeetingFull => "the end-to-end encrypted meeting is full",
            Reason::InvalidId => "a user id is not one the policy can hold",
        }
    }
}

impl std::fmt::Display for Reason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.code())
    }
}
