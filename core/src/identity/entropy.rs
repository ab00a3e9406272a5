//! Where the randomness of handshakes and meetings comes from.

use super::error::EntropyError;

/// A source of random bytes for session ids, ephemeral and identity keys.
///
/// The core never reaches for randomness on its own: callers pass an
/// `Entropy`, which keeps the handshake deterministic under test. Production
/// code uses [`OsEntropy`].
///
/// ```
/// use callseal_core::identity::{Entropy, EntropyError, OsEntropy};
///
/// let mut bytes = [0u8; 16];
/// OsEntropy.fill(&mut bytes)?;
///
/// // A test source: the same bytes every time. Never use this in production.
/// struct Fixed(u8);
/// impl Entropy for Fixed {
///     fn fill(&mut self, dest: &mut [u8]) -> Result<(), EntropyError> {
///         dest.fill(self.0);
///         Ok(())
///     }
/// }
/// let mut fixed = [0u8; 4];
/// Fixed(7).fill(&mut fixed)?;
/// assert_eq!(fixed, [7; 4]);
/// # Ok::<(), EntropyError>(())
/// ```
pub trait Entropy {
    /// Fills `dest` with random bytes.
    ///
    /// # Errors
    /// [`EntropyError`] if no randomness is available.
    fn fill(&mut self, dest: &mut [u8]) -> Result<(), EntropyError>;
}

/// The operating system's random number generator (`getrandom`).
///
/// ```
/// use callseal_core::identity::{Entropy, OsEntropy};
///
/// let mut a = [0u8; 32];
/// OsEntropy.fill(&mut a)?;
/// # Ok::<(), callseal_core::identity::EntropyError>(())
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct OsEntropy;

impl Entropy for OsEntropy {
    fn fill(&mut self, dest: &mut [u8]) -> Result<(), EntropyError> {
        getrandom::fill(dest).map_err(|_| EntropyError)
    }
}

/// Entropy that replays bytes given up front, then fails.
///
/// For conformance files and tests only: a handshake driven by it is fully
/// determined by its inputs, so every target can replay it and must produce
/// the same messages and code. Never use it for a real call: anyone who
/// knows the bytes knows the keys. It exists only with the `conformance`
/// feature, which the published wasm package and the UniFFI library do not
/// enable.
///
/// ```
/// use callseal_core::identity::{Entropy, EntropyError, ScriptedEntropy};
///
/// let mut entropy = ScriptedEntropy::new(vec![1, 2, 3]);
/// let mut two = [0u8; 2];
/// entropy.fill(&mut two)?;
/// assert_eq!(two, [1, 2]);
/// assert_eq!(entropy.remaining(), 1);
/// assert_eq!(entropy.fill(&mut two), Err(EntropyError));
/// # Ok::<(), EntropyError>(())
/// ```
#[cfg(any(test, feature = "conformance"))]
pub struct ScriptedEntropy {
    bytes: zeroize::Zeroizing<Vec<u8>>,
    used: usize,
}

#[cfg(any(test, feature = "conformance"))]
impl ScriptedEntropy {
    /// A source that hands out `bytes` in order.
    pub fn new(bytes: Vec<u8>) -> Self {
        Self {
            bytes: zeroize::Zeroizing::new(bytes),
            used: 0,
        }
    }

    /// How many bytes are left.
    pub fn remaining(&self) -> usize {
        self.bytes.len() - self.used
    }
}

#[cfg(any(test, feature = "conformance"))]
impl core::fmt::Debug for ScriptedEntropy {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("ScriptedEntropy")
            .field("bytes", &"[redacted]")
            .field("remaining", &self.remaining())
            .finish()
    }
}

#[cfg(any(test, feature = "conformance"))]
impl Entropy for ScriptedEntropy {
    /// Fills `dest` from the script; fails without consuming anything when
    /// fewer than `dest.len()` bytes remain.
    fn fill(&mut self, dest: &mut [u8]) -> Result<(), EntropyError> {
        let end = self.used.checked_add(dest.len()).ok_or(EntropyError)?;
        let src = self.bytes.get(self.used..end).ok_or(EntropyError)?;
        dest.copy_from_slice(src);
        self.used = end;
        Ok(())
    }
}
