//! `MediaSender` and `MediaReceiver`: media mode for WebRTC encoded frames.

use callseal_core::frame::media::{MediaReceiver as CoreReceiver, MediaSender as CoreSender};
use callseal_core::frame::{Receiver, ReceiverConfig, Sender};
use js_sys::Uint8Array;
use serde::Serialize;
use tsify::Tsify;
use wasm_bindgen::JsValue;
use wasm_bindgen::prelude::wasm_bindgen;

use crate::convert;
use crate::error::{Failure, guard};

/// What `MediaReceiver.decryptFrame` returns.
#[derive(Serialize, Tsify)]
#[serde(rename_all = "camelCase")]
#[tsify(missing_as_null, large_number_types_as_bigints)]
struct DecryptedFrame {
    /// The codec the sender declared (authenticated): `Opus`, `VP8`, `VP9`, `H.264`, `H.265`, `AV1` or `generic`.
    codec: &'static str,
    /// The key id the frame was encrypted under.
    kid: u64,
    /// The frame's counter.
    counter: u64,
    /// The encoded frame, as the sender passed it (up to media mode's normalizations).
    #[serde(with = "serde_wasm_bindgen::preserve")]
    #[tsify(type = "Uint8Array")]
    payload: JsValue,
}

/// Encrypts WebRTC encoded frames codec-aware: the bytes packetizers and
/// SFUs read stay clear, everything is authenticated.
///
/// In JavaScript: `new MediaSender(suite, kid, baseKey)`,
/// `MediaSender.startingAt(...)`, `encryptFrame(codec, frame)`, `ratchet()`,
/// `kid`.
#[wasm_bindgen]
pub struct MediaSender {
    pub(crate) inner: CoreSender,
    out: Vec<u8>,
}

impl MediaSender {
    pub(crate) fn from_sender(sender: Sender) -> Self {
        Self {
            inner: CoreSender::new(sender),
            out: Vec::new(),
        }
    }

    /// The core sender, for a call's `MediaUpdate`.
    pub(crate) fn core_mut(&mut self) -> &mut Sender {
        self.inner.sender_mut()
    }
}

#[wasm_bindgen]
impl MediaSender {
    /// A sender for `kid` whose first frame uses counter 0.
    #[wasm_bindgen(constructor)]
    pub fn new(
        suite: u32,
        #[wasm_bindgen(unchecked_param_type = "bigint | number")] kid: JsValue,
        base_key: &[u8],
    ) -> Result<MediaSender, Failure> {
        guard(|| {
            Ok(Self::from_sender(Sender::new(
                convert::suite(suite)?,
                convert::kid(&kid)?,
                convert::base_key(base_key)?,
            )?))
        })
    }

    /// A sender whose first frame uses `counter`.
    #[wasm_bindgen(js_name = startingAt)]
    pub fn starting_at(
        suite: u32,
        #[wasm_bindgen(unchecked_param_type = "bigint | number")] kid: JsValue,
        base_key: &[u8],
        #[wasm_bindgen(unchecked_param_type = "bigint | number")] counter: JsValue,
    ) -> Result<MediaSender, Failure> {
        guard(|| {
            Ok(Self::from_sender(Sender::starting_at(
                convert::suite(suite)?,
                convert::kid(&kid)?,
                convert::base_key(base_key)?,
                convert::counter(&counter)?,
            )?))
        })
    }

    /// The protected frame of the encoded `frame` of `codec` (a name such
    /// as `VP8` or `H.264`, or a MIME type such as `video/VP8`).
    #[wasm_bindgen(js_name = encryptFrame)]
    pub fn encrypt_frame(&mut self, codec: &str, frame: &[u8]) -> Result<Uint8Array, Failure> {
        guard(|| {
            let codec = convert::codec(codec)?;
            self.inner.encrypt_frame(codec, frame, &mut self.out)?;
            Ok(Uint8Array::from(self.out.as_slice()))
        })
    }

    /// Ratchets the key one step forward (RFC 9605 §5.1); only senders from
    /// a call ratchet (including after a `MediaUpdate` switched them to a
    /// new epoch). The peer's receiver follows from the key id alone.
    pub fn ratchet(&mut self) -> Result<(), Failure> {
        guard(|| Ok(self.inner.sender_mut().ratchet()?))
    }

    /// The key id of the next frame.
    #[wasm_bindgen(getter)]
    pub fn kid(&self) -> u64 {
        self.inner.sender().kid().0
    }

    /// The counter of the next frame (a bigint), or `undefined` once the
    /// counter space is used up. Save it with the key to resume later with
    /// `MediaSender.startingAt`: a key and KID must never start again at a
    /// counter already used.
    #[wasm_bindgen(getter, js_name = nextCounter)]
    pub fn next_counter(&self) -> Option<u64> {
        self.inner.sender().next_counter().map(|c| c.0)
    }
}

/// Decrypts frames made by a `MediaSender`, whatever their codec (the
/// codec travels in the frame).
///
/// In JavaScript: `new MediaReceiver()`, `addKey(kid, suite, baseKey)`,
/// `removeKey(kid)`, `decryptFrame(frame)`.
#[wasm_bindgen]
pub struct MediaReceiver {
    pub(crate) inner: CoreReceiver,
    out: Vec<u8>,
}

impl MediaReceiver {
    pub(crate) fn from_receiver(receiver: Receiver) -> Self {
        Self {
            inner: CoreReceiver::new(receiver),
            out: Vec::new(),
        }
    }

    /// The core receiver, for a call's `MediaUpdate`.
    pub(crate) fn core_mut(&mut self) -> &mut Receiver {
        self.inner.receiver_mut()
    }
}

impl Default for MediaReceiver {
    fn default() -> Self {
        Self::new()
    }
}

#[wasm_bindgen]
impl MediaReceiver {
    /// A receiver with the default configuration and no keys.
    #[wasm_bindgen(constructor)]
    pub fn new() -> MediaReceiver {
        Self::from_receiver(Receiver::new(ReceiverConfig::default()))
    }

    /// Installs the key for `kid`, replacing any it had.
    #[wasm_bindgen(js_name = addKey)]
    pub fn add_key(
        &mut self,
        #[wasm_bindgen(unchecked_param_type = "bigint | number")] kid: JsValue,
        suite: u32,
        base_key: &[u8],
    ) -> Result<(), Failure> {
        guard(|| {
            let (kid, suite) = (convert::kid(&kid)?, convert::suite(suite)?);
            let key = convert::base_key(base_key)?;
            Ok(self.inner.receiver_mut().add_key(kid, suite, key)?)
        })
    }

    /// Removes the key for `kid`; whether there was one.
    #[wasm_bindgen(js_name = removeKey)]
    pub fn remove_key(
        &mut self,
        #[wasm_bindgen(unchecked_param_type = "bigint | number")] kid: JsValue,
    ) -> Result<bool, Failure> {
        guard(|| Ok(self.inner.receiver_mut().remove_key(convert::kid(&kid)?)))
    }

    /// Decrypts a protected frame: `{ codec, kid, counter, payload }`.
    #[wasm_bindgen(js_name = decryptFrame, unchecked_return_type = "DecryptedFrame")]
    pub fn decrypt_frame(&mut self, frame: &[u8]) -> Result<JsValue, Failure> {
        guard(|| {
            let info = self.inner.decrypt_frame(frame, &mut self.out)?;
            convert::to_js(&DecryptedFrame {
                codec: info.codec.name(),
                kid: info.kid.0,
                counter: info.ctr.0,
                payload: convert::bytes(&self.out),
            })
        })
    }
}
