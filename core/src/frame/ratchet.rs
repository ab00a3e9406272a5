//! The RFC 9605 §5.1 sender-key ratchet: how a KID carries a key generation
//! and the low `R` bits of a ratchet step.
//!
//! ```text
//! KID = (key_generation << R) + (ratchet_step % 2^R)
//! base_key[i+1] = HKDF-Expand(HKDF-Extract("", base_key[i]), "SFrame 1.0 Ratchet", Nh)
//! ```

use super::error::Error;
use super::header::Kid;

/// The split of a KID into key generation (high `64 - R` bits) and ratchet
/// step (low `R` bits), for `R` in 1..=32.
///
/// `R` bounds reordering: no more than `2^R` steps can be told apart.
///
/// ```
/// use callseal_core::frame::{Kid, RatchetLayout};
///
/// let layout = RatchetLayout::new(4)?;
/// assert_eq!(layout.kid(3, 17)?, Kid((3 << 4) + 1));
/// assert_eq!(layout.generation(Kid(0x31)), 3);
/// # Ok::<(), callseal_core::frame::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct RatchetLayout {
    bits: u8,
}

impl RatchetLayout {
    /// A layout with `r` ratchet-step bits.
    ///
    /// # Errors
    /// [`Error::InvalidConfig`] unless `1 <= r <= 32`.
    pub fn new(r: u8) -> Result<Self, Error> {
        if (1..=32).contains(&r) {
            Ok(Self { bits: r })
        } else {
            Err(Error::InvalidConfig("ratchet step bits must be 1..=32"))
        }
    }

    /// `R`.
    pub fn step_bits(&self) -> u8 {
        self.bits
    }

    pub(crate) fn mask(&self) -> u64 {
        (1u64 << self.bits) - 1
    }

    /// The KID of `generation` at ratchet `step`.
    ///
    /// # Errors
    /// [`Error::InvalidConfig`] if `generation` does not fit in `64 - R` bits.
    pub fn kid(&self, generation: u64, step: u64) -> Result<Kid, Error> {
        if generation >> (64 - u32::from(self.bits)) != 0 {
            return Err(Error::InvalidConfig("key generation too large for R"));
        }
        Ok(Kid((generation << self.bits) | (step & self.mask())))
    }

    /// The key generation a KID carries.
    pub fn generation(&self, kid: Kid) -> u64 {
        kid.0 >> self.bits
    }

    /// The low `R` bits of the ratchet step a KID carries.
    pub fn step_low_bits(&self, kid: Kid) -> u64 {
        kid.0 & self.mask()
    }
}
