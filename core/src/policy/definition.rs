//! One enhanced-encryption policy.

use serde::{Deserialize, Serialize};

use super::{E2eeSetting, PolicyError, canonical_principal};

/// The identity of the policy that always exists.
pub const GLOBAL: &str = "Global";

/// An enhanced-encryption policy, with the field names admins know.
///
/// ```
/// use callseal_core::policy::{E2eeSetting, Policy};
///
/// let pilot = Policy::named("Pilot")?
///     .with_calling(E2eeSetting::DisabledUserOverride)
///     .with_description("E2EE calls for the pilot group");
/// assert_eq!(pilot.identity, "Pilot");
/// assert!(pilot.calling.allows_e2ee());
/// assert!(!pilot.meeting.allows_e2ee());
/// # Ok::<(), callseal_core::policy::PolicyError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Policy {
    /// `Global` or the policy's name.
    #[serde(rename = "Identity")]
    pub identity: String,
    /// Whether users may turn on end-to-end encrypted 1:1 calls.
    #[serde(rename = "CallingEndtoEndEncryptionEnabledType")]
    pub calling: E2eeSetting,
    /// Whether organizers may turn on end-to-end encrypted meetings.
    #[serde(rename = "MeetingEndToEndEncryption")]
    pub meeting: E2eeSetting,
    /// Free text for admins.
    #[serde(rename = "Description", default)]
    pub description: String,
}

impl Policy {
    /// The Global policy as it starts: both settings `Disabled`.
    pub fn global() -> Self {
        Self {
            identity: GLOBAL.to_owned(),
            calling: E2eeSetting::Disabled,
            meeting: E2eeSetting::Disabled,
            description: String::new(),
        }
    }

    /// A new named policy with both settings `Disabled`.
    ///
    /// # Errors
    /// [`PolicyError::InvalidName`] for a name that [`check_policy_name`]
    /// refuses (including `Global` in any letter case).
    pub fn named(name: &str) -> Result<Self, PolicyError> {
        check_policy_name(name)?;
        Ok(Self {
            identity: name.to_owned(),
            ..Self::global()
        })
    }

    /// This policy with `calling` set.
    #[must_use]
    pub fn with_calling(mut self, calling: E2eeSetting) -> Self {
        self.calling = calling;
        self
    }

    /// This policy with `meeting` set.
    #[must_use]
    pub fn with_meeting(mut self, meeting: E2eeSetting) -> Self {
        self.meeting = meeting;
        self
    }

    /// This policy with `description` set.
    #[must_use]
    pub fn with_description(mut self, description: impl Into<String>) -> Self {
        self.description = description.into();
        self
    }

    /// Whether this is the Global policy.
    pub fn is_global(&self) -> bool {
        self.identity == GLOBAL
    }
}

/// Checks a name for a new policy: 1–64 characters of ASCII letters,
/// digits, `-`, `_`, `.` and space, not starting or ending with a space, and
/// not `Global` in any letter case (that identity is reserved).
///
/// # Errors
/// [`PolicyError::InvalidName`] naming the rule broken.
///
/// ```
/// use callseal_core::policy::check_policy_name;
///
/// assert!(check_policy_name("Pilot group 2").is_ok());
/// assert!(check_policy_name("global").is_err());
/// assert!(check_policy_name("").is_err());
/// assert!(check_policy_name("a/b").is_err());
/// ```
pub fn check_policy_name(name: &str) -> Result<(), PolicyError> {
    let invalid = |rule| PolicyError::InvalidName {
        what: "policy name",
        value: name.to_owned(),
        rule,
    };
    if name.is_empty() || name.len() > 64 {
        return Err(invalid("must be 1 to 64 characters"));
    }
    if name.eq_ignore_ascii_case(GLOBAL) {
        return Err(invalid(
            "Global is reserved for the policy that always exists",
        ));
    }
    if !name
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b' '))
    {
        return Err(invalid("only letters, digits, '-', '_', '.' and space"));
    }
    if name.starts_with(' ') || name.ends_with(' ') {
        return Err(invalid("must not start or end with a space"));
    }
    Ok(())
}

/// Checks a user id or group name: that [`canonical_principal`] accepts
/// it (1–255 bytes once canonical; no control, invisible or
/// bidirectional-control characters; no whitespace but the space, and none
/// leading or trailing; no comma, as group lists are comma-separated, and no
/// colon, as participants are written `user:platform`).
///
/// # Errors
/// [`PolicyError::InvalidName`] naming the rule broken.
///
/// ```
/// use callseal_core::policy::check_principal;
///
/// assert!(check_principal("user", "alice@example.org").is_ok());
/// assert!(check_principal("group", "a,b").is_err());
/// assert!(check_principal("user", "").is_err());
/// assert!(check_principal("user", "alice\u{200d}").is_err());
/// ```
pub fn check_principal(what: &'static str, value: &str) -> Result<(), PolicyError> {
    canonical_principal(what, value).map(|_| ())
}
