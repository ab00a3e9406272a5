//! The SFrame cipher suites registered by RFC 9605 §4.5 (0x0001–0x0005) and
//! the AES-256 CTR-HMAC suites registered after it (0x0006–0x0008).

use super::error::Error;

/// A cipher suite: the AEAD and the hash used for key derivation.
///
/// ```
/// use callseal_core::frame::CipherSuite;
///
/// let suite = CipherSuite::from_id(0x0004)?;
/// assert_eq!(suite, CipherSuite::AesGcm128Sha256);
/// assert_eq!((suite.key_len(), suite.tag_len()), (16, 16));
/// # Ok::<(), callseal_core::frame::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[allow(non_camel_case_types)] // the tag length is part of the registered name
pub enum CipherSuite {
    /// 0x0001 `AES_128_CTR_HMAC_SHA256_80`.
    AesCtr128HmacSha256_80,
    /// 0x0002 `AES_128_CTR_HMAC_SHA256_64`.
    AesCtr128HmacSha256_64,
    /// 0x0003 `AES_128_CTR_HMAC_SHA256_32`.
    AesCtr128HmacSha256_32,
    /// 0x0004 `AES_128_GCM_SHA256_128`.
    AesGcm128Sha256,
    /// 0x0005 `AES_256_GCM_SHA512_128`.
    AesGcm256Sha512,
    /// 0x0006 `AES_256_CTR_HMAC_SHA512_80`.
    AesCtr256HmacSha512_80,
    /// 0x0007 `AES_256_CTR_HMAC_SHA512_64`.
    AesCtr256HmacSha512_64,
    /// 0x0008 `AES_256_CTR_HMAC_SHA512_32`.
    AesCtr256HmacSha512_32,
}

/// The hash function a suite uses for HKDF (and for HMAC in CTR-HMAC suites).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Hash {
    Sha256,
    Sha512,
}

/// Nonce length, the same for every suite.
pub(crate) const NONCE_LEN: usize = 12;

impl CipherSuite {
    /// Every suite, in registry order.
    pub const ALL: [CipherSuite; 8] = [
        CipherSuite::AesCtr128HmacSha256_80,
        CipherSuite::AesCtr128HmacSha256_64,
        CipherSuite::AesCtr128HmacSha256_32,
        CipherSuite::AesGcm128Sha256,
        CipherSuite::AesGcm256Sha512,
        CipherSuite::AesCtr256HmacSha512_80,
        CipherSuite::AesCtr256HmacSha512_64,
        CipherSuite::AesCtr256HmacSha512_32,
    ];

    /// The suite with this registry value.
    ///
    /// # Errors
    /// [`Error::UnsupportedCipherSuite`] for any value but 0x0001–0x0008.
    pub fn from_id(id: u16) -> Result<Self, Error> {
        Self::ALL
            .into_iter()
            .find(|s| s.id() == id)
            .ok_or(Error::UnsupportedCipherSuite(id))
    }

    /// The registry value.
    pub fn id(self) -> u16 {
        match self {
            Self::AesCtr128HmacSha256_80 => 0x0001,
            Self::AesCtr128HmacSha256_64 => 0x0002,
            Self::AesCtr128HmacSha256_32 => 0x0003,
            Self::AesGcm128Sha256 => 0x0004,
            Self::AesGcm256Sha512 => 0x0005,
            Self::AesCtr256HmacSha512_80 => 0x0006,
            Self::AesCtr256HmacSha512_64 => 0x0007,
            Self::AesCtr256HmacSha512_32 => 0x0008,
        }
    }

    /// The registered name, e.g. `AES_128_GCM_SHA256_128`.
    pub fn name(self) -> &'static str {
        match self {
            Self::AesCtr128HmacSha256_80 => "AES_128_CTR_HMAC_SHA256_80",
            Self::AesCtr128HmacSha256_64 => "AES_128_CTR_HMAC_SHA256_64",
            Self::AesCtr128HmacSha256_32 => "AES_128_CTR_HMAC_SHA256_32",
            Self::AesGcm128Sha256 => "AES_128_GCM_SHA256_128",
            Self::AesGcm256Sha512 => "AES_256_GCM_SHA512_128",
            Self::AesCtr256HmacSha512_80 => "AES_256_CTR_HMAC_SHA512_80",
            Self::AesCtr256HmacSha512_64 => "AES_256_CTR_HMAC_SHA512_64",
            Self::AesCtr256HmacSha512_32 => "AES_256_CTR_HMAC_SHA512_32",
        }
    }

    /// `Nk`: the AEAD key length (for CTR-HMAC, `Nka + Nh`).
    pub fn key_len(self) -> usize {
        match self.cipher_key_len() {
            Some(nka) => nka + self.hash_len(),
            None => match self {
                Self::AesGcm128Sha256 => 16,
                _ => 32,
            },
        }
    }

    /// `Nn`: the nonce length (12 for every suite).
    pub fn nonce_len(self) -> usize {
        NONCE_LEN
    }

    /// `Nt`: the authentication tag length.
    pub fn tag_len(self) -> usize {
        match self {
            Self::AesCtr128HmacSha256_80 | Self::AesCtr256HmacSha512_80 => 10,
            Self::AesCtr128HmacSha256_64 | Self::AesCtr256HmacSha512_64 => 8,
            Self::AesCtr128HmacSha256_32 | Self::AesCtr256HmacSha512_32 => 4,
            Self::AesGcm128Sha256 | Self::AesGcm256Sha512 => 16,
        }
    }

    /// How many frames may fail authentication under one key of this suite
    /// before a [`Receiver`](super::Receiver) refuses that key
    /// ([`Error::AuthFailureLimit`]) until a new key is installed.
    ///
    /// RFC 9605 §7.5 ("Risks Due to Short Tags"): each forged frame succeeds
    /// with probability `2^-(8·Nt)`, so a count of failures bounds an
    /// attacker's chance per key. The limits hold that chance to at most
    /// 2^-20 per key (docs/PROTOCOL.md §1.6):
    ///
    /// | suites | tag | limit | forgery chance per key |
    /// |---|---|---|---|
    /// | 0x0003, 0x0008 | 32 bits | 2^12 | ≤ 2^12 / 2^32 = 2^-20 |
    /// | 0x0002, 0x0007 | 64 bits | 2^44 | ≤ 2^-20 |
    /// | 0x0001, 0x0006 | 80 bits | 2^60 | ≤ 2^-20 |
    /// | 0x0004, 0x0005 | 128 bits (GCM) | 2^52 | ≤ 2^-43 for any frame size |
    ///
    /// The AES-GCM value is RFC 9001 §6.6's integrity limit for AES-GCM;
    /// with the GCM bound `2·v·(L+1) / 2^128` (CFRG AEAD limits draft) and
    /// frames of at most `L = 2^32` blocks it keeps the chance below 2^-43.
    ///
    /// ```
    /// use callseal_core::frame::CipherSuite;
    ///
    /// assert_eq!(CipherSuite::AesCtr128HmacSha256_32.forgery_limit(), 1 << 12);
    /// assert_eq!(CipherSuite::AesGcm128Sha256.forgery_limit(), 1 << 52);
    /// ```
    pub const fn forgery_limit(self) -> u64 {
        match self {
            // 2^(8·Nt − 20): a 2^-20 chance per key.
            Self::AesCtr128HmacSha256_32 | Self::AesCtr256HmacSha512_32 => 1 << 12,
            Self::AesCtr128HmacSha256_64 | Self::AesCtr256HmacSha512_64 => 1 << 44,
            Self::AesCtr128HmacSha256_80 | Self::AesCtr256HmacSha512_80 => 1 << 60,
            // RFC 9001 §6.6.
            Self::AesGcm128Sha256 | Self::AesGcm256Sha512 => 1 << 52,
        }
    }

    /// `Nh`: the hash output length.
    pub fn hash_len(self) -> usize {
        match self.hash() {
            Hash::Sha256 => 32,
            Hash::Sha512 => 64,
        }
    }

    /// `Nka` for the CTR-HMAC suites, `None` for the GCM suites.
    pub(crate) fn cipher_key_len(self) -> Option<usize> {
        match self {
            Self::AesCtr128HmacSha256_80
            | Self::AesCtr128HmacSha256_64
            | Self::AesCtr128HmacSha256_32 => Some(16),
            Self::AesCtr256HmacSha512_80
            | Self::AesCtr256HmacSha512_64
            | Self::AesCtr256HmacSha512_32 => Some(32),
            Self::AesGcm128Sha256 | Self::AesGcm256Sha512 => None,
        }
    }

    pub(crate) fn hash(self) -> Hash {
        match self {
            Self::AesCtr128HmacSha256_80
            | Self::AesCtr128HmacSha256_64
            | Self::AesCtr128HmacSha256_32
            | Self::AesGcm128Sha256 => Hash::Sha256,
            _ => Hash::Sha512,
        }
    }
}

impl core::fmt::Display for CipherSuite {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "{} (0x{:04x})", self.name(), self.id())
    }
}
