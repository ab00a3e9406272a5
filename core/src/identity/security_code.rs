//! The 20-digit security code both screens show (PROTOCOL.md §3.5).

use core::fmt;

/// Number of bytes the key schedule derives for the code.
pub const SECURITY_CODE_LEN: usize = 20;

/// The security code of an established call, or a meeting's code: four
/// groups of five digits.
///
/// Each 5-byte group of the 20 derived bytes is read as a 40-bit big-endian
/// integer and taken mod 100000. Equal codes on both screens mean no one sits
/// in the middle. The code is meant to be shown, so it is an ordinary value
/// (plain `Eq`, `Debug` prints the digits).
///
/// ```
/// use callseal_core::identity::SecurityCode;
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
    /// The code for the 20 bytes derived with `"callseal/2 security code"`.
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

/// A string that is not a security code as [`SecurityCode`]'s `Display`
/// writes it (four groups of five digits, separated by single spaces).
///
/// ```
/// use callseal_core::ErrorKind;
/// use callseal_core::identity::SecurityCode;
///
/// let err = "12345 6789".parse::<SecurityCode>().unwrap_err();
/// assert_eq!(err.kind(), ErrorKind::InvalidArgument);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("not a security code: four groups of five digits separated by spaces")]
pub struct InvalidSecurityCode;

impl InvalidSecurityCode {
    /// The stable [`ErrorKind`](crate::ErrorKind):
    /// [`InvalidArgument`](crate::ErrorKind::InvalidArgument).
    pub const fn kind(&self) -> crate::ErrorKind {
        crate::ErrorKind::InvalidArgument
    }
}

/// Parses the code as shown: `"ddddd ddddd ddddd ddddd"`, exactly.
///
/// ```
/// use callseal_core::identity::SecurityCode;
///
/// let code: SecurityCode = "00042 00000 99999 12345".parse()?;
/// assert_eq!(code.groups(), [42, 0, 99999, 12345]);
/// assert_eq!(code.to_string(), "00042 00000 99999 12345");
/// assert!("00042 00000 99999 1234".parse::<SecurityCode>().is_err());
/// assert!("00042  0000 99999 12345".parse::<SecurityCode>().is_err());
/// # Ok::<(), callseal_core::identity::InvalidSecurityCode>(())
/// ```
impl std::str::FromStr for SecurityCode {
    type Err = InvalidSecurityCode;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let mut groups = [0u32; 4];
        let mut parts = text.split(' ');
        for group in &mut groups {
            let part = parts.next().ok_or(InvalidSecurityCode)?;
            if part.len() != 5 || !part.bytes().all(|b| b.is_ascii_digit()) {
                return Err(InvalidSecurityCode);
            }
            *group = part.parse().map_err(|_| InvalidSecurityCode)?;
        }
        if parts.next().is_some() {
            return Err(InvalidSecurityCode);
        }
        Ok(Self { groups })
    }
}
