//! The SFrame header (RFC 9605 §4.3): a config byte, then the KID and CTR in
//! the fewest big-endian bytes.
//!
//! ```text
//!  0 1 2 3 4 5 6 7
//! +-+-+-+-+-+-+-+-+------------+------------+
//! |X|  K  |Y|  C  |   KID...   |   CTR...   |
//! +-+-+-+-+-+-+-+-+------------+------------+
//! ```
//!
//! A value 0–7 sits in K (or C) with its flag clear; a larger one follows the
//! config byte in 1–8 bytes with its flag set and K (or C) = length − 1.

use core::fmt;

use super::error::Error;

/// The longest header: config byte, 8-byte KID, 8-byte CTR.
pub const MAX_HEADER_LEN: usize = 17;

/// A key id: selects the base key a frame was encrypted with.
///
/// ```
/// use callseal_core::frame::Kid;
/// assert_eq!(Kid(0x123).to_string(), "291");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Kid(pub u64);

/// A frame counter: with the key's salt it forms the nonce, so a sender never
/// repeats one under the same key.
///
/// ```
/// use callseal_core::frame::Counter;
/// assert_eq!(Counter(7).to_string(), "7");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Counter(pub u64);

impl fmt::Display for Kid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

impl fmt::Display for Counter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

/// A decoded SFrame header.
///
/// ```
/// use callseal_core::frame::{Counter, Header, Kid};
///
/// let header = Header { kid: Kid(0x123), ctr: Counter(0x4567) };
/// let encoded = header.encode();
/// assert_eq!(encoded.as_bytes(), [0x99, 0x01, 0x23, 0x45, 0x67]);
/// assert_eq!(Header::decode(encoded.as_bytes()), Ok((header, 5)));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Header {
    /// The key id.
    pub kid: Kid,
    /// The counter.
    pub ctr: Counter,
}

/// An encoded header held on the stack (1–17 bytes).
///
/// ```
/// use callseal_core::frame::{Counter, Header, Kid};
/// assert_eq!(Header { kid: Kid(1), ctr: Counter(2) }.encode().as_bytes(), [0x12]);
/// ```
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct EncodedHeader {
    bytes: [u8; MAX_HEADER_LEN],
    len: u8,
}

impl EncodedHeader {
    /// The encoded bytes.
    pub fn as_bytes(&self) -> &[u8] {
        self.bytes.get(..usize::from(self.len)).unwrap_or(&[])
    }

    /// The encoded length in bytes.
    #[allow(clippy::len_without_is_empty)] // a header is never empty
    pub fn len(&self) -> usize {
        usize::from(self.len)
    }
}

impl fmt::Debug for EncodedHeader {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "EncodedHeader(")?;
        for b in self.as_bytes() {
            write!(f, "{b:02x}")?;
        }
        write!(f, ")")
    }
}

/// Bytes needed for `v` in the compact big-endian form (1–8; 0 is one byte).
fn byte_len(v: u64) -> usize {
    let bits = 64 - v.leading_zeros() as usize;
    bits.div_ceil(8).max(1)
}

/// One header field: its config nibble, its length after the config byte
/// (0 when the value sits in the nibble) and its value left-aligned in a
/// big-endian word.
fn field(v: u64) -> (u8, usize, u64) {
    if v < 8 {
        // v < 8 fits the 3-bit field.
        return (v as u8, 0, 0);
    }
    let n = byte_len(v); // 1..=8
    (0x08 | (n as u8 - 1), n, v << (64 - 8 * n))
}

/// Length of the header for these values, without encoding it.
pub(crate) fn encoded_len(kid: Kid, ctr: Counter) -> usize {
    let field = |v: u64| if v < 8 { 0 } else { byte_len(v) };
    1 + field(kid.0) + field(ctr.0)
}

impl Header {
    /// Encodes the header in its unique minimal form.
    pub fn encode(&self) -> EncodedHeader {
        let mut bytes = [0u8; MAX_HEADER_LEN];
        let len = self.write_wide(&mut bytes).unwrap_or(1);
        EncodedHeader {
            bytes,
            // len <= 17.
            len: len as u8,
        }
    }

    /// Writes the header at the start of `out` with three fixed-size stores
    /// and returns its length, or `None` if `out` is shorter than
    /// [`MAX_HEADER_LEN`]. Bytes of `out` after the header may be
    /// overwritten. The sender writes headers this way straight into the
    /// frame: no byte-by-byte build and no length-dependent copy.
    pub(crate) fn write_wide(&self, out: &mut [u8]) -> Option<usize> {
        let (kid_nibble, kid_len, kid_word) = field(self.kid.0);
        let (ctr_nibble, ctr_len, ctr_word) = field(self.ctr.0);
        let (config, rest) = out.get_mut(..MAX_HEADER_LEN)?.split_first_mut()?;
        *config = (kid_nibble << 4) | ctr_nibble;
        rest.get_mut(..8)?.copy_from_slice(&kid_word.to_be_bytes());
        rest.get_mut(kid_len..kid_len + 8)?
            .copy_from_slice(&ctr_word.to_be_bytes());
        Some(1 + kid_len + ctr_len)
    }

    /// Decodes a header from the start of `bytes`; returns it and its length.
    ///
    /// # Errors
    /// [`Error::TruncatedHeader`] if `bytes` ends inside the header,
    /// [`Error::NonMinimalHeader`] if a value is not in its shortest form.
    pub fn decode(bytes: &[u8]) -> Result<(Header, usize), Error> {
        let (&config, mut rest) = bytes.split_first().ok_or(Error::TruncatedHeader)?;
        let mut read = |nibble: u8| -> Result<u64, Error> {
            if nibble & 0x08 == 0 {
                return Ok(u64::from(nibble & 0x07));
            }
            let n = usize::from(nibble & 0x07) + 1;
            let (field, tail) = rest.split_at_checked(n).ok_or(Error::TruncatedHeader)?;
            rest = tail;
            let value = field.iter().fold(0u64, |acc, &b| (acc << 8) | u64::from(b));
            // Minimal: values 0-7 are inline, and no leading zero byte.
            if value < 8 || byte_len(value) != n {
                return Err(Error::NonMinimalHeader);
            }
            Ok(value)
        };
        let kid = read(config >> 4)?;
        let ctr = read(config & 0x0f)?;
        let header = Header {
            kid: Kid(kid),
            ctr: Counter(ctr),
        };
        Ok((header, encoded_len(header.kid, header.ctr)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn extremes_round_trip() {
        for kid in [0, 7, 8, 255, 256, u64::MAX] {
            for ctr in [0, 7, 8, 0xffff, 0x1_0000, u64::MAX] {
                let h = Header {
                    kid: Kid(kid),
                    ctr: Counter(ctr),
                };
                let e = h.encode();
                assert_eq!(e.len(), encoded_len(h.kid, h.ctr));
                assert_eq!(Header::decode(e.as_bytes()), Ok((h, e.len())));
                for cut in 0..e.len() {
                    assert_eq!(
                        Header::decode(&e.as_bytes()[..cut]),
                        Err(Error::TruncatedHeader)
                    );
                }
            }
        }
    }

    #[test]
    fn wide_write_needs_room_for_the_longest_header() {
        let h = Header {
            kid: Kid(1),
            ctr: Counter(2),
        };
        assert_eq!(h.write_wide(&mut [0; MAX_HEADER_LEN - 1]), None);
        let mut out = [0xee; MAX_HEADER_LEN];
        assert_eq!(h.write_wide(&mut out), Some(1));
        assert_eq!(out[0], 0x12);
    }

    #[test]
    fn non_minimal_rejected() {
        // KID 5 written in an extension byte.
        assert_eq!(Header::decode(&[0x80, 0x05]), Err(Error::NonMinimalHeader));
        // CTR 0x0100 written in three bytes.
        assert_eq!(
            Header::decode(&[0x0a, 0x00, 0x01, 0x00]),
            Err(Error::NonMinimalHeader)
        );
    }
}
