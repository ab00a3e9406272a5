//! The receiving side of media mode.

use super::codec::Codec;
use super::error::{Malformed, MediaError};
use super::escape::{strip_terminator, take_back, trailing_zeros, unescape};
use super::h26x::Family;
use super::layout::{self, MAX_UNITS, Span, Unit};
use super::scratch::Scratch;
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
///
/// Everything cheap is checked before the frame is walked: the footer, the
/// SFrame header and that its key is known (for H.264/H.265 too, by walking
/// back from the footer), then the layout, at most
/// [`MAX_UNITS`](super::MAX_UNITS) NAL units or OBUs. Scratch buffers are
/// kept between frames, so the steady state allocates nothing, but only up
/// to a few times what authenticated frames needed: a forged frame cannot
/// leave the receiver larger.
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
    scratch: Scratch,
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
            scratch: Scratch::default(),
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
    /// The checks run cheapest first (`docs/PROTOCOL.md` §2.4): the footer,
    /// the SFrame header and the key lookup, the layout (which stops at
    /// [`MAX_UNITS`](super::MAX_UNITS) units), then the tag.
    ///
    /// # Errors
    /// [`MediaError::Malformed`] if the frame is not a well-formed protected
    /// frame ([`Malformed::TooLarge`] past [`MAX_UNITS`](super::MAX_UNITS)
    /// units); [`MediaError::Frame`] for what the SFrame layer refuses:
    /// unknown key id, replay, a counter too old, failed authentication
    /// (any change to any byte, clear or not), header errors.
    pub fn decrypt_frame(
        &mut self,
        frame: &[u8],
        out: &mut Vec<u8>,
    ) -> Result<DecryptedFrame, MediaError> {
        out.clear();
        self.scratch.clear();
        let result = self.decrypt(frame, out);
        if result.is_ok() {
            self.scratch.accepted();
        }
        self.scratch.release();
        result
    }

    /// [`decrypt_frame`](Self::decrypt_frame) on cleared buffers.
    fn decrypt(&mut self, frame: &[u8], out: &mut Vec<u8>) -> Result<DecryptedFrame, MediaError> {
        let (&footer_byte, _) = frame.split_last().ok_or(Malformed::Empty)?;
        let (codec, header_len) = footer::decode(footer_byte)?;

        let suffix = match codec {
            Codec::H264 => self.parse_annexb(Family::H264, frame, header_len)?,
            Codec::H265 => self.parse_annexb(Family::H265, frame, header_len)?,
            Codec::Av1 => {
                let (suffix, body_end) = self.contiguous_suffix(frame, header_len)?;
                let units = &mut self.scratch.units;
                // The suffix OBU is one more than the sender's units.
                av1::units(frame, units, MAX_UNITS + 1)?;
                let s = units.pop().ok_or(Malformed::SuffixObu)?;
                let payload = s.enc.of(frame);
                let is_suffix = s.lead.first() == Some(av1::SUFFIX_HEADER)
                    && s.enc.end == frame.len()
                    && body_end.checked_sub(1) == Some(s.enc.start)
                    && payload.first() == Some(&av1::SUFFIX_METADATA_TYPE);
                if !is_suffix {
                    return Err(Malformed::SuffixObu.into());
                }
                for u in units.iter() {
                    self.scratch.plain.extend_from_slice(u.enc.of(frame));
                }
                suffix
            }
            Codec::Opus | Codec::Vp8 | Codec::Vp9 | Codec::Generic => {
                let (suffix, body_end) = self.contiguous_suffix(frame, header_len)?;
                let body = frame.get(..body_end).ok_or(Malformed::TruncatedSuffix)?;
                let units = &mut self.scratch.units;
                layout::whole_frame(codec, body, units);
                for u in units.iter() {
                    self.scratch.plain.extend_from_slice(u.enc.of(frame));
                }
                suffix
            }
        };

        let Scratch {
            units, meta, plain, ..
        } = &mut self.scratch;
        metadata::build(footer_byte, units, frame, meta)?;
        self.receiver.decrypt_detached(
            &suffix.header,
            suffix.header_bytes(),
            meta,
            plain,
            suffix.tag(),
        )?;

        let mut pt = plain.as_slice();
        for u in units.iter() {
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

    /// Takes the escaped suffix off the end of a received H.26x frame and
    /// looks up its key, then finds the NAL units (at most [`MAX_UNITS`]),
    /// splits each into clear and encrypted parts and gathers the unescaped
    /// ciphertext.
    fn parse_annexb(
        &mut self,
        family: Family,
        frame: &[u8],
        header_len: usize,
    ) -> Result<Suffix, MediaError> {
        // Walk back from the footer, the frame's last byte: the header, then
        // the tag, skipping inserted 03 bytes. This reads at most about
        // 1.5 × (Nh + Nt) bytes and names the key before anything else is
        // parsed; whether the suffix lies inside the last NAL unit is checked
        // once the NAL units are known.
        let mut header_bytes = [0u8; MAX_HEADER_LEN];
        let header_dst = header_bytes
            .get_mut(..header_len)
            .ok_or(Malformed::TruncatedSuffix)?;
        let footer_at = frame
            .len()
            .checked_sub(1)
            .ok_or(Malformed::TruncatedSuffix)?;
        let header_at =
            take_back(frame, footer_at, header_dst).ok_or(Malformed::TruncatedSuffix)?;
        let (header, tag_len) = self.header(header_dst)?;
        let mut tag = [0u8; MAX_TAG_LEN];
        let tag_dst = tag.get_mut(..tag_len).ok_or(Malformed::TruncatedSuffix)?;
        let tag_at = take_back(frame, header_at, tag_dst).ok_or(Malformed::TruncatedSuffix)?;

        // Each unit holds its NAL unit's span in `clear` until it is split
        // into clear and encrypted parts below, once the suffix is off.
        let units = &mut self.scratch.units;
        for nal in annexb::nal_units(frame)? {
            layout::check_room(units, MAX_UNITS)?;
            units.push(Unit {
                clear: nal,
                ..Unit::default()
            });
        }
        let last = units.last_mut().ok_or(Malformed::NoNalUnit)?;
        // The suffix must lie in the last NAL unit, which ends with the
        // footer (never zero). Walking back inside it through the frame
        // reads the same as through the NAL unit alone: the two bytes before
        // its first and second byte are `00 01` and `01 xx`, never `00 00`,
        // so neither is taken for an escaping byte.
        let nal = last.clear;
        if nal.end != frame.len() || tag_at < nal.start {
            return Err(Malformed::TruncatedSuffix.into());
        }
        last.clear = Span::new(nal.start, tag_at);

        let last_index = units.len() - 1;
        let plain = &mut self.scratch.plain;
        for (i, u) in units.iter_mut().enumerate() {
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
            let before = plain.len();
            unescape(trailing_zeros(u.clear.of(frame)), region, plain);
            u.plain_len = plain.len() - before;
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

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;
    use crate::frame::media::MediaSender;
    use crate::frame::{BaseKey, CipherSuite, Error, ReceiverConfig, Sender};

    const KID: Kid = Kid(0x1234);

    fn pair() -> (MediaSender, MediaReceiver) {
        let suite = CipherSuite::AesGcm128Sha256;
        let sender = Sender::new(suite, KID, BaseKey::new(&[7; 16]).unwrap()).unwrap();
        let mut receiver = Receiver::new(ReceiverConfig::default());
        receiver
            .add_key(KID, suite, BaseKey::new(&[7; 16]).unwrap())
            .unwrap();
        (MediaSender::new(sender), MediaReceiver::new(receiver))
    }

    /// A forged AV1 frame under `KID`: `obus` OBUs of `payload` bytes, a
    /// suffix with a wrong tag.
    fn forged_av1(obus: usize, payload: usize) -> Vec<u8> {
        let header = Header {
            kid: KID,
            ctr: Counter(99),
        }
        .encode();
        let h = header.as_bytes();
        let mut f = Vec::new();
        for _ in 0..obus {
            f.push(0x32);
            f.extend_from_slice(av1::Leb128::new(u32::try_from(payload).unwrap()).as_bytes());
            f.resize(f.len() + payload, 0xa5);
        }
        f.extend_from_slice(&[av1::SUFFIX_HEADER, u8::try_from(2 + 16 + h.len()).unwrap()]);
        f.push(av1::SUFFIX_METADATA_TYPE);
        f.extend_from_slice(&[0x5a; 16]);
        f.extend_from_slice(h);
        f.push(footer::encode(Codec::Av1, h.len()).unwrap());
        f
    }

    #[test]
    fn forged_frames_leave_no_capacity_behind() {
        let (_, mut rx) = pair();
        let empty = rx.scratch.capacities();
        let mut out = Vec::new();
        // Past the cap: refused while walking.
        assert_eq!(
            rx.decrypt_frame(&forged_av1(MAX_UNITS * 4, 0), &mut out),
            Err(Malformed::TooLarge.into())
        );
        // Under the cap, large: refused by the tag, after gathering 8 MiB.
        assert_eq!(
            rx.decrypt_frame(&forged_av1(MAX_UNITS, 1024), &mut out),
            Err(Error::AuthenticationFailed.into())
        );
        let [units, meta, plain] = rx.scratch.capacities();
        assert!(units <= 256 && meta <= 16 << 10 && plain <= 256 << 10);
        assert!(empty.iter().all(|&c| c == 0));
    }

    #[test]
    fn genuine_frames_keep_their_capacity() {
        let (mut tx, mut rx) = pair();
        // A 1 MiB frame of 600 OBUs.
        let mut frame = Vec::new();
        for i in 0..600u32 {
            frame.push(0x32);
            frame.extend_from_slice(av1::Leb128::new(1700 + i).as_bytes());
            frame.resize(frame.len() + 1700 + i as usize, 0x11);
        }
        let (mut protected, mut out) = (Vec::new(), Vec::new());
        tx.encrypt_frame(Codec::Av1, &frame, &mut protected)
            .unwrap();
        rx.decrypt_frame(&protected, &mut out).unwrap();
        let (sent, received) = (tx.scratch.capacities(), rx.scratch.capacities());
        assert!(received[2] >= 1 << 20);
        for _ in 0..5 {
            tx.encrypt_frame(Codec::Av1, &frame, &mut protected)
                .unwrap();
            rx.decrypt_frame(&protected, &mut out).unwrap();
            assert_eq!(out, frame);
            assert_eq!(tx.scratch.capacities(), sent);
            assert_eq!(rx.scratch.capacities(), received);
        }
        // A forged frame 16 times larger: back to at most 4x the genuine
        // one (whose metadata is 9 + 600 x (8 + 3) bytes).
        let _ = rx.decrypt_frame(&forged_av1(MAX_UNITS, 2048), &mut out);
        let [units, meta, plain] = rx.scratch.capacities();
        assert!(units <= 4 * 600, "{units}");
        assert!(meta <= 4 * (9 + 600 * 11), "{meta}");
        assert!(plain <= 4 * frame.len(), "{plain}");
        // And genuine frames still need no allocation beyond that.
        let kept = rx.scratch.capacities();
        tx.encrypt_frame(Codec::Av1, &frame, &mut protected)
            .unwrap();
        rx.decrypt_frame(&protected, &mut out).unwrap();
        assert_eq!(rx.scratch.capacities(), kept);
    }
}
