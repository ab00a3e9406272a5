//! AES-GCM outside the core: frames whose AEAD runs in a platform API (in a
//! browser, WebCrypto's native AES-GCM) while the core keeps everything else.
//!
//! The core still decides every byte that matters: the key schedule
//! ([`ExternalKey::derive`]), the counter and header
//! ([`Sender::seal_external`](super::Sender::seal_external)), the nonce and
//! the AAD, and on receipt the key lookup and the replay window
//! ([`Receiver::open_external`](super::Receiver::open_external), then
//! [`Receiver::commit_external`](super::Receiver::commit_external) once the
//! tag verified). The platform only computes AES-GCM with the key, nonce
//! and AAD it is given, so its frames are byte for byte those of
//! [`Sender::encrypt`](super::Sender::encrypt). Only the AES-GCM suites
//! (0x0004, 0x0005) and keys installed with
//! [`Receiver::add_key`](super::Receiver::add_key) take this path.
//!
//! ```
//! use aes_gcm::aead::{AeadInOut, KeyInit};
//! use aes_gcm::Aes128Gcm;
//! use callseal_core::frame::{BaseKey, CipherSuite, ExternalKey, Kid, Receiver, ReceiverConfig, Sender};
//!
//! let suite = CipherSuite::AesGcm128Sha256;
//! let mut sender = Sender::new(suite, Kid(3), BaseKey::new(&[7; 16])?)?;
//! let mut receiver = Receiver::new(ReceiverConfig::default());
//! receiver.add_key(Kid(3), suite, BaseKey::new(&[7; 16])?)?;
//! // The platform's AES-GCM, keyed once with the derived key.
//! let key = ExternalKey::derive(suite, Kid(3), &BaseKey::new(&[7; 16])?)?;
//! let gcm = Aes128Gcm::new_from_slice(key.as_bytes())?;
//!
//! let seal = sender.seal_external(b"meta")?;
//! let mut body = b"hello".to_vec();
//! let tag = gcm.encrypt_inout_detached(&seal.nonce.into(), &seal.aad, body.as_mut_slice().into())?;
//! let frame = [seal.header.as_bytes(), &body, &tag].concat();
//!
//! let open = receiver.open_external(b"meta", &frame)?;
//! let (ct, tag) = frame[open.header_len..].split_at(frame.len() - open.header_len - 16);
//! let mut plain = ct.to_vec();
//! gcm.decrypt_inout_detached(&open.nonce.into(), &open.aad, plain.as_mut_slice().into(), tag.try_into()?)?;
//! receiver.commit_external(&open.header, open.key_serial)?;
//! assert_eq!(plain, b"hello");
//! // Committed: the same frame is now a replay.
//! assert!(receiver.open_external(b"meta", &frame).is_err());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use core::fmt;

use zeroize::Zeroizing;

use super::error::Error;
use super::header::{EncodedHeader, Header, Kid};
use super::key::{BaseKey, derive_key_salt};
use super::suite::{CipherSuite, NONCE_LEN};

/// Refuses the suites whose AEAD is not AES-GCM.
pub(crate) fn require_gcm(suite: CipherSuite) -> Result<(), Error> {
    match suite {
        CipherSuite::AesGcm128Sha256 | CipherSuite::AesGcm256Sha512 => Ok(()),
        _ => Err(Error::InvalidConfig(
            "only the AES-GCM suites run their AEAD outside the core",
        )),
    }
}

/// The AES-GCM key RFC 9605's key schedule derives for one key id: what a
/// platform AES-GCM (WebCrypto) is keyed with. Zeroized on drop, redacted in
/// `Debug`; import it into a non-extractable platform key and drop it.
pub struct ExternalKey {
    bytes: Zeroizing<Vec<u8>>,
}

impl ExternalKey {
    /// The `sframe_key` of `kid` under `base_key` (16 bytes for 0x0004, 32
    /// for 0x0005).
    ///
    /// # Errors
    /// [`Error::InvalidConfig`] for a suite that is not AES-GCM.
    pub fn derive(suite: CipherSuite, kid: Kid, base_key: &BaseKey) -> Result<Self, Error> {
        require_gcm(suite)?;
        let keys = derive_key_salt(suite, kid, base_key);
        Ok(Self {
            bytes: Zeroizing::new(keys.key().to_vec()),
        })
    }

    /// The key bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// A copy of a keyed cipher's AES-GCM key.
    pub(crate) fn copy_of(bytes: &[u8]) -> Self {
        Self {
            bytes: Zeroizing::new(bytes.to_vec()),
        }
    }
}

impl fmt::Debug for ExternalKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ExternalKey([redacted])")
    }
}

/// What sealing one frame outside the core needs: the frame is
/// `header || AES-GCM(key, nonce, aad, payload)` (ciphertext, then the
/// 16-byte tag). The counter is already used: never seal twice with one
/// `ExternalSeal`.
pub struct ExternalSeal {
    /// The SFrame header, the frame's first bytes.
    pub header: EncodedHeader,
    /// The AES-GCM nonce (salt XOR counter).
    pub nonce: [u8; NONCE_LEN],
    /// The AAD: header || metadata.
    pub aad: Vec<u8>,
}

/// What opening one frame outside the core needs: AES-GCM-decrypt
/// `frame[header_len..]` (ciphertext, then the 16-byte tag) with `nonce`
/// and `aad`; only if that succeeds, call
/// [`Receiver::commit_external`](super::Receiver::commit_external).
pub struct ExternalOpen {
    /// The frame's header (key id and counter).
    pub header: Header,
    /// Where the ciphertext starts.
    pub header_len: usize,
    /// The AES-GCM nonce.
    pub nonce: [u8; NONCE_LEN],
    /// The AAD: header || metadata.
    pub aad: Vec<u8>,
    /// Which installed key the frame was checked against: each key the
    /// receiver installs (a key added, a ratchet step derived) gets a new
    /// serial. [`Receiver::commit_external`](super::Receiver::commit_external)
    /// refuses the frame if its KID's key is no longer this one, so a key
    /// replaced while the platform decrypted cannot have its replay window
    /// written by a frame of the old key; [`Receiver::external_key`](super::Receiver::external_key)
    /// gives this key's bytes, and the serial names it in a cache of
    /// platform keys.
    pub key_serial: u64,
}

impl fmt::Debug for ExternalSeal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ExternalSeal")
            .field("header", &self.header)
            .field("nonce", &"[redacted]")
            .finish_non_exhaustive()
    }
}

impl fmt::Debug for ExternalOpen {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ExternalOpen")
            .field("header", &self.header)
            .field("header_len", &self.header_len)
            .field("nonce", &"[redacted]")
            .finish_non_exhaustive()
    }
}

/// header || metadata, in a new vector.
pub(crate) fn aad(header: &[u8], metadata: &[u8]) -> Vec<u8> {
    let mut aad = Vec::with_capacity(header.len() + metadata.len());
    aad.extend_from_slice(header);
    aad.extend_from_slice(metadata);
    aad
}

/// What a platform does to open a frame outside the core, for the tests of
/// the external paths: AES-128-GCM-decrypts `body` in place against `tag`;
/// whether the tag verified.
#[cfg(test)]
#[allow(clippy::unwrap_used)]
pub(crate) fn platform_open_128(
    key: &ExternalKey,
    nonce: &[u8; NONCE_LEN],
    aad: &[u8],
    body: &mut [u8],
    tag: &[u8],
) -> bool {
    use aes_gcm::Aes128Gcm;
    use aes_gcm::aead::{AeadInOut, KeyInit};
    let tag: [u8; 16] = tag.try_into().unwrap();
    Aes128Gcm::new_from_slice(key.as_bytes())
        .unwrap()
        .decrypt_inout_detached(&(*nonce).into(), aad, body.into(), &tag.into())
        .is_ok()
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use aes_gcm::aead::{AeadInOut, KeyInit};
    use aes_gcm::{Aes128Gcm, Aes256Gcm};

    use super::*;
    use crate::frame::{Counter, Receiver, ReceiverConfig, Sender};

    fn seal_with(suite: CipherSuite, key: &[u8], seal: &ExternalSeal, payload: &[u8]) -> Vec<u8> {
        let mut body = payload.to_vec();
        let tag: [u8; 16] = match suite {
            CipherSuite::AesGcm128Sha256 => Aes128Gcm::new_from_slice(key)
                .unwrap()
                .encrypt_inout_detached(&seal.nonce.into(), &seal.aad, body.as_mut_slice().into())
                .unwrap()
                .into(),
            _ => Aes256Gcm::new_from_slice(key)
                .unwrap()
                .encrypt_inout_detached(&seal.nonce.into(), &seal.aad, body.as_mut_slice().into())
                .unwrap()
                .into(),
        };
        [seal.header.as_bytes(), &body, &tag].concat()
    }

    #[test]
    fn external_frames_equal_internal_ones_and_open_once() {
        for suite in [CipherSuite::AesGcm128Sha256, CipherSuite::AesGcm256Sha512] {
            let base = || BaseKey::new(&[9; 32]).unwrap();
            let kid = Kid(0x1234);
            let key = ExternalKey::derive(suite, kid, &base()).unwrap();
            assert_eq!(key.as_bytes().len(), suite.key_len());
            assert_eq!(format!("{key:?}"), "ExternalKey([redacted])");
            let mut inside = Sender::starting_at(suite, kid, base(), Counter(500)).unwrap();
            let mut outside = Sender::starting_at(suite, kid, base(), Counter(500)).unwrap();
            let mut receiver = Receiver::new(ReceiverConfig::default());
            receiver.add_key(kid, suite, base()).unwrap();
            for len in [0, 1, 100, 5000] {
                let payload = vec![0x42; len];
                let seal = outside.seal_external(b"meta").unwrap();
                let frame = seal_with(suite, key.as_bytes(), &seal, &payload);
                assert_eq!(frame, inside.encrypt(b"meta", &payload).unwrap());
                assert_eq!(inside.next_counter(), outside.next_counter());

                let open = receiver.open_external(b"meta", &frame).unwrap();
                assert_eq!(open.aad, seal.aad);
                assert_eq!(open.nonce, seal.nonce);
                assert_eq!(&frame[..open.header_len], seal.header.as_bytes());
                // Not committed yet: the frame still opens inside the core.
                let mut copy = frame.clone();
                let (_, plain) = receiver.decrypt_in_place(b"meta", &mut copy).unwrap();
                assert_eq!(plain, &payload[..]);
                // ...which recorded it: committing it again is a replay.
                assert!(matches!(
                    receiver.commit_external(&open.header, open.key_serial),
                    Err(Error::Replay { .. })
                ));
                assert!(matches!(
                    receiver.open_external(b"meta", &frame),
                    Err(Error::Replay { .. })
                ));
            }
            // Committing records the counter like a decrypt does.
            let seal = outside.seal_external(b"").unwrap();
            let frame = seal_with(suite, key.as_bytes(), &seal, b"x");
            let open = receiver.open_external(b"", &frame).unwrap();
            receiver
                .commit_external(&open.header, open.key_serial)
                .unwrap();
            assert!(matches!(
                receiver.decrypt(b"", &frame),
                Err(Error::Replay { .. })
            ));
        }
    }

    #[test]
    fn only_gcm_suites_and_installed_keys() {
        let suite = CipherSuite::AesCtr128HmacSha256_80;
        let base = || BaseKey::new(&[1; 16]).unwrap();
        assert!(matches!(
            ExternalKey::derive(suite, Kid(1), &base()),
            Err(Error::InvalidConfig(_))
        ));
        let mut sender = Sender::new(suite, Kid(1), base()).unwrap();
        assert!(matches!(
            sender.seal_external(b""),
            Err(Error::InvalidConfig(_))
        ));
        assert_eq!(sender.next_counter(), Some(Counter(0)));
        let frame = sender.encrypt(b"", b"abc").unwrap();
        let mut receiver = Receiver::new(ReceiverConfig::default());
        assert!(matches!(
            receiver.open_external(b"", &frame),
            Err(Error::UnknownKeyId(_))
        ));
        receiver.add_key(Kid(1), suite, base()).unwrap();
        assert!(matches!(
            receiver.open_external(b"", &frame),
            Err(Error::InvalidConfig(_))
        ));
        let gcm = CipherSuite::AesGcm128Sha256;
        receiver.add_key(Kid(2), gcm, base()).unwrap();
        let mut g = Sender::new(gcm, Kid(2), base()).unwrap();
        let short = &g.encrypt(b"", b"").unwrap()[..10];
        assert_eq!(
            receiver.open_external(b"", short).unwrap_err(),
            Error::FrameTooShort
        );
    }

    /// Opens `frame` outside the core: the platform's AES-GCM with the key
    /// the receiver hands out, then a commit or a reject.
    fn open_outside(receiver: &mut Receiver, frame: &[u8]) -> Result<Vec<u8>, Error> {
        let open = receiver.open_external(b"", frame)?;
        let key = receiver.external_key(&open.header, open.key_serial)?;
        let mut body = frame[open.header_len..frame.len() - 16].to_vec();
        let tag = &frame[frame.len() - 16..];
        if platform_open_128(&key, &open.nonce, &open.aad, &mut body, tag) {
            receiver.commit_external(&open.header, open.key_serial)?;
            Ok(body)
        } else {
            receiver.reject_external(&open.header, open.key_serial)?;
            Err(Error::AuthenticationFailed)
        }
    }

    /// A key replaced while the platform decrypts: the frame of the old key
    /// cannot write the new key's replay window, nor count against it.
    #[test]
    fn a_key_replaced_mid_flight_cannot_commit() {
        let suite = CipherSuite::AesGcm128Sha256;
        let kid = Kid(7);
        let old = || BaseKey::new(&[1; 16]).unwrap();
        let new = || BaseKey::new(&[2; 16]).unwrap();
        let mut receiver = Receiver::new(ReceiverConfig::default());
        receiver.add_key(kid, suite, old()).unwrap();
        let mut old_sender = Sender::starting_at(suite, kid, old(), Counter(40)).unwrap();
        let frame = old_sender.encrypt(b"", b"old").unwrap();
        let open = receiver.open_external(b"", &frame).unwrap();
        let old_key = receiver
            .external_key(&open.header, open.key_serial)
            .unwrap();

        receiver.add_key(kid, suite, new()).unwrap();
        let gone = Err(Error::UnknownKeyId(kid));
        assert_eq!(
            receiver.commit_external(&open.header, open.key_serial),
            gone
        );
        assert_eq!(
            receiver.reject_external(&open.header, open.key_serial),
            gone
        );
        assert_eq!(
            receiver
                .external_key(&open.header, open.key_serial)
                .map(|_| ()),
            gone
        );
        assert_eq!(receiver.auth_failures(kid), 0);
        // The new key's window is untouched: its counters from 0 open.
        let mut new_sender = Sender::new(suite, kid, new()).unwrap();
        for i in 0..40u8 {
            let f = new_sender.encrypt(b"", &[i]).unwrap();
            if i % 10 == 0 {
                assert_eq!(open_outside(&mut receiver, &f).unwrap(), [i]);
            }
        }
        let again = receiver.open_external(b"", &frame).unwrap();
        assert_ne!(again.key_serial, open.key_serial);
        assert_ne!(
            receiver
                .external_key(&again.header, again.key_serial)
                .unwrap()
                .as_bytes(),
            old_key.as_bytes()
        );
        // The old frame under the new key: a tag failure, counted.
        assert_eq!(
            open_outside(&mut receiver, &frame),
            Err(Error::AuthenticationFailed)
        );
        assert_eq!(receiver.auth_failures(kid), 1);
    }

    /// A followed ratcheting sender moves forward on the external path as it
    /// does inside the core: only once a frame of the new step verified.
    #[test]
    fn a_followed_ratcheting_sender_steps_on_the_external_path() {
        let suite = CipherSuite::AesGcm128Sha256;
        let layout = crate::frame::RatchetLayout::new(8).unwrap();
        let base = || BaseKey::new(&[5; 16]).unwrap();
        let mut receiver = Receiver::new(ReceiverConfig::default());
        receiver
            .add_ratcheting_sender(suite, layout, 2, base())
            .unwrap();
        let mut sender = Sender::ratcheting(suite, layout, 2, base()).unwrap();
        let f0 = sender.encrypt(b"", b"step 0").unwrap();
        assert_eq!(open_outside(&mut receiver, &f0).unwrap(), b"step 0");
        sender.ratchet().unwrap();
        sender.ratchet().unwrap();
        // A forged frame two steps ahead fails and moves nothing.
        let mut forged = sender.encrypt(b"", b"step 2").unwrap();
        let genuine = forged.clone();
        let last = forged.len() - 1;
        forged[last] ^= 1;
        assert_eq!(
            open_outside(&mut receiver, &forged),
            Err(Error::AuthenticationFailed)
        );
        assert_eq!(open_outside(&mut receiver, &genuine).unwrap(), b"step 2");
        assert!(matches!(
            open_outside(&mut receiver, &genuine),
            Err(Error::Replay { .. })
        ));
        let next = sender.encrypt(b"", b"again").unwrap();
        assert_eq!(open_outside(&mut receiver, &next).unwrap(), b"again");
        // And the core agrees frame for frame.
        let more = sender.encrypt(b"", b"inside").unwrap();
        assert_eq!(receiver.decrypt(b"", &more).unwrap(), b"inside");
    }
}
