//! The two values of a policy's end-to-end encryption settings.

use serde::{Deserialize, Serialize};

/// The value of `CallingEndtoEndEncryptionEnabledType` and
/// `MeetingEndToEndEncryption`.
///
/// `DisabledUserOverride` reads "off unless the user turns it on": it
/// *allows* end-to-end encryption. `Disabled` forbids it.
///
/// ```
/// use callseal_core::policy::E2eeSetting;
///
/// assert!(E2eeSetting::DisabledUserOverride.allows_e2ee());
/// assert!(!E2eeSetting::Disabled.allows_e2ee());
/// assert_eq!("DisabledUserOverride".parse::<E2eeSetting>().ok(), Some(E2eeSetting::DisabledUserOverride));
/// assert_eq!(E2eeSetting::Disabled.to_string(), "Disabled");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub enum E2eeSetting {
    /// End-to-end encryption is off and users cannot turn it on.
    #[default]
    Disabled,
    /// End-to-end encryption is off until the user (or, for meetings, the
    /// organizer) turns it on.
    DisabledUserOverride,
}

impl E2eeSetting {
    /// Every value, in a fixed order.
    pub const ALL: [E2eeSetting; 2] = [E2eeSetting::Disabled, E2eeSetting::DisabledUserOverride];

    /// Whether users may turn end-to-end encryption on under this value.
    pub const fn allows_e2ee(self) -> bool {
        matches!(self, E2eeSetting::DisabledUserOverride)
    }

    /// The value's name as admins write it.
    pub const fn name(self) -> &'static str {
        match self {
            E2eeSetting::Disabled => "Disabled",
            E2eeSetting::DisabledUserOverride => "DisabledUserOverride",
        }
    }
}

impl std::fmt::Display for E2eeSetting {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl std::str::FromStr for E2eeSetting {
    type Err = super::PolicyError;

    /// Parses `Disabled` or `DisabledUserOverride` (any letter case).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        E2eeSetting::ALL
            .into_iter()
            .find(|v| v.name().eq_ignore_ascii_case(s))
            .ok_or_else(|| super::PolicyError::InvalidValue {
                what: "setting",
                value: s.to_owned(),
                allowed: "Disabled, DisabledUserOverride",
            })
    }
}
