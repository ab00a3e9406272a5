//! The sending side of media mode.

use super::codec::Codec;
use super::error::{Malformed, MediaError};
use super::escape::{Escaper, terminate};
use super::layout;
use super::scratch::Scratch;
use super::{av1, footer, metadata};
use crate::frame::{Error, Header, Sender};

/// Encrypts WebRTC encoded frames codec-aware: the bytes packetizers,
/// depacketizers and SFUs read stay clear, and everything, clear bytes and
/// layout included, is authenticated.
///
/// Wraps a [`Sender`], which owns the key and the counter; every frame uses
/// one counter value. The sender keeps its scratch buffers between frames,
/// so once they have grown to the largest frame, encrypting allocates
/// nothing; capacity a refused frame grew beyond four times what sent
/// frames needed is given back. A frame has at most
/// [`MAX_UNITS`](super::MAX_UNITS) NAL units or OBUs. The output format is
/// specified in `docs/PROTOCOL.md` ("Media mode").
///
/// ```
/// use callseal_core::frame::media::{Codec, MediaReceiver, MediaSender};
/// use callseal_core::frame::{BaseKey, CipherSuite, Kid, Receiver, ReceiverConfig, Sender};
///
/// let suite = CipherSuite::AesGcm128Sha256;
/// let mut sender = MediaSender::new(Sender::new(suite, Kid(1), BaseKey::new(&[7; 16])?)?);
/// let mut receiver = MediaReceiver::new(Receiver::new(ReceiverConfig::default()));
/// receiver.receiver_mut().add_key(Kid(1), suite, BaseKey::new(&[7; 16])?)?;
///
/// // An H.264 access unit: SPS, PPS and an IDR slice.
/// let frame = [
///     0, 0, 0, 1, 0x67, 0x42, 0xc0, 0x1e, 0xd9, 0x00, 0xa0, 0x47, 0xfe, 0xc8,
///     0, 0, 0, 1, 0x68, 0xce, 0x3c, 0x80,
///     0, 0, 0, 1, 0x65, 0x88, 0x84, 0x00, 0x21, 0xff, 0x00, 0x00, 0x03, 0x01, 0x7f,
/// ];
/// let (mut protected, mut decrypted) = (Vec::new(), Vec::new());
/// sender.encrypt_frame(Codec::H264, &frame, &mut protected)?;
/// // Parameter sets and the slice-header prefix stay clear...
/// assert_eq!(protected[..29], frame[..29]);
/// // ...the slice data does not.
/// assert_ne!(protected[29..35], frame[29..35]);
///
/// let info = receiver.decrypt_frame(&protected, &mut decrypted)?;
/// assert_eq!((info.codec, info.kid), (Codec::H264, Kid(1)));
/// assert_eq!(decrypted, frame);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct MediaSender {
    sender: Sender,
    pub(super) scratch: Scratch,
}

impl core::fmt::Debug for MediaSender {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("MediaSender")
            .field("sender", &self.sender)
            .finish_non_exhaustive()
    }
}

impl MediaSender {
    /// Media mode over `sender`.
    pub fn new(sender: Sender) -> Self {
        Self {
            sender,
            scratch: Scratch::default(),
        }
    }

    /// The SFrame sender.
    pub fn sender(&self) -> &Sender {
        &self.sender
    }

    /// The SFrame sender, e.g. to ratchet its key.
    pub fn sender_mut(&mut self) -> &mut Sender {
        &mut self.sender
    }

    /// The SFrame sender back.
    pub fn into_inner(self) -> Sender {
        self.sender
    }

    /// Encrypts the encoded `frame` of `codec` into `out` (cleared first).
    ///
    /// The output is the frame with its encrypted bytes replaced by
    /// ciphertext, then `tag || SFrame header || footer`, shaped for the
    /// codec: H.264/H.265 output holds no emulated start code, AV1 output
    /// is a valid OBU sequence ending in a metadata OBU. Normalized on the
    /// way, as WebRTC would: H.26x start codes become `00 00 00 01` and
    /// empty NAL units and trailing zero bytes go; AV1 temporal delimiters,
    /// tile lists and padding OBUs are dropped and OBU sizes made minimal.
    ///
    /// # Errors
    /// [`MediaError::Malformed`] if the frame does not follow its codec's
    /// syntax, or has more than [`MAX_UNITS`](super::MAX_UNITS) NAL units or
    /// OBUs ([`Malformed::TooLarge`]; no counter is used then);
    /// [`MediaError::Frame`] with [`Error::CounterExhausted`] or
    /// [`Error::PayloadTooLong`].
    pub fn encrypt_frame(
        &mut self,
        codec: Codec,
        frame: &[u8],
        out: &mut Vec<u8>,
    ) -> Result<(), MediaError> {
        out.clear();
        self.scratch.clear();
        let result = self.encrypt(codec, frame, out);
        if result.is_ok() {
            self.scratch.accepted();
        } else {
            out.clear();
        }
        self.scratch.release();
        result
    }

    /// [`encrypt_frame`](Self::encrypt_frame) on cleared buffers.
    fn encrypt(&mut self, codec: Codec, frame: &[u8], out: &mut Vec<u8>) -> Result<(), MediaError> {
        let Scratch {
            units, meta, plain, ..
        } = &mut self.scratch;
        layout::describe(codec, frame, units)?;

        // The footer is authenticated, and names the header's length: the
        // header of the counter about to be used.
        let ctr = self.sender.next_counter().ok_or(Error::CounterExhausted)?;
        let header_len = Header {
            kid: self.sender.kid(),
            ctr,
        }
        .encode()
        .len();
        let footer = footer::encode(codec, header_len).ok_or(Malformed::HeaderLength)?;
        metadata::build(footer, units, frame, meta)?;

        for u in units.iter() {
            plain.extend_from_slice(u.enc.of(frame));
        }
        let sealed = self.sender.encrypt_detached(meta, plain)?;
        let header = sealed.header.as_bytes();
        let tag = sealed.tag.as_bytes();
        if header.len() != header_len {
            // Cannot happen: the sender used the counter it announced.
            return Err(Malformed::HeaderLength.into());
        }

        out.reserve(frame.len() + 32);
        let mut ct = plain.as_slice();
        let last = units.len().saturating_sub(1);
        for (i, u) in units.iter().enumerate() {
            out.extend_from_slice(u.lead.as_bytes());
            out.extend_from_slice(u.clear.of(frame));
            let (chunk, rest) = ct.split_at_checked(u.plain_len).unwrap_or((ct, &[]));
            ct = rest;
            match codec {
                Codec::H264 | Codec::H265 => {
                    let start = out.len();
                    let mut escaper = Escaper::after(out);
                    escaper.write(chunk, out);
                    if i == last {
                        // The suffix continues the last NAL unit's escaping.
                        escaper.write(tag, out);
                        escaper.write(header, out);
                        escaper.write(&[footer], out);
                    } else {
                        terminate(out, start);
                    }
                }
                _ => out.extend_from_slice(chunk),
            }
        }
        match codec {
            Codec::H264 | Codec::H265 => {}
            Codec::Av1 => {
                let size = 1 + tag.len() + header.len() + 1;
                let size = u32::try_from(size).map_err(|_| Malformed::TooLarge)?;
                out.push(av1::SUFFIX_HEADER);
                out.extend_from_slice(av1::Leb128::new(size).as_bytes());
                out.push(av1::SUFFIX_METADATA_TYPE);
                push_suffix(out, tag, header, footer);
            }
            Codec::Opus | Codec::Vp8 | Codec::Vp9 | Codec::Generic => {
                push_suffix(out, tag, header, footer);
            }
        }
        Ok(())
    }
}

fn push_suffix(out: &mut Vec<u8>, tag: &[u8], header: &[u8], footer: u8) {
    out.extend_from_slice(tag);
    out.extend_from_slice(header);
    out.push(footer);
}
