//! What the policy model knows about one user.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

/// A user's own settings and circumstances.
///
/// A user the store has never seen has the default: the setting off, no
/// groups, no compliance recording.
///
/// ```
/// use callseal_core::policy::UserState;
///
/// let user = UserState::default();
/// assert!(!user.e2ee_calls);
/// assert!(user.groups.is_empty());
/// assert!(!user.compliance_recording);
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UserState {
    /// The user's "End-to-end encrypted calls" setting.
    #[serde(default)]
    pub e2ee_calls: bool,
    /// The groups the user belongs to.
    #[serde(default)]
    pub groups: BTreeSet<String>,
    /// Whether the user is under compliance recording.
    #[serde(default)]
    pub compliance_recording: bool,
}
