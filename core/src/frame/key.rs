//! Base keys and the RFC 9605 §4.4.2 key schedule.
//!
//! ```text
//! sframe_secret = HKDF-Extract("", base_key)
//! sframe_key    = HKDF-Expand(sframe_secret, "SFrame 1.0 Secret key "  || KID(8, BE) || suite(2, BE), Nk)
//! sframe_salt   = HKDF-Expand(sframe_secret, "SFrame 1.0 Secret salt " || KID(8, BE) || suite(2, BE), Nn)
//! ```

use core::fmt;

use hkdf::Hkdf;
use sha2::{Sha256, Sha512};
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

use super::error::Error;
use super::header::Kid;
use super::suite::{CipherSuite, Hash, NONCE_LEN};

const KEY_LABEL: &[u8] = b"SFrame 1.0 Secret key ";
const SALT_LABEL: &[u8] = b"SFrame 1.0 Secret salt ";
const RATCHET_LABEL: &[u8] = b"SFrame 1.0 Ratchet";

/// The longest key any suite needs: AES-256 key + SHA-512 HMAC key.
pub(crate) const MAX_KEY_LEN: usize = 96;

/// The longest base key accepted. Keys come from a KDF or an MLS exporter,
/// so anything longer is a caller's mistake, not entropy.
pub const MAX_BASE_KEY_LEN: usize = 128;

/// A secret `base_key` from which frame keys are derived.
///
/// Not `Clone`: a base key moves into exactly one [`Sender`](super::Sender)
/// or [`Receiver`](super::Receiver), which is how callseal keeps RFC 9605's
/// rule that a key is used for encryption or decryption, never both. It is
/// zeroized on drop and prints as `[redacted]`.
///
/// ```
/// use callseal_core::frame::BaseKey;
///
/// let key = BaseKey::new(&[7u8; 16])?;
/// assert_eq!(format!("{key:?}"), "BaseKey([redacted])");
/// assert!(BaseKey::new(&[]).is_err());
/// # Ok::<(), callseal_core::frame::Error>(())
/// ```
#[derive(Zeroize, ZeroizeOnDrop)]
pub struct BaseKey {
    bytes: Vec<u8>,
}

impl BaseKey {
    /// Wraps key bytes (1 to [`MAX_BASE_KEY_LEN`] bytes).
    ///
    /// # Errors
    /// [`Error::InvalidKey`] for an empty or over-long key.
    pub fn new(bytes: &[u8]) -> Result<Self, Error> {
        if bytes.is_empty() {
            return Err(Error::InvalidKey("base key is empty"));
        }
        if bytes.len() > MAX_BASE_KEY_LEN {
            return Err(Error::InvalidKey("base key is longer than 128 bytes"));
        }
        Ok(Self {
            bytes: bytes.to_vec(),
        })
    }

    /// Length in bytes.
    #[allow(clippy::len_without_is_empty)] // never empty by construction
    pub fn len(&self) -> usize {
        self.bytes.len()
    }

    pub(crate) fn expose(&self) -> &[u8] {
        &self.bytes
    }

    /// The next key of the RFC 9605 §5.1 ratchet:
    /// `HKDF-Expand(HKDF-Extract("", base_key), "SFrame 1.0 Ratchet", Nh)`.
    pub(crate) fn ratchet(&self, suite: CipherSuite) -> BaseKey {
        let mut next = vec![0u8; suite.hash_len()];
        expand(suite.hash(), &self.bytes, &[RATCHET_LABEL], &mut next);
        BaseKey { bytes: next }
    }
}

impl fmt::Debug for BaseKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("BaseKey([redacted])")
    }
}

/// `sframe_key` and `sframe_salt` for one (KID, suite), zeroized on drop.
pub(crate) struct KeySalt {
    pub(crate) key: Zeroizing<[u8; MAX_KEY_LEN]>,
    pub(crate) key_len: usize,
    pub(crate) salt: [u8; NONCE_LEN],
}

impl Drop for KeySalt {
    fn drop(&mut self) {
        self.salt.zeroize();
    }
}

impl KeySalt {
    pub(crate) fn key(&self) -> &[u8] {
        self.key.get(..self.key_len).unwrap_or(&[])
    }
}

/// RFC 9605 §4.4.2 `derive_key_salt`.
pub(crate) fn derive_key_salt(suite: CipherSuite, kid: Kid, base: &BaseKey) -> KeySalt {
    let kid_be = kid.0.to_be_bytes();
    let suite_be = suite.id().to_be_bytes();
    let mut out = KeySalt {
        key: Zeroizing::new([0u8; MAX_KEY_LEN]),
        key_len: suite.key_len(),
        salt: [0u8; NONCE_LEN],
    };
    let key_len = out.key_len;
    if let Some(key) = out.key.get_mut(..key_len) {
        expand(
            suite.hash(),
            base.expose(),
            &[KEY_LABEL, &kid_be, &suite_be],
            key,
        );
    }
    expand(
        suite.hash(),
        base.expose(),
        &[SALT_LABEL, &kid_be, &suite_be],
        &mut out.salt,
    );
    out
}

/// `HKDF-Expand(HKDF-Extract("", ikm), info, len(okm))`.
fn expand(hash: Hash, ikm: &[u8], info: &[&[u8]], okm: &mut [u8]) {
    // Output lengths here are at most 96 bytes, far below HKDF's 255·Nh
    // limit, so expansion cannot fail; the results are ignored knowingly.
    match hash {
        Hash::Sha256 => {
            let _ = Hkdf::<Sha256>::new(None, ikm).expand_multi_info(info, okm);
        }
        Hash::Sha512 => {
            let _ = Hkdf::<Sha512>::new(None, ikm).expand_multi_info(info, okm);
        }
    }
}
