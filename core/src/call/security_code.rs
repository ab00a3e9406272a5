//! The 20-digit security code both screens show (PROTOCOL.md §3.5).

use core::fmt;

/// Number of bytes the key schedule derives for the code.
pub const SECURITY_CODE_LEN: usize = 20;

/// The security code of an established call: four groups of five digits.
///
/// Each 5-byte group of the 20 derived bytes is read as a 40-bit big-endian
/// integer and taken mod 100000. Equal codes on both screens mean no one sits
/// in the middle. The code is meant to be shown, so it is an ordinary value
/// (plain `Eq`, `Debug` prints the digits).
///
/// ```
/// use callseal_core::call::SecurityCode;
///
/// let mut bytes = [0u8; 20];
/// bytes[4] = 42; // first group = 42
/// bytes[5..10].copy_from_slice(&[0, 0, 0x01, 0x86, 0xa0]); // 100000 → 0
/// let code = SecurityCode::from_bytes(bytes);
/// assert_eq!(code.to_string(), "00042 00000 00000 00000");
/// assert_eq!(code.groups(), [42, 0, 0, 0]);
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct SecurityCode {
    groups: [u32; 4],
}

impl SecurityCode {
    /// The code for the 20 bytes derived with `"callseal/1 security code"`.
    pub fn from_bytes(bytes: [u8; SECURITY_CODE_LEN]) -> Self {
        let mut groups = [0u32; 4];
        for (group, chunk) in groups.iter_mut().zip(bytes.chunks_exact(5)) {
            let value = chunk.iter().fold(0u64, |acc, &b| (acc << 8) | u64::from(b));
            // value < 2^40, so value % 100000 < 100000 fits a u32.
            *group = u32::try_from(value % 100_000).unwrap_or(0);
        }
        Self { groups }
    }

    /// The four groups, each in `0..100000`.
    pub fn groups(&self) -> [u32; 4] {
        self.groups
    }
}

impl fmt::Display for SecurityCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let [a, b, c, d] = self.groups;
        write!(f, "{a:05} {b:05} {c:05} {d:05}")
    }
}

impl fmt::Debug for SecurityCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SecurityCode({self})")
    }
}
