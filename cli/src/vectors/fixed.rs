//! Fixed inputs: deterministic byte patterns and the hex and decimal forms
//! the files use.

use callseal_core::frame::{BaseKey, CipherSuite};

/// `len` bytes that depend on `tag`: an affine sequence, never all equal.
pub(super) fn pattern(tag: u8, len: usize) -> Vec<u8> {
    (0..len)
        .map(|i| {
            let i = (i % 256) as u8;
            tag.wrapping_mul(0x9d)
                .wrapping_add(i.wrapping_mul(0x3b))
                .wrapping_add(0x11)
        })
        .collect()
}

/// `len` bytes that depend on `tag` and are never zero, for codec payloads
/// where zero runs would form start codes.
pub(super) fn nonzero(tag: u8, len: usize) -> Vec<u8> {
    pattern(tag, len)
        .into_iter()
        .map(|b| if b == 0 { 0x5a } else { b })
        .collect()
}

/// The base key the files use for `suite` and `tag`: as long as the suite's
/// AEAD key (any length 1–128 would do; this one reads naturally).
pub(super) fn base_key_bytes(suite: CipherSuite, tag: u8) -> Vec<u8> {
    pattern(tag ^ (suite.id() as u8), suite.key_len().min(32))
}

/// The [`BaseKey`] for `bytes`.
pub(super) fn base_key(bytes: &[u8]) -> Result<BaseKey, String> {
    BaseKey::new(bytes).map_err(|e| e.to_string())
}

/// Lowercase hex.
pub(super) fn hex(bytes: &[u8]) -> String {
    hex::encode(bytes)
}

/// A u64 as the decimal string the files use (JavaScript numbers cannot
/// hold every u64).
pub(super) fn dec(v: u64) -> String {
    v.to_string()
}

/// Any displayable error as a string.
pub(super) fn err(e: impl std::fmt::Display) -> String {
    e.to_string()
}
