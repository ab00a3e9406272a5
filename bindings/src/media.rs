//! Media mode for WebRTC encoded frames: [`MediaSender`], [`MediaReceiver`].

use std::sync::Mutex;

use callseal_core::frame::media::{self, Codec};
use callseal_core::frame::{Counter, Kid, Receiver, ReceiverConfig, Sender};

use crate::error::CallsealError;
use crate::frame::{base_key, suite};
use crate::guard::{guard, lock};

/// The codec of a name: `Opus`, `VP8`, `VP9`, `H.264`, `H.265`, `AV1`,
/// `generic`.
pub(crate) fn codec(name: &str) -> Result<Codec, CallsealError> {
    Codec::ALL
        .into_iter()
        .find(|c| c.name() == name)
        .ok_or_else(|| {
            CallsealError::InvalidArgument(format!(
                "unknown codec {name:?} (expected Opus, VP8, VP9, H.264, H.265, AV1 or generic)"
            ))
        })
}

/// Encrypts encoded frames codec-aware: the bytes packetizers and SFUs read
/// stay clear, everything is authenticated.
///
/// ```
/// use callseal_ffi::{MediaReceiver, MediaSender};
///
/// let sender = MediaSender::new(4, 1, vec![7; 16])?;
/// let receiver = MediaReceiver::new();
/// receiver.add_key(1, 4, vec![7; 16])?;
/// let vp8_delta = vec![0x31, 0x02, 0x00, 0xde, 0xad, 0xbe, 0xef];
/// let protected = sender.encrypt_frame("VP8".into(), vp8_delta.clone())?;
/// assert_eq!(protected[..3], vp8_delta[..3]); // the frame tag stays clear
/// let frame = receiver.decrypt_frame(protected)?;
/// assert_eq!((frame.codec.as_str(), frame.kid, frame.counter), ("VP8", 1, 0));
/// assert_eq!(frame.payload, vp8_delta);
/// # Ok::<(), callseal_ffi::CallsealError>(())
/// ```
#[derive(uniffi::Object)]
pub struct MediaSender {
    inner: Mutex<media::MediaSender>,
}

impl std::fmt::Debug for MediaSender {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MediaSender { key: [redacted], .. }")
    }
}

impl MediaSender {
    /// Media mode over a core sender (the call's, which ratchets).
    pub(crate) fn wrap(sender: Sender) -> Self {
        Self {
            inner: Mutex::new(media::MediaSender::new(sender)),
        }
    }

    /// The core sender, for a call's media updates.
    pub(crate) fn inner(&self) -> &Mutex<media::MediaSender> {
        &self.inner
    }
}

#[uniffi::export]
impl MediaSender {
    /// A sender for `kid` with `suite` (1–8) and `base_key`, from counter 0.
    ///
    /// # Errors
    /// `InvalidArgument` for an unknown suite or an unusable key.
    #[uniffi::constructor]
    pub fn new(suite: u16, kid: u64, base_key: Vec<u8>) -> Result<Self, CallsealError> {
        Self::starting_at(suite, kid, base_key, 0)
    }

    /// A sender whose first frame uses `counter`.
    ///
    /// # Errors
    /// As [`new`](Self::new).
    #[uniffi::constructor]
    pub fn starting_at(
        suite: u16,
        kid: u64,
        base_key: Vec<u8>,
        counter: u64,
    ) -> Result<Self, CallsealError> {
        guard(|| {
            let sender = Sender::starting_at(
                self::suite(suite)?,
                Kid(kid),
                self::base_key(&base_key)?,
                Counter(counter),
            )?;
            Ok(Self::wrap(sender))
        })
    }

    /// Encrypts the encoded `frame` of `codec` (`Opus`, `VP8`, `VP9`,
    /// `H.264`, `H.265`, `AV1`, `generic`).
    ///
    /// # Errors
    /// `InvalidArgument` for an unknown codec; `Malformed` if the frame does
    /// not follow its codec's syntax; `KeyExhausted`.
    pub fn encrypt_frame(&self, codec: String, frame: Vec<u8>) -> Result<Vec<u8>, CallsealError> {
        guard(|| {
            let codec = self::codec(&codec)?;
            let mut out = Vec::new();
            lock(&self.inner)?.encrypt_frame(codec, &frame, &mut out)?;
            Ok(out)
        })
    }

    /// Ratchets the key one step forward (RFC 9605 §5.1); only senders from
    /// a call ([`CallSession::take_media`](crate::CallSession::take_media))
    /// ratchet. The receiver follows from the key id alone. A new epoch's
    /// keys come from a rekey instead ([`MediaUpdate`](crate::MediaUpdate)).
    ///
    /// # Errors
    /// `InvalidArgument` for a sender made with a fixed key.
    pub fn ratchet(&self) -> Result<(), CallsealError> {
        guard(|| Ok(lock(&self.inner)?.sender_mut().ratchet()?))
    }

    /// The key id of the next frame.
    pub fn kid(&self) -> u64 {
        guard(|| Ok(lock(&self.inner)?.sender().kid().0)).unwrap_or_default()
    }

    /// The counter the next frame will use, or none once exhausted: save it
    /// with the key to resume with [`starting_at`](Self::starting_at).
    pub fn next_counter(&self) -> Option<u64> {
        guard(|| Ok(lock(&self.inner)?.sender().next_counter().map(|c| c.0)))
            .ok()
            .flatten()
    }
}

/// What [`MediaReceiver::decrypt_frame`] returns: the frame and what its
/// sender declared, all authenticated.
///
/// ```
/// use callseal_ffi::DecryptedFrame;
///
/// let frame = DecryptedFrame { codec: "Opus".into(), kid: 4, counter: 0, payload: vec![0x78] };
/// assert_eq!(frame.codec, "Opus");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct DecryptedFrame {
    /// The codec name, as passed to `encryptFrame`.
    pub codec: String,
    /// The key id the frame was encrypted under.
    pub kid: u64,
    /// The frame's counter.
    pub counter: u64,
    /// The encoded frame (up to media mode's normalizations).
    pub payload: Vec<u8>,
}

/// Decrypts frames made by a [`MediaSender`], whatever their codec (it
/// travels in the frame).
///
/// ```
/// use callseal_ffi::{CallsealError, MediaReceiver};
///
/// let receiver = MediaReceiver::new();
/// receiver.add_key(2, 4, vec![3; 16])?;
/// assert!(matches!(receiver.decrypt_frame(vec![]), Err(CallsealError::Malformed(_))));
/// assert!(receiver.remove_key(2));
/// # Ok::<(), CallsealError>(())
/// ```
#[derive(uniffi::Object)]
pub struct MediaReceiver {
    inner: Mutex<media::MediaReceiver>,
}

impl std::fmt::Debug for MediaReceiver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MediaReceiver { keys: [redacted], .. }")
    }
}

impl Default for MediaReceiver {
    fn default() -> Self {
        Self::new()
    }
}

impl MediaReceiver {
    /// Media mode over a core receiver (the call's, which follows the
    /// peer's ratchet).
    pub(crate) fn wrap(receiver: Receiver) -> Self {
        Self {
            inner: Mutex::new(media::MediaReceiver::new(receiver)),
        }
    }

    /// The core receiver, for a call's media updates.
    pub(crate) fn inner(&self) -> &Mutex<media::MediaReceiver> {
        &self.inner
    }
}

#[uniffi::export]
impl MediaReceiver {
    /// A receiver with the default configuration and no keys.
    #[uniffi::constructor]
    pub fn new() -> Self {
        Self::wrap(Receiver::new(ReceiverConfig::default()))
    }

    /// Installs (or replaces) the key of `kid`.
    ///
    /// # Errors
    /// `InvalidArgument` for an unknown suite or an unusable key.
    pub fn add_key(&self, kid: u64, suite: u16, base_key: Vec<u8>) -> Result<(), CallsealError> {
        guard(|| {
            let (suite, key) = (self::suite(suite)?, self::base_key(&base_key)?);
            Ok(lock(&self.inner)?
                .receiver_mut()
                .add_key(Kid(kid), suite, key)?)
        })
    }

    /// Removes the key of `kid`; whether there was one.
    pub fn remove_key(&self, kid: u64) -> bool {
        guard(|| Ok(lock(&self.inner)?.receiver_mut().remove_key(Kid(kid)))).unwrap_or(false)
    }

    /// Decrypts a protected frame.
    ///
    /// # Errors
    /// `Malformed`, `UnknownKeyId`, `Replay`, `AuthenticationFailed`.
    pub fn decrypt_frame(&self, frame: Vec<u8>) -> Result<DecryptedFrame, CallsealError> {
        guard(|| {
            let mut payload = Vec::new();
            let info = lock(&self.inner)?.decrypt_frame(&frame, &mut payload)?;
            Ok(DecryptedFrame {
                codec: info.codec.name().to_owned(),
                kid: info.kid.0,
                counter: info.ctr.0,
                payload,
            })
        })
    }
}
