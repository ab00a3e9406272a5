//! Where the handshake's randomness comes from.

use super::error::CallError;

/// A source of random bytes for session ids and ephemeral keys.
///
/// The core never reaches for randomness on its own: callers pass an
/// `Entropy`, which keeps the handshake deterministic under test. Production
/// code uses [`OsEntropy`].
///
/// ```
/// use callseal_core::call::{CallError, Entropy, OsEntropy};
///
/// let mut bytes = [0u8; 16];
/// OsEntropy.fill(&mut bytes)?;
///
/// // A test source: the same bytes every time. Never use this in production.
/// struct Fixed(u8);
/// impl Entropy for Fixed {
///     fn fill(&mut self, dest: &mut [u8]) -> Result<(), CallError> {
///         dest.fill(self.0);
///         Ok(())
///     }
/// }
/// let mut fixed = [0u8; 4];
/// Fixed(7).fill(&mut fixed)?;
/// assert_eq!(fixed, [7; 4]);
/// # Ok::<(), CallError>(())
/// ```
pub trait Entropy {
    /// Fills `dest` with random bytes.
    ///
    /// # Errors
    /// [`CallError::Entropy`] if no randomness is available.
    fn fill(&mut self, dest: &mut [u8]) -> Result<(), CallError>;
}

/// The operating system's random number generator (`getrandom`).
///
/// ```
/// use callseal_core::call::{Entropy, OsEntropy};
///
/// let mut a = [0u8; 32];
/// OsEntropy.fill(&mut a)?;
/// # Ok::<(), callseal_core::call::CallError>(())
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct OsEntropy;

impl Entropy for OsEntropy {
    fn fill(&mut self, dest: &mut [u8]) -> Result<(), CallError> {
        getrandom::fill(dest).map_err(|_| CallError::Entropy)
    }
}
