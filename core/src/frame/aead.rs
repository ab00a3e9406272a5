//! The AEAD of each suite, keyed once per key id.
//!
//! GCM suites use `aes-gcm`. CTR-HMAC suites follow RFC 9605 §4.5.1:
//! AES-CTR from the block `nonce || 00000000`, then
//! `tag = truncate(HMAC(auth_key, len(aad) || len(ct) || Nt || nonce || aad || ct), Nt)`.
//! The AES key schedule and the keyed HMAC state are computed when the key is
//! installed, so a frame costs no key derivation and no allocation.

use aes::{Aes128, Aes256};
use aes_gcm::aead::{AeadInOut, KeyInit};
use aes_gcm::{Aes128Gcm, Aes256Gcm};
use ctr::Ctr128BE;
use ctr::cipher::{InnerIvInit, StreamCipher};
use hmac::{Hmac, Mac};
use sha2::{Sha256, Sha512};
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

use super::error::Error;
use super::header::Counter;
use super::key::KeySalt;
use super::suite::{CipherSuite, NONCE_LEN};

/// The longest tag (GCM).
pub(crate) const MAX_TAG_LEN: usize = 16;

/// An authentication tag (4–16 bytes, per suite).
///
/// ```
/// use callseal_core::frame::{BaseKey, CipherSuite, Kid, Sender};
///
/// let mut sender = Sender::new(CipherSuite::AesCtr128HmacSha256_32, Kid(1), BaseKey::new(&[1; 16])?)?;
/// let mut payload = *b"audio";
/// let sealed = sender.encrypt_detached(b"", &mut payload)?;
/// assert_eq!(sealed.tag.as_bytes().len(), 4);
/// # Ok::<(), callseal_core::frame::Error>(())
/// ```
#[derive(Clone, Copy)]
pub struct Tag {
    bytes: [u8; MAX_TAG_LEN],
    len: u8,
}

/// Constant-time, so an application comparing tags leaks no timing.
impl PartialEq for Tag {
    fn eq(&self, other: &Self) -> bool {
        bool::from(self.as_bytes().ct_eq(other.as_bytes()))
    }
}

impl Eq for Tag {}

/// The longest payload a CTR-HMAC suite protects: the 128-bit counter block
/// starts at `nonce || 00000000`, so past 2^32 blocks it would carry into
/// the nonce and reuse the keystream of another counter.
const MAX_CTR_PAYLOAD: u64 = 1 << 36;

impl Tag {
    /// The tag bytes.
    pub fn as_bytes(&self) -> &[u8] {
        self.bytes.get(..usize::from(self.len)).unwrap_or(&[])
    }
}

impl core::fmt::Debug for Tag {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "Tag(")?;
        for b in self.as_bytes() {
            write!(f, "{b:02x}")?;
        }
        write!(f, ")")
    }
}

enum Engine {
    Gcm128(Box<Aes128Gcm>),
    Gcm256(Box<Aes256Gcm>),
    Ctr128(Box<(Aes128, Hmac<Sha256>)>),
    Ctr256(Box<(Aes256, Hmac<Sha512>)>),
}

/// The keyed AEAD and salt for one key id. Key material inside zeroizes on
/// drop (the RustCrypto types are built with their `zeroize` features).
pub(crate) struct FrameCipher {
    engine: Engine,
    /// The salt as big-endian words (bytes 0..8 and 8..12), for
    /// [`nonce`](Self::nonce).
    salt_hi: u64,
    salt_lo: u32,
    tag_len: usize,
    /// The AES-GCM suites' key bytes, for a platform AES-GCM (WebCrypto,
    /// see [`ExternalKey`](super::ExternalKey)); `None` for the other suites.
    external: Option<Zeroizing<Vec<u8>>>,
}

impl Drop for FrameCipher {
    fn drop(&mut self) {
        zeroize::Zeroize::zeroize(&mut self.salt_hi);
        zeroize::Zeroize::zeroize(&mut self.salt_lo);
    }
}

fn bad_key(_: impl core::fmt::Debug) -> Error {
    Error::InvalidKey("derived key has the wrong length")
}

impl FrameCipher {
    pub(crate) fn new(suite: CipherSuite, keys: &KeySalt) -> Result<Self, Error> {
        let key = keys.key();
        let engine = match suite {
            CipherSuite::AesGcm128Sha256 => {
                Engine::Gcm128(Box::new(Aes128Gcm::new_from_slice(key).map_err(bad_key)?))
            }
            CipherSuite::AesGcm256Sha512 => {
                Engine::Gcm256(Box::new(Aes256Gcm::new_from_slice(key).map_err(bad_key)?))
            }
            CipherSuite::AesCtr128HmacSha256_80
            | CipherSuite::AesCtr128HmacSha256_64
            | CipherSuite::AesCtr128HmacSha256_32 => {
                let (enc, auth) = key.split_at_checked(16).ok_or(Error::InvalidKey("short"))?;
                Engine::Ctr128(Box::new((
                    Aes128::new_from_slice(enc).map_err(bad_key)?,
                    <Hmac<Sha256> as KeyInit>::new_from_slice(auth).map_err(bad_key)?,
                )))
            }
            CipherSuite::AesCtr256HmacSha512_80
            | CipherSuite::AesCtr256HmacSha512_64
            | CipherSuite::AesCtr256HmacSha512_32 => {
                let (enc, auth) = key.split_at_checked(32).ok_or(Error::InvalidKey("short"))?;
                Engine::Ctr256(Box::new((
                    Aes256::new_from_slice(enc).map_err(bad_key)?,
                    <Hmac<Sha512> as KeyInit>::new_from_slice(auth).map_err(bad_key)?,
                )))
            }
        };
        let (hi, lo) = keys.salt.split_at(8);
        let mut salt_hi = [0u8; 8];
        let mut salt_lo = [0u8; 4];
        salt_hi.copy_from_slice(hi);
        salt_lo.copy_from_slice(lo);
        Ok(Self {
            engine,
            salt_hi: u64::from_be_bytes(salt_hi),
            salt_lo: u32::from_be_bytes(salt_lo),
            tag_len: suite.tag_len(),
            external: super::external::require_gcm(suite)
                .ok()
                .map(|()| Zeroizing::new(key.to_vec())),
        })
    }

    /// The AES-GCM key bytes, for a platform AES-GCM; `None` unless the
    /// suite is AES-GCM.
    pub(crate) fn external_key(&self) -> Option<&[u8]> {
        self.external.as_deref().map(Vec::as_slice)
    }

    /// nonce = salt XOR CTR (CTR big-endian in the low 8 bytes).
    pub(crate) fn nonce(&self, ctr: Counter) -> [u8; NONCE_LEN] {
        // Written as one 8-byte and one 4-byte store, the way the 12-byte
        // copy into the cipher's nonce reads it back, so that copy is
        // forwarded from the store buffer instead of stalling on a
        // byte-by-byte write (which cost ~8 ns a frame).
        let mut nonce = [0u8; NONCE_LEN];
        let (hi, lo) = nonce.split_at_mut(8);
        hi.copy_from_slice(&(self.salt_hi ^ (ctr.0 >> 32)).to_be_bytes());
        lo.copy_from_slice(&(self.salt_lo ^ ctr.0 as u32).to_be_bytes());
        nonce
    }

    /// Encrypts `buf` in place; returns the tag.
    pub(crate) fn seal(&self, ctr: Counter, aad: &[u8], buf: &mut [u8]) -> Result<Tag, Error> {
        let mut tag = Tag {
            bytes: [0; MAX_TAG_LEN],
            len: self.tag_len as u8,
        };
        let dst = tag.bytes.get_mut(..self.tag_len).unwrap_or_default();
        self.seal_into(ctr, aad, buf, dst)?;
        Ok(tag)
    }

    /// Encrypts `buf` in place and writes the tag straight into `tag`,
    /// which must be exactly the suite's tag length (no intermediate
    /// [`Tag`], no length-dependent copy).
    /// CTR-HMAC payloads stop at [`MAX_CTR_PAYLOAD`] (GCM checks its own).
    fn check_len(&self, buf: &[u8]) -> Result<(), Error> {
        let ctr_suite = matches!(self.engine, Engine::Ctr128(_) | Engine::Ctr256(_));
        if ctr_suite && buf.len() as u64 > MAX_CTR_PAYLOAD {
            return Err(Error::PayloadTooLong);
        }
        Ok(())
    }

    pub(crate) fn seal_into(
        &self,
        ctr: Counter,
        aad: &[u8],
        buf: &mut [u8],
        tag: &mut [u8],
    ) -> Result<(), Error> {
        if tag.len() != self.tag_len {
            return Err(Error::BufferTooSmall {
                needed: self.tag_len,
            });
        }
        self.check_len(buf)?;
        let nonce = self.nonce(ctr);
        match &self.engine {
            Engine::Gcm128(c) => {
                let t = c
                    .encrypt_inout_detached(&nonce.into(), aad, buf.into())
                    .map_err(|_| Error::PayloadTooLong)?;
                put_gcm_tag(&t.into(), tag);
            }
            Engine::Gcm256(c) => {
                let t = c
                    .encrypt_inout_detached(&nonce.into(), aad, buf.into())
                    .map_err(|_| Error::PayloadTooLong)?;
                put_gcm_tag(&t.into(), tag);
            }
            Engine::Ctr128(k) => {
                ctr_xor(&k.0, &nonce, buf);
                mac(k.1.clone(), &nonce, aad, buf, self.tag_len, tag);
            }
            Engine::Ctr256(k) => {
                ctr_xor(&k.0, &nonce, buf);
                mac(k.1.clone(), &nonce, aad, buf, self.tag_len, tag);
            }
        }
        Ok(())
    }

    /// Verifies `tag` and decrypts `buf` in place. On failure `buf` is left
    /// as it was (CTR-HMAC) or must be discarded (GCM).
    pub(crate) fn open(
        &self,
        ctr: Counter,
        aad: &[u8],
        buf: &mut [u8],
        tag: &[u8],
    ) -> Result<(), Error> {
        if tag.len() != self.tag_len {
            return Err(Error::AuthenticationFailed);
        }
        self.check_len(buf)?;
        let nonce = self.nonce(ctr);
        match &self.engine {
            Engine::Gcm128(c) => {
                let tag = tag.try_into().map_err(|_| Error::AuthenticationFailed)?;
                c.decrypt_inout_detached(&nonce.into(), aad, buf.into(), tag)
                    .map_err(|_| Error::AuthenticationFailed)
            }
            Engine::Gcm256(c) => {
                let tag = tag.try_into().map_err(|_| Error::AuthenticationFailed)?;
                c.decrypt_inout_detached(&nonce.into(), aad, buf.into(), tag)
                    .map_err(|_| Error::AuthenticationFailed)
            }
            Engine::Ctr128(k) => {
                let mut expected = [0u8; MAX_TAG_LEN];
                mac(k.1.clone(), &nonce, aad, buf, self.tag_len, &mut expected);
                verify(&expected, tag)?;
                ctr_xor(&k.0, &nonce, buf);
                Ok(())
            }
            Engine::Ctr256(k) => {
                let mut expected = [0u8; MAX_TAG_LEN];
                mac(k.1.clone(), &nonce, aad, buf, self.tag_len, &mut expected);
                verify(&expected, tag)?;
                ctr_xor(&k.0, &nonce, buf);
                Ok(())
            }
        }
    }
}

/// Writes a GCM tag with one 16-byte store (`tag` is 16 bytes long).
fn put_gcm_tag(t: &[u8; MAX_TAG_LEN], tag: &mut [u8]) {
    if let Ok(dst) = <&mut [u8; MAX_TAG_LEN]>::try_from(tag) {
        *dst = *t;
    }
}

fn verify(expected: &[u8; MAX_TAG_LEN], tag: &[u8]) -> Result<(), Error> {
    let expected = expected.get(..tag.len()).unwrap_or(&[]);
    if bool::from(expected.ct_eq(tag)) {
        Ok(())
    } else {
        Err(Error::AuthenticationFailed)
    }
}

/// AES-CTR keystream from the counter block `nonce || 00000000`. The
/// expanded AES key is borrowed: neither re-derived nor copied.
fn ctr_xor<C: CtrAes>(aes: &C, nonce: &[u8; NONCE_LEN], buf: &mut [u8]) {
    let mut block = [0u8; 16];
    block[..NONCE_LEN].copy_from_slice(nonce);
    aes.apply(&block, buf);
}

/// The two AES widths as CTR keystream sources.
trait CtrAes {
    fn apply(&self, iv: &[u8; 16], buf: &mut [u8]);
}

macro_rules! ctr_aes {
    ($aes:ty) => {
        impl CtrAes for $aes {
            fn apply(&self, iv: &[u8; 16], buf: &mut [u8]) {
                let core =
                    ctr::CtrCore::<&$aes, ctr::flavors::Ctr128BE>::inner_iv_init(self, iv.into());
                let mut stream = Ctr128BE::<&$aes>::from_core(core);
                stream.apply_keystream(buf);
            }
        }
    };
}
ctr_aes!(Aes128);
ctr_aes!(Aes256);

/// `truncate(HMAC(auth_key, len(aad) || len(ct) || Nt || nonce || aad || ct), Nt)`.
fn mac<M: Mac>(
    mut m: M,
    nonce: &[u8; NONCE_LEN],
    aad: &[u8],
    ct: &[u8],
    tag_len: usize,
    out: &mut [u8],
) {
    m.update(&(aad.len() as u64).to_be_bytes());
    m.update(&(ct.len() as u64).to_be_bytes());
    m.update(&(tag_len as u64).to_be_bytes());
    m.update(nonce);
    m.update(aad);
    m.update(ct);
    let full = m.finalize().into_bytes();
    for (o, f) in out.iter_mut().zip(full.iter()).take(tag_len) {
        *o = *f;
    }
}
