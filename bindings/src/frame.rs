//! RFC 9605 SFrame frames: [`FrameSender`] and [`FrameReceiver`].

use std::sync::Mutex;

use callseal_core::frame::{BaseKey, CipherSuite, Counter, Kid, Receiver, ReceiverConfig, Sender};

use crate::error::CallsealError;
use crate::guard::{guard, lock};

/// A cipher suite from its RFC 9605 number.
pub(crate) fn suite(id: u16) -> Result<CipherSuite, CallsealError> {
    Ok(CipherSuite::from_id(id)?)
}

/// A base key from its bytes (1–128 bytes).
pub(crate) fn base_key(bytes: &[u8]) -> Result<BaseKey, CallsealError> {
    Ok(BaseKey::new(bytes)?)
}

/// Encrypts frames under one key id; counters start at 0 (or at the given
/// counter) and never repeat.
///
/// ```
/// use callseal_ffi::FrameSender;
///
/// let sender = FrameSender::starting_at(1, 0x123, vec![1; 16], 0x4567)?;
/// assert_eq!(sender.kid(), 0x123);
/// let frame = sender.encrypt(vec![], b"opus".to_vec())?;
/// assert_eq!(sender.next_counter(), Some(0x4568));
/// assert_eq!(frame.len(), 1 + 2 + 2 + 4 + 10);
/// # Ok::<(), callseal_ffi::CallsealError>(())
/// ```
#[derive(uniffi::Object)]
pub struct FrameSender {
    inner: Mutex<Sender>,
}

impl std::fmt::Debug for FrameSender {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("FrameSender { key: [redacted], .. }")
    }
}

#[uniffi::export]
impl FrameSender {
    /// A sender for `kid` with `suite` (1–8) and `base_key`; its first frame
    /// uses counter 0.
    ///
    /// # Errors
    /// `InvalidArgument` for an unknown suite or an unusable key.
    #[uniffi::constructor]
    pub fn new(suite: u16, kid: u64, base_key: Vec<u8>) -> Result<Self, CallsealError> {
        Self::starting_at(suite, kid, base_key, 0)
    }

    /// A sender whose first frame uses `counter` (a key resumed with its
    /// persisted counter, or a test vector).
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
            Ok(Self {
                inner: Mutex::new(sender),
            })
        })
    }

    /// Encrypts `payload` into one SFrame frame, authenticating `metadata`
    /// (which is not sent: the receiver must pass the same bytes).
    ///
    /// # Errors
    /// `KeyExhausted` once the counter is used up.
    pub fn encrypt(&self, metadata: Vec<u8>, payload: Vec<u8>) -> Result<Vec<u8>, CallsealError> {
        guard(|| Ok(lock(&self.inner)?.encrypt(&metadata, &payload)?))
    }

    /// The key id written into every frame.
    pub fn kid(&self) -> u64 {
        guard(|| Ok(lock(&self.inner)?.kid().0)).unwrap_or_default()
    }

    /// The counter the next frame will use, or none once exhausted.
    pub fn next_counter(&self) -> Option<u64> {
        guard(|| Ok(lock(&self.inner)?.next_counter().map(|c| c.0)))
            .ok()
            .flatten()
    }
}

/// Decrypts frames of any number of senders, by key id, with a replay
/// window per key.
///
/// ```
/// use callseal_ffi::{CallsealError, FrameReceiver, FrameSender};
///
/// let receiver = FrameReceiver::with_config(64, 16, 8)?;
/// receiver.add_key(9, 3, vec![5; 32])?;
/// assert!(receiver.has_key(9));
/// let frame = FrameSender::new(3, 9, vec![5; 32])?.encrypt(vec![], b"x".to_vec())?;
/// assert_eq!(receiver.decrypt(vec![], frame.clone())?, b"x");
/// assert!(matches!(receiver.decrypt(vec![], frame), Err(CallsealError::Replay(_))));
/// assert!(receiver.remove_key(9));
/// # Ok::<(), CallsealError>(())
/// ```
#[derive(uniffi::Object)]
pub struct FrameReceiver {
    inner: Mutex<Receiver>,
}

impl std::fmt::Debug for FrameReceiver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("FrameReceiver { keys: [redacted], .. }")
    }
}

impl Default for FrameReceiver {
    fn default() -> Self {
        Self::new()
    }
}

#[uniffi::export]
impl FrameReceiver {
    /// A receiver with the default configuration (replay window 1024, 16
    /// ratchet steps ahead, 8 retained ratchet keys).
    #[uniffi::constructor]
    pub fn new() -> Self {
        Self {
            inner: Mutex::new(Receiver::new(ReceiverConfig::default())),
        }
    }

    /// A receiver with a chosen configuration.
    ///
    /// # Errors
    /// `InvalidArgument` if a value is out of range (window 1–65536, ratchet
    /// steps 1–64, retained keys 1–64).
    #[uniffi::constructor]
    pub fn with_config(
        replay_window: u32,
        max_ratchet_steps: u32,
        retained_ratchet_keys: u32,
    ) -> Result<Self, CallsealError> {
        guard(|| {
            let receiver = Receiver::with_config(ReceiverConfig {
                replay_window,
                max_ratchet_steps,
                retained_ratchet_keys,
            })?;
            Ok(Self {
                inner: Mutex::new(receiver),
            })
        })
    }

    /// Installs (or replaces) the key of `kid`.
    ///
    /// # Errors
    /// `InvalidArgument` for an unknown suite or an unusable key.
    pub fn add_key(&self, kid: u64, suite: u16, base_key: Vec<u8>) -> Result<(), CallsealError> {
        guard(|| {
            let (suite, key) = (self::suite(suite)?, self::base_key(&base_key)?);
            Ok(lock(&self.inner)?.add_key(Kid(kid), suite, key)?)
        })
    }

    /// Removes the key of `kid`; whether there was one.
    pub fn remove_key(&self, kid: u64) -> bool {
        guard(|| Ok(lock(&self.inner)?.remove_key(Kid(kid)))).unwrap_or(false)
    }

    /// Whether a key for `kid` is installed.
    pub fn has_key(&self, kid: u64) -> bool {
        guard(|| Ok(lock(&self.inner)?.has_key(Kid(kid)))).unwrap_or(false)
    }

    /// Decrypts `frame`, authenticating `metadata`; returns the payload.
    ///
    /// # Errors
    /// `Malformed`, `UnknownKeyId`, `Replay`, `AuthenticationFailed`;
    /// `KeyExhausted` once so many frames failed authentication under the
    /// key that it is refused until a new key is added.
    pub fn decrypt(&self, metadata: Vec<u8>, frame: Vec<u8>) -> Result<Vec<u8>, CallsealError> {
        guard(|| Ok(lock(&self.inner)?.decrypt(&metadata, &frame)?))
    }
}
