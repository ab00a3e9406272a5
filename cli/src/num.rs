//! Parsing of command-line numbers and byte strings.

/// A decimal or `0x`-prefixed hexadecimal unsigned integer.
pub(crate) fn parse_u64(s: &str) -> Result<u64, String> {
    let t = s.trim();
    let parsed = match t.strip_prefix("0x").or_else(|| t.strip_prefix("0X")) {
        Some(h) => u64::from_str_radix(h, 16),
        None => t.parse(),
    };
    parsed.map_err(|_| format!("not a number in 0..=2^64-1: {s:?}"))
}

/// A cipher suite id: decimal or 0x-hex, 16 bits.
pub(crate) fn parse_u16(s: &str) -> Result<u16, String> {
    let v = parse_u64(s)?;
    u16::try_from(v).map_err(|_| format!("not a 16-bit value: {s:?}"))
}

/// Hex bytes, any case, optionally with a `0x` prefix; empty is allowed.
pub(crate) fn parse_hex(s: &str) -> Result<Vec<u8>, String> {
    let t = s.trim();
    let t = t.strip_prefix("0x").unwrap_or(t);
    hex::decode(t).map_err(|e| format!("bad hex ({e})"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers() {
        assert_eq!(parse_u64("17"), Ok(17));
        assert_eq!(parse_u64("0x11"), Ok(17));
        assert_eq!(parse_u64("18446744073709551615"), Ok(u64::MAX));
        assert!(parse_u64("18446744073709551616").is_err());
        assert!(parse_u64("-1").is_err());
        assert_eq!(parse_u16("0x0004"), Ok(4));
        assert!(parse_u16("65536").is_err());
        assert_eq!(parse_hex("0xAB01"), Ok(vec![0xab, 0x01]));
        assert_eq!(parse_hex(""), Ok(vec![]));
        assert!(parse_hex("abc").is_err());
    }
}
