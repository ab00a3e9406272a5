//! RFC 9605 §5.2 key ids: context, sender index and epoch bits.

use crate::frame::Kid;

use super::MeetingError;

/// How a meeting splits the 64-bit SFrame KID (PROTOCOL.md §4.3):
/// `KID = (context << (S + E)) | (index << E) | (epoch mod 2^E)`.
///
/// ```
/// use callseal_core::meeting::KidLayout;
///
/// let layout = KidLayout::default(); // E = 8, S = 16, context 0
/// let kid = layout.kid(300, 5)?;
/// assert_eq!(kid.0, (5 << 8) | (300 % 256));
/// assert_eq!(layout.split(kid), Some((300 % 256, 5)));
/// # Ok::<(), callseal_core::meeting::MeetingError>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KidLayout {
    epoch_bits: u8,
    index_bits: u8,
    context: u64,
}

impl Default for KidLayout {
    fn default() -> Self {
        Self {
            epoch_bits: 8,
            index_bits: 16,
            context: 0,
        }
    }
}

impl KidLayout {
    /// A layout with `E = epoch_bits`, `S = index_bits` and `context`.
    ///
    /// # Errors
    /// [`MeetingError::InvalidConfig`] unless `2 <= E`, `1 <= S`,
    /// `S + E <= 64` and `context < 2^(64 - S - E)`. (With one epoch bit
    /// the next epoch and the previous one share a tag, so a receiver could
    /// not tell a frame from the future from one of the past.)
    pub fn new(epoch_bits: u8, index_bits: u8, context: u64) -> Result<Self, MeetingError> {
        let total = u32::from(epoch_bits) + u32::from(index_bits);
        if epoch_bits < 2 || index_bits == 0 || total > 64 {
            return Err(MeetingError::InvalidConfig(
                "epoch bits must be at least 2, index bits at least 1, and at most 64 together",
            ));
        }
        let context_bits = 64 - total;
        if context_bits < 64 && context >> context_bits != 0 {
            return Err(MeetingError::InvalidConfig(
                "the context does not fit the bits left",
            ));
        }
        Ok(Self {
            epoch_bits,
            index_bits,
            context,
        })
    }

    /// `E`: the epoch bits.
    pub fn epoch_bits(&self) -> u8 {
        self.epoch_bits
    }

    /// The context value of KIDs.
    pub fn context(&self) -> u64 {
        self.context
    }

    /// `S`: the sender index bits.
    pub fn index_bits(&self) -> u8 {
        self.index_bits
    }

    /// The low `E` bits of `epoch`.
    pub fn epoch_tag(&self, epoch: u64) -> u64 {
        epoch & mask(self.epoch_bits)
    }

    /// The KID of sender `index` in `epoch`.
    ///
    /// # Errors
    /// [`MeetingError::InvalidConfig`] if `index` needs more than `S` bits.
    pub fn kid(&self, epoch: u64, index: u32) -> Result<Kid, MeetingError> {
        let index = u64::from(index);
        if index > mask(self.index_bits) {
            return Err(MeetingError::InvalidConfig(
                "a member index does not fit the configured index bits",
            ));
        }
        let total = u32::from(self.epoch_bits) + u32::from(self.index_bits);
        let context = self.context.checked_shl(total).unwrap_or(0);
        Ok(Kid(context
            | (index << self.epoch_bits)
            | self.epoch_tag(epoch)))
    }

    /// The epoch tag and sender index of `kid`, if its context is this
    /// layout's.
    pub fn split(&self, kid: Kid) -> Option<(u64, u32)> {
        let total = u32::from(self.epoch_bits) + u32::from(self.index_bits);
        let context = kid.0.checked_shr(total).unwrap_or(0);
        if context != self.context {
            return None;
        }
        let index = (kid.0 >> self.epoch_bits) & mask(self.index_bits);
        Some((kid.0 & mask(self.epoch_bits), u32::try_from(index).ok()?))
    }
}

fn mask(bits: u8) -> u64 {
    if bits >= 64 {
        u64::MAX
    } else {
        (1u64 << bits) - 1
    }
}
