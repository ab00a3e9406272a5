//! What an identity store says about a peer's or a member's key
//! (PROTOCOL.md §3.8, §4.9).

/// What the identity store said about a peer's identity key (a 1:1 call's
/// peer, or a meeting member).
///
/// ```
/// use callseal_core::identity::PeerStatus;
///
/// let status = PeerStatus::Known { verified: true };
/// assert_ne!(status, PeerStatus::Changed);
/// assert_eq!(status.as_str(), "known-verified");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PeerStatus {
    /// No entry for this user: stored as unverified.
    New,
    /// The same key as stored, verified earlier or not.
    Known {
        /// Whether the users compared codes earlier.
        verified: bool,
    },
    /// A different key than stored: flag it (new device, or an attack). The
    /// new key is stored unverified.
    Changed,
}

impl PeerStatus {
    /// The kebab-case name every wrapper uses: `new`, `known`,
    /// `known-verified` or `changed`.
    pub fn as_str(self) -> &'static str {
        match self {
            PeerStatus::New => "new",
            PeerStatus::Known { verified: false } => "known",
            PeerStatus::Known { verified: true } => "known-verified",
            PeerStatus::Changed => "changed",
        }
    }
}
