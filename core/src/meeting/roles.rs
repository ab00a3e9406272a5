//! The committer list a meeting's group context carries (PROTOCOL.md §4.7):
//! who may commit membership changes, bound to MLS signature keys.

use super::MeetingError;

/// The MLS extension type of the roles extension (`callseal_roles`, in
/// RFC 9420's private-use range).
pub const ROLES_EXTENSION_TYPE: u16 = 0xFC01;

/// The version byte of the roles extension.
const ROLES_VERSION: u8 = 1;

/// The most committers a meeting lists (the organizer and 31 co-organizers).
pub const MAX_COMMITTERS: usize = 32;

/// The length of a signature key in the list (Ed25519, the meetings'
/// MLS cipher suite).
pub const SIGNATURE_KEY_LEN: usize = 32;

/// A member's MLS signature public key: its meeting identity.
pub type SignatureKey = [u8; SIGNATURE_KEY_LEN];

/// The committer list: the designated organizer first, then the
/// co-organizers in the order they were promoted. Who holds a role in an
/// epoch is [`effective`](Self::effective): the listed keys that belong to
/// current members, in this order.
///
/// ```
/// use callseal_core::meeting::Roles;
///
/// let roles = Roles::new(vec![[1; 32], [2; 32]])?;
/// let bytes = roles.to_bytes();
/// assert_eq!(bytes.len(), 2 + 2 * 32);
/// assert_eq!(Roles::from_bytes(&bytes)?, roles);
/// // Only listed keys of current members count; the first present is the organizer.
/// assert_eq!(roles.effective(&[[2; 32], [9; 32]]), vec![[2; 32]]);
/// # Ok::<(), callseal_core::meeting::MeetingError>(())
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct Roles {
    committers: Vec<SignatureKey>,
}

impl std::fmt::Debug for Roles {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list()
            .entries(self.committers.iter().map(short_hex))
            .finish()
    }
}

fn short_hex(key: &SignatureKey) -> String {
    key.iter().take(4).map(|b| format!("{b:02x}")).collect()
}

impl Roles {
    /// A list of committers, organizer first.
    ///
    /// # Errors
    /// [`MeetingError::InvalidRoles`] if it is empty, longer than
    /// [`MAX_COMMITTERS`] or lists a key twice.
    pub fn new(committers: Vec<SignatureKey>) -> Result<Self, MeetingError> {
        if committers.is_empty() || committers.len() > MAX_COMMITTERS {
            return Err(MeetingError::InvalidRoles(
                "a meeting lists 1 to 32 committers",
            ));
        }
        for (i, key) in committers.iter().enumerate() {
            if committers[..i].contains(key) {
                return Err(MeetingError::InvalidRoles("a committer is listed twice"));
            }
        }
        Ok(Self { committers })
    }

    /// The listed keys, organizer first.
    pub fn committers(&self) -> &[SignatureKey] {
        &self.committers
    }

    /// The listed keys that belong to a current member (`member_keys`), in
    /// list order: the first is the organizer, the rest the co-organizers.
    pub fn effective(&self, member_keys: &[SignatureKey]) -> Vec<SignatureKey> {
        self.committers
            .iter()
            .filter(|k| member_keys.contains(k))
            .copied()
            .collect()
    }

    /// The extension's bytes: `version (1) || n (1) || n × key (32)`.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(2 + self.committers.len() * SIGNATURE_KEY_LEN);
        out.push(ROLES_VERSION);
        // new() bounds the count to 32.
        out.push(u8::try_from(self.committers.len()).unwrap_or(u8::MAX));
        for key in &self.committers {
            out.extend_from_slice(key);
        }
        out
    }

    /// Parses the extension's bytes, strictly: the version, a count of 1 to
    /// 32, exactly that many distinct keys, nothing after.
    ///
    /// # Errors
    /// [`MeetingError::InvalidRoles`].
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, MeetingError> {
        let [version, count, keys @ ..] = bytes else {
            return Err(MeetingError::InvalidRoles("truncated roles extension"));
        };
        if *version != ROLES_VERSION {
            return Err(MeetingError::InvalidRoles("unknown roles version"));
        }
        if keys.len() != usize::from(*count) * SIGNATURE_KEY_LEN {
            return Err(MeetingError::InvalidRoles(
                "the roles extension's length does not match its count",
            ));
        }
        let committers = keys
            .chunks_exact(SIGNATURE_KEY_LEN)
            .map(|chunk| {
                let mut key = [0u8; SIGNATURE_KEY_LEN];
                key.copy_from_slice(chunk);
                key
            })
            .collect();
        Self::new(committers)
    }

    /// The list with `keys` appended (those not listed yet).
    ///
    /// # Errors
    /// [`MeetingError::InvalidRoles`] past [`MAX_COMMITTERS`].
    pub fn promote(&self, keys: &[SignatureKey]) -> Result<Self, MeetingError> {
        let mut committers = self.committers.clone();
        for key in keys {
            if !committers.contains(key) {
                committers.push(*key);
            }
        }
        Self::new(committers)
    }

    /// The list without `keys`.
    ///
    /// # Errors
    /// [`MeetingError::InvalidRoles`] if nothing would be left.
    pub fn demote(&self, keys: &[SignatureKey]) -> Result<Self, MeetingError> {
        Self::new(
            self.committers
                .iter()
                .filter(|k| !keys.contains(k))
                .copied()
                .collect(),
        )
    }

    /// The list after `organizer` hands its role to `successor` (PROTOCOL.md
    /// §4.7): the successor's keys first, the other committers in order,
    /// then the old organizer.
    ///
    /// # Errors
    /// [`MeetingError::InvalidRoles`].
    pub fn hand_over(
        &self,
        organizer: &SignatureKey,
        successor: &[SignatureKey],
    ) -> Result<Self, MeetingError> {
        let mut committers: Vec<SignatureKey> = successor.to_vec();
        committers.extend(
            self.committers
                .iter()
                .filter(|k| *k != organizer && !successor.contains(k)),
        );
        committers.push(*organizer);
        Self::new(committers)
    }

    /// The list restricted to `member_keys` (those of members of the new
    /// epoch), keeping the order.
    ///
    /// # Errors
    /// [`MeetingError::InvalidRoles`] if nothing would be left.
    pub fn retain_members(&self, member_keys: &[SignatureKey]) -> Result<Self, MeetingError> {
        Self::new(self.effective(member_keys))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
    use super::*;

    #[test]
    fn parsing_is_strict() {
        let roles = Roles::new(vec![[1; 32], [2; 32]]).unwrap();
        let bytes = roles.to_bytes();
        assert!(Roles::from_bytes(&bytes[..bytes.len() - 1]).is_err());
        assert!(Roles::from_bytes(&[bytes.as_slice(), &[0]].concat()).is_err());
        let mut other_version = bytes.clone();
        other_version[0] = 2;
        assert!(Roles::from_bytes(&other_version).is_err());
        assert!(Roles::from_bytes(&[1, 0]).is_err(), "no committer");
        let twice = [&[1u8, 2][..], &[7; 32], &[7; 32]].concat();
        assert!(Roles::from_bytes(&twice).is_err(), "a key twice");
        assert!(Roles::from_bytes(&[]).is_err());
        assert!(Roles::new(vec![[0; 32]; 0]).is_err());
        let many: Vec<SignatureKey> = (0..=MAX_COMMITTERS as u8).map(|i| [i; 32]).collect();
        assert!(Roles::new(many).is_err());
    }

    #[test]
    fn changes() {
        let roles = Roles::new(vec![[1; 32], [2; 32], [3; 32]]).unwrap();
        assert_eq!(
            roles.hand_over(&[1; 32], &[[3; 32]]).unwrap().committers(),
            [[3; 32], [2; 32], [1; 32]]
        );
        assert_eq!(
            roles.promote(&[[2; 32], [4; 32]]).unwrap().committers(),
            [[1; 32], [2; 32], [3; 32], [4; 32]]
        );
        assert_eq!(
            roles.demote(&[[2; 32]]).unwrap().committers(),
            [[1; 32], [3; 32]]
        );
        assert!(roles.demote(&[[1; 32], [2; 32], [3; 32]]).is_err());
        assert_eq!(roles.effective(&[[3; 32], [2; 32]]), [[2; 32], [3; 32]]);
    }
}
