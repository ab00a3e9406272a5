//! The receiving side of media mode.

use super::codec::Codec;
use super::error::{Malformed, MediaError};
use super::escape::{strip_terminator, take_back, trailing_zeros, unescape};
use super::h26x::Family;
use super::layout::{self, Span, Unit};
use super::{annexb, av1, footer, h26x, metadata};
use crate::frame::{Counter, Header, Kid, MAX_HEADER_LEN, Receiver};

/// The longest tag of any suite (GCM).
const MAX_TAG_LEN: usize = 16;

/// What [`MediaReceiver::decrypt_frame`] learned about a frame it decrypted.
///
/// ```
/// use callseal_core::frame::media::{Codec, MediaReceiver, MediaSender};
/// use callseal_core::frame::{BaseKey, CipherSuite, Counter, Kid, Receiver, ReceiverConfig, Sender};
///
/// let suite = CipherSuite::AesCtr128HmacSha256_80;
/// let mut sender = MediaSender::new(Sender::new(suite, Kid(4), BaseKey::new(&[1; 16])?)?);
/// let mut receiver = MediaReceiver::new(Receiver::new(ReceiverConfig::default()));
/// receiver.receiver_mut().add_key(Kid(4), suite, BaseKey::new(&[1; 16])?)?;
///
/// let (mut protected, mut opus) = (Vec::new(), Vec::new());
/// sender.encrypt_frame(Codec::Opus, &[0x78, 0x01, 0x02], &mut protected)?;
/// let info = receiver.decrypt_frame(&protected, &mut opus)?;
/// assert_eq!((info.codec, info.kid, info.ctr), (Codec::Opus, Kid(4), Counter(0)));
/// assert_eq!(opus, [0x78, 0x01, 0x02]);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct DecryptedFrame {
    /// The codec the sender declared, authenticated.
    pub codec: Codec,
    /// The key id the frame was encrypted under.
    pub kid: Kid,
    /// The frame's counter.
    pub ctr: Counter,
}

/// Decrypts frames made by a [`MediaSender`](super::MediaSender), whatever
/// their codec: the codec travels in the frame.
///
/// Wraps a [`Receiver`] (reach it with [`receiver_mut`](Self::receiver_mut)
/// to add and remove keys), which checks the replay window and the tag. The
/// frame is parsed only to find the encrypted regions again; the codec, the
/// layout and every clear byte are authenticated, so a frame that decrypts
/// is exactly the frame that was sent (up to the normalizations of
/// [`MediaSender::encrypt_frame`](super::MediaSender::encrypt_frame)).
/// Scratch buffers are kept between frames: no allocation in steady state.
///
/// ```
/// use callseal_core::frame::media::{Codec, MediaError, MediaReceiver, MediaSender};
/// use callseal_core::frame::{BaseKey, CipherSuite, Error, Kid, Receiver, ReceiverConfig, Sender};
///
/// let suite = CipherSuite::AesGcm128Sha256;
/// let mut sender = MediaSender::new(Sender::new(suite, Kid(2), BaseKey::new(&[3; 16])?)?);
/// let mut receiver = MediaReceiver::new(Receiver::new(ReceiverConfig::default()));
/// receiver.receiver_mut().add_key(Kid(2), suite, BaseKey::new(&[3; 16])?)?;
///
/// // A VP8 delta frame: its 3-byte frame tag stays clear.
/// let frame = [0x31, 0x02, 0x00, 0xde, 0xad, 0xbe, 0xef];
/// let (mut protected, mut out) = (Vec::new(), Vec::new());
/// sender.encrypt_frame(Codec::Vp8, &frame, &mut protected)?;
/// assert_eq!(protected[..3], frame[..3]);
///
/// // Clear bytes are authenticated too: flip the inverse key-frame flag.
/// let mut forged = protected.clone();
/// forged[0] ^= 1;
/// assert_eq!(
///     receiver.decrypt_frame(&forged, &mut out),
///     Err(MediaError::Frame(Error::AuthenticationFailed))
/// );
/// receiver.decrypt_frame(&protected, &mut out)?;
/// assert_eq!(out, frame);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct MediaReceiver {
    receiver: Receiver,
    units: Vec<Unit>,
    meta: Vec<u8>,
    plain: Vec<u8>,
}

impl core::fmt::Debug for MediaReceiver {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("MediaReceiver")
            .field("receiver", &self.receiver)
            .finish_non_exhaustive()
    }
}

/// Where the SFrame header and tag of a received frame are, and the frame
/// around them.
struct Suffix {
    header: Header,
    header_bytes: [u8; MAX_HEADER_LEN],
    header_len: usize,
    tag: [u8; MAX_TAG_LEN],
    tag_len: usize,
}

impl Suffix {
    fn header_bytes(&self) -> &[u8] {
        self.header_bytes.get(..self.header_len).unwrap_or(&[])
    }

    fn tag(&self) -> &[u8] {
        self.tag.get(..self.tag_len).unwrap_or(&[])
    }
}

impl MediaReceiver {
    /// Media mode over `receiver`.
    pub fn new(receiver: Receiver) -> Self {
        Self {
            receiver,
            units: Vec::new(),
            meta: Vec::new(),
            plain: Vec::new(),
        }
    }

    /// The SFrame receiver.
    pub fn receiver(&self) -> &Receiver {
        &self.receiver
    }

    /// The SFrame receiver, to add and remove keys.
    pub fn receiver_mut(&mut self) -> &mut Receiver {
        &mut self.receiver
    }

    /// The SFrame receiver back.
    pub fn into_inner(self) -> Receiver {
        self.receiver
    }

    /// Decrypts a protected frame into `out` (cleared first; left empty on
    /// error) and says which codec, key id and counter it had.
    ///
    /// # Errors
    /// [`MediaError::Malformed`] if the frame is not a well-formed protected
    /// frame; [`MediaError::Frame`] for what the SFrame layer refuses:
    /// unknown key id, replay, a counter too old, failed authentication
    /// (any change to any byte, clear or not), header errors.
    pub fn decrypt_frame(
        &mut self,
        frame: &[u8],
        out: &mut Vec<u8>,
    ) -> Result<DecryptedFrame, MediaError> {
        out.clear();
        self.units.clear();
        self.plain.clear();
        let (&footer_byte, _) = frame.split_last().ok_or(Malformed::Empty)?;
        let (codec, header_len) = footer::decode(footer_byte)?;

        let suffix = match codec {
            Codec::H264 => self.parse_annexb(Family::H264, frame, header_len)?,
            Codec::H265 => self.parse_annexb(Family::H265, frame, header_len)?,
            Codec::Av1 => {
                let (suffix, body_end) = self.contiguous_suffix(frame, header_len)?;
                av1::units(frame, &mut self.units)?;
                let s = self.units.pop().ok_or(Malformed::SuffixObu)?;
                let payload = s.enc.of(frame);
                let is_suffix = s.lead.first() == Some(av1::SUFFIX_HEADER)
                    && s.enc.end == frame.len()
                    && body_end.checked_sub(1) == Some(s.enc.start)
                    && payload.first() == Some(&av1::SUFFIX_METADATA_TYPE);
                if !is_suffix {
                    return Err(Malformed::SuffixObu.into());
                }
                for u in &self.units {
                    self.plain.extend_from_slice(u.enc.of(frame));
                }
                suffix
            }
            Codec::Opus | Codec::Vp8 | Codec::Vp9 | Codec::Generic => {
                let (suffix, body_end) = self.contiguous_suffix(frame, header_len)?;
                let body = frame.get(..body_end).ok_or(Malformed::TruncatedSuffix)?;
                layout::whole_frame(codec, body, &mut self.units);
                for u in &self.units {
                    self.plain.extend_from_slice(u.enc.of(frame));
                }
                suffix
            }
        };

        metadata::build(footer_byte, &self.units, frame, &mut self.meta)?;
        self.receiver.decrypt_detached(
            &suffix.header,
            suffix.header_bytes(),
            &self.meta,
            &mut self.plain,
            suffix.tag(),
        )?;

        let mut pt = self.plain.as_slice();
        for u in &self.units {
            out.extend_from_slice(u.lead.as_bytes());
            out.extend_from_slice(u.clear.of(frame));
            let (chunk, rest) = pt.split_at_checked(u.plain_len).unwrap_or((pt, &[]));
            out.extend_from_slice(chunk);
            pt = rest;
        }
        Ok(DecryptedFrame {
            codec,
            kid: suffix.header.kid,
            ctr: suffix.header.ctr,
        })
    }

    /// Decodes an SFrame header that must fill `header_bytes` exactly, and
    /// looks up the tag length of its key.
    fn header(&self, header_bytes: &[u8]) -> Result<(Header, usize), MediaError> {
        let (header, used) = Header::decode(header_bytes)?;
        if used != header_bytes.len() {
            return Err(Malformed::HeaderLength.into());
        }
        let tag_len = self.receiver.suite_for(header.kid)?.tag_len();
        if tag_len > MAX_TAG_LEN {
            return Err(Malformed::TruncatedSuffix.into());
        }
        Ok((header, tag_len))
    }

    /// `body || tag || header || footer`, unescaped (Opus, VP8, VP9,
    /// generic; AV1 inside its suffix OBU). Returns the suffix and where the
    /// tag starts.
    fn contiguous_suffix(
        &self,
        frame: &[u8],
        header_len: usize,
    ) -> Result<(Suffix, usize), MediaError> {
        let header_end = frame.len() - 1;
        let header_start = header_end
            .checked_sub(header_len)
            .ok_or(Malformed::TruncatedSuffix)?;
        let header_src = frame
            .get(header_start..header_end)
            .ok_or(Malformed::TruncatedSuffix)?;
        let (header, tag_len) = self.header(header_src)?;
        let tag_start = header_start
            .checked_sub(tag_len)
            .ok_or(Malformed::TruncatedSuffix)?;
        let tag_src = frame
            .get(tag_start..header_start)
            .ok_or(Malformed::TruncatedSuffix)?;
        let mut suffix = Suffix {
            header,
            header_bytes: [0; MAX_HEADER_LEN],
            header_len,
            tag: [0; MAX_TAG_LEN],
            tag_len,
        };
        copy(&mut suffix.header_bytes, header_src);
        copy(&mut suffix.tag, tag_src);
        Ok((suffix, tag_start))
    }

    /// Finds the NAL units of a received H.26x frame, takes the escaped
    /// suffix off the end of the last one, splits each into clear and
    /// encrypted parts and gathers the unescaped ciphertext.
    fn parse_annexb(
        &mut self,
        family: Family,
        frame: &[u8],
        header_len: usize,
    ) -> Result<Suffix, MediaError> {
        // Each unit holds its NAL unit's span in `clear` until it is split
        // into clear and encrypted parts below, once the suffix is off.
        for nal in annexb::nal_units(frame)? {
            self.units.push(Unit {
                clear: nal,
                ..Unit::default()
            });
        }
        let nal = self.units.last().ok_or(Malformed::NoNalUnit)?.clear;
        let nal_bytes = nal.of(frame);

        // Walk back from the footer (the frame's, and this NAL unit's, last
        // byte): the header, then the tag, skipping inserted 03 bytes.
        let mut header_bytes = [0u8; MAX_HEADER_LEN];
        let header_dst = header_bytes
            .get_mut(..header_len)
            .ok_or(Malformed::TruncatedSuffix)?;
        let footer_at = nal_bytes
            .len()
            .checked_sub(1)
            .ok_or(Malformed::TruncatedSuffix)?;
        let header_at =
            take_back(nal_bytes, footer_at, header_dst).ok_or(Malformed::TruncatedSuffix)?;
        let (header, tag_len) = self.header(header_dst)?;
        let mut tag = [0u8; MAX_TAG_LEN];
        let tag_dst = tag.get_mut(..tag_len).ok_or(Malformed::TruncatedSuffix)?;
        let tag_at = take_back(nal_bytes, header_at, tag_dst).ok_or(Malformed::TruncatedSuffix)?;
        if let Some(last) = self.units.last_mut() {
            last.clear = Span::new(nal.start, nal.start + tag_at);
        }

        let last_index = self.units.len() - 1;
        for (i, u) in self.units.iter_mut().enumerate() {
            let nal = u.clear;
            *u = h26x::unit(family, frame, nal)?;
            let region = u.enc.of(frame);
            // The suffix continued the last region's escaping; the others
            // carry the end rule.
            let region = if i == last_index {
                region
            } else {
                strip_terminator(region)
            };
            let before = self.plain.len();
            unescape(trailing_zeros(u.clear.of(frame)), region, &mut self.plain);
            u.plain_len = self.plain.len() - before;
        }
        Ok(Suffix {
            header,
            header_bytes,
            header_len,
            tag,
            tag_len,
        })
    }
}

fn copy(dst: &mut [u8], src: &[u8]) {
    for (d, s) in dst.iter_mut().zip(src) {
        *d = *s;
    }
}
