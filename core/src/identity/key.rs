//! A user's long-term X25519 identity key (PROTOCOL.md §3.2).

use core::fmt;

use x25519_dalek::{PublicKey, StaticSecret};
use zeroize::{Zeroize, Zeroizing};

use super::entropy::{Entropy, OsEntropy};
use super::error::EntropyError;

/// A long-term X25519 identity key pair, persisted by the app.
///
/// The secret is zeroized on drop and never printed.
///
/// ```
/// use callseal_core::identity::IdentityKeyPair;
///
/// let key = IdentityKeyPair::generate()?;
/// let again = IdentityKeyPair::from_bytes(*key.to_bytes());
/// assert_eq!(key.public_key(), again.public_key());
/// assert!(!format!("{key:?}").contains(&format!("{:?}", *key.to_bytes())));
/// # Ok::<(), callseal_core::identity::EntropyError>(())
/// ```
#[derive(Clone)]
pub struct IdentityKeyPair {
    secret: StaticSecret,
    public: [u8; 32],
}

impl IdentityKeyPair {
    /// A fresh key pair from the operating system's random number generator.
    ///
    /// # Errors
    /// [`EntropyError`] if no randomness is available.
    pub fn generate() -> Result<Self, EntropyError> {
        Self::generate_with(&mut OsEntropy)
    }

    /// A fresh key pair from `entropy`.
    ///
    /// # Errors
    /// [`EntropyError`] if the source fails.
    pub fn generate_with<E: Entropy + ?Sized>(entropy: &mut E) -> Result<Self, EntropyError> {
        let mut bytes = Zeroizing::new([0u8; 32]);
        entropy.fill(&mut bytes[..])?;
        Ok(Self::from_zeroizing(bytes))
    }

    /// The key pair for a stored 32-byte secret (any 32 bytes; X25519 clamps).
    ///
    /// The array is taken by value and this function wipes the copy it
    /// received; the caller's own copy (the variable it passed, or the buffer
    /// it read the secret from) is the caller's to wipe, or pass a
    /// [`Zeroizing`] to [`from_zeroizing`](Self::from_zeroizing) instead.
    pub fn from_bytes(mut secret: [u8; 32]) -> Self {
        let key = StaticSecret::from(secret);
        secret.zeroize();
        let public = PublicKey::from(&key).to_bytes();
        Self {
            secret: key,
            public,
        }
    }

    /// The key pair for a stored 32-byte secret held in a [`Zeroizing`]
    /// buffer, which is wiped when this function returns (as
    /// [`to_bytes`](Self::to_bytes) returns it).
    ///
    /// ```
    /// use callseal_core::identity::IdentityKeyPair;
    ///
    /// let key = IdentityKeyPair::generate()?;
    /// let again = IdentityKeyPair::from_zeroizing(key.to_bytes());
    /// assert_eq!(key.public_key(), again.public_key());
    /// # Ok::<(), callseal_core::identity::EntropyError>(())
    /// ```
    pub fn from_zeroizing(secret: Zeroizing<[u8; 32]>) -> Self {
        Self::from_bytes(*secret)
    }

    /// The secret, for the app to persist; wiped when the returned value
    /// drops. Any copy the app makes of it (to write it to its secure
    /// storage, say) is the app's to wipe.
    pub fn to_bytes(&self) -> Zeroizing<[u8; 32]> {
        Zeroizing::new(self.secret.to_bytes())
    }

    /// The public key, as sent in the handshake and kept in identity stores.
    pub fn public_key(&self) -> [u8; 32] {
        self.public
    }

    pub(crate) fn secret(&self) -> &StaticSecret {
        &self.secret
    }
}

impl fmt::Debug for IdentityKeyPair {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("IdentityKeyPair { public: ")?;
        self.public.iter().try_for_each(|b| write!(f, "{b:02x}"))?;
        f.write_str(", secret: [redacted] }")
    }
}
