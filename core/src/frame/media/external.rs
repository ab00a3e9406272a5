//! Media mode with the AES-GCM computed outside the core (WebCrypto in a
//! browser), for the codecs whose protected frame is contiguous: Opus, VP8,
//! VP9 and generic frames, where
//!
//! ```text
//! protected = frame[..clear_len] || ciphertext || tag || header || footer
//! ```
//!
//! and the ciphertext is the AES-GCM of `frame[clear_len..]`. The core reads
//! only the frame's first [`HEAD_LEN`] bytes and (to open) its last
//! [`TAIL_LEN`]: it decides the layout, uses the counter, builds the nonce
//! and the AAD (header || metadata, `docs/PROTOCOL.md` "Media mode") and
//! checks and commits the replay window; the bulk bytes never pass through
//! it. The frames are byte for byte those of
//! [`MediaSender::encrypt_frame`] and are accepted exactly when
//! [`MediaReceiver::decrypt_frame`] accepts them (tests below). H.264, H.265
//! and AV1 frames are reshaped on the way (escaping, OBUs) and stay on the
//! core's own path.

use super::codec::Codec;
use super::error::{Malformed, MediaError};
use super::layout::{self, Span, Unit};
use super::{MediaReceiver, MediaSender};
use super::{footer, metadata};
use crate::frame::external::require_gcm;
use crate::frame::suite::NONCE_LEN;
use crate::frame::{EncodedHeader, Error, Header, MAX_HEADER_LEN};

/// How many of a frame's first bytes the core reads: the longest clear
/// prefix of a contiguous codec (a VP8 key frame's 10 bytes).
pub const HEAD_LEN: usize = 10;

/// How many of a protected frame's last bytes the core reads to open it:
/// the 16-byte AES-GCM tag, the longest SFrame header and the footer.
pub const TAIL_LEN: usize = 16 + MAX_HEADER_LEN + 1;

/// The AES-GCM tag length of the suites the external path serves.
const TAG_LEN: usize = 16;

/// Whether frames of `codec` can take the external path.
pub fn is_contiguous(codec: Codec) -> bool {
    matches!(
        codec,
        Codec::Opus | Codec::Vp8 | Codec::Vp9 | Codec::Generic
    )
}

/// What sealing one media frame outside the core needs. Encrypt
/// `frame[clear_len..]` with AES-GCM (`nonce`, `aad`, 16-byte tag) and send
/// `frame[..clear_len] || ciphertext || tag || header || footer`. The
/// counter is already used: never seal twice with one `MediaSeal`.
pub struct MediaSeal {
    /// Bytes at the frame's start that stay clear.
    pub clear_len: usize,
    /// The SFrame header, after the tag.
    pub header: EncodedHeader,
    /// The last byte: codec and header length.
    pub footer: u8,
    /// The AES-GCM nonce.
    pub nonce: [u8; NONCE_LEN],
    /// The AAD: header || metadata.
    pub aad: Vec<u8>,
}

/// What opening one protected media frame outside the core needs.
/// AES-GCM-decrypt `frame[clear_len..body_end]` (ciphertext, then the tag)
/// with `nonce` and `aad`; the frame is `frame[..clear_len] || plaintext`.
/// Only if the tag verified, call [`MediaReceiver::commit_external`] with
/// `header` and `key_serial`; if it failed, [`MediaReceiver::reject_external`].
pub struct MediaOpen {
    /// The codec the sender declared (authenticated once the tag verifies).
    pub codec: Codec,
    /// The SFrame header: key id and counter.
    pub header: Header,
    /// Which installed key the frame was checked against (see
    /// [`ExternalOpen::key_serial`](crate::frame::ExternalOpen::key_serial)).
    pub key_serial: u64,
    /// Bytes at the frame's start that are clear.
    pub clear_len: usize,
    /// Where the tag ends (the SFrame header starts).
    pub body_end: usize,
    /// The AES-GCM nonce.
    pub nonce: [u8; NONCE_LEN],
    /// The AAD: header || metadata.
    pub aad: Vec<u8>,
}

impl core::fmt::Debug for MediaSeal {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("MediaSeal")
            .field("clear_len", &self.clear_len)
            .field("header", &self.header)
            .finish_non_exhaustive()
    }
}

impl core::fmt::Debug for MediaOpen {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("MediaOpen")
            .field("codec", &self.codec)
            .field("header", &self.header)
            .field("clear_len", &self.clear_len)
            .field("body_end", &self.body_end)
            .finish_non_exhaustive()
    }
}

/// The one unit of a contiguous frame of `len` bytes whose first bytes are
/// `head` (`min(len, HEAD_LEN)` of them), and its metadata.
fn describe(
    codec: Codec,
    head: &[u8],
    len: usize,
    footer_byte: u8,
) -> Result<(usize, Vec<u8>), MediaError> {
    if head.len() != len.min(HEAD_LEN) {
        return Err(
            Error::InvalidConfig("the frame's head must be its first min(len, 10) bytes").into(),
        );
    }
    let clear_len = layout::whole_frame_clear_len(codec, head);
    let units = [Unit::split(Span::new(0, len), clear_len)];
    let mut meta = Vec::with_capacity(16 + clear_len);
    metadata::build(footer_byte, &units, head, &mut meta)?;
    Ok((clear_len, meta))
}

fn contiguous(codec: Codec) -> Result<(), MediaError> {
    if is_contiguous(codec) {
        Ok(())
    } else {
        Err(
            Error::InvalidConfig("only Opus, VP8, VP9 and generic frames take the external path")
                .into(),
        )
    }
}

impl MediaSender {
    /// Plans the external sealing of a frame of `codec` of `len` bytes
    /// whose first `min(len, HEAD_LEN)` bytes are `head`, using the next
    /// counter (whether or not the caller then seals).
    ///
    /// # Errors
    /// [`Error::InvalidConfig`] (no counter used) for a codec that is not
    /// contiguous, a suite that is not AES-GCM, or a `head` of the wrong
    /// length; [`Malformed::TooLarge`] past 4 GiB; [`Error::CounterExhausted`].
    pub fn seal_external(
        &mut self,
        codec: Codec,
        head: &[u8],
        len: usize,
    ) -> Result<MediaSeal, MediaError> {
        contiguous(codec)?;
        let sender = self.sender_mut();
        require_gcm(sender.suite())?;
        let ctr = sender.next_counter().ok_or(Error::CounterExhausted)?;
        let header_len = Header {
            kid: sender.kid(),
            ctr,
        }
        .encode()
        .len();
        let footer = footer::encode(codec, header_len).ok_or(Malformed::HeaderLength)?;
        let (clear_len, meta) = describe(codec, head, len, footer)?;
        let seal = sender.seal_external(&meta)?;
        Ok(MediaSeal {
            clear_len,
            header: seal.header,
            footer,
            nonce: seal.nonce,
            aad: seal.aad,
        })
    }
}

impl MediaReceiver {
    /// Checks a protected frame of `len` bytes, given its first
    /// `min(len, HEAD_LEN)` bytes (`head`) and its last `min(len, TAIL_LEN)`
    /// (`tail`), as [`decrypt_frame`](Self::decrypt_frame) would before the
    /// tag: footer, header, key (an AES-GCM one), replay window, layout.
    /// `Ok(None)` for a frame of a codec that is not contiguous: decrypt it
    /// with [`decrypt_frame`](Self::decrypt_frame).
    ///
    /// # Errors
    /// As [`decrypt_frame`](Self::decrypt_frame) before the tag check, and
    /// [`Error::InvalidConfig`] for a key whose suite is not AES-GCM or a
    /// `head`/`tail` of the wrong length.
    pub fn open_external(
        &mut self,
        head: &[u8],
        tail: &[u8],
        len: usize,
    ) -> Result<Option<MediaOpen>, MediaError> {
        if tail.len() != len.min(TAIL_LEN) {
            return Err(Error::InvalidConfig(
                "the frame's tail must be its last min(len, 34) bytes",
            )
            .into());
        }
        let (&footer_byte, _) = tail.split_last().ok_or(Malformed::Empty)?;
        let (codec, header_len) = footer::decode(footer_byte)?;
        if !is_contiguous(codec) {
            return Ok(None);
        }
        // frame = body || tag || header || footer, read from the tail.
        let tail_start = len - tail.len();
        let header_end = len - 1;
        let header_start = header_end
            .checked_sub(header_len)
            .ok_or(Malformed::TruncatedSuffix)?;
        let header_bytes = header_start
            .checked_sub(tail_start)
            .and_then(|from| tail.get(from..from + header_len))
            .ok_or(Malformed::TruncatedSuffix)?;
        let (header, used) = Header::decode(header_bytes)?;
        if used != header_bytes.len() {
            return Err(Malformed::HeaderLength.into());
        }
        let receiver = self.receiver_mut();
        let tag_len = receiver.suite_for(header.kid)?.tag_len();
        let tag_start = header_start
            .checked_sub(tag_len)
            .ok_or(Malformed::TruncatedSuffix)?;
        // The body is what decrypt_frame lays out: its head is the frame's.
        let head = head.get(..tag_start.min(HEAD_LEN)).ok_or_else(|| {
            MediaError::from(Error::InvalidConfig("the frame's head is too short"))
        })?;
        let (clear_len, meta) = describe(codec, head, tag_start, footer_byte)?;
        let open = receiver.open_detached_external(&header, header_bytes, &meta)?;
        debug_assert_eq!(tag_len, TAG_LEN);
        Ok(Some(MediaOpen {
            codec,
            header,
            key_serial: open.key_serial,
            clear_len,
            body_end: header_start,
            nonce: open.nonce,
            aad: open.aad,
        }))
    }

    /// Records a frame checked by [`open_external`](Self::open_external)
    /// whose tag verified outside the core.
    ///
    /// # Errors
    /// As [`Receiver::commit_external`](crate::frame::Receiver::commit_external).
    pub fn commit_external(&mut self, open: &MediaOpen) -> Result<(), MediaError> {
        Ok(self
            .receiver_mut()
            .commit_external(&open.header, open.key_serial)?)
    }

    /// Records that a frame checked by [`open_external`](Self::open_external)
    /// failed its tag check outside the core.
    ///
    /// # Errors
    /// As [`Receiver::reject_external`](crate::frame::Receiver::reject_external).
    pub fn reject_external(&mut self, open: &MediaOpen) -> Result<(), MediaError> {
        Ok(self
            .receiver_mut()
            .reject_external(&open.header, open.key_serial)?)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use aes_gcm::Aes128Gcm;
    use aes_gcm::aead::{AeadInOut, KeyInit};

    use super::*;
    use crate::frame::external::platform_open_128;
    use crate::frame::{BaseKey, CipherSuite, Kid, Receiver, ReceiverConfig, Sender};

    const SUITE: CipherSuite = CipherSuite::AesGcm128Sha256;

    fn head(frame: &[u8]) -> &[u8] {
        &frame[..frame.len().min(HEAD_LEN)]
    }

    fn tail(frame: &[u8]) -> &[u8] {
        &frame[frame.len() - frame.len().min(TAIL_LEN)..]
    }

    /// What a platform does with a `MediaSeal`.
    fn seal_outside(sender: &mut MediaSender, codec: Codec, frame: &[u8]) -> Vec<u8> {
        let seal = sender
            .seal_external(codec, head(frame), frame.len())
            .unwrap();
        let key = sender.sender().external_key().unwrap();
        let mut body = frame[seal.clear_len..].to_vec();
        let tag = Aes128Gcm::new_from_slice(key.as_bytes())
            .unwrap()
            .encrypt_inout_detached(&seal.nonce.into(), &seal.aad, body.as_mut_slice().into())
            .unwrap();
        [
            &frame[..seal.clear_len],
            &body,
            tag.as_slice(),
            seal.header.as_bytes(),
            &[seal.footer],
        ]
        .concat()
    }

    /// What a platform does with a `MediaOpen`: the frame, or the error.
    fn open_outside(receiver: &mut MediaReceiver, protected: &[u8]) -> Result<Vec<u8>, MediaError> {
        let open = receiver
            .open_external(head(protected), tail(protected), protected.len())?
            .expect("a contiguous codec");
        let key = receiver
            .receiver()
            .external_key(&open.header, open.key_serial)
            .unwrap();
        let mut body = protected[open.clear_len..open.body_end - TAG_LEN].to_vec();
        let tag = &protected[open.body_end - TAG_LEN..open.body_end];
        if platform_open_128(&key, &open.nonce, &open.aad, &mut body, tag) {
            receiver.commit_external(&open)?;
            Ok([&protected[..open.clear_len], &body].concat())
        } else {
            receiver.reject_external(&open)?;
            Err(Error::AuthenticationFailed.into())
        }
    }

    fn pair(kid: u64) -> (MediaSender, MediaReceiver) {
        let base = || BaseKey::new(&[kid as u8; 16]).unwrap();
        let sender = MediaSender::new(Sender::new(SUITE, Kid(kid), base()).unwrap());
        let mut receiver = MediaReceiver::new(Receiver::new(ReceiverConfig::default()));
        receiver
            .receiver_mut()
            .add_key(Kid(kid), SUITE, base())
            .unwrap();
        (sender, receiver)
    }

    fn frames() -> Vec<(Codec, Vec<u8>)> {
        let mut out = Vec::new();
        for codec in [Codec::Opus, Codec::Vp8, Codec::Vp9, Codec::Generic] {
            for len in [0usize, 1, 2, 3, 9, 10, 11, 33, 34, 35, 100, 1500, 20_000] {
                for first in [0x00u8, 0x01, 0x50, 0x31] {
                    let frame: Vec<u8> = (0..len)
                        .map(|i| if i == 0 { first } else { (i * 7 + 3) as u8 })
                        .collect();
                    out.push((codec, frame));
                }
            }
        }
        out
    }

    #[test]
    fn external_frames_equal_the_cores_both_ways() {
        for (i, (codec, frame)) in frames().into_iter().enumerate() {
            let kid = (i % 200) as u64 + 1;
            let (mut inside, mut receiver) = pair(kid);
            let (mut outside, mut other) = pair(kid);
            let mut expected = Vec::new();
            inside.encrypt_frame(codec, &frame, &mut expected).unwrap();
            let sealed = seal_outside(&mut outside, codec, &frame);
            assert_eq!(sealed, expected, "{codec} {} bytes", frame.len());

            // Opened outside, as the core opens it; then a replay.
            assert_eq!(open_outside(&mut receiver, &sealed).unwrap(), frame);
            assert!(matches!(
                open_outside(&mut receiver, &sealed),
                Err(MediaError::Frame(Error::Replay { .. }))
            ));
            let mut out = Vec::new();
            assert!(other.decrypt_frame(&sealed, &mut out).is_ok());
            assert_eq!(out, frame);
        }
    }

    /// Every single-byte change is refused on the external path exactly
    /// when (and as) the core's own path refuses it.
    #[test]
    fn tampering_is_refused_as_the_core_refuses_it() {
        for (codec, frame) in [
            (Codec::Vp8, vec![0x50u8; 40]),
            (Codec::Vp8, vec![0x31u8; 12]),
            (Codec::Opus, vec![0x78u8; 5]),
            (Codec::Generic, vec![]),
            (Codec::Vp9, vec![1u8; 3]),
        ] {
            let (mut sender, _) = pair(9);
            let mut protected = Vec::new();
            sender.encrypt_frame(codec, &frame, &mut protected).unwrap();
            for at in 0..protected.len() {
                for flip in [0x01u8, 0x80] {
                    let mut bad = protected.clone();
                    bad[at] ^= flip;
                    let (_, mut core) = pair(9);
                    let (_, mut external) = pair(9);
                    let mut out = Vec::new();
                    let inside = core.decrypt_frame(&bad, &mut out).map(|_| out.clone());
                    let outside = match external.open_external(head(&bad), tail(&bad), bad.len()) {
                        Ok(None) => external.decrypt_frame(&bad, &mut out).map(|_| out.clone()),
                        Ok(Some(_)) => open_outside(&mut external, &bad),
                        Err(e) => Err(e),
                    };
                    assert!(
                        inside.is_err(),
                        "{codec}: byte {at} ^ {flip:#x} accepted by the core"
                    );
                    assert_eq!(inside, outside, "{codec}: byte {at} ^ {flip:#x}");
                }
            }
        }
    }

    #[test]
    fn other_codecs_suites_and_heads_are_refused() {
        let (mut sender, mut receiver) = pair(3);
        for codec in [Codec::H264, Codec::H265, Codec::Av1] {
            assert!(matches!(
                sender.seal_external(codec, &[0; 10], 10),
                Err(MediaError::Frame(Error::InvalidConfig(_)))
            ));
        }
        assert!(matches!(
            sender.seal_external(Codec::Vp8, &[0; 9], 10),
            Err(MediaError::Frame(Error::InvalidConfig(_)))
        ));
        assert_eq!(sender.sender().next_counter().map(|c| c.0), Some(0));
        // An H.264 frame is left to decrypt_frame.
        let h264 = [0, 0, 0, 1, 0x65, 0x88, 0x84, 0x00, 0x21, 0xff];
        let mut protected = Vec::new();
        sender
            .encrypt_frame(Codec::H264, &h264, &mut protected)
            .unwrap();
        assert!(
            receiver
                .open_external(head(&protected), tail(&protected), protected.len())
                .unwrap()
                .is_none()
        );
        // CTR+HMAC suites have no external path.
        let ctr = CipherSuite::AesCtr128HmacSha256_80;
        let mut s =
            MediaSender::new(Sender::new(ctr, Kid(1), BaseKey::new(&[1; 16]).unwrap()).unwrap());
        assert!(matches!(
            s.seal_external(Codec::Vp8, &[0; 10], 10),
            Err(MediaError::Frame(Error::InvalidConfig(_)))
        ));
        receiver
            .receiver_mut()
            .add_key(Kid(1), ctr, BaseKey::new(&[1; 16]).unwrap())
            .unwrap();
        let mut protected = Vec::new();
        s.encrypt_frame(Codec::Vp8, &[0; 20], &mut protected)
            .unwrap();
        assert!(matches!(
            receiver.open_external(head(&protected), tail(&protected), protected.len()),
            Err(MediaError::Frame(Error::InvalidConfig(_)))
        ));
    }

    /// A key replaced while the platform decrypted: the commit is refused
    /// and the new key's window is untouched.
    #[test]
    fn a_key_replaced_mid_flight_cannot_commit() {
        let (mut sender, mut receiver) = pair(4);
        let mut protected = Vec::new();
        sender
            .encrypt_frame(Codec::Vp8, &[0x50; 64], &mut protected)
            .unwrap();
        let open = receiver
            .open_external(head(&protected), tail(&protected), protected.len())
            .unwrap()
            .unwrap();
        receiver
            .receiver_mut()
            .add_key(Kid(4), SUITE, BaseKey::new(&[4; 16]).unwrap())
            .unwrap();
        assert_eq!(
            receiver.commit_external(&open),
            Err(MediaError::Frame(Error::UnknownKeyId(Kid(4))))
        );
        // The same frame under the (same bytes, new) key still opens once.
        assert_eq!(
            open_outside(&mut receiver, &protected).unwrap(),
            vec![0x50; 64]
        );
    }
}
