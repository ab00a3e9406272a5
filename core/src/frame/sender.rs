//! The sending side: one key, one KID, one counter that never repeats.

use super::aead::{FrameCipher, Tag};
use super::error::Error;
use super::header::{Counter, EncodedHeader, Header, Kid, encoded_len};
use super::key::{BaseKey, derive_key_salt};
use super::ratchet::RatchetLayout;
use super::suite::CipherSuite;

/// What [`Sender::encrypt_detached`] produces besides the ciphertext.
///
/// ```
/// use callseal_core::frame::{BaseKey, CipherSuite, Kid, Sender};
///
/// let mut sender = Sender::new(CipherSuite::AesGcm128Sha256, Kid(3), BaseKey::new(&[9; 16])?)?;
/// let mut buf = *b"frame";
/// let sealed = sender.encrypt_detached(b"", &mut buf)?;
/// assert_eq!(sealed.header.as_bytes(), [0x30]);
/// assert_eq!(sealed.tag.as_bytes().len(), 16);
/// # Ok::<(), callseal_core::frame::Error>(())
/// ```
#[derive(Debug, Clone, Copy)]
pub struct Sealed {
    /// The encoded SFrame header (KID and the counter used).
    pub header: EncodedHeader,
    /// The authentication tag.
    pub tag: Tag,
}

struct SenderRatchet {
    layout: RatchetLayout,
    generation: u64,
    step: u64,
    base: BaseKey,
}

/// Encrypts frames under one key id.
///
/// The sender owns its key and its counter: counters start at 0 and go up by
/// one per frame, a failed call consumes none, and when the last value has
/// been used every further call fails with [`Error::CounterExhausted`]. So a
/// (key, nonce) pair is never used twice by one `Sender`; the caller's part
/// is to give each sender its own base key (RFC 9605 §4.4.1).
///
/// ```
/// use callseal_core::frame::{BaseKey, CipherSuite, Kid, Sender};
///
/// let mut sender = Sender::new(CipherSuite::AesCtr128HmacSha256_80, Kid(1), BaseKey::new(&[1; 16])?)?;
/// let mut out = vec![0u8; sender.frame_len(5)];
/// let n = sender.encrypt_into(b"meta", b"hello", &mut out)?;
/// assert_eq!(n, 1 + 5 + 10);
/// # Ok::<(), callseal_core::frame::Error>(())
/// ```
pub struct Sender {
    suite: CipherSuite,
    kid: Kid,
    cipher: FrameCipher,
    next: Option<u64>,
    aad: Vec<u8>,
    ratchet: Option<SenderRatchet>,
}

impl core::fmt::Debug for Sender {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Sender")
            .field("suite", &self.suite)
            .field("kid", &self.kid)
            .field("next", &self.next)
            .field("key", &"[redacted]")
            .finish()
    }
}

impl Sender {
    /// A sender for `kid` whose first frame uses counter 0.
    ///
    /// # Errors
    /// [`Error::InvalidKey`] if the key cannot be used.
    pub fn new(suite: CipherSuite, kid: Kid, base_key: BaseKey) -> Result<Self, Error> {
        Self::starting_at(suite, kid, base_key, Counter(0))
    }

    /// A sender whose first frame uses counter `first`.
    ///
    /// Only for a key whose counters from `first` on were never used, e.g. a
    /// key resumed after a restart with its next counter persisted, or a test
    /// vector.
    ///
    /// # Errors
    /// [`Error::InvalidKey`] if the key cannot be used.
    pub fn starting_at(
        suite: CipherSuite,
        kid: Kid,
        base_key: BaseKey,
        first: Counter,
    ) -> Result<Self, Error> {
        let cipher = FrameCipher::new(suite, &derive_key_salt(suite, kid, &base_key))?;
        Ok(Self {
            suite,
            kid,
            cipher,
            next: Some(first.0),
            aad: Vec::with_capacity(64),
            ratchet: None,
        })
    }

    /// A sender of the RFC 9605 §5.1 sender-key scheme: KID =
    /// `(generation << R) + step`, starting at step 0; [`ratchet`](Self::ratchet)
    /// moves to the next step.
    ///
    /// # Errors
    /// [`Error::InvalidConfig`] if `generation` does not fit `64 - R` bits.
    pub fn ratcheting(
        suite: CipherSuite,
        layout: RatchetLayout,
        generation: u64,
        base_key: BaseKey,
    ) -> Result<Self, Error> {
        let kid = layout.kid(generation, 0)?;
        let cipher = FrameCipher::new(suite, &derive_key_salt(suite, kid, &base_key))?;
        Ok(Self {
            suite,
            kid,
            cipher,
            next: Some(0),
            aad: Vec::with_capacity(64),
            ratchet: Some(SenderRatchet {
                layout,
                generation,
                step: 0,
                base: base_key,
            }),
        })
    }

    /// Ratchets the key one step forward (forward secrecy, e.g. when a
    /// receiver is added). The KID's step bits advance and the counter
    /// restarts at 0 under the new key.
    ///
    /// # Errors
    /// [`Error::InvalidConfig`] if this sender was not made with
    /// [`ratcheting`](Self::ratcheting).
    pub fn ratchet(&mut self) -> Result<(), Error> {
        let suite = self.suite;
        let r = self
            .ratchet
            .as_mut()
            .ok_or(Error::InvalidConfig("not a ratcheting sender"))?;
        let base = r.base.ratchet(suite);
        let step = r.step.wrapping_add(1);
        let kid = r.layout.kid(r.generation, step)?;
        let cipher = FrameCipher::new(suite, &derive_key_salt(suite, kid, &base))?;
        r.base = base;
        r.step = step;
        self.kid = kid;
        self.cipher = cipher;
        self.next = Some(0);
        Ok(())
    }

    /// The cipher suite.
    pub fn suite(&self) -> CipherSuite {
        self.suite
    }

    /// The key id written into every frame.
    pub fn kid(&self) -> Kid {
        self.kid
    }

    /// The counter the next frame will use, or `None` once exhausted.
    pub fn next_counter(&self) -> Option<Counter> {
        self.next.map(Counter)
    }

    /// Size of the next frame for a payload of `payload_len` bytes.
    pub fn frame_len(&self, payload_len: usize) -> usize {
        let ctr = Counter(self.next.unwrap_or(u64::MAX));
        encoded_len(self.kid, ctr) + payload_len + self.suite.tag_len()
    }

    /// Takes the next counter. Call only once the frame will be produced.
    fn take_counter(&mut self) -> Result<Counter, Error> {
        let ctr = self.next.ok_or(Error::CounterExhausted)?;
        self.next = ctr.checked_add(1);
        Ok(Counter(ctr))
    }

    /// Encrypts `buf` in place with AAD = header || `metadata` and returns
    /// the header and tag, for callers that lay out frames themselves (the
    /// media mode does).
    ///
    /// # Errors
    /// [`Error::CounterExhausted`]; [`Error::PayloadTooLong`].
    pub fn encrypt_detached(&mut self, metadata: &[u8], buf: &mut [u8]) -> Result<Sealed, Error> {
        let ctr = Counter(self.next.ok_or(Error::CounterExhausted)?);
        let header = Header { kid: self.kid, ctr }.encode();
        let aad = join_aad(&mut self.aad, header.as_bytes(), metadata);
        let tag = self.cipher.seal(ctr, aad, buf)?;
        self.take_counter()?;
        Ok(Sealed { header, tag })
    }

    /// Uses the next counter for a frame whose AES-GCM runs outside the
    /// core (see [`ExternalSeal`](super::ExternalSeal)): returns its header,
    /// nonce and AAD (header || `metadata`). The counter is used whether or
    /// not the caller then seals, so no nonce can repeat.
    ///
    /// # Errors
    /// [`Error::InvalidConfig`] unless the suite is AES-GCM (no counter is
    /// used); [`Error::CounterExhausted`].
    pub fn seal_external(&mut self, metadata: &[u8]) -> Result<super::ExternalSeal, Error> {
        super::external::require_gcm(self.suite)?;
        let ctr = self.take_counter()?;
        let header = Header { kid: self.kid, ctr }.encode();
        Ok(super::ExternalSeal {
            nonce: self.cipher.nonce(ctr),
            aad: super::external::aad(header.as_bytes(), metadata),
            header,
        })
    }

    /// The AES-GCM key of the current KID, for a platform AES-GCM sealing
    /// what [`seal_external`](Self::seal_external) prepares. The KID names
    /// the key: it changes whenever the key does ([`ratchet`](Self::ratchet)).
    ///
    /// # Errors
    /// [`Error::InvalidConfig`] unless the suite is AES-GCM.
    pub fn external_key(&self) -> Result<super::ExternalKey, Error> {
        super::external::require_gcm(self.suite)?;
        self.cipher
            .external_key()
            .map(super::ExternalKey::copy_of)
            .ok_or(Error::InvalidConfig("no AES-GCM key"))
    }

    /// Writes the SFrame ciphertext `header || ciphertext || tag` of
    /// `payload` into `out`; returns its length ([`frame_len`](Self::frame_len)).
    ///
    /// # Errors
    /// [`Error::BufferTooSmall`] (no counter is used), [`Error::CounterExhausted`].
    pub fn encrypt_into(
        &mut self,
        metadata: &[u8],
        payload: &[u8],
        out: &mut [u8],
    ) -> Result<usize, Error> {
        let needed = self.frame_len(payload.len());
        if out.len() < needed {
            return Err(Error::BufferTooSmall { needed });
        }
        let ctr = Counter(self.next.ok_or(Error::CounterExhausted)?);
        // Only the frame's own bytes are written, never past `needed`.
        let out = out.get_mut(..needed).unwrap_or_default();
        let hl = match (Header { kid: self.kid, ctr }).write_wide(out) {
            Some(hl) => hl,
            None => {
                let header = Header { kid: self.kid, ctr }.encode();
                if let Some(head) = out.get_mut(..header.len()) {
                    head.copy_from_slice(header.as_bytes());
                }
                header.len()
            }
        };
        let (head, rest) = out.split_at_mut(hl);
        let (body, tag) = rest.split_at_mut(payload.len());
        body.copy_from_slice(payload);
        let aad = join_aad(&mut self.aad, head, metadata);
        self.cipher.seal_into(ctr, aad, body, tag)?;
        self.take_counter()?;
        Ok(needed)
    }

    /// Like [`encrypt_into`](Self::encrypt_into), into a new vector.
    ///
    /// # Errors
    /// [`Error::CounterExhausted`]; [`Error::PayloadTooLong`].
    pub fn encrypt(&mut self, metadata: &[u8], payload: &[u8]) -> Result<Vec<u8>, Error> {
        let mut out = vec![0u8; self.frame_len(payload.len())];
        let n = self.encrypt_into(metadata, payload, &mut out)?;
        out.truncate(n);
        Ok(out)
    }
}

/// AAD capacity kept between frames; larger buffers shrink back to it.
const AAD_KEEP: usize = 16 * 1024;

/// AAD = header || metadata, built in a reused buffer (no copy when there is
/// no metadata).
pub(crate) fn join_aad<'a>(
    scratch: &'a mut Vec<u8>,
    header: &'a [u8],
    metadata: &'a [u8],
) -> &'a [u8] {
    if metadata.is_empty() {
        return header;
    }
    // One huge (perhaps forged) frame must not pin its size here for good.
    let needed = header.len() + metadata.len();
    if scratch.capacity() > AAD_KEEP && needed <= AAD_KEEP {
        scratch.clear();
        scratch.shrink_to(AAD_KEEP);
    }
    scratch.clear();
    scratch.extend_from_slice(header);
    scratch.extend_from_slice(metadata);
    scratch
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn encrypt_into_writes_only_the_frame() {
        // Same bytes as the detached path (Header::encode + seal); frames
        // shorter than MAX_HEADER_LEN take the copying path.
        for suite in CipherSuite::ALL {
            for len in [0, 1, 2, 40] {
                let key = || BaseKey::new(&[3; 32]).unwrap();
                let mut a = Sender::starting_at(suite, Kid(0x1234), key(), Counter(300)).unwrap();
                let payload = vec![0x5a; len];
                let mut out = vec![0xee; a.frame_len(len) + 20];
                let n = a.encrypt_into(b"m", &payload, &mut out).unwrap();
                assert!(out[n..].iter().all(|&b| b == 0xee));
                let mut buf = payload.clone();
                let sealed = Sender::starting_at(suite, Kid(0x1234), key(), Counter(300))
                    .unwrap()
                    .encrypt_detached(b"m", &mut buf)
                    .unwrap();
                let expected = [sealed.header.as_bytes(), &buf, sealed.tag.as_bytes()].concat();
                assert_eq!(&out[..n], &expected[..]);
            }
        }
    }
}
